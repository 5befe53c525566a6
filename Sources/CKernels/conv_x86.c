// x86-64 kernels of the convolutions. Integer: AVX-512 VNNI (vpdpbusd on 16 pixels), AVX-VNNI (the same on 8
// pixels, VEX encoded), and AVX2 (exact emulation of vpdpbusd: bytes widened to 16 bits, vpmaddwd, pairs added,
// so no saturation as vpmaddubsw would have). Epilogues do the scalar epilogue's float operations in its order
// (fused multiply-adds only where ck_logistic has them), so every path agrees with the scalar one bit for bit.
// Float: AVX-512 and AVX2 FMA GEMMs with the pixels in vector lanes, bit-identical to the scalar one too.
#include "conv_internal.h"
#if defined(__x86_64__)
#include <immintrin.h>
#include "vec_x86.h"

#pragma STDC FP_CONTRACT OFF

int ck_cpu_has_vbmi(void);

// MARK: AVX-512 VNNI, 8 channels × 48 pixels


T512 static void gemm_avx512(const uint8_t *a, const int64_t *koff, const int8_t *w, int kq, int32_t *acc) {
    __m512i c[8][3];
    for (int i = 0; i < 8; i++) for (int j = 0; j < 3; j++) c[i][j] = _mm512_setzero_si512();
    for (int k = 0; k < kq; k++, w += 32) {
        const uint8_t *panel = a + koff[k];
        __m512i a0 = _mm512_loadu_si512(panel), a1 = _mm512_loadu_si512(panel + 64), a2 = _mm512_loadu_si512(panel + 128);
        const int32_t *wk = (const int32_t *)w;
        for (int i = 0; i < 8; i++) {
            __m512i b = _mm512_set1_epi32(wk[i]);
            c[i][0] = _mm512_dpbusd_epi32(c[i][0], a0, b);
            c[i][1] = _mm512_dpbusd_epi32(c[i][1], a1, b);
            c[i][2] = _mm512_dpbusd_epi32(c[i][2], a2, b);
        }
    }
    for (int i = 0; i < 8; i++) for (int j = 0; j < 3; j++) _mm512_storeu_si512(acc + i * 48 + j * 16, c[i][j]);
}

/// One row of 16 accumulators through the epilogue; bytes to out8 or floats to out32.
T512 static inline void ep16(const ck_qconv *p, __m512i a, __m512i comp, __m512 mul, __m512 bias, uint8_t *out8, float *out32) {
    __m512 v = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(a, comp)), mul);
    if (p->out_mode != 0) {
        v = _mm512_add_ps(v, bias);
        if (p->out_mode == 1) { _mm512_storeu_ps(out32, v); return; }
        v = _mm512_mul_ps(v, logistic16(v));
        if (p->out_mode == 3) { _mm512_storeu_ps(out32, v); return; }
        v = _mm512_div_ps(v, _mm512_set1_ps(p->y_scale));
    }
    __m512 q = _mm512_add_ps(_mm512_roundscale_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC), _mm512_set1_ps((float)p->y_zp));
    __m512 lo = _mm512_set1_ps(p->y_signed ? -128.f : 0.f), hi = _mm512_set1_ps(p->y_signed ? 127.f : 255.f);
    q = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(q, lo, _CMP_LT_OQ), q, lo);
    q = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(q, hi, _CMP_GT_OQ), q, hi);
    _mm_storeu_si128((__m128i *)out8, _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(q)));
}

T512 static void epilogue_avx512(const ck_qconv *p, const ck_qep *e, const int32_t *acc, int co, int rows, void *out, size_t ostride) {
    for (int i = 0; i < rows; i++) {
        __m512i comp = _mm512_set1_epi32(e->comp[co + i]);
        __m512 mul = _mm512_set1_ps(e->mul[co + i]), bias = _mm512_set1_ps(e->bias[co + i]);
        for (int j = 0; j < 3; j++)
            ep16(p, _mm512_loadu_si512(acc + i * 48 + j * 16), comp, mul, bias, (uint8_t *)out + i * ostride + j * 16,
                 (float *)out + i * ostride + j * 16);
    }
    if (p->lut && (p->out_mode == 0 || p->out_mode == 2)) {  // bytes out: the table applies, as in ck_qep_one
        uint8_t *o = out;
        __m512i t0 = _mm512_loadu_si512(p->lut), t1 = _mm512_loadu_si512(p->lut + 64);
        __m512i t2 = _mm512_loadu_si512(p->lut + 128), t3 = _mm512_loadu_si512(p->lut + 192);
        __mmask64 m48 = 0xFFFFFFFFFFFFull;
        for (int i = 0; i < rows; i++) {
            __m512i idx = _mm512_maskz_loadu_epi8(m48, o + i * ostride);
            __m512i lo = _mm512_permutex2var_epi8(t0, idx, t1), hi = _mm512_permutex2var_epi8(t2, idx, t3);
            _mm512_mask_storeu_epi8(o + i * ostride, m48, _mm512_mask_blend_epi8(_mm512_movepi8_mask(idx), lo, hi));
        }
    }
}

// MARK: 256-bit kernels (AVX-VNNI and AVX2), 8 pixels per vector

#define T256 __attribute__((target("avx2,fma")))

T256 static inline __m256 logistic8(__m256 x) {
    __m256 v = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-18.f)), _mm256_set1_ps(18.f));
    __m256 v2 = _mm256_mul_ps(v, v);
    __m256 p = _mm256_fmadd_ps(v2, _mm256_set1_ps(CK_LOGISTIC_P4), _mm256_set1_ps(CK_LOGISTIC_P3));
    p = _mm256_fmadd_ps(p, v2, _mm256_set1_ps(CK_LOGISTIC_P2));
    p = _mm256_fmadd_ps(p, v2, _mm256_set1_ps(CK_LOGISTIC_P1));
    p = _mm256_fmadd_ps(p, v2, _mm256_set1_ps(CK_LOGISTIC_P0));
    p = _mm256_mul_ps(p, v);
    __m256 q = _mm256_fmadd_ps(v2, _mm256_set1_ps(CK_LOGISTIC_Q5), _mm256_set1_ps(CK_LOGISTIC_Q4));
    q = _mm256_fmadd_ps(q, v2, _mm256_set1_ps(CK_LOGISTIC_Q3));
    q = _mm256_fmadd_ps(q, v2, _mm256_set1_ps(CK_LOGISTIC_Q2));
    q = _mm256_fmadd_ps(q, v2, _mm256_set1_ps(CK_LOGISTIC_Q1));
    q = _mm256_fmadd_ps(q, v2, _mm256_set1_ps(CK_LOGISTIC_Q0));
    __m256 r = _mm256_add_ps(_mm256_div_ps(p, q), _mm256_set1_ps(0.5f));
    return _mm256_blendv_ps(r, _mm256_setzero_ps(), _mm256_cmp_ps(r, _mm256_setzero_ps(), _CMP_LT_OQ));
}

/// The epilogue on tiles 16 pixels wide, 8 at a time.
T256 static void epilogue_256(const ck_qconv *p, const ck_qep *e, const int32_t *acc, int co, int rows, void *out, size_t ostride) {
    for (int i = 0; i < rows; i++) {
        __m256i comp = _mm256_set1_epi32(e->comp[co + i]);
        __m256 mul = _mm256_set1_ps(e->mul[co + i]), bias = _mm256_set1_ps(e->bias[co + i]);
        for (int j = 0; j < 2; j++) {
            int src = i * 16 + j * 8;
            size_t at = (size_t)i * ostride + (size_t)j * 8;
            __m256 v = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_add_epi32(_mm256_loadu_si256((const __m256i *)(acc + src)), comp)), mul);
            if (p->out_mode != 0) {
                v = _mm256_add_ps(v, bias);
                if (p->out_mode == 1) { _mm256_storeu_ps((float *)out + at, v); continue; }
                v = _mm256_mul_ps(v, logistic8(v));
                if (p->out_mode == 3) { _mm256_storeu_ps((float *)out + at, v); continue; }
                v = _mm256_div_ps(v, _mm256_set1_ps(p->y_scale));
            }
            __m256 q = _mm256_add_ps(_mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC), _mm256_set1_ps((float)p->y_zp));
            __m256 lo = _mm256_set1_ps(p->y_signed ? -128.f : 0.f), hi = _mm256_set1_ps(p->y_signed ? 127.f : 255.f);
            q = _mm256_blendv_ps(q, lo, _mm256_cmp_ps(q, lo, _CMP_LT_OQ));
            q = _mm256_blendv_ps(q, hi, _mm256_cmp_ps(q, hi, _CMP_GT_OQ));
            __m256i n = _mm256_cvtps_epi32(q);  // integral values in [-128, 255]
            __m128i w16 = _mm_packs_epi32(_mm256_castsi256_si128(n), _mm256_extracti128_si256(n, 1));
            __m128i b8 = p->y_signed ? _mm_packs_epi16(w16, w16) : _mm_packus_epi16(w16, w16);
            _mm_storel_epi64((__m128i *)((uint8_t *)out + at), b8);
            if (p->lut) for (int b = 0; b < 8; b++) ((uint8_t *)out)[at + b] = p->lut[((uint8_t *)out)[at + b]];
        }
    }
}

/// AVX-VNNI: 6 channels × 16 pixels; the same body compiled for the VEX form (CPUs with AVX-VNNI) and the EVEX
/// form (AVX-512 VL + VNNI), which stands in for it where AVX-VNNI itself is absent, as on the CI machine.
#define GEMM_VNNI256(NAME, TARGET, DP)                                                                          \
    __attribute__((target(TARGET))) static void NAME(const uint8_t *a, const int64_t *koff, const int8_t *w, int kq, int32_t *acc) { \
        __m256i c[6][2];                                                                                        \
        for (int i = 0; i < 6; i++) c[i][0] = c[i][1] = _mm256_setzero_si256();                                 \
        for (int k = 0; k < kq; k++, w += 24) {                                                                 \
            const uint8_t *panel = a + koff[k];                                                                 \
            __m256i a0 = _mm256_loadu_si256((const __m256i *)panel), a1 = _mm256_loadu_si256((const __m256i *)(panel + 32)); \
            const int32_t *wk = (const int32_t *)w;                                                             \
            for (int i = 0; i < 6; i++) {                                                                       \
                __m256i b = _mm256_set1_epi32(wk[i]);                                                           \
                c[i][0] = DP(c[i][0], a0, b);                                                                   \
                c[i][1] = DP(c[i][1], a1, b);                                                                   \
            }                                                                                                   \
        }                                                                                                       \
        for (int i = 0; i < 6; i++) {                                                                           \
            _mm256_storeu_si256((__m256i *)(acc + i * 16), c[i][0]);                                            \
            _mm256_storeu_si256((__m256i *)(acc + i * 16 + 8), c[i][1]);                                        \
        }                                                                                                       \
    }
GEMM_VNNI256(gemm_avxvnni, "avx2,avxvnni", _mm256_dpbusd_avx_epi32)
GEMM_VNNI256(gemm_avxvnni_evex, "avx2,avx512f,avx512vl,avx512vnni", _mm256_dpbusd_epi32)

/// AVX2: 2 channels × 16 pixels. Each group of four u8 activations is widened to 16 bits and multiplied with
/// the channel's four weights by vpmaddwd (two exact pair sums per pixel); the pairs are added at the end.
T256 static void gemm_avx2(const uint8_t *act, const int64_t *koff, const int8_t *w, int kq, int32_t *acc) {
    __m256i c[2][4];
    for (int i = 0; i < 2; i++) for (int j = 0; j < 4; j++) c[i][j] = _mm256_setzero_si256();
    for (int k = 0; k < kq; k++, w += 8) {
        const uint8_t *panel = act + koff[k];
        __m256i a[4];
        for (int j = 0; j < 4; j++) a[j] = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(panel + 16 * j)));
        for (int i = 0; i < 2; i++) {
            int32_t q;
            __builtin_memcpy(&q, w + 4 * i, 4);
            __m128i w16 = _mm_cvtepi8_epi16(_mm_cvtsi32_si128(q));
            __m256i b = _mm256_broadcastq_epi64(w16);
            for (int j = 0; j < 4; j++) c[i][j] = _mm256_add_epi32(c[i][j], _mm256_madd_epi16(a[j], b));
        }
    }
    // c[i][j] lanes: pixel 4j+0 (pair sums a, b), 4j+1, | 4j+2, 4j+3. hadd then a lane fix-up gives 8 pixels.
    for (int i = 0; i < 2; i++)
        for (int h = 0; h < 2; h++) {
            __m256i s = _mm256_hadd_epi32(c[i][2 * h], c[i][2 * h + 1]);
            _mm256_storeu_si256((__m256i *)(acc + i * 16 + 8 * h), _mm256_permute4x64_epi64(s, 0xD8));
        }
}

// MARK: float convolution: 16 or 8 pixels per vector, one broadcast weight per output channel

/// AVX-512: 8 channels × 48 pixels, 24 accumulators.
T512 static void fgemm_avx512(const float *a, const int64_t *koff, const float *w, int K, const float *bias, int silu,
                              int rows, float *out, size_t ostride) {
    __m512 c[8][3];
    for (int i = 0; i < 8; i++) c[i][0] = c[i][1] = c[i][2] = _mm512_set1_ps(bias[i]);
    for (int k = 0; k < K; k++, w += 8) {
        const float *ak = a + koff[k];
        __m512 a0 = _mm512_loadu_ps(ak), a1 = _mm512_loadu_ps(ak + 16), a2 = _mm512_loadu_ps(ak + 32);
        for (int i = 0; i < 8; i++) {
            __m512 b = _mm512_set1_ps(w[i]);
            c[i][0] = _mm512_fmadd_ps(a0, b, c[i][0]);
            c[i][1] = _mm512_fmadd_ps(a1, b, c[i][1]);
            c[i][2] = _mm512_fmadd_ps(a2, b, c[i][2]);
        }
    }
    for (int i = 0; i < 8; i++) {
        if (i >= rows) break;
        for (int j = 0; j < 3; j++) {
            __m512 v = c[i][j];
            if (silu) v = _mm512_mul_ps(v, logistic16(v));
            _mm512_storeu_ps(out + (size_t)i * ostride + 16 * j, v);
        }
    }
}

/// AVX2 with FMA: 6 channels × 16 pixels, 12 accumulators; with the two activation vectors and the broadcast
/// weight that is 15 of the 16 registers (a 4 × 24 tile needed 16 and spilled).
T256 static void fgemm_avx2(const float *a, const int64_t *koff, const float *w, int K, const float *bias, int silu,
                            int rows, float *out, size_t ostride) {
    __m256 c[6][2];
    for (int i = 0; i < 6; i++) c[i][0] = c[i][1] = _mm256_set1_ps(bias[i]);
    for (int k = 0; k < K; k++, w += 6) {
        const float *ak = a + koff[k];
        __m256 a0 = _mm256_loadu_ps(ak), a1 = _mm256_loadu_ps(ak + 8);
        for (int i = 0; i < 6; i++) {
            __m256 b = _mm256_broadcast_ss(w + i);
            c[i][0] = _mm256_fmadd_ps(a0, b, c[i][0]);
            c[i][1] = _mm256_fmadd_ps(a1, b, c[i][1]);
        }
    }
    for (int i = 0; i < 6; i++) {
        if (i >= rows) break;
        for (int j = 0; j < 2; j++) {
            __m256 v = c[i][j];
            if (silu) v = _mm256_mul_ps(v, logistic8(v));
            _mm256_storeu_ps(out + (size_t)i * ostride + 8 * j, v);
        }
    }
}

const ck_fisa ck_fisa_avx512 = {8, 48, fgemm_avx512};
const ck_fisa ck_fisa_avx2 = {6, 16, fgemm_avx2};

const ck_qisa ck_qisa_avx512 = {8, 48, gemm_avx512, epilogue_avx512, 0};
const ck_qisa ck_qisa_avxvnni = {6, 16, gemm_avxvnni, epilogue_256, 0};
const ck_qisa ck_qisa_avxvnni_evex = {6, 16, gemm_avxvnni_evex, epilogue_256, 0};
const ck_qisa ck_qisa_avx2 = {2, 16, gemm_avx2, epilogue_256, 0};
#endif
