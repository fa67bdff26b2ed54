// SPDX-License-Identifier: GPL-3.0-or-later
// mve-cuda-losses.h: the three losses: LM softmax cross-entropy (fused loss + logit gradient, one block per row), ITM cross-entropy over 2 classes, ITC symmetric contrastive loss over the (B, B) similarity.
// Device pointers, ordered on the context's stream, no host synchronisation;
// shapes and semantics as the CPU functions of mve-impl.h. ctx is a
// struct mve_cuda_ctx *.
#pragma once

#include "mve-backend.h"

#ifdef __cplusplus
extern "C" {
#endif

mve_status mve_cuda_lm_xent (void *ctx, float *losses, float *dlogits, const float *logits,
                             const int32_t *targets, int64_t N, int V, float dloss_scale);
mve_status mve_cuda_itm_xent (void *ctx, float *losses, float *dlogits, const float *logits,
                              const int32_t *labels, int64_t N, float dloss_scale);
mve_status mve_cuda_itc_loss (void *ctx, float *loss, float *dsim, const float *sim, int B);

#ifdef __cplusplus
}
#endif
