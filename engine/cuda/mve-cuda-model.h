// SPDX-License-Identifier: GPL-3.0-or-later
// mve-cuda-model.h: the whole model on the device (module internal): the
// training step (mve-cuda-model.cu) and greedy decoding (mve-cuda-generate.cu)
// share this struct. Parameters live in the engine-allocated block of
// struct mve_model_desc; activations in the module's arena.
#pragma once

#include "mve-cuda-common.h"

#ifdef __cplusplus
extern "C" {
#endif

struct mve_cuda_gen;  // mve-cuda-generate.cu's state (key/value cache, ...)
struct mve_cuda_acts; // mve-cuda-model.cu's activation layout

struct mve_cuda_model
{
  struct mve_model_desc md;
  // activation arena (floats, device) and integer block (device), grown on demand
  float *arena;
  size_t arena_cap;
  int32_t *ints;
  size_t ints_cap;
  float *images; // (B, ch, S, S) device copy of the step's images
  size_t images_cap;
  // pinned host staging of the step's upload and of its results
  void *staging;
  size_t staging_cap;
  float *h_result;  // pinned, 8 floats: total, itc, itm, lm, grad norm, ...
  float *d_scalars; // device, 64 floats: losses, norm, clip scale, ...
  struct mve_cuda_acts *acts; // carved from arena for the last step's shapes
  // MVAEMA_CUDA_PHASES=1: events around the phases of each step, printed
  // to stderr as one JSON line per step (where a step's time goes)
  cudaEvent_t phase[12];
  int phases; // events created
  struct mve_cuda_gen *gen;   // NULL until the first generation
};

// The image encoder over B images already on the device (d_images, (B, ch,
// S, S)): the vision stack's final layer-norm output (B, Nv, C), in the
// model's arena (valid until the next call on dm). No gradients kept.
mve_status mve_cuda_model_encode_images (struct mve_cuda_ctx *ctx, struct mve_cuda_model *dm,
                                         const float *d_images, int B, const float **lnf);

// vtable slots
mve_status mve_cuda_model_create (void *ctx, void **dm, const struct mve_model_desc *md);
void mve_cuda_model_free (void *ctx, void *dm);
mve_status mve_cuda_model_step (void *ctx, void *dm, const struct mve_step_desc *s,
                                struct mve_step_result *r);
mve_status mve_cuda_model_generate (void *ctx, void *dm, const struct mve_gen_desc *g);
// frees dm->gen (mve-cuda-generate.cu); accepts NULL
void mve_cuda_gen_free (struct mve_cuda_ctx *ctx, struct mve_cuda_gen *gen);

#ifdef __cplusplus
}
#endif
