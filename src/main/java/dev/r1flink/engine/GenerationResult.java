package dev.r1flink.engine;

/**
 * The outcome of one request.
 *
 * @param reasoning  text between {@code <think>} and {@code </think>} (the forced {@code <think>\n} prefix counts)
 * @param answer     text after {@code </think>}
 * @param error      why, when {@code finishReason == ERROR}; otherwise null
 * @param queuedNanos time from submit to the first prefill step
 * @param firstTokenNanos time from submit to the first generated token
 * @param totalNanos time from submit to completion
 */
public record GenerationResult(
        String id,
        String reasoning,
        String answer,
        FinishReason finishReason,
        String error,
        int promptTokens,
        int reasoningTokens,
        int answerTokens,
        long queuedNanos,
        long firstTokenNanos,
        long totalNanos) {

    public int generatedTokens() {
        return reasoningTokens + answerTokens;
    }
}
