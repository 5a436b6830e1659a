package dev.r1flink.tokenizer;

/**
 * GPT-2's reversible byte to Unicode mapping, under which byte-level BPE vocabularies store their tokens.
 *
 * <p>Printable bytes ({@code !..~}, {@code ¡..¬}, {@code ®..ÿ}) stand for themselves; the other 68 bytes (control
 * characters, space, DEL, NBSP, soft hyphen) are moved to U+0100 onwards in byte order, so that a space is stored
 * as {@code Ġ} (U+0120) and a newline as {@code Ċ} (U+010A). Every byte maps to one char in the BMP.
 */
final class ByteUnicode {

    /** [256] byte value -> the char that stands for it. */
    private static final char[] BYTE_TO_CHAR = new char[256];
    /** [0x144] char -> byte value, or -1; every mapped char is below U+0144. */
    private static final short[] CHAR_TO_BYTE = new short[0x144];

    static {
        java.util.Arrays.fill(CHAR_TO_BYTE, (short) -1);
        int next = 256;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            char c = (char) (printable ? b : next++);
            BYTE_TO_CHAR[b] = c;
            CHAR_TO_BYTE[c] = (short) b;
        }
    }

    private ByteUnicode() {
    }

    /** The char that stands for byte {@code b} (0..255). */
    static char toChar(int b) {
        return BYTE_TO_CHAR[b & 0xFF];
    }

    /** The byte {@code c} stands for, or -1 if {@code c} is not in the mapping. */
    static int toByte(char c) {
        return c < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[c] : -1;
    }

    /** Stores {@code text}'s UTF-8 bytes as a byte-level BPE string. */
    static String encode(String text) {
        byte[] utf8 = text.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        char[] out = new char[utf8.length];
        for (int i = 0; i < utf8.length; i++) {
            out[i] = BYTE_TO_CHAR[utf8[i] & 0xFF];
        }
        return new String(out);
    }
}
