// Integer kernels of the INT8 path: quantize/dequantize, byte tables, and the u8×s8 convolution.
#include "CKernels.h"
#include <math.h>
#include <string.h>
#include <stdlib.h>
#include "conv_internal.h"
#if defined(__x86_64__)
#include "vec_x86.h"
#endif

// The portable and SIMD variants must agree bit for bit: no silent contraction of a*b+c into FMA.
#pragma STDC FP_CONTRACT OFF

int ck_have_avx2(void);

#if defined(__x86_64__)
/// The scalar loops' operations on 16 lanes (division, round half to even, zero point, clamp): same bytes.
T512 static size_t quantize_avx512(const float *x, uint8_t *y, size_t n, float scale, int zp, int is_signed) {
    __m512 s = _mm512_set1_ps(scale), z = _mm512_set1_ps((float)zp);
    __m512 lo = _mm512_set1_ps(is_signed ? -128.f : 0.f), hi = _mm512_set1_ps(is_signed ? 127.f : 255.f);
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 v = _mm512_div_ps(_mm512_loadu_ps(x + i), s);
        v = _mm512_add_ps(_mm512_roundscale_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC), z);
        v = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(v, lo, _CMP_LT_OQ), v, lo);
        v = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(v, hi, _CMP_GT_OQ), v, hi);
        _mm_storeu_si128((__m128i *)(y + i), _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(v)));
    }
    return i;
}
T512 static size_t dequantize_avx512(const void *x, float *y, size_t n, float scale, int zp, int kind) {
    __m512 s = _mm512_set1_ps(scale);
    __m512i z = _mm512_set1_epi32(zp);
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m128i b = _mm_loadu_si128((const __m128i *)((const uint8_t *)x + i));
        __m512i v = kind == 0 ? _mm512_cvtepu8_epi32(b) : _mm512_cvtepi8_epi32(b);
        _mm512_storeu_ps(y + i, _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(v, z)), s));
    }
    return i;
}
#endif

void ck_quantize_f32(const float *x, void *y, size_t n, float scale, int zp, int is_signed) {
    int lo = is_signed ? -128 : 0, hi = is_signed ? 127 : 255;
    uint8_t *out = y;
    size_t start = 0;
#if defined(__x86_64__)
    if (ck_have_avx512()) start = quantize_avx512(x, out, n, scale, zp, is_signed);
#endif
    for (size_t i = start; i < n; i++) {
        float v = nearbyintf(x[i] / scale) + (float)zp;
        v = v < (float)lo ? (float)lo : (v > (float)hi ? (float)hi : v);
        out[i] = (uint8_t)(int8_t)(int)v;
        if (!is_signed) out[i] = (uint8_t)(int)v;
    }
}

void ck_dequantize(const void *x, float *y, size_t n, float scale, int zp, int kind) {
#if defined(__x86_64__)
    if (kind != 2 && ck_have_avx512()) {
        size_t done = dequantize_avx512(x, y, n, scale, zp, kind);
        x = (const uint8_t *)x + done; y += done; n -= done;
    }
#endif
    if (kind == 0) { const uint8_t *p = x; for (size_t i = 0; i < n; i++) y[i] = (float)((int)p[i] - zp) * scale; }
    else if (kind == 1) { const int8_t *p = x; for (size_t i = 0; i < n; i++) y[i] = (float)((int)p[i] - zp) * scale; }
    else { const int32_t *p = x; for (size_t i = 0; i < n; i++) y[i] = (float)((int64_t)p[i] - zp) * scale; }
}

#if defined(__x86_64__)
/// 64 lookups at a time: two 128-entry permutes (VBMI) and a select on the index's top bit.
T512 static size_t lut_avx512(const uint8_t *x, uint8_t *y, size_t n, const uint8_t *table) {
    __m512i t0 = _mm512_loadu_si512(table), t1 = _mm512_loadu_si512(table + 64);
    __m512i t2 = _mm512_loadu_si512(table + 128), t3 = _mm512_loadu_si512(table + 192);
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        __m512i idx = _mm512_loadu_si512(x + i);
        __m512i lo = _mm512_permutex2var_epi8(t0, idx, t1), hi = _mm512_permutex2var_epi8(t2, idx, t3);
        _mm512_storeu_si512(y + i, _mm512_mask_blend_epi8(_mm512_movepi8_mask(idx), lo, hi));
    }
    return i;
}
#endif

void ck_lut_u8(const uint8_t *x, uint8_t *y, size_t n, const uint8_t *table) {
    size_t i = 0;
#if defined(__x86_64__)
    if (ck_have_avx512()) i = lut_avx512(x, y, n, table);
#endif
    for (; i < n; i++) y[i] = table[x[i]];
}

void ck_table_f32(const uint8_t *x, float *y, size_t n, const float *table) {
    for (size_t i = 0; i < n; i++) y[i] = table[x[i]];
}

/// The reference's epilogue on the plain (unpacked) constants.
static inline void epilogue(const ck_qconv *p, int co, int32_t acc, void *y, size_t idx) {
    ck_qep_one(p, p->comp[co], p->mul[co], p->bias ? p->bias[co] : 0.f, acc, y, idx);
}

void ck_qconv_run_reference(const ck_qconv *p, const void *x, void *y, int co0, int co1) {
    int cpg = p->cout / p->group, cg = p->cin / p->group;
    const uint8_t *xb = x;
    uint8_t flip = p->x_signed ? 0x80 : 0;
    for (int co = co0; co < co1; co++) {
        int g = co / cpg;
        const int8_t *w = p->w + (size_t)co * p->K;
        for (int oh = 0; oh < p->OH; oh++) for (int ow = 0; ow < p->OW; ow++) {
            int32_t acc = 0;
            for (int c = 0; c < cg; c++) for (int i = 0; i < p->kh; i++) for (int j = 0; j < p->kw; j++) {
                int ih = oh * p->sh - p->ph + i * p->dh, iw = ow * p->sw - p->pw + j * p->dw;
                int v = (ih < 0 || ih >= p->H || iw < 0 || iw >= p->W) ? p->x_zp
                      : (int)(uint8_t)(xb[((size_t)(g * cg + c) * p->H + ih) * p->W + iw] ^ flip);
                acc += v * (int)w[(c * p->kh + i) * p->kw + j];
            }
            epilogue(p, co, acc, y, (size_t)co * p->OH * p->OW + (size_t)oh * p->OW + ow);
        }
    }
}

static inline int qload(const void *p, size_t i, int is_signed) {
    return is_signed ? (int)((const int8_t *)p)[i] : (int)((const uint8_t *)p)[i];
}

/// Row by row: acc[n] = sum_k (a[m][k] - a_zp) * b[k][n] over contiguous rows of B (a loop the compiler
/// vectorises), then the B zero point as one correction per row: - b_zp * sum_k (a[m][k] - a_zp). Same integers
/// as the direct sum, so the same result.
#define QMATMUL_ROWS(TB)                                                                                       \
    for (int m = 0; m < M; m++) {                                                                              \
        int32_t asum = 0;                                                                                      \
        for (int n = 0; n < N; n++) acc[n] = 0;                                                                \
        for (int k = 0; k < K; k++) {                                                                          \
            int32_t av = qload(a, (size_t)m * K + k, a_signed) - a_zp;                                         \
            asum += av;                                                                                        \
            const TB *br = (const TB *)b + (size_t)k * N;                                                      \
            for (int n = 0; n < N; n++) acc[n] += av * (int32_t)br[n];                                         \
        }                                                                                                      \
        for (int n = 0; n < N; n++) {                                                                          \
            float q = nearbyintf((float)(acc[n] - b_zp * asum) * mul) + (float)y_zp;                           \
            q = q < (float)lo ? (float)lo : (q > (float)hi ? (float)hi : q);                                   \
            size_t i = (size_t)m * N + n;                                                                      \
            if (y_signed) ((int8_t *)y)[i] = (int8_t)(int)q; else ((uint8_t *)y)[i] = (uint8_t)(int)q;         \
        }                                                                                                      \
    }

void ck_qmatmul(const void *a, int a_signed, int a_zp, const void *b, int b_signed, int b_zp, int M, int K, int N,
                float mul, void *y, int y_zp, int y_signed) {
    int lo = y_signed ? -128 : 0, hi = y_signed ? 127 : 255;
    int32_t stack_acc[1024];
    int32_t *acc = N <= 1024 ? stack_acc : malloc((size_t)N * sizeof(int32_t));
    if (!acc) {  // no memory for a row of accumulators: the direct sum, element by element
        for (int m = 0; m < M; m++) for (int n = 0; n < N; n++) {
            int32_t v = 0;
            for (int k = 0; k < K; k++)
                v += (qload(a, (size_t)m * K + k, a_signed) - a_zp) * (qload(b, (size_t)k * N + n, b_signed) - b_zp);
            float q = nearbyintf((float)v * mul) + (float)y_zp;
            q = q < (float)lo ? (float)lo : (q > (float)hi ? (float)hi : q);
            size_t i = (size_t)m * N + n;
            if (y_signed) ((int8_t *)y)[i] = (int8_t)(int)q; else ((uint8_t *)y)[i] = (uint8_t)(int)q;
        }
        return;
    }
    if (b_signed) { QMATMUL_ROWS(int8_t) } else { QMATMUL_ROWS(uint8_t) }
    if (acc != stack_acc) free(acc);
}
