// SPDX-License-Identifier: GPL-3.0-or-later
// bench/gpu/bench-model.c: the whole model on the CUDA device (mve-device.h)
// at the paper configuration, with the workload of `mvaema-cli bench` and
// bench/reference/bench_torch.py: random batches (images uniform in [-1, 1],
// question 15..25 tokens, answer 45..75, about 20 and 60). Prints one JSON
// object per line:
//   {"bench":"device", ...}            the device (name, memory, SMs)
//   {"bench":"train","batch":B,"precision":"fp32"|"tf32", ...}
//       samples_per_s and step_ms over STEPS timed device steps (forward,
//       backward, Adam with clipping and the ITC head's lr scale 0.1, as
//       mve_train) after WARMUP untimed ones; gflop_per_step (packed rows,
//       app/mva-cli-bench.c's count) and achieved tflops
//   {"bench":"generate", ...}           greedy answer of 64 tokens (a fresh
//       model; another question is drawn while <EOS> comes early), median
//       of GEN_RUNS after a warm-up; tokens says how many it made
//   {"bench":"train_cpu", ...}          the CPU engine at batch 48 (THREADS)
//   {"bench":"summary", ...}            best batch, epoch estimate
//       (21283 * 10 / samples_per_s), CPU/GPU ratio at batch 48
// Exits 77 when no CUDA device with whole-model support can be opened.
//
//   bench-model [--batches 48,256,1024] [--steps 20] [--warmup 3]
//               [--gen-runs 9] [--threads N] [--cpu-steps 2] [--no-cpu]
#pragma GCC diagnostic ignored "-Wdeclaration-after-statement"
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mve-device.h"
#include "mve.h"

#define EPOCH_SAMPLES (21283.0 * 10.0)

static uint64_t rng = 0x853c49e6748fea9bULL;

static uint32_t
rnd (void)
{
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (uint32_t) (rng >> 16);
}

static float
rnd_unit (void)
{
  return (float) (rnd () >> 8) / (float) (1u << 24);
}

static double
now (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

struct rbatch
{
  float *images;
  int32_t *q, *qlen, *a, *alen;
  int32_t Tq, Ta, B;
  struct mve_batch b;
};

// app/mva-cli-bench.c's random_batch
static int
random_batch (struct rbatch *rb, const struct mve_config *c, int32_t B)
{
  size_t img = (size_t) 3 * c->image_size * c->image_size;
  memset (rb, 0, sizeof *rb);
  rb->B = B;
  rb->images = malloc (sizeof (float) * (size_t) B * img);
  rb->qlen = malloc (sizeof (int32_t) * (size_t) B);
  rb->alen = malloc (sizeof (int32_t) * (size_t) B);
  if (!rb->images || !rb->qlen || !rb->alen)
    return -1;
  for (size_t i = 0; i < (size_t) B * img; i++)
    rb->images[i] = rnd_unit () * 2.0f - 1.0f;
  for (int32_t b = 0; b < B; b++)
    {
      rb->qlen[b] = 15 + (int32_t) (rnd () % 11);
      rb->alen[b] = 45 + (int32_t) (rnd () % 31);
      if (rb->qlen[b] > rb->Tq)
        rb->Tq = rb->qlen[b];
      if (rb->alen[b] > rb->Ta)
        rb->Ta = rb->alen[b];
    }
  rb->q = calloc ((size_t) B * rb->Tq, sizeof (int32_t));
  rb->a = calloc ((size_t) B * rb->Ta, sizeof (int32_t));
  if (!rb->q || !rb->a)
    return -1;
  uint32_t nv = (uint32_t) (c->vocab_size - MVE_TOKEN_N_SPECIAL);
  for (int32_t b = 0; b < B; b++)
    {
      for (int32_t t = 0; t < rb->qlen[b]; t++)
        rb->q[(size_t) b * rb->Tq + t] = MVE_TOKEN_N_SPECIAL + (int32_t) (rnd () % nv);
      for (int32_t t = 0; t < rb->alen[b]; t++)
        rb->a[(size_t) b * rb->Ta + t] = MVE_TOKEN_N_SPECIAL + (int32_t) (rnd () % nv);
    }
  rb->b = (struct mve_batch) { B, rb->images, rb->q, rb->qlen, rb->a, rb->alen, rb->Tq, rb->Ta };
  return 0;
}

static void
random_batch_clear (struct rbatch *rb)
{
  free (rb->images);
  free (rb->q);
  free (rb->qlen);
  free (rb->a);
  free (rb->alen);
  memset (rb, 0, sizeof *rb);
}

// app/mva-cli-bench.c's train_step_flops with packed rows (the engine's)
static double
train_step_flops (const struct mve_config *c, const struct rbatch *rb)
{
  int B = rb->B;
  double C = c->width, HC = (double) c->width * c->mlp_ratio, V = c->vocab_size;
  double G = c->image_size / c->patch_size, P = G * G, Nv = P + 1;
  double K = (double) c->channels * c->patch_size * c->patch_size;
  double fwd = 0, lm = 0, rows_t = 0, sq_t = 0, rows_d = 0, sq_d = 0, nlm = 0;
  for (int b = 0; b < B; b++)
    {
      double lt = 1 + rb->alen[b];
      double ld = rb->qlen[b] + rb->alen[b] + 3;
      rows_t += lt;
      sq_t += lt * lt;
      rows_d += ld;
      sq_d += ld * ld;
      nlm += rb->alen[b] + 1;
    }
  fwd += c->vision_layers * (B * Nv * (8 * C * C + 4 * C * HC) + B * 4 * Nv * Nv * C);
  if (c->use_itc)
    fwd += c->text_layers * (rows_t * (4 * C * HC + (c->use_sa ? 8 * C * C : 0))
                             + (c->use_sa ? 4 * sq_t * C : 0));
  if (c->use_itm)
    fwd += c->text_layers * (3 * rows_t * (4 * C * HC + (c->use_sa ? 8 * C * C : 0)
                                           + (c->use_ca ? 4 * C * C + 4 * Nv * C : 0))
                             + (c->use_sa ? 3 * 4 * sq_t * C : 0)
                             + (c->use_ca ? 4 * B * Nv * C * C : 0));
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

static void
json_str (const char *key, const char *s)
{
  printf ("\"%s\":\"", key);
  for (; *s; s++)
    {
      if (*s == '"' || *s == '\\')
        printf ("\\%c", *s);
      else if ((unsigned char) *s < 0x20)
        printf (" ");
      else
        putchar (*s);
    }
  printf ("\"");
}

static void
print_error (const char *bench, int32_t B, const char *prec, const char *msg)
{
  printf ("{\"bench\":\"%s\",\"batch\":%d,\"precision\":\"%s\",", bench, B, prec);
  json_str ("error", msg);
  printf ("}\n");
  fflush (stdout);
}

#define NB 3 // distinct batches per size, cycled

// Device training at batch B and precision prec; returns samples/s (0 on error).
static double
bench_train (struct mve_backend *be, const struct mve_config *cfg, int32_t B, int tf32, int steps,
             int warmup)
{
  const char *prec = tf32 ? "tf32" : "fp32";
  char err[512] = "";
  mve_model_t m = NULL;
  mve_device_model *dm = NULL;
  struct rbatch rb[NB];
  double sps = 0, flops = 0;
  memset (rb, 0, sizeof rb);
  mve_status st = be->iface->set_precision (be->ctx, tf32 ? MVE_PRECISION_TF32 : MVE_PRECISION_FP32);
  if (st != MVE_STATUS_OK)
    {
      print_error ("train", B, prec, be->iface->last_error (be->ctx));
      return 0;
    }
  if (mve_model_init (&m, cfg, 0, 1, err, sizeof err) != MVE_STATUS_OK
      || mve_device_model_open (&dm, m, be, err, sizeof err) != MVE_STATUS_OK)
    {
      print_error ("train", B, prec, err);
      goto out;
    }
  for (int i = 0; i < NB; i++)
    if (random_batch (&rb[i], cfg, B) != 0)
      {
        print_error ("train", B, prec, "out of host memory for the batches");
        goto out;
      }
  struct mve_adam adam;
  mve_adam_init_default (&adam);
  struct mve_losses L = { 0 };
  float norm = 0;
  int64_t step = 1;
  for (int i = 0; i < warmup; i++, step++)
    if (mve_device_model_step (dm, &rb[i % NB].b, (uint64_t) step, 1, &adam, step, 0.1f, &L, &norm,
                               err, sizeof err)
        != MVE_STATUS_OK)
      {
        print_error ("train", B, prec, err);
        goto out;
      }
  double t0 = now ();
  for (int i = 0; i < steps; i++, step++)
    {
      const struct rbatch *r = &rb[(warmup + i) % NB];
      if (mve_device_model_step (dm, &r->b, (uint64_t) step, 1, &adam, step, 0.1f, &L, &norm, err,
                                 sizeof err)
          != MVE_STATUS_OK)
        {
          print_error ("train", B, prec, err);
          goto out;
        }
      flops += train_step_flops (cfg, r);
    }
  double s = now () - t0;
  sps = (double) B * steps / s;
  printf ("{\"bench\":\"train\",\"batch\":%d,\"precision\":\"%s\",\"steps\":%d,\"warmup\":%d,"
          "\"samples_per_s\":%.2f,\"step_ms\":%.3f,\"gflop_per_step\":%.3f,\"tflops\":%.3f,"
          "\"loss_last\":%.4f,\"grad_norm_last\":%.4f}\n",
          B, prec, steps, warmup, sps, s / steps * 1e3, flops / steps / 1e9, flops / s / 1e12,
          (double) L.total, (double) norm);
  fflush (stdout);
out:
  for (int i = 0; i < NB; i++)
    random_batch_clear (&rb[i]);
  mve_device_model_close (dm);
  mve_model_free (m);
  be->iface->set_precision (be->ctx, MVE_PRECISION_FP32);
  return sps;
}

static bool
never_stop (void *user, int32_t token, const float *attn)
{
  (void) user;
  (void) token;
  (void) attn;
  return true;
}

static double
bench_generate (struct mve_backend *be, const struct mve_config *cfg, int runs, int tf32)
{
  char err[512] = "";
  mve_model_t m = NULL;
  mve_device_model *dm = NULL;
  const char *prec = tf32 ? "tf32" : "fp32";
  double med = 0;
  int32_t question[20], out[64], n = 0;
  size_t img = (size_t) 3 * cfg->image_size * cfg->image_size;
  float *image = malloc (sizeof (float) * img);
  double *times = calloc ((size_t) runs, sizeof (double));
  be->iface->set_precision (be->ctx, tf32 ? MVE_PRECISION_TF32 : MVE_PRECISION_FP32);
  // a fresh model, as mvaema-cli bench: a trained one on random answers
  // learns that <EOS> is frequent and stops at once
  if (mve_model_init (&m, cfg, 1, 1, err, sizeof err) != MVE_STATUS_OK
      || mve_device_model_open (&dm, m, be, err, sizeof err) != MVE_STATUS_OK)
    {
      print_error ("generate", 1, prec, err);
      goto out;
    }
  mve_status st = MVE_STATUS_OK;
  for (int attempt = 0; attempt < 20; attempt++)
    {
      for (size_t i = 0; i < img; i++)
        image[i] = rnd_unit () * 2.0f - 1.0f;
      for (int i = 0; i < 20; i++)
        question[i] = MVE_TOKEN_N_SPECIAL
                      + (int32_t) (rnd () % (uint32_t) (cfg->vocab_size - MVE_TOKEN_N_SPECIAL));
      st = mve_device_model_generate (dm, image, question, 20, 64, never_stop, NULL, out, &n, err,
                                      sizeof err);
      if (st != MVE_STATUS_OK || n == 64)
        break;
    }
  if (st != MVE_STATUS_OK)
    {
      print_error ("generate", 1, prec, err);
      goto out;
    }
  for (int r = 0; r < runs; r++)
    {
      double t0 = now ();
      st = mve_device_model_generate (dm, image, question, 20, 64, never_stop, NULL, out, &n, err,
                                      sizeof err);
      times[r] = (now () - t0) * 1e3;
      if (st != MVE_STATUS_OK)
        {
          print_error ("generate", 1, prec, err);
          goto out;
        }
    }
  qsort (times, (size_t) runs, sizeof (double), cmp_double);
  med = times[runs / 2];
  // the CPU engine's greedy answer to the same question, same tokens?
  int32_t out_c[64], n_c = 0;
  int same = -1;
  if (mve_model_generate (m, image, question, 20, 64, 1, NULL, NULL, out_c, &n_c, NULL, err,
                          sizeof err)
      == MVE_STATUS_OK)
    same = n_c == n && memcmp (out_c, out, sizeof (int32_t) * (size_t) n) == 0;
  printf ("{\"bench\":\"generate\",\"precision\":\"%s\",\"runs\":%d,\"tokens\":%d,"
          "\"generate_ms_64\":%.3f,\"min_ms\":%.3f,\"max_ms\":%.3f,\"ms_per_token\":%.4f,"
          "\"same_tokens_as_cpu\":%s}\n",
          prec, runs, n, med, times[0], times[runs - 1], med / (n > 0 ? n : 1),
          same < 0 ? "null" : same ? "true" : "false");
  fflush (stdout);
out:
  free (image);
  free (times);
  mve_device_model_close (dm);
  mve_model_free (m);
  be->iface->set_precision (be->ctx, MVE_PRECISION_FP32);
  return med;
}

static double
bench_cpu (const struct mve_config *cfg, int32_t B, int threads, int steps)
{
  char err[512] = "";
  mve_model_t m = NULL;
  double sps = 0, s = 0, flops = 0;
  if (mve_model_init (&m, cfg, 0, threads, err, sizeof err) != MVE_STATUS_OK)
    {
      print_error ("train_cpu", B, "fp32", err);
      return 0;
    }
  struct mve_adam adam;
  mve_adam_init_default (&adam);
  for (int i = 0; i < steps + 1; i++)
    {
      struct rbatch rb;
      struct mve_losses L;
      if (random_batch (&rb, cfg, B) != 0)
        {
          print_error ("train_cpu", B, "fp32", "out of host memory");
          random_batch_clear (&rb);
          goto out;
        }
      double t0 = now ();
      mve_status st = mve_model_forward_random_negatives (m, &rb.b, (uint64_t) i + 1, &L);
      if (st == MVE_STATUS_OK)
        {
          mve_model_zero_grad (m);
          st = mve_model_backward (m);
        }
      if (st == MVE_STATUS_OK)
        st = mve_model_adam_step (m, &adam, i + 1);
      if (i > 0)
        {
          s += now () - t0;
          flops += train_step_flops (cfg, &rb);
        }
      random_batch_clear (&rb);
      if (st != MVE_STATUS_OK)
        {
          print_error ("train_cpu", B, "fp32", mve_model_last_error (m));
          goto out;
        }
    }
  sps = (double) B * steps / s;
  printf ("{\"bench\":\"train_cpu\",\"batch\":%d,\"threads\":%d,\"steps\":%d,"
          "\"samples_per_s\":%.2f,\"step_ms\":%.2f,\"tflops\":%.4f}\n",
          B, threads, steps, sps, s / steps * 1e3, flops / s / 1e12);
  fflush (stdout);
out:
  mve_model_free (m);
  return sps;
}

int
main (int argc, char **argv)
{
  int32_t batches[8] = { 48, 256, 1024 };
  int nbatches = 3, steps = 20, warmup = 3, runs = 9, cpu_steps = 2, do_cpu = 1;
  int threads = (int) sysconf (_SC_NPROCESSORS_ONLN);
  for (int i = 1; i < argc; i++)
    {
      const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
      if (strcmp (a, "--no-cpu") == 0)
        {
          do_cpu = 0;
          continue;
        }
      if (v == NULL)
        goto usage;
      i++;
      if (strcmp (a, "--batches") == 0)
        {
          nbatches = 0;
          for (char *s = (char *) v, *e; *s && nbatches < 8; s = *e ? e + 1 : e)
            {
              long b = strtol (s, &e, 10);
              if (e == s || b < 2 || b > 65536)
                goto usage;
              batches[nbatches++] = (int32_t) b;
            }
        }
      else if (strcmp (a, "--steps") == 0)
        steps = atoi (v);
      else if (strcmp (a, "--warmup") == 0)
        warmup = atoi (v);
      else if (strcmp (a, "--gen-runs") == 0)
        runs = atoi (v);
      else if (strcmp (a, "--threads") == 0)
        threads = atoi (v);
      else if (strcmp (a, "--cpu-steps") == 0)
        cpu_steps = atoi (v);
      else
        goto usage;
    }
  if (steps < 1 || warmup < 0 || runs < 1 || threads < 1 || cpu_steps < 1 || nbatches < 1)
    goto usage;

  struct mve_backend *be = NULL;
  char why[512];
  if (mve_backend_open_cuda (&be, 0, why, sizeof why) != MVE_STATUS_OK)
    {
      printf ("{\"bench\":\"device\",");
      json_str ("skip", why);
      printf ("}\n");
      return 77;
    }
  struct mve_device_info info;
  memset (&info, 0, sizeof info);
  be->iface->get_device_info (be->ctx, &info);
  printf ("{\"bench\":\"device\",");
  json_str ("name", info.name);
  printf (",\"cc\":\"%d.%d\",\"memory_gib\":%.1f,\"multiprocessors\":%d,", info.cc_major,
          info.cc_minor, info.total_mem / 1073741824.0, info.multiprocessors);
  json_str ("driver", info.driver);
  printf (",");
  json_str ("runtime", info.runtime);
  printf (",\"has_model\":%s}\n", mve_backend_has_model (be) ? "true" : "false");
  fflush (stdout);
  if (!mve_backend_has_model (be))
    {
      printf ("{\"bench\":\"device\",\"skip\":\"the CUDA module has no whole-model support\"}\n");
      mve_backend_close (be);
      return 77;
    }

  struct mve_config cfg;
  mve_config_init_default (&cfg);
  double best = 0, sps48 = 0, sps48_tf32 = 0;
  int32_t best_b = 0;
  const char *best_prec = "fp32";
  for (int i = 0; i < nbatches; i++)
    for (int tf32 = 0; tf32 <= 1; tf32++)
      {
        double sps = bench_train (be, &cfg, batches[i], tf32, steps, warmup);
        if (batches[i] == 48)
          *(tf32 ? &sps48_tf32 : &sps48) = sps;
        if (sps > best)
          {
            best = sps;
            best_b = batches[i];
            best_prec = tf32 ? "tf32" : "fp32";
          }
      }
  double gen = bench_generate (be, &cfg, runs, 0);
  double gen_tf32 = bench_generate (be, &cfg, runs, 1);
  double cpu = do_cpu ? bench_cpu (&cfg, 48, threads, cpu_steps) : 0;
  printf ("{\"bench\":\"summary\",\"train_samples_per_s_48\":%.2f,\"train_samples_per_s_48_tf32\":%.2f,"
          "\"best_samples_per_s\":%.2f,\"best_batch\":%d,\"best_precision\":\"%s\","
          "\"epoch_21283x10_s\":%.2f,\"generate_ms_64\":%.3f,\"generate_ms_64_tf32\":%.3f,"
          "\"cpu_samples_per_s_48\":%.2f,\"gpu_over_cpu_48\":%.2f}\n",
          sps48, sps48_tf32, best, best_b, best_prec, best > 0 ? EPOCH_SAMPLES / best : 0.0, gen,
          gen_tf32, cpu, cpu > 0 ? sps48 / cpu : 0.0);
  mve_backend_close (be);
  return best > 0 ? 0 : 1;

usage:
  fprintf (stderr, "usage: bench-model [--batches 48,256,1024] [--steps N] [--warmup N] "
                   "[--gen-runs N] [--threads N] [--cpu-steps N] [--no-cpu]\n");
  return 2;
}
