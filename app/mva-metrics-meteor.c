/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-metrics-meteor.c: nltk 3.8 translate/meteor_score.py.
 *
 * Per reference: tokens are str.split () words lower-cased with str.lower ();
 * three greedy stages, each walking the candidate from its last word back
 * and taking the last still unmatched reference word that matches:
 *   1. the same string,
 *   2. the same Porter stem (nltk PorterStemmer),
 *   3. WordNet: the reference's stemmed word is a lemma name (without "_")
 *      of wordnet.synsets (stemmed candidate word), or the word itself.
 * Matches sorted by candidate index give the chunk count; the score is
 * (1 - gamma (chunks / m)^beta) * P R / (alpha P + (1 - alpha) R), 0 on any
 * division by zero, and the best over the references.
 */
#define G_LOG_DOMAIN "mva-metrics"
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mva-metrics-private.h"
#include "mva-metrics-wordnet-private.h"

typedef struct
{
  guint  index;   /* position in the original token list */
  char  *word;    /* borrowed */
} Enum;

typedef struct
{
  guint hyp;
  guint ref;
} Match;

/* _match_enums: removes matched entries from both lists */
static void
match_enums (GArray *hyp,
             GArray *ref,
             GArray *matches)
{
  for (gint i = (gint) hyp->len - 1; i >= 0; i--)
    {
      Enum *h = &g_array_index (hyp, Enum, i);

      for (gint j = (gint) ref->len - 1; j >= 0; j--)
        {
          Enum *r = &g_array_index (ref, Enum, j);

          if (strcmp (h->word, r->word) == 0)
            {
              Match m = { h->index, r->index };

              g_array_append_val (matches, m);
              g_array_remove_index (hyp, i);
              g_array_remove_index (ref, j);
              break;
            }
        }
    }
}

static void
wordnet_match (GArray     *hyp,
               GArray     *ref,
               MvaWordNet *wordnet,
               GArray     *matches)
{
  for (gint i = (gint) hyp->len - 1; i >= 0; i--)
    {
      Enum *h = &g_array_index (hyp, Enum, i);
      g_autoptr(GHashTable) syns = NULL;

      if (wordnet != NULL && ref->len > 0)
        syns = _mva_wordnet_ref_lemma_set (wordnet, h->word);
      for (gint j = (gint) ref->len - 1; j >= 0; j--)
        {
          Enum *r = &g_array_index (ref, Enum, j);
          gboolean hit;

          /* nltk's set holds the word itself and the lemma names without "_" */
          hit = strcmp (r->word, h->word) == 0 ||
                (syns != NULL && strchr (r->word, '_') == NULL &&
                 g_hash_table_contains (syns, r->word));
          if (hit)
            {
              Match m = { h->index, r->index };

              g_array_append_val (matches, m);
              g_array_remove_index (hyp, i);
              g_array_remove_index (ref, j);
              break;
            }
        }
    }
}

static int
compare_match (const void *a,
               const void *b)
{
  const Match *x = a, *y = b;

  return (x->hyp > y->hyp) - (x->hyp < y->hyp);
}

/* Tokens of one text: lower-cased words and their Porter stems. */
typedef struct
{
  char **lower;
  char **stem;
  guint  n;
} Words;

static void
words_init (Words      *w,
            const char *text)
{
  g_auto(GStrv) raw = mva_metrics_split_whitespace (text);

  w->n = _mva_strv_len (raw);
  w->lower = g_new0 (char *, w->n + 1);
  w->stem = g_new0 (char *, w->n + 1);
  for (guint i = 0; i < w->n; i++)
    {
      w->lower[i] = g_utf8_strdown (raw[i], -1);
      w->stem[i] = _mva_porter_stem_cached (w->lower[i]);
    }
}

static void
words_clear (Words *w)
{
  g_strfreev (w->lower);
  g_strfreev (w->stem);
}

static double
single_score (const Words           *hyp_words,
              const Words           *ref_words,
              MvaWordNet            *wordnet,
              const MvaMeteorParams *params,
              GArray                *alignment,
              guint                 *n_chunks)
{
  g_autoptr(GArray) hyp = g_array_sized_new (FALSE, FALSE, sizeof (Enum), hyp_words->n);
  g_autoptr(GArray) ref = g_array_sized_new (FALSE, FALSE, sizeof (Enum), ref_words->n);
  g_autoptr(GArray) matches = g_array_new (FALSE, FALSE, sizeof (Match));
  guint m, chunks = 1;
  double precision, recall, denom, fmean, frag, penalty;

  if (alignment != NULL)
    g_array_set_size (alignment, 0);
  if (n_chunks != NULL)
    *n_chunks = 0;

  for (guint i = 0; i < hyp_words->n; i++)
    {
      Enum e = { i, hyp_words->lower[i] };
      g_array_append_val (hyp, e);
    }
  for (guint i = 0; i < ref_words->n; i++)
    {
      Enum e = { i, ref_words->lower[i] };
      g_array_append_val (ref, e);
    }

  match_enums (hyp, ref, matches);
  /* stage 2 works on the stems of what is left, stage 3 on the same stems */
  for (guint i = 0; i < hyp->len; i++)
    {
      Enum *e = &g_array_index (hyp, Enum, i);
      e->word = hyp_words->stem[e->index];
    }
  for (guint i = 0; i < ref->len; i++)
    {
      Enum *e = &g_array_index (ref, Enum, i);
      e->word = ref_words->stem[e->index];
    }
  match_enums (hyp, ref, matches);
  wordnet_match (hyp, ref, wordnet, matches);

  /* sorted () is stable and candidate indexes are unique */
  m = matches->len;
  if (m > 1)
    qsort (matches->data, m, sizeof (Match), compare_match);
  if (alignment != NULL)
    for (guint i = 0; i < m; i++)
      {
        Match *x = &g_array_index (matches, Match, i);
        guint pair[2] = { x->hyp, x->ref };

        g_array_append_vals (alignment, pair, 2);
      }

  if (hyp_words->n == 0 || ref_words->n == 0)
    return 0.0;
  precision = (double) m / (double) hyp_words->n;
  recall = (double) m / (double) ref_words->n;
  denom = params->alpha * precision + (1 - params->alpha) * recall;
  if (denom == 0.0 || m == 0)
    return 0.0;
  fmean = (precision * recall) / denom;
  for (guint i = 0; i + 1 < m; i++)
    {
      Match *a = &g_array_index (matches, Match, i);
      Match *b = &g_array_index (matches, Match, i + 1);

      if (!(b->hyp == a->hyp + 1 && b->ref == a->ref + 1))
        chunks++;
    }
  if (n_chunks != NULL)
    *n_chunks = chunks;
  frag = (double) chunks / (double) m;
  penalty = params->gamma * pow (frag, params->beta);
  return (1 - penalty) * fmean;
}

double
mva_meteor_single (const char            *candidate,
                   const char            *reference,
                   MvaWordNet            *wordnet,
                   const MvaMeteorParams *params,
                   GArray                *alignment,
                   guint                 *n_chunks)
{
  MvaMeteorParams defaults = MVA_METEOR_PARAMS_DEFAULT;
  Words hyp, ref;
  double score;

  g_return_val_if_fail (alignment == NULL ||
                        g_array_get_element_size (alignment) == sizeof (guint), 0.0);

  words_init (&hyp, candidate);
  words_init (&ref, reference);
  score = single_score (&hyp, &ref, wordnet, params != NULL ? params : &defaults,
                        alignment, n_chunks);
  words_clear (&hyp);
  words_clear (&ref);
  return score;
}

double
mva_meteor_score_full (const char            *candidate,
                       const char * const    *references,
                       MvaWordNet            *wordnet,
                       const MvaMeteorParams *params)
{
  MvaMeteorParams defaults = MVA_METEOR_PARAMS_DEFAULT;
  guint n_refs = _mva_strv_len ((char * const *) references);
  Words hyp;
  double best = 0.0;

  if (n_refs == 0)
    return 0.0;
  words_init (&hyp, candidate);
  for (guint r = 0; r < n_refs; r++)
    {
      Words ref;
      double s;

      words_init (&ref, references[r]);
      s = single_score (&hyp, &ref, wordnet, params != NULL ? params : &defaults, NULL, NULL);
      words_clear (&ref);
      if (r == 0 || s > best)
        best = s;
    }
  words_clear (&hyp);
  return best;
}

double
mva_meteor_score (const char         *candidate,
                  const char * const *references,
                  MvaWordNet         *wordnet)
{
  return mva_meteor_score_full (candidate, references, wordnet, NULL);
}
