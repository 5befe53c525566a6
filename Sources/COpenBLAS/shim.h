// OpenBLAS: float GEMM for the FP32 engine path. openblas_set_num_threads keeps it to the caller's thread.
#ifndef INSPECTD_COPENBLAS_SHIM_H
#define INSPECTD_COPENBLAS_SHIM_H
#include <cblas.h>
#endif
