package dev.r1flink.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

class Float16Test {

    /** Independent half decoder: sign * 2^(e-15) * (1 + m/1024), or subnormal m * 2^-24, in double. */
    private static double referenceHalf(int h) {
        int sign = (h >>> 15) & 1, e = (h >>> 10) & 0x1f, m = h & 0x3ff;
        double mag;
        if (e == 0x1f) {
            mag = m == 0 ? Double.POSITIVE_INFINITY : Double.NaN;
        } else if (e == 0) {
            mag = m * Math.pow(2, -24);
        } else {
            mag = Math.pow(2, e - 15) * (1 + m / 1024.0);
        }
        return sign == 1 ? -mag : mag;
    }

    @Test
    void everyHalfDecodesAndRoundTrips() {
        for (int h = 0; h < 65536; h++) {
            float f = Float16.halfToFloat((short) h);
            double ref = referenceHalf(h);
            if (Double.isNaN(ref)) {
                assertTrue(Float.isNaN(f), "half " + Integer.toHexString(h));
                short back = Float16.floatToHalf(f);
                assertTrue((back & 0x7c00) == 0x7c00 && (back & 0x3ff) != 0, "NaN stays NaN: " + Integer.toHexString(h));
                assertEquals(h & 0x8000, back & 0x8000);
                continue;
            }
            assertEquals(ref, (double) f, 0.0, "half " + Integer.toHexString(h));
            assertEquals(Double.doubleToRawLongBits(ref) >>> 63, (long) (Float.floatToRawIntBits(f) >>> 31),
                    "sign of half " + Integer.toHexString(h));
            assertEquals((short) h, Float16.floatToHalf(f), "round trip of half " + Integer.toHexString(h));
        }
    }

    @Test
    void tiesRoundToEven() {
        // Midpoint between every pair of adjacent finite positive halfs (exact in float): must go to the even one.
        for (int h = 0; h < 0x7bff; h++) {
            double mid = (referenceHalf(h) + referenceHalf(h + 1)) / 2;
            float f = (float) mid;
            assertEquals(mid, (double) f, 0.0); // the midpoint is exactly representable
            int even = (h & 1) == 0 ? h : h + 1;
            assertEquals((short) even, Float16.floatToHalf(f), "tie above half " + Integer.toHexString(h));
            assertEquals((short) (even | 0x8000), Float16.floatToHalf(-f), "negative tie above " + Integer.toHexString(h));
            // Just above and below the midpoint round away from the tie.
            assertEquals((short) (h + 1), Float16.floatToHalf(Math.nextUp(f)));
            assertEquals((short) h, Float16.floatToHalf(Math.nextDown(f)));
        }
    }

    @Test
    void randomFloatsRoundToNearest() {
        Random rnd = new Random(1);
        for (int i = 0; i < 200_000; i++) {
            float f = Float.intBitsToFloat(rnd.nextInt());
            if (Float.isNaN(f)) {
                continue;
            }
            short h = Float16.floatToHalf(f);
            double back = referenceHalf(h & 0xffff);
            if (Math.abs(f) >= 65520f) {
                assertEquals(f > 0 ? Double.POSITIVE_INFINITY : Double.NEGATIVE_INFINITY, back, "overflow " + f);
                continue;
            }
            // No other half is strictly closer.
            double err = Math.abs(back - f);
            int mag = h & 0x7fff;
            for (int n : new int[] {mag - 1, mag + 1}) {
                if (n < 0 || n > 0x7bff) {
                    continue;
                }
                double other = Math.copySign(referenceHalf(n), f);
                assertTrue(Math.abs(other - f) >= err, f + " -> " + back + " but " + other + " is closer");
            }
        }
    }

    @Test
    void edgeCases() {
        assertEquals((short) 0x7c00, Float16.floatToHalf(Float.POSITIVE_INFINITY));
        assertEquals((short) 0xfc00, Float16.floatToHalf(Float.NEGATIVE_INFINITY));
        assertEquals((short) 0x7bff, Float16.floatToHalf(65504f));
        assertEquals((short) 0x7bff, Float16.floatToHalf(65519.99f));
        assertEquals((short) 0x7c00, Float16.floatToHalf(65520f));
        assertEquals((short) 0x8000, Float16.floatToHalf(-0f));
        assertEquals((short) 0x0000, Float16.floatToHalf(0x1p-25f));          // tie with 0 goes to even 0
        assertEquals((short) 0x0001, Float16.floatToHalf(Math.nextUp(0x1p-25f)));
        assertEquals((short) 0x0000, Float16.floatToHalf(Float.MIN_VALUE));
        assertEquals((short) 0x3c00, Float16.floatToHalf(1f));
        assertEquals((short) 0x0400, Float16.floatToHalf(0x1p-14f));           // smallest normal
        assertEquals((short) 0x0400, Float16.floatToHalf(Math.nextDown(0x1p-14f))); // rounds up into the normals
    }

    @Test
    void bf16() {
        Random rnd = new Random(2);
        for (int b = 0; b < 65536; b++) {
            float f = Float16.bf16ToFloat((short) b);
            assertEquals(Float.floatToRawIntBits(f), b << 16);
            if (!Float.isNaN(f)) {
                assertEquals((short) b, Float16.floatToBf16(f));
            }
        }
        for (int i = 0; i < 100_000; i++) {
            int x = rnd.nextInt();
            float f = Float.intBitsToFloat(x);
            if (Float.isNaN(f)) {
                short b = Float16.floatToBf16(f);
                assertTrue(Float.isNaN(Float16.bf16ToFloat(b)));
                continue;
            }
            int lo = x & 0xffff0000;
            int hi = lo + 0x10000;
            int rest = x & 0xffff;
            int expect = rest > 0x8000 || (rest == 0x8000 && ((lo >>> 16) & 1) == 1) ? hi : lo;
            assertEquals((short) (expect >>> 16), Float16.floatToBf16(f), Integer.toHexString(x));
        }
    }
}
