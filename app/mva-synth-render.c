/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-synth-render.c: height map -> SEM-like 8-bit image.
 *
 * The model, per pixel (heights in pixel units):
 *   yield  = material * (base + slope term (secondary-electron yield grows
 *            roughly as 1/cos of the local tilt) + edge term (escape from
 *            convex edges: height above its local mean))
 *          * detector-side shading * cavity darkening (electrons from pits
 *            and gaps are lost to the walls)
 *   + charging halos around insulators and horizontal charging streaks,
 *   then probe blur (Gaussian), scan-line jitter, shot noise (variance
 *   proportional to signal), detector noise, brightness/contrast/gamma and a
 *   slow brightness gradient.
 * Blurs are three-pass box filters (O(1) per pixel), so a 1024x768 frame costs a
 * few tens of milliseconds on one core.
 */
#define G_LOG_DOMAIN "mva-synth"
#include "config.h"

#include <string.h>

#include "mva-synth-private.h"

// --- blur -----------------------------------------------------------------------

static void
box_h (float *dst, const float *src, int w, int h, int r)
{
  float inv = 1.0f / (2 * r + 1);

  for (int y = 0; y < h; y++)
    {
      const float *s = src + (gsize) y * w;
      float *d = dst + (gsize) y * w;
      float acc = 0;

      for (int i = -r - 1; i < r; i++)
        acc += s[CLAMP (i, 0, w - 1)];
      for (int x = 0; x < w; x++)
        {
          acc += s[MIN (x + r, w - 1)] - s[MAX (x - r - 1, 0)];
          d[x] = acc * inv;
        }
    }
}

static void
box_v (float *dst, const float *src, int w, int h, int r, float *acc)
{
  float inv = 1.0f / (2 * r + 1);

  memset (acc, 0, sizeof (float) * w);
  for (int i = -r - 1; i < r; i++)
    {
      const float *s = src + (gsize) CLAMP (i, 0, h - 1) * w;
      for (int x = 0; x < w; x++)
        acc[x] += s[x];
    }
  for (int y = 0; y < h; y++)
    {
      const float *add = src + (gsize) MIN (y + r, h - 1) * w;
      const float *sub = src + (gsize) MAX (y - r - 1, 0) * w;
      float *d = dst + (gsize) y * w;

      for (int x = 0; x < w; x++)
        {
          acc[x] += add[x] - sub[x];
          d[x] = acc[x] * inv;
        }
    }
}

void
_mva_synth_blur (float *data, int w, int h, double sigma, float *tmp)
{
  int r;
  g_autofree float *acc = NULL;

  if (sigma < 0.3)
    return;
  /* three boxes of width 2r+1 have variance 3 * ((2r+1)^2 - 1) / 12 */
  r = (int) floor (sqrt (4.0 * sigma * sigma + 1.0) / 2.0 + 0.5);
  r = MAX (r, 1);
  r = MIN (r, MIN (w, h) / 2);
  acc = g_new (float, w);
  for (int pass = 0; pass < 3; pass++)
    {
      box_h (tmp, data, w, h, r);
      box_v (data, tmp, w, h, r, acc);
    }
}

// --- noise ------------------------------------------------------------------

/* approximately standard normal from one 64-bit draw (sum of four uniforms) */
static inline float
fast_normal (MvaSynthRng *r)
{
  uint64_t u = _mva_synth_rng_u64 (r);
  float s = (float) (u & 0xffff) + (float) ((u >> 16) & 0xffff) +
            (float) ((u >> 32) & 0xffff) + (float) (u >> 48);

  return (s * (1.0f / 65536.0f) - 2.0f) * 1.7320508f;
}

// --- render -----------------------------------------------------------------

void
_mva_synth_render (MvaSynthScene *sc, guint8 *out)
{
  const MvaSynthLook *lk = &sc->look;
  int w = sc->w, h = sc->h;
  gsize n = (gsize) w * h;
  g_autofree float *sig = g_new (float, n);
  g_autofree float *a = g_new (float, n);
  g_autofree float *b = g_new (float, n);
  g_autofree float *tmp = g_new (float, n);
  float ca = (float) cos (lk->azimuth), sa = (float) sin (lk->azimuth);
  double edge_sigma = 1.2 + sc->w / 700.0;
  float cav_r = (float) MAX (lk->cavity_radius, 2.0);
  float lut[1024];
  double vg_dx, vg_dy;

  /* local means of the height at two scales */
  memcpy (a, sc->height, n * sizeof (float));
  _mva_synth_blur (a, w, h, edge_sigma, tmp);
  memcpy (b, sc->height, n * sizeof (float));
  _mva_synth_blur (b, w, h, cav_r, tmp);

  for (int y = 0; y < h; y++)
    {
      const float *H = sc->height + (gsize) y * w;
      const float *Hu = sc->height + (gsize) MAX (y - 1, 0) * w;
      const float *Hd = sc->height + (gsize) MIN (y + 1, h - 1) * w;
      for (int x = 0; x < w; x++)
        {
          gsize i = (gsize) y * w + x;
          float gx = 0.5f * (H[MIN (x + 1, w - 1)] - H[MAX (x - 1, 0)]);
          float gy = 0.5f * (Hd[x] - Hu[x]);
          float s2 = gx * gx + gy * gy;
          float inv = 1.0f / sqrtf (1.0f + s2);
          float slope = 1.0f / inv - 1.0f;
          float edge = H[x] - a[i];
          float depth = b[i] - H[x];
          float v;

          slope = MIN (slope, 3.0f);
          edge = edge > 0 ? MIN (edge, 4.0f) : MAX (edge * 0.5f, -1.0f);
          v = 0.42f + (float) lk->slope * slope * 0.35f + (float) lk->edge * edge * 0.35f;
          v *= 1.0f + (float) lk->shading * (gx * ca + gy * sa) * inv;
          if (depth > 0)
            v /= 1.0f + (float) lk->cavity * depth / cav_r;
          v *= sc->yield[i];
          sig[i] = MAX (v, 0.0f);
        }
    }

  /* charging: halos around insulators, streaks to the right of bright spots */
  if (lk->charging > 0)
    {
      memcpy (a, sc->charge, n * sizeof (float));
      _mva_synth_blur (a, w, h, 6.0 + w / 60.0, tmp);
      for (gsize i = 0; i < n; i++)
        sig[i] += (float) lk->charging * a[i] * (1.2f - sc->charge[i]);
    }
  if (lk->streaks > 0)
    {
      float decay = (float) exp (-1.0 / (w / 12.0));
      for (int y = 0; y < h; y++)
        {
          float acc = 0;
          float *row = sig + (gsize) y * w;
          for (int x = 0; x < w; x++)
            {
              float c = sc->charge[(gsize) y * w + x];
              acc = acc * decay + c * (1.0f - decay);
              row[x] += (float) lk->streaks * acc;
            }
        }
    }

  /* the detector chain saturates softly: bright edges do not bloom */
  for (gsize i = 0; i < n; i++)
    {
      float u = sig[i] * (1.0f / 1.3f);
      sig[i] = 1.3f * u / sqrtf (1.0f + u * u);
    }
  _mva_synth_blur (sig, w, h, lk->blur, tmp);

  /* scan-line jitter: correlated sub-pixel row shifts */
  if (lk->jitter > 0)
    {
      float shift = 0;
      for (int y = 0; y < h; y++)
        {
          float *row = sig + (gsize) y * w;
          int is;
          float f;

          shift = 0.7f * shift + 0.3f * (float) lk->jitter * fast_normal (&sc->rng) * 2.0f;
          is = (int) floorf (shift);
          f = shift - is;
          for (int x = 0; x < w; x++)
            {
              int x0 = CLAMP (x + is, 0, w - 1), x1 = CLAMP (x + is + 1, 0, w - 1);
              tmp[x] = row[x0] * (1 - f) + row[x1] * f;
            }
          memcpy (row, tmp, sizeof (float) * w);
        }
    }

  for (int i = 0; i < 1024; i++)
    {
      double v = i / 1023.0;
      lut[i] = (float) (255.0 * pow (v, lk->gamma));
    }

  vg_dx = lk->vignette * cos (lk->azimuth + 1.0) / w;
  vg_dy = lk->vignette * sin (lk->azimuth + 1.0) / h;
  for (int y = 0; y < h; y++)
    {
      float row_gain = 1.0f + 0.01f * fast_normal (&sc->rng) * (float) (lk->jitter > 0);
      for (int x = 0; x < w; x++)
        {
          gsize i = (gsize) y * w + x;
          float s = sig[i];
          float v;
          int q;

          s += sqrtf (MAX (s, 0.0f) * (float) lk->shot) * fast_normal (&sc->rng);
          v = (float) lk->brightness + (float) lk->contrast * s * row_gain *
              (float) (1.0 + vg_dx * (x - w / 2) + vg_dy * (y - h / 2));
          v += (float) lk->read * fast_normal (&sc->rng);
          q = (int) (v * 1023.0f + 0.5f);
          q = CLAMP (q, 0, 1023);
          out[i] = (guint8) (lut[q] + 0.5f);
        }
    }
}
