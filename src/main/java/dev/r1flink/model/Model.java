package dev.r1flink.model;

import dev.r1flink.gguf.GgufFile;
import dev.r1flink.tensor.Backend;
import dev.r1flink.tensor.NativeKernels;
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
 * <p>The math is llama.cpp's for {@code llama}, {@code qwen2}, {@code qwen3} and {@code deepseek2} (multi-head latent
 * attention and mixture of experts: {@link #latentAttention}, {@link #experts}; see {@link Architecture}), with
 * the norms, RoPE angles and softmax reduced the way ggml's CPU kernels reduce them, and K/V rounded to F16 in
 * the cache. Batch invariance: every row's result depends only on its own token, position and sequence (never on
 * the other rows or the thread count), because each reduction runs per row in a fixed order and
 * {@code FloatTensor.matmul} promises the same of the weight products.
 */
public final class Model {

    public final ModelConfig config;
    public final Weights weights;
    private final float attentionScale;  // 1/sqrt(headDim); deepseek2: mscale^2/sqrt(key_length_mla) (YaRN)
    private final float ropeThetaScale;  // freq_base^(-2/ropeDim), as ggml computes it in float
    // RoPE scaling (deepseek2; identity otherwise): ggml's rope_yarn with llama.cpp's deepseek2 factors
    private final float ropeFreqScale;   // 1/factor
    private final float ropeExtFactor;   // 1 for YaRN, else 0
    private final float ropeMscale;      // magnitude ggml gives cos/sin (cancelled to ~1 for deepseek2)
    private final float yarnCorrLow;     // YaRN correction dims: pairs below are extrapolated, above interpolated
    private final float yarnCorrHigh;

    public Model(ModelConfig config, Weights weights) {
        this.config = config;
        this.weights = weights;
        this.ropeThetaScale = (float) Math.pow(config.ropeFreqBase(), -2.0f / config.ropeDimensionCount());
        ModelConfig.RopeScaling rs = config.ropeScaling();
        if (config.mla() == null) {
            this.attentionScale = (float) (1.0 / Math.sqrt(config.headDim()));
            ropeFreqScale = 1f;
            ropeExtFactor = 0f;
            ropeMscale = 1f;
            yarnCorrLow = yarnCorrHigh = 0f;
            return;
        }
        // llama.cpp: llama_context's yarn_attn_factor, then llama_model_deepseek2's kq_scale, in the same float steps
        float freqScale = rs == null ? 1f : rs.freqScale();
        float ext = rs != null && rs.yarn() ? 1f : 0f;
        float logMul = rs == null ? 0f : rs.yarnLogMultiplier();
        float attnFactor = 1f;
        if (ext != 0f) {
            float factor = 1.0f / freqScale;
            if (logMul != 0f) {
                float mscale = logMul != 1.0f ? logMul : 1.0f;
                attnFactor = yarnMscale(factor, mscale) / yarnMscale(factor, logMul);
            } else {
                attnFactor = yarnMscale(factor, 1.0f);
            }
            attnFactor *= 1.0f / (1.0f + 0.1f * logf(factor));
        }
        attnFactor *= rs == null ? 1f : rs.attnFactor();
        float attnFactorOrg = attnFactor * (1.0f + 0.1f * logf(1.0f / freqScale));
        float mscale = attnFactorOrg * (1.0f + 0.1f * logMul * logf(1.0f / freqScale));
        this.attentionScale = 1.0f * mscale * mscale / (float) Math.sqrt(config.mla().keyLengthMla());
        ropeFreqScale = freqScale;
        ropeExtFactor = ext;
        ropeMscale = ext != 0f ? attnFactor * (1.0f + 0.1f * logf(1.0f / freqScale)) : attnFactor;
        if (ext != 0f) {
            int nDims = config.ropeDimensionCount();
            int ctx = rs.originalContextLength();
            float base = config.ropeFreqBase();
            float start = (float) Math.floor(yarnCorrDim(nDims, ctx, rs.yarnBetaFast(), base));
            float end = (float) Math.ceil(yarnCorrDim(nDims, ctx, rs.yarnBetaSlow(), base));
            yarnCorrLow = Math.max(0, start);
            yarnCorrHigh = Math.min(nDims - 1, end);
        } else {
            yarnCorrLow = yarnCorrHigh = 0f;
        }
    }

    private static float logf(float x) {
        return (float) Math.log(x);
    }

    /** YaRN's magnitude correction for a context extended {@code scale} times. */
    private static float yarnMscale(float scale, float mscale) {
        return scale <= 1.0f ? 1.0f : 0.1f * mscale * logf(scale) + 1.0f;
    }

    /** The rotary dim whose wavelength fits {@code rotations} times into the original context (ggml's corr_dim). */
    private static float yarnCorrDim(int nDims, int ctxOrig, float rotations, float base) {
        return nDims * logf(ctxOrig / (rotations * 2 * (float) Math.PI)) / (2 * logf(base));
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
        int ff = c.feedForwardLength();
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
            if (L.mla() != null) {
                latentAttention(batch, kv, s, L, kCache, parallel);
            } else {
                attention(batch, kv, s, L, kCache, vCache, parallel);
            }
            // output projection and residual
            s.matmul.run(parallel, L.attnOutput(), s.attOut, n, s.xb2);
            VectorOps.add(s.x, 0, s.xb2, 0, n * dim);

            // ffn rmsnorm
            for (int i = 0; i < n; i++) {
                VectorOps.rmsnorm(s.xb, i * dim, s.x, i * dim, L.ffnNorm(), dim, eps);
            }
            if (L.moe() != null) {
                experts(l, n, s, L.moe(), parallel);
            } else {
                // swiglu: down(silu(gate(x)) * up(x))
                s.matmul.run(parallel, s.xb, n, L.ffnGate(), s.hb, L.ffnUp(), s.hb2, null, null);
                s.siluMul.run(parallel, s.hb, s.hb2, n, ff);
                s.matmul.run(parallel, L.ffnDown(), s.hb, n, s.xb2);
            }
            // residual
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

    /** Grouped-query attention of qwen2/llama/qwen3: writes the heads' outputs to {@code s.attOut}. */
    private void attention(Batch batch, KvCache kv, State s, Weights.Layer L, short[] kCache, short[] vCache,
                           Parallel parallel) {
        ModelConfig c = config;
        int n = batch.size();
        int qDim = c.qDim();
        int kvDim = c.kvDim();
        int hd = c.headDim();
        int halfRope = c.ropeDimensionCount() / 2;
        float eps = c.layerNormRmsEpsilon();
        {
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
            s.attention.run(parallel, batch, kv, s.q, kCache, vCache, s.attOut);
        }
    }

    /**
     * Multi-head latent attention (deepseek2), in its weight-absorbed form for every row, prefill and decode alike
     * (one path, so prefill chunking cannot change a result). The cache row of a token is its normalized latent
     * {@code c} (kv_lora_rank) and its rope'd {@code k_pe} (rope dim), shared by all heads. Head h scores position t
     * by {@code (W_kb[h] q_nope[h]) . c_t + q_pe[h] . k_pe_t} and outputs {@code W_vb[h] (sum_t p_t c_t)}: the same
     * numbers as decompressing K and V per head, without ever storing them. Writes {@code s.attOut}.
     */
    private void latentAttention(Batch batch, KvCache kv, State s, Weights.Layer L, short[] kCache,
                                 Parallel parallel) {
        ModelConfig c = config;
        ModelConfig.Mla m = c.mla();
        Weights.MlaLayer M = L.mla();
        int n = batch.size();
        int heads = c.headCount();
        int rope = c.ropeDimensionCount();
        int halfRope = rope / 2;
        int kvLora = m.kvLoraRank();
        int kvDim = c.kvDim();                 // kvLora + rope: one cache row
        int qkHead = m.keyLengthMla();         // nope + rope
        int nope = qkHead - rope;
        int qStride = heads * qkHead;
        int vHead = m.valueLengthMla();
        float eps = c.layerNormRmsEpsilon();

        // query (low-rank through attn_q_a, its norm and attn_q_b; or plain attn_q) and the compressed KV share
        // the normalized input
        if (M.attnQA() != null) {
            int qLora = m.qLoraRank();
            s.matmul.run(parallel, s.xb, n, M.attnQA(), s.qa, M.attnKvAMqa(), s.kvA, null, null);
            for (int i = 0; i < n; i++) {
                VectorOps.rmsnorm(s.qa, i * qLora, s.qa, i * qLora, M.attnQANorm(), qLora, eps);
            }
            s.matmul.run(parallel, M.attnQB(), s.qa, n, s.q);
        } else {
            s.matmul.run(parallel, s.xb, n, L.attnQ(), s.q, M.attnKvAMqa(), s.kvA, null, null);
        }
        for (int i = 0; i < n; i++) {
            int kvOff = i * kvDim;
            // latent: rmsnorm; rope part: RoPE (pre-norm values, one head for all)
            VectorOps.rmsnorm(s.kvA, kvOff, s.kvA, kvOff, M.attnKvANorm(), kvLora, eps);
            rope(s.kvA, kvOff + kvLora, s.ropeCos, s.ropeSin, i * halfRope);
            // the cache row, rounded to F16: [latent | k_pe]
            VectorOps.toHalf(s.kvA, kvOff, kCache, s.cells[i] * kvDim, kvDim);
            for (int h = 0; h < heads; h++) {
                int qOff = i * qStride + h * qkHead + nope;
                rope(s.q, qOff, s.ropeCos, s.ropeSin, i * halfRope);
                System.arraycopy(s.q, qOff, s.qMla, (i * heads + h) * kvDim + kvLora, rope);
            }
        }
        // absorbed query: head h's q_nope times attn_k_b[h] is the latent part of its query
        s.grouped.begin(s.qMla, null, heads * kvDim);
        for (int h = 0; h < heads; h++) {
            s.grouped.add(s.q, h * qkHead, qStride, n, M.attnKB()[h], null, h * kvDim);
        }
        s.grouped.run(parallel);
        // all heads attend over the one latent KV head (MQA); values are the latent part of the cache rows
        s.attention.run(parallel, batch, kv, s.qMla, kCache, kCache, s.attLat);
        // decompress: head h's latent output times attn_v_b[h]
        s.grouped.begin(s.attOut, null, heads * vHead);
        for (int h = 0; h < heads; h++) {
            s.grouped.add(s.attLat, h * kvLora, heads * kvLora, n, M.attnVB()[h], null, h * vHead);
        }
        s.grouped.run(parallel);
    }

    /**
     * Mixture of experts (deepseek2): route each row to its top experts, run each expert once over all the rows
     * routed to it (its weights are read once per step), and sum each row's weighted expert outputs in the row's
     * own slot order, plus the shared experts. Writes {@code s.xb2}. Grouping only changes the order in which
     * (row, expert) products are visited, never a row's arithmetic.
     */
    private void experts(int layer, int n, State s, Weights.MoeLayer E, Parallel parallel) {
        ModelConfig.Moe e = config.moe();
        int dim = config.embeddingLength();
        int nExp = e.expertCount();
        int k = e.expertUsedCount();
        int ffExp = e.expertFeedForwardLength();
        int ffSh = ffExp * e.expertSharedCount();
        // router logits and the shared experts' gate and up share the normalized input
        if (E.gateShexp() != null) {
            s.matmul.run(parallel, s.xb, n, E.gateInp(), s.routerLogits, E.gateShexp(), s.hb, E.upShexp(), s.hb2);
        } else {
            s.matmul.run(parallel, E.gateInp(), s.xb, n, s.routerLogits);
        }
        for (int i = 0; i < n; i++) {
            route(s, E, e, layer, i);
        }
        // pack the (row, slot) pairs by expert, rows in increasing order within an expert
        java.util.Arrays.fill(s.expertRows, 0);
        for (int p = 0; p < n * k; p++) {
            s.expertRows[s.selected[p]]++;
        }
        int start = 0;
        for (int x = 0; x < nExp; x++) {
            s.expertStart[x] = start;
            start += s.expertRows[x];
        }
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < k; j++) {
                int x = s.selected[i * k + j];
                int pos = s.expertStart[x]++;
                s.slotPos[i * k + j] = pos;
                System.arraycopy(s.xb, i * dim, s.xe, pos * dim, dim);
            }
        }
        // expertStart[x] now ends expert x's rows
        s.grouped.begin(s.ge, s.ue, ffExp);
        for (int x = 0; x < nExp; x++) {
            int rows = s.expertRows[x];
            if (rows > 0) {
                int first = s.expertStart[x] - rows;
                s.grouped.add(s.xe, first * dim, dim, rows, E.gateExps()[x], E.upExps()[x], first * ffExp);
            }
        }
        s.grouped.run(parallel);
        s.siluMul.run(parallel, s.ge, s.ue, n * k, ffExp);
        s.grouped.begin(s.ye, null, dim);
        for (int x = 0; x < nExp; x++) {
            int rows = s.expertRows[x];
            if (rows > 0) {
                int first = s.expertStart[x] - rows;
                s.grouped.add(s.ge, first * ffExp, ffExp, rows, E.downExps()[x], null, first * dim);
            }
        }
        s.grouped.run(parallel);
        // each row: sum over its slots, best first, of weight * expert output (ggml: mul, then adds in slot order)
        for (int i = 0; i < n; i++) {
            int o = i * dim;
            for (int j = 0; j < k; j++) {
                int y = s.slotPos[i * k + j] * dim;
                float wj = s.routeWeights[i * k + j];
                if (j == 0) {
                    for (int d = 0; d < dim; d++) {
                        s.xb2[o + d] = s.ye[y + d] * wj;
                    }
                } else {
                    for (int d = 0; d < dim; d++) {
                        s.xb2[o + d] += s.ye[y + d] * wj;
                    }
                }
            }
        }
        if (E.gateShexp() != null) {
            s.siluMul.run(parallel, s.hb, s.hb2, n, ffSh);
            s.matmul.run(parallel, E.downShexp(), s.hb, n, s.shared);
            VectorOps.add(s.xb2, 0, s.shared, 0, n * dim);
        }
    }

    /**
     * Picks row {@code i}'s experts as llama.cpp's build_moe_ffn does: gating probabilities (sigmoid or softmax of
     * the router logits), selection scores = probabilities + exp_probs_b, only the best expert_group_used_count
     * groups (a group scores the sum of its two best) stay eligible, top expert_used_count by score; the weights
     * are the unbiased probabilities, normalized to sum 1 if expert_weights_norm, times expert_weights_scale.
     *
     * <p>Also records the row's routing margin in {@code s.routingMargins} (see there): how far the closest of
     * these discrete decisions was from going the other way. At {@code s.routingFlip} (a parity
     * experiment; -1 otherwise) that closest decision is taken the other way.
     */
    private void route(State s, Weights.MoeLayer E, ModelConfig.Moe e, int layer, int i) {
        int nExp = e.expertCount();
        int k = e.expertUsedCount();
        int lo = i * nExp;
        float[] probs = s.routerProbs;
        if (e.expertGatingFunc() == ModelConfig.Moe.GATING_SIGMOID) {
            for (int x = 0; x < nExp; x++) {
                probs[x] = 1.0f / (1.0f + (float) Math.exp(-s.routerLogits[lo + x]));
            }
        } else {
            float inv = VectorOps.softmaxExp(s.routerLogits, lo, probs, 0, nExp);
            for (int x = 0; x < nExp; x++) {
                probs[x] *= inv;
            }
        }
        float groupMargin = selectionScores(s, E, e, false);
        float expertMargin = topExperts(s, e, i, false);
        if (i * config.blockCount() + layer == s.routingFlip) {
            boolean flipGroup = groupMargin < expertMargin;
            selectionScores(s, E, e, flipGroup);
            topExperts(s, e, i, !flipGroup);
        }
        s.routingMargins[i * config.blockCount() + layer] = Math.min(groupMargin, expertMargin);
        int o = i * k;
        if (e.expertWeightsNorm()) {
            double sum = 0;
            for (int j = 0; j < k; j++) {
                sum += s.routeWeights[o + j];
            }
            float total = Math.max((float) sum, 6.103515625e-5f); // llama.cpp clamps to the smallest F16 normal
            for (int j = 0; j < k; j++) {
                s.routeWeights[o + j] /= total;
            }
        }
        float scale = e.expertWeightsScale();
        if (scale != 0f && scale != 1f) {
            for (int j = 0; j < k; j++) {
                s.routeWeights[o + j] *= scale;
            }
        }
    }

    /**
     * Fills {@code s.selection} with the selection scores of {@code s.routerProbs}, the experts of the groups that
     * are not kept masked to -inf. Returns the group margin: the lowest kept group's score minus the best dropped
     * group's (+inf without groups). {@code swapWeakest}: keep the best dropped group instead of the lowest kept one.
     */
    private float selectionScores(State s, Weights.MoeLayer E, ModelConfig.Moe e, boolean swapWeakest) {
        int nExp = e.expertCount();
        float[] probs = s.routerProbs;
        float[] sel = s.selection;
        float[] bias = E.expProbsB();
        for (int x = 0; x < nExp; x++) {
            sel[x] = bias != null ? probs[x] + bias[x] : probs[x];
        }
        int groups = e.expertGroupCount();
        if (groups <= 1) {
            return Float.POSITIVE_INFINITY;
        }
        int per = nExp / groups;
        for (int g = 0; g < groups; g++) {
            float best = Float.NEGATIVE_INFINITY;
            float second = Float.NEGATIVE_INFINITY;
            for (int x = g * per; x < (g + 1) * per; x++) {
                if (sel[x] > best) {
                    second = best;
                    best = sel[x];
                } else if (sel[x] > second) {
                    second = sel[x];
                }
            }
            s.groupScores[g] = per > 1 ? best + second : best;
        }
        // keep the best expert_group_used_count groups eligible, mask the experts of the others
        long chosen = 0;
        int weakest = -1;
        for (int kept = 0; kept < e.expertGroupUsedCount(); kept++) {
            int bestGroup = -1;
            for (int g = 0; g < groups; g++) {
                if ((chosen & (1L << g)) == 0 && (bestGroup < 0 || s.groupScores[g] > s.groupScores[bestGroup])) {
                    bestGroup = g;
                }
            }
            chosen |= 1L << bestGroup;
            weakest = bestGroup;
        }
        int runnerUp = -1;
        for (int g = 0; g < groups; g++) {
            if ((chosen & (1L << g)) == 0 && (runnerUp < 0 || s.groupScores[g] > s.groupScores[runnerUp])) {
                runnerUp = g;
            }
        }
        if (runnerUp < 0) {
            return Float.POSITIVE_INFINITY; // every group kept
        }
        float margin = s.groupScores[weakest] - s.groupScores[runnerUp];
        if (swapWeakest) {
            chosen = chosen & ~(1L << weakest) | 1L << runnerUp;
        }
        for (int g = 0; g < groups; g++) {
            if ((chosen & (1L << g)) == 0) {
                java.util.Arrays.fill(sel, g * per, (g + 1) * per, Float.NEGATIVE_INFINITY);
            }
        }
        return margin;
    }

    /**
     * Row {@code i}'s top expert_used_count experts by {@code s.selection}, best first (ties: lower id first), with
     * their unbiased probabilities as weights; consumes {@code s.selection}. Returns the expert margin: the k-th
     * chosen score minus the best eligible one left out (+inf if none is left). {@code swapWeakest}: the last slot
     * takes that runner-up instead.
     */
    private float topExperts(State s, ModelConfig.Moe e, int i, boolean swapWeakest) {
        int nExp = e.expertCount();
        int k = e.expertUsedCount();
        float[] sel = s.selection;
        int o = i * k;
        float last = 0;
        for (int j = 0; j < k; j++) {
            int best = argmax(sel, nExp);
            s.selected[o + j] = best;
            s.routeWeights[o + j] = s.routerProbs[best];
            last = sel[best];
            sel[best] = Float.NEGATIVE_INFINITY;
        }
        int runnerUp = argmax(sel, nExp);
        if (sel[runnerUp] == Float.NEGATIVE_INFINITY) {
            return Float.POSITIVE_INFINITY;
        }
        if (swapWeakest) {
            s.selected[o + k - 1] = runnerUp;
            s.routeWeights[o + k - 1] = s.routerProbs[runnerUp];
        }
        return last - sel[runnerUp];
    }

    private static int argmax(float[] x, int n) {
        int best = 0;
        for (int j = 1; j < n; j++) {
            if (x[j] > x[best]) {
                best = j;
            }
        }
        return best;
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
            if (ropeExtFactor != 0f || ropeFreqScale != 1f || ropeMscale != 1f) {
                // ggml's rope_yarn: interpolate (theta * freq_scale) the slow pairs, extrapolate the fast ones,
                // ramped between the correction dims
                float interp = ropeFreqScale * t;
                float mixed = interp;
                if (ropeExtFactor != 0f) {
                    float y = (i - yarnCorrLow) / Math.max(0.001f, yarnCorrHigh - yarnCorrLow);
                    float ramp = (1 - Math.min(1, Math.max(0, y))) * ropeExtFactor;
                    mixed = interp * (1 - ramp) + t * ramp;
                }
                cos[off + i] = (float) Math.cos(mixed) * ropeMscale;
                sin[off + i] = (float) Math.sin(mixed) * ropeMscale;
            } else {
                cos[off + i] = (float) Math.cos(t);
                sin[off + i] = (float) Math.sin(t);
            }
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
        /** Query heads per unit: all of a KV head's group, or (MLA, one KV head for all) slices of it. */
        private final int headsPerUnit;
        private final int unitsPerKvHead;
        private Batch batch;
        private KvCache kv;
        private float[] q;
        private short[] kCache;
        private short[] vCache;
        private float[] out;

        AttentionTask(State s) {
            this.s = s;
            int group = config.headCount() / config.headCountKv();
            int per = group;
            if (config.mla() != null) {
                // MLA is MQA over all heads: split them so one row's attention still spreads over the threads
                per = Math.min(group, 8);
                while (group % per != 0) {
                    per--;
                }
            }
            headsPerUnit = per;
            unitsPerKvHead = group / per;
        }

        /**
         * Attends with queries {@code q} ({@code [rows][heads][keyLength]}) over the cached keys, values read as the
         * first {@code valueLength} floats of each {@code vCache} row (MLA passes the keys: the latent is both),
         * heads' outputs into {@code out} ({@code [rows][heads][valueLength]}).
         */
        void run(Parallel parallel, Batch batch, KvCache kv, float[] q, short[] kCache, short[] vCache, float[] out) {
            this.batch = batch;
            this.kv = kv;
            this.q = q;
            this.kCache = kCache;
            this.vCache = vCache;
            this.out = out;
            if (GgmlRounding.ATTENTION_Q) { // opt-in: q rounded to F16 as ggml's kq = mul_mat(k, q) does
                GgmlRounding.f16InPlace(q, 0, batch.size() * config.headCount() * config.headDim());
            }
            parallel.forRange(batch.size() * config.headCountKv() * unitsPerKvHead, this);
            this.batch = null;
            this.kv = null;
            this.q = null;
            this.kCache = null;
            this.vCache = null;
            this.out = null;
        }

        /**
         * Units are (row, KV head): the {@code group} query heads that read one KV head are done together, so each
         * F16 key and value row is converted once per group instead of once per head. Each head's arithmetic is
         * the same as on its own (same dot and axpy steps in the same order), so results do not depend on it.
         */
        @Override
        public void run(int from, int to) {
            int hd = config.headDim();
            int vd = config.valueLength();
            int heads = config.headCount();
            int kvDim = config.kvDim();
            int kvHeads = config.headCountKv();
            int group = config.headCount() / kvHeads;
            int per = headsPerUnit;
            int units = kvHeads * unitsPerKvHead;
            float[] rowScratch = s.rowScratch(hd);
            float[] inv = s.headScales(per);
            // the native kernels do the same sums (bit for bit where the Java backend runs 16 lanes, see r1k.h)
            int isa = s.backend() == Backend.NATIVE ? NativeKernels.bestIsa() : -1;
            int size = batch.size();
            for (int u = from; u < to; u++) {
                // rows in the order 0, n-1, 1, n-2, ..: a prefill chunk's row k attends to k+1 positions, so the
                // threads' contiguous unit ranges get equal work instead of the last thread the longest rows
                int r = u / units;
                int i = (r & 1) == 0 ? r >> 1 : size - 1 - (r >> 1);
                int g = u % units / unitsPerKvHead;         // KV head
                int h0 = g * group + u % unitsPerKvHead * per; // first query head of the unit
                int seq = batch.seqIds[i];
                int pos = batch.positions[i];
                int n = pos + 1;
                int qOff = (i * heads + h0) * hd;  // the unit's query heads are adjacent
                int oOff = (i * heads + h0) * vd;
                float[] att = s.scores(per * n);   // head j's scores at att[j*n ..]
                int[] rows = s.kvRows(n);
                int[] vRows = rows;
                for (int t = 0; t < n; t++) {
                    rows[t] = kv.cell(seq, t) * kvDim + g * hd; // the row's K of position t, this KV head
                }
                // scores q.k * scale over the row's sequence, positions 0..pos
                if (isa >= 0) {
                    NativeKernels.attnDots(isa, kCache, rows, n, q, qOff, per, hd, att, n);
                } else {
                    VectorOps.dotsF16Group(kCache, rows, n, q, qOff, per, hd, att, n, rowScratch);
                }
                for (int j = 0; j < per; j++) {
                    int a0 = j * n;
                    for (int t = 0; t < n; t++) {
                        att[a0 + t] *= attentionScale;
                    }
                    inv[j] = VectorOps.softmaxExpPoly(att, a0, att, a0, n);
                    if (GgmlRounding.ATTENTION_SOFTMAX) { // opt-in: F16 weights, as kqv = mul_mat(v, kq) takes them
                        for (int t = 0; t < n; t++) {
                            att[a0 + t] = GgmlRounding.f16(att[a0 + t] * inv[j]);
                        }
                        inv[j] = 1f;
                    }
                }
                // weighted sum of values (MLA: the latent, the first vd floats of each key row)
                java.util.Arrays.fill(out, oOff, oOff + per * vd, 0f);
                if (isa >= 0) {
                    NativeKernels.attnAxpys(isa, att, n, inv, vCache, vRows, n, out, oOff, per, vd);
                } else {
                    VectorOps.axpysF16Group(att, n, inv, vCache, vRows, n, out, oOff, per, vd, rowScratch);
                }
            }
        }
    }
}
