package dev.r1flink.job;

import dev.r1flink.engine.BatchingEngine;
import dev.r1flink.engine.GenerationResult;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.metrics.Meter;
import org.apache.flink.metrics.MeterView;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.runtime.metrics.DescriptiveStatisticsHistogram;

import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The inference operator's metrics, in group {@code r1} of each subtask:
 * <ul>
 *   <li>{@code inFlight} (gauge): requests submitted to this slot's engine and not finished;</li>
 *   <li>{@code queueWaitMs} (histogram): submit to first prefill step;</li>
 *   <li>{@code batchSize} (histogram): requests in flight when one is submitted, i.e. how many sequences the engine
 *       can batch; with a {@link BatchingEngine}, also {@code decodeBatchSize} (gauge: mean sequences per decode
 *       step since open), {@code maxBatchSequences}, {@code engineSteps} and {@code preemptions} (gauges);</li>
 *   <li>{@code generatedTokens} (meter, tokens/s) and {@code reasoningTokens} / {@code answerTokens} (counters);</li>
 *   <li>{@code timeToFirstTokenMs} (histogram);</li>
 *   <li>{@code kvBlocksUsed} and {@code kvBlocksTotal} (gauges): paged KV cache blocks held by sequences after the
 *       engine's last step, and the pool size (-1 for an engine without a paged cache);</li>
 *   <li>{@code resumedGenerations} and {@code resumedTokens} (counters): prompts submitted with checkpointed
 *       progress after a restore, and its tokens (the engine verifies a progress against the request and starts
 *       over if it does not match; {@code BatchingEngine.Stats.resumedTokens} counts what it replayed); with a
 *       {@link BatchingEngine}, {@code sampledTokens} (gauge): tokens this subtask's engine actually sampled since
 *       it started (the decode work, resumed tokens not included);</li>
 *   <li>{@code results.<FINISH_REASON>} (counters).</li>
 * </ul>
 */
public final class InferenceMetrics {

    /** The metric group of the inference operator (and the validator's {@link #DEAD_LETTERS}). */
    public static final String GROUP = "r1";
    /** Counter of records the validator refused, on the validate operator. */
    public static final String DEAD_LETTERS = "deadLetters";

    private static final int WINDOW = 500;

    final AtomicInteger inFlight = new AtomicInteger();
    private final Histogram queueWaitMs;
    private final Histogram batchSize;
    private final Histogram timeToFirstTokenMs;
    private final Counter generated;
    private final Meter generatedPerSecond;
    private final Counter reasoningTokens;
    private final Counter answerTokens;
    private final Counter resumedGenerations;
    private final Counter resumedTokens;
    private final Map<dev.r1flink.job.avro.ResultFinishReason, Counter> results =
            new EnumMap<>(dev.r1flink.job.avro.ResultFinishReason.class);

    private final MetricGroup group;

    public InferenceMetrics(MetricGroup parent) {
        MetricGroup g = parent.addGroup(GROUP);
        group = g;
        g.gauge("inFlight", inFlight::get);
        queueWaitMs = g.histogram("queueWaitMs", new DescriptiveStatisticsHistogram(WINDOW));
        batchSize = g.histogram("batchSize", new DescriptiveStatisticsHistogram(WINDOW));
        timeToFirstTokenMs = g.histogram("timeToFirstTokenMs", new DescriptiveStatisticsHistogram(WINDOW));
        generated = g.counter("generatedTokensTotal");
        generatedPerSecond = g.meter("generatedTokens", new MeterView(generated));
        reasoningTokens = g.counter("reasoningTokens");
        answerTokens = g.counter("answerTokens");
        resumedGenerations = g.counter("resumedGenerations");
        resumedTokens = g.counter("resumedTokens");
        MetricGroup r = g.addGroup("results");
        for (var reason : dev.r1flink.job.avro.ResultFinishReason.values()) results.put(reason, r.counter(reason.name()));
    }

    /** Gauges over the engine's own counters, when it has them. */
    public void engine(dev.r1flink.engine.Engine engine) {
        MetricGroup g = group;
        if (!(engine instanceof BatchingEngine)) {
            g.gauge("kvBlocksUsed", () -> -1);
            g.gauge("kvBlocksTotal", () -> -1);
            return;
        }
        BatchingEngine e = (BatchingEngine) engine;
        g.gauge("kvBlocksUsed", () -> e.stats().kvBlocksUsed());
        g.gauge("kvBlocksTotal", () -> e.stats().kvBlocksTotal());
        g.gauge("decodeBatchSize", () -> {
            BatchingEngine.Stats s = e.stats();
            return s.decodeSteps() == 0 ? 0.0 : (double) s.decodeRows() / s.decodeSteps();
        });
        g.gauge("maxBatchSequences", () -> e.stats().maxBatchSequences());
        g.gauge("engineSteps", () -> e.stats().steps());
        g.gauge("preemptions", () -> e.stats().preemptions());
        g.gauge("sampledTokens", () -> e.stats().generatedTokens());
    }

    /** The TaskManager's id among the group's variables, else this host's name (results carry it). */
    public static String taskManager(MetricGroup group) {
        String tm = group.getAllVariables().get("<tm_id>");
        return tm != null ? tm : java.net.InetAddress.getLoopbackAddress().getHostName();
    }

    public void submitted() {
        batchSize.update(inFlight.incrementAndGet());
    }

    /** A submitted request came back from the engine, finished or failed. */
    public void returned() {
        inFlight.decrementAndGet();
    }

    public void finished(GenerationResult r) {
        queueWaitMs.update(r.queuedNanos() / 1_000_000);
        if (r.generatedTokens() > 0) timeToFirstTokenMs.update(r.firstTokenNanos() / 1_000_000);
        generated.inc(r.generatedTokens());
        reasoningTokens.inc(r.reasoningTokens());
        answerTokens.inc(r.answerTokens());
    }

    void resumed(int tokens) {
        resumedGenerations.inc();
        resumedTokens.inc(tokens);
    }

    public void emitted(dev.r1flink.job.avro.ResultFinishReason reason) {
        results.get(reason).inc();
    }

    double tokensPerSecond() {
        return generatedPerSecond.getRate();
    }
}
