// Float convolution (group 1): packing, the two ways activations reach the GEMM, the driver and the portable
// scalar kernel (the oracle of the SIMD ones in conv_x86.c and conv_arm64.c).
//
// - Direct (1×1, stride 1, no padding): a panel of any input channel is NR consecutive floats of its row, read in
//   place; only the last, partial panel is copied (zero-filled), so nothing is read past the input.
// - Planes (every other conv): the input is copied once into zero-padded phase planes, one per channel and
//   stride phase, plane (a, b) holding the input at rows r*sh + a - ph and columns q*sw + b - pw. Every tap is
//   then a shifted row of one plane: its panel is NR consecutive floats there, read in place. The pixel grid has
//   the planes' width; its extra columns are computed and never stored.
// K is in ONNX order (channel, then tap); koff[k] is where element k's panel starts, relative to the panel's
// first pixel.
#include "conv_internal.h"
#include <string.h>

#define MAX_NR 64

typedef struct flayout {
    const ck_fisa *k;
    int direct, K, tiles, gw, gh, gridN, panels;
    size_t plane;  // floats per phase plane
    size_t off_pkoff, off_w, off_bias, total;  // blob: koff[K], pkoff[K] (the copied panel), w, bias
} flayout;

static size_t up16(size_t n) { return (n + 15) & ~(size_t)15; }

static flayout make_flayout(const ck_fconv *p, int isa) {
    flayout l;
    l.k = ck_fisa_get(isa);
    l.direct = p->kh == 1 && p->kw == 1 && p->sh == 1 && p->sw == 1 && p->ph == 0 && p->pw == 0 && p->OH == p->H && p->OW == p->W;
    l.K = p->cin * p->kh * p->kw;
    l.tiles = (p->cout + l.k->mr - 1) / l.k->mr;
    l.gw = p->OW; l.gh = p->OH; l.plane = 0;
    if (!l.direct) {
        l.gw = p->OW + (p->kw - 1) * p->dw / p->sw;
        l.gh = p->OH + (p->kh - 1) * p->dh / p->sh;
        // A panel of the last grid row, shifted by the largest tap offset, ends before this.
        l.plane = up16((size_t)l.gh * l.gw + (size_t)(l.gw - p->OW) + MAX_NR);
    }
    l.gridN = p->OH * l.gw;
    l.panels = (l.gridN + l.k->nr - 1) / l.k->nr;
    // In floats (the two offset tables take two floats per entry).
    l.off_pkoff = up16((size_t)l.K * 2);
    l.off_w = l.off_pkoff + up16((size_t)l.K * 2);
    l.off_bias = l.off_w + up16((size_t)l.tiles * l.k->mr * l.K);
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
        if (l.direct) { koff[k] = (int64_t)c * p->H * p->W; continue; }
        int64_t phase = (int64_t)c * p->sh * p->sw + (ti % p->sh) * p->sw + tj % p->sw;
        koff[k] = phase * (int64_t)l.plane + (int64_t)(ti / p->sh) * l.gw + tj / p->sw;
    }
    float *w = b + l.off_w, *bias = b + l.off_bias;
    for (int co = 0; co < p->cout; co++) {
        int t = co / mr, r = co % mr;
        for (int k = 0; k < l.K; k++) w[((size_t)t * l.K + k) * mr + r] = p->w[(size_t)co * l.K + k];
        bias[co] = p->bias ? p->bias[co] : 0.f;
    }
    return l.total * sizeof(float);
}

size_t ck_fconv_shared_scratch(const ck_fconv *p) {
    flayout l = make_flayout(p, p->isa);
    return l.plane * (size_t)p->cin * p->sh * p->sw * sizeof(float);
}

size_t ck_fconv_task_scratch(const ck_fconv *p) {
    flayout l = make_flayout(p, p->isa);
    return (up16((size_t)l.K * l.k->nr) + up16((size_t)l.k->mr * l.k->nr)) * sizeof(float) + 64;
}

int ck_fconv_panels(const ck_fconv *p) { return make_flayout(p, p->isa).panels; }

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

void ck_fconv_compute(const ck_fconv *p, const float *x, const float *shared, float *y, int n0, int n1, float *task) {
    flayout l = make_flayout(p, p->isa);
    const float *blob = p->packed;
    const int64_t *koff = (const int64_t *)blob, *pkoff = (const int64_t *)(blob + l.off_pkoff);
    const float *w = blob + l.off_w, *bias = blob + l.off_bias;
    int mr = l.k->mr, nr = l.k->nr;
    float *panel = task, *tile = task + up16((size_t)l.K * nr);
    size_t N = (size_t)p->OH * p->OW;
    for (int n = n0; n < n1; n++) {
        int q0 = n * nr, cols = l.gridN - q0 < nr ? l.gridN - q0 : nr;
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
        for (int t = 0; t < l.tiles; t++) {
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
