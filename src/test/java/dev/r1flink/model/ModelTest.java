package dev.r1flink.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.r1flink.tensor.Backend;
import dev.r1flink.tensor.NativeKernels;
import dev.r1flink.tensor.NativeTestSupport;
import dev.r1flink.tensor.Parallel;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import java.util.stream.Stream;

/** Forward pass of each architecture on tiny synthesized models of every weight type (no tokenizer, 512-token vocab). */
class ModelTest {

    @TempDir
    static Path dir;
    static final Map<String, Model> MODELS = new HashMap<>();
    static Parallel one;
    static Parallel two;

    @BeforeAll
    static void setUp() {
        one = new Parallel(1);
        two = new Parallel(2);
    }

    @AfterAll
    static void tearDown() {
        one.close();
        two.close();
    }

    static Model model(String shape) throws IOException {
        return model(shape, "F32");
    }

    static synchronized Model model(String shape, String type) throws IOException {
        String key = shape + "-" + type;
        Model m = MODELS.get(key);
        if (m == null) {
            Path f = dir.resolve(key + ".gguf");
            new Synthesizer(Synthesizer.shape(shape), type, null, 7).write(f, null);
            m = Model.load(f);
            MODELS.put(key, m);
        }
        return m;
    }

    static Stream<Arguments> everyShapeAndType() {
        return Stream.of("tiny-qwen2", "tiny-qwen2-tied", "tiny-llama", "tiny-qwen3")
                .flatMap(shape -> Synthesizer.TYPES.stream().map(type -> Arguments.of(shape, type)));
    }

    static Stream<Arguments> batchCases() {
        return Stream.concat(Synthesizer.TYPES.stream().map(type -> Arguments.of("tiny-qwen2", type)),
                Stream.of(Arguments.of("tiny-llama", "F32"), Arguments.of("tiny-llama", "Q4_K_M"),
                        Arguments.of("tiny-qwen3", "F32"), Arguments.of("tiny-qwen3", "Q8_0")));
    }

    static final int[][] SEQS = {
            {1, 17, 300, 5, 99, 42, 7},
            {511, 0, 3},
            {250, 250, 250, 12, 13},
    };

    /** Logits of every position of {@code tokens}, fed one token per step as sequence 0 of a fresh cache. */
    static float[][] tokenByToken(Model m, int[] tokens, Parallel p) {
        return tokenByToken(m, tokens, p, Backend.processDefault());
    }

    static float[][] tokenByToken(Model m, int[] tokens, Parallel p, Backend backend) {
        int vocab = m.config.vocabSize();
        KvCache kv = new ContiguousKvCache(m.config, 1, 64);
        State s = m.newState(1, backend);
        Batch b = new Batch(1);
        float[][] out = new float[tokens.length][vocab];
        for (int i = 0; i < tokens.length; i++) {
            b.clear();
            b.add(tokens[i], i, 0, true);
            m.forward(b, kv, s, out[i], p);
        }
        return out;
    }

    /**
     * The reference works on the dequantized weights and float activations, so this checks the math, not the
     * quantization: to 1e-4 of the largest logit on the Java kernels. The native kernels also round every product's
     * input to int8 (q8_0/q8_K blocks, as ggml does), which these high-gain synthetic models amplify: 2e-2 there
     * (measured up to 7e-3, 2026-12-01); the native arithmetic itself is checked bit for bit in NativeKernelsTest.
     */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("everyShapeAndType")
    void agreesWithNaiveReference(String shape, String type) throws IOException {
        Model m = model(shape, type);
        for (Backend backend : NativeTestSupport.backends().toList()) {
            agreesWithNaiveReference(m, shape, type, backend, backend == Backend.NATIVE
                    && NativeKernels.supports(m.weights.layers[0].ffnUp().type()) ? 2e-2f : 1e-4f);
        }
    }

    private void agreesWithNaiveReference(Model m, String shape, String type, Backend backend, float tolerance) {
        for (int[] seq : SEQS) {
            float[][] got = tokenByToken(m, seq, two, backend);
            ReferenceForward ref = new ReferenceForward(m, 64);
            for (int i = 0; i < seq.length; i++) {
                float[] want = ref.step(seq[i]);
                float scale = 0;
                for (float v : want) {
                    scale = Math.max(scale, Math.abs(v));
                }
                for (int v = 0; v < want.length; v++) {
                    float err = Math.abs(got[i][v] - want[v]);
                    if (err > tolerance * scale) {
                        throw new AssertionError(shape + " " + type + " on " + backend + " pos " + i + " logit " + v + ": " + got[i][v]
                                + " vs reference " + want[v] + " (max |logit| " + scale + ")");
                    }
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("batchCases")
    void batchOfSequencesIsBitIdenticalToEachAlone(String shape, String type) throws IOException {
        Model m = model(shape, type);
        int vocab = m.config.vocabSize();
        float[][][] alone = new float[SEQS.length][][];
        for (int q = 0; q < SEQS.length; q++) {
            alone[q] = tokenByToken(m, SEQS[q], one);
        }
        // every row of all sequences in one batch, interleaved, on two threads
        Batch b = new Batch(32);
        KvCache kv = new ContiguousKvCache(m.config, SEQS.length, 64);
        int maxLen = Arrays.stream(SEQS).mapToInt(a -> a.length).max().orElseThrow();
        for (int i = 0; i < maxLen; i++) {
            for (int q = 0; q < SEQS.length; q++) {
                if (i < SEQS[q].length) {
                    b.add(SEQS[q][i], i, q, true);
                }
            }
        }
        float[] logits = new float[b.outputCount() * vocab];
        m.forward(b, kv, m.newState(b.size()), logits, two);
        for (int r = 0; r < b.size(); r++) {
            float[] row = Arrays.copyOfRange(logits, r * vocab, (r + 1) * vocab);
            assertArrayEquals(alone[b.seqIds[r]][b.positions[r]], row, shape + " " + type + " row " + r);
        }
    }

    @ParameterizedTest
    @MethodSource("batchCases")
    void chunkedPrefillThenDecodeIsBitIdenticalToTokenByToken(String shape, String type) throws IOException {
        Model m = model(shape, type);
        int vocab = m.config.vocabSize();
        int[] seq = SEQS[0];
        float[][] want = tokenByToken(m, seq, one);
        KvCache kv = new ContiguousKvCache(m.config, 2, 64);
        State s = m.newState(8);
        Batch b = new Batch(8);
        // prefill positions 0..4 in one chunk, logits only for the last row
        for (int i = 0; i < 5; i++) {
            b.add(seq[i], i, 1, i == 4);
        }
        float[] logits = new float[vocab];
        m.forward(b, kv, s, logits, two);
        assertArrayEquals(want[4], logits, "last prefill row");
        // then decode the rest one row at a time
        for (int i = 5; i < seq.length; i++) {
            b.clear();
            b.add(seq[i], i, 1, true);
            m.forward(b, kv, s, logits, two);
            assertArrayEquals(want[i], logits, "decode pos " + i);
        }
    }

    @org.junit.jupiter.api.Test
    void configReadsExplicitHeadDimAndGqa() throws IOException {
        ModelConfig c = model("tiny-qwen3").config;
        assertEquals(Architecture.QWEN3, c.architecture());
        assertEquals(128, c.headDim());
        assertEquals(4 * 128, c.qDim());
        assertEquals(2 * 128, c.kvDim());
        assertEquals(512, c.vocabSize());
        assertTrue(model("tiny-qwen2-tied").weights.tiedOutput());
        assertTrue(model("tiny-llama").weights.ropeFreqs != null);
    }

    /** One Model, many callers: each with its own runner, cache and Parallel, all at once, same results as alone. */
    @org.junit.jupiter.api.Test
    void oneModelSharedByConcurrentRunners() throws Exception {
        Model m = model("tiny-qwen3", "Q4_K");
        float[][] want = tokenByToken(m, SEQS[0], one);
        int threads = 4;
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(threads);
        try {
            java.util.List<java.util.concurrent.Future<float[][]>> results = new java.util.ArrayList<>();
            for (int t = 0; t < threads; t++) {
                results.add(pool.submit(() -> {
                    try (Parallel p = new Parallel(2)) {
                        float[][] got = null;
                        for (int rep = 0; rep < 3; rep++) {
                            got = tokenByToken(m, SEQS[0], p);
                        }
                        return got;
                    }
                }));
            }
            for (java.util.concurrent.Future<float[][]> f : results) {
                float[][] got = f.get();
                for (int i = 0; i < want.length; i++) {
                    assertArrayEquals(want[i], got[i], "pos " + i);
                }
            }
        } finally {
            pool.shutdownNow();
        }
    }
}
