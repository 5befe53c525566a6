// Float convolution (group 1): packing, the two ways activations reach the GEMM, the driver and the portable
// scalar kernel (the oracle of the SIMD ones in conv_x86.c and conv_arm64.c).
//
// - Direct (1×1, stride 1, no padding): a panel of any input channel is NR consecutive floats of its row, read in
//   place; only the last, partial panel is copied (zero-filled), so nothing is read past the input.
// - Planes (every other conv): the input is copied once into zero-padded phase planes, one per channel and
//   stride phase, plane (a, b) holding the input at rows r*sh + a - ph and columns q*sw + b - pw. Every tap is
//   then a shifted row of one plane: its panel is NR consecutive floats there, read in place. The pixel grid has
//   the planes' width; its extra columns are computed and never stored.
// - Winograd F(2×2, 3×3) (3×3, stride 1, pad 1, no dilation, even output, at least WINO_MIN_CIN input channels):
//   the same planes, read as 4×4 patches of 2×2 output tiles. A panel is NR tiles; its patches are transformed
//   (Bᵀ d B) into 16 K×NR matrices, the GEMM multiplies each by its transformed weights (G g Gᵀ, made at pack
//   time), and the 16 products are transformed back (Aᵀ m A) to the tiles' outputs: 16 multiplies for 4 outputs
//   where the direct conv does 36. The transforms add and subtract only, so every instruction set still agrees
//   with the scalar kernel bit for bit; against the definition the error stays at float rounding.
// K is in ONNX order (channel, then tap); koff[k] is where element k's panel starts, relative to the panel's
// first pixel (Winograd: K is the input channels, and koff[k] = k * NR in the transformed panel).
#include "conv_internal.h"
#include <string.h>

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
             p->OH == p->H && p->OW == p->W && p->OH % 2 == 0 && p->OW % 2 == 0 && p->cin >= WINO_MIN_CIN;
    l.K = l.wino ? p->cin : p->cin * p->kh * p->kw;
    l.tiles = (p->cout + l.k->mr - 1) / l.k->mr;
    l.tw = p->OW / 2;
    l.gw = p->OW; l.gh = p->OH; l.plane = 0;
    if (!l.direct) {
        l.gw = p->OW + (p->kw - 1) * p->dw / p->sw;
        l.gh = p->OH + (p->kh - 1) * p->dh / p->sh;
        // A panel of the last grid row, shifted by the largest tap offset, ends before this.
        l.plane = up16((size_t)l.gh * l.gw + (size_t)(l.gw - p->OW) + MAX_NR);
    }
    l.gridN = l.wino ? (p->OH / 2) * l.tw : p->OH * l.gw;
    l.panels = (l.gridN + l.k->nr - 1) / l.k->nr;
    // In floats (the two offset tables take two floats per entry).
    l.off_pkoff = up16((size_t)l.K * 2);
    l.off_w = l.off_pkoff + up16((size_t)l.K * 2);
    l.off_bias = l.off_w + up16((size_t)(l.wino ? 16 : 1) * l.tiles * l.k->mr * l.K);
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
        // U = G g Gᵀ with G = [1 0 0; ½ ½ ½; ½ -½ ½; 0 0 1], in double; U[x] goes to tile t of product x.
        for (int c = 0; c < p->cin; c++) {
            const float *g = p->w + ((size_t)co * p->cin + c) * 9;
            double gg[4][3], u[4][4];
            for (int j = 0; j < 3; j++) {
                gg[0][j] = g[j];
                gg[1][j] = 0.5 * ((double)g[j] + g[3 + j] + g[6 + j]);
                gg[2][j] = 0.5 * ((double)g[j] - g[3 + j] + g[6 + j]);
                gg[3][j] = g[6 + j];
            }
            for (int i = 0; i < 4; i++) {
                u[i][0] = gg[i][0];
                u[i][1] = 0.5 * (gg[i][0] + gg[i][1] + gg[i][2]);
                u[i][2] = 0.5 * (gg[i][0] - gg[i][1] + gg[i][2]);
                u[i][3] = gg[i][2];
            }
            for (int x = 0; x < 16; x++)
                w[(((size_t)x * l.tiles + t) * l.K + c) * mr + r] = (float)u[x / 4][x % 4];
        }
    }
    return l.total * sizeof(float);
}

size_t ck_fconv_shared_scratch(const ck_fconv *p) {
    flayout l = make_flayout(p, p->isa);
    return l.plane * (size_t)p->cin * p->sh * p->sw * sizeof(float);
}

/// Winograd task scratch, in floats: the transformed panel V[16][cin][NR], the products M[16][tiles*MR][NR], the
/// outputs Y[cout][4][NR] and four rows of the input transform.
static size_t wino_scratch(const ck_fconv *p, const flayout *l, size_t *m_at, size_t *y_at, size_t *e_at) {
    size_t nr = (size_t)l->k->nr;
    *m_at = up16(16 * (size_t)p->cin * nr);
    *y_at = *m_at + up16(16 * (size_t)l->tiles * l->k->mr * nr);
    *e_at = *y_at + up16((size_t)p->cout * 4 * nr);
    return *e_at + up16(4 * (2 * nr + 2));
}

size_t ck_fconv_task_scratch(const ck_fconv *p) {
    flayout l = make_flayout(p, p->isa);
    size_t m, y, e;
    if (l.wino) return wino_scratch(p, &l, &m, &y, &e) * sizeof(float) + 64;
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
    // The smallest split whose busiest thread has at most 10% more units than the average (at most 8 parts; a
    // Winograd part transforms its panel's input again, so fewer parts are better).
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

/// Bᵀ d, on whole rows: four plane rows into four rows of n.
WINO_CLONES static void wino_rows(const float *restrict r0, const float *restrict r1, const float *restrict r2,
                      const float *restrict r3, int n, float *restrict e0, float *restrict e1, float *restrict e2,
                      float *restrict e3) {
    for (int q = 0; q < n; q++) {
        e0[q] = r0[q] - r2[q]; e1[q] = r1[q] + r2[q]; e2[q] = r2[q] - r1[q]; e3[q] = r1[q] - r3[q];
    }
}

/// (Bᵀ d) B: the column combinations of one row, every patch's four starting two columns after the previous one.
WINO_CLONES static void wino_cols(const float *restrict e, int len, float *restrict v0, float *restrict v1, float *restrict v2,
                      float *restrict v3) {
    for (int j = 0; j < len; j++) {
        float a = e[2 * j], b = e[2 * j + 1], c = e[2 * j + 2], d = e[2 * j + 3];
        v0[j] = a - c; v1[j] = b + c; v2[j] = c - b; v3[j] = b - d;
    }
}

/// Aᵀ m A plus the bias for n tiles: m[x] the 16 products' rows, out the four output rows.
WINO_CLONES static void wino_out(const float *const m[16], float bias, int n, float *restrict y0, float *restrict y1,
                     float *restrict y2, float *restrict y3) {
    for (int j = 0; j < n; j++) {
        float s[4], d[4];
        for (int c = 0; c < 4; c++) {
            float m0 = m[c][j], m1 = m[4 + c][j], m2 = m[8 + c][j], m3 = m[12 + c][j];
            s[c] = m0 + m1 + m2; d[c] = m1 - m2 - m3;
        }
        y0[j] = s[0] + s[1] + s[2] + bias;
        y1[j] = s[1] - s[2] - s[3] + bias;
        y2[j] = d[0] + d[1] + d[2] + bias;
        y3[j] = d[1] - d[2] - d[3] + bias;
    }
}

/// Two rows of len 2×2 tiles into an output row pair: o[2u] = a[u], o[2u + 1] = b[u].
WINO_CLONES static void wino_store(const float *restrict a, const float *restrict b, int len, float *restrict o) {
    for (int u = 0; u < len; u++) { o[2 * u] = a[u]; o[2 * u + 1] = b[u]; }
}

/// One panel of a Winograd conv: NR output tiles of 2×2 from tile t0 (cnt of them valid), for the output channels of
/// weight tiles [tile0, tile1).
static void wino_panel(const ck_fconv *p, const flayout *l, const float *planes, float *y, int t0, int cnt, int tile0, int tile1,
                       float *task) {
    const float *blob = p->packed;
    const int64_t *koff = (const int64_t *)blob;
    const float *u = blob + l->off_w, *bias = blob + l->off_bias;
    int mr = l->k->mr, nr = l->k->nr, cin = p->cin, coutp = l->tiles * mr;
    size_t m_at, y_at, e_at;
    wino_scratch(p, l, &m_at, &y_at, &e_at);
    float *V = task, *M = task + m_at, *Y = task + y_at, *e = task + e_at;
    size_t es = 2 * (size_t)nr + 2, vs = (size_t)cin * nr;  // e row stride; V[x] stride
    // Bᵀ d B for every patch: the row combinations on whole rows of the planes, then the column ones.
    for (int tp = 0; tp < cnt;) {
        int t = t0 + tp, ty = t / l->tw, tx = t % l->tw, len = l->tw - tx < cnt - tp ? l->tw - tx : cnt - tp;
        for (int c = 0; c < cin; c++) {
            const float *r0 = planes + (size_t)c * l->plane + (size_t)(2 * ty) * l->gw + 2 * tx;
            wino_rows(r0, r0 + l->gw, r0 + 2 * l->gw, r0 + 3 * l->gw, 2 * len + 2, e, e + es, e + 2 * es, e + 3 * es);
            for (int i = 0; i < 4; i++) {
                float *v = V + (size_t)(4 * i) * vs + (size_t)c * nr + tp;
                wino_cols(e + i * es, len, v, v + vs, v + 2 * vs, v + 3 * vs);
            }
        }
        tp += len;
    }
    if (cnt < nr)  // the unused lanes: zeros, so that every product is finite
        for (size_t r = 0; r < 16 * (size_t)cin; r++) memset(V + r * nr + cnt, 0, (size_t)(nr - cnt) * sizeof(float));
    // The 16 products, each the GEMM of its transformed weights by its K×NR matrix.
    for (int x = 0; x < 16; x++)
        for (int t = tile0; t < tile1; t++)
            l->k->gemm(V + (size_t)x * vs, koff, u + ((size_t)x * l->tiles + t) * l->K * mr, l->K, zero_bias, 0, mr,
                       M + ((size_t)x * coutp + (size_t)t * mr) * nr, (size_t)nr);
    // Aᵀ m A with Aᵀ = [1 1 1 0; 0 1 -1 -1], plus the bias, into Y[co][2i + j][tile].
    size_t ms = (size_t)coutp * nr;
    int co0 = tile0 * mr, co1 = tile1 * mr < p->cout ? tile1 * mr : p->cout;
    for (int co = co0; co < co1; co++) {
        const float *m[16];
        for (int x = 0; x < 16; x++) m[x] = M + x * ms + (size_t)co * nr;
        float *yc = Y + (size_t)co * 4 * nr;
        wino_out(m, bias[co], cnt, yc, yc + nr, yc + 2 * nr, yc + 3 * nr);
    }
    if (p->silu)
        for (int co = co0; co < co1; co++) ck_unary_f32(1, Y + (size_t)co * 4 * nr, Y + (size_t)co * 4 * nr, 4 * (size_t)nr, 0, 0);
    // The tiles' 2×2 outputs to their places, a row pair per tile row.
    size_t N = (size_t)p->OH * p->OW;
    for (int tp = 0; tp < cnt;) {
        int t = t0 + tp, ty = t / l->tw, tx = t % l->tw, len = l->tw - tx < cnt - tp ? l->tw - tx : cnt - tp;
        for (int co = co0; co < co1; co++) {
            const float *yc = Y + (size_t)co * 4 * nr + tp;
            float *o = y + (size_t)co * N + (size_t)(2 * ty) * p->OW + 2 * tx;
            wino_store(yc, yc + nr, len, o);
            wino_store(yc + 2 * nr, yc + 3 * nr, len, o + p->OW);
        }
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
        if (l.wino) { wino_panel(p, &l, shared, y, q0, cols, tile0, tile1, task); continue; }
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
        int seg_tile[MAX_NR], seg_y[MAX_NR], seg_len[MAX_NR], nseg = 0;
        if (l.gw == p->OW) { seg_tile[0] = 0; seg_y[0] = q0; seg_len[0] = cols; nseg = 1; }
        else {
            int oh = q0 / l.gw, ow = q0 % l.gw;
            for (int q = q0; q < q0 + cols;) {
                int run = l.gw - ow < q0 + cols - q ? l.gw - ow : q0 + cols - q;
                int valid = ow < p->OW ? (p->OW - ow < run ? p->OW - ow : run) : 0;
                if (valid > 0) { seg_tile[nseg] = q - q0; seg_y[nseg] = oh * p->OW + ow; seg_len[nseg] = valid; nseg++; }
                q += run; oh++; ow = 0;
            }
        }
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
