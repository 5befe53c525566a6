// CKernels: the engine's hot loops. Every kernel has a portable scalar reference; SIMD variants are chosen at
// run time (cpuid on x86-64, HWCAP on ARM64) and tested against it.
#ifndef INSPECTD_CKERNELS_H
#define INSPECTD_CKERNELS_H
#include <stddef.h>
#include <stdint.h>

/// Name of the instruction set the dispatcher picked for int8 kernels ("avx512vnni", "avx2", "neondot", "scalar").
const char *ck_isa_name(void);

#endif
