// SPDX-License-Identifier: GPL-3.0-or-later
// bench/gpu/bench-ops.c: the CUDA backend's ops at the paper configuration's
// training shapes (batch B, decoder rows of ~83 tokens, LM head over 8192
// tokens), each validated against the CPU engine first (relative error
// printed), then timed on the device (mean of ITERS calls, synchronised
// once) and on the CPU engine with THREADS threads in the same run; prints a
// JSON line per op with both times, the ratio and, for matrix products,
// GFLOP/s. Exits 77 when no CUDA device can be opened.
//
// Build (bench/gpu/run.sh does this):
//   gcc -std=gnu11 -O2 -I BUILD -I engine $(pkg-config --cflags openblas)
//       bench/gpu/bench-ops.c BUILD/engine/libmvaema-engine.a -lopenblas -lm -ldl
//       -lpthread -o bench-ops     (one line)
//   ./bench-ops [B] [THREADS] [ITERS]
#pragma GCC diagnostic ignored "-Wdeclaration-after-statement"
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mve-backend.h"
#include "mve-impl.h"

static struct mve_backend *be;
static const struct mve_backend_i *I;
static int threads = 2, iters = 20;

static double
now (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void
ok (mve_status st, const char *what)
{
  if (st != MVE_STATUS_OK)
    {
      fprintf (stderr, "bench-ops: %s: %s: %s\n", what, mve_status_to_string (st),
               I->last_error (be->ctx));
      exit (1);
    }
}

static float *
host_rand (int64_t n, float scale, unsigned seed)
{
  float *p = malloc (sizeof (float) * (size_t) n);
  for (int64_t i = 0; i < n; i++)
    {
      seed = seed * 1664525u + 1013904223u;
      p[i] = ((seed >> 8) / 16777216.0f * 2.0f - 1.0f) * scale;
    }
  return p;
}

static float *
dev (const float *h, int64_t n)
{
  void *d = NULL;
  ok (I->alloc (be->ctx, &d, sizeof (float) * (size_t) n), "alloc");
  ok (I->copy_to_device (be->ctx, d, h, sizeof (float) * (size_t) n), "upload");
  return d;
}

static double
rel_err (const float *d, const float *cpu, int64_t n)
{
  float *g = malloc (sizeof (float) * (size_t) n);
  double md = 0, mx = 1e-6;
  ok (I->copy_to_host (be->ctx, g, d, sizeof (float) * (size_t) n), "download");
  for (int64_t i = 0; i < n; i++)
    {
      double e = fabs ((double) g[i] - cpu[i]);
      md = e > md || isnan (e) ? e : md;
      mx = fabs (cpu[i]) > mx ? fabs (cpu[i]) : mx;
    }
  free (g);
  return md / mx;
}

static void
report (const char *op, double gpu_s, double cpu_s, double flops, double err)
{
  printf ("{\"op\": \"%s\", \"gpu_ms\": %.4f, \"cpu_ms\": %.3f, \"speedup\": %.1f, "
          "\"gpu_gflops\": %.1f, \"rel_err\": %.2g}\n",
          op, gpu_s * 1e3, cpu_s * 1e3, cpu_s / gpu_s, flops > 0 ? flops / gpu_s * 1e-9 : 0.0,
          err);
  fflush (stdout);
}

#define TIME_GPU(expr, out)                                                                     \
  do                                                                                            \
    {                                                                                           \
      ok (expr, #expr);                                                                         \
      ok (I->synchronize (be->ctx), "sync");                                                   \
      double t0_ = now ();                                                                      \
      for (int i_ = 0; i_ < iters; i_++)                                                        \
        ok (expr, #expr);                                                                       \
      ok (I->synchronize (be->ctx), "sync");                                                   \
      out = (now () - t0_) / iters;                                                             \
    }                                                                                           \
  while (0)

#define TIME_CPU(stmt, out)                                                                     \
  do                                                                                            \
    {                                                                                           \
      int n_ = iters < 3 ? iters : 3;                                                           \
      double t0_ = now ();                                                                      \
      for (int i_ = 0; i_ < n_; i_++)                                                           \
        stmt;                                                                                   \
      out = (now () - t0_) / n_;                                                                \
    }                                                                                           \
  while (0)

static void
bench_matmul (const char *name, int64_t N, int IC, int OC)
{
  float *x = host_rand (N * IC, 1, 1), *w = host_rand ((int64_t) OC * IC, 0.1f, 2);
  float *b = host_rand (OC, 0.1f, 3), *out = calloc ((size_t) (N * OC), 4);
  float *dx = calloc ((size_t) (N * IC), 4), *dw = calloc ((size_t) OC * IC, 4), *db = calloc (OC, 4);
  float *d_x = dev (x, N * IC), *d_w = dev (w, (int64_t) OC * IC), *d_b = dev (b, OC);
  float *d_out = dev (out, N * OC), *d_dx = dev (dx, N * IC), *d_dw = dev (dw, (int64_t) OC * IC);
  float *d_db = dev (db, OC);
  double g, c, err;
  char op[96];
  mve_matmul_forward_mt (threads, out, x, w, b, N, IC, OC);
  ok (I->matmul_forward (be->ctx, d_out, d_x, d_w, d_b, N, IC, OC), "matmul_forward");
  err = rel_err (d_out, out, N * OC);
  TIME_GPU (I->matmul_forward (be->ctx, d_out, d_x, d_w, d_b, N, IC, OC), g);
  TIME_CPU (mve_matmul_forward_mt (threads, out, x, w, b, N, IC, OC), c);
  snprintf (op, sizeof op, "matmul_forward %s (%lldx%dx%d)", name, (long long) N, IC, OC);
  report (op, g, c, 2.0 * N * IC * OC, err);
  TIME_GPU (I->matmul_backward (be->ctx, d_dx, d_dw, d_db, d_out, d_x, d_w, N, IC, OC), g);
  TIME_CPU (mve_matmul_backward_mt (threads, dx, 0, dw, db, out, x, w, N, IC, OC), c);
  snprintf (op, sizeof op, "matmul_backward %s", name);
  report (op, g, c, 4.0 * N * IC * OC, -1);
  free (x), free (w), free (b), free (out), free (dx), free (dw), free (db);
  void *d[] = { d_x, d_w, d_b, d_out, d_dx, d_dw, d_db };
  for (int i = 0; i < 7; i++)
    I->free (be->ctx, d[i]);
}

static void
bench_attention (int N, int T, int causal)
{
  const int NH = 4, hs = 16, C = NH * hs;
  int64_t qn = (int64_t) N * T * 3 * C, on = (int64_t) N * T * C, an = (int64_t) N * NH * T * T;
  float *q = host_rand (qn, 1, 4), *out = calloc ((size_t) on, 4), *att = calloc ((size_t) an, 4);
  float *dq = calloc ((size_t) qn, 4), *dout = host_rand (on, 1, 5);
  float *scratch = calloc ((size_t) threads * T * T, 4);
  int32_t *klen = malloc (sizeof (int32_t) * N);
  for (int n = 0; n < N; n++)
    klen[n] = T - n % 9;
  float *d_q = dev (q, qn), *d_out = dev (out, on), *d_att = dev (att, an), *d_dq = dev (dq, qn);
  float *d_dout = dev (dout, on);
  void *d_klen = NULL;
  ok (I->alloc (be->ctx, &d_klen, sizeof (int32_t) * N), "alloc");
  ok (I->copy_to_device (be->ctx, d_klen, klen, sizeof (int32_t) * N), "upload");
  struct mve_attn_desc d = { .N = N, .T = T, .Tk = T, .NH = NH, .hs = hs, .causal = causal,
                             .klen = klen, .q_seq = (int64_t) T * 3 * C,
                             .kv_seq = (int64_t) T * 3 * C, .ldq = 3 * C, .ldkv = 3 * C };
  struct mve_attn_desc dd = d;
  dd.klen = d_klen;
  double g, c, err;
  char op[96];
  mve_attention_forward (out, att, q, q + C, q + 2 * C, &d, threads);
  ok (I->attention_forward (be->ctx, d_out, d_att, d_q, d_q + C, d_q + 2 * C, &dd), "attention");
  err = rel_err (d_out, out, on);
  TIME_GPU (I->attention_forward (be->ctx, d_out, d_att, d_q, d_q + C, d_q + 2 * C, &dd), g);
  TIME_CPU (mve_attention_forward (out, att, q, q + C, q + 2 * C, &d, threads), c);
  snprintf (op, sizeof op, "attention_forward %s (N %d, T %d)", causal ? "causal" : "self", N, T);
  report (op, g, c, 4.0 * N * NH * T * T * hs, err);
  TIME_GPU (I->attention_backward (be->ctx, d_dq, d_dq + C, d_dq + 2 * C, (int64_t) T * 3 * C,
                                   3 * C, d_dout, d_att, d_q, d_q + C, d_q + 2 * C, &dd), g);
  TIME_CPU (mve_attention_backward (dq, dq + C, dq + 2 * C, (int64_t) T * 3 * C, 3 * C, dout, att, q,
                                    q + C, q + 2 * C, &d, scratch, threads), c);
  snprintf (op, sizeof op, "attention_backward %s", causal ? "causal" : "self");
  report (op, g, c, 8.0 * N * NH * T * T * hs, -1);
  free (q), free (out), free (att), free (dq), free (dout), free (scratch), free (klen);
  void *p[] = { d_q, d_out, d_att, d_dq, d_dout, d_klen };
  for (int i = 0; i < 6; i++)
    I->free (be->ctx, p[i]);
}

static void
bench_elementwise (int64_t N, int C, int V, int64_t nparams)
{
  float *x = host_rand (N * C * 4, 2, 6), *w = host_rand (C, 1, 7), *b = host_rand (C, 1, 8);
  float *out = calloc ((size_t) (N * C * 4), 4), *mean = calloc ((size_t) N, 4), *rstd = calloc ((size_t) N, 4);
  float *d_x = dev (x, N * C * 4), *d_w = dev (w, C), *d_b = dev (b, C), *d_out = dev (out, N * C * 4);
  float *d_mean = dev (mean, N), *d_rstd = dev (rstd, N);
  double g, c, err;
  mve_layernorm_forward (out, mean, rstd, x, w, b, N, C);
  ok (I->layernorm_forward (be->ctx, d_out, d_mean, d_rstd, d_x, d_w, d_b, N, C), "layernorm");
  err = rel_err (d_out, out, N * C);
  TIME_GPU (I->layernorm_forward (be->ctx, d_out, d_mean, d_rstd, d_x, d_w, d_b, N, C), g);
  TIME_CPU (mve_layernorm_forward (out, mean, rstd, x, w, b, N, C), c);
  report ("layernorm_forward", g, c, 0, err);
  mve_gelu_forward (out, x, N * C * 4);
  ok (I->gelu_forward (be->ctx, d_out, d_x, N * C * 4), "gelu");
  err = rel_err (d_out, out, N * C * 4);
  TIME_GPU (I->gelu_forward (be->ctx, d_out, d_x, N * C * 4), g);
  TIME_CPU (mve_gelu_forward (out, x, N * C * 4), c);
  report ("gelu_forward", g, c, 0, err);

  // LM cross-entropy over (Nlm, V): the CPU side is a plain two-pass loop
  int64_t Nlm = N * 61 / 83;
  float *z = host_rand (Nlm * V, 4, 9), *loss = calloc ((size_t) Nlm, 4), *dz = calloc ((size_t) (Nlm * V), 4);
  int32_t *tgt = malloc (sizeof (int32_t) * (size_t) Nlm);
  for (int64_t i = 0; i < Nlm; i++)
    tgt[i] = (int32_t) ((i * 7919) % V);
  float *d_z = dev (z, Nlm * V), *d_loss = dev (loss, Nlm), *d_dz = dev (dz, Nlm * V);
  void *d_tgt = NULL;
  ok (I->alloc (be->ctx, &d_tgt, sizeof (int32_t) * (size_t) Nlm), "alloc");
  ok (I->copy_to_device (be->ctx, d_tgt, tgt, sizeof (int32_t) * (size_t) Nlm), "upload");
  TIME_GPU (I->lm_xent (be->ctx, d_loss, d_dz, d_z, d_tgt, Nlm, V, 1.0f / Nlm), g);
  TIME_CPU (for (int64_t r = 0; r < Nlm; r++) {
              const float *zr = z + r * V;
              float mx = mve_max_row (zr, V);
              float s = mve_exp_row (dz + r * V, zr, V, mx, 1.0f);
              loss[r] = mx + logf (s) - zr[tgt[r]];
            }, c);
  report ("lm_xent (loss + dlogits)", g, c, 0, -1);

  // Adam over the model's parameter count
  float *p = host_rand (nparams, 1, 10), *gr = host_rand (nparams, 1, 11);
  float *m = calloc ((size_t) nparams, 4), *v = calloc ((size_t) nparams, 4);
  float *d_p = dev (p, nparams), *d_g = dev (gr, nparams), *d_m = dev (m, nparams), *d_v = dev (v, nparams);
  TIME_GPU (I->adam (be->ctx, d_p, d_m, d_v, d_g, nparams, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.0f, 1.0f, 1), g);
  TIME_CPU (for (int64_t i = 0; i < nparams; i++) {
              m[i] = 0.9f * m[i] + 0.1f * gr[i];
              v[i] = 0.999f * v[i] + 0.001f * gr[i] * gr[i];
              p[i] -= 1e-2f * m[i] / (sqrtf (v[i]) / 0.0316f + 1e-8f);
            }, c);
  report ("adam", g, c, 0, -1);
  void *h[] = { x, w, b, out, mean, rstd, z, loss, dz, tgt, p, gr, m, v };
  for (size_t i = 0; i < sizeof h / sizeof h[0]; i++)
    free (h[i]);
  void *dd[] = { d_x, d_w, d_b, d_out, d_mean, d_rstd, d_z, d_loss, d_dz, d_tgt, d_p, d_g, d_m, d_v };
  for (size_t i = 0; i < sizeof dd / sizeof dd[0]; i++)
    I->free (be->ctx, dd[i]);
}

int
main (int argc, char **argv)
{
  char why[512];
  struct mve_device_info info;
  int B = argc > 1 ? atoi (argv[1]) : 48;
  threads = argc > 2 ? atoi (argv[2]) : 2;
  iters = argc > 3 ? atoi (argv[3]) : 20;
  if (B < 2 || threads < 1 || iters < 1)
    {
      fprintf (stderr, "usage: bench-ops [B >= 2] [THREADS >= 1] [ITERS >= 1]\n");
      return 2;
    }
  if (mve_backend_open_cuda (&be, 0, why, sizeof why) != MVE_STATUS_OK)
    {
      fprintf (stderr, "bench-ops: no CUDA device: %s\n", why);
      return 77;
    }
  I = be->iface;
  ok (I->get_device_info (be->ctx, &info), "device info");
  printf ("{\"gpu\": \"%s\", \"cc\": \"%d.%d\", \"batch\": %d, \"cpu_threads\": %d, \"iters\": %d}\n",
          info.name, info.cc_major, info.cc_minor, B, threads, iters);
  const int C = 64, HC = 256, V = 8192, Td = 83;
  int64_t N = (int64_t) B * Td;
  bench_matmul ("qkv", N, C, 3 * C);
  bench_matmul ("fc", N, C, HC);
  bench_matmul ("proj", N, HC, C);
  bench_matmul ("lm_head", (int64_t) B * 61, C, V);
  bench_attention (B, Td, 1);
  bench_attention (B, 50, 0);
  bench_elementwise (N, C, V, 2019203); // the paper model's parameter count
  ok (I->set_precision (be->ctx, MVE_PRECISION_TF32), "tf32");
  bench_matmul ("lm_head tf32", (int64_t) B * 61, C, V);
  mve_backend_close (be);
  return 0;
}
