package dev.r1flink.tensor;

import jdk.incubator.vector.ByteVector;

/**
 * ggml {@code block_q8_0}: 32 elements in 34 bytes, {@code d} (fp16) then {@code qs[32]} (int8);
 * element {@code j} is {@code qs[j] * d}.
 */
public final class Q8_0Tensor extends FloatTensor {

    static final int BLOCK = 32;
    static final int BYTES = 34;

    public Q8_0Tensor(int rows, int cols, byte[] data, int offset) {
        super(GgmlType.Q8_0, rows, cols, data, offset);
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q8_0;
    }

    @Override
    public float get(int row, int col) {
        int p = offset + row * rowBytes + (col / BLOCK) * BYTES;
        return data[p + 2 + col % BLOCK] * half(data, p);
    }

    @Override
    public void dequantizeRow(int row, float[] out, int outOffset) {
        int p = offset + row * rowBytes;
        for (int o = outOffset, end = outOffset + cols; o < end; o += BLOCK, p += BYTES) {
            float d = half(data, p);
            for (int j = 0; j < BLOCK; j++) {
                out[o + j] = data[p + 2 + j] * d;
            }
        }
    }

    /** {@code L} int8 quants at {@code at} times {@code d}: one load-decode-store, no vector crosses a call. */
    private static void decode(byte[] data, int at, float d, float[] out, int o) {
        Simd.bytesToFloats(ByteVector.fromArray(Simd.B, data, at)).mul(d).intoArray(out, o);
    }

    @Override
    protected void dequantizeBlocks(int row, int block0, int nBlocks, float[] out, int outOffset) {
        int p = offset + row * rowBytes + block0 * BYTES;
        for (int blk = 0, o = outOffset; blk < nBlocks; blk++, o += BLOCK, p += BYTES) {
            float d = half(data, p);
            for (int j = 0; j < BLOCK; j += Simd.L) {
                decode(data, p + 2 + j, d, out, o + j);
            }
        }
    }
}
