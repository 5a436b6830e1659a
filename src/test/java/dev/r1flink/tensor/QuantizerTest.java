package dev.r1flink.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

class QuantizerTest {

    /**
     * Relative RMS round-trip error on Gaussian weights stays at what uniform rounding with llama.cpp's block
     * layouts allows: step/sqrt(12), with step = (max |x| of a block ~2.1 sigma) / 127 for Q8_0, /8 for Q4_0,
     * /32 for Q6_K (16-element groups, ~2.0 sigma), and (max - min ~4.1 sigma) / 31 or / 15 for Q5_K and Q4_K. A
     * wrong scale, packing or rounding rule blows well past these.
     */
    @ParameterizedTest
    @CsvSource({"F32, 0", "F16, 0.0003", "BF16, 0.0025", "Q8_0, 0.006", "Q6_K, 0.02", "Q5_K, 0.04",
            "Q4_K, 0.075", "Q4_0, 0.095"})
    void roundTripErrorIsLlamaCppLike(GgmlType type, double maxRelRms) {
        Random rnd = new Random(type.ordinal());
        int rows = 8, cols = 1024;
        float[] x = FloatTensorTest.gaussian(rows * cols, rnd);
        byte[] q = Quantizer.quantize(type, x, rows, cols);
        assertEquals(type.byteSize((long) rows * cols), q.length);
        FloatTensor t = FloatTensor.of(type, rows, cols, q, 0);
        double err = 0, sig = 0;
        float[] row = new float[cols];
        for (int r = 0; r < rows; r++) {
            t.dequantizeRow(r, row, 0);
            for (int c = 0; c < cols; c++) {
                double d = row[c] - x[r * cols + c];
                err += d * d;
                sig += (double) x[r * cols + c] * x[r * cols + c];
            }
        }
        double rel = Math.sqrt(err / sig);
        assertTrue(rel <= maxRelRms, type + " relative RMS error " + rel + " > " + maxRelRms);
        if (type != GgmlType.F32) {
            assertTrue(rel > maxRelRms / 20, type + " suspiciously exact: " + rel);
        }
    }

    /** Q8_0 and Q4_0 have simple per-element bounds. */
    @ParameterizedTest
    @EnumSource(names = {"Q8_0", "Q4_0"})
    void perElementErrorWithinAStep(GgmlType type) {
        Random rnd = new Random(7);
        int cols = 32 * 64;
        float[] x = FloatTensorTest.gaussian(cols, rnd);
        FloatTensor t = FloatTensor.of(type, 1, cols, Quantizer.quantize(type, x, 1, cols), 0);
        for (int blk = 0; blk < cols / 32; blk++) {
            float amax = 0;
            for (int j = 0; j < 32; j++) {
                amax = Math.max(amax, Math.abs(x[32 * blk + j]));
            }
            float step = type == GgmlType.Q8_0 ? amax / 127 : amax / 8;
            // Half a step of rounding (Q4_0: a full step where +7 clamps), plus the fp16 rounding of d times |q|.
            float bound = type == GgmlType.Q8_0 ? step * (0.5f + 127f / 2048) * 1.001f : step * (1f + 8f / 2048) * 1.001f;
            for (int j = 0; j < 32; j++) {
                int c = 32 * blk + j;
                assertTrue(Math.abs(t.get(0, c) - x[c]) <= bound, type + " element " + c);
            }
        }
    }

    /**
     * The K-quant fits (make_qkx2_quants, make_qx_quants) must beat plain rounding on the same layout: a naive
     * affine min/max quantizer per 32 elements (Q4_K, Q5_K) or symmetric max per 16 (Q6_K), computed here.
     */
    @ParameterizedTest
    @CsvSource({"Q4_K, 15, 32, true", "Q5_K, 31, 32, true", "Q6_K, 63, 16, false"})
    void kQuantsBeatNaiveRounding(GgmlType type, int levels, int group, boolean affine) {
        Random rnd = new Random(11);
        int cols = 4096;
        float[] x = FloatTensorTest.gaussian(cols, rnd);
        FloatTensor t = FloatTensor.of(type, 1, cols, Quantizer.quantize(type, x, 1, cols), 0);
        double err = 0, naive = 0;
        for (int g = 0; g < cols; g += group) {
            float min = Float.MAX_VALUE, max = -Float.MAX_VALUE, amax = 0;
            for (int i = g; i < g + group; i++) {
                min = Math.min(min, x[i]);
                max = Math.max(max, x[i]);
                amax = Math.max(amax, Math.abs(x[i]));
            }
            for (int i = g; i < g + group; i++) {
                double q;
                if (affine) {
                    double step = (max - min) / levels;
                    q = min + Math.rint((x[i] - min) / step) * step;
                } else {
                    double step = 2 * amax / levels;
                    q = Math.rint(x[i] / step) * step;
                }
                naive += (q - x[i]) * (q - x[i]);
                double d = t.get(0, i) - x[i];
                err += d * d;
            }
        }
        assertTrue(err < naive, type + " error " + err + " not below naive " + naive);
    }

    /** Blocks of zeros and of one constant decode exactly (no NaN from a zero scale). */
    @ParameterizedTest
    @EnumSource(names = {"F16", "BF16", "Q8_0", "Q4_0", "Q4_K", "Q5_K", "Q6_K"})
    void zerosAndConstants(GgmlType type) {
        int cols = 512;
        float[] x = new float[2 * cols];
        for (int c = 0; c < cols; c++) {
            x[cols + c] = 0.5f;
        }
        FloatTensor t = FloatTensor.of(type, 2, cols, Quantizer.quantize(type, x, 2, cols), 0);
        for (int c = 0; c < cols; c++) {
            assertEquals(0f, t.get(0, c), 0f, type + " zero at " + c);
            assertEquals(0.5f, t.get(1, c), 0.5f * 0.01f, type + " constant at " + c);
        }
    }

    /** Exactly representable values survive F16 and Q8_0 unchanged. */
    @ParameterizedTest
    @EnumSource(names = {"F16", "Q8_0"})
    void representableValuesAreExact(GgmlType type) {
        int cols = 64;
        float[] x = new float[cols];
        for (int c = 0; c < cols; c++) {
            x[c] = (c % 32 - 16) * 0.25f; // Q8_0: max |x| 4, d = 4/127 is not exact, so use a block with 127 steps
        }
        if (type == GgmlType.Q8_0) {
            for (int c = 0; c < cols; c++) {
                x[c] = (c % 32) * 4 - 127; // integers up to 127 in magnitude: d = 1
            }
        }
        FloatTensor t = FloatTensor.of(type, 1, cols, Quantizer.quantize(type, x, 1, cols), 0);
        for (int c = 0; c < cols; c++) {
            assertEquals(x[c], t.get(0, c), 0f, type + " element " + c);
        }
    }
}
