/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-teacher-prompts.c: the teacher's prompts for the 10 question families.
 *
 * The wording is ours, written from the family table in DESIGN.md. Like the
 * paper's chain-of-thought prompts, each family is a short sequence of guiding
 * questions that lead from what is visible to what it means; the teacher is
 * asked to reason through them in order and to write each answer the way a
 * microscopist would caption the image: one to three plain, specific
 * sentences, with numbers and units where the image supports them.
 */
#define G_LOG_DOMAIN "mva-teacher"
#include "config.h"

#include "mva-teacher-prompts.h"

#include <string.h>

#include "mva-teacher-config.h"

#define MAX_QUESTIONS 3

typedef struct
{
  const char *name;
  const char *guide;                     /* how to think the family through */
  const char *questions[MAX_QUESTIONS];  /* NULL-terminated when fewer */
} Family;

static const Family families[MVA_TEACHER_N_FAMILIES] = {
  { "Basics",
    "Start from what the image shows as a whole, then read the scale bar or "
    "any printed pixel size and relate it to the features.",
    { "What type of nanomaterial is shown in this image?",
      "What is the scale of the image, that is, the real length of one pixel or "
      "of the scale bar?",
      NULL } },
  { "Morphology and structure",
    "Look first at the outline of single structures, then at their internal "
    "make-up, then compare many of them with each other.",
    { "What is the overall shape of the structures in the image?",
      "Are distinct layers, phases or domains visible?",
      "How uniform are the structures in size and shape?" } },
  { "Size and distribution",
    "Use the scale bar to estimate dimensions, then look at how the structures "
    "are placed relative to their neighbours.",
    { "What is the approximate size or size range of the structures?",
      "How are the structures distributed: evenly spaced, clustered or at "
      "random?",
      "Are the structures aggregated or bundled together?" } },
  { "Surface characteristics",
    "Examine the surfaces at the highest detail the image offers, then look "
    "for anything that interrupts them.",
    { "What is the surface texture: smooth, rough or patterned?",
      "Are there visible defects, pores or impurities on the surface?",
      NULL } },
  { "Composition and elements",
    "Compare the brightness and contrast of different regions, then look for "
    "any text, labels or markers in the image.",
    { "Do contrast or brightness differences suggest regions of different "
      "composition?",
      "Are there labels or markers in the image that name elements or "
      "compounds?",
      NULL } },
  { "Interactions and boundaries",
    "Follow the edges of neighbouring structures and the interfaces between "
    "regions.",
    { "Are the structures touching, fused together or separate?",
      "Are the boundaries between different phases or regions sharp or "
      "blurred?",
      NULL } },
  { "External environment",
    "Look beyond the nanomaterial itself: the background, the support it sits "
    "on and anything else in the field of view.",
    { "Are there signs of interaction with the surroundings, such as a solvent, "
      "a polymer or a substrate?",
      "Are there objects in view that are not part of the nanomaterial?",
      NULL } },
  { "Imaging technique and modifications",
    "Judge the contrast mechanism, depth of field and any instrument data bar, "
    "then check for signs of processing after acquisition.",
    { "Which imaging technique most likely produced this image: SEM, TEM or "
      "another?",
      "Has the image been post-processed, for example with false colour or "
      "3D rendering?",
      NULL } },
  { "Functional features",
    "Think about which parts of the structure would behave differently, then "
    "about whether the image captures a moment of a process.",
    { "Are there regions with distinct functions or properties?",
      "Does the image show a static structure or a dynamic process?",
      NULL } },
  { "Context and application",
    "Combine what the earlier observations say about the material with how the "
    "sample appears to have been made.",
    { "What is the likely use or application of this material?",
      "Is this an experimental sample, or a simulation or rendering?",
      NULL } },
};

/* Caption phrases for the 10 NFFA-Europe categories. */
static const struct
{
  const char *category;
  const char *phrase;
} category_phrases[] = {
  { "biological", "biological material" },
  { "fibres", "fibres" },
  { "films", "films or coated surfaces" },
  { "mems", "MEMS devices and electrodes" },
  { "nanowires", "nanowires" },
  { "particles", "particles" },
  { "patterned", "patterned surfaces" },
  { "porous", "porous sponge-like material" },
  { "powder", "powder" },
  { "tips", "tips" },
};

static const char system_prompt[] =
  "You are an expert electron microscopist helping to build training data for a "
  "small assistant that answers questions about SEM and TEM micrographs of "
  "nanomaterials. You will be shown one micrograph and a short series of "
  "questions. Work through the questions in the order given, reasoning step by "
  "step from what is actually visible in the image to what it implies. Base "
  "every answer on the image (and on the caption when one is given); when the "
  "image does not show something, say so plainly instead of guessing. Write "
  "each answer as one to three plain, specific sentences, the way a "
  "microscopist would caption the image, with numbers and units where the "
  "question asks for them. Do not add any text outside the requested layout.";

const char *
mva_teacher_family_name (guint family)
{
  if (family < 1 || family > MVA_TEACHER_N_FAMILIES)
    return NULL;
  return families[family - 1].name;
}

guint
mva_teacher_family_n_questions (guint family)
{
  guint n = 0;

  if (family < 1 || family > MVA_TEACHER_N_FAMILIES)
    return 0;
  while (n < MAX_QUESTIONS && families[family - 1].questions[n] != NULL)
    n++;
  return n;
}

const char *
mva_teacher_family_question (guint family,
                             guint index)
{
  if (index >= mva_teacher_family_n_questions (family))
    return NULL;
  return families[family - 1].questions[index];
}

const char *
mva_teacher_system_prompt (void)
{
  return system_prompt;
}

char *
mva_teacher_caption (const char *category)
{
  g_autofree char *clean = NULL;

  if (category == NULL)
    return NULL;
  clean = g_strstrip (g_strdup (category));
  if (*clean == '\0')
    return NULL;
  for (gsize i = 0; i < G_N_ELEMENTS (category_phrases); i++)
    if (g_ascii_strcasecmp (clean, category_phrases[i].category) == 0)
      return g_strdup_printf ("This micrograph shows %s.", category_phrases[i].phrase);
  return g_strdup_printf ("This micrograph shows %s.", clean);
}

char *
mva_teacher_prompt_build (guint       family,
                          const char *category)
{
  g_autofree char *caption = mva_teacher_caption (category);
  const Family *f;
  GString *s;
  guint n;

  if (family < 1 || family > MVA_TEACHER_N_FAMILIES)
    return NULL;
  f = &families[family - 1];
  n = mva_teacher_family_n_questions (family);
  s = g_string_new (NULL);
  if (caption != NULL)
    g_string_append_printf (s, "%s\n\n", caption);
  g_string_append_printf (s, "Topic: %s.\n%s Think through the questions below one "
                          "after the other; each may build on the previous "
                          "answers.\n\n", f->name, f->guide);
  for (guint i = 0; i < n; i++)
    g_string_append_printf (s, "%u. %s\n", i + 1, f->questions[i]);
  g_string_append (s, "\nReply with exactly one block per question, in this layout "
                      "and nothing else:\n");
  for (guint i = 0; i < n; i++)
    g_string_append_printf (s, "Q%u: <the question>\nA%u: <your answer>\n", i + 1, i + 1);
  return g_string_free (s, FALSE);
}

guint
mva_teacher_families_parse (const char *spec,
                            GError    **error)
{
  g_auto(GStrv) parts = NULL;
  guint mask = 0;

  if (spec == NULL || *spec == '\0')
    {
      g_set_error (error, MVA_TEACHER_ERROR, MVA_TEACHER_ERROR_INVALID,
                   "empty family list (expected e.g. 1-10 or 1,3,5)");
      return 0;
    }
  parts = g_strsplit (spec, ",", -1);
  for (guint i = 0; parts[i] != NULL; i++)
    {
      char *part = g_strstrip (parts[i]);
      char *dash = strchr (part, '-');
      guint64 lo, hi;

      if (dash != NULL)
        {
          *dash = '\0';
          if (!g_ascii_string_to_unsigned (g_strstrip (part), 10, 1, MVA_TEACHER_N_FAMILIES,
                                           &lo, NULL) ||
              !g_ascii_string_to_unsigned (g_strstrip (dash + 1), 10, 1,
                                           MVA_TEACHER_N_FAMILIES, &hi, NULL) ||
              lo > hi)
            {
              g_set_error (error, MVA_TEACHER_ERROR, MVA_TEACHER_ERROR_INVALID,
                           "bad family range in “%s” (families are 1-%d)", spec,
                           MVA_TEACHER_N_FAMILIES);
              return 0;
            }
        }
      else
        {
          if (!g_ascii_string_to_unsigned (part, 10, 1, MVA_TEACHER_N_FAMILIES, &lo, NULL))
            {
              g_set_error (error, MVA_TEACHER_ERROR, MVA_TEACHER_ERROR_INVALID,
                           "bad family “%s” in “%s” (families are 1-%d)", part, spec,
                           MVA_TEACHER_N_FAMILIES);
              return 0;
            }
          hi = lo;
        }
      for (guint64 f = lo; f <= hi; f++)
        mask |= 1u << f;
    }
  return mask;
}
