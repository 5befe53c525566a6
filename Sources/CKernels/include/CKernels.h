// CKernels: the engine's hot loops. Every kernel has a portable scalar reference; SIMD variants are chosen at
// run time (cpuid on x86-64, HWCAP on ARM64) and tested against it.
#ifndef INSPECTD_CKERNELS_H
#define INSPECTD_CKERNELS_H
#include <stddef.h>
#include <stdint.h>

/// Instruction sets of the integer convolution kernels. The scalar one is the oracle the others are tested against.
enum { CK_ISA_SCALAR = 0, CK_ISA_AVX2 = 1, CK_ISA_AVXVNNI = 2, CK_ISA_AVX512VNNI = 3, CK_ISA_NEONDOT = 4, CK_ISA_COUNT = 5 };
/// Whether this CPU (and this build) can run kernels of `isa`.
int ck_isa_available(int isa);
/// The fastest available instruction set (what the engine uses unless told otherwise).
int ck_isa_best(void);
/// Name of an instruction set ("avx512vnni", "avxvnni", "avx2", "neondot", "scalar").
const char *ck_isa_label(int isa);
/// Name of the instruction set the dispatcher picked for int8 kernels.
const char *ck_isa_name(void);

// MARK: thread pool — created once per session; the caller thread takes part in every run.
typedef struct ck_pool ck_pool;
typedef void (*ck_task_fn)(void *ctx, int task);
ck_pool *ck_pool_create(int threads);
void ck_pool_destroy(ck_pool *pool);
/// Runs fn(ctx, 0..<tasks) across the pool's threads and returns when all are done.
void ck_pool_run(ck_pool *pool, int tasks, ck_task_fn fn, void *ctx);
int ck_pool_threads(const ck_pool *pool);

// MARK: float kernels
/// col[(c*kh+i)*kw+j][oh*OW+ow] for channels [c0, c1) of x[C][H][W]; zero outside the image.
void ck_im2col_f32(const float *x, int c0, int c1, int H, int W, int kh, int kw, int sh, int sw, int ph, int pw,
                   int dh, int dw, int OH, int OW, float *col);
/// Depthwise convolution (one filter per channel) for channels [c0, c1); bias may be NULL.
void ck_depthwise_f32(const float *x, int H, int W, const float *w, const float *bias, int kh, int kw, int sh,
                      int sw, int ph, int pw, int dh, int dw, int OH, int OW, float *y, int c0, int c1);
/// Elementwise ops: 0 add, 1 sub, 2 mul, 3 div, 4 pow, 5 max, 6 min, 7 equal-free placeholder.
/// Broadcasting is done through strides (0 on broadcast axes), rank ≤ 8, contiguous output.
void ck_binary_f32(int op, const float *a, const int64_t *astr, const float *b, const int64_t *bstr, float *y,
                   const int64_t *shape, int rank);
/// Unary ops (sigmoid and silu use onnxruntime's logistic approximation, bit for bit): 0 sigmoid, 1 silu, 2 relu, 3 tanh, 4 exp, 5 log, 6 sqrt, 7 neg, 8 abs, 9 erf, 10 floor, 11 ceil,
/// 12 reciprocal, 13 hardswish, 14 gelu(erf), 15 identity. `alpha`/`beta` used by 16 leakyrelu, 17 clip, 18 hardsigmoid.
void ck_unary_f32(int op, const float *x, float *y, size_t n, float alpha, float beta);
/// Copies a strided view: y[i] at dst strides, x[i] at src strides (elements of `elem` bytes), rank ≤ 8.
void ck_copy_strided(void *y, const int64_t *ystr, const void *x, const int64_t *xstr, const int64_t *shape,
                     int rank, int elem);
/// Max pooling over planes [p0, p1) of x[planes][H][W]; padding never wins. Works for f32 (elem 4), u8 and s8.
void ck_maxpool_f32(const float *x, int H, int W, int kh, int kw, int sh, int sw, int pt, int pl, int dh, int dw,
                    int OH, int OW, float *y, int p0, int p1);
/// Average pooling (count_include_pad selects the divisor).
void ck_avgpool_f32(const float *x, int H, int W, int kh, int kw, int sh, int sw, int pt, int pl, int OH, int OW,
                    int count_include_pad, float *y, int p0, int p1);
/// Nearest resize of planes [p0, p1) from tables of source rows/columns.
void ck_resize_nearest(const void *x, int H, int W, void *y, int OH, int OW, const int32_t *rows,
                       const int32_t *cols, int elem, int p0, int p1);
/// Softmax over `n` elements spaced `inner` apart, for outer×inner lines.
void ck_softmax_f32(const float *x, float *y, int outer, int n, int inner, int log);

// MARK: quantization
/// y = saturate(round_half_even(x / scale) + zp) into u8 (is_signed 0) or s8.
void ck_quantize_f32(const float *x, void *y, size_t n, float scale, int zp, int is_signed);
/// y = (x - zp) * scale from u8/s8/s32 (kind 0 u8, 1 s8, 2 s32).
void ck_dequantize(const void *x, float *y, size_t n, float scale, int zp, int kind);
/// y[i] = table[x[i]] on bytes (u8 or s8 bit patterns).
void ck_lut_u8(const uint8_t *x, uint8_t *y, size_t n, const uint8_t *table);
/// y[i] = table[x[i]] from bytes to float.
void ck_table_f32(const uint8_t *x, float *y, size_t n, const float *table);
/// Max pooling of bytes (u8, or s8 when is_signed) over planes [p0, p1), as ck_maxpool_f32.
void ck_maxpool_u8(const uint8_t *x, int H, int W, int kh, int kw, int sh, int sw, int pt, int pl, int dh, int dw,
                   int OH, int OW, uint8_t *y, int p0, int p1, int is_signed);

/// Integer convolution: u8 (or s8, shifted to u8) activations × s8 weights, int32 accumulation, then one of
/// three epilogues: requantize to u8/s8 (optionally through a 256-entry table), float output, or float output
/// with SiLU applied before quantizing to the next scale. Weights are packed once at load by ck_qconv_pack.
typedef struct ck_qconv {
    int cin, H, W, cout, kh, kw, sh, sw, ph, pw, dh, dw, OH, OW, group;
    int x_signed;            // input bytes are s8: xor 0x80 gives the u8 value with zero point x_zp
    int x_zp;                // activation zero point in the u8 domain
    int K;                   // cin/group*kh*kw
    const int8_t *w;         // packed weights (layout owned by the kernel), cout rows of K
    const int32_t *comp;     // per output channel: -x_zp*sum(w), plus the int32 bias in mode 0
    const float *mul;        // per output channel: x_scale*w_scale[c]/y_scale in mode 0 (computed in float in
                             // that order, as onnxruntime does), x_scale*w_scale[c] (dequantization) otherwise
    const float *bias;       // per output channel float bias added after mul (modes 1-3)
    int out_mode;            // 0 quantized out, 1 float out, 2 float SiLU then quantized out, 3 float SiLU out
    float y_scale;           // output scale for mode 2 (QuantizeLinear divides by it)
    int y_zp, y_signed;
    const uint8_t *lut;      // optional table applied to quantized outputs (mode 0)
    const void *packed;      // blob made by ck_qconv_pack for `isa` (weights in tiles, epilogue constants)
    int isa;
} ck_qconv;

// Convolutions run, group by group, as a GEMM of packed weights (tiles of MR output channels of one group, K in
// groups of four bytes) by panels of NR output pixels whose activations are interleaved in the same groups of
// four: the layout of vpdpbusd / sdot. Activations come straight from the input (1x1, stride 1, no padding) or
// from phase planes: the zero-point-padded input split by stride phase, where every tap of the conv is a shifted
// row (the pixel grid then has the planes' width; its extra columns are never stored). Group-1 convs keep four
// channels per plane, interleaved, so the GEMM reads every tap's panel in place; grouped and depthwise convs
// (groups of one channel) interleave panels from one-channel planes. Steps: prepare (input channels split across
// threads), then compute (panels split).
/// Size of the packed blob of `p` for `isa`; with `blob` non-NULL also writes it (p->w, comp, mul, bias plain).
size_t ck_qconv_pack(const ck_qconv *p, int isa, void *blob);
/// Scratch shared by all threads of one conv (the phase planes); 0 when the input is used as it is.
size_t ck_qconv_shared_scratch(const ck_qconv *p);
/// Scratch each thread needs for ck_qconv_compute.
size_t ck_qconv_task_scratch(const ck_qconv *p);
/// Fills the shared scratch for input channels [c0, c1).
void ck_qconv_prepare(const ck_qconv *p, const void *x, uint8_t *shared, int c0, int c1);
/// Number of pixel panels of the conv.
int ck_qconv_panels(const ck_qconv *p);
/// Computes all output channels of pixel panels [n0, n1) into y.
void ck_qconv_compute(const ck_qconv *p, const void *x, const uint8_t *shared, void *y, int n0, int n1, uint8_t *task);
/// Output channels [co0, co1) by the direct definition of convolution (plain p->w, comp, mul, bias): the
/// portable oracle every packed path is tested against.
void ck_qconv_run_reference(const ck_qconv *p, const void *x, void *y, int co0, int co1);

// MARK: float convolution (group 1)
typedef struct ck_fconv {
    int cin, H, W, cout, kh, kw, sh, sw, ph, pw, dh, dw, OH, OW;
    const float *w;       // cout rows of cin*kh*kw (ONNX order), for ck_fconv_pack
    const float *bias;    // cout values, or NULL
    int silu;             // x*sigmoid(x) fused after the bias
    const void *packed;   // blob made by ck_fconv_pack for `isa`
    int isa;
    int splits;           // each panel's output channels in this many parts (ck_fconv_splits; 0 or 1: one part)
} ck_fconv;

// The same pixel grid as the integer convolution, with floats: a GEMM of packed weights (tiles of MR output
// channels, bias first) by panels of NR output pixels held in vector lanes, one fused multiply-add per weight.
// A 1x1 conv (stride 1, no padding) reads its panels straight from the input's channel rows; any other conv
// copies its input once into zero-padded phase planes (one per channel and stride phase), where every tap's panel
// is NR consecutive floats of one plane, read in place: no im2col. Steps: prepare (input channels split across
// threads), then compute (panels split).
/// Size of the packed blob of `p` for `isa`; with `blob` non-NULL also writes it (from p->w, p->bias).
size_t ck_fconv_pack(const ck_fconv *p, int isa, void *blob);
/// Scratch shared by all threads of one conv (the phase planes), in bytes; 0 when the input is used as it is.
size_t ck_fconv_shared_scratch(const ck_fconv *p);
/// Scratch each thread needs for ck_fconv_compute, in bytes.
size_t ck_fconv_task_scratch(const ck_fconv *p);
/// Fills the shared scratch for input channels [c0, c1).
void ck_fconv_prepare(const ck_fconv *p, const float *x, float *shared, int c0, int c1);
/// Units of work of the conv: pixel panels times p->splits parts of their output channels.
int ck_fconv_units(const ck_fconv *p);
/// How many parts to split each panel's output channels into so that `threads` threads get even shares of the
/// units (1 where panels alone split evenly enough).
int ck_fconv_splits(const ck_fconv *p, int threads);
/// How the conv runs: 0 direct from the input, 1 phase planes, 2 Winograd F(2x2, 3x3) on the planes.
int ck_fconv_method(const ck_fconv *p);
/// Computes units [n0, n1) into y.
void ck_fconv_compute(const ck_fconv *p, const float *x, const float *shared, float *y, int n0, int n1, float *task);

/// Integer MatMul of one [M,K]×[K,N] pair from QDQ graphs, as onnxruntime's QLinearMatMul: u8 or s8 operands with
/// their zero points, int32 accumulation, then float(acc) * (a_scale*b_scale/y_scale), round half to even, add
/// y_zp, saturate to u8/s8.
void ck_qmatmul(const void *a, int a_signed, int a_zp, const void *b, int b_signed, int b_zp, int M, int K, int N,
                float mul, void *y, int y_zp, int y_signed);

#endif
