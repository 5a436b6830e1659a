package dev.r1flink.job;

import dev.r1flink.job.avro.DeadLetter;
import dev.r1flink.job.avro.InferenceResult;
import dev.r1flink.local.EmbeddedKafka;
import dev.r1flink.local.KafkaClients;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.CoreOptions;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Function;

/** Test topics on an embedded broker and a job configuration that uses them. */
final class KafkaJobHarness {

    final EmbeddedKafka kafka;
    final String prompts;
    final String results;
    final String deadLetters;
    final String name;

    KafkaJobHarness(EmbeddedKafka kafka, String name, int partitions) {
        this.kafka = kafka;
        this.name = name + "-" + UUID.randomUUID().toString().substring(0, 8);
        prompts = this.name + ".prompts";
        results = this.name + ".results";
        deadLetters = this.name + ".dead-letters";
        kafka.createTopics(partitions, prompts, results, deadLetters);
    }

    /** Job settings for the scripted engine: context 64 tokens, checkpoints every 500 ms, at most 2 restarts. */
    Configuration jobConfig() {
        Configuration c = new Configuration();
        c.set(JobOptions.JOB_NAME, name);
        c.set(JobOptions.BOOTSTRAP_SERVERS, kafka.bootstrapServers());
        c.set(JobOptions.PROMPTS_TOPIC, prompts);
        c.set(JobOptions.RESULTS_TOPIC, results);
        c.set(JobOptions.DEAD_LETTER_TOPIC, deadLetters);
        c.set(JobOptions.GROUP_ID, name);
        c.set(JobOptions.TRANSACTIONAL_ID_PREFIX, name);
        c.set(JobOptions.STARTING_OFFSETS, JobOptions.StartingOffsets.EARLIEST);
        c.set(JobOptions.MODEL_PATH, "/models/tiny-r1.gguf");
        c.set(JobOptions.MODEL_ALIASES, List.of("deepseek-r1-tiny"));
        c.set(JobOptions.ENGINE_FACTORY, ScriptedEngineFactory.class.getName());
        c.set(JobOptions.ENGINE_OPTIONS, Map.of("scripted.context", "64", "scripted.token-delay-ms", "1"));
        c.set(JobOptions.MAX_TOKENS, 48);
        c.set(JobOptions.MAX_TOKENS_LIMIT, 1000);
        c.set(JobOptions.ASYNC_CAPACITY, 8);
        c.set(CheckpointingOptions.CHECKPOINTING_INTERVAL, Duration.ofMillis(500));
        c.set(RestartStrategyOptions.RESTART_STRATEGY, "fixed-delay");
        c.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_ATTEMPTS, 2);
        c.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_DELAY, Duration.ofMillis(500));
        c.set(CoreOptions.DEFAULT_PARALLELISM, 2);
        return c;
    }

    void send(List<byte[]> values) {
        try (KafkaProducer<byte[], byte[]> p = KafkaClients.producer(kafka.bootstrapServers(), kafka.clientProperties())) {
            for (byte[] v : values) p.send(new ProducerRecord<>(prompts, null, v));
            p.flush();
        }
    }

    List<InferenceResult> readResults(int atLeast, Duration timeout) throws IOException {
        return read(results, atLeast, timeout, b -> {
            try {
                return InferenceResult.getDecoder().decode(b);
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        });
    }

    List<DeadLetter> readDeadLetters(int atLeast, Duration timeout) throws IOException {
        return read(deadLetters, atLeast, timeout, b -> {
            try {
                return DeadLetter.getDecoder().decode(b);
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        });
    }

    /**
     * Reads committed records until {@code atLeast} arrived or {@code timeout} passed, then keeps reading for
     * another 2 s (four checkpoint intervals), so duplicates or extra records would show up.
     */
    <T> List<T> read(String topic, int atLeast, Duration timeout, Function<byte[], T> decode) {
        List<T> out = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> c = KafkaClients.committedReader(kafka.bootstrapServers(),
                "reader-" + UUID.randomUUID(), true, kafka.clientProperties())) {
            c.subscribe(List.of(topic));
            long deadline = System.nanoTime() + timeout.toNanos();
            long settle = Long.MAX_VALUE;
            while (System.nanoTime() < Math.min(deadline, settle)) {
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) out.add(decode.apply(r.value()));
                if (out.size() >= atLeast && settle == Long.MAX_VALUE) settle = System.nanoTime() + 2_000_000_000L;
            }
        }
        return out;
    }
}
