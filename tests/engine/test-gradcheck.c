// SPDX-License-Identifier: GPL-3.0-or-later
// test-gradcheck.c: finite-difference gradient checks, no Python needed.
// Per layer kind (matmul, layernorm, GELU, attention: bidirectional with key
// padding, causal, cross-attention with a memory index) on random inputs,
// with the scalar loss sum(out * R); then the whole model (ITC + ITM + LM and
// the ablated variants) on sampled parameters of a tiny configuration.
// Central differences in float32 with a step of 1e-2 (1e-3 for the model);
// a check fails when |fd - analytic| > rtol * max(|fd|, |analytic|) + atol.
// Declarations sit at first use (C11, as in llm.c) rather than at block
// starts, so the project's C90-style warning is switched off for this file.
#pragma GCC diagnostic ignored "-Wdeclaration-after-statement"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mve-impl.h"

static uint64_t rng_state = 42;

static float
frand (void) // [-1, 1)
{
  rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
  return (float) ((rng_state >> 40) / 8388608.0 - 1.0);
}

static void
fill (float *x, int64_t n, float scale)
{
  for (int64_t i = 0; i < n; i++)
    x[i] = scale * frand ();
}

static int failures = 0;

static void
check (const char *what, int64_t i, double fd, double an, double rtol, double atol)
{
  double err = fabs (fd - an), lim = rtol * fmax (fabs (fd), fabs (an)) + atol;
  if (!(err <= lim))
    {
      if (failures < 20)
        fprintf (stderr, "FAIL %s[%lld]: finite difference %.6g analytic %.6g\n", what, (long long) i,
                 fd, an);
      failures++;
    }
}

static double
dot (const float *a, const float *b, int64_t n)
{
  double s = 0.0;
  for (int64_t i = 0; i < n; i++)
    s += (double) a[i] * b[i];
  return s;
}

// --- per layer ------------------------------------------------------------------------
// A layer under test: forward(out) from the current inputs; inputs is a list of
// (pointer, n, grad pointer) the check perturbs.
struct var
{
  const char *name;
  float *x, *g;
  int64_t n;
};

typedef void (*fwd_fn) (void *ctx, float *out);

static void
gradcheck_vars (const char *layer, fwd_fn fwd, void *ctx, float *out, const float *R, int64_t nout,
                struct var *v, int nv)
{
  const float h = 1e-2f;
  char name[96];
  for (int k = 0; k < nv; k++)
    for (int64_t i = 0; i < v[k].n; i += 1 + v[k].n / 40)
      {
        float save = v[k].x[i];
        v[k].x[i] = save + h;
        fwd (ctx, out);
        double lp = dot (out, R, nout);
        v[k].x[i] = save - h;
        fwd (ctx, out);
        double lm = dot (out, R, nout);
        v[k].x[i] = save;
        snprintf (name, sizeof name, "%s/%s", layer, v[k].name);
        check (name, i, (lp - lm) / (2 * h), v[k].g[i], 2e-2, 2e-3);
      }
}

struct mm_ctx { float *inp, *w, *b; int N, IC, OC; };
static void mm_fwd (void *c, float *out)
{
  struct mm_ctx *x = c;
  mve_matmul_forward (out, x->inp, x->w, x->b, x->N, x->IC, x->OC);
}

static void
test_matmul (void)
{
  int N = 7, IC = 5, OC = 6;
  float inp[35], w[30], b[6], out[42], R[42], di[35] = { 0 }, dw[30] = { 0 }, db[6] = { 0 };
  fill (inp, 35, 1), fill (w, 30, 1), fill (b, 6, 1), fill (R, 42, 1);
  mve_matmul_backward (di, dw, db, R, inp, w, N, IC, OC);
  struct mm_ctx c = { inp, w, b, N, IC, OC };
  struct var v[] = { { "inp", inp, di, 35 }, { "w", w, dw, 30 }, { "b", b, db, 6 } };
  gradcheck_vars ("matmul", mm_fwd, &c, out, R, 42, v, 3);
}

struct ln_ctx { float *inp, *w, *b, *mean, *rstd; int N, C; };
static void ln_fwd (void *c, float *out)
{
  struct ln_ctx *x = c;
  mve_layernorm_forward (out, x->mean, x->rstd, x->inp, x->w, x->b, x->N, x->C);
}

static void
test_layernorm (void)
{
  enum { N = 4, C = 9 };
  float inp[N * C], w[C], b[C], out[N * C], R[N * C], mean[N], rstd[N];
  float di[N * C] = { 0 }, dw[C] = { 0 }, db[C] = { 0 };
  fill (inp, N * C, 2), fill (w, C, 1), fill (b, C, 1), fill (R, N * C, 1);
  struct ln_ctx c = { inp, w, b, mean, rstd, N, C };
  ln_fwd (&c, out);
  mve_layernorm_backward (di, dw, db, R, inp, w, mean, rstd, N, C);
  struct var v[] = { { "inp", inp, di, N * C }, { "w", w, dw, C }, { "b", b, db, C } };
  gradcheck_vars ("layernorm", ln_fwd, &c, out, R, N * C, v, 3);
}

struct gelu_ctx { float *inp; int n; };
static void gelu_fwd (void *c, float *out)
{
  struct gelu_ctx *x = c;
  mve_gelu_forward (out, x->inp, x->n);
}

static void
test_gelu (void)
{
  enum { n = 50 };
  float inp[n], out[n], R[n], di[n] = { 0 };
  fill (inp, n, 3), fill (R, n, 1);
  mve_gelu_backward (di, inp, R, n);
  struct gelu_ctx c = { inp, n };
  struct var v[] = { { "inp", inp, di, n } };
  gradcheck_vars ("gelu", gelu_fwd, &c, out, R, n, v, 1);
}

struct att_ctx { float *q, *kv, *att; struct mve_attn_desc d; int C; int threads; };
static void att_fwd (void *c, float *out)
{
  struct att_ctx *x = c;
  mve_attention_forward (out, x->att, x->q, x->kv, x->kv + x->C, &x->d, x->threads);
}

// self: q, k, v in one (N, T, 3C) buffer; cross: q (N, T, C), kv (Nimg, Tk, 2C) with kv_index
static void
test_attention (const char *what, int cross, int causal, int threads, int hs)
{
  enum { N = 3, T = 5, NH = 2, Nimg = 2, Tk = 6 };
  const int C = NH * hs;
  int32_t klen[N] = { 5, 3, 1 }, kv_index[N] = { 1, 0, 1 };
  int tk = cross ? Tk : T;
  int64_t nq = cross ? N * T * C : N * T * 3 * C;
  int64_t nkv = cross ? Nimg * Tk * 2 * C : 0;
  float *q = calloc (nq, 4), *kv = cross ? calloc (nkv, 4) : q + C;
  float *dq = calloc (nq, 4), *dkvseq = calloc ((size_t) N * tk * 2 * C, 4);
  float *att = calloc ((size_t) N * NH * T * tk, 4), *out = calloc (N * T * C, 4);
  float *R = calloc (N * T * C, 4), *scratch = calloc ((size_t) 4 * T * tk, 4);
  fill (q, nq, 1.5f), fill (R, N * T * C, 1);
  if (cross)
    fill (kv, nkv, 1.5f);
  struct att_ctx c = { q, kv, att, { 0 }, C, threads };
  c.d = (struct mve_attn_desc) { .N = N, .T = T, .Tk = tk, .NH = NH, .hs = hs, .causal = causal,
                                 .klen = cross ? NULL : klen, .kv_index = cross ? kv_index : NULL,
                                 .q_seq = cross ? T * C : T * 3 * C, .kv_seq = cross ? Tk * 2 * C : T * 3 * C,
                                 .ldq = cross ? C : 3 * C, .ldkv = cross ? 2 * C : 3 * C };
  att_fwd (&c, out);
  if (cross)
    {
      mve_attention_backward (dq, dkvseq, dkvseq + C, (int64_t) Tk * 2 * C, 2 * C, R, att, q, kv,
                              kv + C, &c.d, scratch, threads);
      // reduce per-sequence key/value gradients onto the memories
      float *dkv = calloc (nkv, 4);
      for (int n = 0; n < N; n++)
        for (int64_t i = 0; i < Tk * 2 * C; i++)
          dkv[kv_index[n] * Tk * 2 * C + i] += dkvseq[n * Tk * 2 * C + i];
      struct var v[] = { { "q", q, dq, nq }, { "kv", kv, dkv, nkv } };
      gradcheck_vars (what, att_fwd, &c, out, R, N * T * C, v, 2);
      free (dkv);
      free (kv);
    }
  else
    {
      mve_attention_backward (dq, dq + C, dq + 2 * C, (int64_t) T * 3 * C, 3 * C, R, att, q, q + C,
                              q + 2 * C, &c.d, scratch, threads);
      struct var v[] = { { "qkv", q, dq, nq } };
      gradcheck_vars (what, att_fwd, &c, out, R, N * T * C, v, 1);
    }
  free (q), free (dq), free (dkvseq), free (att), free (out), free (R), free (scratch);
}

// --- whole model ------------------------------------------------------------------------
static void
test_model (const char *what, int use_itc, int use_itm, int use_sa, int use_ca, int use_csa)
{
  struct mve_config cfg;
  mve_config_init_default (&cfg);
  cfg.image_size = 16, cfg.patch_size = 8, cfg.width = 8, cfg.heads = 2;
  cfg.vision_layers = cfg.text_layers = cfg.decoder_layers = 1;
  cfg.vocab_size = 16, cfg.max_question_len = 4, cfg.max_answer_len = 4, cfg.embed_dim = 6;
  cfg.temp_init = 0.3f;
  cfg.use_itc = use_itc, cfg.use_itm = use_itm, cfg.use_sa = use_sa, cfg.use_ca = use_ca;
  cfg.use_csa = use_csa;
  char err[256];
  mve_model_t m = NULL;
  if (mve_model_init (&m, &cfg, 7, 1, err, sizeof err) != MVE_STATUS_OK)
    {
      fprintf (stderr, "FAIL %s: %s\n", what, err);
      failures++;
      return;
    }
  float *p = mve_model_params_data (m), *g = mve_model_grads_data (m);
  int64_t np = mve_model_num_params (m);
  for (int64_t i = 0; i < np - 1; i++) // larger weights than the default init, temp kept
    p[i] += 0.3f * frand ();
  enum { B = 3, Tq = 3, Ta = 4 };
  float images[B * 3 * 16 * 16];
  fill (images, B * 3 * 16 * 16, 1);
  int32_t q[B * Tq] = { 7, 8, 9, 10, 11, 0, 0, 0, 0 }, ql[B] = { 3, 2, 0 };
  int32_t a[B * Ta] = { 12, 13, 14, 15, 9, 8, 0, 0, 7, 0, 0, 0 }, al[B] = { 4, 2, 1 };
  struct mve_batch b = { B, images, q, ql, a, al, Tq, Ta };
  struct mve_losses L;
  mve_model_forward (m, &b, &L);
  mve_model_zero_grad (m);
  mve_model_backward (m);
  float *an = malloc (sizeof (float) * np);
  memcpy (an, g, sizeof (float) * np);
  const float h = 1e-2f;
  for (int t = 0; t < mve_model_tensor_count (m); t++)
    {
      const struct mve_tensor_info *ti = mve_model_tensor (m, t);
      for (int s = 0; s < 3; s++)
        {
          int64_t i = ti->offset + (int64_t) ((frand () + 1) * 0.5 * ti->numel) % ti->numel;
          float save = p[i];
          p[i] = save + h;
          mve_model_forward (m, &b, &L);
          double lp = L.total;
          p[i] = save - h;
          mve_model_forward (m, &b, &L);
          double lm = L.total;
          p[i] = save;
          char name[96];
          snprintf (name, sizeof name, "%s/%s", what, ti->name);
          check (name, i - ti->offset, (lp - lm) / (2 * h), an[i], 3e-2, 1e-3);
        }
    }
  free (an);
  mve_model_free (m);
}

int
main (void)
{
  test_matmul ();
  test_layernorm ();
  test_gelu ();
  // head size 4 runs the generic (sgemm) kernels, 16 the specialised ones
  for (int hs = 4; hs <= 16; hs += 12)
    {
      test_attention ("attention-bidirectional-padded", 0, 0, 1, hs);
      test_attention ("attention-causal", 0, 1, 2, hs);
      test_attention ("attention-cross", 1, 0, 3, hs);
    }
  test_model ("model", 1, 1, 1, 1, 1);
  test_model ("model-no-itc", 0, 1, 1, 1, 1);
  test_model ("model-no-itm", 1, 0, 1, 1, 1);
  test_model ("model-no-sa-ca-csa", 1, 1, 0, 0, 0);
  if (failures)
    {
      fprintf (stderr, "%d gradient checks failed\n", failures);
      return 1;
    }
  printf ("all gradient checks passed\n");
  return 0;
}
