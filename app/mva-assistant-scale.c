/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-assistant-scale.c: the true scale from the instrument metadata in
 * answers that ask for it (issue 6 item 5). The model only sees pixels, so
 * any scale it states is a guess from the scale bar; when the file says
 * the pixel size, the answer states that instead.
 *
 * Rule (kept simple on purpose; see mva-assistant.h, MvaAnswer):
 *  - the question asks for the scale when its family is 1 (Basics) or its
 *    text contains, ignoring case, "scale", "pixel size", "per pixel",
 *    "field of view", "field width" or "magnification";
 *  - the image's metadata gives pixel_size_nm (> 0, finite);
 *  - then every sentence of the generated text that talks about scale
 *    (contains "pixel", "scale", "field of view", "field width",
 *    "magnification", "spans", or "nm wide" / "µm wide" / "mm wide") is
 *    left out, and one sentence from the metadata takes the place of the
 *    first of them (or ends the answer when there was none):
 *    "According to the instrument metadata, each pixel covers 4.88 nm, so the
 *    field of view is 5.00 µm wide."
 *  - without a pixel size, the same sentences give way to "The file carries
 *    no pixel size, so the scale cannot be read from it (a scale bar in the
 *    image, if there is one, gives it)." (the model, trained on answers that
 *    always had a scale, states one anyway).
 * The instrument's settings get the same treatment (family 8 or a question
 * about kV, voltage, detector, working distance, instrument or imaging
 * technique; sentences with "kv", "working distance", "detector" or
 * "voltage"): "According to the instrument metadata: FEI Quanta FEG,
 * detector ETD Custom, 10 kV, working distance 10.5 mm, magnification
 * 4000×." or "The file carries no instrument settings (detector, voltage,
 * working distance), so none are stated here."
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "mva-assistant-private.h"

static const char *const question_keys[] = {
  "scale", "pixel size", "per pixel", "field of view", "field width", "magnification",
};

static const char *const sentence_keys[] = {
  "pixel", "scale", "field of view", "field width", "magnification", "spans",
  "nm wide", "µm wide", "mm wide",
};

static gboolean
contains_any (const char        *text,
              const char *const *keys,
              gsize              n_keys)
{
  g_autofree char *low = g_utf8_strdown (text, -1);

  for (gsize i = 0; i < n_keys; i++)
    if (strstr (low, keys[i]) != NULL)
      return TRUE;
  return FALSE;
}

gboolean
_mva_assistant_asks_scale (guint       family,
                           const char *question)
{
  if (family == 1)
    return TRUE;
  return question != NULL && contains_any (question, question_keys, G_N_ELEMENTS (question_keys));
}

/* "4.88 nm", "48.8 nm", "488 nm", "1.95 µm", "195 µm", "1.20 mm" */
char *
mva_assistant_format_length (double nm)
{
  const char *unit = "nm";
  double v = nm;

  if (nm >= 1e6)
    {
      v = nm / 1e6;
      unit = "mm";
    }
  else if (nm >= 999.5)
    {
      v = nm / 1000.0;
      unit = "µm";
    }
  if (v >= 99.95)
    return g_strdup_printf ("%.0f %s", v, unit);
  if (v >= 9.995)
    return g_strdup_printf ("%.1f %s", v, unit);
  return g_strdup_printf ("%.2f %s", v, unit);
}

/* Sentences of text: each ends after '.', '!' or '?' followed by white space
 * or the end (so "2.5 nm" stays whole); the white space after a sentence is
 * dropped. */
static GPtrArray *
split_sentences (const char *text)
{
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);
  const char *start = text, *p = text;

  while (*p != '\0')
    {
      if ((*p == '.' || *p == '!' || *p == '?') && (p[1] == '\0' || g_ascii_isspace (p[1])))
        {
          g_ptr_array_add (out, g_strstrip (g_strndup (start, (gsize) (p + 1 - start))));
          start = p + 1;
        }
      p++;
    }
  {
    char *tail = g_strstrip (g_strdup (start));

    if (tail[0] != '\0')
      g_ptr_array_add (out, tail);
    else
      g_free (tail);
  }
  return out;
}

GStrv
_mva_assistant_split_sentences (const char *text)
{
  g_autoptr(GPtrArray) s = split_sentences (text);

  g_ptr_array_add (s, NULL);
  return (GStrv) g_ptr_array_steal (s, NULL);
}

static void replace_sentences (MvaAnswer *a, const char *const *keys, gsize n_keys,
                               const char *replacement);

void
_mva_assistant_apply_metadata_scale (MvaAnswer      *a,
                                     const MvaImage *image)
{
  double px = image->meta.pixel_size_nm;
  g_autofree char *px_s = NULL, *fov_s = NULL, *meta = NULL;

  a->scale_from_metadata = FALSE;
  a->pixel_size_nm = NAN;
  a->field_of_view_um = NAN;
  a->scale_asked = _mva_assistant_asks_scale (a->family, a->question);
  if (!a->scale_asked)
    return;
  if (!(px > 0.0) || !isfinite (px) || image->full_width == 0)
    {
      /* the model states a scale anyway (every training answer had one):
       * a guess from the pixels that must not read as a fact */
      meta = g_strdup ("The file carries no pixel size, so the scale cannot be read from it "
                       "(a scale bar in the image, if there is one, gives it).");
    }
  else
    {
      a->scale_from_metadata = TRUE;
      a->pixel_size_nm = px;
      a->field_of_view_um = px * image->full_width / 1000.0;
      px_s = mva_assistant_format_length (px);
      fov_s = mva_assistant_format_length (px * image->full_width);
      meta = g_strdup_printf ("According to the instrument metadata, each pixel covers %s, so the "
                              "field of view is %s wide.", px_s, fov_s);
    }
  replace_sentences (a, sentence_keys, G_N_ELEMENTS (sentence_keys), meta);
}

/* a->answer := a->answer's sentences, those containing one of keys left
 * out and `replacement` in place of the first of them (or at the end). */
static void
replace_sentences (MvaAnswer         *a,
                   const char *const *keys,
                   gsize              n_keys,
                   const char        *replacement)
{
  g_autoptr(GPtrArray) sentences = NULL;
  g_autoptr(GString) text = NULL;
  gboolean placed = FALSE;

  sentences = split_sentences (a->answer != NULL ? a->answer : a->generated);
  text = g_string_new (NULL);
  for (guint i = 0; i < sentences->len; i++)
    {
      const char *s = g_ptr_array_index (sentences, i);
      const char *add = s;

      if (contains_any (s, keys, n_keys))
        {
          if (placed)
            continue;
          add = replacement;
          placed = TRUE;
        }
      if (text->len > 0)
        g_string_append_c (text, ' ');
      g_string_append (text, add);
    }
  if (!placed)
    {
      if (text->len > 0)
        g_string_append_c (text, ' ');
      g_string_append (text, replacement);
    }
  g_free (a->answer);
  a->answer = g_string_free (g_steal_pointer (&text), FALSE);
}

/* --- the instrument's settings ---------------------------------------------------------- */
/* Family 8 (imaging technique) or a question about the voltage, detector,
 * working distance or instrument: the model's sentences about those are
 * guesses (every synthetic answer named an FEI ETD detector, 10 kV and a
 * working distance), so they give way to what the file says, or to a plain
 * statement that it says nothing. */
static const char *const instrument_question_keys[] = {
  "kv", "voltage", "detector", "working distance", "imaging technique", "instrument",
  "microscope settings",
};

static const char *const instrument_sentence_keys[] = {
  "kv", "working distance", "detector", "voltage",
};

gboolean
_mva_assistant_asks_instrument (guint       family,
                                const char *question)
{
  if (family == 8)
    return TRUE;
  return question != NULL
         && contains_any (question, instrument_question_keys, G_N_ELEMENTS (instrument_question_keys));
}

void
_mva_assistant_apply_metadata_instrument (MvaAnswer      *a,
                                          const MvaImage *image)
{
  const MvaImageMeta *m = &image->meta;
  g_autoptr(GPtrArray) parts = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *sentence = NULL;

  a->instrument_from_metadata = FALSE;
  g_clear_pointer (&a->instrument_settings, g_free);
  a->instrument_asked = _mva_assistant_asks_instrument (a->family, a->question);
  if (!a->instrument_asked)
    return;
  if (m->instrument != NULL && m->instrument[0] != '\0')
    g_ptr_array_add (parts, g_strdup (m->instrument));
  if (m->detector != NULL && m->detector[0] != '\0')
    g_ptr_array_add (parts, g_strdup_printf ("detector %s", m->detector));
  if (isfinite (m->hv_kv) && m->hv_kv > 0)
    g_ptr_array_add (parts, g_strdup_printf ("%.3g kV", m->hv_kv));
  if (isfinite (m->wd_mm) && m->wd_mm > 0)
    g_ptr_array_add (parts, g_strdup_printf ("working distance %.1f mm", m->wd_mm));
  if (isfinite (m->magnification) && m->magnification > 0)
    g_ptr_array_add (parts, g_strdup_printf ("magnification %.0f×", m->magnification));
  if (parts->len > 0)
    {
      g_ptr_array_add (parts, NULL);
      a->instrument_settings = g_strjoinv (", ", (char **) parts->pdata);
      sentence = g_strdup_printf ("According to the instrument metadata: %s.", a->instrument_settings);
      a->instrument_from_metadata = TRUE;
    }
  else
    sentence = g_strdup ("The file carries no instrument settings (detector, voltage, working "
                         "distance), so none are stated here.");
  replace_sentences (a, instrument_sentence_keys, G_N_ELEMENTS (instrument_sentence_keys),
                     sentence);
}

/* --- what the metadata and measurement rules replaced ------------------------------------ */
GArray *
mva_answer_superseded_ranges (const MvaAnswer *a)
{
  GArray *out = g_array_new (FALSE, FALSE, sizeof (gsize));
  const char *text, *start, *p;

  g_return_val_if_fail (a != NULL, out);
  text = a->generated;
  if (text == NULL || a->answer == NULL || g_strcmp0 (a->answer, text) == 0)
    return out;
  start = p = text;
  for (;;)
    {
      gboolean end_here = *p == '\0'
                          || ((*p == '.' || *p == '!' || *p == '?')
                              && (p[1] == '\0' || g_ascii_isspace (p[1])));

      if (end_here)
        {
          const char *e = *p == '\0' ? p : p + 1;
          const char *b = start;

          while (b < e && g_ascii_isspace (*b))
            b++;
          if (e > b)
            {
              g_autofree char *sentence = g_strndup (b, (gsize) (e - b));

              if (strstr (a->answer, sentence) == NULL)
                {
                  g_autoptr(GArray) spans = g_array_new (FALSE, FALSE, sizeof (gsize));
                  g_autofree char *in_place = _mva_assistant_lengths_replaced (a, sentence, spans);

                  if (in_place != NULL && spans->len > 0 && strstr (a->answer, in_place) != NULL)
                    /* only its lengths gave way to the measured one */
                    for (guint k = 0; k < spans->len; k++)
                      {
                        gsize at = (gsize) (b - text) + g_array_index (spans, gsize, k);

                        g_array_append_val (out, at);
                      }
                  else
                    {
                      gsize from = (gsize) (b - text), to = (gsize) (e - text);

                      g_array_append_val (out, from);
                      g_array_append_val (out, to);
                    }
                }
            }
          if (*p == '\0')
            break;
          start = p + 1;
        }
      p++;
    }
  return out;
}
