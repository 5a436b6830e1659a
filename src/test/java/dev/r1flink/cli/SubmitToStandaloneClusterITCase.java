package dev.r1flink.cli;

import dev.r1flink.job.PromptCodec;
import dev.r1flink.job.ScriptedEngineFactory;
import dev.r1flink.job.avro.InferenceResult;
import dev.r1flink.job.avro.PromptEvent;
import dev.r1flink.job.avro.ResultFinishReason;
import dev.r1flink.local.EmbeddedKafka;
import dev.r1flink.local.KafkaClients;
import dev.r1flink.local.StandaloneCluster;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A real standalone session cluster (JobManager and TaskManager as separate JVMs on 127.0.0.1), the shaded job jar
 * submitted over REST by {@code r1-flink submit}, prompts through the real broker, results read committed; then
 * everything torn down with no process left.
 */
class SubmitToStandaloneClusterITCase {

    @TempDir
    Path tmp;

    @Test
    void jobJarRunsOnAStandaloneClusterAndNothingIsLeftBehind() throws Exception {
        Path jobJar = Path.of(System.getProperty("r1.job.jar", "target/r1-flink-job.jar"));
        if (!Files.isRegularFile(jobJar)) {
            if ("true".equals(System.getenv("CI"))) throw new AssertionError("no job jar at " + jobJar);
            Assumptions.abort("no job jar at " + jobJar + " (run mvn verify, which packages it first)");
        }
        // The shaded jar plus the scripted test engine: the cluster sees the job's classes only through this jar.
        Path jar = dev.r1flink.job.ScriptedJobJar.build(jobJar, tmp.resolve("r1-flink-job-with-test-engine.jar"));
        String clusterClasspath = Stream.of(System.getProperty("java.class.path").split(File.pathSeparator))
                .filter(e -> !e.endsWith("classes") && !e.endsWith("classes/") && e.endsWith(".jar"))
                .filter(e -> !e.contains("surefire") && !e.contains("failsafe"))
                // what flink-dist lacks and the job jar brings
                .filter(e -> Stream.of("/org/apache/kafka/", "/flink-connector-kafka/", "/flink-avro/", "/org/apache/avro/",
                        "/com/fasterxml/jackson/", "/info/picocli/", "/org/junit/", "/com/tngtech/").noneMatch(e::contains))
                .collect(Collectors.joining(File.pathSeparator));
        assertTrue(clusterClasspath.contains("flink-runtime"), "Flink on the test classpath: " + clusterClasspath);
        List<String> jvmFlags = List.of("--add-modules", "jdk.incubator.vector", "-XX:ObjectAlignmentInBytes=64",
                "--add-opens", "java.base/java.util=ALL-UNNAMED", "--add-opens", "java.base/java.lang=ALL-UNNAMED",
                "--add-opens", "java.base/java.nio=ALL-UNNAMED");

        List<ProcessHandle> started = new ArrayList<>();
        try (EmbeddedKafka kafka = EmbeddedKafka.start()) {
            kafka.createTopics(2, "sc.prompts", "sc.results", "sc.dead-letters");
            Path jobFile = tmp.resolve("standalone.yaml");
            Files.writeString(jobFile, String.join("\n",
                    "r1.job-name: r1-standalone-it",
                    "kafka:",
                    "  bootstrap-servers: " + kafka.bootstrapServers(),
                    "  prompts-topic: sc.prompts",
                    "  results-topic: sc.results",
                    "  dead-letter-topic: sc.dead-letters",
                    "  starting-offsets: earliest",
                    "model.path: /models/tiny-r1.gguf",
                    "engine.factory: " + ScriptedEngineFactory.class.getName(),
                    "engine.options: scripted.context:64",
                    "parallelism.default: 2",
                    "execution.checkpointing.interval: 500 ms",
                    "restart-strategy.type: fixed-delay",
                    "restart-strategy.fixed-delay.attempts: 1",
                    ""));
            try (StandaloneCluster cluster = StandaloneCluster.start(tmp.resolve("cluster"), clusterClasspath, jvmFlags,
                    1, 2, Map.of())) {
                cluster.processes().forEach(p -> {
                    started.add(p.toHandle());
                    p.descendants().forEach(started::add);
                });
                try (KafkaProducer<byte[], byte[]> p = KafkaClients.producer(kafka.bootstrapServers(), Map.of())) {
                    for (int i = 0; i < 20; i++) {
                        PromptEvent e = PromptEvent.newBuilder().setId("s" + i).setPrompt("standalone prompt " + i)
                                .setSystem(null).setModel(null).setParams(null).setMetadata(Map.of())
                                .setCreatedAt(Instant.now()).build();
                        p.send(new ProducerRecord<>("sc.prompts", null, PromptCodec.encode(e)));
                    }
                }
                int rc = Main.commandLine().execute("submit", "-m", cluster.restAddress(), "--jar", jar.toString(),
                        "--job", jobFile.toString());
                assertEquals(0, rc, "submit");

                Map<String, InferenceResult> byId = new HashMap<>();
                int records = 0;
                try (KafkaConsumer<byte[], byte[]> c = KafkaClients.committedReader(kafka.bootstrapServers(), "sc-reader",
                        true, Map.of())) {
                    c.subscribe(List.of("sc.results"));
                    long deadline = System.nanoTime() + Duration.ofMinutes(3).toNanos();
                    while (byId.size() < 20 && System.nanoTime() < deadline) {
                        for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(250))) {
                            InferenceResult res = InferenceResult.getDecoder().decode(r.value());
                            byId.put(res.getId(), res);
                            records++;
                        }
                    }
                }
                assertEquals(20, byId.size(), "results from the cluster");
                assertEquals(20, records, "no duplicates");
                for (InferenceResult r : byId.values()) {
                    assertEquals(ResultFinishReason.STOP, r.getFinishReason());
                    assertTrue(r.getReasoning().contains("standalone prompt"), r.getReasoning());
                    assertFalse(r.getTaskManager().isEmpty());
                }
            }
        }
        for (ProcessHandle h : started) assertFalse(h.isAlive(), "process " + h.pid() + " left behind");
    }
}
