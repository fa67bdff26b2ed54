// SPDX-License-Identifier: GPL-3.0-or-later
// mve-cuda-embedding.h: token + position embedding forward and backward.
// Device pointers, ordered on the context's stream, no host synchronisation;
// shapes and semantics as the CPU functions of mve-impl.h. ctx is a
// struct mve_cuda_ctx *.
#pragma once

#include "mve-backend.h"

#ifdef __cplusplus
extern "C" {
#endif

mve_status mve_cuda_embedding_forward (void *ctx, float *out, const int32_t *tokens,
                                       const float *tok_emb, const float *pos, int N, int T,
                                       int C, int V);
mve_status mve_cuda_embedding_backward (void *ctx, float *dtok_emb, float *dpos,
                                        const float *dout, const int32_t *tokens, int N, int T,
                                        int C, int V);

#ifdef __cplusplus
}
#endif
