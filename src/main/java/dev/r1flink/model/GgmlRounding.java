package dev.r1flink.model;

import dev.r1flink.tensor.Float16;
import dev.r1flink.tensor.GgmlType;

/**
 * Opt-in ({@code -Dr1.model.ggmlRounding=true}) emulation of the roundings that ggml's CPU backend applies to
 * activations, for parity experiments against llama.cpp only (see {@code LlamaCppParityTest}); off by default,
 * and then the branches on these static final flags fold away.
 * <ul>
 *   <li>Attention without flash attention ({@code build_attn_mha}): {@code kq = mul_mat(k, q)} with an F16 K cache
 *       converts q to F16 first, and {@code kqv = mul_mat(v, softmax(kq))} converts the softmax weights to F16.</li>
 *   <li>Weight products: ggml converts the activations to the weight type's {@code vec_dot_type} before the dot
 *       products: F16 for F16, BF16 for BF16, Q8_0 for Q8_0/Q4_0 (AVX path: d = amax/127 stored as F16, round to
 *       nearest even), Q8_K for K-quants ({@code quantize_row_q8_K_ref}: iscale = -127/max, d = 1/iscale).</li>
 * </ul>
 * Measured on the tiny synthetic models: with it, F32 models agree with llama.cpp to 3e-4 instead of 8e-4 in
 * relative logits, and Q8_0/Q4_0/K-quant models to 5e-5 until the first step at which one int8 rounding of an
 * activation falls differently (float summation order moves a value across a .5 boundary); from then on the
 * difference is as large as without emulation. So it explains the quantized gap but cannot close it. deepseek2 F32
 * (MLA, whose absorbed query is kv_lora_rank + rope wide): 0.0044 / 0.0034 without, 0.0018 / 0.0019 with only the
 * query rounding ({@code -Dr1.model.ggmlRounding.q=true}), 0.0009 / 0.0007 with all; the parts can be switched on
 * alone: {@code .q}, {@code .softmax} (the attention roundings), {@code .weights} (the weight products).
 */
final class GgmlRounding {

    static final boolean ENABLED = Boolean.getBoolean("r1.model.ggmlRounding");
    static final boolean ATTENTION_Q = ENABLED || Boolean.getBoolean("r1.model.ggmlRounding.q");
    static final boolean ATTENTION_SOFTMAX = ENABLED || Boolean.getBoolean("r1.model.ggmlRounding.softmax");
    static final boolean WEIGHTS = ENABLED || Boolean.getBoolean("r1.model.ggmlRounding.weights");

    private GgmlRounding() {}

    static void f16InPlace(float[] x, int off, int len) {
        for (int i = off; i < off + len; i++) {
            x[i] = f16(x[i]);
        }
    }

    static float f16(float x) {
        return Float16.halfToFloat(Float16.floatToHalf(x));
    }

    /** A copy of {@code x} with {@code x[0..len)} rounded as ggml rounds activations for weights of {@code type}. */
    static float[] activations(GgmlType type, float[] x, int len) {
        float[] y = x.clone();
        switch (type) {
            case F16 -> {
                for (int i = 0; i < len; i++) {
                    y[i] = f16(x[i]);
                }
            }
            case BF16 -> {
                for (int i = 0; i < len; i++) {
                    y[i] = Float16.bf16ToFloat(Float16.floatToBf16(x[i]));
                }
            }
            case Q8_0, Q4_0 -> {
                for (int b = 0; b < len; b += 32) {
                    q8_0(x, y, b);
                }
            }
            case Q4_K, Q5_K, Q6_K -> {
                for (int b = 0; b < len; b += 256) {
                    q8_K(x, y, b);
                }
            }
            default -> { }
        }
        return y;
    }

    private static void q8_0(float[] x, float[] y, int off) {
        float amax = 0;
        for (int j = 0; j < 32; j++) {
            amax = Math.max(amax, Math.abs(x[off + j]));
        }
        float d = f16(amax / 127f);
        float id = amax != 0 ? 127f / amax : 0f;
        for (int j = 0; j < 32; j++) {
            y[off + j] = d * (float) Math.rint(x[off + j] * id);
        }
    }

    private static void q8_K(float[] x, float[] y, int off) {
        float amax = 0;
        float max = 0;
        for (int j = 0; j < 256; j++) {
            float ax = Math.abs(x[off + j]);
            if (ax > amax) {
                amax = ax;
                max = x[off + j];
            }
        }
        float iscale = amax != 0 ? -127f / max : 0f;
        float d = amax != 0 ? 1 / iscale : 0f;
        for (int j = 0; j < 256; j++) {
            y[off + j] = d * Math.min(127, (int) Math.rint(iscale * x[off + j]));
        }
    }
}
