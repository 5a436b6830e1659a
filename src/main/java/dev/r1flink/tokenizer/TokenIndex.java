package dev.r1flink.tokenizer;

import java.util.Arrays;

/**
 * Token text -> id, looked up by a range of a string or by a string with one char left out, without allocating:
 * a merge {@code "a b"} is resolved to the ids of {@code a}, {@code b} and {@code ab} in place. With 150k tokens and
 * 150k merges, building {@code HashMap<String, Integer>} and a substring per lookup was most of the load time.
 */
final class TokenIndex {

    private final String[] tokens; // [n] texts, indexed by id
    private final int[] table;     // [capacity] token id, or -1
    private final int mask;
    private final int shift;

    /** Indexes {@code tokens}; when two tokens have the same text the later id wins, as in llama.cpp. */
    TokenIndex(String[] tokens) {
        this.tokens = tokens;
        int capacity = Integer.highestOneBit(Math.max(4, tokens.length) * 2 - 1) << 1;
        table = new int[capacity];
        Arrays.fill(table, -1);
        mask = capacity - 1;
        shift = 32 - Integer.numberOfTrailingZeros(capacity);
        for (int id = 0; id < tokens.length; id++) {
            String t = tokens[id];
            int i = slot(t.hashCode());
            while (table[i] >= 0 && !tokens[table[i]].equals(t)) {
                i = (i + 1) & mask;
            }
            table[i] = id;
        }
    }

    /** Fibonacci hashing: the top bits of h * 2^32/phi, so similar strings land far apart. */
    private int slot(int h) {
        return (h * 0x9E3779B9) >>> shift;
    }

    /** The id of {@code s}, or -1. */
    int find(String s) {
        return find(s, 0, s.length());
    }

    /** The id of the token equal to {@code s[from, to)}, or -1. */
    int find(String s, int from, int to) {
        int h = 0;
        for (int k = from; k < to; k++) {
            h = 31 * h + s.charAt(k);
        }
        int len = to - from;
        for (int i = slot(h); table[i] >= 0; i = (i + 1) & mask) {
            String t = tokens[table[i]];
            if (t.length() == len && t.regionMatches(0, s, from, len)) {
                return table[i];
            }
        }
        return -1;
    }

    /** The id of the token equal to {@code s} without its char at {@code skip}, or -1. */
    int findWithout(String s, int skip) {
        int h = 0;
        for (int k = 0; k < s.length(); k++) {
            if (k != skip) {
                h = 31 * h + s.charAt(k);
            }
        }
        int len = s.length() - 1;
        for (int i = slot(h); table[i] >= 0; i = (i + 1) & mask) {
            String t = tokens[table[i]];
            if (t.length() == len && t.regionMatches(0, s, 0, skip) && t.regionMatches(skip, s, skip + 1, len - skip)) {
                return table[i];
            }
        }
        return -1;
    }
}
