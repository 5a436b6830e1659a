package dev.r1flink.tensor;

import jdk.incubator.vector.ByteVector;

/**
 * ggml {@code block_q4_K}: 256 elements in 144 bytes, {@code d} (fp16), {@code dmin} (fp16), {@code scales[12]}
 * (eight 6-bit scales and eight 6-bit mins, packed as {@link #scale}/{@link #min} unpack them), {@code qs[128]}.
 * The block is 4 groups of 64 elements; group {@code g} uses {@code qs[32g .. 32g+32)}: low nibbles are its first
 * 32 elements (sub-block {@code 2g}), high nibbles the next 32 (sub-block {@code 2g+1}). Element value:
 * {@code d*scale(s) * q - dmin*min(s)}.
 */
public final class Q4_KTensor extends FloatTensor {

    static final int BLOCK = 256;
    static final int BYTES = 144;

    public Q4_KTensor(int rows, int cols, byte[] data, int offset) {
        super(GgmlType.Q4_K, rows, cols, data, offset);
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q4_K;
    }

    /** 6-bit scale of sub-block {@code j} (0..7) from the 12 packed bytes at {@code q[at..]} (ggml get_scale_min_k4). */
    static int scale(byte[] q, int at, int j) {
        return j < 4
                ? q[at + j] & 63
                : (q[at + j + 4] & 0xf) | (((q[at + j - 4] & 0xff) >>> 6) << 4);
    }

    /** 6-bit min of sub-block {@code j} (0..7), the other half of ggml's get_scale_min_k4. */
    static int min(byte[] q, int at, int j) {
        return j < 4
                ? q[at + j + 4] & 63
                : ((q[at + j + 4] & 0xff) >>> 4) | (((q[at + j] & 0xff) >>> 6) << 4);
    }

    @Override
    public float get(int row, int col) {
        int p = offset + row * rowBytes + (col / BLOCK) * BYTES;
        int e = col % BLOCK;
        int g = e / 64;
        int sub = e / 32;
        int q = data[p + 16 + 32 * g + e % 32] & 0xff;
        int nibble = (sub & 1) == 0 ? q & 0xf : q >>> 4;
        float d1 = half(data, p) * scale(data, p + 4, sub);
        float m1 = half(data, p + 2) * min(data, p + 4, sub);
        return d1 * nibble - m1;
    }

    @Override
    public void dequantizeRow(int row, float[] out, int outOffset) {
        int p = offset + row * rowBytes;
        for (int o = outOffset, end = outOffset + cols; o < end; o += BLOCK, p += BYTES) {
            float d = half(data, p);
            float dmin = half(data, p + 2);
            for (int g = 0; g < 4; g++) {
                float d1 = d * scale(data, p + 4, 2 * g), m1 = dmin * min(data, p + 4, 2 * g);
                float d2 = d * scale(data, p + 4, 2 * g + 1), m2 = dmin * min(data, p + 4, 2 * g + 1);
                int qs = p + 16 + 32 * g;
                int y = o + 64 * g;
                for (int l = 0; l < 32; l++) {
                    int q = data[qs + l] & 0xff;
                    out[y + l] = d1 * (q & 0xf) - m1;
                    out[y + 32 + l] = d2 * (q >>> 4) - m2;
                }
            }
        }
    }

    /**
     * {@code L} elements from the low or high nibbles at {@code at}: {@code d1 * nibble - m1}. One
     * load-decode-store per call, so no vector crosses a call boundary if C2 stops inlining.
     */
    private static void decode(byte[] data, int at, boolean high, float d1, float m1, float[] out, int o) {
        ByteVector q = ByteVector.fromArray(Simd.B, data, at);
        ByteVector nibble = high ? Simd.shr(q, 4, 0xf) : q.and((byte) 0xf);
        Simd.bytesToFloats(nibble).mul(d1).sub(m1).intoArray(out, o);
    }

    @Override
    protected void dequantizeBlocks(int row, int block0, int nBlocks, float[] out, int outOffset) {
        int p = offset + row * rowBytes + block0 * BYTES;
        for (int blk = 0, o = outOffset; blk < nBlocks; blk++, o += BLOCK, p += BYTES) {
            float d = half(data, p);
            float dmin = half(data, p + 2);
            for (int g = 0; g < 4; g++) {
                float d1 = d * scale(data, p + 4, 2 * g), m1 = dmin * min(data, p + 4, 2 * g);
                float d2 = d * scale(data, p + 4, 2 * g + 1), m2 = dmin * min(data, p + 4, 2 * g + 1);
                int qs = p + 16 + 32 * g;
                int y = o + 64 * g;
                for (int l = 0; l < 32; l += Simd.L) {
                    decode(data, qs + l, false, d1, m1, out, y + l);
                    decode(data, qs + l, true, d2, m2, out, y + 32 + l);
                }
            }
        }
    }
}
