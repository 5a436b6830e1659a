package dev.r1flink.model;

import dev.r1flink.tensor.FloatTensor;
import dev.r1flink.tensor.Parallel;

/**
 * Scratch buffers of one caller of {@link Model#forward}, sized once for up to {@link #capacity()} batch rows so
 * that the decode loop allocates nothing. Not thread-safe: one State per engine (the Model itself is shared).
 * Row {@code i} of a buffer {@code [capacity][w]} starts at {@code i * w}.
 */
public final class State {

    final int capacity;
    final float[] x;        // [capacity][dim]  residual stream
    final float[] xb;       // [capacity][dim]  normalized input of a sublayer
    final float[] xb2;      // [capacity][dim]  output of a sublayer before the residual add
    final float[] q;        // [capacity][qDim]
    final float[] k;        // [capacity][kvDim]
    final float[] v;        // [capacity][kvDim]
    final float[] attOut;   // [capacity][qDim] attention output, heads concatenated
    final float[] hb;       // [capacity][ff]   gate, then silu(gate) * up
    final float[] hb2;      // [capacity][ff]   up
    final float[] ropeCos;  // [capacity][ropeDim/2]
    final float[] ropeSin;  // [capacity][ropeDim/2]
    final int[] cells;      // [capacity] KV cell of each row
    final float[] outRows;  // [capacity][dim]  final-normalized rows that want logits, compacted
    /** Attention scores of one (row, head), per worker thread; grows with the context, never shrinks. */
    final ThreadLocal<float[]> scores = ThreadLocal.withInitial(() -> new float[256]);

    // Reused tasks for Parallel, so that no lambda is allocated per call.
    final MatmulTask matmul = new MatmulTask();
    final Model.AttentionTask attention;

    State(Model model, int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity must be >= 1, got " + capacity);
        }
        ModelConfig c = model.config;
        this.capacity = capacity;
        x = new float[capacity * c.embeddingLength()];
        xb = new float[capacity * c.embeddingLength()];
        xb2 = new float[capacity * c.embeddingLength()];
        q = new float[capacity * c.qDim()];
        k = new float[capacity * c.kvDim()];
        v = new float[capacity * c.kvDim()];
        attOut = new float[capacity * c.qDim()];
        hb = new float[Math.multiplyExact(capacity, c.feedForwardLength())];
        hb2 = new float[Math.multiplyExact(capacity, c.feedForwardLength())];
        ropeCos = new float[capacity * c.ropeDimensionCount() / 2];
        ropeSin = new float[capacity * c.ropeDimensionCount() / 2];
        cells = new int[capacity];
        outRows = new float[capacity * c.embeddingLength()];
        attention = model.new AttentionTask(this);
    }

    /** Most rows one forward step may hold. */
    public int capacity() {
        return capacity;
    }

    float[] scores(int n) {
        float[] s = scores.get();
        if (s.length < n) {
            s = new float[Math.max(n, s.length * 2)];
            scores.set(s);
        }
        return s;
    }

    /** {@code out[b][r] = w[r] . x[b]} for {@code b < n}, rows split over the threads. */
    static final class MatmulTask implements Parallel.RangeTask {
        private FloatTensor w;
        private float[] x;
        private int n;
        private float[] out;

        void run(Parallel parallel, FloatTensor w, float[] x, int n, float[] out) {
            this.w = w;
            // opt-in llama.cpp parity experiment (see GgmlRounding); off: x as is
            this.x = GgmlRounding.ENABLED ? GgmlRounding.activations(w.type(), x, n * w.cols()) : x;
            this.n = n;
            this.out = out;
            parallel.forRange(w.rows(), 8, this);
            this.w = null;
            this.x = null;
            this.out = null;
        }

        @Override
        public void run(int from, int to) {
            w.matmul(x, w.cols(), n, out, w.rows(), from, to);
        }
    }
}
