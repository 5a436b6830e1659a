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

/* Activation quantization alone on hostile values (NaN, infinities, denormals, huge): same bytes as the reference. */
static void run_quantize_special(int isa) {
    const r1k_kernels *ref = r1k_kernels_scalar(), *k = r1k_kernels_for(isa);
    const int rows = 3, cols = 512;
    float *x = activations(rows, cols);
    x[256 + 5] = NAN;
    x[256 + 77] = -INFINITY;
    x[512 + 3] = 1e-40f;
    x[512 + 300] = NAN;
    x[768 + 1] = INFINITY;
    x[1024 + 9] = 3e38f;
    x[1024 + 10] = -3e38f;
    for (int kq = 0; kq < 2; kq++) {
        size_t n = kq ? r1k_q8_K_bytes(rows, cols) : r1k_q8_0_bytes(rows, cols);
        uint8_t *a = malloc(n), *b = malloc(n);
        (kq ? ref->quantize_q8_K : ref->quantize_q8_0)(x, rows, cols, cols, a);
        (kq ? k->quantize_q8_K : k->quantize_q8_0)(x, rows, cols, cols, b);
        char what[96];
        snprintf(what, sizeof what, "%s quantize %s, NaN/inf/denormal input", r1k_isa_name(isa), kq ? "q8_K" : "q8_0");
        check_bytes(what, a, b, n);
        free(a); free(b);
    }
    free(x);
}

/* Attention over an F16 cache: every variant against the reference, bit for bit (scores and outputs). */
static void run_attention(int isa, int heads, int n, int count) {
    const r1k_kernels *ref = r1k_kernels_scalar(), *k = r1k_kernels_for(isa);
    const int cache_rows = count + 5, stride = n + 3;
    uint16_t *cache = malloc(sizeof(uint16_t) * (size_t) cache_rows * stride);
    for (int i = 0; i < cache_rows * stride; i++) cache[i] = r1k_fp32_to_fp16((uniform() - .5f) * 4.f);
    int32_t *rows = malloc(sizeof(int32_t) * (size_t) count);
    for (int t = 0; t < count; t++) rows[t] = (int32_t) (((t * 7 + 3) % cache_rows) * stride + t % 3);
    float *q = activations(heads, n), *a = activations(heads, count + 2), *scale = activations(1, heads);
    int out_stride = count + 1;
    size_t so = (size_t) heads * out_stride, oo = (size_t) heads * n;
    float *sa = calloc(so, sizeof(float)), *sb = calloc(so, sizeof(float));
    float *oa = malloc(sizeof(float) * oo), *ob = malloc(sizeof(float) * oo);
    for (size_t i = 0; i < oo; i++) oa[i] = ob[i] = (float) (i % 5) - 2.f;
    ref->attn_dots_f16(cache, rows, count, q, heads, n, sa, out_stride);
    k->attn_dots_f16(cache, rows, count, q, heads, n, sb, out_stride);
    char what[128];
    snprintf(what, sizeof what, "%s attention scores heads %d n %d count %d", r1k_isa_name(isa), heads, n, count);
    check_bytes(what, (uint8_t *) sa, (uint8_t *) sb, sizeof(float) * so);
    ref->attn_axpys_f16(a, count + 2, scale, cache, rows, count, oa, heads, n);
    k->attn_axpys_f16(a, count + 2, scale, cache, rows, count, ob, heads, n);
    snprintf(what, sizeof what, "%s attention output heads %d n %d count %d", r1k_isa_name(isa), heads, n, count);
    check_bytes(what, (uint8_t *) oa, (uint8_t *) ob, sizeof(float) * oo);
    free(cache); free(rows); free(q); free(a); free(scale); free(sa); free(sb); free(oa); free(ob);
}

int main(void) {
    const int types[] = {R1K_Q8_0, R1K_Q4_0, R1K_Q4_K, R1K_Q5_K, R1K_Q6_K};
    const int rows[] = {1, 3, 4, 5, 8, 13, 16, 19, 40}; /* panels: 8 (AVX2) and 16 (AVX-512) rows */
    const int batches[] = {1, 2, 3, 4, 5, 7, 8, 9, 12, 19};
    int best = r1k_best_isa();
    printf("r1k_test: best ISA here %s\n", r1k_isa_name(best));
    int cases = 0;
    for (int isa = R1K_AVX2; isa <= best; isa++) {
        run_quantize_special(isa);
        cases++;
        const int attn_n[] = {16, 64, 128, 136, 200, 576, 5000}; /* tails past 16 lanes; 5000: past the stack row */
        /* heads and positions past the AVX-512 tiles (4 rows x 4 heads for scores, 32 rows for outputs) */
        const int attn_heads[] = {1, 3, 6, 7}, attn_count[] = {1, 14, 37, 70};
        for (int ni = 0; ni < 7; ni++) {
            for (int hi = 0; hi < 4; hi++) {
                run_attention(isa, attn_heads[hi], attn_n[ni], attn_count[(ni + hi) % 4]);
                cases++;
            }
        }
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
            /* decode (batch 1) over wide rows: the GEMVs' 4-row groups and remainders */
            run(isa, types[t], 11, elems * 36, 1, 1);
            cases += 2;
        }
    }
    printf("r1k_test: %d cases, %d failed\n", cases, failures);
    return failures == 0 ? 0 : 1;
}
