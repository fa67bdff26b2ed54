// SPDX-License-Identifier: GPL-3.0-or-later
// mve-cuda-layernorm.h: layer norm forward/backward (eps 1e-5), one warp per row.
// Device pointers, ordered on the context's stream, no host synchronisation;
// shapes and semantics as the CPU functions of mve-impl.h. ctx is a
// struct mve_cuda_ctx *.
#pragma once

#include "mve-backend.h"

#ifdef __cplusplus
extern "C" {
#endif

mve_status mve_cuda_layernorm_forward (void *ctx, float *out, float *mean, float *rstd,
                                       const float *inp, const float *w, const float *b,
                                       int64_t N, int C);
mve_status mve_cuda_layernorm_backward (void *ctx, float *dinp, float *dw, float *db,
                                        const float *dout, const float *inp, const float *w,
                                        const float *mean, const float *rstd, int64_t N, int C);

#ifdef __cplusplus
}
#endif
