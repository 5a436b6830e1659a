package dev.r1flink.job;

import dev.r1flink.engine.GenerationRequest;

/**
 * A model loaded once per TaskManager: weights (memory-mapped) and tokenizer. Enough to validate a request before
 * it reaches an engine; {@link EngineFactory#start} turns it into engines.
 */
public interface LoadedModel extends AutoCloseable {

    /** Longest prompt + generation one sequence can hold. */
    int contextLength();

    /** Number of prompt tokens {@code request} will take (chat template included). */
    int promptTokens(GenerationRequest request);

    /** Unmaps the weights; called by {@link ModelRegistry} when the last slot lets go. */
    @Override
    void close();
}
