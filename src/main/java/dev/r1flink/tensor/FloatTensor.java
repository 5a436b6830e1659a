package dev.r1flink.tensor;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * A 2-D weight matrix {@code [rows][cols]} of one {@link GgmlType}, stored row-major in a heap {@code byte[]} in
 * exactly the GGUF/ggml bit layout (heap arrays measured faster than mapped buffers on JDK 17, see
 * {@code shared/notes/cpu-kernels.md}). A 1-D tensor is one row.
 *
 * <pre>{@code
 * FloatTensor w = FloatTensor.of(GgmlType.Q8_0, 8960, 1536, bytes, 0);
 * float y = w.dot(row, x, 0);                               // one row, one vector
 * w.matmul(xs, 1536, batch, out, 8960, 0, w.rows());        // out[b*8960 + r] = dot(r, xs, b*1536)
 * }</pre>
 *
 * <p>Each type is one final subclass that knows only its block layout: a scalar decoder ({@link #get},
 * {@link #dequantizeRow}) and a Vector API decoder of whole blocks ({@link #dequantizeBlocks}), both producing the
 * same floats bit for bit. The products are shared: {@link #matmul} decodes a tile of 4 rows x {@value #TILE_COLS}
 * columns to floats once and runs a register-blocked micro-kernel (4 rows x 4 vectors) over it, so each weight block
 * is read from memory and decoded once for the whole batch. The 4 rows of a tile lie a quarter of the row range
 * apart: 4 independent memory streams in different pages (see docs/benchmarks.md). Types with fused kernels
 * ({@link #dot4}: Q8_0, Q4_0, Q4_K; {@link #dot4x4}: Q8_0, Q4_0) decode straight into registers for
 * batches below {@code r1.tensor.fusedBelow} (8), skipping the tile's store and reload.
 *
 * <p>Parallel use: {@code parallel.forRange(rows, 16, (from, to) -> w.matmul(x, xStride, batch, out, rows, from,
 * to))}; a granularity that is a multiple of 4 keeps every tile full. Pad {@code xStride} (e.g. {@code cols + 16})
 * so activation rows do not share the cache line where the previous one ends.
 *
 * <p>Contract that batching relies on: every (row, vector) pair is computed with one vector accumulator,
 * {@code acc = fma(w[c..c+L), x[c..c+L), acc)} for {@code c = 0, L, 2L, ...} in order, then its lanes added in one fixed
 * order ({@link Simd#sum}). Which kernel shape or tile a pair falls into changes only the order pairs are visited,
 * never the arithmetic of a pair, so {@link #matmul} equals {@link #dot} bit for bit whatever the batch size, the
 * position in the batch or the row range. {@link #dotScalar} is the plain scalar twin the vector path is tested
 * against (equal up to rounding, not bitwise).
 */
public abstract class FloatTensor {

    /** Rows decoded into one tile: independent memory streams, and the row side of the micro-kernel. */
    static final int TILE_ROWS = 4;
    /** Columns per tile: a multiple of every block size (256 for K-quants) and of the vector length. */
    static final int TILE_COLS = Integer.getInteger("r1.tensor.tileCols", 512);

    static {
        if (TILE_COLS <= 0 || TILE_COLS % 256 != 0) {
            throw new IllegalStateException("r1.tensor.tileCols must be a positive multiple of 256, got " + TILE_COLS);
        }
    }

    /** A/B switches for kernel experiments; the defaults are the measured winners. */
    static final boolean SPREAD = !Boolean.getBoolean("r1.tensor.adjacentRows");
    /** Batches below this use the fused kernels where a type has them (tiled above: decode once for all vectors). */
    static final int FUSED_BELOW = Integer.getInteger("r1.tensor.fusedBelow", 8);
    /**
     * Decoded-weight floats per thread for the batched path ({@link #panels}): ~512 KB, half this machine's L2 per
     * core. 0 switches the panel path off (the column-chunked tile path runs instead).
     */
    static final int PANEL_FLOATS = Integer.getInteger("r1.tensor.panelFloats", 1 << 17);

    static final VarHandle SHORT_LE = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);

    /** [rows][cols] in {@link #type()}'s block layout, starting at {@link #offset}. */
    protected final byte[] data;
    protected final int offset;
    protected final int rows;
    protected final int cols;
    /** Bytes per row. */
    protected final int rowBytes;

    protected FloatTensor(GgmlType type, int rows, int cols, byte[] data, int offset) {
        if (rows < 0 || cols < 0 || offset < 0) {
            throw new IllegalArgumentException("negative shape or offset: [" + rows + "][" + cols + "] at " + offset);
        }
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
            case F16 -> new F16Tensor(rows, cols, data, offset);
            case BF16 -> new BF16Tensor(rows, cols, data, offset);
            case Q8_0 -> new Q8_0Tensor(rows, cols, data, offset);
            case Q4_0 -> new Q4_0Tensor(rows, cols, data, offset);
            case Q4_K -> new Q4_KTensor(rows, cols, data, offset);
            case Q5_K -> new Q5_KTensor(rows, cols, data, offset);
            case Q6_K -> new Q6_KTensor(rows, cols, data, offset);
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

    /** Bytes per row in the ggml layout. */
    public final int rowBytes() {
        return rowBytes;
    }

    /** Element {@code [row][col]}, dequantized. For lookups and tests, not for hot loops. */
    public abstract float get(int row, int col);

    /** Dequantizes row {@code row} into {@code out[outOffset .. outOffset+cols)} (scalar; same floats as {@link #get}). */
    public abstract void dequantizeRow(int row, float[] out, int outOffset);

    /**
     * Vector API twin of {@link #dequantizeRow} for blocks {@code [block0, block0+nBlocks)} of row {@code row}:
     * writes {@code nBlocks * blockSize} floats to {@code out[outOffset..]}, bit-identical to the scalar decoder.
     * Only called when {@link Simd#ENABLED}, with {@code nBlocks * blockSize} a multiple of {@link Simd#L}.
     */
    protected abstract void dequantizeBlocks(int row, int block0, int nBlocks, float[] out, int outOffset);

    /** Whether this tensor runs the Vector API kernels (else the scalar twins). */
    final boolean vectorized() {
        return Simd.ENABLED && cols % Simd.L == 0;
    }

    /** {@code sum_c this[row][c] * x[xOffset + c]}, Vector API path (same arithmetic as each pair of {@link #matmul}). */
    public float dot(int row, float[] x, int xOffset) {
        if (!vectorized()) {
            return dotScalar(row, x, xOffset);
        }
        checkRows(row, row + 1);
        checkVector(x, xOffset);
        Scratch s = Scratch.get();
        blocked(x, xOffset, 0, 1, s.one, -row, 0, row, row + 1, s);
        return s.one[0];
    }

    /** Scalar twin of {@link #dot}: the dequantized row times {@code x}, summed left to right. */
    public float dotScalar(int row, float[] x, int xOffset) {
        checkRows(row, row + 1);
        checkVector(x, xOffset);
        float[] w = Scratch.get().row(cols);
        dequantizeRow(row, w, 0);
        float sum = 0f;
        for (int c = 0; c < cols; c++) {
            sum += w[c] * x[xOffset + c];
        }
        return sum;
    }

    /**
     * {@code out[b*outStride + r] = dot(r, x, b*xStride)} for rows {@code [rowFrom, rowTo)} and vectors
     * {@code [0, batch)}; each result bit-identical to {@link #dot} on its own. Safe to call from several threads on
     * disjoint row ranges (scratch space is per thread).
     */
    public void matmul(float[] x, int xStride, int batch, float[] out, int outStride, int rowFrom, int rowTo) {
        matmul(x, 0, xStride, batch, out, 0, outStride, rowFrom, rowTo);
    }

    /**
     * {@link #matmul(float[], int, int, float[], int, int, int)} on vectors that start at {@code x[xOffset]} and
     * outputs that start at {@code out[outOffset]}: {@code out[outOffset + b*outStride + r] = dot(r, x, xOffset +
     * b*xStride)}, the same arithmetic per pair (so one head's or one expert's rows can be taken from the middle of
     * a larger buffer).
     */
    public void matmul(float[] x, int xOffset, int xStride, int batch, float[] out, int outOffset, int outStride,
                       int rowFrom, int rowTo) {
        checkRows(rowFrom, rowTo);
        if (batch <= 0 || rowFrom == rowTo) {
            return;
        }
        if (xOffset < 0 || outOffset < 0) {
            throw new IndexOutOfBoundsException("negative offset: x " + xOffset + ", out " + outOffset);
        }
        checkVector(x, xOffset + (batch - 1) * xStride);
        if (out.length < (long) outOffset + (long) (batch - 1) * outStride + rowTo) {
            throw new IllegalArgumentException("out has " + out.length + " floats, needs "
                    + ((long) outOffset + (long) (batch - 1) * outStride + rowTo));
        }
        if (!vectorized()) {
            for (int r = rowFrom; r < rowTo; r++) {
                for (int b = 0; b < batch; b++) {
                    out[outOffset + b * outStride + r] = dotScalar(r, x, xOffset + b * xStride);
                }
            }
            return;
        }
        blocked(x, xOffset, xStride, batch, out, outOffset, outStride, rowFrom, rowTo, Scratch.get());
    }

    private void checkRows(int rowFrom, int rowTo) {
        if (rowFrom < 0 || rowTo > rows || rowFrom > rowTo) {
            throw new IndexOutOfBoundsException("rows [" + rowFrom + ", " + rowTo + ") of " + this);
        }
    }

    private void checkVector(float[] x, int xOffset) {
        if (xOffset < 0 || (long) xOffset + cols > x.length) {
            throw new IndexOutOfBoundsException("vector at " + xOffset + " of " + cols + " floats, array has "
                    + x.length);
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Tiled product shared by every type. Pair (i, b) of a row group keeps its accumulator in acc[(i*batch+b)*L..]
    // between tiles; inside a tile the micro-kernels hold them in registers.

    private void blocked(float[] x, int xOffset, int xStride, int batch, float[] out, int outOffset, int outStride,
                         int rowFrom, int rowTo, Scratch s) {
        final int lanes = Simd.L;
        final int bs = type().blockSize();
        float[] tile = s.tile;
        float[] acc = s.acc(TILE_ROWS * batch * lanes);
        // Groups of 4 rows a quarter of the range apart: 4 independent memory streams in different pages.
        int quarter = SPREAD ? (rowTo - rowFrom) / TILE_ROWS : 1;
        int groups = (rowTo - rowFrom) / TILE_ROWS;
        int tail = rowFrom + groups * TILE_ROWS;
        int g = 0;
        if (batch >= FUSED_BELOW && PANEL_FLOATS > 0) {
            panels(groups, rowFrom, quarter, x, xOffset, xStride, batch, out, outOffset, outStride, s);
            g = groups; // only the tail rows are left
        }
        for (; g < groups + (rowTo - tail); g++) {
            int nr = g < groups ? TILE_ROWS : 1;
            int first = g < groups ? (SPREAD ? rowFrom + g : rowFrom + g * TILE_ROWS) : tail + (g - groups);
            int step = g < groups ? quarter : 1;
            if (batch < FUSED_BELOW && nr == TILE_ROWS && fused(first, step, x, xOffset, xStride, batch, out,
                    outOffset, outStride, s)) {
                continue;
            }
            Arrays.fill(acc, 0, nr * batch * lanes, 0f);
            for (int c0 = 0; c0 < cols; c0 += TILE_COLS) {
                int kc = Math.min(TILE_COLS, cols - c0);
                for (int i = 0; i < nr; i++) {
                    dequantizeBlocks(first + i * step, c0 / bs, kc / bs, tile, i * TILE_COLS);
                }
                int xc = xOffset + c0;
                if (nr == TILE_ROWS) {
                    int b = 0;
                    for (; b + 4 <= batch; b += 4) {
                        kernel4x4(tile, 0, TILE_COLS, kc, x, xc + b * xStride, xStride, acc, b * lanes, batch * lanes);
                    }
                    for (; b < batch; b++) {
                        kernel4x1(tile, 0, TILE_COLS, kc, x, xc + b * xStride, acc, b * lanes, batch * lanes);
                    }
                } else {
                    int b = 0;
                    for (; b + 4 <= batch; b += 4) {
                        kernel1x4(tile, 0, kc, x, xc + b * xStride, xStride, acc, b * lanes);
                    }
                    for (; b < batch; b++) {
                        kernel1x1(tile, 0, kc, x, xc + b * xStride, acc, b * lanes);
                    }
                }
            }
            for (int i = 0; i < nr; i++) {
                int r = first + i * step;
                for (int b = 0; b < batch; b++) {
                    out[outOffset + b * outStride + r] = Simd.sum(acc, (i * batch + b) * lanes);
                }
            }
        }
    }

    /**
     * Batched path: decode whole rows (all {@code cols}) of as many 4-row groups as fit in {@link #PANEL_FLOATS},
     * then for each 4 vectors run the micro-kernel over every group of the panel. The 4 vectors stay in L1/L2
     * while the panel's groups pass over them (the chunked path re-read all of them from L3 for every 4 rows);
     * accumulators live in registers for the whole row, so nothing is stored between column chunks. The FMAs per
     * (row, vector) are the chunked path's, in the same order: results are bit-identical to {@link #dot}.
     */
    private void panels(int groups, int rowFrom, int quarter, float[] x, int xOffset, int xStride, int batch,
                        float[] out, int outOffset, int outStride, Scratch s) {
        final int lanes = Simd.L;
        final int nb = cols / type().blockSize();
        final int groupFloats = TILE_ROWS * cols;
        int per = Math.max(1, Math.min(groups, PANEL_FLOATS / groupFloats));
        float[] panel = s.panel(per * groupFloats);
        float[] acc = s.fusedAcc;
        for (int g0 = 0; g0 < groups; g0 += per) {
            int gn = Math.min(per, groups - g0);
            for (int g = 0; g < gn; g++) {
                int first = SPREAD ? rowFrom + g0 + g : rowFrom + (g0 + g) * TILE_ROWS;
                int step = SPREAD ? quarter : 1;
                for (int i = 0; i < TILE_ROWS; i++) {
                    dequantizeBlocks(first + i * step, 0, nb, panel, g * groupFloats + i * cols);
                }
            }
            int b = 0;
            for (; b + 4 <= batch; b += 4) {
                int xb = xOffset + b * xStride;
                for (int g = 0; g < gn; g++) {
                    Arrays.fill(acc, 0, 16 * lanes, 0f);
                    kernel4x4(panel, g * groupFloats, cols, cols, x, xb, xStride, acc, 0, 4 * lanes);
                    int first = SPREAD ? rowFrom + g0 + g : rowFrom + (g0 + g) * TILE_ROWS;
                    int step = SPREAD ? quarter : 1;
                    for (int i = 0; i < TILE_ROWS; i++) {
                        int r = outOffset + first + i * step;
                        for (int j = 0; j < 4; j++) {
                            out[r + (b + j) * outStride] = Simd.sum(acc, (4 * i + j) * lanes);
                        }
                    }
                }
            }
            for (; b < batch; b++) {
                int xb = xOffset + b * xStride;
                for (int g = 0; g < gn; g++) {
                    Arrays.fill(acc, 0, TILE_ROWS * lanes, 0f);
                    kernel4x1(panel, g * groupFloats, cols, cols, x, xb, acc, 0, lanes);
                    int first = SPREAD ? rowFrom + g0 + g : rowFrom + (g0 + g) * TILE_ROWS;
                    int step = SPREAD ? quarter : 1;
                    for (int i = 0; i < TILE_ROWS; i++) {
                        out[outOffset + first + i * step + b * outStride] = Simd.sum(acc, i * lanes);
                    }
                }
            }
        }
    }

    /**
     * Small batches with a fused kernel: 4 rows x 4 vectors, then 4 rows x 1 for the rest. No tile: weights are
     * decoded straight into registers (once per group of 4 vectors, so only worth it while batches are small).
     * The kernels leave their accumulators in {@code s.fusedAcc}; the lanes are added here, by {@link Simd#sum}.
     */
    private boolean fused(int first, int step, float[] x, int xOffset, int xStride, int batch, float[] out,
                          int outOffset, int outStride, Scratch s) {
        final int lanes = Simd.L;
        float[] acc = s.fusedAcc;
        int b = 0;
        for (; b + 4 <= batch; b += 4) {
            if (!dot4x4(first, step, x, xOffset + b * xStride, xStride, acc)) {
                return false;
            }
            for (int i = 0; i < TILE_ROWS; i++) {
                for (int j = 0; j < 4; j++) {
                    out[outOffset + (b + j) * outStride + first + i * step] = Simd.sum(acc, (4 * i + j) * lanes);
                }
            }
        }
        for (; b < batch; b++) {
            if (!dot4(first, first + step, first + 2 * step, first + 3 * step, x, xOffset + b * xStride, acc)) {
                return false; // only on the first vector: a type has both kernels or neither
            }
            for (int i = 0; i < TILE_ROWS; i++) {
                out[outOffset + b * outStride + first + i * step] = Simd.sum(acc, i * lanes);
            }
        }
        return true;
    }

    /**
     * Optional fused kernel for 4 rows ({@code r0 + i*step}) x 4 vectors ({@code x[xOffset + j*xStride..]}), the
     * accumulator of (row i, vector j) stored to {@code acc[(4*i + j) * L..]}; same contract as {@link #dot4}.
     *
     * @return false if the type has no fused kernel
     */
    protected boolean dot4x4(int r0, int step, float[] x, int xOffset, int xStride, float[] acc) {
        return false;
    }

    /**
     * Optional fused kernel for one vector (decode, B=1): the dots of 4 rows with {@code x[xOffset..]}, decoding
     * each block straight into registers instead of through the tile. It must produce exactly the tiled path's
     * accumulators (one per row, {@code fma(decoded chunk, x chunk, acc)} in column order), stored to
     * {@code acc[i * L..]} for row i; the caller adds the lanes with {@link Simd#sum}. Kernels keep every vector
     * inside their own body (no helper taking or returning a vector): a helper C2 does not inline boxes its
     * vectors, allocating per call.
     *
     * @return false if the type has no fused kernel (the tiled path runs instead)
     */
    protected boolean dot4(int r0, int r1, int r2, int r3, float[] x, int xOffset, float[] acc) {
        return false;
    }

    /**
     * 4 tile rows x 4 vectors: 16 accumulators, 4 weight and 4 activation loads per 16 FMAs. Accumulator of
     * (row i, vector j) at {@code acc[a + i*rowStride + j*L]}.
     */
    private static void kernel4x4(float[] w, int w0, int wStride, int kc, float[] x, int x0, int xStride, float[] acc,
                                  int a, int rowStride) {
        final VectorSpecies<Float> sp = Simd.F;
        final int lanes = Simd.L;
        final int w1 = w0 + wStride, w2 = w1 + wStride, w3 = w2 + wStride;
        final int x1 = x0 + xStride, x2 = x1 + xStride, x3 = x2 + xStride;
        final int a1 = a + rowStride, a2 = a1 + rowStride, a3 = a2 + rowStride;
        FloatVector c00 = FloatVector.fromArray(sp, acc, a), c01 = FloatVector.fromArray(sp, acc, a + lanes);
        FloatVector c02 = FloatVector.fromArray(sp, acc, a + 2 * lanes), c03 = FloatVector.fromArray(sp, acc, a + 3 * lanes);
        FloatVector c10 = FloatVector.fromArray(sp, acc, a1), c11 = FloatVector.fromArray(sp, acc, a1 + lanes);
        FloatVector c12 = FloatVector.fromArray(sp, acc, a1 + 2 * lanes), c13 = FloatVector.fromArray(sp, acc, a1 + 3 * lanes);
        FloatVector c20 = FloatVector.fromArray(sp, acc, a2), c21 = FloatVector.fromArray(sp, acc, a2 + lanes);
        FloatVector c22 = FloatVector.fromArray(sp, acc, a2 + 2 * lanes), c23 = FloatVector.fromArray(sp, acc, a2 + 3 * lanes);
        FloatVector c30 = FloatVector.fromArray(sp, acc, a3), c31 = FloatVector.fromArray(sp, acc, a3 + lanes);
        FloatVector c32 = FloatVector.fromArray(sp, acc, a3 + 2 * lanes), c33 = FloatVector.fromArray(sp, acc, a3 + 3 * lanes);
        for (int c = 0; c < kc; c += lanes) {
            FloatVector r0 = FloatVector.fromArray(sp, w, w0 + c);
            FloatVector r1 = FloatVector.fromArray(sp, w, w1 + c);
            FloatVector r2 = FloatVector.fromArray(sp, w, w2 + c);
            FloatVector r3 = FloatVector.fromArray(sp, w, w3 + c);
            FloatVector v = FloatVector.fromArray(sp, x, x0 + c);
            c00 = r0.fma(v, c00);
            c10 = r1.fma(v, c10);
            c20 = r2.fma(v, c20);
            c30 = r3.fma(v, c30);
            v = FloatVector.fromArray(sp, x, x1 + c);
            c01 = r0.fma(v, c01);
            c11 = r1.fma(v, c11);
            c21 = r2.fma(v, c21);
            c31 = r3.fma(v, c31);
            v = FloatVector.fromArray(sp, x, x2 + c);
            c02 = r0.fma(v, c02);
            c12 = r1.fma(v, c12);
            c22 = r2.fma(v, c22);
            c32 = r3.fma(v, c32);
            v = FloatVector.fromArray(sp, x, x3 + c);
            c03 = r0.fma(v, c03);
            c13 = r1.fma(v, c13);
            c23 = r2.fma(v, c23);
            c33 = r3.fma(v, c33);
        }
        c00.intoArray(acc, a);
        c01.intoArray(acc, a + lanes);
        c02.intoArray(acc, a + 2 * lanes);
        c03.intoArray(acc, a + 3 * lanes);
        c10.intoArray(acc, a1);
        c11.intoArray(acc, a1 + lanes);
        c12.intoArray(acc, a1 + 2 * lanes);
        c13.intoArray(acc, a1 + 3 * lanes);
        c20.intoArray(acc, a2);
        c21.intoArray(acc, a2 + lanes);
        c22.intoArray(acc, a2 + 2 * lanes);
        c23.intoArray(acc, a2 + 3 * lanes);
        c30.intoArray(acc, a3);
        c31.intoArray(acc, a3 + lanes);
        c32.intoArray(acc, a3 + 2 * lanes);
        c33.intoArray(acc, a3 + 3 * lanes);
    }

    /** 4 tile rows x 1 vector (batch remainder, and B=1 where 4 rows give 4 independent FMA chains). */
    private static void kernel4x1(float[] w, int w0, int wStride, int kc, float[] x, int x0, float[] acc, int a,
                                  int rowStride) {
        final VectorSpecies<Float> sp = Simd.F;
        final int lanes = Simd.L;
        final int w1 = w0 + wStride, w2 = w1 + wStride, w3 = w2 + wStride;
        final int a1 = a + rowStride, a2 = a1 + rowStride, a3 = a2 + rowStride;
        FloatVector c0 = FloatVector.fromArray(sp, acc, a);
        FloatVector c1 = FloatVector.fromArray(sp, acc, a1);
        FloatVector c2 = FloatVector.fromArray(sp, acc, a2);
        FloatVector c3 = FloatVector.fromArray(sp, acc, a3);
        for (int c = 0; c < kc; c += lanes) {
            FloatVector v = FloatVector.fromArray(sp, x, x0 + c);
            c0 = FloatVector.fromArray(sp, w, w0 + c).fma(v, c0);
            c1 = FloatVector.fromArray(sp, w, w1 + c).fma(v, c1);
            c2 = FloatVector.fromArray(sp, w, w2 + c).fma(v, c2);
            c3 = FloatVector.fromArray(sp, w, w3 + c).fma(v, c3);
        }
        c0.intoArray(acc, a);
        c1.intoArray(acc, a1);
        c2.intoArray(acc, a2);
        c3.intoArray(acc, a3);
    }

    /** 1 tile row (at {@code w0}) x 4 vectors, for the last rows of a range. Accumulators at {@code acc[a + j*L]}. */
    private static void kernel1x4(float[] w, int w0, int kc, float[] x, int x0, int xStride, float[] acc, int a) {
        final VectorSpecies<Float> sp = Simd.F;
        final int lanes = Simd.L;
        final int x1 = x0 + xStride, x2 = x1 + xStride, x3 = x2 + xStride;
        FloatVector c0 = FloatVector.fromArray(sp, acc, a);
        FloatVector c1 = FloatVector.fromArray(sp, acc, a + lanes);
        FloatVector c2 = FloatVector.fromArray(sp, acc, a + 2 * lanes);
        FloatVector c3 = FloatVector.fromArray(sp, acc, a + 3 * lanes);
        for (int c = 0; c < kc; c += lanes) {
            FloatVector r = FloatVector.fromArray(sp, w, w0 + c);
            c0 = r.fma(FloatVector.fromArray(sp, x, x0 + c), c0);
            c1 = r.fma(FloatVector.fromArray(sp, x, x1 + c), c1);
            c2 = r.fma(FloatVector.fromArray(sp, x, x2 + c), c2);
            c3 = r.fma(FloatVector.fromArray(sp, x, x3 + c), c3);
        }
        c0.intoArray(acc, a);
        c1.intoArray(acc, a + lanes);
        c2.intoArray(acc, a + 2 * lanes);
        c3.intoArray(acc, a + 3 * lanes);
    }

    /** 1 tile row x 1 vector. */
    private static void kernel1x1(float[] w, int w0, int kc, float[] x, int x0, float[] acc, int a) {
        final VectorSpecies<Float> sp = Simd.F;
        final int lanes = Simd.L;
        FloatVector c0 = FloatVector.fromArray(sp, acc, a);
        for (int c = 0; c < kc; c += lanes) {
            c0 = FloatVector.fromArray(sp, w, w0 + c).fma(FloatVector.fromArray(sp, x, x0 + c), c0);
        }
        c0.intoArray(acc, a);
    }

    /** Per-thread buffers, so kernels allocate nothing per call. */
    static final class Scratch {
        private static final ThreadLocal<Scratch> LOCAL = ThreadLocal.withInitial(Scratch::new);

        /** [TILE_ROWS][TILE_COLS] decoded weights. */
        final float[] tile = new float[TILE_ROWS * TILE_COLS];
        /** [16][L] accumulators left by {@link #dot4x4} ({@link #dot4} uses the first 4). */
        final float[] fusedAcc = new float[16 * Simd.L];
        /** [1] result of {@link #dot}. */
        final float[] one = new float[1];
        private float[] acc = new float[TILE_ROWS * 16 * Simd.L];
        private float[] row = new float[0];
        private float[] panel = new float[0];

        static Scratch get() {
            return LOCAL.get();
        }

        float[] acc(int n) {
            if (acc.length < n) {
                acc = new float[n];
            }
            return acc;
        }

        float[] panel(int n) {
            if (panel.length < n) {
                panel = new float[n];
            }
            return panel;
        }

        float[] row(int n) {
            if (row.length < n) {
                row = new float[n];
            }
            return row;
        }
    }

    static float half(byte[] data, int at) {
        return Float16.halfToFloat((short) SHORT_LE.get(data, at));
    }

    @Override
    public String toString() {
        return type() + "[" + rows + "][" + cols + "]";
    }
}
