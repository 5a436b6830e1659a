package dev.r1flink.model;

/**
 * IEEE binary16 and bfloat16 conversions with ggml's rounding (round to nearest, ties to even, as the F16C
 * instruction ggml uses on x86). Temporary until the tensor package's Float16 lands.
 */
final class Half {

    private static final float[] TO_FLOAT = new float[1 << 16];

    static {
        for (int h = 0; h < TO_FLOAT.length; h++) {
            TO_FLOAT[h] = slowToFloat((short) h);
        }
    }

    private Half() {}

    static float toFloat(short h) {
        return TO_FLOAT[h & 0xffff];
    }

    private static float slowToFloat(short h) {
        int sign = (h & 0x8000) << 16;
        int exp = (h >>> 10) & 0x1f;
        int mant = h & 0x3ff;
        if (exp == 0x1f) {
            return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));
        }
        if (exp == 0) {
            float v = mant * 0x1p-24f; // subnormal: exact in float
            return sign != 0 ? -v : v;
        }
        return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
    }

    static short fromFloat(float f) {
        int bits = Float.floatToRawIntBits(f);
        int sign = (bits >>> 16) & 0x8000;
        int abs = bits & 0x7fffffff;
        if (abs >= 0x7f800000) { // inf stays inf; NaN stays a quiet NaN
            return (short) (sign | 0x7c00 | (abs > 0x7f800000 ? 0x200 | ((abs >>> 13) & 0x3ff) : 0));
        }
        if (abs >= 0x477ff000) { // at or above halfway between 65504 and 65536: rounds to infinity
            return (short) (sign | 0x7c00);
        }
        int e = abs >>> 23;
        int m = abs & 0x7fffff;
        if (e < 113) { // below 2^-14: half subnormal (or zero)
            if (e == 0) {
                return (short) sign;
            }
            m |= 0x800000;
            int shift = 126 - e; // value = m * 2^(e-150) = (m >> shift) units of 2^-24
            if (shift > 24) {
                return (short) sign;
            }
            int h = m >>> shift;
            int rem = m & ((1 << shift) - 1);
            int halfway = 1 << (shift - 1);
            if (rem > halfway || (rem == halfway && (h & 1) != 0)) {
                h++;
            }
            return (short) (sign | h);
        }
        int h = ((e - 112) << 10) | (m >>> 13);
        int rem = m & 0x1fff;
        if (rem > 0x1000 || (rem == 0x1000 && (h & 1) != 0)) {
            h++; // a carry into the exponent is still the right answer
        }
        return (short) (sign | h);
    }

    /** ggml's fp32 -> bf16: round to nearest even, NaN kept quiet. */
    static short bf16FromFloat(float f) {
        int u = Float.floatToRawIntBits(f);
        if ((u & 0x7fffffff) > 0x7f800000) {
            return (short) ((u >>> 16) | 64);
        }
        return (short) ((u + (0x7fff + ((u >>> 16) & 1))) >>> 16);
    }

    static float bf16ToFloat(short b) {
        return Float.intBitsToFloat((b & 0xffff) << 16);
    }
}
