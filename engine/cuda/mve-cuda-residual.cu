// SPDX-License-Identifier: GPL-3.0-or-later
// mve-cuda-residual.cu: out = a + b, elementwise (out may alias a).
#include "mve-cuda-common.h"
#include "mve-cuda-residual.h"

#define RESIDUAL_BLOCK 256

static __global__ void
residual_kernel (float *out, const float *a, const float *b, int64_t n)
{
  int64_t i = (int64_t) blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n)
    out[i] = a[i] + b[i];
}

extern "C" mve_status
mve_cuda_residual_forward (void *vctx, float *out, const float *a, const float *b, int64_t n)
{
  struct mve_cuda_ctx *ctx = (struct mve_cuda_ctx *) vctx;
  mve_status st = MVE_STATUS_OK;
  MVE_CUDA_REQUIRE (ctx, n >= 0);
  if (n == 0)
    return MVE_STATUS_OK;
  residual_kernel<<<MVE_CEIL_DIV (n, RESIDUAL_BLOCK), RESIDUAL_BLOCK, 0, ctx->stream>>> (out, a, b,
                                                                                         n);
  MVE_CUDA_CHECK_LAUNCH (ctx);
  return MVE_STATUS_OK;
fail:
  return st;
}
