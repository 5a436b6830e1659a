package dev.r1flink.job;

import dev.r1flink.engine.Engine;
import dev.r1flink.engine.Generation;
import dev.r1flink.engine.GenerationResult;
import dev.r1flink.engine.StreamListener;
import dev.r1flink.job.avro.InferenceResult;
import dev.r1flink.job.avro.ResultFinishReason;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.streaming.api.checkpoint.CheckpointedFunction;
import org.apache.flink.streaming.api.functions.async.ResultFuture;
import org.apache.flink.streaming.api.functions.async.RichAsyncFunction;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Runs each prompt on this slot's {@link Engine}. {@link #asyncInvoke} only submits (the engine batches whatever
 * is in flight, up to the operator's capacity) and never blocks the task thread; the engine completes the result
 * on its own thread. {@link #timeout} cancels the generation and emits a {@code TIMEOUT} result instead of failing
 * the job.
 *
 * <p>With {@code generation.checkpoint-progress} each checkpoint also holds the tokens every generation in flight
 * has so far ({@link ProgressState}); a prompt the restored operator re-submits then continues from them.
 */
public final class InferenceFunction extends RichAsyncFunction<ValidPrompt, InferenceResult>
        implements CheckpointedFunction {

    private static final long serialVersionUID = 1L;

    private final JobSettings settings;
    private final EngineFactory factory;

    private transient SlotEngine slot;
    private transient Engine engine;
    private transient InferenceMetrics metrics;
    private transient Results.Origin origin;
    /** Keyed by the input object itself: {@link #timeout} gets the very object {@link #asyncInvoke} got. */
    private transient Map<ValidPrompt, Pending> pending;
    private transient ProgressState progress;
    private transient DeltaStream deltas;

    public InferenceFunction(JobSettings settings, EngineFactory factory) {
        this.settings = settings;
        this.factory = factory;
    }

    /** One request in flight; {@code done} makes sure exactly one result is emitted (engine or timeout). */
    private static final class Pending {
        final long startNanos = System.nanoTime();
        final AtomicBoolean done = new AtomicBoolean();
        volatile Generation generation;
    }

    @Override
    public void initializeState(FunctionInitializationContext ctx) throws Exception {
        progress = ProgressState.restore(ctx.getOperatorStateStore(), ctx.isRestored() && settings.checkpointProgress);
    }

    @Override
    public void snapshotState(FunctionSnapshotContext ctx) throws Exception {
        if (deltas != null) {
            deltas.flush();
        }
        if (!settings.checkpointProgress) {
            progress.clear();
            return;
        }
        Map<String, Generation> inFlight = new HashMap<>();
        for (Map.Entry<ValidPrompt, Pending> e : pending.entrySet()) {
            Generation g = e.getValue().generation;
            if (g != null && !e.getValue().done.get()) inFlight.put(e.getKey().event.getId(), g);
        }
        progress.snapshot(inFlight);
    }

    @Override
    public void open(OpenContext ctx) throws Exception {
        pending = new ConcurrentHashMap<>();
        int subtask = getRuntimeContext().getTaskInfo().getIndexOfThisSubtask();
        slot = SlotEngine.open(settings, factory, "subtask " + subtask);
        engine = slot.engine();
        deltas = DeltaStream.open(settings);
        metrics = new InferenceMetrics(getRuntimeContext().getMetricGroup());
        metrics.engine(engine);
        origin = new Results.Origin(settings.modelName,
                InferenceMetrics.taskManager(getRuntimeContext().getMetricGroup()), subtask);
    }

    @Override
    public void close() throws Exception {
        try {
            if (slot != null) slot.close();
        } finally {
            if (deltas != null) deltas.close();
        }
    }

    @Override
    public void asyncInvoke(ValidPrompt in, ResultFuture<InferenceResult> out) {
        Pending p = new Pending();
        pending.put(in, p);
        var request = Requests.toRequest(in.event, settings);
        var saved = progress == null || !settings.checkpointProgress ? null : progress.claim(in.event.getId());
        if (saved != null) {
            request = request.withResumeFrom(saved);
            metrics.resumed(saved.step());
        }
        DeltaStream.Listener stream = deltas == null ? null : deltas.listener(in.event.getId());
        Generation g;
        try {
            g = engine.submit(request, stream == null ? StreamListener.NONE : stream);
        } catch (RuntimeException e) {
            pending.remove(in);
            complete(p, out, failed(in, request.seed(), ResultFinishReason.REJECTED,
                    "the engine refused the request: " + e.getMessage(), p));
            return;
        }
        p.generation = g;
        metrics.submitted();
        long seed = request.seed();
        g.result().whenComplete((r, t) -> {
            pending.remove(in);
            metrics.returned();
            InferenceResult result;
            if (t != null) {
                result = failed(in, seed, ResultFinishReason.ERROR, "engine failure: " + t, p);
            } else {
                metrics.finished(r);
                result = toResult(in, seed, r);
                if (stream != null) stream.finish(r);
            }
            complete(p, out, result);
        });
    }

    @Override
    public void timeout(ValidPrompt in, ResultFuture<InferenceResult> out) {
        Pending p = pending.remove(in);
        if (p == null) return; // finished while the timer fired; its result is on its way
        long seed = Requests.seed(in.event, settings);
        // Emit TIMEOUT before cancelling: cancel() may complete the generation (as CANCELLED) on this thread.
        complete(p, out, failed(in, seed, ResultFinishReason.TIMEOUT, "no result within async.timeout="
                + settings.asyncTimeout + "; raise it, lower maxTokens, or add TaskManagers", p));
        Generation g = p.generation;
        if (g != null) g.cancel();
    }

    /** One line on how the engine was used: what an operator needs to tell whether batching works. */
    public static String describe(dev.r1flink.engine.BatchingEngine.Stats s) {
        return String.format(java.util.Locale.ROOT, "%d steps (%d prefill, %d decode-only), %d prompt tokens computed, "
                        + "%d tokens generated, %d resumed from checkpoints, mean decode batch %.2f, max batch %d "
                        + "sequences, %d preemptions",
                s.steps(), s.prefillSteps(), s.decodeSteps(), s.promptTokensComputed(), s.generatedTokens(),
                s.resumedTokens(), s.decodeSteps() == 0 ? 0.0 : (double) s.decodeRows() / s.decodeSteps(),
                s.maxBatchSequences(), s.preemptions());
    }

    private void complete(Pending p, ResultFuture<InferenceResult> out, InferenceResult r) {
        if (p.done.compareAndSet(false, true)) {
            metrics.emitted(r.getFinishReason());
            out.complete(List.of(r));
        }
    }

    private InferenceResult toResult(ValidPrompt in, long seed, GenerationResult r) {
        return Results.of(in.event, seed, r, origin);
    }

    private InferenceResult failed(ValidPrompt in, long seed, ResultFinishReason reason, String error, Pending p) {
        return Results.failed(in.event, in.promptTokens, seed, reason, error,
                (System.nanoTime() - p.startNanos) / 1000, origin);
    }
}
