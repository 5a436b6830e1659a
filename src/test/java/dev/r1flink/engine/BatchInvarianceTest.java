package dev.r1flink.engine;

import dev.r1flink.model.Model;
import dev.r1flink.model.Synthesizer;
import dev.r1flink.tensor.Parallel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import dev.r1flink.tensor.Backend;
import dev.r1flink.tensor.NativeTestSupport;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.StringJoiner;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Batch invariance on the real forward pass (a synthesized tiny Qwen2): 32 random requests, greedy and seeded,
 * run together (8 sequences a step, prefill in chunks, a small pool that forces preemption and recompute, prefix
 * caching, 2 threads) produce bit-identical tokens to each request run alone (1 sequence, whole prompt, 1 thread),
 * for every weight type on each kernel backend.
 */
class BatchInvarianceTest {
    static Path dir;
    static Parallel one;
    static Parallel two;

    @BeforeAll
    static void setUp() throws Exception {
        dir = Files.createTempDirectory("r1-engine-invariance");
        one = new Parallel(1);
        two = new Parallel(2);
    }

    @AfterAll
    static void tearDown() throws Exception {
        one.close();
        two.close();
        try (var files = Files.list(dir)) {
            for (Path f : files.toList()) Files.delete(f);
        }
        Files.delete(dir);
    }

    private static List<GenerationRequest> requests(int vocab) {
        Random r = new Random(3);
        int[] shared = r.ints(24, 0, vocab).toArray(); // a common "system prompt" for some requests
        List<GenerationRequest> out = new ArrayList<>();
        for (int i = 0; i < 32; i++) {
            StringJoiner p = new StringJoiner(" ");
            if (r.nextBoolean()) for (int t : shared) p.add(Integer.toString(t));
            int len = 1 + r.nextInt(30);
            for (int j = 0; j < len; j++) p.add(Integer.toString(r.nextInt(vocab)));
            GenerationRequest.Builder b = GenerationRequest.builder("q" + i, p.toString()).maxTokens(4 + r.nextInt(20));
            if (i % 2 == 0) b.temperature(0f); else b.seed(r.nextLong()).temperature(1.5f);
            out.add(b.build());
        }
        return out;
    }

    private static List<String> run(ForwardModel model, TokenCodec codec, EngineOptions o, Parallel p,
                                    List<GenerationRequest> requests) {
        Scheduler s = new Scheduler(model, codec, o, p);
        List<Sequence> seqs = new ArrayList<>();
        long arrival = 0;
        for (GenerationRequest r : requests) {
            Sequence q = BatchingEngine.sequence(arrival++, r, codec.encodePrompt(r, false), null, o,
                    model.vocabularySize(), () -> { });
            s.submit(q);
            seqs.add(q);
        }
        for (int i = 0; i < 10_000 && !s.idle(); i++) s.step();
        assertTrue(s.idle());
        List<String> out = new ArrayList<>();
        for (Sequence q : seqs) {
            GenerationResult r = q.result().join();
            assertEquals(FinishReason.LENGTH, r.finishReason(), r.error());
            out.add(r.answer());
        }
        return out;
    }

    /** Every weight type on the Java backend; the quantized ones on the native backend too (F32 has no native kernel). */
    static java.util.stream.Stream<org.junit.jupiter.params.provider.Arguments> typesAndBackends() {
        List<org.junit.jupiter.params.provider.Arguments> out = new ArrayList<>();
        for (Backend b : NativeTestSupport.backends().toList()) {
            for (String t : new String[] {"F32", "Q8_0", "Q4_0", "Q4_K_M", "Q5_K", "Q6_K"}) {
                if (b == Backend.JAVA || !t.equals("F32")) {
                    out.add(org.junit.jupiter.params.provider.Arguments.of("tiny-qwen2", t, b));
                }
            }
            // MLA + MoE: rows regrouped by expert every step, heads' absorption products grouped per head
            for (String t : new String[] {"F32", "Q8_0"}) {
                if (b == Backend.JAVA || !t.equals("F32")) {
                    out.add(org.junit.jupiter.params.provider.Arguments.of("tiny-deepseek2", t, b));
                }
            }
            if (b == Backend.JAVA) {
                out.add(org.junit.jupiter.params.provider.Arguments.of("tiny-deepseek2-lite", "F32", b));
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0} {1} on {2}")
    @MethodSource("typesAndBackends")
    void togetherEqualsAloneBitForBit(String shape, String type, Backend backend) throws Exception {
        Path f = dir.resolve(shape + "-" + type + ".gguf");
        try {
            new Synthesizer(Synthesizer.shape(shape), type, null, 11).write(f, null);
        } catch (UnsupportedOperationException e) {
            Assumptions.abort("cannot synthesize " + type + " here: " + e.getMessage());
        }
        Model model = Model.load(f);
        int vocab = model.config.vocabSize();
        IdCodec codec = new IdCodec(vocab);
        List<GenerationRequest> requests = requests(vocab);
        EngineOptions base = EngineOptions.builder().threads(1).thinkPrefix(false).maxWait(Duration.ZERO).build();
        long cellBytes = model.config.kvBytesPerToken();

        List<String> alone = new ArrayList<>();
        for (GenerationRequest r : requests) {
            EngineOptions o = base.toBuilder().maxSequences(1).maxBatchTokens(128).prefixCaching(false)
                    .kvCacheBytes(cellBytes * 16 * 8).build();
            alone.addAll(run(new ModelForward(model, backend), codec, o, one, List.of(r)));
        }
        assertTrue(alone.stream().distinct().count() > 28, "outputs differ between requests");

        EngineOptions together = base.toBuilder().maxSequences(8).maxBatchTokens(20).blockSize(4)
                .kvCacheBytes(cellBytes * 4 * 60).build();
        Scheduler probe = new Scheduler(new ModelForward(model, backend), codec, together, two);
        assertTrue(probe.cells.blockCount < 32 * 20 / 4, "pool smaller than all requests' contexts");
        List<String> batched = run(new ModelForward(model, backend), codec, together, two, requests);
        for (int i = 0; i < requests.size(); i++) {
            assertEquals(alone.get(i), batched.get(i), "request " + i + " (" + shape + " " + type + " on " + backend + ")");
        }
    }
}
