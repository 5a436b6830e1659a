package dev.r1flink.engine;

import dev.r1flink.engine.sampling.SamplingParams;
import dev.r1flink.tensor.Parallel;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** Drives the scheduler step by step on the engine's thread-free core, checking its invariants after every step. */
class SchedulerTest {
    private final ByteCodec codec = new ByteCodec();
    private final Parallel parallel = new Parallel(1);
    private long arrivals;

    @AfterEach
    void close() {
        parallel.close();
    }

    private static EngineOptions.Builder options() {
        return EngineOptions.builder().threads(1).maxWait(Duration.ZERO).thinkPrefix(false).kvCacheBytes(poolBytes(256, 16));
    }

    /** Bytes of KV storage for {@code blocks} blocks of the history-hash model. */
    private static long poolBytes(int blocks, int blockSize) {
        return blocks * blockSize * PagedKvCache.bytesPerCell(HistoryHashModel.LAYERS, HistoryHashModel.KV_DIM);
    }

    private Sequence submit(Scheduler s, EngineOptions o, GenerationRequest r) {
        Sequence q = BatchingEngine.sequence(arrivals++, r, codec.encodePrompt(r, o.thinkPrefix()), StreamListener.NONE,
                o, codec.VOCAB, () -> { });
        s.submit(q);
        return q;
    }

    /** Steps until idle, asserting the invariants; fails if some request is still unfinished after maxSteps. */
    private static void runToIdle(Scheduler s, EngineOptions o, int maxSteps) {
        for (int i = 0; i < maxSteps && !s.idle(); i++) {
            s.step();
            s.cells.checkInvariants();
            assertTrue(s.running.size() <= o.maxSequences());
        }
        assertTrue(s.idle(), "not finished after " + maxSteps + " steps: " + s.running + " " + s.waiting);
    }

    private static List<GenerationRequest> randomRequests(int n, long seed) {
        Random r = new Random(seed);
        String[] systems = {"You are a careful assistant. Think step by step. ", "Answer briefly. ", ""};
        List<GenerationRequest> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            StringBuilder p = new StringBuilder();
            int len = 1 + r.nextInt(60);
            for (int j = 0; j < len; j++) p.append((char) ('a' + r.nextInt(26)));
            GenerationRequest.Builder b = GenerationRequest.builder("r" + i, p.toString())
                    .system(systems[r.nextInt(systems.length)])
                    .maxTokens(1 + r.nextInt(40));
            switch (r.nextInt(3)) {
                case 0 -> b.temperature(0f);
                case 1 -> b.seed(r.nextLong()); // R1 defaults: T 0.6, top-p 0.95
                default -> b.seed(r.nextLong()).temperature(1.2f).topK(8).minP(0.05f).repetitionPenalty(1.3f)
                        .presencePenalty(0.5f).frequencyPenalty(0.2f);
            }
            if (r.nextInt(4) == 0) b.stop(List.of("q"));
            out.add(b.build());
        }
        return out;
    }

    private List<GenerationResult> runAlone(List<GenerationRequest> requests) {
        List<GenerationResult> out = new ArrayList<>();
        for (GenerationRequest r : requests) {
            EngineOptions o = options().maxSequences(1).maxBatchTokens(512).kvCacheBytes(poolBytes(64, 16))
                    .prefixCaching(false).build();
            Scheduler s = new Scheduler(new HistoryHashModel(1024, 1.5f, -100f), codec, o, parallel);
            Sequence q = submit(s, o, r);
            runToIdle(s, o, 1000);
            out.add(q.result().join());
        }
        return out;
    }

    private static void assertSameOutput(GenerationResult alone, GenerationResult together) {
        String id = alone.id();
        assertEquals(alone.answer(), together.answer(), id);
        assertEquals(alone.reasoning(), together.reasoning(), id);
        assertEquals(alone.finishReason(), together.finishReason(), id);
        assertEquals(alone.promptTokens(), together.promptTokens(), id);
        assertEquals(alone.answerTokens(), together.answerTokens(), id);
        assertEquals(alone.reasoningTokens(), together.reasoningTokens(), id);
    }

    @Test
    void requestsTogetherProduceWhatEachProducesAlone() {
        List<GenerationRequest> requests = randomRequests(32, 11);
        List<GenerationResult> alone = runAlone(requests);
        assertTrue(alone.stream().map(GenerationResult::answer).distinct().count() > 25, "outputs differ between requests");

        // small batches (prefill in chunks), a pool too small for everyone (preemption), prefix caching on
        EngineOptions o = options().maxSequences(8).maxBatchTokens(24).blockSize(4)
                .kvCacheBytes(poolBytes(60, 4)).build();
        HistoryHashModel model = new HistoryHashModel(1024, 1.5f, -100f);
        Scheduler s = new Scheduler(model, codec, o, parallel);
        List<Sequence> seqs = new ArrayList<>();
        for (GenerationRequest r : requests) seqs.add(submit(s, o, r));
        runToIdle(s, o, 5000);

        for (int i = 0; i < requests.size(); i++) {
            assertSameOutput(alone.get(i), seqs.get(i).result().join());
        }
        assertTrue(model.maxRows <= 24, "rows per step " + model.maxRows);
        assertTrue(model.maxSequences <= 8, "sequences per step " + model.maxSequences);
        assertTrue(model.maxSequences >= 6, "batches were filled close to maxSequences: " + model.maxSequences);
        assertTrue(s.preemptions > 0, "the pool was small enough to preempt");
        assertTrue(seqs.stream().anyMatch(q -> q.preemptions > 0));
        assertEquals(s.cells.blockCount, s.cells.available(), "every block back in the pool");
    }

    @Test
    void preemptedSequencesAreRecomputedIdentically() {
        List<GenerationRequest> requests = randomRequests(12, 3);
        List<GenerationResult> alone = runAlone(requests);
        for (boolean caching : new boolean[] {false, true}) {
            // room for roughly two sequences' contexts
            EngineOptions o = options().maxSequences(12).maxBatchTokens(64).blockSize(2)
                    .kvCacheBytes(poolBytes(64, 2)).prefixCaching(caching).build();
            Scheduler s = new Scheduler(new HistoryHashModel(1024, 1.5f, -100f), codec, o, parallel);
            List<Sequence> seqs = new ArrayList<>();
            for (GenerationRequest r : requests) seqs.add(submit(s, o, r));
            runToIdle(s, o, 5000);
            assertTrue(s.preemptions > 0);
            for (int i = 0; i < requests.size(); i++) {
                assertSameOutput(alone.get(i), seqs.get(i).result().join());
            }
        }
    }

    @Test
    void aSharedPromptPrefixIsComputedOnce() {
        String system = "You are a careful assistant who shows the work. ".repeat(3); // 147 bytes
        EngineOptions o = options().maxSequences(4).maxBatchTokens(256).blockSize(16)
                .kvCacheBytes(poolBytes(64, 16)).build();
        HistoryHashModel model = new HistoryHashModel(1024, 1.5f, -100f);
        Scheduler s = new Scheduler(model, codec, o, parallel);
        Sequence first = submit(s, o, GenerationRequest.builder("a", "first?").system(system).temperature(0f).maxTokens(5).build());
        runToIdle(s, o, 100);
        long computedBefore = s.promptTokensComputed;
        GenerationRequest second = GenerationRequest.builder("b", "second?").system(system).temperature(0f).maxTokens(5).build();
        Sequence b = submit(s, o, second);
        runToIdle(s, o, 100);
        assertEquals(144, b.reusedPrefix, "9 full blocks of the shared system prompt");
        assertEquals(b.promptLength - 144, s.promptTokensComputed - computedBefore);
        assertSameOutput(runAlone(List.of(second)).get(0), b.result().join());
        assertEquals(FinishReason.LENGTH, first.result().join().finishReason());
    }

    @Test
    void cancelFreesTheSequenceAndItsBlocks() {
        EngineOptions o = options().maxSequences(4).maxBatchTokens(64).blockSize(4).kvCacheBytes(poolBytes(64, 4))
                .prefixCaching(false).build();
        Scheduler s = new Scheduler(new HistoryHashModel(1024, -100f, -100f), codec, o, parallel);
        Sequence a = submit(s, o, GenerationRequest.builder("a", "hello there").maxTokens(200).seed(1L).build());
        Sequence b = submit(s, o, GenerationRequest.builder("b", "general kenobi").maxTokens(200).seed(2L).build());
        for (int i = 0; i < 10; i++) s.step();
        int heldByA = s.cells.blocksOf(a.seqId);
        assertTrue(heldByA > 0);
        int available = s.cells.available();
        a.cancelled = true;
        s.step();
        assertEquals(FinishReason.CANCELLED, a.result().join().finishReason());
        assertTrue(a.result().join().answerTokens() >= 9, "the text so far is kept");
        assertFalse(s.running.contains(a));
        assertTrue(s.cells.available() >= available + heldByA - 1, "a's blocks returned (b may have taken one)");
        s.cells.checkInvariants();
        b.cancelled = true;
        s.step();
        assertTrue(s.idle());
        assertEquals(s.cells.blockCount, s.cells.freeBlocks());
    }

    @Test
    void aPromptLongerThanTheContextGetsAnErrorResult() {
        EngineOptions o = options().maxSequences(2).maxBatchTokens(64).build();
        Scheduler s = new Scheduler(new HistoryHashModel(32, 1f, -100f), codec, o, parallel);
        Sequence q = submit(s, o, GenerationRequest.builder("long", "x".repeat(40)).build());
        GenerationResult r = q.result().join();
        assertEquals(FinishReason.ERROR, r.finishReason());
        assertTrue(r.error().contains("40 tokens") && r.error().contains("32"), r.error());
        assertTrue(s.idle());
    }

    @Test
    void generationStopsAtTheContextLength() {
        EngineOptions o = options().maxSequences(2).maxBatchTokens(64).build();
        Scheduler s = new Scheduler(new HistoryHashModel(32, -100f, -100f), codec, o, parallel);
        Sequence q = submit(s, o, GenerationRequest.builder("c", "x".repeat(20)).maxTokens(100).build());
        runToIdle(s, o, 100);
        GenerationResult r = q.result().join();
        assertEquals(FinishReason.LENGTH, r.finishReason());
        assertEquals(12, r.answerTokens());
    }

    @Test
    void aModelFailureFailsTheBatchWithAReasonAndTheSchedulerGoesOn() {
        EngineOptions o = options().maxSequences(2).maxBatchTokens(64).build();
        HistoryHashModel good = new HistoryHashModel(64, 1f, -100f);
        boolean[] fail = {true};
        ForwardModel flaky = new ForwardModel() {
            @Override public int vocabularySize() { return good.vocabularySize(); }
            @Override public int contextLength() { return good.contextLength(); }
            @Override public int blockCount() { return good.blockCount(); }
            @Override public int kvDim() { return good.kvDim(); }
            @Override public void forward(dev.r1flink.model.Batch batch, dev.r1flink.model.KvCache cache, float[] logits, Parallel p) {
                if (fail[0]) throw new IllegalStateException("out of cheese");
                good.forward(batch, cache, logits, p);
            }
        };
        Scheduler s = new Scheduler(flaky, codec, o, parallel);
        Sequence a = submit(s, o, GenerationRequest.builder("a", "hi").build());
        s.step();
        assertEquals(FinishReason.ERROR, a.result().join().finishReason());
        assertTrue(a.result().join().error().contains("out of cheese"));
        fail[0] = false;
        Sequence b = submit(s, o, GenerationRequest.builder("b", "hi").maxTokens(3).build());
        runToIdle(s, o, 10);
        assertEquals(FinishReason.LENGTH, b.result().join().finishReason());
        assertEquals(s.cells.blockCount, s.cells.available());
    }

    // ---- reasoning: split, budget, counts (scripted model: the greedy continuation is a fixed text)

    private static int[] script(Object... parts) {
        List<Integer> t = new ArrayList<>();
        for (Object p : parts) {
            if (p instanceof String str) for (byte b : str.getBytes(java.nio.charset.StandardCharsets.UTF_8)) t.add(b & 0xff);
            else t.add((Integer) p);
        }
        return t.stream().mapToInt(Integer::intValue).toArray();
    }

    private GenerationResult runScripted(int[] script, GenerationRequest.Builder request, boolean thinkPrefix) {
        GenerationRequest r = request.temperature(0f).build();
        EngineOptions o = options().thinkPrefix(thinkPrefix).maxSequences(2).maxBatchTokens(64).build();
        int promptLength = codec.encodePrompt(r, thinkPrefix).length;
        Scheduler s = new Scheduler(new ScriptedModel(promptLength, script), codec, o, parallel);
        List<String> deltas = new ArrayList<>();
        Sequence q = BatchingEngine.sequence(arrivals++, r, codec.encodePrompt(r, thinkPrefix),
                (d, reasoning) -> deltas.add((reasoning ? "R:" : "A:") + d), o, codec.VOCAB, () -> { });
        s.submit(q);
        runToIdle(s, o, 200);
        GenerationResult res = q.result().join();
        StringBuilder rs = new StringBuilder(), as = new StringBuilder();
        for (String d : deltas) (d.startsWith("R:") ? rs : as).append(d.substring(2));
        assertEquals(res.reasoning(), rs.toString(), "streamed reasoning = result");
        assertEquals(res.answer(), as.toString(), "streamed answer = result");
        return res;
    }

    @Test
    void outputIsSplitAtThinkEnd() {
        GenerationResult r = runScripted(script("Two and two.\n", ByteCodec.END_THINK, "\n\n4", ByteCodec.EOS),
                GenerationRequest.builder("q", "2+2?"), true);
        assertEquals("Two and two.", r.reasoning());
        assertEquals("4", r.answer());
        assertEquals(FinishReason.STOP, r.finishReason());
        assertEquals(14, r.reasoningTokens(), "13 bytes and </think>");
        assertEquals(3, r.answerTokens());
    }

    @Test
    void withoutTheForcedPrefixTheModelsOwnThinkTokenOpensReasoning() {
        GenerationResult r = runScripted(script(ByteCodec.THINK, "hm", ByteCodec.END_THINK, "ok", ByteCodec.EOS),
                GenerationRequest.builder("q", "?"), false);
        assertEquals("hm", r.reasoning());
        assertEquals("ok", r.answer());
        GenerationResult plain = runScripted(script("just text", ByteCodec.EOS), GenerationRequest.builder("q", "?"), false);
        assertEquals("", plain.reasoning());
        assertEquals("just text", plain.answer());
    }

    @Test
    void theThinkingBudgetInjectsThinkEndAndTheAnswerContinues() {
        // budget 2: "ab" is the reasoning, then "\n</think>\n\n" (4 tokens) is fed, moving the script on by 4
        GenerationResult r = runScripted(script("abcdefghi", ByteCodec.EOS),
                GenerationRequest.builder("q", "?").maxReasoningTokens(2), true);
        assertEquals("ab", r.reasoning());
        assertEquals("ghi", r.answer());
        assertEquals(FinishReason.BUDGET, r.finishReason());
        assertEquals(2, r.reasoningTokens());
        assertEquals(3, r.answerTokens());
    }

    @Test
    void aZeroBudgetSkipsReasoning() {
        GenerationResult r = runScripted(script("abcdefghi", ByteCodec.EOS),
                GenerationRequest.builder("q", "?").maxReasoningTokens(0), true);
        assertEquals("", r.reasoning());
        assertEquals("efghi", r.answer(), "the 4 injected tokens move the script on by 4");
        assertEquals(FinishReason.BUDGET, r.finishReason());
    }

    @Test
    void maxTokensAndStopStrings() {
        GenerationResult len = runScripted(script("abcdefghi", ByteCodec.EOS),
                GenerationRequest.builder("q", "?").maxTokens(3), true);
        assertEquals(FinishReason.LENGTH, len.finishReason());
        assertEquals("abc", len.reasoning());
        GenerationResult stop = runScripted(script("x", ByteCodec.END_THINK, "answer: 42. Done", ByteCodec.EOS),
                GenerationRequest.builder("q", "?").stop(List.of(". D")), true);
        assertEquals(FinishReason.STOP, stop.finishReason());
        assertEquals("answer: 42", stop.answer());
    }

    @Test
    void samplingDefaultsComeFromTheOptions() {
        EngineOptions o = options().sampling(SamplingParams.GREEDY).build();
        SamplingParams p = BatchingEngine.resolve(GenerationRequest.builder("x", "y").build(), o);
        assertEquals(0f, p.temperature());
        SamplingParams r1 = BatchingEngine.resolve(GenerationRequest.builder("x", "y").seed(9L).build(), EngineOptions.defaults());
        assertEquals(0.6f, r1.temperature());
        assertEquals(0.95f, r1.topP());
        assertEquals(9L, r1.seed());
    }
}
