// SPDX-License-Identifier: GPL-3.0-or-later
// mve-model-generate.c: inference: greedy and beam-search generation with a
// key/value cache, teacher-forced decoder log-probabilities, answer ranking
// and ITM scores.
//
// The cached decoder runs the same layer functions as training, one row per
// live hypothesis (R rows), keeping per layer the keys/values of every
// position generated so far and the cross-attention keys/values of the image.
// Legend: R rows (beams), L decoder layers, Tmax cached positions.
// Declarations sit at first use (C11, as in llm.c) rather than at block
// starts, so the project's C90-style warning is switched off for this file.
#pragma GCC diagnostic ignored "-Wdeclaration-after-statement"
#include "mve-model-impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static mve_status
check_tokens (struct mve_model *m, char *err, size_t errn, const int32_t *t, int32_t n, int32_t max,
              const char *what)
{
  if (n < 0 || n > max || (n > 0 && t == NULL))
    return _mve_fail (m, err, errn, MVE_STATUS_INVALID_ARGUMENT, "%s length %d out of range [0, %d]",
                      what, n, max);
  for (int32_t i = 0; i < n; i++)
    if (t[i] < 0 || t[i] >= m->cfg.vocab_size)
      return _mve_fail (m, err, errn, MVE_STATUS_INVALID_ARGUMENT, "%s token %d out of range", what,
                        t[i]);
  return MVE_STATUS_OK;
}

static bool
aborted (struct mve_model *m)
{
  return m->should_abort != NULL && m->should_abort (m->abort_user);
}

// --- cached decoder ---------------------------------------------------------------------------
struct gen
{
  struct mve_model *m;
  int R, Tmax, Nv, L;
  float *ckv;         // (L, Nv, 2C) image keys/values per layer
  float *kv, *kv2;    // (R, L, Tmax, 2C) self-attention cache (and reorder target)
  float *x, *h, *y;   // (R, C)
  float *qkv;         // (R, 3C)
  float *fc, *fcg;    // (R, HC)
  float *logits;      // (R, V)
  float *attn;        // (R, P) patch cross-attention of the last step
  float *mean, *rstd; // (R)
  float *sc;          // (Tmax + Nv) scores
  float *mem;         // one allocation
};

static void
gen_free (struct gen *g)
{
  free (g->mem);
  g->mem = NULL;
}

static mve_status
gen_init (struct gen *g, struct mve_model *m, const float *image, int R, int Tmax, char *err,
          size_t errn)
{
  const struct mve_config *c = &m->cfg;
  int C = c->width, HC = C * c->mlp_ratio, V = c->vocab_size, L = c->decoder_layers;
  int Nv = mve_model_num_patches (m) + 1, P = Nv - 1;
  memset (g, 0, sizeof *g);
  g->m = m;
  g->R = R;
  g->Tmax = Tmax;
  g->Nv = Nv;
  g->L = L;
  size_t kvn = (size_t) R * L * Tmax * 2 * C;
  size_t total = (size_t) L * Nv * 2 * C + 2 * kvn + (size_t) R * (3 * C + 3 * C + 2 * HC + V + P + 2)
                 + Tmax + Nv + 64;
  g->mem = malloc (total * sizeof (float));
  if (g->mem == NULL)
    return _mve_fail (m, err, errn, MVE_STATUS_ALLOC_FAILED, "out of memory for generation");
  float *p = g->mem;
  g->ckv = p, p += (size_t) L * Nv * 2 * C;
  g->kv = p, p += kvn;
  g->kv2 = p, p += kvn;
  g->x = p, p += (size_t) R * C;
  g->h = p, p += (size_t) R * C;
  g->y = p, p += (size_t) R * C;
  g->qkv = p, p += (size_t) R * 3 * C;
  g->fc = p, p += (size_t) R * HC;
  g->fcg = p, p += (size_t) R * HC;
  g->logits = p, p += (size_t) R * V;
  g->attn = p, p += (size_t) R * P;
  g->mean = p, p += R;
  g->rstd = p, p += R;
  g->sc = p;
  // image encoder (B = 1) through the training code, then the cross-attention keys/values
  struct mve_dims d = { .B = 1 };
  mve_status st = _mve_arena_prepare (m, &d);
  if (st != MVE_STATUS_OK)
    {
      gen_free (g);
      return _mve_fail (m, err, errn, st, "%s", m->last_error);
    }
  _mve_vision_forward (m, image);
  if (c->use_ca)
    for (int l = 0; l < L; l++)
      mve_matmul_forward_mt (m->threads, g->ckv + (size_t) l * Nv * 2 * C, m->vis.lnf,
                          m->p.dec_ca.kv_w + (size_t) l * 2 * C * C, m->p.dec_ca.kv_b + (size_t) l * 2 * C,
                          Nv, C, 2 * C);
  return MVE_STATUS_OK;
}

static void
softmax_inplace (float *s, int n)
{
  float mx = mve_max_row (s, n);
  float inv = 1.0f / mve_exp_row (s, s, n, mx, 1.0f);
  for (int i = 0; i < n; i++)
    s[i] *= inv;
}

// q . k over a head (hs floats) in 8 fixed lanes, so that it vectorizes
static inline float
head_dot (const float *restrict q, const float *restrict k, int hs)
{
  float acc[8] = { 0 };
  int i = 0;
  for (; i + 8 <= hs; i += 8)
    for (int j = 0; j < 8; j++)
      acc[j] += q[i + j] * k[i + j];
  for (; i < hs; i++)
    acc[0] += q[i] * k[i];
  return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

// One position for R rows: tokens (R) at position pos; fills logits and attn.
static void
gen_step (struct gen *g, const int32_t *tokens, int pos)
{
  struct mve_model *m = g->m;
  const struct mve_config *c = &m->cfg;
  int C = c->width, HC = C * c->mlp_ratio, V = c->vocab_size, NH = c->heads, hs = C / NH;
  int R = g->R, Nv = g->Nv, P = Nv - 1, L = g->L, Tmax = g->Tmax;
  float scale = 1.0f / sqrtf ((float) hs);
  for (int r = 0; r < R; r++)
    for (int i = 0; i < C; i++)
      g->x[r * C + i] = m->p.tok_emb[(size_t) tokens[r] * C + i] + m->p.d_pos[(size_t) pos * C + i];
  memset (g->attn, 0, sizeof (float) * R * P);
  const struct mve_block_params *w = &m->p.dec;
  const struct mve_cross_params *cw = &m->p.dec_ca;
  for (int l = 0; l < L; l++)
    {
      if (c->use_csa)
        {
          mve_layernorm_forward (g->h, g->mean, g->rstd, g->x, w->ln1_w + l * C, w->ln1_b + l * C, R, C);
          mve_matmul_forward_mt (m->threads, g->qkv, g->h, w->qkv_w + (size_t) l * 3 * C * C, w->qkv_b + l * 3 * C,
                              R, C, 3 * C);
          for (int r = 0; r < R; r++)
            {
              float *cache = g->kv + (((size_t) r * L + l) * Tmax) * 2 * C;
              memcpy (cache + (size_t) pos * 2 * C, g->qkv + (size_t) r * 3 * C + C, sizeof (float) * 2 * C);
              for (int hd = 0; hd < NH; hd++)
                {
                  const float *q = g->qkv + (size_t) r * 3 * C + hd * hs;
                  for (int t = 0; t <= pos; t++)
                    {
                      const float *k = cache + (size_t) t * 2 * C + hd * hs;
                      g->sc[t] = head_dot (q, k, hs) * scale;
                    }
                  softmax_inplace (g->sc, pos + 1);
                  float *y = g->y + (size_t) r * C + hd * hs;
                  memset (y, 0, sizeof (float) * hs);
                  for (int t = 0; t <= pos; t++)
                    {
                      const float *v = cache + (size_t) t * 2 * C + C + hd * hs;
                      for (int i = 0; i < hs; i++)
                        y[i] += g->sc[t] * v[i];
                    }
                }
            }
          mve_matmul_forward_mt (m->threads, g->h, g->y, w->ao_w + (size_t) l * C * C, w->ao_b + l * C, R, C, C);
          for (int i = 0; i < R * C; i++)
            g->x[i] += g->h[i];
        }
      if (c->use_ca)
        {
          mve_layernorm_forward (g->h, g->mean, g->rstd, g->x, cw->ln_w + l * C, cw->ln_b + l * C, R, C);
          mve_matmul_forward_mt (m->threads, g->qkv, g->h, cw->q_w + (size_t) l * C * C, cw->q_b + l * C, R, C, C);
          const float *ckv = g->ckv + (size_t) l * Nv * 2 * C;
          for (int r = 0; r < R; r++)
            for (int hd = 0; hd < NH; hd++)
              {
                const float *q = g->qkv + (size_t) r * C + hd * hs;
                for (int t = 0; t < Nv; t++)
                  {
                    const float *k = ckv + (size_t) t * 2 * C + hd * hs;
                    g->sc[t] = head_dot (q, k, hs) * scale;
                  }
                softmax_inplace (g->sc, Nv);
                float *y = g->y + (size_t) r * C + hd * hs;
                memset (y, 0, sizeof (float) * hs);
                for (int t = 0; t < Nv; t++)
                  {
                    const float *v = ckv + (size_t) t * 2 * C + C + hd * hs;
                    for (int i = 0; i < hs; i++)
                      y[i] += g->sc[t] * v[i];
                  }
                for (int t = 1; t < Nv; t++)
                  g->attn[(size_t) r * P + t - 1] += g->sc[t] / (float) (NH * L);
              }
          mve_matmul_forward_mt (m->threads, g->h, g->y, cw->o_w + (size_t) l * C * C, cw->o_b + l * C, R, C, C);
          for (int i = 0; i < R * C; i++)
            g->x[i] += g->h[i];
        }
      mve_layernorm_forward (g->h, g->mean, g->rstd, g->x, w->ln2_w + l * C, w->ln2_b + l * C, R, C);
      mve_matmul_forward_mt (m->threads, g->fc, g->h, w->fc_w + (size_t) l * HC * C, w->fc_b + l * HC, R, C, HC);
      mve_gelu_forward (g->fcg, g->fc, (int64_t) R * HC);
      mve_matmul_forward_mt (m->threads, g->h, g->fcg, w->fp_w + (size_t) l * C * HC, w->fp_b + l * C, R, HC, C);
      for (int i = 0; i < R * C; i++)
        g->x[i] += g->h[i];
    }
  mve_layernorm_forward (g->h, g->mean, g->rstd, g->x, m->p.d_lnf_w, m->p.d_lnf_b, R, C);
  mve_matmul_forward_mt (m->threads, g->logits, g->h, m->p.lm_w, m->p.lm_b, R, C, V);
}

// Run <Decode> question <sep> through row 0; returns the next position.
static int
gen_prompt (struct gen *g, const int32_t *question, int32_t qlen)
{
  int pos = 0;
  int32_t t = MVE_TOKEN_DECODE;
  gen_step (g, &t, pos++);
  for (int32_t i = 0; i < qlen; i++)
    gen_step (g, &question[i], pos++);
  t = MVE_TOKEN_SEP;
  gen_step (g, &t, pos++);
  return pos;
}

static float
log_softmax_at (const float *z, int V, int32_t k, float *lse_out)
{
  float mx = mve_max_row (z, V);
  float lse = mx + logf (mve_exp_row (NULL, z, V, mx, 1.0f));
  if (lse_out)
    *lse_out = lse;
  return k >= 0 ? z[k] - lse : 0.0f;
}

// --- beam search ------------------------------------------------------------------------------
struct cand
{
  float score;
  int beam;
  int32_t token;
};

static int
cand_cmp (const void *a, const void *b)
{
  const struct cand *x = a, *y = b;
  if (x->score != y->score)
    return x->score > y->score ? -1 : 1;
  if (x->beam != y->beam)
    return x->beam - y->beam;
  return x->token - y->token;
}

static mve_status
beam_search (struct gen *g, int k, int start_pos, int32_t max_new, int32_t *out_tokens,
             int32_t *out_len, float *out_attn, char *err, size_t errn)
{
  struct mve_model *m = g->m;
  int V = m->cfg.vocab_size, P = g->Nv - 1, C = m->cfg.width, L = g->L;
  size_t per_beam = (size_t) L * g->Tmax * 2 * C, S = (size_t) max_new + 1;
  int32_t *seqbuf = calloc (2 * k * S, sizeof (int32_t));
  float *attbuf = calloc (2 * k * S * P + 1, sizeof (float));
  float *scorebuf = calloc ((size_t) 2 * k, sizeof (float));
  int32_t *best = calloc (S, sizeof (int32_t));
  float *best_att = calloc (S * P + 1, sizeof (float));
  struct cand *cands = malloc (sizeof (struct cand) * (size_t) k * V);
  int32_t *tok = calloc ((size_t) k, sizeof (int32_t));
  mve_status st = MVE_STATUS_OK;
  if (!seqbuf || !attbuf || !scorebuf || !best || !best_att || !cands || !tok)
    {
      st = _mve_fail (m, err, errn, MVE_STATUS_ALLOC_FAILED, "out of memory for beam search");
      goto out;
    }
  int cur = 0, live = 1, ntok = 0, best_len = -1;
  float best_score = -INFINITY;
  // the logits of the prompt's last position are in row 0
  for (int step = 0; step < max_new; step++)
    {
      if (aborted (m))
        {
          st = _mve_fail (m, err, errn, MVE_STATUS_CANCELLED, "generation cancelled");
          goto out;
        }
      int32_t *seq = seqbuf + cur * k * S, *seqn = seqbuf + (1 - cur) * k * S;
      float *att = attbuf + cur * k * S * P, *attn = attbuf + (1 - cur) * k * S * P;
      float *score = scorebuf + cur * k, *scoren = scorebuf + (1 - cur) * k;
      int nc = 0;
      for (int r = 0; r < live; r++)
        {
          float lse;
          log_softmax_at (g->logits + (size_t) r * V, V, -1, &lse);
          for (int v = 0; v < V; v++)
            cands[nc++] = (struct cand) { score[r] + g->logits[(size_t) r * V + v] - lse, r, v };
        }
      qsort (cands, nc, sizeof *cands, cand_cmp);
      int nl = 0;
      for (int i = 0; i < nc && nl < k; i++)
        {
          const struct cand *cd = &cands[i];
          if (cd->token == MVE_TOKEN_EOS)
            {
              // a hypothesis ends only when <EOS> ranks among the top k
              if (i < k && cd->score > best_score)
                {
                  best_score = cd->score;
                  best_len = step;
                  memcpy (best, seq + cd->beam * S, sizeof (int32_t) * step);
                  memcpy (best_att, att + cd->beam * S * P, sizeof (float) * step * P);
                }
              continue;
            }
          memcpy (seqn + nl * S, seq + cd->beam * S, sizeof (int32_t) * step);
          seqn[nl * S + step] = cd->token;
          memcpy (attn + nl * S * P, att + cd->beam * S * P, sizeof (float) * step * P);
          memcpy (attn + (nl * S + step) * P, g->attn + (size_t) cd->beam * P, sizeof (float) * P);
          memcpy (g->kv2 + nl * per_beam, g->kv + cd->beam * per_beam, sizeof (float) * per_beam);
          scoren[nl] = cd->score;
          tok[nl] = cd->token;
          nl++;
        }
      cur = 1 - cur;
      float *t = g->kv;
      g->kv = g->kv2;
      g->kv2 = t;
      live = nl;
      ntok = step + 1;
      if (live == 0 || (best_len >= 0 && best_score >= scoren[0]) || step + 1 == max_new)
        break;
      int R = g->R;
      g->R = live;
      gen_step (g, tok, start_pos + step);
      g->R = R;
    }
  {
    int32_t *seq = seqbuf + cur * k * S;
    float *att = attbuf + cur * k * S * P, *score = scorebuf + cur * k;
    if (live > 0 && (best_len < 0 || score[0] > best_score))
      {
        best_len = ntok;
        memcpy (best, seq, sizeof (int32_t) * ntok);
        memcpy (best_att, att, sizeof (float) * ntok * P);
      }
  }
  if (best_len < 0)
    best_len = 0;
  memcpy (out_tokens, best, sizeof (int32_t) * best_len);
  if (out_attn)
    memcpy (out_attn, best_att, sizeof (float) * best_len * P);
  *out_len = best_len;
out:
  free (seqbuf);
  free (attbuf);
  free (scorebuf);
  free (best);
  free (best_att);
  free (cands);
  free (tok);
  return st;
}

// --- public inference -----------------------------------------------------------------------------
mve_status
mve_model_generate (mve_model_t m, const float *image, const int32_t *question, int32_t qlen,
                    int32_t max_new, int32_t beam_width, mve_token_cb cb, void *user,
                    int32_t *out_tokens, int32_t *out_len, float *out_attn, char *err, size_t errn)
{
  if (m == NULL || image == NULL || out_tokens == NULL || out_len == NULL)
    return mve_error_set (err, errn, MVE_STATUS_INVALID_ARGUMENT, "generate: missing argument");
  *out_len = 0;
  const struct mve_config *c = &m->cfg;
  mve_status st = check_tokens (m, err, errn, question, qlen, c->max_question_len, "question");
  if (st != MVE_STATUS_OK)
    return st;
  if (max_new < 0 || max_new > c->max_answer_len + 1)
    return _mve_fail (m, err, errn, MVE_STATUS_INVALID_ARGUMENT,
                      "max_new %d out of range [0, %d]", max_new, c->max_answer_len + 1);
  if (beam_width < 1 || beam_width > 64)
    return _mve_fail (m, err, errn, MVE_STATUS_INVALID_ARGUMENT, "beam width %d out of range [1, 64]",
                      beam_width);
  if (max_new == 0)
    return MVE_STATUS_OK;
  int Tmax = qlen + 2 + max_new;
  struct gen g;
  st = gen_init (&g, m, image, beam_width, Tmax, err, errn);
  if (st != MVE_STATUS_OK)
    return st;
  int P = g.Nv - 1, V = c->vocab_size;
  int R = g.R;
  g.R = 1;
  int pos = gen_prompt (&g, question, qlen);
  g.R = R;
  if (beam_width == 1)
    {
      int n = 0;
      for (; n < max_new; n++)
        {
          if (aborted (m))
            {
              st = _mve_fail (m, err, errn, MVE_STATUS_CANCELLED, "generation cancelled");
              break;
            }
          int32_t best = 0;
          for (int v = 1; v < V; v++)
            if (g.logits[v] > g.logits[best])
              best = v;
          if (best == MVE_TOKEN_EOS)
            break;
          out_tokens[n] = best;
          if (out_attn)
            memcpy (out_attn + (size_t) n * P, g.attn, sizeof (float) * P);
          if (cb != NULL && !cb (user, best, g.attn))
            {
              n++;
              break;
            }
          if (n + 1 < max_new)
            gen_step (&g, &best, pos++);
        }
      *out_len = n;
    }
  else
    {
      st = beam_search (&g, beam_width, pos, max_new, out_tokens, out_len, out_attn, err, errn);
      if (st == MVE_STATUS_OK && cb != NULL)
        for (int i = 0; i < *out_len; i++)
          {
            const float *a = out_attn ? out_attn + (size_t) i * P : NULL;
            float zero_att[1] = { 0 };
            if (!cb (user, out_tokens[i], a ? a : zero_att))
              break;
          }
    }
  gen_free (&g);
  return st;
}

// Teacher-forced decoder over n candidate answers for one image, no cache.
static mve_status
decoder_full (struct mve_model *m, const float *image, const int32_t *question, int32_t qlen,
              const int32_t *const *answers, const int32_t *answer_lens, int32_t n, char *err,
              size_t errn)
{
  const struct mve_config *c = &m->cfg;
  mve_status st = check_tokens (m, err, errn, question, qlen, c->max_question_len, "question");
  if (st != MVE_STATUS_OK)
    return st;
  if (n < 1 || n > 1 << 16 || answers == NULL || answer_lens == NULL || image == NULL)
    return _mve_fail (m, err, errn, MVE_STATUS_INVALID_ARGUMENT, "no candidate answers");
  int Ta = 0;
  struct mve_dims d = { .B = 1, .Tq = qlen, .Nd = n };
  for (int i = 0; i < n; i++)
    {
      st = check_tokens (m, err, errn, answers[i], answer_lens[i], c->max_answer_len, "answer");
      if (st != MVE_STATUS_OK)
        return st;
      Ta = answer_lens[i] > Ta ? answer_lens[i] : Ta;
      d.Nlm += answer_lens[i] + 1;
    }
  d.Ta = Ta;
  d.Te = 1 + Ta;
  d.Td = qlen + Ta + 3;
  st = _mve_arena_prepare (m, &d);
  if (st != MVE_STATUS_OK)
    return _mve_fail (m, err, errn, st, "%s", m->last_error);
  const int32_t **qp = malloc (sizeof (int32_t *) * n);
  int32_t *ql = malloc (sizeof (int32_t) * n), *img = calloc (n, sizeof (int32_t));
  if (qp == NULL || ql == NULL || img == NULL)
    {
      free (qp);
      free (ql);
      free (img);
      return _mve_fail (m, err, errn, MVE_STATUS_ALLOC_FAILED, "out of memory");
    }
  for (int i = 0; i < n; i++)
    {
      qp[i] = question;
      ql[i] = qlen;
    }
  _mve_fill_decoder_rows (m, n, qp, ql, answers, answer_lens, img);
  free (qp);
  free (ql);
  free (img);
  _mve_vision_forward (m, image);
  _mve_decoder_forward (m);
  return MVE_STATUS_OK;
}

mve_status
mve_model_decoder_logprobs (mve_model_t m, const float *image, const int32_t *question, int32_t qlen,
                            const int32_t *answer, int32_t alen, float *logprobs, char *err,
                            size_t errn)
{
  if (m == NULL || logprobs == NULL)
    return mve_error_set (err, errn, MVE_STATUS_INVALID_ARGUMENT, "missing argument");
  const int32_t *ans[1] = { answer };
  mve_status st = decoder_full (m, image, question, qlen, ans, &alen, 1, err, errn);
  if (st != MVE_STATUS_OK)
    return st;
  int V = m->cfg.vocab_size;
  for (int r = 0; r <= alen; r++)
    for (int v = 0; v < V; v++)
      logprobs[(size_t) r * V + v] = m->lm_logits[(size_t) r * V + v] - m->lm_lse[r];
  return MVE_STATUS_OK;
}

mve_status
mve_model_score_answers (mve_model_t m, const float *image, const int32_t *question, int32_t qlen,
                         const int32_t *const *answers, const int32_t *answer_lens, int32_t n,
                         float *out_logprob, char *err, size_t errn)
{
  if (m == NULL || out_logprob == NULL)
    return mve_error_set (err, errn, MVE_STATUS_INVALID_ARGUMENT, "missing argument");
  mve_status st = decoder_full (m, image, question, qlen, answers, answer_lens, n, err, errn);
  if (st != MVE_STATUS_OK)
    return st;
  int64_t r = 0;
  for (int i = 0; i < n; i++)
    {
      double s = 0.0;
      for (int j = 0; j <= answer_lens[i]; j++, r++)
        s += m->lm_logits[r * m->cfg.vocab_size + m->lm_tgt[r]] - m->lm_lse[r];
      out_logprob[i] = (float) s;
    }
  return MVE_STATUS_OK;
}

mve_status
mve_model_itm_scores (mve_model_t m, const float *image, const int32_t *const *texts,
                      const int32_t *text_lens, int32_t n, float *out_prob, char *err, size_t errn)
{
  if (m == NULL || image == NULL || texts == NULL || text_lens == NULL || out_prob == NULL || n < 1
      || n > 1 << 16)
    return mve_error_set (err, errn, MVE_STATUS_INVALID_ARGUMENT, "itm: missing argument");
  const struct mve_config *c = &m->cfg;
  int Ta = 0;
  for (int i = 0; i < n; i++)
    {
      mve_status st = check_tokens (m, err, errn, texts[i], text_lens[i], c->max_answer_len, "text");
      if (st != MVE_STATUS_OK)
        return st;
      Ta = text_lens[i] > Ta ? text_lens[i] : Ta;
    }
  struct mve_dims d = { .B = 1, .Ta = Ta, .Te = 1 + Ta, .Td = Ta + 3, .Nitm = n };
  mve_status st = _mve_arena_prepare (m, &d);
  if (st != MVE_STATUS_OK)
    return _mve_fail (m, err, errn, st, "%s", m->last_error);
  int Te = d.Te;
  for (int i = 0; i < n; i++)
    {
      int32_t *t = m->tok_i + (size_t) i * Te;
      t[0] = MVE_TOKEN_ENCODE;
      if (text_lens[i] > 0)
        memcpy (t + 1, texts[i], sizeof (int32_t) * text_lens[i]);
      for (int k = 1 + text_lens[i]; k < Te; k++)
        t[k] = MVE_TOKEN_PAD;
      m->len_i[i] = 1 + text_lens[i];
      m->img_i[i] = 0;
    }
  _mve_vision_forward (m, image);
  _mve_itm_logits_forward (m);
  for (int i = 0; i < n; i++)
    {
      float z0 = m->itm_logits[2 * i], z1 = m->itm_logits[2 * i + 1];
      out_prob[i] = 1.0f / (1.0f + expf (z0 - z1));
    }
  return MVE_STATUS_OK;
}
