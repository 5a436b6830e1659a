package dev.r1flink.tensor;

import java.nio.ByteOrder;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

/** bfloat16 (the top 16 bits of a float32), little-endian (ggml {@code GGML_TYPE_BF16}). */
public final class BF16Tensor extends FloatTensor {

    public BF16Tensor(int rows, int cols, byte[] data, int offset) {
        super(GgmlType.BF16, rows, cols, data, offset);
    }

    @Override
    public GgmlType type() {
        return GgmlType.BF16;
    }

    @Override
    public float get(int row, int col) {
        return Float16.bf16ToFloat((short) SHORT_LE.get(data, offset + row * rowBytes + col * 2));
    }

    @Override
    public void dequantizeRow(int row, float[] out, int outOffset) {
        int base = offset + row * rowBytes;
        for (int c = 0; c < cols; c++) {
            out[outOffset + c] = Float16.bf16ToFloat((short) SHORT_LE.get(data, base + c * 2));
        }
    }

    @Override
    protected void dequantizeBlocks(int row, int block0, int nBlocks, float[] out, int outOffset) {
        int p = offset + row * rowBytes + block0 * 2;
        int j = 0;
        for (; j + Simd.L <= nBlocks; j += Simd.L) {
            // BFloat16 is the top half of a float
            ((IntVector) ShortVector.fromByteArray(Simd.S, data, p + j * 2, ByteOrder.LITTLE_ENDIAN)
                    .convertShape(VectorOperators.S2I, Simd.I, 0)).lanewise(VectorOperators.LSHL, 16)
                    .reinterpretAsFloats().intoArray(out, outOffset + j);
        }
        for (; j < nBlocks; j++) {
            out[outOffset + j] = Float16.bf16ToFloat((short) SHORT_LE.get(data, p + j * 2));
        }
    }
}
