package dev.r1flink.job;

import dev.r1flink.engine.EngineOptions;
import org.apache.flink.configuration.Configuration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.Serializable;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/** The {@link JobOptions} the operators need, read once on the client and shipped with the job graph. */
public final class JobSettings implements Serializable {

    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(JobSettings.class);

    public final String modelPath;
    public final String modelName;
    public final Set<String> modelNames;
    public final String engineFactoryClass;
    public final int engineThreads;
    public final int slotsPerTaskManager;
    public final Map<String, String> engineOptions;
    public final InputFormat inputFormat;
    public final int maxTokens;
    public final int maxTokensLimit;
    public final Integer maxReasoningTokens;
    public final float temperature;
    public final float topP;
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
        engineThreads = c.get(JobOptions.ENGINE_THREADS);
        slotsPerTaskManager = Math.max(1, c.get(JobOptions.SLOTS_PER_TASKMANAGER));
        engineOptions = Map.copyOf(c.get(JobOptions.ENGINE_OPTIONS));
        inputFormat = c.get(JobOptions.INPUT_FORMAT);
        maxTokens = c.get(JobOptions.MAX_TOKENS);
        maxTokensLimit = c.get(JobOptions.MAX_TOKENS_LIMIT);
        maxReasoningTokens = c.getOptional(JobOptions.MAX_REASONING_TOKENS).orElse(null);
        temperature = c.get(JobOptions.TEMPERATURE);
        topP = c.get(JobOptions.TOP_P);
        int engineSequences = engineMaxSequences(engineFactoryClass, engineOptions);
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
            throw new IllegalArgumentException("generation.max-tokens must be in [1, generation.max-tokens-limit="
                    + maxTokensLimit + "], got " + maxTokens);
        }
        if (asyncCapacity < 1) throw new IllegalArgumentException("async.capacity must be >= 1, got " + asyncCapacity);
        if (asyncCapacity <= engineSequences && engineFactoryClass.equals(ModelEngineFactory.class.getName())) {
            LOG.warn("async.capacity={} does not exceed the engine's max-sequences={}: batches run short while "
                    + "replacements travel through the operator; {} (twice max-sequences) keeps them full",
                    asyncCapacity, engineSequences, 2 * engineSequences);
        }
    }

    /** The production engine's {@code max-sequences} (as its factory reads it), else the engine's default. */
    static int engineMaxSequences(String engineFactoryClass, Map<String, String> engineOptions) {
        if (engineFactoryClass.equals(ModelEngineFactory.class.getName())) {
            try {
                return ModelEngineFactory.options(engineOptions, 1).maxSequences();
            } catch (IllegalArgumentException e) {
                // the factory rejects the options with their names when the slot starts
            }
        }
        return EngineOptions.defaults().maxSequences();
    }

    public static JobSettings from(Configuration c) {
        return new JobSettings(c);
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
        String f = Path.of(path).getFileName().toString();
        return f.endsWith(".gguf") ? f.substring(0, f.length() - 5) : f;
    }

    @Override
    public String toString() {
        return "JobSettings{model=" + modelName + " (" + modelPath + "), factory=" + engineFactoryClass
                + ", input=" + inputFormat + ", capacity=" + asyncCapacity + ", timeout=" + asyncTimeout + "}";
    }

    static List<String> sortedNames(Set<String> s) {
        return List.copyOf(new TreeSet<>(s));
    }
}
