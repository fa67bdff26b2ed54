// SPDX-License-Identifier: GPL-3.0-or-later
// mve-cuda-matmul.h: matrix products through cuBLAS (FP32, or TF32 tensor cores), bias add and bias-gradient column sums.
// Device pointers, ordered on the context's stream, no host synchronisation;
// shapes and semantics as the CPU functions of mve-impl.h. ctx is a
// struct mve_cuda_ctx *.
#pragma once

#include "mve-backend.h"

#ifdef __cplusplus
extern "C" {
#endif

mve_status mve_cuda_matmul_forward (void *ctx, float *out, const float *inp, const float *w,
                                    const float *b, int64_t N, int IC, int OC);
mve_status mve_cuda_matmul_backward (void *ctx, float *dinp, float *dw, float *db,
                                     const float *dout, const float *inp, const float *w,
                                     int64_t N, int IC, int OC);
// Deterministic column sums: out (C) += sum over N rows of x (N, C).
mve_status mve_cuda_colsum_accumulate (void *ctx, float *out, const float *x, int64_t N, int C);

#ifdef __cplusplus
}
#endif
