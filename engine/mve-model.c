// SPDX-License-Identifier: GPL-3.0-or-later
// mve-model.c: the MVaEMa model on the CPU: parameter table and buffers,
// forward and backward of the image encoder, text encoder, image-grounded
// encoder and causal decoder, the ITC/ITM/LM losses, and Adam.
//
// Written the llm.c way: one parameter buffer carved by a size table (grads
// and Adam moments share its layout), one activation arena carved by the same
// pointer walk that measures it, explicit forward/backward per layer kind
// (mve-layers.c), matrix products through cblas_sgemm. Nothing here exits or
// aborts on bad input: calls return an mve_status and record a message.
//
// Legend: see mve-impl.h.
// Declarations sit at first use (C11, as in llm.c) rather than at block
// starts, so the project's C90-style warning is switched off for this file.
#pragma GCC diagnostic ignored "-Wdeclaration-after-statement"
#include "mve-impl.h"

#include <cblas.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mve-model-impl.h"

// --- parameter table ------------------------------------------------------------------
struct table_builder
{
  struct mve_tensor_info *t;
  int n;
  int64_t total;
};

static void
tb_add (struct table_builder *tb, const char *name, int ndim, int64_t d0, int64_t d1, int64_t d2)
{
  if (tb->n >= MVE_MAX_TENSORS)
    return;
  struct mve_tensor_info *ti = &tb->t[tb->n++];
  memset (ti, 0, sizeof *ti);
  snprintf (ti->name, sizeof ti->name, "%s", name);
  ti->ndim = ndim;
  ti->shape[0] = d0;
  ti->shape[1] = ndim > 1 ? d1 : 0;
  ti->shape[2] = ndim > 2 ? d2 : 0;
  ti->numel = d0 * (ndim > 1 ? d1 : 1) * (ndim > 2 ? d2 : 1);
  ti->offset = tb->total;
  tb->total += ti->numel;
}

static void
tb_block (struct table_builder *tb, const char *pre, int64_t L, int64_t C, int64_t HC)
{
  char n[48];
#define ADD(suffix, nd, a, b, c) (snprintf (n, sizeof n, "%s.%s", pre, suffix), tb_add (tb, n, nd, a, b, c))
  ADD ("ln1_w", 2, L, C, 0);
  ADD ("ln1_b", 2, L, C, 0);
  ADD ("qkv_w", 3, L, 3 * C, C);
  ADD ("qkv_b", 2, L, 3 * C, 0);
  ADD ("ao_w", 3, L, C, C);
  ADD ("ao_b", 2, L, C, 0);
  ADD ("ln2_w", 2, L, C, 0);
  ADD ("ln2_b", 2, L, C, 0);
  ADD ("fc_w", 3, L, HC, C);
  ADD ("fc_b", 2, L, HC, 0);
  ADD ("fp_w", 3, L, C, HC);
  ADD ("fp_b", 2, L, C, 0);
}

static void
tb_cross (struct table_builder *tb, const char *pre, int64_t L, int64_t C)
{
  char n[48];
  ADD ("ca_ln_w", 2, L, C, 0);
  ADD ("ca_ln_b", 2, L, C, 0);
  ADD ("ca_q_w", 3, L, C, C);
  ADD ("ca_q_b", 2, L, C, 0);
  ADD ("ca_kv_w", 3, L, 2 * C, C);
  ADD ("ca_kv_b", 2, L, 2 * C, 0);
  ADD ("ca_o_w", 3, L, C, C);
  ADD ("ca_o_b", 2, L, C, 0);
#undef ADD
}

int
mve_params_fill_table (const struct mve_config *cfg, struct mve_tensor_info *table, int64_t *total)
{
  struct table_builder tb = { table, 0, 0 };
  int64_t C = cfg->width, HC = (int64_t) cfg->width * cfg->mlp_ratio, V = cfg->vocab_size;
  int64_t G = cfg->image_size / cfg->patch_size, Nv = G * G + 1;
  int64_t K = (int64_t) cfg->channels * cfg->patch_size * cfg->patch_size;
  int64_t E = cfg->embed_dim;
  tb_add (&tb, "vision.patch_w", 2, C, K, 0);
  tb_add (&tb, "vision.patch_b", 1, C, 0, 0);
  tb_add (&tb, "vision.cls", 1, C, 0, 0);
  tb_add (&tb, "vision.pos", 2, Nv, C, 0);
  tb_block (&tb, "vision", cfg->vision_layers, C, HC);
  tb_add (&tb, "vision.lnf_w", 1, C, 0, 0);
  tb_add (&tb, "vision.lnf_b", 1, C, 0, 0);
  tb_add (&tb, "text.tok_emb", 2, V, C, 0);
  tb_add (&tb, "text.pos", 2, 1 + cfg->max_answer_len, C, 0);
  tb_block (&tb, "text", cfg->text_layers, C, HC);
  tb_cross (&tb, "text", cfg->text_layers, C);
  tb_add (&tb, "text.lnf_w", 1, C, 0, 0);
  tb_add (&tb, "text.lnf_b", 1, C, 0, 0);
  tb_add (&tb, "decoder.pos", 2, cfg->max_question_len + cfg->max_answer_len + 3, C, 0);
  tb_block (&tb, "decoder", cfg->decoder_layers, C, HC);
  tb_cross (&tb, "decoder", cfg->decoder_layers, C);
  tb_add (&tb, "decoder.lnf_w", 1, C, 0, 0);
  tb_add (&tb, "decoder.lnf_b", 1, C, 0, 0);
  tb_add (&tb, "decoder.lm_w", 2, V, C, 0);
  tb_add (&tb, "decoder.lm_b", 1, V, 0, 0);
  tb_add (&tb, "heads.vproj_w", 2, E, C, 0);
  tb_add (&tb, "heads.vproj_b", 1, E, 0, 0);
  tb_add (&tb, "heads.tproj_w", 2, E, C, 0);
  tb_add (&tb, "heads.tproj_b", 1, E, 0, 0);
  tb_add (&tb, "heads.itm_w", 2, 2, C, 0);
  tb_add (&tb, "heads.itm_b", 1, 2, 0, 0);
  tb_add (&tb, "heads.temp", 1, 1, 0, 0);
  if (total)
    *total = tb.total;
  return tb.n;
}

// The table order above, as struct fields.
static float **
params_fields (struct mve_params *p, float ***list)
{
  int i = 0;
#define F(x) list[i++] = &p->x
#define BLK(s) F (s.ln1_w); F (s.ln1_b); F (s.qkv_w); F (s.qkv_b); F (s.ao_w); F (s.ao_b); \
  F (s.ln2_w); F (s.ln2_b); F (s.fc_w); F (s.fc_b); F (s.fp_w); F (s.fp_b)
#define CA(s) F (s.ln_w); F (s.ln_b); F (s.q_w); F (s.q_b); F (s.kv_w); F (s.kv_b); F (s.o_w); F (s.o_b)
  F (patch_w); F (patch_b); F (v_cls); F (v_pos); BLK (vis); F (v_lnf_w); F (v_lnf_b);
  F (tok_emb); F (t_pos); BLK (txt); CA (txt_ca); F (t_lnf_w); F (t_lnf_b);
  F (d_pos); BLK (dec); CA (dec_ca); F (d_lnf_w); F (d_lnf_b); F (lm_w); F (lm_b);
  F (vproj_w); F (vproj_b); F (tproj_w); F (tproj_b); F (itm_w); F (itm_b); F (temp);
#undef F
#undef BLK
#undef CA
  list[i] = NULL;
  return NULL;
}

void
mve_params_point (struct mve_params *p, float *base, const struct mve_config *cfg)
{
  struct mve_tensor_info table[MVE_MAX_TENSORS];
  float **fields[MVE_MAX_TENSORS + 1];
  int n = mve_params_fill_table (cfg, table, NULL);
  params_fields (p, fields);
  for (int i = 0; i < n && fields[i] != NULL; i++)
    *fields[i] = base + table[i].offset;
}

// --- random numbers (deterministic, platform independent) -------------------------------
static uint64_t
rng_next (uint64_t *s)
{
  uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static float
rng_uniform (uint64_t *s) // (0, 1)
{
  return ((float) (rng_next (s) >> 40) + 0.5f) / 16777216.0f;
}

static float
rng_normal (uint64_t *s)
{
  float u1 = rng_uniform (s), u2 = rng_uniform (s);
  return sqrtf (-2.0f * logf (u1)) * cosf (6.2831853071795864f * u2);
}

// --- errors ------------------------------------------------------------------------------
mve_status
_mve_fail (struct mve_model *m, char *err, size_t errn, mve_status st, const char *fmt, ...)
{
  char buf[256];
  va_list ap;
  va_start (ap, fmt);
  vsnprintf (buf, sizeof buf, fmt, ap);
  va_end (ap);
  if (m != NULL)
    snprintf (m->last_error, sizeof m->last_error, "%s", buf);
  if (err != NULL && errn > 0)
    snprintf (err, errn, "%s", buf);
  return st;
}

// --- lifecycle ----------------------------------------------------------------------------
static void *
aligned_calloc (size_t nfloats)
{
  size_t bytes = (nfloats ? nfloats : 1) * sizeof (float);
  bytes = (bytes + 63) & ~(size_t) 63;
  void *p = aligned_alloc (64, bytes);
  if (p != NULL)
    memset (p, 0, bytes);
  return p;
}

mve_status
_mve_model_alloc (struct mve_model **out, const struct mve_config *cfg, int32_t threads, char *err,
                  size_t errn)
{
  mve_status st = mve_config_validate (cfg, err, errn);
  if (st != MVE_STATUS_OK)
    return st;
  struct mve_model *m = calloc (1, sizeof *m);
  if (m == NULL)
    return mve_error_set (err, errn, MVE_STATUS_ALLOC_FAILED, "out of memory for the model");
  m->cfg = *cfg;
  m->n_tensors = mve_params_fill_table (cfg, m->table, &m->n_params);
  m->params_mem = aligned_calloc ((size_t) m->n_params);
  m->grads_mem = aligned_calloc ((size_t) m->n_params);
  if (m->params_mem == NULL || m->grads_mem == NULL)
    {
      mve_model_free (m);
      return mve_error_set (err, errn, MVE_STATUS_ALLOC_FAILED,
                            "out of memory for %lld parameters", (long long) m->n_params);
    }
  mve_params_point (&m->p, m->params_mem, cfg);
  mve_params_point (&m->g, m->grads_mem, cfg);
  mve_model_set_threads (m, threads);
  *out = m;
  return MVE_STATUS_OK;
}

mve_status
mve_model_init (mve_model_t *out, const struct mve_config *cfg, uint64_t seed, int32_t threads,
                char *err, size_t errn)
{
  if (out == NULL)
    return mve_error_set (err, errn, MVE_STATUS_INVALID_ARGUMENT, "no output model");
  *out = NULL;
  struct mve_model *m = NULL;
  mve_status st = _mve_model_alloc (&m, cfg, threads, err, errn);
  if (st != MVE_STATUS_OK)
    return st;
  uint64_t s = seed ^ 0x6d766165u;
  for (int i = 0; i < m->n_tensors; i++)
    {
      const struct mve_tensor_info *t = &m->table[i];
      float *w = m->params_mem + t->offset;
      const char *dot = strrchr (t->name, '.');
      const char *leaf = dot ? dot + 1 : t->name;
      size_t ll = strlen (leaf);
      int is_ln_w = strstr (leaf, "ln") != NULL && leaf[ll - 1] == 'w';
      int is_bias = leaf[ll - 1] == 'b' && leaf[ll - 2] == '_';
      if (strcmp (leaf, "temp") == 0)
        w[0] = cfg->temp_init;
      else if (is_ln_w)
        for (int64_t j = 0; j < t->numel; j++)
          w[j] = 1.0f;
      else if (is_bias)
        ; // zeros
      else
        for (int64_t j = 0; j < t->numel; j++)
          w[j] = 0.02f * rng_normal (&s);
    }
  *out = m;
  return MVE_STATUS_OK;
}

void
mve_model_free (mve_model_t m)
{
  if (m == NULL)
    return;
  free (m->params_mem);
  free (m->grads_mem);
  free (m->adam_m);
  free (m->adam_v);
  free (m->arena);
  free (m->ibuf);
  free (m);
}

const struct mve_config *
mve_model_get_config (mve_model_t m)
{
  return m ? &m->cfg : NULL;
}

void
_mve_blas_single_thread (void)
{
  if (openblas_get_num_threads () != 1)
    openblas_set_num_threads (1);
}

void
mve_model_set_threads (mve_model_t m, int32_t threads)
{
  if (m == NULL)
    return;
  if (threads < 1)
    threads = 1;
  if (threads > 64)
    threads = 64;
  m->threads = threads;
  // the engine splits matrix products over its own threads (deterministic,
  // and no OpenBLAS workers spinning between products on a busy machine)
  openblas_set_num_threads (1);
}

int64_t
mve_model_num_params (mve_model_t m)
{
  return m ? m->n_params : 0;
}

const char *
mve_model_last_error (mve_model_t m)
{
  return m ? m->last_error : "";
}

int32_t
mve_model_num_patches (mve_model_t m)
{
  int32_t G = m->cfg.image_size / m->cfg.patch_size;
  return G * G;
}

void
mve_model_set_abort_callback (mve_model_t m, bool (*should_abort) (void *), void *user)
{
  if (m == NULL)
    return;
  m->should_abort = should_abort;
  m->abort_user = user;
}

int
mve_model_tensor_count (mve_model_t m)
{
  return m->n_tensors;
}

const struct mve_tensor_info *
mve_model_tensor (mve_model_t m, int i)
{
  return (i >= 0 && i < m->n_tensors) ? &m->table[i] : NULL;
}

int
mve_model_find_tensor (mve_model_t m, const char *name)
{
  for (int i = 0; i < m->n_tensors; i++)
    if (strcmp (m->table[i].name, name) == 0)
      return i;
  return -1;
}

float *
mve_model_params_data (mve_model_t m)
{
  return m->params_mem;
}

float *
mve_model_grads_data (mve_model_t m)
{
  return m->grads_mem;
}

void
mve_model_keep_logits (mve_model_t m, int keep)
{
  if (m != NULL)
    m->keep_logits = keep != 0;
}

void
mve_model_zero_grad (mve_model_t m)
{
  if (m != NULL)
    memset (m->grads_mem, 0, sizeof (float) * (size_t) m->n_params);
}

// --- Adam -------------------------------------------------------------------------------------
void
mve_adam_init_default (struct mve_adam *opt)
{
  opt->lr = 1e-3f;
  opt->beta1 = 0.9f;
  opt->beta2 = 0.999f;
  opt->eps = 1e-8f;
  opt->weight_decay = 0.0f;
  opt->clip_norm = 1.0f;
}

struct adam_job
{
  float *p, *g, *am, *av;
  int64_t n;
  float clip, b1, b2, step_size, bc2_sqrt, eps, wd;
  int parts;
};

static void
adam_part (void *arg, int64_t part)
{
  struct adam_job *j = arg;
  int64_t chunk = (j->n + j->parts - 1) / j->parts;
  int64_t lo = part * chunk, hi = lo + chunk < j->n ? lo + chunk : j->n;
  float *p = j->p, *am = j->am, *av = j->av;
  const float *g = j->g;
  for (int64_t i = lo; i < hi; i++)
    {
      float gi = g[i] * j->clip + j->wd * p[i];
      am[i] = j->b1 * am[i] + (1.0f - j->b1) * gi;
      av[i] = j->b2 * av[i] + (1.0f - j->b2) * gi * gi;
      float denom = sqrtf (av[i]) / j->bc2_sqrt + j->eps;
      p[i] -= j->step_size * am[i] / denom;
    }
}

mve_status
mve_model_adam_step_norm (mve_model_t m, const struct mve_adam *opt, int64_t step, float *grad_norm)
{
  if (m == NULL || opt == NULL || step < 1 || !(opt->lr >= 0) || !(opt->beta1 >= 0 && opt->beta1 < 1)
      || !(opt->beta2 >= 0 && opt->beta2 < 1) || !(opt->eps > 0))
    return _mve_fail (m, NULL, 0, MVE_STATUS_INVALID_ARGUMENT, "bad Adam settings or step");
  if (m->adam_m == NULL)
    {
      m->adam_m = aligned_calloc ((size_t) m->n_params);
      m->adam_v = aligned_calloc ((size_t) m->n_params);
      if (m->adam_m == NULL || m->adam_v == NULL)
        return _mve_fail (m, NULL, 0, MVE_STATUS_ALLOC_FAILED, "out of memory for Adam state");
    }
  float *p = m->params_mem, *g = m->grads_mem, *am = m->adam_m, *av = m->adam_v;
  int64_t n = m->n_params;
  double ss = 0.0;
  for (int64_t i = 0; i < n; i++)
    ss += (double) g[i] * g[i];
  float norm = (float) sqrt (ss);
  if (grad_norm)
    *grad_norm = norm;
  if (!isfinite (norm))
    return _mve_fail (m, NULL, 0, MVE_STATUS_ERROR, "gradient is not finite");
  float clip = 1.0f;
  if (opt->clip_norm > 0)
    {
      clip = opt->clip_norm / (norm + 1e-6f);
      if (clip > 1.0f)
        clip = 1.0f;
    }
  struct adam_job j = { p, g, am, av, n, clip, opt->beta1, opt->beta2, 0, 0, opt->eps,
                        opt->weight_decay, m->threads };
  j.step_size = opt->lr / (1.0f - powf (j.b1, (float) step));
  j.bc2_sqrt = sqrtf (1.0f - powf (j.b2, (float) step));
  mve_parallel_for (m->threads, m->threads, adam_part, &j); // elementwise: any split gives the same bytes
  return MVE_STATUS_OK;
}

mve_status
mve_model_adam_step (mve_model_t m, const struct mve_adam *opt, int64_t step)
{
  return mve_model_adam_step_norm (m, opt, step, NULL);
}
