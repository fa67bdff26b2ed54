// SPDX-License-Identifier: GPL-3.0-or-later
// mve-cuda-adam.cu: torch.optim.Adam over the flat parameter block, with
// the gradient scaled by grad_scale (global-norm clipping) and L2 weight
// decay added to the gradient, exactly as mve_model_adam_step_norm.
#include "mve-cuda-common.h"
#include "mve-cuda-adam.h"

#include <math.h>

#define ADAM_BLOCK 256

static __global__ void
adam_kernel (float *p, float *am, float *av, const float *g, int64_t n, float b1, float b2,
             float eps, float wd, float clip, float step_size, float bc2_sqrt)
{
  int64_t i = (int64_t) blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n)
    return;
  float gi = g[i] * clip + wd * p[i];
  float mi = b1 * am[i] + (1.0f - b1) * gi;
  float vi = b2 * av[i] + (1.0f - b2) * gi * gi;
  am[i] = mi;
  av[i] = vi;
  p[i] -= step_size * mi / (sqrtf (vi) / bc2_sqrt + eps);
}

extern "C" mve_status
mve_cuda_adam (void *vctx, float *params, float *m, float *v, const float *grads, int64_t n,
               float lr, float beta1, float beta2, float eps, float weight_decay,
               float grad_scale, int64_t step)
{
  struct mve_cuda_ctx *ctx = (struct mve_cuda_ctx *) vctx;
  mve_status st = MVE_STATUS_OK;
  float step_size, bc2_sqrt;
  MVE_CUDA_REQUIRE (ctx, n >= 0 && step >= 1 && beta1 >= 0 && beta1 < 1 && beta2 >= 0
                           && beta2 < 1 && eps > 0);
  if (n == 0)
    return MVE_STATUS_OK;
  step_size = lr / (1.0f - powf (beta1, (float) step));
  bc2_sqrt = sqrtf (1.0f - powf (beta2, (float) step));
  adam_kernel<<<MVE_CEIL_DIV (n, ADAM_BLOCK), ADAM_BLOCK, 0, ctx->stream>>> (
    params, m, v, grads, n, beta1, beta2, eps, weight_decay, grad_scale, step_size, bc2_sqrt);
  MVE_CUDA_CHECK_LAUNCH (ctx);
  return MVE_STATUS_OK;
fail:
  return st;
}
