package dev.r1flink.job;

import dev.r1flink.job.avro.InferenceResult;
import dev.r1flink.job.avro.PromptEvent;
import dev.r1flink.local.EmbeddedKafka;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.CoreOptions;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Reliability scenarios 2 (broker restart mid-run) and 3 (stop with a savepoint, resume at another parallelism) on
 * a MiniCluster (one TaskManager, 4 slots) with the scripted engine (deterministic per id and prompt, like the real
 * engine's seeded decoding, and fast enough for hundreds of prompts on 2 shared cores). Each faulted run is
 * compared with an undisturbed reference run of the same prompts: exactly one result per prompt, equal output.
 * Long: run with {@code mvn -B verify -Preliability}.
 */
class KafkaFaultsScenario {

    @RegisterExtension
    static final MiniClusterExtension FLINK = new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
            .setNumberTaskManagers(1).setNumberSlotsPerTaskManager(4).setConfiguration(debloated()).build());

    /**
     * Savepoints are always aligned: the stop waits until every prompt buffered ahead of the barrier is served.
     * Buffer debloating shrinks those buffers to about a second of throughput.
     */
    static Configuration debloated() {
        Configuration c = new Configuration();
        c.set(org.apache.flink.configuration.TaskManagerOptions.BUFFER_DEBLOAT_ENABLED, true);
        return c;
    }

    @TempDir
    Path tmp;

    @Test
    void brokerRestartMidRunLosesAndDuplicatesNothing() throws Exception {
        int n = 600;
        List<PromptEvent> events = ScenarioRuns.events("b", n);
        try (EmbeddedKafka kafka = EmbeddedKafka.start()) {
            Map<String, InferenceResult> reference = ScenarioRuns.reference(new KafkaJobHarness(kafka, "broker-ref", 2),
                    events, c -> { });
            KafkaJobHarness h = new KafkaJobHarness(kafka, "broker-restart", 2);
            ScenarioRuns.sendAll(h, events);
            Configuration conf = ScenarioRuns.config(h, 40); // ~60 s of work: the restart lands mid-run
            JobClient job = ScenarioRuns.start(conf);
            try {
                AtomicInteger progress = new AtomicInteger();
                CompletableFuture<ScenarioRuns.Timed> reader = ScenarioRuns.readAsync(h, n, progress);
                ScenarioRuns.awaitProgress(progress, n / 5, Duration.ofMinutes(3));
                long down = ScenarioRuns.now();
                kafka.stop();
                Thread.sleep(5000);
                kafka.restart();
                long up = ScenarioRuns.now();
                ScenarioRuns.Timed t = reader.get(10, TimeUnit.MINUTES);
                long before = t.arrivedMillis().stream().filter(a -> a < down).count();
                long firstAfter = t.firstAtOrAfter(up);
                System.out.printf("broker restart: %d results committed before the stop, broker down %.1f s, first "
                                + "commit %.1f s after restart, all %d by %.1f s after restart%n", before,
                        (up - down) / 1e3, (firstAfter - up) / 1e3, t.results().size(), (t.last() - up) / 1e3);
                ScenarioReport r = ScenarioReport.compare("2 broker restart", "KRaft broker stopped "
                                + String.format("%.0f", (up - down) / 1e3) + " s mid-run, restarted on the same log dir and port",
                        ScenarioRuns.ids(events), t.results(), reference, (firstAfter - up) / 1e3).record();
                assertTrue(before > 0 && before <= n / 2, "the fault hit mid-run (" + before + " results before it)");
                assertEquals(0, r.lost(), "lost");
                assertEquals(0, r.duplicated(), "duplicated");
                assertEquals(0, r.different(), "different from the reference");
                assertEquals(n, r.results());
            } finally {
                job.cancel().get(30, TimeUnit.SECONDS);
            }
        }
    }

    @Test
    void savepointThenResumeAtAnotherParallelismLosesAndDuplicatesNothing() throws Exception {
        int n = 600;
        List<PromptEvent> events = ScenarioRuns.events("s", n);
        try (EmbeddedKafka kafka = EmbeddedKafka.start()) {
            Map<String, InferenceResult> reference = ScenarioRuns.reference(new KafkaJobHarness(kafka, "savepoint-ref", 2),
                    events, c -> { });
            KafkaJobHarness h = new KafkaJobHarness(kafka, "savepoint", 2);
            ScenarioRuns.sendAll(h, events);
            Configuration conf = ScenarioRuns.config(h, 40);
            conf.set(CoreOptions.DEFAULT_PARALLELISM, 2);
            JobClient job = ScenarioRuns.start(conf);
            AtomicInteger progress = new AtomicInteger();
            CompletableFuture<ScenarioRuns.Timed> reader = ScenarioRuns.readAsync(h, n, progress);
            ScenarioRuns.awaitProgress(progress, n / 5, Duration.ofMinutes(3));
            long stopAt = ScenarioRuns.now();
            String savepoint = job.stopWithSavepoint(false, tmp.resolve("savepoints").toUri().toString(),
                    SavepointFormatType.CANONICAL).get(2, TimeUnit.MINUTES);
            long stopped = ScenarioRuns.now();
            conf.set(CoreOptions.DEFAULT_PARALLELISM, 4);
            conf.set(StateRecoveryOptions.SAVEPOINT_PATH, savepoint);
            JobClient resumed = ScenarioRuns.start(conf);
            long resumedAt = ScenarioRuns.now();
            try {
                ScenarioRuns.Timed t = reader.get(10, TimeUnit.MINUTES);
                long before = t.arrivedMillis().stream().filter(a -> a < stopAt).count();
                long byStop = t.arrivedMillis().stream().filter(a -> a <= stopped).count();
                long firstAfter = t.firstAtOrAfter(resumedAt);
                System.out.printf("savepoint: %d results committed when the stop was requested; stop-with-savepoint "
                                + "took %.1f s, %d results committed by then; resumed at parallelism 4, first commit "
                                + "%.1f s after resubmission, all %d by %.1f s%n", before,
                        (stopped - stopAt) / 1e3, byStop, (firstAfter - resumedAt) / 1e3, t.results().size(),
                        (t.last() - resumedAt) / 1e3);
                ScenarioReport r = ScenarioReport.compare("3 savepoint + rescale", "stop-with-savepoint at parallelism 2 "
                                + "mid-run, resumed from it at parallelism 4",
                        ScenarioRuns.ids(events), t.results(), reference, (firstAfter - stopAt) / 1e3).record();
                assertTrue(before > 0 && before <= n / 2, "stopped mid-run (" + before + " results before it)");
                assertEquals(0, r.lost(), "lost");
                assertEquals(0, r.duplicated(), "duplicated");
                assertEquals(0, r.different(), "different from the reference");
                assertTrue(t.results().stream().anyMatch(x -> x.getSubtask() >= 2), "the resumed job ran 4 inference subtasks");
            } finally {
                resumed.cancel().get(30, TimeUnit.SECONDS);
            }
        }
    }
}
