// Bit-exact check of every integer and float convolution path this build and CPU have against the scalar direct
// convolution (ck_qconv_run_reference), in plain C so that it runs where Swift does not: cross-compiled for
// ARM64 and run under qemu-user by Scripts/tests/kernels-arm64.test, and natively on x86-64.
//
// For each shape (odd channel counts, 1x1/3x3/5x5, strides 1 and 2, padding, dilation 2, pixel counts that
// are not whole panels), each epilogue mode, u8 and s8 input, with and without the byte table, it packs the
// weights for every available instruction set, prepares and computes in two parts as two threads would, and
// compares every output byte, plus guard bytes after the output and after both scratch buffers. Grouped convs
// (depthwise included) take the same packed path. Float convs (group 1, with and without SiLU) are checked the
// same way: the scalar packed kernel against a direct convolution in double within rounding, and every other
// instruction set's kernel against the scalar one bit for bit, with each panel's output channels in 1-3 parts; the shared scratch starts as NaN, so a valid
// output that read a plane element nobody wrote would show. Exits 1 on any mismatch.
//
// Usage: qconv_check [--require ISA]... [--absent ISA]... [--seed N] [--lut-all-modes]
//   --require ISA  fail unless ISA (a ck_isa_label name) is available and has its own kernels
//   --absent ISA   fail if ISA is available (checks the run-time detection on a CPU without it)
//   --lut-all-modes  also apply the byte table in mode 2 (ck_qep_one does; the engine only uses it in mode 0)
#include "CKernels.h"
#include "conv_internal.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct shape { int cin, cout, h, w, k, s, p, d, g; } shape;

// Fixed shapes: every activation source (direct 1x1, padded stride 1, im2col), odd cin/cout (1, 3, 5, 17, 33),
// cout around multiples of 2/4/6/8, pixel counts below, at and above whole panels of 16/48, K not a multiple
// of four, large K (sums near the int32 range of the products), grouped and depthwise.
static const shape fixed_shapes[] = {
    {1, 1, 5, 5, 1, 1, 0, 1, 1},    {3, 5, 7, 9, 3, 1, 1, 1, 1},    {5, 17, 9, 7, 3, 2, 1, 1, 1},
    {17, 33, 6, 6, 1, 1, 0, 1, 1},  {33, 3, 11, 13, 3, 2, 0, 1, 1}, {8, 9, 10, 12, 3, 1, 2, 2, 1},
    {64, 19, 7, 23, 1, 1, 0, 1, 1}, {7, 50, 20, 20, 3, 1, 1, 1, 1}, {3, 16, 31, 29, 3, 2, 1, 1, 1},
    {12, 13, 9, 11, 5, 1, 2, 1, 1}, {16, 8, 8, 8, 1, 2, 0, 1, 1},   {8, 7, 6, 6, 1, 1, 1, 1, 1},
    {2, 6, 4, 4, 1, 1, 0, 1, 1},    {6, 12, 4, 12, 1, 1, 0, 1, 1},  {5, 7, 1, 1, 1, 1, 0, 1, 1},
    {4, 13, 1, 17, 3, 1, 1, 1, 1},  {9, 25, 13, 5, 5, 2, 2, 1, 1},  {11, 11, 12, 12, 5, 1, 4, 2, 1},
    {3, 10, 17, 9, 3, 2, 2, 2, 1},  {96, 7, 5, 5, 3, 1, 1, 1, 1},   {1, 49, 8, 8, 3, 1, 1, 1, 1},
    {13, 2, 16, 16, 1, 1, 0, 1, 1}, {15, 18, 7, 7, 3, 2, 0, 2, 1},  {256, 5, 3, 3, 3, 1, 1, 1, 1},
    {8, 8, 9, 9, 3, 1, 1, 1, 8},    {6, 9, 8, 8, 3, 1, 1, 1, 3},    {16, 16, 13, 11, 5, 2, 2, 1, 16},
    {12, 8, 7, 5, 1, 1, 0, 1, 4},
    // 3x3, stride 1, pad 1, sides multiples of 4, 8+ input channels: the float Winograd path
    {8, 9, 8, 12, 3, 1, 1, 1, 1},   {16, 17, 4, 20, 3, 1, 1, 1, 1}, {33, 8, 4, 4, 3, 1, 1, 1, 1},
    {12, 40, 16, 8, 3, 1, 1, 1, 1}, {64, 24, 24, 28, 3, 1, 1, 1, 1},
};

static uint64_t rng_state;
static uint64_t next_u64(void) {  // splitmix64
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static int rnd(int lo, int hi) { return lo + (int)(next_u64() % (uint64_t)(hi - lo + 1)); }
static float rndf(float lo, float hi) { return lo + (hi - lo) * (float)(next_u64() >> 40) / (float)(1 << 24); }

static int out_size(int n, int k, int s, int p, int d) { return (n + 2 * p - d * (k - 1) - 1) / s + 1; }

static shape random_shape(void) {
    for (;;) {
        shape s;
        int ks[] = {1, 3, 5};
        s.k = ks[rnd(0, 2)];
        s.s = rnd(1, 2);
        s.d = s.k > 1 ? rnd(1, 2) : 1;
        s.p = rnd(0, s.d * (s.k / 2) + (s.k > 1));
        s.cin = rnd(1, 40);
        s.cout = rnd(1, 40);
        s.h = rnd(1, 22);
        s.w = rnd(1, 22);
        s.g = 1;
        if (rnd(0, 3) == 0) { s.k = 1; s.s = 1; s.p = 0; s.d = 1; }  // the direct source
        if (rnd(0, 4) == 0) {  // the float Winograd path
            s.k = 3; s.s = 1; s.p = 1; s.d = 1;
            s.cin = rnd(8, 48); s.h = 4 * rnd(1, 6); s.w = 4 * rnd(1, 6);
        }
        if (out_size(s.h, s.k, s.s, s.p, s.d) >= 1 && out_size(s.w, s.k, s.s, s.p, s.d) >= 1) return s;
    }
}

static int isa_by_name(const char *name) {
    for (int i = 0; i < CK_ISA_COUNT; i++) if (strcmp(ck_isa_label(i), name) == 0) return i;
    fprintf(stderr, "qconv_check: unknown instruction set '%s'\n", name);
    exit(2);
}

static int checked[CK_ISA_COUNT + 1], fchecked[CK_ISA_COUNT], fmethods[3];  // last: grouped cases (all instruction sets)
static int failures;

#define GUARD 64
static void fill_guard(uint8_t *g) { for (int i = 0; i < GUARD; i++) g[i] = (uint8_t)(0xC3 ^ i); }
static int guard_ok(const uint8_t *g) { for (int i = 0; i < GUARD; i++) if (g[i] != (uint8_t)(0xC3 ^ i)) return 0; return 1; }

static void report(const char *isa, const shape *s, int mode, int x_signed, int lut, const char *what, size_t at) {
    if (++failures > 20) return;
    fprintf(stderr, "MISMATCH %s: cin %d cout %d %dx%d k %d s %d p %d d %d g %d mode %d %s lut %d: %s at byte %zu\n", isa,
            s->cin, s->cout, s->h, s->w, s->k, s->s, s->p, s->d, s->g, mode, x_signed ? "s8" : "u8", lut, what, at);
}

static void compare(const char *isa, const shape *s, int mode, int x_signed, int lut, const uint8_t *y,
                    const uint8_t *ref, size_t bytes) {
    for (size_t i = 0; i < bytes; i++)
        if (y[i] != ref[i]) { report(isa, s, mode, x_signed, lut, "output differs", i); return; }
    if (!guard_ok(y + bytes)) report(isa, s, mode, x_signed, lut, "wrote past the output", bytes);
}

static void run_case(const shape *s, int mode, int x_signed, int use_lut) {
    int OH = out_size(s->h, s->k, s->s, s->p, s->d), OW = out_size(s->w, s->k, s->s, s->p, s->d);
    int K = s->cin / s->g * s->k * s->k;
    size_t nx = (size_t)s->cin * s->h * s->w, nw = (size_t)s->cout * K;
    size_t bytes = (size_t)s->cout * OH * OW * (mode == 1 || mode == 3 ? 4 : 1);
    uint8_t *x = malloc(nx), lut[256];
    int8_t *w = malloc(nw);
    int32_t *comp = malloc(sizeof(int32_t) * s->cout);
    float *mul = malloc(sizeof(float) * s->cout), *bias = malloc(sizeof(float) * s->cout);
    // Some cases at the extremes of the byte ranges, where an inexact product sum would show.
    int extreme = rnd(0, 7) == 0;
    for (size_t i = 0; i < nx; i++) x[i] = extreme ? (uint8_t)(rnd(0, 1) ? 255 : 0) : (uint8_t)rnd(0, 255);
    for (size_t i = 0; i < nw; i++) w[i] = extreme ? (int8_t)(rnd(0, 1) ? 127 : -128) : (int8_t)rnd(-128, 127);
    for (int i = 0; i < 256; i++) lut[i] = (uint8_t)rnd(0, 255);
    int x_zp = rnd(0, 255);
    // Scales that put the float values where rounding, saturation and the logistic's curve all happen; in some
    // cases powers of two, so that many values fall exactly halfway between two integers (round half to even).
    float spread = 5500.f * sqrtf((float)K);
    int ties = rnd(0, 3) == 0;
    for (int c = 0; c < s->cout; c++) {
        int32_t sum = 0;
        for (int k = 0; k < K; k++) sum += w[(size_t)c * K + k];
        comp[c] = -x_zp * sum + (mode == 0 ? rnd(-20000, 20000) : 0);
        mul[c] = (mode == 0 ? 120.f : 8.f) / spread * rndf(0.2f, 3.f);
        if (ties) mul[c] = ldexpf(1.f, (int)floorf(log2f(mul[c])));
        bias[c] = rndf(-2.f, 2.f);
    }
    ck_qconv p = {
        .cin = s->cin, .H = s->h, .W = s->w, .cout = s->cout, .kh = s->k, .kw = s->k, .sh = s->s, .sw = s->s,
        .ph = s->p, .pw = s->p, .dh = s->d, .dw = s->d, .OH = OH, .OW = OW, .group = s->g,
        .x_signed = x_signed, .x_zp = x_zp, .K = K, .w = w, .comp = comp, .mul = mul, .bias = bias,
        .out_mode = mode, .y_scale = ties ? 0.0625f : rndf(0.01f, 0.1f), .y_zp = rnd(-20, 20) + (mode == 2 ? 40 : 0),
        .y_signed = rnd(0, 1), .lut = use_lut ? lut : NULL, .packed = NULL, .isa = CK_ISA_SCALAR,
    };
    if (!p.y_signed && p.y_zp < 0) p.y_zp = -p.y_zp;
    uint8_t *ref = malloc(bytes), *y = malloc(bytes + GUARD);
    ck_qconv_run_reference(&p, x, ref, 0, s->cout);
    {
        for (int isa = 0; isa < CK_ISA_COUNT; isa++) {
            if (!ck_isa_available(isa)) continue;
            size_t blob_bytes = ck_qconv_pack(&p, isa, NULL);
            uint8_t *blob = malloc(blob_bytes);
            ck_qconv_pack(&p, isa, blob);
            ck_qconv q = p;
            q.packed = blob; q.isa = isa;
            size_t shb = ck_qconv_shared_scratch(&q), tb = ck_qconv_task_scratch(&q);
            uint8_t *shared = malloc(shb + GUARD), *task = malloc(tb + GUARD);
            memset(shared, 0xA5, shb); fill_guard(shared + shb);
            memset(task, 0x5A, tb); fill_guard(task + tb);
            memset(y, 0xEE, bytes); fill_guard(y + bytes);
            int half = s->cin / 2;
            ck_qconv_prepare(&q, x, shared, 0, half);
            ck_qconv_prepare(&q, x, shared, half, s->cin);
            int panels = ck_qconv_panels(&q);
            ck_qconv_compute(&q, x, shared, y, 0, panels / 2, task);
            ck_qconv_compute(&q, x, shared, y, panels / 2, panels, task);
            compare(ck_isa_label(isa), s, mode, x_signed, use_lut, y, ref, bytes);
            if (!guard_ok(shared + shb)) report(ck_isa_label(isa), s, mode, x_signed, use_lut, "wrote past the shared scratch", shb);
            if (!guard_ok(task + tb)) report(ck_isa_label(isa), s, mode, x_signed, use_lut, "wrote past the task scratch", tb);
            checked[isa]++;
            if (s->g > 1) checked[CK_ISA_COUNT]++;
            free(blob); free(shared); free(task);
        }
    }
    free(x); free(w); free(comp); free(mul); free(bias); free(ref); free(y);
}


/// A float conv of shape s (group 1), with or without SiLU, on every instruction set.
static void run_float_case(const shape *s, int silu) {
    int OH = out_size(s->h, s->k, s->s, s->p, s->d), OW = out_size(s->w, s->k, s->s, s->p, s->d);
    int K = s->cin * s->k * s->k;
    size_t nx = (size_t)s->cin * s->h * s->w, nw = (size_t)s->cout * K, ny = (size_t)s->cout * OH * OW;
    float *x = malloc(nx * sizeof(float)), *w = malloc(nw * sizeof(float)), *bias = malloc((size_t)s->cout * sizeof(float));
    for (size_t i = 0; i < nx; i++) x[i] = rndf(-3.f, 3.f);
    for (size_t i = 0; i < nw; i++) w[i] = rndf(-1.f, 1.f) / sqrtf((float)K);
    for (int c = 0; c < s->cout; c++) bias[c] = rndf(-1.f, 1.f);
    ck_fconv p = {
        .cin = s->cin, .H = s->h, .W = s->w, .cout = s->cout, .kh = s->k, .kw = s->k, .sh = s->s, .sw = s->s,
        .ph = s->p, .pw = s->p, .dh = s->d, .dw = s->d, .OH = OH, .OW = OW, .w = w, .bias = rnd(0, 3) ? bias : NULL,
        .silu = silu, .packed = NULL, .isa = CK_ISA_SCALAR,
    };
    // The definition, in double: each output and the sum of its terms' magnitudes (the rounding bound's scale).
    double *ref = malloc(ny * sizeof(double)), *mag = malloc(ny * sizeof(double));
    for (int co = 0; co < s->cout; co++)
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++) {
                double v = p.bias ? p.bias[co] : 0, m = fabs(v);
                for (int c = 0; c < s->cin; c++)
                    for (int i = 0; i < s->k; i++)
                        for (int j = 0; j < s->k; j++) {
                            int iy = oy * s->s + i * s->d - s->p, ix = ox * s->s + j * s->d - s->p;
                            if (iy < 0 || iy >= s->h || ix < 0 || ix >= s->w) continue;
                            double t = (double)w[((size_t)co * s->cin + c) * s->k * s->k + i * s->k + j] * x[((size_t)c * s->h + iy) * s->w + ix];
                            v += t; m += fabs(t);
                        }
                size_t at = ((size_t)co * OH + oy) * OW + ox;
                ref[at] = silu ? v / (1 + exp(-v)) : v;
                mag[at] = m;
            }
    float *scalar_y = NULL;
    int splits = rnd(1, 3);  // each panel's output channels in up to three parts, as for two threads and few panels
    for (int isa = 0; isa < CK_ISA_COUNT; isa++) {
        if (!ck_isa_available(isa)) continue;
        const char *name = ck_isa_label(isa);
        size_t blob_bytes = ck_fconv_pack(&p, isa, NULL);
        float *blob = malloc(blob_bytes);
        ck_fconv_pack(&p, isa, blob);
        ck_fconv q = p;
        q.packed = blob; q.isa = isa; q.splits = splits;
        size_t shb = ck_fconv_shared_scratch(&q), tb = ck_fconv_task_scratch(&q);
        uint8_t *shared = malloc(shb + GUARD), *task = malloc(tb + GUARD), *yb = malloc(ny * sizeof(float) + GUARD);
        memset(shared, 0xFF, shb); fill_guard(shared + shb);  // NaN everywhere prepare does not write
        memset(task, 0xFF, tb); fill_guard(task + tb);
        memset(yb, 0xEE, ny * sizeof(float)); fill_guard(yb + ny * sizeof(float));
        float *y = (float *)yb;
        int half = s->cin / 2;
        ck_fconv_prepare(&q, x, (float *)shared, 0, half);
        ck_fconv_prepare(&q, x, (float *)shared, half, s->cin);
        int units = ck_fconv_units(&q);
        ck_fconv_compute(&q, x, (const float *)shared, y, 0, units / 2, (float *)task);
        ck_fconv_compute(&q, x, (const float *)shared, y, units / 2, units, (float *)task);
        if (isa == CK_ISA_SCALAR) {
            fmethods[ck_fconv_method(&q)]++;
            for (size_t i = 0; i < ny; i++)
                if (!(fabs(y[i] - ref[i]) <= 1e-5 * mag[i] + 1e-6)) {
                    report("float scalar", s, silu, 0, 0, "differs from the definition", i * 4);
                    break;
                }
            scalar_y = malloc(ny * sizeof(float));
            memcpy(scalar_y, y, ny * sizeof(float));
        } else if (memcmp(y, scalar_y, ny * sizeof(float)) != 0) {
            size_t i = 0;
            while (memcmp(y + i, scalar_y + i, sizeof(float)) == 0) i++;
            report(name, s, silu, 0, 0, "float output differs from the scalar kernel's", i * 4);
        }
        if (!guard_ok(yb + ny * sizeof(float))) report(name, s, silu, 0, 0, "float conv wrote past the output", ny * 4);
        if (!guard_ok(shared + shb)) report(name, s, silu, 0, 0, "float conv wrote past the shared scratch", shb);
        if (!guard_ok(task + tb)) report(name, s, silu, 0, 0, "float conv wrote past the task scratch", tb);
        fchecked[isa]++;
        free(blob); free(shared); free(task); free(yb);
    }
    free(scalar_y); free(x); free(w); free(bias); free(ref); free(mag);
}

int main(int argc, char **argv) {
    uint64_t seed = 20261124;
    int lut_all_modes = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--require") == 0 && i + 1 < argc) {
            int isa = isa_by_name(argv[++i]);
            if (!ck_isa_available(isa)) { fprintf(stderr, "qconv_check: %s is required but not available\n", argv[i]); return 1; }
            if (isa != CK_ISA_SCALAR && ck_qisa_get(isa) == ck_qisa_get(CK_ISA_SCALAR)) {
                fprintf(stderr, "qconv_check: %s is available but falls back to the scalar kernels\n", argv[i]);
                return 1;
            }
        } else if (strcmp(argv[i], "--absent") == 0 && i + 1 < argc) {
            int isa = isa_by_name(argv[++i]);
            if (ck_isa_available(isa)) { fprintf(stderr, "qconv_check: %s is available on a CPU without it\n", argv[i]); return 1; }
        } else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
            seed = strtoull(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--lut-all-modes") == 0) {
            lut_all_modes = 1;
        } else {
            fprintf(stderr, "usage: qconv_check [--require ISA]... [--absent ISA]... [--seed N] [--lut-all-modes]\n");
            return 2;
        }
    }
    rng_state = seed;
    int nfixed = (int)(sizeof fixed_shapes / sizeof fixed_shapes[0]), nrandom = 24;
    for (int n = 0; n < nfixed + nrandom; n++) {
        shape s = n < nfixed ? fixed_shapes[n] : random_shape();
        for (int mode = 0; mode < 4; mode++)
            for (int x_signed = 0; x_signed < 2; x_signed++)
                for (int lut = 0; lut < 2; lut++) {
                    if (lut && !(mode == 0 || (mode == 2 && lut_all_modes))) continue;
                    run_case(&s, mode, x_signed, lut);
                }
        if (s.g == 1) for (int silu = 0; silu < 2; silu++) run_float_case(&s, silu);
    }
    printf("qconv_check: seed %llu, %d shapes; best instruction set: %s\n", (unsigned long long)seed, nfixed + nrandom,
           ck_isa_name());
    for (int isa = 0; isa <= CK_ISA_COUNT; isa++) {
        if (isa < CK_ISA_COUNT && !ck_isa_available(isa)) continue;
        if (isa < CK_ISA_COUNT) {
            const ck_qisa *k = ck_qisa_get(isa);
            const ck_fisa *f = ck_fisa_get(isa);
            printf("  %-11s %dx%-3d %4d cases checked; float %dx%-3d %4d cases\n", ck_isa_label(isa), k->mr, k->nr, checked[isa],
                   f->mr, f->nr, fchecked[isa]);
        } else {
            printf("  %-11s       %4d of them grouped or depthwise; float: %d direct, %d phase planes, %d Winograd\n", "",
                   checked[isa], fmethods[0], fmethods[1], fmethods[2]);
        }
    }
    if (failures) { fprintf(stderr, "qconv_check: %d mismatches\n", failures); return 1; }
    printf("qconv_check: all bit-identical to the scalar reference\n");
    return 0;
}
