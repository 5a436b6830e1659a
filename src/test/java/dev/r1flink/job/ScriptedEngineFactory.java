package dev.r1flink.job;

import dev.r1flink.engine.Engine;
import dev.r1flink.engine.GenerationRequest;

import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/** TEST DOUBLE: an {@link EngineFactory} whose engines are {@link ScriptedReasoningEngine}s. Loads no file. */
public final class ScriptedEngineFactory implements EngineFactory {

    private static final long serialVersionUID = 1L;

    /** Models loaded and not yet closed in this JVM, to check the registry's sharing. */
    public static final AtomicInteger LOADED = new AtomicInteger();
    public static final AtomicInteger LOADS = new AtomicInteger();

    @Override
    public LoadedModel load(String modelPath, Map<String, String> engineOptions) {
        LOADS.incrementAndGet();
        LOADED.incrementAndGet();
        int context = Integer.parseInt(engineOptions.getOrDefault("scripted.context", "256"));
        return new LoadedModel() {
            private boolean closed;

            @Override
            public int contextLength() {
                return context;
            }

            @Override
            public int promptTokens(GenerationRequest request) {
                return ScriptedReasoningEngine.countTokens(request);
            }

            @Override
            public synchronized void close() {
                if (!closed) {
                    closed = true;
                    LOADED.decrementAndGet();
                }
            }
        };
    }

    @Override
    public Engine start(LoadedModel model, Map<String, String> engineOptions, int threads) {
        return new ScriptedReasoningEngine(engineOptions);
    }
}
