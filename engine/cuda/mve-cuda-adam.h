// SPDX-License-Identifier: GPL-3.0-or-later
// mve-cuda-adam.h: torch.optim.Adam over the flat parameter block (one kernel, elementwise).
// Device pointers, ordered on the context's stream, no host synchronisation;
// shapes and semantics as the CPU functions of mve-impl.h. ctx is a
// struct mve_cuda_ctx *.
#pragma once

#include "mve-backend.h"

#ifdef __cplusplus
extern "C" {
#endif

mve_status mve_cuda_adam (void *ctx, float *params, float *m, float *v, const float *grads,
                         int64_t n, float lr, float beta1, float beta2, float eps,
                         float weight_decay, float grad_scale, int64_t step);

#ifdef __cplusplus
}
#endif
