// Which instruction set the kernels use: cpuid on x86-64 (through the compiler's cpu model, which also checks
// that the OS saves the vector state), HWCAP on ARM64. INSPECTD_KERNEL_ISA=name forces an available one.
#include "conv_internal.h"
#include <stdlib.h>
#include <string.h>
#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20)
#endif
#endif

extern const ck_qisa ck_qisa_scalar;
extern const ck_fisa ck_fisa_scalar;
#if defined(__x86_64__)
extern const ck_qisa ck_qisa_avx512, ck_qisa_avxvnni, ck_qisa_avxvnni_evex, ck_qisa_avx2;
extern const ck_fisa ck_fisa_avx512, ck_fisa_avx2;
#endif
#if defined(__aarch64__)
extern const ck_qisa ck_qisa_neondot;
extern const ck_fisa ck_fisa_neon;
#endif

int ck_have_avx2(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

#if defined(__x86_64__)
static int have_avx512vnni(void) {
    __builtin_cpu_init();
    return ck_have_avx2() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512vbmi");
}
int ck_have_avx512(void) {
    static int have = -1;
    if (have < 0) have = have_avx512vnni();
    return have;
}
static int have_avxvnni(void) {
    __builtin_cpu_init();
    return ck_have_avx2() && __builtin_cpu_supports("avxvnni");
}
static int have_vl_vnni(void) {
    __builtin_cpu_init();
    return ck_have_avx2() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512vnni");
}
#endif

int ck_isa_available(int isa) {
    switch (isa) {
    case CK_ISA_SCALAR: return 1;
#if defined(__x86_64__)
    case CK_ISA_AVX2: return ck_have_avx2();
    case CK_ISA_AVXVNNI: return have_avxvnni() || have_vl_vnni();
    case CK_ISA_AVX512VNNI: return have_avx512vnni();
#endif
#if defined(__aarch64__) && defined(__linux__)
    case CK_ISA_NEONDOT: return (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0;
#endif
    default: return 0;
    }
}

static const char *const labels[CK_ISA_COUNT] = {"scalar", "avx2", "avxvnni", "avx512vnni", "neondot"};

const char *ck_isa_label(int isa) { return isa >= 0 && isa < CK_ISA_COUNT ? labels[isa] : "unknown"; }

int ck_isa_best(void) {
    static int best = -1;
    if (best >= 0) return best;
    int pick = CK_ISA_SCALAR;
    const int order[] = {CK_ISA_AVX512VNNI, CK_ISA_AVXVNNI, CK_ISA_AVX2, CK_ISA_NEONDOT};
    for (int i = 0; i < 4; i++) if (ck_isa_available(order[i])) { pick = order[i]; break; }
    const char *forced = getenv("INSPECTD_KERNEL_ISA");
    if (forced) for (int i = 0; i < CK_ISA_COUNT; i++) if (strcmp(forced, labels[i]) == 0 && ck_isa_available(i)) pick = i;
    best = pick;
    return best;
}

const char *ck_isa_name(void) { return ck_isa_label(ck_isa_best()); }

const ck_qisa *ck_qisa_get(int isa) {
    if (!ck_isa_available(isa)) return &ck_qisa_scalar;
    switch (isa) {
#if defined(__x86_64__)
    case CK_ISA_AVX512VNNI: return &ck_qisa_avx512;
    case CK_ISA_AVXVNNI: return have_avxvnni() ? &ck_qisa_avxvnni : &ck_qisa_avxvnni_evex;
    case CK_ISA_AVX2: return &ck_qisa_avx2;
#endif
#if defined(__aarch64__)
    case CK_ISA_NEONDOT: return &ck_qisa_neondot;
#endif
    default: return &ck_qisa_scalar;
    }
}

/// The float kernel of an instruction set: AVX-512 for AVX-512 VNNI, AVX2 FMA for AVX-VNNI and AVX2, NEON on an
/// ARM64 with dotprod. An ARM64 without dotprod dispatches scalar and gets the scalar float kernel, which the
/// compiler vectorizes (its fmaf loops are NEON FMAs at -O3).
const ck_fisa *ck_fisa_get(int isa) {
    if (!ck_isa_available(isa)) return &ck_fisa_scalar;
    switch (isa) {
#if defined(__x86_64__)
    case CK_ISA_AVX512VNNI: return &ck_fisa_avx512;
    case CK_ISA_AVXVNNI: case CK_ISA_AVX2: return &ck_fisa_avx2;
#endif
#if defined(__aarch64__)
    case CK_ISA_NEONDOT: return &ck_fisa_neon;
#endif
    default: return &ck_fisa_scalar;
    }
}
