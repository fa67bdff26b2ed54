/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-metrics-rouge.c: ROUGE-1, ROUGE-2 and ROUGE-L as Google's rouge_score
 * 0.1.2 (rouge_scorer.py) computes them: its own tokenizer, n-gram overlap
 * with max (count, 1) denominators, sentence-level LCS (not rougeLsum),
 * F1 = 2PR / (P + R), and score_multi's best-F1 reference per type (the
 * first on ties).
 */
#define G_LOG_DOMAIN "mva-metrics"
#include "config.h"

#include <string.h>

#include "mva-metrics-private.h"

static double
fmeasure (double precision,
          double recall)
{
  if (precision + recall > 0)
    return 2 * precision * recall / (precision + recall);
  return 0.0;
}

/* _score_ngrams (target_ngrams, prediction_ngrams) */
static MvaRougeScore
score_ngrams (const guint32 *target,
              guint          n_target,
              const guint32 *prediction,
              guint          n_prediction,
              guint          n)
{
  MvaNgrams t, p;
  guint64 inter;
  MvaRougeScore s;

  _mva_ngrams_init (&t, target, n_target, n);
  _mva_ngrams_init (&p, prediction, n_prediction, n);
  inter = _mva_ngrams_overlap (&t, &p);
  s.precision = (double) inter / (double) MAX (p.n, 1);
  s.recall = (double) inter / (double) MAX (t.n, 1);
  s.fmeasure = fmeasure (s.precision, s.recall);
  _mva_ngrams_clear (&t);
  _mva_ngrams_clear (&p);
  return s;
}

/* _score_lcs (target_tokens, prediction_tokens) */
static MvaRougeScore
score_lcs (const guint32 *target,
           guint          n_target,
           const guint32 *prediction,
           guint          n_prediction)
{
  MvaRougeScore s = { 0.0, 0.0, 0.0 };
  guint *prev, *cur;
  guint lcs;

  if (n_target == 0 || n_prediction == 0)
    return s;

  /* two rows of the DP table suffice for the length */
  prev = g_new0 (guint, n_prediction + 1);
  cur = g_new0 (guint, n_prediction + 1);
  for (guint i = 1; i <= n_target; i++)
    {
      guint *tmp;

      cur[0] = 0;
      for (guint j = 1; j <= n_prediction; j++)
        {
          if (target[i - 1] == prediction[j - 1])
            cur[j] = prev[j - 1] + 1;
          else
            cur[j] = MAX (prev[j], cur[j - 1]);
        }
      tmp = prev;
      prev = cur;
      cur = tmp;
    }
  lcs = prev[n_prediction];
  g_free (prev);
  g_free (cur);

  s.precision = (double) lcs / (double) n_prediction;
  s.recall = (double) lcs / (double) n_target;
  s.fmeasure = fmeasure (s.precision, s.recall);
  return s;
}

void
mva_rouge_score (const char         *candidate,
                 const char * const *references,
                 gboolean            stem,
                 MvaRougeScores     *out)
{
  g_auto(GStrv) pred = NULL;
  g_autoptr(GHashTable) vocab = NULL;
  g_autofree guint32 *pred_ids = NULL;
  guint n_vocab_pred;
  guint n_pred;
  guint n_refs;

  g_return_if_fail (out != NULL);

  memset (out, 0, sizeof *out);
  n_refs = _mva_strv_len ((char * const *) references);
  if (n_refs == 0)
    return;

  pred = mva_metrics_tokenize_rouge (candidate, stem);
  n_pred = _mva_strv_len (pred);
  vocab = g_hash_table_new (g_str_hash, g_str_equal);
  pred_ids = _mva_intern_tokens (vocab, pred, n_pred);
  n_vocab_pred = g_hash_table_size (vocab);
  for (guint r = 0; r < n_refs; r++)
    {
      g_auto(GStrv) target = mva_metrics_tokenize_rouge (references[r], stem);
      guint n_target = _mva_strv_len (target);
      g_autofree guint32 *target_ids = _mva_intern_tokens (vocab, target, n_target);
      MvaRougeScore r1 = score_ngrams (target_ids, n_target, pred_ids, n_pred, 1);
      MvaRougeScore r2 = score_ngrams (target_ids, n_target, pred_ids, n_pred, 2);
      MvaRougeScore rl = score_lcs (target_ids, n_target, pred_ids, n_pred);

      /* np.argmax over fmeasure: the first maximum wins */
      if (r == 0 || r1.fmeasure > out->rouge1.fmeasure)
        out->rouge1 = r1;
      if (r == 0 || r2.fmeasure > out->rouge2.fmeasure)
        out->rouge2 = r2;
      if (r == 0 || rl.fmeasure > out->rougeL.fmeasure)
        out->rougeL = rl;
      /* the reference's tokens leave the vocabulary with it */
      for (guint i = 0; i < n_target; i++)
        if (target_ids[i] >= n_vocab_pred)
          g_hash_table_remove (vocab, target[i]);
    }
}
