// Integer convolution: packing, the three ways activations reach the GEMM, the driver and the portable scalar
// kernels (the oracle of the SIMD ones in conv_x86.c and conv_arm64.c).
//
// - SRC_DIRECT (1×1, stride 1, no padding): each panel is interleaved from the input's channel rows.
// - SRC_QUADS (other group-1 convs): the input is copied once into zero-point-padded phase planes of four
//   channels each, four bytes per pixel (the GEMM's group of four), and K is ordered tap by tap, four channels
//   at a time. A panel of any tap is then 4*NR consecutive bytes of one quad plane: the GEMM reads it in place,
//   so a 3×3 input is not re-interleaved once per tap.
// - SRC_PHASES (grouped and depthwise convs): one phase plane per channel, panels interleaved from its rows.
#include "conv_internal.h"
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#elif defined(__aarch64__)
#include <arm_neon.h>
#endif

#pragma STDC FP_CONTRACT OFF

enum { SRC_DIRECT = 0, SRC_PHASES = 1, SRC_QUADS = 2 };
#define MAX_NR 64

/// Where everything of one conv lives, from its geometry and instruction set.
typedef struct layout {
    const ck_qisa *k;
    int src, kq, Kp, tiles, coutp;
    int cpg, cg, tpg;  // output and input channels per group, weight tiles per group (tiles = group * tpg)
    int quads;        // SRC_QUADS: groups of four input channels
    size_t goff;       // bytes from one group's input channels to the next (in the input or the phase planes)
    int gw;           // width of the pixel grid (OW, or the width of the phase planes)
    int gh;           // rows of the phase planes
    int gridN;        // pixels in the grid
    int panels;
    size_t plane;     // pixels per phase plane (one byte each, four in SRC_QUADS); a channel (quad) has stride² of them
    size_t off_koff, off_w, off_comp, off_mul, off_bias, total;
} layout;

static size_t up64(size_t n) { return (n + 63) & ~(size_t)63; }

static layout make_layout(const ck_qconv *p, int isa) {
    layout l;
    l.k = ck_qisa_get(isa);
    if (p->kh == 1 && p->kw == 1 && p->sh == 1 && p->sw == 1 && p->ph == 0 && p->pw == 0 && p->OH == p->H && p->OW == p->W)
        l.src = SRC_DIRECT;
    else l.src = p->group == 1 ? SRC_QUADS : SRC_PHASES;
    l.cpg = p->cout / p->group; l.cg = p->cin / p->group;
    l.quads = (l.cg + 3) / 4;
    l.kq = l.src == SRC_QUADS ? p->kh * p->kw * l.quads : (p->K + 3) / 4;
    l.Kp = l.kq * 4;
    l.tpg = (l.cpg + l.k->mr - 1) / l.k->mr;
    l.tiles = l.tpg * p->group;
    l.coutp = l.tiles * l.k->mr;
    l.plane = 0;
    l.gw = p->OW; l.gh = p->OH;
    if (l.src != SRC_DIRECT) {
        l.gw = p->OW + (p->kw - 1) * p->dw / p->sw;
        l.gh = p->OH + (p->kh - 1) * p->dh / p->sh;
        l.plane = up64((size_t)l.gh * l.gw + (size_t)(l.gw - p->OW) + MAX_NR);
    }
    l.gridN = p->OH * l.gw;
    l.goff = l.src == SRC_DIRECT ? (size_t)l.cg * p->H * p->W : (size_t)l.cg * p->sh * p->sw * l.plane;
    l.panels = (l.gridN + l.k->nr - 1) / l.k->nr;
    l.off_koff = up64((size_t)l.Kp * sizeof(int64_t));
    l.off_w = l.off_koff + up64((size_t)l.kq * sizeof(int64_t));
    l.off_comp = l.off_w + up64((size_t)l.coutp * l.Kp);
    l.off_mul = l.off_comp + up64((size_t)l.coutp * 4);
    l.off_bias = l.off_mul + up64((size_t)l.coutp * 4);
    l.total = l.off_bias + up64((size_t)l.coutp * 4);
    return l;
}

size_t ck_qconv_pack(const ck_qconv *p, int isa, void *blob) {
    layout l = make_layout(p, isa);
    if (!blob) return l.total;
    uint8_t *b = blob;
    memset(b, 0, l.total);
    int64_t *rowoff = (int64_t *)b, *koff = (int64_t *)(b + l.off_koff);
    int taps = p->kh * p->kw, nr = l.k->nr;
    for (int k = 0; k < l.kq; k++) {
        if (l.src != SRC_QUADS) { koff[k] = (int64_t)k * 4 * nr; continue; }  // the packed panel
        int t = k / l.quads, q = k % l.quads, ti = t / p->kw * p->dh, tj = t % p->kw * p->dw;
        int64_t phase = (int64_t)q * p->sh * p->sw + (ti % p->sh) * p->sw + tj % p->sw;
        koff[k] = (phase * (int64_t)l.plane + (int64_t)(ti / p->sh) * l.gw + tj / p->sw) * 4;
    }
    for (int k = 0; k < l.Kp; k++) {
        if (k >= p->K || l.src == SRC_QUADS) { rowoff[k] = -1; continue; }
        int c = k / taps, t = k % taps, i = t / p->kw, j = t % p->kw;
        if (l.src == SRC_DIRECT) { rowoff[k] = (int64_t)c * p->H * p->W; continue; }
        int ti = i * p->dh, tj = j * p->dw;
        int64_t phase = (int64_t)c * p->sh * p->sw + (ti % p->sh) * p->sw + tj % p->sw;
        rowoff[k] = phase * (int64_t)l.plane + (int64_t)(ti / p->sh) * l.gw + tj / p->sw;
    }
    int mr = l.k->mr;
    int8_t *w = (int8_t *)(b + l.off_w);
    int32_t *comp = (int32_t *)(b + l.off_comp);
    float *mul = (float *)(b + l.off_mul), *bias = (float *)(b + l.off_bias);
    for (int co = 0; co < p->cout; co++) {
        int g = co / l.cpg, local = co % l.cpg;
        int t = g * l.tpg + local / mr, r = local % mr, pco = t * mr + r;  // pco: index in the padded constants
        int32_t sum = 0;
        for (int k = 0; k < p->K; k++) {
            int8_t v = p->w[(size_t)co * p->K + k];
            sum += v;
            // SRC_QUADS orders K by tap, then channel: weight (c, tap) is at tap * 4 * quads + c.
            int kk = l.src == SRC_QUADS ? k % taps * 4 * l.quads + k / taps : k;
            w[(((size_t)t * l.kq + kk / 4) * mr + r) * 4 + kk % 4] = v;
        }
        comp[pco] = p->comp[co] + l.k->comp_shift * sum;
        mul[pco] = p->mul[co];
        bias[pco] = p->bias ? p->bias[co] : 0.f;
    }
    return l.total;
}

size_t ck_qconv_shared_scratch(const ck_qconv *p) {
    layout l = make_layout(p, p->isa);
    if (l.src == SRC_QUADS) return l.plane * 4 * (size_t)l.quads * p->sh * p->sw;
    return l.src == SRC_PHASES ? l.plane * (size_t)p->cin * p->sh * p->sw : 0;
}

size_t ck_qconv_task_scratch(const ck_qconv *p) {
    layout l = make_layout(p, p->isa);
    size_t tile = (size_t)l.k->mr * l.k->nr * 4;
    return up64((size_t)l.Kp * l.k->nr) + 2 * up64(tile) + up64(4 * MAX_NR) + 64;
}

int ck_qconv_panels(const ck_qconv *p) { return make_layout(p, p->isa).panels; }

/// Splits a row into its `s` phases (every s-th byte from offset b) with the sign flip applied.
static void deinterleave(const uint8_t *x, int n, int s, uint8_t flip, uint8_t *out, int stride) {
    int t = 0;
    if (s == 1) {
        if (!flip) memcpy(out, x, (size_t)n);
        else for (int i = 0; i < n; i++) out[i] = x[i] ^ flip;
        return;
    }
#if defined(__SSE2__)
    if (s == 2) {
        __m128i f = _mm_set1_epi8((char)flip), lo = _mm_set1_epi16(0xFF);
        for (; 2 * t + 32 <= n; t += 16) {
            __m128i a = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(x + 2 * t)), f);
            __m128i b = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(x + 2 * t + 16)), f);
            _mm_storeu_si128((__m128i *)(out + t), _mm_packus_epi16(_mm_and_si128(a, lo), _mm_and_si128(b, lo)));
            _mm_storeu_si128((__m128i *)(out + stride + t), _mm_packus_epi16(_mm_srli_epi16(a, 8), _mm_srli_epi16(b, 8)));
        }
    }
#endif
    for (; s * t < n; t++)
        for (int b = 0; b < s && s * t + b < n; b++) out[b * stride + t] = x[s * t + b] ^ flip;
}

static void interleave4(const uint8_t *r0, const uint8_t *r1, const uint8_t *r2, const uint8_t *r3, int nr, uint8_t flip,
                        uint8_t *out);

/// Row r of channel c's phase planes (a, b) for b < stride, into dst[b] (gw bytes each): the zero-point-padded
/// input at row r*sh + a - ph and columns q*sw + b - pw, sign-flipped to u8.
static void phase_rows(const ck_qconv *p, const layout *l, const uint8_t *xc, int a, int r, uint8_t *phases, int span,
                       uint8_t flip, uint8_t zp, uint8_t *const *dst) {
    int s = p->sw, xr = r * p->sh + a - p->ph;
    if (xr < 0 || xr >= p->H) {
        for (int b = 0; b < s; b++) memset(dst[b], zp, (size_t)l->gw);
        return;
    }
    const uint8_t *src = phases;
    if (s == 1 && !flip) src = xc + (size_t)xr * p->W;  // one phase, unchanged: copy straight from the input
    else deinterleave(xc + (size_t)xr * p->W, p->W, s, flip, phases, span + 16);
    for (int b = 0; b < s; b++) {
        // plane column q is input column q*s + b - pw = s*t + e with e the phase of the input row
        uint8_t *d = dst[b];
        int off = b - p->pw, e = ((off % s) + s) % s, shift = (off - e) / s;  // column q reads phases[e][q + shift]
        int count = (p->W - e + s - 1) / s;     // bytes in phase e
        int q0 = shift < 0 ? -shift : 0, q1 = count - shift < l->gw ? count - shift : l->gw;
        if (q0 > l->gw) q0 = l->gw;
        if (q1 < q0) q1 = q0;
        for (int q = 0; q < q0; q++) d[q] = zp;  // a pad column or two: no library call
        memcpy(d + q0, src + (size_t)e * (span + 16) + q0 + shift, (size_t)(q1 - q0));
        for (int q = q1; q < l->gw; q++) d[q] = zp;
    }
}

/// Phase planes: for stride s, s*s planes per channel (SRC_PHASES) or per quad of channels (SRC_QUADS, four bytes
/// per pixel), plane (a, b) holding the zero-point-padded input at rows r*s + a and columns q*s + b. Every tap of
/// the conv is then a shifted row of one plane, a stride-1 access. Channels [c0, c1); in SRC_QUADS the quads
/// whose first channel is in that range, so any split of the channels gives each quad to one caller.
void ck_qconv_prepare(const ck_qconv *p, const void *x, uint8_t *shared, int c0, int c1) {
    layout l = make_layout(p, p->isa);
    if (l.src == SRC_DIRECT) return;
    const uint8_t *xb = x;
    uint8_t flip = p->x_signed ? 0x80 : 0, zp = (uint8_t)p->x_zp;
    int s = p->sw, sv = p->sh, nph = s * sv;
    int span = (p->W + s - 1) / s;                  // bytes per phase of one input row
    uint8_t phases[s * (span + 16)];
    size_t filled = (size_t)l.gh * l.gw;
    if (l.src == SRC_PHASES) {
        for (int c = c0; c < c1; c++) {
            const uint8_t *xc = xb + (size_t)c * p->H * p->W;
            for (int a = 0; a < sv; a++) for (int r = 0; r < l.gh; r++) {
                uint8_t *dst[s];
                for (int b = 0; b < s; b++) dst[b] = shared + ((size_t)c * nph + (size_t)a * s + b) * l.plane + (size_t)r * l.gw;
                phase_rows(p, &l, xc, a, r, phases, span, flip, zp, dst);
            }
            for (int ph = 0; ph < nph; ph++) {
                uint8_t *d = shared + ((size_t)c * nph + ph) * l.plane;
                memset(d + filled, zp, l.plane - filled);
            }
        }
        return;
    }
    if (s == 1 && sv == 1) {
        // Stride 1: one plane per quad, whose row r is input row r - ph shifted right by pw: the four channels'
        // input rows are interleaved straight into it, the pad columns written as zero points.
        int q0 = p->pw < l.gw ? p->pw : l.gw, q1 = p->W + p->pw < l.gw ? p->W + p->pw : l.gw;
        uint8_t zrow[p->W];
        memset(zrow, zp ^ flip, (size_t)p->W);  // padding channels (weights 0): any bytes would do
        for (int q = (c0 + 3) / 4; q < (c1 + 3) / 4 && 4 * q < p->cin; q++) {
            uint8_t *plane = shared + (size_t)q * l.plane * 4;
            for (int r = 0; r < l.gh; r++) {
                uint8_t *d = plane + (size_t)r * l.gw * 4;
                int xr = r - p->ph;
                if (xr < 0 || xr >= p->H) { memset(d, zp, (size_t)l.gw * 4); continue; }
                const uint8_t *row[4];
                for (int cb = 0; cb < 4; cb++)
                    row[cb] = 4 * q + cb < p->cin ? xb + (size_t)(4 * q + cb) * p->H * p->W + (size_t)xr * p->W + (q0 - p->pw) : zrow;
                memset(d, zp, (size_t)q0 * 4);
                int n = q1 - q0, n16 = n & ~15;
                interleave4(row[0], row[1], row[2], row[3], n16, flip, d + (size_t)q0 * 4);
                for (int i = n16; i < n; i++)
                    for (int cb = 0; cb < 4; cb++) d[(size_t)(q0 + i) * 4 + cb] = row[cb][i] ^ flip;
                memset(d + (size_t)q1 * 4, zp, (size_t)(l.gw - q1) * 4);
            }
            memset(plane + filled * 4, zp, (l.plane - filled) * 4);
        }
        return;
    }
#if defined(__SSE2__) || defined(__aarch64__)
    if (s == 2 && sv == 2) {
        // Stride 2: the four channels' input rows split into even and odd columns and interleaved straight into the
        // two phase planes that take them (even column 2j goes to plane b = pw % 2 at q = j + pw / 2, odd column
        // 2j + 1 to the other at q = j + (pw + 1) / 2), 16 pixels at a time; the rest and the pad columns one by one.
        int be = p->pw & 1, qe = p->pw >> 1, qo = (p->pw + 1) >> 1;
        uint8_t zrow[p->W + 32];
        memset(zrow, zp ^ flip, sizeof zrow);  // padding channels (weights 0): any bytes would do
        for (int q = (c0 + 3) / 4; q < (c1 + 3) / 4 && 4 * q < p->cin; q++) {
            for (int a = 0; a < 2; a++) for (int r = 0; r < l.gh; r++) {
                uint8_t *d[2];
                for (int b = 0; b < 2; b++) d[b] = shared + (((size_t)q * 4 + (size_t)a * 2 + b) * l.plane + (size_t)r * l.gw) * 4;
                int xr = 2 * r + a - p->ph;
                if (xr < 0 || xr >= p->H) { for (int b = 0; b < 2; b++) memset(d[b], zp, (size_t)l.gw * 4); continue; }
                const uint8_t *row[4];
                for (int cb = 0; cb < 4; cb++)
                    row[cb] = 4 * q + cb < p->cin ? xb + (size_t)(4 * q + cb) * p->H * p->W + (size_t)xr * p->W : zrow;
                uint8_t *de = d[be], *dodd = d[1 - be];
                // Plane columns that no input column reaches: zero points.
                for (int c = 0; c < l.gw; c++) {
                    int je = c - qe, jo = c - qo;
                    if (je < 0 || 2 * je >= p->W) memset(de + (size_t)c * 4, zp, 4);
                    if (jo < 0 || 2 * jo + 1 >= p->W) memset(dodd + (size_t)c * 4, zp, 4);
                }
                int j = 0;
                for (; 2 * j + 32 <= p->W && j + qo + 16 <= l.gw; j += 16) {
                    uint8_t ev[4][16], od[4][16];
                    for (int cb = 0; cb < 4; cb++) {
#if defined(__SSE2__)
                        __m128i lo = _mm_set1_epi16(0xFF);
                        __m128i x0 = _mm_loadu_si128((const __m128i *)(row[cb] + 2 * j));
                        __m128i x1 = _mm_loadu_si128((const __m128i *)(row[cb] + 2 * j + 16));
                        _mm_storeu_si128((__m128i *)ev[cb], _mm_packus_epi16(_mm_and_si128(x0, lo), _mm_and_si128(x1, lo)));
                        _mm_storeu_si128((__m128i *)od[cb], _mm_packus_epi16(_mm_srli_epi16(x0, 8), _mm_srli_epi16(x1, 8)));
#else
                        uint8x16x2_t v = vld2q_u8(row[cb] + 2 * j);
                        vst1q_u8(ev[cb], v.val[0]);
                        vst1q_u8(od[cb], v.val[1]);
#endif
                    }
                    interleave4(ev[0], ev[1], ev[2], ev[3], 16, flip, de + (size_t)(j + qe) * 4);
                    interleave4(od[0], od[1], od[2], od[3], 16, flip, dodd + (size_t)(j + qo) * 4);
                }
                for (; 2 * j < p->W; j++)
                    for (int cb = 0; cb < 4; cb++) {
                        if (j + qe < l.gw) de[(size_t)(j + qe) * 4 + cb] = row[cb][2 * j] ^ flip;
                        if (2 * j + 1 < p->W && j + qo < l.gw) dodd[(size_t)(j + qo) * 4 + cb] = row[cb][2 * j + 1] ^ flip;
                    }
            }
            for (int ph = 0; ph < 4; ph++) {
                uint8_t *dd = shared + ((size_t)q * 4 + ph) * l.plane * 4;
                memset(dd + filled * 4, zp, (l.plane - filled) * 4);
            }
        }
        return;
    }
#endif
    // Strided: each channel's phase rows, then the four channels' rows interleaved into each phase's quad plane
    // row (whole groups of 16 pixels: the few written past the row are overwritten by the next row or padding).
    int gwp = (l.gw + 15) & ~15;
    uint8_t rows[s][4][gwp];
    memset(rows, zp, sizeof rows);  // the columns past gw are interleaved too (and then overwritten)
    for (int q = (c0 + 3) / 4; q < (c1 + 3) / 4 && 4 * q < p->cin; q++) {
        for (int a = 0; a < sv; a++) for (int r = 0; r < l.gh; r++) {
            for (int cb = 0; cb < 4; cb++) {
                uint8_t *dst[s];
                for (int b = 0; b < s; b++) dst[b] = rows[b][cb];
                int c = 4 * q + cb;
                if (c < p->cin) phase_rows(p, &l, xb + (size_t)c * p->H * p->W, a, r, phases, span, flip, zp, dst);
                else for (int b = 0; b < s; b++) memset(dst[b], zp, (size_t)gwp);
            }
            for (int b = 0; b < s; b++)
                interleave4(rows[b][0], rows[b][1], rows[b][2], rows[b][3], gwp, 0,
                            shared + (((size_t)q * nph + (size_t)a * s + b) * l.plane + (size_t)r * l.gw) * 4);
        }
        for (int ph = 0; ph < nph; ph++) {
            uint8_t *d = shared + ((size_t)q * nph + ph) * l.plane * 4;
            memset(d + filled * 4, zp, (l.plane - filled) * 4);
        }
    }
}

/// memcpy for the short runs of a panel (at most NR elements): unaligned 16- or 8-byte moves, the last one
/// overlapping, instead of a library call per run.
static inline void copy_run(uint8_t *d, const uint8_t *s, size_t n) {
    if (n >= 16) {
        for (size_t i = 0; i + 16 < n; i += 16) __builtin_memcpy(d + i, s + i, 16);
        __builtin_memcpy(d + n - 16, s + n - 16, 16);
    } else if (n >= 8) {
        __builtin_memcpy(d, s, 8);
        __builtin_memcpy(d + n - 8, s + n - 8, 8);
    } else {
        for (size_t i = 0; i < n; i++) d[i] = s[i];
    }
}

/// out[px*4 + b] = rows[b][px] ^ flip for px < nr (a multiple of 16): the four-byte groups of one kq.
static void interleave4(const uint8_t *r0, const uint8_t *r1, const uint8_t *r2, const uint8_t *r3, int nr, uint8_t flip,
                        uint8_t *out) {
#if defined(__SSE2__)
    __m128i f = _mm_set1_epi8((char)flip);
    for (int px = 0; px < nr; px += 16, out += 64) {
        __m128i a = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(r0 + px)), f);
        __m128i b = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(r1 + px)), f);
        __m128i c = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(r2 + px)), f);
        __m128i d = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(r3 + px)), f);
        __m128i ab0 = _mm_unpacklo_epi8(a, b), ab1 = _mm_unpackhi_epi8(a, b);
        __m128i cd0 = _mm_unpacklo_epi8(c, d), cd1 = _mm_unpackhi_epi8(c, d);
        _mm_storeu_si128((__m128i *)out, _mm_unpacklo_epi16(ab0, cd0));
        _mm_storeu_si128((__m128i *)(out + 16), _mm_unpackhi_epi16(ab0, cd0));
        _mm_storeu_si128((__m128i *)(out + 32), _mm_unpacklo_epi16(ab1, cd1));
        _mm_storeu_si128((__m128i *)(out + 48), _mm_unpackhi_epi16(ab1, cd1));
    }
#elif defined(__aarch64__)
    uint8x16_t f = vdupq_n_u8(flip);
    for (int px = 0; px < nr; px += 16, out += 64) {
        uint8x16x4_t v = {{veorq_u8(vld1q_u8(r0 + px), f), veorq_u8(vld1q_u8(r1 + px), f),
                           veorq_u8(vld1q_u8(r2 + px), f), veorq_u8(vld1q_u8(r3 + px), f)}};
        vst4q_u8(out, v);
    }
#else
    for (int px = 0; px < nr; px++) {
        out[px * 4] = r0[px] ^ flip; out[px * 4 + 1] = r1[px] ^ flip;
        out[px * 4 + 2] = r2[px] ^ flip; out[px * 4 + 3] = r3[px] ^ flip;
    }
#endif
}

static const uint8_t zero_row[MAX_NR];

void ck_qconv_compute(const ck_qconv *p, const void *x, const uint8_t *shared, void *y, int n0, int n1, uint8_t *task) {
    layout l = make_layout(p, p->isa);
    const uint8_t *blob = p->packed;
    const int64_t *rowoff = (const int64_t *)blob, *koff = (const int64_t *)(blob + l.off_koff);
    const int8_t *w = (const int8_t *)(blob + l.off_w);
    ck_qep e = {(const int32_t *)(blob + l.off_comp), (const float *)(blob + l.off_mul), (const float *)(blob + l.off_bias)};
    int mr = l.k->mr, nr = l.k->nr;
    uint8_t *panel = task;
    int32_t *acc = (int32_t *)(task + up64((size_t)l.Kp * nr));
    uint8_t *tile = (uint8_t *)acc + up64((size_t)mr * nr * 4);
    uint8_t *tmp = tile + up64((size_t)mr * nr * 4);
    const uint8_t *src = l.src == SRC_DIRECT ? (const uint8_t *)x : shared;
    uint8_t flip = (l.src == SRC_DIRECT && p->x_signed) ? 0x80 : 0;
    int elem = (p->out_mode == 1 || p->out_mode == 3) ? 4 : 1;
    size_t N = (size_t)p->OH * p->OW;
    for (int n = n0; n < n1; n++) {
        int q0 = n * nr, cols = l.gridN - q0 < nr ? l.gridN - q0 : nr;
        // A last panel read straight from the input would read past its rows: copy them padded.
        int partial = l.src == SRC_DIRECT && cols < nr;
        // Where the panel's pixels go: at most a few runs of valid columns, the same for every output channel.
        int seg_tile[MAX_NR], seg_y[MAX_NR], seg_len[MAX_NR];
        int nseg = ck_panel_runs(q0, cols, l.gw, p->OW, seg_tile, seg_y, seg_len);
        int in_place = l.gw == p->OW && cols == nr;
        for (int g = 0; g < p->group; g++) {
            const uint8_t *gsrc = src + (size_t)g * l.goff;
            // SRC_QUADS: the GEMM reads the quad planes where they are; otherwise a panel is interleaved first.
            const uint8_t *act = l.src == SRC_QUADS ? shared + (size_t)q0 * 4 : panel;
            for (int kq = 0; kq < l.kq && l.src != SRC_QUADS; kq++) {
                const uint8_t *r[4];
                for (int b = 0; b < 4; b++) {
                    int64_t off = rowoff[kq * 4 + b];
                    if (off < 0) { r[b] = zero_row; continue; }
                    r[b] = gsrc + off + q0;
                    if (partial) {
                        memcpy(tmp + b * MAX_NR, r[b], (size_t)cols);
                        memset(tmp + b * MAX_NR + cols, 0, (size_t)(nr - cols));
                        r[b] = tmp + b * MAX_NR;
                    }
                }
                interleave4(r[0], r[1], r[2], r[3], nr, flip, panel + (size_t)kq * 4 * nr);
            }
            for (int tg = 0; tg < l.tpg; tg++) {
                int t = g * l.tpg + tg, local = tg * mr, rows = l.cpg - local < mr ? l.cpg - local : mr;
                int co = g * l.cpg + local;  // first output channel of the tile
                l.k->gemm(act, koff, w + (size_t)t * l.kq * mr * 4, l.kq, acc);
                if (in_place) {  // the panel is NR consecutive output pixels: straight into the output planes
                    l.k->epilogue(p, &e, acc, t * mr, rows, (uint8_t *)y + ((size_t)co * N + (size_t)q0) * elem, N);
                    continue;
                }
                l.k->epilogue(p, &e, acc, t * mr, rows, tile, (size_t)nr);
                for (int i = 0; i < rows; i++) {
                    const uint8_t *trow = tile + (size_t)i * nr * elem;
                    uint8_t *yc = (uint8_t *)y + (size_t)(co + i) * N * elem;
                    for (int sg = 0; sg < nseg; sg++)
                        copy_run(yc + (size_t)seg_y[sg] * elem, trow + (size_t)seg_tile[sg] * elem, (size_t)seg_len[sg] * elem);
                }
            }
        }
    }
}

// MARK: portable scalar kernels

#define SCALAR_MR 4
#define SCALAR_NR 16

static void gemm_scalar(const uint8_t *act, const int64_t *koff, const int8_t *w, int kq, int32_t *acc) {
    for (int i = 0; i < SCALAR_MR * SCALAR_NR; i++) acc[i] = 0;
    for (int k = 0; k < kq; k++, w += 4 * SCALAR_MR) {
        const uint8_t *panel = act + koff[k];
        for (int i = 0; i < SCALAR_MR; i++)
            for (int px = 0; px < SCALAR_NR; px++) {
                const uint8_t *a = panel + px * 4;
                const int8_t *b = w + i * 4;
                acc[i * SCALAR_NR + px] += a[0] * b[0] + a[1] * b[1] + a[2] * b[2] + a[3] * b[3];
            }
    }
}

/// Scalar epilogue for any tile width; SIMD epilogues fall back to it for what they do not cover.
static void epilogue_tile(const ck_qconv *p, const ck_qep *e, const int32_t *acc, int co, int rows, void *out, size_t ostride, int nr) {
    for (int i = 0; i < rows; i++)
        for (int px = 0; px < nr; px++)
            ck_qep_one(p, e->comp[co + i], e->mul[co + i], e->bias[co + i], acc[i * nr + px], out, (size_t)i * ostride + px);
}

static void epilogue_scalar(const ck_qconv *p, const ck_qep *e, const int32_t *acc, int co, int rows, void *out, size_t ostride) {
    epilogue_tile(p, e, acc, co, rows, out, ostride, SCALAR_NR);
}

void ck_qep_scalar(const ck_qconv *p, const ck_qep *e, const int32_t *acc, int co, int rows, void *out, size_t ostride) {
    epilogue_tile(p, e, acc, co, rows, out, ostride, ck_qisa_get(p->isa)->nr);
}

const ck_qisa ck_qisa_scalar = {SCALAR_MR, SCALAR_NR, gemm_scalar, epilogue_scalar, 0};
