// SPDX-License-Identifier: GPL-3.0-or-later
// mve-model-train.c: the training loop (epochs of batches, linear learning-rate
// warmup, a smaller lr for the ITC head, seeded random ITM negatives,
// validation, learning-rate halving on a plateau, early stopping, cancellation
// between steps) and checkpoints (safetensors with the configuration in the
// metadata). At the paper's lr 1e-3 without warmup and with the ITC head at
// the full lr, ITC collapsed to log(B) within a few steps (every embedding on
// one vector); tests/engine/test-train.c checks that it does not.
// Declarations sit at first use (C11, as in llm.c) rather than at block
// starts, so the project's C90-style warning is switched off for this file.
#pragma GCC diagnostic ignored "-Wdeclaration-after-statement"
#include "mve-model-impl.h"
#include "mve-device.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mve-safetensors.h"

// --- training loop ---------------------------------------------------------------------------
void
mve_train_opts_init_default (struct mve_train_opts *o)
{
  memset (o, 0, sizeof *o);
  mve_adam_init_default (&o->adam);
  o->epochs = 50;
  o->patience = 5;
  o->early_stop_patience = 10;
  o->warmup_steps = MVE_WARMUP_AUTO;
  o->itc_head_lr_scale = 0.1f;
}

int64_t
mve_train_warmup_steps (int64_t warmup_steps, int64_t total_steps)
{
  if (warmup_steps >= 0)
    return warmup_steps;
  if (total_steps <= 0)
    return 0;
  int64_t w = (total_steps + 19) / 20; // 5%, rounded up
  return w < MVE_WARMUP_MAX_AUTO ? w : MVE_WARMUP_MAX_AUTO;
}

// The parameters of the ITC head: [*lo, *hi) in the flat parameter buffer
// (heads.vproj_w .. heads.tproj_b, and heads.temp), or an empty range.
void
_mve_itc_head_ranges (mve_model_t m, int64_t lo[2], int64_t hi[2])
{
  const char *first[2] = { "heads.vproj_w", "heads.temp" }, *last[2] = { "heads.tproj_b", "heads.temp" };
  for (int r = 0; r < 2; r++)
    {
      int a = mve_model_find_tensor (m, first[r]), b = mve_model_find_tensor (m, last[r]);
      lo[r] = hi[r] = 0;
      if (a >= 0 && b >= a)
        {
          lo[r] = m->table[a].offset;
          hi[r] = m->table[b].offset + m->table[b].numel;
        }
    }
}

static double
now_s (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

// The ITC head's parameters and their values before a step.
struct head_group
{
  float scale;
  int64_t lo[2], hi[2];
  float *old; // NULL: scale 1
};

static mve_status
train_loop (mve_model_t m, const struct mve_train_opts *o, struct head_group *h,
            mve_device_model *dev)
{
  struct mve_adam adam = o->adam;
  int64_t warmup = mve_train_warmup_steps (o->warmup_steps, o->steps);
  int64_t step = 0;
  float best = INFINITY;
  int since_best = 0, since_lr = 0;
  int32_t epochs = o->epochs > 0 ? o->epochs : INT32_MAX;
  for (int32_t epoch = 0; epoch < epochs; epoch++)
    {
      double loss_sum = 0.0;
      int64_t nb = 0;
      for (;;)
        {
          if (o->should_abort != NULL && o->should_abort (o->user))
            return _mve_fail (m, NULL, 0, MVE_STATUS_CANCELLED, "training cancelled");
          if (o->steps > 0 && step >= o->steps)
            return MVE_STATUS_OK;
          struct mve_batch b;
          memset (&b, 0, sizeof b);
          int r = o->next_batch (o->user, &b);
          if (r < 0)
            return _mve_fail (m, NULL, 0, MVE_STATUS_ERROR, "the batch source failed");
          if (r == 0)
            break;
          double t0 = now_s ();
          struct mve_losses L;
          if (dev != NULL)
            {
              struct mve_adam step_adam = adam;
              ++step;
              if (step <= warmup)
                step_adam.lr = (float) ((double) adam.lr * (double) step / (double) warmup);
              uint64_t seed = o->seed * 0x9e3779b97f4a7c15ULL + (uint64_t) step;
              mve_status st = mve_device_model_step (dev, &b, seed, 1, &step_adam, step, h->scale,
                                                     &L, NULL, m->last_error,
                                                     sizeof m->last_error);
              if (st != MVE_STATUS_OK)
                return st;
              double dt = now_s () - t0;
              loss_sum += L.total;
              nb++;
              if (o->on_step)
                o->on_step (o->user, step, &L, step_adam.lr, dt > 0 ? b.B / dt : 0.0);
              continue;
            }
          mve_status st = o->itm_negatives == MVE_ITM_NEGATIVES_HARDEST
                            ? mve_model_forward (m, &b, &L)
                            : mve_model_forward_random_negatives (
                                m, &b, o->seed * 0x9e3779b97f4a7c15ULL + (uint64_t) step + 1, &L);
          if (st != MVE_STATUS_OK)
            return st;
          mve_model_zero_grad (m);
          st = mve_model_backward (m);
          if (st != MVE_STATUS_OK)
            return st;
          struct mve_adam step_adam = adam;
          ++step;
          if (step <= warmup)
            step_adam.lr = (float) ((double) adam.lr * (double) step / (double) warmup);
          if (h->old != NULL)
            for (int g = 0, k = 0; g < 2; g++)
              for (int64_t i = h->lo[g]; i < h->hi[g]; i++)
                h->old[k++] = m->params_mem[i];
          st = mve_model_adam_step (m, &step_adam, step);
          if (st != MVE_STATUS_OK)
            return st;
          // Adam's update is linear in lr: scaling the head's change is a
          // per-group learning rate (the moments are the shared step's)
          if (h->old != NULL)
            for (int g = 0, k = 0; g < 2; g++)
              for (int64_t i = h->lo[g]; i < h->hi[g]; i++, k++)
                m->params_mem[i] = h->old[k] + h->scale * (m->params_mem[i] - h->old[k]);
          double dt = now_s () - t0;
          loss_sum += L.total;
          nb++;
          if (o->on_step)
            o->on_step (o->user, step, &L, step_adam.lr, dt > 0 ? b.B / dt : 0.0);
        }
      if (nb == 0 && o->validate == NULL)
        return _mve_fail (m, NULL, 0, MVE_STATUS_INVALID_ARGUMENT, "an epoch without batches");
      float val = nb > 0 ? (float) (loss_sum / nb) : INFINITY;
      if (o->validate != NULL)
        {
          if (dev != NULL) // the callback looks at m: bring the weights back first
            {
              mve_status st = mve_device_model_download (dev, m, m->last_error,
                                                         sizeof m->last_error);
              if (st != MVE_STATUS_OK)
                return st;
            }
          mve_status st = o->validate (o->user, m, &val);
          if (st != MVE_STATUS_OK)
            return st;
        }
      if (val < best)
        {
          best = val;
          since_best = 0;
          since_lr = 0;
        }
      else
        {
          since_best++;
          since_lr++;
          if (o->patience > 0 && since_lr >= o->patience)
            {
              adam.lr *= 0.5f;
              since_lr = 0;
            }
        }
      if (o->on_epoch)
        o->on_epoch (o->user, epoch, val, adam.lr);
      if (o->early_stop_patience > 0 && since_best >= o->early_stop_patience)
        break;
    }
  return MVE_STATUS_OK;
}

mve_status
mve_train (mve_model_t m, const struct mve_train_opts *o)
{
  if (m == NULL || o == NULL || o->next_batch == NULL || (o->epochs <= 0 && o->steps <= 0))
    return _mve_fail (m, NULL, 0, MVE_STATUS_INVALID_ARGUMENT,
                      "training needs a batch callback and epochs or steps");
  if (!(o->itc_head_lr_scale >= 0.0f && o->itc_head_lr_scale <= 1.0f))
    return _mve_fail (m, NULL, 0, MVE_STATUS_INVALID_ARGUMENT,
                      "the ITC head's learning-rate scale %g is not in [0, 1]",
                      (double) o->itc_head_lr_scale);
  struct head_group h = { .scale = o->itc_head_lr_scale };
  if (h.scale != 1.0f)
    {
      _mve_itc_head_ranges (m, h.lo, h.hi);
      int64_t n = (h.hi[0] - h.lo[0]) + (h.hi[1] - h.lo[1]);
      if (n > 0 && (h.old = malloc (sizeof (float) * (size_t) n)) == NULL)
        return _mve_fail (m, NULL, 0, MVE_STATUS_ALLOC_FAILED, "out of memory");
    }
  mve_device_model *dev = NULL;
  if (o->backend != NULL)
    {
      if (o->itm_negatives == MVE_ITM_NEGATIVES_HARDEST)
        {
          free (h.old);
          return _mve_fail (m, NULL, 0, MVE_STATUS_UNSUPPORTED,
                            "hardest ITM negatives run on the CPU only (use random negatives "
                            "on the device)");
        }
      mve_status st = mve_device_model_open (&dev, m, o->backend, m->last_error,
                                             sizeof m->last_error);
      if (st != MVE_STATUS_OK)
        {
          free (h.old);
          return st;
        }
    }
  mve_status st = train_loop (m, o, &h, dev);
  if (dev != NULL)
    {
      // the weights so far come back on success, cancel and errors alike
      char keep[sizeof m->last_error];
      memcpy (keep, m->last_error, sizeof keep);
      mve_status dst = mve_device_model_download (dev, m, m->last_error, sizeof m->last_error);
      if (st != MVE_STATUS_OK || dst == MVE_STATUS_OK)
        memcpy (m->last_error, keep, sizeof keep);
      if (st == MVE_STATUS_OK)
        st = dst;
      mve_device_model_close (dev);
    }
  free (h.old);
  return st;
}

// --- checkpoints ---------------------------------------------------------------------------------
#define MVE_FORMAT_KEY "mve.format"
#define MVE_FORMAT_VALUE "mvaema-s32/1"

mve_status
mve_model_save (mve_model_t m, const char *path, const char *const *extra_meta, char *err, size_t errn)
{
  if (m == NULL || path == NULL)
    return mve_error_set (err, errn, MVE_STATUS_INVALID_ARGUMENT, "save: missing model or path");
  char keys[MVE_CONFIG_N_KEYS][MVE_CONFIG_KV_LEN], vals[MVE_CONFIG_N_KEYS][MVE_CONFIG_KV_LEN];
  mve_config_to_kv (&m->cfg, keys, vals);
  size_t nextra = 0;
  if (extra_meta != NULL)
    while (extra_meta[nextra] != NULL && extra_meta[nextra + 1] != NULL)
      nextra += 2;
  size_t nmeta = 2 * (MVE_CONFIG_N_KEYS + 2) + nextra + 1;
  const char **meta = calloc (nmeta, sizeof (char *));
  struct mve_st_tensor *t = calloc ((size_t) m->n_tensors, sizeof *t);
  if (meta == NULL || t == NULL)
    {
      free (meta);
      free (t);
      return _mve_fail (m, err, errn, MVE_STATUS_ALLOC_FAILED, "out of memory");
    }
  size_t k = 0;
  meta[k++] = "format";
  meta[k++] = "pt";
  meta[k++] = MVE_FORMAT_KEY;
  meta[k++] = MVE_FORMAT_VALUE;
  for (int i = 0; i < MVE_CONFIG_N_KEYS; i++)
    {
      meta[k++] = keys[i];
      meta[k++] = vals[i];
    }
  for (size_t i = 0; i < nextra; i++)
    meta[k++] = extra_meta[i];
  meta[k] = NULL;
  for (int i = 0; i < m->n_tensors; i++)
    {
      const struct mve_tensor_info *ti = &m->table[i];
      t[i].name = ti->name;
      t[i].ndim = ti->ndim;
      for (int d = 0; d < ti->ndim; d++)
        t[i].shape[d] = ti->shape[d];
      t[i].data = m->params_mem + ti->offset;
    }
  mve_status st = mve_safetensors_write (path, t, (size_t) m->n_tensors, meta, err, errn);
  free (meta);
  free (t);
  return st;
}

mve_status
mve_model_load (mve_model_t *out, const char *path, int32_t threads, char *err, size_t errn)
{
  if (out == NULL || path == NULL)
    return mve_error_set (err, errn, MVE_STATUS_INVALID_ARGUMENT, "load: missing path");
  *out = NULL;
  mve_safetensors *f = NULL;
  mve_status st = mve_safetensors_open (&f, path, err, errn);
  if (st != MVE_STATUS_OK)
    return st;
  const char *fmt = mve_safetensors_get_meta (f, MVE_FORMAT_KEY);
  if (fmt == NULL || strcmp (fmt, MVE_FORMAT_VALUE) != 0)
    {
      mve_safetensors_close (f);
      return mve_error_set (err, errn, MVE_STATUS_BAD_FORMAT,
                            "%s: not an MVaEMa checkpoint (no %s=%s in the metadata)", path,
                            MVE_FORMAT_KEY, MVE_FORMAT_VALUE);
    }
  size_t nm = mve_safetensors_meta_count (f);
  const char **keys = calloc (nm + 1, sizeof (char *)), **vals = calloc (nm + 1, sizeof (char *));
  if (keys == NULL || vals == NULL)
    {
      free (keys);
      free (vals);
      mve_safetensors_close (f);
      return mve_error_set (err, errn, MVE_STATUS_ALLOC_FAILED, "out of memory");
    }
  for (size_t i = 0; i < nm; i++)
    keys[i] = mve_safetensors_meta_at (f, i, &vals[i]);
  struct mve_config cfg;
  char cerr[200] = "";
  st = mve_config_from_kv (&cfg, keys, vals, nm, cerr, sizeof cerr);
  free (keys);
  free (vals);
  if (st != MVE_STATUS_OK)
    {
      mve_safetensors_close (f);
      return mve_error_set (err, errn, MVE_STATUS_BAD_FORMAT, "%s: bad configuration: %s", path, cerr);
    }
  struct mve_model *m = NULL;
  st = _mve_model_alloc (&m, &cfg, threads, err, errn);
  if (st != MVE_STATUS_OK)
    {
      mve_safetensors_close (f);
      return st;
    }
  for (int i = 0; i < m->n_tensors; i++)
    {
      const struct mve_tensor_info *ti = &m->table[i];
      const struct mve_st_info *si = mve_safetensors_find (f, ti->name);
      int ok = si != NULL && si->ndim == ti->ndim;
      for (int d = 0; ok && d < ti->ndim; d++)
        ok = si->shape[d] == ti->shape[d];
      if (!ok)
        {
          mve_safetensors_close (f);
          mve_model_free (m);
          return mve_error_set (err, errn, MVE_STATUS_BAD_FORMAT,
                                "%s: tensor %s is missing or has the wrong shape", path, ti->name);
        }
      st = mve_safetensors_read_f32 (f, ti->name, m->params_mem + ti->offset, (size_t) ti->numel, err,
                                     errn);
      if (st != MVE_STATUS_OK)
        {
          mve_safetensors_close (f);
          mve_model_free (m);
          return st;
        }
    }
  mve_safetensors_close (f);
  for (int64_t i = 0; i < m->n_params; i++)
    if (!isfinite (m->params_mem[i]))
      {
        mve_model_free (m);
        return mve_error_set (err, errn, MVE_STATUS_BAD_FORMAT, "%s: weights are not finite", path);
      }
  *out = m;
  return MVE_STATUS_OK;
}
