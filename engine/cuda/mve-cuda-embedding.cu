// SPDX-License-Identifier: GPL-3.0-or-later
// mve-cuda-embedding.cu: out[n, t] = tok_emb[tokens[n, t]] + pos[t] and its
// backward. Token ids are validated by the engine before upload; an id
// outside [0, V) reads and writes <unk> (row 1) instead of foreign memory.
#include "mve-cuda-common.h"
#include "mve-cuda-embedding.h"

#define EMB_BLOCK 256

static __device__ __forceinline__ int
safe_token (int32_t t, int V)
{
  return t >= 0 && t < V ? t : (V > MVE_TOKEN_UNK ? MVE_TOKEN_UNK : 0);
}

static __global__ void
embedding_forward_kernel (float *out, const int32_t *tokens, const float *tok_emb,
                          const float *pos, int N, int T, int C, int V)
{
  int64_t i = (int64_t) blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= (int64_t) N * T * C)
    return;
  int c = (int) (i % C);
  int64_t nt = i / C;
  int t = (int) (nt % T);
  int tok = safe_token (tokens[nt], V);
  out[i] = tok_emb[(int64_t) tok * C + c] + pos[(int64_t) t * C + c];
}

// Token rows: atomics (several positions can hold the same token).
static __global__ void
embedding_backward_tok_kernel (float *dtok_emb, const float *dout, const int32_t *tokens, int N,
                               int T, int C, int V)
{
  int64_t i = (int64_t) blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= (int64_t) N * T * C)
    return;
  int c = (int) (i % C);
  int tok = safe_token (tokens[i / C], V);
  atomicAdd (&dtok_emb[(int64_t) tok * C + c], dout[i]);
}

// Positions: one thread per (t, c) sums over the N sequences in order.
static __global__ void
embedding_backward_pos_kernel (float *dpos, const float *dout, int N, int T, int C)
{
  int64_t i = (int64_t) blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= (int64_t) T * C)
    return;
  float acc = 0.0f;
  for (int n = 0; n < N; n++)
    acc += dout[(int64_t) n * T * C + i];
  dpos[i] += acc;
}

extern "C" mve_status
mve_cuda_embedding_forward (void *vctx, float *out, const int32_t *tokens, const float *tok_emb,
                            const float *pos, int N, int T, int C, int V)
{
  struct mve_cuda_ctx *ctx = (struct mve_cuda_ctx *) vctx;
  mve_status st = MVE_STATUS_OK;
  int64_t total = (int64_t) N * T * C;
  MVE_CUDA_REQUIRE (ctx, N >= 0 && T >= 0 && C > 0 && V > 0);
  if (total == 0)
    return MVE_STATUS_OK;
  embedding_forward_kernel<<<MVE_CEIL_DIV (total, EMB_BLOCK), EMB_BLOCK, 0, ctx->stream>>> (
    out, tokens, tok_emb, pos, N, T, C, V);
  MVE_CUDA_CHECK_LAUNCH (ctx);
  return MVE_STATUS_OK;
fail:
  return st;
}

extern "C" mve_status
mve_cuda_embedding_backward (void *vctx, float *dtok_emb, float *dpos, const float *dout,
                             const int32_t *tokens, int N, int T, int C, int V)
{
  struct mve_cuda_ctx *ctx = (struct mve_cuda_ctx *) vctx;
  mve_status st = MVE_STATUS_OK;
  int64_t total = (int64_t) N * T * C;
  MVE_CUDA_REQUIRE (ctx, N >= 0 && T >= 0 && C > 0 && V > 0);
  if (total == 0)
    return MVE_STATUS_OK;
  if (dtok_emb != NULL)
    {
      embedding_backward_tok_kernel<<<MVE_CEIL_DIV (total, EMB_BLOCK), EMB_BLOCK, 0,
                                      ctx->stream>>> (dtok_emb, dout, tokens, N, T, C, V);
      MVE_CUDA_CHECK_LAUNCH (ctx);
    }
  if (dpos != NULL)
    {
      embedding_backward_pos_kernel<<<MVE_CEIL_DIV ((int64_t) T * C, EMB_BLOCK), EMB_BLOCK, 0,
                                      ctx->stream>>> (dpos, dout, N, T, C);
      MVE_CUDA_CHECK_LAUNCH (ctx);
    }
  return MVE_STATUS_OK;
fail:
  return st;
}
