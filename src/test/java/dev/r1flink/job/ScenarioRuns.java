package dev.r1flink.job;

import dev.r1flink.job.avro.InferenceResult;
import dev.r1flink.job.avro.PromptEvent;
import dev.r1flink.local.KafkaClients;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;

import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.stream.Collectors;

/** Shared steps of the reliability scenarios: prompts, the job's settings, reference runs, timed reading. */
final class ScenarioRuns {

    private ScenarioRuns() {
    }

    /** {@code n} distinct prompts of varied length; ids {@code prefix + i}. */
    static List<PromptEvent> events(String prefix, int n) {
        List<PromptEvent> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(R1JobITCase.event(prefix + i, "reliability prompt " + i + " asks about " + "topic ".repeat(i % 9)
                    + "number " + (i * 7919 % 1000)));
        }
        return out;
    }

    static Set<String> ids(List<PromptEvent> events) {
        return events.stream().map(PromptEvent::getId).collect(Collectors.toCollection(LinkedHashSet::new));
    }

    static List<byte[]> encode(List<PromptEvent> events) {
        return events.stream().map(PromptCodec::encode).toList();
    }

    /**
     * Writes the prompts in one producer transaction and checks the topic then holds exactly them, so a prompt
     * missing from the results is the job's loss, not the test's. (A plain idempotent producer under a loaded
     * broker can fail batches with OutOfOrderSequenceException; the harness's fire-and-forget send would then
     * drop prompts silently.)
     */
    static void sendAll(KafkaJobHarness h, List<PromptEvent> events) throws Exception {
        for (int attempt = 1; ; attempt++) {
            long before = endOffsets(h);
            try (KafkaProducer<byte[], byte[]> p = KafkaClients.producer(h.kafka.bootstrapServers(), Map.of(
                    "transactional.id", h.name + "-prompts-" + attempt, "linger.ms", "20"))) {
                p.initTransactions();
                p.beginTransaction();
                try {
                    for (PromptEvent e : events) p.send(new ProducerRecord<>(h.prompts, e.getId().getBytes(), PromptCodec.encode(e)));
                    p.commitTransaction();
                    return;
                } catch (Exception e) {
                    if (attempt >= 3) throw e;
                    System.out.println("prompt transaction failed (" + e + "), retrying; end offsets were " + before);
                }
            }
        }
    }

    /** Sum of the prompt topic's end offsets (transaction markers included). */
    static long endOffsets(KafkaJobHarness h) throws Exception {
        try (var admin = h.kafka.admin()) {
            var parts = admin.describeTopics(List.of(h.prompts)).allTopicNames().get().get(h.prompts).partitions();
            Map<org.apache.kafka.common.TopicPartition, org.apache.kafka.clients.admin.OffsetSpec> q = new java.util.HashMap<>();
            for (var pi : parts) q.put(new org.apache.kafka.common.TopicPartition(h.prompts, pi.partition()),
                    org.apache.kafka.clients.admin.OffsetSpec.latest());
            return admin.listOffsets(q).all().get().values().stream().mapToLong(r -> r.offset()).sum();
        }
    }

    /**
     * The scripted engine at {@code tokenDelayMs} per token (one word per token, up to 48), checkpoints every
     * 500 ms, and a restart strategy patient enough to outlast the fault.
     */
    static Configuration config(KafkaJobHarness h, int tokenDelayMs) {
        Configuration c = R1FlinkJob.withDefaults(h.jobConfig()); // as the CLI runs it: unaligned checkpoints
        c.set(JobOptions.ENGINE_OPTIONS, Map.of("scripted.context", "64", "scripted.token-delay-ms", String.valueOf(tokenDelayMs)));
        c.set(RestartStrategyOptions.RESTART_STRATEGY, "fixed-delay");
        c.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_ATTEMPTS, 1000);
        c.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_DELAY, Duration.ofSeconds(1));
        return c;
    }

    static JobClient start(Configuration conf) throws Exception {
        return R1FlinkJob.start(StreamExecutionEnvironment.getExecutionEnvironment(conf), conf);
    }

    /** An undisturbed run of {@code events} on fresh topics: result by id. */
    static Map<String, InferenceResult> reference(KafkaJobHarness h, List<PromptEvent> events, Consumer<Configuration> tweak)
            throws Exception {
        sendAll(h, events);
        Configuration conf = config(h, 0);
        tweak.accept(conf);
        JobClient job = start(conf);
        try {
            Timed t = read(h, events.size(), Duration.ofMinutes(5), 1000);
            Map<String, InferenceResult> byId = t.results.stream()
                    .collect(Collectors.toMap(InferenceResult::getId, r -> r, (a, b) -> a));
            if (byId.size() != events.size()) throw new AssertionError("reference run gave " + byId.size() + " results");
            return byId;
        } finally {
            job.cancel().get(30, TimeUnit.SECONDS);
        }
    }

    /** Results read committed, with the wall-clock time (ms) each arrived. */
    record Timed(List<InferenceResult> results, List<Long> arrivedMillis) {
        /** Milliseconds of the first arrival at or after {@code t}; -1 if none. */
        long firstAtOrAfter(long t) {
            for (long a : arrivedMillis) if (a >= t) return a;
            return -1;
        }

        long last() {
            return arrivedMillis.isEmpty() ? -1 : arrivedMillis.get(arrivedMillis.size() - 1);
        }
    }

    /** Reads until {@code atLeast} results (or timeout), then {@code settleMs} more so duplicates would show. */
    static Timed read(KafkaJobHarness h, int atLeast, Duration timeout, long settleMs) throws IOException {
        return read(h, atLeast, timeout, settleMs, new AtomicInteger());
    }

    /** As above; {@code progress} counts the results read so far, for a test that waits for mid-run. */
    static Timed read(KafkaJobHarness h, int atLeast, Duration timeout, long settleMs, AtomicInteger progress)
            throws IOException {
        List<InferenceResult> out = new ArrayList<>();
        List<Long> at = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> c = KafkaClients.committedReader(h.kafka.bootstrapServers(),
                "reader-" + UUID.randomUUID(), true, h.kafka.clientProperties())) {
            c.subscribe(List.of(h.results));
            long deadline = System.nanoTime() + timeout.toNanos();
            long settle = Long.MAX_VALUE;
            while (System.nanoTime() < Math.min(deadline, settle)) {
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(100))) {
                    out.add(InferenceResult.getDecoder().decode(r.value()));
                    at.add(System.currentTimeMillis());
                    progress.incrementAndGet();
                }
                if (out.size() >= atLeast && settle == Long.MAX_VALUE) settle = System.nanoTime() + settleMs * 1_000_000L;
            }
        }
        return new Timed(out, at);
    }

    /** Starts reading in the background; returns once {@code progress} can be watched. */
    static CompletableFuture<Timed> readAsync(KafkaJobHarness h, int n, AtomicInteger progress) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return read(h, n, Duration.ofMinutes(8), 3000, progress);
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        });
    }

    /** Waits until {@code progress} reaches {@code target} (the fault should land mid-run). */
    static void awaitProgress(AtomicInteger progress, int target, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (progress.get() < target) {
            if (System.nanoTime() > deadline) throw new AssertionError("only " + progress.get() + " results in " + timeout);
            Thread.sleep(20);
        }
    }

    static long now() {
        return Instant.now().toEpochMilli();
    }
}
