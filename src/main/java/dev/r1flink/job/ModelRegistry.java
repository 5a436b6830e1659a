package dev.r1flink.job;

import java.io.IOException;
import java.util.HashMap;
import java.util.Map;

/**
 * Models loaded in this JVM (one TaskManager), shared by every slot that asks for the same path: the weights are
 * memory-mapped once however many slots run the model, and unmapped when the last slot lets go.
 *
 * <p>Static because a TaskManager runs each slot's operators in the same JVM (and the same user-code class loader
 * for one job), which is exactly the sharing scope we want.
 */
public final class ModelRegistry {

    private static final Map<String, Entry> MODELS = new HashMap<>();

    private ModelRegistry() {
    }

    private static final class Entry {
        final LoadedModel model;
        int refs;

        Entry(LoadedModel model) {
            this.model = model;
        }
    }

    /** A slot's hold on a model; {@link #close()} gives it back (idempotent). */
    public static final class Lease implements AutoCloseable {
        private final String key;
        private final LoadedModel model;
        private boolean closed;

        private Lease(String key, LoadedModel model) {
            this.key = key;
            this.model = model;
        }

        public LoadedModel model() {
            return model;
        }

        @Override
        public void close() {
            synchronized (MODELS) {
                if (closed) return;
                closed = true;
                Entry e = MODELS.get(key);
                if (e != null && --e.refs == 0) {
                    MODELS.remove(key);
                    e.model.close();
                }
            }
        }
    }

    /**
     * Takes a hold on the model at {@code modelPath}, loading it with {@code factory} if no slot holds it yet.
     * Loading happens under the registry lock, so concurrent slots wait instead of mapping the file twice.
     */
    public static Lease acquire(EngineFactory factory, String modelPath, Map<String, String> engineOptions)
            throws IOException {
        String key = factory.getClass().getName() + '|' + modelPath + '|' + new java.util.TreeMap<>(engineOptions);
        synchronized (MODELS) {
            Entry e = MODELS.get(key);
            if (e == null) {
                e = new Entry(factory.load(modelPath, engineOptions));
                MODELS.put(key, e);
            }
            e.refs++;
            return new Lease(key, e.model);
        }
    }

    /** Number of slots holding {@code modelPath} loaded by {@code factory}'s class; 0 when unloaded. For tests. */
    public static int holders(EngineFactory factory, String modelPath, Map<String, String> engineOptions) {
        String key = factory.getClass().getName() + '|' + modelPath + '|' + new java.util.TreeMap<>(engineOptions);
        synchronized (MODELS) {
            Entry e = MODELS.get(key);
            return e == null ? 0 : e.refs;
        }
    }
}
