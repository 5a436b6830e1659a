package dev.r1flink.engine.sampling;

import java.util.Arrays;

/**
 * The tokens a sampler chain works on: parallel arrays of token id, logit and (after {@link #softmax()})
 * probability, of which the first {@link #size()} are live. Samplers shrink, reorder and rescale them in place.
 *
 * <p>One instance serves every sequence of an engine (sampling runs on the scheduler thread, one row at a time), so
 * its vocabulary-sized buffers are allocated once: nothing here allocates per token.
 */
public final class Candidates {
    final int[] ids;      // [vocab]
    final float[] logits; // [vocab]
    final float[] probs;  // [vocab] valid after softmax(), in candidate order
    private final long[] keys; // [vocab] sort keys: logit bits << 32 | (MAX - id), so ties go to the lower id
    int size;
    /** True when candidates are in descending logit order (ties: lower id first). */
    boolean sorted;
    /** True while candidate {@code i} is token {@code i} (no sampler has reordered or cut the list). */
    boolean identity;

    public Candidates(int vocabularySize) {
        ids = new int[vocabularySize];
        logits = new float[vocabularySize];
        probs = new float[vocabularySize];
        keys = new long[vocabularySize];
    }

    /** Loads one row of logits: {@code src[offset .. offset + vocab)}. */
    public void reset(float[] src, int offset) {
        int n = ids.length;
        System.arraycopy(src, offset, logits, 0, n);
        for (int i = 0; i < n; i++) {
            ids[i] = i;
        }
        size = n;
        sorted = false;
        identity = true;
    }

    /** Loads {@code row} as the logits (tests and tools). */
    public void reset(float[] row) {
        if (row.length != ids.length) {
            throw new IllegalArgumentException("row has " + row.length + " logits, vocabulary is " + ids.length);
        }
        reset(row, 0);
    }

    public int size() {
        return size;
    }

    public int id(int i) {
        return ids[i];
    }

    public float logit(int i) {
        return logits[i];
    }

    public float prob(int i) {
        return probs[i];
    }

    /** Index of the largest logit (lowest id on ties). */
    int argmax() {
        int best = 0;
        for (int i = 1; i < size; i++) {
            if (logits[i] > logits[best] || (logits[i] == logits[best] && ids[i] < ids[best])) {
                best = i;
            }
        }
        return best;
    }

    /** probs = softmax(logits) over the live candidates, summed in candidate order (deterministic). */
    public void softmax() {
        float inv = dev.r1flink.tensor.VectorOps.softmaxExp(logits, 0, probs, 0, size);
        for (int i = 0; i < size; i++) {
            probs[i] *= inv;
        }
    }

    /**
     * Puts the {@code k} largest candidates first, in descending order (ties: lower id first). Candidates past
     * {@code k} stay live but unordered; {@link #sorted} becomes true only when {@code k >= size}. Quickselect on
     * packed keys, then a primitive sort of the head: no allocation, O(size + k log k).
     */
    void sortTop(int k) {
        k = Math.min(k, size);
        if (sorted) {
            return;
        }
        for (int i = 0; i < size; i++) {
            keys[i] = key(logits[i], ids[i]);
        }
        if (k < size) {
            select(keys, 0, size - 1, size - k); // keys[size-k .. size) are the k largest
            Arrays.sort(keys, size - k, size);
        } else {
            Arrays.sort(keys, 0, size);
        }
        // Write back descending: the largest key first. The tail (past k) keeps the selected-out keys' order.
        int w = 0;
        for (int i = size - 1; i >= size - k; i--, w++) {
            unpack(keys[i], w);
        }
        for (int i = 0; i < size - k; i++, w++) {
            unpack(keys[i], w);
        }
        sorted = k >= size;
        identity = false;
    }

    private void unpack(long key, int at) {
        int id = Integer.MAX_VALUE - (int) key;
        int bits = (int) (key >> 32);
        bits ^= (bits >> 31) & 0x7fffffff;
        ids[at] = id;
        logits[at] = Float.intBitsToFloat(bits);
    }

    static long key(float logit, int id) {
        int bits = Float.floatToRawIntBits(logit);
        bits ^= (bits >> 31) & 0x7fffffff; // signed-int order now equals float order
        return ((long) bits << 32) | (Integer.MAX_VALUE - id);
    }

    /** Rearranges a[lo..hi] so that a[k] holds the value it would have sorted, smaller ones before it. */
    private static void select(long[] a, int lo, int hi, int k) {
        while (hi > lo) {
            int mid = (lo + hi) >>> 1;
            // median of three as pivot: keeps sorted / reverse-sorted logits linear
            if (a[mid] < a[lo]) swap(a, mid, lo);
            if (a[hi] < a[lo]) swap(a, hi, lo);
            if (a[hi] < a[mid]) swap(a, hi, mid);
            long pivot = a[mid];
            int i = lo, j = hi;
            while (i <= j) {
                while (a[i] < pivot) i++;
                while (a[j] > pivot) j--;
                if (i <= j) {
                    swap(a, i, j);
                    i++;
                    j--;
                }
            }
            if (k <= j) {
                hi = j;
            } else if (k >= i) {
                lo = i;
            } else {
                return;
            }
        }
    }

    private static void swap(long[] a, int i, int j) {
        long t = a[i];
        a[i] = a[j];
        a[j] = t;
    }

    /** Keeps the first {@code n} candidates. */
    void truncate(int n) {
        if (n < size) {
            size = n;
            identity = false;
        }
    }
}
