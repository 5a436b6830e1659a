package dev.r1flink.job;

import dev.r1flink.engine.Engine;
import dev.r1flink.engine.GenerationResult;
import dev.r1flink.engine.StreamListener;
import dev.r1flink.job.avro.InferenceResult;
import dev.r1flink.job.avro.PromptEvent;
import dev.r1flink.local.EmbeddedKafka;
import dev.r1flink.model.Synthesizer;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The job with the real engine ({@link ModelEngineFactory}) over a tiny synthesized model: every prompt gets a
 * result, and each result is exactly what the bare engine generates for the same request (greedy), so the job
 * neither changes requests nor loses text on the way.
 */
class RealEngineJobITCase {

    @RegisterExtension
    static final MiniClusterExtension FLINK = new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
            .setNumberTaskManagers(1).setNumberSlotsPerTaskManager(2).build());

    @TempDir
    Path tmp;

    static Path sharedVocab(String name) {
        String shared = System.getProperty("r1.shared.dir");
        Path p = shared == null ? null : Path.of(shared, "testdata", "vocab", name);
        if (p == null || !Files.exists(p)) {
            if ("true".equals(System.getenv("CI"))) throw new AssertionError("test data missing: " + p);
            Assumptions.abort("test data missing: " + p + " (set r1.shared.dir)");
        }
        return p;
    }

    @Test
    void jobResultsMatchTheBareEngine() throws Exception {
        Path model = tmp.resolve("tiny-qwen2.gguf");
        new Synthesizer(Synthesizer.shape("tiny-qwen2"), "F32", sharedVocab("ggml-vocab-qwen2.gguf"), 42).write(model, null);
        try (EmbeddedKafka kafka = EmbeddedKafka.start()) {
            KafkaJobHarness h = new KafkaJobHarness(kafka, "real-engine", 2);
            List<PromptEvent> events = new ArrayList<>();
            List<byte[]> values = new ArrayList<>();
            for (int i = 0; i < 12; i++) {
                PromptEvent e = R1JobITCase.event("r" + i, "Question number " + i + ": what is " + i + " + " + i + "?");
                events.add(e);
                values.add(PromptCodec.encode(e));
            }
            h.send(values);
            Configuration conf = h.jobConfig();
            conf.set(JobOptions.MODEL_PATH, model.toString());
            conf.set(JobOptions.ENGINE_FACTORY, ModelEngineFactory.class.getName());
            conf.set(JobOptions.ENGINE_OPTIONS, Map.of("max-sequences", "4", "kv-cache-bytes", "16mb"));
            conf.set(JobOptions.ENGINE_THREADS, 1);
            conf.set(JobOptions.MAX_TOKENS, 12);
            conf.set(JobOptions.TEMPERATURE, 0f);
            conf.removeConfig(JobOptions.ASYNC_CAPACITY); // the default: twice max-sequences
            JobClient job = R1FlinkJob.start(StreamExecutionEnvironment.getExecutionEnvironment(conf), conf);
            Map<String, InferenceResult> byId;
            try {
                List<InferenceResult> results = h.readResults(12, Duration.ofSeconds(120));
                assertEquals(12, results.size());
                byId = results.stream().collect(Collectors.toMap(InferenceResult::getId, r -> r));
            } finally {
                job.cancel().get(30, TimeUnit.SECONDS);
            }

            JobSettings s = JobSettings.from(conf);
            ModelEngineFactory f = new ModelEngineFactory();
            try (ModelRegistry.Lease lease = ModelRegistry.acquire(f, s.modelPath, s.engineOptions);
                 Engine engine = f.start(lease.model(), s.engineOptions, 1)) {
                for (PromptEvent e : events) {
                    InferenceResult r = byId.get(e.getId());
                    GenerationResult bare = engine.submit(Requests.toRequest(e, s), StreamListener.NONE).result().join();
                    assertEquals(bare.finishReason().name(), r.getFinishReason().name(), e.getId());
                    assertEquals(bare.reasoning(), r.getReasoning(), e.getId());
                    assertEquals(bare.answer(), r.getAnswer(), e.getId());
                    assertEquals(bare.promptTokens(), r.getPromptTokens());
                    assertEquals(bare.reasoningTokens(), r.getReasoningTokens());
                    assertEquals(bare.answerTokens(), r.getAnswerTokens());
                    assertTrue(r.getReasoningTokens() + r.getAnswerTokens() > 0, "generated something");
                }
            }
        }
    }
}
