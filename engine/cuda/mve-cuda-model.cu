// SPDX-License-Identifier: GPL-3.0-or-later
// mve-cuda-model.cu: a whole training step on the device, the port of
// mve-model-forward.c (same sequences, packed rows, losses and gradients)
// and of mve_model_adam_step_norm with mve_train's ITC-head lr scale.
//
// One step: the engine's host half (_mve_device_prepare) gives the integer
// block (token rows, lengths, row offsets, LM positions, ITM pairs); here it
// and the images go up in one copy from pinned memory, then forward,
// backward, the gradient norm, clipping and Adam are queued on the stream
// with no host synchronisation; the losses and the norm come back at the end.
// Unlike the CPU, every layer's activations are kept (nothing is recomputed
// in backward): memory is plentiful on the device.
//
// Non-deterministic bits: the token and position embedding gradients are
// summed with atomicAdd (order varies in the last bits); everything else
// is a fixed-order reduction.
#include "mve-cuda-model.h"

#include "mve-cuda-attention.h"
#include "mve-cuda-gelu.h"
#include "mve-cuda-layernorm.h"
#include "mve-cuda-losses.h"
#include "mve-cuda-matmul.h"
#include "mve-cuda-residual.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define EW_BLOCK 256
#define RED_BLOCK 256
#define NORM_PARTS 1024
#define ALIGN_F 64 // floats (256 bytes)

// scalar slots of dm->d_scalars
enum
{
  S_TOTAL = 0,
  S_ITC = 1,
  S_ITM = 2,
  S_LM = 3,
  S_NORM = 4,
  S_CLIP = 5,
  S_COUNT = 8,
  S_PARTIALS = 16, // NORM_PARTS doubles from here (as 2 * NORM_PARTS floats)
};
#define SCALARS_FLOATS (S_PARTIALS + 2 * NORM_PARTS)

// --- activation layout ----------------------------------------------------------------------
struct dstack
{
  int N, T, Tk, Nimg, L;
  int64_t rows;       // packed rows (host copy of off[N])
  const int32_t *off; // (N + 1) device, NULL: unpacked (all N*T rows)
  float *x0;
  float *ln1, *ln1_mean, *ln1_rstd, *qkv, *att, *atty, *res1;
  float *lnc, *lnc_mean, *lnc_rstd, *cq, *ckv, *catt, *caty, *res2;
  float *ln2, *ln2_mean, *ln2_rstd, *fch, *fchg, *res3;
  float *lnf, *lnf_mean, *lnf_rstd;
};

struct mve_cuda_acts
{
  int B, Te, Td, Nt, Nitm, Nd;
  int64_t Nlm;
  int train;
  struct dstack vis, txt, itm, dec;
  float *patches, *pe;
  float *cls_i, *cls_t, *img_feat, *img_n, *txt_feat, *txt_n, *img_norm, *txt_norm, *sim, *dsim;
  float *itm_cls, *itm_logits, *itm_losses, *itm_dlogits;
  float *lm_h, *lm_logits, *lm_dlogits, *lm_losses;
  // backward scratch
  float *s_dres, *s_dtmp, *s_dbig, *s_dbig2, *s_dkvseq, *s_dkv, *s_dlnf, *s_dmem, *s_dpe;
  float *s_dlm_h, *s_small;
};

struct planner
{
  float *base; // NULL while measuring
  size_t off;
};

static float *
take (struct planner *pl, size_t n)
{
  float *p = pl->base ? pl->base + pl->off : NULL;
  pl->off += (n + ALIGN_F - 1) / ALIGN_F * ALIGN_F;
  return p;
}

static void
plan_stack (struct planner *pl, struct dstack *a, const struct mve_config *c, int N, int T, int Tk,
            int Nimg, int L, int has_sa, int has_ca, int train)
{
  size_t C = c->width, HC = (size_t) c->width * c->mlp_ratio, NH = c->heads;
  size_t NT = (size_t) N * T;
  memset (a, 0, sizeof *a);
  a->N = N;
  a->T = T;
  a->Tk = Tk;
  a->Nimg = Nimg;
  a->L = L;
  if (N == 0)
    return;
  (void) train;
  a->x0 = take (pl, NT * C);
  if (has_sa)
    {
      a->ln1 = take (pl, L * NT * C);
      a->ln1_mean = take (pl, L * NT);
      a->ln1_rstd = take (pl, L * NT);
      a->qkv = take (pl, L * NT * 3 * C);
      a->att = take (pl, L * NT * NH * T);
      a->atty = take (pl, L * NT * C);
      a->res1 = take (pl, L * NT * C);
    }
  if (has_ca)
    {
      a->lnc = take (pl, L * NT * C);
      a->lnc_mean = take (pl, L * NT);
      a->lnc_rstd = take (pl, L * NT);
      a->cq = take (pl, L * NT * C);
      a->ckv = take (pl, (size_t) L * Nimg * Tk * 2 * C);
      a->catt = take (pl, L * NT * NH * Tk);
      a->caty = take (pl, L * NT * C);
      a->res2 = take (pl, L * NT * C);
    }
  a->ln2 = take (pl, L * NT * C);
  a->ln2_mean = take (pl, L * NT);
  a->ln2_rstd = take (pl, L * NT);
  a->fch = take (pl, L * NT * HC);
  a->fchg = take (pl, L * NT * HC);
  a->res3 = take (pl, L * NT * C);
  a->lnf = take (pl, NT * C);
  a->lnf_mean = take (pl, NT);
  a->lnf_rstd = take (pl, NT);
}

static size_t
plan_all (struct mve_cuda_acts *A, const struct mve_config *c, float *base)
{
  struct planner pl = { base, 0 };
  size_t C = c->width, HC = (size_t) c->width * c->mlp_ratio, V = c->vocab_size, E = c->embed_dim;
  int G = c->image_size / c->patch_size, P = G * G, Nv = P + 1;
  size_t K = (size_t) c->channels * c->patch_size * c->patch_size;
  size_t B = A->B;
  int tr = A->train;
  A->patches = take (&pl, B * P * K);
  A->pe = take (&pl, B * P * C);
  plan_stack (&pl, &A->vis, c, A->B, Nv, 0, 0, c->vision_layers, 1, 0, tr);
  plan_stack (&pl, &A->txt, c, A->Nt, A->Te, 0, 0, c->text_layers, c->use_sa, 0, tr);
  plan_stack (&pl, &A->itm, c, A->Nitm, A->Te, Nv, A->B, c->text_layers, c->use_sa, c->use_ca, tr);
  plan_stack (&pl, &A->dec, c, A->Nd, A->Td, Nv, A->B, c->decoder_layers, c->use_csa, c->use_ca, tr);
  A->cls_i = take (&pl, B * C);
  A->cls_t = take (&pl, B * C);
  A->img_feat = take (&pl, B * E);
  A->img_n = take (&pl, B * E);
  A->txt_feat = take (&pl, B * E);
  A->txt_n = take (&pl, B * E);
  A->img_norm = take (&pl, B);
  A->txt_norm = take (&pl, B);
  A->sim = take (&pl, B * B);
  A->dsim = take (&pl, B * B);
  A->itm_cls = take (&pl, (size_t) A->Nitm * C);
  A->itm_logits = take (&pl, (size_t) A->Nitm * 2 + 2);
  A->itm_losses = take (&pl, (size_t) A->Nitm + 1);
  A->itm_dlogits = take (&pl, (size_t) A->Nitm * 2 + 2);
  A->lm_h = take (&pl, (size_t) A->Nlm * C);
  A->lm_logits = take (&pl, (size_t) A->Nlm * V);
  A->lm_dlogits = tr ? take (&pl, (size_t) A->Nlm * V) : NULL;
  A->lm_losses = take (&pl, (size_t) A->Nlm + 1);
  A->s_dres = A->s_dtmp = A->s_dbig = A->s_dbig2 = A->s_dkvseq = A->s_dkv = NULL;
  A->s_dlnf = A->s_dmem = A->s_dpe = A->s_dlm_h = A->s_small = NULL;
  if (tr)
    {
      size_t maxNT = 0, maxKVs = 0, maxKV = 0;
      const struct dstack *st[4] = { &A->vis, &A->txt, &A->itm, &A->dec };
      for (int i = 0; i < 4; i++)
        {
          size_t NT = (size_t) st[i]->N * st[i]->T;
          maxNT = NT > maxNT ? NT : maxNT;
          size_t kvs = (size_t) st[i]->N * st[i]->Tk * 2 * C;
          maxKVs = kvs > maxKVs ? kvs : maxKVs;
          size_t kv = (size_t) st[i]->Nimg * st[i]->Tk * 2 * C;
          maxKV = kv > maxKV ? kv : maxKV;
        }
      size_t big = 3 * C > HC ? 3 * C : HC;
      size_t M = C > E ? C : E;
      A->s_dres = take (&pl, maxNT * C);
      A->s_dtmp = take (&pl, maxNT * C);
      A->s_dlnf = take (&pl, maxNT * C);
      A->s_dbig = take (&pl, maxNT * big);
      A->s_dbig2 = take (&pl, maxNT * big);
      A->s_dkvseq = take (&pl, maxKVs + 1);
      A->s_dkv = take (&pl, maxKV + 1);
      A->s_dmem = take (&pl, B * Nv * C);
      A->s_dpe = take (&pl, B * P * C);
      A->s_dlm_h = take (&pl, (size_t) A->Nlm * C);
      A->s_small = take (&pl, 2 * B * E + 2 * B * C + 2 * B * M + (size_t) A->Nitm * C + 16);
    }
  return pl.off;
}

// --- small kernels --------------------------------------------------------------------------
static __global__ void
clamp_temp_kernel (float *temp)
{
  float t = temp[0];
  if (!(t >= 0.001f))
    t = 0.001f;
  if (t > 0.5f)
    t = 0.5f;
  temp[0] = t;
}

// images (B, ch, S, S) -> patches (B*P, K), K in conv-weight order (c, py, px)
static __global__ void
im2col_kernel (float *patches, const float *images, int B, int ch, int S, int ps)
{
  int G = S / ps, P = G * G;
  int64_t K = (int64_t) ch * ps * ps;
  int64_t i = (int64_t) blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= (int64_t) B * P * K)
    return;
  int64_t bp = i / K;
  int k = (int) (i % K);
  int b = (int) (bp / P), p = (int) (bp % P);
  int gy = p / G, gx = p % G;
  int c = k / (ps * ps), iy = (k / ps) % ps, ix = k % ps;
  patches[i] = images[(((int64_t) b * ch + c) * S + gy * ps + iy) * S + gx * ps + ix];
}

// x0 (B, Nv, C) = (<cls> | patch embeddings) + positions
static __global__ void
vis_x0_kernel (float *x0, const float *pe, const float *cls, const float *pos, int B, int Nv, int C)
{
  int64_t i = (int64_t) blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= (int64_t) B * Nv * C)
    return;
  int c = (int) (i % C);
  int64_t bt = i / C;
  int t = (int) (bt % Nv), b = (int) (bt / Nv);
  float src = t == 0 ? cls[c] : pe[((int64_t) b * (Nv - 1) + t - 1) * C + c];
  x0[i] = src + pos[(int64_t) t * C + c];
}

// dpe (B*P, C) = dx0 of the patch tokens
static __global__ void
vis_dpe_kernel (float *dpe, const float *dx0, int B, int Nv, int C)
{
  int P = Nv - 1;
  int64_t i = (int64_t) blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= (int64_t) B * P * C)
    return;
  int c = (int) (i % C);
  int64_t bp = i / C;
  int p = (int) (bp % P), b = (int) (bp / P);
  dpe[i] = dx0[((int64_t) b * Nv + p + 1) * C + c];
}

// gpos[t] += sum_b dx0[b, t]; gcls += sum_b dx0[b, 0] (fixed order)
static __global__ void
vis_dpos_kernel (float *gpos, float *gcls, const float *dx0, int B, int Nv, int C)
{
  int64_t i = (int64_t) blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= (int64_t) Nv * C)
    return;
  int t = (int) (i / C), c = (int) (i % C);
  float acc = 0.0f;
  for (int b = 0; b < B; b++)
    acc += dx0[((int64_t) b * Nv + t) * C + c];
  gpos[i] += acc;
  if (t == 0)
    gcls[c] += acc;
}

// packed token + position embeddings: row off[n] + t of sequence n
static __global__ void
embed_kernel (float *x0, const int32_t *tok, const int32_t *off, int N, int T, const float *emb,
              const float *pos, int C)
{
  int n = blockIdx.x / T, t = blockIdx.x % T;
  if (n >= N || t >= off[n + 1] - off[n])
    return;
  float *x = x0 + ((int64_t) off[n] + t) * C;
  const float *e = emb + (int64_t) tok[(int64_t) n * T + t] * C, *p = pos + (int64_t) t * C;
  for (int i = threadIdx.x; i < C; i += blockDim.x)
    x[i] = e[i] + p[i];
}

static __global__ void
embed_backward_kernel (float *gemb, float *gpos, const float *dx0, const int32_t *tok,
                       const int32_t *off, int N, int T, int C)
{
  int n = blockIdx.x / T, t = blockIdx.x % T;
  if (n >= N || t >= off[n + 1] - off[n])
    return;
  const float *d = dx0 + ((int64_t) off[n] + t) * C;
  float *ge = gemb + (int64_t) tok[(int64_t) n * T + t] * C, *gp = gpos + (int64_t) t * C;
  for (int i = threadIdx.x; i < C; i += blockDim.x)
    {
      atomicAdd (ge + i, d[i]);
      atomicAdd (gp + i, d[i]);
    }
}

// out[r] = in[idx ? idx[r] : r * stride] (rows of C floats)
static __global__ void
gather_rows_kernel (float *out, const float *in, const int32_t *idx, int64_t stride, int64_t n,
                    int C)
{
  int64_t i = (int64_t) blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n * C)
    return;
  int64_t r = i / C;
  int c = (int) (i % C);
  int64_t src = idx != NULL ? (int64_t) idx[r] : r * stride;
  out[i] = in[src * C + c];
}

// out[idx ? idx[r] : r * stride] += in[r] (distinct targets)
static __global__ void
scatter_add_rows_kernel (float *out, const float *in, const int32_t *idx, int64_t stride, int64_t n,
                         int C)
{
  int64_t i = (int64_t) blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n * C)
    return;
  int64_t r = i / C;
  int c = (int) (i % C);
  int64_t dst = idx != NULL ? (int64_t) idx[r] : r * stride;
  out[dst * C + c] += in[i];
}

// dkv[j] = sum over the sequences n of image j (csr) of dkvseq[n], fixed order
static __global__ void
dkv_reduce_kernel (float *dkv, const float *dkvseq, const int32_t *csr_off, const int32_t *csr_list,
                   int Nimg, int64_t per)
{
  int64_t i = (int64_t) blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= (int64_t) Nimg * per)
    return;
  int j = (int) (i / per);
  int64_t e = i % per;
  float acc = 0.0f;
  for (int k = csr_off[j]; k < csr_off[j + 1]; k++)
    acc += dkvseq[(int64_t) csr_list[k] * per + e];
  dkv[i] = acc;
}

static __device__ __forceinline__ double
warp_sum_d (double v)
{
  for (int o = 16; o > 0; o >>= 1)
    v += __shfl_xor_sync (0xffffffffu, v, o);
  return v;
}

static __device__ __forceinline__ float
warp_sum_f (float v)
{
  for (int o = 16; o > 0; o >>= 1)
    v += __shfl_xor_sync (0xffffffffu, v, o);
  return v;
}

// warp per row: norm[i] = |x_i|, y_i = x_i / max(norm, 1e-12) (the CPU's l2_normalize)
static __global__ void
l2norm_kernel (float *y, float *norm, const float *x, int B, int E)
{
  int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32, lane = threadIdx.x % 32;
  if (row >= B)
    return;
  const float *xr = x + (int64_t) row * E;
  double ss = 0.0;
  for (int e = lane; e < E; e += 32)
    ss += (double) xr[e] * xr[e];
  ss = warp_sum_d (ss);
  float n = (float) sqrt (ss);
  float d = n > 1e-12f ? n : 1e-12f;
  if (lane == 0)
    norm[row] = n;
  for (int e = lane; e < E; e += 32)
    y[(int64_t) row * E + e] = xr[e] / d;
}

static __global__ void
l2norm_backward_kernel (float *dx, const float *dy, const float *y, const float *norm, int B, int E)
{
  int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32, lane = threadIdx.x % 32;
  if (row >= B)
    return;
  const float *yr = y + (int64_t) row * E, *dyr = dy + (int64_t) row * E;
  float *dxr = dx + (int64_t) row * E;
  float n = norm[row];
  if (n > 1e-12f)
    {
      float dot = 0.0f;
      for (int e = lane; e < E; e += 32)
        dot += yr[e] * dyr[e];
      dot = warp_sum_f (dot);
      for (int e = lane; e < E; e += 32)
        dxr[e] = (dyr[e] - yr[e] * dot) / n;
    }
  else
    for (int e = lane; e < E; e += 32)
      dxr[e] = dyr[e] / 1e-12f;
}

// sim (B, B) = a (B, E) @ b (B, E)^T / temp
static __global__ void
sim_kernel (float *sim, const float *a, const float *b, const float *temp, int B, int E)
{
  int64_t i = (int64_t) blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= (int64_t) B * B)
    return;
  int r = (int) (i / B), c = (int) (i % B);
  const float *x = a + (int64_t) r * E, *y = b + (int64_t) c * E;
  float acc = 0.0f;
  for (int e = 0; e < E; e++)
    acc += x[e] * y[e];
  sim[i] = acc * (1.0f / temp[0]);
}

// dsim = d loss / d sim * scale; gtemp += sum dsim * (-sim / temp); dsim /= temp
static __global__ void
itc_post_kernel (float *dsim, const float *sim, const float *temp, float *gtemp, float scale,
                 int64_t n)
{
  __shared__ double sh[RED_BLOCK];
  float t = temp[0];
  double acc = 0.0;
  for (int64_t k = threadIdx.x; k < n; k += blockDim.x)
    {
      float d = dsim[k] * scale;
      acc += (double) d * (-sim[k] / t);
      dsim[k] = d / t;
    }
  sh[threadIdx.x] = acc;
  __syncthreads ();
  for (int s = RED_BLOCK / 2; s > 0; s >>= 1)
    {
      if ((int) threadIdx.x < s)
        sh[threadIdx.x] += sh[threadIdx.x + s];
      __syncthreads ();
    }
  if (threadIdx.x == 0)
    gtemp[0] += (float) sh[0];
}

// out (M, N) = op(A) (M, K) @ X (K, N); A is (M, K), or (K, M) when transA
static __global__ void
small_mm_kernel (float *out, const float *A, const float *X, int M, int N, int K, int transA)
{
  int64_t i = (int64_t) blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= (int64_t) M * N)
    return;
  int r = (int) (i / N), c = (int) (i % N);
  float acc = 0.0f;
  for (int k = 0; k < K; k++)
    acc += (transA ? A[(int64_t) k * M + r] : A[(int64_t) r * K + k]) * X[(int64_t) k * N + c];
  out[i] = acc;
}

// out[0] = sum(in[0..n)) * scale (double, fixed order)
static __global__ void
sum_kernel (float *out, const float *in, int64_t n, float scale)
{
  __shared__ double sh[RED_BLOCK];
  double acc = 0.0;
  for (int64_t k = threadIdx.x; k < n; k += blockDim.x)
    acc += in[k];
  sh[threadIdx.x] = acc;
  __syncthreads ();
  for (int s = RED_BLOCK / 2; s > 0; s >>= 1)
    {
      if ((int) threadIdx.x < s)
        sh[threadIdx.x] += sh[threadIdx.x + s];
      __syncthreads ();
    }
  if (threadIdx.x == 0)
    out[0] = (float) (sh[0] * scale);
}

static __global__ void
total_kernel (float *sc, float w_itc, float w_itm, float w_lm)
{
  sc[S_TOTAL] = w_itc * sc[S_ITC] + w_itm * sc[S_ITM] + w_lm * sc[S_LM];
}

// partial sums of squares of the gradient (double), NORM_PARTS blocks
static __global__ void
sumsq_kernel (double *partial, const float *g, int64_t n)
{
  __shared__ double sh[RED_BLOCK];
  double acc = 0.0;
  for (int64_t k = (int64_t) blockIdx.x * blockDim.x + threadIdx.x; k < n;
       k += (int64_t) gridDim.x * blockDim.x)
    acc += (double) g[k] * g[k];
  sh[threadIdx.x] = acc;
  __syncthreads ();
  for (int s = RED_BLOCK / 2; s > 0; s >>= 1)
    {
      if ((int) threadIdx.x < s)
        sh[threadIdx.x] += sh[threadIdx.x + s];
      __syncthreads ();
    }
  if (threadIdx.x == 0)
    partial[blockIdx.x] = sh[0];
}

static __global__ void
norm_finish_kernel (float *sc, const double *partial, int parts, float clip_norm)
{
  __shared__ double sh[RED_BLOCK];
  double acc = 0.0;
  for (int k = threadIdx.x; k < parts; k += blockDim.x)
    acc += partial[k];
  sh[threadIdx.x] = acc;
  __syncthreads ();
  for (int s = RED_BLOCK / 2; s > 0; s >>= 1)
    {
      if ((int) threadIdx.x < s)
        sh[threadIdx.x] += sh[threadIdx.x + s];
      __syncthreads ();
    }
  if (threadIdx.x == 0)
    {
      float norm = (float) sqrt (sh[0]);
      float clip = 1.0f;
      if (clip_norm > 0)
        {
          clip = clip_norm / (norm + 1e-6f);
          if (clip > 1.0f)
            clip = 1.0f;
        }
      sc[S_NORM] = norm;
      sc[S_CLIP] = clip;
    }
}

// mve_model_adam_step_norm's update; the clip scale and the norm come from
// the device (no update at all when the norm is not finite); parameters in
// the ITC head ranges move by head_scale times the step (mve_train's lr scale).
static __global__ void
adam_step_kernel (float *p, float *am, float *av, const float *g, int64_t n, const float *sc,
                  float b1, float b2, float eps, float wd, float step_size, float bc2_sqrt,
                  int64_t lo0, int64_t hi0, int64_t lo1, int64_t hi1, float head_scale)
{
  int64_t i = (int64_t) blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n || !isfinite (sc[S_NORM]))
    return;
  float clip = sc[S_CLIP];
  float gi = g[i] * clip + wd * p[i];
  float mi = b1 * am[i] + (1.0f - b1) * gi;
  float vi = b2 * av[i] + (1.0f - b2) * gi * gi;
  am[i] = mi;
  av[i] = vi;
  float denom = sqrtf (vi) / bc2_sqrt + eps;
  float upd = step_size * mi / denom;
  if ((i >= lo0 && i < hi0) || (i >= lo1 && i < hi1))
    upd *= head_scale;
  p[i] -= upd;
}

// --- launch helpers (record the error and goto fail) ----------------------------------------
#define BLOCKS(n) ((unsigned) MVE_CEIL_DIV ((int64_t) (n), EW_BLOCK))
#define PHASE(i)                                                                               \
  do                                                                                           \
    {                                                                                          \
      if (dm->phases > 0)                                                                      \
        cudaEventRecord (dm->phase[i], ctx->stream);                                           \
    }                                                                                          \
  while (0)
#define LAUNCH_OK() MVE_CUDA_CHECK_LAUNCH (ctx)
#define TRY(call)                                                                              \
  do                                                                                           \
    {                                                                                          \
      st = (call);                                                                             \
      if (st != MVE_STATUS_OK)                                                                 \
        goto fail;                                                                             \
    }                                                                                          \
  while (0)

static mve_status
zero (struct mve_cuda_ctx *ctx, float *p, int64_t n)
{
  mve_status st = MVE_STATUS_OK;
  if (n > 0)
    MVE_CUDA_CHECK (ctx, cudaMemsetAsync (p, 0, (size_t) n * sizeof (float), ctx->stream));
  return MVE_STATUS_OK;
fail:
  return st;
}

static mve_status
copy_d2d (struct mve_cuda_ctx *ctx, float *dst, const float *src, int64_t n)
{
  mve_status st = MVE_STATUS_OK;
  if (n > 0 && dst != src)
    MVE_CUDA_CHECK (ctx, cudaMemcpyAsync (dst, src, (size_t) n * sizeof (float),
                                          cudaMemcpyDeviceToDevice, ctx->stream));
  return MVE_STATUS_OK;
fail:
  return st;
}

// out = inp @ w^T + b (+ res)
static mve_status
mm_fwd (struct mve_cuda_ctx *ctx, float *out, const float *inp, const float *w, const float *b,
        const float *res, int64_t N, int IC, int OC)
{
  mve_status st = mve_cuda_matmul_forward (ctx, out, inp, w, b, N, IC, OC);
  if (st == MVE_STATUS_OK && res != NULL)
    st = mve_cuda_residual_forward (ctx, out, out, res, N * OC);
  return st;
}

// backward of out = inp @ w^T + b: dinp written (set) or accumulated, dw/db accumulated
static mve_status
mm_bwd (struct mve_cuda_ctx *ctx, float *dinp, int set, float *dw, float *db, const float *dout,
        const float *inp, const float *w, int64_t N, int IC, int OC)
{
  mve_status st = MVE_STATUS_OK;
  const float one = 1.0f, zero_f = 0.0f;
  MVE_CUDA_REQUIRE (ctx, N >= 0 && N <= INT_MAX && IC > 0 && OC > 0);
  if (N == 0)
    return MVE_STATUS_OK;
  if (dinp != NULL) // dinp^T (IC, N) (+)= w^T (IC, OC) . dout^T (OC, N)
    MVE_CUBLAS_CHECK (ctx, cublasSgemm (ctx->cublas, CUBLAS_OP_N, CUBLAS_OP_N, IC, (int) N, OC,
                                        &one, w, IC, dout, OC, set ? &zero_f : &one, dinp, IC));
  // dw^T (IC, OC) += inp^T (IC, N) . dout (N, OC)
  MVE_CUBLAS_CHECK (ctx, cublasSgemm (ctx->cublas, CUBLAS_OP_N, CUBLAS_OP_T, IC, OC, (int) N, &one,
                                      inp, IC, dout, OC, &one, dw, IC));
  if (db != NULL)
    return mve_cuda_colsum_accumulate (ctx, db, dout, N, OC);
  return MVE_STATUS_OK;
fail:
  return st;
}

// --- stacks ---------------------------------------------------------------------------------
struct ddef
{
  const struct mve_block_params *w;
  struct mve_block_params *g;
  const struct mve_cross_params *cw; // NULL: no cross-attention
  struct mve_cross_params *gcw;
  const float *lnf_w, *lnf_b;
  float *glnf_w, *glnf_b;
  int sa;                   // 0 none, 1 bidirectional, 2 causal
  const int32_t *klen;      // (N) device
  const int32_t *img_index; // (N) device
  const int32_t *csr_off, *csr_list; // sequences of each image (device)
  const float *mem;         // (Nimg, Tk, C)
  float *dmem;
};

static struct mve_attn_desc
sa_desc (const struct mve_config *c, const struct dstack *a, const struct ddef *s)
{
  int C = c->width;
  struct mve_attn_desc d;
  memset (&d, 0, sizeof d);
  d.N = a->N;
  d.T = a->T;
  d.Tk = a->T;
  d.NH = c->heads;
  d.hs = C / c->heads;
  d.causal = s->sa == 2;
  d.klen = s->klen;
  d.kv_index = NULL;
  d.q_seq = (int64_t) a->T * 3 * C;
  d.kv_seq = (int64_t) a->T * 3 * C;
  d.ldq = 3 * C;
  d.ldkv = 3 * C;
  d.off = a->off;
  return d;
}

static struct mve_attn_desc
ca_desc (const struct mve_config *c, const struct dstack *a, const struct ddef *s)
{
  int C = c->width;
  struct mve_attn_desc d;
  memset (&d, 0, sizeof d);
  d.N = a->N;
  d.T = a->T;
  d.Tk = a->Tk;
  d.NH = c->heads;
  d.hs = C / c->heads;
  d.causal = 0;
  d.klen = NULL;
  d.kv_index = s->img_index;
  d.q_seq = (int64_t) a->T * C;
  d.kv_seq = (int64_t) a->Tk * 2 * C;
  d.ldq = C;
  d.ldkv = 2 * C;
  d.off = a->off;
  return d;
}

static mve_status
stack_forward (struct mve_cuda_ctx *ctx, const struct mve_config *c, struct dstack *a,
               const struct ddef *s)
{
  mve_status st = MVE_STATUS_OK;
  int C = c->width, HC = c->width * c->mlp_ratio, NH = c->heads;
  int64_t NT = (int64_t) a->N * a->T;
  int64_t R = a->rows;
  const float *x = a->x0;
  if (a->N == 0 || R == 0)
    return MVE_STATUS_OK;
  for (int l = 0; l < a->L; l++)
    {
      if (s->sa)
        {
          const struct mve_block_params *w = s->w;
          float *ln1 = a->ln1 + l * NT * C, *qkv = a->qkv + l * NT * 3 * C;
          float *atty = a->atty + l * NT * C, *res1 = a->res1 + l * NT * C;
          TRY (mve_cuda_layernorm_forward (ctx, ln1, a->ln1_mean + l * NT, a->ln1_rstd + l * NT, x,
                                           w->ln1_w + l * C, w->ln1_b + l * C, R, C));
          TRY (mm_fwd (ctx, qkv, ln1, w->qkv_w + (int64_t) l * 3 * C * C, w->qkv_b + l * 3 * C, NULL,
                       R, C, 3 * C));
          struct mve_attn_desc d = sa_desc (c, a, s);
          TRY (mve_cuda_attention_forward (ctx, atty, a->att + l * NT * NH * a->T, qkv, qkv + C,
                                           qkv + 2 * C, &d));
          TRY (mm_fwd (ctx, res1, atty, w->ao_w + (int64_t) l * C * C, w->ao_b + l * C, x, R, C, C));
          x = res1;
        }
      if (s->cw)
        {
          const struct mve_cross_params *w = s->cw;
          float *lnc = a->lnc + l * NT * C, *cq = a->cq + l * NT * C;
          float *ckv = a->ckv + (int64_t) l * a->Nimg * a->Tk * 2 * C;
          float *caty = a->caty + l * NT * C, *res2 = a->res2 + l * NT * C;
          TRY (mve_cuda_layernorm_forward (ctx, lnc, a->lnc_mean + l * NT, a->lnc_rstd + l * NT, x,
                                           w->ln_w + l * C, w->ln_b + l * C, R, C));
          TRY (mm_fwd (ctx, cq, lnc, w->q_w + (int64_t) l * C * C, w->q_b + l * C, NULL, R, C, C));
          TRY (mm_fwd (ctx, ckv, s->mem, w->kv_w + (int64_t) l * 2 * C * C, w->kv_b + l * 2 * C,
                       NULL, (int64_t) a->Nimg * a->Tk, C, 2 * C));
          struct mve_attn_desc d = ca_desc (c, a, s);
          TRY (mve_cuda_attention_forward (ctx, caty, a->catt + l * NT * NH * a->Tk, cq, ckv,
                                           ckv + C, &d));
          TRY (mm_fwd (ctx, res2, caty, w->o_w + (int64_t) l * C * C, w->o_b + l * C, x, R, C, C));
          x = res2;
        }
      const struct mve_block_params *w = s->w;
      float *ln2 = a->ln2 + l * NT * C, *fch = a->fch + l * NT * HC;
      float *fchg = a->fchg + l * NT * HC, *res3 = a->res3 + l * NT * C;
      TRY (mve_cuda_layernorm_forward (ctx, ln2, a->ln2_mean + l * NT, a->ln2_rstd + l * NT, x,
                                       w->ln2_w + l * C, w->ln2_b + l * C, R, C));
      TRY (mm_fwd (ctx, fch, ln2, w->fc_w + (int64_t) l * HC * C, w->fc_b + l * HC, NULL, R, C, HC));
      TRY (mve_cuda_gelu_forward (ctx, fchg, fch, R * HC));
      TRY (mm_fwd (ctx, res3, fchg, w->fp_w + (int64_t) l * C * HC, w->fp_b + l * C, x, R, HC, C));
      x = res3;
    }
  TRY (mve_cuda_layernorm_forward (ctx, a->lnf, a->lnf_mean, a->lnf_rstd, x, s->lnf_w, s->lnf_b, R,
                                   C));
  return MVE_STATUS_OK;
fail:
  return st;
}

// dlnf (rows, C): gradient of the stack's output; dx0 (rows, C) gets the
// gradient of the embeddings (written; may alias dlnf).
static mve_status
stack_backward (struct mve_cuda_ctx *ctx, struct mve_cuda_acts *A, const struct mve_config *c,
                float *dx0, const float *dlnf, struct dstack *a, const struct ddef *s)
{
  mve_status st = MVE_STATUS_OK;
  int C = c->width, HC = c->width * c->mlp_ratio, NH = c->heads;
  int64_t NT = (int64_t) a->N * a->T;
  int64_t R = a->rows;
  float *dres = A->s_dres, *dtmp = A->s_dtmp, *dbig = A->s_dbig, *dbig2 = A->s_dbig2;
  if (a->N == 0 || R == 0)
    return MVE_STATUS_OK;
  TRY (zero (ctx, dres, R * C));
  {
    const float *xl = a->L > 0 ? a->res3 + (a->L - 1) * NT * C : a->x0;
    TRY (mve_cuda_layernorm_backward (ctx, dres, s->glnf_w, s->glnf_b, dlnf, xl, s->lnf_w,
                                      a->lnf_mean, a->lnf_rstd, R, C));
  }
  for (int l = a->L - 1; l >= 0; l--)
    {
      const float *xin = l == 0 ? a->x0 : a->res3 + (l - 1) * NT * C;
      const float *x1 = s->sa ? a->res1 + l * NT * C : xin;
      const float *x2 = s->cw ? a->res2 + l * NT * C : x1;
      {
        const struct mve_block_params *w = s->w;
        struct mve_block_params *g = s->g;
        TRY (mm_bwd (ctx, dbig, 1, g->fp_w + (int64_t) l * C * HC, g->fp_b + l * C, dres,
                     a->fchg + l * NT * HC, w->fp_w + (int64_t) l * C * HC, R, HC, C));
        TRY (zero (ctx, dbig2, R * HC));
        TRY (mve_cuda_gelu_backward (ctx, dbig2, a->fch + l * NT * HC, dbig, R * HC));
        TRY (mm_bwd (ctx, dtmp, 1, g->fc_w + (int64_t) l * HC * C, g->fc_b + l * HC, dbig2,
                     a->ln2 + l * NT * C, w->fc_w + (int64_t) l * HC * C, R, C, HC));
        TRY (mve_cuda_layernorm_backward (ctx, dres, g->ln2_w + l * C, g->ln2_b + l * C, dtmp, x2,
                                          w->ln2_w + l * C, a->ln2_mean + l * NT,
                                          a->ln2_rstd + l * NT, R, C));
      }
      if (s->cw)
        {
          const struct mve_cross_params *w = s->cw;
          struct mve_cross_params *g = s->gcw;
          int64_t nkv = (int64_t) a->Nimg * a->Tk;
          int64_t kvs = (int64_t) a->Tk * 2 * C;
          float *ckv = a->ckv + (int64_t) l * nkv * 2 * C;
          TRY (mm_bwd (ctx, dtmp, 1, g->o_w + (int64_t) l * C * C, g->o_b + l * C, dres,
                       a->caty + l * NT * C, w->o_w + (int64_t) l * C * C, R, C, C));
          float *dcq = dbig;
          TRY (zero (ctx, dcq, R * C));
          TRY (zero (ctx, A->s_dkvseq, (int64_t) a->N * kvs));
          struct mve_attn_desc d = ca_desc (c, a, s);
          TRY (mve_cuda_attention_backward (ctx, dcq, A->s_dkvseq, A->s_dkvseq + C, kvs, 2 * C,
                                            dtmp, a->catt + l * NT * NH * a->Tk,
                                            a->cq + l * NT * C, ckv, ckv + C, &d));
          dkv_reduce_kernel<<<BLOCKS (nkv * 2 * C), EW_BLOCK, 0, ctx->stream>>> (
            A->s_dkv, A->s_dkvseq, s->csr_off, s->csr_list, a->Nimg, kvs);
          LAUNCH_OK ();
          TRY (mm_bwd (ctx, s->dmem, 0, g->kv_w + (int64_t) l * 2 * C * C, g->kv_b + l * 2 * C,
                       A->s_dkv, s->mem, w->kv_w + (int64_t) l * 2 * C * C, nkv, C, 2 * C));
          TRY (mm_bwd (ctx, dtmp, 1, g->q_w + (int64_t) l * C * C, g->q_b + l * C, dcq,
                       a->lnc + l * NT * C, w->q_w + (int64_t) l * C * C, R, C, C));
          TRY (mve_cuda_layernorm_backward (ctx, dres, g->ln_w + l * C, g->ln_b + l * C, dtmp, x1,
                                            w->ln_w + l * C, a->lnc_mean + l * NT,
                                            a->lnc_rstd + l * NT, R, C));
        }
      if (s->sa)
        {
          const struct mve_block_params *w = s->w;
          struct mve_block_params *g = s->g;
          TRY (mm_bwd (ctx, dtmp, 1, g->ao_w + (int64_t) l * C * C, g->ao_b + l * C, dres,
                       a->atty + l * NT * C, w->ao_w + (int64_t) l * C * C, R, C, C));
          float *dqkv = dbig;
          const float *qkv = a->qkv + l * NT * 3 * C;
          TRY (zero (ctx, dqkv, (a->off != NULL ? R : NT) * 3 * C));
          struct mve_attn_desc d = sa_desc (c, a, s);
          TRY (mve_cuda_attention_backward (ctx, dqkv, dqkv + C, dqkv + 2 * C,
                                            (int64_t) a->T * 3 * C, 3 * C, dtmp,
                                            a->att + l * NT * NH * a->T, qkv, qkv + C, qkv + 2 * C,
                                            &d));
          TRY (mm_bwd (ctx, dtmp, 1, g->qkv_w + (int64_t) l * 3 * C * C, g->qkv_b + l * 3 * C, dqkv,
                       a->ln1 + l * NT * C, w->qkv_w + (int64_t) l * 3 * C * C, R, C, 3 * C));
          TRY (mve_cuda_layernorm_backward (ctx, dres, g->ln1_w + l * C, g->ln1_b + l * C, dtmp,
                                            xin, w->ln1_w + l * C, a->ln1_mean + l * NT,
                                            a->ln1_rstd + l * NT, R, C));
        }
    }
  TRY (copy_d2d (ctx, dx0, dres, R * C));
  return MVE_STATUS_OK;
fail:
  return st;
}

// --- the step -------------------------------------------------------------------------------
struct step_ptrs // device pointers into the uploaded integer block
{
  const int32_t *tok_t, *len_t, *tok_i, *len_i, *img_i, *lab_i, *tok_d, *len_d, *img_d, *lm_pos,
    *lm_tgt, *off_txt, *off_itm, *off_dec;
  const int32_t *csr_itm_off, *csr_itm_list, *csr_dec_off, *csr_dec_list;
};

static mve_status
ensure_arena (struct mve_cuda_ctx *ctx, struct mve_cuda_model *dm, size_t need)
{
  mve_status st = MVE_STATUS_OK;
  if (need <= dm->arena_cap)
    return MVE_STATUS_OK;
  size_t cap = need + need / 4;
  if (dm->arena != NULL)
    MVE_CUDA_CHECK (ctx, cudaFreeAsync (dm->arena, ctx->stream));
  dm->arena = NULL;
  dm->arena_cap = 0;
  {
    cudaError_t e = cudaMallocAsync ((void **) &dm->arena, cap * sizeof (float), ctx->stream);
    if (e != cudaSuccess)
      {
        cudaGetLastError ();
        cap = need;
        e = cudaMallocAsync ((void **) &dm->arena, cap * sizeof (float), ctx->stream);
      }
    if (e != cudaSuccess)
      {
        cudaGetLastError ();
        dm->arena = NULL;
        snprintf (ctx->last_error, sizeof ctx->last_error,
                  "out of device memory: %zu bytes (%.1f MiB) asked for activations on device %d (%s)",
                  need * sizeof (float), need * sizeof (float) / 1048576.0, ctx->device,
                  cudaGetErrorString (e));
        return MVE_STATUS_ALLOC_FAILED;
      }
  }
  dm->arena_cap = cap;
  return MVE_STATUS_OK;
fail:
  return st;
}

// Plan and carve the activations for the dims in *A (train or not).
static mve_status
prepare_acts (struct mve_cuda_ctx *ctx, struct mve_cuda_model *dm, const struct mve_cuda_acts *dims)
{
  mve_status st = MVE_STATUS_OK;
  if (dm->acts == NULL)
    {
      dm->acts = (struct mve_cuda_acts *) calloc (1, sizeof *dm->acts);
      if (dm->acts == NULL)
        {
          snprintf (ctx->last_error, sizeof ctx->last_error, "out of host memory");
          return MVE_STATUS_ALLOC_FAILED;
        }
    }
  struct mve_cuda_acts *A = dm->acts;
  *A = *dims;
  size_t need = plan_all (A, &dm->md.cfg, NULL);
  TRY (ensure_arena (ctx, dm, need));
  *A = *dims;
  plan_all (A, &dm->md.cfg, dm->arena);
  return MVE_STATUS_OK;
fail:
  return st;
}

static mve_status
vision_forward (struct mve_cuda_ctx *ctx, struct mve_cuda_model *dm, const float *d_images)
{
  mve_status st = MVE_STATUS_OK;
  const struct mve_config *c = &dm->md.cfg;
  const struct mve_params *p = &dm->md.p;
  struct mve_cuda_acts *A = dm->acts;
  int C = c->width, G = c->image_size / c->patch_size, P = G * G, Nv = P + 1;
  int K = c->channels * c->patch_size * c->patch_size, B = A->B;
  im2col_kernel<<<BLOCKS ((int64_t) B * P * K), EW_BLOCK, 0, ctx->stream>>> (
    A->patches, d_images, B, c->channels, c->image_size, c->patch_size);
  LAUNCH_OK ();
  TRY (mm_fwd (ctx, A->pe, A->patches, p->patch_w, p->patch_b, NULL, (int64_t) B * P, K, C));
  vis_x0_kernel<<<BLOCKS ((int64_t) B * Nv * C), EW_BLOCK, 0, ctx->stream>>> (
    A->vis.x0, A->pe, p->v_cls, p->v_pos, B, Nv, C);
  LAUNCH_OK ();
  {
    struct ddef s;
    memset (&s, 0, sizeof s);
    s.w = &p->vis;
    s.lnf_w = p->v_lnf_w;
    s.lnf_b = p->v_lnf_b;
    s.sa = 1;
    A->vis.off = NULL; // every image has Nv tokens: unpacked
    A->vis.rows = (int64_t) B * Nv;
    TRY (stack_forward (ctx, c, &A->vis, &s));
  }
  return MVE_STATUS_OK;
fail:
  return st;
}

extern "C" mve_status
mve_cuda_model_encode_images (struct mve_cuda_ctx *ctx, struct mve_cuda_model *dm,
                              const float *d_images, int B, const float **lnf)
{
  mve_status st = MVE_STATUS_OK;
  struct mve_cuda_acts dims;
  memset (&dims, 0, sizeof dims);
  MVE_CUDA_REQUIRE (ctx, dm != NULL && d_images != NULL && B >= 1 && lnf != NULL);
  dims.B = B;
  dims.Te = 1;
  dims.Td = 1;
  TRY (prepare_acts (ctx, dm, &dims));
  TRY (vision_forward (ctx, dm, d_images));
  *lnf = dm->acts->vis.lnf;
  return MVE_STATUS_OK;
fail:
  return st;
}

// sequences of each image: off (Nimg + 1), list (N), from img (N) with
// values in [0, Nimg); cursor is Nimg + 1 ints of scratch. Sequences of an
// image stay in increasing order (the CPU's summation order).
static void
build_csr (int32_t *off, int32_t *list, int32_t *cursor, const int32_t *img, int N, int Nimg)
{
  for (int j = 0; j <= Nimg; j++)
    off[j] = 0;
  for (int n = 0; n < N; n++)
    off[img[n] + 1]++;
  for (int j = 0; j < Nimg; j++)
    off[j + 1] += off[j];
  for (int j = 0; j <= Nimg; j++)
    cursor[j] = off[j];
  for (int n = 0; n < N; n++)
    list[cursor[img[n]]++] = n;
}

// pinned host staging of `bytes` and the device upload buffer of `dev_bytes`
static mve_status
ensure_staging (struct mve_cuda_ctx *ctx, struct mve_cuda_model *dm, size_t bytes,
                size_t dev_bytes)
{
  mve_status st = MVE_STATUS_OK;
  if (bytes <= dm->staging_cap && dev_bytes <= dm->images_cap)
    return MVE_STATUS_OK;
  // the stream may still read the old buffers: wait before freeing them
  MVE_CUDA_CHECK (ctx, cudaStreamSynchronize (ctx->stream));
  if (dm->staging != NULL)
    cudaFreeHost (dm->staging);
  dm->staging = NULL;
  dm->staging_cap = 0;
  if (dm->images != NULL)
    cudaFree (dm->images);
  dm->images = NULL;
  dm->images_cap = 0;
  {
    size_t cap = bytes + bytes / 4, dcap = dev_bytes + dev_bytes / 4;
    MVE_CUDA_CHECK (ctx, cudaMallocHost (&dm->staging, cap));
    dm->staging_cap = cap;
    MVE_CUDA_CHECK (ctx, cudaMalloc ((void **) &dm->images, dcap));
    dm->images_cap = dcap;
  }
  return MVE_STATUS_OK;
fail:
  return st;
}

extern "C" mve_status
mve_cuda_model_step (void *vctx, void *vdm, const struct mve_step_desc *s,
                     struct mve_step_result *r)
{
  struct mve_cuda_ctx *ctx = (struct mve_cuda_ctx *) vctx;
  struct mve_cuda_model *dm = (struct mve_cuda_model *) vdm;
  mve_status st = MVE_STATUS_OK;
  MVE_CUDA_REQUIRE (ctx, dm != NULL && s != NULL && r != NULL && s->B >= 1 && s->ints != NULL
                           && s->images != NULL && (!s->adam || s->backward));
  {
    const struct mve_config *c = &dm->md.cfg;
    const struct mve_params *p = &dm->md.p;
    struct mve_params *g = &dm->md.g;
    int B = s->B, C = c->width, V = c->vocab_size, E = c->embed_dim;
    int G = c->image_size / c->patch_size, P = G * G, Nv = P + 1;
    int K = c->channels * c->patch_size * c->patch_size;
    const int32_t *hi = s->ints;

    // --- upload: ints | csr | images, one copy from pinned memory -----------------------
    int64_t n_csr = 3 * ((int64_t) B + 1) + s->Nitm + s->Nd; // + cursor scratch
    int64_t n_int_all = s->n_ints + n_csr;
    size_t int_bytes = ((size_t) n_int_all * sizeof (int32_t) + 255) / 256 * 256;
    size_t img_bytes = (size_t) B * c->channels * c->image_size * c->image_size * sizeof (float);
    TRY (ensure_staging (ctx, dm, int_bytes, int_bytes + img_bytes));
    // the previous step's copy has finished (each step ends with a synchronisation)
    char *stage = (char *) dm->staging;
    int32_t *si = (int32_t *) stage;
    memcpy (si, hi, (size_t) s->n_ints * sizeof (int32_t));
    int32_t *csr = si + s->n_ints;
    int32_t *csr_itm_off = csr, *csr_itm_list = csr_itm_off + B + 1;
    int32_t *csr_dec_off = csr_itm_list + s->Nitm, *csr_dec_list = csr_dec_off + B + 1;
    for (int n = 0; n < s->Nitm; n++)
      MVE_CUDA_REQUIRE (ctx, hi[s->img_i + n] >= 0 && hi[s->img_i + n] < B);
    for (int n = 0; n < s->Nd; n++)
      MVE_CUDA_REQUIRE (ctx, hi[s->img_d + n] >= 0 && hi[s->img_d + n] < B);
    int32_t *cursor = csr_dec_list + s->Nd;
    build_csr (csr_itm_off, csr_itm_list, cursor, hi + s->img_i, s->Nitm, B);
    build_csr (csr_dec_off, csr_dec_list, cursor, hi + s->img_d, s->Nd, B);
    PHASE (0);
    MVE_CUDA_CHECK (ctx, cudaMemcpyAsync (dm->images, stage, int_bytes, cudaMemcpyHostToDevice,
                                          ctx->stream));
    // the images straight from the caller's (pageable) memory: the driver
    // pipelines its staging with the transfer, faster than a memcpy into
    // our pinned buffer followed by the transfer
    MVE_CUDA_CHECK (ctx, cudaMemcpyAsync ((char *) dm->images + int_bytes, s->images, img_bytes,
                                          cudaMemcpyHostToDevice, ctx->stream));
    PHASE (1);
    const int32_t *di = (const int32_t *) dm->images;
    const float *d_images = (const float *) ((const char *) dm->images + int_bytes);
    struct step_ptrs q;
    q.tok_t = di + s->tok_t;
    q.len_t = di + s->len_t;
    q.tok_i = di + s->tok_i;
    q.len_i = di + s->len_i;
    q.img_i = di + s->img_i;
    q.lab_i = di + s->lab_i;
    q.tok_d = di + s->tok_d;
    q.len_d = di + s->len_d;
    q.img_d = di + s->img_d;
    q.lm_pos = di + s->lm_pos;
    q.lm_tgt = di + s->lm_tgt;
    q.off_txt = di + s->off_txt;
    q.off_itm = di + s->off_itm;
    q.off_dec = di + s->off_dec;
    q.csr_itm_off = di + s->n_ints;
    q.csr_itm_list = q.csr_itm_off + B + 1;
    q.csr_dec_off = q.csr_itm_list + s->Nitm;
    q.csr_dec_list = q.csr_dec_off + B + 1;

    // --- activations ----------------------------------------------------------------------
    struct mve_cuda_acts dims;
    memset (&dims, 0, sizeof dims);
    dims.B = B;
    dims.Te = s->Te;
    dims.Td = s->Td;
    dims.Nt = s->Nt;
    dims.Nitm = s->Nitm;
    dims.Nd = s->Nd;
    dims.Nlm = s->Nlm;
    dims.train = s->backward != 0;
    TRY (prepare_acts (ctx, dm, &dims));
    struct mve_cuda_acts *A = dm->acts;
    A->txt.off = q.off_txt;
    A->txt.rows = hi[s->off_txt + s->Nt];
    A->itm.off = q.off_itm;
    A->itm.rows = hi[s->off_itm + s->Nitm];
    A->dec.off = q.off_dec;
    A->dec.rows = hi[s->off_dec + s->Nd];
    float *sc = dm->d_scalars;
    TRY (zero (ctx, sc, S_COUNT));

    // --- forward --------------------------------------------------------------------------
    clamp_temp_kernel<<<1, 1, 0, ctx->stream>>> (p->temp);
    LAUNCH_OK ();
    TRY (vision_forward (ctx, dm, d_images));
    PHASE (2);
    struct ddef s_txt, s_itm, s_dec;
    memset (&s_txt, 0, sizeof s_txt);
    s_txt.w = &p->txt;
    s_txt.g = &g->txt;
    s_txt.lnf_w = p->t_lnf_w;
    s_txt.lnf_b = p->t_lnf_b;
    s_txt.glnf_w = g->t_lnf_w;
    s_txt.glnf_b = g->t_lnf_b;
    s_txt.sa = c->use_sa ? 1 : 0;
    s_txt.klen = q.len_t;
    s_itm = s_txt;
    s_itm.klen = q.len_i;
    if (c->use_ca)
      {
        s_itm.cw = &p->txt_ca;
        s_itm.gcw = &g->txt_ca;
      }
    s_itm.img_index = q.img_i;
    s_itm.csr_off = q.csr_itm_off;
    s_itm.csr_list = q.csr_itm_list;
    s_itm.mem = A->vis.lnf;
    s_itm.dmem = A->s_dmem;
    memset (&s_dec, 0, sizeof s_dec);
    s_dec.w = &p->dec;
    s_dec.g = &g->dec;
    s_dec.lnf_w = p->d_lnf_w;
    s_dec.lnf_b = p->d_lnf_b;
    s_dec.glnf_w = g->d_lnf_w;
    s_dec.glnf_b = g->d_lnf_b;
    s_dec.sa = c->use_csa ? 2 : 0;
    s_dec.klen = q.len_d;
    if (c->use_ca)
      {
        s_dec.cw = &p->dec_ca;
        s_dec.gcw = &g->dec_ca;
      }
    s_dec.img_index = q.img_d;
    s_dec.csr_off = q.csr_dec_off;
    s_dec.csr_list = q.csr_dec_list;
    s_dec.mem = A->vis.lnf;
    s_dec.dmem = A->s_dmem;

    if (s->Nt > 0) // ITC
      {
        embed_kernel<<<(unsigned) ((int64_t) B * s->Te), 64, 0, ctx->stream>>> (
          A->txt.x0, q.tok_t, q.off_txt, B, s->Te, p->tok_emb, p->t_pos, C);
        LAUNCH_OK ();
        TRY (stack_forward (ctx, c, &A->txt, &s_txt));
        gather_rows_kernel<<<BLOCKS ((int64_t) B * C), EW_BLOCK, 0, ctx->stream>>> (
          A->cls_i, A->vis.lnf, NULL, Nv, B, C);
        LAUNCH_OK ();
        gather_rows_kernel<<<BLOCKS ((int64_t) B * C), EW_BLOCK, 0, ctx->stream>>> (
          A->cls_t, A->txt.lnf, q.off_txt, 0, B, C);
        LAUNCH_OK ();
        TRY (mm_fwd (ctx, A->img_feat, A->cls_i, p->vproj_w, p->vproj_b, NULL, B, C, E));
        TRY (mm_fwd (ctx, A->txt_feat, A->cls_t, p->tproj_w, p->tproj_b, NULL, B, C, E));
        l2norm_kernel<<<MVE_CEIL_DIV (B, 8), 256, 0, ctx->stream>>> (A->img_n, A->img_norm,
                                                                       A->img_feat, B, E);
        LAUNCH_OK ();
        l2norm_kernel<<<MVE_CEIL_DIV (B, 8), 256, 0, ctx->stream>>> (A->txt_n, A->txt_norm,
                                                                       A->txt_feat, B, E);
        LAUNCH_OK ();
        sim_kernel<<<BLOCKS ((int64_t) B * B), EW_BLOCK, 0, ctx->stream>>> (
          A->sim, A->img_n, A->txt_n, p->temp, B, E);
        LAUNCH_OK ();
        TRY (mve_cuda_itc_loss (ctx, sc + S_ITC, A->dsim, A->sim, B));
      }
    PHASE (3);
    if (s->Nitm > 0) // ITM
      {
        int N = s->Nitm;
        embed_kernel<<<(unsigned) ((int64_t) N * s->Te), 64, 0, ctx->stream>>> (
          A->itm.x0, q.tok_i, q.off_itm, N, s->Te, p->tok_emb, p->t_pos, C);
        LAUNCH_OK ();
        TRY (stack_forward (ctx, c, &A->itm, &s_itm));
        gather_rows_kernel<<<BLOCKS ((int64_t) N * C), EW_BLOCK, 0, ctx->stream>>> (
          A->itm_cls, A->itm.lnf, q.off_itm, 0, N, C);
        LAUNCH_OK ();
        TRY (mm_fwd (ctx, A->itm_logits, A->itm_cls, p->itm_w, p->itm_b, NULL, N, C, 2));
        TRY (mve_cuda_itm_xent (ctx, A->itm_losses, A->itm_dlogits, A->itm_logits, q.lab_i, N,
                                c->w_itm / (float) N));
        sum_kernel<<<1, RED_BLOCK, 0, ctx->stream>>> (sc + S_ITM, A->itm_losses, N, 1.0 / N);
        LAUNCH_OK ();
      }
    PHASE (4);
    // decoder + LM
    int64_t Nlm = s->Nlm;
    embed_kernel<<<(unsigned) ((int64_t) s->Nd * s->Td), 64, 0, ctx->stream>>> (
      A->dec.x0, q.tok_d, q.off_dec, s->Nd, s->Td, p->tok_emb, p->d_pos, C);
    LAUNCH_OK ();
    TRY (stack_forward (ctx, c, &A->dec, &s_dec));
    if (Nlm > 0)
      {
        gather_rows_kernel<<<BLOCKS (Nlm * C), EW_BLOCK, 0, ctx->stream>>> (A->lm_h, A->dec.lnf,
                                                                             q.lm_pos, 0, Nlm, C);
        LAUNCH_OK ();
        TRY (mm_fwd (ctx, A->lm_logits, A->lm_h, p->lm_w, p->lm_b, NULL, Nlm, C, V));
        TRY (mve_cuda_lm_xent (ctx, A->lm_losses, A->lm_dlogits, A->lm_logits, q.lm_tgt, Nlm, V,
                               c->w_lm / (float) Nlm));
        sum_kernel<<<1, RED_BLOCK, 0, ctx->stream>>> (sc + S_LM, A->lm_losses, Nlm, 1.0 / Nlm);
        LAUNCH_OK ();
      }
    total_kernel<<<1, 1, 0, ctx->stream>>> (sc, s->Nt > 0 ? c->w_itc : 0.0f,
                                           s->Nitm > 0 ? c->w_itm : 0.0f, c->w_lm);
    LAUNCH_OK ();

    PHASE (5);
    // --- backward -------------------------------------------------------------------------
    if (s->backward)
      {
        TRY (zero (ctx, dm->md.grads, dm->md.n_params));
        TRY (zero (ctx, A->s_dmem, (int64_t) B * Nv * C));
        // decoder
        if (Nlm > 0 && s->Nd > 0)
          {
            TRY (mm_bwd (ctx, A->s_dlm_h, 1, g->lm_w, g->lm_b, A->lm_dlogits, A->lm_h, p->lm_w, Nlm,
                         C, V));
            TRY (zero (ctx, A->s_dlnf, A->dec.rows * C));
            scatter_add_rows_kernel<<<BLOCKS (Nlm * C), EW_BLOCK, 0, ctx->stream>>> (
              A->s_dlnf, A->s_dlm_h, q.lm_pos, 0, Nlm, C);
            LAUNCH_OK ();
            TRY (stack_backward (ctx, A, c, A->s_dlnf, A->s_dlnf, &A->dec, &s_dec));
            embed_backward_kernel<<<(unsigned) ((int64_t) s->Nd * s->Td), 64, 0, ctx->stream>>> (
              g->tok_emb, g->d_pos, A->s_dlnf, q.tok_d, q.off_dec, s->Nd, s->Td, C);
            LAUNCH_OK ();
          }
        PHASE (6);
        // ITM
        if (s->Nitm > 0)
          {
            int N = s->Nitm;
            float *dcls = A->s_small; // (N, C)
            TRY (mm_bwd (ctx, dcls, 1, g->itm_w, g->itm_b, A->itm_dlogits, A->itm_cls, p->itm_w, N,
                         C, 2));
            TRY (zero (ctx, A->s_dlnf, A->itm.rows * C));
            scatter_add_rows_kernel<<<BLOCKS ((int64_t) N * C), EW_BLOCK, 0, ctx->stream>>> (
              A->s_dlnf, dcls, q.off_itm, 0, N, C);
            LAUNCH_OK ();
            TRY (stack_backward (ctx, A, c, A->s_dlnf, A->s_dlnf, &A->itm, &s_itm));
            embed_backward_kernel<<<(unsigned) ((int64_t) N * s->Te), 64, 0, ctx->stream>>> (
              g->tok_emb, g->t_pos, A->s_dlnf, q.tok_i, q.off_itm, N, s->Te, C);
            LAUNCH_OK ();
          }
        PHASE (7);
        // ITC
        if (s->Nt > 0)
          {
            int M = C > E ? C : E;
            float *dimg = A->s_small, *dtxt = dimg + (size_t) B * E;
            float *dcls_i = dtxt + (size_t) B * E, *dcls_t = dcls_i + (size_t) B * C;
            float *tmp_i = dcls_t + (size_t) B * C, *tmp_t = tmp_i + (size_t) B * M;
            itc_post_kernel<<<1, RED_BLOCK, 0, ctx->stream>>> (A->dsim, A->sim, p->temp, g->temp,
                                                               c->w_itc, (int64_t) B * B);
            LAUNCH_OK ();
            small_mm_kernel<<<BLOCKS ((int64_t) B * E), EW_BLOCK, 0, ctx->stream>>> (
              tmp_i, A->dsim, A->txt_n, B, E, B, 0);
            LAUNCH_OK ();
            small_mm_kernel<<<BLOCKS ((int64_t) B * E), EW_BLOCK, 0, ctx->stream>>> (
              tmp_t, A->dsim, A->img_n, B, E, B, 1);
            LAUNCH_OK ();
            l2norm_backward_kernel<<<MVE_CEIL_DIV (B, 8), 256, 0, ctx->stream>>> (
              dimg, tmp_i, A->img_n, A->img_norm, B, E);
            LAUNCH_OK ();
            l2norm_backward_kernel<<<MVE_CEIL_DIV (B, 8), 256, 0, ctx->stream>>> (
              dtxt, tmp_t, A->txt_n, A->txt_norm, B, E);
            LAUNCH_OK ();
            TRY (mm_bwd (ctx, dcls_i, 1, g->vproj_w, g->vproj_b, dimg, A->cls_i, p->vproj_w, B, C,
                         E));
            TRY (mm_bwd (ctx, dcls_t, 1, g->tproj_w, g->tproj_b, dtxt, A->cls_t, p->tproj_w, B, C,
                         E));
            scatter_add_rows_kernel<<<BLOCKS ((int64_t) B * C), EW_BLOCK, 0, ctx->stream>>> (
              A->s_dmem, dcls_i, NULL, Nv, B, C);
            LAUNCH_OK ();
            TRY (zero (ctx, A->s_dlnf, A->txt.rows * C));
            scatter_add_rows_kernel<<<BLOCKS ((int64_t) B * C), EW_BLOCK, 0, ctx->stream>>> (
              A->s_dlnf, dcls_t, q.off_txt, 0, B, C);
            LAUNCH_OK ();
            TRY (stack_backward (ctx, A, c, A->s_dlnf, A->s_dlnf, &A->txt, &s_txt));
            embed_backward_kernel<<<(unsigned) ((int64_t) B * s->Te), 64, 0, ctx->stream>>> (
              g->tok_emb, g->t_pos, A->s_dlnf, q.tok_t, q.off_txt, B, s->Te, C);
            LAUNCH_OK ();
          }
        PHASE (8);
        // vision
        {
          struct ddef s_vis;
          memset (&s_vis, 0, sizeof s_vis);
          s_vis.w = &p->vis;
          s_vis.g = &g->vis;
          s_vis.lnf_w = p->v_lnf_w;
          s_vis.lnf_b = p->v_lnf_b;
          s_vis.glnf_w = g->v_lnf_w;
          s_vis.glnf_b = g->v_lnf_b;
          s_vis.sa = 1;
          float *dx0 = A->s_dlnf;
          TRY (stack_backward (ctx, A, c, dx0, A->s_dmem, &A->vis, &s_vis));
          vis_dpos_kernel<<<BLOCKS ((int64_t) Nv * C), EW_BLOCK, 0, ctx->stream>>> (
            g->v_pos, g->v_cls, dx0, B, Nv, C);
          LAUNCH_OK ();
          vis_dpe_kernel<<<BLOCKS ((int64_t) B * P * C), EW_BLOCK, 0, ctx->stream>>> (A->s_dpe, dx0,
                                                                                      B, Nv, C);
          LAUNCH_OK ();
          TRY (mm_bwd (ctx, NULL, 0, g->patch_w, g->patch_b, A->s_dpe, A->patches, p->patch_w,
                       (int64_t) B * P, K, C));
        }
      }

    PHASE (9);
    // --- gradient norm, clipping, Adam ----------------------------------------------------
    if (s->adam)
      {
        int64_t n = dm->md.n_params;
        double *partial = (double *) (sc + S_PARTIALS);
        sumsq_kernel<<<NORM_PARTS, RED_BLOCK, 0, ctx->stream>>> (partial, dm->md.grads, n);
        LAUNCH_OK ();
        norm_finish_kernel<<<1, RED_BLOCK, 0, ctx->stream>>> (sc, partial, NORM_PARTS, s->clip_norm);
        LAUNCH_OK ();
        float step_size = s->lr / (1.0f - powf (s->beta1, (float) s->step));
        float bc2_sqrt = sqrtf (1.0f - powf (s->beta2, (float) s->step));
        adam_step_kernel<<<BLOCKS (n), EW_BLOCK, 0, ctx->stream>>> (
          dm->md.params, dm->md.adam_m, dm->md.adam_v, dm->md.grads, n, sc, s->beta1, s->beta2,
          s->eps, s->weight_decay, step_size, bc2_sqrt, dm->md.itc_lo[0], dm->md.itc_hi[0],
          dm->md.itc_lo[1], dm->md.itc_hi[1], s->itc_head_scale);
        LAUNCH_OK ();
      }

    PHASE (10);
    // --- results: the step's only synchronisation -----------------------------------------
    MVE_CUDA_CHECK (ctx, cudaMemcpyAsync (dm->h_result, sc, S_COUNT * sizeof (float),
                                          cudaMemcpyDeviceToHost, ctx->stream));
    MVE_CUDA_CHECK (ctx, cudaStreamSynchronize (ctx->stream));
    r->total = dm->h_result[S_TOTAL];
    r->itc = dm->h_result[S_ITC];
    r->itm = dm->h_result[S_ITM];
    r->lm = dm->h_result[S_LM];
    r->grad_norm = s->adam ? dm->h_result[S_NORM] : 0.0f;
    if (dm->phases > 0 && s->backward && s->adam) // every phase was recorded
      {
        static const char *names[10] = { "upload", "vision_fwd", "itc_fwd", "itm_fwd", "dec_lm_fwd",
                                         "dec_bwd", "itm_bwd", "itc_bwd", "vision_bwd", "adam" };
        fprintf (stderr, "{\"cuda_step_phases_ms\":{\"batch\":%d", B);
        for (int i = 0; i < 10; i++)
          {
            float ms = 0.0f;
            cudaEventElapsedTime (&ms, dm->phase[i], dm->phase[i + 1]);
            fprintf (stderr, ",\"%s\":%.3f", names[i], ms);
          }
        float all = 0.0f;
        cudaEventElapsedTime (&all, dm->phase[0], dm->phase[10]);
        fprintf (stderr, ",\"device_total\":%.3f}}\n", all);
        cudaGetLastError (); // an unusable event must not fail the next launch check
      }
  }
  return MVE_STATUS_OK;
fail:
  return st;
}

// --- lifecycle ------------------------------------------------------------------------------
extern "C" mve_status
mve_cuda_model_create (void *vctx, void **out, const struct mve_model_desc *md)
{
  struct mve_cuda_ctx *ctx = (struct mve_cuda_ctx *) vctx;
  mve_status st = MVE_STATUS_OK;
  struct mve_cuda_model *dm = NULL;
  MVE_CUDA_REQUIRE (ctx, out != NULL && md != NULL && md->params != NULL && md->n_params > 0);
  *out = NULL;
  dm = (struct mve_cuda_model *) calloc (1, sizeof *dm);
  if (dm == NULL)
    {
      snprintf (ctx->last_error, sizeof ctx->last_error, "out of host memory (%zu bytes)",
                sizeof *dm);
      return MVE_STATUS_ALLOC_FAILED;
    }
  dm->md = *md;
  MVE_CUDA_CHECK (ctx, cudaMalloc ((void **) &dm->d_scalars, SCALARS_FLOATS * sizeof (float)));
  MVE_CUDA_CHECK (ctx, cudaMallocHost ((void **) &dm->h_result, S_COUNT * sizeof (float)));
  {
    const char *ph = getenv ("MVAEMA_CUDA_PHASES");
    if (ph != NULL && *ph != '\0' && strcmp (ph, "0") != 0)
      {
        for (int i = 0; i < 11; i++)
          MVE_CUDA_CHECK (ctx, cudaEventCreate (&dm->phase[i]));
        dm->phases = 11;
      }
  }
  *out = dm;
  return MVE_STATUS_OK;
fail:
  mve_cuda_model_free (ctx, dm);
  return st;
}

extern "C" void
mve_cuda_model_free (void *vctx, void *vdm)
{
  struct mve_cuda_ctx *ctx = (struct mve_cuda_ctx *) vctx;
  struct mve_cuda_model *dm = (struct mve_cuda_model *) vdm;
  if (dm == NULL)
    return;
  cudaStreamSynchronize (ctx->stream);
  mve_cuda_gen_free (ctx, dm->gen);
  if (dm->arena != NULL)
    cudaFreeAsync (dm->arena, ctx->stream);
  cudaStreamSynchronize (ctx->stream);
  cudaFree (dm->ints);
  cudaFree (dm->images);
  cudaFree (dm->d_scalars);
  if (dm->staging != NULL)
    cudaFreeHost (dm->staging);
  if (dm->h_result != NULL)
    cudaFreeHost (dm->h_result);
  for (int i = 0; i < dm->phases; i++)
    cudaEventDestroy (dm->phase[i]);
  free (dm->acts);
  free (dm);
}
