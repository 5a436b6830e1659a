package dev.r1flink.local;

import dev.r1flink.job.DeltaStream;
import dev.r1flink.job.JobOptions;
import dev.r1flink.job.PromptCodec;
import dev.r1flink.job.R1FlinkJob;
import dev.r1flink.job.avro.DeadLetter;
import dev.r1flink.job.avro.InferenceResult;
import dev.r1flink.job.avro.PromptEvent;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.CoreOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Everything in one process: Kafka's broker on 127.0.0.1, a local Flink cluster, the job reading the prompts
 * published before it started ({@code kafka.bounded}), and a reader printing each committed result as it arrives.
 * The job finishes by itself after the last prompt; its final checkpoint commits the last results.
 */
public final class LocalDemo {

    private final Configuration conf;
    private final List<PromptEvent> prompts;
    private final PrintStream out;
    private boolean stream;

    public LocalDemo(Configuration conf, List<PromptEvent> prompts, PrintStream out) {
        this.conf = conf;
        this.prompts = prompts;
        this.out = out;
    }

    /**
     * Streams the reasoning live: the job writes the deltas topic ({@code kafka.deltas-topic}, default
     * {@code r1.deltas}) and the demo prints each trace as it grows, then one line per committed result.
     */
    public LocalDemo streaming(boolean on) {
        this.stream = on;
        return this;
    }

    /** Runs the demo; returns the results in arrival order. */
    public List<InferenceResult> run(Duration timeout) throws Exception {
        long t0 = System.nanoTime();
        out.println("r1-flink demo: starting Kafka (KRaft, 127.0.0.1) ...");
        try (EmbeddedKafka kafka = EmbeddedKafka.start()) {
            Configuration c = new Configuration(conf);
            c.set(JobOptions.BOOTSTRAP_SERVERS, kafka.bootstrapServers());
            c.set(JobOptions.BOUNDED, true);
            c.set(JobOptions.STARTING_OFFSETS, JobOptions.StartingOffsets.EARLIEST);
            int partitions = Math.max(1, c.get(CoreOptions.DEFAULT_PARALLELISM));
            String promptsTopic = c.get(JobOptions.PROMPTS_TOPIC);
            String resultsTopic = c.get(JobOptions.RESULTS_TOPIC);
            String deadTopic = c.get(JobOptions.DEAD_LETTER_TOPIC);
            kafka.createTopics(partitions, promptsTopic, resultsTopic, deadTopic);
            if (stream) {
                String deltas = c.getOptional(JobOptions.DELTAS_TOPIC).orElse("r1.deltas");
                c.set(JobOptions.DELTAS_TOPIC, deltas);
                if (!c.contains(JobOptions.DELTAS_FLUSH_TOKENS)) c.set(JobOptions.DELTAS_FLUSH_TOKENS, 4);
                kafka.createTopics(partitions, deltas);
                out.printf("  streaming reasoning from %s%n", deltas);
            }
            out.printf("  broker %s, topics %s -> %s (dead letters: %s)%n", kafka.bootstrapServers(), promptsTopic,
                    resultsTopic, deadTopic);

            publish(kafka.bootstrapServers(), promptsTopic, prompts);
            out.printf("  published %d prompts; starting Flink (parallelism %d, model %s) ...%n%n", prompts.size(),
                    partitions, c.get(JobOptions.MODEL_PATH));

            StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(c);
            JobClient job = R1FlinkJob.start(env, c);
            return collect(kafka, c, job, timeout, t0);
        }
    }

    /**
     * The SQL path of the demo ({@code ./r1-flink demo --sql}): the same broker and local cluster, the prompts as
     * JSON, and {@code sqlFile} (a statement set reading them through ML_PREDICT with the r1 model) with its
     * placeholders set to the embedded broker, the topics of the job definition and a bounded source.
     * {@code vars} may set more placeholders ({@code model-path}, ...). Returns the results in arrival order.
     */
    public List<InferenceResult> runSql(java.nio.file.Path sqlFile, Map<String, String> vars, Duration timeout)
            throws Exception {
        long t0 = System.nanoTime();
        out.println("r1-flink demo (SQL): starting Kafka (KRaft, 127.0.0.1) ...");
        try (EmbeddedKafka kafka = EmbeddedKafka.start()) {
            Configuration c = new Configuration(conf);
            c.set(JobOptions.BOOTSTRAP_SERVERS, kafka.bootstrapServers());
            int partitions = Math.max(1, c.get(CoreOptions.DEFAULT_PARALLELISM));
            String promptsTopic = c.get(JobOptions.PROMPTS_TOPIC);
            String resultsTopic = c.get(JobOptions.RESULTS_TOPIC);
            String deadTopic = c.get(JobOptions.DEAD_LETTER_TOPIC);
            kafka.createTopics(partitions, promptsTopic, resultsTopic, deadTopic);
            Map<String, String> v = new java.util.HashMap<>(vars);
            v.put("bootstrap-servers", kafka.bootstrapServers());
            v.put("prompts-topic", promptsTopic);
            v.put("results-topic", resultsTopic);
            v.put("dead-letter-topic", deadTopic);
            v.put("startup-mode", "earliest-offset");
            v.put("bounded-mode", "latest-offset");
            v.putIfAbsent("parallelism", String.valueOf(partitions));
            String sql = dev.r1flink.sql.SqlScript.substitute(java.nio.file.Files.readString(sqlFile), v);
            out.printf("  broker %s, topics %s -> %s (dead letters: %s)%n", kafka.bootstrapServers(), promptsTopic,
                    resultsTopic, deadTopic);
            publishJson(kafka.bootstrapServers(), promptsTopic, prompts);
            out.printf("  published %d prompts (JSON); running %s on local Flink ...%n%n", prompts.size(), sqlFile);
            var env = StreamExecutionEnvironment.createLocalEnvironment(c);
            var tEnv = org.apache.flink.table.api.bridge.java.StreamTableEnvironment.create(env);
            var result = dev.r1flink.sql.SqlScript.execute(tEnv, dev.r1flink.sql.SqlScript.statements(sql));
            JobClient job = result.getJobClient().orElseThrow(
                    () -> new IllegalArgumentException(sqlFile + " starts no job (no INSERT or statement set)"));
            return collect(kafka, c, job, timeout, t0, SqlRows.decoder(v.getOrDefault("model-name", "r1")));
        }
    }

    /** Publishes {@code prompts} (Avro single-object, keyed by id, created now) and waits until the broker has them. */
    public static void publish(String bootstrapServers, String topic, List<PromptEvent> prompts) {
        try (KafkaProducer<byte[], byte[]> p = KafkaClients.producer(bootstrapServers, Map.of())) {
            for (PromptEvent e : prompts) {
                e.setCreatedAt(Instant.now());
                p.send(new ProducerRecord<>(topic, e.getId().getBytes(StandardCharsets.UTF_8), PromptCodec.encode(e)));
            }
            p.flush();
        }
    }

    /** Publishes {@code prompts} as JSON (what the SQL job's Kafka table reads), keyed by id. */
    public static void publishJson(String bootstrapServers, String topic, List<PromptEvent> prompts) {
        try (KafkaProducer<byte[], byte[]> p = KafkaClients.producer(bootstrapServers, Map.of())) {
            for (PromptEvent e : prompts) {
                p.send(new ProducerRecord<>(topic, e.getId().getBytes(StandardCharsets.UTF_8), SqlRows.json(e)));
            }
            p.flush();
        }
    }

    private List<InferenceResult> collect(EmbeddedKafka kafka, Configuration c, JobClient job, Duration timeout,
                                          long t0) throws Exception {
        return collect(kafka, c, job, timeout, t0, new SqlRows.Decoder() {
            @Override
            public InferenceResult result(byte[] value) throws IOException {
                return InferenceResult.getDecoder().decode(value);
            }

            @Override
            public DeadLetter deadLetter(byte[] value, String topic, int partition, long offset) throws IOException {
                return DeadLetter.getDecoder().decode(value);
            }
        });
    }

    private List<InferenceResult> collect(EmbeddedKafka kafka, Configuration c, JobClient job, Duration timeout,
                                          long t0, SqlRows.Decoder decoder) throws Exception {
        ResultPrinter printer = new ResultPrinter(out);
        DeltaPrinter deltas = stream ? new DeltaPrinter(out) : null;
        String deltasTopic = stream ? c.get(JobOptions.DELTAS_TOPIC) : null;
        List<InferenceResult> results = new java.util.ArrayList<>();
        Set<String> expected = new HashSet<>();
        for (PromptEvent e : prompts) expected.add(e.getId());
        int dead = 0;
        long tokens = 0;
        long deadline = System.nanoTime() + timeout.toNanos();
        try (KafkaConsumer<byte[], byte[]> r = KafkaClients.committedReader(kafka.bootstrapServers(), "r1-demo-reader",
                true, Map.of())) {
            List<String> topics = new java.util.ArrayList<>(List.of(c.get(JobOptions.RESULTS_TOPIC),
                    c.get(JobOptions.DEAD_LETTER_TOPIC)));
            if (stream) topics.add(deltasTopic);
            r.subscribe(topics);
            JobStatus status = JobStatus.RUNNING;
            while (results.size() + dead < prompts.size() && System.nanoTime() < deadline) {
                for (ConsumerRecord<byte[], byte[]> rec : r.poll(Duration.ofMillis(stream ? 50 : 200))) {
                    if (stream && rec.topic().equals(deltasTopic)) {
                        deltas.accept(DeltaStream.decode(rec.value()));
                        continue;
                    }
                    if (rec.topic().equals(c.get(JobOptions.DEAD_LETTER_TOPIC))) {
                        dead++;
                        printer.print(decoder.deadLetter(rec.value(), rec.topic(), rec.partition(), rec.offset()));
                        continue;
                    }
                    InferenceResult res = decoder.result(rec.value());
                    results.add(res);
                    tokens += res.getReasoningTokens() + res.getAnswerTokens();
                    if (stream) {
                        out.printf("[%d/%d] result %s committed: %s, %d tokens, %.1f tok/s%n", results.size() + dead,
                                prompts.size(), res.getId(), res.getFinishReason(),
                                res.getReasoningTokens() + res.getAnswerTokens(), ResultPrinter.tokensPerSecond(res));
                    } else {
                        printer.print(res, String.format("[%d/%d]", results.size() + dead, prompts.size()));
                        out.println();
                    }
                }
                status = job.getJobStatus().get();
                if (status.isGloballyTerminalState() && status != JobStatus.FINISHED) break;
            }
            if (results.size() + dead < prompts.size()) {
                job.cancel();
                throw new IllegalStateException("the job " + (status.isGloballyTerminalState() ? "ended " + status
                        : "did not finish in " + timeout) + " with " + (results.size() + dead) + " of " + prompts.size()
                        + " results; see the log (R1_LOG_LEVEL=INFO)");
            }
        }
        job.getJobExecutionResult().get();
        double secs = (System.nanoTime() - t0) / 1e9;
        out.printf("done: %d results, %d dead letters, %d generated tokens in %.1f s (%.1f tok/s end to end)%n",
                results.size(), dead, tokens, secs, tokens / secs);
        return results;
    }

    /** Reads a JSONL prompt file. */
    public static List<PromptEvent> prompts(java.nio.file.Path file) throws IOException {
        try (var in = java.nio.file.Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            return SamplePrompts.read(in, file.toString());
        }
    }
}
