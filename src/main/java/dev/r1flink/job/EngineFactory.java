package dev.r1flink.job;

import dev.r1flink.engine.Engine;

import java.io.IOException;
import java.io.Serializable;
import java.util.Map;

/**
 * How the job gets its model and engines. Shipped with the job graph, so it must be serializable; it does its work
 * on the TaskManagers.
 *
 * <p>Two steps because the costs differ: {@link #load} memory-maps the weights and builds the tokenizer once per
 * TaskManager ({@link ModelRegistry} shares the result between slots), {@link #start} makes one slot's engine (its
 * threads, its KV cache) over that shared model.
 */
public interface EngineFactory extends Serializable {

    /** Loads the model at {@code modelPath}; called once per TaskManager and path, by {@link ModelRegistry}. */
    LoadedModel load(String modelPath, Map<String, String> engineOptions) throws IOException;

    /** Starts one slot's engine with {@code threads} compute threads over {@code model}. */
    Engine start(LoadedModel model, Map<String, String> engineOptions, int threads);
}
