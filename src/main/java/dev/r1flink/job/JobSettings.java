package dev.r1flink.job;

import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.MemorySize;
import org.apache.flink.util.TimeUtils;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.Serializable;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The {@link JobOptions} the operators need, read and checked once on the client and shipped with the job graph
 * (the DataStream job's operators, or the SQL model provider's predict function).
 */
public final class JobSettings implements Serializable {

    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(JobSettings.class);

    public final String modelPath;
    public final String modelName;
    public final Set<String> modelNames;
    public final String engineFactoryClass;
    public final int engineThreads;
    public final int slotsPerTaskManager;
    /**
     * What {@link EngineFactory#load} and {@link EngineFactory#start} get: the typed {@code engine.*} settings that
     * were set, by their short keys ({@code max-sequences}, {@code kv-cache-bytes}, ...), plus whatever else
     * {@code engine.options} holds for a custom factory.
     */
    public final Map<String, String> engineOptions;
    /** {@code engine.backend}; also in {@link #engineOptions} (key {@code backend}) when set. */
    public final JobOptions.EngineBackend engineBackend;
    public final InputFormat inputFormat;
    public final int maxTokens;
    public final int maxTokensLimit;
    public final Integer maxReasoningTokens;
    public final float temperature;
    public final float topP;
    public final Long seed;
    public final String systemPrompt;
    public final int asyncCapacity;
    public final Duration asyncTimeout;
    public final boolean checkpointProgress;
    /** Null: no deltas topic. */
    public final String deltasTopic;
    public final int deltasFlushTokens;
    public final DeltaFormat deltasFormat;
    /** Kafka client settings of the deltas producer (bootstrap servers and kafka.properties); empty without deltas. */
    public final Map<String, String> deltasProducer;

    private JobSettings(Configuration c) {
        modelPath = c.getOptional(JobOptions.MODEL_PATH).orElseThrow(
                () -> new IllegalArgumentException("model.path is not set (the GGUF file the TaskManagers load)"));
        modelName = c.getOptional(JobOptions.MODEL_NAME).orElseGet(() -> defaultName(modelPath));
        TreeSet<String> names = new TreeSet<>(c.get(JobOptions.MODEL_ALIASES));
        names.add(modelName);
        modelNames = Set.copyOf(names);
        engineFactoryClass = c.get(JobOptions.ENGINE_FACTORY);
        engineThreads = atLeast(c, JobOptions.ENGINE_THREADS, 0, "0 = this slot's share of the cores");
        slotsPerTaskManager = atLeast(c, JobOptions.SLOTS_PER_TASKMANAGER, 1, null);
        Configuration engine = engineSettings(c);
        engineOptions = Map.copyOf(factoryOptions(c, engine));
        engineBackend = c.get(JobOptions.ENGINE_BACKEND);
        inputFormat = c.get(JobOptions.INPUT_FORMAT);
        maxTokensLimit = atLeast(c, JobOptions.MAX_TOKENS_LIMIT, 1, null);
        maxTokens = c.get(JobOptions.MAX_TOKENS);
        maxReasoningTokens = c.getOptional(JobOptions.MAX_REASONING_TOKENS).orElse(null);
        temperature = c.get(JobOptions.TEMPERATURE);
        topP = c.get(JobOptions.TOP_P);
        seed = c.getOptional(JobOptions.SEED).orElse(null);
        systemPrompt = c.getOptional(JobOptions.SYSTEM_PROMPT).orElse(null);
        int engineSequences = engine.get(JobOptions.ENGINE_MAX_SEQUENCES);
        asyncCapacity = c.getOptional(JobOptions.ASYNC_CAPACITY).orElse(2 * engineSequences);
        asyncTimeout = c.get(JobOptions.ASYNC_TIMEOUT);
        checkpointProgress = c.get(JobOptions.CHECKPOINT_PROGRESS);
        deltasTopic = c.getOptional(JobOptions.DELTAS_TOPIC).filter(t -> !t.isBlank()).orElse(null);
        deltasFlushTokens = c.get(JobOptions.DELTAS_FLUSH_TOKENS);
        deltasFormat = c.get(JobOptions.DELTAS_FORMAT);
        if (deltasFlushTokens < 1 || deltasFlushTokens > 4096) {
            throw new IllegalArgumentException("deltas.flush-tokens must be in [1, 4096], got " + deltasFlushTokens);
        }
        if (deltasTopic != null) {
            Map<String, String> p = new java.util.HashMap<>(c.get(JobOptions.KAFKA_PROPERTIES));
            p.put("bootstrap.servers", c.get(JobOptions.BOOTSTRAP_SERVERS));
            deltasProducer = Map.copyOf(p);
        } else {
            deltasProducer = Map.of();
        }
        if (maxTokens < 1 || maxTokens > maxTokensLimit) {
            throw new IllegalArgumentException(JobOptions.MAX_TOKENS.key() + " must be in [1, "
                    + JobOptions.MAX_TOKENS_LIMIT.key() + "=" + maxTokensLimit + "], got " + maxTokens);
        }
        if (maxReasoningTokens != null && maxReasoningTokens < 0) {
            throw new IllegalArgumentException(JobOptions.MAX_REASONING_TOKENS.key() + " must be >= 0 (unset = "
                    + "unlimited), got " + maxReasoningTokens);
        }
        if (!(temperature >= 0f) || Float.isInfinite(temperature)) {
            throw new IllegalArgumentException(JobOptions.TEMPERATURE.key() + " must be a finite number >= 0 (0 = "
                    + "greedy), got " + temperature);
        }
        if (!(topP > 0f && topP <= 1f)) {
            throw new IllegalArgumentException(JobOptions.TOP_P.key() + " must be in (0, 1], got " + topP);
        }
        if (engineFactoryClass.equals(ModelEngineFactory.class.getName())) {
            // An engine.options key the production factory does not know would otherwise surface only when the
            // slots start, on the TaskManagers.
            ModelEngineFactory.options(engineOptions, 1);
        }
        if (asyncCapacity < 1) throw new IllegalArgumentException("async.capacity must be >= 1, got " + asyncCapacity);
        if (asyncCapacity <= engineSequences && engineFactoryClass.equals(ModelEngineFactory.class.getName())
                && c.contains(JobOptions.ASYNC_CAPACITY)) {
            LOG.warn("async.capacity={} does not exceed the engine's max-sequences={}: batches run short while "
                    + "replacements travel through the operator; {} (twice max-sequences) keeps them full",
                    asyncCapacity, engineSequences, 2 * engineSequences);
        }
    }

    public static JobSettings from(Configuration c) {
        return new JobSettings(c);
    }

    /**
     * The typed engine settings of {@code c}, checked: an {@code engine.NAME} option, else {@code NAME} in the
     * {@code engine.options} map (where job files used to put them), else the default. A value of the wrong form
     * (a boolean that is not true or false, a size or duration that does not parse) or out of range is an error
     * naming the option and what it accepts.
     */
    static Configuration engineSettings(Configuration c) {
        Configuration e = new Configuration();
        Map<String, String> legacy = c.get(JobOptions.ENGINE_OPTIONS);
        for (ConfigOption<?> o : JobOptions.ENGINE_SETTINGS) copy(o, c, legacy.get(shortKey(o)), e);
        int maxSequences = e.get(JobOptions.ENGINE_MAX_SEQUENCES);
        inRange(JobOptions.ENGINE_MAX_SEQUENCES, maxSequences, 1, 4096);
        inRange(JobOptions.ENGINE_MAX_BATCH_TOKENS, e.get(JobOptions.ENGINE_MAX_BATCH_TOKENS), maxSequences, 1 << 20);
        if (e.get(JobOptions.ENGINE_KV_CACHE_BYTES).getBytes() <= 0) {
            throw new IllegalArgumentException(JobOptions.ENGINE_KV_CACHE_BYTES.key() + " must be > 0");
        }
        int block = e.get(JobOptions.ENGINE_BLOCK_SIZE);
        if (block < 1 || block > 1024 || Integer.bitCount(block) != 1) {
            throw new IllegalArgumentException(JobOptions.ENGINE_BLOCK_SIZE.key() + " must be a power of two in "
                    + "[1, 1024], got " + block);
        }
        if (e.get(JobOptions.ENGINE_MAX_WAIT).isNegative()) {
            throw new IllegalArgumentException(JobOptions.ENGINE_MAX_WAIT.key() + " must be >= 0");
        }
        inRange(JobOptions.ENGINE_CONTEXT_LENGTH, e.get(JobOptions.ENGINE_CONTEXT_LENGTH), 0, Integer.MAX_VALUE);
        return e;
    }

    /**
     * The map the engine factory gets: every engine setting that was set, by its short key in a form
     * {@link ModelEngineFactory#options} reads, then the rest of {@code engine.options} as is.
     */
    private static Map<String, String> factoryOptions(Configuration c, Configuration engine) {
        Map<String, String> m = new TreeMap<>(c.get(JobOptions.ENGINE_OPTIONS));
        for (ConfigOption<?> o : JobOptions.ENGINE_SETTINGS) {
            m.remove(shortKey(o));
            if (!engine.containsKey(o.key())) continue;
            Object v = engine.get(o);
            String s = v instanceof MemorySize size ? size.getBytes() + "b"
                    : v instanceof Duration d ? TimeUtils.formatWithHighestUnit(d) : String.valueOf(v);
            m.put(shortKey(o), s);
        }
        return new LinkedHashMap<>(m);
    }

    private static <T> void copy(ConfigOption<T> o, Configuration from, String legacyValue, Configuration to) {
        String given = from.contains(o) ? from.getValue(o) : legacyValue;
        try {
            if (from.contains(o)) {
                to.set(o, from.get(o));
            } else if (legacyValue != null) {
                to.setString(o.key(), legacyValue.trim());
                to.get(o);
            }
        } catch (IllegalArgumentException ex) {
            String cause = ex.getCause() != null && ex.getCause().getMessage() != null ? ex.getCause().getMessage()
                    : ex.getMessage();
            throw new IllegalArgumentException(o.key() + ": cannot read \"" + given + "\": " + cause, ex);
        }
    }

    private static String shortKey(ConfigOption<?> o) {
        return o.key().substring("engine.".length());
    }

    private static void inRange(ConfigOption<Integer> o, int v, int lo, int hi) {
        if (v < lo || v > hi) {
            throw new IllegalArgumentException(o.key() + " must be in [" + lo + ", " + hi + "], got " + v);
        }
    }

    private static int atLeast(Configuration c, ConfigOption<Integer> o, int lo, String note) {
        int v = c.get(o);
        if (v < lo) {
            throw new IllegalArgumentException(o.key() + " must be >= " + lo + (note == null ? "" : " (" + note + ")")
                    + ", got " + v);
        }
        return v;
    }

    /** Threads for one slot's engine: the configured count, or this slot's share of the machine. */
    public int threadsPerEngine() {
        if (engineThreads > 0) return engineThreads;
        return Math.max(1, Runtime.getRuntime().availableProcessors() / slotsPerTaskManager);
    }

    /** The factory named by {@code engine.factory}, from the job's class loader. */
    public EngineFactory newEngineFactory() {
        try {
            Class<?> k = Class.forName(engineFactoryClass, true, Thread.currentThread().getContextClassLoader());
            return (EngineFactory) k.getDeclaredConstructor().newInstance();
        } catch (ReflectiveOperationException | ClassCastException e) {
            throw new IllegalArgumentException("engine.factory " + engineFactoryClass
                    + " is not a public EngineFactory class with a no-arg constructor", e);
        }
    }

    static String defaultName(String path) {
        String f = Path.of(path.startsWith("bundled:") ? path.substring("bundled:".length()) : path)
                .getFileName().toString();
        return f.endsWith(".gguf") ? f.substring(0, f.length() - 5) : f;
    }

    @Override
    public String toString() {
        return "JobSettings{model=" + modelName + " (" + modelPath + "), factory=" + engineFactoryClass
                + ", engine=" + engineOptions + ", input=" + inputFormat + ", capacity=" + asyncCapacity
                + ", timeout=" + asyncTimeout + "}";
    }

    static List<String> sortedNames(Set<String> s) {
        return List.copyOf(new TreeSet<>(s));
    }
}
