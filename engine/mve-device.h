// SPDX-License-Identifier: GPL-3.0-or-later
// mve-device.h: a model's copy on a backend device (the CUDA module): its
// parameters, gradients, Adam moments and activations live there, a training
// step uploads the batch once and synchronises only at its end, and greedy
// decoding keeps its key/value cache there.
//
//   struct mve_backend *be;  char why[256];
//   if (mve_backend_open_cuda (&be, 0, why, sizeof why) == MVE_STATUS_OK)
//     {
//       mve_device_model *dm;
//       mve_device_model_open (&dm, m, be, err, sizeof err);   // uploads m
//       mve_device_model_step (dm, &batch, seed, &adam, step, 0.1f, &L, &norm, err, sizeof err);
//       mve_device_model_download (dm, m, err, sizeof err);    // weights back into m
//       mve_device_model_close (dm);
//       mve_backend_close (be);
//     }
#pragma once

#include "mve-backend.h"
#include "mve.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mve_device_model mve_device_model;

// True when the backend runs whole training and decoding steps (the CUDA
// module of ABI 3 and later).
bool mve_backend_has_model (const struct mve_backend *be);

// Copy m's parameters (and its Adam moments, when it has them) to the device.
// The device model refers to be (close it before be) but not to m.
mve_status mve_device_model_open (mve_device_model **out, mve_model_t m, struct mve_backend *be,
                                  char *err, size_t errn);
void mve_device_model_close (mve_device_model *dm); // accepts NULL

// One step on the device: forward of the batch with seeded random ITM
// negatives (mve_model_forward_random_negatives' draws for the same seed),
// then, with opt != NULL, gradients (zeroed first) and an Adam update with
// clipping (opt->clip_norm) where the ITC head's change is scaled by
// itc_head_scale (mve_train's per-group lr). opt == NULL and backward != 0:
// gradients only (tests). losses and grad_norm (NULL allowed) come back at
// the end of the step, the only synchronisation.
mve_status mve_device_model_step (mve_device_model *dm, const struct mve_batch *b,
                                  uint64_t neg_seed, int backward, const struct mve_adam *opt,
                                  int64_t step, float itc_head_scale, struct mve_losses *losses,
                                  float *grad_norm, char *err, size_t errn);

enum mve_device_buffer
{
  MVE_DEVICE_PARAMS = 0,
  MVE_DEVICE_GRADS = 1,
  MVE_DEVICE_ADAM_M = 2,
  MVE_DEVICE_ADAM_V = 3,
};
// Copy one buffer (n_params floats, mve_model_params_data's layout) to host.
mve_status mve_device_model_read (mve_device_model *dm, enum mve_device_buffer which, float *host,
                                  char *err, size_t errn);
// Parameters and Adam moments back into m (after training on the device).
mve_status mve_device_model_download (mve_device_model *dm, mve_model_t m, char *err, size_t errn);
// Parameters of m to the device again (m changed on the host).
mve_status mve_device_model_upload (mve_device_model *dm, mve_model_t m, char *err, size_t errn);

// Greedy decoding on the device (mve_model_generate with beam_width 1):
// the same tokens as the CPU within float rounding; cb gets each token and
// its patch cross-attention as it is made.
mve_status mve_device_model_generate (mve_device_model *dm, const float *image,
                                      const int32_t *question, int32_t qlen, int32_t max_new,
                                      mve_token_cb cb, void *user, int32_t *out_tokens,
                                      int32_t *n_out, char *err, size_t errn);

#ifdef __cplusplus
}
#endif
