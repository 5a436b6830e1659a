package dev.r1flink.engine;

import dev.r1flink.model.KvCache;

/**
 * K/V storage for the block pool of {@link KvCells}: per layer one F16 array of {@code blockCount * blockSize}
 * cells. The model asks {@link #cell} where a position lives; the cells metadata answers.
 */
final class PagedKvCache implements KvCache {
    private final KvCells cells;
    private final short[][] keys;   // [layers][cellCount * kvDim] F16 bits
    private final short[][] values; // [layers][cellCount * valueDim] F16 bits (empty for MLA)

    PagedKvCache(KvCells cells, int layers, int kvDim) {
        this(cells, layers, kvDim, kvDim);
    }

    /** {@code valueDim} 0: multi-head latent attention, whose K row (latent + rope part) is all a token keeps. */
    PagedKvCache(KvCells cells, int layers, int kvDim, int valueDim) {
        this.cells = cells;
        long n = (long) cells.blockCount * cells.blockSize * kvDim;
        long nv = (long) cells.blockCount * cells.blockSize * valueDim;
        if (n > Integer.MAX_VALUE - 16 || nv > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("KV pool too large for one array per layer: " + Math.max(n, nv)
                    + " values");
        }
        keys = new short[layers][(int) n];
        values = new short[layers][(int) nv];
    }

    /** Bytes of K+V storage one cell takes over all layers (F16). */
    static long bytesPerCell(int layers, int kvDim) {
        return bytesPerCell(layers, kvDim, kvDim);
    }

    static long bytesPerCell(int layers, int kvDim, int valueDim) {
        return 2L * layers * (kvDim + (long) valueDim);
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
