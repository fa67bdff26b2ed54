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
// head are written by one block (no atomics, deterministic): the score
// gradients ds (T, Tk) sit in shared memory (warp per query row), then
// dq = ds @ k, dk = ds^T @ q and dv = att^T @ dout.
// Packed rows (desc.off) as on the CPU: sequence n owns rows
// [off[n], off[n+1]) of q/out (and of k/v for self-attention).
#include "mve-cuda-common.h"
#include "mve-cuda-attention.h"

#define ATT_WARPS 4
#define ATT_BWD_BLOCK 256
#define ATT_MAX_HS 64
#define ATT_MAX_SMEM (200 * 1024) // Ampere 163 KiB, Hopper 227 KiB per block: see the REQUIRE

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

// Where sequence n lives (the CPU's attn_seq): query rows Tn, key rows Tkn,
// offsets (floats) of its first q row, k/v row, dk/dv row and out row.
struct att_seq
{
  int Tn, Tkn;
  int64_t q0, kv0, dkv0, o0;
};

static __device__ __forceinline__ struct att_seq
att_seq (struct mve_attn_desc d, int n, int64_t dkv_seq, int lddkv)
{
  struct att_seq a;
  int s = d.kv_index != NULL ? d.kv_index[n] : n;
  int C = d.NH * d.hs;
  if (d.off == NULL)
    {
      a.Tn = d.T;
      a.Tkn = d.Tk;
      a.q0 = n * d.q_seq;
      a.kv0 = s * d.kv_seq;
      a.dkv0 = n * dkv_seq;
      a.o0 = (int64_t) n * d.T * C;
    }
  else
    {
      int r0 = d.off[n];
      a.Tn = d.off[n + 1] - r0;
      a.Tkn = d.Tk;
      if (d.kv_index == NULL && a.Tn < a.Tkn)
        a.Tkn = a.Tn; // self-attention: the sequence's own rows are its keys
      a.q0 = (int64_t) r0 * d.ldq;
      a.kv0 = d.kv_index != NULL ? s * d.kv_seq : (int64_t) r0 * d.ldkv;
      a.dkv0 = d.kv_index != NULL ? n * dkv_seq : (int64_t) r0 * lddkv;
      a.o0 = (int64_t) r0 * C;
    }
  return a;
}

static __global__ void
attention_forward_kernel (float *out, float *att, const float *q, const float *k, const float *v,
                          struct mve_attn_desc d)
{
  int nh = blockIdx.x;
  int n = nh / d.NH, h = nh % d.NH;
  int t = blockIdx.y * ATT_WARPS + threadIdx.x / 32;
  int lane = threadIdx.x % 32;
  struct att_seq sq = att_seq (d, n, 0, 0);
  if (t >= sq.Tn)
    return;
  int hs = d.hs, C = d.NH * d.hs, Tk = d.Tk;
  const float *qr = q + sq.q0 + (int64_t) t * d.ldq + h * hs;
  const float *kb = k + sq.kv0 + h * hs;
  const float *vb = v + sq.kv0 + h * hs;
  float *arow = att + (((int64_t) n * d.NH + h) * d.T + t) * Tk;
  float scale = rsqrtf ((float) hs);
  int kl = valid_keys (d, n, t);
  if (kl > sq.Tkn)
    kl = sq.Tkn;
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
  float *orow = out + sq.o0 + (int64_t) t * C + h * hs;
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

// Forward with the keys and values of one (sequence, head) staged in shared
// memory once: one block per (sequence, head), ATT_SM_WARPS warps taking
// query rows in turn; a lane keeps up to ATT_SM_NJ scores in registers
// (Tk <= 32 * ATT_SM_NJ), the probabilities go to att once and to a per-warp
// row in shared memory for out = p @ v (lane i computes channel i).
#define ATT_SM_WARPS 8
#define ATT_SM_NJ 8
static __global__ void
attention_forward_smem_kernel (float *out, float *att, const float *q, const float *k,
                               const float *v, struct mve_attn_desc d)
{
  extern __shared__ float sm[];
  int nh = blockIdx.x;
  int n = nh / d.NH, h = nh % d.NH;
  int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  int hs = d.hs, C = d.NH * d.hs, Tk = d.Tk;
  struct att_seq sq = att_seq (d, n, 0, 0);
  int Tn = sq.Tn, Tkn = sq.Tkn;
  if (Tn <= 0)
    return;
  float *ks = sm;                          // (Tkn, hs + 1)
  float *vs = ks + (size_t) Tk * (hs + 1); // (Tkn, hs)
  float *ps = vs + (size_t) Tk * hs;       // (warps, Tk)
  float *qs = ps + (size_t) ATT_SM_WARPS * Tk; // (warps, hs)
  const float *kb = k + sq.kv0 + h * hs;
  const float *vb = v + sq.kv0 + h * hs;
  for (int idx = threadIdx.x; idx < Tkn * hs; idx += blockDim.x)
    {
      int u = idx / hs, i = idx % hs;
      ks[u * (hs + 1) + i] = kb[(int64_t) u * d.ldkv + i];
      vs[u * hs + i] = vb[(int64_t) u * d.ldkv + i];
    }
  __syncthreads ();
  float scale = rsqrtf ((float) hs);
  float *pw = ps + warp * Tk, *qw = qs + warp * hs;
  for (int t = warp; t < Tn; t += ATT_SM_WARPS)
    {
      const float *qr = q + sq.q0 + (int64_t) t * d.ldq + h * hs;
      for (int i = lane; i < hs; i += 32)
        qw[i] = qr[i];
      __syncwarp ();
      int kl = valid_keys (d, n, t);
      if (kl > Tkn)
        kl = Tkn;
      float sc[ATT_SM_NJ];
      float mx = -INFINITY;
#pragma unroll
      for (int j = 0; j < ATT_SM_NJ; j++)
        {
          int u = lane + 32 * j;
          sc[j] = -INFINITY;
          if (u < kl)
            {
              const float *kr = ks + u * (hs + 1);
              float dot = 0.0f;
              for (int i = 0; i < hs; i++)
                dot += qw[i] * kr[i];
              sc[j] = dot * scale;
              mx = fmaxf (mx, sc[j]);
            }
        }
      mx = warp_max (mx);
      float sum = 0.0f;
#pragma unroll
      for (int j = 0; j < ATT_SM_NJ; j++)
        {
          int u = lane + 32 * j;
          sc[j] = u < kl ? expf (sc[j] - mx) : 0.0f;
          sum += sc[j];
        }
      sum = warp_sum (sum);
      float inv = sum > 0.0f ? 1.0f / sum : 0.0f;
      float *arow = att + (((int64_t) n * d.NH + h) * d.T + t) * Tk;
#pragma unroll
      for (int j = 0; j < ATT_SM_NJ; j++)
        {
          int u = lane + 32 * j;
          if (u < Tk)
            {
              float pr = u < kl ? sc[j] * inv : 0.0f;
              arow[u] = pr;
              pw[u] = pr;
            }
        }
      __syncwarp ();
      float *orow = out + sq.o0 + (int64_t) t * C + h * hs;
      for (int i = lane; i < hs; i += 32)
        {
          float acc = 0.0f;
          for (int u = 0; u < kl; u++)
            acc += pw[u] * vs[u * hs + i];
          orow[i] = acc;
        }
      __syncwarp (); // pw and qw are rewritten by the next row
    }
}

// One block per (sequence, head). ds (Tn, Tkn) = att * (dout . v - dot) * scale
// lives in shared memory; then dq = ds @ k (phase 1), dk = ds^T @ q and
// dv = att^T @ dout (phase 2). Accumulates; no atomics (deterministic).
static __global__ void
attention_backward_kernel (float *dq, float *dk, float *dv, int64_t dkv_seq, int lddkv,
                           const float *dout, const float *att, const float *q, const float *k,
                           const float *v, struct mve_attn_desc d)
{
  extern __shared__ float ds[]; // (Tn, Tkn)
  int nh = blockIdx.x;
  int n = nh / d.NH, h = nh % d.NH;
  int hs = d.hs, C = d.NH * d.hs, Tk = d.Tk;
  int warp = threadIdx.x / 32, lane = threadIdx.x % 32, nwarps = blockDim.x / 32;
  float scale = rsqrtf ((float) hs);
  struct att_seq sq = att_seq (d, n, dkv_seq, lddkv);
  int Tn = sq.Tn, Tkn = sq.Tkn;
  if (Tn <= 0 || Tkn <= 0)
    return;
  const float *qb = q + sq.q0 + h * hs;
  const float *kb = k + sq.kv0 + h * hs;
  const float *vb = v + sq.kv0 + h * hs;
  const float *ab = att + ((int64_t) n * d.NH + h) * d.T * Tk;
  const float *gb = dout + sq.o0 + h * hs;
  float *dqb = dq + sq.q0 + h * hs;
  float *dkb = dk + sq.dkv0 + h * hs;
  float *dvb = dv + sq.dkv0 + h * hs;

  for (int t = warp; t < Tn; t += nwarps)
    {
      int kl = valid_keys (d, n, t);
      if (kl > Tkn)
        kl = Tkn;
      const float *g = gb + (int64_t) t * C;
      const float *a = ab + (int64_t) t * Tk;
      float *dsr = ds + (int64_t) t * Tkn;
      float dot = 0.0f;
      for (int u = lane; u < kl; u += 32)
        {
          const float *vr = vb + (int64_t) u * d.ldkv;
          float dp = 0.0f;
          for (int i = 0; i < hs; i++)
            dp += g[i] * vr[i];
          dsr[u] = dp;
          dot += a[u] * dp;
        }
      dot = warp_sum (dot);
      for (int u = lane; u < Tkn; u += 32)
        dsr[u] = u < kl ? a[u] * (dsr[u] - dot) * scale : 0.0f;
      __syncwarp ();
      for (int i = lane; i < hs; i += 32)
        {
          float acc = 0.0f;
          for (int u = 0; u < kl; u++)
            acc += dsr[u] * kb[(int64_t) u * d.ldkv + i];
          dqb[(int64_t) t * d.ldq + i] += acc;
        }
    }
  __syncthreads ();
  for (int idx = threadIdx.x; idx < Tkn * hs; idx += blockDim.x)
    {
      int u = idx / hs, i = idx % hs;
      float ak = 0.0f, av = 0.0f;
      for (int t = 0; t < Tn; t++)
        {
          ak += ds[(int64_t) t * Tkn + u] * qb[(int64_t) t * d.ldq + i];
          av += ab[(int64_t) t * Tk + u] * gb[(int64_t) t * C + i];
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
  if (d->Tk <= 32 * ATT_SM_NJ)
    {
      size_t smem = sizeof (float)
                    * ((size_t) d->Tk * (2 * d->hs + 1) + (size_t) ATT_SM_WARPS * (d->Tk + d->hs));
      if (smem > 48 * 1024)
        MVE_CUDA_CHECK (ctx, cudaFuncSetAttribute (attention_forward_smem_kernel,
                                                   cudaFuncAttributeMaxDynamicSharedMemorySize,
                                                   (int) smem));
      attention_forward_smem_kernel<<<(unsigned) (d->N * d->NH), ATT_SM_WARPS * 32, smem,
                                      ctx->stream>>> (out, att, q, k, v, *d);
    }
  else // long key sequences: a warp per query row, keys read from global memory
    {
      grid = dim3 ((unsigned) (d->N * d->NH), (unsigned) MVE_CEIL_DIV (d->T, ATT_WARPS));
      attention_forward_kernel<<<grid, ATT_WARPS * 32, 0, ctx->stream>>> (out, att, q, k, v, *d);
    }
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
  size_t smem;
  MVE_CUDA_REQUIRE (ctx, d != NULL && d->N >= 0 && d->T >= 0 && d->Tk > 0 && d->NH > 0
                           && d->hs > 0 && d->hs <= ATT_MAX_HS);
  if (d->N == 0 || d->T == 0)
    return MVE_STATUS_OK;
  smem = (size_t) d->T * d->Tk * sizeof (float);
  if (smem > ATT_MAX_SMEM)
    {
      char msg[160];
      snprintf (msg, sizeof msg, "attention of %d x %d tokens needs %zu bytes of shared memory (at most %d)",
                d->T, d->Tk, smem, ATT_MAX_SMEM);
      mve_cuda_record (ctx, "attention_backward", msg, __func__, __FILE__, __LINE__);
      return MVE_STATUS_INVALID_ARGUMENT;
    }
  if (smem > 48 * 1024)
    MVE_CUDA_CHECK (ctx, cudaFuncSetAttribute (attention_backward_kernel,
                                               cudaFuncAttributeMaxDynamicSharedMemorySize,
                                               (int) smem));
  attention_backward_kernel<<<(unsigned) (d->N * d->NH), ATT_BWD_BLOCK, smem, ctx->stream>>> (
    dq, dk, dv, dkv_seq, lddkv, dout, att, q, k, v, *d);
  MVE_CUDA_CHECK_LAUNCH (ctx);
  return MVE_STATUS_OK;
fail:
  return st;
}
