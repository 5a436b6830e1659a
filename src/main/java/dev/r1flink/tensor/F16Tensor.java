package dev.r1flink.tensor;

import java.nio.ByteOrder;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

/** IEEE half floats, little-endian (ggml {@code GGML_TYPE_F16}). */
public final class F16Tensor extends FloatTensor {

    public F16Tensor(int rows, int cols, byte[] data, int offset) {
        super(GgmlType.F16, rows, cols, data, offset);
    }

    @Override
    public GgmlType type() {
        return GgmlType.F16;
    }

    @Override
    public float get(int row, int col) {
        return half(data, offset + row * rowBytes + col * 2);
    }

    @Override
    public void dequantizeRow(int row, float[] out, int outOffset) {
        int base = offset + row * rowBytes;
        for (int c = 0; c < cols; c++) {
            out[outOffset + c] = half(data, base + c * 2);
        }
    }

    @Override
    protected void dequantizeBlocks(int row, int block0, int nBlocks, float[] out, int outOffset) {
        int p = offset + row * rowBytes + block0 * 2;
        int j = 0;
        for (; j + Simd.L <= nBlocks; j += Simd.L) {
            // half to float as Simd.HALF_REBIAS describes, inline (no vector crosses a call)
            IntVector h = (IntVector) ShortVector.fromByteArray(Simd.S, data, p + j * 2, ByteOrder.LITTLE_ENDIAN)
                    .convertShape(VectorOperators.S2I, Simd.I, 0);
            IntVector em = h.and(0x7fff);
            IntVector shifted = em.lanewise(VectorOperators.LSHL, 13);
            shifted.reinterpretAsFloats().mul(Simd.HALF_REBIAS).reinterpretAsInts()
                    .blend(shifted.or(0x7f800000), em.compare(VectorOperators.GE, 0x7c00))
                    .or(h.and(0x8000).lanewise(VectorOperators.LSHL, 16)).reinterpretAsFloats()
                    .intoArray(out, outOffset + j);
        }
        for (; j < nBlocks; j++) {
            out[outOffset + j] = half(data, p + j * 2);
        }
    }
}
