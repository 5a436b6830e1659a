package dev.r1flink.job;

import dev.r1flink.cli.Main;
import dev.r1flink.job.avro.InferenceResult;
import dev.r1flink.job.avro.PromptEvent;
import dev.r1flink.job.avro.ReasoningDelta;
import dev.r1flink.local.EmbeddedKafka;
import dev.r1flink.local.KafkaClients;
import dev.r1flink.local.StandaloneCluster;
import dev.r1flink.model.BundledModels;
import dev.r1flink.model.Synthesizer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Reliability scenario (long generations survive a TaskManager loss): the real engine on a synthesized tiny Qwen2
 * (the bundled model's vocabulary; it never emits end-of-sequence, so each of 16 prompts runs 2,000 tokens: a
 * 1,200-token thinking budget, then the answer), on a standalone cluster of two TaskManager JVMs (4 slots each,
 * 4 subtasks spread 2 + 2), checkpoints every second, deltas on. When the deltas show 40% of the work done, one
 * TaskManager gets SIGKILL. Run twice, with progress checkpoints on and off, against an undisturbed reference:
 * results equal the reference, none lost or duplicated; the deduplicated deltas concatenate to the results; and
 * the tokens the engines sample after the recovery (REST metrics of the restarted subtasks) are compared. Needs the
 * packaged job jar: {@code mvn -B verify -Preliability}.
 */
class LongGenerationLossScenario {

    static final int PROMPTS = 16;
    static final int MAX_TOKENS = 2000;

    @TempDir
    Path tmp;

    @Test
    void sigkillMidTraceContinuesFromTheCheckpointNotFromTheStart() throws Exception {
        Path jobJar = Path.of(System.getProperty("r1.job.jar", "target/r1-flink-job.jar")).toAbsolutePath();
        if (!Files.isRegularFile(jobJar)) {
            if ("true".equals(System.getenv("CI"))) throw new AssertionError("no job jar at " + jobJar);
            Assumptions.abort("no job jar at " + jobJar + " (mvn verify -Preliability packages it first)");
        }
        Path model = tmp.resolve("tiny-qwen2-r1vocab.gguf");
        new Synthesizer(Synthesizer.shape("tiny-qwen2"), "Q8_0", BundledModels.resolve(BundledModels.DEFAULT), 13)
                .write(model, null);
        List<PromptEvent> events = new ArrayList<>();
        for (int i = 0; i < PROMPTS; i++) {
            events.add(R1JobITCase.event("long" + i, "Reason at length about case " + i + ": " + "why ".repeat(i % 5)));
        }
        try (EmbeddedKafka kafka = EmbeddedKafka.start()) {
            Map<String, InferenceResult> reference;
            Run on;
            try (StandaloneCluster cluster = cluster("a")) {
                KafkaJobHarness ref = harness(kafka, "long-ref");
                ScenarioRuns.sendAll(ref, events);
                submit(cluster, jobJar, jobFile(ref, model, true));
                reference = ScenarioRuns.read(ref, PROMPTS, Duration.ofMinutes(8), 2000).results().stream()
                        .collect(Collectors.toMap(InferenceResult::getId, r -> r, (a, b) -> a));
                assertEquals(PROMPTS, reference.size(), "reference run");
                for (InferenceResult r : reference.values()) {
                    assertEquals(MAX_TOKENS, r.getReasoningTokens() + r.getAnswerTokens(), "full-length traces");
                }
                TaskManagerLossScenario.cancelAll(cluster);
                on = killRun(cluster, kafka, jobJar, model, events, reference, true);
            }
            Run off;
            try (StandaloneCluster cluster = cluster("b")) {
                off = killRun(cluster, kafka, jobJar, model, events, reference, false);
            }
            long total = (long) PROMPTS * MAX_TOKENS;
            System.out.printf("LONG-GENERATION progress on: %d of %d tokens streamed at the kill; after recovery %d "
                            + "sampled, %d resumed; first result %.1f s after the kill, all by %.1f s%n",
                    on.tokensAtKill, total, on.sampledAfter, on.resumed, on.firstResultSeconds, on.allSeconds);
            System.out.printf("LONG-GENERATION progress off: %d of %d tokens streamed at the kill; after recovery %d "
                            + "sampled, %d resumed; first result %.1f s after the kill, all by %.1f s%n",
                    off.tokensAtKill, total, off.sampledAfter, off.resumed, off.firstResultSeconds, off.allSeconds);
            assertTrue(on.resumed > 0, "progress restored");
            assertEquals(0, off.resumed, "progress off: nothing resumed");
            assertTrue(on.sampledAfter < off.sampledAfter, "less decode work after recovery with progress");
            // work lost with progress: what was streamed at the kill but not resumed; bounded by what the engines
            // decode in about one checkpoint interval plus the restart, far from the traces done so far
            assertTrue(on.sampledAfter + on.resumed >= total - PROMPTS, "continuations did the rest: " + on);
        }
    }

    record Run(long tokensAtKill, long sampledAfter, long resumed, double firstResultSeconds, double allSeconds) {
    }

    Run killRun(StandaloneCluster cluster, EmbeddedKafka kafka, Path jobJar, Path model, List<PromptEvent> events,
                Map<String, InferenceResult> reference, boolean progress) throws Exception {
        KafkaJobHarness h = harness(kafka, progress ? "long-on" : "long-off");
        ScenarioRuns.sendAll(h, events);
        submit(cluster, jobJar, jobFile(h, model, progress));
        long total = (long) PROMPTS * MAX_TOKENS;
        long atKill = awaitStreamed(h, total * 4 / 10, Duration.ofMinutes(5));
        Process victim = cluster.processes().get(1); // [0] is the JobManager
        long killedAt = ScenarioRuns.now();
        victim.destroyForcibly(); // SIGKILL
        assertTrue(victim.waitFor(30, TimeUnit.SECONDS), "the TaskManager died");
        ScenarioRuns.Timed t = ScenarioRuns.read(h, PROMPTS, Duration.ofMinutes(10), 3000);
        String name = progress ? "long traces, progress on" : "long traces, progress off";
        ScenarioReport r = ScenarioReport.compare(name, "SIGKILL of 1 of 2 TaskManagers at 40% of 16 x 2,000-token "
                + "traces (real engine)", ScenarioRuns.ids(events), t.results(), reference,
                (t.firstAtOrAfter(killedAt) - killedAt) / 1e3).record();
        assertEquals(0, r.lost(), "lost");
        assertEquals(0, r.duplicated(), "duplicated");
        assertEquals(0, r.different(), "different from the reference");
        int replayed = ProgressRestoreITCase.checkDeltas(h, t.results().stream()
                .collect(Collectors.toMap(InferenceResult::getId, x -> x, (a, b) -> a)));
        Map<String, Long> m = inferenceMetrics(cluster, "r1.sampledTokens", "r1.resumedTokens");
        System.out.printf("%s: %d deltas resent by the replay, deduplicated%n", name, replayed);
        return new Run(atKill, m.get("r1.sampledTokens"), m.get("r1.resumedTokens"),
                (t.firstAtOrAfter(killedAt) - killedAt) / 1e3, (t.last() - killedAt) / 1e3);
    }

    StandaloneCluster cluster(String name) throws Exception {
        return StandaloneCluster.start(tmp.resolve("cluster-" + name), TaskManagerLossScenario.clusterClasspath(),
                TaskManagerLossScenario.jvmFlags(), 2, 4, Map.of("taskmanager.load-balance.mode", "SLOTS",
                        "heartbeat.interval", "2000", "heartbeat.timeout", "10000",
                        "metrics.fetcher.update-interval", "1000"));
    }

    static KafkaJobHarness harness(EmbeddedKafka kafka, String name) {
        KafkaJobHarness h = new KafkaJobHarness(kafka, name, 4);
        kafka.createTopics(4, h.name + ".deltas");
        return h;
    }

    static void submit(StandaloneCluster cluster, Path jar, Path jobFile) {
        assertEquals(0, Main.commandLine().execute("submit", "-m", cluster.restAddress(), "--jar", jar.toString(),
                "--job", jobFile.toString()), "submit");
    }

    Path jobFile(KafkaJobHarness h, Path model, boolean progress) throws IOException {
        Path f = tmp.resolve(h.name + ".yaml");
        Files.writeString(f, String.join("\n",
                "r1.job-name: " + h.name,
                "kafka:",
                "  bootstrap-servers: " + h.kafka.bootstrapServers(),
                "  prompts-topic: " + h.prompts,
                "  results-topic: " + h.results,
                "  dead-letter-topic: " + h.deadLetters,
                "  deltas-topic: " + h.name + ".deltas",
                "  group-id: " + h.name,
                "  transactional-id-prefix: " + h.name,
                "  starting-offsets: earliest",
                "deltas.flush-tokens: 32",
                "model.path: " + model,
                "engine.threads: 1",
                "engine.options: max-sequences:4,kv-cache-bytes:32mb",
                "generation.max-tokens: " + MAX_TOKENS,
                "generation.max-reasoning-tokens: 1200",
                "generation.checkpoint-progress: " + progress,
                "async.capacity: 8",
                "parallelism.default: 4",
                "execution.checkpointing.interval: 1 s",
                "execution.checkpointing.unaligned.enabled: true",
                "restart-strategy.type: fixed-delay",
                "restart-strategy.fixed-delay.attempts: 100",
                "restart-strategy.fixed-delay.delay: 1 s",
                ""));
        return f;
    }

    /** Waits until the deltas topic shows {@code tokens} generated in all; returns the count seen. */
    static long awaitStreamed(KafkaJobHarness h, long tokens, Duration timeout) {
        Map<String, Long> latest = new HashMap<>();
        try (KafkaConsumer<byte[], byte[]> c = KafkaClients.committedReader(h.kafka.bootstrapServers(),
                "progress-" + UUID.randomUUID(), true, h.kafka.clientProperties())) {
            c.subscribe(List.of(h.name + ".deltas"));
            long deadline = System.nanoTime() + timeout.toNanos();
            while (System.nanoTime() < deadline) {
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(100))) {
                    ReasoningDelta d;
                    try {
                        d = DeltaStream.decode(r.value());
                    } catch (IOException e) {
                        throw new IllegalStateException(e);
                    }
                    latest.merge(d.getId(), (long) d.getReasoningTokens() + d.getAnswerTokens(), Math::max);
                }
                long sum = latest.values().stream().mapToLong(Long::longValue).sum();
                if (sum >= tokens) return sum;
            }
        }
        throw new AssertionError("the deltas showed only " + latest + " tokens in " + timeout);
    }

    /** Sums of the inference operator's metrics over its subtasks, from the REST API of the running job. */
    static Map<String, Long> inferenceMetrics(StandaloneCluster cluster, String... names) throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        String base = "http://" + cluster.restAddress();
        String jobs = get(http, base + "/jobs");
        Matcher jm = Pattern.compile("\"id\":\"([0-9a-f]{32})\",\"status\":\"RUNNING\"").matcher(jobs);
        assertTrue(jm.find(), "a running job: " + jobs);
        String job = get(http, base + "/jobs/" + jm.group(1));
        Matcher vm = Pattern.compile("\\{\"id\":\"([0-9a-f]{32})\"[^{}]*?\"name\":\"([^\"]*)\"").matcher(job);
        String vertex = null;
        while (vm.find()) if (vm.group(2).contains("r1-inference")) vertex = vm.group(1);
        assertTrue(vertex != null, "the inference vertex in " + job);
        String url = base + "/jobs/" + jm.group(1) + "/vertices/" + vertex + "/subtasks/metrics";
        Map<String, Long> out = new HashMap<>();
        for (String n : names) {
            Pattern idOf = Pattern.compile("\"id\":\"([^\"]*" + Pattern.quote(n) + ")\"");
            String available = get(http, url);
            long listDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (!idOf.matcher(available).find() && System.nanoTime() < listDeadline) {
                Thread.sleep(500); // the REST metric fetcher fills the list on its first request
                available = get(http, url);
            }
            Matcher id = idOf.matcher(available);
            assertTrue(id.find(), n + " among " + available);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            Long v = null;
            while (v == null && System.nanoTime() < deadline) {
                String body = get(http, url + "?get=" + java.net.URLEncoder.encode(id.group(1), "UTF-8") + "&agg=sum");
                Matcher s = Pattern.compile("\"sum\":([0-9.Ee+]+)").matcher(body);
                if (s.find()) v = (long) Double.parseDouble(s.group(1));
                else Thread.sleep(500);
            }
            assertTrue(v != null, "metric " + n);
            out.put(n, v);
        }
        return out;
    }

    private static String get(HttpClient http, String url) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString()).body();
    }
}
