// SPDX-License-Identifier: GPL-3.0-or-later
// mve-cuda-losses.cu: the three losses. LM and ITM: softmax cross-entropy,
// one block per row, loss and logit gradient in one pass over the row
// (a target < 0 is ignored: loss 0, gradient 0). ITC: the symmetric
// InfoNCE over the (B, B) similarity (already divided by the temperature),
// one block, double accumulation of the loss as on the CPU.
#include "mve-cuda-common.h"
#include "mve-cuda-losses.h"

#include <float.h>

#define XENT_BLOCK 256
#define ITC_BLOCK 256

static __device__ float
block_reduce (float v, float *sh, bool is_max)
{
  int tid = threadIdx.x;
  sh[tid] = v;
  __syncthreads ();
  for (int s = blockDim.x / 2; s > 0; s >>= 1)
    {
      if (tid < s)
        sh[tid] = is_max ? fmaxf (sh[tid], sh[tid + s]) : sh[tid] + sh[tid + s];
      __syncthreads ();
    }
  float r = sh[0];
  __syncthreads ();
  return r;
}

static __global__ void
xent_kernel (float *losses, float *dlogits, const float *logits, const int32_t *targets, int V,
             float scale)
{
  __shared__ float sh[XENT_BLOCK];
  int64_t row = blockIdx.x;
  const float *z = logits + row * V;
  float *dz = dlogits != NULL ? dlogits + row * V : NULL;
  int tgt = targets[row];
  float mx = -FLT_MAX;
  for (int i = threadIdx.x; i < V; i += blockDim.x)
    mx = fmaxf (mx, z[i]);
  mx = block_reduce (mx, sh, true);
  float s = 0.0f;
  for (int i = threadIdx.x; i < V; i += blockDim.x)
    s += expf (z[i] - mx);
  s = block_reduce (s, sh, false);
  float lse = mx + logf (s);
  bool valid = tgt >= 0 && tgt < V;
  if (threadIdx.x == 0)
    losses[row] = valid ? lse - z[tgt] : 0.0f;
  if (dz != NULL)
    for (int i = threadIdx.x; i < V; i += blockDim.x)
      dz[i] = valid ? (expf (z[i] - lse) - (i == tgt ? 1.0f : 0.0f)) * scale : 0.0f;
}

extern "C" mve_status
mve_cuda_lm_xent (void *vctx, float *losses, float *dlogits, const float *logits,
                  const int32_t *targets, int64_t N, int V, float dloss_scale)
{
  struct mve_cuda_ctx *ctx = (struct mve_cuda_ctx *) vctx;
  mve_status st = MVE_STATUS_OK;
  MVE_CUDA_REQUIRE (ctx, N >= 0 && N <= 0x7fffffff && V > 0);
  if (N == 0)
    return MVE_STATUS_OK;
  xent_kernel<<<(unsigned) N, XENT_BLOCK, 0, ctx->stream>>> (losses, dlogits, logits, targets, V,
                                                             dloss_scale);
  MVE_CUDA_CHECK_LAUNCH (ctx);
  return MVE_STATUS_OK;
fail:
  return st;
}

extern "C" mve_status
mve_cuda_itm_xent (void *vctx, float *losses, float *dlogits, const float *logits,
                   const int32_t *labels, int64_t N, float dloss_scale)
{
  return mve_cuda_lm_xent (vctx, losses, dlogits, logits, labels, N, 2, dloss_scale);
}

// Thread i handles row i (image-to-text) and column i (text-to-image).
static __global__ void
itc_kernel (float *loss, float *dsim, const float *sim, int B)
{
  __shared__ double sh[ITC_BLOCK];
  float coef = 1.0f / (2.0f * B);
  double acc = 0.0;
  for (int i = threadIdx.x; i < B; i += blockDim.x)
    {
      float mr = -FLT_MAX;
      for (int j = 0; j < B; j++)
        mr = fmaxf (mr, sim[(int64_t) i * B + j]);
      double sr = 0.0;
      for (int j = 0; j < B; j++)
        sr += expf (sim[(int64_t) i * B + j] - mr);
      acc += mr + log (sr) - sim[(int64_t) i * B + i];
      if (dsim != NULL)
        for (int j = 0; j < B; j++)
          dsim[(int64_t) i * B + j]
            = coef * (float) (expf (sim[(int64_t) i * B + j] - mr) / sr) - (i == j ? coef : 0.0f);
    }
  __syncthreads (); // row pass wrote every dsim entry
  for (int c = threadIdx.x; c < B; c += blockDim.x)
    {
      float mc = -FLT_MAX;
      for (int j = 0; j < B; j++)
        mc = fmaxf (mc, sim[(int64_t) j * B + c]);
      double sc = 0.0;
      for (int j = 0; j < B; j++)
        sc += expf (sim[(int64_t) j * B + c] - mc);
      acc += mc + log (sc) - sim[(int64_t) c * B + c];
      if (dsim != NULL)
        for (int j = 0; j < B; j++)
          dsim[(int64_t) j * B + c]
            += coef * (float) (expf (sim[(int64_t) j * B + c] - mc) / sc) - (j == c ? coef : 0.0f);
    }
  sh[threadIdx.x] = acc;
  __syncthreads ();
  for (int s = ITC_BLOCK / 2; s > 0; s >>= 1)
    {
      if ((int) threadIdx.x < s)
        sh[threadIdx.x] += sh[threadIdx.x + s];
      __syncthreads ();
    }
  if (threadIdx.x == 0)
    loss[0] = (float) (sh[0] / (2.0 * B));
}

extern "C" mve_status
mve_cuda_itc_loss (void *vctx, float *loss, float *dsim, const float *sim, int B)
{
  struct mve_cuda_ctx *ctx = (struct mve_cuda_ctx *) vctx;
  mve_status st = MVE_STATUS_OK;
  MVE_CUDA_REQUIRE (ctx, B >= 1);
  itc_kernel<<<1, ITC_BLOCK, 0, ctx->stream>>> (loss, dsim, sim, B);
  MVE_CUDA_CHECK_LAUNCH (ctx);
  return MVE_STATUS_OK;
fail:
  return st;
}
