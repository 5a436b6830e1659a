package dev.r1flink.engine;

import dev.r1flink.model.KvCache;

/**
 * K/V storage for the block pool of {@link KvCells}: per layer one F16 array of {@code blockCount * blockSize}
 * cells. The model asks {@link #cell} where a position lives; the cells metadata answers.
 */
final class PagedKvCache implements KvCache {
    private final KvCells cells;
    private final short[][] keys;   // [layers][cellCount * kvDim] F16 bits
    private final short[][] values; // [layers][cellCount * kvDim] F16 bits

    PagedKvCache(KvCells cells, int layers, int kvDim) {
        this.cells = cells;
        long n = (long) cells.blockCount * cells.blockSize * kvDim;
        if (n > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("KV pool too large for one array per layer: " + n + " values");
        }
        keys = new short[layers][(int) n];
        values = new short[layers][(int) n];
    }

    /** Bytes of K+V storage one cell takes over all layers (F16). */
    static long bytesPerCell(int layers, int kvDim) {
        return 2L * 2L * layers * kvDim;
    }

    @Override
    public int cell(int seqId, int pos) {
        return cells.cell(seqId, pos);
    }

    @Override
    public int cellCount() {
        return cells.blockCount * cells.blockSize;
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
