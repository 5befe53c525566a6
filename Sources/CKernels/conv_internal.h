// Shared between the convolution drivers (qconv.c for integers, fconv.c for floats) and their per-instruction-set
// kernels (conv_x86.c, conv_arm64.c).
#ifndef INSPECTD_CKERNELS_CONV_INTERNAL_H
#define INSPECTD_CKERNELS_CONV_INTERNAL_H
#include "CKernels.h"
#include <math.h>
#include "logistic.h"

/// Epilogue constants of one conv, padded to whole tiles of output channels.
typedef struct ck_qep {
    const int32_t *comp;  // -x_zp*sum(w) (+ the int32 bias in mode 0), adjusted for the kernel's activation domain
    const float *mul, *bias;
} ck_qep;

/// One instruction set's kernels: MR output channels by NR pixels (NR a multiple of 16).
typedef struct ck_qisa {
    int mr, nr;
    /// int32 accumulators acc[MR][NR] of one panel times one weight tile: the activations of group k (four bytes
    /// per pixel, NR pixels) are the 4*NR bytes at a + koff[k] (a packed panel, or a row of quad planes).
    void (*gemm)(const uint8_t *a, const int64_t *koff, const int8_t *w, int kq, int32_t *acc);
    /// Output rows [0, rows) of the tile (bytes or floats by out_mode), first channel co: row i's NR values
    /// go to out + i * ostride elements (NR for a tile, the output plane for a panel stored in place).
    void (*epilogue)(const ck_qconv *p, const ck_qep *e, const int32_t *acc, int co, int rows, void *out, size_t ostride);
    /// Added to comp per output channel times sum(w): kernels that see activations as s8 (x - 128) need 128.
    int comp_shift;
} ck_qisa;

/// The kernels of `isa` (scalar when not built here).
const ck_qisa *ck_qisa_get(int isa);
void ck_qep_scalar(const ck_qconv *p, const ck_qep *e, const int32_t *acc, int co, int rows, void *out, size_t ostride);

/// One accumulator to one output element by the conv's epilogue mode. Mode 0 is onnxruntime's QLinearConv
/// requantization: the integer bias already in comp, one float multiply by x_scale*w_scale/y_scale, round half
/// to even, add the zero point, saturate. Vector epilogues do exactly these operations in this order.
static inline void ck_qep_one(const ck_qconv *p, int32_t comp, float mul, float bias, int32_t acc, void *y, size_t idx) {
    float v = (float)(acc + comp) * mul;
    if (p->out_mode != 0) {
        v = v + bias;
        if (p->out_mode == 1) { ((float *)y)[idx] = v; return; }
        v = v * ck_logistic(v);
        if (p->out_mode == 3) { ((float *)y)[idx] = v; return; }
        v = v / p->y_scale;  // QuantizeLinear divides
    }
    int lo = p->y_signed ? -128 : 0, hi = p->y_signed ? 127 : 255;
    float q = nearbyintf(v) + (float)p->y_zp;
    q = q < (float)lo ? (float)lo : (q > (float)hi ? (float)hi : q);
    uint8_t b = p->y_signed ? (uint8_t)(int8_t)(int)q : (uint8_t)(int)q;
    if (p->lut) b = p->lut[b];
    ((uint8_t *)y)[idx] = b;
}

/// Where a panel's pixels go in the output: the runs of valid columns of the grid rows that pixels [q0, q0 + cols)
/// of a grid gw wide cover (the output is OW wide; columns past it are never stored). Run i is seg_len[i] pixels
/// from panel position seg_tile[i] to output pixel seg_y[i]; returns the number of runs (at most one per grid row).
static inline int ck_panel_runs(int q0, int cols, int gw, int OW, int *seg_tile, int *seg_y, int *seg_len) {
    if (gw == OW) { seg_tile[0] = 0; seg_y[0] = q0; seg_len[0] = cols; return 1; }
    int nseg = 0, oh = q0 / gw, ow = q0 % gw;
    for (int q = q0; q < q0 + cols;) {
        int run = gw - ow < q0 + cols - q ? gw - ow : q0 + cols - q;
        int valid = ow < OW ? (OW - ow < run ? OW - ow : run) : 0;
        if (valid > 0) { seg_tile[nseg] = q - q0; seg_y[nseg] = oh * OW + ow; seg_len[nseg] = valid; nseg++; }
        q += run; oh++; ow = 0;
    }
    return nseg;
}

/// One instruction set's float convolution kernel: MR output channels by NR pixels, the pixels in vector lanes.
typedef struct ck_fisa {
    int mr, nr;
    /// Rows [0, rows) of out (row i at out + i * ostride), NR values each: bias[i] + the sum over k of
    /// w[k * MR + i] * a[koff[k] + px], one fused multiply-add per k in k order, then x * logistic(x) when silu.
    /// Every kernel does exactly these operations, so all agree with the scalar one bit for bit.
    void (*gemm)(const float *a, const int64_t *koff, const float *w, int K, const float *bias, int silu, int rows,
                 float *out, size_t ostride);
} ck_fisa;

/// The float kernel of `isa` (scalar when not built here or not available).
const ck_fisa *ck_fisa_get(int isa);
#endif
