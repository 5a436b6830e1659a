package dev.r1flink.engine;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Test double tokenizer for models without a vocabulary: a prompt is space-separated token ids, and each token's
 * text is {@code "<id>"}, so the output text is a transcript of the tokens. No end-of-sequence, no think tokens.
 */
final class IdCodec implements TokenCodec {
    private final byte[][] pieces;

    IdCodec(int vocab) {
        pieces = new byte[vocab][];
        for (int i = 0; i < vocab; i++) pieces[i] = ("<" + i + ">").getBytes(StandardCharsets.US_ASCII);
    }

    @Override
    public int[] encodePrompt(GenerationRequest request, boolean thinkPrefix) {
        return Arrays.stream(request.prompt().trim().split(" +")).mapToInt(Integer::parseInt).toArray();
    }

    @Override public int[] encode(String text) { return new int[0]; }
    @Override public byte[] tokenBytes(int token) { return pieces[token]; }
    @Override public boolean isEndOfGeneration(int token) { return false; }
    @Override public int thinkStart() { return -1; }
    @Override public int thinkEnd() { return -1; }
}
