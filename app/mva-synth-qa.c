/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-synth-qa.c: one question per family (DESIGN.md's ten families) and an
 * answer computed from the facts the recipe recorded.
 *
 * Questions come from a pool of paraphrases per family; answers from several
 * templates per family, filled with the recipe's sentences and numbers, and
 * kept to one to three sentences. Answers only restate what the recipe drew,
 * so they are true by construction and never mention what is not rendered.
 */
#define G_LOG_DOMAIN "mva-synth"
#include "config.h"

#include <string.h>

#include "mva-synth-private.h"

#define PICK(arr) _mva_synth_pick (&sc->rng, arr)
#define CHANCE(p) _mva_synth_rng_bool (&sc->rng, (p))

static const char *const q_basics[] = {
  "What type of nanomaterial is shown, and what is the scale of the image?",
  "Which kind of nanomaterial does this micrograph show, and how large is one pixel?",
  "Identify the material category and give the image scale.",
  "What is this a micrograph of, and what is the field of view?",
  "Classify the nanomaterial in this image and state the length per pixel.",
  "What sort of sample is this, and how much real length does the image cover?",
};
static const char *const q_morph[] = {
  "Describe the overall shape and structure of the material.",
  "What is the morphology of the structures, and are there visible layers, phases or domains?",
  "How would you describe the shape of the features, and how uniform are they?",
  "What shapes do the structures have, and do they look uniform in size and shape?",
  "Summarise the morphology: overall form, any layers or domains, and uniformity.",
};
static const char *const q_size[] = {
  "What is the size of the structures, and how are they distributed?",
  "How large are the features, and are they evenly spaced, clustered or random?",
  "Estimate the size range of the structures and describe their spacing.",
  "What sizes are present, and is there any aggregation or bundling?",
  "Give the typical dimensions and the spatial distribution of the features.",
};
static const char *const q_surface[] = {
  "Describe the surface texture. Are there defects, pores or impurities?",
  "Is the surface smooth, rough or patterned, and are any defects visible?",
  "What does the surface look like, and can you see pores, cracks or contaminants?",
  "Characterise the surface: texture and any visible defects.",
  "How rough is the surface, and does it show defects or impurities?",
};
static const char *const q_comp[] = {
  "Do brightness or contrast differences hint at different compositions?",
  "Is there any contrast that suggests different elements or phases, or any labels naming elements?",
  "What can the grey-level contrast tell us about the composition?",
  "Are there markers or labels naming elements, and does the contrast vary with composition?",
  "Does the image show compositional contrast?",
};
static const char *const q_bound[] = {
  "Are the structures touching, fused or separate, and how sharp are their boundaries?",
  "Describe the interfaces and boundaries between the structures.",
  "Do the features touch or merge, and are the boundaries sharp or blurred?",
  "How do neighbouring structures interact at their boundaries?",
  "Are there fused regions or clear gaps between the features?",
};
static const char *const q_env[] = {
  "Is there any sign of interaction with the surroundings, such as a substrate, solvent or polymer?",
  "What is the environment of the material, and are there non-nanomaterial objects in view?",
  "Describe the substrate or surroundings and anything foreign in the image.",
  "Are any objects other than the nanomaterial visible?",
  "What surrounds the material in this image?",
};
static const char *const q_tech[] = {
  "Which imaging technique was used, and has the image been post-processed?",
  "Is this SEM, TEM or something else, and is there false colour or 3D rendering?",
  "How was this image acquired, and has it been modified?",
  "What microscope and detector produced this image?",
  "Identify the imaging technique and any post-processing.",
};
static const char *const q_func[] = {
  "Which regions might have a distinct function or property, and is this a static image or a dynamic process?",
  "What functional features can you identify?",
  "Are there regions with special properties, and does the image capture a process in motion?",
  "Which parts of the structure are likely functionally important?",
  "Does the image show any functional regions or a dynamic process?",
};
static const char *const q_app[] = {
  "What is this material likely used for, and is it an experimental sample or a simulation?",
  "Suggest possible applications of this material.",
  "In what context or application would this material be studied?",
  "What could this nanomaterial be used for?",
  "Is this a real sample or a rendering, and what is it likely for?",
};

static const char *const *questions[MVA_SYNTH_N_FAMILIES] = {
  q_basics, q_morph, q_size, q_surface, q_comp, q_bound, q_env, q_tech, q_func, q_app,
};
static const int n_questions[MVA_SYNTH_N_FAMILIES] = {
  G_N_ELEMENTS (q_basics), G_N_ELEMENTS (q_morph), G_N_ELEMENTS (q_size),
  G_N_ELEMENTS (q_surface), G_N_ELEMENTS (q_comp), G_N_ELEMENTS (q_bound),
  G_N_ELEMENTS (q_env), G_N_ELEMENTS (q_tech), G_N_ELEMENTS (q_func), G_N_ELEMENTS (q_app),
};

const char *
_mva_synth_category_phrase (MvaSynthCategory category)
{
  static const char *const phrases[MVA_SYNTH_N_CATEGORIES] = {
    "biological material", "fibres", "a film or coated surface", "a MEMS device",
    "nanowires", "particles", "a patterned surface", "a porous sponge-like material",
    "a powder", "a sharp tip",
  };

  return phrases[category];
}

/* "45 ± 6 nm", "1.25 ± 0.21 µm" */
static char *
fmt_pm (double mean, double sd)
{
  if (mean >= 1000.0)
    {
      int dec = mean >= 10000 ? 1 : 2;
      return g_strdup_printf ("%.*f ± %.*f µm", dec, mean / 1000, dec, sd / 1000);
    }
  if (mean >= 10.0)
    return g_strdup_printf ("%.0f ± %.0f nm", mean, sd);
  return g_strdup_printf ("%.1f ± %.1f nm", mean, sd);
}

static char *
upper_first (const char *s)
{
  char *r = g_strdup (s);

  if (r[0] >= 'a' && r[0] <= 'z')
    r[0] = (char) (r[0] - 'a' + 'A');
  return r;
}

/* Join non-NULL sentences with spaces. */
static char *
join (const char *a, const char *b, const char *c)
{
  GString *s = g_string_new (a ? a : "");

  if (b && *b)
    {
      if (s->len)
        g_string_append_c (s, ' ');
      g_string_append (s, b);
    }
  if (c && *c)
    {
      if (s->len)
        g_string_append_c (s, ' ');
      g_string_append (s, c);
    }
  return g_string_free (s, FALSE);
}

static char *
answer_basics (MvaSynthScene *sc, gboolean databar)
{
  const char *cat = mva_synth_category_name (sc->category);
  g_autofree char *px = _mva_synth_format_length (sc->pixel_nm);
  g_autofree char *fw = _mva_synth_format_length (sc->pixel_nm * sc->w);
  g_autofree char *fh = _mva_synth_format_length (sc->pixel_nm * sc->h);
  double mag = _mva_synth_magnification (sc->pixel_nm, sc->w);

  switch (_mva_synth_rng_int (&sc->rng, 5))
    {
    case 0:
      return g_strdup_printf ("This is an SEM image of %s, so it belongs to the %s category. Each pixel covers %s, giving a field of view %s wide.",
                              sc->facts.objects, cat, px, fw);
    case 1:
      return g_strdup_printf ("The image shows %s (category: %s). The scale is %s per pixel, and the frame spans %s × %s.",
                              sc->facts.objects, cat, px, fw, fh);
    case 2:
      return g_strdup_printf ("Shown here: %s, which places the sample in the %s category. The horizontal field width is %s, or %s per pixel.",
                              sc->facts.objects, cat, fw, px);
    case 3:
      if (databar)
        return g_strdup_printf ("It is a %s sample: %s. The data bar gives a magnification of about %.0f×, which corresponds to %s per pixel and a %s field width.",
                                cat, sc->facts.objects, mag, px, fw);
      return g_strdup_printf ("It is a %s sample: %s. One pixel corresponds to %s, so the image is %s wide.",
                              cat, sc->facts.objects, px, fw);
    default:
      return g_strdup_printf ("Category: %s. The micrograph shows %s at a pixel size of %s (field of view %s × %s).",
                              cat, sc->facts.objects, px, fw, fh);
    }
}

static char *
answer_morph (MvaSynthScene *sc)
{
  MvaSynthFacts *f = &sc->facts;
  g_autofree char *unif = NULL;

  if (f->size_std_nm > 0 && f->size_mean_nm > 0 && f->count != 1)
    {
      double cv = f->size_std_nm / f->size_mean_nm;
      const char *w = cv < 0.08 ? "highly uniform" : cv < 0.16 ? "fairly uniform" :
                      cv < 0.26 ? "moderately varied" : "broadly distributed";
      int k = _mva_synth_rng_int (&sc->rng, 3);
      if (cv < 0.02)
        unif = g_strdup_printf ("All of them have the same %s within the resolution of the image.", f->size_name);
      else if (k == 0)
        unif = g_strdup_printf ("Sizes are %s, with a spread of about %.0f%% around the mean.", w, 100 * cv);
      else if (k == 1)
        {
          g_autofree char *n = upper_first (f->size_name);
          unif = g_strdup_printf ("%s is %s (relative spread about %.0f%%).", n, w, 100 * cv);
        }
      else
        unif = g_strdup_printf ("In size they are %s; the %s varies by roughly %.0f%%.", w, f->size_name, 100 * cv);
    }
  switch (_mva_synth_rng_int (&sc->rng, 3))
    {
    case 0:
      return join (f->shape, f->layers, unif);
    case 1:
      return join (f->shape, unif ? unif : f->layers, NULL);
    default:
      {
        g_autofree char *lead = g_strdup_printf ("Overall the image shows %s.", f->objects);
        return join (lead, f->shape, unif ? unif : f->layers);
      }
    }
}

static char *
answer_size (MvaSynthScene *sc)
{
  MvaSynthFacts *f = &sc->facts;
  g_autofree char *first = NULL, *n = upper_first (f->size_name);
  const char *third = CHANCE (0.5) ? f->spacing : f->aggregation;
  g_autofree char *count = NULL;

  if (f->size_std_nm > 0 && f->size_max_nm > 0)
    {
      g_autofree char *pm = fmt_pm (f->size_mean_nm, f->size_std_nm);
      g_autofree char *lo = _mva_synth_format_length (f->size_min_nm);
      g_autofree char *hi = _mva_synth_format_length (f->size_max_nm);
      switch (_mva_synth_rng_int (&sc->rng, 3))
        {
        case 0:
          first = g_strdup_printf ("The %s is %s, ranging from about %s to %s.", f->size_name, pm, lo, hi);
          break;
        case 1:
          first = g_strdup_printf ("%s: %s on average (range %s to %s).", n, pm, lo, hi);
          break;
        default:
          first = g_strdup_printf ("The %s span about %s to %s in %s, with a mean and spread of %s.",
                                   f->objects, lo, hi, f->size_name, pm);
          break;
        }
    }
  else
    {
      g_autofree char *m = _mva_synth_format_length (f->size_mean_nm);
      if (CHANCE (0.5))
        first = g_strdup_printf ("The %s is about %s.", f->size_name, m);
      else
        first = g_strdup_printf ("%s: roughly %s.", n, m);
    }
  if (f->count > 1 && CHANCE (0.5))
    count = g_strdup_printf ("About %d of them are in view.", f->count);
  return join (first, f->size_extra ? f->size_extra : count, third);
}

static char *
answer_surface (MvaSynthScene *sc)
{
  MvaSynthFacts *f = &sc->facts;

  return CHANCE (0.5) ? join (f->texture, f->defects, NULL) : join (f->defects, f->texture, NULL);
}

static char *
answer_comp (MvaSynthScene *sc)
{
  static const char *const leads[] = {
    NULL, "In short: ", "From the grey levels: ", NULL,
  };
  const char *lead = PICK (leads);

  if (lead != NULL)
    {
      g_autofree char *lower = g_strdup (sc->facts.contrast);
      if (lower[0] >= 'A' && lower[0] <= 'Z' && !(lower[1] >= 'A' && lower[1] <= 'Z'))
        lower[0] = (char) (lower[0] - 'A' + 'a');
      return g_strconcat (lead, lower, NULL);
    }
  return g_strdup (sc->facts.contrast);
}

static char *
answer_bound (MvaSynthScene *sc)
{
  const char *extra = NULL;

  if (sc->look.blur > 1.4 * MAX (0.6, sc->w / 1024.0))
    extra = "Edges look slightly soft because of the probe size at this magnification.";
  else if (CHANCE (0.4))
    extra = "The boundaries are crisp at this magnification.";
  return join (sc->facts.contacts, extra, NULL);
}

static char *
answer_env (MvaSynthScene *sc)
{
  const char *extra = NULL;

  if (sc->charged)
    extra = "Slight charging halos show that parts of the sample are poorly conducting.";
  return join (sc->facts.environment, extra, NULL);
}

static char *
answer_tech (MvaSynthScene *sc, gboolean databar)
{
  const MvaSynthLook *lk = &sc->look;
  const char *sig = lk->mode[0] == 'B' ? "backscattered-electron" : "secondary-electron";
  g_autofree char *first = NULL;
  g_autofree char *second = NULL;
  const char *third = NULL;

  switch (_mva_synth_rng_int (&sc->rng, 3))
    {
    case 0:
      first = g_strdup_printf ("This is a scanning electron microscope (SEM) %s image taken with the %s detector at %g kV.",
                               sig, lk->detector, lk->hv_kv);
      break;
    case 1:
      first = g_strdup_printf ("It is an SEM image (%s detector, %s signal, %g kV accelerating voltage).",
                               lk->detector, lk->mode, lk->hv_kv);
      break;
    default:
      first = g_strdup_printf ("The image was recorded by SEM in %s mode with the %s detector at %g kV and a working distance of %.1f mm.",
                               lk->mode, lk->detector, lk->hv_kv, lk->wd_mm);
      break;
    }
  if (lk->tilt_deg > 0)
    second = g_strdup_printf ("The stage is tilted by %.0f°, and the image is plain grayscale with no false colour or 3D rendering.",
                              lk->tilt_deg);
  else
    second = g_strdup (CHANCE (0.5) ? "It is plain grayscale, with no false colour, 3D rendering or other post-processing."
                                    : "The image is an unprocessed grayscale frame: no false colour or 3D rendering.");
  if (databar)
    third = "The instrument data bar at the bottom lists HV, detector, WD, magnification and the scale bar.";
  else if (lk->jitter > 0.3)
    third = "Faint scan-line jitter and detector noise are visible, as in a raw frame.";
  return join (first, second, third);
}

static char *
answer_func (MvaSynthScene *sc)
{
  static const char *const extra[] = {
    NULL, NULL,
    "Nothing in the frame points to an in-situ experiment or motion blur from a moving sample.",
    "It is a single frame, so no change over time can be read from it.",
  };

  return join (sc->facts.function, PICK (extra), NULL);
}

static char *
answer_app (MvaSynthScene *sc)
{
  static const char *const real[] = {
    "It looks like an experimental micrograph of a real sample rather than a simulation: it shows detector noise, probe blur and edge contrast.",
    "Its noise, edge brightening and blur are those of a real SEM frame, so it reads as an experimental sample, not a rendering.",
    "The image has the noise and contrast of an actual SEM acquisition rather than a computer rendering.",
  };

  return join (sc->facts.application, CHANCE (0.7) ? PICK (real) : NULL, NULL);
}

void
_mva_synth_qa_write (MvaSynthScene *sc,
                     gboolean       databar,
                     double         caption_prob,
                     MvaSynthQa    *qa)
{
  for (int fam = 1; fam <= MVA_SYNTH_N_FAMILIES; fam++)
    {
      MvaSynthQa *q = &qa[fam - 1];
      const char *question = questions[fam - 1][_mva_synth_rng_int (&sc->rng, n_questions[fam - 1])];

      q->family = fam;
      q->caption = NULL;
      if (_mva_synth_rng_uniform (&sc->rng) < caption_prob)
        q->caption = g_strdup_printf ("This SEM image shows %s.", _mva_synth_category_phrase (sc->category));
      q->question = q->caption ? g_strconcat (q->caption, " ", question, NULL) : g_strdup (question);
      switch (fam)
        {
        case 1: q->answer = answer_basics (sc, databar); break;
        case 2: q->answer = answer_morph (sc); break;
        case 3: q->answer = answer_size (sc); break;
        case 4: q->answer = answer_surface (sc); break;
        case 5: q->answer = answer_comp (sc); break;
        case 6: q->answer = answer_bound (sc); break;
        case 7: q->answer = answer_env (sc); break;
        case 8: q->answer = answer_tech (sc, databar); break;
        case 9: q->answer = answer_func (sc); break;
        default: q->answer = answer_app (sc); break;
        }
    }
}
