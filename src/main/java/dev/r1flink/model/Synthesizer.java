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
                        float rmsEps, int contextLength, boolean tied, boolean llama3RopeFreqs) {

        public int keyLength() {
            return headDim > 0 ? headDim : embeddingLength / headCount;
        }
    }

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
                    131072, false, false));

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
        w.put(p + "context_length", GgufValue.uint32(s.contextLength()));
        w.put(p + "embedding_length", GgufValue.uint32(dim));
        w.put(p + "block_count", GgufValue.uint32(s.blockCount()));
        w.put(p + "feed_forward_length", GgufValue.uint32(ff));
        w.put(p + "attention.head_count", GgufValue.uint32(s.headCount()));
        w.put(p + "attention.head_count_kv", GgufValue.uint32(s.headCountKv()));
        if (s.headDim() > 0) {
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
        long start = System.nanoTime();
        long[] done = {0};
        int[] index = {0};
        for (Pending t : tensors) {
            w.addTensor(t.name, t.rows == 1 ? new long[] {t.cols} : new long[] {t.cols, t.rows}, t.type, os -> {
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

    private record Pending(String name, int rows, int cols, GgmlType type, RowFiller filler) {}

    private Pending matrix(String name, int rows, int cols, RowFiller filler) {
        return new Pending(name, rows, cols, weightType(name), filler);
    }

    private static Pending vector(String name, int n, RowFiller filler) {
        return new Pending(name, 1, n, GgmlType.F32, filler); // 1-D tensors stay F32, as llama.cpp converts them
    }

    /** The type of a 2-D weight; for Q4_K_M, llama.cpp's choice (llama_tensor_get_type). */
    GgmlType weightType(String name) {
        if (!type.equals("Q4_K_M")) {
            return GgmlType.valueOf(type);
        }
        if (name.equals("output.weight")) {
            return GgmlType.Q6_K;
        }
        if (name.endsWith("attn_v.weight") || name.endsWith("ffn_down.weight")) {
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
