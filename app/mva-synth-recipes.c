/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-synth-recipes.c: one recipe per category (DESIGN.md's ten NFFA-Europe
 * categories). A recipe draws its parameters from the scene RNG, builds the
 * height/yield/charge maps, sets the microscope look and records the facts
 * (what the Q/A writer may state) and the params (the true numbers, written
 * to qa.jsonl). Statistics are computed from what was actually drawn.
 *
 * Sizes: the main feature size is drawn in nm, then a feature size in pixels,
 * which fixes the pixel size; pixel sizes therefore stay in the range an SEM
 * would use for that kind of sample.
 */
#define G_LOG_DOMAIN "mva-synth"
#include "config.h"

#include <string.h>

#include "mva-synth-private.h"

#define U(lo, hi) _mva_synth_rng_range (&sc->rng, (lo), (hi))
#define LOGU(lo, hi) _mva_synth_rng_logrange (&sc->rng, (lo), (hi))
#define CHANCE(p) _mva_synth_rng_bool (&sc->rng, (p))
#define PICK(arr) _mva_synth_pick (&sc->rng, arr)
#define NORMAL() _mva_synth_rng_normal (&sc->rng)
#define F(...) g_strdup_printf (__VA_ARGS__)
#define P_D(k, v, d) _mva_synth_param_double (sc, (k), (v), (d))
#define P_I(k, v) _mva_synth_param_int (sc, (k), (v))
#define P_S(k, v) _mva_synth_param_string (sc, (k), (v))
#define P_B(k, v) _mva_synth_param_bool (sc, (k), (v))

static double
scale_of (MvaSynthScene *sc)
{
  return MAX (sc->w, sc->h) / 1024.0;
}

/* 1 + sd * N(0,1), clipped to [lo, hi] (one draw: CLAMP would evaluate it thrice) */
static double
spread (MvaSynthScene *sc, double sd, double lo, double hi)
{
  double v = 1.0 + sd * _mva_synth_rng_normal (&sc->rng);

  return CLAMP (v, lo, hi);
}

static char *
len_str (double nm)
{
  return _mva_synth_format_length (nm);
}

/* A bank of radius harmonics for irregular outlines. */
static void
rough_coeffs (MvaSynthScene *sc, double amount, double *r)
{
  for (int k = 0; k < 4; k++)
    r[k] = amount * U (-1.0, 1.0) / (1.0 + 0.5 * k);
}

// --- size statistics -----------------------------------------------------------

typedef struct
{
  double mean, std, min, max, median;
  int    n;
} Stats;

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

static Stats
stats_of (double *v, int n)
{
  Stats s = { 0 };
  double sum = 0, sq = 0;

  s.n = n;
  if (n == 0)
    return s;
  qsort (v, n, sizeof (double), cmp_double);
  for (int i = 0; i < n; i++)
    {
      sum += v[i];
      sq += v[i] * v[i];
    }
  s.mean = sum / n;
  s.std = sqrt (MAX (0.0, sq / n - s.mean * s.mean));
  s.min = v[0];
  s.max = v[n - 1];
  s.median = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
  return s;
}

static void
set_size (MvaSynthScene *sc, const char *name, Stats st)
{
  sc->facts.size_name = name;
  sc->facts.size_mean_nm = st.mean;
  sc->facts.size_std_nm = st.std;
  sc->facts.size_min_nm = st.min;
  sc->facts.size_max_nm = st.max;
}

// --- non-overlapping placement (grid hash) -------------------------------------

typedef struct
{
  double *x, *y, *r;
  int     n, cap;
  double  cell;
  int     gw, gh;
  int    *head, *next;
} Placer;

static void
placer_init (Placer *p, int w, int h, double rmax, int cap)
{
  memset (p, 0, sizeof *p);
  p->cap = cap;
  p->x = g_new (double, cap);
  p->y = g_new (double, cap);
  p->r = g_new (double, cap);
  p->next = g_new (int, cap);
  p->cell = MAX (2.0 * rmax, 4.0);
  p->gw = (int) (w / p->cell) + 3;
  p->gh = (int) (h / p->cell) + 3;
  p->head = g_new (int, (gsize) p->gw * p->gh);
  for (int i = 0; i < p->gw * p->gh; i++)
    p->head[i] = -1;
}

static void
placer_clear (Placer *p)
{
  g_free (p->x);
  g_free (p->y);
  g_free (p->r);
  g_free (p->next);
  g_free (p->head);
}

static int
placer_cell (Placer *p, double v, int limit)
{
  int c = (int) floor (v / p->cell) + 1;
  return CLAMP (c, 0, limit - 1);
}

/* Accept (x, y, r) if it keeps (ri + rj) * factor + gap from every disc. */
static gboolean
placer_try (Placer *p, double x, double y, double r, double factor, double gap)
{
  int cx, cy, c;

  if (p->n >= p->cap)
    return FALSE;
  cx = placer_cell (p, x, p->gw);
  cy = placer_cell (p, y, p->gh);
  for (int j = MAX (cy - 1, 0); j <= MIN (cy + 1, p->gh - 1); j++)
    for (int i = MAX (cx - 1, 0); i <= MIN (cx + 1, p->gw - 1); i++)
      for (int k = p->head[j * p->gw + i]; k >= 0; k = p->next[k])
        {
          double dx = x - p->x[k], dy = y - p->y[k];
          double m = (r + p->r[k]) * factor + gap;
          if (dx * dx + dy * dy < m * m)
            return FALSE;
        }
  c = cy * p->gw + cx;
  p->x[p->n] = x;
  p->y[p->n] = y;
  p->r[p->n] = r;
  p->next[p->n] = p->head[c];
  p->head[c] = p->n;
  p->n++;
  return TRUE;
}

// --- the look -------------------------------------------------------------------

static void
look_default (MvaSynthScene *sc, double feature_px)
{
  MvaSynthLook *lk = &sc->look;
  static const double kvs[] = { 1, 2, 3, 5, 5, 10, 10, 15, 20, 30 };
  static const double dwells[] = { 0.1, 0.3, 1, 3, 10, 30 };

  lk->edge = U (0.6, 1.5);
  lk->slope = U (0.6, 1.3);
  lk->shading = U (0.05, 0.35);
  lk->azimuth = U (0, 2 * G_PI);
  lk->cavity = U (0.6, 2.0);
  lk->cavity_radius = feature_px * U (1.0, 2.0);
  lk->charging = CHANCE (0.2) ? U (0.1, 0.4) : 0.0;
  lk->streaks = CHANCE (0.12) ? U (0.05, 0.25) : 0.0;
  lk->blur = U (0.5, 1.5) * MAX (0.6, scale_of (sc));
  lk->shot = LOGU (0.002, 0.03);
  lk->read = U (0.01, 0.05);
  lk->jitter = CHANCE (0.5) ? U (0.1, 0.6) : 0.0;
  lk->brightness = U (-0.05, 0.12);
  lk->contrast = U (0.85, 1.35);
  lk->gamma = U (0.8, 1.25);
  lk->vignette = U (-0.2, 0.2);
  lk->hv_kv = PICK (kvs);
  lk->wd_mm = U (3.0, 12.0);
  lk->detector = lk->hv_kv <= 5 && CHANCE (0.6) ? "TLD" : "ETD";
  lk->mode = "SE";
  lk->tilt_deg = 0;
  lk->dwell_us = PICK (dwells);
  lk->current_pa = LOGU (6, 400);
  lk->spot = round (U (2.0, 6.0) * 2) / 2;
  lk->pressure_pa = LOGU (5e-5, 5e-4);
}

static void
add_debris (MvaSynthScene *sc, double size_px)
{
  int n = 1 + _mva_synth_rng_int (&sc->rng, 3);

  for (int i = 0; i < n; i++)
    {
      double px[7], py[7];
      double cx = U (0, sc->w), cy = U (0, sc->h), r = size_px * U (0.8, 1.6);
      int m = 5 + _mva_synth_rng_int (&sc->rng, 3);

      for (int k = 0; k < m; k++)
        {
          double a = 2 * G_PI * (k + U (0.0, 0.6)) / m;
          double rr = r * U (0.6, 1.0);
          px[k] = cx + rr * cos (a);
          py[k] = cy + rr * sin (a);
        }
      _mva_synth_polygon (sc, px, py, m, 0, r * 0.3, U (0.5, 1.5), 0.9f, 0.8f);
    }
  sc->facts.debris = n;
}

// --- particles ------------------------------------------------------------------

static void
recipe_particles (MvaSynthScene *sc)
{
  MvaSynthFacts *f = &sc->facts;
  static const char *shapes[] = { "spherical", "spherical", "faceted", "irregular" };
  static const char *arrs[] = { "dispersed", "dispersed", "clustered", "dense" };
  const char *shape = PICK (shapes), *arr = PICK (arrs);
  double s = scale_of (sc);
  double d_nm = LOGU (15, 2000);
  double d_px = U (16, 16 + 32 * s);
  double cv = U (0.04, 0.28);
  double ys = U (0.55, 0.9), yp = ys * U (1.4, 2.0);
  double coverage = g_str_equal (arr, "dense") ? U (0.3, 0.45) : U (0.05, 0.22);
  int target = (int) (coverage * sc->w * sc->h / (G_PI * d_px * d_px / 4));
  int n_clusters = 0;
  double cx[64], cy[64];
  Placer pl;
  g_autofree double *dn = NULL;
  Stats st;
  int n_in = 0, tries;
  g_autofree char *mean = NULL, *sd = NULL, *mn = NULL, *mx = NULL;

  sc->pixel_nm = d_nm / d_px;
  look_default (sc, d_px);
  _mva_synth_value_noise (sc->height, sc->w, sc->h, U (3, 20) * s + 2, U (0.2, 1.2), &sc->rng);
  for (gsize i = 0; i < (gsize) sc->w * sc->h; i++)
    sc->yield[i] = (float) ys;
  target = CLAMP (target, 5, 4000);
  placer_init (&pl, sc->w, sc->h, d_px * (1 + 3 * cv), target);
  if (g_str_equal (arr, "clustered"))
    {
      n_clusters = target / (int) U (5, 25);
      n_clusters = CLAMP (n_clusters, 2, 64);
      for (int k = 0; k < n_clusters; k++)
        {
          cx[k] = U (0, sc->w);
          cy[k] = U (0, sc->h);
        }
    }
  tries = target * 40;
  while (pl.n < target && tries-- > 0)
    {
      double d = d_px * spread (sc, cv, 0.45, 1.9);
      double x, y;

      if (n_clusters > 0)
        {
          int k = _mva_synth_rng_int (&sc->rng, n_clusters);
          double spread = d_px * sqrt ((double) target / n_clusters) * 0.45;
          x = cx[k] + spread * NORMAL ();
          y = cy[k] + spread * NORMAL ();
          placer_try (&pl, x, y, d / 2, 1.0, 1.0 + 0.03 * d_px);
        }
      else
        {
          x = U (-d, sc->w + d);
          y = U (-d, sc->h + d);
          placer_try (&pl, x, y, d / 2, 1.0,
                      g_str_equal (arr, "dense") ? 1.5 + 0.06 * d_px : 2.5 + 0.3 * d_px);
        }
    }
  dn = g_new (double, MAX (pl.n, 1));
  for (int i = 0; i < pl.n; i++)
    {
      double r = pl.r[i];
      float yv = (float) (yp * U (0.92, 1.08));
      if (g_str_equal (shape, "spherical"))
        _mva_synth_blob (sc, pl.x[i], pl.y[i], r, r, 0, 0, r * 0.9, 0.5, NULL, yv, 0);
      else if (g_str_equal (shape, "faceted"))
        {
          double a = r * sqrt (G_PI) / 2; /* same area as the disc */
          _mva_synth_box (sc, pl.x[i], pl.y[i], a, a, U (0, G_PI / 2), 0, a * 0.9,
                          a * 0.35, yv, 0);
        }
      else
        {
          double rough[4], asp = U (1.0, 1.3);
          rough_coeffs (sc, 0.07, rough);
          _mva_synth_blob (sc, pl.x[i], pl.y[i], r * sqrt (asp), r / sqrt (asp), U (0, G_PI),
                           0, r * 0.8, 0.6, rough, yv, 0);
        }
      if (pl.x[i] >= 0 && pl.x[i] < sc->w && pl.y[i] >= 0 && pl.y[i] < sc->h)
        dn[n_in++] = 2 * r * sc->pixel_nm;
    }
  if (CHANCE (0.25))
    add_debris (sc, d_px * 1.5);
  sc->look.charging *= 0.4;
  st = stats_of (dn, n_in);
  set_size (sc, "particle diameter", st);
  f->count = n_in;

  P_S ("variant", shape);
  P_S ("shape", shape);
  P_S ("arrangement", arr);
  P_I ("count", n_in);
  P_D ("diameter_mean_nm", st.mean, 2);
  P_D ("diameter_median_nm", st.median, 2);
  P_D ("diameter_std_nm", st.std, 2);
  P_D ("diameter_min_nm", st.min, 2);
  P_D ("diameter_max_nm", st.max, 2);
  P_D ("coverage", pl.n * G_PI * d_px * d_px / 4 / (sc->w * sc->h), 3);
  P_I ("clusters", n_clusters);
  P_D ("particle_to_substrate_brightness", yp / ys, 2);

  mean = len_str (st.mean);
  sd = len_str (st.std);
  mn = len_str (st.min);
  mx = len_str (st.max);
  f->objects = F ("%s%s", g_str_equal (shape, "spherical") ? "spherical " :
                  g_str_equal (shape, "faceted") ? "faceted, cube-like " : "irregularly shaped ",
                  st.mean < 1000 ? "nanoparticles" : "particles");
  if (g_str_equal (shape, "spherical"))
    f->shape = F ("The particles are near-spherical with round, smooth outlines and bright rims.");
  else if (g_str_equal (shape, "faceted"))
    f->shape = F ("The particles are faceted, with square outlines, flat tops and rounded corners.");
  else
    f->shape = F ("The particles have irregular, lumpy outlines and slightly elongated forms.");
  f->layers = F ("They lie in a single layer on the substrate; no separate phases or domains are visible.");
  f->spacing = g_str_equal (arr, "dispersed")
    ? F ("They are scattered randomly over the field and mostly well separated.")
    : g_str_equal (arr, "clustered")
    ? F ("They are grouped into about %d clusters with bare substrate between the groups.", n_clusters)
    : F ("They are densely packed, covering roughly %.0f%% of the surface.",
         100.0 * pl.n * G_PI * d_px * d_px / 4 / (sc->w * sc->h));
  f->aggregation = g_str_equal (arr, "dispersed")
    ? F ("There is little aggregation: almost every particle stands alone.")
    : g_str_equal (arr, "clustered")
    ? F ("Most particles are aggregated into small clusters in which neighbours touch.")
    : F ("Neighbouring particles nearly touch in a crowded monolayer, but they are not fused.");
  f->texture = F ("The particle surfaces look smooth, and the substrate between them is flat with a faint fine-grained roughness.");
  f->defects = F ("No cracks or pores are visible on the particles.");
  f->contrast = F ("The particles appear brighter than the substrate (about %.1f times its signal), which points to a heavier or more emissive material than the support; no labels name the elements.",
                   yp / ys);
  f->contacts = g_str_equal (arr, "clustered")
    ? F ("Within clusters the particles nearly touch but keep their own outlines, while the clusters are well separated; particle boundaries are sharp.")
    : F ("The particles are separate from one another, with sharp boundaries against the substrate.");
  f->environment = F ("The particles rest on a flat supporting substrate%s.",
                      sc->facts.debris ? ", and a few larger angular specks, most likely dust or debris, lie among them" : "; no other objects are in view");
  f->function = F ("The particle surfaces are the functional regions (for example catalytically active sites); the substrate is only a support. The image is a static snapshot, not a dynamic process.");
  f->application = st.mean < 100
    ? F ("Nanoparticles of about %s are typical of catalysts, plasmonic or magnetic materials, and drug-delivery carriers.", mean)
    : F ("Particles of about %s are typical of colloids, pigments, fillers and polishing media.", mean);
  placer_clear (&pl);
}

// --- porous -----------------------------------------------------------------------

static void
recipe_porous (MvaSynthScene *sc)
{
  MvaSynthFacts *f = &sc->facts;
  static const char *variants[] = { "foam", "sponge", "sponge", "membrane" };
  const char *variant = PICK (variants);
  double s = scale_of (sc);
  double d_nm = LOGU (8, 3000);
  double d_px = U (20, 20 + 26 * s);
  double cv = g_str_equal (variant, "membrane") ? U (0.04, 0.1) : U (0.1, 0.3);
  double target_por = g_str_equal (variant, "foam") ? U (0.25, 0.5) : U (0.2, 0.45);
  double wall = MAX (1.0, 0.05 * d_px);
  double min_wall = g_str_equal (variant, "foam") ? 0.1 * d_px + 3 : 0.25 * d_px + 3;
  int target = (int) (target_por * sc->w * sc->h / (G_PI * d_px * d_px / 4));
  Placer pl;
  g_autofree double *dn = NULL;
  double area = 0;
  int n_in = 0, tries;
  Stats st;
  gboolean ordered = g_str_equal (variant, "membrane");
  double ys = U (0.7, 1.0);
  g_autofree char *mean = NULL, *sd = NULL;

  sc->pixel_nm = d_nm / d_px;
  look_default (sc, d_px);
  sc->look.cavity = U (4.0, 6.0);
  sc->look.cavity_radius = d_px * 0.9;
  sc->look.charging = 0;
  /* ligament texture at two scales */
  _mva_synth_value_noise (sc->height, sc->w, sc->h, d_px * U (0.5, 1.5), U (1.0, 3.0), &sc->rng);
  _mva_synth_value_noise (sc->height, sc->w, sc->h, U (2, 5), U (0.2, 0.8), &sc->rng);
  for (gsize i = 0; i < (gsize) sc->w * sc->h; i++)
    sc->yield[i] = (float) ys;
  target = CLAMP (target, 5, 5000);
  placer_init (&pl, sc->w, sc->h, d_px * (1 + 3 * cv),
               ordered ? (int) (4.0 * sc->w * sc->h / (d_px * d_px) + 100) : target + 1);
  if (ordered)
    {
      /* anodic-alumina-like: hexagonal lattice with small jitter */
      double pitch = d_px + min_wall;
      double rowh = pitch * sqrt (3) / 2;
      for (int j = -1; j * rowh < sc->h + pitch; j++)
        for (int i = -1; i * pitch < sc->w + pitch; i++)
          {
            double d = d_px * spread (sc, cv, 0.6, 1.5);
            double x = i * pitch + (j % 2 ? pitch / 2 : 0) + 0.05 * pitch * NORMAL ();
            double y = j * rowh + 0.05 * pitch * NORMAL ();
            if (!CHANCE (0.04))
              placer_try (&pl, x, y, d / 2, 1.0, 2.0);
          }
    }
  else
    {
      tries = target * 60;
      while (pl.n < target && tries-- > 0)
        {
          double d = d_px * spread (sc, cv, 0.45, 1.9);
          placer_try (&pl, U (-d, sc->w + d), U (-d, sc->h + d), d / 2, 1.0, min_wall);
        }
    }
  dn = g_new (double, MAX (pl.n, 1));
  for (int i = 0; i < pl.n; i++)
    {
      double r = pl.r[i], rough[4];
      double asp = g_str_equal (variant, "sponge") ? U (1.0, 1.5) : U (1.0, 1.1);

      rough_coeffs (sc, g_str_equal (variant, "sponge") ? 0.08 : 0.02, rough);
      _mva_synth_hole (sc, pl.x[i], pl.y[i], r * sqrt (asp), r / sqrt (asp), U (0, G_PI),
                       r * U (1.2, 2.5), wall, rough, (float) (ys * 0.9));
      if (pl.x[i] >= 0 && pl.x[i] < sc->w && pl.y[i] >= 0 && pl.y[i] < sc->h)
        dn[n_in++] = 2 * r * sc->pixel_nm;
      area += G_PI * r * r;
    }
  st = stats_of (dn, n_in);
  set_size (sc, "pore diameter", st);
  f->count = n_in;
  P_S ("variant", variant);
  P_I ("pore_count", n_in);
  P_D ("pore_diameter_mean_nm", st.mean, 2);
  P_D ("pore_diameter_median_nm", st.median, 2);
  P_D ("pore_diameter_std_nm", st.std, 2);
  P_D ("pore_diameter_min_nm", st.min, 2);
  P_D ("pore_diameter_max_nm", st.max, 2);
  P_D ("porosity", MIN (area / (sc->w * sc->h), 0.95), 3);
  P_B ("ordered", ordered);

  mean = len_str (st.mean);
  sd = len_str (st.std);
  f->objects = g_str_equal (variant, "foam") ? F ("a porous foam-like material")
             : g_str_equal (variant, "sponge") ? F ("a porous, sponge-like material")
             : F ("a porous membrane with an ordered array of pores");
  f->shape = g_str_equal (variant, "foam")
    ? F ("The material is a continuous solid perforated by round, open pores separated by thin walls.")
    : g_str_equal (variant, "sponge")
    ? F ("The structure is sponge-like: irregular, slightly elongated pores separated by rough ligaments.")
    : F ("Round pores of nearly equal size sit on a roughly hexagonal lattice in a flat membrane.");
  f->layers = F ("Only one solid phase is visible; the pores are dark openings into the material.");
  f->spacing = ordered ? F ("The pores are evenly spaced in a near-hexagonal arrangement, with a few missing.")
             : F ("The pores are spread randomly but fairly evenly across the surface.");
  f->aggregation = F ("The pores are separate openings; they do not merge into larger channels at the surface.");
  f->size_extra = F ("The porosity of the surface is about %.0f%%.", 100 * MIN (area / (sc->w * sc->h), 0.95));
  f->texture = F ("The solid walls have a rough, slightly granular texture between the pores.");
  f->defects = F ("The pores themselves are the dominant feature; there are no cracks or foreign inclusions in view.");
  f->contrast = F ("The pore interiors are dark because electrons escape poorly from them, while the walls and pore rims are bright; this is topographic contrast, not a compositional difference, and no labels name elements.");
  f->contacts = F ("The pores are separated by continuous walls, and their rims are sharp and bright.");
  f->environment = F ("Only the porous material fills the field of view; no substrate, solvent or foreign objects are visible.");
  f->function = F ("The open pores and the large internal surface are the functional regions, for example for adsorption, filtration or catalysis. The image is static.");
  f->application = st.mean < 100
    ? F ("With pores of about %s it would suit catalysis, sensing, electrodes or filtration membranes.", mean)
    : F ("With pores of about %s it would suit filtration, scaffolds, lightweight structures or thermal insulation.", mean);
  placer_clear (&pl);
}

// --- fibres -------------------------------------------------------------------------

static void
recipe_fibres (MvaSynthScene *sc)
{
  MvaSynthFacts *f = &sc->facts;
  double s = scale_of (sc);
  double d_nm = LOGU (60, 4000);
  double d_px = U (6, 8 + 22 * s);
  double cv = U (0.08, 0.35);
  gboolean aligned = CHANCE (0.3);
  gboolean beads = CHANCE (0.35);
  gboolean web = CHANCE (0.3);
  double main_dir = U (0, G_PI);
  int n = (int) (U (0.8, 2.0) * (sc->w + sc->h) / d_px * 0.5);
  g_autofree double *dn = g_new (double, MAX (n, 1));
  double xs[600], ys[600];
  int n_beads = 0, n_web = 0;
  Stats st;
  double yf = U (0.6, 0.85);
  g_autofree char *mean = NULL;

  n = CLAMP (n, 6, 300);
  sc->pixel_nm = d_nm / d_px;
  look_default (sc, d_px);
  sc->look.cavity = U (1.0, 2.5);
  sc->look.cavity_radius = d_px * U (2.0, 4.0);
  sc->look.charging = CHANCE (0.4) ? U (0.1, 0.3) : 0;
  for (gsize i = 0; i < (gsize) sc->w * sc->h; i++)
    {
      sc->height[i] = (float) (-8 * d_px);
      sc->yield[i] = 0.5f;
    }
  for (int i = 0; i < n; i++)
    {
      double d = d_px * spread (sc, cv, 0.35, 2.2);
      double theta = aligned ? main_dir + 0.15 * NORMAL () : U (0, G_PI);
      double x = U (0, sc->w), y = U (0, sc->h);
      double base = (i - n) * d_px * 6.0 / n;
      float yv = (float) (yf * (0.3 + 0.7 * (i + 1) / n));
      int m, m2;

      /* walk both ways from a point inside the field */
      m = _mva_synth_walk (sc, x, y, theta, MAX (3.0, d), aligned ? 0.01 : U (0.005, 0.04),
                           300, xs, ys);
      m2 = _mva_synth_walk (sc, x, y, theta + G_PI, MAX (3.0, d), aligned ? 0.01 : 0.02,
                            300, xs + 300, ys + 300);
      for (int k = 0; k + 1 < m; k++)
        _mva_synth_capsule (sc, xs[k], ys[k], xs[k + 1], ys[k + 1], d / 2, base, base, 0.9,
                            yv, 0.6f);
      for (int k = 0; k + 1 < m2; k++)
        _mva_synth_capsule (sc, xs[300 + k], ys[300 + k], xs[301 + k], ys[301 + k], d / 2,
                            base, base, 0.9, yv, 0.6f);
      if (beads && CHANCE (0.5) && m > 4)
        {
          int k = 1 + _mva_synth_rng_int (&sc->rng, m - 2);
          double ang = atan2 (ys[k + 1] - ys[k], xs[k + 1] - xs[k]);
          double br = d * U (1.2, 2.2);
          _mva_synth_blob (sc, xs[k], ys[k], br * 1.8, br, ang, base, br * 0.9, 0.5, NULL,
                           yv, 0.6f);
          n_beads++;
        }
      dn[i] = d * sc->pixel_nm;
    }
  if (web)
    {
      n_web = 5 + _mva_synth_rng_int (&sc->rng, 20);
      for (int i = 0; i < n_web; i++)
        {
          int m = _mva_synth_walk (sc, U (0, sc->w), U (0, sc->h), U (0, 2 * G_PI), 4,
                                   0.06, 80, xs, ys);
          for (int k = 0; k + 1 < m; k++)
            _mva_synth_capsule (sc, xs[k], ys[k], xs[k + 1], ys[k + 1], MAX (0.8, d_px * 0.08),
                                0, 0, 0.9, (float) (yf * 0.8), 0.6f);
        }
    }
  st = stats_of (dn, n);
  set_size (sc, "fibre diameter", st);
  f->count = -1;
  P_S ("variant", beads ? "beaded" : "smooth");
  P_I ("fibre_count", n);
  P_D ("diameter_mean_nm", st.mean, 2);
  P_D ("diameter_median_nm", st.median, 2);
  P_D ("diameter_std_nm", st.std, 2);
  P_D ("diameter_min_nm", st.min, 2);
  P_D ("diameter_max_nm", st.max, 2);
  P_S ("alignment", aligned ? "aligned" : "random");
  P_I ("beads", n_beads);
  P_I ("fibrils", n_web);

  mean = len_str (st.mean);
  f->objects = F ("%s%s", aligned ? "aligned " : "randomly oriented ",
                  st.mean < 1000 ? "nanofibres" : "fibres");
  f->shape = F ("Long, smooth cylindrical fibres cross each other in several layers, forming a nonwoven mat%s.",
                n_beads ? " with occasional spindle-shaped beads" : "");
  f->layers = F ("Fibres at different depths overlap; the deeper layers look darker, which gives the mat visible depth.");
  f->spacing = aligned ? F ("Most fibres run in roughly the same direction, leaving elongated gaps between them.")
             : F ("The fibres are randomly oriented and spread evenly, leaving irregular open gaps.");
  f->aggregation = F ("The fibres do not bundle; they cross and overlap individually%s.",
                      n_web ? ", and very thin fibrils span some of the gaps" : "");
  f->texture = F ("The fibre surfaces are smooth%s.", n_beads ? ", interrupted by a few bead defects" : "");
  f->defects = n_beads ? F ("There are %d bead-like thickenings along some fibres, a typical electrospinning defect.", n_beads)
             : F ("The fibres are free of beads, and no breaks or impurities are visible.");
  f->contrast = F ("Brightness varies with depth and fibre edges rather than composition: upper fibres are bright with bright edges, deeper ones darker. No labels name elements.");
  f->contacts = F ("The fibres touch where they cross but stay separate, with sharp edges against the dark gaps.");
  f->environment = F ("The mat fills the whole field of view; no substrate or foreign objects are visible through the gaps.");
  f->function = F ("The open, interconnected pore space between fibres and the large fibre surface are the functional features. The image is static.");
  f->application = F ("Electrospun %s of about %s are used for filtration, tissue-engineering scaffolds, wound dressings and separators.",
                      st.mean < 1000 ? "nanofibre mats" : "fibre mats", mean);
}

// --- nanowires ------------------------------------------------------------------------

static void
recipe_nanowires (MvaSynthScene *sc)
{
  MvaSynthFacts *f = &sc->facts;
  static const char *variants[] = { "lying", "lying", "vertical", "vertical", "entangled" };
  const char *variant = PICK (variants);
  gboolean vertical = g_str_equal (variant, "vertical");
  gboolean curly = g_str_equal (variant, "entangled");
  double wx[401], wy[401];
  double s = scale_of (sc);
  double d_nm = LOGU (15, 400);
  double d_px = U (4, 5 + 9 * s);
  double aspect = LOGU (8, 120);
  double len_px = d_px * aspect;
  double tilt = vertical ? PICK (((const double[]) { 30, 45, 52 })) : 0;
  gboolean tips = vertical && CHANCE (0.6);
  double dir = U (0, G_PI);
  gboolean aligned = !vertical && !curly && CHANCE (0.25);
  int n;
  g_autofree double *dn = NULL, *ln = NULL;
  Stats sd, sl;
  double yw = U (1.1, 1.5), ysub = U (0.55, 0.85);
  g_autofree char *len_s = NULL, *dia_s = NULL;
  double density;

  len_px = MIN (len_px, 0.8 * sc->w);
  sc->pixel_nm = d_nm / d_px;
  look_default (sc, d_px);
  if (vertical)
    {
      sc->look.tilt_deg = tilt;
      n = (int) (U (0.003, 0.02) * sc->w * sc->h / (d_px * d_px) * 0.25);
    }
  else
    n = (int) (U (0.05, 0.25) * sc->w * sc->h / (d_px * len_px));
  n = CLAMP (n, 8, 1500);
  dn = g_new (double, n);
  ln = g_new (double, n);
  _mva_synth_value_noise (sc->height, sc->w, sc->h, U (4, 16), U (0.2, 0.8), &sc->rng);
  for (gsize i = 0; i < (gsize) sc->w * sc->h; i++)
    sc->yield[i] = (float) ysub;
  for (int i = 0; i < n; i++)
    {
      double d = d_px * spread (sc, 0.15, 0.5, 1.6);
      double L = len_px * spread (sc, 0.3, 0.3, 1.8);
      double x = U (-0.1 * sc->w, 1.1 * sc->w), y = U (-0.1 * sc->h, 1.1 * sc->h);

      if (vertical)
        {
          /* projected length on a tilted stage; wires lean slightly */
          double pl = L * sin (tilt * G_PI / 180.0);
          double lean = 0.08 * NORMAL ();
          double x1 = x + pl * sin (lean), y1 = y - pl * cos (lean);
          _mva_synth_capsule (sc, x, y, x1, y1, d / 2, y * 0.02, y * 0.02 + pl, 0.9,
                              (float) yw, 0);
          if (tips)
            _mva_synth_blob (sc, x1, y1, d * 0.7, d * 0.7, 0, y * 0.02 + pl, d * 0.6, 0.5,
                             NULL, (float) (yw * 1.3), 0);
        }
      else if (curly)
        {
          /* long, flexible wires or tubes winding over the substrate */
          double step = MAX (3.0, d);
          int m = _mva_synth_walk (sc, x, y, U (0, 2 * G_PI), step, U (0.02, 0.06),
                                   MIN (400, (int) (L / step) + 1), wx, wy);
          double z = i * 0.05 * d;
          for (int k = 0; k + 1 < m; k++)
            _mva_synth_capsule (sc, wx[k], wy[k], wx[k + 1], wy[k + 1], d / 2, z, z, 0.9,
                                (float) yw, 0);
          L = MAX (1, m - 1) * step;
        }
      else
        {
          double th = aligned ? dir + 0.12 * NORMAL () : U (0, G_PI);
          double z = i * 0.05 * d;
          _mva_synth_capsule (sc, x - L / 2 * cos (th), y - L / 2 * sin (th),
                              x + L / 2 * cos (th), y + L / 2 * sin (th), d / 2, z, z, 0.9,
                              (float) yw, 0);
        }
      dn[i] = d * sc->pixel_nm;
      ln[i] = L * sc->pixel_nm;
    }
  sd = stats_of (dn, n);
  sl = stats_of (ln, n);
  set_size (sc, "wire diameter", sd);
  density = n / (sc->w * sc->pixel_nm * 1e-3 * sc->h * sc->pixel_nm * 1e-3 * 1.44);
  f->count = -1;
  P_S ("variant", variant);
  P_S ("orientation", vertical ? "vertical" : curly ? "lying, entangled" : aligned ? "lying, aligned" : "lying, random");
  P_I ("wire_count", n);
  P_D ("diameter_mean_nm", sd.mean, 2);
  P_D ("diameter_std_nm", sd.std, 2);
  P_D ("length_mean_um", sl.mean / 1000.0, 3);
  P_D ("length_std_um", sl.std / 1000.0, 3);
  P_D ("aspect_ratio", sl.mean / sd.mean, 1);
  P_D ("density_per_um2", density, 4);
  P_B ("catalyst_tips", tips);

  len_s = len_str (sl.mean);
  dia_s = len_str (sd.mean);
  f->objects = F ("%s", sl.mean / sd.mean < 12 ? "nanorods" : "nanowires");
  f->shape = vertical
    ? F ("The wires stand upright on the substrate and are seen on a %.0f° tilted stage, so they appear as straight parallel rods%s.",
         tilt, tips ? " capped by round catalyst droplets" : "")
    : curly ? F ("Long, thin, flexible wires wind across the substrate in gentle curves and cross one another.")
    : F ("Straight, thin, high-aspect-ratio wires lie flat on the substrate%s.",
         aligned ? ", mostly pointing the same way" : " in random directions");
  f->layers = vertical ? F ("The wires form a single forest grown from the substrate; no other phases are visible.")
            : F ("Wires cross over one another in a thin random layer; there are no separate phases.");
  f->size_extra = F ("They are about %s long on average, an aspect ratio near %.0f.", len_s, sl.mean / sd.mean);
  f->spacing = vertical ? F ("They are spread randomly over the substrate at about %.2g wires per square micrometre.", density)
             : F ("They are scattered %s and overlap where they cross.", aligned ? "with a common orientation" : "randomly");
  f->aggregation = F ("The wires are not bundled; each stands on its own.");
  f->texture = F ("The wire surfaces are smooth and the substrate is flat.");
  f->defects = curly ? F ("The wires bend smoothly; no branches, broken ends or particles stand out.")
              : F ("No kinks, branches or broken wires stand out.");
  f->contrast = tips ? F ("The wires are brighter than the substrate, and the round tips are brighter still, consistent with a heavier catalyst metal; no labels name elements.")
              : F ("The wires are brighter than the substrate mainly because of edge emission; there is no separate compositional contrast and no element labels.");
  f->contacts = vertical ? F ("The wires are separate, with sharp outlines; none are fused together.")
              : F ("Wires touch where they cross, but they are not fused, and their edges are sharp.");
  f->environment = F ("The wires sit on a flat substrate, and no other objects are in view.");
  f->function = F ("The long one-dimensional wires are the functional elements, for example for charge transport or light absorption. The image is static.");
  f->application = F ("Nanowires of about %s diameter are used in sensors, transistors, solar cells, battery electrodes and field emitters.", dia_s);
}

// --- patterned -----------------------------------------------------------------------

static void
recipe_patterned (MvaSynthScene *sc)
{
  MvaSynthFacts *f = &sc->facts;
  static const char *kinds[] = { "holes", "pillars", "lines", "pillars", "holes" };
  const char *kind = PICK (kinds);
  gboolean hex = CHANCE (0.4) && !g_str_equal (kind, "lines");
  double s = scale_of (sc);
  double pitch_nm = LOGU (80, 6000);
  double pitch_px = U (18, 20 + 50 * s);
  double fill = U (0.3, 0.65);
  double disorder = CHANCE (0.7) ? U (0.0, 0.02) : U (0.04, 0.1);
  double angle = CHANCE (0.5) ? 0 : U (-0.3, 0.3);
  double ca = cos (angle), sa = sin (angle);
  double feat_px = pitch_px * fill;
  double depth = feat_px * U (0.5, 1.2);
  double ys = U (0.6, 0.9), yf = g_str_equal (kind, "pillars") ? ys * U (1.0, 1.4) : ys;
  int missing = 0, features = 0;
  double rowh = hex ? pitch_px * sqrt (3) / 2 : pitch_px;
  double ext = MAX (sc->w, sc->h) * 0.75 + pitch_px * 2;
  double pdefect = CHANCE (0.6) ? U (0.002, 0.02) : 0;
  g_autofree char *pitch_s = NULL, *feat_s = NULL;

  sc->pixel_nm = pitch_nm / pitch_px;
  look_default (sc, feat_px);
  sc->look.cavity = U (1.0, 3.0);
  sc->look.cavity_radius = feat_px;
  _mva_synth_value_noise (sc->height, sc->w, sc->h, U (3, 8), U (0.1, 0.4), &sc->rng);
  for (gsize i = 0; i < (gsize) sc->w * sc->h; i++)
    sc->yield[i] = (float) ys;
  if (g_str_equal (kind, "lines"))
    {
      for (int k = (int) (-ext / pitch_px); k <= (int) (ext / pitch_px); k++)
        {
          double off = k * pitch_px + disorder * pitch_px * NORMAL ();
          double cx = sc->w / 2.0 + off * ca, cy = sc->h / 2.0 + off * sa;
          _mva_synth_box (sc, cx, cy, feat_px / 2, ext, angle, 0, depth, MAX (1.0, feat_px * 0.12),
                          (float) (ys * 1.1), 0);
          features++;
        }
    }
  else
    {
      for (int j = (int) (-ext / rowh); j <= (int) (ext / rowh); j++)
        for (int i = (int) (-ext / pitch_px); i <= (int) (ext / pitch_px); i++)
          {
            double u = i * pitch_px + (hex && (j & 1) ? pitch_px / 2 : 0);
            double v = j * rowh;
            double x = sc->w / 2.0 + u * ca - v * sa + disorder * pitch_px * NORMAL ();
            double y = sc->h / 2.0 + u * sa + v * ca + disorder * pitch_px * NORMAL ();
            double r = feat_px / 2 * (1 + 0.5 * disorder * NORMAL ());

            if (x < -pitch_px || y < -pitch_px || x > sc->w + pitch_px || y > sc->h + pitch_px)
              continue;
            if (CHANCE (pdefect))
              {
                if (x >= 0 && x < sc->w && y >= 0 && y < sc->h)
                  missing++;
                continue;
              }
            if (g_str_equal (kind, "holes"))
              _mva_synth_hole (sc, x, y, r, r, 0, depth, MAX (1.0, 0.1 * r), NULL, (float) ys);
            else
              _mva_synth_blob (sc, x, y, r, r, 0, 0, depth, 0.12, NULL, (float) yf, 0);
            if (x >= 0 && x < sc->w && y >= 0 && y < sc->h)
              features++;
          }
    }
  f->count = features;
  sc->facts.size_name = g_str_equal (kind, "lines") ? "line width" :
                        g_str_equal (kind, "holes") ? "hole diameter" : "pillar diameter";
  sc->facts.size_mean_nm = feat_px * sc->pixel_nm;
  sc->facts.size_std_nm = feat_px * sc->pixel_nm * disorder * 0.5;
  sc->facts.size_min_nm = sc->facts.size_max_nm = 0;
  P_S ("variant", kind);
  P_S ("feature", kind);
  P_S ("lattice", g_str_equal (kind, "lines") ? "grating" : hex ? "hexagonal" : "square");
  P_D ("pitch_nm", pitch_nm, 2);
  P_D ("feature_size_nm", feat_px * sc->pixel_nm, 2);
  P_D ("disorder", disorder, 3);
  P_I ("feature_count", features);
  P_I ("missing_features", missing);
  P_D ("rotation_deg", angle * 180 / G_PI, 2);

  pitch_s = len_str (pitch_nm);
  feat_s = len_str (feat_px * sc->pixel_nm);
  f->objects = F ("a surface patterned with %s", g_str_equal (kind, "lines") ? "a line grating" :
                  g_str_equal (kind, "holes") ? "an array of holes" : "an array of pillars");
  f->shape = g_str_equal (kind, "lines")
    ? F ("Parallel raised lines of equal width run across the whole field.")
    : F ("Identical round %s repeat on a regular %s lattice.", kind, hex ? "hexagonal" : "square");
  f->layers = F ("The pattern is etched or moulded into a single material; no separate phases are visible.");
  f->size_extra = F ("The pitch (centre-to-centre period) is %s.", pitch_s);
  f->spacing = disorder < 0.03 ? F ("The features are evenly spaced and well ordered over the whole field.")
             : F ("The features follow the lattice, but their positions wander noticeably, so the order is imperfect.");
  f->aggregation = F ("The features are separate; none are merged or clustered.");
  f->texture = F ("The surface is patterned; between the features it is flat and smooth.");
  f->defects = missing ? F ("There %s %d missing feature%s in the lattice, a typical patterning defect.",
                            missing == 1 ? "is" : "are", missing, missing == 1 ? "" : "s")
             : F ("The pattern is complete, with no missing features or visible defects.");
  f->contrast = g_str_equal (kind, "holes")
    ? F ("The holes are dark and their rims bright, which is topographic contrast; there is no sign of a second material and no element labels.")
    : F ("The raised features are bright at their edges, which is topographic contrast; there is no sign of a second material and no element labels.");
  f->contacts = F ("The features are cleanly separated with sharp, well-defined edges.");
  f->environment = F ("Only the patterned surface is in view; there is no debris or foreign object.");
  f->function = F ("The periodic pattern is the functional region, for example as a photonic, plasmonic or wetting structure. The image is static.");
  f->application = F ("A period of %s suggests use as %s.", pitch_s,
                      pitch_nm < 1000 ? "a photonic crystal, metasurface, nanoimprint template or anti-reflection surface"
                      : "a microfluidic, cell-culture or superhydrophobic test surface, or a lithography calibration pattern");
}

// --- films --------------------------------------------------------------------------

static void
recipe_films (MvaSynthScene *sc)
{
  MvaSynthFacts *f = &sc->facts;
  static const char *variants[] = { "grains", "grains", "cracked", "cross-section" };
  const char *variant = PICK (variants);
  double s = scale_of (sc);
  double grain_nm = LOGU (20, 3000);
  double grain_px = U (14, 14 + 46 * s);
  int n_cracks = 0;
  gsize npx = (gsize) sc->w * sc->h;
  g_autofree char *g_s = NULL;
  double xs[600], ys[600];

  sc->pixel_nm = grain_nm / grain_px;
  look_default (sc, grain_px);
  f->count = -1;
  if (g_str_equal (variant, "cross-section"))
    {
      /* layered stack seen edge-on: substrate, film layers, surface, vacuum */
      int nl = 1 + _mva_synth_rng_int (&sc->rng, 3);
      double top = sc->h * U (0.15, 0.35);
      double sub = sc->h * U (0.55, 0.8);
      double th_px = (sub - top) / nl;
      double yv[5];
      g_autofree float *rough = g_new0 (float, sc->w);

      sc->pixel_nm = LOGU (2, 200);
      for (int k = 0; k <= nl; k++)
        yv[k] = U (0.5, 1.4);
      _mva_synth_value_noise (rough, sc->w, 1, U (10, 60), th_px * 0.06, &sc->rng);
      for (int y = 0; y < sc->h; y++)
        for (int x = 0; x < sc->w; x++)
          {
            gsize i = (gsize) y * sc->w + x;
            double yy = y - rough[x];
            if (yy < top)
              {
                sc->height[i] = (float) (-20 * grain_px);
                sc->yield[i] = 0.15f;
                continue;
              }
            sc->height[i] = 0;
            sc->yield[i] = (float) (yy >= sub ? yv[nl] : yv[(int) ((yy - top) / th_px)]);
          }
      _mva_synth_value_noise (sc->height, sc->w, sc->h, U (2, 6), U (0.3, 1.0), &sc->rng);
      _mva_synth_value_noise (sc->yield, sc->w, sc->h, U (3, 12), 0.05, &sc->rng);
      sc->look.mode = CHANCE (0.5) ? "BSE" : "SE";
      if (sc->look.mode[0] == 'B')
        sc->look.detector = "CBS";
      sc->look.cavity = 0.3;
      sc->facts.size_name = "total film thickness";
      sc->facts.size_mean_nm = (sub - top) * sc->pixel_nm;
      sc->facts.size_std_nm = 0;
      P_S ("variant", variant);
      P_I ("layers", nl);
      P_D ("thickness_nm", (sub - top) * sc->pixel_nm, 2);
      P_D ("layer_thickness_nm", th_px * sc->pixel_nm, 2);
      g_s = len_str ((sub - top) * sc->pixel_nm);
      f->objects = F ("a cross-section of a coated substrate");
      f->shape = F ("The sample is seen edge-on: a flat coating of %d layer%s sits on a thicker substrate, with vacuum above the surface.",
                    nl, nl == 1 ? "" : "s");
      f->layers = nl > 1 ? F ("%d distinct layers of different brightness are visible above the substrate.", nl)
                : F ("A single coating layer is visible on top of the substrate.");
      {
        g_autofree char *lt = len_str (th_px * sc->pixel_nm);
        f->size_extra = F ("Each layer is about %s thick.", lt);
      }
      f->spacing = F ("The layers are continuous and parallel across the whole width.");
      f->aggregation = F ("There are no separate particles or aggregates; the coating is continuous.");
      f->texture = F ("The cut face is smooth with faint fine-grained texture, and the top surface is slightly wavy.");
      f->defects = F ("No cracks, delamination or pores are visible in the coating.");
      f->contrast = F ("The layers differ in brightness, which in %s contrast hints at different compositions (brighter means heavier average atomic number); no labels name the elements.",
                      sc->look.mode[0] == 'B' ? "backscattered-electron" : "secondary-electron");
      f->contacts = F ("The interfaces between layers are sharp and straight, with no intermixing visible.");
      f->environment = F ("The coating is bonded to its substrate; above the surface there is only empty space, and no other objects appear.");
      f->function = F ("The coating layers are the functional region, for example a protective or functional barrier on the substrate. The image is static.");
      f->application = F ("Layered coatings %s thick are typical of thermal or environmental barrier coatings, optical stacks and protective films.", g_s);
      return;
    }

  {
    g_autofree int *id = g_new (int, npx);
    g_autofree float *gap = g_new (float, npx);
    g_autofree float *tx = NULL, *ty = NULL, *tz = NULL;
    int ncell;
    double groove = U (0.3, 1.2);
    gboolean cracked = g_str_equal (variant, "cracked");
    double cell = cracked ? grain_px * 0.5 : grain_px;

    _mva_synth_voronoi (sc->w, sc->h, cell, 0.9, &sc->rng, id, gap, &ncell);
    tx = g_new (float, ncell);
    ty = g_new (float, ncell);
    tz = g_new (float, ncell);
    for (int k = 0; k < ncell; k++)
      {
        tx[k] = (float) U (-0.12, 0.12);
        ty[k] = (float) U (-0.12, 0.12);
        tz[k] = (float) U (0, grain_px * 0.15);
      }
    for (int y = 0; y < sc->h; y++)
      for (int x = 0; x < sc->w; x++)
        {
          gsize i = (gsize) y * sc->w + x;
          int k = id[i];
          double g = gap[i];
          double z = cracked ? 0 : tz[k] + tx[k] * fmod (x, cell) + ty[k] * fmod (y, cell) +
                                   sqrt (MIN (g, cell * 0.4)) * sqrt (cell) * 0.35;
          z -= groove * exp (-g / (0.05 * cell + 0.5)) * (cracked ? 0.3 : 1.0) * 2;
          sc->height[i] = (float) z;
          sc->yield[i] = (float) (cracked ? 0.8 : 0.75 + 0.1 * ((k * 7919) % 13) / 13.0);
        }
    _mva_synth_value_noise (sc->height, sc->w, sc->h, U (2, 5), U (0.2, 0.6), &sc->rng);
    if (cracked)
      {
        /* cracks: the union of the crack paths, cut once to a flat-bottomed groove */
        g_autofree float *cut = g_new0 (float, npx);
        double depth = grain_px * 0.8;

        n_cracks = 3 + _mva_synth_rng_int (&sc->rng, 10);
        for (int c = 0; c < n_cracks; c++)
          {
            int m = _mva_synth_walk (sc, U (0, sc->w), U (0, sc->h), U (0, 2 * G_PI), 3,
                                     0.008, 600, xs, ys);
            double wcr = U (1.5, 4.0) * MAX (0.6, s);
            for (int k = 0; k + 1 < m; k++)
              {
                int x0 = MAX (0, (int) (MIN (xs[k], xs[k + 1]) - wcr - 2));
                int x1 = MIN (sc->w - 1, (int) (MAX (xs[k], xs[k + 1]) + wcr + 2));
                int y0 = MAX (0, (int) (MIN (ys[k], ys[k + 1]) - wcr - 2));
                int y1 = MIN (sc->h - 1, (int) (MAX (ys[k], ys[k + 1]) + wcr + 2));
                double dx = xs[k + 1] - xs[k], dy = ys[k + 1] - ys[k];
                double l2 = dx * dx + dy * dy + 1e-9;
                for (int y = y0; y <= y1; y++)
                  for (int x = x0; x <= x1; x++)
                    {
                      double t = CLAMP (((x - xs[k]) * dx + (y - ys[k]) * dy) / l2, 0.0, 1.0);
                      double ex = x - xs[k] - t * dx, ey = y - ys[k] - t * dy;
                      double v = CLAMP (wcr + 1.0 - sqrt (ex * ex + ey * ey), 0.0, 1.0);
                      gsize i = (gsize) y * sc->w + x;
                      if (v > cut[i])
                        cut[i] = (float) v;
                    }
              }
          }
        for (gsize i = 0; i < npx; i++)
          if (cut[i] > 0)
            {
              sc->height[i] -= (float) (depth * cut[i]);
              if (cut[i] > 0.5f)
                sc->yield[i] = 0.4f;
            }
        sc->look.cavity = U (2.0, 3.5);
        sc->look.cavity_radius = 6;
      }
    sc->facts.size_name = "grain size";
    sc->facts.size_mean_nm = cell * sc->pixel_nm;
    sc->facts.size_std_nm = cell * sc->pixel_nm * 0.25;
    P_S ("variant", variant);
    P_D ("grain_size_nm", cell * sc->pixel_nm, 2);
    P_I ("cracks", n_cracks);
    g_s = len_str (cell * sc->pixel_nm);
    f->objects = cracked ? F ("a thin film with a crack network") : F ("a polycrystalline thin film");
    f->shape = cracked ? F ("A continuous, fine-grained coating covers the whole field and is broken up by narrow cracks.")
             : F ("The film is made of tightly packed, faceted grains separated by grooved grain boundaries.");
    f->layers = cracked ? F ("Only the top coating is visible; the cracks expose darker depths below it.")
              : F ("Grains differ slightly in brightness and tilt, like crystal domains of one phase.");
    f->spacing = F ("The grains tile the surface evenly, without gaps.");
    f->aggregation = F ("There is no aggregation; the film is continuous.");
    f->texture = cracked ? F ("The surface is slightly rough and granular.")
               : F ("The surface is rough on the scale of the grains, with faceted grain tops.");
    f->defects = cracked ? F ("%d cracks run through the coating; apart from them there are no pores or impurities.", n_cracks)
               : F ("No cracks, pinholes or impurities are visible; grain boundaries are the only discontinuities.");
    f->contrast = cracked ? F ("Brightness is nearly uniform apart from the dark cracks, so there is no sign of a second phase; no labels name elements.")
                : F ("The small brightness differences between grains come from orientation and facet tilt rather than composition; no labels name elements.");
    f->contacts = F ("Neighbouring grains are fused together along sharp, narrow boundaries.");
    f->environment = F ("Only the film surface is in view; no substrate edge, liquid or foreign objects are visible.");
    f->function = cracked ? F ("The cracks are the regions of interest because they compromise the coating's barrier function. The image is static.")
                : F ("The grain boundaries and grain surfaces control the film's transport and optical properties. The image is static.");
    f->application = F ("A film with %s grains is typical of %s.", g_s,
                        cell * sc->pixel_nm < 200 ? "sputtered metal or oxide coatings for electronics and optics"
                        : "thick protective or thermally sprayed coatings and solar-cell absorbers");
  }
}

// --- tips ---------------------------------------------------------------------------

static void
recipe_tips (MvaSynthScene *sc)
{
  MvaSynthFacts *f = &sc->facts;
  static const char *variants[] = { "afm-pyramid", "etched-wire", "needle" };
  const char *variant = PICK (variants);
  double s = scale_of (sc);
  double apex_nm = LOGU (5, 300);
  double apex_px = U (3, 3 + 10 * s);
  double half = (g_str_equal (variant, "needle") ? U (5, 12) : g_str_equal (variant, "afm-pyramid") ? U (15, 35) : U (8, 20)) * G_PI / 180;
  double dir = G_PI / 2 + U (-0.6, 0.6); /* pointing down-ish */
  double ax = cos (dir), ay = sin (dir);
  double tipx = sc->w * U (0.35, 0.65), tipy = sc->h * U (0.55, 0.8);
  double rough = g_str_equal (variant, "etched-wire") ? U (0.5, 2.0) : U (0.0, 0.4);
  double tanh_ = tan (half);
  g_autofree float *wob = g_new0 (float, 2048);
  double ys = U (0.3, 0.5), yt = U (1.0, 1.4);
  g_autofree char *apex_s = NULL;

  sc->pixel_nm = apex_nm / apex_px;
  look_default (sc, apex_px * 4);
  sc->look.cavity = 0.2;
  sc->look.charging = CHANCE (0.3) ? U (0.1, 0.3) : 0;
  _mva_synth_value_noise (wob, 2048, 1, 40, rough, &sc->rng);
  for (int y = 0; y < sc->h; y++)
    for (int x = 0; x < sc->w; x++)
      {
        gsize i = (gsize) y * sc->w + x;
        double dx = x - tipx, dy = y - tipy;
        double t = -(dx * ax + dy * ay);        /* distance back along the axis */
        double p = fabs (-dx * ay + dy * ax);   /* distance from the axis */
        double r, z;

        sc->height[i] = (float) (-40 * apex_px);
        sc->yield[i] = (float) ys;
        if (t < -apex_px)
          continue;
        /* spherical apex blending into the cone */
        if (t < apex_px * (1 - sin (half)))
          {
            double c = t - apex_px;
            r = sqrt (MAX (0.0, apex_px * apex_px - c * c));
          }
        else
          r = apex_px * cos (half) + (t - apex_px * (1 - sin (half))) * tanh_;
        r += wob[CLAMP ((int) t, 0, 2047)] * (t / (sc->h + 1.0)) * 3;
        if (p >= r)
          continue;
        if (g_str_equal (variant, "afm-pyramid"))
          z = (r - p) * 0.9;
        else
          z = sqrt (r * r - p * p);
        sc->height[i] = (float) z;
        sc->yield[i] = (float) yt;
        sc->charge[i] = 0.3f;
      }
  sc->look.shading = U (0.2, 0.5);
  sc->facts.size_name = "apex radius";
  sc->facts.size_mean_nm = apex_nm;
  sc->facts.size_std_nm = 0;
  f->count = 1;
  P_S ("variant", variant);
  P_D ("apex_radius_nm", apex_nm, 2);
  P_D ("cone_angle_deg", 2 * half * 180 / G_PI, 2);
  P_D ("axis_angle_deg", dir * 180 / G_PI, 1);
  P_D ("surface_roughness_px", rough, 2);

  apex_s = len_str (apex_nm);
  f->objects = g_str_equal (variant, "afm-pyramid") ? F ("a pyramidal probe tip")
             : g_str_equal (variant, "etched-wire") ? F ("an electrochemically etched wire tip")
             : F ("a sharp needle-shaped tip");
  f->shape = F ("A single %s tip tapers to a rounded apex; the full cone angle is about %.0f°.",
                g_str_equal (variant, "afm-pyramid") ? "faceted, pyramid-like" : "conical", 2 * half * 180 / G_PI);
  f->layers = F ("The tip is one solid body; no coatings, layers or separate phases can be seen.");
  f->size_extra = F ("The cone widens steadily from the apex, with a full opening angle of about %.0f°.", 2 * half * 180 / G_PI);
  f->spacing = F ("There is only one structure in the field: the tip, seen against an empty background.");
  f->aggregation = F ("Nothing is aggregated; the tip is isolated.");
  f->texture = rough > 0.8 ? F ("The flanks are slightly rough and wavy, as is typical of etching.")
             : F ("The flanks are smooth.");
  f->defects = F ("The apex is intact, with no visible blunting, break or contamination.");
  f->contrast = F ("The tip is bright against a dark, distant background, with brighter flanks; this is topographic contrast, with no element labels.");
  f->contacts = F ("The tip stands alone with sharp outlines against the background.");
  f->environment = F ("The tip is imaged in free space with nothing else in view; no sample surface is in contact with it.");
  f->function = F ("The apex is the functional region: its radius sets the resolution of the probe. The image is static.");
  f->application = g_str_equal (variant, "afm-pyramid") ? F ("A tip with an apex radius of about %s is used as an AFM probe.", apex_s)
                 : g_str_equal (variant, "etched-wire") ? F ("A tip with an apex radius of about %s is typical of STM probes or field emitters.", apex_s)
                 : F ("A tip with an apex radius of about %s is typical of atom-probe specimens, nano-manipulator needles or field emitters.", apex_s);
}

// --- MEMS ---------------------------------------------------------------------------

static void
recipe_mems (MvaSynthScene *sc)
{
  MvaSynthFacts *f = &sc->facts;
  static const char *variants[] = { "comb-drive", "electrodes", "membrane", "cantilevers" };
  const char *variant = PICK (variants);
  double s = scale_of (sc);
  double finger_um = LOGU (0.5, 10);
  double finger_px = U (8, 8 + 20 * s);
  double gap_px = finger_px * U (0.8, 2.0);
  double thick = finger_px * U (0.8, 2.0);
  double ys = U (0.55, 0.75), ym = U (1.1, 1.6);
  int fingers = 0;
  g_autofree char *fw = NULL, *gw = NULL;

  sc->pixel_nm = finger_um * 1000 / finger_px;
  look_default (sc, finger_px);
  sc->look.cavity = U (1.5, 3.0);
  sc->look.cavity_radius = finger_px * 1.5;
  _mva_synth_value_noise (sc->height, sc->w, sc->h, U (3, 10), U (0.1, 0.5), &sc->rng);
  for (gsize i = 0; i < (gsize) sc->w * sc->h; i++)
    {
      sc->height[i] -= (float) thick;
      sc->yield[i] = (float) ys;
    }
  if (g_str_equal (variant, "comb-drive") || g_str_equal (variant, "electrodes"))
    {
      gboolean comb = g_str_equal (variant, "comb-drive");
      double pitch = 2 * (finger_px + gap_px);
      double top = sc->h * U (0.08, 0.2), bot = sc->h * U (0.8, 0.92);
      double overlap = (bot - top) * U (0.3, 0.7);
      double flen = (bot - top - 0.0) - (bot - top - overlap) / 2;
      float y_el = (float) (comb ? ys * 1.2 : ym);

      _mva_synth_box (sc, sc->w / 2.0, top - 0.15 * sc->h, sc->w, 0.15 * sc->h + finger_px, 0,
                      -thick, thick, 2, y_el, 0);
      _mva_synth_box (sc, sc->w / 2.0, bot + 0.15 * sc->h, sc->w, 0.15 * sc->h + finger_px, 0,
                      -thick, thick, 2, y_el, 0);
      for (double x = U (0, pitch); x < sc->w + pitch; x += pitch)
        {
          _mva_synth_box (sc, x, top + flen / 2, finger_px / 2, flen / 2, 0, -thick, thick, 2,
                          y_el, 0);
          _mva_synth_box (sc, x + pitch / 2, bot - flen / 2, finger_px / 2, flen / 2, 0, -thick,
                          thick, 2, y_el, 0);
          fingers += 2;
        }
      if (!comb)
        {
          /* a bond pad with a ball bond on one bus */
          double px = sc->w * U (0.2, 0.8);
          _mva_synth_box (sc, px, top - 0.05 * sc->h, 0.08 * sc->w, 0.06 * sc->h, 0, 0, thick * 0.3, 3,
                          (float) (ym * 1.1), 0);
        }
    }
  else if (g_str_equal (variant, "membrane"))
    {
      double half = MIN (sc->w, sc->h) * U (0.3, 0.42);
      double hp = finger_px * U (2.5, 4.0);
      /* trench around a suspended plate perforated with etch holes */
      _mva_synth_box (sc, sc->w / 2.0, sc->h / 2.0, half, half, 0, -thick, thick, 2, (float) (ys * 1.15), 0.3f);
      for (double y = sc->h / 2.0 - half + hp / 2; y < sc->h / 2.0 + half - hp / 3; y += hp)
        for (double x = sc->w / 2.0 - half + hp / 2; x < sc->w / 2.0 + half - hp / 3; x += hp)
          {
            _mva_synth_hole (sc, x, y, finger_px / 2, finger_px / 2, 0, thick * 2, 1.0, NULL, (float) ys);
            fingers++;
          }
      /* anchors/springs at the corners */
      for (int k = 0; k < 4; k++)
        {
          double sx = k & 1 ? 1 : -1, sy = k & 2 ? 1 : -1;
          _mva_synth_box (sc, sc->w / 2.0 + sx * (half + finger_px * 3), sc->h / 2.0 + sy * (half + finger_px * 3),
                          finger_px * 2, finger_px * 2, 0, -thick, thick, 2, (float) ym, 0);
        }
    }
  else
    {
      double pitch = finger_px + gap_px * 2;
      double base_y = sc->h * U (0.05, 0.2);
      _mva_synth_box (sc, sc->w / 2.0, base_y / 2, sc->w, base_y / 2 + 2, 0, -thick, thick, 2, (float) ym, 0);
      for (double x = U (0, pitch); x < sc->w; x += pitch)
        {
          double L = sc->h * U (0.4, 0.8);
          _mva_synth_box (sc, x, base_y + L / 2, finger_px / 2, L / 2, 0, -thick * 0.5, thick * 0.6, 1.5,
                          (float) (ys * 1.3), 0.2f);
          fingers++;
        }
    }
  sc->facts.size_name = g_str_equal (variant, "membrane") ? "etch-hole diameter" :
                        g_str_equal (variant, "cantilevers") ? "beam width" : "finger width";
  sc->facts.size_mean_nm = finger_px * sc->pixel_nm;
  sc->facts.size_std_nm = 0;
  f->count = fingers;
  P_S ("variant", variant);
  P_D ("feature_width_um", finger_px * sc->pixel_nm / 1000, 3);
  P_D ("gap_um", gap_px * sc->pixel_nm / 1000, 3);
  P_D ("structure_height_um", thick * sc->pixel_nm / 1000, 3);
  P_I ("feature_count", fingers);

  fw = len_str (finger_px * sc->pixel_nm);
  gw = len_str (gap_px * sc->pixel_nm);
  f->objects = g_str_equal (variant, "comb-drive") ? F ("a MEMS comb drive")
             : g_str_equal (variant, "electrodes") ? F ("an interdigitated electrode device")
             : g_str_equal (variant, "membrane") ? F ("a perforated MEMS membrane")
             : F ("an array of MEMS cantilever beams");
  f->shape = g_str_equal (variant, "comb-drive") ? F ("Two comb-shaped structures face each other with interleaved rectangular fingers.")
           : g_str_equal (variant, "electrodes") ? F ("Two bus bars carry interleaved rectangular electrode fingers, with a bond pad on one bus.")
           : g_str_equal (variant, "membrane") ? F ("A square plate perforated by a regular grid of etch holes is suspended over a trench and held at its corners by anchors.")
           : F ("Parallel rectangular beams extend from a common anchor like the teeth of a comb.");
  f->layers = g_str_equal (variant, "electrodes") ? F ("Bright metal electrodes lie on a darker substrate, so two materials are visible.")
            : F ("The released structures sit above a darker etched floor.");
  f->size_extra = g_str_equal (variant, "membrane") ? F ("The etch holes repeat on a regular square grid.")
                : F ("The gaps between neighbouring fingers or beams are about %s wide.", gw);
  f->spacing = F ("The features repeat at a constant period, as drawn in the lithography layout.");
  f->aggregation = F ("There are no loose particles or aggregates; every feature is part of the device.");
  f->texture = F ("The top surfaces are smooth and the etched floor is slightly rough.");
  f->defects = F ("No broken fingers, stiction, residues or particles are visible.");
  f->contrast = g_str_equal (variant, "electrodes")
    ? F ("The electrodes are brighter than the substrate, consistent with a metal on an insulator; no labels name the elements.")
    : F ("Contrast is mainly topographic: raised structures and edges are bright and the etched floor is dark; no labels name the elements.");
  f->contacts = F ("The structures have sharp, straight, vertical edges and are separated by clean gaps.");
  f->environment = F ("The device sits on its substrate; no packaging, liquid or foreign particles are in view.");
  f->function = g_str_equal (variant, "comb-drive") ? F ("The interleaved fingers form the capacitive actuator or sensor. The image is static, so the device is not shown moving.")
              : g_str_equal (variant, "electrodes") ? F ("The finger gaps form the active sensing region, and the pad is the electrical contact. The image is static.")
              : g_str_equal (variant, "membrane") ? F ("The suspended plate is the moving or sensing element, and the holes let the etchant release it. The image is static.")
              : F ("The free beam ends are the functional regions that bend in use. The image is static.");
  f->application = F ("Such micro-fabricated structures are used in accelerometers, gyroscopes, pressure and gas sensors, microphones and actuators.");
}

// --- powder ---------------------------------------------------------------------------

static void
recipe_powder (MvaSynthScene *sc)
{
  MvaSynthFacts *f = &sc->facts;
  static const char *variants[] = { "agglomerates", "agglomerates", "angular" };
  const char *variant = PICK (variants);
  gboolean angular = g_str_equal (variant, "angular");
  double s = scale_of (sc);
  double prim_nm = LOGU (20, 3000);
  double prim_px = angular ? U (20, 20 + 60 * s) : U (4, 4 + 8 * s);
  int n_agg = angular ? 8 + _mva_synth_rng_int (&sc->rng, 30) : 3 + _mva_synth_rng_int (&sc->rng, 18);
  g_autofree double *sizes = g_new (double, n_agg);
  double ysub = U (0.35, 0.6), yp = U (0.9, 1.3);
  Stats st;
  g_autofree char *ps = NULL, *as = NULL;
  int n_prim = 0;

  sc->pixel_nm = prim_nm / prim_px;
  look_default (sc, prim_px * 3);
  sc->look.charging = CHANCE (0.4) ? U (0.1, 0.4) : 0;
  sc->look.streaks = CHANCE (0.25) ? U (0.05, 0.25) : 0;
  /* carbon tape: dark with a soft texture */
  _mva_synth_value_noise (sc->height, sc->w, sc->h, U (10, 40) * s, U (0.5, 2.0), &sc->rng);
  for (gsize i = 0; i < (gsize) sc->w * sc->h; i++)
    sc->yield[i] = (float) ysub;
  for (int a = 0; a < n_agg; a++)
    {
      double cx = U (0, sc->w), cy = U (0, sc->h);
      double R = angular ? prim_px * U (0.5, 1.5) : prim_px * U (4, 16);

      if (angular)
        {
          double px[9], py[9];
          int m = 5 + _mva_synth_rng_int (&sc->rng, 4);
          for (int k = 0; k < m; k++)
            {
              double ang = 2 * G_PI * (k + U (0.1, 0.7)) / m;
              double rr = R * U (0.6, 1.2);
              px[k] = cx + rr * cos (ang);
              py[k] = cy + rr * sin (ang);
            }
          _mva_synth_polygon (sc, px, py, m, 0, R * U (0.5, 1.0), U (0.5, 1.5), (float) yp, 0.5f);
          sizes[a] = 2 * R * sc->pixel_nm;
        }
      else
        {
          int lobes = 1 + _mva_synth_rng_int (&sc->rng, 4);
          int np = (int) (R * R / (prim_px * prim_px) * 2.5);
          double lx[5], ly[5], lr[5];
          np = CLAMP (np, 8, 800);
          for (int l = 0; l < lobes; l++)
            {
              lr[l] = l == 0 ? R * 0.75 : R * U (0.3, 0.6);
              lx[l] = l == 0 ? cx : cx + U (-0.6, 0.6) * R;
              ly[l] = l == 0 ? cy : cy + U (-0.6, 0.6) * R;
            }
          for (int k = 0; k < np; k++)
            {
              int l = _mva_synth_rng_int (&sc->rng, lobes);
              double rr = lr[l] * sqrt (U (0, 1)), ang = U (0, 2 * G_PI);
              double pr = prim_px / 2 * U (0.6, 1.4);
              double rough[4];
              double z = sqrt (MAX (0.0, lr[l] * lr[l] - rr * rr)) * 0.8;
              rough_coeffs (sc, 0.1, rough);
              _mva_synth_blob (sc, lx[l] + rr * cos (ang), ly[l] + rr * sin (ang), pr,
                               pr * U (0.7, 1.0), U (0, G_PI), z - pr, pr, 0.5, rough,
                               (float) yp, 0.5f);
            }
          n_prim += np;
          sizes[a] = 2 * R * sc->pixel_nm;
        }
    }
  st = stats_of (sizes, n_agg);
  set_size (sc, angular ? "grain size" : "agglomerate size", st);
  f->count = n_agg;
  P_S ("variant", variant);
  P_I ("agglomerate_count", n_agg);
  P_D ("agglomerate_size_mean_nm", st.mean, 2);
  P_D ("agglomerate_size_std_nm", st.std, 2);
  P_D ("primary_particle_nm", angular ? st.mean : prim_nm, 2);
  P_I ("primary_particles", n_prim);

  ps = len_str (prim_nm);
  as = len_str (st.mean);
  f->objects = angular ? F ("an angular, milled powder") : F ("a powder of irregular agglomerates");
  f->shape = angular ? F ("The powder grains are angular fragments with flat facets and sharp corners.")
           : F ("Irregular, roughly rounded agglomerates are built from many small primary particles.");
  f->layers = F ("The grains lie on a dark conductive tape; only one solid phase is visible.");
  f->size_extra = angular ? NULL : F ("The primary particles within the agglomerates are about %s across.", ps);
  f->spacing = F ("The %s are scattered randomly over the tape, some close together and some isolated.",
                  angular ? "grains" : "agglomerates");
  f->aggregation = angular ? F ("Most grains lie separately, with a few resting against each other.")
                 : F ("The primary particles are strongly aggregated into %d loose agglomerates.", n_agg);
  f->texture = angular ? F ("The facets are smooth, while the tape underneath is dark with a soft texture.")
             : F ("The agglomerates have a rough, knobbly surface made of the primary particles.");
  f->defects = F ("Voids between the primary particles make the agglomerates porous; there are no cracks or foreign inclusions.");
  if (angular)
    {
      g_clear_pointer (&f->defects, g_free);
      f->defects = F ("No pores or inclusions are visible on the grains; the broken edges are sharp.");
    }
  f->contrast = F ("The powder is brighter than the tape; there is no compositional contrast within the grains and no element labels.");
  f->contacts = angular ? F ("Grains touch only at a few points and keep sharp boundaries.")
              : F ("Within each agglomerate the primary particles touch and are partly sintered together, while the agglomerates themselves are separate.");
  f->environment = F ("The powder is dispersed on conductive carbon tape; no other objects are in view.");
  f->function = F ("The exposed surface area of the %s governs how the powder reacts, flows and sinters. The image is static.",
                   angular ? "grains" : "agglomerates");
  f->application = F ("A powder with %s %s is typical of feedstocks for ceramics, additive manufacturing, battery electrodes, pigments or pharmaceuticals.",
                      as, angular ? "grains" : "agglomerates");
}

// --- biological ------------------------------------------------------------------------

static void
recipe_biological (MvaSynthScene *sc)
{
  MvaSynthFacts *f = &sc->facts;
  static const char *variants[] = { "red-blood-cells", "bacteria-rods", "cocci", "pollen", "membrane-skeleton" };
  const char *variant = PICK (variants);
  double s = scale_of (sc);
  double ysub = U (0.4, 0.7), yc = U (0.9, 1.2);
  double size_nm, size_px;
  int n = 0;
  g_autofree double *sizes = NULL;
  Stats st = { 0 };
  g_autofree char *ss = NULL;

  look_default (sc, 10);
  sc->look.charging = CHANCE (0.4) ? U (0.1, 0.3) : 0;
  if (g_str_equal (variant, "membrane-skeleton"))
    {
      /* spectrin-actin meshwork: a thresholded band-pass texture */
      double cell_px = U (5, 5 + 8 * s);
      g_autofree float *t = g_new0 (float, (gsize) sc->w * sc->h);
      size_nm = LOGU (20, 60);
      sc->pixel_nm = size_nm / cell_px;
      _mva_synth_value_noise (t, sc->w, sc->h, cell_px, 1.0, &sc->rng);
      _mva_synth_value_noise (t, sc->w, sc->h, cell_px * 0.5, 0.4, &sc->rng);
      for (gsize i = 0; i < (gsize) sc->w * sc->h; i++)
        {
          double v = t[i];
          sc->height[i] = (float) (cell_px * 0.4 / (1 + exp (-6 * v)));
          sc->yield[i] = (float) ysub;
        }
      sc->look.edge *= 0.5;
      sc->look.blur *= 1.5;
      sc->facts.size_name = "mesh size";
      sc->facts.size_mean_nm = size_nm;
      sc->facts.size_std_nm = size_nm * 0.3;
      f->count = -1;
      P_S ("variant", variant);
      P_D ("mesh_size_nm", size_nm, 2);
      ss = len_str (size_nm);
      f->objects = F ("the membrane skeleton of a cell");
      f->shape = F ("A fine, interconnected meshwork of filaments covers the whole field, like the cytoskeleton under a cell membrane.");
      f->layers = F ("The mesh forms a single layer over a smooth background; no separate phases are visible.");
      f->spacing = F ("The filament junctions are spread evenly, with a characteristic spacing of about %s.", ss);
      f->aggregation = F ("There are no aggregates; the filaments form a continuous network.");
      f->texture = F ("The texture is a fine, mottled network with soft edges.");
      f->defects = F ("The meshwork has no large gaps, tears or foreign particles.");
      f->contrast = F ("Brightness varies only with the filament topography; the low contrast suggests a thin, light-element (organic) sample, and no labels name elements.");
      f->contacts = F ("The filaments join at many junctions, and the boundaries between filaments and holes are soft and slightly blurred.");
      f->environment = F ("Only the meshwork is in view; no cells, debris or substrate edge appear.");
      f->function = F ("The network is the mechanical scaffold that gives the cell membrane its shape and elasticity. The image is static.");
      f->application = F ("Images like this are used in cell biology and medicine, for example to study how parasites remodel red blood cells.");
      return;
    }
  if (g_str_equal (variant, "red-blood-cells"))
    {
      size_nm = U (6500, 8500);
      size_px = U (40, 40 + 80 * s);
    }
  else if (g_str_equal (variant, "bacteria-rods"))
    {
      size_nm = U (1500, 4000);
      size_px = U (30, 30 + 60 * s);
    }
  else if (g_str_equal (variant, "cocci"))
    {
      size_nm = U (600, 1200);
      size_px = U (14, 14 + 24 * s);
    }
  else
    {
      size_nm = U (15000, 60000);
      size_px = U (80, 80 + 160 * s);
    }
  sc->pixel_nm = size_nm / size_px;
  sc->look.cavity_radius = size_px * 0.8;
  _mva_synth_value_noise (sc->height, sc->w, sc->h, U (5, 20), U (0.2, 1.0), &sc->rng);
  for (gsize i = 0; i < (gsize) sc->w * sc->h; i++)
    sc->yield[i] = (float) ysub;
  {
    int target = g_str_equal (variant, "pollen") ? 1 + _mva_synth_rng_int (&sc->rng, 4)
               : (int) (U (0.1, 0.4) * sc->w * sc->h / (size_px * size_px * 0.6));
    double cxs[8], cys[8];
    int ncl = 1 + _mva_synth_rng_int (&sc->rng, 6);

    target = CLAMP (target, 1, 400);
    sizes = g_new (double, target);
    for (int k = 0; k < ncl; k++)
      {
        cxs[k] = U (0, sc->w);
        cys[k] = U (0, sc->h);
      }
    for (int i = 0; i < target; i++)
      {
        double d = size_px * spread (sc, 0.1, 0.6, 1.5);
        double x, y;
        int k = _mva_synth_rng_int (&sc->rng, ncl);

        if (g_str_equal (variant, "cocci") || g_str_equal (variant, "bacteria-rods"))
          {
            x = cxs[k] + NORMAL () * size_px * sqrt (target / (double) ncl) * 0.5;
            y = cys[k] + NORMAL () * size_px * sqrt (target / (double) ncl) * 0.5;
          }
        else
          {
            x = U (0, sc->w);
            y = U (0, sc->h);
          }
        if (g_str_equal (variant, "red-blood-cells"))
          {
            /* biconcave disc: rim torus higher than the dimpled centre */
            double r = d / 2;
            int x0 = MAX (0, (int) (x - r - 1)), x1 = MIN (sc->w - 1, (int) (x + r + 1));
            int y0 = MAX (0, (int) (y - r - 1)), y1 = MIN (sc->h - 1, (int) (y + r + 1));
            double z0 = i * 0.3;
            for (int yy = y0; yy <= y1; yy++)
              for (int xx = x0; xx <= x1; xx++)
                {
                  double q = ((xx - x) * (xx - x) + (yy - y) * (yy - y)) / (r * r);
                  gsize ii = (gsize) yy * sc->w + xx;
                  double z;
                  if (q >= 1)
                    continue;
                  z = z0 + r * 0.35 * sqrt (1 - q) * (0.45 + 1.6 * q);
                  if (z > sc->height[ii])
                    {
                      sc->height[ii] = (float) z;
                      sc->yield[ii] = (float) yc;
                      sc->charge[ii] = 0.5f;
                    }
                }
          }
        else if (g_str_equal (variant, "bacteria-rods"))
          {
            double th = U (0, G_PI), r = d * U (0.12, 0.2);
            _mva_synth_capsule (sc, x - (d / 2 - r) * cos (th), y - (d / 2 - r) * sin (th),
                                x + (d / 2 - r) * cos (th), y + (d / 2 - r) * sin (th), r,
                                i * 0.2, i * 0.2, 0.9, (float) yc, 0.5f);
          }
        else if (g_str_equal (variant, "cocci"))
          _mva_synth_blob (sc, x, y, d / 2, d / 2 * U (0.85, 1.0), U (0, G_PI), i * 0.2, d * 0.45,
                           0.5, NULL, (float) yc, 0.5f);
        else
          {
            /* pollen: sphere with spines */
            int ns = 40 + _mva_synth_rng_int (&sc->rng, 60);
            _mva_synth_blob (sc, x, y, d / 2, d / 2, 0, 0, d * 0.45, 0.5, NULL, (float) yc, 0.5f);
            for (int k2 = 0; k2 < ns; k2++)
              {
                double a = U (0, 2 * G_PI), rr = d / 2 * sqrt (U (0, 1));
                double zz = sqrt (MAX (0.0, d * d / 4 - rr * rr)) * 0.9;
                _mva_synth_blob (sc, x + rr * cos (a), y + rr * sin (a), d * 0.03, d * 0.03, 0,
                                 zz, d * 0.05, 0.5, NULL, (float) (yc * 1.1), 0.5f);
              }
          }
        sizes[n++] = d * sc->pixel_nm;
      }
  }
  st = stats_of (sizes, n);
  f->count = n;
  set_size (sc, g_str_equal (variant, "bacteria-rods") ? "cell length" :
                g_str_equal (variant, "pollen") ? "grain diameter" : "cell diameter", st);
  P_S ("variant", variant);
  P_I ("count", n);
  P_D ("size_mean_nm", st.mean, 2);
  P_D ("size_std_nm", st.std, 2);
  ss = len_str (st.mean);
  f->objects = g_str_equal (variant, "red-blood-cells") ? F ("red blood cells")
             : g_str_equal (variant, "bacteria-rods") ? F ("rod-shaped bacteria")
             : g_str_equal (variant, "cocci") ? F ("spherical bacteria (cocci)")
             : F ("spiny pollen grains");
  f->shape = g_str_equal (variant, "red-blood-cells") ? F ("The cells are round, biconcave discs with a thick rim and a dimpled centre.")
           : g_str_equal (variant, "bacteria-rods") ? F ("The cells are smooth rods with rounded ends.")
           : g_str_equal (variant, "cocci") ? F ("The cells are small spheres, some slightly flattened.")
           : F ("The grains are spheres covered with short spines.");
  f->layers = F ("The cells lie on a flat substrate; no internal structures or separate phases are visible from outside.");
  f->spacing = g_str_equal (variant, "pollen") || g_str_equal (variant, "red-blood-cells")
    ? F ("They are scattered randomly across the substrate.")
    : F ("They gather in %s colonies with bare substrate in between.", n > 20 ? "several" : "a few");
  f->aggregation = g_str_equal (variant, "cocci") || g_str_equal (variant, "bacteria-rods")
    ? F ("Within colonies the cells pile up and touch, typical of bacterial clusters.")
    : F ("Most lie separately, though some overlap.");
  f->texture = g_str_equal (variant, "pollen") ? F ("The surface is spiny (echinate) over a smooth body.")
             : F ("The cell surfaces are smooth.");
  f->defects = F ("No ruptured cells or foreign particles are visible.");
  f->contrast = F ("The cells are slightly brighter than the substrate, mainly through edge emission; the low overall contrast is typical of light-element biological material, and no labels name elements.");
  f->contacts = F ("Where cells touch they remain separate bodies with sharp outlines.");
  f->environment = F ("The cells have been dried onto a flat substrate; no liquid, polymer or other objects are in view.");
  f->function = F ("The cell surfaces are the regions of interest (adhesion, membrane shape, infection). The image is a static view of fixed cells, not a live process.");
  f->application = F ("Images like this are used in microbiology, haematology and palynology, for example to assess cell shape and count.");
}

// --- dispatcher -------------------------------------------------------------------------

void
_mva_synth_recipe_build (MvaSynthScene *sc)
{
  sc->facts.count = -1;
  switch (sc->category)
    {
    case MVA_SYNTH_BIOLOGICAL: recipe_biological (sc); break;
    case MVA_SYNTH_FIBRES:     recipe_fibres (sc); break;
    case MVA_SYNTH_FILMS:      recipe_films (sc); break;
    case MVA_SYNTH_MEMS:       recipe_mems (sc); break;
    case MVA_SYNTH_NANOWIRES:  recipe_nanowires (sc); break;
    case MVA_SYNTH_PARTICLES:  recipe_particles (sc); break;
    case MVA_SYNTH_PATTERNED:  recipe_patterned (sc); break;
    case MVA_SYNTH_POROUS:     recipe_porous (sc); break;
    case MVA_SYNTH_POWDER:     recipe_powder (sc); break;
    case MVA_SYNTH_TIPS:       recipe_tips (sc); break;
    case MVA_SYNTH_N_CATEGORIES:
    default:
      g_assert_not_reached ();
    }
}
