package dev.r1flink.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class HalfTest {

    @Test
    void roundsToNearestEven() {
        assertEquals(0x3c00, Half.fromFloat(1f) & 0xffff);
        assertEquals(0x3c00, Half.fromFloat(1f + 0x1p-11f) & 0xffff);          // tie -> even (down)
        assertEquals(0x3c02, Half.fromFloat(1f + 3 * 0x1p-11f) & 0xffff);      // tie -> even (up)
        assertEquals(0x3c01, Half.fromFloat(1f + 0x1p-11f + 0x1p-20f) & 0xffff); // above tie
        assertEquals(0x7bff, Half.fromFloat(65504f) & 0xffff);
        assertEquals(0x7bff, Half.fromFloat(65519.99f) & 0xffff);
        assertEquals(0x7c00, Half.fromFloat(65520f) & 0xffff);                 // tie with 65536 -> inf
        assertEquals(0x0001, Half.fromFloat(0x1p-24f) & 0xffff);               // smallest subnormal
        assertEquals(0x0000, Half.fromFloat(0x1p-25f) & 0xffff);               // tie -> even (zero)
        assertEquals(0x0002, Half.fromFloat(3 * 0x1p-25f) & 0xffff);           // tie -> even (2)
        assertEquals(0x0400, Half.fromFloat(0x1p-14f) & 0xffff);               // smallest normal
        assertEquals(0x8000, Half.fromFloat(-0f) & 0xffff);
        assertEquals(0xfc00, Half.fromFloat(Float.NEGATIVE_INFINITY) & 0xffff);
        assertEquals(true, Float.isNaN(Half.toFloat(Half.fromFloat(Float.NaN))));
    }

    @Test
    void everyHalfRoundTripsAndRandomFloatsRoundToTheNearestHalf() {
        for (int h = 0; h < 1 << 16; h++) {
            float f = Half.toFloat((short) h);
            if (!Float.isNaN(f)) {
                assertEquals(h, Half.fromFloat(f) & 0xffff, "half " + Integer.toHexString(h));
            }
        }
        SplittableRandom r = new SplittableRandom(3);
        for (int i = 0; i < 100_000; i++) {
            float f = (float) (r.nextDouble(-1, 1) * Math.pow(2, r.nextInt(-26, 16)));
            float got = Half.toFloat(Half.fromFloat(f));
            // no half value is strictly closer (checked against both neighbours)
            short g = Half.fromFloat(f);
            float up = Half.toFloat((short) (g + 1)), down = Half.toFloat((short) (g - 1));
            double err = Math.abs((double) got - f);
            if (!Float.isNaN(up) && !Float.isInfinite(up)) {
                assertEquals(true, err <= Math.abs((double) up - f), "f=" + f);
            }
            if (!Float.isNaN(down) && (g & 0x7fff) != 0) {
                assertEquals(true, err <= Math.abs((double) down - f), "f=" + f);
            }
        }
    }

    @Test
    void bf16RoundsToNearestEven() {
        assertEquals(0x3f80, Half.bf16FromFloat(1f) & 0xffff);
        assertEquals(0x3f80, Half.bf16FromFloat(Float.intBitsToFloat(0x3f808000)) & 0xffff); // tie -> even
        assertEquals(0x3f82, Half.bf16FromFloat(Float.intBitsToFloat(0x3f818000)) & 0xffff); // tie -> even
        assertEquals(1f, Half.bf16ToFloat((short) 0x3f80));
    }
}
