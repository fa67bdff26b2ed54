// SPDX-License-Identifier: GPL-3.0-or-later
// mve-cuda-generate.cu: greedy decoding on the device (mve_model_generate of
// mve-model-generate.c with beam_width 1: gen_init / gen_prompt / gen_step).
//
// The image is encoded once (mve_cuda_model_encode_images) and each decoder
// layer's cross-attention keys/values of the image tokens are computed once
// (cuBLAS). Then one decoding step is a fixed sequence of small kernels for
// one row: embedding of the step's token at its position, per layer (causal
// self-attention over the device key/value cache, cross-attention to the
// image tokens, MLP), the final layer norm, the LM head and a last kernel
// that takes the argmax (the CPU's tie rule: the lowest index of the
// maximum), averages the patch cross-attention over heads and layers and
// moves the position on.
//
// The step reads its position and token from a small device state (pos, the
// last argmax, the prompt length) and the prompt tokens from the device, so
// every step, prompt or answer, is the same launch sequence: it is captured
// once into a CUDA graph and replayed (plain launches if capture fails).
// The host waits once per answer token, for one small copy of the token and
// its P attention floats into pinned memory.
//
// Legend: C width, NH heads, hs = C / NH, HC = C * mlp_ratio, L decoder
// layers, V vocabulary, Nv image tokens (<cls> + P patches), Tcap cached
// positions.
#include "mve-cuda-gelu.h"
#include "mve-cuda-layernorm.h"
#include "mve-cuda-matmul.h"
#include "mve-cuda-model.h"
#include "mve.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define GEN_ATT_BLOCK 256    // attention kernels: one block per head
#define GEN_MATVEC_BLOCK 256 // 8 warps, one output row each
#define GEN_EMBED_BLOCK 256
#define GEN_FINISH_BLOCK 1024 // argmax + attention average: one block

// device state (int32): the step's position, the last argmax, the prompt
// length; the prompt tokens follow
enum
{
  GEN_S_POS = 0,
  GEN_S_TOKEN = 1,
  GEN_S_NPROMPT = 2,
  GEN_S_PROMPT = 3,
};

struct mve_cuda_gen
{
  // what the buffers (and the graph) were made for
  struct mve_config cfg;
  const float *params; // dm->md.params when the graph was captured
  int Tcap;            // cached positions
  int prompt_cap;      // max_question_len + 2
  size_t image_n;      // floats of one image
  // device, one allocation
  void *mem;
  float *image;       // (ch, S, S)
  float *ckv;         // (L, Nv, 2C) image keys/values per layer
  float *kv;          // (L, Tcap, 2C) self-attention cache
  float *x, *h, *y;   // (C)
  float *qkv;         // (3C)
  float *fc, *fcg;    // (HC)
  float *logits;      // (V)
  float *probs;       // (L, NH, Nv) cross-attention probabilities of the step
  float *sc;          // (NH, Tcap) self-attention scores
  float *mean, *rstd; // (1) each
  float *out;         // (1 + P): the token (as int32) then the patch attention
  int32_t *state;     // GEN_S_PROMPT + prompt_cap
  // pinned host
  float *h_out;       // (1 + P), as out
  int32_t *h_state;   // as state
  // one step as a graph
  cudaGraphExec_t graph;
  bool graph_failed; // capture did not work once: plain launches from then on
};

// --- kernels ----------------------------------------------------------------------------------
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

// Block-wide sum or max (blockDim.x a multiple of 32, at most 1024); every
// thread gets the result. Fixed order: deterministic.
static __device__ float
block_reduce (float v, bool is_max, float *red)
{
  int lane = threadIdx.x % 32, warp = threadIdx.x / 32, nw = blockDim.x / 32;
  v = is_max ? warp_max (v) : warp_sum (v);
  __syncthreads (); // red may still be read from a previous call
  if (lane == 0)
    red[warp] = v;
  __syncthreads ();
  float r = red[0];
  for (int i = 1; i < nw; i++)
    r = is_max ? fmaxf (r, red[i]) : r + red[i];
  return r;
}

// x (C) = tok_emb[token] + d_pos[pos]; the token is the prompt's while pos is
// inside it, then the last argmax.
static __global__ void
gen_embed_kernel (float *x, const float *tok_emb, const float *pos_emb, const int32_t *state, int C)
{
  int pos = state[GEN_S_POS];
  int32_t tok = pos < state[GEN_S_NPROMPT] ? state[GEN_S_PROMPT + pos] : state[GEN_S_TOKEN];
  for (int i = threadIdx.x; i < C; i += blockDim.x)
    x[i] = tok_emb[(size_t) tok * C + i] + pos_emb[(size_t) pos * C + i];
}

// out (OC) = resid + (w (OC, IC) . x (IC) + b), resid and b may be NULL;
// out may alias resid (not x). One warp per output row.
static __global__ void
gen_matvec_kernel (float *out, const float *x, const float *w, const float *b, const float *resid,
                   int IC, int OC)
{
  int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
  int lane = threadIdx.x % 32;
  if (row >= OC)
    return;
  const float *wr = w + (size_t) row * IC;
  float s = 0.0f;
  for (int i = lane; i < IC; i += 32)
    s += wr[i] * x[i];
  s = warp_sum (s);
  if (lane == 0)
    {
      float hv = b != NULL ? s + b[row] : s;
      out[row] = resid != NULL ? resid[row] + hv : hv;
    }
}

// Softmax in place over s[0..n) (max, exp, 1/sum as the CPU's
// softmax_inplace), then y[i] = sum_t s[t] * v[t * ldv + i] for i < hs.
// For hs < blockDim the block splits t into G = blockDim / hs groups (thread
// i + g * hs sums t = g, g + G, ...) and adds the G partial sums in group
// order. Every thread of the block takes part; part has blockDim floats.
static __device__ void
softmax_and_mix (float *y, float *s, int n, const float *v, int ldv, int hs, float *red,
                 float *part)
{
  float mx = -INFINITY;
  for (int t = threadIdx.x; t < n; t += blockDim.x)
    mx = fmaxf (mx, s[t]);
  mx = block_reduce (mx, true, red);
  float sum = 0.0f;
  for (int t = threadIdx.x; t < n; t += blockDim.x)
    {
      float e = expf (s[t] - mx);
      s[t] = e;
      sum += e;
    }
  sum = block_reduce (sum, false, red);
  float inv = 1.0f / sum;
  for (int t = threadIdx.x; t < n; t += blockDim.x)
    s[t] *= inv;
  __syncthreads ();
  if (hs >= (int) blockDim.x)
    {
      for (int i = threadIdx.x; i < hs; i += blockDim.x)
        {
          float acc = 0.0f;
          for (int t = 0; t < n; t++)
            acc += s[t] * v[(size_t) t * ldv + i];
          y[i] = acc;
        }
      return;
    }
  int G = blockDim.x / hs, i = threadIdx.x % hs, grp = threadIdx.x / hs;
  if (grp < G)
    {
      float acc = 0.0f;
      for (int t = grp; t < n; t += G)
        acc += s[t] * v[(size_t) t * ldv + i];
      part[grp * hs + i] = acc;
    }
  __syncthreads ();
  if ((int) threadIdx.x < hs)
    {
      float acc = 0.0f;
      for (int gi = 0; gi < G; gi++)
        acc += part[gi * hs + threadIdx.x];
      y[threadIdx.x] = acc;
    }
}

// Scores s[t] = q . k[t] * scale for t < n: one thread per key for small
// heads, one warp per key for heads of 64 floats and more.
static __device__ void
scores (float *s, const float *q, const float *k, int ldk, int n, int hs, float scale)
{
  if (hs < 64)
    for (int t = threadIdx.x; t < n; t += blockDim.x)
      {
        const float *kt = k + (size_t) t * ldk;
        float d = 0.0f;
        for (int i = 0; i < hs; i++)
          d += q[i] * kt[i];
        s[t] = d * scale;
      }
  else
    {
      int lane = threadIdx.x % 32, warp = threadIdx.x / 32, nw = blockDim.x / 32;
      for (int t = warp; t < n; t += nw)
        {
          const float *kt = k + (size_t) t * ldk;
          float d = 0.0f;
          for (int i = lane; i < hs; i += 32)
            d += q[i] * kt[i];
          d = warp_sum (d);
          if (lane == 0)
            s[t] = d * scale;
        }
    }
  __syncthreads ();
}

// Causal self-attention of the step's row, one block per head: stores the
// row's key and value (qkv[C..3C)) in the layer's cache at pos, then attends
// over positions 0..pos. cache (Tcap, 2C): key then value; sc (NH, Tcap).
static __global__ void
gen_self_attn_kernel (float *y, float *cache, float *sc, const float *qkv, const int32_t *state,
                      int C, int hs, int Tcap, float scale)
{
  __shared__ float red[32];
  __shared__ float part[GEN_ATT_BLOCK];
  int hd = blockIdx.x, pos = state[GEN_S_POS];
  float *row = cache + (size_t) pos * 2 * C;
  for (int i = threadIdx.x; i < hs; i += blockDim.x)
    {
      row[hd * hs + i] = qkv[C + hd * hs + i];
      row[C + hd * hs + i] = qkv[2 * C + hd * hs + i];
    }
  __syncthreads ();
  float *s = sc + (size_t) hd * Tcap;
  scores (s, qkv + hd * hs, cache + hd * hs, 2 * C, pos + 1, hs, scale);
  softmax_and_mix (y + hd * hs, s, pos + 1, cache + C + hd * hs, 2 * C, hs, red, part);
}

// Cross-attention of the step's row (q (C)) to the Nv image tokens, one
// block per head; ckv (Nv, 2C) key then value; the probabilities stay in
// probs (NH, Nv) for the attention average.
static __global__ void
gen_cross_attn_kernel (float *y, float *probs, const float *q, const float *ckv, int C, int hs,
                       int Nv, float scale)
{
  __shared__ float red[32];
  __shared__ float part[GEN_ATT_BLOCK];
  int hd = blockIdx.x;
  float *s = probs + (size_t) hd * Nv;
  scores (s, q + hd * hs, ckv + hd * hs, 2 * C, Nv, hs, scale);
  softmax_and_mix (y + hd * hs, s, Nv, ckv + C + hd * hs, 2 * C, hs, red, part);
}

// One block: the argmax of logits (V) with the CPU's tie rule (the lowest
// index among equal maxima), the patch attention (P = Nv - 1) averaged over
// heads and layers in the CPU's order (layer, then head, each term divided
// by NH * L; <cls> left out; zeros without cross-attention), written to out
// (token as int32, then P floats); the token into the state and pos + 1.
static __global__ void
gen_finish_kernel (float *out, int32_t *state, const float *logits, int V, const float *probs,
                   int L, int NH, int Nv, int use_ca)
{
  __shared__ float bv_sh[GEN_FINISH_BLOCK];
  __shared__ int bi_sh[GEN_FINISH_BLOCK];
  int tid = threadIdx.x;
  float bv = -INFINITY;
  int bi = INT_MAX;
  for (int v = tid; v < V; v += blockDim.x)
    {
      float z = logits[v];
      if (bi == INT_MAX || z > bv)
        {
          bv = z;
          bi = v;
        }
    }
  bv_sh[tid] = bv;
  bi_sh[tid] = bi;
  __syncthreads ();
  for (int s = blockDim.x / 2; s > 0; s >>= 1)
    {
      if (tid < s)
        {
          float ov = bv_sh[tid + s];
          int oi = bi_sh[tid + s];
          if (oi != INT_MAX
              && (bi_sh[tid] == INT_MAX || ov > bv_sh[tid] || (ov == bv_sh[tid] && oi < bi_sh[tid])))
            {
              bv_sh[tid] = ov;
              bi_sh[tid] = oi;
            }
        }
      __syncthreads ();
    }
  int P = Nv - 1;
  for (int p = tid; p < P; p += blockDim.x)
    {
      float acc = 0.0f;
      if (use_ca)
        for (int l = 0; l < L; l++)
          for (int hd = 0; hd < NH; hd++)
            acc += probs[((size_t) l * NH + hd) * Nv + 1 + p] / (float) (NH * L);
      out[1 + p] = acc;
    }
  if (tid == 0)
    {
      int best = bi_sh[0] == INT_MAX ? 0 : bi_sh[0];
      ((int32_t *) out)[0] = best;
      state[GEN_S_TOKEN] = best;
      state[GEN_S_POS] += 1;
    }
}

// --- state --------------------------------------------------------------------------------------
extern "C" void
mve_cuda_gen_free (struct mve_cuda_ctx *ctx, struct mve_cuda_gen *gen)
{
  (void) ctx;
  if (gen == NULL)
    return;
  if (gen->graph != NULL)
    cudaGraphExecDestroy (gen->graph);
  gen->graph = NULL;
  if (gen->mem != NULL)
    cudaFree (gen->mem);
  gen->mem = NULL;
  if (gen->h_out != NULL)
    cudaFreeHost (gen->h_out);
  gen->h_out = NULL;
  gen->h_state = NULL;
  free (gen);
}

static size_t
round_up (size_t n)
{
  return (n + 63) / 64 * 64; // 256-byte aligned pieces
}

// Make dm->gen fit cfg and Tmax positions (a new one when the model's shape
// changed or the cache is too short); drops the graph when anything it was
// captured with changed.
static mve_status
gen_prepare (struct mve_cuda_ctx *ctx, struct mve_cuda_model *dm, int Tmax)
{
  const struct mve_config *c = &dm->md.cfg;
  struct mve_cuda_gen *gen = dm->gen;
  cudaError_t e;
  if (gen != NULL && (memcmp (&gen->cfg, c, sizeof *c) != 0 || gen->Tcap < Tmax))
    {
      mve_cuda_gen_free (ctx, gen);
      gen = dm->gen = NULL;
    }
  if (gen == NULL)
    {
      int C = c->width, HC = C * c->mlp_ratio, V = c->vocab_size, L = c->decoder_layers;
      int NH = c->heads, side = c->image_size / c->patch_size;
      int Nv = side * side + 1, P = Nv - 1;
      // a little room so that slightly longer questions or answers reuse it
      int Tcap = Tmax + 16;
      int Tlimit = c->max_question_len + c->max_answer_len + 3; // rows of d_pos
      if (Tcap > Tlimit)
        Tcap = Tlimit;
      int prompt_cap = c->max_question_len + 2;
      size_t image_n = (size_t) c->channels * c->image_size * c->image_size;
      size_t n_floats = round_up (image_n) + round_up ((size_t) L * Nv * 2 * C)
                        + round_up ((size_t) L * Tcap * 2 * C) + 3 * round_up (C)
                        + round_up ((size_t) 3 * C) + 2 * round_up (HC) + round_up (V)
                        + round_up ((size_t) L * NH * Nv + 1) + round_up ((size_t) NH * Tcap)
                        + 2 * round_up (1) + round_up ((size_t) 1 + P);
      size_t n_ints = round_up ((size_t) GEN_S_PROMPT + prompt_cap);
      size_t bytes = (n_floats + n_ints) * sizeof (float);
      size_t host_bytes = (round_up ((size_t) 1 + P) + n_ints) * sizeof (float);
      gen = (struct mve_cuda_gen *) calloc (1, sizeof *gen);
      if (gen == NULL)
        {
          snprintf (ctx->last_error, sizeof ctx->last_error,
                    "out of host memory for generation (%zu bytes)", sizeof *gen);
          return MVE_STATUS_ALLOC_FAILED;
        }
      gen->cfg = *c;
      gen->Tcap = Tcap;
      gen->prompt_cap = prompt_cap;
      gen->image_n = image_n;
      e = cudaMalloc (&gen->mem, bytes);
      if (e != cudaSuccess)
        {
          gen->mem = NULL;
          cudaGetLastError ();
          snprintf (ctx->last_error, sizeof ctx->last_error,
                    "out of device memory for generation: %zu bytes (%.1f MiB) asked for on "
                    "device %d (%s)",
                    bytes, bytes / 1048576.0, ctx->device, cudaGetErrorString (e));
          mve_cuda_gen_free (ctx, gen);
          return e == cudaErrorMemoryAllocation ? MVE_STATUS_ALLOC_FAILED
                                                : MVE_STATUS_BACKEND_ERROR;
        }
      e = cudaMallocHost (&gen->h_out, host_bytes);
      if (e != cudaSuccess)
        {
          gen->h_out = NULL;
          cudaGetLastError ();
          snprintf (ctx->last_error, sizeof ctx->last_error,
                    "out of pinned host memory for generation: %zu bytes (%s)", host_bytes,
                    cudaGetErrorString (e));
          mve_cuda_gen_free (ctx, gen);
          return e == cudaErrorMemoryAllocation ? MVE_STATUS_ALLOC_FAILED
                                                : MVE_STATUS_BACKEND_ERROR;
        }
      gen->h_state = (int32_t *) (gen->h_out + round_up ((size_t) 1 + P));
      float *p = (float *) gen->mem;
      gen->image = p, p += round_up (image_n);
      gen->ckv = p, p += round_up ((size_t) L * Nv * 2 * C);
      gen->kv = p, p += round_up ((size_t) L * Tcap * 2 * C);
      gen->x = p, p += round_up (C);
      gen->h = p, p += round_up (C);
      gen->y = p, p += round_up (C);
      gen->qkv = p, p += round_up ((size_t) 3 * C);
      gen->fc = p, p += round_up (HC);
      gen->fcg = p, p += round_up (HC);
      gen->logits = p, p += round_up (V);
      gen->probs = p, p += round_up ((size_t) L * NH * Nv + 1);
      gen->sc = p, p += round_up ((size_t) NH * Tcap);
      gen->mean = p, p += round_up (1);
      gen->rstd = p, p += round_up (1);
      gen->out = p, p += round_up ((size_t) 1 + P);
      gen->state = (int32_t *) p;
      dm->gen = gen;
    }
  if (gen->graph != NULL && gen->params != dm->md.params)
    {
      cudaGraphExecDestroy (gen->graph);
      gen->graph = NULL;
    }
  return MVE_STATUS_OK;
}

// --- one step -----------------------------------------------------------------------------------
static mve_status
launch_matvec (struct mve_cuda_ctx *ctx, float *out, const float *x, const float *w, const float *b,
               const float *resid, int IC, int OC)
{
  mve_status st = MVE_STATUS_OK;
  int rows = GEN_MATVEC_BLOCK / 32;
  gen_matvec_kernel<<<MVE_CEIL_DIV (OC, rows), GEN_MATVEC_BLOCK, 0, ctx->stream>>> (out, x, w, b,
                                                                                   resid, IC, OC);
  MVE_CUDA_CHECK_LAUNCH (ctx);
  return MVE_STATUS_OK;
fail:
  return st;
}

#define GEN_TRY(call)                                                                        \
  do                                                                                         \
    {                                                                                        \
      st = (call);                                                                           \
      if (st != MVE_STATUS_OK)                                                               \
        goto fail;                                                                           \
    }                                                                                        \
  while (0)

// Enqueue one decoding step (gen_step of the CPU for one row) on the stream.
static mve_status
enqueue_step (struct mve_cuda_ctx *ctx, struct mve_cuda_model *dm, struct mve_cuda_gen *gen)
{
  const struct mve_config *c = &dm->md.cfg;
  const struct mve_params *p = &dm->md.p;
  const struct mve_block_params *w = &p->dec;
  const struct mve_cross_params *cw = &p->dec_ca;
  int C = c->width, HC = C * c->mlp_ratio, V = c->vocab_size, NH = c->heads, hs = C / NH;
  int L = c->decoder_layers, side = c->image_size / c->patch_size, Nv = side * side + 1;
  int Tcap = gen->Tcap;
  float scale = 1.0f / sqrtf ((float) hs);
  mve_status st = MVE_STATUS_OK;

  gen_embed_kernel<<<1, GEN_EMBED_BLOCK, 0, ctx->stream>>> (gen->x, p->tok_emb, p->d_pos,
                                                           gen->state, C);
  MVE_CUDA_CHECK_LAUNCH (ctx);
  for (int l = 0; l < L; l++)
    {
      if (c->use_csa)
        {
          GEN_TRY (mve_cuda_layernorm_forward (ctx, gen->h, gen->mean, gen->rstd, gen->x,
                                               w->ln1_w + (size_t) l * C, w->ln1_b + (size_t) l * C,
                                               1, C));
          GEN_TRY (launch_matvec (ctx, gen->qkv, gen->h, w->qkv_w + (size_t) l * 3 * C * C,
                                  w->qkv_b + (size_t) l * 3 * C, NULL, C, 3 * C));
          gen_self_attn_kernel<<<NH, GEN_ATT_BLOCK, 0, ctx->stream>>> (
            gen->y, gen->kv + (size_t) l * Tcap * 2 * C, gen->sc, gen->qkv, gen->state, C, hs, Tcap,
            scale);
          MVE_CUDA_CHECK_LAUNCH (ctx);
          GEN_TRY (launch_matvec (ctx, gen->x, gen->y, w->ao_w + (size_t) l * C * C,
                                  w->ao_b + (size_t) l * C, gen->x, C, C));
        }
      if (c->use_ca)
        {
          GEN_TRY (mve_cuda_layernorm_forward (ctx, gen->h, gen->mean, gen->rstd, gen->x,
                                               cw->ln_w + (size_t) l * C, cw->ln_b + (size_t) l * C,
                                               1, C));
          GEN_TRY (launch_matvec (ctx, gen->qkv, gen->h, cw->q_w + (size_t) l * C * C,
                                  cw->q_b + (size_t) l * C, NULL, C, C));
          gen_cross_attn_kernel<<<NH, GEN_ATT_BLOCK, 0, ctx->stream>>> (
            gen->y, gen->probs + (size_t) l * NH * Nv, gen->qkv,
            gen->ckv + (size_t) l * Nv * 2 * C, C, hs, Nv, scale);
          MVE_CUDA_CHECK_LAUNCH (ctx);
          GEN_TRY (launch_matvec (ctx, gen->x, gen->y, cw->o_w + (size_t) l * C * C,
                                  cw->o_b + (size_t) l * C, gen->x, C, C));
        }
      GEN_TRY (mve_cuda_layernorm_forward (ctx, gen->h, gen->mean, gen->rstd, gen->x,
                                           w->ln2_w + (size_t) l * C, w->ln2_b + (size_t) l * C, 1,
                                           C));
      GEN_TRY (launch_matvec (ctx, gen->fc, gen->h, w->fc_w + (size_t) l * HC * C,
                              w->fc_b + (size_t) l * HC, NULL, C, HC));
      GEN_TRY (mve_cuda_gelu_forward (ctx, gen->fcg, gen->fc, HC));
      GEN_TRY (launch_matvec (ctx, gen->x, gen->fcg, w->fp_w + (size_t) l * C * HC,
                              w->fp_b + (size_t) l * C, gen->x, HC, C));
    }
  GEN_TRY (mve_cuda_layernorm_forward (ctx, gen->h, gen->mean, gen->rstd, gen->x, p->d_lnf_w,
                                       p->d_lnf_b, 1, C));
  GEN_TRY (launch_matvec (ctx, gen->logits, gen->h, p->lm_w, p->lm_b, NULL, C, V));
  gen_finish_kernel<<<1, GEN_FINISH_BLOCK, 0, ctx->stream>>> (gen->out, gen->state, gen->logits, V,
                                                             gen->probs, L, NH, Nv, c->use_ca);
  MVE_CUDA_CHECK_LAUNCH (ctx);
  return MVE_STATUS_OK;
fail:
  return st;
}

// Capture enqueue_step into gen->graph once. A capture that fails leaves no
// graph (and no error behind): the steps then run as plain launches.
static void
capture_step (struct mve_cuda_ctx *ctx, struct mve_cuda_model *dm, struct mve_cuda_gen *gen)
{
  cudaGraph_t graph = NULL;
  cudaGraphExec_t exec = NULL;
  if (gen->graph != NULL || gen->graph_failed)
    return;
  if (cudaStreamBeginCapture (ctx->stream, cudaStreamCaptureModeThreadLocal) != cudaSuccess)
    {
      cudaGetLastError ();
      gen->graph_failed = true;
      return;
    }
  mve_status st = enqueue_step (ctx, dm, gen);
  cudaError_t e = cudaStreamEndCapture (ctx->stream, &graph);
  if (st == MVE_STATUS_OK && e == cudaSuccess && graph != NULL
      && cudaGraphInstantiate (&exec, graph, 0) == cudaSuccess)
    {
      gen->graph = exec;
      gen->params = dm->md.params;
    }
  else
    {
      gen->graph_failed = true;
      ctx->last_error[0] = '\0';
    }
  if (graph != NULL)
    cudaGraphDestroy (graph);
  cudaGetLastError (); // a failed capture leaves no sticky launch error behind
}

static mve_status
run_step (struct mve_cuda_ctx *ctx, struct mve_cuda_model *dm, struct mve_cuda_gen *gen)
{
  mve_status st = MVE_STATUS_OK;
  if (gen->graph != NULL)
    MVE_CUDA_CHECK (ctx, cudaGraphLaunch (gen->graph, ctx->stream));
  else
    GEN_TRY (enqueue_step (ctx, dm, gen));
  return MVE_STATUS_OK;
fail:
  return st;
}

// The step's token and patch attention to the pinned host buffer: the one
// wait of a step.
static mve_status
fetch_result (struct mve_cuda_ctx *ctx, struct mve_cuda_gen *gen, int P)
{
  mve_status st = MVE_STATUS_OK;
  MVE_CUDA_CHECK (ctx, cudaMemcpyAsync (gen->h_out, gen->out, sizeof (float) * (1 + (size_t) P),
                                        cudaMemcpyDeviceToHost, ctx->stream));
  MVE_CUDA_CHECK (ctx, cudaStreamSynchronize (ctx->stream));
  return MVE_STATUS_OK;
fail:
  return st;
}

// --- entry --------------------------------------------------------------------------------------
extern "C" mve_status
mve_cuda_model_generate (void *vctx, void *vdm, const struct mve_gen_desc *g)
{
  struct mve_cuda_ctx *ctx = (struct mve_cuda_ctx *) vctx;
  struct mve_cuda_model *dm = (struct mve_cuda_model *) vdm;
  mve_status st = MVE_STATUS_OK;
  MVE_CUDA_REQUIRE (ctx, dm != NULL && g != NULL && g->image != NULL && g->out_tokens != NULL
                           && g->n_out != NULL);
  {
    const struct mve_config *c = &dm->md.cfg;
    int C = c->width, L = c->decoder_layers, side = c->image_size / c->patch_size;
    int Nv = side * side + 1, P = Nv - 1;
    *g->n_out = 0;
    MVE_CUDA_REQUIRE (ctx, g->qlen >= 0 && g->qlen <= c->max_question_len
                             && (g->qlen == 0 || g->question != NULL));
    MVE_CUDA_REQUIRE (ctx, g->max_new >= 0 && g->max_new <= c->max_answer_len + 1);
    MVE_CUDA_REQUIRE (ctx, c->heads >= 1 && C % c->heads == 0);
    if (g->max_new == 0)
      return MVE_STATUS_OK;
    int n_prompt = g->qlen + 2, Tmax = g->qlen + 2 + g->max_new;
    GEN_TRY (gen_prepare (ctx, dm, Tmax));
    struct mve_cuda_gen *gen = dm->gen;

    // image tokens and each layer's cross-attention keys/values, once
    if (c->use_ca && L > 0)
      {
        const float *lnf = NULL;
        MVE_CUDA_CHECK (ctx, cudaMemcpyAsync (gen->image, g->image, sizeof (float) * gen->image_n,
                                              cudaMemcpyHostToDevice, ctx->stream));
        GEN_TRY (mve_cuda_model_encode_images (ctx, dm, gen->image, 1, &lnf));
        MVE_CUDA_REQUIRE (ctx, lnf != NULL);
        for (int l = 0; l < L; l++)
          GEN_TRY (mve_cuda_matmul_forward (ctx, gen->ckv + (size_t) l * Nv * 2 * C, lnf,
                                            dm->md.p.dec_ca.kv_w + (size_t) l * 2 * C * C,
                                            dm->md.p.dec_ca.kv_b + (size_t) l * 2 * C, Nv, C,
                                            2 * C));
      }

    // state: pos 0, no token yet, the prompt <Decode> question <sep>
    gen->h_state[GEN_S_POS] = 0;
    gen->h_state[GEN_S_TOKEN] = 0;
    gen->h_state[GEN_S_NPROMPT] = n_prompt;
    gen->h_state[GEN_S_PROMPT] = MVE_TOKEN_DECODE;
    for (int i = 0; i < g->qlen; i++)
      gen->h_state[GEN_S_PROMPT + 1 + i] = g->question[i];
    gen->h_state[GEN_S_PROMPT + 1 + g->qlen] = MVE_TOKEN_SEP;
    MVE_CUDA_CHECK (ctx, cudaMemcpyAsync (gen->state, gen->h_state,
                                          sizeof (int32_t) * (GEN_S_PROMPT + n_prompt),
                                          cudaMemcpyHostToDevice, ctx->stream));

    capture_step (ctx, dm, gen);
    for (int i = 0; i < n_prompt; i++)
      GEN_TRY (run_step (ctx, dm, gen));
    GEN_TRY (fetch_result (ctx, gen, P));

    // greedy loop: the logits of the last step give the next token
    int n = 0;
    for (; n < g->max_new; n++)
      {
        if (g->should_abort != NULL && g->should_abort (g->abort_user))
          {
            snprintf (ctx->last_error, sizeof ctx->last_error, "generation cancelled");
            st = MVE_STATUS_CANCELLED;
            break;
          }
        int32_t best = ((const int32_t *) gen->h_out)[0];
        if (best == MVE_TOKEN_EOS)
          break;
        g->out_tokens[n] = best;
        if (g->cb != NULL && !g->cb (g->user, best, gen->h_out + 1))
          {
            n++;
            break;
          }
        if (n + 1 < g->max_new)
          {
            st = run_step (ctx, dm, gen);
            if (st == MVE_STATUS_OK)
              st = fetch_result (ctx, gen, P);
            if (st != MVE_STATUS_OK)
              {
                n++;
                break;
              }
          }
      }
    *g->n_out = n;
    return st;
  }
fail:
  return st;
}
