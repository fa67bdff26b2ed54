// SPDX-License-Identifier: GPL-3.0-or-later
// mve-test-toy.h: a toy visual question answering task for the engine tests
// (header-only). Four classes of 32x32 images (horizontal stripes, vertical
// stripes, a bright disc, a checkerboard; random phase, contrast and noise),
// the question "what is shown" and a class-specific three-token answer.
#pragma once

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "mve.h"

#define TOY_S 32
#define TOY_CLASSES 4
#define TOY_TQ 3
#define TOY_TA 3

static const int32_t toy_answers[TOY_CLASSES][TOY_TA] = {
  { 10, 11, 12 }, { 10, 13, 12 }, { 14, 15, 16 }, { 17, 11, 16 },
};
static const int32_t toy_question[TOY_TQ] = { 7, 8, 9 };

static uint64_t
toy_next (uint64_t *s)
{
  *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
  return *s >> 33;
}

static float
toy_unif (uint64_t *s)
{
  return (float) (toy_next (s) % 1000000) / 1000000.0f;
}

// image (3, S, S) in [-1, 1] of class k
static void
toy_image (float *img, int k, uint64_t *s)
{
  float phase = toy_unif (s) * 6.28f, contrast = 0.5f + 0.5f * toy_unif (s);
  float cx = 8 + 16 * toy_unif (s), cy = 8 + 16 * toy_unif (s);
  for (int y = 0; y < TOY_S; y++)
    for (int x = 0; x < TOY_S; x++)
      {
        float v;
        switch (k)
          {
          case 0: v = sinf (y * 0.8f + phase); break;
          case 1: v = sinf (x * 0.8f + phase); break;
          case 2: v = ((x - cx) * (x - cx) + (y - cy) * (y - cy) < 49.0f) ? 1.0f : -1.0f; break;
          default: v = (((x / 4) + (y / 4)) & 1) ? 1.0f : -1.0f; break;
          }
        v = contrast * v + 0.2f * (toy_unif (s) * 2 - 1);
        v = v > 1 ? 1 : v < -1 ? -1 : v;
        for (int c = 0; c < 3; c++)
          img[(c * TOY_S + y) * TOY_S + x] = v;
      }
}

struct toy_batch
{
  float images[64 * 3 * TOY_S * TOY_S];
  int32_t q[64 * TOY_TQ], ql[64], a[64 * TOY_TA], al[64];
  int32_t cls[64];
  struct mve_batch b;
};

static void
toy_fill (struct toy_batch *t, int B, uint64_t *s)
{
  for (int i = 0; i < B; i++)
    {
      int k = (int) (toy_next (s) % TOY_CLASSES);
      t->cls[i] = k;
      toy_image (t->images + (size_t) i * 3 * TOY_S * TOY_S, k, s);
      memcpy (t->q + i * TOY_TQ, toy_question, sizeof toy_question);
      t->ql[i] = TOY_TQ;
      memcpy (t->a + i * TOY_TA, toy_answers[k], sizeof toy_answers[k]);
      t->al[i] = TOY_TA;
    }
  t->b = (struct mve_batch) { B, t->images, t->q, t->ql, t->a, t->al, TOY_TQ, TOY_TA };
}

static void
toy_config (struct mve_config *cfg)
{
  mve_config_init_default (cfg);
  cfg->image_size = TOY_S;
  cfg->patch_size = 8;
  cfg->width = 32;
  cfg->heads = 2;
  cfg->vision_layers = cfg->text_layers = cfg->decoder_layers = 2;
  cfg->vocab_size = 24;
  cfg->max_question_len = 8;
  cfg->max_answer_len = 8;
  cfg->embed_dim = 16;
}
