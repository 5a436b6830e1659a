package dev.r1flink.tensor;

import static jdk.incubator.vector.VectorOperators.B2F;
import static jdk.incubator.vector.VectorOperators.LSHL;
import static jdk.incubator.vector.VectorOperators.LSHR;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;

/**
 * ggml {@code block_q6_K}: 256 elements in 210 bytes, {@code ql[128]} (low 4 bits), {@code qh[64]} (high 2 bits),
 * {@code scales[16]} (int8, one per 16 elements), {@code d} (fp16). Each half of 128 elements uses 64 bytes of
 * {@code ql}, 32 of {@code qh} and 8 scales; for {@code l} in 0..31 the byte pair {@code ql[l], ql[l+32]} and
 * {@code qh[l]} hold elements {@code l, l+32, l+64, l+96}. Element value: {@code d*scale * (q - 32)}.
 */
public final class Q6_KTensor extends FloatTensor {

    static final int BLOCK = 256;
    static final int BYTES = 210;
    private static final byte LOW = 0xf;
    private static final byte HIGH2 = 0x30;
    private static final byte OFFSET = 32;

    public Q6_KTensor(int rows, int cols, byte[] data, int offset) {
        super(GgmlType.Q6_K, rows, cols, data, offset);
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q6_K;
    }

    @Override
    public float get(int row, int col) {
        int p = offset + row * rowBytes + (col / BLOCK) * BYTES;
        int e = col % BLOCK;
        int n = e / 128;          // half
        int k = (e % 128) / 32;   // which of the 4 elements sharing ql/qh bytes
        int l = e % 32;
        int ql = data[p + 64 * n + l + (k & 1) * 32] & 0xff;
        int qh = data[p + 128 + 32 * n + l] & 0xff;
        int q = ((k < 2 ? ql & 0xf : ql >>> 4) | (((qh >>> (2 * k)) & 3) << 4)) - 32;
        int sc = data[p + 192 + 8 * n + l / 16 + 2 * k];
        return half(data, p + 208) * sc * q;
    }

    @Override
    public void dequantizeRow(int row, float[] out, int outOffset) {
        int p = offset + row * rowBytes;
        for (int o = outOffset, end = outOffset + cols; o < end; o += BLOCK, p += BYTES) {
            float d = half(data, p + 208);
            for (int n = 0; n < 2; n++) {
                int ql = p + 64 * n, qh = p + 128 + 32 * n, sc = p + 192 + 8 * n;
                int y = o + 128 * n;
                for (int l = 0; l < 32; l++) {
                    int is = l / 16;
                    int a = data[ql + l] & 0xff, b = data[ql + l + 32] & 0xff, h = data[qh + l] & 0xff;
                    out[y + l] = d * data[sc + is] * (((a & 0xf) | ((h & 3) << 4)) - 32);
                    out[y + l + 32] = d * data[sc + is + 2] * (((b & 0xf) | (((h >>> 2) & 3) << 4)) - 32);
                    out[y + l + 64] = d * data[sc + is + 4] * (((a >>> 4) | (((h >>> 4) & 3) << 4)) - 32);
                    out[y + l + 96] = d * data[sc + is + 6] * (((b >>> 4) | ((h >>> 6) << 4)) - 32);
                }
            }
        }
    }

    /**
     * {@code L} elements: the low or high nibbles at {@code qlAt}, bits {@code hbit, hbit+1} of the bytes at
     * {@code qhAt} as bits 4-5, minus 32, times {@code scale}. One load-decode-store per call, so that no vector
     * crosses a call boundary if C2 stops inlining (it does in one big loop body: NodeCountInliningCutoff).
     */
    private static void decode(byte[] data, int qlAt, boolean high, int qhAt, int hbit, float scale, float[] out,
                               int o) {
        ByteVector a = ByteVector.fromArray(Simd.B, data, qlAt);
        ByteVector h = ByteVector.fromArray(Simd.B, data, qhAt);
        // x86 has no byte shift: shift the same bits as int lanes, the mask drops what crossed a byte boundary
        ByteVector lo = a.reinterpretAsInts().lanewise(LSHR, high ? 4 : 0).reinterpretAsBytes().and((byte) 0xf);
        IntVector hw = h.reinterpretAsInts();
        ByteVector hi = (hbit <= 4 ? hw.lanewise(LSHL, 4 - hbit) : hw.lanewise(LSHR, hbit - 4)).reinterpretAsBytes()
                .and((byte) 0x30);
        ((FloatVector) lo.or(hi).sub((byte) 32).convertShape(B2F, Simd.F, 0)).mul(scale).intoArray(out, o);
    }

    @Override
    protected void dequantizeBlocks(int row, int block0, int nBlocks, float[] out, int outOffset) {
        int p = offset + row * rowBytes + block0 * BYTES;
        for (int blk = 0, o = outOffset; blk < nBlocks; blk++, o += BLOCK, p += BYTES) {
            float d = half(data, p + 208);
            for (int n = 0; n < 2; n++) {
                int ql = p + 64 * n, qh = p + 128 + 32 * n, sc = p + 192 + 8 * n;
                int y = o + 128 * n;
                for (int l = 0; l < 32; l += Simd.L) {
                    int is = l / 16; // a vector never straddles a 16-element scale group (L is 8 or 16)
                    decode(data, ql + l, false, qh + l, 0, d * data[sc + is], out, y + l);
                    decode(data, ql + l + 32, false, qh + l, 2, d * data[sc + is + 2], out, y + l + 32);
                    decode(data, ql + l, true, qh + l, 4, d * data[sc + is + 4], out, y + l + 64);
                    decode(data, ql + l + 32, true, qh + l, 6, d * data[sc + is + 6], out, y + l + 96);
                }
            }
        }
    }
}
