package dev.r1flink.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The native kernels against their Java twin ({@link Int8Reference}) bit for bit, for every weight type and every
 * ISA variant this CPU runs (scalar C reference included), on random data and odd shapes; the twin against the
 * Java tensors' decoders; the native backend against the Java float backend within the error activation
 * quantization adds; hostile arguments refused before any native call; the library loaded by two class loaders.
 */
class NativeKernelsTest {

    private static final GgmlType[] TYPES = {GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K};

    @BeforeEach
    void needsLibrary() {
        NativeTestSupport.requireNative();
    }

    /** Weights quantized from random floats (realistic), or random bytes with sane fp16 scales (every bit pattern). */
    static FloatTensor weights(GgmlType t, int rows, int cols, Random rnd, boolean rawBits) {
        byte[] data;
        if (!rawBits) {
            float[] w = new float[rows * cols];
            for (int i = 0; i < w.length; i++) {
                w[i] = (float) rnd.nextGaussian() * 0.05f;
            }
            data = Quantizer.quantize(t, w, rows, cols);
        } else {
            data = new byte[(int) t.byteSize(cols) * rows];
            rnd.nextBytes(data);
            int bs = t.typeSize();
            for (int p = 0; p < data.length; p += bs) {
                switch (t) {
                    case Q8_0, Q4_0 -> putHalf(data, p, (rnd.nextFloat() - .5f) * .1f);
                    case Q4_K, Q5_K -> {
                        putHalf(data, p, rnd.nextFloat() * .05f);
                        putHalf(data, p + 2, rnd.nextFloat() * .05f);
                    }
                    case Q6_K -> putHalf(data, p + 208, (rnd.nextFloat() - .5f) * .02f);
                    default -> throw new AssertionError(t);
                }
            }
        }
        return FloatTensor.of(t, rows, cols, data, 0);
    }

    private static void putHalf(byte[] d, int at, float v) {
        short h = Float16.floatToHalf(v);
        d[at] = (byte) h;
        d[at + 1] = (byte) (h >> 8);
    }

    static float[] activations(int rows, int stride, Random rnd) {
        float[] x = new float[rows * stride];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rnd.nextGaussian() * (i % 7 == 0 ? 6f : 1f);
        }
        if (x.length >= 512) {
            java.util.Arrays.fill(x, 0, 256, 0f); // an all-zero block
            x[300] = -9.5f;                       // largest magnitude with both signs: the first decides q8_K
            x[301] = 9.5f;
        }
        return x;
    }

    @Test
    void everyVariantEqualsTheJavaTwinBitForBit() {
        Random rnd = new Random(11);
        int[][] shapes = {{1, 1}, {3, 2}, {4, 4}, {5, 3}, {8, 7}, {13, 9}, {6, 19}, {9, 33}};
        int cases = 0;
        for (GgmlType t : TYPES) {
            int block = t.blockSize();
            for (int[] s : shapes) {
                int rows = s[0], batch = s[1];
                int cols = block * (1 + (rows + batch) % 3) * (block == 32 ? 3 : 1);
                int stride = cols + 16;
                FloatTensor w = weights(t, rows, cols, rnd, (rows & 1) == 1);
                float[] x = activations(batch, stride, rnd);
                byte[] ref = Int8Reference.quantize(t, x, batch, cols, stride);
                float[] expected = new float[batch * rows];
                int from = rows > 4 ? 2 : 0;
                Int8Reference.matmul(w, ref, batch, expected, rows, from, rows);
                for (int isa = NativeKernels.SCALAR; isa <= NativeKernels.bestIsa(); isa++) {
                    byte[] xq = new byte[NativeKernels.activationBytes(t, batch, cols)];
                    NativeKernels.quantize(isa, t, x, 0, batch, cols, stride, xq);
                    String what = t + " " + NativeKernels.isaName(isa) + " [" + rows + "][" + cols + "] x " + batch;
                    assertArrayEquals(ref, xq, what + ": quantized activations");
                    float[] out = new float[batch * rows];
                    NativeKernels.matmul(isa, w, xq, batch, out, 0, rows, from, rows);
                    for (int i = 0; i < out.length; i++) {
                        assertEquals(Float.floatToIntBits(expected[i]), Float.floatToIntBits(out[i]),
                                what + ": result " + i + " (" + expected[i] + " vs " + out[i] + ")");
                    }
                    cases++;
                }
            }
        }
        assertTrue(cases >= TYPES.length * shapes.length * 2);
    }

    /** The twin's definition is the tensors' math: q * d activations times the decoded weights, up to rounding. */
    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q8_0", "Q4_0", "Q4_K", "Q5_K", "Q6_K"})
    void theTwinComputesTheDequantizedProduct(GgmlType t) {
        Random rnd = new Random(5);
        int rows = 7, batch = 3, cols = 512;
        for (boolean raw : new boolean[] {false, true}) {
            FloatTensor w = weights(t, rows, cols, rnd, raw);
            float[] x = activations(batch, cols, rnd);
            byte[] xq = Int8Reference.quantize(t, x, batch, cols, cols);
            float[] xd = Int8Reference.dequantizeActivations(t, xq, batch, cols);
            float[] row = new float[cols];
            for (int r = 0; r < rows; r++) {
                w.dequantizeRow(r, row, 0);
                for (int b = 0; b < batch; b++) {
                    double exact = 0, mag = 0;
                    for (int c = 0; c < cols; c++) {
                        exact += (double) row[c] * xd[b * cols + c];
                        mag += Math.abs((double) row[c] * xd[b * cols + c]);
                    }
                    float got = Int8Reference.dot(w, r, xq, batch, b);
                    assertEquals(exact, got, 1e-5 * mag + 1e-30, t + " raw=" + raw + " row " + r + " vector " + b);
                }
            }
        }
    }

    /**
     * Against the Java float backend: the only difference is the int8 rounding of the activations, so the error is
     * bounded by the weights' magnitudes times half an activation step: |err| <= sum |w_c| * d_block / 2, plus
     * float rounding.
     */
    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q8_0", "Q4_0", "Q4_K", "Q5_K", "Q6_K"})
    void nativeMatchesTheJavaBackendWithinActivationRounding(GgmlType t) {
        Random rnd = new Random(9);
        int rows = 64, batch = 5, cols = 1536;
        FloatTensor w = weights(t, rows, cols, rnd, false);
        float[] x = activations(batch, cols, rnd);
        float[] java = new float[batch * rows];
        w.matmul(x, cols, batch, java, rows, 0, rows);
        MatmulInput in = new MatmulInput(Backend.NATIVE);
        in.prepare(x, batch, cols, w, null, null);
        float[] nat = new float[batch * rows];
        in.multiply(w, nat, rows, 0, rows);
        int block = NativeKernels.usesQ8K(t) ? 256 : 32;
        float[] row = new float[cols];
        for (int r = 0; r < rows; r++) {
            w.dequantizeRow(r, row, 0);
            for (int b = 0; b < batch; b++) {
                double bound = 0;
                for (int k = 0; k < cols / block; k++) {
                    float amax = 0;
                    double wsum = 0;
                    for (int c = k * block; c < (k + 1) * block; c++) {
                        amax = Math.max(amax, Math.abs(x[b * cols + c]));
                        wsum += Math.abs(row[c]);
                    }
                    bound += wsum * (amax / 127.0) * 0.5 * 1.01; // fp16 rounding of the q8_0 scale
                }
                assertEquals(java[b * rows + r], nat[b * rows + r], bound + 1e-5,
                        t + " row " + r + " vector " + b);
            }
        }
    }

    /**
     * Attention over an F16 cache: every ISA variant gives the same scores and outputs bit for bit, equal to the
     * Java backend's where it runs 16 lanes (r1k.h defines the sum as its AVX-512 order), else within rounding;
     * the outputs (elementwise FMAs) equal the Java backend's everywhere.
     */
    @Test
    void attentionEqualsTheJavaBackend() {
        Random rnd = new Random(7);
        for (int n : new int[] {64, 128, 136, 576}) {
            for (int heads : new int[] {1, 6}) {
                for (int count : new int[] {1, 37}) {
                    int stride = n + 5;
                    short[] cache = new short[(count + 3) * stride];
                    for (int i = 0; i < cache.length; i++) {
                        cache[i] = Float16.floatToHalf((float) rnd.nextGaussian());
                    }
                    int[] rows = new int[count + 2]; // longer than count: only the first count are read
                    for (int t = 0; t < count; t++) {
                        rows[t] = (t * 5 + 2) % (count + 3) * stride + t % 4;
                    }
                    float[] q = gaussian(rnd, 3 + heads * n), a = gaussian(rnd, heads * count), scale = gaussian(rnd, heads);
                    float[] javaScores = new float[heads * count];
                    VectorOps.dotsF16Group(cache, rows, count, q, 3, heads, n, javaScores, count, new float[n]);
                    float[] javaOut = gaussian(new Random(n), 2 + heads * n);
                    float[] out0 = javaOut.clone();
                    VectorOps.axpysF16Group(a, count, scale, cache, rows, count, javaOut, 2, heads, n, new float[n]);
                    float[] first = null;
                    for (int isa = NativeKernels.SCALAR; isa <= NativeKernels.bestIsa(); isa++) {
                        String what = NativeKernels.isaName(isa) + " n " + n + " heads " + heads + " count " + count;
                        float[] scores = new float[heads * count];
                        NativeKernels.attnDots(isa, cache, rows, count, q, 3, heads, n, scores, count);
                        if (first == null) {
                            first = scores;
                        }
                        assertArrayEquals(first, scores, what + ": scores differ between variants");
                        if (Simd.L == 16) {
                            assertArrayEquals(javaScores, scores, what + ": scores differ from the Java backend's");
                        } else {
                            for (int i = 0; i < scores.length; i++) {
                                assertEquals(javaScores[i], scores[i], 1e-4f * (1 + Math.abs(javaScores[i])), what);
                            }
                        }
                        float[] out = out0.clone();
                        NativeKernels.attnAxpys(isa, a, count, scale, cache, rows, count, out, 2, heads, n);
                        assertArrayEquals(javaOut, out, what + ": outputs differ from the Java backend's");
                    }
                }
            }
        }
    }

    private static float[] gaussian(Random rnd, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        return x;
    }

    @Test
    void hostileArgumentsAreRefusedBeforeAnyNativeCall() {
        int isa = NativeKernels.bestIsa();
        FloatTensor w = weights(GgmlType.Q8_0, 8, 64, new Random(1), false);
        FloatTensor k = weights(GgmlType.Q4_K, 4, 256, new Random(2), false);
        byte[] xq = new byte[NativeKernels.activationBytes(GgmlType.Q8_0, 2, 64)];
        float[] out = new float[2 * 8];
        float[] x = new float[2 * 64];
        // quantize
        assertThrows(IllegalArgumentException.class, () -> NativeKernels.quantize(isa, GgmlType.Q8_0, x, 0, 2, 48, 64, xq));
        assertThrows(IllegalArgumentException.class, () -> NativeKernels.quantize(isa, GgmlType.Q8_0, x, -1, 2, 64, 64, xq));
        assertThrows(IllegalArgumentException.class, () -> NativeKernels.quantize(isa, GgmlType.Q8_0, x, 0, -2, 64, 64, xq));
        assertThrows(IllegalArgumentException.class, () -> NativeKernels.quantize(isa, GgmlType.Q8_0, x, 0, 2, 64, 32, xq));
        assertThrows(IndexOutOfBoundsException.class, () -> NativeKernels.quantize(isa, GgmlType.Q8_0, x, 1, 2, 64, 64, xq));
        assertThrows(IndexOutOfBoundsException.class, () -> NativeKernels.quantize(isa, GgmlType.Q8_0, x, 0, 3, 64, 64, xq));
        assertThrows(IndexOutOfBoundsException.class, () -> NativeKernels.quantize(isa, GgmlType.Q8_0, x, 0, 2, 64, 64, new byte[10]));
        assertThrows(IndexOutOfBoundsException.class, () -> NativeKernels.quantize(isa, GgmlType.Q8_0, x, 0, 1 << 20, 64, 1 << 12, xq));
        assertThrows(IllegalArgumentException.class, () -> NativeKernels.quantize(isa, GgmlType.F32, x, 0, 2, 64, 64, xq));
        assertThrows(IllegalArgumentException.class, () -> NativeKernels.quantize(isa + 1, GgmlType.Q8_0, x, 0, 2, 64, 64, xq));
        assertThrows(IllegalArgumentException.class, () -> NativeKernels.quantize(-1, GgmlType.Q8_0, x, 0, 2, 64, 64, xq));
        NativeKernels.quantize(isa, GgmlType.Q8_0, x, 0, 2, 64, 64, xq);
        // matmul
        assertThrows(IndexOutOfBoundsException.class, () -> NativeKernels.matmul(isa, w, xq, 2, out, 0, 8, 0, 9));
        assertThrows(IndexOutOfBoundsException.class, () -> NativeKernels.matmul(isa, w, xq, 2, out, 0, 8, -1, 8));
        assertThrows(IndexOutOfBoundsException.class, () -> NativeKernels.matmul(isa, w, xq, 2, out, 0, 8, 5, 4));
        assertThrows(IndexOutOfBoundsException.class, () -> NativeKernels.matmul(isa, w, xq, 3, out, 0, 8, 0, 8));
        assertThrows(IndexOutOfBoundsException.class, () -> NativeKernels.matmul(isa, w, xq, 2, out, 1, 8, 0, 8));
        assertThrows(IndexOutOfBoundsException.class, () -> NativeKernels.matmul(isa, w, xq, 2, out, 0, 9, 0, 8));
        assertThrows(IndexOutOfBoundsException.class, () -> NativeKernels.matmul(isa, w, xq, 2, new float[15], 0, 8, 0, 8));
        assertThrows(IllegalArgumentException.class, () -> NativeKernels.matmul(isa, w, xq, Integer.MAX_VALUE, out, 0, 8, 0, 8));
        assertThrows(IllegalArgumentException.class, () -> NativeKernels.matmul(isa, w, xq, -1, out, 0, 8, 0, 8));
        assertThrows(IllegalArgumentException.class, () -> NativeKernels.matmul(isa, w, xq, 2, out, -4, 8, 0, 8));
        assertThrows(IllegalArgumentException.class, () -> NativeKernels.matmul(isa, w, xq, 2, out, 0, -8, 0, 8));
        // a q8_0 buffer is too small for the q8_K activations a K-quant takes
        assertThrows(IndexOutOfBoundsException.class, () -> NativeKernels.matmul(isa, k, new byte[300], 2, out, 0, 4, 0, 4));
        FloatTensor f32 = FloatTensor.of(GgmlType.F32, 2, 64, new byte[2 * 64 * 4], 0);
        assertThrows(IllegalArgumentException.class, () -> NativeKernels.matmul(isa, f32, xq, 2, out, 0, 8, 0, 2));
        MatmulInput in = new MatmulInput(Backend.NATIVE);
        in.prepare(x, 2, 64, w, null, null);
        assertThrows(IllegalStateException.class, () -> in.multiply(k, out, 4, 0, 4)); // prepared for q8_0 only
        // attention: rows past the cache or negative, counts past rows, strides and offsets past the arrays
        short[] cache = new short[4 * 64];
        int[] rows = {0, 64, 128, 192};
        float[] q = new float[2 * 64], sc = new float[2 * 4], a = new float[2 * 4], scale = new float[2];
        float[] o = new float[2 * 64];
        assertThrows(IndexOutOfBoundsException.class, () -> NativeKernels.attnDots(isa, cache, new int[] {0, 193}, 2, q, 0, 2, 64, sc, 4));
        assertThrows(IndexOutOfBoundsException.class, () -> NativeKernels.attnDots(isa, cache, new int[] {-1}, 1, q, 0, 2, 64, sc, 4));
        assertThrows(IllegalArgumentException.class, () -> NativeKernels.attnDots(isa, cache, rows, 5, q, 0, 2, 64, sc, 4));
        assertThrows(IllegalArgumentException.class, () -> NativeKernels.attnDots(isa, cache, rows, 4, q, 0, 0, 64, sc, 4));
        assertThrows(IllegalArgumentException.class, () -> NativeKernels.attnDots(isa, cache, rows, 4, q, 0, 2, -64, sc, 4));
        assertThrows(IndexOutOfBoundsException.class, () -> NativeKernels.attnDots(isa, cache, rows, 4, q, 1, 2, 64, sc, 4));
        assertThrows(IndexOutOfBoundsException.class, () -> NativeKernels.attnDots(isa, cache, rows, 4, q, 0, 2, 64, sc, 3));
        assertThrows(IndexOutOfBoundsException.class, () -> NativeKernels.attnDots(isa, cache, rows, 4, q, 0, 2, 64, sc, 5));
        assertThrows(IndexOutOfBoundsException.class, () -> NativeKernels.attnDots(isa, cache, rows, 4, q, 0, 2, 65, sc, 4));
        assertThrows(IndexOutOfBoundsException.class, () -> NativeKernels.attnAxpys(isa, a, 4, scale, cache, rows, 4, o, 1, 2, 64));
        assertThrows(IndexOutOfBoundsException.class, () -> NativeKernels.attnAxpys(isa, a, 5, scale, cache, rows, 4, o, 0, 2, 64));
        assertThrows(IndexOutOfBoundsException.class, () -> NativeKernels.attnAxpys(isa, a, 4, new float[1], cache, rows, 4, o, 0, 2, 64));
        assertThrows(IndexOutOfBoundsException.class, () -> NativeKernels.attnAxpys(isa, a, 4, scale, cache, new int[] {0, 250}, 2, o, 0, 2, 64));
        assertThrows(IllegalArgumentException.class, () -> NativeKernels.attnAxpys(isa, a, 4, scale, cache, rows, -1, o, 0, 2, 64));
        NativeKernels.attnDots(isa, cache, rows, 4, q, 0, 2, 64, sc, 4);
        NativeKernels.attnAxpys(isa, a, 4, scale, cache, rows, 4, o, 0, 2, 64);
        // and after all that, the library still works
        NativeKernels.matmul(isa, w, xq, 2, out, 0, 8, 0, 8);
        assertTrue(Float.isFinite(out[15]));
    }

    /**
     * Flink makes a new user-code class loader per job in the same TaskManager JVM: each must load its own copy of
     * the library (the JVM lets a library file belong to one class loader only) and get working kernels.
     */
    @Test
    void twoClassLoadersInOneJvmEachLoadTheLibrary() throws Exception {
        URL classes = Path.of(NativeKernels.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toUri().toURL();
        for (int i = 0; i < 2; i++) {
            try (URLClassLoader loader = new URLClassLoader(new URL[] {classes}, ClassLoader.getPlatformClassLoader())) {
                Class<?> c = Class.forName("dev.r1flink.tensor.NativeKernels", true, loader);
                assertTrue(c != NativeKernels.class, "a class of its own");
                Method available = c.getMethod("available");
                Method reason = c.getMethod("unavailableReason");
                assertTrue((Boolean) available.invoke(null), "loader " + i + ": " + reason.invoke(null));
                Class<?> backend = Class.forName("dev.r1flink.tensor.Backend", true, loader);
                Object nat = backend.getMethod("resolve", String.class).invoke(null, "native");
                assertEquals("NATIVE", nat.toString());
                // a real product through that loader's library
                Class<?> tensorType = Class.forName("dev.r1flink.tensor.GgmlType", true, loader);
                Object q80 = tensorType.getField("Q8_0").get(null);
                Class<?> ft = Class.forName("dev.r1flink.tensor.FloatTensor", true, loader);
                byte[] data = weights(GgmlType.Q8_0, 4, 32, new Random(3), false).data();
                Object w = ft.getMethod("of", tensorType, int.class, int.class, byte[].class, int.class)
                        .invoke(null, q80, 4, 32, data, 0);
                float[] x = activations(1, 32, new Random(4));
                int isa = (Integer) c.getMethod("bestIsa").invoke(null);
                int bytes = (Integer) c.getMethod("activationBytes", tensorType, int.class, int.class).invoke(null, q80, 1, 32);
                byte[] xq = new byte[bytes];
                c.getMethod("quantize", int.class, tensorType, float[].class, int.class, int.class, int.class, int.class,
                        byte[].class).invoke(null, isa, q80, x, 0, 1, 32, 32, xq);
                float[] out = new float[4];
                c.getMethod("matmul", int.class, ft, byte[].class, int.class, float[].class, int.class, int.class,
                        int.class, int.class).invoke(null, isa, w, xq, 1, out, 0, 4, 0, 4);
                FloatTensor mine = FloatTensor.of(GgmlType.Q8_0, 4, 32, data, 0);
                float[] expected = new float[4];
                Int8Reference.matmul(mine, Int8Reference.quantize(GgmlType.Q8_0, x, 1, 32, 32), 1, expected, 4, 0, 4);
                assertArrayEquals(expected, out, "loader " + i);
            }
        }
    }
}
