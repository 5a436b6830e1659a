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

    private static final VectorShuffle<Float> XOR8 = VectorShuffle.fromOp(F, i -> i ^ (L > 8 ? 8 : 0));
    private static final VectorShuffle<Float> XOR4 = VectorShuffle.fromOp(F, i -> i ^ 4);
    private static final VectorShuffle<Float> XOR2 = VectorShuffle.fromOp(F, i -> i ^ 2);
    private static final VectorShuffle<Float> XOR1 = VectorShuffle.fromOp(F, i -> i ^ 1);

    /**
     * Sum of the lanes of {@code v} by a fixed pairwise tree (lane i + lane i^8, then ^4, ^2, ^1): the one reduction
     * order every kernel uses. Built from exact lanewise adds, so interpreter and JIT agree bit for bit.
     */
    static float sum(FloatVector v) {
        if (L == 16) {
            v = v.add(v.rearrange(XOR8));
        }
        v = v.add(v.rearrange(XOR4));
        v = v.add(v.rearrange(XOR2));
        v = v.add(v.rearrange(XOR1));
        return v.lane(0);
    }

    /**
     * {@code q >>> n} per byte, then {@code & mask}. x86 has no byte shift (the Vector API widens, shifts and
     * narrows), so shift the same bits as int lanes and let the mask drop what crossed a byte boundary.
     */
    static ByteVector shr(ByteVector q, int n, int mask) {
        return q.reinterpretAsInts().lanewise(VectorOperators.LSHR, n).reinterpretAsBytes().and((byte) mask);
    }

    /** {@code (q << n) & mask} per byte, shifting as int lanes like {@link #shr}. */
    static ByteVector shl(ByteVector q, int n, int mask) {
        return q.reinterpretAsInts().lanewise(VectorOperators.LSHL, n).reinterpretAsBytes().and((byte) mask);
    }

    /** {@code L} bytes as floats (sign-extended). */
    static FloatVector bytesToFloats(ByteVector b) {
        return (FloatVector) b.convertShape(VectorOperators.B2F, F, 0);
    }

    /**
     * Half-float bits (in the low 16 bits of each short lane) to floats, exactly as {@link Float16#halfToFloat}.
     * Shifting exponent and mantissa into float position and multiplying by 2^112 rebiases normals and scales
     * subnormals in one exact step; Inf/NaN (exponent 31) are patched separately.
     */
    static FloatVector halfToFloat(ShortVector h) {
        IntVector x = (IntVector) h.convertShape(VectorOperators.S2I, I, 0);
        IntVector em = x.and(0x7fff);
        IntVector sign = x.and(0x8000).lanewise(VectorOperators.LSHL, 16);
        IntVector shifted = em.lanewise(VectorOperators.LSHL, 13);
        FloatVector mag = shifted.reinterpretAsFloats().mul(0x1p112f);
        VectorMask<Integer> special = em.compare(VectorOperators.GE, 0x7c00);
        IntVector bits = mag.reinterpretAsInts().blend(shifted.or(0x7f800000), special);
        return bits.or(sign).reinterpretAsFloats();
    }

    private static final float LOG2E = 1.44269504088896341f;
    private static final float LN2_HI = 0.693359375f;     // few mantissa bits: n * LN2_HI is exact
    private static final float LN2_LO = -2.12194440e-4f;
    private static final float ROUND = 12582912f;          // 1.5 * 2^23: adding it rounds to an integer (even)

    /**
     * e^x per lane, within a few ulp of {@link Math#exp} for x in [-87.3, 88.3] (clamped outside: no overflow to
     * infinity, no subnormals). Cephes expf: x = n ln2 + r with |r| <= ln2/2, a degree-7 polynomial for e^r, times
     * 2^n built in the exponent bits. Only exact lanewise operations, so the bits do not depend on whether C2 or the
     * interpreter runs it (unlike the Vector API's {@code EXP}).
     */
    static FloatVector exp(FloatVector x) {
        x = x.max(-87.3f).min(88.3f);
        FloatVector n = x.mul(LOG2E).add(ROUND).sub(ROUND);
        FloatVector r = n.fma(FloatVector.broadcast(F, -LN2_HI), x).add(n.mul(-LN2_LO));
        FloatVector p = r.fma(1.9875691500e-4f, 1.3981999507e-3f);
        p = p.fma(r, FloatVector.broadcast(F, 8.3334519073e-3f));
        p = p.fma(r, FloatVector.broadcast(F, 4.1665795894e-2f));
        p = p.fma(r, FloatVector.broadcast(F, 1.6666665459e-1f));
        p = p.fma(r, FloatVector.broadcast(F, 5.0000001201e-1f));
        p = p.fma(r.mul(r), r).add(1f);
        IntVector e = ((IntVector) n.convert(VectorOperators.F2I, 0)).add(127).lanewise(VectorOperators.LSHL, 23);
        return p.mul(e.reinterpretAsFloats());
    }

    /** BFloat16 bits to floats: the top half of a float. */
    static FloatVector bf16ToFloat(ShortVector h) {
        IntVector x = (IntVector) h.convertShape(VectorOperators.S2I, I, 0);
        return x.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }
}
