package dev.r1flink.job;

import dev.r1flink.job.avro.DeadLetter;
import dev.r1flink.job.avro.InferenceResult;
import dev.r1flink.job.avro.PromptEvent;
import dev.r1flink.local.EmbeddedKafka;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Reliability scenario 5 through the running job (the unit-level fuzz is {@link HostileInputFuzzTest}): 2,000
 * hostile and valid records on the prompt topic; each must come out exactly once, as a result or a dead letter,
 * and the job must never restart (the model is loaded once: a restart would load it again).
 */
class HostileInputScenario {

    @RegisterExtension
    static final MiniClusterExtension FLINK = new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
            .setNumberTaskManagers(1).setNumberSlotsPerTaskManager(2).build());

    @Test
    void everyHostileRecordEndsAsOneResultOrOneDeadLetterWithoutARestart() throws Exception {
        Random rnd = new Random(5);
        List<byte[]> values = new ArrayList<>();
        for (int i = 0; i < 2000; i++) {
            byte[] v;
            switch (i % 8) {
                case 0 -> {
                    v = new byte[rnd.nextInt(200)];
                    rnd.nextBytes(v);
                }
                case 1 -> v = HostileInputFuzzTest.lyingLengths(rnd);
                case 2 -> v = HostileInputFuzzTest.invalidUtf8(rnd, i);
                case 3 -> {
                    PromptEvent e = R1JobITCase.event("p" + i, "prompt " + i);
                    e.setParams(HostileInputFuzzTest.badParams(rnd));
                    v = PromptCodec.encode(e);
                }
                case 4 -> {
                    byte[] g = PromptCodec.encode(R1JobITCase.event("f" + i, "prompt " + i));
                    v = HostileInputFuzzTest.withHeader(rnd.nextLong(), Arrays.copyOfRange(g, 10, g.length));
                }
                case 5 -> {
                    byte[] g = PromptCodec.encode(R1JobITCase.event("c" + i, "cut prompt " + i));
                    v = Arrays.copyOf(g, rnd.nextInt(g.length));
                }
                case 6 -> v = PromptCodec.encode(R1JobITCase.event("dup-" + (i % 10), "duplicate id " + (i % 3)));
                default -> v = PromptCodec.encode(R1JobITCase.event("ok" + i, "a valid prompt " + i));
            }
            values.add(v);
        }
        try (EmbeddedKafka kafka = EmbeddedKafka.start()) {
            KafkaJobHarness h = new KafkaJobHarness(kafka, "hostile", 2);
            Configuration conf = ScenarioRuns.config(h, 1);
            JobSettings s = JobSettings.from(conf);
            int expectValid = 0;
            try (ModelRegistry.Lease lease = ModelRegistry.acquire(new ScriptedEngineFactory(), s.modelPath, s.engineOptions)) {
                for (byte[] v : values) {
                    try {
                        ValidatePrompts.validate(new RawRecord("t", 0, 0, 0, v), s, lease.model());
                        expectValid++;
                    } catch (BadInputException e) {
                        // dead letter
                    }
                }
            }
            h.send(values);
            int loadsBefore = ScriptedEngineFactory.LOADS.get();
            JobClient job = ScenarioRuns.start(conf);
            try {
                List<InferenceResult> results = h.readResults(expectValid, Duration.ofMinutes(3));
                List<DeadLetter> dead = h.readDeadLetters(values.size() - expectValid, Duration.ofMinutes(1));
                System.out.printf("hostile input through the job: %d records -> %d results + %d dead letters; model "
                        + "loads %d%n", values.size(), results.size(), dead.size(), ScriptedEngineFactory.LOADS.get() - loadsBefore);
                assertEquals(values.size(), results.size() + dead.size(), "each record exactly once");
                assertEquals(expectValid, results.size());
                assertEquals(250, results.stream().filter(r -> r.getId().startsWith("dup-")).count(),
                        "every occurrence of a duplicate id gets its own result");
                assertEquals(1, ScriptedEngineFactory.LOADS.get() - loadsBefore, "no restart (the model loaded once)");
                int outcomes = results.size() + dead.size();
                new ScenarioReport("5 hostile events (job)", "2,000 hostile and valid records on the prompt topic; "
                        + results.size() + " results, " + dead.size() + " dead letters", values.size(), outcomes,
                        Math.max(0, values.size() - outcomes), Math.max(0, outcomes - values.size()), 0, 0).record();
            } finally {
                job.cancel().get(30, TimeUnit.SECONDS);
            }
        }
    }
}
