package dev.r1flink.tensor;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;

/** Plain little-endian float32. */
public final class F32Tensor extends FloatTensor {

    private static final VarHandle FLOAT = MethodHandles.byteArrayViewVarHandle(float[].class, ByteOrder.LITTLE_ENDIAN);

    public F32Tensor(int rows, int cols, byte[] data, int offset) {
        super(GgmlType.F32, rows, cols, data, offset);
    }

    @Override
    public GgmlType type() {
        return GgmlType.F32;
    }

    @Override
    public float get(int row, int col) {
        return (float) FLOAT.get(data, offset + row * rowBytes + col * 4);
    }

    @Override
    public void dequantizeRow(int row, float[] out, int outOffset) {
        int base = offset + row * rowBytes;
        for (int c = 0; c < cols; c++) {
            out[outOffset + c] = (float) FLOAT.get(data, base + c * 4);
        }
    }

    @Override
    protected void dequantizeBlocks(int row, int block0, int nBlocks, float[] out, int outOffset) {
        int p = offset + row * rowBytes + block0 * 4;
        int j = 0;
        for (; j + Simd.L <= nBlocks; j += Simd.L) {
            FloatVector.fromByteArray(Simd.F, data, p + j * 4, ByteOrder.LITTLE_ENDIAN).intoArray(out, outOffset + j);
        }
        for (; j < nBlocks; j++) {
            out[outOffset + j] = (float) FLOAT.get(data, p + j * 4);
        }
    }
}
