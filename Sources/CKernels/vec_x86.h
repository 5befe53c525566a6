// AVX-512 helpers shared by the x86-64 kernels (included only under __x86_64__).
#ifndef INSPECTD_CKERNELS_VEC_X86_H
#define INSPECTD_CKERNELS_VEC_X86_H
#include <immintrin.h>

#define T512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx512vbmi,fma")))

/// ck_logistic on 16 lanes: the same clamp, fused multiply-adds, division and clamp, so bit-identical.
T512 static inline __m512 logistic16(__m512 x) {
    __m512 v = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-18.f)), _mm512_set1_ps(18.f));
    __m512 v2 = _mm512_mul_ps(v, v);
    __m512 p = _mm512_fmadd_ps(v2, _mm512_set1_ps(4.37031012579801e-11f), _mm512_set1_ps(1.15627324459942e-07f));
    p = _mm512_fmadd_ps(p, v2, _mm512_set1_ps(6.08574864600143e-05f));
    p = _mm512_fmadd_ps(p, v2, _mm512_set1_ps(8.51377133304701e-03f));
    p = _mm512_fmadd_ps(p, v2, _mm512_set1_ps(2.48287947061529e-01f));
    p = _mm512_mul_ps(p, v);
    __m512 q = _mm512_fmadd_ps(v2, _mm512_set1_ps(6.10247389755681e-13f), _mm512_set1_ps(5.76102136993427e-09f));
    q = _mm512_fmadd_ps(q, v2, _mm512_set1_ps(6.29106785017040e-06f));
    q = _mm512_fmadd_ps(q, v2, _mm512_set1_ps(1.70198817374094e-03f));
    q = _mm512_fmadd_ps(q, v2, _mm512_set1_ps(1.16817656904453e-01f));
    q = _mm512_fmadd_ps(q, v2, _mm512_set1_ps(9.93151921023180e-01f));
    __m512 r = _mm512_add_ps(_mm512_div_ps(p, q), _mm512_set1_ps(0.5f));
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(r, _mm512_setzero_ps(), _CMP_LT_OQ), r, _mm512_setzero_ps());
}


/// Whether the AVX-512 kernels (VNNI, VBMI and the rest of T512) can run here.
int ck_have_avx512(void);
#endif
