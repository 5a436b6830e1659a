package dev.r1flink.tensor;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * Float rows to ggml block bytes, following llama.cpp's reference quantizers ({@code quantize_row_*_ref} in
 * ggml-quants.c: the same choice of scales and the same rounding), so round-trip error is llama.cpp's. Byte
 * equality with llama.cpp is not promised (its fp16 conversion and compiler may round a scale differently in rare
 * cases). Used to write synthetic models and by tests.
 *
 * <pre>{@code
 * byte[] q = Quantizer.quantize(GgmlType.Q4_K, weights, rows, cols);
 * FloatTensor t = FloatTensor.of(GgmlType.Q4_K, rows, cols, q, 0);
 * }</pre>
 */
public final class Quantizer {

    private static final VarHandle SHORT_LE = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle FLOAT_LE = MethodHandles.byteArrayViewVarHandle(float[].class, ByteOrder.LITTLE_ENDIAN);
    /** ggml's threshold below which a group counts as all zeros. */
    private static final float GROUP_MAX_EPS = 1e-15f;

    private Quantizer() {
    }

    /** Quantizes {@code x[0 .. rows*cols)} (row-major) into a new array in {@code type}'s layout. */
    public static byte[] quantize(GgmlType type, float[] x, int rows, int cols) {
        int rowBytes = (int) type.byteSize(cols);
        byte[] out = new byte[Math.multiplyExact(rowBytes, rows)];
        for (int r = 0; r < rows; r++) {
            quantizeRow(type, x, r * cols, cols, out, r * rowBytes);
        }
        return out;
    }

    /**
     * Quantizes {@code x[xOffset .. xOffset+n)} into {@code out} at {@code outOffset} ({@code type.byteSize(n)}
     * bytes).
     *
     * @throws UnsupportedOperationException for types without kernels
     */
    public static void quantizeRow(GgmlType type, float[] x, int xOffset, int n, byte[] out, int outOffset) {
        if (n % type.blockSize() != 0) {
            throw new IllegalArgumentException(n + " is not a multiple of the " + type + " block size");
        }
        switch (type) {
            case F32 -> {
                for (int i = 0; i < n; i++) {
                    FLOAT_LE.set(out, outOffset + 4 * i, x[xOffset + i]);
                }
            }
            case F16 -> {
                for (int i = 0; i < n; i++) {
                    SHORT_LE.set(out, outOffset + 2 * i, Float16.floatToHalf(x[xOffset + i]));
                }
            }
            case BF16 -> {
                for (int i = 0; i < n; i++) {
                    SHORT_LE.set(out, outOffset + 2 * i, Float16.floatToBf16(x[xOffset + i]));
                }
            }
            case Q8_0 -> {
                for (int b = 0; b < n / 32; b++) {
                    q8_0(x, xOffset + 32 * b, out, outOffset + 34 * b);
                }
            }
            case Q4_0 -> {
                for (int b = 0; b < n / 32; b++) {
                    q4_0(x, xOffset + 32 * b, out, outOffset + 18 * b);
                }
            }
            case Q4_K -> {
                for (int b = 0; b < n / 256; b++) {
                    q4_K(x, xOffset + 256 * b, out, outOffset + 144 * b);
                }
            }
            case Q5_K -> {
                for (int b = 0; b < n / 256; b++) {
                    q5_K(x, xOffset + 256 * b, out, outOffset + 176 * b);
                }
            }
            case Q6_K -> {
                for (int b = 0; b < n / 256; b++) {
                    q6_K(x, xOffset + 256 * b, out, outOffset + 210 * b);
                }
            }
            default -> throw new UnsupportedOperationException("cannot quantize to " + type);
        }
    }

    /** ggml's nearest_int: round half to even (the float magic-number trick), for |v| < 2^22. */
    static int nearestInt(float v) {
        return (int) Math.rint(v);
    }

    private static void putHalf(byte[] out, int at, float v) {
        SHORT_LE.set(out, at, Float16.floatToHalf(v));
    }

    private static float getHalf(byte[] out, int at) {
        return Float16.halfToFloat((short) SHORT_LE.get(out, at));
    }

    // ---- Q8_0: d = max|x| / 127, q = round(x / d) (roundf: half away from zero).
    private static void q8_0(float[] x, int xo, byte[] out, int o) {
        float amax = 0f;
        for (int j = 0; j < 32; j++) {
            amax = Math.max(amax, Math.abs(x[xo + j]));
        }
        float d = amax / 127;
        float id = d != 0 ? 1.0f / d : 0.0f;
        putHalf(out, o, d);
        for (int j = 0; j < 32; j++) {
            out[o + 2 + j] = (byte) roundf(x[xo + j] * id);
        }
    }

    /** C roundf: half away from zero. */
    private static int roundf(float v) {
        return (int) (v < 0 ? -Math.floor(-v + 0.5) : Math.floor(v + 0.5));
    }

    // ---- Q4_0: d = (value of largest magnitude) / -8, q = min(15, trunc(x/d + 8.5)).
    private static void q4_0(float[] x, int xo, byte[] out, int o) {
        float amax = 0f, max = 0f;
        for (int j = 0; j < 32; j++) {
            float v = x[xo + j];
            if (amax < Math.abs(v)) {
                amax = Math.abs(v);
                max = v;
            }
        }
        float d = max / -8;
        float id = d != 0 ? 1.0f / d : 0.0f;
        putHalf(out, o, d);
        for (int j = 0; j < 16; j++) {
            int q0 = Math.min(15, (byte) (int) (x[xo + j] * id + 8.5f));
            int q1 = Math.min(15, (byte) (int) (x[xo + 16 + j] * id + 8.5f));
            out[o + 2 + j] = (byte) (q0 | (q1 << 4));
        }
    }

    // ---- Q4_K / Q5_K: per 32-element sub-block an affine fit (make_qkx2_quants), then 6-bit scales and mins.
    private static void q4_K(float[] x, int xo, byte[] out, int o) {
        int[] levels = new int[256];
        kQuantScalesAndLevels(x, xo, out, o, 15, -1f, 0.1f, 20, levels);
        for (int g = 0; g < 4; g++) {
            for (int l = 0; l < 32; l++) {
                out[o + 16 + 32 * g + l] = (byte) (levels[64 * g + l] | (levels[64 * g + 32 + l] << 4));
            }
        }
    }

    private static void q5_K(float[] x, int xo, byte[] out, int o) {
        int[] levels = new int[256];
        kQuantScalesAndLevels(x, xo, out, o, 31, -0.5f, 0.1f, 15, levels);
        for (int j = 0; j < 32; j++) {
            out[o + 16 + j] = 0;
        }
        for (int g = 0; g < 4; g++) {
            for (int j = 0; j < 32; j++) {
                int l1 = levels[64 * g + j], l2 = levels[64 * g + 32 + j];
                int h = out[o + 16 + j];
                if (l1 > 15) {
                    l1 -= 16;
                    h |= 1 << (2 * g);
                }
                if (l2 > 15) {
                    l2 -= 16;
                    h |= 2 << (2 * g);
                }
                out[o + 16 + j] = (byte) h;
                out[o + 48 + 32 * g + j] = (byte) (l1 | (l2 << 4));
            }
        }
    }

    /** Shared front half of q4_K/q5_K: writes d, dmin, the 12 scale bytes and fills {@code levels} (0..nmax). */
    private static void kQuantScalesAndLevels(float[] x, int xo, byte[] out, int o, int nmax, float rmin,
                                              float rdelta, int nstep, int[] levels) {
        float[] scales = new float[8], mins = new float[8], weights = new float[32];
        float maxScale = 0, maxMin = 0;
        for (int j = 0; j < 8; j++) {
            float sumX2 = 0;
            for (int l = 0; l < 32; l++) {
                sumX2 += x[xo + 32 * j + l] * x[xo + 32 * j + l];
            }
            float avX = (float) Math.sqrt(sumX2 / 32);
            for (int l = 0; l < 32; l++) {
                weights[l] = avX + Math.abs(x[xo + 32 * j + l]);
            }
            float[] theMin = new float[1];
            scales[j] = makeQkx2Quants(32, nmax, x, xo + 32 * j, weights, levels, 32 * j, theMin, rmin, rdelta, nstep);
            mins[j] = theMin[0];
            maxScale = Math.max(maxScale, scales[j]);
            maxMin = Math.max(maxMin, mins[j]);
        }
        float invScale = maxScale > 0 ? 63.f / maxScale : 0.f;
        float invMin = maxMin > 0 ? 63.f / maxMin : 0.f;
        int sc = o + 4;
        for (int j = 0; j < 12; j++) {
            out[sc + j] = 0;
        }
        for (int j = 0; j < 8; j++) {
            int ls = Math.min(63, nearestInt(invScale * scales[j]) & 0xff);
            int lm = Math.min(63, nearestInt(invMin * mins[j]) & 0xff);
            if (j < 4) {
                out[sc + j] = (byte) ls;
                out[sc + j + 4] = (byte) lm;
            } else {
                out[sc + j + 4] = (byte) ((ls & 0xf) | ((lm & 0xf) << 4));
                out[sc + j - 4] |= (byte) ((ls >> 4) << 6);
                out[sc + j] |= (byte) ((lm >> 4) << 6);
            }
        }
        putHalf(out, o, maxScale / 63.f);
        putHalf(out, o + 2, maxMin / 63.f);
        float d = getHalf(out, o), dmin = getHalf(out, o + 2);
        for (int j = 0; j < 8; j++) {
            float dj = d * Q4_KTensor.scale(out, sc, j);
            if (dj == 0) {
                continue; // ggml keeps the fit's levels here; they multiply a zero scale either way
            }
            float dm = dmin * Q4_KTensor.min(out, sc, j);
            for (int ii = 0; ii < 32; ii++) {
                int l = nearestInt((x[xo + 32 * j + ii] + dm) / dj);
                levels[32 * j + ii] = Math.max(0, Math.min(nmax, l));
            }
        }
    }

    /**
     * ggml make_qkx2_quants: fits {@code x ~ scale * L - theMin} with levels {@code L in [0, nmax]}, trying
     * {@code nstep+1} candidate scales around {@code nmax/(max-min)} and keeping the weighted least-squares best.
     */
    static float makeQkx2Quants(int n, int nmax, float[] x, int xo, float[] weights, int[] L, int lo, float[] theMin,
                                float rmin, float rdelta, int nstep) {
        float min = x[xo], max = x[xo];
        float sumW = weights[0];
        float sumX = sumW * x[xo];
        for (int i = 1; i < n; i++) {
            float xi = x[xo + i];
            if (xi < min) {
                min = xi;
            }
            if (xi > max) {
                max = xi;
            }
            float w = weights[i];
            sumW += w;
            sumX += w * xi;
        }
        if (min > 0) {
            min = 0;
        }
        if (max == min) {
            for (int i = 0; i < n; i++) {
                L[lo + i] = 0;
            }
            theMin[0] = -min;
            return 0.f;
        }
        float iscale = nmax / (max - min);
        float scale = 1 / iscale;
        float bestError = 0;
        for (int i = 0; i < n; i++) {
            int l = Math.max(0, Math.min(nmax, nearestInt(iscale * (x[xo + i] - min))));
            L[lo + i] = l;
            float diff = scale * l + min - x[xo + i];
            bestError += weights[i] * diff * diff;
        }
        int[] aux = new int[n];
        for (int is = 0; is <= nstep; is++) {
            iscale = (rmin + rdelta * is + nmax) / (max - min);
            float sumL = 0, sumL2 = 0, sumXL = 0;
            for (int i = 0; i < n; i++) {
                int l = Math.max(0, Math.min(nmax, nearestInt(iscale * (x[xo + i] - min))));
                aux[i] = l;
                float w = weights[i];
                sumL += w * l;
                sumL2 += w * l * l;
                sumXL += w * l * x[xo + i];
            }
            float det = sumW * sumL2 - sumL * sumL;
            if (det > 0) {
                float thisScale = (sumW * sumXL - sumX * sumL) / det;
                float thisMin = (sumL2 * sumX - sumL * sumXL) / det;
                if (thisMin > 0) {
                    thisMin = 0;
                    thisScale = sumXL / sumL2;
                }
                float error = 0;
                for (int i = 0; i < n; i++) {
                    float diff = thisScale * aux[i] + thisMin - x[xo + i];
                    error += weights[i] * diff * diff;
                }
                if (error < bestError) {
                    System.arraycopy(aux, 0, L, lo, n);
                    bestError = error;
                    scale = thisScale;
                    min = thisMin;
                }
            }
        }
        theMin[0] = -min;
        return scale;
    }

    // ---- Q6_K: per 16-element group a symmetric fit (make_qx_quants), then int8 scales under one fp16 d.
    private static void q6_K(float[] x, int xo, byte[] out, int o) {
        int[] levels = new int[256];
        float[] scales = new float[16];
        float maxScale = 0, maxAbsScale = 0;
        for (int ib = 0; ib < 16; ib++) {
            float scale = makeQxQuants(16, 32, x, xo + 16 * ib, levels, 16 * ib);
            scales[ib] = scale;
            if (Math.abs(scale) > maxAbsScale) {
                maxAbsScale = Math.abs(scale);
                maxScale = scale;
            }
        }
        for (int j = 0; j < 210; j++) {
            out[o + j] = 0;
        }
        if (maxAbsScale < GROUP_MAX_EPS) {
            return; // all-zero block: zero bytes decode to zeros
        }
        float iscale = -128.f / maxScale;
        putHalf(out, o + 208, 1 / iscale);
        for (int ib = 0; ib < 16; ib++) {
            out[o + 192 + ib] = (byte) Math.min(127, nearestInt(iscale * scales[ib]));
        }
        float d = getHalf(out, o + 208);
        for (int j = 0; j < 16; j++) {
            float dj = d * out[o + 192 + j];
            if (dj == 0) {
                continue;
            }
            for (int ii = 0; ii < 16; ii++) {
                int l = nearestInt(x[xo + 16 * j + ii] / dj);
                levels[16 * j + ii] = Math.max(-32, Math.min(31, l)) + 32;
            }
        }
        for (int n = 0; n < 2; n++) {
            int ql = o + 64 * n, qh = o + 128 + 32 * n, j = 128 * n;
            for (int l = 0; l < 32; l++) {
                int q1 = levels[j + l], q2 = levels[j + l + 32], q3 = levels[j + l + 64], q4 = levels[j + l + 96];
                out[ql + l] = (byte) ((q1 & 0xf) | ((q3 & 0xf) << 4));
                out[ql + l + 32] = (byte) ((q2 & 0xf) | ((q4 & 0xf) << 4));
                out[qh + l] = (byte) ((q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6));
            }
        }
    }

    /**
     * ggml make_qx_quants with rmse_type 1 (weights x^2): levels {@code L in [0, 2*nmax)} for
     * {@code x ~ scale * (L - nmax)}, searching 18 scales around {@code -nmax/max}.
     */
    static float makeQxQuants(int n, int nmax, float[] x, int xo, int[] L, int lo) {
        float max = 0, amax = 0;
        for (int i = 0; i < n; i++) {
            float ax = Math.abs(x[xo + i]);
            if (ax > amax) {
                amax = ax;
                max = x[xo + i];
            }
        }
        if (amax < GROUP_MAX_EPS) {
            for (int i = 0; i < n; i++) {
                L[lo + i] = 0;
            }
            return 0.f;
        }
        float iscale = -nmax / max;
        float sumlx = 0, suml2 = 0;
        for (int i = 0; i < n; i++) {
            float xi = x[xo + i];
            int l = Math.max(-nmax, Math.min(nmax - 1, nearestInt(iscale * xi)));
            L[lo + i] = l + nmax;
            float w = xi * xi;
            sumlx += w * xi * l;
            suml2 += w * l * l;
        }
        float scale = suml2 != 0 ? sumlx / suml2 : 0.0f;
        float best = scale * sumlx;
        for (int is = -9; is <= 9; is++) {
            if (is == 0) {
                continue;
            }
            iscale = -(nmax + 0.1f * is) / max;
            sumlx = 0;
            suml2 = 0;
            for (int i = 0; i < n; i++) {
                float xi = x[xo + i];
                int l = Math.max(-nmax, Math.min(nmax - 1, nearestInt(iscale * xi)));
                float w = xi * xi;
                sumlx += w * xi * l;
                suml2 += w * l * l;
            }
            if (suml2 > 0 && sumlx * sumlx > best * suml2) {
                for (int i = 0; i < n; i++) {
                    int l = nearestInt(iscale * x[xo + i]);
                    L[lo + i] = nmax + Math.max(-nmax, Math.min(nmax - 1, l));
                }
                scale = sumlx / suml2;
                best = scale * sumlx;
            }
        }
        return scale;
    }
}
