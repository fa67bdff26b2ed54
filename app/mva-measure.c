/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-measure.c: the typical size of the structures in a micrograph,
 * measured on its pixels (not guessed by the model).
 *
 * Method: the gray image without its data bar, box-averaged to at most
 * MEASURE_SIDE pixels on the longer side, high-passed (minus a box blur of
 * an eighth of the side, which removes charging gradients and uneven
 * illumination); then its autocorrelation along x and y (averaged) for lags
 * up to a third of the shorter side. Normalised by the lag-1 value (white
 * detector noise only lowers lag 0), the lag where it falls to one half is
 * the correlation length: about half the width of the structures that make
 * up the image. mva_measure_structure_size scales it by a factor per
 * category fitted on synthetic micrographs of known size
 * (scripts/calibrate-measure; checked on other synthetic images by
 * tests/assistant/test-measure.sh), so the figure is comparable to a mean
 * particle, wire, pore or fibre diameter.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "mva-measure.h"

#define MEASURE_SIDE 512

/* Diameter / correlation length by category: the median over
 * `scripts/calibrate-measure` on `synth --per-class 12` with seeds 20261201
 * and 777 (1024 x 768, 24 images per category). Only categories made of
 * many similar structures are measured: 89 of their 96 calibration images
 * come within a factor of 1.5 of their true mean size (nanowires and porous
 * 24/24, particles 22/24, fibres 19/24). Powder (agglomerates of primary
 * particles: 13/24), films (grains, cross-sections, cracked coatings:
 * 11/24), biological samples, MEMS, patterned arrays and tips (one object,
 * or several kinds of structure at once) are not: their correlation length
 * says little about "the size". */
static const struct
{
  const char *category;
  double factor;
  const char *what; /* the size it estimates */
} calibration[] = {
  { "particles", 3.07, "particle diameter" },
  { "nanowires", 1.25, "wire diameter" },
  { "porous", 4.90, "pore diameter" },
  { "fibres", 2.77, "fibre diameter" },
};

double
mva_measure_factor (const char *category)
{
  if (category != NULL)
    for (gsize i = 0; i < G_N_ELEMENTS (calibration); i++)
      if (g_str_equal (category, calibration[i].category))
        return calibration[i].factor;
  return NAN;
}

const char *
mva_measure_what (const char *category)
{
  if (category != NULL)
    for (gsize i = 0; i < G_N_ELEMENTS (calibration); i++)
      if (g_str_equal (category, calibration[i].category))
        return calibration[i].what;
  return NULL;
}

/* box blur of radius r (integral image, edges clamped) */
static void
box_blur (const float *in, float *out, int w, int h, int r)
{
  g_autofree double *sat = g_new0 (double, (gsize) (w + 1) * (h + 1));

  for (int y = 0; y < h; y++)
    {
      double row = 0;

      for (int x = 0; x < w; x++)
        {
          row += in[(gsize) y * w + x];
          sat[(gsize) (y + 1) * (w + 1) + x + 1] = sat[(gsize) y * (w + 1) + x + 1] + row;
        }
    }
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      {
        int x0 = MAX (0, x - r), x1 = MIN (w - 1, x + r), y0 = MAX (0, y - r), y1 = MIN (h - 1, y + r);
        double s = sat[(gsize) (y1 + 1) * (w + 1) + x1 + 1] - sat[(gsize) y0 * (w + 1) + x1 + 1]
                   - sat[(gsize) (y1 + 1) * (w + 1) + x0] + sat[(gsize) y0 * (w + 1) + x0];

        out[(gsize) y * w + x] = (float) (s / ((double) (x1 - x0 + 1) * (y1 - y0 + 1)));
      }
}

gboolean
mva_measure_correlation_length (const MvaImage *image,
                                double         *length_px)
{
  g_autofree guint8 *gray = NULL;
  g_autofree float *z = NULL, *blur = NULL;
  g_autofree double *acf = NULL;
  int W, H, f, w, h, K;

  g_return_val_if_fail (image != NULL && length_px != NULL, FALSE);
  *length_px = NAN;
  W = (int) image->width;
  H = (int) image->height - (int) MIN (image->databar_rows, image->height);
  if (W < 16 || H < 16 || image->data == NULL)
    return FALSE;
  gray = mva_image_to_gray8 (image);
  if (gray == NULL)
    return FALSE;
  f = (MAX (W, H) + MEASURE_SIDE - 1) / MEASURE_SIDE;
  w = W / f;
  h = H / f;
  z = g_new (float, (gsize) w * h);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      {
        double s = 0;

        for (int dy = 0; dy < f; dy++)
          for (int dx = 0; dx < f; dx++)
            s += gray[(gsize) (y * f + dy) * image->width + x * f + dx];
        z[(gsize) y * w + x] = (float) (s / (f * f));
      }
  blur = g_new (float, (gsize) w * h);
  box_blur (z, blur, w, h, MAX (2, MAX (w, h) / 4));
  for (gsize i = 0; i < (gsize) w * h; i++)
    z[i] -= blur[i];
  K = MIN (w, h) / 3;
  acf = g_new0 (double, K + 1);
  for (int k = 0; k <= K; k++)
    {
      double sx = 0, sy = 0;

      for (int y = 0; y < h; y++)
        for (int x = 0; x + k < w; x++)
          sx += (double) z[(gsize) y * w + x] * z[(gsize) y * w + x + k];
      for (int y = 0; y + k < h; y++)
        for (int x = 0; x < w; x++)
          sy += (double) z[(gsize) y * w + x] * z[(gsize) (y + k) * w + x];
      acf[k] = 0.5 * (sx / ((double) h * (w - k)) + sy / ((double) w * (h - k)));
    }
  if (!(acf[1] > 0))
    return FALSE; /* flat, or pure pixel noise */
  for (int k = 2; k <= K; k++)
    {
      double r = acf[k] / acf[1], rp = acf[k - 1] / acf[1];

      if (r <= 0.5)
        {
          double frac = rp > r ? (rp - 0.5) / (rp - r) : 0.0;

          /* the lag where it crosses one half, interpolated, in file pixels */
          *length_px = ((k - 1) + frac) * f * ((double) image->full_width / image->width);
          return TRUE;
        }
    }
  return FALSE; /* structures larger than a third of the view */
}

gboolean
mva_measure_structure_size (const MvaImage *image,
                            const char     *category,
                            double         *size_px,
                            double         *size_nm)
{
  double L;

  *size_px = NAN;
  if (size_nm != NULL)
    *size_nm = NAN;
  if (!isfinite (mva_measure_factor (category)) || !mva_measure_correlation_length (image, &L))
    return FALSE;
  *size_px = L * mva_measure_factor (category);
  if (size_nm != NULL && image->meta.pixel_size_nm > 0 && isfinite (image->meta.pixel_size_nm))
    *size_nm = *size_px * image->meta.pixel_size_nm;
  return TRUE;
}
