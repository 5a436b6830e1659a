package dev.r1flink.tensor;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * Java twin of the native kernels' arithmetic ({@code src/main/c/r1k.h}, {@code r1k_ref.c}): the same activation
 * quantization into the same byte layout, and per (row, activation row) the same exact integer block dots, scale
 * products and float chains over the blocks in order, written plainly. The native kernels must equal it bit for bit; it in turn is checked against
 * the Java tensors' own decoders ({@link FloatTensor#dequantizeRow}) up to float rounding.
 */
final class Int8Reference {

    private static final VarHandle FLOAT = MethodHandles.byteArrayViewVarHandle(float[].class, ByteOrder.nativeOrder());
    private static final VarHandle SHORT = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.nativeOrder());

    private Int8Reference() {
    }

    static byte[] quantize(GgmlType weightType, float[] x, int rows, int cols, int xStride) {
        byte[] out = new byte[NativeKernels.activationBytes(weightType, rows, cols)];
        if (NativeKernels.usesQ8K(weightType)) {
            q8K(x, rows, cols, xStride, out);
        } else {
            q8_0(x, rows, cols, xStride, out);
        }
        return out;
    }

    private static int clamp8(int v) {
        return Math.max(-128, Math.min(127, v));
    }

    private static void q8_0(float[] x, int rows, int cols, int xStride, byte[] out) {
        int dBase = rows * cols;
        for (int r = 0; r < rows; r++) {
            for (int b = 0; b < cols / 32; b++) {
                int at = r * xStride + 32 * b;
                float amax = 0f;
                for (int j = 0; j < 32; j++) {
                    amax = Math.max(amax, Math.abs(x[at + j]));
                }
                float id = amax != 0f ? 127f / amax : 0f;
                float d = Float16.halfToFloat(Float16.floatToHalf(amax / 127f));
                FLOAT.set(out, dBase + 4 * (r * (cols / 32) + b), d);
                for (int j = 0; j < 32; j++) {
                    out[r * cols + 32 * b + j] = (byte) clamp8((int) Math.rint(x[at + j] * id));
                }
            }
        }
    }

    private static void q8K(float[] x, int rows, int cols, int xStride, byte[] out) {
        int dBase = rows * cols;
        int sBase = dBase + 4 * rows * (cols / 256);
        for (int r = 0; r < rows; r++) {
            for (int b = 0; b < cols / 256; b++) {
                int at = r * xStride + 256 * b;
                float amax = 0f, max = 0f;
                for (int j = 0; j < 256; j++) {
                    float ax = Math.abs(x[at + j]);
                    if (ax > amax) {
                        amax = ax;
                        max = x[at + j];
                    }
                }
                float iscale = amax != 0f ? -127f / max : 0f;
                FLOAT.set(out, dBase + 4 * (r * (cols / 256) + b), amax != 0f ? 1f / iscale : 0f);
                int q0 = r * cols + 256 * b;
                for (int j = 0; j < 256; j++) {
                    out[q0 + j] = (byte) clamp8(Math.min(127, (int) Math.rint(iscale * x[at + j])));
                }
                for (int g = 0; g < 16; g++) {
                    int s = 0;
                    for (int j = 0; j < 16; j++) {
                        s += out[q0 + 16 * g + j];
                    }
                    SHORT.set(out, sBase + 2 * (r * (cols / 16) + 16 * b + g), (short) s);
                }
            }
        }
    }

    /** The activations as the kernels see them: q * d per element. */
    static float[] dequantizeActivations(GgmlType weightType, byte[] xq, int rows, int cols) {
        float[] y = new float[rows * cols];
        int block = NativeKernels.usesQ8K(weightType) ? 256 : 32;
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                float d = (float) FLOAT.get(xq, rows * cols + 4 * (r * (cols / block) + c / block));
                y[r * cols + c] = xq[r * cols + c] * d;
            }
        }
        return y;
    }

    static void matmul(FloatTensor w, byte[] xq, int batch, float[] out, int outStride, int rowFrom, int rowTo) {
        for (int r = rowFrom; r < rowTo; r++) {
            for (int b = 0; b < batch; b++) {
                out[b * outStride + r] = dot(w, r, xq, batch, b);
            }
        }
    }

    private static float half(byte[] d, int at) {
        return Float16.halfToFloat((short) ((d[at] & 0xff) | (d[at + 1] << 8)));
    }

    static float dot(FloatTensor w, int row, byte[] xq, int batch, int b) {
        GgmlType t = w.type();
        int cols = w.cols();
        byte[] d = w.data();
        int p = w.offset() + row * w.rowBytes();
        int x0 = b * cols;
        float[] acc = new float[8];
        if (!NativeKernels.usesQ8K(t)) {
            int bytes = t == GgmlType.Q8_0 ? 34 : 18;
            for (int k = 0; k < cols / 32; k++, p += bytes) {
                int[] wv = new int[32];
                for (int j = 0; j < 32; j++) {
                    wv[j] = t == GgmlType.Q8_0 ? d[p + 2 + j]
                            : ((j < 16 ? d[p + 2 + j] : (d[p + 2 + j - 16] & 0xff) >> 4) & 0xf) - 8;
                }
                float dx = (float) FLOAT.get(xq, batch * cols + 4 * (b * (cols / 32) + k));
                int dot = 0;
                for (int j = 0; j < 32; j++) {
                    dot += wv[j] * xq[x0 + 32 * k + j];
                }
                acc[0] = Math.fma((float) dot, half(d, p) * dx, acc[0]);
            }
            return acc[0];
        }
        int bytes = t == GgmlType.Q4_K ? 144 : t == GgmlType.Q5_K ? 176 : 210;
        float m = 0f;
        int dBase = batch * cols;
        int sBase = dBase + 4 * batch * (cols / 256);
        for (int k = 0; k < cols / 256; k++, p += bytes) {
            int[] q = new int[256];
            int[] scale = new int[256];
            unpack(t, d, p, q, scale);
            int dot = 0;
            for (int e = 0; e < 256; e++) {
                dot += scale[e] * (q[e] * xq[x0 + 256 * k + e]);
            }
            float dx = (float) FLOAT.get(xq, dBase + 4 * (b * (cols / 256) + k));
            float dw = t == GgmlType.Q6_K ? half(d, p + 208) : half(d, p);
            float dm = t == GgmlType.Q6_K ? dw : half(d, p + 2);
            acc[0] = Math.fma((float) dot, dw * dx, acc[0]);
            int corr = 0;
            int bs = sBase + 2 * (b * (cols / 16) + 16 * k);
            if (t == GgmlType.Q6_K) {
                for (int g = 0; g < 16; g++) {
                    corr += d[p + 192 + g] * (short) SHORT.get(xq, bs + 2 * g);
                }
                corr *= 32;
            } else {
                for (int c = 0; c < 8; c++) {
                    int mn = Q4_KTensor.min(d, p + 4, c);
                    corr += mn * ((short) SHORT.get(xq, bs + 4 * c) + (short) SHORT.get(xq, bs + 4 * c + 2));
                }
            }
            m = Math.fma((float) corr, dm * dx, m);
        }
        return acc[0] - m;
    }

    /** Unsigned quants and per-element integer scales of one K-quant block, in element order. */
    private static void unpack(GgmlType t, byte[] d, int p, int[] q, int[] scale) {
        if (t == GgmlType.Q6_K) {
            for (int n = 0; n < 2; n++) {
                for (int l = 0; l < 32; l++) {
                    int ql0 = d[p + 64 * n + l] & 0xff, ql1 = d[p + 64 * n + l + 32] & 0xff;
                    int qh = d[p + 128 + 32 * n + l] & 0xff;
                    int e = 128 * n + l;
                    q[e] = (ql0 & 0xf) | ((qh & 3) << 4);
                    q[e + 32] = (ql1 & 0xf) | (((qh >> 2) & 3) << 4);
                    q[e + 64] = (ql0 >> 4) | (((qh >> 4) & 3) << 4);
                    q[e + 96] = (ql1 >> 4) | (((qh >> 6) & 3) << 4);
                }
            }
            for (int e = 0; e < 256; e++) {
                scale[e] = d[p + 192 + e / 16];
            }
            return;
        }
        int qs = p + (t == GgmlType.Q5_K ? 48 : 16);
        for (int c = 0; c < 8; c++) {
            int sc = Q4_KTensor.scale(d, p + 4, c);
            for (int l = 0; l < 32; l++) {
                int v = ((d[qs + 32 * (c / 2) + l] & 0xff) >> (4 * (c & 1))) & 0xf;
                if (t == GgmlType.Q5_K) {
                    v |= (((d[p + 16 + l] & 0xff) >> c) & 1) << 4;
                }
                q[32 * c + l] = v;
                scale[32 * c + l] = sc;
            }
        }
    }
}
