package dev.r1flink.model;

import dev.r1flink.gguf.GgufFile;
import dev.r1flink.gguf.TensorInfo;
import dev.r1flink.tensor.FloatTensor;
import java.io.IOException;
import java.util.Arrays;

/**
 * All weights of a model, on the heap, immutable once loaded: one instance is shared by every thread and engine
 * in the JVM. Tensor names and shapes are llama.cpp's ({@code llama-arch.cpp}, {@code llama-model.cpp}); shapes
 * below are {@code [rows][cols]}, i.e. ggml dims reversed. {@code dim} = embeddingLength, {@code qDim} =
 * headCount*headDim, {@code kvDim} = headCountKv*headDim, {@code ff} = feedForwardLength.
 */
public final class Weights {

    public final FloatTensor tokenEmbd;  // token_embd.weight  [vocab][dim]
    public final float[] outputNorm;     // output_norm.weight [dim]
    /** output.weight [vocab][dim]; the same object as {@link #tokenEmbd} when the model ties them. */
    public final FloatTensor output;
    /** rope_freqs.weight [ropeDim/2]: Llama-3.1 frequency divisors, or null. */
    public final float[] ropeFreqs;
    public final Layer[] layers;         // [blockCount]

    /** One transformer block ({@code blk.N.*}). Arrays that the architecture lacks are null. */
    public record Layer(
            float[] attnNorm,        // attn_norm.weight   [dim]
            FloatTensor attnQ,       // attn_q.weight      [qDim][dim]
            FloatTensor attnK,       // attn_k.weight      [kvDim][dim]
            FloatTensor attnV,       // attn_v.weight      [kvDim][dim]
            float[] attnQBias,       // attn_q.bias        [qDim]   qwen2
            float[] attnKBias,       // attn_k.bias        [kvDim]  qwen2
            float[] attnVBias,       // attn_v.bias        [kvDim]  qwen2
            float[] attnQNorm,       // attn_q_norm.weight [headDim] qwen3
            float[] attnKNorm,       // attn_k_norm.weight [headDim] qwen3
            FloatTensor attnOutput,  // attn_output.weight [dim][qDim]
            float[] ffnNorm,         // ffn_norm.weight    [dim]
            FloatTensor ffnGate,     // ffn_gate.weight    [ff][dim]
            FloatTensor ffnUp,       // ffn_up.weight      [ff][dim]
            FloatTensor ffnDown,     // ffn_down.weight    [dim][ff]
            MlaLayer mla,            // deepseek2 attention, else null
            MoeLayer moe) {          // deepseek2 routed experts (then ffnGate/Up/Down are null), else null
    }

    /**
     * Multi-head latent attention of one layer ({@code deepseek2}); {@code kvLora} = kv_lora_rank, {@code nope} =
     * key_length_mla - rope dim, {@code vHead} = value_length_mla. The query comes from {@link Layer#attnQ} when
     * q_lora_rank is 0 ({@code [nHead*(nope+rope)][dim]}), else from attn_q_a/attn_q_b.
     */
    public record MlaLayer(
            FloatTensor attnQA,      // attn_q_a.weight      [qLora][dim], or null
            float[] attnQANorm,      // attn_q_a_norm.weight [qLora], or null
            FloatTensor attnQB,      // attn_q_b.weight      [nHead*(nope+rope)][qLora], or null
            FloatTensor attnKvAMqa,  // attn_kv_a_mqa.weight [kvLora+rope][dim]
            float[] attnKvANorm,     // attn_kv_a_norm.weight [kvLora]
            FloatTensor[] attnKB,    // attn_k_b.weight      [nHead][kvLora][nope]  (legacy files: from attn_kv_b)
            FloatTensor[] attnVB) {  // attn_v_b.weight      [nHead][vHead][kvLora] (legacy files: from attn_kv_b)
    }

    /** Routed and shared experts of one MoE layer; {@code ffExp} = expert_feed_forward_length. */
    public record MoeLayer(
            FloatTensor gateInp,     // ffn_gate_inp.weight    [nExpert][dim]
            float[] expProbsB,       // ffn_exp_probs_b.bias   [nExpert], or null (V2)
            FloatTensor[] gateExps,  // ffn_gate_exps.weight   [nExpert][ffExp][dim]
            FloatTensor[] upExps,    // ffn_up_exps.weight     [nExpert][ffExp][dim]
            FloatTensor[] downExps,  // ffn_down_exps.weight   [nExpert][dim][ffExp]
            FloatTensor gateShexp,   // ffn_gate_shexp.weight  [ffExp*nShared][dim], or null without shared experts
            FloatTensor upShexp,     // ffn_up_shexp.weight    [ffExp*nShared][dim]
            FloatTensor downShexp) { // ffn_down_shexp.weight  [dim][ffExp*nShared]
    }

    private Weights(FloatTensor tokenEmbd, float[] outputNorm, FloatTensor output, float[] ropeFreqs, Layer[] layers) {
        this.tokenEmbd = tokenEmbd;
        this.outputNorm = outputNorm;
        this.output = output;
        this.ropeFreqs = ropeFreqs;
        this.layers = layers;
    }

    public boolean tiedOutput() {
        return output == tokenEmbd;
    }

    /**
     * Reads every tensor the architecture needs, checking names and shapes.
     *
     * @throws IllegalArgumentException naming the file and tensor when one is missing or has the wrong shape
     * @throws UnsupportedOperationException naming the tensor type when r1-flink has no kernels for it
     */
    public static Weights load(GgufFile gguf, ModelConfig c) throws IOException {
        Loader in = new Loader(gguf);
        int dim = c.embeddingLength();
        int vocab = c.vocabSize();
        int hd = c.headDim();
        Architecture a = c.architecture();
        FloatTensor tokenEmbd = in.matrix("token_embd.weight", vocab, dim);
        float[] outputNorm = in.vector("output_norm.weight", dim);
        // llama.cpp falls back to token_embd when output.weight is absent (tied embeddings).
        FloatTensor output = gguf.tensor("output.weight") != null ? in.matrix("output.weight", vocab, dim) : tokenEmbd;
        float[] ropeFreqs = gguf.tensor("rope_freqs.weight") != null
                ? in.vector("rope_freqs.weight", c.ropeDimensionCount() / 2) : null;
        Layer[] layers = new Layer[c.blockCount()];
        for (int i = 0; i < layers.length; i++) {
            String p = "blk." + i + ".";
            if (a == Architecture.DEEPSEEK2) {
                layers[i] = deepseek2Layer(in, c, i);
                continue;
            }
            layers[i] = new Layer(
                    in.vector(p + "attn_norm.weight", dim),
                    in.matrix(p + "attn_q.weight", c.qDim(), dim),
                    in.matrix(p + "attn_k.weight", c.kvDim(), dim),
                    in.matrix(p + "attn_v.weight", c.kvDim(), dim),
                    a.qkvBias ? in.vector(p + "attn_q.bias", c.qDim()) : null,
                    a.qkvBias ? in.vector(p + "attn_k.bias", c.kvDim()) : null,
                    a.qkvBias ? in.vector(p + "attn_v.bias", c.kvDim()) : null,
                    a.qkNorm ? in.vector(p + "attn_q_norm.weight", hd) : null,
                    a.qkNorm ? in.vector(p + "attn_k_norm.weight", hd) : null,
                    in.matrix(p + "attn_output.weight", dim, c.qDim()),
                    in.vector(p + "ffn_norm.weight", dim),
                    in.matrix(p + "ffn_gate.weight", c.feedForwardLength(), dim),
                    in.matrix(p + "ffn_up.weight", c.feedForwardLength(), dim),
                    in.matrix(p + "ffn_down.weight", dim, c.feedForwardLength()),
                    null, null);
        }
        return new Weights(tokenEmbd, outputNorm, output, ropeFreqs, layers);
    }

    /** One deepseek2 block, names and shapes as {@code llama_model_deepseek2::load_arch_tensors}. */
    private static Layer deepseek2Layer(Loader in, ModelConfig c, int l) throws IOException {
        String p = "blk." + l + ".";
        ModelConfig.Mla m = c.mla();
        int dim = c.embeddingLength();
        int heads = c.headCount();
        int rope = c.ropeDimensionCount();
        int nope = m.keyLengthMla() - rope;
        int kvLora = m.kvLoraRank();
        int vHead = m.valueLengthMla();
        int qLora = m.qLoraRank();
        FloatTensor q = qLora == 0 ? in.matrix(p + "attn_q.weight", heads * m.keyLengthMla(), dim) : null;
        FloatTensor[] kB;
        FloatTensor[] vB;
        if (in.gguf.tensor(p + "attn_k_b.weight") != null || in.gguf.tensor(p + "attn_kv_b.weight") == null) {
            kB = in.slices(p + "attn_k_b.weight", heads, kvLora, nope);
            vB = in.slices(p + "attn_v_b.weight", heads, vHead, kvLora);
        } else {
            // legacy conversion: split attn_kv_b [nHead*(nope+vHead)][kvLora] per head as the current converter does
            // (k_b transposed), in F32 so that the split itself rounds nothing
            FloatTensor kvB = in.matrix(p + "attn_kv_b.weight", heads * (nope + vHead), kvLora);
            kB = new FloatTensor[heads];
            vB = new FloatTensor[heads];
            float[] row = new float[kvLora];
            for (int h = 0; h < heads; h++) {
                float[] k = new float[kvLora * nope];
                float[] v = new float[vHead * kvLora];
                for (int i = 0; i < nope + vHead; i++) {
                    kvB.dequantizeRow(h * (nope + vHead) + i, row, 0);
                    for (int j = 0; j < kvLora; j++) {
                        if (i < nope) {
                            k[j * nope + i] = row[j];
                        } else {
                            v[(i - nope) * kvLora + j] = row[j];
                        }
                    }
                }
                kB[h] = f32(kvLora, nope, k);
                vB[h] = f32(vHead, kvLora, v);
            }
        }
        MlaLayer mla = new MlaLayer(
                qLora > 0 ? in.matrix(p + "attn_q_a.weight", qLora, dim) : null,
                qLora > 0 ? in.vector(p + "attn_q_a_norm.weight", qLora) : null,
                qLora > 0 ? in.matrix(p + "attn_q_b.weight", heads * m.keyLengthMla(), qLora) : null,
                in.matrix(p + "attn_kv_a_mqa.weight", kvLora + rope, dim),
                in.vector(p + "attn_kv_a_norm.weight", kvLora),
                kB, vB);
        ModelConfig.Moe e = c.moe();
        boolean moeLayer = e != null && e.isMoeLayer(l);
        int ff = c.feedForwardLength();
        MoeLayer moe = null;
        if (moeLayer) {
            int n = e.expertCount();
            int ffExp = e.expertFeedForwardLength();
            int ffSh = ffExp * e.expertSharedCount();
            boolean shared = ffSh > 0;
            moe = new MoeLayer(
                    in.matrix(p + "ffn_gate_inp.weight", n, dim),
                    in.gguf.tensor(p + "exp_probs_b.bias") != null ? in.vector(p + "exp_probs_b.bias", n) : null,
                    in.slices(p + "ffn_gate_exps.weight", n, ffExp, dim),
                    in.slices(p + "ffn_up_exps.weight", n, ffExp, dim),
                    in.slices(p + "ffn_down_exps.weight", n, dim, ffExp),
                    shared ? in.matrix(p + "ffn_gate_shexp.weight", ffSh, dim) : null,
                    shared ? in.matrix(p + "ffn_up_shexp.weight", ffSh, dim) : null,
                    shared ? in.matrix(p + "ffn_down_shexp.weight", dim, ffSh) : null);
        }
        return new Layer(
                in.vector(p + "attn_norm.weight", dim),
                q, null, null, null, null, null, null, null,
                in.matrix(p + "attn_output.weight", dim, heads * vHead),
                in.vector(p + "ffn_norm.weight", dim),
                moeLayer ? null : in.matrix(p + "ffn_gate.weight", ff, dim),
                moeLayer ? null : in.matrix(p + "ffn_up.weight", ff, dim),
                moeLayer ? null : in.matrix(p + "ffn_down.weight", dim, ff),
                mla, moe);
    }

    private static FloatTensor f32(int rows, int cols, float[] values) {
        byte[] b = new byte[values.length * 4];
        java.nio.ByteBuffer.wrap(b).order(java.nio.ByteOrder.LITTLE_ENDIAN).asFloatBuffer().put(values);
        return FloatTensor.of(dev.r1flink.tensor.GgmlType.F32, rows, cols, b, 0);
    }

    private record Loader(GgufFile gguf) {

        TensorInfo info(String name, long... ggmlDims) {
            TensorInfo t = gguf.tensor(name);
            if (t == null) {
                throw new IllegalArgumentException(gguf.path() + ": missing tensor '" + name + "'");
            }
            long[] dims = t.dims();
            // A [rows][cols] matrix is {cols, rows} in ggml order; missing trailing dims count as 1.
            long[] want = ggmlDims;
            boolean ok = true;
            for (int d = 0; ok && d < Math.max(dims.length, want.length); d++) {
                ok = t.dim(d) == (d < want.length ? want[d] : 1);
            }
            if (!ok) {
                throw new IllegalArgumentException(gguf.path() + ": tensor '" + name + "' has shape "
                        + Arrays.toString(dims) + ", expected " + Arrays.toString(want) + " (ggml order)");
            }
            return t;
        }

        FloatTensor matrix(String name, int rows, int cols) throws IOException {
            TensorInfo t = info(name, cols, rows);
            try {
                return FloatTensor.of(t.type(), rows, cols, gguf.readAll(t), 0);
            } catch (UnsupportedOperationException e) {
                throw new UnsupportedOperationException(gguf.path() + ": tensor '" + name + "': " + e.getMessage(), e);
            }
        }

        /**
         * A 3-D tensor {@code [n][rows][cols]} (ggml {cols, rows, n}) as {@code n} matrices, each read into its own
         * array: one expert (or head) at a time, so R1's 2+ GiB expert tensors never need one Java array.
         */
        FloatTensor[] slices(String name, int n, int rows, int cols) throws IOException {
            TensorInfo t = info(name, cols, rows, n);
            long sliceBytes = t.type().byteSize((long) rows * cols);
            FloatTensor[] out = new FloatTensor[n];
            for (int i = 0; i < n; i++) {
                byte[] b = new byte[Math.toIntExact(sliceBytes)];
                gguf.read(t, i * sliceBytes, b, 0, b.length);
                try {
                    out[i] = FloatTensor.of(t.type(), rows, cols, b, 0);
                } catch (UnsupportedOperationException e) {
                    throw new UnsupportedOperationException(gguf.path() + ": tensor '" + name + "': " + e.getMessage(), e);
                }
            }
            return out;
        }

        float[] vector(String name, int n) throws IOException {
            FloatTensor t = matrix(name, 1, n);
            float[] out = new float[n];
            t.dequantizeRow(0, out, 0);
            return out;
        }
    }
}
