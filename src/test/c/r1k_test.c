/*
 * Every r1k kernel variant this CPU has against the scalar reference, bit for bit: activation quantization
 * (q8_0, q8_K) and matmul for every weight type, on random blocks (random quant bits, random fp16 scales) and odd
 * shapes (1..13 rows, row ranges not starting at 0, 1..19 activation rows, chunked activations). Buffers are
 * allocated at their exact sizes so that AddressSanitizer catches any read past them. Run by the Maven build
 * (src/test/c/run.sh) under -fsanitize=address,undefined.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "r1k.h"

static unsigned long long rng = 88172645463325252ull;
static unsigned next(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned) (rng >> 11);
}
static float uniform(void) { return (next() & 0xffffff) / 16777216.f; }

static void put_half(uint8_t *p, float v) {
    uint16_t h = r1k_fp32_to_fp16(v);
    p[0] = (uint8_t) h;
    p[1] = (uint8_t) (h >> 8);
}

/* Random weight rows: random bytes, then sane fp16 scales where the type keeps them. */
static uint8_t *weights(int type, int rows, int cols, size_t *row_bytes) {
    size_t bb = r1k_block_bytes(type);
    int nb = cols / r1k_block_elems(type);
    *row_bytes = bb * nb;
    uint8_t *w = malloc(*row_bytes * rows);
    for (size_t i = 0; i < *row_bytes * rows; i++) w[i] = (uint8_t) next();
    for (int r = 0; r < rows; r++) {
        for (int b = 0; b < nb; b++) {
            uint8_t *blk = w + r * *row_bytes + b * bb;
            switch (type) {
                case R1K_Q8_0: case R1K_Q4_0: put_half(blk, (uniform() - .5f) * 0.1f); break;
                case R1K_Q4_K: case R1K_Q5_K: put_half(blk, uniform() * 0.05f); put_half(blk + 2, uniform() * 0.05f); break;
                case R1K_Q6_K: put_half(blk + 208, (uniform() - .5f) * 0.02f); break;
            }
        }
    }
    return w;
}

static float *activations(int rows, int stride) {
    float *x = malloc(sizeof(float) * rows * stride);
    for (int i = 0; i < rows * stride; i++) {
        x[i] = (uniform() - .5f) * 8.f;
        if (i % 97 == 0) x[i] = 0.f;
    }
    /* a block of zeros, and a block whose largest magnitude appears with both signs (first one decides q8_K) */
    if (rows * stride >= 512) {
        memset(x, 0, 256 * sizeof(float));
        x[300] = -9.5f;
        x[301] = 9.5f;
    }
    return x;
}

static int failures = 0;

static void check_bytes(const char *what, const uint8_t *a, const uint8_t *b, size_t n) {
    if (memcmp(a, b, n) != 0) {
        for (size_t i = 0; i < n; i++) {
            if (a[i] != b[i]) {
                printf("FAIL %s: byte %zu differs (%d vs %d)\n", what, i, a[i], b[i]);
                break;
            }
        }
        failures++;
    }
}

static void run(int isa, int type, int rows, int cols, int batch, int row_from) {
    const r1k_kernels *ref = r1k_kernels_scalar(), *k = r1k_kernels_for(isa);
    size_t row_bytes;
    uint8_t *w = weights(type, rows, cols, &row_bytes);
    int stride = cols + 16;
    float *x = activations(batch, stride);
    int kq = r1k_is_kquant(type);
    size_t xbytes = kq ? r1k_q8_K_bytes(batch, cols) : r1k_q8_0_bytes(batch, cols);
    uint8_t *xa = malloc(xbytes), *xb = malloc(xbytes);
    (kq ? ref->quantize_q8_K : ref->quantize_q8_0)(x, batch, cols, stride, xa);
    (kq ? k->quantize_q8_K : k->quantize_q8_0)(x, batch, cols, stride, xb);
    char what[160];
    snprintf(what, sizeof what, "%s quantize %s [%d][%d]", r1k_isa_name(isa), kq ? "q8_K" : "q8_0", batch, cols);
    check_bytes(what, xa, xb, xbytes);
    int out_stride = rows + 3;
    size_t out_n = (size_t) (batch - 1) * out_stride + rows;
    float *oa = malloc(sizeof(float) * out_n), *ob = malloc(sizeof(float) * out_n);
    for (size_t i = 0; i < out_n; i++) oa[i] = ob[i] = -1.f;
    ref->matmul(type, w, row_bytes, cols, row_from, rows, xa, batch, oa, out_stride);
    k->matmul(type, w, row_bytes, cols, row_from, rows, xa, batch, ob, out_stride);
    snprintf(what, sizeof what, "%s matmul type %d rows [%d,%d) cols %d batch %d", r1k_isa_name(isa), type, row_from,
             rows, cols, batch);
    check_bytes(what, (uint8_t *) oa, (uint8_t *) ob, sizeof(float) * out_n);
    /* the reference against a plain float dot of the dequantized-by-definition values: catches a wrong definition */
    for (int b = 0; b < batch; b++) {
        for (int r = row_from; r < rows; r++) {
            if (!isfinite(oa[(size_t) b * out_stride + r])) {
                printf("FAIL %s: non-finite result\n", what);
                failures++;
                b = batch;
                break;
            }
        }
    }
    free(w); free(x); free(xa); free(xb); free(oa); free(ob);
}

int main(void) {
    const int types[] = {R1K_Q8_0, R1K_Q4_0, R1K_Q4_K, R1K_Q5_K, R1K_Q6_K};
    const int rows[] = {1, 3, 4, 5, 8, 13, 16, 19, 40}; /* panels: 8 (AVX2) and 16 (AVX-512) rows */
    const int batches[] = {1, 2, 3, 4, 5, 7, 8, 9, 12, 19};
    int best = r1k_best_isa();
    printf("r1k_test: best ISA here %s\n", r1k_isa_name(best));
    int cases = 0;
    for (int isa = R1K_AVX2; isa <= best; isa++) {
        for (int t = 0; t < 5; t++) {
            int elems = r1k_block_elems(types[t]);
            for (int ri = 0; ri < (int) (sizeof rows / sizeof rows[0]); ri++) {
                for (int bi = 0; bi < (int) (sizeof batches / sizeof batches[0]); bi++) {
                    int cols = elems * (1 + (ri + bi) % 3);
                    run(isa, types[t], rows[ri], cols, batches[bi], rows[ri] > 4 ? 2 : 0);
                    cases++;
                }
            }
            /* activation chunking: many rows of wide activations */
            run(isa, types[t], 6, elems * 36, 33, 1);
            cases++;
        }
    }
    printf("r1k_test: %d cases, %d failed\n", cases, failures);
    return failures == 0 ? 0 : 1;
}
