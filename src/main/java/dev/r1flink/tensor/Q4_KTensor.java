package dev.r1flink.tensor;

import static jdk.incubator.vector.VectorOperators.B2F;
import static jdk.incubator.vector.VectorOperators.LSHR;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;

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
    private static final byte LOW = 0xf;

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
        // x86 has no byte shift: shift the same bits as int lanes, the mask drops what crossed a byte boundary
        ByteVector nibble = q.reinterpretAsInts().lanewise(LSHR, high ? 4 : 0).reinterpretAsBytes().and(LOW);
        ((FloatVector) nibble.convertShape(B2F, Simd.F, 0)).mul(d1).sub(m1).intoArray(out, o);
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

    @Override
    protected boolean dot4(int r0, int r1, int r2, int r3, float[] x, int xOffset, float[] acc) {
        byte[] data = this.data;
        int p0 = offset + r0 * rowBytes, p1 = offset + r1 * rowBytes;
        int p2 = offset + r2 * rowBytes, p3 = offset + r3 * rowBytes;
        FloatVector a0 = FloatVector.zero(Simd.F), a1 = a0, a2 = a0, a3 = a0;
        for (int c = 0; c < cols; c += BLOCK, p0 += BYTES, p1 += BYTES, p2 += BYTES, p3 += BYTES) {
            float d0 = half(data, p0), d1 = half(data, p1), d2 = half(data, p2), d3 = half(data, p3);
            float n0 = half(data, p0 + 2), n1 = half(data, p1 + 2), n2 = half(data, p2 + 2), n3 = half(data, p3 + 2);
            // Sub-block s = 2g + k covers columns 32s..32s+31: nibbles k of qs[32g..32g+32), in steps of L, the order
            // the tile holds them. Vector API calls only in the loop (see Q8_0Tensor.dot4).
            for (int sub = 0; sub < 8; sub++) {
                int qs = 16 + 32 * (sub >> 1);
                int shift = 4 * (sub & 1);
                float s0 = d0 * scale(data, p0 + 4, sub), m0 = n0 * min(data, p0 + 4, sub);
                float s1 = d1 * scale(data, p1 + 4, sub), m1 = n1 * min(data, p1 + 4, sub);
                float s2 = d2 * scale(data, p2 + 4, sub), m2 = n2 * min(data, p2 + 4, sub);
                float s3 = d3 * scale(data, p3 + 4, sub), m3 = n3 * min(data, p3 + 4, sub);
                for (int j = 0; j < 32; j += Simd.L) {
                    FloatVector v = FloatVector.fromArray(Simd.F, x, xOffset + c + 32 * sub + j);
                    a0 = ((FloatVector) ByteVector.fromArray(Simd.B, data, p0 + qs + j).reinterpretAsInts()
                            .lanewise(LSHR, shift).reinterpretAsBytes().and(LOW).convertShape(B2F, Simd.F, 0))
                            .mul(s0).sub(m0).fma(v, a0);
                    a1 = ((FloatVector) ByteVector.fromArray(Simd.B, data, p1 + qs + j).reinterpretAsInts()
                            .lanewise(LSHR, shift).reinterpretAsBytes().and(LOW).convertShape(B2F, Simd.F, 0))
                            .mul(s1).sub(m1).fma(v, a1);
                    a2 = ((FloatVector) ByteVector.fromArray(Simd.B, data, p2 + qs + j).reinterpretAsInts()
                            .lanewise(LSHR, shift).reinterpretAsBytes().and(LOW).convertShape(B2F, Simd.F, 0))
                            .mul(s2).sub(m2).fma(v, a2);
                    a3 = ((FloatVector) ByteVector.fromArray(Simd.B, data, p3 + qs + j).reinterpretAsInts()
                            .lanewise(LSHR, shift).reinterpretAsBytes().and(LOW).convertShape(B2F, Simd.F, 0))
                            .mul(s3).sub(m3).fma(v, a3);
                }
            }
        }
        a0.intoArray(acc, 0);
        a1.intoArray(acc, Simd.L);
        a2.intoArray(acc, 2 * Simd.L);
        a3.intoArray(acc, 3 * Simd.L);
        return true;
    }
}
