package dev.r1flink.job;

import dev.r1flink.local.EmbeddedKafka;
import dev.r1flink.model.Synthesizer;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Reliability scenario 6 (hostile model files): a missing, empty, truncated or corrupt GGUF fails the job at once,
 * with a message naming the file and the problem, although the restart strategy would retry (almost) forever: the
 * load failure is classified non-recoverable ({@link ModelFileException}), so there is no restart loop.
 */
class HostileModelFileITCase {

    @RegisterExtension
    static final MiniClusterExtension FLINK = new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
            .setNumberTaskManagers(1).setNumberSlotsPerTaskManager(2).build());

    static EmbeddedKafka kafka;

    @TempDir
    static Path tmp;
    static Path good;

    @BeforeAll
    static void setUp() throws Exception {
        kafka = EmbeddedKafka.start();
        good = tmp.resolve("tiny-qwen2.gguf");
        new Synthesizer(Synthesizer.shape("tiny-qwen2"), "F32", RealEngineJobITCase.sharedVocab("ggml-vocab-qwen2.gguf"), 42)
                .write(good, null);
    }

    @AfterAll
    static void tearDown() {
        if (kafka != null) kafka.close();
    }

    /** Runs the job on {@code model}; returns the failure's full message chain and the seconds to FAILED. */
    static String failureOf(Path model, String name) throws Exception {
        KafkaJobHarness h = new KafkaJobHarness(kafka, name, 1);
        h.send(java.util.List.of(PromptCodec.encode(R1JobITCase.event("q", "hello there"))));
        Configuration conf = h.jobConfig();
        conf.set(JobOptions.MODEL_PATH, model.toString());
        conf.set(JobOptions.ENGINE_FACTORY, ModelEngineFactory.class.getName());
        conf.set(JobOptions.ENGINE_OPTIONS, Map.of("kv-cache-bytes", "4mb"));
        conf.set(JobOptions.ENGINE_THREADS, 1);
        // A restart loop would go on for a very long time: only the non-recoverable classification ends the job.
        conf.set(RestartStrategyOptions.RESTART_STRATEGY, "fixed-delay");
        conf.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_ATTEMPTS, Integer.MAX_VALUE);
        conf.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_DELAY, Duration.ofMillis(200));
        long t0 = System.nanoTime();
        JobClient job = R1FlinkJob.start(StreamExecutionEnvironment.getExecutionEnvironment(conf), conf);
        try {
            job.getJobExecutionResult().get(90, TimeUnit.SECONDS);
            fail("the job ran on a bad model file " + model);
            return null;
        } catch (ExecutionException e) {
            double seconds = (System.nanoTime() - t0) / 1e9;
            assertEquals(JobStatus.FAILED, job.getJobStatus().get(10, TimeUnit.SECONDS));
            StringBuilder chain = new StringBuilder();
            boolean classified = false;
            for (Throwable t = e; t != null; t = t.getCause()) {
                chain.append(t.getMessage()).append(" | ");
                classified |= t instanceof ModelFileException;
            }
            assertTrue(classified, "failed with ModelFileException: " + chain);
            System.out.printf("scenario 6 (%s): FAILED after %.1f s: %s%n", name, seconds, chain);
            return chain.toString();
        }
    }

    @Test
    void aMissingFileFailsTheJobAtOnceNamingIt() throws Exception {
        Path missing = tmp.resolve("no-such-model.gguf");
        String m = failureOf(missing, "missing-gguf");
        assertTrue(m.contains(missing.toString()) && m.contains("no such file"), m);
    }

    @Test
    void anEmptyFileFailsTheJobAtOnceNamingIt() throws Exception {
        Path empty = Files.createFile(tmp.resolve("empty.gguf"));
        String m = failureOf(empty, "empty-gguf");
        assertTrue(m.contains(empty.toString()), m);
    }

    @Test
    void aTruncatedFileFailsTheJobAtOnceNamingIt() throws Exception {
        Path cut = tmp.resolve("truncated.gguf");
        Files.copy(good, cut);
        try (RandomAccessFile f = new RandomAccessFile(cut.toFile(), "rw")) {
            f.setLength(f.length() / 2);
        }
        String m = failureOf(cut, "truncated-gguf");
        assertTrue(m.contains(cut.toString()), m);
        assertTrue(m.toLowerCase().contains("truncated") || m.toLowerCase().contains("end of file")
                || m.contains("extends past"), m);
    }

    @Test
    void aCorruptHeaderFailsTheJobAtOnceNamingIt() throws Exception {
        Path bad = tmp.resolve("bad-magic.gguf");
        Files.copy(good, bad);
        try (RandomAccessFile f = new RandomAccessFile(bad.toFile(), "rw")) {
            f.write(new byte[]{'G', 'G', 'M', 'L'});
        }
        String m = failureOf(bad, "corrupt-gguf");
        assertTrue(m.contains(bad.toString()) && m.contains("bad magic"), m);
        assertNotNull(good);
    }
}
