package dev.r1flink.model;

import dev.r1flink.gguf.GgufFile;
import dev.r1flink.tensor.Backend;
import dev.r1flink.tensor.Parallel;
import dev.r1flink.tensor.VectorOps;
import java.io.IOException;
import java.nio.file.Path;

/**
 * A loaded model: config plus immutable weights, safe to share between threads. Each caller brings its own
 * {@link State} (scratch), {@link KvCache} and {@link Parallel}.
 *
 * <pre>{@code
 * Model model = Model.load(Path.of("r1-distill-qwen-1.5b-q8_0.gguf"));
 * State state = model.newState(64);
 * KvCache kv = new ContiguousKvCache(model.config, 1, 4096);
 * batch.add(token, pos, 0, true);
 * model.forward(batch, kv, state, logits, parallel);   // logits: [batch.outputCount()][vocab]
 * }</pre>
 *
 * <p>The math is llama.cpp's for {@code llama}, {@code qwen2} and {@code qwen3} (see {@link Architecture}), with
 * the norms, RoPE angles and softmax reduced the way ggml's CPU kernels reduce them, and K/V rounded to F16 in
 * the cache. Batch invariance: every row's result depends only on its own token, position and sequence (never on
 * the other rows or the thread count), because each reduction runs per row in a fixed order and
 * {@code FloatTensor.matmul} promises the same of the weight products.
 */
public final class Model {

    public final ModelConfig config;
    public final Weights weights;
    private final float attentionScale;  // 1/sqrt(headDim)
    private final float ropeThetaScale;  // freq_base^(-2/ropeDim), as ggml computes it in float

    public Model(ModelConfig config, Weights weights) {
        this.config = config;
        this.weights = weights;
        this.attentionScale = (float) (1.0 / Math.sqrt(config.headDim()));
        this.ropeThetaScale = (float) Math.pow(config.ropeFreqBase(), -2.0f / config.ropeDimensionCount());
    }

    /** Loads config and weights of a GGUF model onto the heap. */
    public static Model load(Path path) throws IOException {
        try (GgufFile gguf = GgufFile.open(path)) {
            return load(gguf);
        }
    }

    public static Model load(GgufFile gguf) throws IOException {
        ModelConfig config = ModelConfig.from(gguf);
        long weightBytes = 0;
        for (dev.r1flink.gguf.TensorInfo t : gguf.tensors().values()) {
            weightBytes += t.byteSize();
        }
        checkFitsHeap(weightBytes, Runtime.getRuntime().maxMemory());
        return new Model(config, Weights.load(gguf, config));
    }

    /**
     * Weights live on the heap (faster than mapped buffers on JDK 17, see docs/benchmarks.md): a model larger than
     * the heap's maximum gets a clear error before anything is read, instead of an OutOfMemoryError minutes later.
     */
    static void checkFitsHeap(long weightBytes, long maxHeapBytes) throws IOException {
        if (weightBytes > maxHeapBytes) {
            double gib = 1L << 30;
            throw new IOException(String.format(java.util.Locale.ROOT,
                    "the model's weights need %.1f GiB on the heap, but this JVM's maximum heap is %.1f GiB: raise it "
                            + "(CLI: R1_JAVA_OPTS=-Xmx%dg; Flink: taskmanager.memory.task.heap.size or "
                            + "taskmanager.memory.process.size), or use a smaller quantization",
                    weightBytes / gib, maxHeapBytes / gib, (long) Math.ceil(weightBytes / gib * 1.25) + 1));
        }
    }

    /** Scratch for batches of up to {@code batchCapacity} rows, on the process's default kernel backend. */
    public State newState(int batchCapacity) {
        return new State(this, batchCapacity, Backend.processDefault());
    }

    /** Scratch for batches of up to {@code batchCapacity} rows whose weight products run on {@code backend}. */
    public State newState(int batchCapacity, Backend backend) {
        return new State(this, batchCapacity, backend);
    }

    /**
     * Runs one step: writes K/V of every row of {@code batch} into its cell of {@code kv}, and for the rows with
     * {@code wantLogits}, in row order, a row of {@code vocabSize} logits into {@code logits}.
     *
     * <p>Contract: {@code batch.size() <= state.capacity()}, {@code logits.length >= batch.outputCount() * vocab},
     * and {@code kv} has cells for every (seqId, pos) of the batch and all earlier positions of those sequences,
     * the earlier ones already filled by previous steps.
     */
    public void forward(Batch batch, KvCache kv, State s, float[] logits, Parallel parallel) {
        ModelConfig c = config;
        Weights w = weights;
        int n = batch.size();
        int dim = c.embeddingLength();
        int qDim = c.qDim();
        int kvDim = c.kvDim();
        int ff = c.feedForwardLength();
        int hd = c.headDim();
        int halfRope = c.ropeDimensionCount() / 2;
        float eps = c.layerNormRmsEpsilon();
        if (n > s.capacity) {
            throw new IllegalArgumentException("batch of " + n + " rows exceeds the state's capacity " + s.capacity);
        }
        if (logits.length < (long) batch.outputCount() * c.vocabSize()) {
            throw new IllegalArgumentException("logits has room for " + logits.length / c.vocabSize() + " rows, batch wants "
                    + batch.outputCount());
        }

        for (int i = 0; i < n; i++) {
            // token embedding, RoPE angles of the row's position, and its KV cell
            w.tokenEmbd.dequantizeRow(checkToken(batch.tokens[i]), s.x, i * dim);
            ropeAngles(batch.positions[i], s.ropeCos, s.ropeSin, i * halfRope);
            s.cells[i] = kv.cell(batch.seqIds[i], batch.positions[i]);
        }

        for (int l = 0; l < c.blockCount(); l++) {
            Weights.Layer L = w.layers[l];
            short[] kCache = kv.keys(l);
            short[] vCache = kv.values(l);

            // attention rmsnorm
            for (int i = 0; i < n; i++) {
                VectorOps.rmsnorm(s.xb, i * dim, s.x, i * dim, L.attnNorm(), dim, eps);
            }
            // q, k, v projections of all rows (+ bias for qwen2)
            s.matmul.run(parallel, s.xb, n, L.attnQ(), s.q, L.attnK(), s.k, L.attnV(), s.v);
            if (L.attnQBias() != null) {
                addRows(s.q, L.attnQBias(), n);
                addRows(s.k, L.attnKBias(), n);
                addRows(s.v, L.attnVBias(), n);
            }
            for (int i = 0; i < n; i++) {
                // per-head rmsnorm of q and k (qwen3), then RoPE
                for (int h = 0; h < c.headCount(); h++) {
                    int off = i * qDim + h * hd;
                    if (L.attnQNorm() != null) {
                        VectorOps.rmsnorm(s.q, off, s.q, off, L.attnQNorm(), hd, eps);
                    }
                    rope(s.q, off, s.ropeCos, s.ropeSin, i * halfRope);
                }
                for (int h = 0; h < c.headCountKv(); h++) {
                    int off = i * kvDim + h * hd;
                    if (L.attnKNorm() != null) {
                        VectorOps.rmsnorm(s.k, off, s.k, off, L.attnKNorm(), hd, eps);
                    }
                    rope(s.k, off, s.ropeCos, s.ropeSin, i * halfRope);
                }
                // store k and v in the row's cell, rounded to F16
                VectorOps.toHalf(s.k, i * kvDim, kCache, s.cells[i] * kvDim, kvDim);
                VectorOps.toHalf(s.v, i * kvDim, vCache, s.cells[i] * kvDim, kvDim);
            }
            // attention of each (row, head) over positions 0..pos of the row's sequence
            s.attention.run(parallel, batch, kv, kCache, vCache);
            // output projection and residual
            s.matmul.run(parallel, L.attnOutput(), s.attOut, n, s.xb2);
            VectorOps.add(s.x, 0, s.xb2, 0, n * dim);

            // ffn rmsnorm
            for (int i = 0; i < n; i++) {
                VectorOps.rmsnorm(s.xb, i * dim, s.x, i * dim, L.ffnNorm(), dim, eps);
            }
            // swiglu: down(silu(gate(x)) * up(x)), then residual
            s.matmul.run(parallel, s.xb, n, L.ffnGate(), s.hb, L.ffnUp(), s.hb2, null, null);
            s.siluMul.run(parallel, s.hb, s.hb2, n, ff);
            s.matmul.run(parallel, L.ffnDown(), s.hb, n, s.xb2);
            VectorOps.add(s.x, 0, s.xb2, 0, n * dim);
        }

        // final rmsnorm of the rows that want logits, then the classifier
        int outputs = 0;
        for (int i = 0; i < n; i++) {
            if (batch.wantLogits[i]) {
                VectorOps.rmsnorm(s.outRows, outputs * dim, s.x, i * dim, w.outputNorm, dim, eps);
                outputs++;
            }
        }
        if (outputs > 0) {
            s.matmul.run(parallel, w.output, s.outRows, outputs, logits);
        }
    }

    private int checkToken(int token) {
        if (token < 0 || token >= config.vocabSize()) {
            throw new IllegalArgumentException("token id " + token + " outside the vocabulary [0, " + config.vocabSize() + ")");
        }
        return token;
    }

    /**
     * cos and sin of the RoPE angles of position {@code pos}, one per rotated pair: theta_i = pos * base^(-2i/ropeDim)
     * divided by the Llama-3.1 factor when present, the power built by repeated float products as ggml does.
     */
    private void ropeAngles(int pos, float[] cos, float[] sin, int off) {
        float[] factors = weights.ropeFreqs;
        float theta = pos;
        for (int i = 0; i < config.ropeDimensionCount() / 2; i++) {
            float t = factors != null ? theta / factors[i] : theta;
            cos[off + i] = (float) Math.cos(t);
            sin[off + i] = (float) Math.sin(t);
            theta *= ropeThetaScale;
        }
    }

    /** Rotates the pairs of one head at {@code x[off..]}: adjacent pairs (NORM) or halves (NEOX). */
    private void rope(float[] x, int off, float[] cos, float[] sin, int angleOff) {
        int half = config.ropeDimensionCount() / 2;
        boolean neox = config.architecture().ropeType == Architecture.RopeType.NEOX;
        for (int i = 0; i < half; i++) {
            int a = neox ? off + i : off + 2 * i;
            int b = neox ? off + i + half : off + 2 * i + 1;
            float c = cos[angleOff + i];
            float s = sin[angleOff + i];
            float x0 = x[a];
            float x1 = x[b];
            x[a] = x0 * c - x1 * s;
            x[b] = x0 * s + x1 * c;
        }
    }

    private static void addRows(float[] x, float[] bias, int n) {
        int w = bias.length;
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < w; j++) {
                x[i * w + j] += bias[j];
            }
        }
    }

    /** Attention of units {@code [from, to)}, unit = row * headCountKv + KV head; each unit writes only its own output. */
    final class AttentionTask implements Parallel.RangeTask {
        private final State s;
        private Batch batch;
        private KvCache kv;
        private short[] kCache;
        private short[] vCache;

        AttentionTask(State s) {
            this.s = s;
        }

        void run(Parallel parallel, Batch batch, KvCache kv, short[] kCache, short[] vCache) {
            this.batch = batch;
            this.kv = kv;
            this.kCache = kCache;
            this.vCache = vCache;
            parallel.forRange(batch.size() * config.headCountKv(), this);
            this.batch = null;
            this.kv = null;
            this.kCache = null;
            this.vCache = null;
        }

        /**
         * Units are (row, KV head): the {@code group} query heads that read one KV head are done together, so each
         * F16 key and value row is converted once per group instead of once per head. Each head's arithmetic is
         * the same as on its own (same dot and axpy steps in the same order), so results do not depend on it.
         */
        @Override
        public void run(int from, int to) {
            int hd = config.headDim();
            int qDim = config.qDim();
            int kvDim = config.kvDim();
            int kvHeads = config.headCountKv();
            int group = config.headCount() / kvHeads;
            float[] rowScratch = s.rowScratch(hd);
            float[] inv = s.headScales(group);
            for (int u = from; u < to; u++) {
                int i = u / kvHeads;
                int g = u % kvHeads;
                int seq = batch.seqIds[i];
                int pos = batch.positions[i];
                int n = pos + 1;
                int qOff = i * qDim + g * group * hd; // the group's query heads are adjacent
                int kvOff = g * hd;
                float[] att = s.scores(group * n);   // head j's scores at att[j*n ..]
                int[] rows = s.kvRows(n);
                for (int t = 0; t < n; t++) {
                    rows[t] = kv.cell(seq, t) * kvDim + kvOff; // the row's K/V of position t, this KV head
                }
                // scores q.k / sqrt(headDim) over the row's sequence, positions 0..pos
                VectorOps.dotsF16Group(kCache, rows, n, s.q, qOff, group, hd, att, n, rowScratch);
                for (int j = 0; j < group; j++) {
                    int a0 = j * n;
                    for (int t = 0; t < n; t++) {
                        att[a0 + t] *= attentionScale;
                    }
                    inv[j] = VectorOps.softmaxExp(att, a0, att, a0, n);
                }
                // weighted sum of values
                java.util.Arrays.fill(s.attOut, qOff, qOff + group * hd, 0f);
                VectorOps.axpysF16Group(att, n, inv, vCache, rows, n, s.attOut, qOff, group, hd, rowScratch);
            }
        }
    }
}
