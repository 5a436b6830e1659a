package dev.r1flink.job;

import dev.r1flink.engine.EngineOptions;

import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.Test;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class JobDefinitionTest {

    @Test
    void everyShippedJobDefinitionIsValid() throws Exception {
        List<Path> files;
        try (Stream<Path> s = Files.list(Path.of("jobs"))) {
            files = s.filter(p -> p.toString().endsWith(".yaml")).sorted().toList();
        }
        assertTrue(files.size() >= 5, "local demo + one per model size: " + files);
        for (Path f : files) {
            Configuration c = R1FlinkJob.withDefaults(JobDefinition.load(f.toFile(), Map.of()));
            JobSettings s = JobSettings.from(c);
            assertTrue(s.modelNames.contains("deepseek-r1"), f + " answers to deepseek-r1");
            assertTrue(c.get(JobOptions.TRANSACTION_TIMEOUT).compareTo(Duration.ofMinutes(15)) < 0,
                    f + ": transaction timeout below the broker's 15 min maximum");
            assertTrue(c.getOptional(CheckpointingOptions.CHECKPOINTING_INTERVAL).isPresent());
            assertEquals(ModelEngineFactory.class.getName(), s.engineFactoryClass, f.toString());
            Class.forName(s.engineFactoryClass);
            assertTrue(s.engineOptions.containsKey("kv-cache-bytes"), f + ": nested engine.options read as a map");
            var engineOptions = ModelEngineFactory.options(s.engineOptions, 1);
            assertTrue(s.asyncCapacity > engineOptions.maxSequences(),
                    f + ": async.capacity exceeds max-sequences, so the next request waits in the engine");
        }
    }

    @Test
    void asyncCapacityDefaultsToTwiceTheEnginesSequences() {
        Configuration c = new Configuration();
        c.set(JobOptions.MODEL_PATH, "/x/m.gguf");
        assertEquals(2 * EngineOptions.defaults().maxSequences(), JobSettings.from(c).asyncCapacity,
                "no engine.options: the engine's default max-sequences");
        c.set(JobOptions.ENGINE_OPTIONS, Map.of("max-sequences", "5"));
        assertEquals(10, JobSettings.from(c).asyncCapacity);
        c.set(JobOptions.ASYNC_CAPACITY, 7);
        assertEquals(7, JobSettings.from(c).asyncCapacity, "a set value wins");
    }

    @Test
    void overridesWinAndNestedKeysFlatten() throws Exception {
        Configuration c = JobDefinition.load(new File("jobs/local-demo.yaml"),
                JobDefinition.overrides(List.of("model.path=/x/other.gguf", "async.capacity = 3")));
        JobSettings s = JobSettings.from(c);
        assertEquals("/x/other.gguf", s.modelPath);
        assertEquals(3, s.asyncCapacity);
        assertEquals(620, s.maxTokens, "nested generation.max-tokens from the file");
        assertEquals("tiny-r1-arith", s.modelName);
        assertEquals(Duration.ofSeconds(1), c.get(CheckpointingOptions.CHECKPOINTING_INTERVAL));
        assertEquals(Map.of("max-sequences", "8", "kv-cache-bytes", (256L << 20) + "b"), s.engineOptions,
                "engine.options.* of the file read as the typed engine.* options, handed on by their short keys");
        assertEquals(256L << 20, ModelEngineFactory.options(s.engineOptions, 3).kvCacheBytes());
        assertThrows(IllegalArgumentException.class, () -> ModelEngineFactory.options(Map.of("max_sequences", "2"), 1));
        assertThrows(IllegalArgumentException.class, () -> JobDefinition.overrides(List.of("no-equals")));
    }

    @Test
    void typedEngineOptionsAndTheLegacyMapAreOneSetting() {
        Configuration typed = new Configuration();
        typed.set(JobOptions.MODEL_PATH, "/x/m.gguf");
        typed.set(JobOptions.ENGINE_MAX_SEQUENCES, 4);
        typed.set(JobOptions.ENGINE_KV_CACHE_BYTES, org.apache.flink.configuration.MemorySize.parse("16mb"));
        typed.set(JobOptions.ENGINE_MAX_WAIT, Duration.ofMillis(7));
        typed.set(JobOptions.ENGINE_PREFIX_CACHING, false);
        Configuration legacy = Configuration.fromMap(Map.of("model.path", "/x/m.gguf",
                "engine.options", "max-sequences:4,kv-cache-bytes:16 mb,max-wait:7ms,prefix-caching:FALSE"));
        JobSettings a = JobSettings.from(typed), b = JobSettings.from(legacy);
        assertEquals(a.engineOptions, b.engineOptions);
        var o = ModelEngineFactory.options(a.engineOptions, 1);
        assertEquals(4, o.maxSequences());
        assertEquals(16L << 20, o.kvCacheBytes());
        assertEquals(Duration.ofMillis(7), o.maxWait());
        assertEquals(false, o.prefixCaching());
        assertEquals(8, a.asyncCapacity, "twice the typed max-sequences");

        Configuration typo = Configuration.fromMap(Map.of("model.path", "/x/m.gguf",
                "engine.options.prefix-caching", "flase"));
        var e = assertThrows(IllegalArgumentException.class, () -> JobSettings.from(typo));
        assertTrue(e.getMessage().startsWith("engine.prefix-caching: cannot read \"flase\""), e.getMessage());
        var range = assertThrows(IllegalArgumentException.class, () -> JobSettings.from(Configuration.fromMap(
                Map.of("model.path", "/x/m.gguf", "engine.max-sequences", "0"))));
        assertEquals("engine.max-sequences must be in [1, 4096], got 0", range.getMessage());
        assertThrows(IllegalArgumentException.class, () -> JobSettings.from(Configuration.fromMap(
                Map.of("model.path", "/x/m.gguf", "engine.block-size", "12"))), "not a power of two");
        assertThrows(IllegalArgumentException.class, () -> JobSettings.from(Configuration.fromMap(
                Map.of("model.path", "/x/m.gguf", "engine.backend", "cuda"))), "not a backend");
        assertEquals(JobOptions.EngineBackend.NATIVE, JobSettings.from(Configuration.fromMap(
                Map.of("model.path", "/x/m.gguf", "engine.backend", "native"))).engineBackend);

        var unknown = assertThrows(IllegalArgumentException.class, () -> JobSettings.from(Configuration.fromMap(
                Map.of("model.path", "/x/m.gguf", "engine.options.max_sequences", "3"))));
        assertTrue(unknown.getMessage().startsWith("unknown engine option \"max_sequences\""), unknown.getMessage());
        Configuration custom = Configuration.fromMap(Map.of("model.path", "/x/m.gguf",
                "engine.factory", ScriptedEngineFactory.class.getName(),
                "engine.options.scripted.context", "64", "engine.options.max-sequences", "3"));
        assertEquals(Map.of("scripted.context", "64", "max-sequences", "3"), JobSettings.from(custom).engineOptions,
                "a custom factory's own keys pass through");
        assertEquals(JobOptions.StartingOffsets.EARLIEST, Configuration.fromMap(
                Map.of("kafka.starting-offsets", "earliest")).get(JobOptions.STARTING_OFFSETS));
    }

    @Test
    void generationOptionsAlsoGoByTheirShortNames() {
        JobSettings s = JobSettings.from(Configuration.fromMap(Map.of("model.path", "/x/m.gguf", "temperature", "0",
                "top-p", "0.5", "max-tokens", "99", "seed", "7", "system-prompt", "Be brief.")));
        assertEquals(0f, s.temperature);
        assertEquals(0.5f, s.topP);
        assertEquals(99, s.maxTokens);
        assertEquals(7L, s.seed);
        assertEquals("Be brief.", s.systemPrompt);
        var e = assertThrows(IllegalArgumentException.class, () -> JobSettings.from(Configuration.fromMap(
                Map.of("model.path", "/x/m.gguf", "top-p", "1.5"))));
        assertEquals("generation.top-p must be in (0, 1], got 1.5", e.getMessage());
    }

    @Test
    void settingsValidateAndDeriveDefaults() {
        Configuration c = new Configuration();
        assertThrows(IllegalArgumentException.class, () -> JobSettings.from(c), "model.path is required");
        c.set(JobOptions.MODEL_PATH, "/models/DeepSeek-R1-Distill-Qwen-1.5B-Q8_0.gguf");
        assertEquals("DeepSeek-R1-Distill-Qwen-1.5B-Q8_0", JobSettings.from(c).modelName);
        c.set(JobOptions.MAX_TOKENS, 0);
        assertThrows(IllegalArgumentException.class, () -> JobSettings.from(c));
    }

    @Test
    void seedsDependOnlyOnTheId() {
        assertEquals(Seeds.ofEventId("q1"), Seeds.ofEventId(new String("q1")));
        assertNotEquals(Seeds.ofEventId("q1"), Seeds.ofEventId("q2"));
    }
}
