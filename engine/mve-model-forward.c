// SPDX-License-Identifier: GPL-3.0-or-later
// mve-model-forward.c: training passes of the model: the activation arena,
// transformer stack forward/backward, embeddings, the ITC / ITM / LM losses,
// mve_model_forward and mve_model_backward.
//
// Sequences (ids from the batch, specials added here):
//   text encoder (ITC):        <cls> answer            length Te = 1 + Ta
//   image-grounded encoder:    <Encode> answer         length Te, 3B sequences:
//                              (image i, text i, 1), (image i, text neg_t[i], 0),
//                              (image neg_i[i], text i, 0)
//   decoder:                   <Decode> question <sep> answer <EOS>   Td = Tq + Ta + 3
// Padding sits at the end of each sequence and is masked as keys.
// Negatives: hardest by ITC similarity, excluding rows with the same answer
// tokens; ties go to the lower index; no candidate -> (i + 1) % B.
// mve_model_forward_random_negatives draws them uniformly from the same
// candidates with a seeded generator instead (training from scratch: the
// hardest ones are near-duplicates the ITM head cannot yet tell apart).
// Declarations sit at first use (C11, as in llm.c) rather than at block
// starts, so the project's C90-style warning is switched off for this file.
#pragma GCC diagnostic ignored "-Wdeclaration-after-statement"
#include "mve-model-impl.h"
#include "mve-backend.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ALIGN_F 16 // floats (64 bytes)
#define LM_CHUNK 256 // LM-head rows per fused loss/gradient pass
#define PATCH_CHUNK 8 // images per im2col pass (patches are rebuilt in backward)

// --- arena -------------------------------------------------------------------------------
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
plan_stack (struct planner *pl, struct mve_stack_acts *a, const struct mve_config *c, int N, int T,
            int Tk, int Nimg, int L, int has_sa, int has_ca)
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
  a->x0 = take (pl, NT * C);
  if (has_sa)
    {
      a->ln1 = take (pl, NT * C); // one layer: recomputed in backward
      a->ln1_mean = take (pl, L * NT);
      a->ln1_rstd = take (pl, L * NT);
      a->qkv = take (pl, L * NT * 3 * C);
      a->att = take (pl, L * NT * NH * T);
      a->atty = take (pl, L * NT * C);
      a->res1 = take (pl, L * NT * C);
    }
  if (has_ca)
    {
      a->lnc = take (pl, NT * C); // one layer: recomputed in backward
      a->lnc_mean = take (pl, L * NT);
      a->lnc_rstd = take (pl, L * NT);
      a->cq = take (pl, NT * C); // one layer: recomputed in backward
      a->ckv = take (pl, (size_t) L * Nimg * Tk * 2 * C);
      a->catt = take (pl, L * NT * NH * Tk);
      a->caty = take (pl, L * NT * C);
      a->res2 = take (pl, L * NT * C);
    }
  a->ln2 = take (pl, NT * C); // one layer: recomputed in backward
  a->ln2_mean = take (pl, L * NT);
  a->ln2_rstd = take (pl, L * NT);
  a->fch = take (pl, L * NT * HC);
  a->fch_gelu = take (pl, NT * HC); // one layer: recomputed in backward
  a->res3 = take (pl, L * NT * C);
  a->lnf = take (pl, NT * C);
  a->lnf_mean = take (pl, NT);
  a->lnf_rstd = take (pl, NT);
}

static size_t
plan_all (struct mve_model *m, const struct mve_dims *d, float *base)
{
  const struct mve_config *c = &m->cfg;
  struct planner pl = { base, 0 };
  size_t C = c->width, HC = (size_t) c->width * c->mlp_ratio, V = c->vocab_size, E = c->embed_dim;
  int G = c->image_size / c->patch_size, P = G * G, Nv = P + 1;
  size_t K = (size_t) c->channels * c->patch_size * c->patch_size;
  m->patches = take (&pl, (size_t) (d->B < PATCH_CHUNK ? d->B : PATCH_CHUNK) * P * K);
  m->pe = take (&pl, (size_t) d->B * P * C);
  plan_stack (&pl, &m->vis, c, d->B, Nv, 0, 0, c->vision_layers, 1, 0);
  plan_stack (&pl, &m->txt, c, d->Nt, d->Te, 0, 0, c->text_layers, c->use_sa, 0);
  plan_stack (&pl, &m->itm, c, d->Nitm, d->Te, Nv, d->B, c->text_layers, c->use_sa, c->use_ca);
  plan_stack (&pl, &m->dec, c, d->Nd, d->Td, Nv, d->B, c->decoder_layers, c->use_csa, c->use_ca);
  size_t B = d->B;
  m->img_feat = take (&pl, B * E);
  m->img_n = take (&pl, B * E);
  m->txt_feat = take (&pl, B * E);
  m->txt_n = take (&pl, B * E);
  m->img_norm = take (&pl, B);
  m->txt_norm = take (&pl, B);
  m->sim = take (&pl, B * B);
  m->itm_logits = take (&pl, (size_t) d->Nitm * 2 + 2);
  m->lm_h = take (&pl, (size_t) d->Nlm * C);
  m->lm_logits = (!d->train || m->keep_logits) ? take (&pl, (size_t) d->Nlm * V) : NULL;
  m->lm_lse = take (&pl, (size_t) d->Nlm + 1);
  m->lm_zt = take (&pl, (size_t) d->Nlm + 1);
  m->lm_gw = d->train ? take (&pl, V * C) : NULL;
  m->lm_gb = d->train ? take (&pl, V) : NULL;
  m->s_dres = m->s_dtmp = m->s_dbig = m->s_dbig2 = m->s_dkvseq = m->s_dkv = NULL;
  m->s_att = m->s_dlnf = m->s_dmem = m->s_dlogits = m->s_dlm_h = m->s_small = NULL;
  if (d->train)
    {
      size_t maxNT = 0, maxKVs = 0, maxKV = 0, maxTT = 0;
      const struct mve_stack_acts *st[4] = { &m->vis, &m->txt, &m->itm, &m->dec };
      for (int i = 0; i < 4; i++)
        {
          size_t NT = (size_t) st[i]->N * st[i]->T;
          maxNT = NT > maxNT ? NT : maxNT;
          size_t kvs = (size_t) st[i]->N * st[i]->Tk * 2 * C;
          maxKVs = kvs > maxKVs ? kvs : maxKVs;
          size_t kv = (size_t) st[i]->Nimg * st[i]->Tk * 2 * C;
          maxKV = kv > maxKV ? kv : maxKV;
          size_t tk = st[i]->Tk > st[i]->T ? st[i]->Tk : st[i]->T;
          size_t tt = (size_t) st[i]->T * tk;
          maxTT = tt > maxTT ? tt : maxTT;
        }
      size_t big = 3 * C > HC ? 3 * C : HC;
      m->s_dres = take (&pl, maxNT * C);
      m->s_dtmp = take (&pl, maxNT * C);
      m->s_dlnf = take (&pl, maxNT * C);
      m->s_dbig = take (&pl, maxNT * big);
      m->s_dbig2 = take (&pl, maxNT * big);
      m->s_dkvseq = take (&pl, maxKVs + 1);
      m->s_dkv = take (&pl, maxKV + 1);
      m->s_att = take (&pl, (size_t) (m->threads < 64 ? m->threads : 64) * maxTT + 1);
      m->s_dmem = take (&pl, B * Nv * C);
      m->s_dlogits = take (&pl, (size_t) LM_CHUNK * V);
      m->s_dlm_h = take (&pl, (size_t) d->Nlm * C);
      m->s_small = take (&pl, 2 * B * E + B * B + 2 * B * C + 2 * B * (C > E ? C : E));
    }
  return pl.off;
}

static size_t
plan_ints (struct mve_model *m, const struct mve_dims *d, int32_t *base)
{
  size_t off = 0;
#define TAKE_I(ptr, n) (ptr = base ? base + off : NULL, off += (size_t) (n) + 1)
  TAKE_I (m->tok_t, (size_t) d->Nt * d->Te);
  TAKE_I (m->len_t, d->Nt);
  TAKE_I (m->tok_i, (size_t) d->Nitm * d->Te);
  TAKE_I (m->len_i, d->Nitm);
  TAKE_I (m->img_i, d->Nitm);
  TAKE_I (m->lab_i, d->Nitm);
  TAKE_I (m->tok_d, (size_t) d->Nd * d->Td);
  TAKE_I (m->len_d, d->Nd);
  TAKE_I (m->img_d, d->Nd);
  TAKE_I (m->lm_pos, d->Nlm);
  TAKE_I (m->lm_tgt, d->Nlm);
  TAKE_I (m->neg_t, d->B);
  TAKE_I (m->neg_i, d->B);
  TAKE_I (m->vis.off, (size_t) d->B + 1);
  TAKE_I (m->txt.off, (size_t) d->Nt + 1);
  TAKE_I (m->itm.off, (size_t) d->Nitm + 1);
  TAKE_I (m->dec.off, (size_t) d->Nd + 1);
#undef TAKE_I
  return off;
}

mve_status
_mve_arena_prepare (struct mve_model *m, const struct mve_dims *d)
{
  _mve_blas_single_thread ();
  m->have_forward = 0;
  size_t need = plan_all (m, d, NULL);
  if (need > m->arena_cap)
    {
      // a quarter more than this batch needs: the next batch with slightly
      // longer sequences then reuses the arena instead of faulting in fresh
      // pages; pages never touched cost no memory
      size_t cap = (need + need / 4 + ALIGN_F - 1) / ALIGN_F * ALIGN_F;
      free (m->arena);
      m->arena = aligned_alloc (64, cap * sizeof (float));
      if (m->arena == NULL)
        m->arena = aligned_alloc (64, (cap = need) * sizeof (float));
      m->arena_cap = m->arena ? cap : 0;
      if (m->arena == NULL)
        return _mve_fail (m, NULL, 0, MVE_STATUS_ALLOC_FAILED, "out of memory for activations (%zu MB)",
                          need * sizeof (float) >> 20);
    }
  size_t ineed = plan_ints (m, d, NULL);
  if (ineed > m->ibuf_cap)
    {
      free (m->ibuf);
      m->ibuf = malloc (ineed * sizeof (int32_t));
      m->ibuf_cap = m->ibuf ? ineed : 0;
      if (m->ibuf == NULL)
        return _mve_fail (m, NULL, 0, MVE_STATUS_ALLOC_FAILED, "out of memory for token buffers");
    }
  plan_all (m, d, m->arena);
  plan_ints (m, d, m->ibuf);
  m->dims = *d;
  return MVE_STATUS_OK;
}

// --- threaded elementwise work ---------------------------------------------------------------
struct ew_job
{
  // 0 gelu forward, 1 gelu backward (accumulate), 2 layernorm forward,
  // 3 layernorm backward, 4 gelu backward (set), 5 zero out, 6 copy inp to out
  int kind;
  float *out, *mean, *rstd;
  const float *inp, *dout, *w, *b;
  const float *cmean, *crstd;
  float *partial; // kind 3: (parts, 2C) dw, db per part
  int64_t n;  // elements (gelu) or rows (layernorm)
  int C, parts;
};

static void
ew_part (void *arg, int64_t p)
{
  struct ew_job *j = arg;
  int64_t chunk = (j->n + j->parts - 1) / j->parts;
  int64_t lo = p * chunk, hi = lo + chunk < j->n ? lo + chunk : j->n;
  if (lo >= hi)
    return;
  if (j->kind == 0)
    mve_gelu_forward (j->out + lo, j->inp + lo, hi - lo);
  else if (j->kind == 1)
    mve_gelu_backward (j->out + lo, j->inp + lo, j->dout + lo, hi - lo);
  else if (j->kind == 4)
    mve_gelu_backward_set (j->out + lo, j->inp + lo, j->dout + lo, hi - lo);
  else if (j->kind == 5)
    memset (j->out + lo, 0, sizeof (float) * (hi - lo));
  else if (j->kind == 6)
    memcpy (j->out + lo, j->inp + lo, sizeof (float) * (hi - lo));
  else if (j->kind == 2)
    mve_layernorm_forward (j->out + lo * j->C, j->mean + lo, j->rstd + lo, j->inp + lo * j->C, j->w,
                           j->b, hi - lo, j->C);
  else
    {
      float *pw = j->partial + p * 2 * j->C;
      memset (pw, 0, sizeof (float) * 2 * j->C);
      mve_layernorm_backward (j->out + lo * j->C, pw, pw + j->C, j->dout + lo * j->C,
                              j->inp + lo * j->C, j->w, j->cmean + lo, j->crstd + lo, hi - lo, j->C);
    }
}

static void
ew_run (struct mve_model *m, struct ew_job *j)
{
  int64_t work = j->kind == 2 ? j->n * j->C : j->n;
  j->parts = work < 65536 ? 1 : m->threads;
  mve_parallel_for (j->parts, j->parts, ew_part, j);
}

static void
gelu_forward_mt (struct mve_model *m, float *out, const float *inp, int64_t n)
{
  struct ew_job j = { .kind = 0, .out = out, .inp = inp, .n = n };
  ew_run (m, &j);
}

// dinp = GELU'(inp) * dout (overwritten)
static void
gelu_backward_set_mt (struct mve_model *m, float *dinp, const float *inp, const float *dout,
                      int64_t n)
{
  struct ew_job j = { .kind = 4, .out = dinp, .inp = inp, .dout = dout, .n = n };
  ew_run (m, &j);
}

static void
zero_mt (struct mve_model *m, float *out, int64_t n)
{
  struct ew_job j = { .kind = 5, .out = out, .n = n };
  ew_run (m, &j);
}

static void
copy_mt (struct mve_model *m, float *out, const float *inp, int64_t n)
{
  if (out == inp)
    return;
  struct ew_job j = { .kind = 6, .out = out, .inp = inp, .n = n };
  ew_run (m, &j);
}

static void
layernorm_forward_mt (struct mve_model *m, float *out, float *mean, float *rstd, const float *inp,
                      const float *w, const float *b, int64_t N, int C)
{
  struct ew_job j = { .kind = 2, .out = out, .mean = mean, .rstd = rstd, .inp = inp, .w = w, .b = b,
                      .n = N, .C = C };
  ew_run (m, &j);
}

// dinp, dw, db accumulate as in mve_layernorm_backward; rows split over threads,
// each with its own dw/db partial sums, added in part order (deterministic).
static void
layernorm_backward_mt (struct mve_model *m, float *dinp, float *dw, float *db, const float *dout,
                       const float *inp, const float *w, const float *mean, const float *rstd,
                       int64_t N, int C)
{
  int parts = (N * C < 65536 || m->threads < 2) ? 1 : m->threads;
  float *partial = parts > 1 ? malloc (sizeof (float) * 2 * C * parts) : NULL;
  if (partial == NULL)
    {
      mve_layernorm_backward (dinp, dw, db, dout, inp, w, mean, rstd, N, C);
      return;
    }
  struct ew_job j = { .kind = 3, .out = dinp, .dout = dout, .inp = inp, .w = w, .cmean = mean,
                      .crstd = rstd, .partial = partial, .n = N, .C = C, .parts = parts };
  mve_parallel_for (parts, parts, ew_part, &j);
  for (int p = 0; p < parts; p++)
    for (int i = 0; i < C; i++)
      {
        dw[i] += partial[p * 2 * C + i];
        db[i] += partial[p * 2 * C + C + i];
      }
  free (partial);
}

// --- stacks ------------------------------------------------------------------------------
// Row offsets of the stack's sequences: len[n] rows each (NULL: all T).
static void
stack_pack (struct mve_stack_acts *a, const int32_t *len)
{
  if (a->off == NULL)
    return;
  a->off[0] = 0;
  for (int n = 0; n < a->N; n++)
    {
      int l = len ? len[n] : a->T;
      l = l < 0 ? 0 : l > a->T ? a->T : l;
      a->off[n + 1] = a->off[n] + l;
    }
  a->rows = a->off[a->N];
}

static void
residual_add (float *out, const float *a, int64_t n) // out += a
{
  for (int64_t i = 0; i < n; i++)
    out[i] += a[i];
}

static struct mve_attn_desc
sa_desc (const struct mve_config *c, const struct mve_stack_acts *a, const struct mve_stack_def *s)
{
  int C = c->width;
  return (struct mve_attn_desc) { .N = a->N, .T = a->T, .Tk = a->T, .NH = c->heads,
                                  .hs = C / c->heads, .causal = s->sa == 2, .klen = s->klen,
                                  .kv_index = NULL, .q_seq = (int64_t) a->T * 3 * C,
                                  .kv_seq = (int64_t) a->T * 3 * C, .ldq = 3 * C, .ldkv = 3 * C,
                                  .off = a->off };
}

static struct mve_attn_desc
ca_desc (const struct mve_config *c, const struct mve_stack_acts *a, const struct mve_stack_def *s)
{
  int C = c->width;
  return (struct mve_attn_desc) { .N = a->N, .T = a->T, .Tk = a->Tk, .NH = c->heads,
                                  .hs = C / c->heads, .causal = 0, .klen = NULL,
                                  .kv_index = s->img_index, .q_seq = (int64_t) a->T * C,
                                  .kv_seq = (int64_t) a->Tk * 2 * C, .ldq = C, .ldkv = 2 * C,
                                  .off = a->off };
}

static void
stack_forward (struct mve_model *m, struct mve_stack_acts *a, const struct mve_stack_def *s)
{
  const struct mve_config *c = &m->cfg;
  int C = c->width, HC = c->width * c->mlp_ratio, NH = c->heads;
  int64_t NT = (int64_t) a->N * a->T; // layer stride (rows)
  int64_t R = a->rows;                 // packed rows
  if (a->N == 0 || R == 0)
    return;
  const float *x = a->x0;
  for (int l = 0; l < a->L; l++)
    {
      if (s->sa)
        {
          const struct mve_block_params *w = s->w;
          float *ln1 = a->ln1, *qkv = a->qkv + l * NT * 3 * C;
          float *atty = a->atty + l * NT * C, *res1 = a->res1 + l * NT * C;
          layernorm_forward_mt (m, ln1, a->ln1_mean + l * NT, a->ln1_rstd + l * NT, x,
                                 w->ln1_w + l * C, w->ln1_b + l * C, R, C);
          mve_matmul_forward_mt (m->threads, qkv, ln1, w->qkv_w + (int64_t) l * 3 * C * C, w->qkv_b + l * 3 * C,
                              R, C, 3 * C);
          struct mve_attn_desc d = sa_desc (c, a, s);
          mve_attention_forward (atty, a->att + l * NT * NH * a->T, qkv, qkv + C, qkv + 2 * C, &d,
                                 m->threads);
          mve_matmul_forward_res_mt (m->threads, res1, atty, w->ao_w + (int64_t) l * C * C,
                                     w->ao_b + l * C, x, R, C, C);
          x = res1;
        }
      if (s->cw)
        {
          const struct mve_cross_params *w = s->cw;
          float *lnc = a->lnc, *cq = a->cq;
          float *ckv = a->ckv + (int64_t) l * a->Nimg * a->Tk * 2 * C;
          float *caty = a->caty + l * NT * C, *res2 = a->res2 + l * NT * C;
          layernorm_forward_mt (m, lnc, a->lnc_mean + l * NT, a->lnc_rstd + l * NT, x,
                                 w->ln_w + l * C, w->ln_b + l * C, R, C);
          mve_matmul_forward_mt (m->threads, cq, lnc, w->q_w + (int64_t) l * C * C, w->q_b + l * C, R, C, C);
          mve_matmul_forward_mt (m->threads, ckv, s->mem, w->kv_w + (int64_t) l * 2 * C * C, w->kv_b + l * 2 * C,
                              (int64_t) a->Nimg * a->Tk, C, 2 * C);
          struct mve_attn_desc d = ca_desc (c, a, s);
          mve_attention_forward (caty, a->catt + l * NT * NH * a->Tk, cq, ckv, ckv + C, &d,
                                 m->threads);
          mve_matmul_forward_res_mt (m->threads, res2, caty, w->o_w + (int64_t) l * C * C,
                                     w->o_b + l * C, x, R, C, C);
          x = res2;
        }
      const struct mve_block_params *w = s->w;
      float *ln2 = a->ln2, *fch = a->fch + l * NT * HC;
      float *fchg = a->fch_gelu, *res3 = a->res3 + l * NT * C;
      layernorm_forward_mt (m, ln2, a->ln2_mean + l * NT, a->ln2_rstd + l * NT, x, w->ln2_w + l * C,
                             w->ln2_b + l * C, R, C);
      mve_matmul_forward_mt (m->threads, fch, ln2, w->fc_w + (int64_t) l * HC * C, w->fc_b + l * HC, R, C, HC);
      gelu_forward_mt (m, fchg, fch, R * HC);
      mve_matmul_forward_res_mt (m->threads, res3, fchg, w->fp_w + (int64_t) l * C * HC,
                                 w->fp_b + l * C, x, R, HC, C);
      x = res3;
    }
  layernorm_forward_mt (m, a->lnf, a->lnf_mean, a->lnf_rstd, x, s->lnf_w, s->lnf_b, R, C);
}

// dlnf (N, T, C): gradient of the stack's output; dx0 (N, T, C) receives the
// gradient of the embeddings (written, not accumulated; it may alias dlnf).
static void
stack_backward (struct mve_model *m, float *dx0, const float *dlnf, struct mve_stack_acts *a,
                const struct mve_stack_def *s)
{
  const struct mve_config *c = &m->cfg;
  int C = c->width, HC = c->width * c->mlp_ratio, NH = c->heads;
  int64_t NT = (int64_t) a->N * a->T; // layer stride (rows)
  int64_t R = a->rows;                 // packed rows
  if (a->N == 0 || R == 0)
    return;
  float *dres = m->s_dres, *dtmp = m->s_dtmp, *dbig = m->s_dbig, *dbig2 = m->s_dbig2;
  zero_mt (m, dres, R * C);
  const float *xl = a->L > 0 ? a->res3 + (a->L - 1) * NT * C : a->x0;
  layernorm_backward_mt (m, dres, s->glnf_w, s->glnf_b, dlnf, xl, s->lnf_w, a->lnf_mean, a->lnf_rstd,
                          R, C);
  for (int l = a->L - 1; l >= 0; l--)
    {
      const float *xin = l == 0 ? a->x0 : a->res3 + (l - 1) * NT * C;
      const float *x1 = s->sa ? a->res1 + l * NT * C : xin;
      const float *x2 = s->cw ? a->res2 + l * NT * C : x1;
      // FFN
      {
        const struct mve_block_params *w = s->w;
        struct mve_block_params *g = s->gw;
        // recompute this layer's ln2 and GELU output (only one layer is kept)
        layernorm_forward_mt (m, a->ln2, a->ln2_mean + l * NT, a->ln2_rstd + l * NT, x2,
                              w->ln2_w + l * C, w->ln2_b + l * C, R, C);
        gelu_forward_mt (m, a->fch_gelu, a->fch + l * NT * HC, R * HC);
        mve_matmul_backward_mt (m->threads, dbig, 1, g->fp_w + (int64_t) l * C * HC, g->fp_b + l * C, dres,
                             a->fch_gelu, w->fp_w + (int64_t) l * C * HC, R, HC, C);
        gelu_backward_set_mt (m, dbig2, a->fch + l * NT * HC, dbig, R * HC);
        mve_matmul_backward_mt (m->threads, dtmp, 1, g->fc_w + (int64_t) l * HC * C, g->fc_b + l * HC, dbig2,
                             a->ln2, w->fc_w + (int64_t) l * HC * C, R, C, HC);
        layernorm_backward_mt (m, dres, g->ln2_w + l * C, g->ln2_b + l * C, dtmp, x2, w->ln2_w + l * C,
                                a->ln2_mean + l * NT, a->ln2_rstd + l * NT, R, C);
      }
      if (s->cw)
        {
          const struct mve_cross_params *w = s->cw;
          struct mve_cross_params *g = s->gcw;
          int64_t nkv = (int64_t) a->Nimg * a->Tk;
          float *ckv = a->ckv + (int64_t) l * nkv * 2 * C;
          // recompute this layer's lnc and queries (only one layer is kept)
          layernorm_forward_mt (m, a->lnc, a->lnc_mean + l * NT, a->lnc_rstd + l * NT, x1,
                                w->ln_w + l * C, w->ln_b + l * C, R, C);
          mve_matmul_forward_mt (m->threads, a->cq, a->lnc, w->q_w + (int64_t) l * C * C, w->q_b + l * C, R, C, C);
          mve_matmul_backward_mt (m->threads, dtmp, 1, g->o_w + (int64_t) l * C * C, g->o_b + l * C, dres,
                               a->caty + l * NT * C, w->o_w + (int64_t) l * C * C, R, C, C);
          float *dcq = dbig; // (N, T, C), written by the attention backward
          int64_t kvs = (int64_t) a->Tk * 2 * C;
          struct mve_attn_desc d = ca_desc (c, a, s);
          mve_attention_backward_set (dcq, m->s_dkvseq, m->s_dkvseq + C, kvs, 2 * C, dtmp,
                                  a->catt + l * NT * NH * a->Tk, a->cq, ckv, ckv + C,
                                  &d, m->s_att, m->threads);
          memset (m->s_dkv, 0, sizeof (float) * nkv * 2 * C);
          for (int n = 0; n < a->N; n++)
            residual_add (m->s_dkv + (int64_t) s->img_index[n] * kvs, m->s_dkvseq + n * kvs, kvs);
          mve_matmul_backward_mt (m->threads, s->dmem, 0, g->kv_w + (int64_t) l * 2 * C * C, g->kv_b + l * 2 * C,
                               m->s_dkv, s->mem, w->kv_w + (int64_t) l * 2 * C * C, nkv, C, 2 * C);
          mve_matmul_backward_mt (m->threads, dtmp, 1, g->q_w + (int64_t) l * C * C, g->q_b + l * C, dcq,
                               a->lnc, w->q_w + (int64_t) l * C * C, R, C, C);
          layernorm_backward_mt (m, dres, g->ln_w + l * C, g->ln_b + l * C, dtmp, x1, w->ln_w + l * C,
                                  a->lnc_mean + l * NT, a->lnc_rstd + l * NT, R, C);
        }
      if (s->sa)
        {
          const struct mve_block_params *w = s->w;
          struct mve_block_params *g = s->gw;
          mve_matmul_backward_mt (m->threads, dtmp, 1, g->ao_w + (int64_t) l * C * C, g->ao_b + l * C, dres,
                               a->atty + l * NT * C, w->ao_w + (int64_t) l * C * C, R, C, C);
          float *dqkv = dbig; // (N, T, 3C), written by the attention backward
          const float *qkv = a->qkv + l * NT * 3 * C;
          struct mve_attn_desc d = sa_desc (c, a, s);
          mve_attention_backward_set (dqkv, dqkv + C, dqkv + 2 * C, (int64_t) a->T * 3 * C, 3 * C, dtmp,
                                  a->att + l * NT * NH * a->T, qkv, qkv + C, qkv + 2 * C, &d,
                                  m->s_att, m->threads);
          layernorm_forward_mt (m, a->ln1, a->ln1_mean + l * NT, a->ln1_rstd + l * NT, xin,
                                w->ln1_w + l * C, w->ln1_b + l * C, R, C);
          mve_matmul_backward_mt (m->threads, dtmp, 1, g->qkv_w + (int64_t) l * 3 * C * C, g->qkv_b + l * 3 * C, dqkv,
                               a->ln1, w->qkv_w + (int64_t) l * 3 * C * C, R, C, 3 * C);
          layernorm_backward_mt (m, dres, g->ln1_w + l * C, g->ln1_b + l * C, dtmp, xin,
                                  w->ln1_w + l * C, a->ln1_mean + l * NT, a->ln1_rstd + l * NT, R, C);
        }
    }
  copy_mt (m, dx0, dres, R * C);
}

static struct mve_stack_def
def_vision (struct mve_model *m)
{
  return (struct mve_stack_def) { .w = &m->p.vis, .gw = &m->g.vis, .lnf_w = m->p.v_lnf_w,
                                  .lnf_b = m->p.v_lnf_b, .glnf_w = m->g.v_lnf_w,
                                  .glnf_b = m->g.v_lnf_b, .sa = 1 };
}

static struct mve_stack_def
def_text (struct mve_model *m, const int32_t *klen)
{
  return (struct mve_stack_def) { .w = &m->p.txt, .gw = &m->g.txt, .lnf_w = m->p.t_lnf_w,
                                  .lnf_b = m->p.t_lnf_b, .glnf_w = m->g.t_lnf_w,
                                  .glnf_b = m->g.t_lnf_b, .sa = m->cfg.use_sa ? 1 : 0,
                                  .klen = klen };
}

static struct mve_stack_def
def_itm (struct mve_model *m)
{
  struct mve_stack_def s = def_text (m, m->len_i);
  if (m->cfg.use_ca)
    {
      s.cw = &m->p.txt_ca;
      s.gcw = &m->g.txt_ca;
    }
  s.img_index = m->img_i;
  s.mem = m->vis.lnf;
  s.dmem = m->s_dmem;
  return s;
}

static struct mve_stack_def
def_decoder (struct mve_model *m)
{
  struct mve_stack_def s = { .w = &m->p.dec, .gw = &m->g.dec, .lnf_w = m->p.d_lnf_w,
                             .lnf_b = m->p.d_lnf_b, .glnf_w = m->g.d_lnf_w, .glnf_b = m->g.d_lnf_b,
                             .sa = m->cfg.use_csa ? 2 : 0, .klen = m->len_d };
  if (m->cfg.use_ca)
    {
      s.cw = &m->p.dec_ca;
      s.gcw = &m->g.dec_ca;
    }
  s.img_index = m->img_d;
  s.mem = m->vis.lnf;
  s.dmem = m->s_dmem;
  return s;
}

// --- embeddings --------------------------------------------------------------------------
// images (B, ch, H, W) -> patches (B*P, K) in conv-weight order (c, py, px)
struct im2col_job
{
  float *patches;
  const float *images;
  int ch, S, p;
};

// one image of the chunk per call
static void
im2col_one (void *arg, int64_t b)
{
  const struct im2col_job *j = arg;
  int ch = j->ch, S = j->S, p = j->p;
  float *patches = j->patches;
  const float *images = j->images;
  int G = S / p;
  int64_t K = (int64_t) ch * p * p;
  for (int gy = 0; gy < G; gy++)
    for (int gx = 0; gx < G; gx++)
      {
        float *row = patches + ((int64_t) b * G * G + gy * G + gx) * K;
        for (int c = 0; c < ch; c++)
          for (int iy = 0; iy < p; iy++)
            memcpy (row + ((int64_t) c * p + iy) * p,
                    images + (((int64_t) b * ch + c) * S + gy * p + iy) * S + gx * p,
                    sizeof (float) * p);
      }
}

static void
im2col (struct mve_model *m, float *patches, const float *images, int B, int ch, int S, int p)
{
  struct im2col_job j = { patches, images, ch, S, p };
  mve_parallel_for (m->threads, B, im2col_one, &j);
}

void
_mve_vision_forward (struct mve_model *m, const float *images)
{
  const struct mve_config *c = &m->cfg;
  int C = c->width, G = c->image_size / c->patch_size, P = G * G, Nv = P + 1;
  int K = c->channels * c->patch_size * c->patch_size, B = m->dims.B;
  m->images = images;
  for (int b0 = 0; b0 < B; b0 += PATCH_CHUNK)
    {
      int nb = B - b0 < PATCH_CHUNK ? B - b0 : PATCH_CHUNK;
      im2col (m, m->patches, images + (size_t) b0 * c->channels * c->image_size * c->image_size, nb,
              c->channels, c->image_size, c->patch_size);
      mve_matmul_forward_mt (m->threads, m->pe + (int64_t) b0 * P * C, m->patches, m->p.patch_w,
                             m->p.patch_b, (int64_t) nb * P, K, C);
    }
  for (int b = 0; b < B; b++)
    for (int t = 0; t < Nv; t++)
      {
        float *x = m->vis.x0 + ((int64_t) b * Nv + t) * C;
        const float *src = t == 0 ? m->p.v_cls : m->pe + ((int64_t) b * P + t - 1) * C;
        const float *pos = m->p.v_pos + (int64_t) t * C;
        for (int i = 0; i < C; i++)
          x[i] = src[i] + pos[i];
      }
  struct mve_stack_def s = def_vision (m);
  stack_pack (&m->vis, NULL);
  stack_forward (m, &m->vis, &s);
}

static void
vision_backward (struct mve_model *m)
{
  const struct mve_config *c = &m->cfg;
  int C = c->width, G = c->image_size / c->patch_size, P = G * G, Nv = P + 1;
  int K = c->channels * c->patch_size * c->patch_size, B = m->dims.B;
  float *dx0 = m->s_dlnf; // (B, Nv, C)
  struct mve_stack_def s = def_vision (m);
  stack_backward (m, dx0, m->s_dmem, &m->vis, &s);
  float *dpe = m->s_dtmp; // (B*P, C)
  for (int b = 0; b < B; b++)
    for (int t = 0; t < Nv; t++)
      {
        const float *d = dx0 + ((int64_t) b * Nv + t) * C;
        float *gp = m->g.v_pos + (int64_t) t * C;
        float *gs = t == 0 ? m->g.v_cls : dpe + ((int64_t) b * P + t - 1) * C;
        for (int i = 0; i < C; i++)
          gp[i] += d[i];
        if (t == 0)
          for (int i = 0; i < C; i++)
            gs[i] += d[i];
        else
          memcpy (gs, d, sizeof (float) * C);
      }
  for (int b0 = 0; b0 < B; b0 += PATCH_CHUNK)
    {
      int nb = B - b0 < PATCH_CHUNK ? B - b0 : PATCH_CHUNK;
      im2col (m, m->patches, m->images + (size_t) b0 * c->channels * c->image_size * c->image_size, nb,
              c->channels, c->image_size, c->patch_size);
      mve_matmul_backward_mt (m->threads, NULL, 0, m->g.patch_w, m->g.patch_b,
                              dpe + (int64_t) b0 * P * C, m->patches, m->p.patch_w, (int64_t) nb * P,
                              K, C);
    }
}

// Token + position embeddings of the valid tokens, packed by off (N + 1).
static void
text_embed (float *x0, const int32_t *tok, const int32_t *off, int N, int T, const float *emb,
            const float *pos, int C)
{
  for (int n = 0; n < N; n++)
    for (int t = 0; t < off[n + 1] - off[n]; t++)
      {
        float *x = x0 + ((int64_t) off[n] + t) * C;
        const float *e = emb + (int64_t) tok[n * T + t] * C, *p = pos + (int64_t) t * C;
        for (int i = 0; i < C; i++)
          x[i] = e[i] + p[i];
      }
}

static void
text_embed_backward (float *gemb, float *gpos, const float *dx0, const int32_t *tok,
                     const int32_t *off, int N, int T, int C)
{
  for (int n = 0; n < N; n++)
    for (int t = 0; t < off[n + 1] - off[n]; t++)
      {
        const float *d = dx0 + ((int64_t) off[n] + t) * C;
        float *ge = gemb + (int64_t) tok[n * T + t] * C, *gp = gpos + (int64_t) t * C;
        for (int i = 0; i < C; i++)
          {
            ge[i] += d[i];
            gp[i] += d[i];
          }
      }
}

// --- decoder + LM loss ---------------------------------------------------------------------
static void
lm_lse_row (void *arg, int64_t r)
{
  struct mve_model *m = arg;
  int V = m->cfg.vocab_size;
  float *z = m->lm_logits + r * V;
  const float *b = m->p.lm_b;
  for (int v = 0; v < V; v++)
    z[v] += b[v];
  float mx = mve_max_row (z, V);
  m->lm_lse[r] = mx + logf (mve_exp_row (NULL, z, V, mx, 1.0f));
  m->lm_zt[r] = z[m->lm_tgt[r]];
}

struct lm_grad_job
{
  struct mve_model *m;
  int64_t r0;
  float coef;
};

// Row r of the chunk at r0: bias, log-sum-exp, target logit, then in place
// the gradient (softmax - onehot) * coef.
static void
lm_train_row (void *arg, int64_t r)
{
  struct lm_grad_job *j = arg;
  struct mve_model *m = j->m;
  int V = m->cfg.vocab_size;
  int64_t R = j->r0 + r;
  float *z = m->s_dlogits + r * V;
  const float *b = m->p.lm_b;
  for (int v = 0; v < V; v++)
    z[v] += b[v];
  if (m->lm_logits != NULL)
    memcpy (m->lm_logits + R * V, z, sizeof (float) * V);
  float mx = mve_max_row (z, V);
  m->lm_zt[R] = z[m->lm_tgt[R]];
  float sum = mve_exp_row (z, z, V, mx, 1.0f); // z = exp (z - max), once
  m->lm_lse[R] = mx + logf (sum);
  float k = j->coef / sum;
  for (int v = 0; v < V; v++)
    z[v] *= k;
  z[m->lm_tgt[R]] -= j->coef;
}

float
_mve_decoder_forward (struct mve_model *m)
{
  const struct mve_config *c = &m->cfg;
  int C = c->width, V = c->vocab_size, Td = m->dims.Td;
  stack_pack (&m->dec, m->len_d);
  text_embed (m->dec.x0, m->tok_d, m->dec.off, m->dims.Nd, Td, m->p.tok_emb, m->p.d_pos, C);
  struct mve_stack_def s = def_decoder (m);
  stack_forward (m, &m->dec, &s);
  int64_t Nlm = m->dims.Nlm;
  for (int64_t r = 0; r < Nlm; r++)
    memcpy (m->lm_h + r * C, m->dec.lnf + (int64_t) m->lm_pos[r] * C, sizeof (float) * C);
  if (!m->dims.train)
    {
      mve_matmul_forward_mt (m->threads, m->lm_logits, m->lm_h, m->p.lm_w, NULL, Nlm, C, V); // bias: lm_lse_row
      mve_parallel_for (m->threads, Nlm, lm_lse_row, m);
    }
  else
    {
      // fused: logits of a chunk, their log-sum-exp and gradient, and the
      // head's weight gradient and input gradient (added in backward)
      memset (m->lm_gw, 0, sizeof (float) * V * C);
      memset (m->lm_gb, 0, sizeof (float) * V);
      float coef = Nlm > 0 ? m->cfg.w_lm / (float) Nlm : 0.0f;
      for (int64_t r0 = 0; r0 < Nlm; r0 += LM_CHUNK)
        {
          int64_t nr = Nlm - r0 < LM_CHUNK ? Nlm - r0 : LM_CHUNK;
          mve_matmul_forward_mt (m->threads, m->s_dlogits, m->lm_h + r0 * C, m->p.lm_w, NULL, nr, C, V);
          struct lm_grad_job gj = { m, r0, coef };
          mve_parallel_for (m->threads, nr, lm_train_row, &gj);
          mve_matmul_backward_mt (m->threads, m->s_dlm_h + r0 * C, 1, m->lm_gw, m->lm_gb, m->s_dlogits,
                                   m->lm_h + r0 * C, m->p.lm_w, nr, C, V);
        }
    }
  double loss = 0.0;
  for (int64_t r = 0; r < Nlm; r++)
    loss += m->lm_lse[r] - m->lm_zt[r];
  return Nlm > 0 ? (float) (loss / Nlm) : 0.0f;
}

static void
decoder_backward (struct mve_model *m, float scale)
{
  const struct mve_config *c = &m->cfg;
  int C = c->width, V = c->vocab_size, Td = m->dims.Td;
  int64_t Nlm = m->dims.Nlm;
  if (Nlm == 0 || m->dims.Nd == 0)
    return;
  (void) scale; // folded into the gradient by the fused forward
  float *dh = m->s_dlm_h;
  for (int64_t i = 0; i < (int64_t) V * C; i++)
    m->g.lm_w[i] += m->lm_gw[i];
  for (int v = 0; v < V; v++)
    m->g.lm_b[v] += m->lm_gb[v];
  float *dlnf = m->s_dlnf;
  memset (dlnf, 0, sizeof (float) * m->dec.rows * C);
  for (int64_t r = 0; r < Nlm; r++)
    residual_add (dlnf + (int64_t) m->lm_pos[r] * C, dh + r * C, C);
  struct mve_stack_def s = def_decoder (m);
  stack_backward (m, dlnf, dlnf, &m->dec, &s);
  text_embed_backward (m->g.tok_emb, m->g.d_pos, dlnf, m->tok_d, m->dec.off, m->dims.Nd, Td, C);
}

// --- ITC -------------------------------------------------------------------------------------
// out (B, E) = rows of x @ w^T + b: row i at x + i*ld, or with off at x + off[i]*C
static void
proj_rows (float *out, const float *x, int64_t ld, const int32_t *off, const float *w,
           const float *b, int B, int C, int E)
{
  for (int i = 0; i < B; i++)
    memcpy (out + (int64_t) i * E, b, sizeof (float) * E);
  if (off == NULL)
    cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, B, E, C, 1.0f, x, (int) ld, w, C, 1.0f,
                 out, E);
  else
    for (int i = 0; i < B; i++)
      cblas_sgemv (CblasRowMajor, CblasNoTrans, E, C, 1.0f, w, C, x + (int64_t) off[i] * C, 1, 1.0f,
                   out + (int64_t) i * E, 1);
}

static void
l2_normalize (float *y, float *norm, const float *x, int B, int E)
{
  for (int i = 0; i < B; i++)
    {
      double ss = 0.0;
      for (int e = 0; e < E; e++)
        ss += (double) x[i * E + e] * x[i * E + e];
      float n = (float) sqrt (ss);
      norm[i] = n;
      float d = n > 1e-12f ? n : 1e-12f;
      for (int e = 0; e < E; e++)
        y[i * E + e] = x[i * E + e] / d;
    }
}

static void
l2_normalize_backward (float *dx, const float *dy, const float *y, const float *norm, int B, int E)
{
  for (int i = 0; i < B; i++)
    {
      const float *yi = y + i * E, *dyi = dy + i * E;
      float *dxi = dx + i * E;
      if (norm[i] > 1e-12f)
        {
          float dot = 0.0f;
          for (int e = 0; e < E; e++)
            dot += yi[e] * dyi[e];
          for (int e = 0; e < E; e++)
            dxi[e] = (dyi[e] - yi[e] * dot) / norm[i];
        }
      else
        for (int e = 0; e < E; e++)
          dxi[e] = dyi[e] / 1e-12f;
    }
}

static float
itc_forward (struct mve_model *m)
{
  const struct mve_config *c = &m->cfg;
  int B = m->dims.B, C = c->width, E = c->embed_dim, Te = m->dims.Te;
  int Nv = mve_model_num_patches (m) + 1;
  stack_pack (&m->txt, m->len_t);
  text_embed (m->txt.x0, m->tok_t, m->txt.off, B, Te, m->p.tok_emb, m->p.t_pos, C);
  struct mve_stack_def s = def_text (m, m->len_t);
  stack_forward (m, &m->txt, &s);
  proj_rows (m->img_feat, m->vis.lnf, (int64_t) Nv * C, NULL, m->p.vproj_w, m->p.vproj_b, B, C, E);
  proj_rows (m->txt_feat, m->txt.lnf, C, m->txt.off, m->p.tproj_w, m->p.tproj_b, B, C, E);
  l2_normalize (m->img_n, m->img_norm, m->img_feat, B, E);
  l2_normalize (m->txt_n, m->txt_norm, m->txt_feat, B, E);
  float temp = m->p.temp[0];
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, B, B, E, 1.0f / temp, m->img_n, E, m->txt_n,
               E, 0.0f, m->sim, B);
  double li2t = 0.0, lt2i = 0.0;
  for (int i = 0; i < B; i++)
    {
      float mr = -INFINITY, mc = -INFINITY;
      for (int j = 0; j < B; j++)
        {
          mr = fmaxf (mr, m->sim[i * B + j]);
          mc = fmaxf (mc, m->sim[j * B + i]);
        }
      double sr = 0.0, sc = 0.0;
      for (int j = 0; j < B; j++)
        {
          sr += expf (m->sim[i * B + j] - mr);
          sc += expf (m->sim[j * B + i] - mc);
        }
      li2t += mr + log (sr) - m->sim[i * B + i];
      lt2i += mc + log (sc) - m->sim[i * B + i];
    }
  return (float) ((li2t + lt2i) / (2.0 * B));
}

static void
itc_backward (struct mve_model *m, float scale)
{
  const struct mve_config *c = &m->cfg;
  int B = m->dims.B, C = c->width, E = c->embed_dim, Te = m->dims.Te;
  int Nv = mve_model_num_patches (m) + 1;
  int M = C > E ? C : E;
  float *dsim = m->s_small, *dimg = dsim + B * B, *dtxt = dimg + B * E;
  float *dcls_i = dtxt + B * E, *dcls_t = dcls_i + B * C;
  float *tmp_i = dcls_t + B * C, *tmp_t = tmp_i + (size_t) B * M;
  float temp = m->p.temp[0];
  float coef = scale / (2.0f * B);
  memset (dsim, 0, sizeof (float) * B * B);
  for (int i = 0; i < B; i++)
    {
      float mr = -INFINITY, mc = -INFINITY;
      for (int j = 0; j < B; j++)
        {
          mr = fmaxf (mr, m->sim[i * B + j]);
          mc = fmaxf (mc, m->sim[j * B + i]);
        }
      float sr = 0.0f, sc = 0.0f;
      for (int j = 0; j < B; j++)
        {
          sr += expf (m->sim[i * B + j] - mr);
          sc += expf (m->sim[j * B + i] - mc);
        }
      for (int j = 0; j < B; j++)
        {
          dsim[i * B + j] += coef * expf (m->sim[i * B + j] - mr) / sr; // row i of i2t
          dsim[j * B + i] += coef * expf (m->sim[j * B + i] - mc) / sc; // row i of t2i
        }
      dsim[i * B + i] -= 2.0f * coef;
    }
  double dtemp = 0.0;
  for (int k = 0; k < B * B; k++)
    {
      dtemp += (double) dsim[k] * (-m->sim[k] / temp);
      dsim[k] /= temp; // now d(dot)
    }
  m->g.temp[0] += (float) dtemp;
  // d img_n (B, E) = dsim (B, B) @ txt_n (B, E); d txt_n = dsim^T @ img_n
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, B, E, B, 1.0f, dsim, B, m->txt_n, E, 0.0f,
               tmp_i, E);
  cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, B, E, B, 1.0f, dsim, B, m->img_n, E, 0.0f,
               tmp_t, E);
  l2_normalize_backward (dimg, tmp_i, m->img_n, m->img_norm, B, E);
  l2_normalize_backward (dtxt, tmp_t, m->txt_n, m->txt_norm, B, E);
  // projections: gather the <cls> rows, then matmul backward
  for (int i = 0; i < B; i++)
    {
      memcpy (tmp_i + (size_t) i * C, m->vis.lnf + (int64_t) i * Nv * C, sizeof (float) * C);
      memcpy (tmp_t + (size_t) i * C, m->txt.lnf + (int64_t) m->txt.off[i] * C, sizeof (float) * C);
    }
  memset (dcls_i, 0, sizeof (float) * 2 * B * C);
  mve_matmul_backward_mt (m->threads, dcls_i, 0, m->g.vproj_w, m->g.vproj_b, dimg, tmp_i, m->p.vproj_w, B, C, E);
  mve_matmul_backward_mt (m->threads, dcls_t, 0, m->g.tproj_w, m->g.tproj_b, dtxt, tmp_t, m->p.tproj_w, B, C, E);
  for (int i = 0; i < B; i++)
    residual_add (m->s_dmem + (int64_t) i * Nv * C, dcls_i + (size_t) i * C, C);
  float *dlnf = m->s_dlnf;
  memset (dlnf, 0, sizeof (float) * m->txt.rows * C);
  for (int i = 0; i < B; i++)
    memcpy (dlnf + (int64_t) m->txt.off[i] * C, dcls_t + (size_t) i * C, sizeof (float) * C);
  struct mve_stack_def s = def_text (m, m->len_t);
  stack_backward (m, dlnf, dlnf, &m->txt, &s);
  text_embed_backward (m->g.tok_emb, m->g.t_pos, dlnf, m->tok_t, m->txt.off, B, Te, C);
}

// --- ITM -------------------------------------------------------------------------------------
static int
same_answer (const struct mve_batch *b, int i, int j)
{
  if (b->answer_len[i] != b->answer_len[j])
    return 0;
  return memcmp (b->answer + (int64_t) i * b->Ta, b->answer + (int64_t) j * b->Ta,
                 sizeof (int32_t) * b->answer_len[i]) == 0;
}

static uint64_t
neg_mix (uint64_t x)
{
  x += 0x9e3779b97f4a7c15ULL; // splitmix64
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// A candidate negative for row i (j != i, another answer) drawn uniformly
// with the generator value r; -1 when there is none.
static int
random_negative (const struct mve_batch *b, int i, uint64_t r)
{
  int n = 0;
  for (int j = 0; j < b->B; j++)
    n += j != i && !same_answer (b, i, j);
  if (n == 0)
    return -1;
  int k = (int) (r % (uint64_t) n);
  for (int j = 0; j < b->B; j++)
    if (j != i && !same_answer (b, i, j) && k-- == 0)
      return j;
  return -1;
}

// seed 0: hardest negatives; otherwise uniform draws seeded by seed.
static void
mine_negatives (struct mve_model *m, const struct mve_batch *b, uint64_t seed)
{
  int B = b->B;
  if (seed != 0)
    {
      for (int i = 0; i < B; i++)
        {
          int bt = random_negative (b, i, neg_mix (seed ^ neg_mix ((uint64_t) 2 * i)));
          int bi = random_negative (b, i, neg_mix (seed ^ neg_mix ((uint64_t) 2 * i + 1)));
          m->neg_t[i] = bt >= 0 ? bt : (i + 1) % B;
          m->neg_i[i] = bi >= 0 ? bi : (i + 1) % B;
        }
      return;
    }
  for (int i = 0; i < B; i++)
    {
      int bt = -1, bi = -1;
      if (m->dims.Nt > 0)
        {
          float st = -INFINITY, si = -INFINITY;
          for (int j = 0; j < B; j++)
            {
              if (j == i || same_answer (b, i, j))
                continue;
              if (bt < 0 || m->sim[i * B + j] > st)
                st = m->sim[i * B + j], bt = j;
              if (bi < 0 || m->sim[j * B + i] > si)
                si = m->sim[j * B + i], bi = j;
            }
        }
      else
        for (int k = 1; k < B; k++)
          {
            int j = (i + k) % B;
            if (!same_answer (b, i, j))
              {
                bt = bi = j;
                break;
              }
          }
      m->neg_t[i] = bt >= 0 ? bt : (i + 1) % B;
      m->neg_i[i] = bi >= 0 ? bi : (i + 1) % B;
    }
}

void
_mve_itm_logits_forward (struct mve_model *m)
{
  int C = m->cfg.width, Te = m->dims.Te, N = m->dims.Nitm;
  stack_pack (&m->itm, m->len_i);
  text_embed (m->itm.x0, m->tok_i, m->itm.off, N, Te, m->p.tok_emb, m->p.t_pos, C);
  struct mve_stack_def s = def_itm (m);
  stack_forward (m, &m->itm, &s);
  proj_rows (m->itm_logits, m->itm.lnf, C, m->itm.off, m->p.itm_w, m->p.itm_b, N, C, 2);
}

// ITM rows from the negatives: (image i, text i, 1), (i, neg_t[i], 0), (neg_i[i], i, 0)
static void
fill_itm_rows (struct mve_model *m, const struct mve_batch *b)
{
  int B = b->B, Te = m->dims.Te, N = m->dims.Nitm;
  for (int n = 0; n < N; n++)
    {
      int img = n < B ? n : n < 2 * B ? n - B : m->neg_i[n - 2 * B];
      int txt = n < B ? n : n < 2 * B ? m->neg_t[n - B] : n - 2 * B;
      m->img_i[n] = img;
      m->lab_i[n] = n < B;
      int32_t *t = m->tok_i + (int64_t) n * Te;
      int al = b->answer_len[txt];
      t[0] = MVE_TOKEN_ENCODE;
      memcpy (t + 1, b->answer + (int64_t) txt * b->Ta, sizeof (int32_t) * al);
      for (int k = 1 + al; k < Te; k++)
        t[k] = MVE_TOKEN_PAD;
      m->len_i[n] = 1 + al;
    }
}

static float
itm_forward (struct mve_model *m, const struct mve_batch *b, uint64_t neg_seed)
{
  int N = m->dims.Nitm;
  mine_negatives (m, b, neg_seed);
  fill_itm_rows (m, b);
  _mve_itm_logits_forward (m);
  double loss = 0.0;
  for (int n = 0; n < N; n++)
    {
      float z0 = m->itm_logits[2 * n], z1 = m->itm_logits[2 * n + 1];
      float mx = fmaxf (z0, z1);
      float lse = mx + logf (expf (z0 - mx) + expf (z1 - mx));
      loss += lse - (m->lab_i[n] ? z1 : z0);
    }
  return (float) (loss / N);
}

static void
itm_backward (struct mve_model *m, float scale)
{
  const struct mve_config *c = &m->cfg;
  int C = c->width, Te = m->dims.Te, N = m->dims.Nitm;
  float *dz = m->s_dtmp;   // (N, 2)
  float *cls = m->s_dbig2; // (N, C)
  float *dcls = m->s_dbig; // (N, C)
  for (int n = 0; n < N; n++)
    {
      float z0 = m->itm_logits[2 * n], z1 = m->itm_logits[2 * n + 1];
      float mx = fmaxf (z0, z1);
      float e0 = expf (z0 - mx), e1 = expf (z1 - mx);
      float coef = scale / N;
      dz[2 * n] = coef * (e0 / (e0 + e1) - (m->lab_i[n] ? 0.0f : 1.0f));
      dz[2 * n + 1] = coef * (e1 / (e0 + e1) - (m->lab_i[n] ? 1.0f : 0.0f));
      memcpy (cls + (int64_t) n * C, m->itm.lnf + (int64_t) m->itm.off[n] * C, sizeof (float) * C);
    }
  memset (dcls, 0, sizeof (float) * N * C);
  mve_matmul_backward_mt (m->threads, dcls, 0, m->g.itm_w, m->g.itm_b, dz, cls, m->p.itm_w, N, C, 2);
  float *dlnf = m->s_dlnf;
  memset (dlnf, 0, sizeof (float) * m->itm.rows * C);
  for (int n = 0; n < N; n++)
    memcpy (dlnf + (int64_t) m->itm.off[n] * C, dcls + (int64_t) n * C, sizeof (float) * C);
  struct mve_stack_def s = def_itm (m);
  stack_backward (m, dlnf, dlnf, &m->itm, &s);
  text_embed_backward (m->g.tok_emb, m->g.t_pos, dlnf, m->tok_i, m->itm.off, N, Te, C);
}

// --- whole model -------------------------------------------------------------------------------
static mve_status
check_batch (struct mve_model *m, const struct mve_batch *b)
{
  const struct mve_config *c = &m->cfg;
  if (b == NULL || b->B < 1 || b->images == NULL || b->Tq < 0 || b->Ta < 0
      || (b->Tq > 0 && (b->question == NULL)) || b->question_len == NULL
      || (b->Ta > 0 && b->answer == NULL) || b->answer_len == NULL)
    return _mve_fail (m, NULL, 0, MVE_STATUS_INVALID_ARGUMENT, "batch is empty or incomplete");
  if (b->Tq > c->max_question_len || b->Ta > c->max_answer_len)
    return _mve_fail (m, NULL, 0, MVE_STATUS_INVALID_ARGUMENT,
                      "batch lengths %d/%d exceed the model's %d/%d", b->Tq, b->Ta,
                      c->max_question_len, c->max_answer_len);
  if (b->B > 1 << 20)
    return _mve_fail (m, NULL, 0, MVE_STATUS_INVALID_ARGUMENT, "batch too large");
  for (int i = 0; i < b->B; i++)
    {
      if (b->question_len[i] < 0 || b->question_len[i] > b->Tq || b->answer_len[i] < 0
          || b->answer_len[i] > b->Ta)
        return _mve_fail (m, NULL, 0, MVE_STATUS_INVALID_ARGUMENT, "row %d: length out of range", i);
      for (int t = 0; t < b->question_len[i]; t++)
        if (b->question[(int64_t) i * b->Tq + t] < 0 || b->question[(int64_t) i * b->Tq + t] >= c->vocab_size)
          return _mve_fail (m, NULL, 0, MVE_STATUS_INVALID_ARGUMENT, "row %d: question token out of range", i);
      for (int t = 0; t < b->answer_len[i]; t++)
        if (b->answer[(int64_t) i * b->Ta + t] < 0 || b->answer[(int64_t) i * b->Ta + t] >= c->vocab_size)
          return _mve_fail (m, NULL, 0, MVE_STATUS_INVALID_ARGUMENT, "row %d: answer token out of range", i);
    }
  return MVE_STATUS_OK;
}

void
_mve_fill_decoder_rows (struct mve_model *m, int N, const int32_t *const *q, const int32_t *qlen,
                        const int32_t *const *a, const int32_t *alen, const int32_t *img)
{
  int Td = m->dims.Td;
  int64_t r = 0, row0 = 0; // row0: the sequence's first packed row (see stack_pack)
  for (int n = 0; n < N; n++)
    {
      int32_t *t = m->tok_d + (int64_t) n * Td;
      int ql = qlen[n], al = alen[n], k = 0;
      t[k++] = MVE_TOKEN_DECODE;
      if (ql > 0)
        memcpy (t + k, q[n], sizeof (int32_t) * ql);
      k += ql;
      t[k++] = MVE_TOKEN_SEP;
      if (al > 0)
        memcpy (t + k, a[n], sizeof (int32_t) * al);
      k += al;
      t[k++] = MVE_TOKEN_EOS;
      m->len_d[n] = k;
      for (; k < Td; k++)
        t[k] = MVE_TOKEN_PAD;
      m->img_d[n] = img ? img[n] : n;
      for (int j = 0; j <= al; j++, r++)
        {
          m->lm_pos[r] = (int32_t) row0 + ql + 1 + j;
          m->lm_tgt[r] = j < al ? a[n][j] : MVE_TOKEN_EOS;
        }
      row0 += m->len_d[n];
    }
}

static struct mve_dims
batch_dims (const struct mve_model *m, const struct mve_batch *b, int train)
{
  const struct mve_config *c = &m->cfg;
  int B = b->B;
  struct mve_dims d = { .B = B, .Tq = b->Tq, .Ta = b->Ta, .Te = 1 + b->Ta, .Td = b->Tq + b->Ta + 3,
                        .Nt = c->use_itc ? B : 0, .Nd = B, .train = train };
  d.Nitm = c->use_itm ? (B >= 2 ? 3 * B : B) : 0;
  for (int i = 0; i < B; i++)
    d.Nlm += b->answer_len[i] + 1;
  return d;
}

// Text-encoder rows <cls> answer and the decoder rows of the batch.
static mve_status
fill_text_rows (struct mve_model *m, const struct mve_batch *b)
{
  int B = b->B, Te = m->dims.Te;
  for (int i = 0; i < m->dims.Nt; i++)
    {
      int32_t *t = m->tok_t + (int64_t) i * Te;
      int al = b->answer_len[i];
      t[0] = MVE_TOKEN_CLS;
      if (al > 0)
        memcpy (t + 1, b->answer + (int64_t) i * b->Ta, sizeof (int32_t) * al);
      for (int k = 1 + al; k < Te; k++)
        t[k] = MVE_TOKEN_PAD;
      m->len_t[i] = 1 + al;
    }
  const int32_t **qp = malloc (sizeof (int32_t *) * 2 * B);
  if (qp == NULL)
    return _mve_fail (m, NULL, 0, MVE_STATUS_ALLOC_FAILED, "out of memory");
  const int32_t **ap = qp + B;
  for (int i = 0; i < B; i++)
    {
      qp[i] = b->question + (int64_t) i * b->Tq;
      ap[i] = b->answer + (int64_t) i * b->Ta;
    }
  _mve_fill_decoder_rows (m, B, qp, b->question_len, ap, b->answer_len, NULL);
  free (qp);
  return MVE_STATUS_OK;
}

// The host half of a device step: every integer array of the batch (token
// rows, lengths, packed offsets of the four stacks, LM positions and targets,
// seeded random ITM negatives) in m->ibuf, and their offsets in *s. The
// float arena is not touched (the device has its own).
mve_status
_mve_device_prepare (struct mve_model *m, const struct mve_batch *b, uint64_t neg_seed,
                     struct mve_step_desc *s)
{
  if (m == NULL || s == NULL)
    return MVE_STATUS_INVALID_ARGUMENT;
  mve_status st = check_batch (m, b);
  if (st != MVE_STATUS_OK)
    return st;
  struct mve_dims d = batch_dims (m, b, 1);
  m->have_forward = 0;
  size_t ineed = plan_ints (m, &d, NULL);
  if (ineed > m->ibuf_cap)
    {
      free (m->ibuf);
      m->ibuf = malloc (ineed * sizeof (int32_t));
      m->ibuf_cap = m->ibuf ? ineed : 0;
      if (m->ibuf == NULL)
        return _mve_fail (m, NULL, 0, MVE_STATUS_ALLOC_FAILED, "out of memory for token buffers");
    }
  memset (m->ibuf, 0, ineed * sizeof (int32_t));
  const struct mve_config *c = &m->cfg;
  int Nv = mve_model_num_patches (m) + 1;
  struct mve_stack_acts *st4[4] = { &m->vis, &m->txt, &m->itm, &m->dec };
  int n4[4] = { d.B, d.Nt, d.Nitm, d.Nd }, t4[4] = { Nv, d.Te, d.Te, d.Td };
  for (int i = 0; i < 4; i++)
    {
      memset (st4[i], 0, sizeof *st4[i]); // no float activations: the device has them
      st4[i]->N = n4[i];
      st4[i]->T = t4[i];
    }
  plan_ints (m, &d, m->ibuf);
  m->dims = d;
  st = fill_text_rows (m, b);
  if (st != MVE_STATUS_OK)
    return st;
  if (d.Nitm > 0)
    {
      mine_negatives (m, b, neg_seed != 0 ? neg_seed : 0x6e656773ULL);
      fill_itm_rows (m, b);
    }
  stack_pack (&m->vis, NULL);
  stack_pack (&m->txt, m->len_t);
  stack_pack (&m->itm, m->len_i);
  stack_pack (&m->dec, m->len_d);
  (void) c;
  memset (s, 0, sizeof *s);
  s->B = d.B;
  s->Tq = d.Tq;
  s->Ta = d.Ta;
  s->Te = d.Te;
  s->Td = d.Td;
  s->Nt = d.Nt;
  s->Nitm = d.Nitm;
  s->Nd = d.Nd;
  s->Nlm = d.Nlm;
  s->images = b->images;
  s->ints = m->ibuf;
  s->n_ints = (int64_t) ineed;
#define OFF(x) ((int64_t) ((x) - m->ibuf))
  s->tok_t = OFF (m->tok_t);
  s->len_t = OFF (m->len_t);
  s->tok_i = OFF (m->tok_i);
  s->len_i = OFF (m->len_i);
  s->img_i = OFF (m->img_i);
  s->lab_i = OFF (m->lab_i);
  s->tok_d = OFF (m->tok_d);
  s->len_d = OFF (m->len_d);
  s->img_d = OFF (m->img_d);
  s->lm_pos = OFF (m->lm_pos);
  s->lm_tgt = OFF (m->lm_tgt);
  s->off_vis = OFF (m->vis.off);
  s->off_txt = OFF (m->txt.off);
  s->off_itm = OFF (m->itm.off);
  s->off_dec = OFF (m->dec.off);
#undef OFF
  return MVE_STATUS_OK;
}

static mve_status model_forward (mve_model_t m, const struct mve_batch *b, struct mve_losses *out,
                                 int train, uint64_t neg_seed);

mve_status
mve_model_forward (mve_model_t m, const struct mve_batch *b, struct mve_losses *out)
{
  return model_forward (m, b, out, 1, 0);
}

mve_status
mve_model_forward_random_negatives (mve_model_t m, const struct mve_batch *b, uint64_t seed,
                                    struct mve_losses *out)
{
  // seed 0 means hardest mining inside: map it to another fixed value
  return model_forward (m, b, out, 1, seed != 0 ? seed : 0x6e656773ULL);
}

mve_status
mve_model_evaluate (mve_model_t m, const struct mve_batch *b, struct mve_losses *out)
{
  return model_forward (m, b, out, 0, 0);
}

static mve_status
model_forward (mve_model_t m, const struct mve_batch *b, struct mve_losses *out, int train,
               uint64_t neg_seed)
{
  if (m == NULL)
    return MVE_STATUS_INVALID_ARGUMENT;
  mve_status st = check_batch (m, b);
  if (st != MVE_STATUS_OK)
    return st;
  const struct mve_config *c = &m->cfg;
  struct mve_dims d = batch_dims (m, b, train);
  st = _mve_arena_prepare (m, &d);
  if (st != MVE_STATUS_OK)
    return st;
  // BLIP clamps the temperature in place before each forward
  if (!(m->p.temp[0] >= 0.001f))
    m->p.temp[0] = 0.001f;
  if (m->p.temp[0] > 0.5f)
    m->p.temp[0] = 0.5f;
  st = fill_text_rows (m, b);
  if (st != MVE_STATUS_OK)
    return st;
  _mve_vision_forward (m, b->images);
  struct mve_losses L = { 0 };
  if (d.Nt > 0)
    L.itc = itc_forward (m);
  if (d.Nitm > 0)
    L.itm = itm_forward (m, b, neg_seed);
  L.lm = _mve_decoder_forward (m);
  L.total = (d.Nt > 0 ? c->w_itc * L.itc : 0.0f) + (d.Nitm > 0 ? c->w_itm * L.itm : 0.0f)
            + c->w_lm * L.lm;
  m->losses = L;
  if (out)
    *out = L;
  m->have_forward = train;
  if (!isfinite (L.total))
    return _mve_fail (m, NULL, 0, MVE_STATUS_ERROR, "loss is not finite");
  return MVE_STATUS_OK;
}

mve_status
mve_model_backward (mve_model_t m)
{
  if (m == NULL)
    return MVE_STATUS_INVALID_ARGUMENT;
  if (!m->have_forward || !m->dims.train)
    return _mve_fail (m, NULL, 0, MVE_STATUS_INVALID_ARGUMENT, "backward without a training forward");
  _mve_blas_single_thread ();
  const struct mve_config *c = &m->cfg;
  int Nv = mve_model_num_patches (m) + 1;
  memset (m->s_dmem, 0, sizeof (float) * m->dims.B * Nv * c->width);
  decoder_backward (m, c->w_lm);
  if (m->dims.Nitm > 0)
    itm_backward (m, c->w_itm);
  if (m->dims.Nt > 0)
    itc_backward (m, c->w_itc);
  vision_backward (m);
  return MVE_STATUS_OK;
}

const float *
mve_model_lm_logits (mve_model_t m, int64_t *n)
{
  *n = m->dims.Nlm;
  return m->lm_logits;
}

const float *
mve_model_itm_logits (mve_model_t m, int64_t *n)
{
  *n = m->dims.Nitm;
  return m->itm_logits;
}

const float *
mve_model_itc_sim (mve_model_t m, int64_t *n)
{
  *n = m->dims.Nt;
  return m->sim;
}
