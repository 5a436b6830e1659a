/*
 * r1k: r1-flink's native int8 weight products (C11). The Java side (dev.r1flink.tensor.NativeKernels) owns
 * validation and shapes; this library owns arithmetic only and trusts its arguments.
 *
 * Weights stay in ggml's block layouts (block_q8_0, block_q4_0, block_q4_K, block_q5_K, block_q6_K). Activations
 * are quantized once per matmul input, as llama.cpp does, into one buffer per batch:
 *
 *   q8_0 (for Q8_0 and Q4_0 weights), rows = batch:
 *     qs    int8  [rows][cols]         q = rint(x * 127/amax) per block of 32 (ties to even)
 *     d     float [rows][cols/32]      fp16(amax/127), stored widened to float
 *   q8_K (for Q4_K, Q5_K and Q6_K weights):
 *     qs    int8  [rows][cols]         q = min(127, rint(x * -127/max)) per block of 256 (max: the signed value
 *                                      of largest magnitude), as ggml's quantize_row_q8_K_ref
 *     d     float [rows][cols/256]     1 / (-127/max)
 *     bsums int16 [rows][cols/16]      sums of 16 consecutive qs
 *
 * The arithmetic of one (weight row, activation row) pair is fixed, so every ISA variant, every tile shape and
 * the scalar reference give the same float bit for bit, whatever the batch or the row range.
 *
 * Q8_0 / Q4_0: one float chain per pair, blocks in order: acc = fma((float) dot_k, dw_k * dx_k, acc), dot_k the
 * exact integer dot product of block k (w: the weight's signed value, q - 8 for Q4_0), dw_k * dx_k one rounded
 * float product of the two fp16-derived scales; result = acc. Any way of forming dot_k gives the same integer, so
 * kernels are free to put rows in vector lanes (the packed panels of r1k_x86.c) or reduce lanes horizontally.
 *
 * Q4_K / Q5_K / Q6_K: two float chains per pair, super-blocks in order: acc = fma((float) dot_k, d_k * dx_k, acc)
 * and m = fma((float) corr_k, dm_k * dx_k, m); result = acc - m. dot_k is the exact integer sum over the block's
 * 256 elements of (unsigned quant) * (its sub-block's integer scale) * x; corr_k the exact integer correction
 * against the activation's block sums (the mins times the 32-element sums for Q4_K/Q5_K, dm = dmin; 32 times
 * the sum of scales times the 16-element sums for Q6_K, dm = d). Both fit int32 for every type.
 * r1k_ref.c is the plain transcription; Int8Reference (Java, tests) is its twin.
 */
#ifndef R1K_H
#define R1K_H

#include <stddef.h>
#include <stdint.h>

/* ggml type ids of the weights (GgmlType.id on the Java side). */
enum r1k_type { R1K_Q4_0 = 2, R1K_Q8_0 = 8, R1K_Q4_K = 12, R1K_Q5_K = 13, R1K_Q6_K = 14 };

/* Kernel variants, best last. */
enum r1k_isa { R1K_SCALAR = 0, R1K_AVX2 = 1, R1K_AVX512_VNNI = 2 };

typedef struct r1k_kernels {
    /* x: [rows][x_stride] floats; out: the q8_0 layout above. cols % 32 == 0. */
    void (*quantize_q8_0)(const float *x, int rows, int cols, int x_stride, uint8_t *out);
    /* out: the q8_K layout above. cols % 256 == 0. */
    void (*quantize_q8_K)(const float *x, int rows, int cols, int x_stride, uint8_t *out);
    /*
     * out[b * out_stride + r] = row r of w . activation row b, for r in [row_from, row_to) and b in [0, batch).
     * w points at row 0; rows are row_bytes apart; xq is the activation buffer of the weight type's kind.
     */
    void (*matmul)(int type, const uint8_t *w, size_t row_bytes, int cols, int row_from, int row_to,
                   const uint8_t *xq, int batch, float *out, int out_stride);
} r1k_kernels;

const r1k_kernels *r1k_kernels_scalar(void);
const r1k_kernels *r1k_kernels_avx2(void);         /* NULL when not compiled in */
const r1k_kernels *r1k_kernels_avx512_vnni(void);  /* NULL when not compiled in */

/* The best variant this CPU runs (cpuid), and the table for a variant (NULL if absent or unsupported here). */
int r1k_best_isa(void);
const r1k_kernels *r1k_kernels_for(int isa);
const char *r1k_isa_name(int isa);

/* Offsets in an activation buffer of `rows` rows (bytes). */
static inline size_t r1k_q8_0_bytes(int rows, int cols) {
    return (size_t) rows * cols + 4 * ((size_t) rows * (cols / 32));
}
static inline size_t r1k_q8_K_bytes(int rows, int cols) {
    return (size_t) rows * cols + 4 * ((size_t) rows * (cols / 256)) + 2 * ((size_t) rows * (cols / 16));
}
static inline const float *r1k_q8_0_d(const uint8_t *xq, int rows, int cols) {
    return (const float *) (xq + (size_t) rows * cols);
}
static inline const float *r1k_q8_K_d(const uint8_t *xq, int rows, int cols) {
    return (const float *) (xq + (size_t) rows * cols);
}
static inline const int16_t *r1k_q8_K_bsums(const uint8_t *xq, int rows, int cols) {
    return (const int16_t *) (xq + (size_t) rows * cols + 4 * ((size_t) rows * (cols / 256)));
}

/* Block sizes in bytes of the weight types. */
static inline size_t r1k_block_bytes(int type) {
    switch (type) {
        case R1K_Q8_0: return 34;
        case R1K_Q4_0: return 18;
        case R1K_Q4_K: return 144;
        case R1K_Q5_K: return 176;
        case R1K_Q6_K: return 210;
        default: return 0;
    }
}
static inline int r1k_block_elems(int type) {
    return type == R1K_Q8_0 || type == R1K_Q4_0 ? 32 : 256;
}
static inline int r1k_is_kquant(int type) {
    return type == R1K_Q4_K || type == R1K_Q5_K || type == R1K_Q6_K;
}

/* Exact fp16 -> float, and float -> fp16 rounding to nearest even (ggml's GGML_FP32_TO_FP16 on x86). */
float r1k_fp16_to_fp32(uint16_t h);
uint16_t r1k_fp32_to_fp16(float f);

/* The 6-bit scale and min of sub-block j (0..7) of a Q4_K/Q5_K block's 12 packed bytes (ggml get_scale_min_k4). */
static inline void r1k_scale_min_k4(int j, const uint8_t *q, int *sc, int *m) {
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
        *m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
    }
}

static inline uint16_t r1k_load_u16(const uint8_t *p) {
    return (uint16_t) (p[0] | (p[1] << 8));
}

#endif
