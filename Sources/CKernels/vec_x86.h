// AVX-512 helpers shared by the x86-64 kernels (included only under __x86_64__).
#ifndef INSPECTD_CKERNELS_VEC_X86_H
#define INSPECTD_CKERNELS_VEC_X86_H
#include <immintrin.h>
#include "logistic.h"

#define T512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx512vbmi,fma")))

/// ck_logistic on 16 lanes: the same clamp, fused multiply-adds, division and clamp, so bit-identical.
T512 static inline __m512 logistic16(__m512 x) {
    __m512 v = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-18.f)), _mm512_set1_ps(18.f));
    __m512 v2 = _mm512_mul_ps(v, v);
    __m512 p = _mm512_fmadd_ps(v2, _mm512_set1_ps(CK_LOGISTIC_P4), _mm512_set1_ps(CK_LOGISTIC_P3));
    p = _mm512_fmadd_ps(p, v2, _mm512_set1_ps(CK_LOGISTIC_P2));
    p = _mm512_fmadd_ps(p, v2, _mm512_set1_ps(CK_LOGISTIC_P1));
    p = _mm512_fmadd_ps(p, v2, _mm512_set1_ps(CK_LOGISTIC_P0));
    p = _mm512_mul_ps(p, v);
    __m512 q = _mm512_fmadd_ps(v2, _mm512_set1_ps(CK_LOGISTIC_Q5), _mm512_set1_ps(CK_LOGISTIC_Q4));
    q = _mm512_fmadd_ps(q, v2, _mm512_set1_ps(CK_LOGISTIC_Q3));
    q = _mm512_fmadd_ps(q, v2, _mm512_set1_ps(CK_LOGISTIC_Q2));
    q = _mm512_fmadd_ps(q, v2, _mm512_set1_ps(CK_LOGISTIC_Q1));
    q = _mm512_fmadd_ps(q, v2, _mm512_set1_ps(CK_LOGISTIC_Q0));
    __m512 r = _mm512_add_ps(_mm512_div_ps(p, q), _mm512_set1_ps(0.5f));
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(r, _mm512_setzero_ps(), _CMP_LT_OQ), r, _mm512_setzero_ps());
}


/// Whether the AVX-512 kernels (VNNI, VBMI and the rest of T512) can run here.
int ck_have_avx512(void);
#endif
