package dev.r1flink.tensor;

import jdk.incubator.vector.ByteVector;
import static jdk.incubator.vector.VectorOperators.B2F;
import static jdk.incubator.vector.VectorOperators.LSHR;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorSpecies;

import java.nio.ByteOrder;

/**
 * ggml {@code block_q4_0}: 32 elements in 18 bytes, {@code d} (fp16) then {@code qs[16]}; the low nibble of
 * {@code qs[j]} is element {@code j}, the high nibble element {@code j + 16}, value {@code (nibble - 8) * d}.
 */
public final class Q4_0Tensor extends FloatTensor {

    static final int BLOCK = 32;
    static final int BYTES = 18;
    private static final byte LOW = 0xf;
    private static final byte EIGHT = 8;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    /** Ints over the same 16 (AVX-512) or 8 bytes as {@link Simd#B}: nibbles load as ints, no reinterpret first. */
    private static final VectorSpecies<Integer> QI = VectorSpecies.of(int.class, Simd.B.vectorShape());

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
        // x86 has no byte shift: shift the same bits as int lanes, the mask drops what crossed a byte boundary
        ByteVector nibble = q.reinterpretAsInts().lanewise(LSHR, high ? 4 : 0).reinterpretAsBytes().and(LOW);
        ((FloatVector) nibble.sub(EIGHT).convertShape(B2F, Simd.F, 0)).mul(d).intoArray(out, o);
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

    @Override
    protected boolean dot4(int r0, int r1, int r2, int r3, float[] x, int xOffset, float[] acc) {
        byte[] data = this.data;
        int p0 = offset + r0 * rowBytes, p1 = offset + r1 * rowBytes;
        int p2 = offset + r2 * rowBytes, p3 = offset + r3 * rowBytes;
        FloatVector a0 = FloatVector.zero(Simd.F), a1 = a0, a2 = a0, a3 = a0;
        for (int c = 0; c < cols; c += BLOCK, p0 += BYTES, p1 += BYTES, p2 += BYTES, p3 += BYTES) {
            float d0 = half(data, p0), d1 = half(data, p1), d2 = half(data, p2), d3 = half(data, p3);
            // Column order within the block: low nibbles are elements 0..15, high nibbles 16..31 (k = 0, 1), each
            // in steps of L, exactly as the tile holds them. Vector API calls only (see Q8_0Tensor.dot4); the
            // high nibbles are shifted as int lanes (x86 has no byte shift: ByteVector LSHR is not intrinsified on 17).
            // The nibbles load as ints (no reinterpret before the shift), which keeps this method under C2's
            // node-count inlining cutoff after a long prefill; and only IntVector ops the F32/F16 paths do not use,
            // so their shared profiles stay clean (docs/benchmarks.md, "Boxing cliffs", has the measurements).
            for (int k = 0; k < 2; k++) {
                int shift = 4 * k;
                for (int j = 0; j < 16; j += Simd.L) {
                    FloatVector v = FloatVector.fromArray(Simd.F, x, xOffset + c + 16 * k + j);
                    ByteVector q0 = IntVector.fromByteArray(QI, data, p0 + 2 + j, LE)
                            .lanewise(LSHR, shift).reinterpretAsBytes();
                    ByteVector q1 = IntVector.fromByteArray(QI, data, p1 + 2 + j, LE)
                            .lanewise(LSHR, shift).reinterpretAsBytes();
                    ByteVector q2 = IntVector.fromByteArray(QI, data, p2 + 2 + j, LE)
                            .lanewise(LSHR, shift).reinterpretAsBytes();
                    ByteVector q3 = IntVector.fromByteArray(QI, data, p3 + 2 + j, LE)
                            .lanewise(LSHR, shift).reinterpretAsBytes();
                    a0 = ((FloatVector) q0.and(LOW).sub(EIGHT).convertShape(B2F, Simd.F, 0)).mul(d0).fma(v, a0);
                    a1 = ((FloatVector) q1.and(LOW).sub(EIGHT).convertShape(B2F, Simd.F, 0)).mul(d1).fma(v, a1);
                    a2 = ((FloatVector) q2.and(LOW).sub(EIGHT).convertShape(B2F, Simd.F, 0)).mul(d2).fma(v, a2);
                    a3 = ((FloatVector) q3.and(LOW).sub(EIGHT).convertShape(B2F, Simd.F, 0)).mul(d3).fma(v, a3);
                }
            }
        }
        a0.intoArray(acc, 0);
        a1.intoArray(acc, Simd.L);
        a2.intoArray(acc, 2 * Simd.L);
        a3.intoArray(acc, 3 * Simd.L);
        return true;
    }

    @Override
    protected boolean dot4x4(int r0, int step, float[] x, int xOffset, int xStride, float[] acc) {
        byte[] data = this.data;
        int p0 = offset + r0 * rowBytes, p1 = p0 + step * rowBytes, p2 = p1 + step * rowBytes, p3 = p2 + step * rowBytes;
        int x0 = xOffset, x1 = x0 + xStride, x2 = x1 + xStride, x3 = x2 + xStride;
        FloatVector c00 = FloatVector.zero(Simd.F), c01 = c00, c02 = c00, c03 = c00;
        FloatVector c10 = c00, c11 = c00, c12 = c00, c13 = c00;
        FloatVector c20 = c00, c21 = c00, c22 = c00, c23 = c00;
        FloatVector c30 = c00, c31 = c00, c32 = c00, c33 = c00;
        for (int c = 0; c < cols; c += BLOCK, p0 += BYTES, p1 += BYTES, p2 += BYTES, p3 += BYTES) {
            float d0 = half(data, p0), d1 = half(data, p1), d2 = half(data, p2), d3 = half(data, p3);
            for (int k = 0; k < 2; k++) { // low nibbles (columns 0..15), then high (16..31), as in dot4
                int shift = 4 * k;
                for (int j = 0; j < 16; j += Simd.L) {
                    int col = c + 16 * k + j;
                    FloatVector w0 = ((FloatVector) ByteVector.fromArray(Simd.B, data, p0 + 2 + j).reinterpretAsInts()
                            .lanewise(LSHR, shift).reinterpretAsBytes().and(LOW).sub(EIGHT)
                            .convertShape(B2F, Simd.F, 0)).mul(d0);
                    FloatVector w1 = ((FloatVector) ByteVector.fromArray(Simd.B, data, p1 + 2 + j).reinterpretAsInts()
                            .lanewise(LSHR, shift).reinterpretAsBytes().and(LOW).sub(EIGHT)
                            .convertShape(B2F, Simd.F, 0)).mul(d1);
                    FloatVector w2 = ((FloatVector) ByteVector.fromArray(Simd.B, data, p2 + 2 + j).reinterpretAsInts()
                            .lanewise(LSHR, shift).reinterpretAsBytes().and(LOW).sub(EIGHT)
                            .convertShape(B2F, Simd.F, 0)).mul(d2);
                    FloatVector w3 = ((FloatVector) ByteVector.fromArray(Simd.B, data, p3 + 2 + j).reinterpretAsInts()
                            .lanewise(LSHR, shift).reinterpretAsBytes().and(LOW).sub(EIGHT)
                            .convertShape(B2F, Simd.F, 0)).mul(d3);
                    FloatVector v = FloatVector.fromArray(Simd.F, x, x0 + col);
                    c00 = w0.fma(v, c00);
                    c10 = w1.fma(v, c10);
                    c20 = w2.fma(v, c20);
                    c30 = w3.fma(v, c30);
                    v = FloatVector.fromArray(Simd.F, x, x1 + col);
                    c01 = w0.fma(v, c01);
                    c11 = w1.fma(v, c11);
                    c21 = w2.fma(v, c21);
                    c31 = w3.fma(v, c31);
                    v = FloatVector.fromArray(Simd.F, x, x2 + col);
                    c02 = w0.fma(v, c02);
                    c12 = w1.fma(v, c12);
                    c22 = w2.fma(v, c22);
                    c32 = w3.fma(v, c32);
                    v = FloatVector.fromArray(Simd.F, x, x3 + col);
                    c03 = w0.fma(v, c03);
                    c13 = w1.fma(v, c13);
                    c23 = w2.fma(v, c23);
                    c33 = w3.fma(v, c33);
                }
            }
        }
        c00.intoArray(acc, 0);
        c01.intoArray(acc, Simd.L);
        c02.intoArray(acc, 2 * Simd.L);
        c03.intoArray(acc, 3 * Simd.L);
        c10.intoArray(acc, 4 * Simd.L);
        c11.intoArray(acc, 5 * Simd.L);
        c12.intoArray(acc, 6 * Simd.L);
        c13.intoArray(acc, 7 * Simd.L);
        c20.intoArray(acc, 8 * Simd.L);
        c21.intoArray(acc, 9 * Simd.L);
        c22.intoArray(acc, 10 * Simd.L);
        c23.intoArray(acc, 11 * Simd.L);
        c30.intoArray(acc, 12 * Simd.L);
        c31.intoArray(acc, 13 * Simd.L);
        c32.intoArray(acc, 14 * Simd.L);
        c33.intoArray(acc, 15 * Simd.L);
        return true;
    }
}
