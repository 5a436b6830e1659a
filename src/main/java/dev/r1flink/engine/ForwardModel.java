package dev.r1flink.engine;

import dev.r1flink.model.Batch;
import dev.r1flink.model.KvCache;
import dev.r1flink.tensor.Parallel;

/**
 * What the engine needs from a model runtime: one forward step over a {@link Batch} whose rows may belong to
 * different sequences. Each row's result must depend only on its own sequence (its tokens and the cells the cache
 * gives for them), never on the other rows or the batch size: that is what makes the engine's output batch-invariant.
 */
public interface ForwardModel {

    int vocabularySize();

    /** Longest sequence the model supports (its trained context, or less if configured). */
    int contextLength();

    /** Transformer layers: one K and one V store each in the cache. */
    int blockCount();

    /** Values per K row of one cell: headCountKv * headDim (multi-head latent attention: latent + rope part). */
    int kvDim();

    /** Values per V row of one cell: {@link #kvDim()}, or 0 when the K row's latent serves as the value (MLA). */
    default int valueDim() {
        return kvDim();
    }

    /**
     * Runs the batch: writes each row's K/V into {@code cache.cell(seqId, pos)}, attends over cells {@code 0..pos} of
     * the row's sequence, and writes one vocabulary-sized row of logits per row with {@code wantLogits}, in row order,
     * into {@code logits[out * vocabularySize() ...]}.
     */
    void forward(Batch batch, KvCache cache, float[] logits, Parallel parallel);

    /** The kernels the forward pass runs on, for logs ({@code Backend.describe()}). */
    default String kernels() {
        return "unknown";
    }
}
