package dev.r1flink.job;

import dev.r1flink.job.avro.InferenceResult;
import dev.r1flink.job.avro.PromptEvent;
import dev.r1flink.local.EmbeddedKafka;
import dev.r1flink.model.BundledModels;
import dev.r1flink.model.Synthesizer;
import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.api.common.state.CheckpointListener;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.CoreOptions;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Checkpointed progress with the real engine (a synthesized tiny Qwen2 with the bundled model's vocabulary, which
 * never emits end-of-sequence, so every prompt runs its full 320 tokens: a thinking budget, then an answer). A job
 * fails once mid-generation (an exception at a checkpoint's completion, after the engines sampled 40% of the work)
 * and restores: with progress on, the prompts continue from the checkpoint and the results equal an undisturbed
 * run's exactly once each, and the engines sample far fewer tokens after the failure than with progress off.
 * Then a savepoint mid-generation, restored at another parallelism (2 -> 3): every prompt still finds its progress.
 */
class ProgressRestoreITCase {

    @RegisterExtension
    static final MiniClusterExtension FLINK = new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
            .setNumberTaskManagers(1).setNumberSlotsPerTaskManager(4).build());

    static final int PROMPTS = 8;
    static final int MAX_TOKENS = 320;

    @TempDir
    static Path tmp;
    static Path model;
    static EmbeddedKafka kafka;
    static List<PromptEvent> events;
    static Map<String, InferenceResult> reference;

    @BeforeAll
    static void setUp() throws Exception {
        model = tmp.resolve("tiny-qwen2-r1vocab.gguf");
        new Synthesizer(Synthesizer.shape("tiny-qwen2"), "Q8_0", BundledModels.resolve(BundledModels.DEFAULT), 7)
                .write(model, null);
        kafka = EmbeddedKafka.start();
        events = new ArrayList<>();
        for (int i = 0; i < PROMPTS; i++) {
            events.add(R1JobITCase.event("p" + i, "Think long about question " + i + " and " + "more ".repeat(i)));
        }
        KafkaJobHarness h = new KafkaJobHarness(kafka, "progress-ref", 2);
        ScenarioRuns.sendAll(h, events);
        Configuration conf = withDeltas(h, config(h, true), DeltaFormat.AVRO);
        JobClient job = start(conf, null);
        try {
            reference = byId(h.readResults(PROMPTS, Duration.ofMinutes(3)));
        } finally {
            job.cancel().get(30, TimeUnit.SECONDS);
        }
        assertEquals(PROMPTS, reference.size(), "reference run");
        assertEquals(0, checkDeltas(h, reference), "an undisturbed run sends each delta once");
        for (InferenceResult r : reference.values()) {
            assertEquals(MAX_TOKENS, r.getReasoningTokens() + r.getAnswerTokens(), "full-length generations");
        }
    }

    @AfterAll
    static void tearDown() {
        if (kafka != null) kafka.close();
    }

    /** Turns on the deltas topic ({@code <harness>.deltas}) in {@code format}. */
    static Configuration withDeltas(KafkaJobHarness h, Configuration c, DeltaFormat format) {
        kafka.createTopics(2, h.name + ".deltas");
        c.setString("kafka.topics.deltas", h.name + ".deltas"); // the spelling: a fallback key
        c.set(JobOptions.DELTAS_FLUSH_TOKENS, 7);
        c.set(JobOptions.DELTAS_FORMAT, format);
        return c;
    }

    /**
     * Reads the deltas topic: per id, the deltas deduplicated by sequence (a repeated sequence must carry the same
     * delta), numbered 0..n without gaps, the last one marked last, concatenating to the result's reasoning and
     * answer with its token counts. Returns how many duplicates (replays) there were.
     */
    static int checkDeltas(KafkaJobHarness h, Map<String, InferenceResult> results) {
        List<dev.r1flink.job.avro.ReasoningDelta> all = h.read(h.name + ".deltas", 1, Duration.ofSeconds(30), b -> {
            try {
                return DeltaStream.decode(b);
            } catch (java.io.IOException e) {
                throw new IllegalStateException(e);
            }
        });
        Map<String, java.util.TreeMap<Integer, dev.r1flink.job.avro.ReasoningDelta>> byId = new java.util.HashMap<>();
        int duplicates = 0;
        for (var d : all) {
            var seqs = byId.computeIfAbsent(d.getId(), k -> new java.util.TreeMap<>());
            var seen = seqs.putIfAbsent(d.getSequence(), d);
            if (seen != null) {
                assertEquals(seen, d, "a replayed delta equals the first one sent");
                duplicates++;
            }
        }
        assertEquals(results.keySet(), byId.keySet(), "deltas for every prompt");
        for (var e : byId.entrySet()) {
            InferenceResult r = results.get(e.getKey());
            StringBuilder reasoning = new StringBuilder();
            StringBuilder answer = new StringBuilder();
            int expect = 0;
            for (var d : e.getValue().values()) {
                assertEquals(expect++, d.getSequence(), e.getKey() + ": no gap in the sequence");
                (d.getPart() == dev.r1flink.job.avro.DeltaPart.REASONING ? reasoning : answer).append(d.getText());
            }
            var last = e.getValue().lastEntry().getValue();
            assertTrue(last.getLast(), e.getKey() + ": ends with a last delta");
            assertTrue(e.getValue().size() > 10, e.getKey() + ": streamed in many deltas");
            assertEquals(r.getReasoning(), reasoning.toString(), e.getKey() + ": deltas = reasoning");
            assertEquals(r.getAnswer(), answer.toString(), e.getKey() + ": deltas = answer");
            assertEquals(r.getReasoningTokens(), last.getReasoningTokens());
            assertEquals(r.getAnswerTokens(), last.getAnswerTokens());
        }
        return duplicates;
    }

    static Configuration config(KafkaJobHarness h, boolean progress) {
        Configuration c = R1FlinkJob.withDefaults(h.jobConfig());
        c.set(JobOptions.MODEL_PATH, model.toString());
        c.set(JobOptions.ENGINE_FACTORY, RecordingEngineFactory.class.getName());
        c.set(JobOptions.ENGINE_OPTIONS, Map.of("max-sequences", "4", "kv-cache-bytes", "16mb"));
        c.set(JobOptions.ENGINE_THREADS, 1);
        c.set(JobOptions.MAX_TOKENS, MAX_TOKENS);
        c.set(JobOptions.MAX_REASONING_TOKENS, 200);
        c.set(JobOptions.CHECKPOINT_PROGRESS, progress);
        c.set(JobOptions.ASYNC_CAPACITY, 8);
        c.set(org.apache.flink.configuration.CheckpointingOptions.CHECKPOINTING_INTERVAL, Duration.ofMillis(300));
        c.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_DELAY, Duration.ofMillis(200));
        return c;
    }

    /** The job as production wires it, plus {@code tail} on the results (a fault injector) when given. */
    static JobClient start(Configuration conf, MapFunction<InferenceResult, InferenceResult> tail) throws Exception {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        JobSettings settings = JobSettings.from(conf);
        var out = R1Pipeline.build(env, KafkaIo.source(conf), KafkaIo.resultsSink(conf), KafkaIo.deadLetterSink(conf),
                settings, settings.newEngineFactory());
        if (tail != null) out.map(tail).uid("fault").sinkTo(new DiscardingSink<>()).uid("fault-sink");
        return env.executeAsync(conf.get(JobOptions.JOB_NAME));
    }

    static Map<String, InferenceResult> byId(List<InferenceResult> rs) {
        return rs.stream().collect(Collectors.toMap(InferenceResult::getId, r -> r, (a, b) -> a));
    }

    static long totalTokens() {
        return (long) PROMPTS * MAX_TOKENS;
    }

    /** Fails its task once, at the first checkpoint completed after the engines sampled {@code threshold} tokens. */
    static final class FailOnceMidGeneration implements MapFunction<InferenceResult, InferenceResult>, CheckpointListener {
        static final AtomicBoolean FAILED = new AtomicBoolean();
        static final AtomicInteger ENGINES_BEFORE = new AtomicInteger();
        static final AtomicLong SAMPLED_BEFORE = new AtomicLong();
        static volatile long threshold;

        @Override
        public InferenceResult map(InferenceResult r) {
            return r;
        }

        @Override
        public void notifyCheckpointComplete(long checkpointId) {
            if (!FAILED.get() && RecordingEngineFactory.sampled(0) >= threshold && FAILED.compareAndSet(false, true)) {
                ENGINES_BEFORE.set(RecordingEngineFactory.STARTED.size());
                SAMPLED_BEFORE.set(RecordingEngineFactory.sampled(0));
                throw new IllegalStateException("injected failure after checkpoint " + checkpointId);
            }
        }
    }

    /** Sampled and resumed tokens after the failure, results checked against the reference. */
    record Recovery(long sampledBefore, long sampledAfter, long resumed) {
    }

    Recovery failOnce(boolean progress) throws Exception {
        KafkaJobHarness h = new KafkaJobHarness(kafka, progress ? "progress-on" : "progress-off", 2);
        ScenarioRuns.sendAll(h, events);
        RecordingEngineFactory.STARTED.clear();
        FailOnceMidGeneration.FAILED.set(false);
        FailOnceMidGeneration.threshold = totalTokens() * 4 / 10;
        Configuration conf = withDeltas(h, config(h, progress), progress ? DeltaFormat.AVRO : DeltaFormat.JSON);
        JobClient job = start(conf, new FailOnceMidGeneration());
        List<InferenceResult> got;
        try {
            got = h.readResults(PROMPTS, Duration.ofMinutes(3));
        } finally {
            job.cancel().get(30, TimeUnit.SECONDS);
        }
        assertTrue(FailOnceMidGeneration.FAILED.get(), "the failure happened");
        ScenarioReport r = ScenarioReport.compare("progress " + (progress ? "on" : "off"), "task failure mid-generation",
                ScenarioRuns.ids(events), got, reference, 0);
        assertEquals(0, r.lost(), "lost");
        assertEquals(0, r.duplicated(), "duplicated");
        assertEquals(0, r.different(), "different from the undisturbed run");
        int from = FailOnceMidGeneration.ENGINES_BEFORE.get();
        Recovery rec = new Recovery(FailOnceMidGeneration.SAMPLED_BEFORE.get(), RecordingEngineFactory.sampled(from),
                RecordingEngineFactory.resumed(from));
        int replayed = checkDeltas(h, byId(got));
        System.out.printf("progress %s: %d of %d tokens sampled before the failure, %d sampled after it, %d resumed; "
                        + "%d deltas sent again by the replay%n",
                progress ? "on" : "off", rec.sampledBefore(), totalTokens(), rec.sampledAfter(), rec.resumed(), replayed);
        if (rec.sampledBefore() < totalTokens() * 6 / 10) { // the failover landed mid-generation (see the test)
            assertTrue(replayed > 0, "the failover replayed deltas (deduplicated above)");
        }
        return rec;
    }

    @Test
    void afterAFailureGenerationsContinueFromTheCheckpointAndEndIdentical() throws Exception {
        Recovery on = failOnce(true);
        Recovery off = failOnce(false);
        // The work figures below only mean something when the failover landed mid-generation: the failure is
        // injected at 40% of the tokens, but on a busy machine the engines may run far past that before it lands
        // (seen: all 2,560 tokens sampled first, nothing left to resume). Then the run still proved the results
        // (in failOnce); resumption and the work comparison are reported, not asserted. The rescale test below and
        // the SIGKILL scenario (-Preliability) check resumption too.
        boolean midGeneration = on.sampledBefore() < totalTokens() * 6 / 10 && off.sampledBefore() < totalTokens() * 6 / 10;
        if (!midGeneration) {
            System.out.printf("failover landed late (on %s, off %s of %d tokens sampled first): work not compared%n",
                    on.sampledBefore(), off.sampledBefore(), totalTokens());
            return;
        }
        assertTrue(on.resumed() > 0, "progress was restored: " + on);
        assertEquals(0, off.resumed(), "progress off: nothing resumed");
        assertTrue(off.sampledAfter() >= totalTokens() * 9 / 10, "without progress the work starts over: " + off);
        assertTrue(on.sampledAfter() + on.resumed() >= totalTokens() - on.sampledBefore() / 4,
                "continuations account for the rest: " + on);
        assertTrue(on.sampledAfter() < off.sampledAfter() * 8 / 10,
                "with progress, less work after the failure: " + on + " vs " + off);
    }

    @Test
    void aSavepointRestoredAtAnotherParallelismContinuesEveryPrompt() throws Exception {
        KafkaJobHarness h = new KafkaJobHarness(kafka, "progress-rescale", 2);
        ScenarioRuns.sendAll(h, events);
        RecordingEngineFactory.STARTED.clear();
        Configuration conf = config(h, true);
        JobClient first = start(conf, null);
        String savepoint;
        try {
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
            while (RecordingEngineFactory.sampled(0) < totalTokens() / 3 && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            savepoint = first.triggerSavepoint(tmp.resolve("savepoints").toString(), SavepointFormatType.CANONICAL)
                    .get(2, TimeUnit.MINUTES);
        } finally {
            first.cancel().get(30, TimeUnit.SECONDS);
        }
        int from = RecordingEngineFactory.STARTED.size();
        Configuration again = config(h, true);
        again.set(CoreOptions.DEFAULT_PARALLELISM, 3);
        again.set(StateRecoveryOptions.SAVEPOINT_PATH, savepoint);
        JobClient second = start(again, null);
        List<InferenceResult> got;
        try {
            got = h.readResults(PROMPTS, Duration.ofMinutes(3));
        } finally {
            second.cancel().get(30, TimeUnit.SECONDS);
        }
        ScenarioReport r = ScenarioReport.compare("rescale", "savepoint at parallelism 2, restored at 3",
                ScenarioRuns.ids(events), got, reference, 0);
        assertEquals(0, r.lost(), "lost");
        assertEquals(0, r.duplicated(), "duplicated");
        assertEquals(0, r.different(), "different from the undisturbed run");
        assertEquals(3, RecordingEngineFactory.STARTED.size() - from, "three subtasks after the restore");
        long resumed = RecordingEngineFactory.resumed(from);
        System.out.printf("rescale 2 -> 3: %d tokens resumed, %d sampled after the restore%n", resumed,
                RecordingEngineFactory.sampled(from));
        assertTrue(resumed > 0, "progress restored across the rescale");
    }
}
