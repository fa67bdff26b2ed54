// SPDX-License-Identifier: GPL-3.0-or-later
// mve-config.c: the model configuration: paper defaults, validation, and the
// key/value form stored in safetensors metadata ("mve.<field>" = decimal text).
// Declarations sit at first use (C11, as in llm.c) rather than at block
// starts, so the project's C90-style warning is switched off for this file.
#pragma GCC diagnostic ignored "-Wdeclaration-after-statement"
#include "mve.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
mve_config_init_default (struct mve_config *cfg)
{
  memset (cfg, 0, sizeof *cfg);
  cfg->image_size = 224;
  cfg->patch_size = 32;
  cfg->channels = 3;
  cfg->width = 64;
  cfg->vision_layers = 4;
  cfg->text_layers = 4;
  cfg->decoder_layers = 4;
  cfg->heads = 4;
  cfg->mlp_ratio = 4;
  cfg->vocab_size = 8192;
  cfg->max_question_len = 48;
  cfg->max_answer_len = 128;
  cfg->embed_dim = 64;
  cfg->temp_init = 0.07f;
  cfg->w_itc = 1.0f;
  cfg->w_itm = 1.0f;
  cfg->w_lm = 1.0f;
  cfg->use_itc = 1;
  cfg->use_itm = 1;
  cfg->use_sa = 1;
  cfg->use_ca = 1;
  cfg->use_csa = 1;
}

mve_status
mve_config_validate (const struct mve_config *c, char *err, size_t errn)
{
  if (c == NULL)
    return mve_error_set (err, errn, MVE_STATUS_INVALID_ARGUMENT, "no configuration");
#define CHECK(cond, ...) \
  do { if (!(cond)) return mve_error_set (err, errn, MVE_STATUS_INVALID_ARGUMENT, __VA_ARGS__); } while (0)
  CHECK (c->image_size >= 1 && c->image_size <= 4096, "image_size %d out of range [1, 4096]", c->image_size);
  CHECK (c->patch_size >= 1 && c->image_size % c->patch_size == 0,
         "patch_size %d does not divide image_size %d", c->patch_size, c->image_size);
  CHECK ((c->image_size / c->patch_size) <= 256, "too many patches");
  CHECK (c->channels >= 1 && c->channels <= 4, "channels %d out of range [1, 4]", c->channels);
  CHECK (c->width >= 1 && c->width <= 8192, "width %d out of range [1, 8192]", c->width);
  CHECK (c->heads >= 1 && c->width % c->heads == 0, "heads %d does not divide width %d", c->heads, c->width);
  CHECK (c->vision_layers >= 0 && c->vision_layers <= 64, "vision_layers %d out of range [0, 64]", c->vision_layers);
  CHECK (c->text_layers >= 0 && c->text_layers <= 64, "text_layers %d out of range [0, 64]", c->text_layers);
  CHECK (c->decoder_layers >= 0 && c->decoder_layers <= 64, "decoder_layers %d out of range [0, 64]", c->decoder_layers);
  CHECK (c->mlp_ratio >= 1 && c->mlp_ratio <= 16, "mlp_ratio %d out of range [1, 16]", c->mlp_ratio);
  CHECK (c->vocab_size > MVE_TOKEN_N_SPECIAL && c->vocab_size <= (1 << 22),
         "vocab_size %d out of range [%d, %d]", c->vocab_size, MVE_TOKEN_N_SPECIAL + 1, 1 << 22);
  CHECK (c->max_question_len >= 0 && c->max_question_len <= 4096, "max_question_len %d out of range", c->max_question_len);
  CHECK (c->max_answer_len >= 1 && c->max_answer_len <= 4096, "max_answer_len %d out of range", c->max_answer_len);
  CHECK (c->embed_dim >= 1 && c->embed_dim <= 8192, "embed_dim %d out of range", c->embed_dim);
  CHECK (isfinite (c->temp_init) && c->temp_init >= 0.001f && c->temp_init <= 0.5f,
         "temp_init %g out of range [0.001, 0.5]", (double) c->temp_init);
  CHECK (isfinite (c->w_itc) && isfinite (c->w_itm) && isfinite (c->w_lm)
         && c->w_itc >= 0 && c->w_itm >= 0 && c->w_lm >= 0, "loss weights must be finite and >= 0");
  CHECK ((c->use_itc | c->use_itm | c->use_sa | c->use_ca | c->use_csa) >= 0
         && c->use_itc <= 1 && c->use_itm <= 1 && c->use_sa <= 1 && c->use_ca <= 1 && c->use_csa <= 1
         && c->use_itc >= 0 && c->use_itm >= 0 && c->use_sa >= 0 && c->use_ca >= 0 && c->use_csa >= 0,
         "ablation switches must be 0 or 1");
#undef CHECK
  return MVE_STATUS_OK;
}

// --- key/value form ------------------------------------------------------------
enum { KV_INT, KV_FLOAT };
struct kv_field
{
  const char *key;
  int kind;
  size_t offset;
};

#define I(f) { "mve." #f, KV_INT, offsetof (struct mve_config, f) }
#define F(f) { "mve." #f, KV_FLOAT, offsetof (struct mve_config, f) }
static const struct kv_field kv_fields[MVE_CONFIG_N_KEYS] = {
  I (image_size), I (patch_size), I (channels), I (width), I (vision_layers), I (text_layers),
  I (decoder_layers), I (heads), I (mlp_ratio), I (vocab_size), I (max_question_len),
  I (max_answer_len), I (embed_dim), F (temp_init), F (w_itc), F (w_itm), F (w_lm), I (use_itc),
  I (use_itm), I (use_sa), I (use_ca), I (use_csa),
};
#undef I
#undef F

mve_status
mve_config_to_kv (const struct mve_config *cfg, char keys[][MVE_CONFIG_KV_LEN],
                  char values[][MVE_CONFIG_KV_LEN])
{
  if (cfg == NULL || keys == NULL || values == NULL)
    return MVE_STATUS_INVALID_ARGUMENT;
  for (int i = 0; i < MVE_CONFIG_N_KEYS; i++)
    {
      const char *base = (const char *) cfg + kv_fields[i].offset;
      snprintf (keys[i], MVE_CONFIG_KV_LEN, "%s", kv_fields[i].key);
      if (kv_fields[i].kind == KV_INT)
        {
          int32_t v;
          memcpy (&v, base, sizeof v);
          snprintf (values[i], MVE_CONFIG_KV_LEN, "%d", (int) v);
        }
      else
        {
          float v;
          memcpy (&v, base, sizeof v);
          snprintf (values[i], MVE_CONFIG_KV_LEN, "%.9g", (double) v);
        }
    }
  return MVE_STATUS_OK;
}

mve_status
mve_config_from_kv (struct mve_config *cfg, const char *const *keys, const char *const *values,
                    size_t n, char *err, size_t errn)
{
  if (cfg == NULL || (n > 0 && (keys == NULL || values == NULL)))
    return mve_error_set (err, errn, MVE_STATUS_INVALID_ARGUMENT, "no configuration");
  mve_config_init_default (cfg);
  for (size_t k = 0; k < n; k++)
    {
      if (keys[k] == NULL || values[k] == NULL)
        continue;
      for (int i = 0; i < MVE_CONFIG_N_KEYS; i++)
        {
          if (strcmp (keys[k], kv_fields[i].key) != 0)
            continue;
          char *base = (char *) cfg + kv_fields[i].offset;
          char *end = NULL;
          errno = 0;
          if (kv_fields[i].kind == KV_INT)
            {
              long v = strtol (values[k], &end, 10);
              if (errno != 0 || end == values[k] || *end != '\0' || v < INT32_MIN || v > INT32_MAX)
                return mve_error_set (err, errn, MVE_STATUS_BAD_FORMAT,
                                      "configuration key %s: bad integer '%.32s'", keys[k], values[k]);
              int32_t v32 = (int32_t) v;
              memcpy (base, &v32, sizeof v32);
            }
          else
            {
              float v = strtof (values[k], &end);
              if (errno != 0 || end == values[k] || *end != '\0' || !isfinite (v))
                return mve_error_set (err, errn, MVE_STATUS_BAD_FORMAT,
                                      "configuration key %s: bad number '%.32s'", keys[k], values[k]);
              memcpy (base, &v, sizeof v);
            }
        }
    }
  return mve_config_validate (cfg, err, errn);
}
