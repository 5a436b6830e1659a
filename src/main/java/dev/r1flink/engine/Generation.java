package dev.r1flink.engine;

import java.util.concurrent.CompletableFuture;

/** A submitted request: its result (never completed exceptionally: failures are {@link FinishReason#ERROR}), and cancel. */
public interface Generation {
    String id();

    CompletableFuture<GenerationResult> result();

    /** Stops generation as soon as possible; the result then has {@link FinishReason#CANCELLED}. Idempotent. */
    void cancel();

    /**
     * The tokens sampled so far, to continue this request elsewhere ({@link GenerationRequest#resumeFrom}); safe
     * to call from any thread at any time, also after the result. Null when the engine cannot continue requests.
     */
    default GenerationProgress progress() {
        return null;
    }
}
