package dev.r1flink.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.r1flink.tensor.Parallel;
import dev.r1flink.tokenizer.BpeTokenizer;
import dev.r1flink.tokenizer.SharedTestData;
import dev.r1flink.tokenizer.Vocabulary;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;
import dev.r1flink.tensor.Backend;
import dev.r1flink.tensor.NativeTestSupport;
import java.util.List;

/**
 * Our runtime against llama.cpp on the same synthetic models. The golden files in {@code src/test/resources/golden/}
 * come from llama.cpp (node-llama-cpp 3.21.1 = llama.cpp release v0.4.0, CPU, 2 threads, F16 KV cache, flash
 * attention off); {@code tools/llamacpp-reference/regenerate.sh} rebuilds them. Each test rebuilds the model of
 * its golden file in-process with {@link Synthesizer} (same shape, type, seed and vocab) into a temp dir.
 *
 * <p>Every test feeds llama.cpp's own tokens (teacher forcing): the prompt, tokenized by our tokenizer and required
 * to equal llama.cpp's ids, in one batch, then llama.cpp's continuation one token at a time. At each step it
 * compares our top-10 with llama.cpp's as relative logits {@code logit - maxLogit} (llama.cpp's are
 * {@code ln(p/pmax)} from its probabilities, rounded to 1e-4 in the file).
 * <ul>
 *   <li>F32 and F16 weights: our greedy choice equals llama.cpp's at every step (32 steps), and the relative logits
 *       agree within {@link #F32_TOLERANCE} / {@link #F16_TOLERANCE}.</li>
 *   <li>Quantized weights: relative logits within {@link #QUANT_TOLERANCE}, and the same argmax at every step where
 *       llama.cpp's top-2 margin exceeds that tolerance. ggml multiplies quantized weights by activations that it
 *       first quantizes itself (to Q8_0 for Q8_0/Q4_0 weights, to Q8_K for K-quants); we multiply by float
 *       activations, which accounts for the difference.</li>
 * </ul>
 */
class LlamaCppParityTest {

    /*
     * Tolerances on |our relative logit - llama.cpp's| over llama.cpp's top-10 of every step, set with 1.6-2.6x
     * headroom over the largest deviation measured (2 threads, this machine, 2026-11-28). The logits of these models span
     * ~25 between the top-1 and the 10th token; the golden files round to 5e-5.
     *   F32: max 0.00076 (llama), 0.00056 (qwen2), 0.00075 (qwen3)
     *   F16: max 0.00591 (llama), 0.00521 (qwen2), 0.00559 (qwen3)
     *   qwen2 Q8_0 0.117, Q4_0 0.119, Q4_K 0.171, Q5_K 0.217, Q6_K 0.173; llama Q4_K 0.251; qwen3 Q4_K 0.184
     * With -Dr1.model.ggmlRounding=true (ggml's activation roundings, see GgmlRounding) F32 drops to 0.00033 and
     * the quantized models to 5e-5 until the first int8 rounding that falls the other way; F16 stays at ~0.005
     * (not explained yet: not the F16 activation rounding, not our F16 kernel, whose dot is exact to 2e-6).
     */
    static final float F32_TOLERANCE = 1.5e-3f;
    /**
     * deepseek2 F32 (MLA + MoE): max 0.00441 (tiny-deepseek2, q_lora, sigmoid routing), 0.00344 (tiny-deepseek2-lite,
     * plain q, softmax routing), 2026-12-01; greedy ids identical for all 32 steps in both. Wider than the dense
     * archs' 0.0008 and not broken down yet; the suspects are the roundings llama.cpp's MLA path adds: each head's
     * absorbed query (kv_lora_rank + rope wide) and the softmax weights go to F16 for the products with the F16
     * latent cache, and the latent attention output is decompressed by attn_v_b afterwards.
     */
    static final float DEEPSEEK2_F32_TOLERANCE = 1.0e-2f;
    static final float F16_TOLERANCE = 1.2e-2f;
    static final float QUANT_TOLERANCE = 0.4f;
    /**
     * The native backend quantizes activations to q8_0/q8_K exactly as ggml does, yet measures the same spread
     * (2026-12-01): qwen2 Q8_0 0.137, Q4_0 0.181, Q4_K 0.164, Q5_K 0.258, Q6_K 0.204; llama Q4_K 0.221; qwen3 Q4_K
     * 0.214. These synthetic models amplify: one activation whose int8 rounding falls the other way (the float sums
     * before it are ordered differently from ggml's, and attention rounds differently) moves logits by ~0.1, and
     * with 30+ prompt tokens that happens inside the prefill already (step 0 deviates 0.07-0.26 even with
     * -Dr1.model.ggmlRounding=true). So the tolerance cannot be tightened on these files; the exact checks of the
     * native arithmetic are NativeKernelsTest (bit for bit against the Java twin) and the id checks above.
     */
    static final float NATIVE_QUANT_TOLERANCE = 0.4f;

    /**
     * Steps of a quantized MoE golden that may deviate beyond the tolerance. Routing is discrete: where a row's
     * k-th and (k+1)-th expert scores are nearly tied, the activation rounding that moves logits by ~0.1 elsewhere
     * picks a different expert, and that step's logits move by ~1. Measured on tiny-deepseek2 Q8_0 (2026-12-01): 2 of
     * 32 steps (9: 0.875, 29: 1.48 on Java; 1.42 native), every other step 0.04-0.15; greedy ids of the F32 files
     * are identical at every step. Those steps are exempt from the argmax rule too.
     */
    static final int MOE_ROUTING_FLIPS = 3;

    static final int TOP_K = 10;

    @TempDir
    static Path tmp;

    @ParameterizedTest
    @ValueSource(strings = {"qwen2-f32", "qwen2-f16", "llama-f32", "llama-f16", "qwen3-f32", "qwen3-f16",
            "deepseek2-f32", "deepseek2-lite-f32"})
    void greedyDecodingMatchesLlamaCpp(String name) throws IOException {
        Result r = run(LlamaCppGolden.load("/golden/" + name + ".json"), Backend.JAVA);
        assertArrayEquals(r.golden.ids(), r.ourArgmax, name + ": greedy ids differ from llama.cpp's");
        float tolerance = r.golden.type().equals("F32")
                ? (r.golden.shape().contains("deepseek2") ? DEEPSEEK2_F32_TOLERANCE : F32_TOLERANCE) : F16_TOLERANCE;
        assertTrue(r.maxDeviation <= tolerance, String.format(Locale.ROOT,
                "%s: relative logits deviate up to %.5f from llama.cpp's (step %d), tolerance %.5f",
                name, r.maxDeviation, r.worstStep, tolerance));
    }

    static java.util.stream.Stream<org.junit.jupiter.params.provider.Arguments> quantizedGoldens() {
        List<org.junit.jupiter.params.provider.Arguments> out = new java.util.ArrayList<>();
        for (String name : new String[] {"qwen2-q8_0", "qwen2-q4_0", "qwen2-q4_k", "qwen2-q5_k", "qwen2-q6_k",
                "llama-q4_k", "qwen3-q4_k", "deepseek2-q8_0"}) {
            for (Backend b : NativeTestSupport.backends().toList()) {
                out.add(org.junit.jupiter.params.provider.Arguments.of(name, b)); // same file: synthesized once
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("quantizedGoldens")
    void quantizedLogitsMatchLlamaCpp(String name, Backend backend) throws IOException {
        LlamaCppGolden g = LlamaCppGolden.load("/golden/" + name + ".json");
        Result r = run(g, backend);
        float tolerance = backend == Backend.NATIVE ? NATIVE_QUANT_TOLERANCE : QUANT_TOLERANCE;
        boolean moe = g.shape().contains("deepseek2");
        int over = 0;
        for (int step = 0; step < g.steps(); step++) {
            over += r.deviations[step] > tolerance ? 1 : 0;
        }
        if (moe) {
            assertTrue(over <= MOE_ROUTING_FLIPS, String.format(Locale.ROOT,
                    "%s on %s: %d steps deviate beyond %.5f from llama.cpp's (at most %d allowed), max %.5f (step %d)",
                    name, backend, over, tolerance, MOE_ROUTING_FLIPS, r.maxDeviation, r.worstStep));
        } else {
            assertTrue(r.maxDeviation <= tolerance, String.format(Locale.ROOT,
                    "%s on %s: relative logits deviate up to %.5f from llama.cpp's (step %d), tolerance %.5f",
                    name, backend, r.maxDeviation, r.worstStep, tolerance));
        }
        for (int step = 0; step < g.steps(); step++) {
            float margin = -g.topLogits()[step][1];
            if (margin > tolerance && !(moe && r.deviations[step] > tolerance)) {
                assertEquals(g.topIds()[step][0], r.ourArgmax[step], name + ": argmax differs at step " + step
                        + " where llama.cpp's top-2 margin is " + margin);
            }
        }
    }

    /** What our runtime did on one golden file's tokens. */
    record Result(LlamaCppGolden golden, int[] ourArgmax, float maxDeviation, int worstStep, float[] deviations) {}

    /** The last golden's model and prompt ids: the backends of one golden run one after the other on them. */
    private static String lastKey;
    private static Model lastModel;
    private static int[] lastPromptIds;

    static synchronized Result run(LlamaCppGolden g, Backend backend) throws IOException {
        String key = g.shape() + "-" + g.type() + "-" + g.seed();
        if (!key.equals(lastKey)) {
            lastKey = null;
            lastModel = null; // up to 320 MB each: one at a time
            Path vocab = SharedTestData.require(g.vocab());
            Path model = tmp.resolve(key + ".gguf");
            new Synthesizer(Synthesizer.shape(g.shape()), g.type(), vocab, g.seed()).write(model, null);
            // the prompt as llama.cpp tokenized it: BOS as the file says, special tokens parsed
            Vocabulary v = Vocabulary.load(model);
            lastPromptIds = new BpeTokenizer(v).encode(g.prompt(), v.addBos(), true);
            lastModel = Model.load(model);
            Files.delete(model); // loaded onto the heap
            lastKey = key;
        }
        int[] promptIds = lastPromptIds;
        assertArrayEquals(g.promptIds(), promptIds, g.shape() + ": prompt tokens differ from llama.cpp's");
        Model m = lastModel;
        int vocabSize = m.config.vocabSize();
        int n = promptIds.length;
        ContiguousKvCache kv = new ContiguousKvCache(m.config, 1, n + g.steps());
        State state = m.newState(n, backend);
        Batch batch = new Batch(n);
        float[] logits = new float[vocabSize];
        int[] argmax = new int[g.steps()];
        float maxDev = 0;
        int worst = -1;
        float[] devs = new float[g.steps()];
        try (Parallel parallel = new Parallel(2)) {
            // prompt in one batch, as llama.cpp evaluates it in one ubatch
            for (int i = 0; i < n; i++) {
                batch.add(promptIds[i], i, 0, i == n - 1);
            }
            m.forward(batch, kv, state, logits, parallel);
            for (int step = 0; step < g.steps(); step++) {
                argmax[step] = argmax(logits);
                float dev = deviation(logits, g.topIds()[step], g.topLogits()[step]);
                devs[step] = dev;
                if (Boolean.getBoolean("parity.verbose")) {
                    System.out.printf(Locale.ROOT, "  %s %s step %d dev %.5f%n", g.shape(), g.type(), step, dev);
                }
                if (dev > maxDev) {
                    maxDev = dev;
                    worst = step;
                }
                // feed llama.cpp's token, not ours
                batch.clear();
                batch.add(g.ids()[step], n + step, 0, true);
                m.forward(batch, kv, state, logits, parallel);
            }
        }
        System.out.printf(Locale.ROOT, "parity %s %s on %s: max |relative logit deviation| over top-%d = %.5f (step %d)%n",
                g.shape(), g.type(), backend, TOP_K, maxDev, worst);
        return new Result(g, argmax, maxDev, worst, devs);
    }

    /**
     * Largest difference between llama.cpp's relative logits of its top-k and ours for the same tokens, where ours
     * are taken relative to our own max logit.
     */
    static float deviation(float[] logits, int[] ids, float[] rel) {
        float max = logits[argmax(logits)];
        float dev = 0;
        for (int j = 0; j < ids.length; j++) {
            dev = Math.max(dev, Math.abs((logits[ids[j]] - max) - rel[j]));
        }
        return dev;
    }

    static int argmax(float[] x) {
        int best = 0;
        for (int i = 1; i < x.length; i++) {
            if (x[i] > x[best]) {
                best = i;
            }
        }
        return best;
    }
}
