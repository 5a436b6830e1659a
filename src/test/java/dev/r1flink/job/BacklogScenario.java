package dev.r1flink.job;

import dev.r1flink.job.avro.InferenceResult;
import dev.r1flink.job.avro.PromptEvent;
import dev.r1flink.local.EmbeddedKafka;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Reliability scenario 4 (backlog): 10,000 prompts wait in Kafka before the job starts. All must complete, exactly
 * once and equal to a reference run; memory stays bounded and the inference operator's bounded capacity pushes
 * back to the source (Flink's back-pressure ratio of the source vertex, read over REST while the backlog drains),
 * instead of the source pulling the backlog into memory. The MiniCluster runs inside the test JVM (with the
 * broker), so the heap and RSS figures are that JVM's: an upper bound on a TaskManager's.
 */
class BacklogScenario {

    @RegisterExtension
    static final MiniClusterExtension FLINK = new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
            .setNumberTaskManagers(1).setNumberSlotsPerTaskManager(2).build());

    @Test
    void tenThousandWaitingPromptsAllCompleteWithBoundedMemory() throws Exception {
        int n = 10_000;
        List<PromptEvent> events = ScenarioRuns.events("k", n);
        try (EmbeddedKafka kafka = EmbeddedKafka.start()) {
            Map<String, InferenceResult> reference = ScenarioRuns.reference(new KafkaJobHarness(kafka, "backlog-ref", 2),
                    events, c -> { });
            System.gc();
            KafkaJobHarness h = new KafkaJobHarness(kafka, "backlog", 2);
            ScenarioRuns.sendAll(h, events);
            Configuration conf = ScenarioRuns.config(h, 1);
            long t0 = ScenarioRuns.now();
            JobClient job = ScenarioRuns.start(conf);
            AtomicInteger progress = new AtomicInteger();
            CompletableFuture<ScenarioRuns.Timed> reader = ScenarioRuns.readAsync(h, n, progress);
            long maxHeap = 0;
            long maxOldAfterGc = 0;
            long maxRss = 0;
            double maxSourceBackPressure = 0;
            int samples = 0;
            int backPressuredSamples = 0;
            Configuration client = FLINK.getClientConfiguration();
            String rest = "http://" + client.get(RestOptions.ADDRESS) + ":" + client.get(RestOptions.PORT);
            HttpClient http = HttpClient.newHttpClient();
            String sourceVertex = null;
            try {
                while (!reader.isDone()) {
                    maxHeap = Math.max(maxHeap, ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed());
                    for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
                        if (p.getType() == MemoryType.HEAP && p.getCollectionUsage() != null && p.getName().contains("Old")) {
                            maxOldAfterGc = Math.max(maxOldAfterGc, p.getCollectionUsage().getUsed());
                        }
                    }
                    maxRss = Math.max(maxRss, statusKb("VmRSS") * 1024);
                    if (progress.get() < n * 9 / 10) {
                        try {
                            if (sourceVertex == null) sourceVertex = vertex(http, rest, job.getJobID().toString(), "prompts");
                            if (sourceVertex != null) {
                                double r = backPressureRatio(http, rest + "/jobs/" + job.getJobID() + "/vertices/" + sourceVertex + "/backpressure");
                                if (r >= 0) {
                                    samples++;
                                    if (r > 0.5) backPressuredSamples++;
                                    maxSourceBackPressure = Math.max(maxSourceBackPressure, r);
                                }
                            }
                        } catch (Exception e) {
                            // REST not ready yet
                        }
                    }
                    Thread.sleep(500);
                }
                ScenarioRuns.Timed t = reader.get();
                double seconds = (t.last() - t0) / 1e3;
                long hwm = statusKb("VmHWM") * 1024;
                System.out.printf("backlog: %d results in %.1f s (%.0f/s); test JVM (MiniCluster + broker): heap used max "
                                + "%d MiB, old gen after GC max %d MiB, RSS max %d MiB (VmHWM %d MiB), -Xmx %d MiB; source "
                                + "back-pressure ratio max %.2f, > 0.5 in %d of %d samples%n", t.results().size(), seconds,
                        t.results().size() / seconds, maxHeap >> 20, maxOldAfterGc >> 20, maxRss >> 20, hwm >> 20,
                        Runtime.getRuntime().maxMemory() >> 20, maxSourceBackPressure, backPressuredSamples, samples);
                ScenarioReport r = ScenarioReport.compare("4 backlog", String.format("%d prompts waiting before start; "
                                + "heap max %d MiB, old gen after GC max %d MiB, RSS max %d MiB; source back-pressured "
                                + "(ratio > 0.5) in %d/%d samples", n, maxHeap >> 20, maxOldAfterGc >> 20, maxRss >> 20,
                        backPressuredSamples, samples), ScenarioRuns.ids(events), t.results(), reference, 0).record();
                assertEquals(0, r.lost(), "lost");
                assertEquals(0, r.duplicated(), "duplicated");
                assertEquals(0, r.different(), "different from the reference");
                assertTrue(backPressuredSamples > 0, "back pressure reached the source");
            } finally {
                job.cancel().get(30, TimeUnit.SECONDS);
            }
        }
    }

    static long statusKb(String field) throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith(field + ":")) return Long.parseLong(line.replaceAll("[^0-9]", ""));
        }
        return 0;
    }

    static String vertex(HttpClient http, String rest, String jobId, String nameContains) throws Exception {
        String body = http.send(HttpRequest.newBuilder(URI.create(rest + "/jobs/" + jobId)).build(),
                HttpResponse.BodyHandlers.ofString()).body();
        Matcher m = Pattern.compile("\\{\"id\":\"([0-9a-f]{32})\"[^{}]*?\"name\":\"([^\"]*)\"").matcher(body);
        while (m.find()) if (m.group(2).contains(nameContains)) return m.group(1);
        return null;
    }

    /** Highest back-pressure ratio over the vertex's subtasks; -1 while Flink has no sample yet. */
    static double backPressureRatio(HttpClient http, String url) throws Exception {
        String body = http.send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString()).body();
        Matcher m = Pattern.compile("\"ratio\":([0-9.Ee-]+)").matcher(body);
        double max = -1;
        while (m.find()) max = Math.max(max, Double.parseDouble(m.group(1)));
        return max;
    }
}
