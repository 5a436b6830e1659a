package dev.r1flink.job;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.r1flink.job.avro.PromptEvent;
import dev.r1flink.local.EmbeddedKafka;
import dev.r1flink.local.KafkaClients;
import dev.r1flink.local.LocalDemo;
import dev.r1flink.sql.SqlScript;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.CoreOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.table.api.bridge.java.StreamTableEnvironment;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Generated tokens/s of the SQL pipeline ({@code jobs/local-demo.sql}: Kafka -> ML_PREDICT with the r1 model ->
 * Kafka) vs the DataStream job, same prompts, same model, same engine settings and the same requests in flight
 * (ML_PREDICT's max-concurrent-operations = the job's async.capacity). Not a test: run it by hand, e.g.
 *
 * <pre>
 * mvn -q -o test-compile dependency:build-classpath -Dmdep.outputFile=/tmp/cp.txt
 * java --add-modules jdk.incubator.vector --add-opens java.base/java.util=ALL-UNNAMED \
 *   -cp target/classes:target/test-classes:$(cat /tmp/cp.txt) dev.r1flink.job.SqlVsJobBenchmark \
 *   jobs/local-demo.yaml jobs/local-demo.sql jobs/local-demo.prompts.jsonl 8 4 [key=value ...]
 * </pre>
 *
 * Arguments: job definition, SQL file, prompt file (JSONL), repeats of the prompt file per segment, segment pairs,
 * then job option overrides (e.g. {@code model.path=...}); the SQL file's placeholders are set from the same
 * settings. Both pipelines run unbounded (parallelism 1, each on its own MiniCluster and embedded broker in this
 * process, the weights shared through the registry) for the whole run; after an untimed warm-up of each, timed
 * segments alternate DataStream/SQL, SQL/DataStream, ... as {@link JobVsEngineBenchmark} does. Both pipelines get
 * the same prompts (each engine has its own prefix cache), tagged per pair so that neither finds them cached from
 * an earlier pair. A segment's clock runs from publishing its prompts to reading the last result with
 * {@code read_committed}; each segment also prints the process's CPU time, which on a shared machine compares the
 * two with less noise than the wall clock (same prompts, same greedy tokens: the same work).
 */
public final class SqlVsJobBenchmark {

    private static final ObjectMapper JSON = new ObjectMapper();

    public static void main(String[] args) throws Exception {
        Configuration conf = R1FlinkJob.withDefaults(JobDefinition.load(new File(args[0]),
                JobDefinition.overrides(List.of(args).subList(5, args.length))));
        conf.set(CoreOptions.DEFAULT_PARALLELISM, 1);
        conf.set(JobOptions.SLOTS_PER_TASKMANAGER, 1);
        Path sqlFile = Path.of(args[1]);
        List<PromptEvent> base = LocalDemo.prompts(Path.of(args[2]));
        int repeats = Integer.parseInt(args[3]);
        int pairs = Integer.parseInt(args[4]);
        JobSettings s = JobSettings.from(conf);
        JobVsEngineBenchmark.ThreadCpu cpu = new JobVsEngineBenchmark.ThreadCpu();
        try (JobVsEngineBenchmark.JobUnderTest job = JobVsEngineBenchmark.JobUnderTest.start(conf);
             SqlUnderTest sql = SqlUnderTest.start(sqlFile, s)) {
            List<PromptEvent> warm = JobVsEngineBenchmark.segment(base, 1, "warm-up")
                    .subList(0, Math.min(base.size(), s.asyncCapacity));
            job.run(warm);
            sql.run(warm);
            cpu.reset();
            System.out.printf("prompts per segment %d, engine threads %d, in flight %d%n", base.size() * repeats,
                    s.threadsPerEngine(), s.asyncCapacity);
            double[] ratios = new double[pairs];
            double jobSum = 0, sqlSum = 0;
            for (int i = 0; i < pairs; i++) {
                List<PromptEvent> prompts = JobVsEngineBenchmark.segment(base, repeats, "pair " + i);
                double viaJob, viaSql;
                if (i % 2 == 0) {
                    viaJob = job.run(prompts);
                    cpu.report("pair " + i + " job");
                    viaSql = sql.run(prompts);
                    cpu.report("pair " + i + " sql");
                } else {
                    viaSql = sql.run(prompts);
                    cpu.report("pair " + i + " sql");
                    viaJob = job.run(prompts);
                    cpu.report("pair " + i + " job");
                }
                ratios[i] = viaSql / viaJob;
                jobSum += viaJob;
                sqlSum += viaSql;
                System.out.printf(java.util.Locale.ROOT, "pair %d: job %.2f tok/s, sql %.2f tok/s, ratio %.3f%n",
                        i, viaJob, viaSql, ratios[i]);
            }
            double[] sorted = ratios.clone();
            java.util.Arrays.sort(sorted);
            double median = pairs % 2 == 1 ? sorted[pairs / 2] : (sorted[pairs / 2 - 1] + sorted[pairs / 2]) / 2;
            System.out.printf(java.util.Locale.ROOT, "DataStream job: %.2f tok/s (mean of segments)%nSQL:            "
                    + "%.2f tok/s%nratio (sql/job): %.3f of means, median %.3f, pairs %s%n", jobSum / pairs,
                    sqlSum / pairs, sqlSum / jobSum, median, java.util.Arrays.toString(ratios));
        }
    }

    /** The SQL file on its own MiniCluster and broker, unbounded, its results read with read_committed. */
    static final class SqlUnderTest implements AutoCloseable {
        private final EmbeddedKafka kafka;
        private final JobClient job;
        private final KafkaConsumer<byte[], byte[]> reader;
        private final String promptsTopic;

        private SqlUnderTest(EmbeddedKafka kafka, JobClient job, KafkaConsumer<byte[], byte[]> reader, String topic) {
            this.kafka = kafka;
            this.job = job;
            this.reader = reader;
            this.promptsTopic = topic;
        }

        static SqlUnderTest start(Path sqlFile, JobSettings s) throws Exception {
            EmbeddedKafka kafka = EmbeddedKafka.start();
            kafka.createTopics(1, "sql.prompts", "sql.results", "sql.dead-letters");
            Map<String, String> v = new HashMap<>();
            v.put("bootstrap-servers", kafka.bootstrapServers());
            v.put("prompts-topic", "sql.prompts");
            v.put("results-topic", "sql.results");
            v.put("dead-letter-topic", "sql.dead-letters");
            v.put("startup-mode", "earliest-offset");
            v.put("bounded-mode", "unbounded");
            v.put("parallelism", "1");
            v.put("model-path", s.modelPath);
            v.put("model-name", s.modelName);
            v.put("engine-threads", String.valueOf(s.threadsPerEngine()));
            v.put("max-sequences", s.engineOptions.getOrDefault("max-sequences", "16"));
            v.put("kv-cache-bytes", s.engineOptions.getOrDefault("kv-cache-bytes", "1gb"));
            v.put("capacity", String.valueOf(s.asyncCapacity));
            v.put("max-tokens", String.valueOf(s.maxTokens));
            v.put("max-reasoning-tokens", s.maxReasoningTokens == null ? "1000000" : s.maxReasoningTokens.toString());
            v.put("temperature", String.valueOf(s.temperature));
            List<String> statements = SqlScript.statements(SqlScript.substitute(Files.readString(sqlFile), v));
            StreamTableEnvironment tEnv = StreamTableEnvironment.create(
                    StreamExecutionEnvironment.createLocalEnvironment(R1FlinkJob.withDefaults(new Configuration())));
            JobClient job = SqlScript.execute(tEnv, statements).getJobClient().orElseThrow();
            KafkaConsumer<byte[], byte[]> reader = KafkaClients.committedReader(kafka.bootstrapServers(), "bench",
                    true, Map.of());
            reader.subscribe(List.of("sql.results"));
            reader.poll(Duration.ofMillis(500));
            while (job.getJobStatus().get() != org.apache.flink.api.common.JobStatus.RUNNING) Thread.sleep(100);
            return new SqlUnderTest(kafka, job, reader, "sql.prompts");
        }

        /** Publishes {@code prompts} (JSON), reads one result per prompt; generated tokens/s from publish to last read. */
        double run(List<PromptEvent> prompts) throws Exception {
            long t0 = System.nanoTime();
            LocalDemo.publishJson(kafka.bootstrapServers(), promptsTopic, prompts);
            long tokens = 0;
            int n = 0;
            while (n < prompts.size()) {
                for (ConsumerRecord<byte[], byte[]> r : reader.poll(Duration.ofMillis(100))) {
                    JsonNode row = JSON.readTree(r.value());
                    tokens += row.get("reasoning_tokens").asLong() + row.get("answer_tokens").asLong();
                    n++;
                }
            }
            return tokens / ((System.nanoTime() - t0) / 1e9);
        }

        @Override
        public void close() throws Exception {
            try {
                reader.close();
                job.cancel().get();
            } finally {
                kafka.close();
            }
        }
    }
}
