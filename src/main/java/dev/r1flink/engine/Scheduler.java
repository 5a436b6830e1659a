package dev.r1flink.engine;

import dev.r1flink.engine.sampling.Candidates;
import dev.r1flink.model.Batch;
import dev.r1flink.tensor.Parallel;

import java.util.ArrayList;
import java.util.List;

/**
 * Continuous (iteration-level) batching. Each {@link #step()} builds one {@link Batch}: the next token of every
 * running sequence that is decoding, then prefill chunks of the others, under {@code maxBatchTokens} rows and
 * {@code maxSequences} sequences; runs the model once; samples one token for every sequence whose pending tokens
 * are all computed. Sequences join (admission) and leave (finish, cancel, preemption) only between steps.
 *
 * <p>Fairness: admission is first-come first-served (a waiting request is never overtaken, so a long prompt cannot
 * starve), running sequences are served oldest first, and when the block pool runs out the newest running sequence
 * is preempted: its blocks are released (its full blocks stay cached) and it waits, in arrival order, to be
 * recomputed. The oldest running sequence therefore always progresses, and as the context fits in the pool it
 * always completes: no deadlock, no failure for lack of blocks.
 *
 * <p>Single-threaded: the engine thread calls {@link #submit}, {@link #step} and {@link #cancelAll}.
 */
final class Scheduler {
    private final ForwardModel model;
    private final TokenCodec codec;
    private final EngineOptions options;
    private final Parallel parallel;
    final KvCells cells;
    final PagedKvCache cache;
    final int contextLength;
    private final int vocab;
    private final int[] budgetText;   // "\n</think>\n\n" as tokens, injected when the thinking budget is spent

    private final Batch batch;         // [maxBatchTokens] rows
    private final float[] logits;      // [maxSequences][vocab]
    private final Candidates candidates;
    private final Sequence[] plan;     // [maxSequences] sequences of the current step, in row order
    private final int[] planTake;      // [maxSequences] rows each contributes
    private final int[] freeSeqIds;    // [maxSequences] stack
    private int freeSeqIdCount;

    final List<Sequence> waiting = new ArrayList<>();  // arrival order
    final List<Sequence> running = new ArrayList<>();  // arrival order
    long steps;
    long prefillSteps;      // steps with at least one prompt (or recompute) row; their whole time counts as prefill
    long prefillNanos;
    long prefillRows;
    long decodeSteps;       // steps of one row per sequence only
    long decodeNanos;
    long decodeRows;
    long preemptions;
    long promptTokensComputed;
    long generatedTokens;
    long resumedTokens;
    int maxRowsSeen;
    int maxSequencesSeen;
    /** KV blocks held by sequences after the last step (cached prefix blocks nobody holds not counted); read by metrics. */
    volatile int kvBlocksUsed;

    Scheduler(ForwardModel model, TokenCodec codec, EngineOptions options, Parallel parallel) {
        this.model = model;
        this.codec = codec;
        this.options = options;
        this.parallel = parallel;
        this.vocab = model.vocabularySize();
        long cellBytes = PagedKvCache.bytesPerCell(model.blockCount(), model.kvDim(), model.valueDim());
        long blocks = options.kvCacheBytes() / (cellBytes * options.blockSize());
        if (blocks < 1) {
            throw new IllegalArgumentException("kvCacheBytes " + options.kvCacheBytes() + " holds no block of "
                    + options.blockSize() + " cells (" + cellBytes * options.blockSize() + " bytes)");
        }
        blocks = Math.min(blocks, Integer.MAX_VALUE / options.blockSize());
        int ctx = options.contextLength() > 0 ? Math.min(options.contextLength(), model.contextLength()) : model.contextLength();
        this.contextLength = (int) Math.min(ctx, blocks * options.blockSize());
        this.cells = new KvCells((int) blocks, options.blockSize(), options.maxSequences(), contextLength, options.prefixCaching());
        this.cache = new PagedKvCache(cells, model.blockCount(), model.kvDim(), model.valueDim());
        this.budgetText = codec.encode("\n</think>\n\n");
        this.batch = new Batch(options.maxBatchTokens());
        this.logits = new float[options.maxSequences() * vocab];
        this.candidates = new Candidates(vocab);
        this.plan = new Sequence[options.maxSequences()];
        this.planTake = new int[options.maxSequences()];
        this.freeSeqIds = new int[options.maxSequences()];
        for (int i = 0; i < freeSeqIds.length; i++) {
            freeSeqIds[freeSeqIdCount++] = freeSeqIds.length - 1 - i;
        }
    }

    boolean idle() {
        return waiting.isEmpty() && running.isEmpty();
    }

    /**
     * Accepts a new sequence (its prompt already tokenized and checked against the context). A thinking budget of 0
     * injects {@code </think>} straight after the prompt. A continued sequence replays its saved tokens here, so it
     * waits with prompt + generated tokens to prefill; if the saved tokens already end it, it finishes here.
     */
    void submit(Sequence s) {
        if (s.inReasoning && s.maxReasoningTokens != null && s.maxReasoningTokens == 0) {
            injectBudget(s);
        }
        if (s.length >= contextLength) {
            finish(s, FinishReason.ERROR, "prompt has " + s.length + " tokens but the context holds " + contextLength
                    + " (prompt plus at least one generated token)");
            return;
        }
        if (s.resume != null && !replay(s)) {
            return;
        }
        insertByArrival(waiting, s);
    }

    /**
     * Feeds the saved tokens of a continued sequence through the bookkeeping of sampled ones, in order: the
     * sampler's accept (penalty window, the draw's step), text and stop strings, counters, budget injection, limits.
     * What the model would have computed for them is recomputed by prefill later. Returns false if it finished.
     */
    private boolean replay(Sequence s) {
        GenerationProgress p = s.resume;
        for (int i = 0; i < p.step(); i++) {
            int token = p.token(i);
            s.sampler.accept(token);
            s.generated++;
            s.resumedTokens++;
            resumedTokens++;
            onToken(s, token);
            if (s.result.isDone()) {
                return false;
            }
        }
        return true;
    }

    /** One iteration: reap cancels, admit, batch, forward, sample. Returns false when there was nothing to run. */
    boolean step() {
        reapCancelled();
        admit();
        if (running.isEmpty()) {
            kvBlocksUsed = cells.blockCount - cells.available();
            return false;
        }
        int n = plan();
        if (n == 0) {
            return false;
        }
        batch.clear();
        int decodeRowsNow = 0;
        for (int i = 0; i < n; i++) {
            Sequence s = plan[i];
            int take = planTake[i];
            if (take == 1 && s.pending() == 1) {
                decodeRowsNow++;
            }
            for (int j = 0; j < take; j++) {
                int pos = s.computed + j;
                batch.add(s.tokens[pos], pos, s.seqId, pos == s.length - 1);
            }
        }
        maxRowsSeen = Math.max(maxRowsSeen, batch.size());
        maxSequencesSeen = Math.max(maxSequencesSeen, n);
        boolean decodeOnly = batch.size() == decodeRowsNow;
        long t0 = System.nanoTime();
        try {
            model.forward(batch, cache, logits, parallel);
        } catch (RuntimeException | Error e) {
            String why = "model forward failed: " + e;
            for (int i = 0; i < n; i++) {
                finish(plan[i], FinishReason.ERROR, why);
            }
            if (e instanceof Error err && !(e instanceof AssertionError)) {
                throw err;
            }
            return true;
        }
        steps++;
        int out = 0;
        try {
            sampleAll(n, out);
        } finally {
            long dt = System.nanoTime() - t0;
            if (decodeOnly) {
                decodeSteps++;
                decodeNanos += dt;
                decodeRows += n;
            } else {
                prefillSteps++;
                prefillNanos += dt;
                prefillRows += batch.size() - decodeRowsNow;
            }
            kvBlocksUsed = cells.blockCount - cells.available();
        }
        return true;
    }

    private void sampleAll(int n, int out) {
        for (int i = 0; i < n; i++) {
            Sequence s = plan[i];
            plan[i] = null;
            if (s.generated == s.resumedTokens && s.computed < s.promptLength) {
                promptTokensComputed += Math.min(planTake[i], s.promptLength - s.computed);
            }
            s.computed += planTake[i];
            cells.commit(s.seqId, s.tokens, s.computed);
            if (s.computed == s.length) {
                candidates.reset(logits, out * vocab);
                out++;
                int token = s.sampler.sample(candidates);
                s.generated++;
                generatedTokens++;
                onToken(s, token);
            }
        }
    }

    /**
     * Chooses the rows of this step into {@link #plan}: decoding sequences one row each, then prefill chunks, oldest
     * first, then gets their KV blocks, preempting the newest running sequence while the pool is short.
     */
    private int plan() {
        int budget = options.maxBatchTokens();
        for (Sequence s : running) {
            s.take = s.pending() == 1 ? 1 : 0;
            budget -= s.take;
        }
        for (Sequence s : running) {
            if (s.take == 0 && budget > 0) {
                s.take = Math.min(s.pending(), budget);
                budget -= s.take;
            }
        }
        int n = 0;
        for (int i = 0; i < running.size(); i++) {
            Sequence s = running.get(i);
            if (s.take == 0) {
                continue;
            }
            boolean preemptedSelf = false;
            while (!cells.ensure(s.seqId, s.computed + s.take)) {
                Sequence victim = running.get(running.size() - 1);
                preempt(victim);
                if (victim == s) {
                    preemptedSelf = true;
                    break;
                }
            }
            if (preemptedSelf) {
                break; // s was the newest: nobody after it
            }
            plan[n] = s;
            planTake[n] = s.take;
            n++;
        }
        return n;
    }

    /** Admits waiting sequences in arrival order while there are sequence ids and blocks for their tokens. */
    private void admit() {
        while (!waiting.isEmpty() && running.size() < options.maxSequences()) {
            Sequence s = waiting.get(0);
            int need = cells.blocksFor(s.length + 1);
            // keep one block per running sequence for its growth, so admission does not cause instant preemption
            if (!running.isEmpty() && cells.available() - running.size() < need) {
                break;
            }
            waiting.remove(0);
            s.seqId = freeSeqIds[--freeSeqIdCount];
            s.reusedPrefix = cells.matchPrefix(s.seqId, s.tokens, s.length);
            s.computed = s.reusedPrefix;
            if (s.firstScheduledNanos == 0) {
                s.firstScheduledNanos = System.nanoTime();
            }
            insertByArrival(running, s);
        }
    }

    /** Sends {@code s} back to waiting: its blocks are released (full ones stay cached) and it will be recomputed. */
    private void preempt(Sequence s) {
        running.remove(s);
        cells.release(s.seqId);
        freeSeqIds[freeSeqIdCount++] = s.seqId;
        s.seqId = -1;
        s.computed = 0;
        s.preemptions++;
        preemptions++;
        insertByArrival(waiting, s);
    }

    /** A token chosen for {@code s} ({@code generated} already counts it): sampled now, or replayed ({@link #replay}). */
    private void onToken(Sequence s, int token) {
        s.recordSampled(token);
        if (s.firstTokenNanos == 0) {
            s.firstTokenNanos = System.nanoTime();
        }
        if (codec.isEndOfGeneration(token)) {
            finish(s, s.budgetInjected ? FinishReason.BUDGET : FinishReason.STOP, null);
            return;
        }
        boolean stopped = false;
        if (token == codec.thinkStart() && token >= 0) {
            if (!s.inReasoning && !s.budgetInjected && s.answerTokens == 0) {
                s.inReasoning = true; // the model opened its reasoning itself (no forced prefix)
                s.text.reopenReasoning();
            }
            s.reasoningTokens++;
        } else if (token == codec.thinkEnd() && token >= 0) {
            if (s.inReasoning) {
                s.reasoningTokens++;
                s.inReasoning = false;
                s.text.switchToAnswer();
            } else {
                s.answerTokens++;
            }
        } else {
            if (s.inReasoning) s.reasoningTokens++; else s.answerTokens++;
            stopped = s.text.append(codec.tokenBytes(token));
        }
        s.append(token);
        s.text.counted(s.reasoningTokens, s.answerTokens);
        if (s.text.listenerFailure() != null) {
            finish(s, FinishReason.ERROR, "stream listener failed: " + s.text.listenerFailure());
        } else if (stopped) {
            finish(s, s.budgetInjected ? FinishReason.BUDGET : FinishReason.STOP, null);
        } else if (s.generated >= s.maxTokens || s.length >= contextLength) {
            finish(s, FinishReason.LENGTH, null);
        } else if (s.inReasoning && s.maxReasoningTokens != null && s.reasoningTokens >= s.maxReasoningTokens) {
            injectBudget(s);
            if (s.length >= contextLength) {
                finish(s, FinishReason.LENGTH, null);
            }
        }
    }

    private void injectBudget(Sequence s) {
        for (int t : budgetText) {
            s.append(t);
        }
        s.inReasoning = false;
        s.budgetInjected = true;
        s.text.switchToAnswer();
    }

    private void reapCancelled() {
        for (int i = running.size() - 1; i >= 0; i--) {
            Sequence s = running.get(i);
            if (s.cancelled) finish(s, FinishReason.CANCELLED, null);
        }
        for (int i = waiting.size() - 1; i >= 0; i--) {
            Sequence s = waiting.get(i);
            if (s.cancelled) finish(s, FinishReason.CANCELLED, null);
        }
    }

    /** Completes every sequence as CANCELLED (engine closing). */
    void cancelAll() {
        while (!running.isEmpty()) finish(running.get(running.size() - 1), FinishReason.CANCELLED, null);
        while (!waiting.isEmpty()) finish(waiting.get(waiting.size() - 1), FinishReason.CANCELLED, null);
    }

    /** Completes every sequence as ERROR (engine thread failing). */
    void failAll(String why) {
        while (!running.isEmpty()) finish(running.get(running.size() - 1), FinishReason.ERROR, why);
        while (!waiting.isEmpty()) finish(waiting.get(waiting.size() - 1), FinishReason.ERROR, why);
    }

    /** Removes {@code s} from the scheduler, frees its blocks, and completes its result. */
    void finish(Sequence s, FinishReason reason, String error) {
        if (s.running()) {
            running.remove(s);
            cells.release(s.seqId);
            freeSeqIds[freeSeqIdCount++] = s.seqId;
            s.seqId = -1;
        } else {
            waiting.remove(s);
        }
        if (reason != FinishReason.ERROR) {
            s.text.finish();
        }
        long now = System.nanoTime();
        GenerationResult r = new GenerationResult(s.request.id(), s.text.reasoning.toString(), s.text.answer.toString(),
                reason, error, s.promptLength, s.reasoningTokens, s.answerTokens,
                s.firstScheduledNanos == 0 ? now - s.submitNanos : s.firstScheduledNanos - s.submitNanos,
                s.firstTokenNanos == 0 ? 0 : s.firstTokenNanos - s.submitNanos,
                now - s.submitNanos);
        s.result.complete(r);
    }

    private static void insertByArrival(List<Sequence> list, Sequence s) {
        int i = list.size();
        while (i > 0 && list.get(i - 1).arrival > s.arrival) {
            i--;
        }
        list.add(i, s);
    }
}
