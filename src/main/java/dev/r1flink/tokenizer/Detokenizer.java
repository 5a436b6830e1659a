package dev.r1flink.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Streaming decoder: takes token ids one at a time and returns only whole characters, holding back the bytes of a
 * character that a later token completes (byte-level BPE splits emoji and CJK characters across tokens).
 *
 * <pre>{@code
 * Detokenizer detok = tokenizer.detokenizer(false);
 * for (int id : generated) out.print(detok.accept(id));   // never half a character
 * out.print(detok.flush());                                // a dangling partial character becomes U+FFFD
 * }</pre>
 *
 * <p>The concatenation of everything returned equals {@link BpeTokenizer#decode(int[], boolean)} of all the tokens.
 * Bytes that can never become a character (a stray continuation byte, an invalid lead byte) are not held: they come
 * out as U+FFFD at once. Not thread-safe: one per sequence.
 */
public final class Detokenizer {

    private final BpeTokenizer tokenizer;
    private final boolean special;
    private final ByteArrayOutputStream piece = new ByteArrayOutputStream(16);
    private byte[] pending = new byte[8]; // bytes of an unfinished character (at most 3)
    private int pendingLength;

    Detokenizer(BpeTokenizer tokenizer, boolean special) {
        this.tokenizer = tokenizer;
        this.special = special;
    }

    /** Adds one token; returns the characters it completes (possibly empty, never a partial character). */
    public String accept(int id) {
        piece.reset();
        tokenizer.appendPiece(id, special, piece);
        byte[] bytes = piece.toByteArray();
        if (bytes.length == 0) {
            return "";
        }
        byte[] all = new byte[pendingLength + bytes.length];
        System.arraycopy(pending, 0, all, 0, pendingLength);
        System.arraycopy(bytes, 0, all, pendingLength, bytes.length);
        int complete = completePrefix(all, all.length);
        pendingLength = all.length - complete;
        if (pending.length < pendingLength) {
            pending = Arrays.copyOf(pending, pendingLength);
        }
        System.arraycopy(all, complete, pending, 0, pendingLength);
        return new String(all, 0, complete, StandardCharsets.UTF_8);
    }

    /** Returns what is held back (as U+FFFD, since it is not a whole character) and starts over. */
    public String flush() {
        String s = new String(pending, 0, pendingLength, StandardCharsets.UTF_8);
        pendingLength = 0;
        return s;
    }

    /** Number of bytes held back, waiting for the rest of a character. */
    public int pendingBytes() {
        return pendingLength;
    }

    /**
     * Length of the longest prefix of {@code b[0, n)} that does not end inside an unfinished UTF-8 sequence: only a
     * valid lead byte among the last three bytes, followed by fewer continuation bytes than it needs, is held.
     */
    static int completePrefix(byte[] b, int n) {
        for (int i = n - 1; i >= 0 && i >= n - 3; i--) {
            int c = b[i] & 0xFF;
            if ((c & 0xC0) == 0x80) {
                continue; // continuation byte: look further back for its lead
            }
            int need = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
            return i + need > n ? i : n;
        }
        return n;
    }
}
