/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-metrics-bleu.c: BLEU as nltk 3.8 (translate/bleu_score.py) and as
 * sacrebleu 2.6 (metrics/bleu.py) compute it.
 *
 * nltk: per order, clipped matches over max (1, candidate n-grams); corpus
 * BLEU sums those fractions; closest reference length (shorter on ties);
 * 0 without a unigram match; method0 puts DBL_MIN for a zero precision,
 * method1 0.1/denominator; BP * exp (fsum (w * log p)).
 * sacrebleu: n-grams of the tokenized text's split (), 'exp' smoothing,
 * effective order for sentences, plain left-to-right sum of logs.
 */
#define G_LOG_DOMAIN "mva-metrics"
#include "config.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "mva-metrics-private.h"

/* --- Python's math.fsum (Shewchuk partials, correctly rounded) -------------------- */

static double
py_fsum (const double *values,
         gsize         n)
{
  double partials[64];
  gsize n_partials = 0;
  double hi = 0.0, lo = 0.0;

  for (gsize k = 0; k < n; k++)
    {
      double x = values[k];
      gsize i = 0;

      for (gsize j = 0; j < n_partials; j++)
        {
          double y = partials[j];
          double t;

          if (fabs (x) < fabs (y))
            {
              t = x;
              x = y;
              y = t;
            }
          hi = x + y;
          lo = y - (hi - x);
          if (lo != 0.0)
            partials[i++] = lo;
          x = hi;
        }
      n_partials = i;
      if (x != 0.0)
        partials[n_partials++] = x;
      g_assert (n_partials < G_N_ELEMENTS (partials));
    }

  /* sum_exact and round-half-even, as CPython's math_fsum does */
  hi = 0.0;
  if (n_partials > 0)
    {
      gsize i = n_partials;

      hi = partials[--i];
      while (i > 0)
        {
          double x = hi;
          double y = partials[--i];

          hi = x + y;
          lo = y - (hi - x);
          if (lo != 0.0)
            break;
        }
      if (i > 0 && ((lo < 0.0 && partials[i - 1] < 0.0) ||
                    (lo > 0.0 && partials[i - 1] > 0.0)))
        {
          double y = lo * 2.0;
          double x = hi + y;
          double yr = x - hi;

          if (y == yr)
            hi = x;
        }
    }
  return hi;
}

/* --- shared ---------------------------------------------------------------------- */

static guint64
closest_ref_length (const guint *ref_lens,
                    guint        n_refs,
                    guint64      hyp_len)
{
  gint64 best_diff = -1;
  guint64 best_len = 0;

  for (guint i = 0; i < n_refs; i++)
    {
      gint64 diff = llabs ((gint64) ref_lens[i] - (gint64) hyp_len);

      if (best_diff < 0 || diff < best_diff || (diff == best_diff && ref_lens[i] < best_len))
        {
          best_diff = diff;
          best_len = ref_lens[i];
        }
    }
  return best_len;
}

/* For each order 1..4: clipped matches and candidate n-gram count against
 * the element-wise maximum of the references' counts. */
static void
count_clipped (char * const  *hyp,
               guint          hyp_len,
               char        ***refs,
               guint          n_refs,
               guint64       *matches,
               guint64       *totals)
{
  g_autoptr(GHashTable) vocab = g_hash_table_new (g_str_hash, g_str_equal);
  g_autofree guint32 *hyp_ids = _mva_intern_tokens (vocab, hyp, hyp_len);
  g_autofree guint32 **ref_ids = g_new0 (guint32 *, n_refs + 1);
  g_autofree guint *ref_lens = g_new0 (guint, n_refs + 1);
  g_autofree MvaNgrams *ref_grams = g_new0 (MvaNgrams, n_refs + 1);

  for (guint r = 0; r < n_refs; r++)
    {
      ref_lens[r] = _mva_strv_len (refs[r]);
      ref_ids[r] = _mva_intern_tokens (vocab, refs[r], ref_lens[r]);
    }
  for (guint n = 1; n <= MVA_BLEU_MAX_ORDER; n++)
    {
      MvaNgrams cand;

      _mva_ngrams_init (&cand, hyp_ids, hyp_len, n);
      for (guint r = 0; r < n_refs; r++)
        _mva_ngrams_init (&ref_grams[r], ref_ids[r], ref_lens[r], n);
      matches[n - 1] += _mva_ngrams_clipped (&cand, ref_grams, n_refs);
      totals[n - 1] += cand.n;
      _mva_ngrams_clear (&cand);
      for (guint r = 0; r < n_refs; r++)
        _mva_ngrams_clear (&ref_grams[r]);
    }
  for (guint r = 0; r < n_refs; r++)
    g_free (ref_ids[r]);
}

/* --- nltk ---------------------------------------------------------------------------- */

void
mva_bleu_nltk_stats_add (MvaBleuStats       *stats,
                         const char         *candidate,
                         const char * const *references)
{
  g_auto(GStrv) hyp = NULL;
  guint n_refs = _mva_strv_len ((char * const *) references);
  g_autofree char ***refs = g_new0 (char **, n_refs + 1);
  g_autofree guint *ref_lens = g_new0 (guint, n_refs + 1);
  guint64 matches[MVA_BLEU_MAX_ORDER] = { 0 };
  guint64 totals[MVA_BLEU_MAX_ORDER] = { 0 };
  guint hyp_len;

  g_return_if_fail (stats != NULL);

  hyp = mva_metrics_split_whitespace (candidate);
  hyp_len = _mva_strv_len (hyp);
  for (guint r = 0; r < n_refs; r++)
    {
      refs[r] = mva_metrics_split_whitespace (references[r]);
      ref_lens[r] = _mva_strv_len (refs[r]);
    }
  count_clipped (hyp, hyp_len, refs, n_refs, matches, totals);
  for (guint n = 0; n < MVA_BLEU_MAX_ORDER; n++)
    {
      stats->matches[n] += matches[n];
      stats->totals[n] += MAX (1, totals[n]);   /* nltk: max (1, sum (counts)) */
    }
  stats->hyp_len += hyp_len;
  stats->ref_len += closest_ref_length (ref_lens, n_refs, hyp_len);
  stats->n_sentences++;
  for (guint r = 0; r < n_refs; r++)
    g_strfreev (refs[r]);
}

double
mva_bleu_nltk_score (const MvaBleuStats *stats,
                     guint               order,
                     MvaBleuSmoothing    smoothing)
{
  double terms[MVA_BLEU_MAX_ORDER];
  double weight;
  double bp;

  g_return_val_if_fail (stats != NULL, 0.0);
  g_return_val_if_fail (order >= 1 && order <= MVA_BLEU_MAX_ORDER, 0.0);

  if (stats->matches[0] == 0)
    return 0.0;

  /* brevity_penalty (closest_ref_len, hyp_len) */
  if (stats->hyp_len > stats->ref_len)
    bp = 1.0;
  else if (stats->hyp_len == 0)
    bp = 0.0;
  else
    bp = exp (1.0 - (double) stats->ref_len / (double) stats->hyp_len);

  weight = 1.0 / order;   /* (0.5, 0.5) and (0.25,) * 4 are exact */
  for (guint n = 0; n < order; n++)
    {
      double p;

      if (stats->matches[n] != 0)
        p = (double) stats->matches[n] / (double) stats->totals[n];
      else if (smoothing == MVA_BLEU_SMOOTH_METHOD1)
        p = 0.1 / (double) stats->totals[n];
      else
        p = DBL_MIN;
      terms[n] = weight * log (p);
    }
  return bp * exp (py_fsum (terms, order));
}

double
mva_bleu_nltk_sentence (const char         *candidate,
                        const char * const *references,
                        guint               order,
                        MvaBleuSmoothing    smoothing)
{
  MvaBleuStats stats = { { 0 } };

  mva_bleu_nltk_stats_add (&stats, candidate, references);
  return mva_bleu_nltk_score (&stats, order, smoothing);
}

/* --- sacrebleu --------------------------------------------------------------------- */

static char **
sacrebleu_tokens (const char           *text,
                  MvaSacrebleuTokenize  tokenize)
{
  g_autofree char *tmp = NULL;
  g_autofree char *stripped = NULL;

  if (tokenize == MVA_SACREBLEU_TOKENIZE_13A)
    return mva_metrics_tokenize_13a (text);
  stripped = _mva_py_rstrip (_mva_metrics_valid_utf8 (text, &tmp));
  return mva_metrics_split_whitespace (stripped);
}

gboolean
mva_sacrebleu_stats_add (MvaBleuStats        *stats,
                         const char          *candidate,
                         const char * const  *references,
                         MvaSacrebleuTokenize tokenize)
{
  g_auto(GStrv) hyp = NULL;
  guint n_in = _mva_strv_len ((char * const *) references);
  g_autofree char ***refs = g_new0 (char **, n_in + 1);
  g_autofree guint *ref_lens = g_new0 (guint, n_in + 1);
  guint64 matches[MVA_BLEU_MAX_ORDER] = { 0 };
  guint64 totals[MVA_BLEU_MAX_ORDER] = { 0 };
  guint n_refs = 0;
  guint hyp_len;

  g_return_val_if_fail (stats != NULL, FALSE);

  for (guint r = 0; r < n_in; r++)
    {
      if (references[r][0] == '\0')
        continue;   /* sacrebleu drops "" references */
      refs[n_refs] = sacrebleu_tokens (references[r], tokenize);
      ref_lens[n_refs] = _mva_strv_len (refs[n_refs]);
      n_refs++;
    }
  if (n_refs == 0)
    return FALSE;

  hyp = sacrebleu_tokens (candidate, tokenize);
  hyp_len = _mva_strv_len (hyp);
  count_clipped (hyp, hyp_len, refs, n_refs, matches, totals);
  for (guint n = 0; n < MVA_BLEU_MAX_ORDER; n++)
    {
      stats->matches[n] += matches[n];
      stats->totals[n] += totals[n];
    }
  stats->hyp_len += hyp_len;
  stats->ref_len += closest_ref_length (ref_lens, n_refs, hyp_len);
  stats->n_sentences++;
  for (guint r = 0; r < n_refs; r++)
    g_strfreev (refs[r]);
  return TRUE;
}

static double
my_log (double x)
{
  return x == 0.0 ? -9999999999.0 : log (x);
}

double
mva_sacrebleu_score (const MvaBleuStats *stats,
                     guint               order,
                     gboolean            effective_order)
{
  double precisions[MVA_BLEU_MAX_ORDER] = { 0.0 };
  double smooth_mteval = 1.0;
  double bp, sum = 0.0;
  guint eff_order = order;
  gboolean any = FALSE;

  g_return_val_if_fail (stats != NULL, 0.0);
  g_return_val_if_fail (order >= 1 && order <= MVA_BLEU_MAX_ORDER, 0.0);

  if (stats->hyp_len < stats->ref_len)
    bp = stats->hyp_len > 0 ? exp (1.0 - (double) stats->ref_len / (double) stats->hyp_len) : 0.0;
  else
    bp = 1.0;

  for (guint n = 0; n < order; n++)
    any = any || stats->matches[n] != 0;
  if (!any)
    return 0.0;

  for (guint n = 1; n <= order; n++)
    {
      if (stats->totals[n - 1] == 0)
        break;
      if (effective_order)
        eff_order = n;
      if (stats->matches[n - 1] == 0)
        {
          smooth_mteval *= 2.0;
          precisions[n - 1] = 100.0 / (smooth_mteval * (double) stats->totals[n - 1]);
        }
      else
        precisions[n - 1] = 100.0 * (double) stats->matches[n - 1] / (double) stats->totals[n - 1];
    }
  for (guint n = 0; n < eff_order; n++)
    sum += my_log (precisions[n]);
  return bp * exp (sum / eff_order) / 100.0;
}

double
mva_sacrebleu_sentence (const char          *candidate,
                        const char * const  *references,
                        guint                order,
                        MvaSacrebleuTokenize tokenize)
{
  MvaBleuStats stats = { { 0 } };

  if (!mva_sacrebleu_stats_add (&stats, candidate, references, tokenize))
    return 0.0;
  return mva_sacrebleu_score (&stats, order, TRUE);
}
