package dev.r1flink.engine;

import dev.r1flink.model.BundledModels;
import dev.r1flink.tensor.Parallel;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * A request continued from its progress after k sampled tokens ({@link GenerationRequest#resumeFrom}) ends exactly
 * as the uninterrupted run: reasoning, answer, token counts, finish reason, and the streamed text. Greedy and seeded
 * sampling (with penalties), thinking budgets (k just before, at and after the injected {@code </think>}), stop
 * strings, alone and inside a batch with preemption; then on the bundled model through the threaded engine, with
 * the progress read from another thread while it generates.
 */
class ContinuationTest {
    private final ByteCodec codec = new ByteCodec();
    private final Parallel parallel = new Parallel(1);
    private long arrivals;

    @AfterEach
    void close() {
        parallel.close();
    }

    private static long poolBytes(int blocks, int blockSize) {
        return blocks * blockSize * PagedKvCache.bytesPerCell(HistoryHashModel.LAYERS, HistoryHashModel.KV_DIM);
    }

    private static EngineOptions alone() {
        return EngineOptions.builder().threads(1).maxWait(Duration.ZERO).thinkPrefix(true).maxSequences(1)
                .maxBatchTokens(512).kvCacheBytes(poolBytes(64, 16)).prefixCaching(false).build();
    }

    /** Likely letters and space; {@code </think>} and end-of-sequence close enough to be sampled now and then. */
    private static HistoryHashModel model() {
        return new HistoryHashModel(1024, 3.0f, 3.5f);
    }

    private static List<GenerationRequest> randomRequests(int n, long seed) {
        Random r = new Random(seed);
        List<GenerationRequest> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            StringBuilder p = new StringBuilder();
            int len = 1 + r.nextInt(40);
            for (int j = 0; j < len; j++) p.append((char) ('a' + r.nextInt(26)));
            GenerationRequest.Builder b = GenerationRequest.builder("c" + i, p.toString()).maxTokens(10 + r.nextInt(70));
            switch (r.nextInt(3)) {
                case 0 -> b.temperature(0f);
                case 1 -> b.seed(r.nextLong()); // R1 defaults: T 0.6, top-p 0.95
                default -> b.seed(r.nextLong()).temperature(1.3f).topK(12).minP(0.02f).repetitionPenalty(1.3f)
                        .presencePenalty(0.4f).frequencyPenalty(0.2f);
            }
            switch (r.nextInt(4)) {
                case 0 -> b.maxReasoningTokens(r.nextInt(3)); // 0: injected at once
                case 1 -> b.maxReasoningTokens(3 + r.nextInt(20));
                default -> { }
            }
            if (r.nextInt(3) == 0) b.stop(List.of(String.valueOf((char) ('a' + r.nextInt(26))), "zz"));
            out.add(b.build());
        }
        return out;
    }

    /** A result and the text streamed for it. */
    private record Run(GenerationResult result, String streamed, GenerationProgress progress, long sampled) {
    }

    private Sequence sequence(GenerationRequest r, EngineOptions o, StringBuilder streamed) {
        return BatchingEngine.sequence(arrivals++, r, codec.encodePrompt(r, o.thinkPrefix()),
                (d, reasoning) -> streamed.append(reasoning ? "R:" : "A:").append(d).append('|'), o, ByteCodec.VOCAB,
                () -> { });
    }

    private Run runAlone(GenerationRequest r) {
        EngineOptions o = alone();
        Scheduler s = new Scheduler(model(), codec, o, parallel);
        StringBuilder streamed = new StringBuilder();
        Sequence q = sequence(r, o, streamed);
        s.submit(q);
        for (int i = 0; i < 10_000 && !s.idle(); i++) s.step();
        assertTrue(s.idle());
        return new Run(q.result().join(), streamed.toString(), q.progress(), s.generatedTokens);
    }

    private static void assertSameResult(GenerationResult expected, GenerationResult got, String what) {
        assertEquals(expected.reasoning(), got.reasoning(), what + ": reasoning");
        assertEquals(expected.answer(), got.answer(), what + ": answer");
        assertEquals(expected.finishReason(), got.finishReason(), what + ": finish reason (" + got.error() + ")");
        assertEquals(expected.promptTokens(), got.promptTokens(), what + ": prompt tokens");
        assertEquals(expected.reasoningTokens(), got.reasoningTokens(), what + ": reasoning tokens");
        assertEquals(expected.answerTokens(), got.answerTokens(), what + ": answer tokens");
    }

    @Test
    void continuedAfterAnyKTokensEqualsTheUninterruptedRun() {
        List<GenerationRequest> requests = randomRequests(40, 5);
        Random rnd = new Random(9);
        int budgets = 0;
        int stops = 0;
        int continued = 0;
        for (GenerationRequest r : requests) {
            Run ref = runAlone(r);
            GenerationProgress full = ref.progress();
            assertEquals(ref.sampled(), full.step(), "progress lists every sampled token");
            if (ref.result().finishReason() == FinishReason.BUDGET) budgets++;
            if (!r.stop().isEmpty() && ref.result().finishReason() != FinishReason.LENGTH) stops++;
            TreeSet<Integer> ks = new TreeSet<>(List.of(0, 1, full.step() - 1, full.step()));
            int injectedAfter = ref.result().reasoningTokens(); // the budget is injected after this many samples
            for (int d = -1; d <= 1; d++) ks.add(injectedAfter + d);
            for (int j = 0; j < 3; j++) ks.add(rnd.nextInt(full.step() + 1));
            for (int k : ks) {
                if (k < 0 || k > full.step()) continue;
                Run again = runAlone(r.withResumeFrom(full.truncate(k)));
                String what = r.id() + " continued after " + k + " of " + full.step();
                assertSameResult(ref.result(), again.result(), what);
                assertEquals(ref.streamed(), again.streamed(), what + ": streamed deltas");
                assertEquals(full, again.progress(), what + ": progress at the end");
                assertEquals(full.step() - k, again.sampled(), what + ": only the rest is sampled");
                continued++;
            }
        }
        assertTrue(budgets >= 3, "budget injections covered: " + budgets);
        assertTrue(stops >= 2, "stop strings covered: " + stops);
        assertTrue(continued > 200, "continuations: " + continued);
    }

    @Test
    void interruptedMidBatchAndContinuedAmongOthersEqualsTheUninterruptedRuns() {
        List<GenerationRequest> requests = randomRequests(24, 17);
        List<Run> refs = new ArrayList<>();
        for (GenerationRequest r : requests) refs.add(runAlone(r));
        Random rnd = new Random(4);
        for (int round = 0; round < 4; round++) {
            // the first life: 8 at a time in a small pool (preemption), cut off after a random number of steps
            EngineOptions batched = EngineOptions.builder().threads(1).maxWait(Duration.ZERO).thinkPrefix(true)
                    .maxSequences(8).maxBatchTokens(24).blockSize(4).kvCacheBytes(poolBytes(60, 4)).build();
            Scheduler first = new Scheduler(model(), codec, batched, parallel);
            List<Sequence> seqs = new ArrayList<>();
            for (GenerationRequest r : requests) {
                Sequence q = sequence(r, batched, new StringBuilder());
                first.submit(q);
                seqs.add(q);
            }
            int steps = 5 + rnd.nextInt(60);
            for (int i = 0; i < steps && !first.idle(); i++) first.step();
            List<GenerationProgress> saved = seqs.stream().map(Sequence::progress).toList();

            // the second life: continuations in shuffled order, with fresh requests in between
            Scheduler second = new Scheduler(model(), codec, batched, parallel);
            List<Integer> order = new ArrayList<>();
            for (int i = 0; i < requests.size(); i++) order.add(i);
            Collections.shuffle(order, rnd);
            Sequence[] again = new Sequence[requests.size()];
            List<Sequence> others = new ArrayList<>();
            List<GenerationRequest> otherRequests = randomRequests(6, 100 + round);
            long resumable = 0;
            for (int i : order) {
                again[i] = sequence(requests.get(i).withResumeFrom(saved.get(i)), batched, new StringBuilder());
                second.submit(again[i]);
                resumable += saved.get(i).step();
                if (i % 4 == 0) {
                    Sequence o = sequence(otherRequests.get(others.size()), batched, new StringBuilder());
                    second.submit(o);
                    others.add(o);
                }
            }
            for (int i = 0; i < 20_000 && !second.idle(); i++) {
                second.step();
                second.cells.checkInvariants();
            }
            assertTrue(second.idle());
            assertTrue(resumable > 0, "round " + round + " saved some progress");
            assertEquals(resumable, second.resumedTokens, "every saved token replayed");
            for (int i = 0; i < requests.size(); i++) {
                assertSameResult(refs.get(i).result(), again[i].result().join(),
                        requests.get(i).id() + " round " + round + " after " + saved.get(i).step() + " tokens");
            }
            for (int i = 0; i < others.size(); i++) {
                assertSameResult(runAlone(otherRequests.get(i)).result(), others.get(i).result().join(),
                        "fresh request beside the continuations");
            }
        }
    }

    @Test
    void aProgressOfAnotherRequestIsIgnored() {
        List<GenerationRequest> rs = randomRequests(3, 23);
        Run a = runAlone(rs.get(0));
        GenerationRequest b = rs.get(1);
        Run plain = runAlone(b);
        EngineOptions o = alone();
        Scheduler s = new Scheduler(model(), codec, o, parallel);
        Sequence q = sequence(b.withResumeFrom(a.progress()), o, new StringBuilder());
        s.submit(q);
        for (int i = 0; i < 10_000 && !s.idle(); i++) s.step();
        assertSameResult(plain.result(), q.result().join(), "foreign progress");
        assertEquals(0, s.resumedTokens, "nothing replayed");
        // the same request with other sampling settings is another request too
        GenerationRequest hotter = GenerationRequest.builder(b.id(), b.prompt()).maxTokens(b.maxTokens())
                .temperature(1.9f).seed(1L).build();
        Sequence h = sequence(hotter.withResumeFrom(plain.progress()), o, new StringBuilder());
        s.submit(h);
        for (int i = 0; i < 10_000 && !s.idle(); i++) s.step();
        assertEquals(0, s.resumedTokens, "settings changed: nothing replayed");
        assertSameResult(runAlone(hotter).result(), h.result().join(), "changed settings");
    }

    @Test
    void anUnseededRequestContinuesWithTheSeedItDrew() {
        GenerationRequest r = GenerationRequest.builder("u", "abcabc").maxTokens(60).temperature(1.2f).build();
        Run first = runAlone(r);
        Run again = runAlone(r.withResumeFrom(first.progress().truncate(first.progress().step() / 2)));
        assertSameResult(first.result(), again.result(), "unseeded");
        assertEquals(first.progress().seed(), again.progress().seed());
    }

    /**
     * The bundled model through the threaded engine: seeded and greedy, with budgets and a stop string, batched;
     * the progress is read from the test thread while the engine generates, the engine is closed (the "crash"),
     * and a fresh engine continues every request.
     */
    @Test
    void onTheBundledModelAProgressReadWhileGeneratingContinuesExactly() throws Exception {
        EngineOptions o = EngineOptions.builder().threads(2).maxSequences(8).maxBatchTokens(96)
                .kvCacheBytes(16L << 20).maxWait(Duration.ofMillis(2)).build();
        String[] problems = {"What is 347 + 85?", "What is 902 - 467?", "What is 58 * 7?", "What is 1203 + 999?",
                "What is 700 - 1?", "What is 66 * 9?"};
        List<GenerationRequest> requests = new ArrayList<>();
        for (int i = 0; i < problems.length; i++) {
            GenerationRequest.Builder b = GenerationRequest.builder("b" + i, problems[i]).maxTokens(200);
            if (i % 2 == 0) b.temperature(0f); else b.temperature(0.8f).seed(1000L + i);
            if (i % 3 == 1) b.maxReasoningTokens(12 + i);
            if (i == 4) b.stop(List.of("boxed"));
            requests.add(b.build());
        }
        List<GenerationResult> reference = new ArrayList<>();
        try (Engine engine = Engine.open(BundledModels.resolve(BundledModels.DEFAULT), o)) {
            List<Generation> gs = new ArrayList<>();
            for (GenerationRequest r : requests) gs.add(engine.submit(r, StreamListener.NONE));
            for (Generation g : gs) reference.add(g.result().get(5, TimeUnit.MINUTES));
        }
        assertTrue(reference.stream().anyMatch(r -> r.finishReason() == FinishReason.BUDGET), "a budget hit");
        for (int round = 0; round < 2; round++) {
            List<GenerationProgress> saved = new ArrayList<>();
            try (Engine engine = Engine.open(BundledModels.resolve(BundledModels.DEFAULT), o)) {
                List<Generation> gs = new ArrayList<>();
                for (GenerationRequest r : requests) gs.add(engine.submit(r, StreamListener.NONE));
                long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
                int target = 20 + 30 * round;
                while (gs.get(0).progress().step() < target && !gs.get(0).result().isDone()
                        && System.nanoTime() < deadline) {
                    Thread.onSpinWait();
                }
                for (Generation g : gs) saved.add(g.progress()); // while the engine thread runs on
            }
            assertTrue(saved.stream().anyMatch(p -> p.step() > 0), "interrupted mid-generation");
            try (BatchingEngine engine = (BatchingEngine) Engine.open(BundledModels.resolve(BundledModels.DEFAULT), o)) {
                List<Generation> gs = new ArrayList<>();
                for (int i = 0; i < requests.size(); i++) {
                    gs.add(engine.submit(requests.get(i).withResumeFrom(saved.get(i)), StreamListener.NONE));
                }
                long resumable = saved.stream().mapToLong(GenerationProgress::step).sum();
                for (int i = 0; i < gs.size(); i++) {
                    assertSameResult(reference.get(i), gs.get(i).result().get(5, TimeUnit.MINUTES),
                            requests.get(i).id() + " round " + round + " after " + saved.get(i).step());
                }
                assertEquals(resumable, engine.stats().resumedTokens());
            }
        }
    }
}
