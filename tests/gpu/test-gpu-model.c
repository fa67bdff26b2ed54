// SPDX-License-Identifier: GPL-3.0-or-later
// test-gpu-model.c: the whole model on the CUDA device (mve-device.h) against
// the CPU engine, on small models with every feature on and with ablations:
//   (a) training steps: losses (rel. err <= 1e-4), the gradient norm, every
//       gradient tensor, parameters and Adam moments at step 1 and step 3 of
//       3 steps in a row (max |a - b|
//       over the tensor's max |b|, <= 1e-4); the CPU runs
//       mve_model_forward_random_negatives + backward + Adam with the same
//       seed, the device mve_device_model_step with ITC head scale 1;
//   (b) greedy generation: mve_model_generate (beam 1) vs
//       mve_device_model_generate on models trained 0, 1 and 4 steps, 3
//       images x 2 questions, 32 new tokens: equal tokens, attention (every
//       token's, through the callback) within 1e-4;
//   (c) TF32 products (set_precision): losses within 5e-3 relative;
//   (d) bad batches: an error status with a message, and the device model
//       still works afterwards.
// Adam uses eps 1e-5 as the parity fixture does (bench/reference/
// make_fixture.py): with 1e-8 the first steps move every weight by about
// lr * sign(g), so weights whose gradient is rounding noise (the key biases)
// would flip between CPU and GPU.
// Exits 77 (meson: skipped) when no CUDA device can be opened or its module
// has no whole-model support.
#pragma GCC diagnostic ignored "-Wdeclaration-after-statement"
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mve-device.h"
#include "mve-impl.h"
#include "mve-model-impl.h"

#define TOL 1e-4
#define TOL_TF32 5e-3
#define S 32
#define MAXB 8
#define TQ 6
#define TA 8

static int failures;
static struct mve_backend *be;

static uint64_t rng = 0x2545F4914F6CDD1Dull;

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

struct batch
{
  float images[MAXB * 3 * S * S];
  int32_t q[MAXB * TQ], ql[MAXB], a[MAXB * TA], al[MAXB];
  struct mve_batch b;
};

// B rows of smooth random images (a few sinusoids, so the model can learn
// something) and varying question/answer lengths (a question may be empty).
static void
make_batch (struct batch *t, const struct mve_config *c, int B)
{
  int32_t tq = 0, ta = 0;
  for (int i = 0; i < B; i++)
    {
      float fx = 0.1f + rnd_unit (), fy = 0.1f + rnd_unit (), ph = 6.28f * rnd_unit ();
      for (int ch = 0; ch < 3; ch++)
        for (int y = 0; y < S; y++)
          for (int x = 0; x < S; x++)
            t->images[((size_t) (i * 3 + ch) * S + y) * S + x]
              = 0.8f * sinf (fx * x + fy * y + ph + ch) + 0.2f * (rnd_unit () * 2 - 1);
      t->ql[i] = (i == 1) ? 0 : 1 + (int32_t) (rnd () % TQ);
      t->al[i] = 1 + (int32_t) (rnd () % TA);
      if (t->ql[i] > tq)
        tq = t->ql[i];
      if (t->al[i] > ta)
        ta = t->al[i];
    }
  // rows padded to the batch's longest (tq, ta), as the trainer does
  memset (t->q, 0, sizeof t->q);
  memset (t->a, 0, sizeof t->a);
  for (int i = 0; i < B; i++)
    {
      for (int k = 0; k < t->ql[i]; k++)
        t->q[i * tq + k] = MVE_TOKEN_N_SPECIAL + (int32_t) (rnd () % (uint32_t) (c->vocab_size - MVE_TOKEN_N_SPECIAL));
      // answers depend on the image a little (learnable), plus noise
      for (int k = 0; k < t->al[i]; k++)
        t->a[i * ta + k] = MVE_TOKEN_N_SPECIAL
                           + (int32_t) ((k * 3 + (t->images[(size_t) i * 3 * S * S] > 0 ? 5 : 11)
                                         + (rnd () % 4 == 0 ? rnd () : 0))
                                        % (uint32_t) (c->vocab_size - MVE_TOKEN_N_SPECIAL));
    }
  t->b = (struct mve_batch) { B, t->images, t->q, t->ql, t->a, t->al, tq, ta };
}

static void
small_config (struct mve_config *c, int ablate)
{
  mve_config_init_default (c);
  c->image_size = S;
  c->patch_size = 8;
  c->width = 32;
  c->heads = 2;
  c->vision_layers = c->text_layers = c->decoder_layers = 2;
  c->vocab_size = 48;
  c->max_question_len = TQ;
  c->max_answer_len = 40;
  c->embed_dim = 24;
  c->temp_init = 0.3f;
  c->w_itc = 0.7f;
  c->w_itm = 1.3f;
  if (ablate == 1) // the parity fixture's ablation: no ITC, no SA, no causal SA
    {
      c->width = 16;
      c->use_itc = c->use_sa = c->use_csa = 0;
    }
  else if (ablate == 2) // no ITM pass, no cross-attention
    c->use_itm = c->use_ca = 0;
}

// max |got - ref| / max |ref| over each tensor of the parameter layout; the
// worst tensor is printed, every tensor over tol counts as a failure. With
// scale_of != NULL the denominator is at least floor_k * max |scale_of| of
// the tensor: Adam's first moment is an average of gradients that can
// cancel (the ITM head's bias: on the H200 m was 9.5e-6 after 3 steps, off
// by 3.5e-9), and its error is that of the gradients it averages, whose
// magnitude sqrt (v / (1 - beta2)) gives.
static double
compare_tensors_floor (mve_model_t m, const char *what, const float *got, const float *ref,
                       double tol, const float *scale_of, double floor_k)
{
  double worst = 0.0;
  const char *wname = "-";
  int bad = 0;
  for (int i = 0; i < mve_model_tensor_count (m); i++)
    {
      const struct mve_tensor_info *ti = mve_model_tensor (m, i);
      double mx = 0.0, d = 0.0;
      for (int64_t k = 0; k < ti->numel; k++)
        {
          double r = ref[ti->offset + k], g = got[ti->offset + k];
          mx = fmax (mx, fabs (r));
          double e = fabs (g - r);
          if (!(e <= d))
            d = isnan (e) ? INFINITY : e;
        }
      if (scale_of != NULL)
        for (int64_t k = 0; k < ti->numel; k++)
          mx = fmax (mx, floor_k * fabs (scale_of[ti->offset + k]));
      double e = mx > 0 ? d / mx : d; // an all-zero tensor: absolute
      if (!(e <= tol))
        {
          if (bad < 5)
            fprintf (stderr, "  MISMATCH %s %s: max |diff| %.3g, max |cpu| %.3g (rel %.3g)\n", what,
                     ti->name, d, mx, e);
          bad++;
        }
      if (!(e <= worst))
        {
          worst = e;
          wname = ti->name;
        }
    }
  printf ("  %-16s worst %-32s rel %.3g%s\n", what, wname, worst, bad ? "  FAIL" : "");
  if (bad)
    failures++;
  return worst;
}

static double
compare_tensors (mve_model_t m, const char *what, const float *got, const float *ref, double tol)
{
  return compare_tensors_floor (m, what, got, ref, tol, NULL, 0.0);
}

static double
rel (double a, double b)
{
  return fabs (a - b) / fmax (fabs (b), 1e-6);
}

static void
compare_losses (const char *what, const struct mve_losses *dev, const struct mve_losses *cpu,
                double tol)
{
  double e = fmax (fmax (rel (dev->total, cpu->total), rel (dev->itc, cpu->itc)),
                   fmax (rel (dev->itm, cpu->itm), rel (dev->lm, cpu->lm)));
  printf ("  %-16s cpu %.7f (itc %.6f itm %.6f lm %.6f) device %.7f (itc %.6f itm %.6f lm %.6f) "
          "rel %.3g%s\n",
          what, cpu->total, cpu->itc, cpu->itm, cpu->lm, dev->total, dev->itc, dev->itm, dev->lm, e,
          e <= tol ? "" : "  FAIL");
  if (!(e <= tol))
    failures++;
}

static int
dev_ok (mve_status st, const char *what, const char *err)
{
  if (st == MVE_STATUS_OK)
    return 1;
  fprintf (stderr, "FAIL: %s: %s: %s\n", what, mve_status_to_string (st), err);
  failures++;
  return 0;
}

static int
cpu_ok (mve_status st, const char *what, mve_model_t m)
{
  if (st == MVE_STATUS_OK)
    return 1;
  fprintf (stderr, "FAIL: CPU %s: %s: %s\n", what, mve_status_to_string (st),
           mve_model_last_error (m));
  failures++;
  return 0;
}

// Uniform noise of +-0.05 on every parameter (biases and layer norms too), as
// the parity fixture's noisy initialisation: with zero biases, Adam's first
// steps make the key biases (whose gradient is rounding noise, their exact
// gradient being 0) about noise / eps * lr, i.e. 1e-4 of the tensor's whole
// magnitude (lr), different on each side; against 0.05 that noise is 2e-6.
static void
perturb (mve_model_t m)
{
  float *p = mve_model_params_data (m);
  for (int64_t i = 0; i < mve_model_num_params (m); i++)
    p[i] += 0.05f * (rnd_unit () * 2.0f - 1.0f);
}

// (a): steps 1..3 on both, compared at step 1 and step 3 (the gradients from
// a gradients-only device step on the same batch and seed, then losses,
// norm, parameters and Adam moments after the update); then (c) and (d) on
// the full configuration.
static void
parity (int ablate, int B, const char *label)
{
  struct mve_config cfg;
  small_config (&cfg, ablate);
  mve_model_t m = NULL;
  mve_device_model *dm = NULL;
  char err[512] = "";
  printf ("(a) step parity, %s config, B = %d\n", label, B);
  if (!cpu_ok (mve_model_init (&m, &cfg, 11, 2, err, sizeof err), "init", m))
    return;
  perturb (m);
  if (!dev_ok (mve_device_model_open (&dm, m, be, err, sizeof err), "device_model_open", err))
    {
      mve_model_free (m);
      return;
    }
  int64_t n = mve_model_num_params (m);
  float *h = malloc (sizeof (float) * (size_t) n), *g_cpu = malloc (sizeof (float) * (size_t) n);
  struct mve_adam opt;
  mve_adam_init_default (&opt);
  opt.eps = 1e-5f;
  struct batch *t = malloc (sizeof *t);
  for (int64_t step = 1; step <= 3; step++)
    {
      make_batch (t, &cfg, B);
      uint64_t seed = 1000 + (uint64_t) step;
      struct mve_losses Lc, Ld;
      float nc = 0, nd = 0;
      if (!cpu_ok (mve_model_forward_random_negatives (m, &t->b, seed, &Lc), "forward", m))
        break;
      mve_model_zero_grad (m);
      if (!cpu_ok (mve_model_backward (m), "backward", m))
        break;
      memcpy (g_cpu, mve_model_grads_data (m), sizeof (float) * (size_t) n);
      if (!cpu_ok (mve_model_adam_step_norm (m, &opt, step, &nc), "adam", m))
        break;
      int check = step == 1 || step == 3;
      if (check)
        {
          // gradients alone first (opt NULL: no update), so that they are
          // compared before any clipping the update may apply in place
          printf (" step %lld:\n", (long long) step);
          if (!dev_ok (mve_device_model_step (dm, &t->b, seed, 1, NULL, step, 1.0f, &Ld, NULL, err,
                                              sizeof err),
                       "device_model_step (gradients only)", err))
            break;
          compare_losses ("losses (grads)", &Ld, &Lc, TOL);
          if (dev_ok (mve_device_model_read (dm, MVE_DEVICE_GRADS, h, err, sizeof err),
                      "read grads", err))
            compare_tensors (m, "gradients", h, g_cpu, TOL);
        }
      if (!dev_ok (mve_device_model_step (dm, &t->b, seed, 1, &opt, step, 1.0f, &Ld, &nd, err,
                                          sizeof err),
                   "device_model_step", err))
        break;
      if (!check)
        continue;
      compare_losses ("losses (Adam)", &Ld, &Lc, TOL);
      double en = rel (nd, nc);
      printf ("  %-16s cpu %.7g device %.7g rel %.3g%s\n", "grad norm", nc, nd, en,
              en <= TOL ? "" : "  FAIL");
      if (!(en <= TOL))
        failures++;
      if (dev_ok (mve_device_model_read (dm, MVE_DEVICE_PARAMS, h, err, sizeof err), "read params",
                  err))
        compare_tensors (m, "params (Adam)", h, mve_model_params_data (m), TOL);
      if (dev_ok (mve_device_model_read (dm, MVE_DEVICE_ADAM_M, h, err, sizeof err), "read adam m",
                  err))
        {
          // the gradients' magnitude over the steps so far: sqrt (v / (1 - beta2))
          for (int64_t k = 0; k < n; k++)
            g_cpu[k] = sqrtf (m->adam_v[k] / (1.0f - opt.beta2));
          compare_tensors_floor (m, "adam m", h, m->adam_m, TOL, g_cpu, 1.0 - opt.beta1);
        }
      if (dev_ok (mve_device_model_read (dm, MVE_DEVICE_ADAM_V, h, err, sizeof err), "read adam v",
                  err))
        compare_tensors (m, "adam v", h, m->adam_v, TOL);
    }

  // (c) TF32 on the same weights (both sides hold the 3-step weights):
  // forward + gradients, losses only
  if (ablate == 0)
    {
      const struct mve_backend_i *I = be->iface;
      struct mve_losses Lc, Ld;
      make_batch (t, &cfg, B);
      printf ("(c) TF32 step, %s config\n", label);
      mve_status st = I->set_precision (be->ctx, MVE_PRECISION_TF32);
      if (st != MVE_STATUS_OK)
        {
          fprintf (stderr, "FAIL: set_precision TF32: %s: %s\n", mve_status_to_string (st),
                   I->last_error (be->ctx));
          failures++;
        }
      else
        {
          if (cpu_ok (mve_model_forward_random_negatives (m, &t->b, 77, &Lc), "forward", m)
              && dev_ok (mve_device_model_step (dm, &t->b, 77, 1, NULL, 4, 1.0f, &Ld, NULL, err,
                                                sizeof err),
                         "device_model_step (TF32)", err))
            compare_losses ("losses TF32", &Ld, &Lc, TOL_TF32);
          dev_ok (I->set_precision (be->ctx, MVE_PRECISION_FP32), "set_precision FP32",
                  I->last_error (be->ctx));
        }
    }

  // (d) bad batches are refused with a message; the model still works after
  if (ablate == 0)
    {
      printf ("(d) bad batches\n");
      make_batch (t, &cfg, B);
      struct mve_losses Ld;
      struct
      {
        const char *what;
        struct mve_batch b;
      } bad[4];
      int32_t ql_bad[MAXB], a_bad[MAXB * TA];
      memcpy (ql_bad, t->ql, sizeof ql_bad);
      ql_bad[0] = t->b.Tq + 3;
      memcpy (a_bad, t->a, sizeof a_bad);
      a_bad[0] = cfg.vocab_size + 5;
      bad[0].what = "B = 0";
      bad[0].b = t->b;
      bad[0].b.B = 0;
      bad[1].what = "question length > Tq";
      bad[1].b = t->b;
      bad[1].b.question_len = ql_bad;
      bad[2].what = "answer token >= vocab";
      bad[2].b = t->b;
      bad[2].b.answer = a_bad;
      bad[3].what = "no images";
      bad[3].b = t->b;
      bad[3].b.images = NULL;
      for (int i = 0; i < 4; i++)
        {
          err[0] = '\0';
          mve_status st = mve_device_model_step (dm, &bad[i].b, 5, 1, &opt, 4, 1.0f, &Ld, NULL,
                                                 err, sizeof err);
          int okay = st != MVE_STATUS_OK && err[0] != '\0';
          printf ("  %-24s -> %s: %s%s\n", bad[i].what, mve_status_to_string (st), err,
                  okay ? "" : "  FAIL (must be refused with a message)");
          if (!okay)
            failures++;
        }
      dev_ok (mve_device_model_step (dm, &t->b, 5, 1, NULL, 4, 1.0f, &Ld, NULL, err, sizeof err),
              "a good step after the bad ones", err);
    }

  free (t);
  free (h);
  free (g_cpu);
  mve_device_model_close (dm);
  mve_model_free (m);
}

struct collect
{
  int32_t n;
  int32_t P;
  int32_t tokens[64];
  float *attn; // (64, P)
};

static bool
collect_cb (void *user, int32_t token, const float *attn)
{
  struct collect *c = user;
  if (c->n < 64)
    {
      c->tokens[c->n] = token;
      if (attn != NULL)
        memcpy (c->attn + (size_t) c->n * c->P, attn, sizeof (float) * (size_t) c->P);
      c->n++;
    }
  return true;
}

// (b): greedy answers of a model trained train_steps steps on the CPU (5 to
// 32 tokens with these seeds; they get shorter as it learns where <EOS> goes)
static void
generation (int train_steps)
{
  struct mve_config cfg;
  small_config (&cfg, 0);
  mve_model_t m = NULL;
  mve_device_model *dm = NULL;
  char err[512] = "";
  printf ("(b) greedy generation, full config trained %d steps\n", train_steps);
  if (!cpu_ok (mve_model_init (&m, &cfg, 5, 2, err, sizeof err), "init", m))
    return;
  struct mve_adam opt;
  mve_adam_init_default (&opt);
  struct batch *t = malloc (sizeof *t);
  for (int step = 1; step <= train_steps; step++)
    {
      struct mve_losses L;
      make_batch (t, &cfg, MAXB);
      if (!cpu_ok (mve_model_forward_random_negatives (m, &t->b, (uint64_t) step, &L), "forward", m))
        break;
      mve_model_zero_grad (m);
      cpu_ok (mve_model_backward (m), "backward", m);
      cpu_ok (mve_model_adam_step (m, &opt, step), "adam", m);
    }
  if (!dev_ok (mve_device_model_open (&dm, m, be, err, sizeof err), "device_model_open", err))
    {
      free (t);
      mve_model_free (m);
      return;
    }
  int32_t P = mve_model_num_patches (m), max_new = 32;
  float *attn_cpu = malloc (sizeof (float) * 64 * (size_t) P);
  struct collect col = { .P = P, .attn = malloc (sizeof (float) * 64 * (size_t) P) };
  make_batch (t, &cfg, 3);
  int32_t questions[2][5] = { { 9, 20, 31, 12, 7 }, { 40, 8 } }, qlens[2] = { 5, 2 };
  for (int img = 0; img < 3; img++)
    for (int qi = 0; qi < 2; qi++)
      {
        const float *image = t->images + (size_t) img * 3 * S * S;
        int32_t out_c[64], out_d[64], n_c = 0, n_d = 0;
        col.n = 0;
        if (!cpu_ok (mve_model_generate (m, image, questions[qi], qlens[qi], max_new, 1, NULL, NULL,
                                         out_c, &n_c, attn_cpu, err, sizeof err),
                     "generate", m))
          continue;
        if (!dev_ok (mve_device_model_generate (dm, image, questions[qi], qlens[qi], max_new,
                                                collect_cb, &col, out_d, &n_d, err, sizeof err),
                     "device_model_generate", err))
          continue;
        int same = n_c == n_d && memcmp (out_c, out_d, sizeof (int32_t) * (size_t) n_c) == 0;
        int first = 0;
        while (first < n_c && first < n_d && out_c[first] == out_d[first])
          first++;
        double ea = 0.0;
        int n_att = n_c < col.n ? n_c : col.n;
        for (int k = 0; k < n_att && k < first; k++)
          for (int p = 0; p < P; p++)
            ea = fmax (ea, fabs ((double) col.attn[(size_t) k * P + p] - attn_cpu[(size_t) k * P + p]));
        int cb_ok = col.n == n_d && memcmp (col.tokens, out_d, sizeof (int32_t) * (size_t) n_d) == 0;
        printf ("  image %d question %d: cpu %d tokens, device %d%s; attention max |diff| %.3g%s%s\n",
                img, qi, n_c, n_d, same ? " (equal)" : "", ea, ea <= TOL ? "" : "  FAIL",
                cb_ok ? "" : "  FAIL (callback tokens differ from out_tokens)");
        if (!same)
          {
            fprintf (stderr, "  FAIL: tokens differ from position %d:", first);
            for (int k = 0; k < n_c; k++)
              fprintf (stderr, " %d", out_c[k]);
            fprintf (stderr, " | device:");
            for (int k = 0; k < n_d; k++)
              fprintf (stderr, " %d", out_d[k]);
            fprintf (stderr, "\n");
            failures++;
          }
        if (!(ea <= TOL) || !cb_ok)
          failures++;
      }
  free (col.attn);
  free (attn_cpu);
  free (t);
  mve_device_model_close (dm);
  mve_model_free (m);
}


// (e) mve_train with opts.backend against mve_train on the CPU: the same
// batches, seeds and schedule (warmup, the ITC head's lr scale 0.1, random
// ITM negatives); validate sees the device's weights (downloaded first), the
// final weights come back into the model, and a cancel keeps the weights of
// the steps made.
struct train_src
{
  struct batch *t;
  int calls, per_epoch, validates, cancel_after;
  double first_val_sum, last_val_sum;
  const float *init;
};

static int
train_next (void *user, struct mve_batch *out)
{
  struct train_src *src = user;
  if (src->calls == src->per_epoch)
    {
      src->calls = 0;
      return 0;
    }
  src->calls++;
  *out = src->t->b;
  return 1;
}

static mve_status
train_validate (void *user, mve_model_t m, float *val)
{
  struct train_src *src = user;
  const float *p = mve_model_params_data (m);
  double moved = 0.0;
  for (int64_t i = 0; i < mve_model_num_params (m); i++)
    moved += fabs ((double) p[i] - src->init[i]);
  if (src->validates++ == 0)
    src->first_val_sum = moved;
  src->last_val_sum = moved;
  *val = 1.0f;
  return MVE_STATUS_OK;
}

static bool
train_abort (void *user)
{
  struct train_src *src = user;
  return src->cancel_after > 0 && src->validates >= src->cancel_after;
}

static void
train_loop_parity (void)
{
  struct mve_config cfg;
  small_config (&cfg, 0);
  char err[512] = "";
  mve_model_t mc = NULL, md = NULL;
  printf ("(e) mve_train on the device against the CPU (full config, B = 5, 3 epochs of 2 steps)\n");
  if (!cpu_ok (mve_model_init (&mc, &cfg, 21, 2, err, sizeof err), "init", mc))
    return;
  perturb (mc);
  int64_t n = mve_model_num_params (mc);
  float *init = malloc (sizeof (float) * (size_t) n);
  memcpy (init, mve_model_params_data (mc), sizeof (float) * (size_t) n);
  if (!cpu_ok (mve_model_init (&md, &cfg, 21, 2, err, sizeof err), "init", md))
    {
      mve_model_free (mc);
      free (init);
      return;
    }
  memcpy (mve_model_params_data (md), init, sizeof (float) * (size_t) n);
  struct batch *t = calloc (1, sizeof *t);
  make_batch (t, &cfg, 5);
  struct train_src sc = { .t = t, .per_epoch = 2, .init = init };
  struct train_src sd = sc;
  struct mve_train_opts o;
  mve_train_opts_init_default (&o);
  o.adam.lr = 1e-3f;
  o.adam.eps = 1e-5f; // as in (a): keeps near-zero gradients from flipping updates
  o.epochs = 3;
  o.steps = 6;
  o.warmup_steps = 2;
  o.early_stop_patience = 0;
  o.next_batch = train_next;
  o.validate = train_validate;
  o.seed = 7;
  o.user = &sc;
  mve_status st = mve_train (mc, &o);
  if (!cpu_ok (st, "mve_train (CPU)", mc))
    goto out;
  o.user = &sd;
  o.backend = be;
  st = mve_train (md, &o);
  if (st != MVE_STATUS_OK)
    {
      printf ("  FAIL mve_train (device): %s\n", mve_model_last_error (md));
      failures++;
      goto out;
    }
  printf ("  validate calls cpu %d device %d; |weights - start| at the first and last: cpu %.5g %.5g, "
          "device %.5g %.5g\n",
          sc.validates, sd.validates, sc.first_val_sum, sc.last_val_sum, sd.first_val_sum,
          sd.last_val_sum);
  if (sd.validates != sc.validates || !(sd.first_val_sum > 0)
      || !(fabs (sd.last_val_sum - sc.last_val_sum) <= 1e-3 * sc.last_val_sum))
    {
      printf ("  FAIL validate did not see the device's weights\n");
      failures++;
    }
  compare_tensors (mc, "params (train)", mve_model_params_data (md), mve_model_params_data (mc),
                   1e-3);
  // cancel after the first epoch: the weights of its 2 steps come back
  {
    mve_model_t mx = NULL;
    if (cpu_ok (mve_model_init (&mx, &cfg, 21, 2, err, sizeof err), "init", mx))
      {
        memcpy (mve_model_params_data (mx), init, sizeof (float) * (size_t) n);
        struct train_src sx = { .t = t, .per_epoch = 2, .init = init, .cancel_after = 1 };
        o.user = &sx;
        o.should_abort = train_abort;
        st = mve_train (mx, &o);
        double moved = 0.0;
        for (int64_t i = 0; i < n; i++)
          moved += fabs ((double) mve_model_params_data (mx)[i] - init[i]);
        printf ("  cancel after epoch 1: %s (%s); |weights - start| %.5g (first validate saw %.5g)\n",
                mve_status_to_string (st), mve_model_last_error (mx), moved, sx.first_val_sum);
        if (st != MVE_STATUS_CANCELLED || !(fabs (moved - sx.first_val_sum) <= 1e-6 * moved))
          {
            printf ("  FAIL cancel did not keep the weights of the steps made\n");
            failures++;
          }
        mve_model_free (mx);
      }
  }
out:
  free (t);
  free (init);
  mve_model_free (mc);
  mve_model_free (md);
}

int
main (void)
{
  char why[512];
  mve_status st = mve_backend_open_cuda (&be, 0, why, sizeof why);
  if (st != MVE_STATUS_OK)
    {
      printf ("SKIP: %s\n", why);
      return 77;
    }
  if (!mve_backend_has_model (be))
    {
      printf ("SKIP: the CUDA module runs single operations only (no whole-model support)\n");
      mve_backend_close (be);
      return 77;
    }
  struct mve_device_info info;
  if (be->iface->get_device_info (be->ctx, &info) == MVE_STATUS_OK)
    printf ("device: %s (compute %d.%d)\n", info.name, info.cc_major, info.cc_minor);
  parity (0, 5, "full");
  parity (1, 4, "ablated (no ITC/SA/CSA)");
  parity (2, 6, "ablated (no ITM/CA)");
  generation (0);
  generation (1);
  generation (4);
  train_loop_parity ();
  mve_backend_close (be);
  printf ("%s (%d failures)\n", failures ? "FAIL" : "ok", failures);
  return failures ? 1 : 0;
}
