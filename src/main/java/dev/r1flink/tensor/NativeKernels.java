package dev.r1flink.tensor;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;

/**
 * The native int8 kernels ({@code src/main/c}, {@code libr1k.so}): loader, the Java-side checks of every call, and
 * the JNI entry points. Native code trusts its arguments, so every public method here checks shapes, offsets and
 * lengths against the arrays first and throws instead of calling; nothing a caller passes can make the library
 * read or write outside the arrays.
 *
 * <pre>{@code
 * if (NativeKernels.available()) {
 *     int isa = NativeKernels.bestIsa();
 *     byte[] xq = new byte[NativeKernels.activationBytes(w.type(), batch, w.cols())];
 *     NativeKernels.quantize(isa, w.type(), x, 0, batch, w.cols(), w.cols(), xq);
 *     NativeKernels.matmul(isa, w, xq, batch, out, 0, w.rows(), 0, w.rows());
 * }
 * }</pre>
 *
 * <p>Loading: the library is packed in the jar under {@code /dev/r1flink/native/linux-x86_64/} and extracted to a
 * fresh temporary file for each class loader that loads this class (the JVM lets one native library file belong to
 * one class loader only, and Flink makes a new user-code class loader per job); the file is deleted once loaded.
 * {@code -Dr1.native.library=/path/libr1k.so} loads a given file instead. If anything fails, {@link #available()}
 * is false and {@link #unavailableReason()} says why; callers fall back to the Java kernels.
 *
 * <p>Arithmetic (see {@code r1k.h}): activations are quantized once per matmul input, to q8_0 blocks for Q8_0 and
 * Q4_0 weights and to q8_K blocks (with block sums) for Q4_K, Q5_K and Q6_K, as llama.cpp does; each (row,
 * activation row) result is formed the same way on every ISA variant and tile shape, so results are bit-identical
 * whatever the batch, the row range or the thread count.
 */
public final class NativeKernels {

    /** Variants of the library, best last (r1k.h {@code enum r1k_isa}). */
    public static final int SCALAR = 0, AVX2 = 1, AVX512_VNNI = 2;

    private static final String RESOURCE = "/dev/r1flink/native/linux-x86_64/libr1k.so";
    private static final String LOADED;     // the file loaded, or null
    private static final String FAILURE;    // why not, or null
    private static final int BEST;

    static {
        String loaded = null, failure = null;
        int best = -1;
        try {
            loaded = load();
            best = bestIsa0();
            // every entry point resolves now, not at its first call in a job (a library of an older build lacks some)
            attnDots0(SCALAR, new short[0], new int[0], 0, new float[0], 0, 1, 1, new float[0], 0);
            attnAxpys0(SCALAR, new float[0], 0, new float[0], new short[0], new int[0], 0, new float[0], 0, 1, 1);
        } catch (Throwable t) {
            best = -1;
            failure = t.getMessage() != null ? t.getMessage() : t.toString();
        }
        LOADED = failure == null ? loaded : null;
        FAILURE = failure;
        BEST = best;
    }

    private NativeKernels() {
    }

    private static String load() throws IOException {
        String explicit = System.getProperty("r1.native.library");
        if (explicit != null && !explicit.isBlank()) {
            Path p = Path.of(explicit).toAbsolutePath();
            System.load(p.toString());
            return p.toString();
        }
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        if (!os.startsWith("linux") || !(arch.equals("amd64") || arch.equals("x86_64"))) {
            throw new IOException("no native kernels for " + os + "/" + arch + " (built for linux/x86_64 only)");
        }
        try (InputStream in = NativeKernels.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IOException("the jar has no native kernels (" + RESOURCE + "): it was built without a C"
                        + " compiler");
            }
            Path tmp = Files.createTempFile("libr1k-", ".so");
            try {
                Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
                System.load(tmp.toAbsolutePath().toString());
                return RESOURCE;
            } finally {
                Files.deleteIfExists(tmp); // the mapping stays; nothing is left behind if the JVM is killed
            }
        }
    }

    /** Whether the library loaded (in this class loader). */
    public static boolean available() {
        return LOADED != null;
    }

    /** Why the library is not available, or null when it is. */
    public static String unavailableReason() {
        return FAILURE;
    }

    /** The best variant this CPU runs ({@link #SCALAR}, {@link #AVX2}, {@link #AVX512_VNNI}); -1 when unavailable. */
    public static int bestIsa() {
        return BEST;
    }

    public static String isaName(int isa) {
        return switch (isa) {
            case SCALAR -> "scalar";
            case AVX2 -> "avx2";
            case AVX512_VNNI -> "avx512-vnni";
            default -> "none";
        };
    }

    /** Weight types with native kernels (F32, F16 and BF16 stay on the Java kernels). */
    public static boolean supports(GgmlType weightType) {
        return switch (weightType) {
            case Q8_0, Q4_0, Q4_K, Q5_K, Q6_K -> true;
            default -> false;
        };
    }

    /** Whether weights of this type take q8_K activations (else q8_0). */
    public static boolean usesQ8K(GgmlType weightType) {
        return weightType == GgmlType.Q4_K || weightType == GgmlType.Q5_K || weightType == GgmlType.Q6_K;
    }

    /** Bytes of the quantized activations of {@code rows} rows of {@code cols} for weights of {@code weightType}. */
    public static int activationBytes(GgmlType weightType, int rows, int cols) {
        checkType(weightType);
        if (rows < 0 || cols < 0) {
            throw new IllegalArgumentException("negative shape [" + rows + "][" + cols + "]");
        }
        long bytes = usesQ8K(weightType)
                ? (long) rows * cols + 4L * rows * (cols / 256) + 2L * rows * (cols / 16)
                : (long) rows * cols + 4L * rows * (cols / 32);
        if (bytes > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("activations [" + rows + "][" + cols + "] too large for one buffer");
        }
        return (int) bytes;
    }

    /**
     * Quantizes rows {@code x[xOffset + r*xStride ..][0, cols)} for {@code r < rows} into {@code out} in the
     * activation layout that weights of {@code weightType} take.
     */
    public static void quantize(int isa, GgmlType weightType, float[] x, int xOffset, int rows, int cols, int xStride,
                                byte[] out) {
        checkIsa(isa);
        checkType(weightType);
        int block = usesQ8K(weightType) ? 256 : 32;
        if (cols <= 0 || cols % block != 0) {
            throw new IllegalArgumentException(cols + " columns is not a positive multiple of " + block);
        }
        if (rows < 0 || xOffset < 0 || xStride < cols) {
            throw new IllegalArgumentException("bad activation shape: rows " + rows + ", offset " + xOffset
                    + ", stride " + xStride + " for " + cols + " columns");
        }
        if (rows == 0) {
            return;
        }
        if ((long) xOffset + (long) (rows - 1) * xStride + cols > x.length) {
            throw new IndexOutOfBoundsException(rows + " rows of " + cols + " at " + xOffset + " (stride " + xStride
                    + ") exceed the " + x.length + " floats of x");
        }
        int need = activationBytes(weightType, rows, cols);
        if (out.length < need) {
            throw new IndexOutOfBoundsException("activation buffer has " + out.length + " bytes, needs " + need);
        }
        quantize0(isa, usesQ8K(weightType) ? 1 : 0, x, xOffset, rows, cols, xStride, out);
    }

    /**
     * {@code out[outOffset + b*outStride + r] = w[r] . activation row b} for rows {@code [rowFrom, rowTo)} and
     * {@code b < batch}, with {@code xq} quantized by {@link #quantize} for {@code batch} rows of {@code w.cols()}.
     * Safe to call from several threads on disjoint row ranges.
     */
    public static void matmul(int isa, FloatTensor w, byte[] xq, int batch, float[] out, int outOffset, int outStride,
                              int rowFrom, int rowTo) {
        checkIsa(isa);
        checkType(w.type());
        if (rowFrom < 0 || rowTo > w.rows() || rowFrom > rowTo) {
            throw new IndexOutOfBoundsException("rows [" + rowFrom + ", " + rowTo + ") of " + w);
        }
        if (batch < 0 || outOffset < 0 || outStride < 0) {
            throw new IllegalArgumentException("bad output shape: batch " + batch + ", offset " + outOffset
                    + ", stride " + outStride);
        }
        if (batch == 0 || rowFrom == rowTo) {
            return;
        }
        int need = activationBytes(w.type(), batch, w.cols());
        if (xq.length < need) {
            throw new IndexOutOfBoundsException("activation buffer has " + xq.length + " bytes, " + batch + " rows of "
                    + w.cols() + " need " + need);
        }
        if ((long) outOffset + (long) (batch - 1) * outStride + rowTo > out.length) {
            throw new IndexOutOfBoundsException("out has " + out.length + " floats, needs "
                    + ((long) outOffset + (long) (batch - 1) * outStride + rowTo));
        }
        // w's own constructor checked offset + rows * rowBytes against its array, and its fields are final
        matmul0(isa, w.type().id(), w.data(), w.offset(), w.rowBytes(), w.cols(), rowFrom, rowTo, xq, batch, out,
                outOffset, outStride);
    }

    /**
     * Attention scores over an F16 cache, as {@link VectorOps#dotsF16Group} (bit for bit where the Java backend
     * runs 16 lanes; r1k.h defines the sum): {@code out[j*outStride + t] = q[qOff + j*n ..] . k[rows[t] ..]} over
     * {@code n} elements, for heads {@code j < heads} and positions {@code t < count}.
     */
    public static void attnDots(int isa, short[] k, int[] rows, int count, float[] q, int qOff, int heads, int n,
                                float[] out, int outStride) {
        checkIsa(isa);
        checkAttention(heads, n, rows, count, k, "k");
        if (qOff < 0 || qOff + (long) heads * n > q.length) {
            throw new IndexOutOfBoundsException(heads + " query heads of " + n + " at " + qOff + " exceed the "
                    + q.length + " floats of q");
        }
        if (outStride < count || (long) (heads - 1) * outStride + count > out.length) {
            throw new IndexOutOfBoundsException(heads + " rows of " + count + " scores (stride " + outStride
                    + ") exceed the " + out.length + " floats of out");
        }
        if (count > 0) {
            attnDots0(isa, k, rows, count, q, qOff, heads, n, out, outStride);
        }
    }

    /**
     * Attention output over an F16 cache, as {@link VectorOps#axpysF16Group} (bit for bit: elementwise FMAs):
     * {@code out[outOff + j*n + i] += a[j*aStride + t] * scale[j] * v[rows[t] + i]}, positions in order.
     */
    public static void attnAxpys(int isa, float[] a, int aStride, float[] scale, short[] v, int[] rows, int count,
                                 float[] out, int outOff, int heads, int n) {
        checkIsa(isa);
        checkAttention(heads, n, rows, count, v, "v");
        if (aStride < count || (long) (heads - 1) * aStride + count > a.length || scale.length < heads) {
            throw new IndexOutOfBoundsException(heads + " rows of " + count + " weights (stride " + aStride
                    + ") and " + heads + " scales exceed a (" + a.length + ") or scale (" + scale.length + ")");
        }
        if (outOff < 0 || outOff + (long) heads * n > out.length) {
            throw new IndexOutOfBoundsException(heads + " outputs of " + n + " at " + outOff + " exceed the "
                    + out.length + " floats of out");
        }
        if (count > 0) {
            attnAxpys0(isa, a, aStride, scale, v, rows, count, out, outOff, heads, n);
        }
    }

    private static void checkAttention(int heads, int n, int[] rows, int count, short[] cache, String name) {
        if (heads <= 0 || n <= 0 || count < 0 || count > rows.length) {
            throw new IllegalArgumentException("bad attention shape: " + heads + " heads of " + n + ", " + count
                    + " positions of " + rows.length + " rows");
        }
        int last = cache.length - n;
        for (int t = 0; t < count; t++) {
            if (rows[t] < 0 || rows[t] > last) {
                throw new IndexOutOfBoundsException("cache row " + rows[t] + " (position " + t + ") plus " + n
                        + " exceeds the " + cache.length + " halves of " + name);
            }
        }
    }

    private static void checkIsa(int isa) {
        if (!available()) {
            throw new IllegalStateException("native kernels not available: " + FAILURE);
        }
        if (isa < SCALAR || isa > BEST) {
            throw new IllegalArgumentException("ISA variant " + isa + " is not available on this CPU (best: "
                    + isaName(BEST) + ")");
        }
    }

    private static void checkType(GgmlType t) {
        if (!supports(t)) {
            throw new IllegalArgumentException("no native kernel for " + t + " weights");
        }
    }

    private static native int bestIsa0();

    private static native void quantize0(int isa, int kind, float[] x, int xOffset, int rows, int cols, int xStride,
                                         byte[] out);

    private static native void attnDots0(int isa, short[] k, int[] rows, int count, float[] q, int qOff, int heads,
                                         int n, float[] out, int outStride);

    private static native void attnAxpys0(int isa, float[] a, int aStride, float[] scale, short[] v, int[] rows,
                                          int count, float[] out, int outOff, int heads, int n);

    private static native void matmul0(int isa, int type, byte[] w, int wOffset, int rowBytes, int cols, int rowFrom,
                                       int rowTo, byte[] xq, int batch, float[] out, int outOffset, int outStride);
}
