/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-synth-scene.c: the scene (height, yield and charge maps), the RNG and
 * the drawing primitives recipes build micrographs from.
 *
 * All primitives composite by maximum height ("the higher surface is what the
 * beam sees"), except holes, which cut into whatever is there. Heights are in
 * pixels, so slopes are true slopes in the rendered image.
 */
#define G_LOG_DOMAIN "mva-synth"
#include "config.h"

#include <string.h>

#include "mva-synth-private.h"

// --- RNG ----------------------------------------------------------------------

static uint64_t
splitmix64 (uint64_t *x)
{
  uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

void
_mva_synth_rng_seed (MvaSynthRng *rng, uint64_t a, uint64_t b, uint64_t c)
{
  uint64_t x = a;

  x = splitmix64 (&x) ^ (b * 0xd1b54a32d192ed03ULL);
  x = splitmix64 (&x) ^ (c * 0x8cb92ba72f3d8dd7ULL);
  for (int i = 0; i < 4; i++)
    rng->s[i] = splitmix64 (&x);
}

double
_mva_synth_rng_normal (MvaSynthRng *r)
{
  double u1 = _mva_synth_rng_uniform (r), u2 = _mva_synth_rng_uniform (r);

  return sqrt (-2.0 * log (1.0 - u1)) * cos (2.0 * G_PI * u2);
}

double
_mva_synth_rng_logrange (MvaSynthRng *r, double lo, double hi)
{
  return exp (_mva_synth_rng_range (r, log (lo), log (hi)));
}

// --- scene --------------------------------------------------------------------

void
_mva_synth_scene_init (MvaSynthScene   *sc,
                       MvaSynthCategory category,
                       guint            index,
                       int              w,
                       int              h,
                       guint64          seed)
{
  gsize n = (gsize) w * h;

  memset (sc, 0, sizeof *sc);
  sc->category = category;
  sc->index = index;
  sc->w = w;
  sc->h = h;
  sc->height = g_new0 (float, n);
  sc->yield = g_new (float, n);
  sc->charge = g_new0 (float, n);
  for (gsize i = 0; i < n; i++)
    sc->yield[i] = 1.0f;
  _mva_synth_rng_seed (&sc->rng, seed, (uint64_t) category + 1, (uint64_t) index + 1);
  sc->params = json_builder_new ();
  json_builder_begin_object (sc->params);
}

void
_mva_synth_facts_clear (MvaSynthFacts *f)
{
  g_clear_pointer (&f->objects, g_free);
  g_clear_pointer (&f->shape, g_free);
  g_clear_pointer (&f->layers, g_free);
  g_clear_pointer (&f->size_extra, g_free);
  g_clear_pointer (&f->spacing, g_free);
  g_clear_pointer (&f->aggregation, g_free);
  g_clear_pointer (&f->texture, g_free);
  g_clear_pointer (&f->defects, g_free);
  g_clear_pointer (&f->contrast, g_free);
  g_clear_pointer (&f->contacts, g_free);
  g_clear_pointer (&f->environment, g_free);
  g_clear_pointer (&f->function, g_free);
  g_clear_pointer (&f->application, g_free);
}

void
_mva_synth_scene_clear (MvaSynthScene *sc)
{
  g_clear_pointer (&sc->height, g_free);
  g_clear_pointer (&sc->yield, g_free);
  g_clear_pointer (&sc->charge, g_free);
  g_clear_object (&sc->params);
  _mva_synth_facts_clear (&sc->facts);
}

// --- params -------------------------------------------------------------------

void
_mva_synth_param_double (MvaSynthScene *sc, const char *key, double v, int decimals)
{
  double p = pow (10.0, decimals);

  json_builder_set_member_name (sc->params, key);
  json_builder_add_double_value (sc->params, round (v * p) / p);
}

void
_mva_synth_param_int (MvaSynthScene *sc, const char *key, gint64 v)
{
  json_builder_set_member_name (sc->params, key);
  json_builder_add_int_value (sc->params, v);
}

void
_mva_synth_param_string (MvaSynthScene *sc, const char *key, const char *v)
{
  json_builder_set_member_name (sc->params, key);
  json_builder_add_string_value (sc->params, v);
}

void
_mva_synth_param_bool (MvaSynthScene *sc, const char *key, gboolean v)
{
  json_builder_set_member_name (sc->params, key);
  json_builder_add_boolean_value (sc->params, v);
}

// --- primitives ---------------------------------------------------------------

static inline void
put (MvaSynthScene *sc, gsize i, float z, float yv, float cv)
{
  if (z > sc->height[i])
    {
      sc->height[i] = z;
      sc->yield[i] = yv;
      sc->charge[i] = cv;
    }
}

void
_mva_synth_value_noise (float       *dst,
                        int          w,
                        int          h,
                        double       cell,
                        double       amp,
                        MvaSynthRng *rng)
{
  int gw, gh;
  g_autofree float *g = NULL;
  g_autofree int *ix = NULL;
  g_autofree float *tx = NULL;

  cell = MAX (cell, 1.0);
  gw = (int) (w / cell) + 3;
  gh = (int) (h / cell) + 3;
  g = g_new (float, (gsize) gw * gh);
  for (int i = 0; i < gw * gh; i++)
    g[i] = (float) (amp * (2.0 * _mva_synth_rng_uniform (rng) - 1.0));
  ix = g_new (int, w);
  tx = g_new (float, w);
  for (int x = 0; x < w; x++)
    {
      double f = x / cell;
      double t;

      ix[x] = (int) f;
      t = f - ix[x];
      tx[x] = (float) (t * t * (3 - 2 * t));
    }
  for (int y = 0; y < h; y++)
    {
      double f = y / cell;
      int iy = (int) f;
      float ty = (float) ((f - iy) * (f - iy) * (3 - 2 * (f - iy)));
      const float *g0 = g + (gsize) iy * gw, *g1 = g0 + gw;
      float *d = dst + (gsize) y * w;

      for (int x = 0; x < w; x++)
        {
          int i = ix[x];
          float a = g0[i] + (g0[i + 1] - g0[i]) * tx[x];
          float b = g1[i] + (g1[i + 1] - g1[i]) * tx[x];
          d[x] += a + (b - a) * ty;
        }
    }
}

/* Rotated ellipsoid (a, b radii, angle) with an angular roughness: radius
 * r(phi) = 1 + sum rough[k] cos(k phi + k) for k = 2..5 (rough may be NULL).
 * Profile: base + hz * (1 - q)^pw where q = (d/r)^2; pw = 0.5 is a sphere. */
void
_mva_synth_blob (MvaSynthScene *sc,
                 double cx, double cy, double a, double b, double angle,
                 double base, double hz, double pw,
                 const double *rough,
                 float yv, float cv)
{
  double c = cos (angle), s = sin (angle);
  double rmax = MAX (a, b) * (rough ? 1.5 : 1.0) + 1;
  int x0 = MAX (0, (int) floor (cx - rmax)), x1 = MIN (sc->w - 1, (int) ceil (cx + rmax));
  int y0 = MAX (0, (int) floor (cy - rmax)), y1 = MIN (sc->h - 1, (int) ceil (cy + rmax));

  for (int y = y0; y <= y1; y++)
    for (int x = x0; x <= x1; x++)
      {
        double dx = x - cx, dy = y - cy;
        double u = (dx * c + dy * s) / a, v = (-dx * s + dy * c) / b;
        double q = u * u + v * v;
        double z;

        if (rough != NULL && q < 2.4)
          {
            double phi = atan2 (v, u);
            double r = 1.0 + rough[0] * cos (2 * phi + 1) + rough[1] * cos (3 * phi + 2) +
                       rough[2] * cos (4 * phi + 3) + rough[3] * cos (5 * phi + 4);
            q /= r * r;
          }
        if (q >= 1.0)
          continue;
        z = base + hz * (pw == 0.5 ? sqrt (1.0 - q) : pow (1.0 - q, pw));
        put (sc, (gsize) y * sc->w + x, (float) z, yv, cv);
      }
}

/* Cylinder of radius r along the segment, lying on height base0..base1. */
void
_mva_synth_capsule (MvaSynthScene *sc,
                    double x0, double y0, double x1, double y1, double r,
                    double base0, double base1, double hz,
                    float yv, float cv)
{
  double dx = x1 - x0, dy = y1 - y0;
  double len2 = dx * dx + dy * dy;
  int bx0 = MAX (0, (int) floor (MIN (x0, x1) - r - 1));
  int bx1 = MIN (sc->w - 1, (int) ceil (MAX (x0, x1) + r + 1));
  int by0 = MAX (0, (int) floor (MIN (y0, y1) - r - 1));
  int by1 = MIN (sc->h - 1, (int) ceil (MAX (y0, y1) + r + 1));
  double r2 = r * r;

  for (int y = by0; y <= by1; y++)
    for (int x = bx0; x <= bx1; x++)
      {
        double px = x - x0, py = y - y0;
        double t = len2 > 0 ? (px * dx + py * dy) / len2 : 0;
        double ex, ey, d2;

        t = CLAMP (t, 0.0, 1.0);
        ex = px - t * dx;
        ey = py - t * dy;
        d2 = ex * ex + ey * ey;
        if (d2 >= r2)
          continue;
        put (sc, (gsize) y * sc->w + x,
             (float) (base0 + t * (base1 - base0) + hz * sqrt (r2 - d2)), yv, cv);
      }
}

/* Axis-aligned box rotated by angle about its centre; flat top at base+hz with
 * rounded rims of width rim px. */
void
_mva_synth_box (MvaSynthScene *sc,
                double cx, double cy, double hw, double hh, double angle,
                double base, double hz, double rim,
                float yv, float cv)
{
  double c = cos (angle), s = sin (angle);
  double ext = fabs (hw * c) + fabs (hh * s) + 1, eyt = fabs (hw * s) + fabs (hh * c) + 1;
  int x0 = MAX (0, (int) floor (cx - ext)), x1 = MIN (sc->w - 1, (int) ceil (cx + ext));
  int y0 = MAX (0, (int) floor (cy - eyt)), y1 = MIN (sc->h - 1, (int) ceil (cy + eyt));

  rim = MAX (rim, 0.5);
  for (int y = y0; y <= y1; y++)
    for (int x = x0; x <= x1; x++)
      {
        double dx = x - cx, dy = y - cy;
        double u = dx * c + dy * s, v = -dx * s + dy * c;
        double d = MIN (hw - fabs (u), hh - fabs (v));
        double t;

        if (d <= 0)
          continue;
        t = MIN (d / rim, 1.0);
        t = sqrt (t * (2 - t));
        put (sc, (gsize) y * sc->w + x, (float) (base + hz * t), yv, cv);
      }
}

/* Cut a pit of the given depth: full depth inside r(phi) (so the dark opening
 * has the declared size), the wall rising over `wall` px outside it. */
void
_mva_synth_hole (MvaSynthScene *sc,
                 double cx, double cy, double a, double b, double angle,
                 double depth, double wall, const double *rough,
                 float yv)
{
  double c = cos (angle), s = sin (angle);
  double rmax = MAX (a, b) * (rough ? 1.5 : 1.0) + wall + 1;
  int x0 = MAX (0, (int) floor (cx - rmax)), x1 = MIN (sc->w - 1, (int) ceil (cx + rmax));
  int y0 = MAX (0, (int) floor (cy - rmax)), y1 = MIN (sc->h - 1, (int) ceil (cy + rmax));
  double rn = sqrt (a * b);

  for (int y = y0; y <= y1; y++)
    for (int x = x0; x <= x1; x++)
      {
        double dx = x - cx, dy = y - cy;
        double u = (dx * c + dy * s) / a, v = (-dx * s + dy * c) / b;
        double rel = sqrt (u * u + v * v), t;
        gsize i = (gsize) y * sc->w + x;

        if (rough != NULL)
          {
            double phi = atan2 (v, u);
            rel /= 1.0 + rough[0] * cos (2 * phi + 1) + rough[1] * cos (3 * phi + 2) +
                   rough[2] * cos (4 * phi + 3) + rough[3] * cos (5 * phi + 4);
          }
        /* full depth inside r, the wall rises over the next `wall` px */
        t = (1.0 - rel) * rn / wall + 1.0;
        if (t <= 0)
          continue;
        t = MIN (t, 1.0);
        t = t * t * (3 - 2 * t);
        /* bowl bottom: a little deeper in the middle */
        sc->height[i] -= (float) (depth * t * (0.8 + 0.2 * MAX (0.0, 1.0 - rel * rel)));
        if (t > 0.5)
          sc->yield[i] = yv;
      }
}

/* Convex polygon (n vertices) plateau with sloped facets; slope px/px. */
void
_mva_synth_polygon (MvaSynthScene *sc,
                    const double *px, const double *py, int n,
                    double base, double hz, double slope,
                    float yv, float cv)
{
  double minx = px[0], maxx = px[0], miny = py[0], maxy = py[0];
  double nx[16], ny[16], off[16], sl[16];

  g_assert (n <= 16);
  for (int k = 0; k < n; k++)
    {
      int k1 = (k + 1) % n;
      double ex = px[k1] - px[k], ey = py[k1] - py[k];
      double l = sqrt (ex * ex + ey * ey) + 1e-9;

      /* inward normal for counter-clockwise (in image coordinates) order */
      nx[k] = -ey / l;
      ny[k] = ex / l;
      off[k] = nx[k] * px[k] + ny[k] * py[k];
      sl[k] = slope * (0.6 + 0.8 * fmod (k * 0.618, 1.0));
      minx = MIN (minx, px[k]); maxx = MAX (maxx, px[k]);
      miny = MIN (miny, py[k]); maxy = MAX (maxy, py[k]);
    }
  for (int y = MAX (0, (int) floor (miny)); y <= MIN (sc->h - 1, (int) ceil (maxy)); y++)
    for (int x = MAX (0, (int) floor (minx)); x <= MIN (sc->w - 1, (int) ceil (maxx)); x++)
      {
        double z = hz;
        gboolean inside = TRUE;

        for (int k = 0; k < n; k++)
          {
            double d = nx[k] * x + ny[k] * y - off[k];
            if (d < 0)
              {
                inside = FALSE;
                break;
              }
            z = MIN (z, d * sl[k]);
          }
        if (inside)
          put (sc, (gsize) y * sc->w + x, (float) (base + z), yv, cv);
      }
}

/* Voronoi over jittered grid seeds: nearest seed id and the gap to the second
 * nearest (d2 - d1, px), for grain and cell boundaries. */
void
_mva_synth_voronoi (int w, int h, double cell, double jitter, MvaSynthRng *rng,
                    int *id, float *gap, int *n_cells)
{
  int gw = (int) ceil (w / cell) + 2, gh = (int) ceil (h / cell) + 2;
  g_autofree double *sx = g_new (double, (gsize) gw * gh);
  g_autofree double *sy = g_new (double, (gsize) gw * gh);

  for (int j = 0; j < gh; j++)
    for (int i = 0; i < gw; i++)
      {
        sx[j * gw + i] = (i - 1 + 0.5 + jitter * (_mva_synth_rng_uniform (rng) - 0.5)) * cell;
        sy[j * gw + i] = (j - 1 + 0.5 + jitter * (_mva_synth_rng_uniform (rng) - 0.5)) * cell;
      }
  for (int y = 0; y < h; y++)
    {
      int cj = (int) (y / cell) + 1;
      for (int x = 0; x < w; x++)
        {
          int ci = (int) (x / cell) + 1;
          double d1 = 1e30, d2 = 1e30;
          int best = 0;

          for (int j = MAX (cj - 2, 0); j <= MIN (cj + 2, gh - 1); j++)
            for (int i = MAX (ci - 2, 0); i <= MIN (ci + 2, gw - 1); i++)
              {
                double dx = x - sx[j * gw + i], dy = y - sy[j * gw + i];
                double d = dx * dx + dy * dy;
                if (d < d1)
                  {
                    d2 = d1;
                    d1 = d;
                    best = j * gw + i;
                  }
                else if (d < d2)
                  d2 = d;
              }
          id[(gsize) y * w + x] = best;
          gap[(gsize) y * w + x] = (float) (sqrt (d2) - sqrt (d1));
        }
    }
  *n_cells = gw * gh;
}

/* A smooth random walk across the field: fills xs/ys (max n points, step px),
 * returns the number of points. Starts at (x, y) heading theta; curvature is
 * the standard deviation of the heading change per step. */
int
_mva_synth_walk (MvaSynthScene *sc, double x, double y, double theta, double step,
                 double curvature, int n, double *xs, double *ys)
{
  double turn = 0;
  int k;
  double margin = 0.2 * MAX (sc->w, sc->h);

  for (k = 0; k < n; k++)
    {
      xs[k] = x;
      ys[k] = y;
      if (x < -margin || y < -margin || x > sc->w + margin || y > sc->h + margin)
        {
          k++;
          break;
        }
      turn = 0.8 * turn + curvature * _mva_synth_rng_normal (&sc->rng);
      theta += turn;
      x += step * cos (theta);
      y += step * sin (theta);
    }
  return MIN (k, n);
}
