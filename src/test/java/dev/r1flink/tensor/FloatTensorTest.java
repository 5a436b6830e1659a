package dev.r1flink.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.EnumSet;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Every supported type: decoding against an independent reference, vector vs scalar, matmul vs dot. */
class FloatTensorTest {

    static final Set<GgmlType> SUPPORTED = EnumSet.of(GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0,
            GgmlType.Q4_0, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K);

    // ---- Reference decoding, written from ggml's dequantize_row_* without sharing code with the tensors. --------

    private static int u8(byte[] b, int i) {
        return b[i] & 0xff;
    }

    private static float f16(byte[] b, int i) {
        return Float16.halfToFloat((short) (u8(b, i) | (u8(b, i + 1) << 8)));
    }

    /** Element {@code e} of the row starting at byte {@code p}. */
    static float reference(GgmlType type, byte[] b, int p, int e) {
        switch (type) {
            case F32:
                return Float.intBitsToFloat(u8(b, p + 4 * e) | u8(b, p + 4 * e + 1) << 8 | u8(b, p + 4 * e + 2) << 16
                        | u8(b, p + 4 * e + 3) << 24);
            case F16:
                return f16(b, p + 2 * e);
            case BF16:
                return Float.intBitsToFloat((u8(b, p + 2 * e) | u8(b, p + 2 * e + 1) << 8) << 16);
            case Q8_0: {
                int blk = p + (e / 32) * 34;
                return b[blk + 2 + e % 32] * f16(b, blk);
            }
            case Q4_0: {
                int blk = p + (e / 32) * 18;
                int j = e % 32;
                int q = j < 16 ? u8(b, blk + 2 + j) & 15 : u8(b, blk + 2 + j - 16) >> 4;
                return (q - 8) * f16(b, blk);
            }
            case Q4_K:
            case Q5_K: {
                boolean five = type == GgmlType.Q5_K;
                int blk = p + (e / 256) * (five ? 176 : 144);
                int i = e % 256;
                int sub = i / 32;                 // sub-block 0..7
                int[] sm = scaleMin(b, blk + 4, sub);
                int qsAt = blk + (five ? 48 : 16) + (sub / 2) * 32 + i % 32;
                int q = sub % 2 == 0 ? u8(b, qsAt) & 15 : u8(b, qsAt) >> 4;
                if (five && ((u8(b, blk + 16 + i % 32) >> sub) & 1) == 1) {
                    q += 16;
                }
                float d1 = f16(b, blk) * sm[0];
                float m1 = f16(b, blk + 2) * sm[1];
                return d1 * q - m1;
            }
            case Q6_K: {
                int blk = p + (e / 256) * 210;
                int i = e % 256;
                int half = i / 128, r = i % 128, quarter = r / 32, l = r % 32;
                int ql = u8(b, blk + 64 * half + l + (quarter % 2) * 32);
                int low = quarter < 2 ? ql & 15 : ql >> 4;
                int high = (u8(b, blk + 128 + 32 * half + l) >> (2 * quarter)) & 3;
                int sc = b[blk + 192 + 8 * half + 2 * quarter + l / 16];
                return f16(b, blk + 208) * sc * ((low | high << 4) - 32);
            }
            default:
                throw new AssertionError(type);
        }
    }

    /** ggml get_scale_min_k4, written out bit by bit. */
    private static int[] scaleMin(byte[] b, int q, int j) {
        if (j < 4) {
            return new int[] {u8(b, q + j) & 63, u8(b, q + j + 4) & 63};
        }
        int sc = (u8(b, q + j + 4) & 15) | ((u8(b, q + j - 4) >> 6) << 4);
        int m = (u8(b, q + j + 4) >> 4) | ((u8(b, q + j) >> 6) << 4);
        return new int[] {sc, m};
    }

    // ---- Test data ---------------------------------------------------------------------------------------------

    /** Random bytes with every fp16/bf16/f32 scale field forced finite, so all bit patterns of quants are covered. */
    static byte[] randomBytes(GgmlType type, int rows, int cols, Random rnd) {
        int rowBytes = (int) type.byteSize(cols);
        byte[] b = new byte[rows * rowBytes];
        rnd.nextBytes(b);
        int blocks = rows * cols / type.blockSize();
        for (int k = 0; k < blocks; k++) {
            int at = k * type.typeSize();
            switch (type) {
                case F32 -> putF32(b, at, (float) rnd.nextGaussian());
                case F16 -> putHalf(b, at, (float) rnd.nextGaussian());
                case BF16 -> putShort(b, at, Float16.floatToBf16((float) rnd.nextGaussian()));
                case Q8_0, Q4_0 -> putHalf(b, at, (float) (rnd.nextGaussian() * 0.01));
                case Q4_K, Q5_K -> {
                    putHalf(b, at, (float) (rnd.nextGaussian() * 0.001));
                    putHalf(b, at + 2, (float) (rnd.nextGaussian() * 0.001));
                }
                case Q6_K -> putHalf(b, at + 208, (float) (rnd.nextGaussian() * 0.001));
                default -> throw new AssertionError(type);
            }
        }
        return b;
    }

    private static void putShort(byte[] b, int at, short v) {
        b[at] = (byte) v;
        b[at + 1] = (byte) (v >> 8);
    }

    private static void putHalf(byte[] b, int at, float v) {
        putShort(b, at, Float16.floatToHalf(v));
    }

    private static void putF32(byte[] b, int at, float v) {
        int x = Float.floatToRawIntBits(v);
        for (int i = 0; i < 4; i++) {
            b[at + i] = (byte) (x >> (8 * i));
        }
    }

    static float[] gaussian(int n, Random rnd) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        return x;
    }

    static int[] colsFor(GgmlType type) {
        return type.blockSize() == 256 ? new int[] {256, 512, 1280} : new int[] {32, 64, 96, 256, 544};
    }

    // ---- Tests -------------------------------------------------------------------------------------------------

    @ParameterizedTest
    @EnumSource(names = {"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_K", "Q5_K", "Q6_K"})
    void decodingMatchesReference(GgmlType type) {
        Random rnd = new Random(type.ordinal());
        for (int cols : colsFor(type)) {
            int rows = 3;
            byte[] b = randomBytes(type, rows, cols, rnd);
            // Non-zero offset into the buffer, as tensors sit inside a GGUF file's data section.
            byte[] shifted = new byte[b.length + 7];
            System.arraycopy(b, 0, shifted, 7, b.length);
            FloatTensor t = FloatTensor.of(type, rows, cols, shifted, 7);
            assertEquals(type, t.type());
            int rowBytes = (int) type.byteSize(cols);
            float[] row = new float[cols + 3];
            float[] vec = new float[cols + 5];
            for (int r = 0; r < rows; r++) {
                t.dequantizeRow(r, row, 3);
                if (Simd.ENABLED && cols % Simd.L == 0) {
                    t.dequantizeBlocks(r, 0, cols / type.blockSize(), vec, 5);
                }
                for (int c = 0; c < cols; c++) {
                    float ref = reference(type, b, r * rowBytes, c);
                    String where = type + " [" + r + "][" + c + "] of " + cols;
                    assertEquals(Float.floatToIntBits(ref), Float.floatToIntBits(t.get(r, c)), "get " + where);
                    assertEquals(Float.floatToIntBits(ref), Float.floatToIntBits(row[3 + c]), "dequantizeRow " + where);
                    if (Simd.ENABLED && cols % Simd.L == 0) {
                        assertEquals(Float.floatToIntBits(ref), Float.floatToIntBits(vec[5 + c]), "vector " + where);
                    }
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(names = {"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_K", "Q5_K", "Q6_K"})
    void vectorDotMatchesScalar(GgmlType type) {
        Random rnd = new Random(100 + type.ordinal());
        for (int cols : colsFor(type)) {
            int rows = 5;
            FloatTensor t = FloatTensor.of(type, rows, cols, randomBytes(type, rows, cols, rnd), 0);
            float[] x = gaussian(cols + 9, rnd);
            for (int r = 0; r < rows; r++) {
                float vector = t.dot(r, x, 9 - r);
                float scalar = t.dotScalar(r, x, 9 - r);
                double exact = 0, magnitude = 0;
                for (int c = 0; c < cols; c++) {
                    double p = (double) t.get(r, c) * x[9 - r + c];
                    exact += p;
                    magnitude += Math.abs(p);
                }
                double tol = 1e-5 * magnitude + 1e-30;
                assertEquals(exact, vector, tol, type + " vector row " + r + " cols " + cols);
                assertEquals(exact, scalar, tol, type + " scalar row " + r + " cols " + cols);
                assertEquals(scalar, vector, tol, type + " vector vs scalar row " + r + " cols " + cols);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(names = {"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_K", "Q5_K", "Q6_K"})
    void matmulIsBitIdenticalToDot(GgmlType type) {
        Random rnd = new Random(200 + type.ordinal());
        int cols = type.blockSize() == 256 ? 768 : 576; // more than one tile for the 256-blocks (TILE_COLS = 512)
        int rows = 11;                                   // not a multiple of 4
        FloatTensor t = FloatTensor.of(type, rows, cols, randomBytes(type, rows, cols, rnd), 0);
        int xStride = cols + 16;                         // padded activations
        float[] x = gaussian(17 * xStride, rnd);
        float[] expected = new float[17 * rows];
        for (int b = 0; b < 17; b++) {
            for (int r = 0; r < rows; r++) {
                expected[b * rows + r] = t.dot(r, x, b * xStride);
            }
        }
        int outStride = rows + 3;
        for (int batch = 1; batch <= 17; batch++) {
            for (int[] range : new int[][] {{0, rows}, {1, rows}, {3, 10}, {5, 6}}) {
                float[] out = new float[batch * outStride];
                t.matmul(x, xStride, batch, out, outStride, range[0], range[1]);
                for (int b = 0; b < batch; b++) {
                    for (int r = range[0]; r < range[1]; r++) {
                        assertEquals(Float.floatToIntBits(expected[b * rows + r]),
                                Float.floatToIntBits(out[b * outStride + r]),
                                type + " batch " + batch + " vector " + b + " row " + r + " range " + range[0] + ".."
                                        + range[1]);
                    }
                }
            }
        }
        // A vector's result does not depend on its position in the batch: shift the batch by one vector.
        float[] out = new float[16 * rows];
        t.matmul(java.util.Arrays.copyOfRange(x, xStride, 17 * xStride), xStride, 16, out, rows, 0, rows);
        for (int b = 0; b < 16; b++) {
            for (int r = 0; r < rows; r++) {
                assertEquals(Float.floatToIntBits(expected[(b + 1) * rows + r]), Float.floatToIntBits(out[b * rows + r]));
            }
        }
    }

    @ParameterizedTest
    @EnumSource(names = {"Q8_0", "Q4_0", "Q4_K"})
    void batchedMatmulOverSeveralPanelsIsBitIdenticalToDot(GgmlType type) {
        Random rnd = new Random(300 + type.ordinal());
        int cols = 8192;  // 4 rows x 8192 floats per group: several panels of FloatTensor.PANEL_FLOATS
        int rows = 46;
        assertTrue(FloatTensor.PANEL_FLOATS / (4 * cols) < rows / 4, "the test needs more than one panel");
        FloatTensor t = FloatTensor.of(type, rows, cols, randomBytes(type, rows, cols, rnd), 0);
        int batch = 11;
        float[] x = gaussian(batch * cols, rnd);
        for (int[] range : new int[][] {{0, rows}, {2, 45}}) {
            float[] out = new float[batch * rows];
            t.matmul(x, cols, batch, out, rows, range[0], range[1]);
            for (int b = 0; b < batch; b++) {
                for (int r = range[0]; r < range[1]; r++) {
                    assertEquals(Float.floatToIntBits(t.dot(r, x, b * cols)), Float.floatToIntBits(out[b * rows + r]),
                            type + " vector " + b + " row " + r);
                }
            }
        }
    }

    @Test
    void colsNotAMultipleOfTheVectorUseTheScalarPath() {
        Random rnd = new Random(5);
        int rows = 6, cols = 37;
        FloatTensor t = FloatTensor.of(GgmlType.F32, rows, cols, randomBytes(GgmlType.F32, rows, cols, rnd), 0);
        float[] x = gaussian(3 * cols, rnd);
        float[] out = new float[3 * rows];
        t.matmul(x, cols, 3, out, rows, 0, rows);
        for (int b = 0; b < 3; b++) {
            for (int r = 0; r < rows; r++) {
                assertEquals(Float.floatToIntBits(t.dot(r, x, b * cols)), Float.floatToIntBits(out[b * rows + r]));
                assertEquals(t.dotScalar(r, x, b * cols), out[b * rows + r], 1e-5f);
            }
        }
    }

    @Test
    void rejectsBadShapesAndUnsupportedTypes() {
        assertThrows(IllegalArgumentException.class, () -> FloatTensor.of(GgmlType.Q8_0, 1, 48, new byte[100], 0));
        assertThrows(IllegalArgumentException.class, () -> FloatTensor.of(GgmlType.Q8_0, 2, 32, new byte[67], 0));
        UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
                () -> FloatTensor.of(GgmlType.Q4_1, 1, 32, new byte[20], 0));
        assertTrue(e.getMessage().contains("Q4_1"));
        for (GgmlType type : GgmlType.values()) {
            assertEquals(SUPPORTED.contains(type), type.supported(), type.name());
        }
        FloatTensor t = FloatTensor.of(GgmlType.Q8_0, 2, 32, new byte[68], 0);
        assertThrows(IndexOutOfBoundsException.class, () -> t.dot(2, new float[32], 0));
        assertThrows(IndexOutOfBoundsException.class, () -> t.dot(0, new float[40], 9));
        assertThrows(IndexOutOfBoundsException.class,
                () -> t.matmul(new float[64], 32, 2, new float[4], 2, 0, 3));
    }
}
