package dev.r1flink.tensor;

/**
 * IEEE 754 binary16 ("half", ggml's {@code ggml_fp16_t}) and bfloat16 conversions for JDK 17, which has neither
 * {@code Float.floatToFloat16} (JDK 20) nor a half-float vector type. Halfs travel as the raw 16 bits in a
 * {@code short}.
 *
 * <p>{@link #floatToHalf} rounds to nearest, ties to even, as ggml's {@code GGML_FP32_TO_FP16} does (F16C
 * {@code vcvtps2ph} with rounding mode 0 on x86, the same rounding in its portable fallback): overflow goes to
 * infinity, tiny values to subnormals or signed zero, NaN stays a quiet NaN with the top payload bits.
 */
public final class Float16 {

    private Float16() {
    }

    /** The float value of half bits {@code h} (exact: every half is a float). */
    public static float halfToFloat(short h) {
        int bits = h & 0xffff;
        int sign = (bits & 0x8000) << 16;
        int exp = (bits >>> 10) & 0x1f;
        int mant = bits & 0x3ff;
        if (exp == 0x1f) {
            // Inf keeps a zero mantissa, NaN keeps its payload (shifted into the float's top mantissa bits).
            return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));
        }
        if (exp == 0) {
            // Zero or subnormal: mant * 2^-24, exact in float.
            float v = mant * 0x1p-24f;
            return sign == 0 ? v : -v;
        }
        return Float.intBitsToFloat(sign | ((exp + (127 - 15)) << 23) | (mant << 13));
    }

    /** {@code f} rounded to the nearest half, ties to even. */
    public static short floatToHalf(float f) {
        int x = Float.floatToRawIntBits(f);
        int sign = (x >>> 16) & 0x8000;
        int abs = x & 0x7fffffff;
        int e = abs >>> 23;          // biased float exponent
        int mant = abs & 0x7fffff;
        if (e == 0xff) {
            return (short) (mant == 0 ? sign | 0x7c00 : sign | 0x7e00 | (mant >>> 13));
        }
        if (e >= 127 - 14) {
            // Normal half range (or overflow): keep 10 mantissa bits and round on the 13 dropped ones. A carry out of
            // the mantissa correctly bumps the exponent, and out of exponent 30 lands exactly on infinity (0x7c00).
            if (e > 127 + 15) {
                return (short) (sign | 0x7c00);
            }
            int h = ((e - (127 - 15)) << 10) | (mant >>> 13);
            int rest = mant & 0x1fff;
            if (rest > 0x1000 || (rest == 0x1000 && (h & 1) != 0)) {
                h++;
            }
            return (short) (sign | h);
        }
        // Subnormal half (units of 2^-24) or zero. With the implicit bit, abs = m * 2^(e-150), so the count of
        // 2^-24 units is m >> (126 - e) before rounding. Below 2^-25 everything rounds to zero.
        int shift = 126 - e;
        if (shift > 24) {
            return (short) sign;
        }
        int m = mant | 0x800000;
        int h = m >>> shift;
        int rest = m & ((1 << shift) - 1);
        int half = 1 << (shift - 1);
        if (rest > half || (rest == half && (h & 1) != 0)) {
            h++; // may carry into the smallest normal (0x400), which is the right encoding
        }
        return (short) (sign | h);
    }

    /** The float value of bfloat16 bits {@code b}: the top 16 bits of a float. */
    public static float bf16ToFloat(short b) {
        return Float.intBitsToFloat((b & 0xffff) << 16);
    }

    /**
     * {@code f} rounded to the nearest bfloat16, ties to even, as ggml's {@code GGML_FP32_TO_BF16}: NaN is kept quiet
     * (bit 6 set) instead of being rounded, possibly into infinity.
     */
    public static short floatToBf16(float f) {
        int x = Float.floatToRawIntBits(f);
        if ((x & 0x7fffffff) > 0x7f800000) {
            return (short) ((x >>> 16) | 64);
        }
        return (short) ((x + (0x7fff + ((x >>> 16) & 1))) >>> 16);
    }
}
