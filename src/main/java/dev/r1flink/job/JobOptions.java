package dev.r1flink.job;

import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;
import org.apache.flink.configuration.MemorySize;

import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * Every setting of R1 on Flink, one typed option per key, shared by both APIs: a job definition file
 * ({@code jobs/*.yaml}) sets them for the DataStream job, together with Flink's own options
 * ({@code parallelism.default}, {@code execution.checkpointing.interval}, ...; {@code -Dkey=value} on the command
 * line overrides the file), and {@code CREATE MODEL ... WITH ('provider' = 'r1', ...)} sets the model, engine and
 * generation ones for SQL ({@link dev.r1flink.sql.R1ModelProviderFactory}), where the generation options also go
 * by their short names ({@code temperature}, {@code max-tokens}, ...).
 *
 * <p>{@link JobSettings#from} reads and validates them; an out-of-range value is an error naming the key and the
 * range.
 */
public final class JobOptions {

    private JobOptions() {
    }

    public static final ConfigOption<String> JOB_NAME = ConfigOptions.key("r1.job-name")
            .stringType().defaultValue("r1-flink")
            .withDescription("Name of the Flink job.");

    // ---- Kafka

    public static final ConfigOption<String> BOOTSTRAP_SERVERS = ConfigOptions.key("kafka.bootstrap-servers")
            .stringType().defaultValue("localhost:9092")
            .withDescription("Kafka brokers, host:port[,host:port].");

    public static final ConfigOption<String> PROMPTS_TOPIC = ConfigOptions.key("kafka.prompts-topic")
            .stringType().defaultValue("r1.prompts")
            .withDescription("Topic the PromptEvents are read from.");

    public static final ConfigOption<String> RESULTS_TOPIC = ConfigOptions.key("kafka.results-topic")
            .stringType().defaultValue("r1.results")
            .withDescription("Topic the InferenceResults are written to, transactionally (exactly once).");

    public static final ConfigOption<String> DEAD_LETTER_TOPIC = ConfigOptions.key("kafka.dead-letter-topic")
            .stringType().defaultValue("r1.dead-letters")
            .withDescription("Topic for input records the job cannot serve (DeadLetter records).");

    public static final ConfigOption<String> GROUP_ID = ConfigOptions.key("kafka.group-id")
            .stringType().defaultValue("r1-flink")
            .withDescription("Consumer group; offsets are committed on checkpoints (for monitoring; Flink's "
                    + "checkpoints are the source of truth).");

    public static final ConfigOption<String> TRANSACTIONAL_ID_PREFIX = ConfigOptions.key("kafka.transactional-id-prefix")
            .stringType().defaultValue("r1-flink")
            .withDescription("Prefix of the Kafka transactional ids; must be unique per job writing to a cluster.");

    public static final ConfigOption<Duration> TRANSACTION_TIMEOUT = ConfigOptions.key("kafka.transaction-timeout")
            .durationType().defaultValue(Duration.ofMinutes(10))
            .withDescription("Kafka transaction timeout. Must exceed the checkpoint interval plus the time to "
                    + "recover, and stay below the broker's transaction.max.timeout.ms (15 min by default).");

    /** Where a fresh job starts reading the prompts topic. */
    public enum StartingOffsets { COMMITTED, EARLIEST, LATEST }

    public static final ConfigOption<StartingOffsets> STARTING_OFFSETS = ConfigOptions.key("kafka.starting-offsets")
            .enumType(StartingOffsets.class).defaultValue(StartingOffsets.COMMITTED)
            .withDescription("Where a fresh job starts reading: committed (the group's offsets, else earliest), "
                    + "earliest or latest. A job restored from a checkpoint continues where it stopped.");

    public static final ConfigOption<Map<String, String>> KAFKA_PROPERTIES = ConfigOptions.key("kafka.properties")
            .mapType().defaultValue(Map.of())
            .withDescription("Kafka client properties for the prompt source and both sinks (security: "
                    + "security.protocol, sasl.mechanism, sasl.jaas.config, ssl.truststore.location, ...). In a job "
                    + "file, nest them under kafka.properties; the job's own settings (bootstrap servers, group id, "
                    + "isolation level, transactions) win over these.");

    public static final ConfigOption<Boolean> BOUNDED = ConfigOptions.key("kafka.bounded")
            .booleanType().defaultValue(false)
            .withDescription("Stop after the prompts that are in the topic when the job starts (the job then "
                    + "finishes, committing its last results).");

    public static final ConfigOption<InputFormat> INPUT_FORMAT = ConfigOptions.key("input.format")
            .enumType(InputFormat.class).defaultValue(InputFormat.AVRO)
            .withDescription("Wire format of prompts: AVRO (single-object encoding), JSON (what "
                    + "kafka-console-producer users send), or AUTO (either, told apart by the first bytes).");

    // ---- Model and engine

    public static final ConfigOption<String> MODEL_PATH = ConfigOptions.key("model.path")
            .stringType().noDefaultValue()
            .withDescription("The GGUF model file as the TaskManagers see it, or bundled:NAME for a model shipped "
                    + "in the jar (bundled:tiny-r1-arith).");

    public static final ConfigOption<String> MODEL_NAME = ConfigOptions.key("model.name")
            .stringType().noDefaultValue()
            .withDescription("Name results carry and events may ask for; default: the file name without .gguf.");

    public static final ConfigOption<List<String>> MODEL_ALIASES = ConfigOptions.key("model.aliases")
            .stringType().asList().defaultValues()
            .withDescription("Other names events may use for this model (e.g. deepseek-r1).");

    public static final ConfigOption<String> ENGINE_FACTORY = ConfigOptions.key("engine.factory")
            .stringType().defaultValue(ModelEngineFactory.class.getName())
            .withDescription("EngineFactory class (public, no-arg constructor) that loads the model and starts "
                    + "engines.");

    public static final ConfigOption<Integer> ENGINE_THREADS = ConfigOptions.key("engine.threads")
            .intType().defaultValue(0)
            .withDescription("Compute threads per slot's engine; 0 = this slot's share of the TaskManager's "
                    + "cores (cores / engine.slots-per-taskmanager).");

    public static final ConfigOption<Integer> SLOTS_PER_TASKMANAGER = ConfigOptions.key("engine.slots-per-taskmanager")
            .intType().defaultValue(1)
            .withDescription("Inference slots sharing one TaskManager's cores; set it to "
                    + "taskmanager.numberOfTaskSlots.");

    /** Which kernels the engine runs on. */
    public enum EngineBackend { AUTO, NATIVE, JAVA }

    public static final ConfigOption<Integer> ENGINE_MAX_SEQUENCES = engineKey("max-sequences")
            .intType().defaultValue(16)
            .withDescription("Sequences one slot's engine batches at once, in [1, 4096]; more requests wait in the "
                    + "engine.");

    public static final ConfigOption<Integer> ENGINE_MAX_BATCH_TOKENS = engineKey("max-batch-tokens")
            .intType().defaultValue(512)
            .withDescription("Rows of one forward step (one per decoding sequence plus prefill chunks), in "
                    + "[engine.max-sequences, 1048576].");

    public static final ConfigOption<MemorySize> ENGINE_KV_CACHE_BYTES = engineKey("kv-cache-bytes")
            .memoryType().defaultValue(MemorySize.ofMebiBytes(1024))
            .withDescription("KV cache of one slot's engine (F16, on the heap), e.g. 256mb or 2gb; > 0. Bounds the "
                    + "context: a sequence needs 4 x layers x kv-dim bytes per token.");

    public static final ConfigOption<Integer> ENGINE_BLOCK_SIZE = engineKey("block-size")
            .intType().defaultValue(16)
            .withDescription("KV cells per cache block, a power of two in [1, 1024]: the unit of paging and prefix "
                    + "reuse.");

    public static final ConfigOption<Duration> ENGINE_MAX_WAIT = engineKey("max-wait")
            .durationType().defaultValue(Duration.ofMillis(5))
            .withDescription("How long an idle engine waits for companions before starting a batch; >= 0.");

    public static final ConfigOption<Integer> ENGINE_CONTEXT_LENGTH = engineKey("context-length")
            .intType().defaultValue(0)
            .withDescription("Longest prompt + generation per sequence; 0 = the model's (capped by the KV cache).");

    public static final ConfigOption<Boolean> ENGINE_PREFIX_CACHING = engineKey("prefix-caching")
            .booleanType().defaultValue(true)
            .withDescription("Reuse the KV blocks of prompt prefixes already computed (true or false).");

    public static final ConfigOption<Boolean> ENGINE_THINK_PREFIX = engineKey("think-prefix")
            .booleanType().defaultValue(true)
            .withDescription("Open the assistant turn with <think> as R1's template does (true or false).");

    public static final ConfigOption<EngineBackend> ENGINE_BACKEND = ConfigOptions.key("engine.backend")
            .enumType(EngineBackend.class).defaultValue(EngineBackend.AUTO)
            .withDescription("Kernels of the weight products: AUTO (the TaskManager's -Dr1.tensor.backend, itself auto:"
                    + " the native int8 kernels where the library loads and the CPU has AVX2, else Java), NATIVE"
                    + " (fails the slot with the reason when they cannot load) or JAVA (the Vector API kernels).");

    /** The typed engine settings above, which {@link JobSettings} hands to the engine factory by their short keys. */
    public static final List<ConfigOption<?>> ENGINE_SETTINGS = List.of(ENGINE_MAX_SEQUENCES, ENGINE_MAX_BATCH_TOKENS,
            ENGINE_KV_CACHE_BYTES, ENGINE_BLOCK_SIZE, ENGINE_MAX_WAIT, ENGINE_CONTEXT_LENGTH, ENGINE_PREFIX_CACHING,
            ENGINE_THINK_PREFIX, ENGINE_BACKEND);

    public static final ConfigOption<Map<String, String>> ENGINE_OPTIONS = ConfigOptions.key("engine.options")
            .mapType().defaultValue(Map.of())
            .withDescription("Settings for a custom engine.factory, passed to it as is. The production engine's "
                    + "own settings are the typed engine.* options; written here (engine.options.max-sequences, or "
                    + "max-sequences:8 in the map) they are read as those options, with the same checks.");

    private static ConfigOptions.OptionBuilder engineKey(String name) {
        return ConfigOptions.key("engine." + name);
    }

    // ---- Generation defaults and limits

    public static final ConfigOption<Integer> MAX_TOKENS = ConfigOptions.key("generation.max-tokens")
            .intType().defaultValue(2048)
            .withFallbackKeys("max-tokens")
            .withDescription("Default cap on generated tokens (reasoning + answer) per prompt, in [1, "
                    + "generation.max-tokens-limit].");

    public static final ConfigOption<Integer> MAX_TOKENS_LIMIT = ConfigOptions.key("generation.max-tokens-limit")
            .intType().defaultValue(32768)
            .withFallbackKeys("max-tokens-limit")
            .withDescription("Largest maxTokens a prompt may ask for; more is refused (dead letter, or REJECTED in "
                    + "SQL).");

    public static final ConfigOption<Integer> MAX_REASONING_TOKENS = ConfigOptions.key("generation.max-reasoning-tokens")
            .intType().noDefaultValue()
            .withFallbackKeys("max-reasoning-tokens")
            .withDescription("Default thinking budget, >= 0; unset = unlimited.");

    public static final ConfigOption<Float> TEMPERATURE = ConfigOptions.key("generation.temperature")
            .floatType().defaultValue(0.6f)
            .withFallbackKeys("temperature")
            .withDescription("Default temperature, >= 0; 0 = greedy (DeepSeek recommends 0.5-0.7 for R1).");

    public static final ConfigOption<Float> TOP_P = ConfigOptions.key("generation.top-p")
            .floatType().defaultValue(0.95f)
            .withFallbackKeys("top-p")
            .withDescription("Default nucleus sampling mass, in (0, 1].");

    public static final ConfigOption<Long> SEED = ConfigOptions.key("generation.seed")
            .longType().noDefaultValue()
            .withFallbackKeys("seed")
            .withDescription("Sampling seed of prompts that bring none; unset = a hash of the prompt's id "
                    + "(Seeds.ofEventId), so a replay samples the same tokens.");

    public static final ConfigOption<String> SYSTEM_PROMPT = ConfigOptions.key("generation.system-prompt")
            .stringType().noDefaultValue()
            .withFallbackKeys("system-prompt")
            .withDescription("System prompt of prompts that bring none; unset = none.");

    // ---- Async operator

    public static final ConfigOption<Integer> ASYNC_CAPACITY = ConfigOptions.key("async.capacity")
            .intType().noDefaultValue()
            .withDescription("Requests in flight per inference subtask; beyond it the operator applies back "
                    + "pressure. Default: twice the engine's max-sequences, so that when a sequence finishes its "
                    + "replacement already waits in the engine and the next step runs full (a smaller value leaves "
                    + "batch rows empty while the next record travels through the operator). Queued requests count "
                    + "against async.timeout.");

    public static final ConfigOption<Duration> ASYNC_TIMEOUT = ConfigOptions.key("async.timeout")
            .durationType().defaultValue(Duration.ofMinutes(10))
            .withDescription("Longest time from arrival to result; after it the request is cancelled and a "
                    + "TIMEOUT result is written.");

    // ---- Long generations: progress in checkpoints, streamed deltas (issue 13)

    public static final ConfigOption<Boolean> CHECKPOINT_PROGRESS = ConfigOptions.key("generation.checkpoint-progress")
            .booleanType().defaultValue(true)
            .withDescription("Keep the tokens generated so far by every prompt in flight in each checkpoint (4 bytes "
                    + "a token), so that after a failure or a restore (also at another parallelism) a prompt goes on "
                    + "from where the checkpoint saw it instead of from its first token; the result is bit-identical "
                    + "either way. false = every in-flight prompt starts over.");

    public static final ConfigOption<String> DELTAS_TOPIC = ConfigOptions.key("kafka.deltas-topic")
            .stringType().noDefaultValue().withFallbackKeys("kafka.topics.deltas")
            .withDescription("Optional topic that gets each prompt's reasoning and answer as they grow "
                    + "(ReasoningDelta records keyed by id; at least once, deduplicate by id and sequence). Unset = "
                    + "no deltas.");

    public static final ConfigOption<Integer> DELTAS_FLUSH_TOKENS = ConfigOptions.key("deltas.flush-tokens")
            .intType().defaultValue(16)
            .withDescription("Tokens per delta: a sequence's text is sent every this many generated tokens (and "
                    + "when the reasoning ends, and at the end). Counted in tokens, not time, so that a replay "
                    + "after a failover cuts identical deltas. 1..4096.");

    public static final ConfigOption<DeltaFormat> DELTAS_FORMAT = ConfigOptions.key("deltas.format")
            .enumType(DeltaFormat.class).defaultValue(DeltaFormat.AVRO)
            .withDescription("Wire format of the deltas: AVRO (single-object encoding, schemas/ReasoningDelta.avsc) "
                    + "or JSON (the same field names).");

    /** All options, for documentation and the CLI. */
    public static final List<ConfigOption<?>> ALL = List.of(JOB_NAME, BOOTSTRAP_SERVERS, PROMPTS_TOPIC, RESULTS_TOPIC,
            DEAD_LETTER_TOPIC, GROUP_ID, TRANSACTIONAL_ID_PREFIX, TRANSACTION_TIMEOUT, STARTING_OFFSETS, KAFKA_PROPERTIES, BOUNDED,
            INPUT_FORMAT, MODEL_PATH, MODEL_NAME, MODEL_ALIASES, ENGINE_FACTORY, ENGINE_THREADS, SLOTS_PER_TASKMANAGER,
            ENGINE_MAX_SEQUENCES, ENGINE_MAX_BATCH_TOKENS, ENGINE_KV_CACHE_BYTES, ENGINE_BLOCK_SIZE, ENGINE_MAX_WAIT,
            ENGINE_CONTEXT_LENGTH, ENGINE_PREFIX_CACHING, ENGINE_THINK_PREFIX, ENGINE_BACKEND, ENGINE_OPTIONS,
            MAX_TOKENS, MAX_TOKENS_LIMIT, MAX_REASONING_TOKENS, TEMPERATURE, TOP_P, SEED, SYSTEM_PROMPT, ASYNC_CAPACITY,
            ASYNC_TIMEOUT,
            CHECKPOINT_PROGRESS, DELTAS_TOPIC, DELTAS_FLUSH_TOKENS, DELTAS_FORMAT);

    /** What one model needs wherever it runs (DataStream job or SQL model provider): model, engine, generation. */
    public static final List<ConfigOption<?>> MODEL_SETTINGS = List.of(MODEL_PATH, MODEL_NAME, MODEL_ALIASES,
            ENGINE_FACTORY, ENGINE_THREADS, SLOTS_PER_TASKMANAGER, ENGINE_MAX_SEQUENCES, ENGINE_MAX_BATCH_TOKENS,
            ENGINE_KV_CACHE_BYTES, ENGINE_BLOCK_SIZE, ENGINE_MAX_WAIT, ENGINE_CONTEXT_LENGTH, ENGINE_PREFIX_CACHING,
            ENGINE_THINK_PREFIX, ENGINE_BACKEND, ENGINE_OPTIONS, MAX_TOKENS, MAX_TOKENS_LIMIT, MAX_REASONING_TOKENS,
            TEMPERATURE, TOP_P, SEED, SYSTEM_PROMPT);
}
