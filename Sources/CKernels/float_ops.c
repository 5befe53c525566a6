// Float kernels of the FP32 path (GEMM itself is OpenBLAS, called from Swift).
#include "CKernels.h"
#include <math.h>
#include <string.h>
#include <float.h>
#include "logistic.h"

// Results must not depend on which variant runs: no contraction of a*b+c into FMA behind our back.
#pragma STDC FP_CONTRACT OFF

int ck_have_avx2(void);

void ck_im2col_f32(const float *x, int c0, int c1, int H, int W, int kh, int kw, int sh, int sw, int ph, int pw,
                   int dh, int dw, int OH, int OW, float *col) {
    for (int c = c0; c < c1; c++) {
        const float *xc = x + (size_t)c * H * W;
        for (int i = 0; i < kh; i++) for (int j = 0; j < kw; j++) {
            float *row = col + ((size_t)(c * kh + i) * kw + j) * OH * OW;
            for (int oh = 0; oh < OH; oh++) {
                int ih = oh * sh - ph + i * dh;
                float *r = row + (size_t)oh * OW;
                if (ih < 0 || ih >= H) { memset(r, 0, sizeof(float) * OW); continue; }
                const float *xr = xc + (size_t)ih * W;
                if (sw == 1) {
                    int off = j * dw - pw;
                    for (int ow = 0; ow < OW; ow++) { int iw = ow + off; r[ow] = (iw >= 0 && iw < W) ? xr[iw] : 0.f; }
                } else {
                    for (int ow = 0; ow < OW; ow++) { int iw = ow * sw - pw + j * dw; r[ow] = (iw >= 0 && iw < W) ? xr[iw] : 0.f; }
                }
            }
        }
    }
}

void ck_depthwise_f32(const float *x, int H, int W, const float *w, const float *bias, int kh, int kw, int sh,
                      int sw, int ph, int pw, int dh, int dw, int OH, int OW, float *y, int c0, int c1) {
    for (int c = c0; c < c1; c++) {
        const float *xc = x + (size_t)c * H * W;
        const float *wc = w + (size_t)c * kh * kw;
        float b = bias ? bias[c] : 0.f;
        float *yc = y + (size_t)c * OH * OW;
        for (int oh = 0; oh < OH; oh++) for (int ow = 0; ow < OW; ow++) {
            float s = b;
            for (int i = 0; i < kh; i++) {
                int ih = oh * sh - ph + i * dh;
                if (ih < 0 || ih >= H) continue;
                for (int j = 0; j < kw; j++) {
                    int iw = ow * sw - pw + j * dw;
                    if (iw < 0 || iw >= W) continue;
                    s += xc[(size_t)ih * W + iw] * wc[i * kw + j];
                }
            }
            yc[(size_t)oh * OW + ow] = s;
        }
    }
}

static inline float binop(int op, float a, float b) {
    switch (op) {
    case 0: return a + b; case 1: return a - b; case 2: return a * b; case 3: return a / b;
    case 4: return powf(a, b); case 5: return a > b ? a : b; case 6: return a < b ? a : b;
    default: return 0.f;
    }
}

void ck_binary_f32(int op, const float *a, const int64_t *astr, const float *b, const int64_t *bstr, float *y,
                   const int64_t *shape, int rank) {
    if (rank == 0) { y[0] = binop(op, a[0], b[0]); return; }
    int64_t idx[8] = {0};
    int64_t inner = shape[rank - 1], as = astr[rank - 1], bs = bstr[rank - 1];
    int64_t outer = 1;
    for (int d = 0; d < rank - 1; d++) outer *= shape[d];
    for (int64_t o = 0; o < outer; o++) {
        int64_t ao = 0, bo = 0;
        for (int d = 0; d < rank - 1; d++) { ao += idx[d] * astr[d]; bo += idx[d] * bstr[d]; }
        const float *pa = a + ao, *pb = b + bo;
        float *py = y + o * inner;
        if (as == 1 && bs == 1) {
            switch (op) {
            case 0: for (int64_t i = 0; i < inner; i++) py[i] = pa[i] + pb[i]; break;
            case 1: for (int64_t i = 0; i < inner; i++) py[i] = pa[i] - pb[i]; break;
            case 2: for (int64_t i = 0; i < inner; i++) py[i] = pa[i] * pb[i]; break;
            case 3: for (int64_t i = 0; i < inner; i++) py[i] = pa[i] / pb[i]; break;
            default: for (int64_t i = 0; i < inner; i++) py[i] = binop(op, pa[i], pb[i]);
            }
        } else if (as == 1 && bs == 0) {
            float bv = pb[0];
            switch (op) {
            case 0: for (int64_t i = 0; i < inner; i++) py[i] = pa[i] + bv; break;
            case 2: for (int64_t i = 0; i < inner; i++) py[i] = pa[i] * bv; break;
            default: for (int64_t i = 0; i < inner; i++) py[i] = binop(op, pa[i], bv);
            }
        } else {
            for (int64_t i = 0; i < inner; i++) py[i] = binop(op, pa[i * as], pb[i * bs]);
        }
        for (int d = rank - 2; d >= 0; d--) { if (++idx[d] < shape[d]) break; idx[d] = 0; }
    }
}

// Sigmoid and SiLU through ck_logistic; the FMA build lets fmaf become one instruction (same result either way).
static void logistic_portable(const float *x, float *y, size_t n, int silu) {
    for (size_t i = 0; i < n; i++) { float s = ck_logistic(x[i]); y[i] = silu ? x[i] * s : s; }
}
#if defined(__x86_64__)
__attribute__((target("avx2,fma")))
static void logistic_fma(const float *x, float *y, size_t n, int silu) {
    for (size_t i = 0; i < n; i++) { float s = ck_logistic(x[i]); y[i] = silu ? x[i] * s : s; }
}
#endif

#if defined(__x86_64__)
#include "vec_x86.h"
T512 static size_t logistic_avx512(const float *x, float *y, size_t n, int silu) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 v = _mm512_loadu_ps(x + i), s = logistic16(v);
        _mm512_storeu_ps(y + i, silu ? _mm512_mul_ps(v, s) : s);
    }
    return i;
}
#endif

static void logistic(const float *x, float *y, size_t n, int silu) {
#if defined(__x86_64__)
    if (ck_have_avx512()) {
        size_t done = logistic_avx512(x, y, n, silu);
        x += done; y += done; n -= done;
    }
    static int fma = -1;
    if (fma < 0) fma = ck_have_avx2();
    if (fma) { logistic_fma(x, y, n, silu); return; }
#endif
    logistic_portable(x, y, n, silu);
}

void ck_unary_f32(int op, const float *x, float *y, size_t n, float alpha, float beta) {
    switch (op) {
    case 0: logistic(x, y, n, 0); break;
    case 1: logistic(x, y, n, 1); break;
    case 2: for (size_t i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : 0.f; break;
    case 3: for (size_t i = 0; i < n; i++) y[i] = tanhf(x[i]); break;
    case 4: for (size_t i = 0; i < n; i++) y[i] = expf(x[i]); break;
    case 5: for (size_t i = 0; i < n; i++) y[i] = logf(x[i]); break;
    case 6: for (size_t i = 0; i < n; i++) y[i] = sqrtf(x[i]); break;
    case 7: for (size_t i = 0; i < n; i++) y[i] = -x[i]; break;
    case 8: for (size_t i = 0; i < n; i++) y[i] = fabsf(x[i]); break;
    case 9: for (size_t i = 0; i < n; i++) y[i] = erff(x[i]); break;
    case 10: for (size_t i = 0; i < n; i++) y[i] = floorf(x[i]); break;
    case 11: for (size_t i = 0; i < n; i++) y[i] = ceilf(x[i]); break;
    case 12: for (size_t i = 0; i < n; i++) y[i] = 1.f / x[i]; break;
    case 13: for (size_t i = 0; i < n; i++) { float v = x[i] + 3.f; v = v < 0 ? 0 : (v > 6 ? 6 : v); y[i] = x[i] * v / 6.f; } break;
    case 14: for (size_t i = 0; i < n; i++) y[i] = 0.5f * x[i] * (1.f + erff(x[i] * 0.70710678118654752f)); break;
    case 15: if (y != x) memmove(y, x, n * sizeof(float)); break;
    case 16: for (size_t i = 0; i < n; i++) y[i] = x[i] >= 0 ? x[i] : alpha * x[i]; break;
    case 17: for (size_t i = 0; i < n; i++) { float v = x[i]; v = v < alpha ? alpha : v; y[i] = v > beta ? beta : v; } break;
    case 18: for (size_t i = 0; i < n; i++) { float v = alpha * x[i] + beta; y[i] = v < 0 ? 0 : (v > 1 ? 1 : v); } break;
    default: break;
    }
}

void ck_copy_strided(void *y, const int64_t *ystr, const void *x, const int64_t *xstr, const int64_t *shape,
                     int rank, int elem) {
    if (rank == 0) { memcpy(y, x, (size_t)elem); return; }
    int64_t idx[8] = {0};
    int64_t inner = shape[rank - 1], xs = xstr[rank - 1], ys = ystr[rank - 1];
    int64_t outer = 1;
    for (int d = 0; d < rank - 1; d++) outer *= shape[d];
    for (int d = 0; d < rank; d++) if (shape[d] == 0) return;
    const char *xb = x; char *yb = y;
    for (int64_t o = 0; o < outer; o++) {
        int64_t xo = 0, yo = 0;
        for (int d = 0; d < rank - 1; d++) { xo += idx[d] * xstr[d]; yo += idx[d] * ystr[d]; }
        if (xs == 1 && ys == 1) memcpy(yb + yo * elem, xb + xo * elem, (size_t)(inner * elem));
        else if (elem == 4) {
            const float *px = (const float *)(const void *)(xb + xo * 4); float *py = (float *)(void *)(yb + yo * 4);
            for (int64_t i = 0; i < inner; i++) py[i * ys] = px[i * xs];
        } else if (elem == 1) {
            for (int64_t i = 0; i < inner; i++) yb[yo + i * ys] = xb[xo + i * xs];
        } else {
            for (int64_t i = 0; i < inner; i++) memcpy(yb + (yo + i * ys) * elem, xb + (xo + i * xs) * elem, (size_t)elem);
        }
        for (int d = rank - 2; d >= 0; d--) { if (++idx[d] < shape[d]) break; idx[d] = 0; }
    }
}

/// Stride-1 max pooling as two passes (rows, then columns) over a row buffer padded with -inf: kh+kw
/// comparisons per output instead of kh*kw, in loops the compiler vectorises. Max is exact in any order; only
/// NaN inputs (which integer-derived activations never hold) could propagate differently from the direct loop.
#define MAXPOOL_S1_BODY(T, LOW)                                                                                \
    T buf[W + kw + 16], hm[kh][OW];                                                                            \
    for (int p = p0; p < p1; p++) {                                                                            \
        const T *xp = x + (size_t)p * H * W;                                                                   \
        T *yp = y + (size_t)p * OH * OW;                                                                       \
        int done = -1; /* input rows up to here have their row maxima in hm[row % kh] */                      \
        for (int oh = 0; oh < OH; oh++) {                                                                      \
            T *yr = yp + (size_t)oh * OW;                                                                      \
            for (int ow = 0; ow < OW; ow++) yr[ow] = LOW;                                                      \
            for (int i = 0; i < kh; i++) {                                                                     \
                int ih = oh - pt + i;                                                                          \
                if (ih < 0 || ih >= H) continue;                                                               \
                T *h = hm[ih % kh];                                                                            \
                if (ih > done) {                                                                               \
                    for (int j = 0; j < W + kw + 16; j++) buf[j] = LOW;                                        \
                    for (int j = 0; j < W; j++) buf[j + pl] = LOAD(xp[(size_t)ih * W + j]);                    \
                    for (int ow = 0; ow < OW; ow++) h[ow] = buf[ow];                                           \
                    for (int j = 1; j < kw; j++) for (int ow = 0; ow < OW; ow++) h[ow] = buf[ow + j] > h[ow] ? buf[ow + j] : h[ow]; \
                    done = ih;                                                                                 \
                }                                                                                              \
                for (int ow = 0; ow < OW; ow++) yr[ow] = h[ow] > yr[ow] ? h[ow] : yr[ow];                      \
            }                                                                                                  \
            for (int ow = 0; ow < OW; ow++) yr[ow] = STORE(yr[ow]);                                            \
        }                                                                                                      \
    }

#define LOAD(v) (v)
#define STORE(v) (v)
static void maxpool_s1(const float *x, int H, int W, int kh, int kw, int pt, int pl, int OH, int OW, float *y, int p0, int p1) {
    MAXPOOL_S1_BODY(float, -INFINITY)
}
#if defined(__x86_64__)
T512 static void maxpool_s1_avx512(const float *x, int H, int W, int kh, int kw, int pt, int pl, int OH, int OW, float *y, int p0, int p1) {
    MAXPOOL_S1_BODY(float, -INFINITY)
}
#endif

#undef LOAD
#undef STORE
/// Bytes: s8 is compared in u8 order after flipping the sign bit (flip is in scope where this expands).
#define LOAD(v) ((uint8_t)((v) ^ flip))
#define STORE(v) ((uint8_t)((v) ^ flip))
static void maxpool_s1_u8(const uint8_t *x, int H, int W, int kh, int kw, int pt, int pl, int OH, int OW, uint8_t *y, int p0, int p1, uint8_t flip) {
    MAXPOOL_S1_BODY(uint8_t, 0)
}
#undef LOAD
#undef STORE

void ck_maxpool_u8(const uint8_t *x, int H, int W, int kh, int kw, int sh, int sw, int pt, int pl, int dh, int dw,
                   int OH, int OW, uint8_t *y, int p0, int p1, int is_signed) {
    uint8_t flip = is_signed ? 0x80 : 0;
    if (sh == 1 && sw == 1 && dh == 1 && dw == 1 && kh <= 16 && kw <= 16 && W <= 4096 && OW <= 1024 && OW <= W + 17 && pl <= kw + 16) {
        maxpool_s1_u8(x, H, W, kh, kw, pt, pl, OH, OW, y, p0, p1, flip);
        return;
    }
    for (int p = p0; p < p1; p++) {
        const uint8_t *xp = x + (size_t)p * H * W;
        uint8_t *yp = y + (size_t)p * OH * OW;
        for (int oh = 0; oh < OH; oh++) for (int ow = 0; ow < OW; ow++) {
            int m = -1;
            for (int i = 0; i < kh; i++) {
                int ih = oh * sh - pt + i * dh;
                if (ih < 0 || ih >= H) continue;
                for (int j = 0; j < kw; j++) {
                    int iw = ow * sw - pl + j * dw;
                    if (iw < 0 || iw >= W) continue;
                    int v = xp[(size_t)ih * W + iw] ^ flip;
                    if (v > m) m = v;
                }
            }
            yp[(size_t)oh * OW + ow] = (uint8_t)((m < 0 ? 0 : m) ^ flip);
        }
    }
}

void ck_maxpool_f32(const float *x, int H, int W, int kh, int kw, int sh, int sw, int pt, int pl, int dh, int dw,
                    int OH, int OW, float *y, int p0, int p1) {
    if (sh == 1 && sw == 1 && dh == 1 && dw == 1 && kh <= 16 && kw <= 16 && W <= 4096 && OW <= 1024 && OW <= W + 17 && pl <= kw + 16) {
#if defined(__x86_64__)
        if (ck_have_avx512()) { maxpool_s1_avx512(x, H, W, kh, kw, pt, pl, OH, OW, y, p0, p1); return; }
#endif
        maxpool_s1(x, H, W, kh, kw, pt, pl, OH, OW, y, p0, p1);
        return;
    }
    for (int p = p0; p < p1; p++) {
        const float *xp = x + (size_t)p * H * W;
        float *yp = y + (size_t)p * OH * OW;
        for (int oh = 0; oh < OH; oh++) for (int ow = 0; ow < OW; ow++) {
            float m = -INFINITY;
            for (int i = 0; i < kh; i++) {
                int ih = oh * sh - pt + i * dh;
                if (ih < 0 || ih >= H) continue;
                for (int j = 0; j < kw; j++) {
                    int iw = ow * sw - pl + j * dw;
                    if (iw < 0 || iw >= W) continue;
                    float v = xp[(size_t)ih * W + iw];
                    if (v > m || isnan(v)) m = v;
                }
            }
            yp[(size_t)oh * OW + ow] = m;
        }
    }
}

void ck_avgpool_f32(const float *x, int H, int W, int kh, int kw, int sh, int sw, int pt, int pl, int OH, int OW,
                    int count_include_pad, float *y, int p0, int p1) {
    for (int p = p0; p < p1; p++) {
        const float *xp = x + (size_t)p * H * W;
        float *yp = y + (size_t)p * OH * OW;
        for (int oh = 0; oh < OH; oh++) for (int ow = 0; ow < OW; ow++) {
            float s = 0; int n = 0;
            for (int i = 0; i < kh; i++) {
                int ih = oh * sh - pt + i;
                for (int j = 0; j < kw; j++) {
                    int iw = ow * sw - pl + j;
                    if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                    s += xp[(size_t)ih * W + iw]; n++;
                }
            }
            int div = count_include_pad ? kh * kw : n;
            yp[(size_t)oh * OW + ow] = div ? s / (float)div : 0.f;
        }
    }
}

/// out[2i] = out[2i + 1] = in[i]: one row doubled in width.
static void double_row_u8(const uint8_t *restrict in, int n, uint8_t *restrict out) {
    for (int i = 0; i < n; i++) { out[2 * i] = in[i]; out[2 * i + 1] = in[i]; }
}
static void double_row_f32(const float *restrict in, int n, float *restrict out) {
    for (int i = 0; i < n; i++) { out[2 * i] = in[i]; out[2 * i + 1] = in[i]; }
}

void ck_resize_nearest(const void *x, int H, int W, void *y, int OH, int OW, const int32_t *rows,
                       const int32_t *cols, int elem, int p0, int p1) {
    // Exactly twice the size (YOLO's upsampling): each input row doubled in width, written to two output rows.
    int twice = OH == 2 * H && OW == 2 * W;
    for (int i = 0; twice && i < OH; i++) twice = rows[i] == i / 2;
    for (int i = 0; twice && i < OW; i++) twice = cols[i] == i / 2;
    if (twice) {
        for (int p = p0; p < p1; p++)
            for (int r = 0; r < H; r++) {
                size_t src = ((size_t)p * H + r) * W, dst = ((size_t)p * OH + 2 * r) * OW;
                if (elem == 4) double_row_f32((const float *)x + src, W, (float *)y + dst);
                else double_row_u8((const uint8_t *)x + src, W, (uint8_t *)y + dst);
                memcpy((char *)y + (dst + OW) * elem, (char *)y + dst * elem, (size_t)OW * elem);
            }
        return;
    }
    for (int p = p0; p < p1; p++) {
        for (int oh = 0; oh < OH; oh++) {
            size_t src = ((size_t)p * H + (size_t)rows[oh]) * W, dst = ((size_t)p * OH + oh) * OW;
            if (elem == 4) {
                const float *xs = (const float *)x + src; float *ys = (float *)y + dst;
                for (int ow = 0; ow < OW; ow++) ys[ow] = xs[cols[ow]];
            } else {
                const uint8_t *xs = (const uint8_t *)x + src; uint8_t *ys = (uint8_t *)y + dst;
                for (int ow = 0; ow < OW; ow++) ys[ow] = xs[cols[ow]];
            }
        }
    }
}

#if defined(__x86_64__)
/// e^x on 16 lanes (Cephes' range reduction and polynomial; within 2 ulp of expf, not bit-identical to it).
T512 static inline __m512 exp16(__m512 x) {
    x = _mm512_max_ps(x, _mm512_set1_ps(-87.33654f));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.f)));
    return _mm512_scalef_ps(p, n);
}

/// Softmax (not log) over n values spaced `inner` apart, 16 lines at a time; returns the lines done.
T512 static int softmax_avx512(const float *x, float *y, int n, int inner) {
    int in = 0;
    for (; in + 16 <= inner; in += 16) {
        __m512 m = _mm512_set1_ps(-INFINITY), s = _mm512_setzero_ps();
        for (int i = 0; i < n; i++) m = _mm512_max_ps(m, _mm512_loadu_ps(x + (size_t)i * inner + in));
        for (int i = 0; i < n; i++) {
            __m512 e = exp16(_mm512_sub_ps(_mm512_loadu_ps(x + (size_t)i * inner + in), m));
            _mm512_storeu_ps(y + (size_t)i * inner + in, e);
            s = _mm512_add_ps(s, e);
        }
        __m512 inv = _mm512_div_ps(_mm512_set1_ps(1.f), s);
        for (int i = 0; i < n; i++) _mm512_storeu_ps(y + (size_t)i * inner + in, _mm512_mul_ps(_mm512_loadu_ps(y + (size_t)i * inner + in), inv));
    }
    return in;
}
#endif

void ck_softmax_f32(const float *x, float *y, int outer, int n, int inner, int log) {
    for (int o = 0; o < outer; o++) {
        int start = 0;
#if defined(__x86_64__)
        if (!log && ck_have_avx512()) start = softmax_avx512(x + (size_t)o * n * inner, y + (size_t)o * n * inner, n, inner);
#endif
        for (int in = start; in < inner; in++) {
        const float *px = x + (size_t)o * n * inner + in;
        float *py = y + (size_t)o * n * inner + in;
        float m = -INFINITY;
        for (int i = 0; i < n; i++) if (px[(size_t)i * inner] > m) m = px[(size_t)i * inner];
        float s = 0;
        for (int i = 0; i < n; i++) { float e = expf(px[(size_t)i * inner] - m); py[(size_t)i * inner] = e; s += e; }
        if (log) { float ls = logf(s); for (int i = 0; i < n; i++) py[(size_t)i * inner] = px[(size_t)i * inner] - m - ls; }
        else { float inv = 1.f / s; for (int i = 0; i < n; i++) py[(size_t)i * inner] *= inv; }
        }
    }
}
