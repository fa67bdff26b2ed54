/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-cli-bench.c: `mvaema-cli bench`, times the engine on the paper
 * configuration (issue 3).
 *
 *   mvaema-cli bench [--threads N] [--gen-threads N] [--steps N] [--batch N]
 *                    [--gen-runs N] [--device cpu|cuda|auto] [--json]
 *
 * The workload is the one bench/reference/bench_torch.py runs on PyTorch:
 *   train_samples_per_s  Adam steps (clip 1.0) on batches of 48 random inputs,
 *                        question 15..25 tokens, answer 45..75 tokens (about
 *                        20 and 60), images uniform in [-1, 1]; ITC + ITM + LM;
 *                        one warm-up step is not timed.
 *   generate_ms_64       one image, one 20-token question, 64 greedy tokens,
 *                        batch 1, median of --gen-runs after one warm-up.
 *   peak_rss_mb          peak resident memory of the process (getrusage).
 * Also: train_step_ms (mean), train_cpu_s_per_step and generate_cpu_ms_64
 * (process CPU time, all threads: comparable on a busy machine where wall
 * time is not), sgemm_gflops (OpenBLAS cblas_sgemm, 1024^3, on
 * the same threads: the rate the training step is measured against), params.
 * One JSON object on stdout with --json, else a short table.
 *
 * --device cuda (or auto on a machine where CUDA runs whole steps): the
 * steps run on the device through mve-device.h (mve_device_model_step:
 * forward with random ITM negatives, backward and Adam, one synchronisation
 * a step; the CPU branch mines the hardest negatives, the same work) and the
 * answers are generated there (mve_device_model_generate); "device" is
 * "cuda" and "device_name" names the GPU. CPU times then measure the host's
 * share only.
 */
#define G_LOG_DOMAIN "mva-cli"
#include "config.h"

#include <cblas.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "mva-cli.h"
#include "mve-backend.h"
#include "mve-device.h"
#include "mve.h"

static guint64 rng = 0x853c49e6748fea9bULL;

static guint32
rnd (void)
{
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (guint32) (rng >> 16);
}

static float
rnd_unit (void)
{
  return (float) (rnd () >> 8) / (float) (1u << 24);
}

typedef struct
{
  float   *images;   /* (B, 3, S, S) */
  int32_t *q, *qlen, *a, *alen;
  int32_t  Tq, Ta;
} RandomBatch;

static void
random_batch (RandomBatch *rb, const struct mve_config *c, int32_t B)
{
  gsize img = (gsize) 3 * c->image_size * c->image_size;

  rb->Tq = rb->Ta = 0;
  rb->images = g_new (float, (gsize) B * img);
  rb->qlen = g_new (int32_t, B);
  rb->alen = g_new (int32_t, B);
  for (gsize i = 0; i < (gsize) B * img; i++)
    rb->images[i] = rnd_unit () * 2.0f - 1.0f;
  for (int32_t b = 0; b < B; b++)
    {
      rb->qlen[b] = 15 + (int32_t) (rnd () % 11);
      rb->alen[b] = 45 + (int32_t) (rnd () % 31);
      rb->Tq = MAX (rb->Tq, rb->qlen[b]);
      rb->Ta = MAX (rb->Ta, rb->alen[b]);
    }
  rb->q = g_new0 (int32_t, (gsize) B * rb->Tq);
  rb->a = g_new0 (int32_t, (gsize) B * rb->Ta);
  for (int32_t b = 0; b < B; b++)
    {
      for (int32_t t = 0; t < rb->qlen[b]; t++)
        rb->q[(gsize) b * rb->Tq + t] = MVE_TOKEN_N_SPECIAL + (int32_t) (rnd () % (guint32) (c->vocab_size - MVE_TOKEN_N_SPECIAL));
      for (int32_t t = 0; t < rb->alen[b]; t++)
        rb->a[(gsize) b * rb->Ta + t] = MVE_TOKEN_N_SPECIAL + (int32_t) (rnd () % (guint32) (c->vocab_size - MVE_TOKEN_N_SPECIAL));
    }
}

static void
random_batch_clear (RandomBatch *rb)
{
  g_free (rb->images);
  g_free (rb->q);
  g_free (rb->qlen);
  g_free (rb->a);
  g_free (rb->alen);
}

static double
measure_sgemm_gflops (int threads)
{
  const int n = 1024;
  float *A = g_new (float, (gsize) n * n), *B = g_new (float, (gsize) n * n);
  float *C = g_new0 (float, (gsize) n * n);
  double best = 0;

  for (gsize i = 0; i < (gsize) n * n; i++)
    {
      A[i] = rnd_unit () - 0.5f;
      B[i] = rnd_unit () - 0.5f;
    }
  openblas_set_num_threads (threads);
  for (int r = 0; r < 4; r++)
    {
      gint64 t0 = g_get_monotonic_time ();
      double s;
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, A, n, B, n, 0.0f, C,
                   n);
      s = (g_get_monotonic_time () - t0) / 1e6;
      if (r > 0 && s > 0)
        best = MAX (best, 2.0 * n * n * (double) n / s / 1e9);
    }
  g_free (A);
  g_free (B);
  g_free (C);
  return best;
}

/* CPU time of the whole process (all threads), seconds: comparable across
 * loads where wall time is not (bench_torch.py reports the same) */
static double
cpu_seconds (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* FLOPs of one training step (forward + backward) on this batch, counting
 * the matrix products and attention: per stack and layer 8C^2 per token for
 * self-attention projections, 4C^2 per token plus 4 Nimg Tk C^2 for cross-
 * attention projections, 4 C HC per token for the MLP, 4 L Lk C per
 * sequence for each attention (scores and mixing), backward twice forward;
 * the patch embedding (forward + weight gradient) and the LM head (3 products
 * over the answer positions). With padded = TRUE every sequence has the
 * batch's longest length, as a padded implementation (the PyTorch
 * reference) computes; else the engine's packed rows. ITM sequences: three
 * per image with the answer lengths of the batch (the negatives' texts are
 * other rows' answers, so the sum is estimated as 3x the positives'). */
static double
train_step_flops (const struct mve_config *c, const RandomBatch *rb, int B, gboolean padded)
{
  double C = c->width, HC = (double) c->width * c->mlp_ratio, V = c->vocab_size;
  double G = c->image_size / c->patch_size, P = G * G, Nv = P + 1;
  double K = (double) c->channels * c->patch_size * c->patch_size;
  double fwd = 0, lm = 0, rows_t = 0, sq_t = 0, rows_d = 0, sq_d = 0, nlm = 0;
  for (int b = 0; b < B; b++)
    {
      double lt = 1 + (padded ? rb->Ta : rb->alen[b]);
      double ld = (padded ? rb->Tq + rb->Ta : rb->qlen[b] + rb->alen[b]) + 3;
      rows_t += lt;
      sq_t += lt * lt;
      rows_d += ld;
      sq_d += ld * ld;
      nlm += rb->alen[b] + 1;
    }
  /* vision: B sequences of Nv tokens, self-attention + MLP */
  fwd += c->vision_layers * (B * Nv * (8 * C * C + 4 * C * HC) + B * 4 * Nv * Nv * C);
  /* text encoder (ITC) */
  if (c->use_itc)
    fwd += c->text_layers * (rows_t * (4 * C * HC + (c->use_sa ? 8 * C * C : 0))
                             + (c->use_sa ? 4 * sq_t * C : 0));
  /* image-grounded encoder (ITM): 3B sequences, cross-attention to B images */
  if (c->use_itm)
    fwd += c->text_layers * (3 * rows_t * (4 * C * HC + (c->use_sa ? 8 * C * C : 0)
                                           + (c->use_ca ? 4 * C * C + 4 * Nv * C : 0))
                             + (c->use_sa ? 3 * 4 * sq_t * C : 0)
                             + (c->use_ca ? 4 * B * Nv * C * C : 0));
  /* decoder */
  fwd += c->decoder_layers * (rows_d * (4 * C * HC + (c->use_csa ? 8 * C * C : 0)
                                        + (c->use_ca ? 4 * C * C + 4 * Nv * C : 0))
                              + (c->use_csa ? 4 * sq_d * C : 0)
                              + (c->use_ca ? 4 * B * Nv * C * C : 0));
  lm = 3 * 2 * nlm * C * V;
  return 3 * fwd + lm + 2 * (2 * B * P * K * C);
}

static int
cmp_double (const void *x, const void *y)
{
  double a = *(const double *) x, b = *(const double *) y;
  return (a > b) - (a < b);
}

int
mva_cli_bench (int argc, char **argv)
{
  g_autofree char *threads_s = NULL, *gen_threads_s = NULL, *steps_s = NULL, *batch_s = NULL;
  g_autofree char *runs_s = NULL, *device = NULL, *device_used = NULL, *device_note = NULL;
  gboolean json = FALSE;
  guint64 threads = 0, gen_threads = 0, steps = 5, batch = 48, runs = 5;
  struct mve_config cfg;
  struct mve_adam adam;
  mve_model_t model = NULL;
  char err[512] = "";
  mve_status st;
  double train_s = 0, train_cpu_s = 0, sgemm, gen_ms, gen_cpu_ms, sps, rss_mb;
  double flops = 0, flops_padded = 0; /* summed over the timed steps */
  g_autofree double *gen_times = NULL, *gen_cpu = NULL;
  int32_t gen_tokens = 0, question[20];
  g_autofree float *image = NULL;
  g_autofree int32_t *out_tokens = NULL;
  GCancellable *cancel = mva_cli_cancellable ();
  struct rusage ru;
  struct mve_backend *be = NULL;
  mve_device_model *dm = NULL;
  struct mve_device_info dev_info = { 0 };
  const GOptionEntry entries[] = {
    { "threads", 0, 0, G_OPTION_ARG_STRING, &threads_s, "Threads (default: all CPUs)", "N" },
    { "gen-threads", 0, 0, G_OPTION_ARG_STRING, &gen_threads_s,
      "Threads for generation (default: --threads)", "N" },
    { "steps", 0, 0, G_OPTION_ARG_STRING, &steps_s, "Timed training steps (default 5)", "N" },
    { "batch", 0, 0, G_OPTION_ARG_STRING, &batch_s, "Training batch (default 48)", "N" },
    { "gen-runs", 0, 0, G_OPTION_ARG_STRING, &runs_s, "Timed generations (default 5)", "N" },
    { "device", 0, 0, G_OPTION_ARG_STRING, &device, "Engine device: cpu, cuda or auto (default: "
      "auto, the CPU when CUDA cannot run the steps)", "DEVICE" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print one JSON object", NULL },
    { NULL }
  };

  if (!mva_cli_parse ("bench", NULL, "Time the engine on the paper configuration "
                      "(training throughput, 64-token generation, peak memory).", entries,
                      &argc, &argv))
    return 2;
  if (argc > 1)
    return mva_cli_fail ("bench: unexpected argument “%s”", argv[1]);
  if (!mva_cli_resolve_device ("bench", device, &device_used, &device_note))
    return 1;
  threads = (guint64) g_get_num_processors ();
  if (!mva_cli_parse_uint ("bench", "--threads", threads_s, 1, 256, &threads) ||
      !mva_cli_parse_uint ("bench", "--steps", steps_s, 1, 10000, &steps) ||
      !mva_cli_parse_uint ("bench", "--batch", batch_s, 2, 4096, &batch) ||
      !mva_cli_parse_uint ("bench", "--gen-runs", runs_s, 1, 10000, &runs))
    return 1;
  gen_threads = threads;
  if (!mva_cli_parse_uint ("bench", "--gen-threads", gen_threads_s, 1, 256, &gen_threads))
    return 1;
  if (g_str_equal (device_used, "cuda"))
    {
      char why[512] = "";

      /* resolved just now; a failure here is a race with the device */
      if (mve_backend_open_cuda (&be, 0, why, sizeof why) != MVE_STATUS_OK)
        return mva_cli_fail ("bench: cannot open the CUDA device: %s", why);
      if (be->iface->get_device_info (be->ctx, &dev_info) != MVE_STATUS_OK)
        g_strlcpy (dev_info.name, "?", sizeof dev_info.name);
    }

  mve_config_init_default (&cfg);
  st = mve_model_init (&model, &cfg, 0, (int32_t) threads, err, sizeof err);
  if (st == MVE_STATUS_OK && be != NULL)
    st = mve_device_model_open (&dm, model, be, err, sizeof err);
  if (st != MVE_STATUS_OK)
    {
      mve_model_free (model);
      mve_backend_close (be);
      return mva_cli_fail ("bench: cannot create the model: %s", err);
    }
  mve_adam_init_default (&adam);

  sgemm = measure_sgemm_gflops ((int) threads);
  /* the engine sets its own BLAS threads per call; leave it as configured */
  mve_model_set_threads (model, (int32_t) threads);

  /* --- training --- */
  for (guint64 i = 0; i < steps + 1; i++)
    {
      RandomBatch rb;
      struct mve_batch b;
      struct mve_losses L;
      gint64 t0;
      double c0;

      if (g_cancellable_is_cancelled (cancel))
        {
          mve_device_model_close (dm);
          mve_model_free (model);
          mve_backend_close (be);
          mva_cli_fail ("bench: interrupted");
          return 130;
        }
      random_batch (&rb, &cfg, (int32_t) batch);
      b.B = (int32_t) batch;
      b.images = rb.images;
      b.question = rb.q;
      b.question_len = rb.qlen;
      b.answer = rb.a;
      b.answer_len = rb.alen;
      b.Tq = rb.Tq;
      b.Ta = rb.Ta;
      t0 = g_get_monotonic_time ();
      c0 = cpu_seconds ();
      if (dm != NULL)
        {
          /* the whole step on the device; ITC head at the full lr, as the
           * CPU branch's plain Adam */
          st = mve_device_model_step (dm, &b, i + 1, 1, &adam, (int64_t) i + 1, 1.0f, &L, NULL,
                                      err, sizeof err);
        }
      else
        {
          st = mve_model_forward (model, &b, &L);
          if (st == MVE_STATUS_OK)
            {
              mve_model_zero_grad (model);
              st = mve_model_backward (model);
            }
          if (st == MVE_STATUS_OK)
            st = mve_model_adam_step (model, &adam, (int64_t) i + 1);
        }
      if (i > 0)
        {
          train_s += (g_get_monotonic_time () - t0) / 1e6;
          train_cpu_s += cpu_seconds () - c0;
          flops += train_step_flops (&cfg, &rb, (int) batch, FALSE);
          flops_padded += train_step_flops (&cfg, &rb, (int) batch, TRUE);
        }
      random_batch_clear (&rb);
      if (st != MVE_STATUS_OK)
        {
          g_autofree char *msg = g_strdup (dm != NULL ? err : mve_model_last_error (model));
          mve_device_model_close (dm);
          mve_model_free (model);
          mve_backend_close (be);
          return mva_cli_fail ("bench: training step failed: %s", msg);
        }
      mva_cli_progress ("bench: training step %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT,
                        i + 1, steps + 1);
    }
  sps = (double) batch * steps / train_s;

  /* --- generation ---
   * on a freshly initialised model: the trained one has just learnt from
   * random answers that <EOS> is the most frequent token and would stop at
   * once, while the PyTorch reference never stops early */
  mve_device_model_close (dm);
  dm = NULL;
  mve_model_free (model);
  model = NULL;
  st = mve_model_init (&model, &cfg, 1, (int32_t) gen_threads, err, sizeof err);
  if (st == MVE_STATUS_OK && be != NULL)
    st = mve_device_model_open (&dm, model, be, err, sizeof err);
  if (st != MVE_STATUS_OK)
    {
      mve_model_free (model);
      mve_backend_close (be);
      return mva_cli_fail ("bench: cannot create the model: %s", err);
    }
  image = g_new (float, (gsize) 3 * cfg.image_size * cfg.image_size);
  out_tokens = g_new (int32_t, 64);
  gen_times = g_new (double, runs + 1);
  gen_cpu = g_new (double, runs + 1);
  /* a random model may emit <EOS> early; draw another question until the
   * answer runs the full 64 tokens (almost always the first) */
  for (int attempt = 0; attempt < 20; attempt++)
    {
      for (int i = 0; i < 3 * cfg.image_size * cfg.image_size; i++)
        image[i] = rnd_unit () * 2.0f - 1.0f;
      for (int i = 0; i < 20; i++)
        question[i] = MVE_TOKEN_N_SPECIAL + (int32_t) (rnd () % (guint32) (cfg.vocab_size - MVE_TOKEN_N_SPECIAL));
      st = dm != NULL
           ? mve_device_model_generate (dm, image, question, 20, 64, NULL, NULL, out_tokens,
                                        &gen_tokens, err, sizeof err)
           : mve_model_generate (model, image, question, 20, 64, 1, NULL, NULL, out_tokens,
                                 &gen_tokens, NULL, err, sizeof err);
      if (st != MVE_STATUS_OK || gen_tokens == 64)
        break;
    }
  if (st != MVE_STATUS_OK)
    {
      mve_device_model_close (dm);
      mve_model_free (model);
      mve_backend_close (be);
      return mva_cli_fail ("bench: generation failed: %s", err);
    }
  for (guint64 r = 0; r < runs + 1; r++)
    {
      gint64 t0 = g_get_monotonic_time ();
      double c0 = cpu_seconds ();
      int32_t n = 0;
      st = dm != NULL
           ? mve_device_model_generate (dm, image, question, 20, 64, NULL, NULL, out_tokens, &n,
                                        err, sizeof err)
           : mve_model_generate (model, image, question, 20, 64, 1, NULL, NULL, out_tokens, &n,
                                 NULL, err, sizeof err);
      gen_times[r] = (g_get_monotonic_time () - t0) / 1e3;
      gen_cpu[r] = (cpu_seconds () - c0) * 1e3;
      if (st != MVE_STATUS_OK)
        {
          mve_device_model_close (dm);
          mve_model_free (model);
          mve_backend_close (be);
          return mva_cli_fail ("bench: generation failed: %s", err);
        }
      mva_cli_progress ("bench: generation %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT, r + 1,
                        runs + 1);
    }
  mva_cli_progress_done ();
  qsort (gen_times + 1, runs, sizeof (double), cmp_double);
  gen_ms = gen_times[1 + runs / 2];
  qsort (gen_cpu + 1, runs, sizeof (double), cmp_double);
  gen_cpu_ms = gen_cpu[1 + runs / 2];
  getrusage (RUSAGE_SELF, &ru);
  rss_mb = ru.ru_maxrss / 1024.0;

  if (json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "impl");
      json_builder_add_string_value (b, "mvaema-engine");
      json_builder_set_member_name (b, "device");
      json_builder_add_string_value (b, device_used);
      if (be != NULL)
        {
          json_builder_set_member_name (b, "device_name");
          json_builder_add_string_value (b, dev_info.name);
        }
      if (device_note != NULL)
        {
          json_builder_set_member_name (b, "device_note");
          json_builder_add_string_value (b, device_note);
        }
      json_builder_set_member_name (b, "threads");
      json_builder_add_int_value (b, (gint64) threads);
      json_builder_set_member_name (b, "gen_threads");
      json_builder_add_int_value (b, (gint64) gen_threads);
      json_builder_set_member_name (b, "batch");
      json_builder_add_int_value (b, (gint64) batch);
      json_builder_set_member_name (b, "train_samples_per_s");
      json_builder_add_double_value (b, round (sps * 100) / 100);
      json_builder_set_member_name (b, "train_step_ms");
      json_builder_add_double_value (b, round (train_s / steps * 1e5) / 100);
      json_builder_set_member_name (b, "generate_ms_64");
      json_builder_add_double_value (b, round (gen_ms * 100) / 100);
      json_builder_set_member_name (b, "generate_tokens");
      json_builder_add_int_value (b, gen_tokens);
      json_builder_set_member_name (b, "peak_rss_mb");
      json_builder_add_double_value (b, round (rss_mb * 10) / 10);
      json_builder_set_member_name (b, "sgemm_gflops");
      json_builder_add_double_value (b, round (sgemm * 10) / 10);
      json_builder_set_member_name (b, "train_cpu_s_per_step");
      json_builder_add_double_value (b, round (train_cpu_s / steps * 1e3) / 1e3);
      json_builder_set_member_name (b, "generate_cpu_ms_64");
      json_builder_add_double_value (b, round (gen_cpu_ms * 100) / 100);
      /* how close a step comes to the time its products need at the
       * measured sgemm rate (see train_step_flops) */
      json_builder_set_member_name (b, "train_gflop_per_step");
      json_builder_add_double_value (b, round (flops / steps / 1e7) / 100);
      json_builder_set_member_name (b, "train_gflop_per_step_padded");
      json_builder_add_double_value (b, round (flops_padded / steps / 1e7) / 100);
      json_builder_set_member_name (b, "train_sgemm_bound_ms");
      json_builder_add_double_value (b, round (flops / steps / (sgemm * 1e9) * 1e5) / 100);
      json_builder_set_member_name (b, "params");
      json_builder_add_int_value (b, mve_model_num_params (model));
      json_builder_end_object (b);
      mva_cli_print_builder (b);
    }
  else
    {
      if (be != NULL)
        printf ("engine (cuda: %s, paper configuration, %" G_GINT64_FORMAT " parameters)\n",
                dev_info.name, mve_model_num_params (model));
      else
        printf ("engine (cpu, %" G_GUINT64_FORMAT " threads, paper configuration, %" G_GINT64_FORMAT
                " parameters)\n", threads, mve_model_num_params (model));
      printf ("  training, batch %" G_GUINT64_FORMAT ":   %.2f samples/s (%.1f ms per step)\n",
              batch, sps, train_s / steps * 1e3);
      if (be != NULL)
        printf ("  64-token greedy answer: %.2f ms (on the device%s)\n", gen_ms,
                gen_tokens == 64 ? "" : ", stopped early at <EOS>");
      else
        printf ("  64-token greedy answer: %.2f ms (%" G_GUINT64_FORMAT " threads%s)\n", gen_ms,
                gen_threads, gen_tokens == 64 ? "" : ", stopped early at <EOS>");
      printf ("  FLOPs per step:         %.2f GFLOP (%.2f padded); at the sgemm rate %.1f ms\n",
              flops / steps / 1e9, flops_padded / steps / 1e9, flops / steps / (sgemm * 1e9) * 1e3);
      printf ("  peak memory:            %.1f MB\n", rss_mb);
      printf ("  sgemm 1024^3:           %.1f GFLOP/s\n", sgemm);
      if (device_note != NULL)
        printf ("  device:                 cpu (%s)\n", device_note);
    }
  mve_device_model_close (dm);
  mve_model_free (model);
  mve_backend_close (be);
  return 0;
}
