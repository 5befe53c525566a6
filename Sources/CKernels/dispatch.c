#include "CKernels.h"

int ck_have_avx2(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

const char *ck_isa_name(void) {
#if defined(__x86_64__)
    if (ck_have_avx2()) return "avx2";
#endif
    return "scalar";
}
