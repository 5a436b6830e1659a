package dev.r1flink.tensor;

import jdk.incubator.vector.ByteVector;

/**
 * ggml {@code block_q4_0}: 32 elements in 18 bytes, {@code d} (fp16) then {@code qs[16]}; the low nibble of
 * {@code qs[j]} is element {@code j}, the high nibble element {@code j + 16}, value {@code (nibble - 8) * d}.
 */
public final class Q4_0Tensor extends FloatTensor {

    static final int BLOCK = 32;
    static final int BYTES = 18;

    public Q4_0Tensor(int rows, int cols, byte[] data, int offset) {
        super(GgmlType.Q4_0, rows, cols, data, offset);
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q4_0;
    }

    @Override
    public float get(int row, int col) {
        int p = offset + row * rowBytes + (col / BLOCK) * BYTES;
        int j = col % BLOCK;
        int q = data[p + 2 + (j & 15)] & 0xff;
        int nibble = j < 16 ? q & 0xf : q >>> 4;
        return (nibble - 8) * half(data, p);
    }

    @Override
    public void dequantizeRow(int row, float[] out, int outOffset) {
        int p = offset + row * rowBytes;
        for (int o = outOffset, end = outOffset + cols; o < end; o += BLOCK, p += BYTES) {
            float d = half(data, p);
            for (int j = 0; j < 16; j++) {
                int q = data[p + 2 + j] & 0xff;
                out[o + j] = ((q & 0xf) - 8) * d;
                out[o + j + 16] = ((q >>> 4) - 8) * d;
            }
        }
    }

    /**
     * {@code L} elements from the low or high nibbles at {@code at}: {@code (nibble - 8) * d}. One
     * load-decode-store per call, so no vector crosses a call boundary if C2 stops inlining.
     */
    private static void decode(byte[] data, int at, boolean high, float d, float[] out, int o) {
        ByteVector q = ByteVector.fromArray(Simd.B, data, at);
        ByteVector nibble = high ? Simd.shr(q, 4, 0xf) : q.and((byte) 0xf);
        Simd.bytesToFloats(nibble.sub((byte) 8)).mul(d).intoArray(out, o);
    }

    @Override
    protected void dequantizeBlocks(int row, int block0, int nBlocks, float[] out, int outOffset) {
        int p = offset + row * rowBytes + block0 * BYTES;
        for (int blk = 0, o = outOffset; blk < nBlocks; blk++, o += BLOCK, p += BYTES) {
            float d = half(data, p);
            for (int j = 0; j < 16; j += Simd.L) {
                decode(data, p + 2 + j, false, d, out, o + j);
                decode(data, p + 2 + j, true, d, out, o + 16 + j);
            }
        }
    }
}
