package dev.r1flink.job;

import dev.r1flink.engine.BatchingEngine;
import dev.r1flink.engine.Engine;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;

/**
 * One task slot's engine over the TaskManager's shared model: what the DataStream job's inference operator and the
 * SQL model provider's predict function open in {@code open()} and close in {@code close()}. The weights come from
 * {@link ModelRegistry} (loaded once per TaskManager); the engine (its threads, its KV cache) is this slot's own.
 */
public final class SlotEngine implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(SlotEngine.class);

    private final ModelRegistry.Lease lease;
    private final Engine engine;
    private final String name;

    private SlotEngine(ModelRegistry.Lease lease, Engine engine, String name) {
        this.lease = lease;
        this.engine = engine;
        this.name = name;
    }

    /** Takes the model from the registry and starts this slot's engine over it. */
    public static SlotEngine open(JobSettings settings, EngineFactory factory, String name) throws IOException {
        ModelRegistry.Lease lease = ModelRegistry.acquire(factory, settings.modelPath, settings.engineOptions);
        try {
            Engine engine = factory.start(lease.model(), settings.engineOptions, settings.threadsPerEngine());
            LOG.info("r1 engine of {}: {} threads, weight products on {}", name, settings.threadsPerEngine(),
                    engine.kernels());
            return new SlotEngine(lease, engine, name);
        } catch (RuntimeException e) {
            lease.close();
            throw e;
        }
    }

    public Engine engine() {
        return engine;
    }

    /** The shared model, for validating prompts before they reach the engine. */
    public LoadedModel model() {
        return lease.model();
    }

    @Override
    public void close() throws Exception {
        try {
            if (engine instanceof BatchingEngine be) {
                LOG.info("r1 engine of {} closing: {}", name, InferenceFunction.describe(be.stats()));
            }
            engine.close();
        } finally {
            lease.close();
        }
    }
}
