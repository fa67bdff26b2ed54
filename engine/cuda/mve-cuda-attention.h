// SPDX-License-Identifier: GPL-3.0-or-later
// mve-cuda-attention.h: fused multi-head attention (own kernels: scores, masked softmax and the value product in one kernel; backward without scratch), sized for T, Tk <= a few hundred and head size <= 64.
// Device pointers, ordered on the context's stream, no host synchronisation;
// shapes and semantics as the CPU functions of mve-impl.h. ctx is a
// struct mve_cuda_ctx *.
#pragma once

#include "mve-backend.h"

#ifdef __cplusplus
extern "C" {
#endif

mve_status mve_cuda_attention_forward (void *ctx, float *out, float *att, const float *q,
                                       const float *k, const float *v,
                                       const struct mve_attn_desc *d);
mve_status mve_cuda_attention_backward (void *ctx, float *dq, float *dk, float *dv,
                                        int64_t dkv_seq, int lddkv, const float *dout,
                                        const float *att, const float *q, const float *k,
                                        const float *v, const struct mve_attn_desc *d);

#ifdef __cplusplus
}
#endif
