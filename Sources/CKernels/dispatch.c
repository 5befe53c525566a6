#include "CKernels.h"

const char *ck_isa_name(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512vnni")) return "avx512vnni";
    if (__builtin_cpu_supports("avx2")) return "avx2";
#endif
    return "scalar";
}
