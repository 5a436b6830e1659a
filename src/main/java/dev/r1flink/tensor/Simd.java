package dev.r1flink.tensor;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector API shapes shared by the kernels, and the two conversions every half-float kernel needs.
 *
 * <p>One float vector has {@link #L} lanes (16 with AVX-512, 8 with AVX2); the byte, short and int species have the
 * same lane count so that {@code convertShape} widens lane for lane (part 0). Machines whose preferred float vector
 * is narrower than 8 lanes, and {@code -Dr1.tensor.scalar=true}, run the scalar twins instead ({@link #ENABLED}).
 *
 * <p>Batch invariance relies on never reducing lanes with {@code reduceLanes}: its order may differ between the
 * interpreter's fallback and C2's intrinsic. {@link #sum} adds the lanes in a fixed order instead.
 *
 * <p>No method here or in the kernels takes or returns a vector: on JDK 17 a vector that crosses a call C2 did not
 * inline is boxed (a heap object per call, and the Vector API's slow Java fallbacks). Helpers take arrays (decode
 * {@code L} values, store them), and anything shared across vector code is a constant.
 */
final class Simd {

    static final VectorSpecies<Float> F;
    static final VectorSpecies<Byte> B;
    static final VectorSpecies<Short> S;
    static final VectorSpecies<Integer> I;
    /** Floats per vector. */
    static final int L;
    /** Whether the Vector API paths run at all. */
    static final boolean ENABLED;

    static {
        VectorSpecies<Float> preferred = FloatVector.SPECIES_PREFERRED;
        boolean forceScalar = Boolean.getBoolean("r1.tensor.scalar");
        if (preferred.length() >= 16) {
            F = FloatVector.SPECIES_512;
            B = ByteVector.SPECIES_128;
            S = ShortVector.SPECIES_256;
            I = IntVector.SPECIES_512;
        } else {
            F = FloatVector.SPECIES_256;
            B = ByteVector.SPECIES_64;
            S = ShortVector.SPECIES_128;
            I = IntVector.SPECIES_256;
        }
        L = F.length();
        ENABLED = !forceScalar && preferred.length() >= 8;
    }

    private Simd() {
    }

    /**
     * Sum of the {@link #L} floats at {@code a[off..]} (a vector accumulator stored with {@code intoArray}) by a fixed
     * pairwise tree: lane i + lane i^8 (16 lanes only), then ^4, ^2, ^1, the tree a lanewise reduction by
     * rearranging would build. The one reduction order every kernel uses; plain float adds, so interpreter and JIT
     * agree bit for bit. Array in, float out: no vector crosses the call, so it stays allocation-free even where C2
     * declines to inline it.
     */
    static float sum(float[] a, int off) {
        if (L == 16) {
            return ((((a[off] + a[off + 8]) + (a[off + 4] + a[off + 12]))
                    + ((a[off + 2] + a[off + 10]) + (a[off + 6] + a[off + 14])))
                    + (((a[off + 1] + a[off + 9]) + (a[off + 5] + a[off + 13]))
                    + ((a[off + 3] + a[off + 11]) + (a[off + 7] + a[off + 15]))));
        }
        return (((a[off] + a[off + 4]) + (a[off + 2] + a[off + 6]))
                + ((a[off + 1] + a[off + 5]) + (a[off + 3] + a[off + 7])));
    }

    /** Lane i to lane i^8, ^4, ^2, ^1: the steps of {@link #sum} for code that must reduce a vector in registers. */
    static final VectorShuffle<Float> XOR8 = VectorShuffle.fromOp(F, i -> i ^ (L > 8 ? 8 : 0));
    static final VectorShuffle<Float> XOR4 = VectorShuffle.fromOp(F, i -> i ^ 4);
    static final VectorShuffle<Float> XOR2 = VectorShuffle.fromOp(F, i -> i ^ 2);
    static final VectorShuffle<Float> XOR1 = VectorShuffle.fromOp(F, i -> i ^ 1);

    /**
     * Half-float bits to floats, inline in {@code VectorOps.dotF16}, {@code axpyF16} and {@code F16Tensor}, exactly as
     * {@link Float16#halfToFloat}: shifting exponent and mantissa into float position and multiplying by 2^112
     * rebiases normals and scales subnormals in one exact step; Inf/NaN (exponent 31) are patched by a blend.
     */
    static final float HALF_REBIAS = 0x1p112f;

    // Constants of exp (Cephes expf), shared with the inline copies in VectorOps.
    static final float EXP_LO = -87.3f;
    static final float EXP_HI = 88.3f;
    static final float LOG2E = 1.44269504088896341f;
    static final float LN2_HI = 0.693359375f;     // few mantissa bits: n * LN2_HI is exact
    static final float LN2_LO = -2.12194440e-4f;
    static final float ROUND = 12582912f;          // 1.5 * 2^23: adding it rounds to an integer (even)
    static final float P0 = 1.9875691500e-4f, P1 = 1.3981999507e-3f, P2 = 8.3334519073e-3f;
    static final float P3 = 4.1665795894e-2f, P4 = 1.6666665459e-1f, P5 = 5.0000001201e-1f;

    /**
     * e^x of {@code L} floats from {@code x[xOff..]} to {@code out[o..]}, within a few ulp of {@link Math#exp} for x
     * in [-87.3, 88.3] (clamped outside: no overflow to infinity, no subnormals). Cephes expf: x = n ln2 + r with
     * |r| <= ln2/2, a degree-7 polynomial for e^r, times 2^n built in the exponent bits. Only exact lanewise
     * operations, so the bits do not depend on whether C2 or the interpreter runs it (unlike the Vector API's
     * {@code EXP}). {@code VectorOps.siluMul} repeats these steps inline, in this order
     * ({@link #expScalar} one lane of them).
     */
    static void exp(float[] xs, int xOff, float[] out, int o) {
        FloatVector x = FloatVector.fromArray(F, xs, xOff).max(EXP_LO).min(EXP_HI);
        FloatVector rounded = x.mul(LOG2E).add(ROUND);
        FloatVector n = rounded.sub(ROUND);
        FloatVector r = n.fma(FloatVector.broadcast(F, -LN2_HI), x).add(n.mul(-LN2_LO));
        FloatVector p = r.fma(P0, P1).fma(r, FloatVector.broadcast(F, P2)).fma(r, FloatVector.broadcast(F, P3))
                .fma(r, FloatVector.broadcast(F, P4)).fma(r, FloatVector.broadcast(F, P5)).fma(r.mul(r), r).add(1f);
        // 2^n: n sits in the low mantissa bits of rounded (bits 0x4B400000 + n); the shift drops the 0x4B4 part.
        // (JDK 17's C2 does not intrinsify the F2I conversion: it would box.)
        IntVector e = rounded.reinterpretAsInts().add(127).lanewise(VectorOperators.LSHL, 23);
        p.mul(e.reinterpretAsFloats()).intoArray(out, o);
    }

    /**
     * One lane of {@link #exp}: the same IEEE operations in the same order ({@code Math.fma} where the vector
     * fuses), so the same bits; scalar floats, so nothing to box whatever C2 decides.
     */
    static float expScalar(float x) {
        x = Math.min(Math.max(x, EXP_LO), EXP_HI);
        float rounded = x * LOG2E + ROUND;
        float n = rounded - ROUND;
        float r = Math.fma(n, -LN2_HI, x) + n * -LN2_LO;
        float p = Math.fma(r, P0, P1);
        p = Math.fma(p, r, P2);
        p = Math.fma(p, r, P3);
        p = Math.fma(p, r, P4);
        p = Math.fma(p, r, P5);
        p = Math.fma(p, r * r, r) + 1f;
        return p * Float.intBitsToFloat((Float.floatToRawIntBits(rounded) + 127) << 23);
    }
}
