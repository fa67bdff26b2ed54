/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-assistant-measure.c: sizes in answers measured on the image, not
 * guessed by the model.
 *
 * The model sees a 224 x 224 thumbnail and learnt from synthetic answers
 * that always gave sizes in nm, so it states sizes it cannot know (on a
 * real alloy at 11 nm per pixel: "14 ± 2 nm", about one pixel). Rule:
 *  - the question asks for sizes when its family is 3 (Size and
 *    distribution) or its text contains "size", "diameter", "how large" or
 *    "how big";
 *  - the answer's category (the request's, user-set or predicted; else the
 *    model's best guess, mva_assistant_ask) is one whose size
 *    mva-measure.c measures (particles, nanowires, porous, fibres);
 *  - the measurement succeeds;
 *  - then the sentences of the answer that state a length (a number
 *    followed by nm, µm, um or mm) are left out and one measured sentence
 *    takes the place of the first ("Measured on the image, the typical
 *    particle diameter is about 48 nm (an estimate from the image's
 *    texture, usually within a factor of 1.5)."; in pixels when the file
 *    has no pixel size). The other sentences (distribution, arrangement)
 *    stay.
 * Answers to the applications question (family 10) name the structures'
 * size in passing ("Electrospun nanofibre mats of about 176 nm are used
 * for ..."): there, with the same category and measurement, each length in
 * nm or µm (with its "± spread") is replaced in place by the measured one
 * ("... of about 1.12 µm are used ..."; "43 pixels" without a pixel size).
 * Scale, working-distance and other sentences are not touched.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "mva-assistant-private.h"
#include "mva-measure.h"

static const char *const size_question_keys[] = { "size", "diameter", "how large", "how big" };

gboolean
_mva_assistant_asks_size (guint       family,
                          const char *question)
{
  g_autofree char *low = NULL;

  if (family == 3)
    return TRUE;
  if (question == NULL)
    return FALSE;
  low = g_utf8_strdown (question, -1);
  for (gsize i = 0; i < G_N_ELEMENTS (size_question_keys); i++)
    if (strstr (low, size_question_keys[i]) != NULL)
      return TRUE;
  return FALSE;
}

/* If a length in nm or µm starts at p ("176 nm", "1.4 µm", "21 ± 3 nm"),
 * its end; else NULL. */
static const char *
nm_length_end (const char *start,
               const char *p)
{
  static const char *const units[] = { "nm", "µm", "um" };
  const char *q = p;

  if (!g_ascii_isdigit (*q) || (p > start && (g_ascii_isalnum (p[-1]) || p[-1] == '.')))
    return NULL;
  while (g_ascii_isdigit (*q) || (*q == '.' && g_ascii_isdigit (q[1])))
    q++;
  {
    /* a spread: " ± 3" */
    const char *r = q;

    while (*r == ' ')
      r++;
    if (g_str_has_prefix (r, "±"))
      {
        r += strlen ("±");
        while (*r == ' ')
          r++;
        if (g_ascii_isdigit (*r))
          {
            while (g_ascii_isdigit (*r) || (*r == '.' && g_ascii_isdigit (r[1])))
              r++;
            q = r;
          }
      }
  }
  while (*q == ' ')
    q++;
  for (gsize i = 0; i < G_N_ELEMENTS (units); i++)
    if (g_str_has_prefix (q, units[i]) && !g_ascii_isalpha (q[strlen (units[i])]))
      return q + strlen (units[i]);
  return NULL;
}

/* the text a measured length is written as */
static char *
measured_length_text (double nm,
                      double px)
{
  return isfinite (nm) ? mva_assistant_format_length (nm) : g_strdup_printf ("%.0f pixels", px);
}

/* sentence with each length in nm or µm replaced by len; their byte ranges
 * in sentence go to spans (pairs [from, to), flattened; may be NULL).
 * *n_replaced (may be NULL): how many. */
static char *
substitute_lengths (const char *sentence,
                    const char *len,
                    GArray     *spans,
                    guint      *n_replaced)
{
  GString *out = g_string_new (NULL);
  guint n = 0;

  for (const char *p = sentence; *p != '\0';)
    {
      const char *end = nm_length_end (sentence, p);

      if (end != NULL)
        {
          gsize from = (gsize) (p - sentence), to = (gsize) (end - sentence);

          if (spans != NULL)
            {
              g_array_append_val (spans, from);
              g_array_append_val (spans, to);
            }
          g_string_append (out, len);
          p = end;
          n++;
        }
      else
        g_string_append_c (out, *p++);
    }
  if (n_replaced != NULL)
    *n_replaced = n;
  return g_string_free (out, FALSE);
}

char *
_mva_assistant_lengths_replaced (const MvaAnswer *a,
                                 const char      *sentence,
                                 GArray          *spans)
{
  g_autofree char *len = NULL;

  if (a->family != 10 || !a->size_measured)
    return NULL;
  len = measured_length_text (a->size_nm, a->size_px);
  return substitute_lengths (sentence, len, spans, NULL);
}

/* Family 10: the lengths of the answer's sentences replaced in place by
 * `len` (len NULL: only counted); sentences about the scale or the
 * instrument are left alone. Returns how many were (or would be) replaced. */
static guint
replace_lengths_in_place (MvaAnswer  *a,
                          const char *len)
{
  static const char *const keep[] = { "pixel", "field of view", "working distance", "scale bar" };
  g_auto(GStrv) sentences = _mva_assistant_split_sentences (a->answer != NULL ? a->answer : a->generated);
  g_autoptr(GString) text = g_string_new (NULL);
  guint changed = 0;

  for (guint i = 0; sentences[i] != NULL; i++)
    {
      g_autofree char *low = g_utf8_strdown (sentences[i], -1);
      g_autofree char *done = NULL;
      gboolean skip = FALSE;
      guint n = 0;

      for (gsize k = 0; k < G_N_ELEMENTS (keep); k++)
        skip = skip || strstr (low, keep[k]) != NULL;
      done = skip ? g_strdup (sentences[i]) : substitute_lengths (sentences[i], len ? len : "", NULL, &n);
      changed += n;
      if (text->len > 0)
        g_string_append_c (text, ' ');
      g_string_append (text, done);
    }
  if (changed > 0 && len != NULL)
    {
      g_free (a->answer);
      a->answer = g_string_free (g_steal_pointer (&text), FALSE);
    }
  return changed;
}

/* a number followed (after spaces) by a length unit */
static gboolean
states_length (const char *s)
{
  static const char *const units[] = { "nm", "µm", "um", "mm", "micron" };

  for (const char *p = s; *p != '\0'; p++)
    {
      const char *q;

      if (!g_ascii_isdigit (*p))
        continue;
      q = p;
      while (g_ascii_isdigit (*q) || *q == '.')
        q++;
      while (*q == ' ')
        q++;
      for (gsize i = 0; i < G_N_ELEMENTS (units); i++)
        if (g_str_has_prefix (q, units[i]))
          {
            char after = q[strlen (units[i])];

            if (!g_ascii_isalpha (after))
              return TRUE;
          }
    }
  return FALSE;
}

void
_mva_assistant_apply_measured_size (MvaAnswer      *a,
                                    const MvaImage *image,
                                    const char     *category)
{
  double px = NAN, nm = NAN;
  const char *what;
  g_autofree char *sentence = NULL;
  g_auto(GStrv) sentences = NULL;
  g_autoptr(GString) text = NULL;
  gboolean placed = FALSE;

  a->size_measured = FALSE;
  a->size_px = NAN;
  a->size_nm = NAN;
  if (category == NULL)
    return;
  if (a->family == 10)
    {
      g_autofree char *len = NULL;

      /* measured only when the answer names a length to replace */
      if (replace_lengths_in_place (a, NULL) == 0 || mva_measure_what (category) == NULL
          || !mva_measure_structure_size (image, category, &px, &nm))
        return;
      len = measured_length_text (nm, px);
      if (replace_lengths_in_place (a, len) > 0)
        {
          a->size_measured = TRUE;
          a->size_px = px;
          a->size_nm = nm;
        }
      return;
    }
  if (!_mva_assistant_asks_size (a->family, a->question))
    return;
  what = mva_measure_what (category);
  if (what == NULL || !mva_measure_structure_size (image, category, &px, &nm))
    return;
  a->size_measured = TRUE;
  a->size_px = px;
  a->size_nm = nm;
  if (isfinite (nm))
    {
      g_autofree char *len = mva_assistant_format_length (nm);

      sentence = g_strdup_printf ("Measured on the image, the typical %s is about %s (an estimate "
                                  "from the image's texture, usually within a factor of 1.5).",
                                  what, len);
    }
  else
    sentence = g_strdup_printf ("Measured on the image, the typical %s is about %.0f pixels; the "
                                "file carries no pixel size, so it cannot be given in nm.", what, px);
  sentences = _mva_assistant_split_sentences (a->answer != NULL ? a->answer : a->generated);
  text = g_string_new (NULL);
  for (guint i = 0; sentences[i] != NULL; i++)
    {
      const char *s = sentences[i];

      if (states_length (s) || strstr (s, "carries no pixel size") != NULL)
        {
          if (placed)
            continue;
          s = sentence;
          placed = TRUE;
        }
      if (text->len > 0)
        g_string_append_c (text, ' ');
      g_string_append (text, s);
    }
  if (!placed)
    {
      if (text->len > 0)
        g_string_append_c (text, ' ');
      g_string_append (text, sentence);
    }
  g_free (a->answer);
  a->answer = g_string_free (g_steal_pointer (&text), FALSE);
}
