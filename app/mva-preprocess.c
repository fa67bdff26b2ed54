/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-preprocess.c: data bar removal, area/bilinear resize to the model's
 * input size and [-1, 1] scaling (see mva-preprocess.h). GLib, no GTK.
 *
 * The resize is separable: one weight table per axis (each output sample has
 * a short list of source samples and weights), applied to rows, then columns.
 * Shrinking uses the exact area overlap of the output pixel's footprint with
 * each source pixel (a box filter, no aliasing); enlarging uses bilinear
 * interpolation with centres aligned and edges clamped.
 */
#define G_LOG_DOMAIN "mva-preprocess"
#include "config.h"

#include "mva-preprocess.h"

#include <math.h>
#include <string.h>

guint
mva_preprocess_databar_rows (const MvaImage *image)
{
  guint64 rows;

  g_return_val_if_fail (image != NULL, 0);
  if (image->databar_rows > 0)
    return MIN (image->databar_rows, image->height);
  if (image->meta.databar_height_px <= 0 || image->full_height == 0)
    return 0;
  /* databar_height_px counts rows of the full-size image; scale to this one */
  rows = ((guint64) image->meta.databar_height_px * image->height + image->full_height / 2)
         / image->full_height;
  return (guint) MIN (rows, (guint64) image->height);
}

typedef struct
{
  guint  *first;   /* (n_out) first source index */
  guint  *count;   /* (n_out) number of taps */
  float  *weight;  /* (n_out, max_taps) */
  guint   max_taps;
} Taps;

static void
taps_clear (Taps *t)
{
  g_free (t->first);
  g_free (t->count);
  g_free (t->weight);
}

static void
taps_init (Taps *t, guint n_in, guint n_out)
{
  double scale = (double) n_in / n_out;

  t->max_taps = scale > 1.0 ? (guint) ceil (scale) + 2 : 2;
  t->first = g_new0 (guint, n_out);
  t->count = g_new0 (guint, n_out);
  t->weight = g_new0 (float, (gsize) n_out * t->max_taps);
  for (guint o = 0; o < n_out; o++)
    {
      float *w = t->weight + (gsize) o * t->max_taps;
      if (scale > 1.0)
        {
          /* area: footprint [x0, x1) in source pixels */
          double x0 = o * scale, x1 = (o + 1) * scale;
          guint i0 = (guint) floor (x0), i1 = MIN ((guint) ceil (x1), n_in);
          double sum = 0;
          t->first[o] = i0;
          t->count[o] = 0;
          for (guint i = i0; i < i1 && t->count[o] < t->max_taps; i++)
            {
              double a = MAX (x0, (double) i), b = MIN (x1, (double) i + 1);
              double cover = b - a;
              if (cover < 0)
                cover = 0;
              w[t->count[o]++] = (float) cover;
              sum += cover;
            }
          for (guint k = 0; k < t->count[o]; k++)
            w[k] = (float) (w[k] / sum);
        }
      else
        {
          /* bilinear with centres aligned */
          double x = (o + 0.5) * scale - 0.5;
          double fl;
          guint i0;
          double f;
          if (x < 0)
            x = 0;
          if (x > n_in - 1)
            x = n_in - 1;
          fl = floor (x);
          i0 = (guint) fl;
          f = x - fl;
          t->first[o] = i0;
          if (i0 + 1 < n_in && f > 0)
            {
              t->count[o] = 2;
              w[0] = (float) (1.0 - f);
              w[1] = (float) f;
            }
          else
            {
              t->count[o] = 1;
              w[0] = 1.0f;
            }
        }
    }
}

guint8 *
mva_preprocess_rgb8 (const MvaImage *image,
                     guint           size,
                     GError        **error)
{
  g_autofree guint8 *rgb = NULL;
  g_autofree float *tmp = NULL;
  guint8 *out;
  guint w, h, bar;
  Taps tx = { 0 }, ty = { 0 };

  g_return_val_if_fail (image != NULL, NULL);
  g_return_val_if_fail (size > 0, NULL);

  w = image->width;
  bar = mva_preprocess_databar_rows (image);
  h = image->height - bar;
  if (w == 0 || h == 0)
    {
      g_set_error (error, MVA_IMAGE_ERROR, MVA_IMAGE_ERROR_CORRUPT,
                   "%s: no image rows above the data bar", image->path ? image->path : "image");
      return NULL;
    }
  rgb = mva_image_to_rgb8 (image);
  if (rgb == NULL)
    {
      g_set_error (error, MVA_IMAGE_ERROR, MVA_IMAGE_ERROR_UNSUPPORTED,
                   "%s: cannot convert to RGB", image->path ? image->path : "image");
      return NULL;
    }

  taps_init (&tx, w, size);
  taps_init (&ty, h, size);
  /* rows first: (h, size, 3) */
  tmp = g_new (float, (gsize) h * size * 3);
  for (guint y = 0; y < h; y++)
    {
      const guint8 *src = rgb + (gsize) y * w * 3;
      float *dst = tmp + (gsize) y * size * 3;
      for (guint o = 0; o < size; o++)
        {
          const float *wt = tx.weight + (gsize) o * tx.max_taps;
          float r = 0, g = 0, b = 0;
          for (guint k = 0; k < tx.count[o]; k++)
            {
              const guint8 *p = src + (gsize) (tx.first[o] + k) * 3;
              r += wt[k] * p[0];
              g += wt[k] * p[1];
              b += wt[k] * p[2];
            }
          dst[o * 3] = r;
          dst[o * 3 + 1] = g;
          dst[o * 3 + 2] = b;
        }
    }
  out = g_new (guint8, (gsize) size * size * 3);
  for (guint o = 0; o < size; o++)
    {
      const float *wt = ty.weight + (gsize) o * ty.max_taps;
      guint8 *dst = out + (gsize) o * size * 3;
      for (guint x = 0; x < size * 3; x++)
        {
          float v = 0;
          for (guint k = 0; k < ty.count[o]; k++)
            v += wt[k] * tmp[(gsize) (ty.first[o] + k) * size * 3 + x];
          v = roundf (v);
          dst[x] = (guint8) (v < 0 ? 0 : v > 255 ? 255 : v);
        }
    }
  taps_clear (&tx);
  taps_clear (&ty);
  return out;
}

void
mva_preprocess_normalize_rgb8 (const guint8 *rgb,
                               guint         size,
                               float        *out)
{
  gsize plane = (gsize) size * size;

  for (gsize i = 0; i < plane; i++)
    for (guint c = 0; c < 3; c++)
      out[c * plane + i] = ((float) rgb[i * 3 + c] / 255.0f - 0.5f) / 0.5f;
}

float *
mva_preprocess_image (const MvaImage *image,
                      guint           size,
                      GError        **error)
{
  g_autofree guint8 *rgb = mva_preprocess_rgb8 (image, size, error);
  float *out;

  if (rgb == NULL)
    return NULL;
  out = g_new (float, (gsize) 3 * size * size);
  mva_preprocess_normalize_rgb8 (rgb, size, out);
  return out;
}

float *
mva_preprocess_load (const char *path,
                     guint       size,
                     GError    **error)
{
  g_autoptr(MvaImage) image = mva_image_load (path, 0, error);

  if (image == NULL)
    return NULL;
  return mva_preprocess_image (image, size, error);
}
