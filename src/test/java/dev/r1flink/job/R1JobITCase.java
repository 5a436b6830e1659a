package dev.r1flink.job;

import dev.r1flink.engine.GenerationRequest;
import dev.r1flink.job.avro.DeadLetter;
import dev.r1flink.job.avro.DeadLetterKind;
import dev.r1flink.job.avro.GenerationParams;
import dev.r1flink.job.avro.InferenceResult;
import dev.r1flink.job.avro.PromptEvent;
import dev.r1flink.job.avro.ResultFinishReason;
import dev.r1flink.local.EmbeddedKafka;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The whole job on a MiniCluster (one TaskManager, 4 slots) against Kafka's real broker, with the scripted test
 * engine in place of R1.
 */
class R1JobITCase {

    @RegisterExtension
    static final MiniClusterExtension FLINK = new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
            .setNumberTaskManagers(1).setNumberSlotsPerTaskManager(4).build());

    static EmbeddedKafka kafka;

    @BeforeAll
    static void startKafka() throws Exception {
        kafka = EmbeddedKafka.start();
    }

    @AfterAll
    static void stopKafka() {
        if (kafka != null) kafka.close();
    }

    static PromptEvent event(String id, String prompt) {
        return PromptEvent.newBuilder().setId(id).setPrompt(prompt).setSystem(null).setModel(null).setParams(null)
                .setMetadata(Map.of("n", id)).setCreatedAt(Instant.ofEpochMilli(1_700_000_000_000L)).build();
    }

    static JobClient start(Configuration conf) throws Exception {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        return R1FlinkJob.start(env, conf);
    }

    static void stop(JobClient job) throws Exception {
        job.cancel().get(30, TimeUnit.SECONDS);
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (!job.getJobStatus().get().isGloballyTerminalState() && System.nanoTime() < deadline) Thread.sleep(50);
    }

    @Test
    void twoHundredPromptsGiveExactlyTwoHundredCommittedResults() throws Exception {
        KafkaJobHarness h = new KafkaJobHarness(kafka, "exactly-once", 2);
        List<byte[]> values = new ArrayList<>();
        for (int i = 0; i < 200; i++) values.add(PromptCodec.encode(event("q" + i, "what is " + i + " plus " + i + " ?")));
        h.send(values);
        Configuration conf = h.jobConfig();
        JobClient job = start(conf);
        try {
            List<InferenceResult> results = h.readResults(200, Duration.ofSeconds(120));
            assertEquals(200, results.size(), "exactly one committed result per prompt");
            Set<String> ids = results.stream().map(InferenceResult::getId).collect(Collectors.toSet());
            assertEquals(200, ids.size());
            JobSettings s = JobSettings.from(conf);
            Set<Integer> subtasks = new HashSet<>();
            for (InferenceResult r : results) {
                int i = Integer.parseInt(r.getId().substring(1));
                GenerationRequest req = Requests.toRequest(event(r.getId(), "what is " + i + " plus " + i + " ?"), s);
                assertEquals(ResultFinishReason.STOP, r.getFinishReason(), r.getId());
                assertEquals(Seeds.ofEventId(r.getId()), r.getSeed(), "seed defaults to a hash of the id");
                assertEquals(ScriptedReasoningEngine.reasoningFor(req), r.getReasoning());
                assertEquals(ScriptedReasoningEngine.answerFor(req), r.getAnswer());
                assertEquals(ScriptedReasoningEngine.countTokens(req), r.getPromptTokens());
                assertEquals(ScriptedReasoningEngine.words(r.getReasoning()).size(), r.getReasoningTokens());
                assertEquals(ScriptedReasoningEngine.words(r.getAnswer()).size(), r.getAnswerTokens());
                assertEquals("tiny-r1", r.getModel());
                assertEquals(Map.of("n", r.getId()), r.getMetadata());
                assertFalse(r.getTaskManager().isEmpty());
                assertTrue(r.getTotalMicros() >= r.getTimeToFirstTokenMicros());
                subtasks.add(r.getSubtask());
            }
            assertEquals(Set.of(0, 1), subtasks, "both inference subtasks served prompts");
            assertTrue(h.readDeadLetters(0, Duration.ofMillis(500)).isEmpty());
        } finally {
            stop(job);
        }
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (ScriptedEngineFactory.LOADED.get() != 0 && System.nanoTime() < deadline) Thread.sleep(50);
        assertEquals(0, ScriptedEngineFactory.LOADED.get(), "the registry unloads the model after the last slot closes");
    }

    @Test
    void aCrashMidwayStillGivesEachResultExactlyOnce() throws Exception {
        KafkaJobHarness h = new KafkaJobHarness(kafka, "recovery", 2);
        List<byte[]> values = new ArrayList<>();
        for (int i = 0; i < 120; i++) {
            values.add(PromptCodec.encode(event("c" + i, i == 90 ? "crash here [crash-once]" : "prompt number " + i)));
        }
        ScriptedReasoningEngine.CRASHED.set(false);
        Configuration conf = h.jobConfig();
        // slow enough that checkpoints commit some results before the crash
        conf.set(JobOptions.ENGINE_OPTIONS, Map.of("scripted.context", "64", "scripted.token-delay-ms", "3"));
        JobClient job = start(conf);
        h.send(values);
        try {
            List<InferenceResult> results = h.readResults(120, Duration.ofSeconds(120));
            assertTrue(ScriptedReasoningEngine.CRASHED.get(), "the crash happened");
            assertEquals(120, results.size(), "each result exactly once across the restart");
            assertEquals(120, results.stream().map(InferenceResult::getId).distinct().count());
        } finally {
            stop(job);
        }
    }

    @Test
    void everyKindOfBadInputIsDeadLetteredAndTheJobKeepsServing() throws Exception {
        KafkaJobHarness h = new KafkaJobHarness(kafka, "dead-letters", 1);
        Map<DeadLetterKind, byte[]> bad = new EnumMap<>(DeadLetterKind.class);
        bad.put(DeadLetterKind.UNDECODABLE, "hello, not avro".getBytes(StandardCharsets.UTF_8));
        InferenceResult notAPrompt = InferenceResult.newBuilder().setId("r").setModel("m").setReasoning("").setAnswer("")
                .setFinishReason(ResultFinishReason.STOP).setPromptTokens(0).setReasoningTokens(0).setAnswerTokens(0)
                .setQueuedMicros(0).setTimeToFirstTokenMicros(0).setTotalMicros(0).setSeed(0).setTaskManager("")
                .setSubtask(0).setMetadata(Map.of()).build();
        bad.put(DeadLetterKind.WRONG_SCHEMA, notAPrompt.toByteBuffer().array());
        bad.put(DeadLetterKind.EMPTY_PROMPT, PromptCodec.encode(event("empty", "   ")));
        bad.put(DeadLetterKind.INVALID_UTF8, invalidUtf8Prompt("bad-utf8"));
        bad.put(DeadLetterKind.PROMPT_TOO_LONG, PromptCodec.encode(event("long", "word ".repeat(100))));
        PromptEvent unknownModel = event("unknown-model", "hi there");
        unknownModel.setModel("gpt-5");
        bad.put(DeadLetterKind.UNKNOWN_MODEL, PromptCodec.encode(unknownModel));
        PromptEvent badParams = event("bad-params", "hi there");
        badParams.setParams(GenerationParams.newBuilder().setTemperature(-1f).setMaxTokens(null)
                .setMaxReasoningTokens(null).setTopP(null).setSeed(null).build());
        bad.put(DeadLetterKind.INVALID_PARAMETERS, PromptCodec.encode(badParams));

        List<byte[]> values = new ArrayList<>();
        values.add(PromptCodec.encode(event("before", "first good prompt")));
        values.addAll(bad.values());
        PromptEvent alias = event("alias", "asked by alias");
        alias.setModel("deepseek-r1-tiny");
        values.add(PromptCodec.encode(alias));
        PromptEvent budget = event("budget", "think less");
        budget.setParams(GenerationParams.newBuilder().setMaxReasoningTokens(3).setMaxTokens(null)
                .setTemperature(null).setTopP(null).setSeed(42L).build());
        values.add(PromptCodec.encode(budget));
        values.add(PromptCodec.encode(event("after", "last good prompt")));
        h.send(values);

        JobClient job = start(h.jobConfig());
        try {
            List<DeadLetter> dead = h.readDeadLetters(bad.size(), Duration.ofSeconds(60));
            assertEquals(bad.size(), dead.size());
            Map<DeadLetterKind, DeadLetter> byKind = new HashMap<>();
            for (DeadLetter d : dead) byKind.put(d.getKind(), d);
            assertEquals(bad.keySet(), byKind.keySet());
            for (var e : bad.entrySet()) {
                DeadLetter d = byKind.get(e.getKey());
                assertTrue(Arrays.equals(e.getValue(), bytes(d.getRaw())), "raw bytes kept for " + e.getKey());
                assertEquals(h.prompts, d.getTopic());
                assertFalse(d.getReason().isBlank());
            }
            assertTrue(byKind.get(DeadLetterKind.UNKNOWN_MODEL).getReason().contains("gpt-5"));
            assertTrue(byKind.get(DeadLetterKind.INVALID_PARAMETERS).getReason().contains("temperature"));
            assertTrue(byKind.get(DeadLetterKind.PROMPT_TOO_LONG).getReason().contains("104 tokens"));
            assertEquals("unknown-model", byKind.get(DeadLetterKind.UNKNOWN_MODEL).getEventId());

            List<InferenceResult> results = h.readResults(4, Duration.ofSeconds(60));
            Map<String, InferenceResult> byId = results.stream()
                    .collect(Collectors.toMap(InferenceResult::getId, r -> r));
            assertEquals(Set.of("before", "alias", "budget", "after"), byId.keySet());
            assertEquals(ResultFinishReason.STOP, byId.get("after").getFinishReason());
            InferenceResult b = byId.get("budget");
            assertEquals(ResultFinishReason.BUDGET, b.getFinishReason());
            assertEquals(3, b.getReasoningTokens());
            assertEquals(42L, b.getSeed());
            assertEquals("The user asks:", b.getReasoning());
        } finally {
            stop(job);
        }
    }

    @Test
    void aStalledRequestTimesOutAndTheOthersComplete() throws Exception {
        KafkaJobHarness h = new KafkaJobHarness(kafka, "timeout", 1);
        h.send(List.of(PromptCodec.encode(event("stuck", "this one [stall] forever")),
                PromptCodec.encode(event("fine", "this one is quick"))));
        Configuration conf = h.jobConfig();
        conf.set(JobOptions.ASYNC_TIMEOUT, Duration.ofSeconds(2));
        JobClient job = start(conf);
        try {
            List<InferenceResult> results = h.readResults(2, Duration.ofSeconds(60));
            Map<String, InferenceResult> byId = results.stream()
                    .collect(Collectors.toMap(InferenceResult::getId, r -> r));
            assertEquals(Set.of("stuck", "fine"), byId.keySet());
            InferenceResult stuck = byId.get("stuck");
            assertEquals(ResultFinishReason.TIMEOUT, stuck.getFinishReason());
            assertNotNull(stuck.getError());
            assertTrue(stuck.getTotalMicros() >= 2_000_000, "timed out after the 2 s timeout: " + stuck.getTotalMicros());
            assertEquals(ResultFinishReason.STOP, byId.get("fine").getFinishReason());
            assertEquals(org.apache.flink.api.common.JobStatus.RUNNING, job.getJobStatus().get());
        } finally {
            stop(job);
        }
    }

    @Test
    void jsonInputIsAcceptedWhenConfigured() throws Exception {
        KafkaJobHarness h = new KafkaJobHarness(kafka, "json", 1);
        List<byte[]> values = new ArrayList<>();
        values.add(utf8("{\"id\": \"j1\", \"prompt\": \"what is json ?\", \"metadata\": {\"user\": \"ann\"}}"));
        values.add(utf8("{\"id\": \"j2\", \"prompt\": \"seeded\", \"params\": {\"seed\": 7, \"maxTokens\": 12}}"));
        values.add(utf8("{\"id\": \"j3\", \"prompt\": \"no \", \"max_tokens\": 5}"));
        values.add(utf8("{\"id\": \"j4\""));
        byte[] latin1 = "{\"id\": \"j5\", \"prompt\": \"caf\u00e9\"}".getBytes(StandardCharsets.ISO_8859_1);
        values.add(latin1);
        values.add(PromptCodec.encode(event("avro-in-json-job", "hello")));
        h.send(values);
        Configuration conf = h.jobConfig();
        conf.set(JobOptions.INPUT_FORMAT, InputFormat.JSON);
        JobClient job = start(conf);
        try {
            List<InferenceResult> results = h.readResults(2, Duration.ofSeconds(60));
            Map<String, InferenceResult> byId = results.stream()
                    .collect(Collectors.toMap(InferenceResult::getId, r -> r));
            assertEquals(Set.of("j1", "j2"), byId.keySet());
            assertEquals(Map.of("user", "ann"), byId.get("j1").getMetadata());
            assertEquals(7L, byId.get("j2").getSeed());
            assertEquals(ResultFinishReason.LENGTH, byId.get("j2").getFinishReason(), "maxTokens 12 cuts it short");
            assertEquals(12, byId.get("j2").getReasoningTokens() + byId.get("j2").getAnswerTokens());

            List<DeadLetter> dead = h.readDeadLetters(4, Duration.ofSeconds(30));
            Map<String, DeadLetterKind> kinds = new HashMap<>();
            for (DeadLetter d : dead) kinds.put(new String(bytes(d.getRaw()), StandardCharsets.ISO_8859_1), d.getKind());
            assertEquals(4, dead.size());
            assertEquals(DeadLetterKind.WRONG_SCHEMA, kinds.get(new String(values.get(2), StandardCharsets.ISO_8859_1)));
            assertEquals(DeadLetterKind.UNDECODABLE, kinds.get(new String(values.get(3), StandardCharsets.ISO_8859_1)));
            assertEquals(DeadLetterKind.INVALID_UTF8, kinds.get(new String(latin1, StandardCharsets.ISO_8859_1)));
            assertEquals(DeadLetterKind.UNDECODABLE, kinds.get(new String(values.get(5), StandardCharsets.ISO_8859_1)));
        } finally {
            stop(job);
        }
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static byte[] bytes(ByteBuffer b) {
        ByteBuffer d = b.duplicate();
        byte[] out = new byte[d.remaining()];
        d.get(out);
        return out;
    }

    /** A well-formed PromptEvent whose prompt bytes are not UTF-8 (C3 28 is an invalid 2-byte sequence). */
    static byte[] invalidUtf8Prompt(String id) {
        byte[] b = PromptCodec.encode(event(id, "QQQQ"));
        byte[] marker = "QQQQ".getBytes(StandardCharsets.US_ASCII);
        for (int i = 0; i + 4 <= b.length; i++) {
            if (Arrays.equals(b, i, i + 4, marker, 0, 4)) {
                b[i] = (byte) 0xC3;
                b[i + 1] = 0x28;
                return b;
            }
        }
        throw new AssertionError("marker not found");
    }
}
