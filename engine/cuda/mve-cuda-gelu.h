// SPDX-License-Identifier: GPL-3.0-or-later
// mve-cuda-gelu.h: GELU, tanh approximation (x * sigmoid(2u)), forward and accumulating backward.
// Device pointers, ordered on the context's stream, no host synchronisation;
// shapes and semantics as the CPU functions of mve-impl.h. ctx is a
// struct mve_cuda_ctx *.
#pragma once

#include "mve-backend.h"

#ifdef __cplusplus
extern "C" {
#endif

mve_status mve_cuda_gelu_forward (void *ctx, float *out, const float *inp, int64_t n);
mve_status mve_cuda_gelu_backward (void *ctx, float *dinp, const float *inp, const float *dout,
                                   int64_t n);

#ifdef __cplusplus
}
#endif
