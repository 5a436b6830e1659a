package dev.r1flink.tensor;

/**
 * One input of the weight products, prepared once for a {@link Backend} and then multiplied by one or more
 * weights (q, k, v share one input; gate and up another). On the native backend the rows are quantized here, once,
 * into the activation blocks each weight type takes (q8_0 and/or q8_K); on the Java backend they stay floats.
 * Buffers grow to the largest input seen and are reused, so steady decoding allocates nothing.
 *
 * <pre>{@code
 * MatmulInput in = new MatmulInput(Backend.resolve("auto"));
 * in.prepare(x, batch, dim, wq, wk, wv);                       // once per input
 * parallel.forRange(wq.rows(), 8, (from, to) -> in.multiply(wq, q, wq.rows(), from, to));
 * }</pre>
 *
 * <p>Not thread-safe for {@link #prepare}; {@link #multiply} may run on several threads on disjoint row ranges.
 */
public final class MatmulInput {

    private final Backend backend;
    private final int isa;
    private float[] x;
    private int xOffset;
    private int xStride;
    private int rows;
    private int cols;
    private byte[] q8_0 = new byte[0];
    private byte[] q8_K = new byte[0];
    private boolean hasQ8_0;
    private boolean hasQ8_K;

    public MatmulInput(Backend backend) {
        this.backend = backend;
        this.isa = backend == Backend.NATIVE ? NativeKernels.bestIsa() : -1;
    }

    public Backend backend() {
        return backend;
    }

    /**
     * Takes {@code rows} rows of {@code cols} floats at {@code x[r * cols]} as the input of the given weights
     * (null entries ignored; each weight must have {@code cols} columns).
     */
    public void prepare(float[] x, int rows, int cols, FloatTensor w0, FloatTensor w1, FloatTensor w2) {
        prepare(x, 0, cols, rows, cols, w0, w1, w2);
    }

    /**
     * As {@link #prepare(float[], int, int, FloatTensor, FloatTensor, FloatTensor)} for rows at
     * {@code x[xOffset + r * xStride]} ({@code xStride >= cols}): one head's slice of every row, or one expert's rows
     * in the middle of a packed buffer.
     */
    public void prepare(float[] x, int xOffset, int xStride, int rows, int cols, FloatTensor w0, FloatTensor w1,
                        FloatTensor w2) {
        if (xOffset < 0 || xStride < cols) {
            throw new IllegalArgumentException("bad input layout: offset " + xOffset + ", stride " + xStride
                    + " for " + cols + " columns");
        }
        this.x = x;
        this.xOffset = xOffset;
        this.xStride = xStride;
        this.rows = rows;
        this.cols = cols;
        hasQ8_0 = false;
        hasQ8_K = false;
        if (backend != Backend.NATIVE || rows == 0) {
            return;
        }
        quantizeFor(w0);
        quantizeFor(w1);
        quantizeFor(w2);
    }

    private void quantizeFor(FloatTensor w) {
        if (w == null || !NativeKernels.supports(w.type())) {
            return;
        }
        if (w.cols() != cols) {
            throw new IllegalArgumentException(w + " does not take inputs of " + cols + " columns");
        }
        boolean k = NativeKernels.usesQ8K(w.type());
        if (k ? hasQ8_K : hasQ8_0) {
            return;
        }
        int need = NativeKernels.activationBytes(w.type(), rows, cols);
        if (k) {
            if (q8_K.length < need) {
                q8_K = new byte[need];
            }
            NativeKernels.quantize(isa, w.type(), x, xOffset, rows, cols, xStride, q8_K);
            hasQ8_K = true;
        } else {
            if (q8_0.length < need) {
                q8_0 = new byte[need];
            }
            NativeKernels.quantize(isa, w.type(), x, xOffset, rows, cols, xStride, q8_0);
            hasQ8_0 = true;
        }
    }

    /** {@code out[b*outStride + r] = w[r] . row b} for rows {@code [rowFrom, rowTo)} of {@code w}, every row b. */
    public void multiply(FloatTensor w, float[] out, int outStride, int rowFrom, int rowTo) {
        multiply(w, out, 0, outStride, rowFrom, rowTo);
    }

    /** {@code out[outOffset + b*outStride + r] = w[r] . row b} for rows {@code [rowFrom, rowTo)} of {@code w}. */
    public void multiply(FloatTensor w, float[] out, int outOffset, int outStride, int rowFrom, int rowTo) {
        if (rows == 0) {
            return;
        }
        if (backend == Backend.NATIVE && NativeKernels.supports(w.type())) {
            boolean k = NativeKernels.usesQ8K(w.type());
            if (!(k ? hasQ8_K : hasQ8_0)) {
                throw new IllegalStateException(w + " was not among the weights this input was prepared for");
            }
            NativeKernels.matmul(isa, w, k ? q8_K : q8_0, rows, out, outOffset, outStride, rowFrom, rowTo);
        } else {
            w.matmul(x, xOffset, xStride, rows, out, outOffset, outStride, rowFrom, rowTo);
        }
    }
}
