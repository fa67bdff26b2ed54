// SPDX-License-Identifier: GPL-3.0-or-later
// test-parity.c: the engine against the PyTorch reference (bench/reference/).
// Loads a fixture written by make_fixture.py (weights, a padded batch,
// forward outputs, every loss, every gradient, parameters after two Adam
// steps), runs the same steps in the engine and compares with a maximum
// relative error of 1e-4 (see fx_compare). Exits non-zero on any mismatch.
//
// Usage: test-parity FIXTURE [FIXTURE...]
// Declarations sit at first use (C11, as in llm.c) rather than at block
// starts, so the project's C90-style warning is switched off for this file.
#pragma GCC diagnostic ignored "-Wdeclaration-after-statement"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mve-impl.h"
#include "mve-test-fixture.h"

#define TOL 1e-4

static int
run (const char *path, int threads)
{
  struct fx x;
  if (fx_load (&x, path) != 0)
    return 1;
  int fails = 0;
  char err[256];
  const char **keys = calloc (x.nmeta, sizeof (char *)), **vals = calloc (x.nmeta, sizeof (char *));
  for (int i = 0; i < x.nmeta; i++)
    {
      keys[i] = x.keys[i];
      vals[i] = x.vals[i];
    }
  struct mve_config cfg;
  mve_model_t m = NULL;
  if (mve_config_from_kv (&cfg, keys, vals, x.nmeta, err, sizeof err) != MVE_STATUS_OK
      || mve_model_init (&m, &cfg, 1, threads, err, sizeof err) != MVE_STATUS_OK)
    {
      fprintf (stderr, "%s: %s\n", path, err);
      free (keys);
      free (vals);
      fx_free (&x);
      return 1;
    }
  free (keys);
  free (vals);
  // weights
  float *params = mve_model_params_data (m), *grads = mve_model_grads_data (m);
  char name[96];
  for (int i = 0; i < mve_model_tensor_count (m); i++)
    {
      const struct mve_tensor_info *ti = mve_model_tensor (m, i);
      snprintf (name, sizeof name, "param/%s", ti->name);
      const struct fx_tensor *t = fx_get (&x, name);
      if (t == NULL || t->numel != ti->numel)
        {
          fprintf (stderr, "%s: fixture lacks %s or its shape differs\n", path, name);
          fails++;
          continue;
        }
      memcpy (params + ti->offset, t->data, sizeof (float) * ti->numel);
    }
  const struct fx_tensor *img = fx_get (&x, "batch/images"), *q = fx_get (&x, "batch/question"),
                         *ql = fx_get (&x, "batch/question_len"), *a = fx_get (&x, "batch/answer"),
                         *al = fx_get (&x, "batch/answer_len");
  if (!img || !q || !ql || !a || !al || fails)
    {
      fprintf (stderr, "%s: fixture incomplete\n", path);
      mve_model_free (m);
      fx_free (&x);
      return 1;
    }
  struct mve_batch b = { .B = (int32_t) img->dims[0], .images = img->data, .question = q->data,
                         .question_len = ql->data, .answer = a->data, .answer_len = al->data,
                         .Tq = (int32_t) q->dims[1], .Ta = (int32_t) a->dims[1] };
  struct mve_losses L;
  if (mve_model_evaluate (m, &b, &L) != MVE_STATUS_OK)
    fprintf (stderr, "%s: evaluate failed: %s\n", path, mve_model_last_error (m)), fails++;
  float ev[4] = { L.total, L.itc, L.itm, L.lm };
  fx_compare ("losses (evaluate)", ev, fx_get (&x, "out/losses")->data, 4, TOL, &fails);
  mve_model_keep_logits (m, 1);
  if (mve_model_forward (m, &b, &L) != MVE_STATUS_OK)
    {
      fprintf (stderr, "%s: forward failed: %s\n", path, mve_model_last_error (m));
      mve_model_free (m);
      fx_free (&x);
      return 1;
    }
  float got[4] = { L.total, L.itc, L.itm, L.lm };
  fx_compare ("losses (total itc itm lm)", got, fx_get (&x, "out/losses")->data, 4, TOL, &fails);
  int64_t n;
  const float *lm = mve_model_lm_logits (m, &n);
  const struct fx_tensor *t = fx_get (&x, "out/lm_logits");
  if (t->numel != n * cfg.vocab_size)
    fprintf (stderr, "lm logits: %lld rows, reference %lld\n", (long long) n, (long long) t->dims[0]), fails++;
  else
    fx_compare ("lm_logits", lm, t->data, t->numel, TOL, &fails);
  if ((t = fx_get (&x, "out/itm_logits")) != NULL)
    {
      const float *il = mve_model_itm_logits (m, &n);
      if (t->numel != 2 * n)
        fprintf (stderr, "itm logits: %lld rows, reference %lld\n", (long long) n, (long long) t->dims[0]), fails++;
      else
        fx_compare ("itm_logits", il, t->data, t->numel, TOL, &fails);
    }
  if ((t = fx_get (&x, "out/sim")) != NULL)
    {
      const float *sim = mve_model_itc_sim (m, &n);
      fx_compare ("itc_sim", sim, t->data, t->numel, TOL, &fails);
    }
  mve_model_zero_grad (m);
  mve_model_backward (m);
  for (int i = 0; i < mve_model_tensor_count (m); i++)
    {
      const struct mve_tensor_info *ti = mve_model_tensor (m, i);
      snprintf (name, sizeof name, "grad/%s", ti->name);
      t = fx_get (&x, name);
      fx_compare (name, grads + ti->offset, t->data, ti->numel, TOL, &fails);
    }
  struct mve_adam opt;
  mve_adam_init_default (&opt);
  opt.lr = strtof (fx_meta (&x, "adam.lr"), NULL);
  opt.clip_norm = strtof (fx_meta (&x, "adam.clip_norm"), NULL);
  opt.eps = strtof (fx_meta (&x, "adam.eps"), NULL);
  mve_model_adam_step (m, &opt, 1);
  mve_model_forward (m, &b, &L);
  float got2[4] = { L.total, L.itc, L.itm, L.lm };
  fx_compare ("losses after step 1", got2, fx_get (&x, "out/losses2")->data, 4, TOL, &fails);
  mve_model_zero_grad (m);
  mve_model_backward (m);
  mve_model_adam_step (m, &opt, 2);
  for (int i = 0; i < mve_model_tensor_count (m); i++)
    {
      const struct mve_tensor_info *ti = mve_model_tensor (m, i);
      snprintf (name, sizeof name, "adam2/%s", ti->name);
      t = fx_get (&x, name);
      fx_compare (name, params + ti->offset, t->data, ti->numel, TOL, &fails);
    }
  printf ("%s (%d threads): %s (%d mismatching tensors)\n", path, threads, fails ? "FAIL" : "ok",
          fails);
  mve_model_free (m);
  fx_free (&x);
  return fails != 0;
}

int
main (int argc, char **argv)
{
  int rc = 0;
  if (argc < 2)
    {
      const char *src = getenv ("MVAEMA_SOURCE_DIR");
      char p[1024];
      snprintf (p, sizeof p, "%s/tests/engine/parity-fixture.bin", src ? src : ".");
      return run (p, 1) | run (p, 3);
    }
  // one thread, and three (the attention's work split across threads)
  for (int i = 1; i < argc; i++)
    rc |= run (argv[i], 1) | run (argv[i], 3);
  return rc;
}
