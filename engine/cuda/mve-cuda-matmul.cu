// SPDX-License-Identifier: GPL-3.0-or-later
// mve-cuda-matmul.cu: out = inp @ w^T + b and its backward through cuBLAS
// (row-major tensors as transposed column-major matrices). The precision
// (FP32 or TF32 tensor cores) is the handle's math mode, set by the backend.
#include "mve-cuda-common.h"
#include "mve-cuda-matmul.h"

#include <limits.h>

#define MATMUL_BIAS_BLOCK 256
#define COLSUM_BLOCK 256

static __global__ void
bias_add_kernel (float *out, const float *b, int64_t N, int OC)
{
  int64_t i = (int64_t) blockIdx.x * blockDim.x + threadIdx.x;
  if (i < N * OC)
    out[i] += b[i % OC];
}

// One block per column: a fixed-order tree reduction (deterministic).
static __global__ void
colsum_kernel (float *out, const float *x, int64_t N, int C)
{
  __shared__ float sh[COLSUM_BLOCK];
  int c = blockIdx.x;
  float acc = 0.0f;
  for (int64_t r = threadIdx.x; r < N; r += blockDim.x)
    acc += x[r * C + c];
  sh[threadIdx.x] = acc;
  __syncthreads ();
  for (int s = COLSUM_BLOCK / 2; s > 0; s >>= 1)
    {
      if ((int) threadIdx.x < s)
        sh[threadIdx.x] += sh[threadIdx.x + s];
      __syncthreads ();
    }
  if (threadIdx.x == 0)
    out[c] += sh[0];
}

extern "C" mve_status
mve_cuda_colsum_accumulate (void *vctx, float *out, const float *x, int64_t N, int C)
{
  struct mve_cuda_ctx *ctx = (struct mve_cuda_ctx *) vctx;
  mve_status st = MVE_STATUS_OK;
  MVE_CUDA_REQUIRE (ctx, N >= 0 && C > 0);
  if (N == 0)
    return MVE_STATUS_OK;
  colsum_kernel<<<C, COLSUM_BLOCK, 0, ctx->stream>>> (out, x, N, C);
  MVE_CUDA_CHECK_LAUNCH (ctx);
  return MVE_STATUS_OK;
fail:
  return st;
}

extern "C" mve_status
mve_cuda_matmul_forward (void *vctx, float *out, const float *inp, const float *w, const float *b,
                         int64_t N, int IC, int OC)
{
  struct mve_cuda_ctx *ctx = (struct mve_cuda_ctx *) vctx;
  mve_status st = MVE_STATUS_OK;
  const float one = 1.0f, zero = 0.0f;
  MVE_CUDA_REQUIRE (ctx, N >= 0 && N <= INT_MAX && IC > 0 && OC > 0);
  if (N == 0)
    return MVE_STATUS_OK;
  // column-major: out^T (OC, N) = w (OC, IC) . inp^T (IC, N)
  MVE_CUBLAS_CHECK (ctx, cublasSgemm (ctx->cublas, CUBLAS_OP_T, CUBLAS_OP_N, OC, (int) N, IC, &one,
                                      w, IC, inp, IC, &zero, out, OC));
  if (b != NULL)
    {
      bias_add_kernel<<<MVE_CEIL_DIV (N * OC, MATMUL_BIAS_BLOCK), MATMUL_BIAS_BLOCK, 0,
                        ctx->stream>>> (out, b, N, OC);
      MVE_CUDA_CHECK_LAUNCH (ctx);
    }
  return MVE_STATUS_OK;
fail:
  return st;
}

extern "C" mve_status
mve_cuda_matmul_backward (void *vctx, float *dinp, float *dw, float *db, const float *dout,
                          const float *inp, const float *w, int64_t N, int IC, int OC)
{
  struct mve_cuda_ctx *ctx = (struct mve_cuda_ctx *) vctx;
  mve_status st = MVE_STATUS_OK;
  const float one = 1.0f;
  MVE_CUDA_REQUIRE (ctx, N >= 0 && N <= INT_MAX && IC > 0 && OC > 0);
  if (N == 0)
    return MVE_STATUS_OK;
  if (dinp != NULL) // dinp^T (IC, N) += w^T (IC, OC) . dout^T (OC, N)
    MVE_CUBLAS_CHECK (ctx, cublasSgemm (ctx->cublas, CUBLAS_OP_N, CUBLAS_OP_N, IC, (int) N, OC,
                                        &one, w, IC, dout, OC, &one, dinp, IC));
  // dw^T (IC, OC) += inp^T (IC, N) . dout (N, OC)
  MVE_CUBLAS_CHECK (ctx, cublasSgemm (ctx->cublas, CUBLAS_OP_N, CUBLAS_OP_T, IC, OC, (int) N, &one,
                                      inp, IC, dout, OC, &one, dw, IC));
  if (db != NULL)
    return mve_cuda_colsum_accumulate (ctx, db, dout, N, OC);
  return MVE_STATUS_OK;
fail:
  return st;
}
