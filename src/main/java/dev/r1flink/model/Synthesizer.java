package dev.r1flink.model;

import dev.r1flink.gguf.GgufFile;
import dev.r1flink.gguf.GgufValue;
import dev.r1flink.gguf.GgufValueType;
import dev.r1flink.gguf.GgufWriter;
import dev.r1flink.tensor.GgmlType;
import dev.r1flink.tensor.Quantizer;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * Writes a GGUF model with random weights and the shape of a real (or tiny test) model, deterministic per seed,
 * streaming one tensor at a time so that 8B-parameter files never sit in memory.
 *
 * <pre>{@code
 * new Synthesizer(Synthesizer.shape("tiny-qwen2"), "Q8_0", vocabGguf, 42).write(Path.of("tiny.gguf"), System.err);
 * }</pre>
 *
 * <p>The weights are made so that greedy decoding is robust to rounding: the residual stream stays dominated by the
 * token embedding (each layer adds a scaled-down contribution), and {@code output.weight} row {@code v} holds, on
 * top of noise, a large multiple of the embedding direction of a "predecessor" token (a fixed permutation of the
 * normal tokens). So the top logit usually leads the runner-up by far more than quantization noise, while every
 * layer still moves the logits. Output rows of control, unused and padding tokens are zero, so greedy decoding
 * emits only normal text tokens (and never EOS). Every row's values come from its own seed (seed, tensor, row), so
 * the same seed gives the same model in every type, up to that type's rounding.
 *
 * <p>Caveats: a greedy step whose input token is not a normal token (BOS, {@code <｜Assistant｜>}, {@code <think>})
 * gets no predecessor bonus, so its margin is that of random logits (can be ~0.1): end parity prompts with a normal
 * token, as the chat template's {@code <think>\n} does. And the greedy chain depends mostly on the previous token,
 * so greedy ids alone say little about attention: compare logits as well.
 *
 * <p>The llama.cpp goldens ({@code src/test/resources/golden}) were made from files this class wrote: any change to
 * the weights it makes (seeding, scales, the predecessor permutation) invalidates them, so regenerate them with
 * {@code tools/llamacpp-reference/regenerate.sh} in the same change.
 */
public final class Synthesizer {

    /**
     * A model shape. {@code headDim} 0 means {@code embeddingLength / headCount}; {@code vocab} 0 means the vocab
     * file's token count (or 512 without one).
     */
    public record Shape(String name, Architecture arch, int blockCount, int embeddingLength, int headCount,
                        int headCountKv, int headDim, int feedForwardLength, int vocab, float ropeFreqBase,
                        float rmsEps, int contextLength, boolean tied, boolean llama3RopeFreqs, Deepseek2 deepseek2) {

        public Shape(String name, Architecture arch, int blockCount, int embeddingLength, int headCount,
                     int headCountKv, int headDim, int feedForwardLength, int vocab, float ropeFreqBase,
                     float rmsEps, int contextLength, boolean tied, boolean llama3RopeFreqs) {
            this(name, arch, blockCount, embeddingLength, headCount, headCountKv, headDim, feedForwardLength, vocab,
                    ropeFreqBase, rmsEps, contextLength, tied, llama3RopeFreqs, null);
        }

        public int keyLength() {
            return headDim > 0 ? headDim : embeddingLength / headCount;
        }
    }

    /**
     * The deepseek2 part of a shape, named after the HF config keys the converter reads: MLA sizes, the experts
     * ({@code firstKDenseReplace} dense layers first), their routing, and YaRN ({@code yarnFactor} 0: none).
     * {@code sigmoidGating} is V3/R1 (sigmoid + exp_probs_b correction bias); false is V2 (softmax, no bias).
     */
    public record Deepseek2(int qLoraRank, int kvLoraRank, int qkNopeHeadDim, int qkRopeHeadDim, int vHeadDim,
                            int nRoutedExperts, int numExpertsPerTok, int moeIntermediateSize, int nSharedExperts,
                            int firstKDenseReplace, int nGroup, int topkGroup, float routedScalingFactor,
                            boolean normTopkProb, boolean sigmoidGating, float yarnFactor,
                            int yarnOriginalContext, float mscaleAllDim) {}

    public static final List<Shape> SHAPES = List.of(
            new Shape("tiny-qwen2", Architecture.QWEN2, 2, 256, 4, 2, 0, 512, 0, 10000f, 1e-6f, 4096, false, false),
            new Shape("tiny-qwen2-tied", Architecture.QWEN2, 2, 256, 4, 2, 0, 512, 0, 10000f, 1e-6f, 4096, true, false),
            new Shape("tiny-llama", Architecture.LLAMA, 2, 256, 4, 2, 0, 512, 0, 500000f, 1e-5f, 8192, false, true),
            new Shape("tiny-qwen3", Architecture.QWEN3, 2, 256, 4, 2, 128, 512, 0, 1000000f, 1e-6f, 4096, false, false),
            new Shape("r1-distill-qwen-1.5b", Architecture.QWEN2, 28, 1536, 12, 2, 0, 8960, 151936, 10000f, 1e-6f,
                    131072, false, false),
            new Shape("r1-distill-qwen-7b", Architecture.QWEN2, 28, 3584, 28, 4, 0, 18944, 152064, 10000f, 1e-6f,
                    131072, false, false),
            new Shape("r1-distill-llama-8b", Architecture.LLAMA, 32, 4096, 32, 8, 0, 14336, 128256, 500000f, 1e-5f,
                    131072, false, true),
            new Shape("r1-0528-qwen3-8b", Architecture.QWEN3, 36, 4096, 32, 8, 128, 12288, 151936, 1000000f, 1e-6f,
                    131072, false, false),
            // deepseek2, for tests: a dense layer, then MoE layers of 8 experts (2 groups, top-2 from the best group)
            // plus a shared one; R1's routing (sigmoid + bias, normalized, scaled 2.5) and YaRN (factor 40)
            new Shape("tiny-deepseek2", Architecture.DEEPSEEK2, 3, 256, 4, 1, 0, 512, 0, 10000f, 1e-6f, 163840,
                    false, false, new Deepseek2(128, 128, 32, 32, 32, 8, 2, 128, 1, 1, 2, 1, 2.5f, true, true,
                    40f, 4096, 1f)),
            // V2-Lite's kind: no q_lora (plain attn_q), softmax gating, no groups, unnormalized, YaRN mscale 0.707
            new Shape("tiny-deepseek2-lite", Architecture.DEEPSEEK2, 3, 256, 4, 1, 0, 512, 0, 10000f, 1e-6f, 163840,
                    false, false, new Deepseek2(0, 128, 32, 32, 32, 8, 2, 128, 2, 1, 1, 1, 1f, false, false,
                    40f, 4096, 0.707f)),
            // DeepSeek-V2-Lite (16B total, 2.4B active)
            new Shape("deepseek-v2-lite", Architecture.DEEPSEEK2, 27, 2048, 16, 1, 0, 10944, 102400, 10000f, 1e-6f,
                    163840, false, false, new Deepseek2(0, 512, 128, 64, 128, 64, 6, 1408, 2, 1, 1, 1, 1f, false,
                    false, 40f, 4096, 0.707f)),
            // R1's layer design (MLA sizes, 8 groups of experts, top-8, sigmoid routing) at 1/3.5 width, 8 layers
            new Shape("r1-like-small", Architecture.DEEPSEEK2, 8, 2048, 16, 1, 0, 5120, 0, 10000f, 1e-6f, 163840,
                    false, false, new Deepseek2(768, 512, 128, 64, 128, 64, 8, 512, 1, 1, 8, 4, 2.5f, true, true,
                    40f, 4096, 1f)));

    /** Weight types: the ggml types, or {@code Q4_K_M} (Q4_K with Q6_K where llama.cpp's Q4_K_M puts it). */
    public static final List<String> TYPES = List.of("F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_K", "Q5_K", "Q6_K",
            "Q4_K_M");

    /** Logit scale of the noise part of output rows, and of the predecessor bonus (see class comment). */
    static final float LOGIT_NOISE = 4f;
    static final float LOGIT_BONUS = 40f;

    private final Shape shape;
    private final String type;
    private final Path vocabFile;
    private final long seed;

    public Synthesizer(Shape shape, String type, Path vocabFile, long seed) {
        String t = type.toUpperCase(Locale.ROOT);
        if (!TYPES.contains(t)) {
            throw new IllegalArgumentException("unknown weight type '" + type + "' (supported: " + String.join(", ", TYPES) + ")");
        }
        this.shape = shape;
        this.type = t;
        this.vocabFile = vocabFile;
        this.seed = seed;
    }

    /** The shape called {@code name}; the message lists the known ones. */
    public static Shape shape(String name) {
        for (Shape s : SHAPES) {
            if (s.name().equals(name)) {
                return s;
            }
        }
        throw new IllegalArgumentException("unknown shape '" + name + "' (known: "
                + String.join(", ", SHAPES.stream().map(Shape::name).toList()) + ")");
    }

    /** Writes the model; prints one progress line per tensor to {@code progress} unless it is null. */
    public void write(Path out, PrintStream progress) throws IOException {
        Shape s = shape;
        Architecture a = s.arch();
        String p = a.ggufName + ".";
        int dim = s.embeddingLength();
        int hd = s.keyLength();
        int qDim = s.headCount() * hd;
        int kvDim = s.headCountKv() * hd;
        int ff = s.feedForwardLength();

        // tokenizer metadata, padded to the shape's vocab like real models pad their embedding
        Map<String, GgufValue> tokenizer = new LinkedHashMap<>();
        int vocab;
        int[] tokenTypes = null;
        if (vocabFile != null) {
            try (GgufFile v = GgufFile.open(vocabFile)) {
                for (Map.Entry<String, GgufValue> e : v.metadata().entrySet()) {
                    if (e.getKey().startsWith("tokenizer.")) {
                        tokenizer.put(e.getKey(), e.getValue());
                    }
                }
                String[] tokens = v.getStringArray("tokenizer.ggml.tokens");
                tokenTypes = v.getIntArray("tokenizer.ggml.token_type");
                vocab = s.vocab() > 0 ? s.vocab() : tokens.length;
                if (tokens.length > vocab) {
                    throw new IllegalArgumentException(vocabFile + " has " + tokens.length + " tokens, more than the "
                            + vocab + " of shape " + s.name());
                }
                if (tokens.length < vocab) {
                    String[] padded = Arrays.copyOf(tokens, vocab);
                    int[] paddedTypes = Arrays.copyOf(tokenTypes, vocab);
                    for (int i = tokens.length; i < vocab; i++) {
                        padded[i] = "[PAD" + i + "]";
                        paddedTypes[i] = 5; // UNUSED
                    }
                    tokenizer.put("tokenizer.ggml.tokens", GgufValue.array(GgufValueType.STRING, padded));
                    tokenizer.put("tokenizer.ggml.token_type", GgufValue.array(GgufValueType.INT32, paddedTypes));
                    if (tokenizer.containsKey("tokenizer.ggml.scores")) {
                        float[] scores = Arrays.copyOf((float[]) tokenizer.get("tokenizer.ggml.scores").value(), vocab);
                        tokenizer.put("tokenizer.ggml.scores", GgufValue.array(GgufValueType.FLOAT32, scores));
                    }
                    tokenTypes = paddedTypes;
                }
            }
        } else {
            vocab = s.vocab() > 0 ? s.vocab() : 512;
        }
        Init init = new Init(seed, dim, s.blockCount(), activeTokens(vocab, tokenTypes));

        GgufWriter w = new GgufWriter();
        w.put("general.architecture", GgufValue.string(a.ggufName));
        w.put("general.name", GgufValue.string("synthetic " + s.name() + " seed " + seed));
        w.put("general.file_type", GgufValue.uint32(fileType()));
        Deepseek2 ds = s.deepseek2();
        if (ds != null) {
            hd = ds.kvLoraRank() + ds.qkRopeHeadDim(); // MLA: one latent KV head
        }
        w.put(p + "context_length", GgufValue.uint32(s.contextLength()));
        w.put(p + "embedding_length", GgufValue.uint32(dim));
        w.put(p + "block_count", GgufValue.uint32(s.blockCount()));
        w.put(p + "feed_forward_length", GgufValue.uint32(ff));
        w.put(p + "attention.head_count", GgufValue.uint32(s.headCount()));
        w.put(p + "attention.head_count_kv", GgufValue.uint32(s.headCountKv()));
        if (ds != null) {
            putDeepseek2(w, p, ds, vocab);
        } else if (s.headDim() > 0) {
            w.put(p + "attention.key_length", GgufValue.uint32(hd));
            w.put(p + "attention.value_length", GgufValue.uint32(hd));
        }
        w.put(p + "rope.freq_base", GgufValue.float32(s.ropeFreqBase()));
        w.put(p + "attention.layer_norm_rms_epsilon", GgufValue.float32(s.rmsEps()));
        if (a == Architecture.LLAMA) {
            w.put(p + "rope.dimension_count", GgufValue.uint32(hd));
            w.put(p + "vocab_size", GgufValue.uint32(vocab));
        }
        w.putAll(tokenizer);

        List<Pending> tensors = new ArrayList<>();
        tensors.add(matrix("token_embd.weight", vocab, dim, init::embedding));
        if (s.llama3RopeFreqs()) {
            float[] f = llama3RopeFreqs(s.ropeFreqBase(), hd);
            tensors.add(vector("rope_freqs.weight", f.length, (r, row) -> System.arraycopy(f, 0, row, 0, f.length)));
        }
        tensors.add(vector("output_norm.weight", dim, init.normWeights("output_norm.weight")));
        if (!s.tied()) {
            tensors.add(matrix("output.weight", vocab, dim, init::output));
        }
        float attnOutStd = init.layerScale / (float) Math.sqrt(qDim);
        float downStd = init.layerScale / 0.6f / (float) Math.sqrt(ff); // silu(g)*u has rms ~0.6 for unit g, u
        for (int l = 0; l < s.blockCount(); l++) {
            String b = "blk." + l + ".";
            if (ds != null) {
                deepseek2Layer(tensors, init, b, l, dim, ff, ds);
                continue;
            }
            tensors.add(vector(b + "attn_norm.weight", dim, init.normWeights(b + "attn_norm.weight")));
            tensors.add(matrix(b + "attn_q.weight", qDim, dim, init.uniform(b + "attn_q.weight", 1 / (float) Math.sqrt(dim))));
            tensors.add(matrix(b + "attn_k.weight", kvDim, dim, init.uniform(b + "attn_k.weight", 1 / (float) Math.sqrt(dim))));
            tensors.add(matrix(b + "attn_v.weight", kvDim, dim, init.uniform(b + "attn_v.weight", 1 / (float) Math.sqrt(dim))));
            if (a.qkvBias) {
                tensors.add(vector(b + "attn_q.bias", qDim, init.uniform(b + "attn_q.bias", 0.1f)));
                tensors.add(vector(b + "attn_k.bias", kvDim, init.uniform(b + "attn_k.bias", 0.1f)));
                tensors.add(vector(b + "attn_v.bias", kvDim, init.uniform(b + "attn_v.bias", 0.1f)));
            }
            if (a.qkNorm) {
                tensors.add(vector(b + "attn_q_norm.weight", hd, init.normWeights(b + "attn_q_norm.weight")));
                tensors.add(vector(b + "attn_k_norm.weight", hd, init.normWeights(b + "attn_k_norm.weight")));
            }
            tensors.add(matrix(b + "attn_output.weight", dim, qDim, init.uniform(b + "attn_output.weight", attnOutStd)));
            tensors.add(vector(b + "ffn_norm.weight", dim, init.normWeights(b + "ffn_norm.weight")));
            tensors.add(matrix(b + "ffn_gate.weight", ff, dim, init.uniform(b + "ffn_gate.weight", 1 / (float) Math.sqrt(dim))));
            tensors.add(matrix(b + "ffn_up.weight", ff, dim, init.uniform(b + "ffn_up.weight", 1 / (float) Math.sqrt(dim))));
            tensors.add(matrix(b + "ffn_down.weight", dim, ff, init.uniform(b + "ffn_down.weight", downStd)));
        }

        long totalBytes = tensors.stream().mapToLong(t -> t.type.byteSize((long) t.rows * t.cols)).sum();
        // a 3-D tensor [slices][rows][cols] is written as rows*slices rows, ggml dims {cols, rows, slices}
        long start = System.nanoTime();
        long[] done = {0};
        int[] index = {0};
        for (Pending t : tensors) {
            long[] dims = t.slices > 1 ? new long[] {t.cols, t.rows / t.slices, t.slices}
                    : t.rows == 1 ? new long[] {t.cols} : new long[] {t.cols, t.rows};
            w.addTensor(t.name, dims, t.type, os -> {
                writeRows(t, os);
                done[0] += t.type.byteSize((long) t.rows * t.cols);
                index[0]++;
                if (progress != null) {
                    double secs = (System.nanoTime() - start) / 1e9;
                    progress.printf(Locale.ROOT, "synth: [%d/%d] %-28s %-5s [%d][%d]  %,.1f / %,.1f MiB  %.1fs%n",
                            index[0], tensors.size(), t.name, t.type, t.rows, t.cols, done[0] / 1048576.0,
                            totalBytes / 1048576.0, secs);
                }
            });
        }
        w.write(out);
    }

    /** Fills {@code row} with row {@code r} of a tensor. */
    @FunctionalInterface
    interface RowFiller {
        void fill(int r, float[] row);
    }

    /** {@code rows} counts all rows of all {@code slices} (the experts or heads of a 3-D tensor). */
    private record Pending(String name, int rows, int cols, GgmlType type, RowFiller filler, int slices) {
        Pending(String name, int rows, int cols, GgmlType type, RowFiller filler) {
            this(name, rows, cols, type, filler, 1);
        }
    }

    private Pending matrix(String name, int rows, int cols, RowFiller filler) {
        return new Pending(name, rows, cols, weightType(name, cols), filler);
    }

    /** A 3-D tensor {@code [slices][rows][cols]}. */
    private Pending slices(String name, int slices, int rows, int cols, RowFiller filler) {
        return new Pending(name, slices * rows, cols, weightType(name, cols), filler, slices);
    }

    private static Pending vector(String name, int n, RowFiller filler) {
        return new Pending(name, 1, n, GgmlType.F32, filler); // 1-D tensors stay F32, as llama.cpp converts them
    }

    private static void putDeepseek2(GgufWriter w, String p, Deepseek2 ds, int vocab) {
        // as convert_hf_to_gguf writes DeepseekV2/V3 for MLA: one KV head of latent + rope, then the MLA head sizes
        w.put(p + "vocab_size", GgufValue.uint32(vocab));
        w.put(p + "leading_dense_block_count", GgufValue.uint32(ds.firstKDenseReplace()));
        w.put(p + "attention.q_lora_rank", GgufValue.uint32(ds.qLoraRank())); // llama.cpp needs it, 0 included
        w.put(p + "attention.kv_lora_rank", GgufValue.uint32(ds.kvLoraRank()));
        w.put(p + "attention.key_length", GgufValue.uint32(ds.kvLoraRank() + ds.qkRopeHeadDim()));
        w.put(p + "attention.value_length", GgufValue.uint32(ds.kvLoraRank()));
        w.put(p + "attention.key_length_mla", GgufValue.uint32(ds.qkNopeHeadDim() + ds.qkRopeHeadDim()));
        w.put(p + "attention.value_length_mla", GgufValue.uint32(ds.vHeadDim()));
        w.put(p + "expert_feed_forward_length", GgufValue.uint32(ds.moeIntermediateSize()));
        w.put(p + "expert_count", GgufValue.uint32(ds.nRoutedExperts()));
        w.put(p + "expert_used_count", GgufValue.uint32(ds.numExpertsPerTok()));
        w.put(p + "expert_shared_count", GgufValue.uint32(ds.nSharedExperts()));
        if (ds.nGroup() > 1) {
            w.put(p + "expert_group_count", GgufValue.uint32(ds.nGroup()));
            w.put(p + "expert_group_used_count", GgufValue.uint32(ds.topkGroup()));
        }
        w.put(p + "expert_weights_scale", GgufValue.float32(ds.routedScalingFactor()));
        if (ds.normTopkProb()) {
            w.put(p + "expert_weights_norm", GgufValue.bool(true));
        }
        w.put(p + "expert_gating_func", GgufValue.uint32(ds.sigmoidGating() ? 2 : 1));
        w.put(p + "rope.dimension_count", GgufValue.uint32(ds.qkRopeHeadDim()));
        if (ds.yarnFactor() > 0) {
            w.put(p + "rope.scaling.type", GgufValue.string("yarn"));
            w.put(p + "rope.scaling.factor", GgufValue.float32(ds.yarnFactor()));
            w.put(p + "rope.scaling.original_context_length", GgufValue.uint32(ds.yarnOriginalContext()));
            w.put(p + "rope.scaling.yarn_log_multiplier", GgufValue.float32(0.1f * ds.mscaleAllDim()));
        }
    }

    /** One deepseek2 block: MLA attention, then a dense FFN (leading layers) or routed + shared experts. */
    private void deepseek2Layer(List<Pending> tensors, Init init, String b, int l, int dim, int ff, Deepseek2 ds) {
        int heads = shape.headCount();
        int qk = ds.qkNopeHeadDim() + ds.qkRopeHeadDim();
        int kvLora = ds.kvLoraRank();
        float unitIn = 1 / (float) Math.sqrt(dim);
        tensors.add(vector(b + "attn_norm.weight", dim, init.normWeights(b + "attn_norm.weight")));
        if (ds.qLoraRank() > 0) {
            int r = ds.qLoraRank();
            tensors.add(matrix(b + "attn_q_a.weight", r, dim, init.uniform(b + "attn_q_a.weight", unitIn)));
            tensors.add(vector(b + "attn_q_a_norm.weight", r, init.normWeights(b + "attn_q_a_norm.weight")));
            tensors.add(matrix(b + "attn_q_b.weight", heads * qk, r, init.uniform(b + "attn_q_b.weight",
                    1 / (float) Math.sqrt(r))));
        } else {
            tensors.add(matrix(b + "attn_q.weight", heads * qk, dim, init.uniform(b + "attn_q.weight", unitIn)));
        }
        tensors.add(matrix(b + "attn_kv_a_mqa.weight", kvLora + ds.qkRopeHeadDim(), dim,
                init.uniform(b + "attn_kv_a_mqa.weight", unitIn)));
        tensors.add(vector(b + "attn_kv_a_norm.weight", kvLora, init.normWeights(b + "attn_kv_a_norm.weight")));
        tensors.add(slices(b + "attn_k_b.weight", heads, kvLora, ds.qkNopeHeadDim(),
                init.uniform(b + "attn_k_b.weight", 1 / (float) Math.sqrt(ds.qkNopeHeadDim()))));
        tensors.add(slices(b + "attn_v_b.weight", heads, ds.vHeadDim(), kvLora,
                init.uniform(b + "attn_v_b.weight", 1 / (float) Math.sqrt(kvLora))));
        tensors.add(matrix(b + "attn_output.weight", dim, heads * ds.vHeadDim(), init.uniform(b + "attn_output.weight",
                init.layerScale / (float) Math.sqrt(heads * ds.vHeadDim()))));
        tensors.add(vector(b + "ffn_norm.weight", dim, init.normWeights(b + "ffn_norm.weight")));
        if (l < ds.firstKDenseReplace()) {
            tensors.add(matrix(b + "ffn_gate.weight", ff, dim, init.uniform(b + "ffn_gate.weight", unitIn)));
            tensors.add(matrix(b + "ffn_up.weight", ff, dim, init.uniform(b + "ffn_up.weight", unitIn)));
            tensors.add(matrix(b + "ffn_down.weight", dim, ff, init.uniform(b + "ffn_down.weight",
                    init.layerScale / 0.6f / (float) Math.sqrt(ff))));
            return;
        }
        int n = ds.nRoutedExperts();
        int ffExp = ds.moeIntermediateSize();
        // routed experts' weights sum to routedScalingFactor when normalized (else ~k/2 sigmoid, ~k/n softmax)
        float routedSum = ds.normTopkProb() ? ds.routedScalingFactor()
                : ds.numExpertsPerTok() * (ds.sigmoidGating() ? 0.5f : 1f / n) * ds.routedScalingFactor();
        float expDown = init.layerScale / 0.6f / (float) Math.sqrt(ffExp) / Math.max(0.25f, routedSum)
                / (float) Math.sqrt(2);
        // the router: F32 like llama.cpp keeps it; logits of unit spread so routing choices are clear-cut
        tensors.add(new Pending(b + "ffn_gate_inp.weight", n, dim, GgmlType.F32,
                init.uniform(b + "ffn_gate_inp.weight", unitIn)));
        if (ds.sigmoidGating()) {
            tensors.add(new Pending(b + "exp_probs_b.bias", 1, n, GgmlType.F32,
                    init.uniform(b + "exp_probs_b.bias", 0.05f)));
        }
        tensors.add(slices(b + "ffn_gate_exps.weight", n, ffExp, dim, init.uniform(b + "ffn_gate_exps.weight", unitIn)));
        tensors.add(slices(b + "ffn_up_exps.weight", n, ffExp, dim, init.uniform(b + "ffn_up_exps.weight", unitIn)));
        tensors.add(slices(b + "ffn_down_exps.weight", n, dim, ffExp, init.uniform(b + "ffn_down_exps.weight", expDown)));
        if (ds.nSharedExperts() > 0) {
            int sh = ffExp * ds.nSharedExperts();
            tensors.add(matrix(b + "ffn_gate_shexp.weight", sh, dim, init.uniform(b + "ffn_gate_shexp.weight", unitIn)));
            tensors.add(matrix(b + "ffn_up_shexp.weight", sh, dim, init.uniform(b + "ffn_up_shexp.weight", unitIn)));
            tensors.add(matrix(b + "ffn_down_shexp.weight", dim, sh, init.uniform(b + "ffn_down_shexp.weight",
                    init.layerScale / 0.6f / (float) Math.sqrt(sh) / (float) Math.sqrt(2))));
        }
    }

    /** The type of a 2-D weight; for Q4_K_M, llama.cpp's choice (llama_tensor_get_type). */
    GgmlType weightType(String name) {
        return weightType(name, 256);
    }

    /**
     * As {@link #weightType(String)}, for a tensor of {@code cols} columns: a type whose blocks do not fit the row
     * falls back to Q8_0 (then F16), as llama.cpp's quantizer falls back for such tensors (MLA's attn_k_b rows are
     * only qk_nope_head_dim wide).
     */
    GgmlType weightType(String name, int cols) {
        GgmlType t = namedType(name);
        if (cols % t.blockSize() != 0) {
            t = cols % GgmlType.Q8_0.blockSize() == 0 ? GgmlType.Q8_0 : GgmlType.F16;
        }
        return t;
    }

    private GgmlType namedType(String name) {
        if ((name.endsWith("attn_k_b.weight") || name.endsWith("attn_v_b.weight")) && !type.equals("F32")) {
            // MLA's per-head absorption weights (~1% of R1's) stay BF16 in every other type: llama.cpp 3.21.1's
            // prebuilt CPU backend aborts on them in F16, Q8_0 and Q4_0 on this machine (its AMX extra buffer
            // takes them, then no backend runs their batched product: ggml-backend.cpp "cur_backend_id != -1";
            // llama-bench built from the same source without AMX runs them), and it runs BF16
            return GgmlType.BF16;
        }
        if (!type.equals("Q4_K_M")) {
            return GgmlType.valueOf(type);
        }
        if (name.equals("output.weight")) {
            return GgmlType.Q6_K;
        }
        if (name.endsWith("attn_v.weight") || name.endsWith("ffn_down.weight") || name.endsWith("ffn_down_exps.weight")) {
            int layer = Integer.parseInt(name.split("\\.")[1]);
            return useMoreBits(layer, shape.blockCount()) ? GgmlType.Q6_K : GgmlType.Q4_K;
        }
        return GgmlType.Q4_K;
    }

    /** llama.cpp's use_more_bits: the first and last eighth of the layers, and every third one between. */
    static boolean useMoreBits(int layer, int layers) {
        return layer < layers / 8 || layer >= 7 * layers / 8 || (layer - layers / 8) % 3 == 2;
    }

    /** llama_ftype of the file (general.file_type; informative). */
    private int fileType() {
        return switch (type) {
            case "F32" -> 0;
            case "F16" -> 1;
            case "Q4_0" -> 2;
            case "Q8_0" -> 7;
            case "Q4_K" -> 14; // Q4_K_S
            case "Q4_K_M" -> 15;
            case "Q5_K" -> 16; // Q5_K_S
            case "Q6_K" -> 18;
            case "BF16" -> 32;
            default -> throw new IllegalStateException(type);
        };
    }

    /** Rows per parallel chunk: generated and quantized on all cores, then written in order. */
    private static final int CHUNK_ROWS = 256;

    private static void writeRows(Pending t, OutputStream os) throws IOException {
        int rowBytes = (int) t.type.byteSize(t.cols);
        byte[] chunk = new byte[Math.min(t.rows, CHUNK_ROWS) * rowBytes];
        ThreadLocal<float[]> rowBuffer = ThreadLocal.withInitial(() -> new float[t.cols]);
        for (int from = 0; from < t.rows; from += CHUNK_ROWS) {
            int start = from;
            int n = Math.min(CHUNK_ROWS, t.rows - from);
            // rows have their own seeds, so the result does not depend on which thread makes which row
            IntStream.range(0, n).parallel().forEach(i -> {
                float[] row = rowBuffer.get();
                t.filler.fill(start + i, row);
                Quantizer.quantizeRow(t.type, row, 0, t.cols, chunk, i * rowBytes);
            });
            os.write(chunk, 0, n * rowBytes);
        }
    }

    /**
     * Llama-3.1 RoPE frequency divisors as convert_hf_to_gguf computes them (factor 8, low_freq_factor 1,
     * high_freq_factor 4, original context 8192): 1 for short wavelengths, 8 for long, smooth between.
     */
    static float[] llama3RopeFreqs(float base, int headDim) {
        double factor = 8, lowFreqFactor = 1, highFreqFactor = 4, oldContext = 8192;
        double lowFreqWavelen = oldContext / lowFreqFactor;
        double highFreqWavelen = oldContext / highFreqFactor;
        float[] out = new float[headDim / 2];
        for (int i = 0; i < out.length; i++) {
            double freq = 1.0 / Math.pow(base, (2.0 * i) / headDim);
            double wavelen = 2 * Math.PI / freq;
            if (wavelen < highFreqWavelen) {
                out[i] = 1f;
            } else if (wavelen > lowFreqWavelen) {
                out[i] = (float) factor;
            } else {
                double smooth = (oldContext / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
                out[i] = (float) (1 / ((1 - smooth) / factor + smooth));
            }
        }
        return out;
    }

    /** Token ids whose output rows are live: NORMAL tokens (type 1), or all ids without a tokenizer. */
    private static int[] activeTokens(int vocab, int[] tokenTypes) {
        if (tokenTypes == null) {
            int[] all = new int[vocab];
            Arrays.setAll(all, i -> i);
            return all;
        }
        return IntStream.range(0, vocab).filter(i -> tokenTypes[i] == 1).toArray();
    }

    /** The random initialization: every row from its own seed. */
    static final class Init {
        private final long seed;
        private final int dim;
        final float layerScale; // std of each sublayer's contribution to the residual stream
        private final int[] active;
        private final int[] activeIndex; // token id -> index in active, or -1
        private final long stride;        // predecessor permutation: index i -> (i * stride + 1) mod active.length

        Init(long seed, int dim, int blockCount, int[] active) {
            this.seed = seed;
            this.dim = dim;
            this.layerScale = 0.5f / (float) Math.sqrt(blockCount);
            this.active = active;
            int maxId = active.length == 0 ? 0 : active[active.length - 1] + 1;
            this.activeIndex = new int[maxId];
            Arrays.fill(activeIndex, -1);
            for (int i = 0; i < active.length; i++) {
                activeIndex[active[i]] = i;
            }
            long st = (mix(seed) >>> 1) % Math.max(1, active.length) | 1;
            while (active.length > 1 && gcd(st, active.length) != 1) {
                st += 2;
            }
            this.stride = st;
        }

        private static long gcd(long a, long b) {
            return b == 0 ? a : gcd(b, a % b);
        }

        static long mix(long z) { // splitmix64 finalizer
            z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
            z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
            return z ^ (z >>> 31);
        }

        /** Uniform values with standard deviation {@code std} from the stream of (seed, name, row). */
        static void fillUniform(long seed, String name, int row, float std, float[] out) {
            long state = mix(seed ^ mix(name.hashCode() * 0x9e3779b97f4a7c15L + row));
            float half = std * (float) Math.sqrt(3.0);
            for (int i = 0; i < out.length; i++) {
                state += 0x9e3779b97f4a7c15L;
                long z = mix(state);
                float u = (z >>> 40) * 0x1p-24f; // [0, 1)
                out[i] = (2 * u - 1) * half;
            }
        }

        RowFiller uniform(String name, float std) {
            return (r, row) -> fillUniform(seed, name, r, std, row);
        }

        RowFiller normWeights(String name) {
            return (r, row) -> {
                fillUniform(seed, name, r, 0.1f / (float) Math.sqrt(3.0), row); // 1 +- 0.1
                for (int i = 0; i < row.length; i++) {
                    row[i] += 1f;
                }
            };
        }

        void embedding(int token, float[] row) {
            fillUniform(seed, "token_embd.weight", token, 1f, row);
        }

        /** Noise plus a bonus along the embedding direction of the token's predecessor; zero for inactive tokens. */
        void output(int token, float[] row) {
            int idx = token < activeIndex.length ? activeIndex[token] : -1;
            if (idx < 0) {
                Arrays.fill(row, 0f);
                return;
            }
            int pred = active[(int) ((idx * stride + 1) % active.length)];
            float[] e = new float[dim];
            embedding(pred, e);
            double norm = 0;
            for (float x : e) {
                norm += (double) x * x;
            }
            // the final norm makes h about unit-rms, |h| ~ sqrt(dim): a row of norm s/sqrt(dim) along h gives logit s
            float bonus = (float) (LOGIT_BONUS / Math.sqrt(norm * dim));
            fillUniform(seed, "output.weight", token, LOGIT_NOISE / (float) Math.sqrt(dim), row);
            for (int i = 0; i < dim; i++) {
                row[i] += bonus * e[i];
            }
        }
    }
}
