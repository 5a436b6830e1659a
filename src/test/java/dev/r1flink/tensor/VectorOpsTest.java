package dev.r1flink.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** Each vector op against its scalar twin on random data, with lengths around the vector width. */
class VectorOpsTest {

    private static final int[] SIZES = {0, 1, 7, 8, 15, 16, 17, 31, 33, 128, 1000, 1536};

    private final Random rnd = new Random(42);

    private float[] gaussian(int n) {
        return FloatTensorTest.gaussian(n, rnd);
    }

    private static double magnitude(float[] a, int aOff, float[] b, int bOff, int n) {
        double m = 0;
        for (int i = 0; i < n; i++) {
            m += Math.abs((double) a[aOff + i] * b[bOff + i]);
        }
        return m;
    }

    @Test
    void dot() {
        for (int n : SIZES) {
            float[] a = gaussian(n + 3), b = gaussian(n + 5);
            float v = VectorOps.dot(a, 3, b, 5, n);
            assertEquals(VectorOps.dotScalar(a, 3, b, 5, n), v, 1e-5 * magnitude(a, 3, b, 5, n) + 1e-30, "n=" + n);
        }
    }

    @Test
    void dotF16AndAxpyF16() {
        for (int n : SIZES) {
            short[] k = new short[n + 2];
            float[] kf = new float[n + 2];
            for (int i = 0; i < k.length; i++) {
                k[i] = Float16.floatToHalf((float) rnd.nextGaussian());
                kf[i] = Float16.halfToFloat(k[i]);
            }
            float[] q = gaussian(n + 1);
            float v = VectorOps.dotF16(k, 2, q, 1, n);
            float s = VectorOps.dotF16Scalar(k, 2, q, 1, n);
            assertEquals(s, v, 1e-5 * magnitude(kf, 2, q, 1, n) + 1e-30, "dotF16 n=" + n);
            assertEquals(VectorOps.dotScalar(kf, 2, q, 1, n), s, 0f, "halfs decode as Float16.halfToFloat");

            float[] out = gaussian(n + 4);
            float[] outScalar = out.clone();
            VectorOps.axpyF16(0.37f, k, 2, out, 4, n);
            VectorOps.axpyF16Scalar(0.37f, k, 2, outScalar, 4, n);
            assertArrayEquals(outScalar, out, 1e-5f, "axpyF16 n=" + n);

            float[] x = gaussian(n);
            float[] o1 = gaussian(n);
            float[] o2 = o1.clone();
            VectorOps.axpy(-1.5f, x, 0, o1, 0, n);
            VectorOps.axpyScalar(-1.5f, x, 0, o2, 0, n);
            assertArrayEquals(o2, o1, 1e-5f, "axpy n=" + n);
        }
    }

    @Test
    void toHalfRoundsLikeFloat16() {
        float[] x = gaussian(100);
        short[] h = new short[103];
        VectorOps.toHalf(x, 0, h, 3, 100);
        for (int i = 0; i < 100; i++) {
            assertEquals(Float16.floatToHalf(x[i]), h[3 + i]);
        }
    }

    @Test
    void rmsnorm() {
        for (int n : SIZES) {
            if (n == 0) {
                continue;
            }
            float[] x = gaussian(n + 1), w = gaussian(n);
            float[] out = new float[n + 3];
            VectorOps.rmsnorm(out, 3, x, 1, w, n, 1e-6f);
            // Against the definition in double.
            double ss = 0;
            for (int i = 0; i < n; i++) {
                ss += (double) x[1 + i] * x[1 + i];
            }
            double scale = 1 / Math.sqrt(ss / n + 1e-6);
            for (int i = 0; i < n; i++) {
                assertEquals(x[1 + i] * scale * w[i], out[3 + i], 1e-5 * (1 + Math.abs(out[3 + i])));
            }
            // in place
            float[] y = x.clone();
            VectorOps.rmsnorm(y, 1, y, 1, w, n, 1e-6f);
            assertArrayEquals(java.util.Arrays.copyOfRange(out, 3, 3 + n), java.util.Arrays.copyOfRange(y, 1, 1 + n));
        }
    }

    @Test
    void softmax() {
        for (int n : SIZES) {
            if (n == 0) {
                continue;
            }
            float[] x = gaussian(n + 2);
            for (int i = 0; i < x.length; i++) {
                x[i] *= 20; // wide range: the max shift matters
            }
            float[] e = new float[n + 1];
            float inv = VectorOps.softmaxExp(x, 2, e, 1, n);
            double max = Double.NEGATIVE_INFINITY, sum = 0;
            for (int i = 0; i < n; i++) {
                max = Math.max(max, x[2 + i]);
            }
            for (int i = 0; i < n; i++) {
                sum += Math.exp(x[2 + i] - max);
                // x - max is rounded to float first, so exp is off by up to ulp(x - max) relative (~4e-6 at -32)
                assertEquals(Math.exp(x[2 + i] - max), e[1 + i], 1e-5 * Math.exp(x[2 + i] - max) + 1e-37);
            }
            assertEquals(1 / sum, inv, 1e-5 / sum, "n=" + n);
        }
    }

    @Test
    void attentionSoftmaxIsWithinAFewUlpOfLibm() {
        for (int n : SIZES) {
            if (n == 0) {
                continue;
            }
            float[] x = gaussian(n + 2);
            for (int i = 0; i < x.length; i++) {
                x[i] *= 20;
            }
            float[] want = new float[n + 1], got = new float[n + 1];
            float wantInv = VectorOps.softmaxExp(x, 2, want, 1, n);
            float gotInv = VectorOps.softmaxExpPoly(x, 2, got, 1, n);
            for (int i = 0; i < n; i++) {
                assertEquals(want[1 + i], got[1 + i], 8 * Math.ulp(want[1 + i]) + 1e-37f, "n=" + n + " i=" + i);
            }
            assertEquals(wantInv, gotInv, 1e-6f * wantInv, "n=" + n);
        }
    }

    @Test
    void scalarExpIsOneLaneOfTheVectorExpBitForBit() {
        Random r = new Random(5);
        int lanes = Simd.L;
        float[] x = new float[lanes * 64], v = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            x[i] = (r.nextFloat() - 0.5f) * 200f; // past both clamps
        }
        for (int i = 0; i < x.length; i += lanes) {
            Simd.exp(x, i, v, i);
        }
        for (int i = 0; i < x.length; i++) {
            assertEquals(Float.floatToRawIntBits(v[i]), Float.floatToRawIntBits(Simd.expScalar(x[i])), "x=" + x[i]);
        }
    }

    @Test
    void groupedAttentionLoopsEqualTheirPerPositionCallsBitForBit() {
        Random r = new Random(11);
        for (int n : new int[] {8, 64, 67, 128}) {
            for (int heads : new int[] {1, 3, 6}) {
                int count = 29;
                short[] kv = new short[count * (n + 3) + 5];
                for (int i = 0; i < kv.length; i++) {
                    kv[i] = Float16.floatToHalf((float) r.nextGaussian());
                }
                kv[1] = Float16.floatToHalf(1e-6f); // a subnormal half
                int[] rows = new int[count];
                for (int t = 0; t < count; t++) {
                    rows[t] = ((t * 5) % count) * (n + 3) + 1;
                }
                float[] q = gaussian(heads * n + 2);
                int stride = count + 2;
                float[] scores = new float[heads * stride];
                VectorOps.dotsF16Group(kv, rows, count, q, 2, heads, n, scores, stride, new float[n]);
                float[] a = gaussian(heads * stride);
                float[] scale = gaussian(heads);
                float[] out = gaussian(heads * n + 4), expected = out.clone();
                VectorOps.axpysF16Group(a, stride, scale, kv, rows, count, out, 3, heads, n, new float[n]);
                for (int j = 0; j < heads; j++) {
                    for (int t = 0; t < count; t++) {
                        assertEquals(Float.floatToIntBits(VectorOps.dotF16(kv, rows[t], q, 2 + j * n, n)),
                                Float.floatToIntBits(scores[j * stride + t]),
                                "n=" + n + " heads=" + heads + " j=" + j + " t=" + t);
                        VectorOps.axpyF16(a[j * stride + t] * scale[j], kv, rows[t], expected, 3 + j * n, n);
                    }
                }
                for (int i = 0; i < out.length; i++) {
                    assertEquals(Float.floatToIntBits(expected[i]), Float.floatToIntBits(out[i]),
                            "n=" + n + " heads=" + heads + " i=" + i);
                }
            }
        }
    }

    @Test
    void vectorExpIsWithinAFewUlpOfMathExp() {
        org.junit.jupiter.api.Assumptions.assumeTrue(Simd.ENABLED, "Vector API paths disabled");
        float[] x = new float[Simd.L];
        float[] e = new float[Simd.L];
        double worst = 0;
        for (float v = -87f; v < 88f; v += 0.0013f) {
            for (int i = 0; i < Simd.L; i++) {
                x[i] = v + i * 1e-4f;
            }
            Simd.exp(x, 0, e, 0);
            for (int i = 0; i < Simd.L; i++) {
                double ref = Math.exp(x[i]);
                worst = Math.max(worst, Math.abs(e[i] - ref) / Math.ulp((float) ref));
            }
        }
        assertTrue(worst <= 3, "worst error " + worst + " ulp");
        // Clamped, not infinite or zero, far outside.
        x[0] = 200f;
        x[1] = -200f;
        Simd.exp(x, 0, e, 0);
        assertTrue(Float.isFinite(e[0]) && e[0] > 1e38f);
        assertTrue(e[1] > 0 && e[1] < 1e-37f);
    }

    @Test
    void siluMulAddScaleArgmax() {
        for (int n : SIZES) {
            float[] g = gaussian(n), u = gaussian(n);
            float[] g2 = g.clone();
            VectorOps.siluMul(g, 0, u, 0, n);
            for (int i = 0; i < n; i++) {
                double e = g2[i] / (1 + Math.exp(-g2[i])) * u[i];
                assertEquals(e, g[i], 1e-6 * (1 + Math.abs(e)));
            }
            float[] a = gaussian(n), b = gaussian(n);
            float[] a2 = a.clone();
            VectorOps.add(a, 0, b, 0, n);
            VectorOps.addScalar(a2, 0, b, 0, n);
            assertArrayEquals(a2, a, 0f);
            VectorOps.scale(a, 0, n, 0.3f);
            VectorOps.scaleScalar(a2, 0, n, 0.3f);
            assertArrayEquals(a2, a, 0f);
            assertEquals(VectorOps.argmaxScalar(a, 0, n), VectorOps.argmax(a, 0, n));
        }
        float[] ties = {1, 3, 2, 3, 3};
        assertEquals(1, VectorOps.argmax(ties, 0, 5));
        float[] big = new float[100];
        big[77] = 5;
        big[93] = 5;
        assertEquals(77, VectorOps.argmax(big, 0, 100));
        assertEquals(77 - 10, VectorOps.argmax(big, 10, 90));
    }
}
