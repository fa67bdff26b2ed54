/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * fuzz-metrics-text.c: libFuzzer target for the text metrics: every tokeniser
 * (whitespace, sacrebleu 13a, rouge with and without Porter), the Porter
 * stemmer, nltk and sacrebleu BLEU, ROUGE, METEOR with and without WordNet
 * (morphy on fuzzed words), and the CLI's kind of input: arbitrary bytes,
 * invalid UTF-8 included.
 *
 * Input: candidate, then '\n', then references separated by '\x1e'.
 * Invariants (abort on violation): every score is finite and in [0, 1];
 * whitespace tokens hold no Python whitespace; rouge tokens are [a-z0-9]+;
 * a candidate scored against itself has ROUGE-1 F1 1 when it has a token.
 */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mva-metrics.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
check_score (double v)
{
  if (!isfinite (v) || v < 0.0 || v > 1.0 + 1e-12)
    abort ();
}

static void
check_tokens (const char *text)
{
  char **ws = mva_metrics_split_whitespace (text);
  char **rg = mva_metrics_tokenize_rouge (text, FALSE);
  char **rs = mva_metrics_tokenize_rouge (text, TRUE);
  char **t13 = mva_metrics_tokenize_13a (text);

  for (guint i = 0; ws[i] != NULL; i++)
    {
      if (ws[i][0] == '\0' || strpbrk (ws[i], " \t\n\r\v\f") != NULL)
        abort ();
      g_free (mva_porter_stem (ws[i]));
    }
  for (guint i = 0; rg[i] != NULL; i++)
    if (rg[i][0] == '\0' || strspn (rg[i], "abcdefghijklmnopqrstuvwxyz0123456789") != strlen (rg[i]))
      abort ();
  for (guint i = 0; rs[i] != NULL; i++)
    if (rs[i][0] == '\0' || strspn (rs[i], "abcdefghijklmnopqrstuvwxyz0123456789") != strlen (rs[i]))
      abort ();
  for (guint i = 0; t13[i] != NULL; i++)
    if (t13[i][0] == '\0')
      abort ();
  g_strfreev (ws);
  g_strfreev (rg);
  g_strfreev (rs);
  g_strfreev (t13);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  static MvaWordNet *wordnet;
  static gboolean wordnet_tried;
  char *text = g_strndup ((const char *) data, size);   /* stops at a NUL byte */
  char *nl = strchr (text, '\n');
  char **refs;
  const char *cand = text;
  const char *self[2] = { text, NULL };
  MvaRougeScores rouge;
  MvaBleuStats stats = { { 0 } };

  if (!wordnet_tried)
    {
      wordnet = mva_wordnet_get_default (NULL);
      wordnet_tried = TRUE;
    }
  if (nl != NULL)
    {
      *nl = '\0';
      refs = g_strsplit (nl + 1, "\x1e", 8);
    }
  else
    refs = g_strsplit ("", "\x1e", 8);   /* one empty reference */
  if (refs[0] == NULL)
    {
      g_strfreev (refs);
      refs = g_new0 (char *, 2);
      refs[0] = g_strdup ("");
    }

  check_tokens (cand);
  for (guint i = 0; refs[i] != NULL; i++)
    check_tokens (refs[i]);

  for (guint order = 1; order <= 4; order++)
    {
      check_score (mva_bleu_nltk_sentence (cand, (const char * const *) refs, order, MVA_BLEU_SMOOTH_METHOD0));
      check_score (mva_bleu_nltk_sentence (cand, (const char * const *) refs, order, MVA_BLEU_SMOOTH_METHOD1));
      check_score (mva_sacrebleu_sentence (cand, (const char * const *) refs, order, MVA_SACREBLEU_TOKENIZE_13A));
      check_score (mva_sacrebleu_sentence (cand, (const char * const *) refs, order, MVA_SACREBLEU_TOKENIZE_NONE));
    }
  mva_bleu_nltk_stats_add (&stats, cand, (const char * const *) refs);
  mva_bleu_nltk_stats_add (&stats, refs[0], self);
  check_score (mva_bleu_nltk_score (&stats, 4, MVA_BLEU_SMOOTH_METHOD0));

  mva_rouge_score (cand, (const char * const *) refs, FALSE, &rouge);
  check_score (rouge.rouge1.fmeasure);
  check_score (rouge.rouge2.fmeasure);
  check_score (rouge.rougeL.fmeasure);
  mva_rouge_score (cand, (const char * const *) refs, TRUE, &rouge);
  check_score (rouge.rougeL.fmeasure);
  mva_rouge_score (cand, self, FALSE, &rouge);
  {
    char **toks = mva_metrics_tokenize_rouge (cand, FALSE);

    if (toks[0] != NULL && fabs (rouge.rouge1.fmeasure - 1.0) > 1e-12)
      abort ();
    g_strfreev (toks);
  }

  check_score (mva_meteor_score (cand, (const char * const *) refs, NULL));
  check_score (mva_meteor_score (cand, (const char * const *) refs, wordnet));

  g_strfreev (refs);
  g_free (text);
  return 0;
}
