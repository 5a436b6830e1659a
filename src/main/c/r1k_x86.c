/*
 * x86 variants of the r1k kernels. This file is compiled twice: as AVX2+FMA+F16C (no R1K_VNNI) and as
 * AVX-512 F/BW/VL/VNNI (R1K_VNNI). Both produce the reference's floats bit for bit (r1k.h): they differ only in
 * how the exact integer block dots are formed (vpdpbusd with VNNI, vpmaddubsw/vpmaddwd without) and in how many
 * weight rows share a vector (16 in a zmm, 8 in a ymm).
 *
 * Batched products run on panels of rows in vector lanes (see the Q8_0/Q4_0 section); activation rows are visited
 * in chunks that stay in L2 while all the rows of the range pass over them. K-quant decode uses a GEMV over 4
 * rows a quarter of the range apart (4 memory streams).
 */
#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

#include "r1k.h"

#ifdef R1K_VNNI
#define VARIANT(name) name##_avx512_vnni
#else
#define VARIANT(name) name##_avx2
#endif

#define INLINE static inline __attribute__((always_inline))

/* Activation rows per L2-resident chunk: about 256 KB of int8 activations. */
#define X_CHUNK_BYTES (256 * 1024)

INLINE float fp16(const uint8_t *p) {
    return _cvtsh_ss(r1k_load_u16(p));
}

/* ---------------------------------------------------------------------------------------------------------
 * Activation quantization (same operations as r1k_ref.c, 8 floats at a time).
 */

/* The reference's nearest_int, 8 lanes: ties to even for |v| < 2^22, and a NaN gives 0 (cvtps would give INT_MIN) */
INLINE __m256i round_magic(__m256 v) {
    __m256 f = _mm256_add_ps(v, _mm256_set1_ps(12582912.f));
    return _mm256_sub_epi32(_mm256_and_si256(_mm256_castps_si256(f), _mm256_set1_epi32(0x007fffff)), _mm256_set1_epi32(0x00400000));
}

static void VARIANT(quantize_q8_0)(const float *x, int rows, int cols, int x_stride, uint8_t *out) {
    float *d = (float *) (out + (size_t) rows * cols);
    const __m256 sign = _mm256_set1_ps(-0.0f);
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (size_t) r * x_stride;
        int8_t *q = (int8_t *) out + (size_t) r * cols;
        for (int b = 0; b < cols / 32; b++) {
            __m256 v0 = _mm256_loadu_ps(xr + 32 * b), v1 = _mm256_loadu_ps(xr + 32 * b + 8);
            __m256 v2 = _mm256_loadu_ps(xr + 32 * b + 16), v3 = _mm256_loadu_ps(xr + 32 * b + 24);
            /* NaNs never count, as with the reference's fmaxf: max_ps returns its second operand on a NaN */
            __m256 m = _mm256_max_ps(_mm256_andnot_ps(sign, v0), _mm256_setzero_ps());
            m = _mm256_max_ps(_mm256_andnot_ps(sign, v1), m);
            m = _mm256_max_ps(_mm256_andnot_ps(sign, v2), m);
            m = _mm256_max_ps(_mm256_andnot_ps(sign, v3), m);
            __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
            m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
            m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
            float amax = _mm_cvtss_f32(m4);
            float id = amax != 0.f ? 127.f / amax : 0.f;
            d[(size_t) r * (cols / 32) + b] = _cvtsh_ss(_cvtss_sh(amax / 127.f, 0));
            __m256 vid = _mm256_set1_ps(id);
            __m256i i0 = round_magic(_mm256_mul_ps(v0, vid)), i1 = round_magic(_mm256_mul_ps(v1, vid));
            __m256i i2 = round_magic(_mm256_mul_ps(v2, vid)), i3 = round_magic(_mm256_mul_ps(v3, vid));
            /* packs interleave 128-bit halves; the permute puts the 32 bytes back in element order */
            __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(i0, i1), _mm256_packs_epi32(i2, i3));
            p = _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
            _mm256_storeu_si256((__m256i *) (q + 32 * b), p);
        }
    }
}

/* As the reference: the first element of largest magnitude decides the sign of the scale (NaNs never count),
 * q = min(127, nearest_int(iscale * x)) saturated to int8, block sums of 16. */
static void VARIANT(quantize_q8_K)(const float *x, int rows, int cols, int x_stride, uint8_t *out) {
    float *d = (float *) (out + (size_t) rows * cols);
    int16_t *bsums = (int16_t *) (out + (size_t) rows * cols + 4 * ((size_t) rows * (cols / 256)));
    const __m256 sign = _mm256_set1_ps(-0.0f);
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (size_t) r * x_stride;
        int8_t *q = (int8_t *) out + (size_t) r * cols;
        for (int b = 0; b < cols / 256; b++) {
            const float *xb = xr + 256 * b;
            __m256 m = _mm256_setzero_ps();
            for (int j = 0; j < 256; j += 8) m = _mm256_max_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(xb + j)), m);
            __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
            m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
            m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
            float amax = _mm_cvtss_f32(m4), max = 0.f;
            if (amax != 0.f) {
                __m256 va = _mm256_set1_ps(amax);
                for (int j = 0; j < 256; j += 8) {
                    int hit = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(xb + j)), va, _CMP_EQ_OQ));
                    if (hit != 0) {
                        max = xb[j + __builtin_ctz((unsigned) hit)];
                        break;
                    }
                }
            }
            float iscale = amax != 0.f ? -127.f / max : 0.f;
            d[(size_t) r * (cols / 256) + b] = amax != 0.f ? 1.f / iscale : 0.f;
            const __m256 vs = _mm256_set1_ps(iscale);
            const __m256i top = _mm256_set1_epi32(127);
            for (int j = 0; j < 256; j += 32) {
                __m256i v[4];
                for (int i = 0; i < 4; i++) v[i] = _mm256_min_epi32(round_magic(_mm256_mul_ps(vs, _mm256_loadu_ps(xb + j + 8 * i))), top);
                __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(v[0], v[1]), _mm256_packs_epi32(v[2], v[3]));
                p = _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
                _mm256_storeu_si256((__m256i *) (q + 256 * b + j), p);
                /* sums of 8 biased bytes per 64-bit lane: two lanes per group of 16 */
                __m256i sad = _mm256_sad_epu8(_mm256_xor_si256(p, _mm256_set1_epi8((char) 0x80)), _mm256_setzero_si256());
                int64_t l[4];
                _mm256_storeu_si256((__m256i *) l, sad);
                int16_t *bs = bsums + (size_t) r * (cols / 16) + 16 * b + j / 16;
                bs[0] = (int16_t) (l[0] + l[1] - 2048);
                bs[1] = (int16_t) (l[2] + l[3] - 2048);
            }
        }
    }
}

/* ---------------------------------------------------------------------------------------------------------
 * Exact integer lane sums.
 */

#ifdef R1K_VNNI
/* sum over pairs of p16 * s16 added to acc */
INLINE __m256i madd_acc(__m256i acc, __m256i p16, __m256i s16) {
    return _mm256_dpwssd_epi32(acc, p16, s16);
}
#else
INLINE __m256i madd_acc(__m256i acc, __m256i p16, __m256i s16) {
    return _mm256_add_epi32(acc, _mm256_madd_epi16(p16, s16));
}
#endif

/* ---------------------------------------------------------------------------------------------------------
 * Q8_0 / Q4_0 weights x q8_0 activations: panels of rows in vector lanes.
 *
 * PR weight rows (16 with AVX-512, 8 with AVX2) form a panel; block k of the panel's rows is transposed in
 * registers so that vector W[j] holds bytes 4j..4j+3 of every row's block, one row per 32-bit lane. An int8 dot
 * instruction against 4 activation bytes broadcast to every lane then adds 4 products to each row's block sum;
 * after 8 of them each lane holds its row's exact block dot product, and one convert, scale product and FMA
 * serve PR pairs. The panel's block is transposed once per activation tile of up to PST rows.
 */

/* Block k of a Q8_0/Q4_0 row as 32 bytes in element order: Q8_0 signed values (AVX2) or their unsigned
 * offset w + 128 (VNNI), Q4_0 the unsigned quants q (its value is q - 8). */
INLINE __m256i block_bytes(const int type, const uint8_t *blk) {
    if (type == R1K_Q8_0) {
        __m256i v = _mm256_loadu_si256((const __m256i *) (blk + 2));
#ifdef R1K_VNNI
        v = _mm256_xor_si256(v, _mm256_set1_epi8((char) 0x80));
#endif
        return v;
    }
    __m128i b = _mm_loadu_si128((const __m128i *) (blk + 2));
    __m128i lo = _mm_and_si128(b, _mm_set1_epi8(0xF));
    __m128i hi = _mm_and_si128(_mm_srli_epi16(b, 4), _mm_set1_epi8(0xF));
    return _mm256_set_m128i(hi, lo);
}

INLINE int32_t load_i32(const int8_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* What the unsigned form of the weights adds to the exact dot, per activation block: off * sum(x). */
INLINE int signed_offset(const int type) {
#ifdef R1K_VNNI
    return type == R1K_Q8_0 ? 128 : 8;
#else
    return type == R1K_Q8_0 ? 0 : 8;
#endif
}

#ifdef R1K_VNNI
#define PR 16
#define PST 8
#ifndef R1K_PREFETCH
/* bytes ahead per row stream of the batch-1 Q4_0 GEMV (gemv_q4_0), as the K-quant GEMV's KQ_PREFETCH; the panels
 * prefetch the next panel's rows instead (docs/benchmarks.md has the figures) */
#define R1K_PREFETCH 2048
#endif

/* W[j], lane r = dword j of in[r] (16 rows of 32 bytes) */
INLINE void panel_transpose(const __m256i *in, __m512i W[8]) {
    __m512i z[8], t[8], u[8];
    for (int r = 0; r < 8; r++) z[r] = _mm512_inserti64x4(_mm512_castsi256_si512(in[r]), in[r + 8], 1);
    /* 8x8 dword transposes in both 256-bit halves (rows 0-7 and 8-15) */
    for (int q = 0; q < 8; q += 4) {
        t[q + 0] = _mm512_unpacklo_epi32(z[q + 0], z[q + 1]);
        t[q + 1] = _mm512_unpackhi_epi32(z[q + 0], z[q + 1]);
        t[q + 2] = _mm512_unpacklo_epi32(z[q + 2], z[q + 3]);
        t[q + 3] = _mm512_unpackhi_epi32(z[q + 2], z[q + 3]);
        u[q + 0] = _mm512_unpacklo_epi64(t[q + 0], t[q + 2]);
        u[q + 1] = _mm512_unpackhi_epi64(t[q + 0], t[q + 2]);
        u[q + 2] = _mm512_unpacklo_epi64(t[q + 1], t[q + 3]);
        u[q + 3] = _mm512_unpackhi_epi64(t[q + 1], t[q + 3]);
    }
    /* u[c] holds dwords c (low 128 bits of each half) and c + 4 (high) of rows 0-3 / 8-11, u[c + 4] of rows
     * 4-7 / 12-15: pick the 64-bit pairs by row */
    const __m512i lo = _mm512_setr_epi64(0, 1, 8, 9, 4, 5, 12, 13);
    const __m512i hi = _mm512_setr_epi64(2, 3, 10, 11, 6, 7, 14, 15);
    for (int c = 0; c < 4; c++) {
        W[c] = _mm512_permutex2var_epi64(u[c], lo, u[c + 4]);
        W[c + 4] = _mm512_permutex2var_epi64(u[c], hi, u[c + 4]);
    }
}

/* W[j], lane r = dword j of row r's block (rows in rowp, the block at byte koff of each) */
INLINE void panel_block(const int type, const uint8_t *const *rowp, size_t koff, size_t ahead, __m512i W[8]) {
    __m256i in[16];
    /* 16 rows are 16 strided streams, more than the hardware prefetchers follow: the same block of the next
     * panel's rows (ahead bytes on), if there is one */
    if (ahead != 0)
        for (int r = 0; r < 16; r++) _mm_prefetch((const char *) (rowp[r] + koff + ahead), _MM_HINT_T0);
    for (int r = 0; r < 16; r++) in[r] = block_bytes(type, rowp[r] + koff);
    panel_transpose(in, W);
}

/* The fp16 scales at base + rowoff[r] (the first two bytes of each row's block) */
INLINE __m512 panel_scales(const uint8_t *base, __m512i rowoff) {
    __m512i d = _mm512_i32gather_epi32(rowoff, (const void *) base, 1);
    return _mm512_cvtph_ps(_mm512_cvtepi32_epi16(d));
}

INLINE __m512i panel_dot(__m512i isum, const __m512i W[8], const int8_t *x) {
    for (int j = 0; j < 8; j++) {
        isum = _mm512_dpbusd_epi32(isum, W[j], _mm512_set1_epi32(load_i32(x + 4 * j)));
    }
    return isum;
}

typedef __m512i panel_off;
INLINE panel_off panel_rows(const uint8_t *w, size_t row_bytes, int r0, int nr, const uint8_t **rowp) {
    int32_t off[16];
    for (int r = 0; r < 16; r++) {
        int rr = r < nr ? r : 0; /* rows past the range read the panel's first row; their lanes are not stored */
        rowp[r] = w + (size_t) (r0 + rr) * row_bytes;
        off[r] = (int32_t) ((size_t) rr * row_bytes);
    }
    return _mm512_loadu_si512((const void *) off);
}
#else
#define PR 8
#define PST 4

INLINE void panel_transpose(const __m256i *z, __m256i W[8]) {
    __m256i t[8], u[8];
    for (int q = 0; q < 8; q += 4) {
        t[q + 0] = _mm256_unpacklo_epi32(z[q + 0], z[q + 1]);
        t[q + 1] = _mm256_unpackhi_epi32(z[q + 0], z[q + 1]);
        t[q + 2] = _mm256_unpacklo_epi32(z[q + 2], z[q + 3]);
        t[q + 3] = _mm256_unpackhi_epi32(z[q + 2], z[q + 3]);
        u[q + 0] = _mm256_unpacklo_epi64(t[q + 0], t[q + 2]);
        u[q + 1] = _mm256_unpackhi_epi64(t[q + 0], t[q + 2]);
        u[q + 2] = _mm256_unpacklo_epi64(t[q + 1], t[q + 3]);
        u[q + 3] = _mm256_unpackhi_epi64(t[q + 1], t[q + 3]);
    }
    for (int c = 0; c < 4; c++) {
        W[c] = _mm256_permute2x128_si256(u[c], u[c + 4], 0x20);
        W[c + 4] = _mm256_permute2x128_si256(u[c], u[c + 4], 0x31);
    }
}

INLINE void panel_block(const int type, const uint8_t *const *rowp, size_t koff, size_t ahead, __m256i W[8]) {
    __m256i in[8];
    if (ahead != 0)
        for (int r = 0; r < 8; r++) _mm_prefetch((const char *) (rowp[r] + koff + ahead), _MM_HINT_T0);
    for (int r = 0; r < 8; r++) in[r] = block_bytes(type, rowp[r] + koff);
    panel_transpose(in, W);
}

INLINE __m256 panel_scales(const uint8_t *base, __m256i rowoff) {
    __m256i d = _mm256_i32gather_epi32((const int *) base, rowoff, 1);
    /* the low 16 bits of each dword, packed into the low 128 bits */
    __m256i p = _mm256_shuffle_epi8(d, _mm256_setr_epi8(0, 1, 4, 5, 8, 9, 12, 13, -1, -1, -1, -1, -1, -1, -1, -1,
                                                        0, 1, 4, 5, 8, 9, 12, 13, -1, -1, -1, -1, -1, -1, -1, -1));
    p = _mm256_permute4x64_epi64(p, 0x08);
    return _mm256_cvtph_ps(_mm256_castsi256_si128(p));
}

INLINE __m256i panel_dot_q8(__m256i isum, const __m256i W[8], const int8_t *x) {
    const __m256i ones = _mm256_set1_epi16(1);
    for (int j = 0; j < 8; j++) {
        __m256i xb = _mm256_set1_epi32(load_i32(x + 4 * j));
        /* |w| * sign(x, w) = w * x; pairs fit int16 (|w| <= 128, |x| <= 127) */
        __m256i p = _mm256_maddubs_epi16(_mm256_abs_epi8(W[j]), _mm256_sign_epi8(xb, W[j]));
        isum = _mm256_add_epi32(isum, _mm256_madd_epi16(p, ones));
    }
    return isum;
}

INLINE __m256i panel_dot_q4(__m256i isum, const __m256i W[8], const int8_t *x) {
    /* q in [0, 15]: the pair sums of all 8 groups stay within int16 (8 * 2 * 15 * 127 < 32768) */
    __m256i p = _mm256_setzero_si256();
    for (int j = 0; j < 8; j++) {
        p = _mm256_add_epi16(p, _mm256_maddubs_epi16(W[j], _mm256_set1_epi32(load_i32(x + 4 * j))));
    }
    return _mm256_add_epi32(isum, _mm256_madd_epi16(p, _mm256_set1_epi16(1)));
}

typedef __m256i panel_off;
INLINE panel_off panel_rows(const uint8_t *w, size_t row_bytes, int r0, int nr, const uint8_t **rowp) {
    int32_t off[8];
    for (int r = 0; r < 8; r++) {
        int rr = r < nr ? r : 0;
        rowp[r] = w + (size_t) (r0 + rr) * row_bytes;
        off[r] = (int32_t) ((size_t) rr * row_bytes);
    }
    return _mm256_loadu_si256((const __m256i *) off);
}
#endif

/* ---------------------------------------------------------------------------------------------------------
 * Q4_K / Q5_K / Q6_K weights x q8_K activations.
 */

/* Sub-block c (0..7) of a K-quant block: its 32 unsigned quants in element order. */
INLINE __m256i kq_sub(const int type, const uint8_t *blk, int c) {
    if (type == R1K_Q6_K) {
        int n = c >> 2, which = c & 3;
        __m256i ql = _mm256_loadu_si256((const __m256i *) (blk + 64 * n + 32 * (which & 1)));
        __m256i qh = _mm256_loadu_si256((const __m256i *) (blk + 128 + 32 * n));
        __m256i lo = _mm256_and_si256(_mm256_srli_epi16(ql, 4 * (which >> 1)), _mm256_set1_epi8(0xF));
        __m256i hi = _mm256_and_si256(_mm256_slli_epi16(_mm256_srli_epi16(qh, 2 * which), 4), _mm256_set1_epi8(0x30));
        return _mm256_or_si256(lo, hi);
    }
    const uint8_t *qs = blk + (type == R1K_Q5_K ? 48 : 16) + 32 * (c >> 1);
    __m256i v = _mm256_and_si256(_mm256_srli_epi16(_mm256_loadu_si256((const __m256i *) qs), 4 * (c & 1)),
                                 _mm256_set1_epi8(0xF));
    if (type == R1K_Q5_K) {
        __m256i qh = _mm256_loadu_si256((const __m256i *) (blk + 16));
        /* bit c of each qh byte -> bit 4 */
        __m256i bit = _mm256_and_si256(qh, _mm256_set1_epi8((char) (1 << c)));
        bit = _mm256_min_epu8(bit, _mm256_set1_epi8(1));
        v = _mm256_or_si256(v, _mm256_slli_epi16(bit, 4));
    }
    return v;
}

/* Chunk c (0..7, 32 elements) of a K-quant block as unsigned quants, and the int16 scales of its 16 pairs. */
INLINE __m256i kq_chunk(const int type, const uint8_t *blk, int c, const uint8_t *sc8, __m256i *s16) {
    if (type == R1K_Q6_K) {
        const int8_t *sc = (const int8_t *) (blk + 192);
        *s16 = _mm256_set_m128i(_mm_set1_epi16(sc[2 * c + 1]), _mm_set1_epi16(sc[2 * c]));
    } else {
        *s16 = _mm256_set1_epi16(sc8[c]);
    }
    return kq_sub(type, blk, c);
}

/*
 * A K-quant block's header, decoded once per row and block (not once per tile): d and dm (see r1k.h), the
 * sub-block scales, and the 16 int16 factors of the correction against the activation's 16 block sums (each
 * min twice for Q4_K/Q5_K; 32 * scale for Q6_K, which fits int16), so the correction is one pmaddwd.
 */
typedef struct {
    float d, dm;
    int16_t f16[16];
    uint8_t sc8[8];
} kq_hdr;

/* The 8 6-bit scales (out[0..7]) and mins (out[8..15]) of a Q4_K/Q5_K block's 12 packed bytes, as
 * r1k_scale_min_k4 gives them, with a few 32-bit operations instead of 8 calls. */
INLINE void kq_scales_mins(const uint8_t *q, uint8_t out[16]) {
    uint32_t u[4];
    memcpy(u, q, 12);
    const uint32_t m6 = 0x3f3f3f3fu, m4 = 0x0f0f0f0fu, m2 = 0x03030303u;
    u[3] = ((u[2] >> 4) & m4) | (((u[1] >> 6) & m2) << 4); /* mins 4-7 */
    uint32_t mins03 = u[1] & m6;
    u[1] = (u[2] & m4) | (((u[0] >> 6) & m2) << 4);       /* scales 4-7 */
    u[2] = mins03;
    u[0] &= m6;                                            /* scales 0-3 */
    memcpy(out, u, 16);
}

INLINE void kq_header(const int type, const uint8_t *blk, kq_hdr *h) {
    if (type == R1K_Q6_K) {
        h->d = h->dm = fp16(blk + 208);
        const int8_t *sc = (const int8_t *) (blk + 192);
        for (int g = 0; g < 16; g++) h->f16[g] = (int16_t) (32 * sc[g]);
        return;
    }
    h->d = fp16(blk);
    h->dm = fp16(blk + 2);
    uint8_t sm[16];
    kq_scales_mins(blk + 4, sm);
    memcpy(h->sc8, sm, 8);
    /* each min twice, as int16, for the correction against the 16 block sums */
    __m128i m16 = _mm_cvtepu8_epi16(_mm_loadl_epi64((const __m128i *) (sm + 8)));
    _mm_storeu_si128((__m128i *) h->f16, _mm_unpacklo_epi16(m16, m16));
    _mm_storeu_si128((__m128i *) (h->f16 + 8), _mm_unpackhi_epi16(m16, m16));
}

INLINE int kq_corr(const kq_hdr *h, const int16_t *bs) {
    __m256i p = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *) bs), _mm256_loadu_si256((const __m256i *) h->f16));
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(p), _mm256_extracti128_si256(p, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return _mm_cvtsi128_si32(s);
}

/* hdr: [RT][nb] headers of the tile's rows (row r at hdr + r * hdr_stride) */

INLINE int hsum_epi32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return _mm_cvtsi128_si32(s);
}

/*
 * Decode (one activation row): RT rows rs apart (independent memory streams), each row's exact block dot formed in
 * 8 int lanes and reduced, then the two float chains of r1k.h in scalars. Headers: hdr[r * nb + k].
 */
INLINE void gemv_kquant_tile(const int type, const int RT, const uint8_t *w, size_t row_bytes, int cols,
                             const kq_hdr *hdr, const int8_t *xqs, const float *xd, const int16_t *xbs, float *out,
                             int rs) {
    const size_t bb = r1k_block_bytes(type);
    const int nb = cols / 256;
    float acc[4] = {0}, m[4] = {0};
    for (int k = 0; k < nb; k++) {
        const uint8_t *blk[4];
        const kq_hdr *h[4];
        __m256i lanes[4];
        for (int r = 0; r < RT; r++) {
            blk[r] = w + (size_t) r * rs * row_bytes + k * bb;
            h[r] = hdr + (size_t) r * nb + k;
            lanes[r] = _mm256_setzero_si256();
        }
        for (int c = 0; c < 8; c++) {
            __m256i xv = _mm256_loadu_si256((const __m256i *) (xqs + 256 * k + 32 * c));
            for (int r = 0; r < RT; r++) {
                __m256i s16;
                __m256i q = kq_chunk(type, blk[r], c, h[r]->sc8, &s16);
                lanes[r] = madd_acc(lanes[r], _mm256_maddubs_epi16(q, xv), s16);
            }
        }
        for (int r = 0; r < RT; r++) {
            acc[r] = __builtin_fmaf((float) hsum_epi32(lanes[r]), h[r]->d * xd[k], acc[r]);
            m[r] = __builtin_fmaf((float) kq_corr(h[r], xbs + 16 * k), h[r]->dm * xd[k], m[r]);
        }
    }
    for (int r = 0; r < RT; r++) out[(size_t) r * rs] = acc[r] - m[r];
}

/* Headers of 4 rows at a time: [4][nb] on the stack, nb <= KQ_MAX_BLOCKS. */
#define KQ_MAX_BLOCKS 128

INLINE void gemv_kquant(const int type, const uint8_t *w, size_t row_bytes, int cols, int row_from, int row_to,
                        const uint8_t *xq, float *out) {
    const int8_t *xqs = (const int8_t *) xq;
    const float *xd = r1k_q8_K_d(xq, 1, cols);
    const int16_t *xbs = r1k_q8_K_bsums(xq, 1, cols);
    const int nb = cols / 256;
    const size_t bb = r1k_block_bytes(type);
    kq_hdr hdr[4 * KQ_MAX_BLOCKS];
    /* 4 rows a quarter of the range apart, then the rest one by one */
    int q = (row_to - row_from) / 4;
    for (int g = 0; g < q; g++) {
        int r = row_from + g;
        for (int i = 0; i < 4; i++)
            for (int k = 0; k < nb; k++) kq_header(type, w + (size_t) (r + i * q) * row_bytes + k * bb, &hdr[(size_t) i * nb + k]);
        gemv_kquant_tile(type, 4, w + (size_t) r * row_bytes, row_bytes, cols, hdr, xqs, xd, xbs, out + r, q);
    }
    for (int r = row_from + 4 * q; r < row_to; r++) {
        for (int k = 0; k < nb; k++) kq_header(type, w + (size_t) r * row_bytes + k * bb, &hdr[k]);
        gemv_kquant_tile(type, 1, w + (size_t) r * row_bytes, row_bytes, cols, hdr, xqs, xd, xbs, out + r, 1);
    }
}

#ifdef R1K_VNNI
/*
 * Decode on AVX-512 (one activation row): a row's super-block is 4 zmm of unsigned quants, 64 elements each;
 * vpmaddubsw against the activation gives int16 pair sums, vpdpwssd multiplies them by their sub-block (Q6_K:
 * 16-element group) scales and adds them into int32 lanes, so a super-block costs 8 of those per row. 4 rows
 * (a quarter of the range apart: 4 memory streams) are reduced together, dots and corrections in one tree, and
 * their two float chains advance as the 4 lanes of an xmm: the same operations, in the same order, as r1k.h's
 * scalar chains.
 *
 * Quant vector order. Q4_K/Q5_K: 64 bytes of qs hold sub-blocks 2j and 2j+1 of two 32-byte groups, so their low
 * nibbles are [sub 0 | sub 2] and [sub 4 | sub 6], their high nibbles [sub 1 | sub 3] and [sub 5 | sub 7]; the
 * activation is copied once per call into that order. Q6_K: element order (ql low/high nibbles of 64 bytes and
 * the matching 2-bit fields of 32 qh bytes).
 */
INLINE __m512i q4_lo(__m512i q) {
    return _mm512_and_si512(q, _mm512_set1_epi8(0xF));
}
INLINE __m512i q4_hi(__m512i q) {
    return _mm512_and_si512(_mm512_srli_epi16(q, 4), _mm512_set1_epi8(0xF));
}

/* Q5_K: adds 16 to the bytes whose bit (1 << c_lo in the low half, 1 << c_hi in the high half) is set in qh */
INLINE __m512i q5_bit(__m512i v, __m512i qh2, int c_lo, int c_hi) {
    __m512i bits = _mm512_inserti64x4(_mm512_set1_epi8((char) (1 << c_lo)), _mm256_set1_epi8((char) (1 << c_hi)), 1);
    return _mm512_mask_add_epi8(v, _mm512_test_epi8_mask(qh2, bits), v, _mm512_set1_epi8(16));
}

/* The 4 int16 scale vectors of a super-block, from its 8 (Q4_K/Q5_K) or 16 (Q6_K) scales as int16 words. */
INLINE void kq_scale_vectors(const int type, __m512i s16, __m512i *S) {
    if (type == R1K_Q6_K) {
        /* vector v covers groups 4v..4v+3, one per 128-bit lane */
        for (int v = 0; v < 4; v++) {
            __m512i idx = _mm512_inserti64x4(
                _mm512_castsi256_si512(_mm256_set_m128i(_mm_set1_epi16((short) (4 * v + 1)), _mm_set1_epi16((short) (4 * v)))),
                _mm256_set_m128i(_mm_set1_epi16((short) (4 * v + 3)), _mm_set1_epi16((short) (4 * v + 2))), 1);
            S[v] = _mm512_permutexvar_epi16(idx, s16);
        }
    } else {
        /* vectors [0|2], [1|3], [4|6], [5|7] */
        static const short lo[4] = {0, 1, 4, 5};
        for (int v = 0; v < 4; v++) {
            __m512i idx = _mm512_inserti64x4(_mm512_set1_epi16(lo[v]), _mm256_set1_epi16((short) (lo[v] + 2)), 1);
            S[v] = _mm512_permutexvar_epi16(idx, s16);
        }
    }
}

/* One row's super-block: exact dot in 16 int32 lanes, correction in 8 (as r1k.h defines both). */
INLINE void kq512_block(const int type, const uint8_t *blk, const __m512i *X, const int16_t *bs, __m512i *dot,
                        __m256i *corr) {
    __m512i V[4], S[4];
    __m256i f16;
    if (type == R1K_Q6_K) {
        __m512i s16 = _mm512_zextsi256_si512(_mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *) (blk + 192))));
        kq_scale_vectors(type, s16, S);
        f16 = _mm256_slli_epi16(_mm512_castsi512_si256(s16), 5);
        for (int n = 0; n < 2; n++) {
            __m512i ql = _mm512_loadu_si512((const void *) (blk + 64 * n));
            __m512i qh = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *) (blk + 128 + 32 * n)));
            const __m512i m30 = _mm512_set1_epi8(0x30);
            __m512i ha = _mm512_and_si512(_mm512_sllv_epi16(qh, _mm512_inserti64x4(_mm512_set1_epi16(4), _mm256_set1_epi16(2), 1)), m30);
            __m512i hb = _mm512_and_si512(_mm512_srlv_epi16(qh, _mm512_inserti64x4(_mm512_set1_epi16(0), _mm256_set1_epi16(2), 1)), m30);
            V[2 * n] = _mm512_or_si512(q4_lo(ql), ha);
            V[2 * n + 1] = _mm512_or_si512(q4_hi(ql), hb);
        }
    } else {
        uint8_t sm[16];
        kq_scales_mins(blk + 4, sm);
        __m128i smv = _mm_loadu_si128((const __m128i *) sm);
        kq_scale_vectors(type, _mm512_zextsi256_si512(_mm256_cvtepu8_epi16(smv)), S);
        /* each min twice, against the 16 block sums */
        f16 = _mm256_cvtepu8_epi16(_mm_unpackhi_epi8(smv, smv));
        const uint8_t *qs = blk + (type == R1K_Q5_K ? 48 : 16);
        __m512i q0 = _mm512_loadu_si512((const void *) qs), q1 = _mm512_loadu_si512((const void *) (qs + 64));
        V[0] = q4_lo(q0);
        V[1] = q4_hi(q0);
        V[2] = q4_lo(q1);
        V[3] = q4_hi(q1);
        if (type == R1K_Q5_K) {
            __m512i qh = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *) (blk + 16)));
            V[0] = q5_bit(V[0], qh, 0, 2);
            V[1] = q5_bit(V[1], qh, 1, 3);
            V[2] = q5_bit(V[2], qh, 4, 6);
            V[3] = q5_bit(V[3], qh, 5, 7);
        }
    }
    __m512i a = _mm512_dpwssd_epi32(_mm512_setzero_si512(), _mm512_maddubs_epi16(V[0], X[0]), S[0]);
    __m512i b = _mm512_dpwssd_epi32(_mm512_setzero_si512(), _mm512_maddubs_epi16(V[1], X[1]), S[1]);
    a = _mm512_dpwssd_epi32(a, _mm512_maddubs_epi16(V[2], X[2]), S[2]);
    b = _mm512_dpwssd_epi32(b, _mm512_maddubs_epi16(V[3], X[3]), S[3]);
    *dot = _mm512_add_epi32(a, b);
    *corr = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *) bs), f16);
}

/* [sum(v0) .. sum(v7)] of 8 vectors of 8 int32 lanes */
INLINE __m256i hsum8_epi32(const __m256i *v) {
    __m256i a01 = _mm256_add_epi32(_mm256_unpacklo_epi32(v[0], v[1]), _mm256_unpackhi_epi32(v[0], v[1]));
    __m256i a23 = _mm256_add_epi32(_mm256_unpacklo_epi32(v[2], v[3]), _mm256_unpackhi_epi32(v[2], v[3]));
    __m256i a45 = _mm256_add_epi32(_mm256_unpacklo_epi32(v[4], v[5]), _mm256_unpackhi_epi32(v[4], v[5]));
    __m256i a67 = _mm256_add_epi32(_mm256_unpacklo_epi32(v[6], v[7]), _mm256_unpackhi_epi32(v[6], v[7]));
    __m256i b03 = _mm256_add_epi32(_mm256_unpacklo_epi64(a01, a23), _mm256_unpackhi_epi64(a01, a23));
    __m256i b47 = _mm256_add_epi32(_mm256_unpacklo_epi64(a45, a67), _mm256_unpackhi_epi64(a45, a67));
    return _mm256_add_epi32(_mm256_permute2x128_si256(b03, b47, 0x20), _mm256_permute2x128_si256(b03, b47, 0x31));
}

/* d and dm of 4 rows' super-blocks (see r1k.h) */
INLINE void kq_scales4(const int type, const uint8_t *const *blk, __m128 *d, __m128 *dm) {
    if (type == R1K_Q6_K) {
        *d = *dm = _mm_cvtph_ps(_mm_setr_epi16((short) r1k_load_u16(blk[0] + 208), (short) r1k_load_u16(blk[1] + 208),
                                               (short) r1k_load_u16(blk[2] + 208), (short) r1k_load_u16(blk[3] + 208),
                                               0, 0, 0, 0));
        return;
    }
    uint32_t u[4];
    for (int r = 0; r < 4; r++) memcpy(&u[r], blk[r], 4);
    /* [d0 dm0 d1 dm1 | d2 dm2 d3 dm3] */
    __m256 f = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *) u));
    __m128 lo = _mm256_castps256_ps128(f), hi = _mm256_extractf128_ps(f, 1);
    *d = _mm_shuffle_ps(lo, hi, 0x88);
    *dm = _mm_shuffle_ps(lo, hi, 0xdd);
}

/* Software prefetch distance per row stream: decode reads the weights from memory once per step, and 4 streams
 * at this distance measured 1.3x (Q4_K [8960][1536], cycling 140 copies: 0.65 -> 0.49 ms; 1,536-6,144 alike). */
#define KQ_PREFETCH 2048

/* rows[0..3]: 4 weight rows; results of the first n of them into out[0], out[rs], ... */
INLINE void gemv512_rows4(const int type, const uint8_t *const *rows, int nb, const int8_t *xo, const float *xd,
                          const int16_t *xbs, float *out, int rs, int n) {
    const size_t bb = r1k_block_bytes(type);
    __m128 acc = _mm_setzero_ps(), m = _mm_setzero_ps();
    for (int k = 0; k < nb; k++) {
        __m512i X[4];
        for (int v = 0; v < 4; v++) X[v] = _mm512_loadu_si512((const void *) (xo + 256 * k + 64 * v));
        const uint8_t *blk[4];
        __m512i dot[4];
        __m256i red[8];
        for (int r = 0; r < 4; r++) {
            blk[r] = rows[r] + (size_t) k * bb;
            for (size_t o = 0; o < bb; o += 64) _mm_prefetch((const char *) blk[r] + KQ_PREFETCH + o, _MM_HINT_T0);
            kq512_block(type, blk[r], X, xbs + 16 * k, &dot[r], &red[4 + r]);
            red[r] = _mm256_add_epi32(_mm512_castsi512_si256(dot[r]), _mm512_extracti64x4_epi64(dot[r], 1));
        }
        __m256 s = _mm256_cvtepi32_ps(hsum8_epi32(red));
        __m128 d, dm, dx = _mm_set1_ps(xd[k]);
        kq_scales4(type, blk, &d, &dm);
        acc = _mm_fmadd_ps(_mm256_castps256_ps128(s), _mm_mul_ps(d, dx), acc);
        m = _mm_fmadd_ps(_mm256_extractf128_ps(s, 1), _mm_mul_ps(dm, dx), m);
    }
    float res[4];
    _mm_storeu_ps(res, _mm_sub_ps(acc, m));
    for (int r = 0; r < n; r++) out[(size_t) r * rs] = res[r];
}

/* The activation in the order of the quant vectors (see above); Q6_K reads it as it is. */
#define KQ_X_MAX (256 * KQ_MAX_BLOCKS)

INLINE void gemv_kquant512(const int type, const uint8_t *w, size_t row_bytes, int cols, int row_from, int row_to,
                           const uint8_t *xq, float *out) {
    const int8_t *xqs = (const int8_t *) xq;
    const float *xd = r1k_q8_K_d(xq, 1, cols);
    const int16_t *xbs = r1k_q8_K_bsums(xq, 1, cols);
    const int nb = cols / 256;
    int8_t xo_buf[KQ_X_MAX] __attribute__((aligned(64)));
    const int8_t *xo = xqs;
    if (type != R1K_Q6_K) {
        static const int order[8] = {0, 2, 1, 3, 4, 6, 5, 7};
        for (int k = 0; k < nb; k++)
            for (int i = 0; i < 8; i++) memcpy(xo_buf + 256 * k + 32 * i, xqs + 256 * k + 32 * order[i], 32);
        xo = xo_buf;
    }
    int q = (row_to - row_from) / 4;
    for (int g = 0; g < q; g++) {
        int r = row_from + g;
        const uint8_t *rows[4];
        for (int i = 0; i < 4; i++) rows[i] = w + (size_t) (r + i * q) * row_bytes;
        gemv512_rows4(type, rows, nb, xo, xd, xbs, out + r, q, 4);
    }
    for (int r = row_from + 4 * q; r < row_to; r++) {
        const uint8_t *rows[4] = {w + (size_t) r * row_bytes, w + (size_t) r * row_bytes, w + (size_t) r * row_bytes,
                                  w + (size_t) r * row_bytes};
        gemv512_rows4(type, rows, nb, xo, xd, xbs, out + r, 1, 1);
    }
}
#endif

/* A panel's K-quant headers for one super-block, by row: d and dm (see r1k.h), integer scales and mins. */
typedef struct {
    float d[PR], dm[PR];
    int32_t sc[16][PR]; /* Q4_K/Q5_K: the 8 sub-block scales; Q6_K: the 16 group scales */
    /* the correction's factors in int16 pairs: Q4_K/Q5_K (min 2i, min 2i+1) against the 32-element sums of the
     * activation, i < 4; Q6_K (32 scale 2i, 32 scale 2i+1) against its 16-element sums, i < 8 */
    uint32_t cp[8][PR];
} kq_panel_hdr;

INLINE uint32_t pair16(int lo, int hi) {
    return (uint32_t) (uint16_t) lo | (uint32_t) (uint16_t) hi << 16;
}

INLINE void kq_panel_header(const int type, const uint8_t *const *rowp, size_t koff, kq_panel_hdr *h) {
    for (int r = 0; r < PR; r++) {
        const uint8_t *blk = rowp[r] + koff;
        if (type == R1K_Q6_K) {
            h->d[r] = h->dm[r] = fp16(blk + 208);
            const int8_t *sc = (const int8_t *) (blk + 192);
            for (int g = 0; g < 16; g++) h->sc[g][r] = sc[g];
            for (int i = 0; i < 8; i++) h->cp[i][r] = pair16(32 * sc[2 * i], 32 * sc[2 * i + 1]);
        } else {
            h->d[r] = fp16(blk);
            h->dm[r] = fp16(blk + 2);
            uint8_t sm[16];
            kq_scales_mins(blk + 4, sm);
            for (int c = 0; c < 8; c++) h->sc[c][r] = sm[c];
            for (int i = 0; i < 4; i++) h->cp[i][r] = pair16(sm[8 + 2 * i], sm[9 + 2 * i]);
        }
    }
}

#ifdef R1K_VNNI
typedef __m512i vi;
typedef __m512 vf;
#define VI_ZERO _mm512_setzero_si512()
#define VI_SET1 _mm512_set1_epi32
#define VI_LOAD(p) _mm512_loadu_si512((const void *) (p))
#define VI_ADD _mm512_add_epi32
#define VI_MUL _mm512_mullo_epi32
#define VF_SET1 _mm512_set1_ps
#define VF_LOAD _mm512_loadu_ps
#define VF_STORE _mm512_storeu_ps
#define VF_CVT _mm512_cvtepi32_ps
#define VF_MUL _mm512_mul_ps
#define VF_FMA _mm512_fmadd_ps
#define VI_DPWSSD _mm512_dpwssd_epi32
#define VI_AND _mm512_and_si512
#define VI_OR _mm512_or_si512
#define VI_SRLI16 _mm512_srli_epi16
#define VI_SLLI16 _mm512_slli_epi16
#define VI_MINU8 _mm512_min_epu8
#define VI_SET1_8(b) _mm512_set1_epi8((char) (b))
/* acc + sum over each lane's 4 bytes of w (unsigned) times the 4 bytes of x4 (signed) */
INLINE vi vdot_u8s8(vi acc, vi w, int32_t x4) {
    return _mm512_dpbusd_epi32(acc, w, _mm512_set1_epi32(x4));
}
#else
typedef __m256i vi;
typedef __m256 vf;
#define VI_ZERO _mm256_setzero_si256()
#define VI_SET1 _mm256_set1_epi32
#define VI_LOAD(p) _mm256_loadu_si256((const __m256i *) (p))
#define VI_ADD _mm256_add_epi32
#define VI_MUL _mm256_mullo_epi32
#define VF_SET1 _mm256_set1_ps
#define VF_LOAD _mm256_loadu_ps
#define VF_STORE _mm256_storeu_ps
#define VF_CVT _mm256_cvtepi32_ps
#define VF_MUL _mm256_mul_ps
#define VF_FMA _mm256_fmadd_ps
#define VI_DPWSSD(acc, a, b) _mm256_add_epi32((acc), _mm256_madd_epi16((a), (b)))
#define VI_AND _mm256_and_si256
#define VI_OR _mm256_or_si256
#define VI_SRLI16 _mm256_srli_epi16
#define VI_SLLI16 _mm256_slli_epi16
#define VI_MINU8 _mm256_min_epu8
#define VI_SET1_8(b) _mm256_set1_epi8((char) (b))
/* pairs of w (<= 63) times x (|x| <= 127) fit int16 */
INLINE vi vdot_u8s8(vi acc, vi w, int32_t x4) {
    return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(w, _mm256_set1_epi32(x4)), _mm256_set1_epi16(1)));
}
#endif

/*
 * Super-block k of a panel against ST activation rows (xqs, xd, xbs at the tile's first row): the exact dot and
 * correction of every (row, activation row) pair, then one step of both float chains in acc and mac ([ST][PR]).
 */
/* 32 bytes at byte off of each panel row, transposed (W[j], lane r = bytes 4j..4j+3 of row r's 32). */
INLINE void panel_bytes(const uint8_t *const *rowp, size_t off, vi W[8]) {
    __m256i in[PR];
    for (int r = 0; r < PR; r++) in[r] = _mm256_loadu_si256((const __m256i *) (rowp[r] + off));
    panel_transpose(in, W);
}

/*
 * The 8 sub-blocks of super-block koff of the panel's rows as unsigned quants, transposed: pk[8c + j], lane r =
 * quants 4j..4j+3 of row r's sub-block c (kq_sub's bytes). The packed bytes are transposed first and unpacked in
 * the vectors: moving whole dwords between lanes commutes with kq_sub's per-byte masks and 16-bit shifts, and one
 * transpose of 32 packed bytes serves two (Q4_K/Q5_K) or four (Q6_K, with its 2-bit plane) sub-blocks.
 */
INLINE void kq_panel_pack(const int type, const uint8_t *const *rowp, size_t koff, vi *pk) {
    const vi m4 = VI_SET1_8(0xF);
    if (type == R1K_Q6_K) {
        for (int n = 0; n < 2; n++) {
            vi l0[8], l1[8], h[8];
            panel_bytes(rowp, koff + 64 * n, l0);
            panel_bytes(rowp, koff + 64 * n + 32, l1);
            panel_bytes(rowp, koff + 128 + 32 * n, h);
            for (int which = 0; which < 4; which++) {
                const vi *l = (which & 1) ? l1 : l0;
                vi *W = pk + 8 * (4 * n + which);
                for (int j = 0; j < 8; j++) {
                    vi lo = VI_AND(VI_SRLI16(l[j], 4 * (which >> 1)), m4);
                    vi hi = VI_AND(VI_SLLI16(VI_SRLI16(h[j], 2 * which), 4), VI_SET1_8(0x30));
                    W[j] = VI_OR(lo, hi);
                }
            }
        }
        return;
    }
    vi qh[8];
    if (type == R1K_Q5_K) panel_bytes(rowp, koff + 16, qh);
    const size_t qs = koff + (type == R1K_Q5_K ? 48 : 16);
    for (int i = 0; i < 4; i++) {
        vi q[8];
        panel_bytes(rowp, qs + 32 * (size_t) i, q);
        for (int half = 0; half < 2; half++) {
            const int c = 2 * i + half;
            vi *W = pk + 8 * c;
            for (int j = 0; j < 8; j++) {
                vi v = VI_AND(VI_SRLI16(q[j], 4 * half), m4);
                if (type == R1K_Q5_K) {
                    /* bit c of each qh byte -> bit 4 */
                    vi bit = VI_MINU8(VI_AND(qh[j], VI_SET1_8(1 << c)), VI_SET1_8(1));
                    v = VI_OR(v, VI_SLLI16(bit, 4));
                }
                W[j] = v;
            }
        }
    }
}

/* pk: the super-block's 8 sub-blocks transposed (kq_panel_pack, 8 x 8 vectors) */
INLINE void kq_tile(const int type, const int ST, const kq_panel_hdr *h, int cols, int k, const int8_t *xqs,
                    const float *xd, const int16_t *xbs, float *acc, float *mac, const vi *pk) {
    const int nb = cols / 256;
    vi isum[PST];
    for (int s = 0; s < ST; s++) isum[s] = VI_ZERO;
    for (int c = 0; c < 8; c++) {
        const vi *W = pk + 8 * c;
        for (int s = 0; s < ST; s++) {
            const int8_t *x = xqs + (size_t) s * cols + 256 * k + 32 * c;
            if (type == R1K_Q6_K) {
                vi a = VI_ZERO, b = VI_ZERO;
                for (int j = 0; j < 4; j++) a = vdot_u8s8(a, W[j], load_i32(x + 4 * j));
                for (int j = 4; j < 8; j++) b = vdot_u8s8(b, W[j], load_i32(x + 4 * j));
                isum[s] = VI_ADD(isum[s], VI_ADD(VI_MUL(a, VI_LOAD(h->sc[2 * c])), VI_MUL(b, VI_LOAD(h->sc[2 * c + 1]))));
            } else {
                vi a = VI_ZERO;
                for (int j = 0; j < 8; j++) a = vdot_u8s8(a, W[j], load_i32(x + 4 * j));
                isum[s] = VI_ADD(isum[s], VI_MUL(a, VI_LOAD(h->sc[c])));
            }
        }
    }
    vf d = VF_LOAD(h->d), dm = VF_LOAD(h->dm);
    for (int s = 0; s < ST; s++) {
        const int16_t *bs = xbs + (size_t) s * (cols / 16) + 16 * k;
        vi corr = VI_ZERO;
        if (type == R1K_Q6_K) {
            for (int i = 0; i < 8; i++) corr = VI_DPWSSD(corr, VI_LOAD(h->cp[i]), VI_SET1(load_i32((const int8_t *) (bs + 2 * i))));
        } else {
            /* the 32-element sums in int16 pairs (each at most 32 x 128 in magnitude) */
            __m128i s32 = _mm_packs_epi32(_mm_madd_epi16(_mm_loadu_si128((const __m128i *) bs), _mm_set1_epi16(1)),
                                          _mm_madd_epi16(_mm_loadu_si128((const __m128i *) (bs + 8)), _mm_set1_epi16(1)));
            int32_t p[4];
            _mm_storeu_si128((__m128i *) p, s32);
            for (int i = 0; i < 4; i++) corr = VI_DPWSSD(corr, VI_LOAD(h->cp[i]), VI_SET1(p[i]));
        }
        vf dx = VF_SET1(xd[(size_t) s * nb + k]);
        VF_STORE(acc + (size_t) s * PR, VF_FMA(VF_CVT(isum[s]), VF_MUL(d, dx), VF_LOAD(acc + (size_t) s * PR)));
        VF_STORE(mac + (size_t) s * PR, VF_FMA(VF_CVT(corr), VF_MUL(dm, dx), VF_LOAD(mac + (size_t) s * PR)));
    }
}

#ifndef KQ_PREFETCH
#define KQ_PREFETCH 2048 /* bytes ahead per row stream (the AVX-512 GEMV's figure) */
#endif

/* Activation rows per chunk of a K-quant product: their running sums stay on the stack ([2][KQ_CHUNK][PR]). */
#define KQ_CHUNK 64

INLINE void matmul_kquant(const int type, const uint8_t *w, size_t row_bytes, int cols, int row_from, int row_to,
                          const uint8_t *xq, int batch, float *out, int out_stride) {
    const int8_t *xqs = (const int8_t *) xq;
    const float *xd = r1k_q8_K_d(xq, batch, cols);
    const int16_t *xbs = r1k_q8_K_bsums(xq, batch, cols);
    const int nb = cols / 256;
    const size_t bb = r1k_block_bytes(type);
    if (batch == 1 && nb <= KQ_MAX_BLOCKS) {
#ifdef R1K_VNNI
        gemv_kquant512(type, w, row_bytes, cols, row_from, row_to, xq, out);
#else
        gemv_kquant(type, w, row_bytes, cols, row_from, row_to, xq, out);
#endif
        return;
    }
    float acc[KQ_CHUNK * PR], mac[KQ_CHUNK * PR];
    vi pk[64];
    kq_panel_hdr h;
    int chunk = X_CHUNK_BYTES / cols;
    chunk = chunk > KQ_CHUNK ? KQ_CHUNK : chunk < 1 ? 1 : chunk;
    for (int b0 = 0; b0 < batch; b0 += chunk) {
        int b1 = batch - b0 < chunk ? batch : b0 + chunk;
        for (int r0 = row_from; r0 < row_to; r0 += PR) {
            int nr = row_to - r0 < PR ? row_to - r0 : PR;
            const uint8_t *rowp[PR];
            (void) panel_rows(w, row_bytes, r0, nr, rowp);
            memset(acc, 0, sizeof(float) * (size_t) (b1 - b0) * PR);
            memset(mac, 0, sizeof(float) * (size_t) (b1 - b0) * PR);
            for (int k = 0; k < nb; k++) {
                size_t koff = (size_t) k * bb;
                kq_panel_header(type, rowp, koff, &h);
                /* the super-block transposed once for every tile of the chunk; the same super-block of the next
                 * panel's rows prefetched (a row is shorter than the GEMV's prefetch distance) */
                if (r0 + 2 * PR <= row_to)
                    for (int r = 0; r < PR; r++)
                        for (size_t o = 0; o < bb; o += 64)
                            _mm_prefetch((const char *) rowp[r] + (size_t) PR * row_bytes + koff + o, _MM_HINT_T0);
                kq_panel_pack(type, rowp, koff, pk);
                int s = b0;
#define KQ(ST) kq_tile(type, ST, &h, cols, k, xqs + (size_t) s * cols, xd + (size_t) s * nb, \
                       xbs + (size_t) s * (cols / 16), acc + (size_t) (s - b0) * PR, mac + (size_t) (s - b0) * PR, pk)
                for (; s + PST <= b1; s += PST) KQ(PST);
#if PST > 4
                if (s + 4 <= b1) { KQ(4); s += 4; }
#endif
                if (s + 2 <= b1) { KQ(2); s += 2; }
                if (s < b1) { KQ(1); s++; }
#undef KQ
            }
            for (int s = b0; s < b1; s++) {
                const float *a = acc + (size_t) (s - b0) * PR, *m = mac + (size_t) (s - b0) * PR;
                for (int r = 0; r < nr; r++) out[(size_t) s * out_stride + r0 + r] = a[r] - m[r];
            }
        }
    }
}

/* ---------------------------------------------------------------------------------------------------------
 * Q8_0 / Q4_0 driver.
 */

/* Block sums of the activation rows of one chunk: chunk * (cols / 32) ints on the stack. */
#define SX_MAX 8192

#ifdef R1K_VNNI
#define PANEL_DOT(type, i0, W, x) panel_dot(i0, W, x)
INLINE void panel_store(float *out, __m512 acc, int nr) {
    _mm512_mask_storeu_ps(out, (__mmask16) ((1u << nr) - 1), acc);
}
#else
#define PANEL_DOT(type, i0, W, x) ((type) == R1K_Q8_0 ? panel_dot_q8(i0, W, x) : panel_dot_q4(i0, W, x))
INLINE void panel_store(float *out, __m256 acc, int nr) {
    float tmp[8];
    _mm256_storeu_ps(tmp, acc);
    memcpy(out, tmp, sizeof(float) * (size_t) nr);
}
#endif

/* Vectors per packed block: the 8 transposed groups, then the 16 (8) row scales as floats. */
#define PACKED 9

/* Every block of a panel transposed once into pk (nb * PACKED vectors), for batches of more than one tile. */
INLINE void panel_pack(const int type, const uint8_t *const *rowp, panel_off rowoff, const uint8_t *w0, int nb, size_t ahead,
                       vi *pk) {
    const size_t bb = type == R1K_Q8_0 ? 34 : 18;
    for (int k = 0; k < nb; k++) {
        panel_block(type, rowp, (size_t) k * bb, ahead, pk + (size_t) PACKED * k);
        VF_STORE((float *) (pk + (size_t) PACKED * k + 8), panel_scales(w0 + (size_t) k * bb, rowoff));
    }
}

/* One tile of ST activation rows against a panel, each block transposed here (batches of one tile). */
INLINE void panel_tile(const int type, const int ST, const uint8_t *const *rowp, panel_off rowoff, const uint8_t *w0, size_t ahead,
                       int cols, const int8_t *xqs, const float *xd, const int32_t *sx, float *out, int out_stride,
                       int nr) {
    const size_t bb = type == R1K_Q8_0 ? 34 : 18;
    const int nb = cols / 32;
    vf acc[PST];
    for (int s = 0; s < ST; s++) acc[s] = VF_CVT(VI_ZERO);
    for (int k = 0; k < nb; k++) {
        vi W[8];
        panel_block(type, rowp, (size_t) k * bb, ahead, W);
        vf dw = panel_scales(w0 + (size_t) k * bb, rowoff);
        for (int s = 0; s < ST; s++) {
            vi isum = PANEL_DOT(type, VI_SET1(sx[(size_t) s * nb + k]), W, xqs + (size_t) s * cols + 32 * k);
            vf sc = VF_MUL(dw, VF_SET1(xd[(size_t) s * nb + k]));
            acc[s] = VF_FMA(VF_CVT(isum), sc, acc[s]);
        }
    }
    for (int s = 0; s < ST; s++) panel_store(out + (size_t) s * out_stride, acc[s], nr);
}

INLINE void panel_tile_packed(const int type, const int ST, const vi *pk, int cols, const int8_t *xqs,
                              const float *xd, const int32_t *sx, float *out, int out_stride, int nr) {
    const int nb = cols / 32;
    vf acc[PST];
    for (int s = 0; s < ST; s++) acc[s] = VF_CVT(VI_ZERO);
    for (int k = 0; k < nb; k++) {
        const vi *W = pk + (size_t) PACKED * k;
        vf dw = VF_LOAD((const float *) (W + 8));
        for (int s = 0; s < ST; s++) {
            vi isum = PANEL_DOT(type, VI_SET1(sx[(size_t) s * nb + k]), W, xqs + (size_t) s * cols + 32 * k);
            vf sc = VF_MUL(dw, VF_SET1(xd[(size_t) s * nb + k]));
            acc[s] = VF_FMA(VF_CVT(isum), sc, acc[s]);
        }
    }
    for (int s = 0; s < ST; s++) panel_store(out + (size_t) s * out_stride, acc[s], nr);
}

INLINE void matmul_signed(const int type, const uint8_t *w, size_t row_bytes, int cols, int row_from, int row_to,
                          const uint8_t *xq, int batch, float *out, int out_stride) {
    const int8_t *xqs = (const int8_t *) xq;
    const float *xd = r1k_q8_0_d(xq, batch, cols);
    const int nb = cols / 32;
    const int off = signed_offset(type);
    int32_t sx[SX_MAX];
    int chunk = SX_MAX / nb < X_CHUNK_BYTES / cols ? SX_MAX / nb : X_CHUNK_BYTES / cols;
    if (chunk < 1) {
        /* rows of more than SX_MAX blocks (over 262144 columns; no model has them): the reference */
        r1k_kernels_scalar()->matmul(type, w, row_bytes, cols, row_from, row_to, xq, batch, out, out_stride);
        return;
    }
    /* more than one tile of activation rows: transpose each panel once into a scratch (L1/L2 sized: 16 rows x
     * cols bytes plus scales) instead of once per tile; without memory the per-tile transposes do the same sums */
    vi *pk = batch > PST ? (vi *) aligned_alloc(64, (sizeof(vi) * PACKED * (size_t) nb + 63) / 64 * 64) : NULL;
    for (int b0 = 0; b0 < batch; b0 += chunk) {
        int b1 = batch - b0 < chunk ? batch : b0 + chunk;
        for (int s = b0; s < b1; s++) {
            for (int k = 0; k < nb; k++) {
                int sum = 0;
                const int8_t *x = xqs + (size_t) s * cols + 32 * k;
                for (int j = 0; j < 32; j++) sum += x[j];
                sx[(size_t) (s - b0) * nb + k] = -off * sum;
            }
        }
        for (int r0 = row_from; r0 < row_to; r0 += PR) {
            int nr = row_to - r0 < PR ? row_to - r0 : PR;
            const uint8_t *rowp[PR];
            const uint8_t *w0 = w + (size_t) r0 * row_bytes;
            panel_off rowoff = panel_rows(w, row_bytes, r0, nr, rowp);
            const size_t ahead = r0 + 2 * PR <= row_to ? (size_t) PR * row_bytes : 0;
            int s = b0;
            if (pk != NULL) {
                panel_pack(type, rowp, rowoff, w0, nb, ahead, pk);
#define PANEL(ST) panel_tile_packed(type, ST, pk, cols, xqs + (size_t) s * cols, xd + (size_t) s * nb, \
                                    sx + (size_t) (s - b0) * nb, out + (size_t) s * out_stride + r0, out_stride, nr)
                for (; s + PST <= b1; s += PST) PANEL(PST);
#if PST > 4
                if (s + 4 <= b1) { PANEL(4); s += 4; }
#endif
                if (s + 2 <= b1) { PANEL(2); s += 2; }
                if (s < b1) { PANEL(1); s++; }
#undef PANEL
                continue;
            }
#define PANEL(ST) panel_tile(type, ST, rowp, rowoff, w0, ahead, cols, xqs + (size_t) s * cols, xd + (size_t) s * nb, \
                             sx + (size_t) (s - b0) * nb, out + (size_t) s * out_stride + r0, out_stride, nr)
            for (; s + PST <= b1; s += PST) PANEL(PST);
#if PST > 4
            if (s + 4 <= b1) { PANEL(4); s += 4; }
#endif
            if (s + 2 <= b1) { PANEL(2); s += 2; }
            if (s < b1) { PANEL(1); s++; }
#undef PANEL
        }
    }
    free(pk);
}

#ifdef R1K_VNNI
/*
 * Batch-1 Q4_0 (AVX-512): 4 rows a quarter of the range apart (4 memory streams, as gemv_kquant512) instead of a
 * 16-row panel (16 streams). Two blocks of a row per zmm (low nibbles, high nibbles, in element order) against 64
 * activation bytes; the 4 rows' 16-lane block sums reduced in one integer tree to the exact dots of both blocks,
 * plus -8 times the activation block sum; the float chains advance as xmm lanes, one FMA per block in order: the
 * arithmetic of r1k.h, bit for bit.
 */
INLINE void gemv_q4_0_rows4(const uint8_t *const rows[4], int nb, const int8_t *xqs, const float *xd,
                            const int32_t *sx, float *out, int rs, int nr) {
    __m128 acc = _mm_setzero_ps();
    const __m512i pick = _mm512_setr_epi64(0, 1, 8, 9, 2, 3, 10, 11); /* [lo k | hi k | lo k+1 | hi k+1] */
    const __m256i m4 = _mm256_set1_epi8(0xF);
    for (int k = 0; k < nb; k += 2) {
        const int two = k + 1 < nb;
        const __m512i xv = two ? _mm512_loadu_si512((const void *) (xqs + 32 * k))
                               : _mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *) (xqs + 32 * k)));
        __m512i v[4];
        for (int r = 0; r < 4; r++) {
            const uint8_t *b = rows[r] + (size_t) 18 * k;
            _mm_prefetch((const char *) (b + R1K_PREFETCH), _MM_HINT_T0);
            __m128i n0 = _mm_loadu_si128((const __m128i *) (b + 2));
            __m128i n1 = two ? _mm_loadu_si128((const __m128i *) (b + 20)) : _mm_setzero_si128();
            __m256i n = _mm256_set_m128i(n1, n0);
            __m256i lo = _mm256_and_si256(n, m4), hi = _mm256_and_si256(_mm256_srli_epi16(n, 4), m4);
            __m512i wv = _mm512_permutex2var_epi64(_mm512_castsi256_si512(lo), pick, _mm512_castsi256_si512(hi));
            v[r] = _mm512_dpbusd_epi32(_mm512_setzero_si512(), wv, xv);
        }
        /* per 128-bit lane L: rows 0-3's sums over its 4 dwords; blocks: k = L0 + L1, k + 1 = L2 + L3 */
        __m512i a = _mm512_add_epi32(_mm512_unpacklo_epi32(v[0], v[1]), _mm512_unpackhi_epi32(v[0], v[1]));
        __m512i b = _mm512_add_epi32(_mm512_unpacklo_epi32(v[2], v[3]), _mm512_unpackhi_epi32(v[2], v[3]));
        __m512i c = _mm512_add_epi32(_mm512_unpacklo_epi64(a, b), _mm512_unpackhi_epi64(a, b));
        __m512i e = _mm512_add_epi32(c, _mm512_shuffle_i32x4(c, c, _MM_SHUFFLE(2, 3, 0, 1)));
        for (int h = 0; h <= two; h++) {
            const int kk = k + h;
            __m128i dot = _mm_add_epi32(h ? _mm512_extracti32x4_epi32(e, 2) : _mm512_castsi512_si128(e),
                                        _mm_set1_epi32(sx[kk]));
            __m128i dh = _mm_setr_epi16((short) r1k_load_u16(rows[0] + 18 * (size_t) kk),
                                        (short) r1k_load_u16(rows[1] + 18 * (size_t) kk),
                                        (short) r1k_load_u16(rows[2] + 18 * (size_t) kk),
                                        (short) r1k_load_u16(rows[3] + 18 * (size_t) kk), 0, 0, 0, 0);
            __m128 sc = _mm_mul_ps(_mm_cvtph_ps(dh), _mm_set1_ps(xd[kk]));
            acc = _mm_fmadd_ps(_mm_cvtepi32_ps(dot), sc, acc);
        }
    }
    float o[4];
    _mm_storeu_ps(o, acc);
    for (int r = 0; r < nr; r++) out[(size_t) r * rs] = o[r];
}

INLINE void gemv_q4_0(const uint8_t *w, size_t row_bytes, int cols, int row_from, int row_to, const uint8_t *xq,
                      float *out) {
    const int8_t *xqs = (const int8_t *) xq;
    const float *xd = r1k_q8_0_d(xq, 1, cols);
    const int nb = cols / 32;
    int32_t sx[SX_MAX];
    for (int k = 0; k < nb; k++) {
        int sum = 0;
        for (int j = 0; j < 32; j++) sum += xqs[32 * k + j];
        sx[k] = -8 * sum;
    }
    int q = (row_to - row_from) / 4;
    for (int g = 0; g < q; g++) {
        int r = row_from + g;
        const uint8_t *rows[4];
        for (int i = 0; i < 4; i++) rows[i] = w + (size_t) (r + i * q) * row_bytes;
        gemv_q4_0_rows4(rows, nb, xqs, xd, sx, out + r, q, 4);
    }
    for (int r = row_from + 4 * q; r < row_to; r++) {
        const uint8_t *one = w + (size_t) r * row_bytes;
        const uint8_t *rows[4] = {one, one, one, one};
        gemv_q4_0_rows4(rows, nb, xqs, xd, sx, out + r, 1, 1);
    }
}
#endif

static void VARIANT(matmul)(int type, const uint8_t *w, size_t row_bytes, int cols, int row_from, int row_to,
                            const uint8_t *xq, int batch, float *out, int out_stride) {
    switch (type) {
        case R1K_Q8_0: matmul_signed(R1K_Q8_0, w, row_bytes, cols, row_from, row_to, xq, batch, out, out_stride); break;
        case R1K_Q4_0:
#ifdef R1K_VNNI
            if (batch == 1 && cols / 32 <= SX_MAX) {
                gemv_q4_0(w, row_bytes, cols, row_from, row_to, xq, out);
                break;
            }
#endif
            matmul_signed(R1K_Q4_0, w, row_bytes, cols, row_from, row_to, xq, batch, out, out_stride);
            break;
        case R1K_Q4_K: matmul_kquant(R1K_Q4_K, w, row_bytes, cols, row_from, row_to, xq, batch, out, out_stride); break;
        case R1K_Q5_K: matmul_kquant(R1K_Q5_K, w, row_bytes, cols, row_from, row_to, xq, batch, out, out_stride); break;
        case R1K_Q6_K: matmul_kquant(R1K_Q6_K, w, row_bytes, cols, row_from, row_to, xq, batch, out, out_stride); break;
        default: break;
    }
}

/* ---------------------------------------------------------------------------------------------------------
 * Attention over the F16 KV cache (r1k.h defines the arithmetic): each cache row converted once per call into
 * floats for all the heads that read it, 16 lanes (two ymm without AVX-512).
 */

/* Rows longer than this go to the reference (same result): no model has heads this wide. */
#define ATTN_MAX 4096

INLINE void f16_row(const uint16_t *h, int n, float *f) {
    int i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(f + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *) (h + i))));
    for (; i < n; i++) f[i] = _cvtsh_ss(h[i]);
}

#ifdef R1K_VNNI
/*
 * The 16 horizontal sums of v[0..15] in r1k.h's order (lanes l + l+8, then l + l+4, l + l+2, the two added), as
 * one vector: lane p is v[p]'s sum. Each level halves the partials of two inputs into one vector, so 15 adds do
 * what 16 separate reductions did in 64; every add is one of the defined pairs (float add commutes).
 */
INLINE __m512 hsum16_ps(const __m512 *v) {
    __m512 a[8], b[4], c[2];
    for (int i = 0; i < 8; i++) /* [x.lo8 + x.hi8 | y.lo8 + y.hi8] */
        a[i] = _mm512_add_ps(_mm512_shuffle_f32x4(v[2 * i], v[2 * i + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                             _mm512_shuffle_f32x4(v[2 * i], v[2 * i + 1], _MM_SHUFFLE(3, 2, 3, 2)));
    for (int i = 0; i < 4; i++) /* quad q: input 4i + q's four partials l + l+4 */
        b[i] = _mm512_add_ps(_mm512_shuffle_f32x4(a[2 * i], a[2 * i + 1], _MM_SHUFFLE(2, 0, 2, 0)),
                             _mm512_shuffle_f32x4(a[2 * i], a[2 * i + 1], _MM_SHUFFLE(3, 1, 3, 1)));
    for (int i = 0; i < 2; i++) /* per quad: [x l+2 pairs | y l+2 pairs] */
        c[i] = _mm512_add_ps(_mm512_shuffle_ps(b[2 * i], b[2 * i + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                             _mm512_shuffle_ps(b[2 * i], b[2 * i + 1], _MM_SHUFFLE(3, 2, 3, 2)));
    __m512 d = _mm512_add_ps(_mm512_shuffle_ps(c[0], c[1], _MM_SHUFFLE(2, 0, 2, 0)),
                             _mm512_shuffle_ps(c[0], c[1], _MM_SHUFFLE(3, 1, 3, 1)));
    /* d's lane 4m + k holds input 4k + m (traced lane by lane); put input p in lane p */
    const __m512i back = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
    return _mm512_permutexvar_ps(back, d);
}

/* Cache rows (F16) ahead of the one being converted that are prefetched, every 64-byte line of them. */
#define ATTN_PREFETCH 8

INLINE void prefetch_row(const uint16_t *row, int n) {
    for (int i = 0; i < n; i += 32) _mm_prefetch((const char *) (row + i), _MM_HINT_T0);
}

/* Key rows per tile of the scores, and query heads per tile: 4 x 4 accumulators, reduced in one hsum16_ps. */
#define ATTN_TR 4
#define ATTN_TH 4

static void VARIANT(attn_dots_f16)(const uint16_t *k, const int32_t *rows, int count, const float *q, int heads,
                                   int n, float *out, int out_stride) {
    if (n > ATTN_MAX) {
        r1k_kernels_scalar()->attn_dots_f16(k, rows, count, q, heads, n, out, out_stride);
        return;
    }
    float kf[ATTN_TR][ATTN_MAX] __attribute__((aligned(64)));
    const int n16 = n - n % 16;
    for (int t0 = 0; t0 < count; t0 += ATTN_TR) {
        const int nt = count - t0 < ATTN_TR ? count - t0 : ATTN_TR;
        /* decode reads the cache once, row by row (gathers the hardware prefetcher does not see ahead) */
        for (int r = 0; r < ATTN_TR && t0 + ATTN_PREFETCH + r < count; r++) prefetch_row(k + rows[t0 + ATTN_PREFETCH + r], n);
        for (int r = 0; r < nt; r++) f16_row(k + rows[t0 + r], n, kf[r]);
        for (int r = nt; r < ATTN_TR; r++) memcpy(kf[r], kf[0], sizeof(float) * (size_t) n); /* lanes ignored */
        for (int j0 = 0; j0 < heads; j0 += ATTN_TH) {
            const int nh = heads - j0 < ATTN_TH ? heads - j0 : ATTN_TH;
            const float *qh[ATTN_TH];
            for (int h = 0; h < ATTN_TH; h++) qh[h] = q + (size_t) (j0 + (h < nh ? h : 0)) * n;
            __m512 acc[16];
            for (int p = 0; p < 16; p++) acc[p] = _mm512_setzero_ps();
            for (int i = 0; i < n16; i += 16) {
                __m512 kv[ATTN_TR], qv[ATTN_TH];
                for (int r = 0; r < ATTN_TR; r++) kv[r] = _mm512_load_ps(kf[r] + i);
                for (int h = 0; h < ATTN_TH; h++) qv[h] = _mm512_loadu_ps(qh[h] + i);
                for (int r = 0; r < ATTN_TR; r++)
                    for (int h = 0; h < ATTN_TH; h++) acc[r * ATTN_TH + h] = _mm512_fmadd_ps(kv[r], qv[h], acc[r * ATTN_TH + h]);
            }
            float sums[16] __attribute__((aligned(64)));
            _mm512_store_ps(sums, hsum16_ps(acc));
            for (int r = 0; r < nt; r++) {
                for (int h = 0; h < nh; h++) {
                    float sum = sums[r * ATTN_TH + h];
                    for (int i = n16; i < n; i++) {
                        float p = kf[r][i] * qh[h][i];
                        sum += p;
                    }
                    out[(size_t) (j0 + h) * out_stride + t0 + r] = sum;
                }
            }
        }
    }
}

/* Value rows converted per block, and the output columns one head keeps in registers over the block. */
#define AXPY_TB 32
#define AXPY_COLS 128

static void VARIANT(attn_axpys_f16)(const float *a, int a_stride, const float *scale, const uint16_t *v,
                                    const int32_t *rows, int count, float *out, int heads, int n) {
    float vf[AXPY_TB][AXPY_COLS] __attribute__((aligned(64)));
    for (int c0 = 0; c0 < n; c0 += AXPY_COLS) {
        const int nc = n - c0 < AXPY_COLS ? n - c0 : AXPY_COLS;
        const int nv = (nc + 15) / 16;
        const __mmask16 last = (__mmask16) (nc % 16 == 0 ? 0xffff : (1u << (nc % 16)) - 1);
        for (int t0 = 0; t0 < count; t0 += AXPY_TB) {
            const int nt = count - t0 < AXPY_TB ? count - t0 : AXPY_TB;
            for (int t = 0; t < nt; t++) {
                if (t0 + t + ATTN_PREFETCH < count) prefetch_row(v + rows[t0 + t + ATTN_PREFETCH] + c0, nc);
                const uint16_t *vr = v + rows[t0 + t] + c0;
                for (int c = 0; c < nv; c++) {
                    __mmask16 m = c == nv - 1 ? last : 0xffff;
                    _mm512_store_ps(vf[t] + 16 * c, _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, vr + 16 * c)));
                }
            }
            for (int j = 0; j < heads; j++) {
                float *o = out + (size_t) j * n + c0;
                const float *aj = a + (size_t) j * a_stride + t0;
                if (nv == AXPY_COLS / 16 && last == 0xffff) {
                    /* the whole chunk in 8 registers across the block; the same fma per element and row */
                    __m512 acc[AXPY_COLS / 16];
                    for (int c = 0; c < AXPY_COLS / 16; c++) acc[c] = _mm512_loadu_ps(o + 16 * c);
                    for (int t = 0; t < nt; t++) {
                        __m512 w = _mm512_set1_ps(aj[t] * scale[j]);
                        for (int c = 0; c < AXPY_COLS / 16; c++) acc[c] = _mm512_fmadd_ps(_mm512_load_ps(vf[t] + 16 * c), w, acc[c]);
                    }
                    for (int c = 0; c < AXPY_COLS / 16; c++) _mm512_storeu_ps(o + 16 * c, acc[c]);
                } else {
                    for (int t = 0; t < nt; t++) {
                        __m512 w = _mm512_set1_ps(aj[t] * scale[j]);
                        for (int c = 0; c < nv; c++) {
                            __mmask16 m = c == nv - 1 ? last : 0xffff;
                            __m512 oc = _mm512_maskz_loadu_ps(m, o + 16 * c);
                            _mm512_mask_storeu_ps(o + 16 * c, m, _mm512_fmadd_ps(_mm512_load_ps(vf[t] + 16 * c), w, oc));
                        }
                    }
                }
            }
        }
    }
}
#else
static void VARIANT(attn_dots_f16)(const uint16_t *k, const int32_t *rows, int count, const float *q, int heads,
                                   int n, float *out, int out_stride) {
    if (n > ATTN_MAX) {
        r1k_kernels_scalar()->attn_dots_f16(k, rows, count, q, heads, n, out, out_stride);
        return;
    }
    float kf[ATTN_MAX] __attribute__((aligned(64)));
    const int n16 = n - n % 16;
    for (int t = 0; t < count; t++) {
        f16_row(k + rows[t], n, kf);
        for (int j = 0; j < heads; j++) {
            const float *qj = q + (size_t) j * n;
#ifdef R1K_VNNI
            __m512 acc = _mm512_setzero_ps();
            for (int i = 0; i < n16; i += 16) acc = _mm512_fmadd_ps(_mm512_load_ps(kf + i), _mm512_loadu_ps(qj + i), acc);
            __m256 s8 = _mm256_add_ps(_mm512_castps512_ps256(acc), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(acc), 1)));
#else
            __m256 lo = _mm256_setzero_ps(), hi = _mm256_setzero_ps();
            for (int i = 0; i < n16; i += 16) {
                lo = _mm256_fmadd_ps(_mm256_load_ps(kf + i), _mm256_loadu_ps(qj + i), lo);
                hi = _mm256_fmadd_ps(_mm256_load_ps(kf + i + 8), _mm256_loadu_ps(qj + i + 8), hi);
            }
            __m256 s8 = _mm256_add_ps(lo, hi);
#endif
            __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
            __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
            float sum = _mm_cvtss_f32(_mm_add_ss(s2, _mm_movehdup_ps(s2)));
            for (int i = n16; i < n; i++) {
                float p = kf[i] * qj[i];
                sum += p;
            }
            out[(size_t) j * out_stride + t] = sum;
        }
    }
}

static void VARIANT(attn_axpys_f16)(const float *a, int a_stride, const float *scale, const uint16_t *v,
                                    const int32_t *rows, int count, float *out, int heads, int n) {
    if (n > ATTN_MAX) {
        r1k_kernels_scalar()->attn_axpys_f16(a, a_stride, scale, v, rows, count, out, heads, n);
        return;
    }
    float vf[ATTN_MAX] __attribute__((aligned(64)));
    for (int t = 0; t < count; t++) {
        f16_row(v + rows[t], n, vf);
        for (int j = 0; j < heads; j++) {
            float w = a[(size_t) j * a_stride + t] * scale[j];
            float *o = out + (size_t) j * n;
            int i = 0;
#ifdef R1K_VNNI
            __m512 w16 = _mm512_set1_ps(w);
            for (; i + 16 <= n; i += 16) _mm512_storeu_ps(o + i, _mm512_fmadd_ps(_mm512_load_ps(vf + i), w16, _mm512_loadu_ps(o + i)));
#endif
            __m256 w8 = _mm256_set1_ps(w);
            for (; i + 8 <= n; i += 8) _mm256_storeu_ps(o + i, _mm256_fmadd_ps(_mm256_load_ps(vf + i), w8, _mm256_loadu_ps(o + i)));
            for (; i < n; i++) o[i] = __builtin_fmaf(vf[i], w, o[i]);
        }
    }
}

#endif

static const r1k_kernels TABLE = {VARIANT(quantize_q8_0), VARIANT(quantize_q8_K), VARIANT(matmul),
                                  VARIANT(attn_dots_f16), VARIANT(attn_axpys_f16)};

const r1k_kernels *VARIANT(r1k_kernels)(void) {
    return &TABLE;
}
