package dev.r1flink.model;

/**
 * The rows of one forward step: row {@code i} feeds token {@code tokens[i]} of sequence {@code seqIds[i]} at
 * position {@code positions[i]}. Rows of one sequence appear in increasing position order (a prefill chunk), and
 * a row attends to positions {@code 0..positions[i]} of its own sequence. Rows with {@code wantLogits[i]} get a
 * vocabulary-sized row of logits, in row order.
 *
 * <p>Reused across steps: the engine fills it, the model reads it. Capacity is fixed at construction.
 */
public final class Batch {
    public final int[] tokens;      // [capacity]
    public final int[] positions;   // [capacity]
    public final int[] seqIds;      // [capacity] ids understood by the KvCache
    public final boolean[] wantLogits; // [capacity]
    private int size;

    public Batch(int capacity) {
        tokens = new int[capacity];
        positions = new int[capacity];
        seqIds = new int[capacity];
        wantLogits = new boolean[capacity];
    }

    public int capacity() {
        return tokens.length;
    }

    public int size() {
        return size;
    }

    public int outputCount() {
        int n = 0;
        for (int i = 0; i < size; i++) {
            if (wantLogits[i]) {
                n++;
            }
        }
        return n;
    }

    public void clear() {
        size = 0;
    }

    /** Appends a row; returns its index. */
    public int add(int token, int position, int seqId, boolean logits) {
        if (size == tokens.length) {
            throw new IllegalStateException("batch full (" + size + " rows)");
        }
        tokens[size] = token;
        positions[size] = position;
        seqIds[size] = seqId;
        wantLogits[size] = logits;
        return size++;
    }
}
