/*
 * Scalar reference of every r1k kernel: the arithmetic of r1k.h written out plainly, one (row, activation row)
 * pair at a time. The SIMD variants must equal it bit for bit (src/test/c/r1k_test.c), and the Java twin
 * (Int8Reference) must equal it too. Built with -ffp-contract=off so that a*b+c is never fused behind our back.
 */
#include <math.h>
#include <string.h>

#include "r1k.h"

float r1k_fp16_to_fp32(uint16_t h) {
    uint32_t sign = (uint32_t) (h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f;
    uint32_t mant = h & 0x3ff;
    uint32_t bits;
    if (exp == 0x1f) {
        bits = sign | 0x7f800000u | (mant << 13);
    } else if (exp == 0) {
        float v = (float) mant * 0x1p-24f; /* zero or subnormal: exact */
        return sign ? -v : v;
    } else {
        bits = sign | ((exp + (127 - 15)) << 23) | (mant << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t r1k_fp32_to_fp16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000;
    uint32_t abs = x & 0x7fffffff;
    uint32_t e = abs >> 23;
    uint32_t mant = abs & 0x7fffff;
    if (e == 0xff) {
        return (uint16_t) (mant == 0 ? sign | 0x7c00 : sign | 0x7e00 | (mant >> 13));
    }
    if (e >= 127 - 14) {
        if (e > 127 + 15) {
            return (uint16_t) (sign | 0x7c00);
        }
        uint32_t h = ((e - (127 - 15)) << 10) | (mant >> 13);
        uint32_t rest = mant & 0x1fff;
        if (rest > 0x1000 || (rest == 0x1000 && (h & 1))) {
            h++;
        }
        return (uint16_t) (sign | h);
    }
    int shift = 126 - (int) e;
    if (shift > 24) {
        return (uint16_t) sign;
    }
    uint32_t m = mant | 0x800000;
    uint32_t h = m >> shift;
    uint32_t rest = m & ((1u << shift) - 1);
    uint32_t halfway = 1u << (shift - 1);
    if (rest > halfway || (rest == halfway && (h & 1))) {
        h++;
    }
    return (uint16_t) (sign | h);
}

/* Round to nearest, ties to even, for |v| < 2^22 (ggml's nearest_int); no undefined behaviour on NaN. */
static int nearest_int(float v) {
    float val = v + 12582912.f;
    int32_t i;
    memcpy(&i, &val, 4);
    return (i & 0x007fffff) - 0x00400000;
}

static int8_t clamp8(int v) {
    return (int8_t) (v < -128 ? -128 : v > 127 ? 127 : v);
}

static void ref_quantize_q8_0(const float *x, int rows, int cols, int x_stride, uint8_t *out) {
    float *d = (float *) (out + (size_t) rows * cols);
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (size_t) r * x_stride;
        int8_t *q = (int8_t *) out + (size_t) r * cols;
        for (int b = 0; b < cols / 32; b++) {
            float amax = 0.f;
            for (int j = 0; j < 32; j++) {
                amax = fmaxf(amax, fabsf(xr[32 * b + j]));
            }
            float id = amax != 0.f ? 127.f / amax : 0.f;
            d[(size_t) r * (cols / 32) + b] = r1k_fp16_to_fp32(r1k_fp32_to_fp16(amax / 127.f));
            for (int j = 0; j < 32; j++) {
                q[32 * b + j] = clamp8(nearest_int(xr[32 * b + j] * id));
            }
        }
    }
}

static void ref_quantize_q8_K(const float *x, int rows, int cols, int x_stride, uint8_t *out) {
    float *d = (float *) (out + (size_t) rows * cols);
    int16_t *bsums = (int16_t *) (out + (size_t) rows * cols + 4 * ((size_t) rows * (cols / 256)));
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (size_t) r * x_stride;
        int8_t *q = (int8_t *) out + (size_t) r * cols;
        for (int b = 0; b < cols / 256; b++) {
            const float *xb = xr + 256 * b;
            float amax = 0.f, max = 0.f;
            for (int j = 0; j < 256; j++) {
                float ax = fabsf(xb[j]);
                if (ax > amax) {
                    amax = ax;
                    max = xb[j];
                }
            }
            float iscale = amax != 0.f ? -127.f / max : 0.f;
            d[(size_t) r * (cols / 256) + b] = amax != 0.f ? 1.f / iscale : 0.f;
            for (int j = 0; j < 256; j++) {
                int v = nearest_int(iscale * xb[j]);
                q[256 * b + j] = clamp8(v > 127 ? 127 : v);
            }
            for (int g = 0; g < 16; g++) {
                int s = 0;
                for (int j = 0; j < 16; j++) {
                    s += q[256 * b + 16 * g + j];
                }
                bsums[(size_t) r * (cols / 16) + 16 * b + g] = (int16_t) s;
            }
        }
    }
}

/* The 256 unsigned quants of a K-quant block in element order, and its per-element integer scale. */
static void kquant_unpack(int type, const uint8_t *blk, uint8_t *q, int *scale) {
    if (type == R1K_Q6_K) {
        const uint8_t *ql = blk, *qh = blk + 128;
        const int8_t *sc = (const int8_t *) (blk + 192);
        for (int n = 0; n < 2; n++) {
            for (int l = 0; l < 32; l++) {
                int e = 128 * n + l;
                q[e + 0] = (uint8_t) ((ql[64 * n + l] & 0xF) | (((qh[32 * n + l] >> 0) & 3) << 4));
                q[e + 32] = (uint8_t) ((ql[64 * n + l + 32] & 0xF) | (((qh[32 * n + l] >> 2) & 3) << 4));
                q[e + 64] = (uint8_t) ((ql[64 * n + l] >> 4) | (((qh[32 * n + l] >> 4) & 3) << 4));
                q[e + 96] = (uint8_t) ((ql[64 * n + l + 32] >> 4) | (((qh[32 * n + l] >> 6) & 3) << 4));
            }
        }
        for (int e = 0; e < 256; e++) {
            scale[e] = sc[e / 16];
        }
        return;
    }
    const uint8_t *scales = blk + 4;
    const uint8_t *qh = blk + 16;                                  /* Q5_K only */
    const uint8_t *qs = blk + (type == R1K_Q5_K ? 48 : 16);
    for (int c = 0; c < 8; c++) {
        int sc, m;
        r1k_scale_min_k4(c, scales, &sc, &m);
        for (int l = 0; l < 32; l++) {
            int v = (qs[32 * (c / 2) + l] >> (4 * (c & 1))) & 0xF;
            if (type == R1K_Q5_K) {
                v |= ((qh[l] >> c) & 1) << 4;
            }
            q[32 * c + l] = (uint8_t) v;
            scale[32 * c + l] = sc;
        }
    }
}

/* The integer correction of a K-quant block against activation block sums bs[16] (see r1k.h). */
static int kquant_corr(int type, const uint8_t *blk, const int16_t *bs) {
    int corr = 0;
    if (type == R1K_Q6_K) {
        const int8_t *sc = (const int8_t *) (blk + 192);
        for (int g = 0; g < 16; g++) {
            corr += sc[g] * bs[g];
        }
        return 32 * corr;
    }
    for (int c = 0; c < 8; c++) {
        int sc, m;
        r1k_scale_min_k4(c, blk + 4, &sc, &m);
        corr += m * (bs[2 * c] + bs[2 * c + 1]);
    }
    return corr;
}

static float ref_dot(int type, const uint8_t *wrow, int cols, const uint8_t *xq, int batch, int b) {
    float acc[1] = {0};
    float m = 0.f;
    const int8_t *x = (const int8_t *) xq + (size_t) b * cols;
    size_t bb = r1k_block_bytes(type);
    if (!r1k_is_kquant(type)) {
        const float *xd = r1k_q8_0_d(xq, batch, cols) + (size_t) b * (cols / 32);
        for (int k = 0; k < cols / 32; k++) {
            const uint8_t *blk = wrow + k * bb;
            int8_t w[32];
            for (int j = 0; j < 32; j++) {
                w[j] = type == R1K_Q8_0 ? (int8_t) blk[2 + j]
                                        : (int8_t) (((j < 16 ? blk[2 + j] : blk[2 + j - 16] >> 4) & 0xF) - 8);
            }
            int dot = 0;
            for (int j = 0; j < 32; j++) {
                dot += w[j] * x[32 * k + j];
            }
            acc[0] = fmaf((float) dot, r1k_fp16_to_fp32(r1k_load_u16(blk)) * xd[k], acc[0]);
        }
        return acc[0];
    }
    const float *xd = r1k_q8_K_d(xq, batch, cols) + (size_t) b * (cols / 256);
    const int16_t *bs = r1k_q8_K_bsums(xq, batch, cols) + (size_t) b * (cols / 16);
    for (int k = 0; k < cols / 256; k++) {
        const uint8_t *blk = wrow + k * bb;
        uint8_t q[256];
        int scale[256];
        kquant_unpack(type, blk, q, scale);
        int dot = 0;
        for (int e = 0; e < 256; e++) {
            dot += scale[e] * (q[e] * x[256 * k + e]);
        }
        float d, dm;
        if (type == R1K_Q6_K) {
            d = dm = r1k_fp16_to_fp32(r1k_load_u16(blk + 208));
        } else {
            d = r1k_fp16_to_fp32(r1k_load_u16(blk));
            dm = r1k_fp16_to_fp32(r1k_load_u16(blk + 2));
        }
        acc[0] = fmaf((float) dot, d * xd[k], acc[0]);
        m = fmaf((float) kquant_corr(type, blk, bs + 16 * k), dm * xd[k], m);
    }
    return acc[0] - m;
}

static void ref_matmul(int type, const uint8_t *w, size_t row_bytes, int cols, int row_from, int row_to,
                       const uint8_t *xq, int batch, float *out, int out_stride) {
    for (int r = row_from; r < row_to; r++) {
        for (int b = 0; b < batch; b++) {
            out[(size_t) b * out_stride + r] = ref_dot(type, w + (size_t) r * row_bytes, cols, xq, batch, b);
        }
    }
}

static const r1k_kernels SCALAR = {ref_quantize_q8_0, ref_quantize_q8_K, ref_matmul};

const r1k_kernels *r1k_kernels_scalar(void) {
    return &SCALAR;
}
