// SPDX-License-Identifier: GPL-3.0-or-later
// mve-cuda-residual.h: elementwise residual add.
// Device pointers, ordered on the context's stream, no host synchronisation;
// shapes and semantics as the CPU functions of mve-impl.h. ctx is a
// struct mve_cuda_ctx *.
#pragma once

#include "mve-backend.h"

#ifdef __cplusplus
extern "C" {
#endif

mve_status mve_cuda_residual_forward (void *ctx, float *out, const float *a, const float *b,
                                      int64_t n);

#ifdef __cplusplus
}
#endif
