package dev.r1flink.tensor;

import static jdk.incubator.vector.VectorOperators.GE;
import static jdk.incubator.vector.VectorOperators.LSHL;
import static jdk.incubator.vector.VectorOperators.S2I;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The small per-row operations of the forward pass, each with a Vector API path and a {@code ...Scalar} twin
 * (tested against each other on random data). Arrays are addressed as {@code (array, offset, n)}.
 *
 * <p>Results depend only on the inputs and {@code n}, never on where a row sits in a batch: reductions use one fixed
 * lane order ({@link Simd#sum}) and the vector exponential is our own ({@link Simd#exp}, exact lanewise operations
 * only), not the Vector API's {@code EXP}, which may give different bits compiled than interpreted. The scalar
 * twins use {@link Math#exp}; the two agree to a few ulp.
 *
 * <p>The KV cache keeps keys and values as F16 bits in {@code short[]} ({@code model.KvCache}); {@link #dotF16} and
 * {@link #axpyF16} read them directly, and {@link #toHalf} writes them.
 */
public final class VectorOps {

    private static final VectorSpecies<Float> F = Simd.F;
    private static final int L = Simd.L;
    private static final boolean VECTOR = Simd.ENABLED;

    private VectorOps() {
    }

    /** Whether the Vector API paths are in use (false with {@code -Dr1.tensor.scalar=true} or narrow vectors). */
    public static boolean vectorized() {
        return VECTOR;
    }

    // ---- dot products ------------------------------------------------------------------------------------------

    /** {@code sum_i a[aOff+i] * b[bOff+i]}. */
    public static float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        if (!VECTOR) {
            return dotScalar(a, aOff, b, bOff, n);
        }
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (int upper = F.loopBound(n); i < upper; i += L) {
            acc = FloatVector.fromArray(F, a, aOff + i).fma(FloatVector.fromArray(F, b, bOff + i), acc);
        }
        // The lanes in Simd.sum's order, in registers (no call may take the vector: it would be boxed).
        if (L == 16) {
            acc = acc.add(acc.rearrange(Simd.XOR8));
        }
        acc = acc.add(acc.rearrange(Simd.XOR4));
        acc = acc.add(acc.rearrange(Simd.XOR2));
        acc = acc.add(acc.rearrange(Simd.XOR1));
        float sum = acc.lane(0);
        for (; i < n; i++) {
            sum += a[aOff + i] * b[bOff + i];
        }
        return sum;
    }

    public static float dotScalar(float[] a, int aOff, float[] b, int bOff, int n) {
        float sum = 0f;
        for (int i = 0; i < n; i++) {
            sum += a[aOff + i] * b[bOff + i];
        }
        return sum;
    }

    /** {@code sum_i half(k[kOff+i]) * q[qOff+i]}: attention score of a query against an F16 key. */
    public static float dotF16(short[] k, int kOff, float[] q, int qOff, int n) {
        if (!VECTOR) {
            return dotF16Scalar(k, kOff, q, qOff, n);
        }
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (int upper = F.loopBound(n); i < upper; i += L) {
            // half to float as Simd.HALF_REBIAS describes, inline
            IntVector h = (IntVector) ShortVector.fromArray(Simd.S, k, kOff + i).convertShape(S2I, Simd.I, 0);
            IntVector em = h.and(0x7fff);
            IntVector shifted = em.lanewise(LSHL, 13);
            FloatVector kv = shifted.reinterpretAsFloats().mul(Simd.HALF_REBIAS).reinterpretAsInts()
                    .blend(shifted.or(0x7f800000), em.compare(GE, 0x7c00))
                    .or(h.and(0x8000).lanewise(LSHL, 16)).reinterpretAsFloats();
            acc = kv.fma(FloatVector.fromArray(F, q, qOff + i), acc);
        }
        // The lanes in Simd.sum's order, in registers (no call may take the vector: it would be boxed).
        if (L == 16) {
            acc = acc.add(acc.rearrange(Simd.XOR8));
        }
        acc = acc.add(acc.rearrange(Simd.XOR4));
        acc = acc.add(acc.rearrange(Simd.XOR2));
        acc = acc.add(acc.rearrange(Simd.XOR1));
        float sum = acc.lane(0);
        for (; i < n; i++) {
            sum += Float16.halfToFloat(k[kOff + i]) * q[qOff + i];
        }
        return sum;
    }

    /**
     * Grouped-query attention scores: {@code heads} queries ({@code q[qOff + j*n ..]}, {@code j < heads}) that share
     * one KV head, against {@code count} F16 keys: {@code out[j*outStride + t] = dotF16(k, rows[t], q, qOff + j*n, n)},
     * bit for bit (same steps), each key row converted to floats once, into {@code rowScratch} ({@code >= n}
     * floats), for all the heads of the group instead of once per head. One call per (row, KV head): the position
     * loop and the vector code live in one compiled method, so C2 never has to fit them into the caller's inlining
     * budget (where it would box the vectors).
     */
    public static void dotsF16Group(short[] k, int[] rows, int count, float[] q, int qOff, int heads, int n,
                                    float[] out, int outStride, float[] rowScratch) {
        if (!VECTOR) {
            for (int j = 0; j < heads; j++) {
                for (int t = 0; t < count; t++) {
                    out[j * outStride + t] = dotF16Scalar(k, rows[t], q, qOff + j * n, n);
                }
            }
            return;
        }
        int upper = F.loopBound(n);
        for (int t = 0; t < count; t++) {
            int kOff = rows[t];
            for (int i = 0; i < upper; i += L) {
                // half to float as Simd.HALF_REBIAS describes, inline (a helper would push the caller past C2's
                // inlining budget on some compiles, and the vectors after it would be boxed)
                IntVector h = (IntVector) ShortVector.fromArray(Simd.S, k, kOff + i).convertShape(S2I, Simd.I, 0);
                IntVector em = h.and(0x7fff);
                IntVector shifted = em.lanewise(LSHL, 13);
                shifted.reinterpretAsFloats().mul(Simd.HALF_REBIAS).reinterpretAsInts()
                        .blend(shifted.or(0x7f800000), em.compare(GE, 0x7c00))
                        .or(h.and(0x8000).lanewise(LSHL, 16)).reinterpretAsFloats().intoArray(rowScratch, i);
            }
            for (int j = 0; j < heads; j++) {
                int qj = qOff + j * n;
                FloatVector acc = FloatVector.zero(F);
                for (int i = 0; i < upper; i += L) {
                    acc = FloatVector.fromArray(F, rowScratch, i).fma(FloatVector.fromArray(F, q, qj + i), acc);
                }
                if (L == 16) {
                    acc = acc.add(acc.rearrange(Simd.XOR8));
                }
                acc = acc.add(acc.rearrange(Simd.XOR4));
                acc = acc.add(acc.rearrange(Simd.XOR2));
                acc = acc.add(acc.rearrange(Simd.XOR1));
                float sum = acc.lane(0);
                for (int i = upper; i < n; i++) {
                    sum += Float16.halfToFloat(k[kOff + i]) * q[qj + i];
                }
                out[j * outStride + t] = sum;
            }
        }
    }

    public static float dotF16Scalar(short[] k, int kOff, float[] q, int qOff, int n) {
        float sum = 0f;
        for (int i = 0; i < n; i++) {
            sum += Float16.halfToFloat(k[kOff + i]) * q[qOff + i];
        }
        return sum;
    }

    // ---- axpy ----------------------------------------------------------------------------------------------------

    /** {@code out[outOff+i] += a * x[xOff+i]}. */
    public static void axpy(float a, float[] x, int xOff, float[] out, int outOff, int n) {
        int i = 0;
        if (VECTOR) {
            for (int upper = F.loopBound(n); i < upper; i += L) {
                FloatVector.fromArray(F, x, xOff + i).fma(FloatVector.broadcast(F, a), FloatVector.fromArray(F, out, outOff + i))
                        .intoArray(out, outOff + i);
            }
        }
        for (; i < n; i++) {
            out[outOff + i] = Math.fma(a, x[xOff + i], out[outOff + i]);
        }
    }

    public static void axpyScalar(float a, float[] x, int xOff, float[] out, int outOff, int n) {
        for (int i = 0; i < n; i++) {
            out[outOff + i] += a * x[xOff + i];
        }
    }

    /** {@code out[outOff+i] += a * half(v[vOff+i])}: accumulates an attention-weighted F16 value row. */
    public static void axpyF16(float a, short[] v, int vOff, float[] out, int outOff, int n) {
        int i = 0;
        if (VECTOR) {
            for (int upper = F.loopBound(n); i < upper; i += L) {
                // half to float as Simd.HALF_REBIAS describes, inline
                IntVector h = (IntVector) ShortVector.fromArray(Simd.S, v, vOff + i).convertShape(S2I, Simd.I, 0);
                IntVector em = h.and(0x7fff);
                IntVector shifted = em.lanewise(LSHL, 13);
                FloatVector vf = shifted.reinterpretAsFloats().mul(Simd.HALF_REBIAS).reinterpretAsInts()
                        .blend(shifted.or(0x7f800000), em.compare(GE, 0x7c00))
                        .or(h.and(0x8000).lanewise(LSHL, 16)).reinterpretAsFloats();
                vf.fma(FloatVector.broadcast(F, a), FloatVector.fromArray(F, out, outOff + i)).intoArray(out, outOff + i);
            }
        }
        for (; i < n; i++) {
            out[outOff + i] = Math.fma(Float16.halfToFloat(v[vOff + i]), a, out[outOff + i]);
        }
    }

    /**
     * Grouped-query attention output: for the {@code heads} query heads sharing one KV head, head j's output
     * {@code out[outOff + j*n ..]} accumulates {@code axpyF16(a[j*aStride + t] * scale[j], v, rows[t], ..)} for
     * {@code t = 0, 1, .., count-1}, bit for bit (the same updates in the same order for each head), each value row
     * converted to floats once for the whole group, into {@code rowScratch}. Position by position, so the column
     * chunks of one position are independent FMAs.
     */
    public static void axpysF16Group(float[] a, int aStride, float[] scale, short[] v, int[] rows, int count,
                                     float[] out, int outOff, int heads, int n, float[] rowScratch) {
        if (!VECTOR) {
            for (int j = 0; j < heads; j++) {
                for (int t = 0; t < count; t++) {
                    float w = a[j * aStride + t] * scale[j];
                    int vOff = rows[t];
                    int o = outOff + j * n;
                    for (int i = 0; i < n; i++) {
                        out[o + i] = Math.fma(Float16.halfToFloat(v[vOff + i]), w, out[o + i]);
                    }
                }
            }
            return;
        }
        int upper = F.loopBound(n);
        for (int t = 0; t < count; t++) {
            int vOff = rows[t];
            for (int i = 0; i < upper; i += L) {
                // half to float as Simd.HALF_REBIAS describes, inline (a helper would push the caller past C2's
                // inlining budget on some compiles, and the vectors after it would be boxed)
                IntVector h = (IntVector) ShortVector.fromArray(Simd.S, v, vOff + i).convertShape(S2I, Simd.I, 0);
                IntVector em = h.and(0x7fff);
                IntVector shifted = em.lanewise(LSHL, 13);
                shifted.reinterpretAsFloats().mul(Simd.HALF_REBIAS).reinterpretAsInts()
                        .blend(shifted.or(0x7f800000), em.compare(GE, 0x7c00))
                        .or(h.and(0x8000).lanewise(LSHL, 16)).reinterpretAsFloats().intoArray(rowScratch, i);
            }
            for (int j = 0; j < heads; j++) {
                float w = a[j * aStride + t] * scale[j];
                int o = outOff + j * n;
                FloatVector wv = FloatVector.broadcast(F, w);
                for (int i = 0; i < upper; i += L) {
                    FloatVector.fromArray(F, rowScratch, i).fma(wv, FloatVector.fromArray(F, out, o + i)).intoArray(out, o + i);
                }
                for (int i = upper; i < n; i++) {
                    out[o + i] = Math.fma(Float16.halfToFloat(v[vOff + i]), w, out[o + i]);
                }
            }
        }
    }

    public static void axpyF16Scalar(float a, short[] v, int vOff, float[] out, int outOff, int n) {
        for (int i = 0; i < n; i++) {
            out[outOff + i] += a * Float16.halfToFloat(v[vOff + i]);
        }
    }

    /** Rounds {@code src} to F16 bits in {@code dst} (round to nearest even, as llama.cpp's F16 KV cache). */
    public static void toHalf(float[] src, int srcOff, short[] dst, int dstOff, int n) {
        for (int i = 0; i < n; i++) {
            dst[dstOff + i] = Float16.floatToHalf(src[srcOff + i]);
        }
    }

    // ---- normalization and activations ---------------------------------------------------------------------------

    /**
     * ggml_rms_norm then ggml_mul by the weight: {@code out[i] = x[i] * (1/sqrt(mean(x^2) + eps)) * weight[i]},
     * the sum of squares in double (ggml_float), mean and scale in float. {@code out} may alias {@code x}. The one
     * RMS norm of the forward pass (hidden state, and q/k per head for qwen3).
     */
    public static void rmsnorm(float[] out, int outOff, float[] x, int xOff, float[] weight, int size, float eps) {
        double sum = 0.0;
        for (int j = 0; j < size; j++) {
            float v = x[xOff + j];
            sum += v * v;
        }
        float mean = (float) (sum / size);
        float scale = 1.0f / (float) Math.sqrt(mean + eps);
        for (int j = 0; j < size; j++) {
            out[outOff + j] = (x[xOff + j] * scale) * weight[j];
        }
    }

    /**
     * The exponentials of a softmax: {@code out[i] = exp(x[i] - max(x))} (float max, each exponential rounded to
     * float), summed in double in index order as ggml does; returns the normalizer {@code (float) (1 / sum)} for
     * the caller to apply (attention folds it into the weighted sum of values, sampling into the probabilities).
     * {@code out} may alias {@code x}. The runtime's softmax (routing, sampling); attention takes the same steps
     * with the polynomial e^x, {@link #softmaxExpPoly}.
     */
    public static float softmaxExp(float[] x, int xOff, float[] out, int outOff, int n) {
        return softmax(x, xOff, out, outOff, n, false);
    }

    /**
     * Attention's softmax numerators: {@code out[i] = e^(x[i] - max)} for {@code i < n} (in place allowed), each by
     * {@link Simd#expScalar} (the Cephes polynomial of {@link Simd#exp}: within a few ulp of libm's e^x, the
     * softmax in half the time of {@code Math.exp}'s here), and {@code 1 / sum} returned, the sum taken in double
     * in index order.
     * Scalar on purpose: a Vector API loop here boxed its vectors in some JIT runs (DecodeAllocationTest caught
     * 114 KB per token), and scalar floats cannot box.
     */
    public static float softmaxExpPoly(float[] x, int xOff, float[] out, int outOff, int n) {
        return softmax(x, xOff, out, outOff, n, true);
    }

    /** The one body of both: max, then e^(x - max) by libm or the polynomial, summed in double in index order. */
    private static float softmax(float[] x, int xOff, float[] out, int outOff, int n, boolean poly) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            max = Math.max(max, x[xOff + i]);
        }
        double sum = 0.0;
        for (int i = 0; i < n; i++) {
            float v = x[xOff + i] - max;
            float e = poly ? Simd.expScalar(v) : (float) Math.exp(v);
            out[outOff + i] = e;
            sum += e;
        }
        return (float) (1.0 / sum);
    }

    /** Largest of {@code x[off .. off+n)} ({@code -Inf} if {@code n == 0}). */
    public static float max(float[] x, int off, int n) {
        float max = Float.NEGATIVE_INFINITY;
        int i = 0;
        if (VECTOR && n >= L) {
            FloatVector m = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
            for (int upper = F.loopBound(n); i < upper; i += L) {
                m = m.max(FloatVector.fromArray(F, x, off + i));
            }
            max = m.reduceLanes(VectorOperators.MAX); // max is exact in any order
        }
        for (; i < n; i++) {
            max = Math.max(max, x[off + i]);
        }
        return max;
    }

    /**
     * SwiGLU: {@code gate[i] = silu(gate[i]) * up[i]} with {@code silu(g) = g / (1 + e^-g)}, in place in
     * {@code gate}.
     */
    public static void siluMul(float[] gate, int gOff, float[] up, int uOff, int n) {
        int i = 0;
        if (VECTOR) {
            for (int upper = F.loopBound(n); i < upper; i += L) {
                FloatVector g = FloatVector.fromArray(F, gate, gOff + i);
                // Simd.exp's steps, inline
                FloatVector t = g.neg().max(Simd.EXP_LO).min(Simd.EXP_HI);
                FloatVector rounded = t.mul(Simd.LOG2E).add(Simd.ROUND); // integer k in the low mantissa bits
                FloatVector k = rounded.sub(Simd.ROUND);
                FloatVector r = k.fma(FloatVector.broadcast(F, -Simd.LN2_HI), t).add(k.mul(-Simd.LN2_LO));
                FloatVector p = r.fma(Simd.P0, Simd.P1).fma(r, FloatVector.broadcast(F, Simd.P2))
                        .fma(r, FloatVector.broadcast(F, Simd.P3)).fma(r, FloatVector.broadcast(F, Simd.P4))
                        .fma(r, FloatVector.broadcast(F, Simd.P5)).fma(r.mul(r), r).add(1f);
                IntVector bits = rounded.reinterpretAsInts().add(127).lanewise(LSHL, 23); // 2^k
                FloatVector e = p.mul(bits.reinterpretAsFloats());
                FloatVector silu = g.div(e.add(1f));
                silu.mul(FloatVector.fromArray(F, up, uOff + i)).intoArray(gate, gOff + i);
            }
        }
        for (; i < n; i++) {
            float g = gate[gOff + i];
            gate[gOff + i] = g / (1f + (float) Math.exp(-g)) * up[uOff + i];
        }
    }

    public static void siluMulScalar(float[] gate, int gOff, float[] up, int uOff, int n) {
        for (int i = 0; i < n; i++) {
            float g = gate[gOff + i];
            gate[gOff + i] = g / (1f + (float) Math.exp(-g)) * up[uOff + i];
        }
    }

    /** {@code acc[accOff+i] += x[xOff+i]} (residual connection). */
    public static void add(float[] acc, int accOff, float[] x, int xOff, int n) {
        int i = 0;
        if (VECTOR) {
            for (int upper = F.loopBound(n); i < upper; i += L) {
                FloatVector.fromArray(F, acc, accOff + i).add(FloatVector.fromArray(F, x, xOff + i))
                        .intoArray(acc, accOff + i);
            }
        }
        for (; i < n; i++) {
            acc[accOff + i] += x[xOff + i];
        }
    }

    public static void addScalar(float[] acc, int accOff, float[] x, int xOff, int n) {
        for (int i = 0; i < n; i++) {
            acc[accOff + i] += x[xOff + i];
        }
    }

    /** {@code x[off+i] *= s}. */
    public static void scale(float[] x, int off, int n, float s) {
        int i = 0;
        if (VECTOR) {
            for (int upper = F.loopBound(n); i < upper; i += L) {
                FloatVector.fromArray(F, x, off + i).mul(s).intoArray(x, off + i);
            }
        }
        for (; i < n; i++) {
            x[off + i] *= s;
        }
    }

    public static void scaleScalar(float[] x, int off, int n, float s) {
        for (int i = 0; i < n; i++) {
            x[off + i] *= s;
        }
    }

    /** Index (relative to {@code off}) of the first largest value of {@code x[off .. off+n)}; -1 if n == 0. */
    public static int argmax(float[] x, int off, int n) {
        if (n == 0) {
            return -1;
        }
        // Find the max with vectors, then the first index holding it with a scalar scan.
        float max = max(x, off, n);
        for (int i = 0; i < n; i++) {
            if (x[off + i] == max) {
                return i;
            }
        }
        return argmaxScalar(x, off, n); // only NaNs: fall back to the scalar rule
    }

    public static int argmaxScalar(float[] x, int off, int n) {
        if (n == 0) {
            return -1;
        }
        int best = 0;
        for (int i = 1; i < n; i++) {
            if (x[off + i] > x[off + best]) {
                best = i;
            }
        }
        return best;
    }
}
