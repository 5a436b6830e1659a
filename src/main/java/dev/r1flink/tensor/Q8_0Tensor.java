package dev.r1flink.tensor;

import jdk.incubator.vector.ByteVector;
import static jdk.incubator.vector.VectorOperators.B2F;

import jdk.incubator.vector.FloatVector;

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
        ((FloatVector) ByteVector.fromArray(Simd.B, data, at).convertShape(B2F, Simd.F, 0)).mul(d).intoArray(out, o);
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

    @Override
    protected boolean dot4(int r0, int r1, int r2, int r3, float[] x, int xOffset, float[] acc) {
        byte[] data = this.data;
        int p0 = offset + r0 * rowBytes, p1 = offset + r1 * rowBytes;
        int p2 = offset + r2 * rowBytes, p3 = offset + r3 * rowBytes;
        FloatVector a0 = FloatVector.zero(Simd.F), a1 = a0, a2 = a0, a3 = a0;
        for (int c = 0; c < cols; c += BLOCK, p0 += BYTES, p1 += BYTES, p2 += BYTES, p3 += BYTES) {
            float d0 = half(data, p0), d1 = half(data, p1), d2 = half(data, p2), d3 = half(data, p3);
            // Vector API calls only (no helpers of ours taking or returning vectors): if C2 runs out of inlining
            // budget in a caller, a non-inlined helper would box every vector.
            for (int j = 0; j < BLOCK; j += Simd.L) {
                FloatVector v = FloatVector.fromArray(Simd.F, x, xOffset + c + j);
                a0 = ((FloatVector) ByteVector.fromArray(Simd.B, data, p0 + 2 + j).convertShape(B2F, Simd.F, 0))
                        .mul(d0).fma(v, a0);
                a1 = ((FloatVector) ByteVector.fromArray(Simd.B, data, p1 + 2 + j).convertShape(B2F, Simd.F, 0))
                        .mul(d1).fma(v, a1);
                a2 = ((FloatVector) ByteVector.fromArray(Simd.B, data, p2 + 2 + j).convertShape(B2F, Simd.F, 0))
                        .mul(d2).fma(v, a2);
                a3 = ((FloatVector) ByteVector.fromArray(Simd.B, data, p3 + 2 + j).convertShape(B2F, Simd.F, 0))
                        .mul(d3).fma(v, a3);
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
            for (int j = 0; j < BLOCK; j += Simd.L) {
                FloatVector w0 = ((FloatVector) ByteVector.fromArray(Simd.B, data, p0 + 2 + j)
                        .convertShape(B2F, Simd.F, 0)).mul(d0);
                FloatVector w1 = ((FloatVector) ByteVector.fromArray(Simd.B, data, p1 + 2 + j)
                        .convertShape(B2F, Simd.F, 0)).mul(d1);
                FloatVector w2 = ((FloatVector) ByteVector.fromArray(Simd.B, data, p2 + 2 + j)
                        .convertShape(B2F, Simd.F, 0)).mul(d2);
                FloatVector w3 = ((FloatVector) ByteVector.fromArray(Simd.B, data, p3 + 2 + j)
                        .convertShape(B2F, Simd.F, 0)).mul(d3);
                FloatVector v = FloatVector.fromArray(Simd.F, x, x0 + c + j);
                c00 = w0.fma(v, c00);
                c10 = w1.fma(v, c10);
                c20 = w2.fma(v, c20);
                c30 = w3.fma(v, c30);
                v = FloatVector.fromArray(Simd.F, x, x1 + c + j);
                c01 = w0.fma(v, c01);
                c11 = w1.fma(v, c11);
                c21 = w2.fma(v, c21);
                c31 = w3.fma(v, c31);
                v = FloatVector.fromArray(Simd.F, x, x2 + c + j);
                c02 = w0.fma(v, c02);
                c12 = w1.fma(v, c12);
                c22 = w2.fma(v, c22);
                c32 = w3.fma(v, c32);
                v = FloatVector.fromArray(Simd.F, x, x3 + c + j);
                c03 = w0.fma(v, c03);
                c13 = w1.fma(v, c13);
                c23 = w2.fma(v, c23);
                c33 = w3.fma(v, c33);
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
