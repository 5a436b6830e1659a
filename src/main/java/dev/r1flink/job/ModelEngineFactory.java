package dev.r1flink.job;

import dev.r1flink.engine.Engine;

import java.util.Map;

/**
 * The production {@link EngineFactory}: R1 GGUF models run by {@code dev.r1flink.engine}.
 *
 * <p>WIRING POINT (coordinator, after the engine branch is merged): {@link #load} must memory-map the GGUF file and
 * return a {@link LoadedModel} over the engine's model + tokenizer, and {@link #start} must open an
 * {@link Engine} over it with {@code threads} threads and the {@code engine.options} map (parsed into the engine's
 * {@code EngineOptions}). Until then both throw, with a message saying so; tests use their own factories.
 */
public final class ModelEngineFactory implements EngineFactory {

    private static final long serialVersionUID = 1L;

    static final String NOT_WIRED = "the R1 engine is not wired into the Flink job yet "
            + "(dev.r1flink.job.ModelEngineFactory is waiting for the engine branch); "
            + "set engine.factory to another EngineFactory class";

    @Override
    public LoadedModel load(String modelPath, Map<String, String> engineOptions) {
        throw new UnsupportedOperationException(NOT_WIRED + " (model " + modelPath + ")");
    }

    @Override
    public Engine start(LoadedModel model, Map<String, String> engineOptions, int threads) {
        throw new UnsupportedOperationException(NOT_WIRED);
    }
}
