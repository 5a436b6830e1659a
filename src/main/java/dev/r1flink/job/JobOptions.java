package dev.r1flink.job;

import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;

import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * Every setting of the R1 job. A job definition file ({@code jobs/*.yaml}) sets them, together with Flink's own
 * options ({@code parallelism.default}, {@code execution.checkpointing.interval}, ...); {@code -Dkey=value} on the
 * command line overrides the file.
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

    public static final ConfigOption<String> STARTING_OFFSETS = ConfigOptions.key("kafka.starting-offsets")
            .stringType().defaultValue("committed")
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
            .withDescription("Path of the GGUF model file, as seen by the TaskManagers.");

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

    public static final ConfigOption<Map<String, String>> ENGINE_OPTIONS = ConfigOptions.key("engine.options")
            .mapType().defaultValue(Map.of())
            .withDescription("Engine settings passed to the EngineFactory as is (e.g. max-batch:8,kv-blocks:2048).");

    // ---- Generation defaults and limits

    public static final ConfigOption<Integer> MAX_TOKENS = ConfigOptions.key("generation.max-tokens")
            .intType().defaultValue(2048)
            .withDescription("Default cap on generated tokens (reasoning + answer) per event.");

    public static final ConfigOption<Integer> MAX_TOKENS_LIMIT = ConfigOptions.key("generation.max-tokens-limit")
            .intType().defaultValue(32768)
            .withDescription("Largest maxTokens an event may ask for; more is dead-lettered.");

    public static final ConfigOption<Integer> MAX_REASONING_TOKENS = ConfigOptions.key("generation.max-reasoning-tokens")
            .intType().noDefaultValue()
            .withDescription("Default thinking budget; unset = unlimited.");

    public static final ConfigOption<Float> TEMPERATURE = ConfigOptions.key("generation.temperature")
            .floatType().defaultValue(0.6f)
            .withDescription("Default temperature (DeepSeek recommends 0.5-0.7 for R1).");

    public static final ConfigOption<Float> TOP_P = ConfigOptions.key("generation.top-p")
            .floatType().defaultValue(0.95f)
            .withDescription("Default nucleus sampling mass.");

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
            ENGINE_OPTIONS, MAX_TOKENS, MAX_TOKENS_LIMIT, MAX_REASONING_TOKENS, TEMPERATURE, TOP_P, ASYNC_CAPACITY,
            ASYNC_TIMEOUT,
            CHECKPOINT_PROGRESS, DELTAS_TOPIC, DELTAS_FLUSH_TOKENS, DELTAS_FORMAT);
}
