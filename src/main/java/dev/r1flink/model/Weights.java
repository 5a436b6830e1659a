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
            FloatTensor ffnDown) {   // ffn_down.weight    [dim][ff]
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
                    in.matrix(p + "ffn_down.weight", dim, c.feedForwardLength()));
        }
        return new Weights(tokenEmbd, outputNorm, output, ropeFreqs, layers);
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

        float[] vector(String name, int n) throws IOException {
            FloatTensor t = matrix(name, 1, n);
            float[] out = new float[n];
            t.dequantizeRow(0, out, 0);
            return out;
        }
    }
}
