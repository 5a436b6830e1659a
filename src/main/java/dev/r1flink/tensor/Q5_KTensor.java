package dev.r1flink.tensor;

import static jdk.incubator.vector.VectorOperators.B2F;
import static jdk.incubator.vector.VectorOperators.LSHL;
import static jdk.incubator.vector.VectorOperators.LSHR;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;

/**
 * ggml {@code block_q5_K}: 256 elements in 176 bytes, {@code d}, {@code dmin} (fp16), {@code scales[12]} (packed
 * as in {@link Q4_KTensor}), {@code qh[32]}, {@code qs[128]}. As Q4_K with a fifth bit: element {@code l} of group
 * {@code g}'s first half adds 16 if bit {@code 2g} of {@code qh[l]} is set, of its second half if bit {@code 2g+1}.
 */
public final class Q5_KTensor extends FloatTensor {

    static final int BLOCK = 256;
    static final int BYTES = 176;
    private static final byte LOW = 0xf;
    private static final byte FIFTH = 0x10;

    public Q5_KTensor(int rows, int cols, byte[] data, int offset) {
        super(GgmlType.Q5_K, rows, cols, data, offset);
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q5_K;
    }

    @Override
    public float get(int row, int col) {
        int p = offset + row * rowBytes + (col / BLOCK) * BYTES;
        int e = col % BLOCK;
        int g = e / 64;
        int sub = e / 32;
        int l = e % 32;
        int q = data[p + 48 + 32 * g + l] & 0xff;
        int h = ((data[p + 16 + l] & 0xff) >>> sub) & 1;
        int v = ((sub & 1) == 0 ? q & 0xf : q >>> 4) + 16 * h;
        float d1 = half(data, p) * Q4_KTensor.scale(data, p + 4, sub);
        float m1 = half(data, p + 2) * Q4_KTensor.min(data, p + 4, sub);
        return d1 * v - m1;
    }

    @Override
    public void dequantizeRow(int row, float[] out, int outOffset) {
        int p = offset + row * rowBytes;
        for (int o = outOffset, end = outOffset + cols; o < end; o += BLOCK, p += BYTES) {
            float d = half(data, p);
            float dmin = half(data, p + 2);
            for (int g = 0; g < 4; g++) {
                float d1 = d * Q4_KTensor.scale(data, p + 4, 2 * g), m1 = dmin * Q4_KTensor.min(data, p + 4, 2 * g);
                float d2 = d * Q4_KTensor.scale(data, p + 4, 2 * g + 1);
                float m2 = dmin * Q4_KTensor.min(data, p + 4, 2 * g + 1);
                int qs = p + 48 + 32 * g;
                int y = o + 64 * g;
                for (int l = 0; l < 32; l++) {
                    int q = data[qs + l] & 0xff;
                    int h = data[p + 16 + l] & 0xff;
                    out[y + l] = d1 * ((q & 0xf) + 16 * ((h >>> (2 * g)) & 1)) - m1;
                    out[y + 32 + l] = d2 * ((q >>> 4) + 16 * ((h >>> (2 * g + 1)) & 1)) - m2;
                }
            }
        }
    }

    /**
     * {@code L} elements: low or high nibbles at {@code qsAt} plus 16 where bit {@code bit} of the byte at
     * {@code qhAt} is set, then {@code d1 * q - m1}. One load-decode-store per call, so no vector crosses a call
     * boundary if C2 stops inlining.
     */
    private static void decode(byte[] data, int qsAt, boolean high, int qhAt, int bit, float d1, float m1,
                               float[] out, int o) {
        ByteVector q = ByteVector.fromArray(Simd.B, data, qsAt);
        ByteVector h = ByteVector.fromArray(Simd.B, data, qhAt);
        // x86 has no byte shift: shift the same bits as int lanes, the mask drops what crossed a byte boundary
        ByteVector nibble = q.reinterpretAsInts().lanewise(LSHR, high ? 4 : 0).reinterpretAsBytes().and((byte) 0xf);
        IntVector hi = h.reinterpretAsInts();
        ByteVector fifth = (bit <= 4 ? hi.lanewise(LSHL, 4 - bit) : hi.lanewise(LSHR, bit - 4)).reinterpretAsBytes()
                .and((byte) 0x10); // bit -> value 16
        ((FloatVector) nibble.or(fifth).convertShape(B2F, Simd.F, 0)).mul(d1).sub(m1).intoArray(out, o);
    }

    @Override
    protected void dequantizeBlocks(int row, int block0, int nBlocks, float[] out, int outOffset) {
        int p = offset + row * rowBytes + block0 * BYTES;
        for (int blk = 0, o = outOffset; blk < nBlocks; blk++, o += BLOCK, p += BYTES) {
            float d = half(data, p);
            float dmin = half(data, p + 2);
            for (int g = 0; g < 4; g++) {
                float d1 = d * Q4_KTensor.scale(data, p + 4, 2 * g), m1 = dmin * Q4_KTensor.min(data, p + 4, 2 * g);
                float d2 = d * Q4_KTensor.scale(data, p + 4, 2 * g + 1);
                float m2 = dmin * Q4_KTensor.min(data, p + 4, 2 * g + 1);
                int qs = p + 48 + 32 * g;
                int y = o + 64 * g;
                for (int l = 0; l < 32; l += Simd.L) {
                    decode(data, qs + l, false, p + 16 + l, 2 * g, d1, m1, out, y + l);
                    decode(data, qs + l, true, p + 16 + l, 2 * g + 1, d2, m2, out, y + 32 + l);
                }
            }
        }
    }
}
