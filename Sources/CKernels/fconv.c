// Float convolution (group 1): packing, the two ways activations reach the GEMM, the driver and the portable
// scalar kernel (the oracle of the SIMD ones in conv_x86.c and conv_arm64.c).
//
// - Direct (1×1, stride 1, no padding): a panel of any input channel is NR consecutive floats of its row, read in
//   place; only the last, partial panel is copied (zero-filled), so nothing is read past the input.
// - Planes (every other conv): the input is copied once into zero-padded phase planes, one per channel and
//   stride phase, plane (a, b) holding the input at rows r*sh + a - ph and columns q*sw + b - pw. Every tap is
//   then a shifted row of one plane: its panel is NR consecutive floats there, read in place. The pixel grid has
//   the planes' width; its extra columns are computed and never stored.
// - Winograd F(4×4, 3×3) (3×3, stride 1, pad 1, no dilation, output sides multiples of 4, at least WINO_MIN_CIN
//   input channels): the same planes, read as 6×6 patches of 4×4 output tiles. A panel is NR tiles; its patches
//   are transformed (Bᵀ d B) into 36 K×NR matrices, the GEMM multiplies each by its transformed weights (G g Gᵀ,
//   made at pack time), and the 36 products are transformed back (Aᵀ m A) to the tiles' outputs: 36 multiplies
//   for 16 outputs where the direct conv does 144. The transforms are the same C for every instruction set, with
//   no contraction, so every kernel still agrees with the scalar one bit for bit; against the definition the error
//   stays within a few float roundings of the terms' magnitudes.
// K is in ONNX order (channel, then tap); koff[k] is where element k's panel starts, relative to the panel's
// first pixel (Winograd: K is the input channels, and koff[k] = k * NR in the transformed panel).
#include "conv_internal.h"
#include <string.h>

#pragma STDC FP_CONTRACT OFF

#define MAX_NR 64

/// Winograd needs enough input channels for the GEMM to outweigh the transforms.
#define WINO_MIN_CIN 8

typedef struct flayout {
    const ck_fisa *k;
    int direct, wino, K, tiles, gw, gh, gridN, panels;
    int tw;        // Winograd: output tiles per row
    size_t plane;  // floats per phase plane
    size_t off_pkoff, off_w, off_bias, total;  // blob: koff[K], pkoff[K] (the copied panel), w, bias
} flayout;

static size_t up16(size_t n) { return (n + 15) & ~(size_t)15; }

static flayout make_flayout(const ck_fconv *p, int isa) {
    flayout l;
    l.k = ck_fisa_get(isa);
    l.direct = p->kh == 1 && p->kw == 1 && p->sh == 1 && p->sw == 1 && p->ph == 0 && p->pw == 0 && p->OH == p->H && p->OW == p->W;
    l.wino = p->kh == 3 && p->kw == 3 && p->sh == 1 && p->sw == 1 && p->dh == 1 && p->dw == 1 && p->ph == 1 && p->pw == 1 &&
             p->OH == p->H && p->OW == p->W && p->OH % 4 == 0 && p->OW % 4 == 0 && p->cin >= WINO_MIN_CIN;
    l.K = l.wino ? p->cin : p->cin * p->kh * p->kw;
    l.tiles = (p->cout + l.k->mr - 1) / l.k->mr;
    l.tw = p->OW / 4;
    l.gw = p->OW; l.gh = p->OH; l.plane = 0;
    if (!l.direct) {
        l.gw = p->OW + (p->kw - 1) * p->dw / p->sw;
        l.gh = p->OH + (p->kh - 1) * p->dh / p->sh;
        // A panel of the last grid row, shifted by the largest tap offset, ends before this.
        l.plane = up16((size_t)l.gh * l.gw + (size_t)(l.gw - p->OW) + MAX_NR);
    }
    l.gridN = l.wino ? (p->OH / 4) * l.tw : p->OH * l.gw;
    l.panels = (l.gridN + l.k->nr - 1) / l.k->nr;
    // In floats (the two offset tables take two floats per entry).
    l.off_pkoff = up16((size_t)l.K * 2);
    l.off_w = l.off_pkoff + up16((size_t)l.K * 2);
    l.off_bias = l.off_w + up16((size_t)(l.wino ? 36 : 1) * l.tiles * l.k->mr * l.K);
    l.total = l.off_bias + up16((size_t)l.tiles * l.k->mr);
    return l;
}

size_t ck_fconv_pack(const ck_fconv *p, int isa, void *blob) {
    flayout l = make_flayout(p, isa);
    if (!blob) return l.total * sizeof(float);
    float *b = blob;
    memset(b, 0, l.total * sizeof(float));
    int64_t *koff = (int64_t *)b, *pkoff = (int64_t *)(b + l.off_pkoff);
    int taps = p->kh * p->kw, mr = l.k->mr, nr = l.k->nr;
    for (int k = 0; k < l.K; k++) {
        int c = k / taps, t = k % taps, ti = t / p->kw * p->dh, tj = t % p->kw * p->dw;
        pkoff[k] = (int64_t)k * nr;
        if (l.wino) { koff[k] = (int64_t)k * nr; continue; }
        if (l.direct) { koff[k] = (int64_t)c * p->H * p->W; continue; }
        int64_t phase = (int64_t)c * p->sh * p->sw + (ti % p->sh) * p->sw + tj % p->sw;
        koff[k] = phase * (int64_t)l.plane + (int64_t)(ti / p->sh) * l.gw + tj / p->sw;
    }
    float *w = b + l.off_w, *bias = b + l.off_bias;
    for (int co = 0; co < p->cout; co++) {
        int t = co / mr, r = co % mr;
        bias[co] = p->bias ? p->bias[co] : 0.f;
        if (!l.wino) {
            for (int k = 0; k < l.K; k++) w[((size_t)t * l.K + k) * mr + r] = p->w[(size_t)co * l.K + k];
            continue;
        }
        // U = G g Gᵀ, in double; U[x] goes to tile t of product x.
        static const double G[6][3] = {{1 / 4., 0, 0}, {-1 / 6., -1 / 6., -1 / 6.}, {-1 / 6., 1 / 6., -1 / 6.},
                                       {1 / 24., 1 / 12., 1 / 6.}, {1 / 24., -1 / 12., 1 / 6.}, {0, 0, 1}};
        for (int c = 0; c < p->cin; c++) {
            const float *g = p->w + ((size_t)co * p->cin + c) * 9;
            double gg[6][3];
            for (int i = 0; i < 6; i++)
                for (int j = 0; j < 3; j++) gg[i][j] = G[i][0] * g[j] + G[i][1] * g[3 + j] + G[i][2] * g[6 + j];
            for (int i = 0; i < 6; i++)
                for (int j = 0; j < 6; j++) {
                    double u = G[j][0] * gg[i][0] + G[j][1] * gg[i][1] + G[j][2] * gg[i][2];
                    w[(((size_t)(6 * i + j) * l.tiles + t) * l.K + c) * mr + r] = (float)u;
                }
        }
    }
    return l.total * sizeof(float);
}

/// Floats of the phase planes (the start of the shared scratch); Winograd's transformed panels follow them,
/// V[panel][36][cin][NR].
static size_t planes_floats(const ck_fconv *p, const flayout *l) { return l->plane * (size_t)p->cin * p->sh * p->sw; }

static size_t wino_panel_floats(const ck_fconv *p, const flayout *l) { return 36 * (size_t)p->cin * l->k->nr; }

size_t ck_fconv_shared_scratch(const ck_fconv *p) {
    flayout l = make_flayout(p, p->isa);
    size_t v = l.wino ? (size_t)l.panels * wino_panel_floats(p, &l) : 0;
    return (planes_floats(p, &l) + v) * sizeof(float);
}

/// Winograd task scratch, in floats: the products M[36][tiles*MR][NR], then the outputs Y[cout][16][NR].
static size_t wino_scratch(const ck_fconv *p, const flayout *l, size_t *y_at) {
    size_t nr = (size_t)l->k->nr;
    *y_at = up16(36 * (size_t)l->tiles * l->k->mr * nr);
    return *y_at + up16((size_t)p->cout * 16 * nr);
}

size_t ck_fconv_task_scratch(const ck_fconv *p) {
    flayout l = make_flayout(p, p->isa);
    size_t y;
    if (l.wino) return wino_scratch(p, &l, &y) * sizeof(float) + 64;
    return (up16((size_t)l.K * l.k->nr) + up16((size_t)l.k->mr * l.k->nr)) * sizeof(float) + 64;
}

static int splits_of(const ck_fconv *p, const flayout *l) {
    int s = p->splits < 1 ? 1 : p->splits;
    return s < l->tiles ? s : l->tiles;
}

int ck_fconv_units(const ck_fconv *p) {
    flayout l = make_flayout(p, p->isa);
    return l.panels * splits_of(p, &l);
}

int ck_fconv_splits(const ck_fconv *p, int threads) {
    flayout l = make_flayout(p, p->isa);
    if (threads <= 1) return 1;
    // The smallest split whose busiest thread has at most 10% more units than the average (at most 8 parts).
    for (int s = 1; s <= 8 && s <= l.tiles; s++) {
        int units = l.panels * s, busiest = (units + threads - 1) / threads;
        if ((double)busiest * threads <= 1.1 * units) return s;
    }
    return l.tiles < 8 ? l.tiles : 8;
}

int ck_fconv_method(const ck_fconv *p) {
    flayout l = make_flayout(p, p->isa);
    return l.wino ? 2 : (l.direct ? 0 : 1);
}

static void wino_transform(const ck_fconv *p, const flayout *l, const float *plane, float *V, int c);

void ck_fconv_prepare(const ck_fconv *p, const float *x, float *shared, int c0, int c1) {
    flayout l = make_flayout(p, p->isa);
    if (l.direct) return;
    int s = p->sw, sv = p->sh;
    size_t filled = (size_t)l.gh * l.gw;
    for (int c = c0; c < c1; c++) {
        const float *xc = x + (size_t)c * p->H * p->W;
        for (int a = 0; a < sv; a++) for (int b = 0; b < s; b++) {
            float *plane = shared + ((size_t)c * sv * s + (size_t)a * s + b) * l.plane;
            // Plane column q is input column q*s + b - pw: the valid ones are [q0, q1).
            int q0 = 0, q1 = l.gw;
            while (q0 < l.gw && q0 * s + b - p->pw < 0) q0++;
            while (q1 > q0 && (q1 - 1) * s + b - p->pw >= p->W) q1--;
            for (int r = 0; r < l.gh; r++) {
                float *d = plane + (size_t)r * l.gw;
                int xr = r * sv + a - p->ph;
                if (xr < 0 || xr >= p->H) { memset(d, 0, (size_t)l.gw * sizeof(float)); continue; }
                const float *src = xc + (size_t)xr * p->W + (q0 * s + b - p->pw);
                for (int q = 0; q < q0; q++) d[q] = 0.f;
                if (s == 1) memcpy(d + q0, src, (size_t)(q1 - q0) * sizeof(float));
                else for (int q = q0; q < q1; q++) d[q] = src[(size_t)(q - q0) * s];
                for (int q = q1; q < l.gw; q++) d[q] = 0.f;
            }
            memset(plane + filled, 0, (l.plane - filled) * sizeof(float));
        }
        if (l.wino) wino_transform(p, &l, shared + (size_t)c * l.plane, shared + planes_floats(p, &l), c);
    }
}


static const float zero_bias[MAX_NR];

// The transforms only add and subtract, so any vector width gives the same results: on x86-64 they are also
// compiled for AVX-512 and chosen at load (an ifunc), as the baseline build would run them 4 floats at a time.
#if defined(__x86_64__) && defined(__linux__)
#define WINO_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define WINO_CLONES
#endif

/// Bᵀ on six values: v = Bᵀ d, Bᵀ = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0;
/// 0 4 0 -5 0 1], in this order of operations (no contraction), on rows and on columns alike.
static inline void wino_bt(float d0, float d1, float d2, float d3, float d4, float d5, float *v0, float *v1, float *v2,
                           float *v3, float *v4, float *v5) {
    *v0 = 4.f * d0 - 5.f * d2 + d4;
    *v1 = (d3 + d4) - 4.f * (d1 + d2);
    *v2 = (d4 - d3) + 4.f * (d1 - d2);
    *v3 = (d4 - d2) + 2.f * (d3 - d1);
    *v4 = (d4 - d2) - 2.f * (d3 - d1);
    *v5 = 4.f * d1 - 5.f * d3 + d5;
}

/// Bᵀ d on whole rows: six plane rows into six rows of n.
WINO_CLONES static void wino_rows(const float *restrict r, size_t stride, int n, float *restrict e, size_t es) {
    const float *restrict r0 = r, *restrict r1 = r + stride, *restrict r2 = r + 2 * stride;
    const float *restrict r3 = r + 3 * stride, *restrict r4 = r + 4 * stride, *restrict r5 = r + 5 * stride;
    float *restrict e0 = e, *restrict e1 = e + es, *restrict e2 = e + 2 * es;
    float *restrict e3 = e + 3 * es, *restrict e4 = e + 4 * es, *restrict e5 = e + 5 * es;
    for (int q = 0; q < n; q++)
        wino_bt(r0[q], r1[q], r2[q], r3[q], r4[q], r5[q], e0 + q, e1 + q, e2 + q, e3 + q, e4 + q, e5 + q);
}

/// (Bᵀ d) B: the same combinations along one row, each patch's six columns starting four after the previous one;
/// v[j * vs + u] is value j of patch u.
WINO_CLONES static void wino_cols(const float *restrict e, int len, float *restrict v, size_t vs) {
    float *restrict v0 = v, *restrict v1 = v + vs, *restrict v2 = v + 2 * vs;
    float *restrict v3 = v + 3 * vs, *restrict v4 = v + 4 * vs, *restrict v5 = v + 5 * vs;
    for (int u = 0; u < len; u++) {
        const float *d = e + 4 * u;
        wino_bt(d[0], d[1], d[2], d[3], d[4], d[5], v0 + u, v1 + u, v2 + u, v3 + u, v4 + u, v5 + u);
    }
}

/// Aᵀ m A plus the bias for n tiles: m is the 36 products' rows (ms apart), y the 16 output rows (nr apart).
WINO_CLONES static void wino_out(const float *restrict m, size_t ms, float bias, int n, float *restrict y, size_t nr) {
    for (int u = 0; u < n; u++) {
        float s[4][6];
        for (int j = 0; j < 6; j++) {  // Aᵀ on each column
            float m0 = m[(size_t)j * ms + u], m1 = m[(size_t)(6 + j) * ms + u], m2 = m[(size_t)(12 + j) * ms + u];
            float m3 = m[(size_t)(18 + j) * ms + u], m4 = m[(size_t)(24 + j) * ms + u], m5 = m[(size_t)(30 + j) * ms + u];
            float a = m1 + m2, b = m1 - m2, c = m3 + m4, d = m3 - m4;
            s[0][j] = m0 + a + c; s[1][j] = b + 2.f * d; s[2][j] = a + 4.f * c; s[3][j] = b + 8.f * d + m5;
        }
        for (int i = 0; i < 4; i++) {  // then on each row
            float a = s[i][1] + s[i][2], b = s[i][1] - s[i][2], c = s[i][3] + s[i][4], d = s[i][3] - s[i][4];
            y[(size_t)(4 * i) * nr + u] = s[i][0] + a + c + bias;
            y[(size_t)(4 * i + 1) * nr + u] = b + 2.f * d + bias;
            y[(size_t)(4 * i + 2) * nr + u] = a + 4.f * c + bias;
            y[(size_t)(4 * i + 3) * nr + u] = b + 8.f * d + s[i][5] + bias;
        }
    }
}

/// One output row of len 4×4 tiles: o[4u + j] = y[j * nr + u].
WINO_CLONES static void wino_store(const float *restrict y, size_t nr, int len, float *restrict o) {
    for (int u = 0; u < len; u++) {
        o[4 * u] = y[u]; o[4 * u + 1] = y[nr + u]; o[4 * u + 2] = y[2 * nr + u]; o[4 * u + 3] = y[3 * nr + u];
    }
}

/// Bᵀ d B of every patch of input channel c (its zero-padded plane) into the transformed panels V.
static void wino_transform(const ck_fconv *p, const flayout *l, const float *plane, float *V, int c) {
    int nr = l->k->nr, th = p->OH / 4, cols = 4 * l->tw + 2;
    size_t vs = (size_t)p->cin * nr, es = (size_t)cols + 2, pv = wino_panel_floats(p, l);
    float e[6 * es];
    for (int ty = 0; ty < th; ty++) {
        // The row combinations on whole rows of the plane, then the column ones, panel by panel.
        wino_rows(plane + (size_t)(4 * ty) * l->gw, (size_t)l->gw, cols, e, es);
        for (int tx = 0; tx < l->tw;) {
            int t = ty * l->tw + tx, tp = t % nr, len = l->tw - tx < nr - tp ? l->tw - tx : nr - tp;
            float *v = V + (size_t)(t / nr) * pv + (size_t)c * nr + tp;
            for (int i = 0; i < 6; i++) wino_cols(e + i * es + 4 * tx, len, v + (size_t)(6 * i) * vs, vs);
            tx += len;
        }
    }
    int used = l->gridN - (l->panels - 1) * nr;  // the last panel's unused lanes: zeros, so every product is finite
    float *last = V + (size_t)(l->panels - 1) * pv + (size_t)c * nr;
    if (used < nr) for (int x = 0; x < 36; x++) memset(last + (size_t)x * vs + used, 0, (size_t)(nr - used) * sizeof(float));
}

/// One panel of a Winograd conv: NR output tiles of 4×4 from tile t0 (cnt of them valid), for the output channels of
/// weight tiles [tile0, tile1); V is the panel's transformed input.
static void wino_panel(const ck_fconv *p, const flayout *l, const float *V, float *y, int t0, int cnt, int tile0, int tile1,
                       float *task) {
    const float *blob = p->packed;
    const int64_t *koff = (const int64_t *)blob;
    const float *u = blob + l->off_w, *bias = blob + l->off_bias;
    int mr = l->k->mr, nr = l->k->nr, coutp = l->tiles * mr;
    size_t y_at;
    wino_scratch(p, l, &y_at);
    float *M = task, *Y = task + y_at;
    size_t vs = (size_t)p->cin * nr;  // V[x] stride
    // The 36 products, each the GEMM of its transformed weights by its K×NR matrix.
    for (int x = 0; x < 36; x++)
        for (int t = tile0; t < tile1; t++)
            l->k->gemm(V + (size_t)x * vs, koff, u + ((size_t)x * l->tiles + t) * l->K * mr, l->K, zero_bias, 0, mr,
                       M + ((size_t)x * coutp + (size_t)t * mr) * nr, (size_t)nr);
    // Aᵀ m A plus the bias into Y[co][4i + j][tile], then SiLU.
    size_t ms = (size_t)coutp * nr;
    int co0 = tile0 * mr, co1 = tile1 * mr < p->cout ? tile1 * mr : p->cout;
    for (int co = co0; co < co1; co++)
        wino_out(M + (size_t)co * nr, ms, bias[co], cnt, Y + (size_t)co * 16 * nr, (size_t)nr);
    if (p->silu) ck_unary_f32(1, Y + (size_t)co0 * 16 * nr, Y + (size_t)co0 * 16 * nr, (size_t)(co1 - co0) * 16 * nr, 0, 0);
    // The tiles' 4×4 outputs to their places, four output rows per tile row.
    size_t N = (size_t)p->OH * p->OW;
    for (int tp = 0; tp < cnt;) {
        int t = t0 + tp, ty = t / l->tw, tx = t % l->tw, len = l->tw - tx < cnt - tp ? l->tw - tx : cnt - tp;
        for (int co = co0; co < co1; co++)
            for (int i = 0; i < 4; i++)
                wino_store(Y + ((size_t)co * 16 + 4 * i) * nr + tp, (size_t)nr, len,
                           y + (size_t)co * N + (size_t)(4 * ty + i) * p->OW + 4 * tx);
        tp += len;
    }
}

void ck_fconv_compute(const ck_fconv *p, const float *x, const float *shared, float *y, int n0, int n1, float *task) {
    flayout l = make_flayout(p, p->isa);
    const float *blob = p->packed;
    const int64_t *koff = (const int64_t *)blob, *pkoff = (const int64_t *)(blob + l.off_pkoff);
    const float *w = blob + l.off_w, *bias = blob + l.off_bias;
    int mr = l.k->mr, nr = l.k->nr;
    float *panel = task, *tile = task + up16((size_t)l.K * nr);
    size_t N = (size_t)p->OH * p->OW;
    int splits = splits_of(p, &l);
    for (int unit = n0; unit < n1; unit++) {
        int n = unit / splits, part = unit % splits;
        int tile0 = l.tiles * part / splits, tile1 = l.tiles * (part + 1) / splits;
        int q0 = n * nr, cols = l.gridN - q0 < nr ? l.gridN - q0 : nr;
        if (l.wino) {
            wino_panel(p, &l, shared + planes_floats(p, &l) + (size_t)n * wino_panel_floats(p, &l), y, q0, cols, tile0, tile1, task);
            continue;
        }
        const float *act;
        const int64_t *offs = koff;
        if (!l.direct) act = shared + q0;
        else if (cols == nr) act = x + q0;
        else {  // the last panel of a direct conv: its rows copied, zero-filled to NR
            for (int k = 0; k < l.K; k++) {
                memcpy(panel + (size_t)k * nr, x + koff[k] + q0, (size_t)cols * sizeof(float));
                memset(panel + (size_t)k * nr + cols, 0, (size_t)(nr - cols) * sizeof(float));
            }
            act = panel; offs = pkoff;
        }
        // Where the panel's pixels go: a run of valid columns per grid row.
        int seg_tile[MAX_NR], seg_y[MAX_NR], seg_len[MAX_NR];
        int nseg = ck_panel_runs(q0, cols, l.gw, p->OW, seg_tile, seg_y, seg_len);
        int in_place = l.gw == p->OW && cols == nr;  // NR consecutive output pixels: straight into the output
        for (int t = tile0; t < tile1; t++) {
            int co = t * mr, rows = p->cout - co < mr ? p->cout - co : mr;
            const float *wt = w + (size_t)t * l.K * mr;
            if (in_place) { l.k->gemm(act, offs, wt, l.K, bias + co, p->silu, rows, y + (size_t)co * N + q0, N); continue; }
            l.k->gemm(act, offs, wt, l.K, bias + co, p->silu, rows, tile, (size_t)nr);
            for (int i = 0; i < rows; i++)
                for (int sg = 0; sg < nseg; sg++)
                    memcpy(y + (size_t)(co + i) * N + seg_y[sg], tile + (size_t)i * nr + seg_tile[sg], (size_t)seg_len[sg] * sizeof(float));
        }
    }
}

// MARK: portable scalar kernel

#define SCALAR_MR 4
#define SCALAR_NR 16

static void fgemm_scalar(const float *a, const int64_t *koff, const float *w, int K, const float *bias, int silu, int rows,
                         float *out, size_t ostride) {
    float acc[SCALAR_MR][SCALAR_NR];
    for (int i = 0; i < SCALAR_MR; i++) for (int px = 0; px < SCALAR_NR; px++) acc[i][px] = bias[i];
    for (int k = 0; k < K; k++, w += SCALAR_MR) {
        const float *ak = a + koff[k];
        for (int i = 0; i < SCALAR_MR; i++)
            for (int px = 0; px < SCALAR_NR; px++) acc[i][px] = fmaf(w[i], ak[px], acc[i][px]);
    }
    for (int i = 0; i < rows; i++)
        for (int px = 0; px < SCALAR_NR; px++) {
            float v = acc[i][px];
            out[(size_t)i * ostride + px] = silu ? v * ck_logistic(v) : v;
        }
}

const ck_fisa ck_fisa_scalar = {SCALAR_MR, SCALAR_NR, fgemm_scalar};
