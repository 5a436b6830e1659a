package dev.r1flink.model;

import dev.r1flink.tensor.Backend;
import dev.r1flink.tensor.FloatTensor;
import dev.r1flink.tensor.MatmulInput;
import dev.r1flink.tensor.Parallel;
import dev.r1flink.tensor.VectorOps;

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
    /** Attention scores of one (row, KV head group), per worker thread; grows with the context, never shrinks. */
    final ThreadLocal<float[]> scores = ThreadLocal.withInitial(() -> new float[256]);
    /** K/V cache row offsets of one (row, head)'s positions, per worker thread; grows like {@link #scores}. */
    final ThreadLocal<int[]> kvRows = ThreadLocal.withInitial(() -> new int[256]);

    /** One K or V row converted to floats, per worker thread. */
    final ThreadLocal<float[]> rowScratch = ThreadLocal.withInitial(() -> new float[0]);
    /** Softmax normalisers of one group's heads, per worker thread. */
    final ThreadLocal<float[]> headScales = ThreadLocal.withInitial(() -> new float[0]);

    // deepseek2 (null otherwise): multi-head latent attention
    final float[] qa;       // [capacity][qLora]          low-rank query, then its rmsnorm
    final float[] kvA;      // [capacity][kvLora+rope]    compressed latent (normed) and rope part: one cache row
    final float[] qMla;     // [capacity][heads][kvLora+rope] absorbed query: q_nope x attn_k_b, then rope'd q_pe
    final float[] attLat;   // [capacity][heads][kvLora]  attention output in latent space, before attn_v_b
    // deepseek2 mixture of experts: routing, and the (row, slot) pairs packed by expert
    final float[] routerLogits; // [capacity][nExpert]
    final float[] routerProbs;  // [nExpert] one row's gating probabilities
    final float[] selection;    // [nExpert] one row's selection scores (probs + bias, groups masked)
    final float[] groupScores;  // [nGroups]
    final int[] selected;       // [capacity][used] expert of each slot, best first
    final float[] routeWeights; // [capacity][used]
    final int[] slotPos;        // [capacity][used] packed position of each (row, slot)
    final int[] expertRows;     // [nExpert] pairs per expert this step
    final int[] expertStart;    // [nExpert] first packed position of each expert
    final float[] xe;           // [capacity*used][dim]   inputs packed by expert
    final float[] ge;           // [capacity*used][ffExp] gate, then silu(gate) * up
    final float[] ue;           // [capacity*used][ffExp] up
    final float[] ye;           // [capacity*used][dim]   expert outputs
    final float[] shared;       // [capacity][dim]        shared experts' output

    // Reused tasks for Parallel, so that no lambda is allocated per call.
    final MatmulTask matmul;
    final GroupedMatmulTask grouped;
    final Model.AttentionTask attention;
    final SiluMulTask siluMul = new SiluMulTask();

    State(Model model, int capacity, Backend backend) {
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
        int ff = c.feedForwardLength();
        ModelConfig.Moe moe = c.moe();
        if (moe != null) {
            ff = Math.max(ff, moe.expertFeedForwardLength() * moe.expertSharedCount());
        }
        hb = new float[Math.multiplyExact(capacity, ff)];
        hb2 = new float[Math.multiplyExact(capacity, ff)];
        ModelConfig.Mla mla = c.mla();
        int dim = c.embeddingLength();
        if (mla != null) {
            qa = new float[capacity * Math.max(1, mla.qLoraRank())];
            kvA = new float[capacity * c.kvDim()];
            qMla = new float[capacity * c.headCount() * c.kvDim()];
            attLat = new float[capacity * c.headCount() * mla.kvLoraRank()];
        } else {
            qa = kvA = qMla = attLat = null;
        }
        int groups = c.headCount();
        if (moe != null) {
            int n = moe.expertCount();
            int pairs = Math.multiplyExact(capacity, moe.expertUsedCount());
            routerLogits = new float[capacity * n];
            routerProbs = new float[n];
            selection = new float[n];
            groupScores = new float[Math.max(1, moe.expertGroupCount())];
            selected = new int[pairs];
            routeWeights = new float[pairs];
            slotPos = new int[pairs];
            expertRows = new int[n];
            expertStart = new int[n];
            xe = new float[Math.multiplyExact(pairs, dim)];
            ge = new float[Math.multiplyExact(pairs, moe.expertFeedForwardLength())];
            ue = new float[Math.multiplyExact(pairs, moe.expertFeedForwardLength())];
            ye = new float[Math.multiplyExact(pairs, dim)];
            shared = new float[capacity * dim];
            groups = Math.max(groups, n);
        } else {
            routerLogits = routerProbs = selection = groupScores = routeWeights = xe = ge = ue = ye = shared = null;
            selected = slotPos = expertRows = expertStart = null;
        }
        ropeCos = new float[capacity * c.ropeDimensionCount() / 2];
        ropeSin = new float[capacity * c.ropeDimensionCount() / 2];
        cells = new int[capacity];
        outRows = new float[capacity * c.embeddingLength()];
        attention = model.new AttentionTask(this);
        matmul = new MatmulTask(new MatmulInput(backend));
        grouped = new GroupedMatmulTask(backend, mla != null || moe != null ? groups : 0);
    }

    /** The kernels this state's weight products run on. */
    public Backend backend() {
        return matmul.input.backend();
    }

    /** Most rows one forward step may hold. */
    public int capacity() {
        return capacity;
    }

    float[] scores(int n) {
        return atLeast(scores, n);
    }

    /** This thread's array of {@code local}, grown (at least doubling) to hold {@code n}. */
    private static float[] atLeast(ThreadLocal<float[]> local, int n) {
        float[] a = local.get();
        if (a.length < n) {
            a = new float[Math.max(n, a.length * 2)];
            local.set(a);
        }
        return a;
    }

    float[] rowScratch(int n) {
        return atLeast(rowScratch, n);
    }

    float[] headScales(int n) {
        return atLeast(headScales, n);
    }

    int[] kvRows(int n) {
        int[] r = kvRows.get();
        if (r.length < n) {
            r = new int[Math.max(n, r.length * 2)];
            kvRows.set(r);
        }
        return r;
    }

    /**
     * {@code out_j[b][r] = w_j[r] . x[b]} for {@code b < n} and up to three weights sharing the input, their rows
     * concatenated and split over the threads in one parallel region (one barrier instead of three). The split
     * cannot change a result: each (row, vector) product is computed the same way wherever the range boundary falls.
     */
    static final class MatmulTask implements Parallel.RangeTask {
        final MatmulInput input;
        private final FloatTensor[] w = new FloatTensor[3];
        private final float[][] out = new float[3][];
        private int count;

        MatmulTask(MatmulInput input) {
            this.input = input;
        }

        void run(Parallel parallel, FloatTensor w0, float[] x, int n, float[] out0) {
            run(parallel, x, n, w0, out0, null, null, null, null);
        }

        void run(Parallel parallel, float[] x, int n, FloatTensor w0, float[] out0, FloatTensor w1, float[] out1,
                 FloatTensor w2, float[] out2) {
            w[0] = w0;
            out[0] = out0;
            w[1] = w1;
            out[1] = out1;
            w[2] = w2;
            out[2] = out2;
            count = w2 != null ? 3 : w1 != null ? 2 : 1;
            // opt-in llama.cpp parity experiment (see GgmlRounding); off: x as is. Weights that share an input have
            // the same activation type (Q4_K_M mixes Q4_K and Q6_K, both Q8_K).
            float[] in = GgmlRounding.ENABLED ? GgmlRounding.activations(w0.type(), x, n * w0.cols()) : x;
            input.prepare(in, n, w0.cols(), w0, w1, w2);
            int rows = 0;
            for (int j = 0; j < count; j++) {
                rows += w[j].rows();
            }
            parallel.forRange(rows, 8, this);
            java.util.Arrays.fill(w, null);
            java.util.Arrays.fill(out, null);
        }

        @Override
        public void run(int from, int to) {
            int base = 0;
            for (int j = 0; j < count; j++) {
                FloatTensor t = w[j];
                int lo = Math.max(from, base);
                int hi = Math.min(to, base + t.rows());
                if (lo < hi) {
                    input.multiply(t, out[j], t.rows(), lo - base, hi - base);
                }
                base += t.rows();
            }
        }
    }

    /**
     * Weight products of several groups in one parallel region: group {@code g} has its own input rows (one
     * attention head's slice of every batch row, or the rows routed to one expert, packed) and one or two weights
     * ({@code w0} into {@code out0}, {@code w1} into {@code out1}, both at the group's output offset). The rows of
     * all groups' weights are concatenated and split over the threads; every (weight row, input row) product is the
     * seam's ({@link MatmulInput}), so a row's result does not depend on which group or batch it came in.
     * (The opt-in {@code GgmlRounding} experiment of {@link MatmulTask} is not applied here.)
     */
    static final class GroupedMatmulTask implements Parallel.RangeTask {
        private final MatmulInput[] inputs;     // [maxGroups], prepared per step
        private final FloatTensor[] w0;
        private final FloatTensor[] w1;
        private final int[] outOffset;
        private final int[] rowEnd;             // cumulative weight rows after group g
        private float[] out0;
        private float[] out1;
        private int outStride;
        private int groups;

        GroupedMatmulTask(Backend backend, int maxGroups) {
            inputs = new MatmulInput[maxGroups];
            for (int g = 0; g < maxGroups; g++) {
                inputs[g] = new MatmulInput(backend);
            }
            w0 = new FloatTensor[maxGroups];
            w1 = new FloatTensor[maxGroups];
            outOffset = new int[maxGroups];
            rowEnd = new int[maxGroups];
        }

        /** Starts a set of groups whose outputs go to {@code out0} (and {@code out1}), rows {@code outStride} apart. */
        void begin(float[] out0, float[] out1, int outStride) {
            this.out0 = out0;
            this.out1 = out1;
            this.outStride = outStride;
            groups = 0;
        }

        /** Adds a group: {@code rows} input rows at {@code x[xOffset + r*xStride]} times {@code a} (and {@code b}). */
        void add(float[] x, int xOffset, int xStride, int rows, FloatTensor a, FloatTensor b, int outOff) {
            int g = groups++;
            inputs[g].prepare(x, xOffset, xStride, rows, a.cols(), a, b, null);
            w0[g] = a;
            w1[g] = b;
            outOffset[g] = outOff;
            rowEnd[g] = (g == 0 ? 0 : rowEnd[g - 1]) + a.rows() + (b != null ? b.rows() : 0);
        }

        void run(Parallel parallel) {
            if (groups > 0) {
                parallel.forRange(rowEnd[groups - 1], 8, this);
            }
            java.util.Arrays.fill(w0, 0, groups, null);
            java.util.Arrays.fill(w1, 0, groups, null);
            out0 = null;
            out1 = null;
        }

        @Override
        public void run(int from, int to) {
            // first group ending after `from`
            int lo = 0;
            int hi = groups - 1;
            while (lo < hi) {
                int mid = (lo + hi) >>> 1;
                if (rowEnd[mid] <= from) {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            for (int g = lo; g < groups; g++) {
                int base = g == 0 ? 0 : rowEnd[g - 1];
                if (base >= to) {
                    break;
                }
                base = part(g, w0[g], out0, base, from, to);
                if (w1[g] != null) {
                    part(g, w1[g], out1, base, from, to);
                }
            }
        }

        private int part(int g, FloatTensor t, float[] out, int base, int from, int to) {
            int a = Math.max(from, base);
            int b = Math.min(to, base + t.rows());
            if (a < b) {
                inputs[g].multiply(t, out, outOffset[g], outStride, a - base, b - base);
            }
            return base + t.rows();
        }
    }

    /**
     * {@code gate[b] = silu(gate[b]) * up[b]} for rows {@code b < n} of width {@code w}, rows split over the threads.
     * Each row is one {@link VectorOps#siluMul} call, so a row's arithmetic (vector body, scalar tail) does not depend
     * on the batch. Run as a {@link Parallel.RangeTask} rather than called from {@link Model#forward}: a CI run
     * caught C2 boxing one vector per 16 elements (12 bytes per FFN element per token) in a compilation where the
     * kernel had been inlined into the forward pass; behind the task interface it is compiled on its own.
     */
    static final class SiluMulTask implements Parallel.RangeTask {
        private float[] gate;
        private float[] up;
        private int width;

        void run(Parallel parallel, float[] gate, float[] up, int n, int width) {
            this.gate = gate;
            this.up = up;
            this.width = width;
            parallel.forRange(n, 1, this);
            this.gate = null;
            this.up = null;
        }

        @Override
        public void run(int from, int to) {
            for (int b = from; b < to; b++) {
                VectorOps.siluMul(gate, b * width, up, b * width, width);
            }
        }
    }
}
