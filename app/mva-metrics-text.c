/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-metrics-text.c: the paper's metric configuration over a set of
 * (candidate, references) pairs: per pair nltk BLEU-2/4 (method0, whitespace
 * tokens), rouge_score ROUGE-1/2/L F1 without stemmer, nltk METEOR; for the
 * set, nltk corpus BLEU-2/4 and the mean of every sentence score.
 */
#define G_LOG_DOMAIN "mva-metrics"
#include "config.h"

#include <string.h>

#include "mva-metrics-private.h"

struct _MvaTextScorer
{
  MvaWordNet   *wordnet;   /* borrowed, nullable */
  MvaBleuStats  bleu;
  MvaTextScores sums;
  guint64       count;
};

MvaTextScorer *
mva_text_scorer_new (MvaWordNet *wordnet)
{
  MvaTextScorer *scorer = g_new0 (MvaTextScorer, 1);

  scorer->wordnet = wordnet;
  return scorer;
}

void
mva_text_scorer_free (MvaTextScorer *scorer)
{
  g_free (scorer);
}

gboolean
mva_text_scorer_has_wordnet (MvaTextScorer *scorer)
{
  g_return_val_if_fail (scorer != NULL, FALSE);
  return scorer->wordnet != NULL;
}

void
mva_text_scorer_add (MvaTextScorer      *scorer,
                     const char         *candidate,
                     const char * const *references,
                     MvaTextScores      *out)
{
  MvaBleuStats stats = { { 0 } };
  MvaRougeScores rouge;
  MvaTextScores s;

  g_return_if_fail (scorer != NULL);
  g_return_if_fail (candidate != NULL && references != NULL);

  mva_bleu_nltk_stats_add (&stats, candidate, references);
  s.bleu2 = mva_bleu_nltk_score (&stats, 2, MVA_BLEU_SMOOTH_METHOD0);
  s.bleu4 = mva_bleu_nltk_score (&stats, 4, MVA_BLEU_SMOOTH_METHOD0);
  mva_rouge_score (candidate, references, FALSE, &rouge);
  s.rouge1 = rouge.rouge1.fmeasure;
  s.rouge2 = rouge.rouge2.fmeasure;
  s.rougeL = rouge.rougeL.fmeasure;
  s.meteor = mva_meteor_score (candidate, references, scorer->wordnet);

  for (guint n = 0; n < MVA_BLEU_MAX_ORDER; n++)
    {
      scorer->bleu.matches[n] += stats.matches[n];
      scorer->bleu.totals[n] += stats.totals[n];
    }
  scorer->bleu.hyp_len += stats.hyp_len;
  scorer->bleu.ref_len += stats.ref_len;
  scorer->bleu.n_sentences++;
  scorer->sums.bleu2 += s.bleu2;
  scorer->sums.bleu4 += s.bleu4;
  scorer->sums.rouge1 += s.rouge1;
  scorer->sums.rouge2 += s.rouge2;
  scorer->sums.rougeL += s.rougeL;
  scorer->sums.meteor += s.meteor;
  scorer->count++;
  if (out != NULL)
    *out = s;
}

guint64
mva_text_scorer_get_count (MvaTextScorer *scorer)
{
  g_return_val_if_fail (scorer != NULL, 0);
  return scorer->count;
}

void
mva_text_scorer_get_corpus (MvaTextScorer *scorer,
                            MvaTextScores *corpus,
                            MvaTextScores *means)
{
  MvaTextScores m = { 0 };

  g_return_if_fail (scorer != NULL);

  if (scorer->count > 0)
    {
      double n = (double) scorer->count;

      m.bleu2 = scorer->sums.bleu2 / n;
      m.bleu4 = scorer->sums.bleu4 / n;
      m.rouge1 = scorer->sums.rouge1 / n;
      m.rouge2 = scorer->sums.rouge2 / n;
      m.rougeL = scorer->sums.rougeL / n;
      m.meteor = scorer->sums.meteor / n;
    }
  if (corpus != NULL)
    {
      *corpus = m;
      corpus->bleu2 = scorer->count > 0 ? mva_bleu_nltk_score (&scorer->bleu, 2, MVA_BLEU_SMOOTH_METHOD0) : 0.0;
      corpus->bleu4 = scorer->count > 0 ? mva_bleu_nltk_score (&scorer->bleu, 4, MVA_BLEU_SMOOTH_METHOD0) : 0.0;
    }
  if (means != NULL)
    *means = m;
}
