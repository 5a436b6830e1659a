package dev.r1flink.tensor;

import java.nio.ByteOrder;
import jdk.incubator.vector.ShortVector;

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
            ShortVector h = ShortVector.fromByteArray(Simd.S, data, p + j * 2, ByteOrder.LITTLE_ENDIAN);
            Simd.halfToFloat(h).intoArray(out, outOffset + j);
        }
        for (; j < nBlocks; j++) {
            out[outOffset + j] = half(data, p + j * 2);
        }
    }
}
