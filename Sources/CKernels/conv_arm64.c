// ARM64 kernels of the convolutions. Integer: NEON with the dot-product extension (ARMv8.2 dotprod, as on Jetson
// Xavier and Orin). sdot multiplies signed bytes only (the mixed-sign usdot needs i8mm, which those lack), so
// the kernel flips each u8 activation to s8 (x ^ 0x80 = x - 128) and the packer adds 128 * sum(w) to each
// channel's compensation (comp_shift): acc + comp is then the same int32 as the u8 product would give. The
// epilogue does the scalar epilogue's float operations in its order (fused multiply-adds only where
// ck_logistic has them), so results agree with the scalar path bit for bit. The file builds with plain
// -march=armv8-a: only the GEMM is compiled for dotprod, and the dispatcher calls it only where HWCAP says so.
// Float: a plain NEON FMA GEMM with the pixels in vector lanes, bit-identical to the scalar one.
#include "conv_internal.h"
#if defined(__aarch64__)
#include <arm_neon.h>

#pragma STDC FP_CONTRACT OFF

// GCC's arm_neon.h declares the dot-product intrinsics for arch=armv8.2-a+dotprod and inlines them only into
// functions of that target; clang accepts the same spelling.
#define TDOT __attribute__((target("arch=armv8.2-a+dotprod")))

// 6 channels × 16 pixels: 24 accumulators, 4 activation vectors and 2 weight vectors of the 32 registers.
#define MR 6
#define NR 16

// The accumulators are named variables, not an array: GCC at -O2 would keep an array in memory.
#define ROW_DECL(i) int32x4_t c##i##0 = vdupq_n_s32(0), c##i##1 = c##i##0, c##i##2 = c##i##0, c##i##3 = c##i##0
#define ROW_DOT(i, DOT, wv, lane)                    \
    c##i##0 = DOT(c##i##0, a0, wv, lane);            \
    c##i##1 = DOT(c##i##1, a1, wv, lane);            \
    c##i##2 = DOT(c##i##2, a2, wv, lane);            \
    c##i##3 = DOT(c##i##3, a3, wv, lane)
#define ROW_STORE(i)                                 \
    vst1q_s32(acc + i * NR, c##i##0);                \
    vst1q_s32(acc + i * NR + 4, c##i##1);            \
    vst1q_s32(acc + i * NR + 8, c##i##2);            \
    vst1q_s32(acc + i * NR + 12, c##i##3)

TDOT static void gemm_neondot(const uint8_t *act, const int64_t *koff, const int8_t *w, int kq, int32_t *acc) {
    ROW_DECL(0); ROW_DECL(1); ROW_DECL(2); ROW_DECL(3); ROW_DECL(4); ROW_DECL(5);
    const uint8x16_t flip = vdupq_n_u8(0x80);
    for (int k = 0; k < kq; k++, w += 4 * MR) {
        const uint8_t *panel = act + koff[k];
        // aj: pixels 4j..4j+3, four bytes each, as s8; w0 holds channels 0-3, w1 channels 4-5.
        int8x16_t a0 = vreinterpretq_s8_u8(veorq_u8(vld1q_u8(panel), flip));
        int8x16_t a1 = vreinterpretq_s8_u8(veorq_u8(vld1q_u8(panel + 16), flip));
        int8x16_t a2 = vreinterpretq_s8_u8(veorq_u8(vld1q_u8(panel + 32), flip));
        int8x16_t a3 = vreinterpretq_s8_u8(veorq_u8(vld1q_u8(panel + 48), flip));
        int8x16_t w0 = vld1q_s8(w);
        int8x8_t w1 = vld1_s8(w + 16);
        ROW_DOT(0, vdotq_laneq_s32, w0, 0);
        ROW_DOT(1, vdotq_laneq_s32, w0, 1);
        ROW_DOT(2, vdotq_laneq_s32, w0, 2);
        ROW_DOT(3, vdotq_laneq_s32, w0, 3);
        ROW_DOT(4, vdotq_lane_s32, w1, 0);
        ROW_DOT(5, vdotq_lane_s32, w1, 1);
    }
    ROW_STORE(0); ROW_STORE(1); ROW_STORE(2); ROW_STORE(3); ROW_STORE(4); ROW_STORE(5);
}

/// ck_logistic on four lanes: the same clamp, the same fused multiply-adds, division and select.
static inline float32x4_t logistic4(float32x4_t x) {
    float32x4_t v = vminq_f32(vmaxq_f32(x, vdupq_n_f32(-18.f)), vdupq_n_f32(18.f));
    float32x4_t v2 = vmulq_f32(v, v);
    float32x4_t p = vfmaq_f32(vdupq_n_f32(CK_LOGISTIC_P3), v2, vdupq_n_f32(CK_LOGISTIC_P4));
    p = vfmaq_f32(vdupq_n_f32(CK_LOGISTIC_P2), p, v2);
    p = vfmaq_f32(vdupq_n_f32(CK_LOGISTIC_P1), p, v2);
    p = vfmaq_f32(vdupq_n_f32(CK_LOGISTIC_P0), p, v2);
    p = vmulq_f32(p, v);
    float32x4_t q = vfmaq_f32(vdupq_n_f32(CK_LOGISTIC_Q4), v2, vdupq_n_f32(CK_LOGISTIC_Q5));
    q = vfmaq_f32(vdupq_n_f32(CK_LOGISTIC_Q3), q, v2);
    q = vfmaq_f32(vdupq_n_f32(CK_LOGISTIC_Q2), q, v2);
    q = vfmaq_f32(vdupq_n_f32(CK_LOGISTIC_Q1), q, v2);
    q = vfmaq_f32(vdupq_n_f32(CK_LOGISTIC_Q0), q, v2);
    float32x4_t r = vaddq_f32(vdivq_f32(p, q), vdupq_n_f32(0.5f));
    // r < 0 ? 0 : r (a select, not fmax, which would turn -0 into +0)
    return vbslq_f32(vcltq_f32(r, vdupq_n_f32(0.f)), vdupq_n_f32(0.f), r);
}

/// 256-entry table on 16 bytes: four 64-byte lookups; indices outside a quarter leave the byte as it is.
static inline uint8x16_t lut16(const uint8x16x4_t t[4], uint8x16_t idx) {
    uint8x16_t r = vqtbl4q_u8(t[0], idx);
    r = vqtbx4q_u8(r, t[1], vsubq_u8(idx, vdupq_n_u8(64)));
    r = vqtbx4q_u8(r, t[2], vsubq_u8(idx, vdupq_n_u8(128)));
    return vqtbx4q_u8(r, t[3], vsubq_u8(idx, vdupq_n_u8(192)));
}

static void epilogue_neon(const ck_qconv *p, const ck_qep *e, const int32_t *acc, int co, int rows, void *out, size_t ostride) {
    int mode = p->out_mode;
    float32x4_t yscale = vdupq_n_f32(p->y_scale), yzp = vdupq_n_f32((float)p->y_zp);
    float32x4_t lo = vdupq_n_f32(p->y_signed ? -128.f : 0.f), hi = vdupq_n_f32(p->y_signed ? 127.f : 255.f);
    int quantized = mode == 0 || mode == 2;
    uint8x16x4_t t[4];
    if (quantized && p->lut)
        for (int b = 0; b < 4; b++)
            for (int r = 0; r < 4; r++) t[b].val[r] = vld1q_u8(p->lut + 64 * b + 16 * r);
    for (int i = 0; i < rows; i++) {
        int32x4_t comp = vdupq_n_s32(e->comp[co + i]);
        float32x4_t mul = vdupq_n_f32(e->mul[co + i]), bias = vdupq_n_f32(e->bias[co + i]);
        int32x4_t n[4];
        for (int j = 0; j < 4; j++) {
            float32x4_t v = vmulq_f32(vcvtq_f32_s32(vaddq_s32(vld1q_s32(acc + i * NR + 4 * j), comp)), mul);
            if (mode != 0) {
                v = vaddq_f32(v, bias);
                if (mode != 1) v = vmulq_f32(v, logistic4(v));
                if (mode == 1 || mode == 3) { vst1q_f32((float *)out + i * ostride + 4 * j, v); continue; }
                v = vdivq_f32(v, yscale);  // QuantizeLinear divides
            }
            float32x4_t q = vaddq_f32(vrndnq_f32(v), yzp);
            q = vminq_f32(vmaxq_f32(q, lo), hi);
            n[j] = vcvtq_s32_f32(q);  // integral values in [-128, 255]: the low byte is the output byte
        }
        if (!quantized) continue;
        int16x8_t h0 = vcombine_s16(vmovn_s32(n[0]), vmovn_s32(n[1])), h1 = vcombine_s16(vmovn_s32(n[2]), vmovn_s32(n[3]));
        uint8x16_t b = vreinterpretq_u8_s8(vcombine_s8(vmovn_s16(h0), vmovn_s16(h1)));
        if (p->lut) b = lut16(t, b);
        vst1q_u8((uint8_t *)out + i * ostride, b);
    }
}

// MARK: float convolution: 8 channels × 12 pixels (24 accumulators, 3 activation and 2 weight vectors), plain NEON

#define FROW_DECL(i) float32x4_t f##i##0 = vdupq_n_f32(bias[i]), f##i##1 = f##i##0, f##i##2 = f##i##0
#define FROW_FMA(i, wv, lane)                          \
    f##i##0 = vfmaq_laneq_f32(f##i##0, a0, wv, lane);  \
    f##i##1 = vfmaq_laneq_f32(f##i##1, a1, wv, lane);  \
    f##i##2 = vfmaq_laneq_f32(f##i##2, a2, wv, lane)
#define FROW_STORE(i)                                                    \
    if (i < rows) {                                                      \
        float *o = out + (size_t)i * ostride;                            \
        if (silu) {                                                      \
            f##i##0 = vmulq_f32(f##i##0, logistic4(f##i##0));            \
            f##i##1 = vmulq_f32(f##i##1, logistic4(f##i##1));            \
            f##i##2 = vmulq_f32(f##i##2, logistic4(f##i##2));            \
        }                                                                \
        vst1q_f32(o, f##i##0); vst1q_f32(o + 4, f##i##1); vst1q_f32(o + 8, f##i##2); \
    }

static void fgemm_neon(const float *a, const int64_t *koff, const float *w, int K, const float *bias, int silu, int rows,
                       float *out, size_t ostride) {
    FROW_DECL(0); FROW_DECL(1); FROW_DECL(2); FROW_DECL(3); FROW_DECL(4); FROW_DECL(5); FROW_DECL(6); FROW_DECL(7);
    for (int k = 0; k < K; k++, w += 8) {
        const float *ak = a + koff[k];
        float32x4_t a0 = vld1q_f32(ak), a1 = vld1q_f32(ak + 4), a2 = vld1q_f32(ak + 8);
        float32x4_t w0 = vld1q_f32(w), w1 = vld1q_f32(w + 4);
        FROW_FMA(0, w0, 0); FROW_FMA(1, w0, 1); FROW_FMA(2, w0, 2); FROW_FMA(3, w0, 3);
        FROW_FMA(4, w1, 0); FROW_FMA(5, w1, 1); FROW_FMA(6, w1, 2); FROW_FMA(7, w1, 3);
    }
    FROW_STORE(0) FROW_STORE(1) FROW_STORE(2) FROW_STORE(3) FROW_STORE(4) FROW_STORE(5) FROW_STORE(6) FROW_STORE(7)
}

const ck_fisa ck_fisa_neon = {8, 12, fgemm_neon};

const ck_qisa ck_qisa_neondot = {MR, NR, gemm_neondot, epilogue_neon, 128};
#endif
