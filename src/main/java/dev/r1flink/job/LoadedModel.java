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

    /**
     * An upper bound on the bytes of UTF-8 text one token can cover, so a prompt of {@code b} bytes takes at least
     * {@code b / maxTokenBytes()} tokens: lets validation refuse a prompt far over the context without tokenizing it.
     * 0 = unknown (every prompt is tokenized).
     */
    default int maxTokenBytes() {
        return 0;
    }

    /** Unmaps the weights; called by {@link ModelRegistry} when the last slot lets go. */
    @Override
    void close();
}
