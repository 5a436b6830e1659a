package dev.r1flink.engine;

import java.util.List;

/**
 * The text of one sequence as it is generated: reassembles UTF-8 from token bytes (a token may end mid-character),
 * keeps reasoning and answer apart, matches stop strings, and streams deltas to the listener.
 *
 * <p>Streamed deltas concatenate to exactly the final text: a delta never ends inside a character, text that could
 * still become a stop string is held back, and whitespace at the end of the reasoning and the start of the answer
 * (the {@code \n} and {@code \n\n} around {@code </think>}) is dropped from both. Stop strings match the answer
 * only: a reasoning model often mentions a stop word while thinking.
 */
final class OutputText {
    private final StreamListener listener;
    private final String[] stops;
    private final int longestStop;
    final StringBuilder reasoning = new StringBuilder();
    final StringBuilder answer = new StringBuilder();
    private boolean inAnswer;
    private int emittedReasoning;
    private int emittedAnswer;
    private int need;       // continuation bytes the pending character still needs
    private int codePoint;  // bits of the pending character so far
    private int minCodePoint;
    private boolean stopped;
    private RuntimeException listenerFailure;

    OutputText(StreamListener listener, List<String> stops) {
        this.listener = listener;
        this.stops = stops.stream().filter(s -> !s.isEmpty()).toArray(String[]::new);
        int m = 0;
        for (String s : this.stops) {
            m = Math.max(m, s.length());
        }
        this.longestStop = m;
    }

    boolean inAnswer() {
        return inAnswer;
    }

    /** True once a stop string matched; the answer was cut before it. */
    boolean stopped() {
        return stopped;
    }

    RuntimeException listenerFailure() {
        return listenerFailure;
    }

    /** Appends a token's bytes to the current part; returns true if a stop string matched. */
    boolean append(byte[] bytes) {
        StringBuilder part = inAnswer ? answer : reasoning;
        int before = part.length();
        for (byte b : bytes) {
            decode(b & 0xff, part);
        }
        if (inAnswer && stops.length > 0 && part.length() > before && matchStop(before)) {
            stopped = true;
            return true;
        }
        emit(false);
        return false;
    }

    /** Tells the listener the token counts after a token. */
    void counted(int reasoningTokens, int answerTokens) {
        try {
            listener.onTokens(reasoningTokens, answerTokens);
        } catch (RuntimeException e) {
            if (listenerFailure == null) listenerFailure = e;
        }
    }

    /** Ends the reasoning: flushes it (minus trailing whitespace); further text is answer. */
    void switchToAnswer() {
        if (inAnswer) {
            return;
        }
        flushPartialChar(reasoning);
        trimTrailingWhitespace(reasoning);
        emit(true);
        inAnswer = true;
    }

    /** The model opened {@code <think>} itself before any answer text: back to reasoning. */
    void reopenReasoning() {
        if (inAnswer && answer.length() == 0 && need == 0) {
            inAnswer = false;
        }
    }

    /** Generation ended: flush everything still held back (a dangling partial character becomes U+FFFD). */
    void finish() {
        StringBuilder part = inAnswer ? answer : reasoning;
        if (!stopped) {
            flushPartialChar(part);
        }
        if (!inAnswer) {
            trimTrailingWhitespace(reasoning);
        }
        emit(true);
    }

    private void decode(int b, StringBuilder part) {
        if (need > 0) {
            if ((b & 0xc0) == 0x80) {
                codePoint = (codePoint << 6) | (b & 0x3f);
                if (--need == 0) {
                    if (codePoint < minCodePoint || (codePoint >= 0xd800 && codePoint <= 0xdfff) || codePoint > 0x10ffff) {
                        put(part, 0xfffd);
                    } else {
                        put(part, codePoint);
                    }
                }
                return;
            }
            need = 0;
            put(part, 0xfffd); // truncated sequence; b starts afresh
        }
        if (b < 0x80) {
            put(part, b);
        } else if ((b & 0xe0) == 0xc0) {
            need = 1; codePoint = b & 0x1f; minCodePoint = 0x80;
        } else if ((b & 0xf0) == 0xe0) {
            need = 2; codePoint = b & 0x0f; minCodePoint = 0x800;
        } else if ((b & 0xf8) == 0xf0) {
            need = 3; codePoint = b & 0x07; minCodePoint = 0x10000;
        } else {
            put(part, 0xfffd);
        }
    }

    private void put(StringBuilder part, int cp) {
        if (inAnswer && part.length() == 0 && Character.isWhitespace(cp)) {
            return; // the blank line after </think>
        }
        part.appendCodePoint(cp);
    }

    private void flushPartialChar(StringBuilder part) {
        if (need > 0) {
            need = 0;
            put(part, 0xfffd);
        }
    }

    /** Looks for a stop string ending in the text appended since {@code from}; cuts the answer before it. */
    private boolean matchStop(int from) {
        int start = Math.max(0, from - longestStop + 1);
        for (String s : stops) {
            int at = answer.indexOf(s, Math.max(0, start));
            if (at >= 0) {
                answer.setLength(at);
                return true;
            }
        }
        return false;
    }

    private static void trimTrailingWhitespace(StringBuilder sb) {
        int n = sb.length();
        while (n > 0 && Character.isWhitespace(sb.charAt(n - 1))) {
            n--;
        }
        sb.setLength(n);
    }

    /** Sends what is safe to send; {@code all} = everything (the part is complete). */
    private void emit(boolean all) {
        StringBuilder part = inAnswer ? answer : reasoning;
        int emitted = inAnswer ? emittedAnswer : emittedReasoning;
        int end = part.length();
        if (!all) {
            if (!inAnswer) {
                while (end > emitted && Character.isWhitespace(part.charAt(end - 1))) {
                    end--; // may be the whitespace before </think>
                }
            } else if (longestStop > 0) {
                end = Math.max(emitted, end - heldForStop(part));
            }
            if (end > emitted && Character.isHighSurrogate(part.charAt(end - 1))) {
                end--;
            }
        }
        if (end > emitted) {
            String delta = part.substring(emitted, end);
            if (inAnswer) emittedAnswer = end; else emittedReasoning = end;
            try {
                listener.onText(delta, !inAnswer);
            } catch (RuntimeException e) {
                if (listenerFailure == null) listenerFailure = e;
            }
        }
    }

    /** Length of the longest tail of {@code part} that is a proper prefix of some stop string. */
    private int heldForStop(StringBuilder part) {
        int n = part.length();
        int best = 0;
        for (String s : stops) {
            for (int k = Math.min(s.length() - 1, n); k > best; k--) {
                if (regionMatches(part, n - k, s, k)) {
                    best = k;
                    break;
                }
            }
        }
        return best;
    }

    private static boolean regionMatches(StringBuilder sb, int from, String s, int len) {
        for (int i = 0; i < len; i++) {
            if (sb.charAt(from + i) != s.charAt(i)) return false;
        }
        return true;
    }
}
