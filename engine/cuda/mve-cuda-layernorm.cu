// SPDX-License-Identifier: GPL-3.0-or-later
// mve-cuda-layernorm.cu: layer norm, one warp per row (two-pass mean and
// variance as on the CPU); dw/db by deterministic per-column reductions.
#include "mve-cuda-common.h"
#include "mve-cuda-layernorm.h"

#define LN_BLOCK 256 // 8 warps, 8 rows per block
#define LN_COL_BLOCK 256

static __device__ __forceinline__ float
warp_sum (float v)
{
  for (int o = 16; o > 0; o >>= 1)
    v += __shfl_xor_sync (0xffffffffu, v, o);
  return v;
}

static __global__ void
ln_forward_kernel (float *out, float *mean, float *rstd, const float *inp, const float *w,
                   const float *b, int64_t N, int C)
{
  int64_t row = (int64_t) blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
  int lane = threadIdx.x % 32;
  if (row >= N)
    return;
  const float *x = inp + row * C;
  float s = 0.0f;
  for (int i = lane; i < C; i += 32)
    s += x[i];
  float m = warp_sum (s) / C;
  float v = 0.0f;
  for (int i = lane; i < C; i += 32)
    {
      float d = x[i] - m;
      v += d * d;
    }
  float r = 1.0f / sqrtf (warp_sum (v) / C + 1e-5f);
  float *o = out + row * C;
  for (int i = lane; i < C; i += 32)
    o[i] = (x[i] - m) * r * w[i] + b[i];
  if (lane == 0)
    {
      mean[row] = m;
      rstd[row] = r;
    }
}

static __global__ void
ln_backward_dinp_kernel (float *dinp, const float *dout, const float *inp, const float *w,
                         const float *mean, const float *rstd, int64_t N, int C)
{
  int64_t row = (int64_t) blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
  int lane = threadIdx.x % 32;
  if (row >= N)
    return;
  const float *d = dout + row * C, *x = inp + row * C;
  float *dx = dinp + row * C;
  float m = mean[row], s = rstd[row];
  float a = 0.0f, bb = 0.0f;
  for (int i = lane; i < C; i += 32)
    {
      float norm = (x[i] - m) * s;
      float dn = w[i] * d[i];
      a += dn;
      bb += dn * norm;
    }
  a = warp_sum (a) / C;
  bb = warp_sum (bb) / C;
  for (int i = lane; i < C; i += 32)
    {
      float norm = (x[i] - m) * s;
      dx[i] += (w[i] * d[i] - a - norm * bb) * s;
    }
}

// One block per column c: dw[c] += sum_n norm * dout, db[c] += sum_n dout.
static __global__ void
ln_backward_dwdb_kernel (float *dw, float *db, const float *dout, const float *inp,
                         const float *mean, const float *rstd, int64_t N, int C)
{
  __shared__ float sw[LN_COL_BLOCK], sb[LN_COL_BLOCK];
  int c = blockIdx.x;
  float aw = 0.0f, ab = 0.0f;
  for (int64_t r = threadIdx.x; r < N; r += blockDim.x)
    {
      float d = dout[r * C + c];
      aw += (inp[r * C + c] - mean[r]) * rstd[r] * d;
      ab += d;
    }
  sw[threadIdx.x] = aw;
  sb[threadIdx.x] = ab;
  __syncthreads ();
  for (int s = LN_COL_BLOCK / 2; s > 0; s >>= 1)
    {
      if ((int) threadIdx.x < s)
        {
          sw[threadIdx.x] += sw[threadIdx.x + s];
          sb[threadIdx.x] += sb[threadIdx.x + s];
        }
      __syncthreads ();
    }
  if (threadIdx.x == 0)
    {
      dw[c] += sw[0];
      db[c] += sb[0];
    }
}

extern "C" mve_status
mve_cuda_layernorm_forward (void *vctx, float *out, float *mean, float *rstd, const float *inp,
                            const float *w, const float *b, int64_t N, int C)
{
  struct mve_cuda_ctx *ctx = (struct mve_cuda_ctx *) vctx;
  mve_status st = MVE_STATUS_OK;
  const int rows = LN_BLOCK / 32;
  MVE_CUDA_REQUIRE (ctx, N >= 0 && C > 0);
  if (N == 0)
    return MVE_STATUS_OK;
  ln_forward_kernel<<<MVE_CEIL_DIV (N, rows), LN_BLOCK, 0, ctx->stream>>> (out, mean, rstd, inp, w,
                                                                           b, N, C);
  MVE_CUDA_CHECK_LAUNCH (ctx);
  return MVE_STATUS_OK;
fail:
  return st;
}

extern "C" mve_status
mve_cuda_layernorm_backward (void *vctx, float *dinp, float *dw, float *db, const float *dout,
                             const float *inp, const float *w, const float *mean,
                             const float *rstd, int64_t N, int C)
{
  struct mve_cuda_ctx *ctx = (struct mve_cuda_ctx *) vctx;
  mve_status st = MVE_STATUS_OK;
  const int rows = LN_BLOCK / 32;
  MVE_CUDA_REQUIRE (ctx, N >= 0 && C > 0);
  if (N == 0)
    return MVE_STATUS_OK;
  ln_backward_dinp_kernel<<<MVE_CEIL_DIV (N, rows), LN_BLOCK, 0, ctx->stream>>> (
    dinp, dout, inp, w, mean, rstd, N, C);
  MVE_CUDA_CHECK_LAUNCH (ctx);
  ln_backward_dwdb_kernel<<<C, LN_COL_BLOCK, 0, ctx->stream>>> (dw, db, dout, inp, mean, rstd, N,
                                                                C);
  MVE_CUDA_CHECK_LAUNCH (ctx);
  return MVE_STATUS_OK;
fail:
  return st;
}
