package dev.r1flink.tensor;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

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
    public float dot(int row, float[] x, int xOffset) {
        return dotScalar(row, x, xOffset); // TODO(tensor): Vector API path
    }

    @Override
    public float dotScalar(int row, float[] x, int xOffset) {
        int base = offset + row * rowBytes;
        float sum = 0f;
        for (int c = 0; c < cols; c++) {
            sum += (float) FLOAT.get(data, base + c * 4) * x[xOffset + c];
        }
        return sum;
    }
}
