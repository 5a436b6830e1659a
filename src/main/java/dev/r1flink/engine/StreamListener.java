package dev.r1flink.engine;

/** Receives text as it is generated; called on an engine thread, so it must return quickly. */
@FunctionalInterface
public interface StreamListener {
    /** {@code delta} is whole UTF-8 characters; {@code reasoning} tells which part it belongs to. */
    void onText(String delta, boolean reasoning);

    /**
     * After each generated token (replayed ones of a continued request too), with the counts so far; the token's
     * text, if any is ready, was passed to {@link #onText} just before. For listeners that batch by token count.
     */
    default void onTokens(int reasoningTokens, int answerTokens) {
    }

    StreamListener NONE = (d, r) -> { };
}
