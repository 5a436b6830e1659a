package dev.r1flink.sql;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.r1flink.job.JobOptions;
import dev.r1flink.job.R1FlinkJob;
import dev.r1flink.job.avro.InferenceResult;
import dev.r1flink.local.EmbeddedKafka;
import dev.r1flink.local.KafkaClients;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.table.api.DataTypes;
import org.apache.flink.table.api.ModelDescriptor;
import org.apache.flink.table.api.Schema;
import org.apache.flink.table.api.Table;
import org.apache.flink.table.api.TableResult;
import org.apache.flink.table.api.bridge.java.StreamTableEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.flink.types.ColumnList;
import org.apache.flink.types.Row;
import org.apache.flink.util.CloseableIterator;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * R1 as a SQL model on a MiniCluster with the embedded broker, running the shipped {@code jobs/local-demo.sql}
 * (the bundled tiny-r1-arith model, greedy): one committed result per prompt, rejected rows in the dead-letter
 * table, results equal to the DataStream job's for the same events; the Table API path; planning errors.
 */
class SqlModelITCase {

    @RegisterExtension
    static final MiniClusterExtension FLINK = new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
            .setNumberTaskManagers(1).setNumberSlotsPerTaskManager(2).build());

    private static final ObjectMapper JSON = new ObjectMapper();
    private static EmbeddedKafka kafka;

    @BeforeAll
    static void broker() throws Exception {
        kafka = EmbeddedKafka.start();
    }

    @AfterAll
    static void stopBroker() {
        if (kafka != null) kafka.close();
    }

    static StreamTableEnvironment tableEnv() {
        return StreamTableEnvironment.create(StreamExecutionEnvironment.getExecutionEnvironment());
    }

    @Test
    void kafkaToMlPredictToKafkaMatchesTheDataStreamJob() throws Exception {
        String name = "sql-" + UUID.randomUUID().toString().substring(0, 8);
        String prompts = name + ".prompts", results = name + ".results", dead = name + ".dead-letters";
        kafka.createTopics(2, prompts, results, dead, name + ".ds-results", name + ".ds-dead-letters");
        List<String> good = new ArrayList<>();
        List<String> values = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            good.add("q" + i);
            values.add("{\"id\": \"q" + i + "\", \"prompt\": \"What is " + (17 + i * 31) + " + " + (8 + i * 13) + "?\"}");
        }
        good.add("sampled");
        values.add("{\"id\": \"sampled\", \"prompt\": \"What is 640 - 1?\", \"system\": \"Think step by step.\", "
                + "\"params\": {\"temperature\": 0.6, \"topP\": 0.9, \"seed\": 7, \"maxTokens\": 100}}");
        values.add("{\"id\": \"blank\", \"prompt\": \"   \"}");
        values.add("{\"id\": \"huge\", \"prompt\": \"" + "What is 1 + 1? ".repeat(400) + "\"}");
        values.add("{\"id\": \"greedy\", \"prompt\": \"What is 2 + 2?\", \"params\": {\"maxTokens\": 100000}}");
        send(prompts, values);

        Map<String, String> vars = new HashMap<>();
        vars.put("bootstrap-servers", kafka.bootstrapServers());
        vars.put("prompts-topic", prompts);
        vars.put("results-topic", results);
        vars.put("dead-letter-topic", dead);
        vars.put("group-id", name);
        vars.put("transactional-id-prefix", name);
        vars.put("startup-mode", "earliest-offset");
        vars.put("bounded-mode", "latest-offset");
        vars.put("parallelism", "2");
        vars.put("engine-threads", "1");
        List<String> statements = SqlScript.statements(SqlScript.substitute(
                Files.readString(Path.of("jobs/local-demo.sql")), vars));
        StreamTableEnvironment tEnv = tableEnv();
        SqlScript.execute(tEnv, statements.subList(0, statements.size() - 1));
        String plan = SqlScript.explain(tEnv, statements.get(statements.size() - 1));
        String execPlan = plan.substring(plan.indexOf("== Optimized Execution Plan =="));
        assertEquals(1, count(execPlan, "MLPredictTableFunction"), "both sinks read one ML_PREDICT:\n" + execPlan);

        TableResult job = tEnv.executeSql(statements.get(statements.size() - 1));
        job.await(300, TimeUnit.SECONDS);

        List<JsonNode> rows = read(results, 11, Duration.ofSeconds(30));
        assertEquals(good.stream().sorted().toList(), rows.stream().map(r -> r.get("id").asText()).sorted().toList(),
                "exactly one committed result per served prompt");
        for (JsonNode r : rows) {
            if (r.get("id").asText().equals("sampled")) continue; // sampled, with a system prompt: compared below
            assertTrue(List.of("STOP", "LENGTH", "BUDGET").contains(r.get("finish_reason").asText()), r.toString());
            assertFalse(r.get("reasoning").asText().isBlank(), r.toString());
            assertFalse(r.get("answer").asText().isBlank(), r.toString());
            assertTrue(r.get("prompt_tokens").asInt() > 0 && r.get("reasoning_tokens").asInt() > 0
                    && r.get("answer_tokens").asInt() > 0, r.toString());
        }
        Map<String, String> deadById = read(dead, 3, Duration.ofSeconds(10)).stream().collect(
                Collectors.toMap(r -> r.get("id").asText(), r -> r.get("error").asText()));
        assertEquals(3, deadById.size(), deadById.toString());
        assertTrue(deadById.get("blank").startsWith("EMPTY_PROMPT: "), deadById.toString());
        assertTrue(deadById.get("huge").startsWith("PROMPT_TOO_LONG: "), deadById.toString());
        assertTrue(deadById.get("greedy").startsWith("INVALID_PARAMETERS: ")
                && deadById.get("greedy").contains("100000"), deadById.toString());

        // The DataStream job over the same events, with the same settings: the same results.
        Configuration c = new Configuration();
        c.set(JobOptions.JOB_NAME, name + "-ds");
        c.set(JobOptions.BOOTSTRAP_SERVERS, kafka.bootstrapServers());
        c.set(JobOptions.PROMPTS_TOPIC, prompts);
        c.set(JobOptions.RESULTS_TOPIC, name + ".ds-results");
        c.set(JobOptions.DEAD_LETTER_TOPIC, name + ".ds-dead-letters");
        c.set(JobOptions.GROUP_ID, name + "-ds");
        c.set(JobOptions.TRANSACTIONAL_ID_PREFIX, name + "-ds");
        c.set(JobOptions.STARTING_OFFSETS, JobOptions.StartingOffsets.EARLIEST);
        c.set(JobOptions.BOUNDED, true);
        c.set(JobOptions.INPUT_FORMAT, dev.r1flink.job.InputFormat.JSON);
        c.setString("model.path", "bundled:tiny-r1-arith");
        c.setString("engine.max-sequences", "8");
        c.setString("engine.kv-cache-bytes", "256mb");
        c.setString("engine.threads", "1");
        c.setString("generation.max-tokens", "224");
        c.setString("generation.max-reasoning-tokens", "192");
        c.setString("generation.temperature", "0");
        c.setString("parallelism.default", "2");
        JobClient ds = R1FlinkJob.start(StreamExecutionEnvironment.getExecutionEnvironment(R1FlinkJob.withDefaults(c)),
                R1FlinkJob.withDefaults(c));
        ds.getJobExecutionResult().get(300, TimeUnit.SECONDS);
        Map<String, InferenceResult> dsById = readRecords(name + ".ds-results", 11, Duration.ofSeconds(30), b -> {
            try {
                return InferenceResult.getDecoder().decode(b);
            } catch (java.io.IOException e) {
                throw new IllegalStateException(e);
            }
        }).stream().collect(Collectors.toMap(InferenceResult::getId, r -> r));
        assertEquals(11, dsById.size());
        assertEquals(7L, dsById.get("sampled").getSeed(), "the event's own seed");
        for (JsonNode r : rows) {
            InferenceResult d = dsById.get(r.get("id").asText());
            assertEquals(d.getReasoning(), r.get("reasoning").asText(), d.getId());
            assertEquals(d.getAnswer(), r.get("answer").asText(), d.getId());
            assertEquals(d.getFinishReason().name(), r.get("finish_reason").asText(), d.getId());
            assertEquals(d.getPromptTokens(), r.get("prompt_tokens").asInt(), d.getId());
            assertEquals(d.getReasoningTokens(), r.get("reasoning_tokens").asInt(), d.getId());
            assertEquals(d.getAnswerTokens(), r.get("answer_tokens").asInt(), d.getId());
            assertEquals(d.getSeed(), r.get("seed").asLong(), d.getId());
        }
    }

    @Test
    void tableApiPathAndTheDeadline() throws Exception {
        StreamTableEnvironment tEnv = tableEnv();
        ModelDescriptor.Builder model = ModelDescriptor.forProvider("r1")
                .inputSchema(Schema.newBuilder().column("prompt", DataTypes.STRING()).build())
                .outputSchema(Schema.newBuilder().column("answer", DataTypes.STRING())
                        .column("finish_reason", DataTypes.STRING()).column("error", DataTypes.STRING())
                        .column("seed", DataTypes.BIGINT()).build())
                .option(JobOptions.MODEL_PATH, "bundled:tiny-r1-arith")
                .option(JobOptions.TEMPERATURE, 0f)
                .option(JobOptions.MAX_TOKENS, 200)
                .option(JobOptions.ENGINE_THREADS, 1);
        tEnv.createTemporaryModel("arith", model.build());
        Table in = tEnv.fromValues(DataTypes.ROW(DataTypes.FIELD("prompt", DataTypes.STRING())),
                Row.of("What is 347 + 85?"), Row.of("Multiply 99 by 5."), Row.of(""));
        List<Row> out = collect(tEnv.fromModel("arith").predict(in, ColumnList.of("prompt")));
        Map<String, Row> byPrompt = out.stream().collect(Collectors.toMap(r -> (String) r.getField("prompt"), r -> r));
        assertEquals(3, byPrompt.size(), out.toString());
        assertTrue(((String) byPrompt.get("What is 347 + 85?").getField("answer")).contains("432"), out.toString());
        assertTrue(((String) byPrompt.get("Multiply 99 by 5.").getField("answer")).contains("495"), out.toString());
        assertEquals("REJECTED", byPrompt.get("").getField("finish_reason"));
        assertEquals(dev.r1flink.job.Seeds.ofEventId(RowBinding.textId(null, "Multiply 99 by 5.")),
                byPrompt.get("Multiply 99 by 5.").getField("seed"), "without an id column the seed hashes the text");

        tEnv.createTemporaryModel("hurried", model.option(R1ModelProviderFactory.DEADLINE, Duration.ofMillis(1))
                .option(JobOptions.ENGINE_MAX_WAIT, Duration.ofMillis(50)).build());
        List<Row> late = collect(tEnv.fromModel("hurried").predict(in.limit(2), ColumnList.of("prompt")));
        assertEquals(2, late.size());
        for (Row r : late) {
            assertEquals("TIMEOUT", r.getField("finish_reason"), r.toString());
            assertTrue(((String) r.getField("error")).contains("deadline"), r.toString());
        }
    }

    @Test
    void planningErrorsNameWhatIsWrong() {
        StreamTableEnvironment tEnv = tableEnv();
        tEnv.executeSql("CREATE TEMPORARY VIEW qs AS SELECT * FROM (VALUES ('What is 1 + 1?', 7)) AS t(q, n)");
        assertPlanningError(tEnv, "INPUT (prompt STRING) OUTPUT (answer STRING)", "'temprature' = '0'", "q",
                "temprature");
        assertPlanningError(tEnv, "INPUT (prompt STRING) OUTPUT (answr STRING)", null, "q",
                "unknown OUTPUT column answr; r1 offers reasoning STRING, answer STRING, finish_reason STRING");
        assertPlanningError(tEnv, "INPUT (prompt STRING) OUTPUT (answer INT)", null, "q",
                "OUTPUT column answer must be STRING, got INT");
        assertPlanningError(tEnv, "INPUT (prompt INT) OUTPUT (answer STRING)", null, "n",
                "the first INPUT column must be the prompt, a STRING");
        assertPlanningError(tEnv, "INPUT (prompt STRING, colour STRING) OUTPUT (answer STRING)", null, "q, q",
                "unknown INPUT column colour; after the prompt, r1 takes id STRING");
        assertPlanningError(tEnv, "INPUT (prompt STRING) OUTPUT (answer STRING)", "'engine.max-sequences' = '0'",
                "q", "engine.max-sequences must be in [1, 4096], got 0");
        assertPlanningError(tEnv, "INPUT (prompt STRING) OUTPUT (answer STRING)",
                "'engine.prefix-caching' = 'yes'", "q", "Could not parse value 'yes' for key 'engine.prefix-caching'");
        assertPlanningError(tEnv, "INPUT (prompt STRING) OUTPUT (answer STRING)", "'top-p' = '2'", "q",
                "generation.top-p must be in (0, 1], got 2.0");
        assertPlanningError(tEnv, "INPUT (prompt STRING) OUTPUT (answer STRING)", "'deadline' = '20 min'", "q",
                "deadline must be in (0, PT10M)");
        // The model takes a STRING prompt; Flink's own check refuses an INT column for it.
        assertPlanningError(tEnv, "INPUT (prompt STRING) OUTPUT (answer STRING)", null, "n", "");
    }

    private static void assertPlanningError(StreamTableEnvironment tEnv, String schema, String option, String columns,
                                            String expected) {
        String m = "m" + UUID.randomUUID().toString().replace("-", "").substring(0, 8);
        tEnv.executeSql("CREATE TEMPORARY MODEL " + m + " " + schema + " WITH ('provider' = 'r1', "
                + "'model.path' = 'bundled:tiny-r1-arith'" + (option == null ? "" : ", " + option) + ")");
        Exception e = assertThrows(Exception.class, () -> tEnv.explainSql("SELECT * FROM ML_PREDICT(TABLE qs, MODEL "
                + m + ", DESCRIPTOR(" + columns + "), MAP['timeout', '10 min'])"));
        StringBuilder all = new StringBuilder();
        for (Throwable t = e; t != null; t = t.getCause()) all.append(t.getMessage()).append('\n');
        assertTrue(all.toString().contains(expected), "expected \"" + expected + "\" in:\n" + all);
    }

    private static List<Row> collect(Table t) throws Exception {
        List<Row> rows = new ArrayList<>();
        try (CloseableIterator<Row> it = t.execute().collect()) {
            it.forEachRemaining(rows::add);
        }
        return rows;
    }

    private static int count(String s, String what) {
        int n = 0;
        for (int i = s.indexOf(what); i >= 0; i = s.indexOf(what, i + 1)) n++;
        return n;
    }

    private static void send(String topic, List<String> values) {
        try (KafkaProducer<byte[], byte[]> p = KafkaClients.producer(kafka.bootstrapServers(), Map.of())) {
            for (String v : values) p.send(new ProducerRecord<>(topic, null, v.getBytes(StandardCharsets.UTF_8)));
            p.flush();
        }
    }

    private static List<JsonNode> read(String topic, int atLeast, Duration timeout) {
        return readRecords(topic, atLeast, timeout, b -> {
            try {
                return JSON.readTree(b);
            } catch (java.io.IOException e) {
                throw new IllegalStateException(e);
            }
        });
    }

    /** Committed records until {@code atLeast} arrived, then 2 s more so duplicates would show. */
    private static <T> List<T> readRecords(String topic, int atLeast, Duration timeout, Function<byte[], T> decode) {
        List<T> out = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> c = KafkaClients.committedReader(kafka.bootstrapServers(),
                "reader-" + UUID.randomUUID(), true, Map.of())) {
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
