// SPDX-License-Identifier: GPL-3.0-or-later
// mve-device.c: the engine's side of a model on a backend device
// (mve-device.h): the parameter block (params, grads, Adam m, v) allocated
// through the backend, the host half of each step (_mve_device_prepare),
// and the transfers back into an mve_model.
#pragma GCC diagnostic ignored "-Wdeclaration-after-statement"
#include "mve-device.h"

#include "mve-model-impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mve_device_model
{
  struct mve_backend *be;
  void *dm;     // the module's model
  float *block; // device: params | grads | adam_m | adam_v
  int64_t n;    // n_params
  struct mve_model *host; // scratch model for the host half (config only)
  struct mve_config cfg;
};

bool
mve_backend_has_model (const struct mve_backend *be)
{
  return be != NULL && be->iface != NULL && be->iface->abi_version >= 3
         && be->iface->model_create != NULL && be->iface->model_step != NULL
         && be->iface->model_generate != NULL;
}

static mve_status
be_fail (const struct mve_backend *be, char *err, size_t errn, mve_status st, const char *what)
{
  const char *why = be != NULL && be->iface->last_error ? be->iface->last_error (be->ctx) : NULL;
  return mve_error_set (err, errn, st, "%s: %s", what, why && *why ? why : mve_status_to_string (st));
}

mve_status
mve_device_model_open (mve_device_model **out, mve_model_t m, struct mve_backend *be, char *err,
                       size_t errn)
{
  if (out == NULL || m == NULL)
    return mve_error_set (err, errn, MVE_STATUS_INVALID_ARGUMENT, "device model: no model");
  *out = NULL;
  if (!mve_backend_has_model (be))
    return mve_error_set (err, errn, MVE_STATUS_NO_DEVICE,
                          "the backend runs no whole training steps (rebuild the CUDA module)");
  mve_device_model *d = calloc (1, sizeof *d);
  if (d == NULL)
    return mve_error_set (err, errn, MVE_STATUS_ALLOC_FAILED, "out of memory");
  d->be = be;
  d->cfg = m->cfg;
  d->n = m->n_params;
  mve_status st = _mve_model_alloc (&d->host, &m->cfg, 1, err, errn);
  if (st != MVE_STATUS_OK)
    goto fail;
  void *block = NULL;
  st = be->iface->alloc (be->ctx, &block, (size_t) d->n * 4 * sizeof (float));
  if (st != MVE_STATUS_OK)
    {
      be_fail (be, err, errn, st, "device parameters");
      goto fail;
    }
  d->block = block;
  struct mve_model_desc md;
  memset (&md, 0, sizeof md);
  md.cfg = m->cfg;
  md.n_params = d->n;
  md.params = d->block;
  md.grads = d->block + d->n;
  md.adam_m = d->block + 2 * d->n;
  md.adam_v = d->block + 3 * d->n;
  mve_params_point (&md.p, md.params, &m->cfg); // pointer arithmetic on device addresses
  mve_params_point (&md.g, md.grads, &m->cfg);
  _mve_itc_head_ranges (m, md.itc_lo, md.itc_hi);
  st = be->iface->memset_zero (be->ctx, d->block + d->n, (size_t) d->n * 3 * sizeof (float));
  if (st != MVE_STATUS_OK)
    {
      be_fail (be, err, errn, st, "device parameters");
      goto fail;
    }
  st = be->iface->model_create (be->ctx, &d->dm, &md);
  if (st != MVE_STATUS_OK)
    {
      be_fail (be, err, errn, st, "device model");
      goto fail;
    }
  st = mve_device_model_upload (d, m, err, errn);
  if (st != MVE_STATUS_OK)
    goto fail;
  *out = d;
  return MVE_STATUS_OK;
fail:
  mve_device_model_close (d);
  return st;
}

void
mve_device_model_close (mve_device_model *d)
{
  if (d == NULL)
    return;
  if (d->dm != NULL)
    d->be->iface->model_free (d->be->ctx, d->dm);
  if (d->block != NULL)
    d->be->iface->free (d->be->ctx, d->block);
  mve_model_free (d->host);
  free (d);
}

mve_status
mve_device_model_upload (mve_device_model *d, mve_model_t m, char *err, size_t errn)
{
  if (d == NULL || m == NULL || m->n_params != d->n)
    return mve_error_set (err, errn, MVE_STATUS_INVALID_ARGUMENT, "device model: other model");
  const struct mve_backend *be = d->be;
  size_t bytes = (size_t) d->n * sizeof (float);
  mve_status st = be->iface->copy_to_device (be->ctx, d->block, m->params_mem, bytes);
  if (st == MVE_STATUS_OK && m->adam_m != NULL && m->adam_v != NULL)
    {
      st = be->iface->copy_to_device (be->ctx, d->block + 2 * d->n, m->adam_m, bytes);
      if (st == MVE_STATUS_OK)
        st = be->iface->copy_to_device (be->ctx, d->block + 3 * d->n, m->adam_v, bytes);
    }
  if (st == MVE_STATUS_OK)
    st = be->iface->synchronize (be->ctx);
  return st == MVE_STATUS_OK ? st : be_fail (be, err, errn, st, "upload to the device");
}

mve_status
mve_device_model_read (mve_device_model *d, enum mve_device_buffer which, float *host, char *err,
                       size_t errn)
{
  if (d == NULL || host == NULL || (int) which < 0 || which > MVE_DEVICE_ADAM_V)
    return mve_error_set (err, errn, MVE_STATUS_INVALID_ARGUMENT, "device read: bad arguments");
  mve_status st = d->be->iface->copy_to_host (d->be->ctx, host, d->block + (int64_t) which * d->n,
                                              (size_t) d->n * sizeof (float));
  return st == MVE_STATUS_OK ? st : be_fail (d->be, err, errn, st, "copy from the device");
}

mve_status
mve_device_model_download (mve_device_model *d, mve_model_t m, char *err, size_t errn)
{
  if (d == NULL || m == NULL || m->n_params != d->n)
    return mve_error_set (err, errn, MVE_STATUS_INVALID_ARGUMENT, "device model: other model");
  if (m->adam_m == NULL)
    m->adam_m = calloc ((size_t) m->n_params, sizeof (float));
  if (m->adam_v == NULL)
    m->adam_v = calloc ((size_t) m->n_params, sizeof (float));
  if (m->adam_m == NULL || m->adam_v == NULL)
    return mve_error_set (err, errn, MVE_STATUS_ALLOC_FAILED, "out of memory for Adam state");
  mve_status st = mve_device_model_read (d, MVE_DEVICE_PARAMS, m->params_mem, err, errn);
  if (st == MVE_STATUS_OK)
    st = mve_device_model_read (d, MVE_DEVICE_ADAM_M, m->adam_m, err, errn);
  if (st == MVE_STATUS_OK)
    st = mve_device_model_read (d, MVE_DEVICE_ADAM_V, m->adam_v, err, errn);
  return st;
}

mve_status
mve_device_model_step (mve_device_model *d, const struct mve_batch *b, uint64_t neg_seed,
                       int backward, const struct mve_adam *opt, int64_t step,
                       float itc_head_scale, struct mve_losses *losses, float *grad_norm,
                       char *err, size_t errn)
{
  if (d == NULL)
    return mve_error_set (err, errn, MVE_STATUS_INVALID_ARGUMENT, "device step: no model");
  if (opt != NULL
      && (step < 1 || !(opt->lr >= 0) || !(opt->beta1 >= 0 && opt->beta1 < 1)
          || !(opt->beta2 >= 0 && opt->beta2 < 1) || !(opt->eps > 0)
          || !(itc_head_scale >= 0.0f && itc_head_scale <= 1.0f)))
    return mve_error_set (err, errn, MVE_STATUS_INVALID_ARGUMENT, "bad Adam settings or step");
  struct mve_step_desc s;
  mve_status st = _mve_device_prepare (d->host, b, neg_seed, &s);
  if (st != MVE_STATUS_OK)
    return mve_error_set (err, errn, st, "%s", mve_model_last_error (d->host));
  s.backward = backward || opt != NULL;
  s.adam = opt != NULL;
  if (opt != NULL)
    {
      s.lr = opt->lr;
      s.beta1 = opt->beta1;
      s.beta2 = opt->beta2;
      s.eps = opt->eps;
      s.weight_decay = opt->weight_decay;
      s.clip_norm = opt->clip_norm;
      s.itc_head_scale = itc_head_scale;
      s.step = step;
    }
  struct mve_step_result r;
  memset (&r, 0, sizeof r);
  st = d->be->iface->model_step (d->be->ctx, d->dm, &s, &r);
  if (st != MVE_STATUS_OK)
    return be_fail (d->be, err, errn, st, "device step");
  if (losses != NULL)
    *losses = (struct mve_losses) { .total = r.total, .itc = r.itc, .itm = r.itm, .lm = r.lm };
  if (grad_norm != NULL)
    *grad_norm = r.grad_norm;
  if (!isfinite (r.total))
    return mve_error_set (err, errn, MVE_STATUS_ERROR, "loss is not finite");
  if (opt != NULL && !isfinite (r.grad_norm))
    return mve_error_set (err, errn, MVE_STATUS_ERROR, "gradient is not finite (no update made)");
  return MVE_STATUS_OK;
}

mve_status
mve_device_model_generate (mve_device_model *d, const float *image, const int32_t *question,
                           int32_t qlen, int32_t max_new, mve_token_cb cb, void *user,
                           int32_t *out_tokens, int32_t *n_out, char *err, size_t errn)
{
  if (d == NULL || image == NULL || out_tokens == NULL || n_out == NULL || max_new < 0)
    return mve_error_set (err, errn, MVE_STATUS_INVALID_ARGUMENT, "generate: bad arguments");
  *n_out = 0;
  if (qlen < 0 || qlen > d->cfg.max_question_len || (qlen > 0 && question == NULL))
    return mve_error_set (err, errn, MVE_STATUS_INVALID_ARGUMENT,
                          "question length %d out of range [0, %d]", qlen, d->cfg.max_question_len);
  for (int32_t i = 0; i < qlen; i++)
    if (question[i] < 0 || question[i] >= d->cfg.vocab_size)
      return mve_error_set (err, errn, MVE_STATUS_INVALID_ARGUMENT, "question token %d out of range",
                            question[i]);
  if (max_new > d->cfg.max_answer_len + 1)
    return mve_error_set (err, errn, MVE_STATUS_INVALID_ARGUMENT, "max_new %d out of range [0, %d]",
                          max_new, d->cfg.max_answer_len + 1);
  if (max_new == 0)
    return MVE_STATUS_OK;
  struct mve_gen_desc g = { .image = image, .question = question, .qlen = qlen,
                            .max_new = max_new, .out_tokens = out_tokens, .n_out = n_out,
                            .cb = cb, .user = user };
  mve_status st = d->be->iface->model_generate (d->be->ctx, d->dm, &g);
  return st == MVE_STATUS_OK ? st : be_fail (d->be, err, errn, st, "device generation");
}
