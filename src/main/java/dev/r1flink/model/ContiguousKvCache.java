package dev.r1flink.model;

/**
 * The simplest {@link KvCache}: {@code sequences} fixed regions of {@code contextLength} cells each, so position
 * {@code pos} of sequence {@code seqId} lives in cell {@code seqId * contextLength + pos}. For tests and the
 * {@code generate} command; the engine brings its own paged cache.
 */
public final class ContiguousKvCache implements KvCache {

    private final int sequences;
    private final int contextLength;
    private final int kvDim;
    private final int valueDim;
    private final short[][] keys;   // [blockCount][sequences*contextLength][kvDim] as F16 bits
    private final short[][] values; // [blockCount][sequences*contextLength][valueCacheDim] as F16 bits

    public ContiguousKvCache(ModelConfig config, int sequences, int contextLength) {
        if (sequences < 1 || contextLength < 1) {
            throw new IllegalArgumentException("need at least one sequence and one position");
        }
        long cells = (long) sequences * contextLength;
        if (cells * config.kvDim() > Integer.MAX_VALUE - 64) {
            throw new IllegalArgumentException(cells + " cells of " + config.kvDim() + " do not fit in one array");
        }
        this.sequences = sequences;
        this.contextLength = contextLength;
        this.kvDim = config.kvDim();
        this.valueDim = config.valueCacheDim(); // 0 with MLA: the latent in the keys is the value
        keys = new short[config.blockCount()][(int) cells * kvDim];
        values = new short[config.blockCount()][(int) cells * valueDim];
    }

    public int contextLength() {
        return contextLength;
    }

    @Override
    public int cell(int seqId, int pos) {
        if (seqId < 0 || seqId >= sequences || pos < 0 || pos >= contextLength) {
            throw new IndexOutOfBoundsException("sequence " + seqId + " position " + pos + " outside " + sequences
                    + " sequences x " + contextLength + " positions");
        }
        return seqId * contextLength + pos;
    }

    @Override
    public int cellCount() {
        return sequences * contextLength;
    }

    @Override
    public short[] keys(int layer) {
        return keys[layer];
    }

    @Override
    public short[] values(int layer) {
        return values[layer];
    }
}
