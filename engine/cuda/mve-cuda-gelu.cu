// SPDX-License-Identifier: GPL-3.0-or-later
// mve-cuda-gelu.cu: GELU (tanh approximation) written as x * sigmoid(2u),
// u = sqrt(2/pi) (x + 0.044715 x^3), the CPU engine's form.
#include "mve-cuda-common.h"
#include "mve-cuda-gelu.h"

#define GELU_BLOCK 256
#define GELU_K 0.7978845608028654f

static __global__ void
gelu_forward_kernel (float *out, const float *inp, int64_t n)
{
  int64_t i = (int64_t) blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n)
    return;
  float x = inp[i];
  float u = GELU_K * (x + 0.044715f * x * x * x);
  out[i] = x / (1.0f + expf (-2.0f * u));
}

static __global__ void
gelu_backward_kernel (float *dinp, const float *inp, const float *dout, int64_t n)
{
  int64_t i = (int64_t) blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n)
    return;
  float x = inp[i];
  float u = GELU_K * (x + 0.044715f * x * x * x);
  float s = 1.0f / (1.0f + expf (-2.0f * u));
  float g = s + x * 2.0f * s * (1.0f - s) * GELU_K * (1.0f + 3.0f * 0.044715f * x * x);
  dinp[i] += g * dout[i];
}

extern "C" mve_status
mve_cuda_gelu_forward (void *vctx, float *out, const float *inp, int64_t n)
{
  struct mve_cuda_ctx *ctx = (struct mve_cuda_ctx *) vctx;
  mve_status st = MVE_STATUS_OK;
  MVE_CUDA_REQUIRE (ctx, n >= 0);
  if (n == 0)
    return MVE_STATUS_OK;
  gelu_forward_kernel<<<MVE_CEIL_DIV (n, GELU_BLOCK), GELU_BLOCK, 0, ctx->stream>>> (out, inp, n);
  MVE_CUDA_CHECK_LAUNCH (ctx);
  return MVE_STATUS_OK;
fail:
  return st;
}

extern "C" mve_status
mve_cuda_gelu_backward (void *vctx, float *dinp, const float *inp, const float *dout, int64_t n)
{
  struct mve_cuda_ctx *ctx = (struct mve_cuda_ctx *) vctx;
  mve_status st = MVE_STATUS_OK;
  MVE_CUDA_REQUIRE (ctx, n >= 0);
  if (n == 0)
    return MVE_STATUS_OK;
  gelu_backward_kernel<<<MVE_CEIL_DIV (n, GELU_BLOCK), GELU_BLOCK, 0, ctx->stream>>> (dinp, inp,
                                                                                      dout, n);
  MVE_CUDA_CHECK_LAUNCH (ctx);
  return MVE_STATUS_OK;
fail:
  return st;
}
