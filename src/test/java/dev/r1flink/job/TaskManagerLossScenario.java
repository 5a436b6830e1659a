package dev.r1flink.job;

import dev.r1flink.cli.Main;
import dev.r1flink.job.avro.InferenceResult;
import dev.r1flink.job.avro.PromptEvent;
import dev.r1flink.local.EmbeddedKafka;
import dev.r1flink.local.StandaloneCluster;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Reliability scenario 1 (TaskManager loss): a standalone session cluster, a JobManager and two TaskManagers as
 * separate JVMs (4 slots each, the job's 4 subtasks spread 2 + 2), 1,000 prompts; once some results are committed
 * one TaskManager gets SIGKILL. The job restores from its last checkpoint on the surviving TaskManager. The
 * committed results must equal an undisturbed reference run on the same cluster: one per prompt, same output.
 * Scripted engine (deterministic per id and prompt). Needs the packaged job jar: {@code mvn -B verify -Preliability}.
 */
class TaskManagerLossScenario {

    @TempDir
    Path tmp;

    @Test
    void sigkillOfATaskManagerMidRunLosesAndDuplicatesNothing() throws Exception {
        Path jobJar = Path.of(System.getProperty("r1.job.jar", "target/r1-flink-job.jar"));
        if (!Files.isRegularFile(jobJar)) {
            if ("true".equals(System.getenv("CI"))) throw new AssertionError("no job jar at " + jobJar);
            Assumptions.abort("no job jar at " + jobJar + " (mvn verify -Preliability packages it first)");
        }
        Path jar = withTestEngine(jobJar, tmp.resolve("job-with-test-engine.jar"));
        int n = 1000;
        List<PromptEvent> events = ScenarioRuns.events("t", n);
        try (EmbeddedKafka kafka = EmbeddedKafka.start();
             StandaloneCluster cluster = StandaloneCluster.start(tmp.resolve("cluster"), clusterClasspath(), jvmFlags(),
                     2, 4, Map.of("taskmanager.load-balance.mode", "SLOTS", "heartbeat.interval", "2000",
                             "heartbeat.timeout", "10000"))) {
            KafkaJobHarness ref = new KafkaJobHarness(kafka, "tm-loss-ref", 4);
            ScenarioRuns.sendAll(ref, events);
            submit(cluster, jobFile(ref, 0));
            Map<String, InferenceResult> reference = ScenarioRuns.read(ref, n, Duration.ofMinutes(5), 2000).results()
                    .stream().collect(Collectors.toMap(InferenceResult::getId, r -> r, (a, b) -> a));
            assertEquals(n, reference.size(), "reference run");
            cancelAll(cluster);

            KafkaJobHarness h = new KafkaJobHarness(kafka, "tm-loss", 4);
            ScenarioRuns.sendAll(h, events);
            submit(cluster, jobFile(h, 80)); // ~30 tokens x 80 ms per prompt, 32 in flight: about a minute of work
            AtomicInteger progress = new AtomicInteger();
            CompletableFuture<ScenarioRuns.Timed> reader = ScenarioRuns.readAsync(h, n, progress);
            ScenarioRuns.awaitProgress(progress, n / 10, Duration.ofMinutes(3));
            Process victim = cluster.processes().get(1); // [0] is the JobManager
            long killedAt = ScenarioRuns.now();
            victim.destroyForcibly(); // SIGKILL
            assertTrue(victim.waitFor(30, TimeUnit.SECONDS), "the TaskManager died");
            ScenarioRuns.Timed t = reader.get(10, TimeUnit.MINUTES);
            long before = t.arrivedMillis().stream().filter(a -> a < killedAt).count();
            long firstAfter = t.firstAtOrAfter(killedAt + 1);
            Set<String> tms = t.results().stream().map(InferenceResult::getTaskManager).collect(Collectors.toSet());
            System.out.printf("TaskManager loss: %d results committed before SIGKILL; first commit %.1f s after it, all "
                            + "%d by %.1f s; served by TaskManagers %s%n", before, (firstAfter - killedAt) / 1e3,
                    t.results().size(), (t.last() - killedAt) / 1e3, tms);
            ScenarioReport r = ScenarioReport.compare("1 TaskManager loss", "SIGKILL of 1 of 2 TaskManager JVMs mid-run "
                    + "(standalone cluster)", ScenarioRuns.ids(events), t.results(), reference,
                    (firstAfter - killedAt) / 1e3).record();
            assertTrue(before > 0 && before <= n / 2, "the kill landed mid-run (" + before + " before it)");
            assertTrue(tms.size() >= 2, "both TaskManagers served before the kill: " + tms);
            assertEquals(0, r.lost(), "lost");
            assertEquals(0, r.duplicated(), "duplicated");
            assertEquals(0, r.different(), "different from the reference");
        }
    }

    static void submit(StandaloneCluster cluster, Path jobFile) {
        assertEquals(0, Main.commandLine().execute("submit", "-m", cluster.restAddress(), "--jar",
                jarPath.toString(), "--job", jobFile.toString()), "submit");
    }

    private static Path jarPath;

    Path jobFile(KafkaJobHarness h, int tokenDelayMs) throws IOException {
        Path f = tmp.resolve(h.name + ".yaml");
        Files.writeString(f, String.join("\n",
                "r1.job-name: " + h.name,
                "kafka:",
                "  bootstrap-servers: " + h.kafka.bootstrapServers(),
                "  prompts-topic: " + h.prompts,
                "  results-topic: " + h.results,
                "  dead-letter-topic: " + h.deadLetters,
                "  group-id: " + h.name,
                "  transactional-id-prefix: " + h.name,
                "  starting-offsets: earliest",
                "model.path: /models/tiny-r1.gguf",
                "engine.factory: " + ScriptedEngineFactory.class.getName(),
                "engine.options: scripted.context:64,scripted.token-delay-ms:" + tokenDelayMs,
                "generation.max-tokens: 48",
                "async.capacity: 8",
                "parallelism.default: 4",
                "execution.checkpointing.interval: 500 ms",
                "execution.checkpointing.unaligned.enabled: true",
                "restart-strategy.type: fixed-delay",
                "restart-strategy.fixed-delay.attempts: 100",
                "restart-strategy.fixed-delay.delay: 1 s",
                ""));
        return f;
    }

    /** Cancels every running job over REST (the reference run) and waits until the slots are free again. */
    static void cancelAll(StandaloneCluster cluster) throws Exception {
        java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
        String base = "http://" + cluster.restAddress();
        String jobs = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(base + "/jobs")).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString()).body();
        var m = java.util.regex.Pattern.compile("\"id\":\"([0-9a-f]{32})\",\"status\":\"RUNNING\"").matcher(jobs);
        while (m.find()) {
            http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(base + "/jobs/" + m.group(1) + "?mode=cancel"))
                    .method("PATCH", java.net.http.HttpRequest.BodyPublishers.noBody()).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString());
        }
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (System.nanoTime() < deadline) {
            String o = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(base + "/overview")).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString()).body();
            if (o.contains("\"jobs-running\":0") && o.contains("\"slots-available\":8")) return;
            Thread.sleep(250);
        }
        throw new AssertionError("the reference job did not go away");
    }

    static String clusterClasspath() {
        return Stream.of(System.getProperty("java.class.path").split(File.pathSeparator))
                .filter(e -> !e.endsWith("classes") && !e.endsWith("classes/") && e.endsWith(".jar"))
                .filter(e -> !e.contains("surefire") && !e.contains("failsafe"))
                .filter(e -> Stream.of("/org/apache/kafka/", "/flink-connector-kafka/", "/flink-avro/", "/org/apache/avro/",
                        "/com/fasterxml/jackson/", "/info/picocli/", "/org/junit/", "/com/tngtech/").noneMatch(e::contains))
                .collect(Collectors.joining(File.pathSeparator));
    }

    static List<String> jvmFlags() {
        return List.of("--add-modules", "jdk.incubator.vector", "-XX:ObjectAlignmentInBytes=64",
                "--add-opens", "java.base/java.util=ALL-UNNAMED", "--add-opens", "java.base/java.lang=ALL-UNNAMED",
                "--add-opens", "java.base/java.nio=ALL-UNNAMED");
    }

    static Path withTestEngine(Path jobJar, Path out) throws IOException {
        jarPath = ScriptedJobJar.build(jobJar, out);
        return jarPath;
    }
}
