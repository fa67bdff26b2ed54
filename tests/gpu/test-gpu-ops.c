// SPDX-License-Identifier: GPL-3.0-or-later
// test-gpu-ops.c: CPU-vs-CUDA parity of every op of the CUDA backend (ggml's
// test-backend-ops idea): random inputs at the model's shapes, the op on the
// CPU engine (mve-layers.c, or the reference loops below for the losses and
// Adam, written as mve-model*.c does them) and on the device, compared by
// relative error max|gpu - cpu| / max(max|cpu|, 1e-6). FP32 must be within
// 1e-4; TF32 matrix products within 5e-3 (documented in docs/cuda.md).
// Exits 77 (meson: skipped) when no CUDA device can be opened.
// C11 declarations at first use, as the engine's model files.
#pragma GCC diagnostic ignored "-Wdeclaration-after-statement"
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mve-backend.h"
#include "mve-impl.h"

#define TOL_FP32 1e-4
#define TOL_TF32 5e-3

static struct mve_backend *be;
static const struct mve_backend_i *I;
static int failures;

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static float
frand (void)
{
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (float) ((rng >> 40) / (double) (1ull << 24)) * 2.0f - 1.0f;
}

static float *
rand_buf (int64_t n, float scale)
{
  float *p = malloc (sizeof (float) * (size_t) (n > 0 ? n : 1));
  for (int64_t i = 0; i < n; i++)
    p[i] = frand () * scale;
  return p;
}

static void
check_status (mve_status st, const char *what)
{
  if (st != MVE_STATUS_OK)
    {
      fprintf (stderr, "FAIL %s: %s: %s\n", what, mve_status_to_string (st), I->last_error (be->ctx));
      exit (1);
    }
}

static void *
up (const void *host, size_t bytes)
{
  void *d = NULL;
  check_status (I->alloc (be->ctx, &d, bytes), "alloc");
  check_status (I->copy_to_device (be->ctx, d, host, bytes), "copy_to_device");
  return d;
}

static float *
upf (const float *host, int64_t n)
{
  return up (host, sizeof (float) * (size_t) n);
}

static void
compare (const char *what, const float *dev, const float *cpu, int64_t n, double tol)
{
  float *g = malloc (sizeof (float) * (size_t) (n > 0 ? n : 1));
  double maxd = 0.0, maxr = 1e-6;
  int64_t at = 0;
  check_status (I->copy_to_host (be->ctx, g, dev, sizeof (float) * (size_t) n), "copy_to_host");
  for (int64_t i = 0; i < n; i++)
    {
      double d = fabs ((double) g[i] - cpu[i]);
      if (!(d <= maxd)) // NaN counts as a mismatch
        {
          maxd = isnan (d) ? INFINITY : d;
          at = i;
        }
      if (fabs (cpu[i]) > maxr)
        maxr = fabs (cpu[i]);
    }
  double rel = maxd / maxr;
  printf ("%-28s n=%-8lld rel.err %.3g%s\n", what, (long long) n, rel, rel <= tol ? "" : "  FAIL");
  if (!(rel <= tol))
    {
      fprintf (stderr, "  first pairs: ");
      for (int64_t i = 0; i < n && i < 4; i++)
        fprintf (stderr, "(%g, %g) ", g[i], cpu[i]);
      fprintf (stderr, "\n  worst at %lld: gpu %g cpu %g\n", (long long) at, g[at], cpu[at]);
      failures++;
    }
  free (g);
}

static void
test_matmul (double tol, const char *tag)
{
  const int64_t N = 97;
  const int IC = 64, OC = 256;
  char name[64];
  float *x = rand_buf (N * IC, 1), *w = rand_buf ((int64_t) OC * IC, 0.2f), *b = rand_buf (OC, 0.1f);
  float *out = calloc (N * OC, sizeof (float));
  float *dout = rand_buf (N * OC, 1);
  float *dx = rand_buf (N * IC, 0.1f), *dw = rand_buf ((int64_t) OC * IC, 0.1f);
  float *db = rand_buf (OC, 0.1f);
  float *d_x = upf (x, N * IC), *d_w = upf (w, (int64_t) OC * IC), *d_b = upf (b, OC);
  float *d_out = upf (out, N * OC), *d_dout = upf (dout, N * OC);
  float *d_dx = upf (dx, N * IC), *d_dw = upf (dw, (int64_t) OC * IC), *d_db = upf (db, OC);

  mve_matmul_forward (out, x, w, b, N, IC, OC);
  check_status (I->matmul_forward (be->ctx, d_out, d_x, d_w, d_b, N, IC, OC), "matmul_forward");
  snprintf (name, sizeof name, "matmul_forward%s", tag);
  compare (name, d_out, out, N * OC, tol);

  mve_matmul_backward (dx, dw, db, dout, x, w, N, IC, OC);
  check_status (I->matmul_backward (be->ctx, d_dx, d_dw, d_db, d_dout, d_x, d_w, N, IC, OC),
                "matmul_backward");
  snprintf (name, sizeof name, "matmul_backward dinp%s", tag);
  compare (name, d_dx, dx, N * IC, tol);
  snprintf (name, sizeof name, "matmul_backward dw%s", tag);
  compare (name, d_dw, dw, (int64_t) OC * IC, tol);
  snprintf (name, sizeof name, "matmul_backward db%s", tag);
  compare (name, d_db, db, OC, tol);
  void *all[] = { x, w, b, out, dout, dx, dw, db };
  void *dall[] = { d_x, d_w, d_b, d_out, d_dout, d_dx, d_dw, d_db };
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
    {
      free (all[i]);
      I->free (be->ctx, dall[i]);
    }
}

static void
test_layernorm_gelu_residual (void)
{
  const int64_t N = 300;
  const int C = 64;
  float *x = rand_buf (N * C, 2), *w = rand_buf (C, 1), *b = rand_buf (C, 0.5f);
  float *out = calloc (N * C, sizeof (float)), *mean = calloc (N, 4), *rstd = calloc (N, 4);
  float *dout = rand_buf (N * C, 1), *dx = rand_buf (N * C, 0.1f);
  float *dw = rand_buf (C, 0.1f), *db = rand_buf (C, 0.1f);
  float *d_x = upf (x, N * C), *d_w = upf (w, C), *d_b = upf (b, C), *d_out = upf (out, N * C);
  float *d_mean = upf (mean, N), *d_rstd = upf (rstd, N), *d_dout = upf (dout, N * C);
  float *d_dx = upf (dx, N * C), *d_dw = upf (dw, C), *d_db = upf (db, C);

  mve_layernorm_forward (out, mean, rstd, x, w, b, N, C);
  check_status (I->layernorm_forward (be->ctx, d_out, d_mean, d_rstd, d_x, d_w, d_b, N, C),
                "layernorm_forward");
  compare ("layernorm_forward out", d_out, out, N * C, TOL_FP32);
  compare ("layernorm_forward rstd", d_rstd, rstd, N, TOL_FP32);
  mve_layernorm_backward (dx, dw, db, dout, x, w, mean, rstd, N, C);
  check_status (I->layernorm_backward (be->ctx, d_dx, d_dw, d_db, d_dout, d_x, d_w, d_mean, d_rstd,
                                       N, C), "layernorm_backward");
  compare ("layernorm_backward dinp", d_dx, dx, N * C, TOL_FP32);
  compare ("layernorm_backward dw", d_dw, dw, C, TOL_FP32);
  compare ("layernorm_backward db", d_db, db, C, TOL_FP32);

  // GELU on the same buffers (n = N*C)
  mve_gelu_forward (out, x, N * C);
  check_status (I->gelu_forward (be->ctx, d_out, d_x, N * C), "gelu_forward");
  compare ("gelu_forward", d_out, out, N * C, TOL_FP32);
  mve_gelu_backward (dx, x, dout, N * C);
  check_status (I->gelu_backward (be->ctx, d_dx, d_x, d_dout, N * C), "gelu_backward");
  compare ("gelu_backward", d_dx, dx, N * C, TOL_FP32);

  for (int64_t i = 0; i < N * C; i++)
    out[i] = x[i] + dout[i];
  check_status (I->residual_forward (be->ctx, d_x, d_x, d_dout, N * C), "residual_forward");
  compare ("residual_forward", d_x, out, N * C, TOL_FP32);

  void *all[] = { x, w, b, out, mean, rstd, dout, dx, dw, db };
  void *dall[] = { d_x, d_w, d_b, d_out, d_mean, d_rstd, d_dout, d_dx, d_dw, d_db };
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
    {
      free (all[i]);
      I->free (be->ctx, dall[i]);
    }
}

// Self-attention (causal or bidirectional with klen) over a fused qkv
// buffer, or cross-attention to shared memories through kv_index.
static void
test_attention (int causal, int cross)
{
  const int N = 6, NH = 4, hs = 16, C = NH * hs;
  const int T = cross ? 23 : 37, Tk = cross ? 50 : T;
  const int Nimg = 3;
  int32_t klen[6], kv_index[6];
  struct mve_attn_desc d;
  char name[64];
  const char *kind = cross ? "cross" : causal ? "causal" : "self";
  for (int n = 0; n < N; n++)
    {
      klen[n] = cross ? Tk : 5 + (n * 7) % (T - 4);
      kv_index[n] = n % Nimg;
    }
  memset (&d, 0, sizeof d);
  d.N = N;
  d.T = T;
  d.Tk = Tk;
  d.NH = NH;
  d.hs = hs;
  d.causal = causal;
  // q: (N, T, 3C) with k, v following (self) or (N, T, C) and kv (Nimg, Tk, 2C) (cross)
  int64_t qn = cross ? (int64_t) N * T * C : (int64_t) N * T * 3 * C;
  int64_t kvn = cross ? (int64_t) Nimg * Tk * 2 * C : 0;
  float *q = rand_buf (qn, 1), *kv = cross ? rand_buf (kvn, 1) : NULL;
  const float *k = cross ? kv : q + C, *v = cross ? kv + C : q + 2 * C;
  d.q_seq = cross ? (int64_t) T * C : (int64_t) T * 3 * C;
  d.ldq = cross ? C : 3 * C;
  d.kv_seq = cross ? (int64_t) Tk * 2 * C : (int64_t) T * 3 * C;
  d.ldkv = cross ? 2 * C : 3 * C;
  d.klen = klen;
  d.kv_index = cross ? kv_index : NULL;
  float *out = calloc ((size_t) N * T * C, 4), *att = calloc ((size_t) N * NH * T * Tk, 4);
  float *d_q = upf (q, qn), *d_kv = cross ? upf (kv, kvn) : NULL;
  float *d_out = upf (out, (int64_t) N * T * C), *d_att = upf (att, (int64_t) N * NH * T * Tk);
  int32_t *d_klen = up (klen, sizeof klen), *d_kvi = up (kv_index, sizeof kv_index);
  struct mve_attn_desc dd = d;
  dd.klen = d_klen;
  dd.kv_index = cross ? d_kvi : NULL;
  const float *d_k = cross ? d_kv : d_q + C, *d_v = cross ? d_kv + C : d_q + 2 * C;

  mve_attention_forward (out, att, q, k, v, &d, 1);
  check_status (I->attention_forward (be->ctx, d_out, d_att, d_q, d_k, d_v, &dd),
                "attention_forward");
  snprintf (name, sizeof name, "attention_forward %s out", kind);
  compare (name, d_out, out, (int64_t) N * T * C, TOL_FP32);
  snprintf (name, sizeof name, "attention_forward %s att", kind);
  compare (name, d_att, att, (int64_t) N * NH * T * Tk, TOL_FP32);

  // backward (per-sequence keys: the engine expands shared memories first)
  if (cross)
    {
      // give every sequence its own memory copy, as the engine's backward does
      int64_t seq = (int64_t) Tk * 2 * C;
      float *kv2 = malloc (sizeof (float) * (size_t) (N * seq));
      for (int n = 0; n < N; n++)
        memcpy (kv2 + n * seq, kv + kv_index[n] * seq, sizeof (float) * (size_t) seq);
      free (kv);
      kv = kv2;
      k = kv;
      v = kv + C;
      I->free (be->ctx, d_kv);
      d_kv = upf (kv, N * seq);
      d_k = d_kv;
      d_v = d_kv + C;
      d.kv_index = NULL;
      dd.kv_index = NULL;
    }
  int64_t dkv_seq = cross ? (int64_t) Tk * 2 * C : d.q_seq;
  int lddkv = cross ? 2 * C : 3 * C;
  int64_t dqn = qn, dkvn = cross ? (int64_t) N * dkv_seq : 0;
  float *dq = rand_buf (dqn, 0.1f), *dkvb = cross ? rand_buf (dkvn, 0.1f) : NULL;
  float *dout = rand_buf ((int64_t) N * T * C, 1);
  float *scratch = calloc ((size_t) T * Tk, 4);
  float *d_dq = upf (dq, dqn), *d_dkv = cross ? upf (dkvb, dkvn) : NULL;
  float *d_dout = upf (dout, (int64_t) N * T * C);
  float *dk = cross ? dkvb : dq + C, *dv = cross ? dkvb + C : dq + 2 * C;
  float *d_dk = cross ? d_dkv : d_dq + C, *d_dv = cross ? d_dkv + C : d_dq + 2 * C;
  mve_attention_backward (dq, dk, dv, dkv_seq, lddkv, dout, att, q, k, v, &d, scratch, 1);
  check_status (I->attention_backward (be->ctx, d_dq, d_dk, d_dv, dkv_seq, lddkv, d_dout, d_att,
                                       d_q, d_k, d_v, &dd), "attention_backward");
  snprintf (name, sizeof name, "attention_backward %s dq", kind);
  compare (name, d_dq, dq, dqn, TOL_FP32);
  if (cross)
    {
      snprintf (name, sizeof name, "attention_backward %s dkv", kind);
      compare (name, d_dkv, dkvb, dkvn, TOL_FP32);
    }
  void *all[] = { q, kv, out, att, dq, dkvb, dout, scratch };
  void *dall[] = { d_q, d_kv, d_out, d_att, d_klen, d_kvi, d_dq, d_dkv, d_dout };
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
    free (all[i]);
  for (size_t i = 0; i < sizeof dall / sizeof dall[0]; i++)
    I->free (be->ctx, dall[i]);
}

static void
test_embedding (void)
{
  const int N = 5, T = 19, C = 64, V = 300;
  int32_t tok[5 * 19];
  for (int i = 0; i < N * T; i++)
    tok[i] = (int32_t) ((frand () + 1.0f) * 0.5f * (V - 1)) % 40; // repeats on purpose
  float *emb = rand_buf ((int64_t) V * C, 1), *pos = rand_buf ((int64_t) T * C, 1);
  float *out = calloc ((size_t) N * T * C, 4), *dout = rand_buf ((int64_t) N * T * C, 1);
  float *demb = rand_buf ((int64_t) V * C, 0.1f), *dpos = rand_buf ((int64_t) T * C, 0.1f);
  float *d_emb = upf (emb, (int64_t) V * C), *d_pos = upf (pos, (int64_t) T * C);
  float *d_out = upf (out, (int64_t) N * T * C), *d_dout = upf (dout, (int64_t) N * T * C);
  float *d_demb = upf (demb, (int64_t) V * C), *d_dpos = upf (dpos, (int64_t) T * C);
  int32_t *d_tok = up (tok, sizeof tok);
  for (int n = 0; n < N; n++)
    for (int t = 0; t < T; t++)
      for (int c = 0; c < C; c++)
        {
          int64_t i = ((int64_t) n * T + t) * C + c;
          out[i] = emb[(int64_t) tok[n * T + t] * C + c] + pos[(int64_t) t * C + c];
          demb[(int64_t) tok[n * T + t] * C + c] += dout[i];
          dpos[(int64_t) t * C + c] += dout[i];
        }
  check_status (I->embedding_forward (be->ctx, d_out, d_tok, d_emb, d_pos, N, T, C, V),
                "embedding_forward");
  compare ("embedding_forward", d_out, out, (int64_t) N * T * C, TOL_FP32);
  check_status (I->embedding_backward (be->ctx, d_demb, d_dpos, d_dout, d_tok, N, T, C, V),
                "embedding_backward");
  compare ("embedding_backward dtok", d_demb, demb, (int64_t) V * C, TOL_FP32);
  compare ("embedding_backward dpos", d_dpos, dpos, (int64_t) T * C, TOL_FP32);
  void *all[] = { emb, pos, out, dout, demb, dpos };
  void *dall[] = { d_emb, d_pos, d_out, d_dout, d_demb, d_dpos, d_tok };
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
    free (all[i]);
  for (size_t i = 0; i < sizeof dall / sizeof dall[0]; i++)
    I->free (be->ctx, dall[i]);
}

// Softmax cross-entropy reference (double accumulation).
static void
xent_ref (float *loss, float *dz, const float *z, const int32_t *tgt, int64_t N, int V, float s)
{
  for (int64_t r = 0; r < N; r++)
    {
      const float *zr = z + r * V;
      double mx = -INFINITY, sum = 0.0;
      for (int i = 0; i < V; i++)
        mx = zr[i] > mx ? zr[i] : mx;
      for (int i = 0; i < V; i++)
        sum += exp (zr[i] - mx);
      double lse = mx + log (sum);
      loss[r] = (float) (lse - zr[tgt[r]]);
      for (int i = 0; i < V; i++)
        dz[r * V + i] = (float) ((exp (zr[i] - lse) - (i == tgt[r])) * s);
    }
}

static void
test_losses (void)
{
  const int64_t N = 70;
  const int V = 8192, B = 48;
  int32_t tgt[70], lab[70];
  for (int i = 0; i < N; i++)
    {
      tgt[i] = (int32_t) (((frand () + 1.0f) * 0.5f) * (V - 1));
      lab[i] = i % 3 == 0;
    }
  float *z = rand_buf (N * V, 8), *loss = calloc (N, 4), *dz = calloc ((size_t) (N * V), 4);
  float *d_z = upf (z, N * V), *d_loss = upf (loss, N), *d_dz = upf (dz, N * V);
  int32_t *d_tgt = up (tgt, sizeof tgt), *d_lab = up (lab, sizeof lab);
  xent_ref (loss, dz, z, tgt, N, V, 1.0f / N);
  check_status (I->lm_xent (be->ctx, d_loss, d_dz, d_z, d_tgt, N, V, 1.0f / N), "lm_xent");
  compare ("lm_xent losses", d_loss, loss, N, TOL_FP32);
  compare ("lm_xent dlogits", d_dz, dz, N * V, TOL_FP32);
  xent_ref (loss, dz, z, lab, N, 2, 0.5f);
  check_status (I->itm_xent (be->ctx, d_loss, d_dz, d_z, d_lab, N, 0.5f), "itm_xent");
  compare ("itm_xent losses", d_loss, loss, N, TOL_FP32);
  compare ("itm_xent dlogits", d_dz, dz, N * 2, TOL_FP32);

  // ITC over a (B, B) similarity, as itc_forward / itc_backward
  float *sim = rand_buf ((int64_t) B * B, 10), *dsim = calloc ((size_t) B * B, 4), l = 0.0f;
  double li = 0.0, lt = 0.0;
  float coef = 1.0f / (2.0f * B);
  for (int i = 0; i < B; i++)
    {
      double mr = -INFINITY, mc = -INFINITY, sr = 0.0, sc = 0.0;
      for (int j = 0; j < B; j++)
        {
          mr = fmax (mr, sim[i * B + j]);
          mc = fmax (mc, sim[j * B + i]);
        }
      for (int j = 0; j < B; j++)
        {
          sr += exp (sim[i * B + j] - mr);
          sc += exp (sim[j * B + i] - mc);
        }
      li += mr + log (sr) - sim[i * B + i];
      lt += mc + log (sc) - sim[i * B + i];
      for (int j = 0; j < B; j++)
        {
          dsim[i * B + j] += (float) (coef * exp (sim[i * B + j] - mr) / sr);
          dsim[j * B + i] += (float) (coef * exp (sim[j * B + i] - mc) / sc);
        }
      dsim[i * B + i] -= 2.0f * coef;
    }
  l = (float) ((li + lt) / (2.0 * B));
  float *d_sim = upf (sim, (int64_t) B * B), *d_dsim = upf (sim, (int64_t) B * B);
  float *d_l = upf (&l, 1);
  check_status (I->itc_loss (be->ctx, d_l, d_dsim, d_sim, B), "itc_loss");
  compare ("itc_loss loss", d_l, &l, 1, TOL_FP32);
  compare ("itc_loss dsim", d_dsim, dsim, (int64_t) B * B, TOL_FP32);
  void *all[] = { z, loss, dz, sim, dsim };
  void *dall[] = { d_z, d_loss, d_dz, d_tgt, d_lab, d_sim, d_dsim, d_l };
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
    free (all[i]);
  for (size_t i = 0; i < sizeof dall / sizeof dall[0]; i++)
    I->free (be->ctx, dall[i]);
}

static void
test_adam (void)
{
  const int64_t n = 100003;
  float *p = rand_buf (n, 1), *g = rand_buf (n, 1), *m = rand_buf (n, 0.1f), *v = rand_buf (n, 0.1f);
  for (int64_t i = 0; i < n; i++)
    v[i] = fabsf (v[i]);
  float *d_p = upf (p, n), *d_g = upf (g, n), *d_m = upf (m, n), *d_v = upf (v, n);
  const float lr = 1e-3f, b1 = 0.9f, b2 = 0.999f, eps = 1e-8f, wd = 0.01f, clip = 0.7f;
  const int64_t step = 3;
  float step_size = lr / (1.0f - powf (b1, (float) step)), bc2 = sqrtf (1.0f - powf (b2, (float) step));
  for (int64_t i = 0; i < n; i++)
    {
      float gi = g[i] * clip + wd * p[i];
      m[i] = b1 * m[i] + (1.0f - b1) * gi;
      v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;
      p[i] -= step_size * m[i] / (sqrtf (v[i]) / bc2 + eps);
    }
  check_status (I->adam (be->ctx, d_p, d_m, d_v, d_g, n, lr, b1, b2, eps, wd, clip, step), "adam");
  compare ("adam params", d_p, p, n, TOL_FP32);
  compare ("adam m", d_m, m, n, TOL_FP32);
  compare ("adam v", d_v, v, n, TOL_FP32);
  void *all[] = { p, g, m, v };
  void *dall[] = { d_p, d_g, d_m, d_v };
  for (size_t i = 0; i < 4; i++)
    {
      free (all[i]);
      I->free (be->ctx, dall[i]);
    }
}

// A captured sequence (matmul, GELU, residual) replayed as one graph gives
// the CPU's result; replaying twice accumulates the residual twice.
static void
test_graph (void)
{
  const int64_t N = 64;
  const int IC = 64, OC = 64;
  float *x = rand_buf (N * IC, 1), *w = rand_buf ((int64_t) OC * IC, 0.2f), *b = rand_buf (OC, 0.1f);
  float *h = calloc ((size_t) (N * OC), 4), *g = calloc ((size_t) (N * OC), 4);
  float *acc = rand_buf (N * OC, 1);
  float *d_x = upf (x, N * IC), *d_w = upf (w, (int64_t) OC * IC), *d_b = upf (b, OC);
  float *d_h = upf (h, N * OC), *d_g = upf (g, N * OC), *d_acc = upf (acc, N * OC);
  void *graph = NULL;
  if (I->graph_begin == NULL)
    {
      fprintf (stderr, "FAIL: no graph support\n");
      failures++;
      return;
    }
  check_status (I->graph_begin (be->ctx), "graph_begin");
  check_status (I->matmul_forward (be->ctx, d_h, d_x, d_w, d_b, N, IC, OC), "captured matmul");
  check_status (I->gelu_forward (be->ctx, d_g, d_h, N * OC), "captured gelu");
  check_status (I->residual_forward (be->ctx, d_acc, d_acc, d_g, N * OC), "captured residual");
  check_status (I->graph_end (be->ctx, &graph), "graph_end");
  check_status (I->graph_launch (be->ctx, graph), "graph_launch");
  check_status (I->graph_launch (be->ctx, graph), "graph_launch");
  mve_matmul_forward (h, x, w, b, N, IC, OC);
  mve_gelu_forward (g, h, N * OC);
  for (int64_t i = 0; i < N * OC; i++)
    acc[i] += 2.0f * g[i];
  compare ("graph (matmul, gelu, residual) x2", d_acc, acc, N * OC, TOL_FP32);
  I->graph_free (be->ctx, graph);
  void *all[] = { x, w, b, h, g, acc };
  void *dall[] = { d_x, d_w, d_b, d_h, d_g, d_acc };
  for (size_t i = 0; i < 6; i++)
    {
      free (all[i]);
      I->free (be->ctx, dall[i]);
    }
}

static void
test_errors (void)
{
  // a failure is a status and a message, never an exit: an impossible
  // allocation reports the size asked for
  void *d = NULL;
  mve_status st = I->alloc (be->ctx, &d, (size_t) 1 << 50);
  const char *msg = I->last_error (be->ctx);
  printf ("alloc 1 PiB: %s: %s\n", mve_status_to_string (st), msg);
  if (st == MVE_STATUS_OK || d != NULL || strstr (msg, "1125899906842624") == NULL)
    {
      fprintf (stderr, "FAIL: an impossible allocation must fail and name its size\n");
      failures++;
    }
  st = I->matmul_forward (be->ctx, NULL, NULL, NULL, NULL, 4, 0, 4);
  if (st != MVE_STATUS_INVALID_ARGUMENT || I->last_error (be->ctx)[0] == '\0')
    {
      fprintf (stderr, "FAIL: a bad shape must be refused with a message\n");
      failures++;
    }
}

int
main (void)
{
  char why[512];
  struct mve_device_info info;
  mve_status st = mve_backend_open_cuda (&be, 0, why, sizeof why);
  if (st != MVE_STATUS_OK)
    {
      printf ("SKIP: %s\n", why);
      return 77;
    }
  I = be->iface;
  check_status (I->get_device_info (be->ctx, &info), "get_device_info");
  printf ("device: %s (compute %d.%d, driver %s, runtime %s)\n", info.name, info.cc_major,
          info.cc_minor, info.driver, info.runtime);
  for (int op = 0; op < MVE_OP_TRAIN_STEP; op++)
    if (!I->supports_op (be->ctx, (enum mve_op) op))
      {
        fprintf (stderr, "FAIL: op %s is not supported\n", mve_op_name ((enum mve_op) op));
        failures++;
      }
  test_matmul (TOL_FP32, "");
  test_layernorm_gelu_residual ();
  test_attention (0, 0);
  test_attention (1, 0);
  test_attention (0, 1);
  test_embedding ();
  test_losses ();
  test_adam ();
  check_status (I->set_precision (be->ctx, MVE_PRECISION_TF32), "set_precision");
  test_matmul (TOL_TF32, " (tf32)");
  check_status (I->set_precision (be->ctx, MVE_PRECISION_FP32), "set_precision");
  test_graph ();
  test_errors ();
  check_status (I->synchronize (be->ctx), "synchronize");
  mve_backend_close (be);
  if (failures > 0)
    {
      fprintf (stderr, "%d mismatches\n", failures);
      return 1;
    }
  printf ("all ops match\n");
  return 0;
}
