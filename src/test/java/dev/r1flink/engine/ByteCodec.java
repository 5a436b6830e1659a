package dev.r1flink.engine;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Test double tokenizer: one token per byte (0..255), then end-of-sequence, {@code <think>}, {@code </think>}.
 * The "chat template" is just system + prompt, plus {@code <think>\n} when asked.
 */
final class ByteCodec implements TokenCodec {
    static final int EOS = 256;
    static final int THINK = 257;
    static final int END_THINK = 258;
    static final int VOCAB = 259;
    private static final byte[][] BYTES = new byte[256][];

    static {
        for (int i = 0; i < 256; i++) {
            BYTES[i] = new byte[] {(byte) i};
        }
    }

    @Override
    public int[] encodePrompt(GenerationRequest request, boolean thinkPrefix) {
        String text = (request.system() == null ? "" : request.system()) + request.prompt();
        int[] body = encode(text);
        if (!thinkPrefix) {
            return body;
        }
        int[] out = java.util.Arrays.copyOf(body, body.length + 2);
        out[body.length] = THINK;
        out[body.length + 1] = '\n';
        return out;
    }

    @Override
    public int[] encode(String text) {
        ByteArrayOutputStream tokens = new ByteArrayOutputStream();
        java.util.List<Integer> out = new java.util.ArrayList<>();
        int i = 0;
        while (i < text.length()) {
            if (text.startsWith("</think>", i)) {
                out.add(END_THINK);
                i += 8;
            } else if (text.startsWith("<think>", i)) {
                out.add(THINK);
                i += 7;
            } else {
                int cp = text.codePointAt(i);
                for (byte b : new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8)) {
                    out.add(b & 0xff);
                }
                i += Character.charCount(cp);
            }
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    @Override
    public byte[] tokenBytes(int token) {
        return BYTES[token];
    }

    @Override
    public boolean isEndOfGeneration(int token) {
        return token == EOS;
    }

    @Override
    public int thinkStart() {
        return THINK;
    }

    @Override
    public int thinkEnd() {
        return END_THINK;
    }
}
