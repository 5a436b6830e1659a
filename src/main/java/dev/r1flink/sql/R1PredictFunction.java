package dev.r1flink.sql;

import dev.r1flink.engine.Engine;
import dev.r1flink.engine.GenerationRequest;
import dev.r1flink.engine.Generation;
import dev.r1flink.engine.StreamListener;
import dev.r1flink.job.BadInputException;
import dev.r1flink.job.EngineFactory;
import dev.r1flink.job.InferenceMetrics;
import dev.r1flink.job.JobSettings;
import dev.r1flink.job.Requests;
import dev.r1flink.job.Results;
import dev.r1flink.job.SlotEngine;
import dev.r1flink.job.ValidPrompt;
import dev.r1flink.job.ValidatePrompts;
import dev.r1flink.job.avro.InferenceResult;
import dev.r1flink.job.avro.PromptEvent;
import dev.r1flink.job.avro.ResultFinishReason;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.functions.AsyncPredictFunction;
import org.apache.flink.table.functions.FunctionContext;

import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * ML_PREDICT with R1 in this task slot. {@link #open} takes the model from the TaskManager's {@code ModelRegistry}
 * (the weights the DataStream job would share too) and starts the slot's batching engine; {@link #asyncPredict}
 * checks the row as the DataStream job's validator does and submits it, never blocking: every row in flight (up to
 * ML_PREDICT's {@code max-concurrent-operations}) is one sequence of the engine's batch.
 *
 * <p>Every row gets exactly one result row. A row that cannot be served comes out with {@code finish_reason}
 * {@code REJECTED} and the reason in {@code error} (route those to a dead-letter table); one that does not finish
 * within the deadline comes out as {@code TIMEOUT}, before the operator's own timeout would fail the job.
 */
public final class R1PredictFunction extends AsyncPredictFunction {

    private static final long serialVersionUID = 1L;

    private final String model;
    private final JobSettings settings;
    private final RowBinding binding;
    private final long deadlineMillis;

    private transient EngineFactory factory;
    private transient SlotEngine slot;
    private transient Engine engine;
    private transient InferenceMetrics metrics;
    private transient Results.Origin origin;
    private transient ScheduledThreadPoolExecutor timer;

    R1PredictFunction(String model, JobSettings settings, RowBinding binding, Duration deadline) {
        this.model = model;
        this.settings = settings;
        this.binding = binding;
        this.deadlineMillis = deadline.toMillis();
    }

    @Override
    public void open(FunctionContext context) throws Exception {
        int subtask = context.getTaskInfo().getIndexOfThisSubtask();
        factory = settings.newEngineFactory();
        slot = SlotEngine.open(settings, factory, model + " subtask " + subtask);
        engine = slot.engine();
        metrics = new InferenceMetrics(context.getMetricGroup());
        metrics.engine(engine);
        origin = new Results.Origin(settings.modelName, InferenceMetrics.taskManager(context.getMetricGroup()), subtask);
        timer = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "r1-sql-deadline-" + subtask);
            t.setDaemon(true);
            return t;
        });
        timer.setRemoveOnCancelPolicy(true);
    }

    @Override
    public void close() throws Exception {
        try {
            if (timer != null) timer.shutdownNow();
        } finally {
            if (slot != null) slot.close();
        }
    }

    @Override
    public CompletableFuture<Collection<RowData>> asyncPredict(RowData row) {
        long start = System.nanoTime();
        PromptEvent event = binding.event(row);
        long seed = Requests.seed(event, settings);
        ValidPrompt valid;
        GenerationRequest request;
        try {
            valid = ValidatePrompts.check(event, settings, slot.model());
            request = Requests.toRequest(valid.event, settings);
        } catch (BadInputException e) {
            return done(rejected(event, 0, seed, e.kind().name() + ": " + e.getMessage(), start));
        } catch (IllegalArgumentException e) {
            return done(rejected(event, 0, seed, "INVALID_PARAMETERS: " + e.getMessage(), start));
        }
        Generation g;
        try {
            g = engine.submit(request, StreamListener.NONE);
        } catch (RuntimeException e) {
            return done(rejected(event, valid.promptTokens, seed, "the engine refused the request: " + e.getMessage(),
                    start));
        }
        metrics.submitted();
        CompletableFuture<Collection<RowData>> out = new CompletableFuture<>();
        AtomicBoolean emitted = new AtomicBoolean();
        ScheduledFuture<?> deadline = timer.schedule(() -> {
            if (emitted.compareAndSet(false, true)) {
                emit(out, Results.failed(event, valid.promptTokens, seed, ResultFinishReason.TIMEOUT,
                        "no result within the model's deadline of " + Duration.ofMillis(deadlineMillis)
                                + "; raise ML_PREDICT's 'timeout' (the deadline is 90% of it), lower max-tokens, "
                                + "or add slots", micros(start), origin));
                g.cancel();
            }
        }, deadlineMillis, TimeUnit.MILLISECONDS);
        g.result().whenComplete((r, t) -> {
            deadline.cancel(false);
            metrics.returned();
            if (t == null) metrics.finished(r);
            if (!emitted.compareAndSet(false, true)) return;
            emit(out, t != null
                    ? Results.failed(event, valid.promptTokens, seed, ResultFinishReason.ERROR, "engine failure: " + t,
                    micros(start), origin)
                    : Results.of(event, seed, r, origin));
        });
        return out;
    }

    private InferenceResult rejected(PromptEvent event, int promptTokens, long seed, String reason, long start) {
        return Results.failed(event, promptTokens, seed, ResultFinishReason.REJECTED, reason, micros(start), origin);
    }

    private CompletableFuture<Collection<RowData>> done(InferenceResult r) {
        CompletableFuture<Collection<RowData>> f = new CompletableFuture<>();
        emit(f, r);
        return f;
    }

    private void emit(CompletableFuture<Collection<RowData>> out, InferenceResult r) {
        metrics.emitted(r.getFinishReason());
        out.complete(List.of(binding.output(r)));
    }

    private static long micros(long startNanos) {
        return (System.nanoTime() - startNanos) / 1000;
    }
}
