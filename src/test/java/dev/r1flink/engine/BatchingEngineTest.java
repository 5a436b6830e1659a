package dev.r1flink.engine;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/** The threaded engine: submit never blocks, close and cancel complete everything, companions are gathered. */
class BatchingEngineTest {
    private final ByteCodec codec = new ByteCodec();

    private static EngineOptions.Builder options() {
        return EngineOptions.builder().threads(1).maxSequences(8).maxBatchTokens(64).thinkPrefix(false)
                .kvCacheBytes(1 << 20).maxWait(Duration.ofMillis(1));
    }

    @Test
    void idleEngineWaitsForCompanionsSoABurstStartsAsOneBatch() throws Exception {
        HistoryHashModel model = new HistoryHashModel(512, 1f, -100f);
        try (Engine engine = Engine.open(model, codec, options().maxWait(Duration.ofSeconds(2)).build())) {
            List<Generation> gs = new ArrayList<>();
            long t0 = System.nanoTime();
            for (int i = 0; i < 8; i++) {
                gs.add(engine.submit(GenerationRequest.builder("b" + i, "burst " + i).maxTokens(3).seed((long) i).build(), StreamListener.NONE));
            }
            for (Generation g : gs) {
                assertNotEquals(FinishReason.ERROR, g.result().get(10, TimeUnit.SECONDS).finishReason());
            }
            assertEquals(8, model.maxSequences, "all eight went into one batch");
            assertTrue(System.nanoTime() - t0 < Duration.ofSeconds(2).toNanos(), "a full batch does not wait maxWait out");
        }
    }

    @Test
    void streamedDeltasAddUpToTheResult() throws Exception {
        try (Engine engine = Engine.open(new HistoryHashModel(512, 1f, 3.5f), codec, options().thinkPrefix(true).build())) {
            List<StringBuilder[]> streams = new ArrayList<>();
            List<Generation> gs = new ArrayList<>();
            for (int i = 0; i < 16; i++) {
                StringBuilder[] sb = {new StringBuilder(), new StringBuilder()};
                streams.add(sb);
                gs.add(engine.submit(GenerationRequest.builder("s" + i, "stream " + i).maxTokens(60).seed((long) i).build(),
                        (d, reasoning) -> sb[reasoning ? 0 : 1].append(d)));
            }
            int withAnswer = 0;
            for (int i = 0; i < gs.size(); i++) {
                GenerationResult r = gs.get(i).result().get(10, TimeUnit.SECONDS);
                assertEquals(r.reasoning(), streams.get(i)[0].toString());
                assertEquals(r.answer(), streams.get(i)[1].toString());
                assertTrue(r.totalNanos() >= r.firstTokenNanos() && r.firstTokenNanos() >= r.queuedNanos());
                if (!r.answer().isEmpty()) withAnswer++;
            }
            assertTrue(withAnswer > 0, "some sequences closed their reasoning");
        }
    }

    @Test
    void statsReportKvBlocksHeldWhileRunningAndNoneAfter() throws Exception {
        CountDownLatch started = new CountDownLatch(1);
        try (BatchingEngine engine = (BatchingEngine) Engine.open(new HistoryHashModel(1 << 16, -100f, -100f), codec,
                options().prefixCaching(false).build())) {
            assertTrue(engine.stats().kvBlocksTotal() > 0);
            assertEquals(0, engine.stats().kvBlocksUsed());
            Generation g = engine.submit(GenerationRequest.builder("k", "x".repeat(40)).maxTokens(60_000).build(),
                    (d, r) -> started.countDown());
            assertTrue(started.await(10, TimeUnit.SECONDS));
            Thread.sleep(20); // at least one more step has ended
            assertTrue(engine.stats().kvBlocksUsed() > 0, "a running sequence holds blocks");
            g.cancel();
            g.result().get(10, TimeUnit.SECONDS);
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (engine.stats().kvBlocksUsed() != 0 && System.nanoTime() < deadline) Thread.sleep(5);
            assertEquals(0, engine.stats().kvBlocksUsed(), "a cancelled sequence gave its blocks back");
        }
    }

    @Test
    void cancelEndsARunningRequestAsCancelled() throws Exception {
        CountDownLatch started = new CountDownLatch(1);
        try (Engine engine = Engine.open(new HistoryHashModel(1 << 16, -100f, -100f), codec, options().build())) {
            Generation g = engine.submit(GenerationRequest.builder("c", "go on forever").maxTokens(60_000).build(),
                    (d, r) -> started.countDown());
            assertTrue(started.await(10, TimeUnit.SECONDS));
            g.cancel();
            GenerationResult r = g.result().get(10, TimeUnit.SECONDS);
            assertEquals(FinishReason.CANCELLED, r.finishReason());
            assertTrue(r.answerTokens() < 60_000);
            // the engine still serves
            GenerationResult next = engine.submit(GenerationRequest.builder("n", "next").maxTokens(2).build(), null)
                    .result().get(10, TimeUnit.SECONDS);
            assertEquals(FinishReason.LENGTH, next.finishReason());
        }
    }

    @Test
    void closeCompletesEveryOpenRequestAndLaterSubmitsFail() throws Exception {
        Engine engine = Engine.open(new HistoryHashModel(1 << 16, -100f, -100f), codec, options().maxSequences(2).maxBatchTokens(8).build());
        List<Generation> gs = new ArrayList<>();
        for (int i = 0; i < 6; i++) { // two run, four wait
            gs.add(engine.submit(GenerationRequest.builder("o" + i, "open " + i).maxTokens(60_000).build(), StreamListener.NONE));
        }
        Thread.sleep(50);
        engine.close();
        for (Generation g : gs) {
            assertTrue(g.result().isDone(), "close left " + g.id() + " hanging");
            assertEquals(FinishReason.CANCELLED, g.result().get().finishReason());
        }
        GenerationResult late = engine.submit(GenerationRequest.builder("late", "x").build(), null).result().get();
        assertEquals(FinishReason.ERROR, late.finishReason());
        assertTrue(late.error().contains("closed"));
        engine.close(); // idempotent
    }

    @Test
    void manyThreadsSubmittingAllGetResults() throws Exception {
        try (Engine engine = Engine.open(new HistoryHashModel(512, 1f, -100f), codec, options().build())) {
            List<Generation> gs = java.util.Collections.synchronizedList(new ArrayList<>());
            List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                final int tt = t;
                Thread th = new Thread(() -> {
                    for (int i = 0; i < 10; i++) {
                        gs.add(engine.submit(GenerationRequest.builder(tt + "-" + i, "q" + i).maxTokens(1 + i).seed((long) i).build(), null));
                    }
                });
                threads.add(th);
                th.start();
            }
            for (Thread th : threads) th.join();
            for (Generation g : gs) {
                GenerationResult r = g.result().get(20, TimeUnit.SECONDS);
                assertTrue(r.finishReason() == FinishReason.LENGTH || r.finishReason() == FinishReason.STOP, r.toString());
            }
            assertEquals(40, gs.size());
        }
    }

    @Test
    void optionsAreValidatedWithMessages() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> EngineOptions.builder().maxSequences(32).maxBatchTokens(16).build());
        assertTrue(e.getMessage().contains("maxBatchTokens"));
        assertThrows(IllegalArgumentException.class, () -> EngineOptions.builder().blockSize(12).build());
        assertThrows(IllegalArgumentException.class, () -> EngineOptions.builder().threads(0).build());
        assertThrows(IllegalArgumentException.class, () -> EngineOptions.builder().maxWait(Duration.ofMillis(-1)).build());
        assertThrows(IllegalArgumentException.class,
                () -> Engine.open(new HistoryHashModel(64, 0f, 0f), codec, options().kvCacheBytes(8).build()));
    }
}
