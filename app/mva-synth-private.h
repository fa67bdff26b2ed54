/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-synth-private.h: internals shared by the mva-synth-*.c files.
 *
 * A scene is what a recipe builds: a height map (in pixel units), a material
 * yield map, an insulator mask for charging, the "look" of the microscope
 * (detector, blur, noise, brightness) and the facts the Q/A writer may state.
 * Recipes draw every random number from the scene's RNG, so the scene is a
 * pure function of (seed, category, index).
 */
#pragma once

#include <math.h>
#include <stdint.h>

#include "mva-synth.h"

G_BEGIN_DECLS

// --- RNG: xoshiro256** seeded by splitmix64 ---------------------------------

typedef struct
{
  uint64_t s[4];
} MvaSynthRng;

void     _mva_synth_rng_seed    (MvaSynthRng *rng,
                                 uint64_t     a,
                                 uint64_t     b,
                                 uint64_t     c);

static inline uint64_t
_mva_synth_rotl (uint64_t x, int k)
{
  return (x << k) | (x >> (64 - k));
}

static inline uint64_t
_mva_synth_rng_u64 (MvaSynthRng *r)
{
  uint64_t result = _mva_synth_rotl (r->s[1] * 5, 7) * 9;
  uint64_t t = r->s[1] << 17;

  r->s[2] ^= r->s[0];
  r->s[3] ^= r->s[1];
  r->s[1] ^= r->s[2];
  r->s[0] ^= r->s[3];
  r->s[2] ^= t;
  r->s[3] = _mva_synth_rotl (r->s[3], 45);
  return result;
}

/* uniform in [0, 1) */
static inline double
_mva_synth_rng_uniform (MvaSynthRng *r)
{
  return (double) (_mva_synth_rng_u64 (r) >> 11) * (1.0 / 9007199254740992.0);
}

static inline double
_mva_synth_rng_range (MvaSynthRng *r, double lo, double hi)
{
  return lo + (hi - lo) * _mva_synth_rng_uniform (r);
}

/* uniform integer in [0, n) */
static inline int
_mva_synth_rng_int (MvaSynthRng *r, int n)
{
  return n <= 1 ? 0 : (int) (_mva_synth_rng_uniform (r) * n);
}

static inline gboolean
_mva_synth_rng_bool (MvaSynthRng *r, double p)
{
  return _mva_synth_rng_uniform (r) < p;
}

double   _mva_synth_rng_normal  (MvaSynthRng *r);
/* log-uniform in [lo, hi] */
double   _mva_synth_rng_logrange (MvaSynthRng *r, double lo, double hi);

#define _mva_synth_pick(rng, array) ((array)[_mva_synth_rng_int ((rng), G_N_ELEMENTS (array))])

// --- facts the Q/A writer may state ------------------------------------------

typedef struct
{
  /* family 1/2 */
  char   *objects;      /* plural noun phrase: "near-spherical nanoparticles" */
  char   *shape;        /* sentence: overall shape and structure */
  char   *layers;       /* sentence on visible layers/phases/domains, or NULL */
  /* family 3: the main size; size_name e.g. "particle diameter" */
  const char *size_name;
  double  size_mean_nm;
  double  size_std_nm;
  double  size_min_nm;
  double  size_max_nm;
  char   *size_extra;   /* sentence with a second size (length, pitch...), or NULL */
  int     count;        /* objects fully or partly in view; -1 if not countable */
  char   *spacing;      /* sentence on spacing/arrangement */
  char   *aggregation;  /* sentence on aggregation/bundling */
  /* family 4 */
  char   *texture;      /* sentence on texture */
  char   *defects;      /* sentence on defects/pores/impurities */
  /* family 5 */
  char   *contrast;     /* sentence on brightness differences */
  /* family 6 */
  char   *contacts;     /* sentence on touching/fused/separate */
  /* family 7 */
  char   *environment;  /* sentence on substrate/surroundings */
  int     debris;       /* foreign specks rendered */
  /* family 9 */
  char   *function;     /* sentence on functional regions */
  /* family 10 */
  char   *application;  /* sentence on likely use */
} MvaSynthFacts;

// --- microscope look -----------------------------------------------------------

typedef struct
{
  double edge;          /* edge brightening strength */
  double slope;         /* slope-dependent yield strength */
  double shading;       /* directional (detector-side) shading */
  double azimuth;       /* detector direction, radians */
  double cavity;        /* darkening of recessed areas */
  double cavity_radius; /* px */
  double charging;      /* halo strength around insulators (0 = none) */
  double streaks;       /* horizontal charging streaks */
  double blur;          /* probe blur sigma, px */
  double shot;          /* shot noise gain */
  double read;          /* detector noise sigma (0..1 signal units) */
  double jitter;        /* scan-line jitter, px */
  double brightness;    /* output offset, 0..1 */
  double contrast;      /* output gain */
  double gamma;
  double vignette;      /* slow brightness gradient */
  double hv_kv;
  double wd_mm;
  const char *detector; /* "ETD", "TLD", "CBS" */
  const char *mode;     /* "SE", "BSE" */
  double tilt_deg;
  double dwell_us;
  double current_pa;
  double spot;
  double pressure_pa;
} MvaSynthLook;

typedef struct
{
  MvaSynthCategory category;
  guint        index;
  int          w, h;
  float       *height;   /* h*w, height in pixels */
  float       *yield;    /* h*w, material yield (1 = substrate) */
  float       *charge;   /* h*w, insulating material 0..1 */
  MvaSynthRng  rng;
  double       pixel_nm;
  MvaSynthLook look;
  MvaSynthFacts facts;
  JsonBuilder *params;   /* open object: recipes add their members */
  gboolean     charged;  /* charging artefacts actually visible */
} MvaSynthScene;

// --- height-map primitives (mva-synth-recipes.c) -------------------------------

void  _mva_synth_scene_init     (MvaSynthScene *sc,
                                 MvaSynthCategory category,
                                 guint          index,
                                 int            w,
                                 int            h,
                                 guint64        seed);
void  _mva_synth_scene_clear    (MvaSynthScene *sc);
void  _mva_synth_facts_clear    (MvaSynthFacts *f);
void  _mva_synth_param_double   (MvaSynthScene *sc, const char *key, double v, int decimals);
void  _mva_synth_param_int      (MvaSynthScene *sc, const char *key, gint64 v);
void  _mva_synth_param_string   (MvaSynthScene *sc, const char *key, const char *v);
void  _mva_synth_param_bool     (MvaSynthScene *sc, const char *key, gboolean v);

/* Add value noise (cell px, amplitude amp) to dst. */
void  _mva_synth_value_noise    (float *dst, int w, int h, double cell, double amp,
                                 MvaSynthRng *rng);
void  _mva_synth_blob           (MvaSynthScene *sc, double cx, double cy, double a, double b,
                                 double angle, double base, double hz, double pw,
                                 const double *rough, float yv, float cv);
void  _mva_synth_capsule        (MvaSynthScene *sc, double x0, double y0, double x1, double y1,
                                 double r, double base0, double base1, double hz,
                                 float yv, float cv);
void  _mva_synth_box            (MvaSynthScene *sc, double cx, double cy, double hw, double hh,
                                 double angle, double base, double hz, double rim,
                                 float yv, float cv);
void  _mva_synth_hole           (MvaSynthScene *sc, double cx, double cy, double a, double b,
                                 double angle, double depth, double wall, const double *rough,
                                 float yv);
void  _mva_synth_polygon        (MvaSynthScene *sc, const double *px, const double *py, int n,
                                 double base, double hz, double slope, float yv, float cv);
void  _mva_synth_voronoi        (int w, int h, double cell, double jitter, MvaSynthRng *rng,
                                 int *id, float *gap, int *n_cells);
int   _mva_synth_walk           (MvaSynthScene *sc, double x, double y, double theta,
                                 double step, double curvature, int n, double *xs, double *ys);

/* Build the category's height map, look, facts and params. */
void  _mva_synth_recipe_build   (MvaSynthScene *sc);

// --- rendering (mva-synth-render.c) ------------------------------------------

/* Render sc into out (w*h gray). */
void  _mva_synth_render         (MvaSynthScene *sc,
                                 guint8        *out);
/* Separable box blur approximating a Gaussian of sigma (3 passes), in place. */
void  _mva_synth_blur           (float  *data,
                                 int     w,
                                 int     h,
                                 double  sigma,
                                 float  *tmp);

// --- data bar and FEI metadata (mva-synth-tiff.c) -------------------------------

typedef struct
{
  double pixel_nm;
  int    width;
  int    height;       /* image rows, without the bar */
  const MvaSynthLook *look;
  const char *label;
} MvaSynthInstrument;

int   _mva_synth_databar_height (int width);
void  _mva_synth_databar_draw   (guint8                  *pixels,
                                 int                      width,
                                 int                      bar_y,
                                 int                      bar_h,
                                 const MvaSynthInstrument *ins);
char *_mva_synth_fei_text       (const MvaSynthInstrument *ins,
                                 int                      databar_h);
gboolean _mva_synth_tiff_write  (const char   *path,
                                 const guint8 *pixels,
                                 int           width,
                                 int           height,
                                 const char   *fei_text,
                                 double        pixel_nm,
                                 GError      **error);
/* Magnification on FEI's 127 mm (5 in) Polaroid reference width. */
double _mva_synth_magnification (double pixel_nm,
                                 int    width);
/* "250 nm", "1.5 µm": a length with a sensible unit */
char  *_mva_synth_format_length (double nm);

// --- questions and answers (mva-synth-qa.c) ----------------------------------

typedef struct
{
  int   family;
  char *question;
  char *answer;
  char *caption;  /* NULL if none */
} MvaSynthQa;

/* Fill qa[0..9] for families 1..10. */
void  _mva_synth_qa_write       (MvaSynthScene *sc,
                                 gboolean       databar,
                                 double         caption_prob,
                                 MvaSynthQa    *qa);
const char *_mva_synth_category_phrase (MvaSynthCategory category);

G_END_DECLS
