package dev.r1flink.engine;

/**
 * What the engine needs from a tokenizer: prompt tokens (chat template applied), the bytes each token stands for
 * (the engine reassembles UTF-8 itself so a delta never splits a character), and the special tokens of reasoning.
 */
public interface TokenCodec {

    /**
     * Tokens of the request's prompt: the R1 chat template around {@code prompt} (and {@code system}) unless
     * {@code raw}; with {@code thinkPrefix} the assistant turn is opened with {@code <think>\n}.
     */
    int[] encodePrompt(GenerationRequest request, boolean thinkPrefix);

    /** Tokens of {@code text}, special tokens such as {@code </think>} parsed, no BOS. */
    int[] encode(String text);

    /** The UTF-8 bytes token {@code token} stands for; may be part of a character. Not called for specials below. */
    byte[] tokenBytes(int token);

    /** End of generation (end-of-sentence, end-of-turn). */
    boolean isEndOfGeneration(int token);

    /** The {@code <think>} token, or -1. */
    int thinkStart();

    /** The {@code </think>} token, or -1. */
    int thinkEnd();
}
