package dev.r1flink.engine;

/**
 * Runs generation requests on one loaded model, batching the requests in flight.
 *
 * <pre>{@code
 * try (Engine engine = Engine.open(model, codec, EngineOptions.builder().threads(2).build())) {
 *     Generation g = engine.submit(GenerationRequest.builder("1", "What is 2+2?").build(), StreamListener.NONE);
 *     GenerationResult r = g.result().join();
 * }
 * }</pre>
 *
 * <p>{@link #submit} never blocks; {@link #close()} completes every open request (as CANCELLED if unfinished), so
 * nothing is left hanging. Implementations are thread-safe.
 */
public interface Engine extends AutoCloseable {

    Generation submit(GenerationRequest request, StreamListener listener);

    /** Number of prompt tokens {@code request} will take, or an exception naming why it cannot run. */
    int promptTokens(GenerationRequest request);

    /** Longest prompt + generation this engine can hold for one sequence. */
    int contextLength();

    @Override
    void close();

    /**
     * Opens a {@link BatchingEngine} on a model runtime and its tokenizer; the engine starts its thread at once.
     * Closing the engine does not close the model.
     */
    static Engine open(ForwardModel model, TokenCodec codec, EngineOptions options) {
        return new BatchingEngine(model, codec, options);
    }
}
