package dev.r1flink.tensor;

/**
 * A 2-D weight matrix {@code [rows][cols]} of one {@link GgmlType}, stored row-major in a heap {@code byte[]} in
 * exactly the GGUF/ggml bit layout (heap arrays measured faster than mapped buffers on JDK 17, see
 * {@code shared/notes/cpu-kernels.md}). A 1-D tensor is one row.
 *
 * <p>Each type is one final subclass. Every kernel has a Vector API path and a scalar twin ({@link #dotScalar});
 * tests compare them on random data. Contract that batching relies on: {@link #matmul} computes each (row, vector)
 * pair with the same arithmetic, in the same order, as {@link #dot} on that row and vector alone, so results never
 * depend on the batch size or the position in the batch.
 */
public abstract class FloatTensor {

    /** [rows][cols] in {@link #type()}'s block layout, starting at {@link #offset}. */
    protected final byte[] data;
    protected final int offset;
    protected final int rows;
    protected final int cols;
    /** Bytes per row. */
    protected final int rowBytes;

    protected FloatTensor(GgmlType type, int rows, int cols, byte[] data, int offset) {
        if (cols % type.blockSize() != 0) {
            throw new IllegalArgumentException(cols + " columns is not a multiple of the " + type + " block size");
        }
        long rb = type.byteSize(cols);
        if ((long) offset + rb * rows > data.length) {
            throw new IllegalArgumentException(type + " [" + rows + "][" + cols + "] needs " + rb * rows
                    + " bytes, buffer has " + (data.length - offset));
        }
        this.data = data;
        this.offset = offset;
        this.rows = rows;
        this.cols = cols;
        this.rowBytes = (int) rb;
    }

    /**
     * Wraps raw ggml-layout bytes as a tensor of the given type.
     *
     * @throws UnsupportedOperationException naming the type if r1-flink has no kernels for it
     */
    public static FloatTensor of(GgmlType type, int rows, int cols, byte[] data, int offset) {
        return switch (type) {
            case F32 -> new F32Tensor(rows, cols, data, offset);
            default -> throw new UnsupportedOperationException("no kernels for tensor type " + type
                    + " (supported: F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K)");
        };
    }

    public abstract GgmlType type();

    public final int rows() {
        return rows;
    }

    public final int cols() {
        return cols;
    }

    public final byte[] data() {
        return data;
    }

    public final int offset() {
        return offset;
    }

    /** Element {@code [row][col]}, dequantized. For lookups and tests, not for hot loops. */
    public abstract float get(int row, int col);

    /** Dequantizes row {@code row} into {@code out[outOffset .. outOffset+cols)}. */
    public void dequantizeRow(int row, float[] out, int outOffset) {
        for (int c = 0; c < cols; c++) {
            out[outOffset + c] = get(row, c);
        }
    }

    /** {@code sum_c this[row][c] * x[xOffset + c]}, Vector API path. */
    public abstract float dot(int row, float[] x, int xOffset);

    /** Scalar twin of {@link #dot}: the reference the vector path is tested against. */
    public abstract float dotScalar(int row, float[] x, int xOffset);

    /**
     * {@code out[b*outStride + r] = dot(r, x, b*xStride)} for rows {@code [rowFrom, rowTo)} and vectors
     * {@code [0, batch)}. Subclasses may block over rows and vectors, but each result must be bit-identical to
     * {@link #dot} on its own.
     */
    public void matmul(float[] x, int xStride, int batch, float[] out, int outStride, int rowFrom, int rowTo) {
        for (int r = rowFrom; r < rowTo; r++) {
            for (int b = 0; b < batch; b++) {
                out[b * outStride + r] = dot(r, x, b * xStride);
            }
        }
    }

    @Override
    public String toString() {
        return type() + "[" + rows + "][" + cols + "]";
    }
}
