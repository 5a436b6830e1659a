package dev.r1flink.engine;

import dev.r1flink.model.Model;
import dev.r1flink.tokenizer.BpeTokenizer;
import dev.r1flink.tokenizer.Vocabulary;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Runs generation requests on one loaded model, batching the requests in flight.
 *
 * <pre>{@code
 * try (Engine engine = Engine.open(Path.of("r1-1.5b-q8_0.gguf"), EngineOptions.builder().threads(2).build())) {
 *     Generation g = engine.submit(GenerationRequest.builder("1", "What is 2+2?").build(), StreamListener.NONE);
 *     GenerationResult r = g.result().join();
 * }
 * }</pre>
 *
 * <p>{@link #submit} never blocks (it tokenizes on the caller's thread and enqueues); {@link #close()} completes every
 * open request (as CANCELLED if unfinished), so nothing is left hanging. Implementations are thread-safe. The
 * listener runs on the engine thread; if it throws, that request ends as ERROR.
 *
 * <p>Token counts: the {@code </think>} the model generates counts as reasoning; end-of-sequence and the tokens
 * injected when the thinking budget is spent count as neither. Stop strings match the answer only.
 */
public interface Engine extends AutoCloseable {

    Generation submit(GenerationRequest request, StreamListener listener);

    /** Number of prompt tokens {@code request} will take, or an exception naming why it cannot run. */
    int promptTokens(GenerationRequest request);

    /** Longest prompt + generation this engine can hold for one sequence. */
    int contextLength();

    /** The kernels this engine's weight products run on, e.g. {@code native (avx512-vnni)}. */
    default String kernels() {
        return "unknown";
    }

    @Override
    void close();

    /**
     * Opens a {@link BatchingEngine} on a model runtime and its tokenizer; the engine starts its thread at once.
     * Closing the engine does not close the model.
     */
    static Engine open(ForwardModel model, TokenCodec codec, EngineOptions options) {
        return new BatchingEngine(model, codec, options);
    }

    /**
     * Opens an engine on a loaded model and its tokenizer. One {@link Model} (the weights, read-only) can back many
     * engines in one JVM, e.g. one per Flink subtask; each engine has its own scratch state and KV cache.
     */
    static Engine open(Model model, BpeTokenizer tokenizer, EngineOptions options) {
        return new BatchingEngine(new ModelForward(model, options.resolveBackend()),
                new BpeTokenCodec(tokenizer), options);
    }

    /** Loads a GGUF model (weights and tokenizer) and opens an engine on it. */
    static Engine open(Path modelFile, EngineOptions options) throws IOException {
        Model model = Model.load(modelFile);
        BpeTokenizer tokenizer = new BpeTokenizer(Vocabulary.load(modelFile));
        return open(model, tokenizer, options);
    }
}
