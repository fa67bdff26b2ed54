// SPDX-License-Identifier: GPL-3.0-or-later
// test-train.c: 200 Adam steps on the toy task (mve-test-toy.h) through
// mve_train drive each of ITC, ITM and LM down (mean of the last 100 steps
// below 0.8 of the mean of the first 20); the same seed and thread count give the same
// weights bit for bit; cancellation stops the loop between steps.
// Prints the loss curve every 20 steps.
// ITC collapse: on a toy with long answers that share most of their words
// (as real answers do) and the paper's widths and depths, Adam at lr 1e-3
// with no warmup and the ITC head at the full lr drives every image and text
// embedding onto one vector within a few steps (ITC stuck at log B = 2.77);
// the default schedule (warmup, ITC head at 0.1 of the lr) must keep ITC
// well below log B.
// Declarations sit at first use (C11, as in llm.c) rather than at block
// starts, so the project's C90-style warning is switched off for this file.
#pragma GCC diagnostic ignored "-Wdeclaration-after-statement"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mve-impl.h"
#include "mve-test-toy.h"

#define STEPS 200
#define BATCH 16

struct run
{
  struct toy_batch *tb;
  uint64_t rng;
  struct mve_losses hist[STEPS];
  int64_t n;
  int64_t abort_at;
  int quiet;
};

static int
next_batch (void *user, struct mve_batch *out)
{
  struct run *r = user;
  toy_fill (r->tb, BATCH, &r->rng);
  *out = r->tb->b;
  return 1; // one endless epoch: the loop stops at opts.steps
}

static void
on_step (void *user, int64_t step, const struct mve_losses *L, float lr, double sps)
{
  struct run *r = user;
  if (step - 1 < STEPS)
    r->hist[step - 1] = *L;
  r->n = step;
  if (!r->quiet && (step % 20 == 0 || step == 1))
    printf ("step %3lld  total %.4f  itc %.4f  itm %.4f  lm %.4f  (lr %.0e, %.0f samples/s)\n",
            (long long) step, L->total, L->itc, L->itm, L->lm, lr, sps);
}

static bool
should_abort (void *user)
{
  struct run *r = user;
  return r->abort_at > 0 && r->n >= r->abort_at;
}

// --- plateau: validation never improves after the first epoch ------------------------
struct plateau
{
  struct toy_batch tb;
  uint64_t rng;
  int in_epoch;
  int epochs_seen;
  float lr[64];
};

static int
plateau_batch (void *user, struct mve_batch *out)
{
  struct plateau *p = user;
  if (p->in_epoch)
    {
      p->in_epoch = 0; // one batch per epoch
      return 0;
    }
  p->in_epoch = 1;
  toy_fill (&p->tb, 4, &p->rng);
  *out = p->tb.b;
  return 1;
}

static mve_status
plateau_validate (void *user, mve_model_t m, float *val)
{
  (void) user, (void) m;
  *val = 1.0f; // flat: epoch 0 is the best
  return MVE_STATUS_OK;
}

static void
plateau_epoch (void *user, int32_t epoch, float val, float lr)
{
  struct plateau *p = user;
  (void) val;
  if (epoch < 64)
    p->lr[epoch] = lr;
  p->epochs_seen = epoch + 1;
}

static int
test_plateau (void)
{
  struct mve_config cfg;
  toy_config (&cfg);
  cfg.vision_layers = cfg.text_layers = cfg.decoder_layers = 1;
  mve_model_t m = NULL;
  char err[256];
  if (mve_model_init (&m, &cfg, 3, 1, err, sizeof err) != MVE_STATUS_OK)
    return 1;
  struct plateau *p = calloc (1, sizeof *p);
  p->rng = 5;
  struct mve_train_opts o;
  mve_train_opts_init_default (&o);
  o.epochs = 50;
  o.patience = 2;
  o.early_stop_patience = 5;
  o.next_batch = plateau_batch;
  o.validate = plateau_validate;
  o.on_epoch = plateau_epoch;
  o.user = p;
  mve_status st = mve_train (m, &o);
  int fails = 0;
  // epoch 0 best; epochs 1, 2 no better -> halve after epoch 2, again after 4; stop after 5
  float lr0 = o.adam.lr;
  if (st != MVE_STATUS_OK || p->epochs_seen != 6 || p->lr[1] != lr0 || p->lr[2] != lr0 / 2
      || p->lr[3] != lr0 / 2 || p->lr[4] != lr0 / 4)
    {
      fprintf (stderr, "FAIL plateau: status %d, %d epochs, lr %g %g %g %g %g\n", st, p->epochs_seen,
               p->lr[0], p->lr[1], p->lr[2], p->lr[3], p->lr[4]);
      fails++;
    }
  else
    printf ("plateau: lr halved after 2 flat epochs, early stop after 5 (6 epochs run)\n");
  free (p);
  mve_model_free (m);
  return fails;
}

// --- ITC collapse at lr 1e-3 -----------------------------------------------------------
#define LONG_TA 24
#define COLLAPSE_STEPS 100
#define COLLAPSE_B 16

struct collapse
{
  struct toy_batch tb;
  uint64_t rng;
  int32_t a[64 * LONG_TA], al[64];
  float itc[COLLAPSE_STEPS];
};

// The toy's images, with answers of 21-24 filler words (ids 7-10, random)
// that carry their class in two words (positions 5 and 17).
static int
collapse_batch (void *user, struct mve_batch *out)
{
  struct collapse *c = user;
  toy_fill (&c->tb, COLLAPSE_B, &c->rng);
  *out = c->tb.b;
  for (int i = 0; i < COLLAPSE_B; i++)
    {
      int k = c->tb.cls[i];
      for (int t = 0; t < LONG_TA; t++)
        c->a[i * LONG_TA + t] = 7 + (int32_t) (toy_next (&c->rng) % 4);
      c->a[i * LONG_TA + 5] = 11 + 2 * k;
      c->a[i * LONG_TA + 17] = 12 + 2 * k;
      c->al[i] = LONG_TA - (int32_t) (toy_next (&c->rng) % 4);
    }
  out->answer = c->a;
  out->answer_len = c->al;
  out->Ta = LONG_TA;
  return 1;
}

static void
collapse_step (void *user, int64_t step, const struct mve_losses *L, float lr, double sps)
{
  struct collapse *c = user;
  (void) lr, (void) sps;
  if (step - 1 < COLLAPSE_STEPS)
    c->itc[step - 1] = L->itc;
}

static int
test_itc_collapse (int threads)
{
  struct mve_config cfg;
  toy_config (&cfg);
  cfg.width = 64; // the paper's widths and depths
  cfg.heads = 4;
  cfg.embed_dim = 64;
  cfg.vision_layers = cfg.text_layers = cfg.decoder_layers = 4;
  cfg.max_answer_len = 32;
  mve_model_t m = NULL;
  char err[256];
  if (mve_model_init (&m, &cfg, 2024, threads, err, sizeof err) != MVE_STATUS_OK)
    {
      fprintf (stderr, "FAIL collapse init: %s\n", err);
      return 1;
    }
  struct collapse *c = calloc (1, sizeof *c);
  c->rng = 99;
  struct mve_train_opts o;
  mve_train_opts_init_default (&o); // the default schedule at the paper's lr
  o.adam.lr = 1e-3f;
  o.steps = COLLAPSE_STEPS;
  o.next_batch = collapse_batch;
  o.on_step = collapse_step;
  o.user = c;
  mve_status st = mve_train (m, &o);
  double last = 0.0;
  for (int i = COLLAPSE_STEPS - 40; i < COLLAPSE_STEPS; i++)
    last += c->itc[i] / 40.0;
  double logb = log ((double) COLLAPSE_B);
  int fails = 0;
  printf ("itc at lr 1e-3 (long answers, paper widths): mean of the last 40 of %d steps %.4f, "
          "collapse at log B = %.4f\n", COLLAPSE_STEPS, last, logb);
  if (st != MVE_STATUS_OK || !(last < logb - 0.5))
    {
      fprintf (stderr, "FAIL ITC collapsed at lr 1e-3 (status %d, itc %.4f, log B %.4f)\n", st,
               last, logb);
      fails++;
    }
  free (c);
  mve_model_free (m);
  return fails;
}

static mve_model_t
train (struct run *r, int threads, int64_t steps, mve_status *st)
{
  struct mve_config cfg;
  toy_config (&cfg);
  mve_model_t m = NULL;
  char err[256];
  if (mve_model_init (&m, &cfg, 2024, threads, err, sizeof err) != MVE_STATUS_OK)
    {
      fprintf (stderr, "init: %s\n", err);
      exit (1);
    }
  struct mve_train_opts o;
  mve_train_opts_init_default (&o);
  o.adam.lr = 2e-3f;
  o.steps = steps;
  o.next_batch = next_batch;
  o.on_step = on_step;
  o.should_abort = should_abort;
  o.user = r;
  r->rng = 99;
  r->n = 0;
  *st = mve_train (m, &o);
  return m;
}

static double
mean (const struct mve_losses *h, int from, int n, int which)
{
  double s = 0.0;
  for (int i = from; i < from + n; i++)
    s += which == 0 ? h[i].itc : which == 1 ? h[i].itm : h[i].lm;
  return s / n;
}

int
main (void)
{
  int fails = 0;
  struct run *r = calloc (1, sizeof *r);
  r->tb = calloc (1, sizeof *r->tb);
  mve_status st;
  // MVE_TEST_THREADS: try the curve with another thread count (numerics differ)
  int threads = getenv ("MVE_TEST_THREADS") ? atoi (getenv ("MVE_TEST_THREADS")) : 2;
  mve_model_t m = train (r, threads, STEPS, &st);
  if (st != MVE_STATUS_OK || r->n != STEPS)
    {
      fprintf (stderr, "FAIL training stopped at step %lld: %s\n", (long long) r->n,
               mve_model_last_error (m));
      fails++;
    }
  const char *names[3] = { "itc", "itm", "lm" };
  for (int w = 0; w < 3 && r->n == STEPS; w++)
    {
      // the mean of the last 100 steps: ITM with hardest negatives is noisy
      double first = mean (r->hist, 0, 20, w), last = mean (r->hist, STEPS - 100, 100, w);
      printf ("%s: mean of the first 20 steps %.4f, of the last 100 steps %.4f\n", names[w], first,
              last);
      // ITC cannot go far below log 4 here: the toy has 4 classes whose
      // answers are identical, so a batch of 16 holds about 4 equal texts per
      // class. It falls to about 1.8 within the first 20 steps and then
      // wanders between 1.6 and 1.8 with rounding-level changes in the
      // engine; the check is that it ends well below chance (log B), which a
      // collapsed or untrained ITC does not.
      double limit = w == 0 ? fmin (0.8 * log (BATCH), first) : 0.8 * first;
      if (!(last < limit))
        {
          fprintf (stderr, "FAIL %s did not go down enough (%.4f -> %.4f, limit %.4f)\n", names[w],
                   first, last, limit);
          fails++;
        }
    }
  // determinism: the same seed and threads give the same bytes
  struct run *r2 = calloc (1, sizeof *r2);
  r2->tb = calloc (1, sizeof *r2->tb);
  r2->quiet = 1;
  mve_model_t m2 = train (r2, 2, 30, &st);
  struct run *r3 = calloc (1, sizeof *r3);
  r3->tb = calloc (1, sizeof *r3->tb);
  r3->quiet = 1;
  mve_model_t m3 = train (r3, 2, 30, &st);
  if (memcmp (mve_model_params_data (m2), mve_model_params_data (m3),
              sizeof (float) * mve_model_num_params (m2)) != 0)
    {
      fprintf (stderr, "FAIL two runs with the same seed differ\n");
      fails++;
    }
  else
    printf ("same seed, same threads: weights identical after 30 steps\n");
  // cancellation between steps
  struct run *r4 = calloc (1, sizeof *r4);
  r4->tb = calloc (1, sizeof *r4->tb);
  r4->quiet = 1;
  r4->abort_at = 5;
  mve_model_t m4 = train (r4, 1, 100, &st);
  if (st != MVE_STATUS_CANCELLED || r4->n != 5)
    {
      fprintf (stderr, "FAIL cancellation: status %d after %lld steps\n", st, (long long) r4->n);
      fails++;
    }
  fails += test_plateau ();
  fails += test_itc_collapse (threads);
  mve_model_free (m);
  mve_model_free (m2);
  mve_model_free (m3);
  mve_model_free (m4);
  free (r->tb), free (r), free (r2->tb), free (r2), free (r3->tb), free (r3), free (r4->tb), free (r4);
  return fails != 0;
}
