package dev.r1flink.model;

/**
 * Where the forward pass keeps keys and values: for each layer a flat store of {@link #cellCount()} cells, each
 * {@code headCountKv * headDim} values (a K row and a V row). The cache decides which cell holds position
 * {@code pos} of sequence {@code seqId} (contiguous for one sequence, paged blocks in the engine); the model only
 * asks. Values are kept rounded to F16, as llama.cpp keeps its cache by default.
 *
 * <p>Contract: before a forward step, every (seqId, pos) of the batch and every earlier position of those
 * sequences has a cell. The model writes the batch's cells, then reads cells {@code 0..pos} of each row's sequence.
 */
public interface KvCache {

    /** The cell holding position {@code pos} of sequence {@code seqId}. */
    int cell(int seqId, int pos);

    int cellCount();

    /** Keys of layer {@code layer}: {@code [cellCount][kvDim]} as F16 bits. */
    short[] keys(int layer);

    /**
     * Values of layer {@code layer}: {@code [cellCount][valueDim]} as F16 bits; empty for multi-head latent
     * attention, whose key rows hold the latent that serves as the value.
     */
    short[] values(int layer);
}
