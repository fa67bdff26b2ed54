// SPDX-License-Identifier: GPL-3.0-or-later
// mve-cuda-attention.cu: multi-head attention with our own kernels (the
// shapes here are small: T, Tk <= ~180, head size 16; one fused kernel beats
// the setup cost of cuDNN's SDPA graphs at this size, and keeps att, which
// the overlays and the CPU-style backward need).
//
// Forward: grid (N * NH, ceil(T / warps)); one warp per query row computes
// the scaled scores into att, the masked softmax (keys >= klen and, when
// causal, keys > t get 0) and out = att @ v.
// Backward: one block per (sequence, head), so dk/dv/dq of a sequence and
// head are written by one block (no atomics, deterministic): phase 1 (warp
// per row) dot_t = sum_u att * (dout . v_u) and dq; phase 2 (thread per
// key and channel) dk and dv.
#include "mve-cuda-common.h"
#include "mve-cuda-attention.h"

#define ATT_WARPS 4
#define ATT_BWD_BLOCK 256
#define ATT_MAX_HS 64

static __device__ __forceinline__ float
warp_sum (float v)
{
  for (int o = 16; o > 0; o >>= 1)
    v += __shfl_xor_sync (0xffffffffu, v, o);
  return v;
}

static __device__ __forceinline__ float
warp_max (float v)
{
  for (int o = 16; o > 0; o >>= 1)
    v = fmaxf (v, __shfl_xor_sync (0xffffffffu, v, o));
  return v;
}

static __device__ __forceinline__ int
valid_keys (struct mve_attn_desc d, int n, int t)
{
  int kl = d.klen != NULL ? d.klen[n] : d.Tk;
  if (kl > d.Tk)
    kl = d.Tk;
  if (d.causal && t + 1 < kl)
    kl = t + 1;
  return kl;
}

static __global__ void
attention_forward_kernel (float *out, float *att, const float *q, const float *k, const float *v,
                          struct mve_attn_desc d)
{
  int nh = blockIdx.x;
  int n = nh / d.NH, h = nh % d.NH;
  int t = blockIdx.y * ATT_WARPS + threadIdx.x / 32;
  int lane = threadIdx.x % 32;
  if (t >= d.T)
    return;
  int s = d.kv_index != NULL ? d.kv_index[n] : n;
  int hs = d.hs, C = d.NH * d.hs, Tk = d.Tk;
  const float *qr = q + n * d.q_seq + (int64_t) t * d.ldq + h * hs;
  const float *kb = k + s * d.kv_seq + h * hs;
  const float *vb = v + s * d.kv_seq + h * hs;
  float *arow = att + (((int64_t) n * d.NH + h) * d.T + t) * Tk;
  float scale = rsqrtf ((float) hs);
  int kl = valid_keys (d, n, t);
  float mx = -INFINITY;
  for (int u = lane; u < kl; u += 32)
    {
      const float *kr = kb + (int64_t) u * d.ldkv;
      float dot = 0.0f;
      for (int i = 0; i < hs; i++)
        dot += qr[i] * kr[i];
      dot *= scale;
      arow[u] = dot;
      mx = fmaxf (mx, dot);
    }
  mx = warp_max (mx);
  float sum = 0.0f;
  for (int u = lane; u < kl; u += 32)
    {
      float e = expf (arow[u] - mx);
      arow[u] = e;
      sum += e;
    }
  sum = warp_sum (sum);
  float inv = sum > 0.0f ? 1.0f / sum : 0.0f;
  for (int u = lane; u < Tk; u += 32)
    arow[u] = u < kl ? arow[u] * inv : 0.0f;
  __syncwarp ();
  float *orow = out + ((int64_t) n * d.T + t) * C + h * hs;
  for (int i = 0; i < hs; i++)
    {
      float acc = 0.0f;
      for (int u = lane; u < kl; u += 32)
        acc += arow[u] * vb[(int64_t) u * d.ldkv + i];
      acc = warp_sum (acc);
      if (lane == 0)
        orow[i] = acc;
    }
}

static __global__ void
attention_backward_kernel (float *dq, float *dk, float *dv, int64_t dkv_seq, int lddkv,
                           const float *dout, const float *att, const float *q, const float *k,
                           const float *v, struct mve_attn_desc d)
{
  extern __shared__ float dots[]; // (T)
  int nh = blockIdx.x;
  int n = nh / d.NH, h = nh % d.NH;
  int hs = d.hs, C = d.NH * d.hs, T = d.T, Tk = d.Tk;
  int warp = threadIdx.x / 32, lane = threadIdx.x % 32, nwarps = blockDim.x / 32;
  float scale = rsqrtf ((float) hs);
  const float *qb = q + n * d.q_seq + h * hs;
  const float *kb = k + n * d.kv_seq + h * hs;
  const float *vb = v + n * d.kv_seq + h * hs;
  const float *ab = att + ((int64_t) n * d.NH + h) * T * Tk;
  const float *gb = dout + (int64_t) n * T * C + h * hs;
  float *dqb = dq + n * d.q_seq + h * hs;
  float *dkb = dk + n * dkv_seq + h * hs;
  float *dvb = dv + n * dkv_seq + h * hs;

  // phase 1: per query row t
  for (int t = warp; t < T; t += nwarps)
    {
      int kl = valid_keys (d, n, t);
      const float *g = gb + (int64_t) t * C;
      const float *a = ab + (int64_t) t * Tk;
      float dot = 0.0f;
      for (int u = lane; u < kl; u += 32)
        {
          const float *vr = vb + (int64_t) u * d.ldkv;
          float dp = 0.0f;
          for (int i = 0; i < hs; i++)
            dp += g[i] * vr[i];
          dot += a[u] * dp;
        }
      dot = warp_sum (dot);
      if (lane == 0)
        dots[t] = dot;
      // dq[t] += sum_u ds[t, u] k[u], ds = a (dp - dot) scale
      for (int i = 0; i < hs; i++)
        {
          float acc = 0.0f;
          for (int u = lane; u < kl; u += 32)
            {
              const float *vr = vb + (int64_t) u * d.ldkv;
              float dp = 0.0f;
              for (int j = 0; j < hs; j++)
                dp += g[j] * vr[j];
              acc += a[u] * (dp - dot) * scale * kb[(int64_t) u * d.ldkv + i];
            }
          acc = warp_sum (acc);
          if (lane == 0)
            dqb[(int64_t) t * d.ldq + i] += acc;
        }
    }
  __syncthreads ();
  // phase 2: per key u and channel i
  for (int idx = threadIdx.x; idx < Tk * hs; idx += blockDim.x)
    {
      int u = idx / hs, i = idx % hs;
      const float *vr = vb + (int64_t) u * d.ldkv;
      float ak = 0.0f, av = 0.0f;
      for (int t = 0; t < T; t++)
        {
          float a = ab[(int64_t) t * Tk + u];
          if (a == 0.0f)
            continue; // masked (or underflowed: contributes nothing)
          const float *g = gb + (int64_t) t * C;
          float dp = 0.0f;
          for (int j = 0; j < hs; j++)
            dp += g[j] * vr[j];
          av += a * g[i];
          ak += a * (dp - dots[t]) * scale * qb[(int64_t) t * d.ldq + i];
        }
      dvb[(int64_t) u * lddkv + i] += av;
      dkb[(int64_t) u * lddkv + i] += ak;
    }
}

extern "C" mve_status
mve_cuda_attention_forward (void *vctx, float *out, float *att, const float *q, const float *k,
                            const float *v, const struct mve_attn_desc *d)
{
  struct mve_cuda_ctx *ctx = (struct mve_cuda_ctx *) vctx;
  mve_status st = MVE_STATUS_OK;
  dim3 grid;
  MVE_CUDA_REQUIRE (ctx, d != NULL && d->N >= 0 && d->T >= 0 && d->Tk > 0 && d->NH > 0
                           && d->hs > 0 && d->hs <= ATT_MAX_HS);
  if (d->N == 0 || d->T == 0)
    return MVE_STATUS_OK;
  grid = dim3 ((unsigned) (d->N * d->NH), (unsigned) MVE_CEIL_DIV (d->T, ATT_WARPS));
  attention_forward_kernel<<<grid, ATT_WARPS * 32, 0, ctx->stream>>> (out, att, q, k, v, *d);
  MVE_CUDA_CHECK_LAUNCH (ctx);
  return MVE_STATUS_OK;
fail:
  return st;
}

extern "C" mve_status
mve_cuda_attention_backward (void *vctx, float *dq, float *dk, float *dv, int64_t dkv_seq,
                             int lddkv, const float *dout, const float *att, const float *q,
                             const float *k, const float *v, const struct mve_attn_desc *d)
{
  struct mve_cuda_ctx *ctx = (struct mve_cuda_ctx *) vctx;
  mve_status st = MVE_STATUS_OK;
  MVE_CUDA_REQUIRE (ctx, d != NULL && d->kv_index == NULL && d->N >= 0 && d->T >= 0
                           && d->Tk > 0 && d->NH > 0 && d->hs > 0 && d->hs <= ATT_MAX_HS
                           && (size_t) d->T * sizeof (float) <= 48 * 1024);
  if (d->N == 0 || d->T == 0)
    return MVE_STATUS_OK;
  attention_backward_kernel<<<(unsigned) (d->N * d->NH), ATT_BWD_BLOCK,
                              (size_t) d->T * sizeof (float), ctx->stream>>> (
    dq, dk, dv, dkv_seq, lddkv, dout, att, q, k, v, *d);
  MVE_CUDA_CHECK_LAUNCH (ctx);
  return MVE_STATUS_OK;
fail:
  return st;
}
