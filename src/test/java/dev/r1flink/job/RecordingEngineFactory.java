package dev.r1flink.job;

import dev.r1flink.engine.BatchingEngine;
import dev.r1flink.engine.Engine;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The production {@link ModelEngineFactory}, remembering every engine it started in this JVM, so a MiniCluster
 * test can read how many tokens the engines of each attempt sampled and how many they resumed.
 */
public final class RecordingEngineFactory implements EngineFactory {

    private static final long serialVersionUID = 1L;

    /** Every engine started, in order; tests clear it between runs. */
    public static final List<BatchingEngine> STARTED = new CopyOnWriteArrayList<>();

    private final ModelEngineFactory real = new ModelEngineFactory();

    @Override
    public LoadedModel load(String modelPath, Map<String, String> engineOptions) throws IOException {
        return real.load(modelPath, engineOptions);
    }

    @Override
    public Engine start(LoadedModel model, Map<String, String> engineOptions, int threads) {
        BatchingEngine e = (BatchingEngine) real.start(model, engineOptions, threads);
        STARTED.add(e);
        return e;
    }

    /** Tokens sampled by the engines started from index {@code from} on. */
    static long sampled(int from) {
        return STARTED.subList(from, STARTED.size()).stream().mapToLong(e -> e.stats().generatedTokens()).sum();
    }

    /** Tokens replayed from checkpointed progress by the engines started from index {@code from} on. */
    static long resumed(int from) {
        return STARTED.subList(from, STARTED.size()).stream().mapToLong(e -> e.stats().resumedTokens()).sum();
    }
}
