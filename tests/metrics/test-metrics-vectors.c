/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * test-metrics-vectors.c: reproduces every score of
 * $MVAEMA_SHARED_DIR/metrics/vectors.json (nltk 3.8 BLEU and METEOR with
 * WordNet 3.0, rouge_score, sacrebleu 2.6): the 16 per-case scores, the token
 * lists of every tokeniser, the METEOR alignments, and the corpus blocks
 * (corpus BLEU and the means of the sentence scores).
 *
 * Tolerance: 1e-9 absolute; values below 1e-3 (nltk method0 can give
 * 1e-77) are compared with 1e-9 relative tolerance. Skips (77) without the
 * vectors file or without WordNet.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <json-glib/json-glib.h>

#include "mva-metrics.h"

#define N_KEYS 16

static const char * const score_keys[N_KEYS] = {
  "nltk_bleu2_method0", "nltk_bleu2_method1", "nltk_bleu4_method0", "nltk_bleu4_method1",
  "sacrebleu_bleu2_13a", "sacrebleu_bleu2_none", "sacrebleu_bleu4_13a", "sacrebleu_bleu4_none",
  "rouge1_f", "rouge2_f", "rougeL_f", "rouge1_f_porter", "rouge2_f_porter", "rougeL_f_porter",
  "meteor", "meteor_no_wordnet",
};

static int failures;
static int checks;

static gboolean
close_enough (double got,
              double want)
{
  double diff = fabs (got - want);

  if (fabs (want) < 1e-3)
    return diff <= 1e-9 * fabs (want) || diff <= 1e-300;
  return diff <= 1e-9;
}

static void
check_value (const char *where,
             const char *key,
             double      got,
             double      want)
{
  checks++;
  if (!close_enough (got, want))
    {
      failures++;
      printf ("FAIL %s %s: got %.17g want %.17g (diff %.3g)\n", where, key, got, want,
              fabs (got - want));
    }
}

static void
check_tokens (const char *where,
              const char *kind,
              char      **got,
              JsonArray  *want)
{
  guint n = g_strv_length (got);
  gboolean ok = n == json_array_get_length (want);

  for (guint i = 0; ok && i < n; i++)
    ok = strcmp (got[i], json_array_get_string_element (want, i)) == 0;
  checks++;
  if (!ok)
    {
      g_autofree char *joined = g_strjoinv ("|", got);

      failures++;
      printf ("FAIL %s tokens %s: got %s\n", where, kind, joined);
    }
}

static char **
porter_meteor_tokens (const char *text)
{
  g_auto(GStrv) raw = mva_metrics_split_whitespace (text);
  guint n = g_strv_length (raw);
  char **out = g_new0 (char *, n + 1);

  for (guint i = 0; i < n; i++)
    {
      g_autofree char *lower = mva_metrics_lower (raw[i]);
      out[i] = mva_porter_stem (lower);
    }
  return out;
}

static void
compute_scores (const char         *cand,
                const char * const *refs,
                MvaWordNet         *wordnet,
                double             *out)
{
  MvaRougeScores rouge, rouge_p;

  out[0] = mva_bleu_nltk_sentence (cand, refs, 2, MVA_BLEU_SMOOTH_METHOD0);
  out[1] = mva_bleu_nltk_sentence (cand, refs, 2, MVA_BLEU_SMOOTH_METHOD1);
  out[2] = mva_bleu_nltk_sentence (cand, refs, 4, MVA_BLEU_SMOOTH_METHOD0);
  out[3] = mva_bleu_nltk_sentence (cand, refs, 4, MVA_BLEU_SMOOTH_METHOD1);
  out[4] = mva_sacrebleu_sentence (cand, refs, 2, MVA_SACREBLEU_TOKENIZE_13A);
  out[5] = mva_sacrebleu_sentence (cand, refs, 2, MVA_SACREBLEU_TOKENIZE_NONE);
  out[6] = mva_sacrebleu_sentence (cand, refs, 4, MVA_SACREBLEU_TOKENIZE_13A);
  out[7] = mva_sacrebleu_sentence (cand, refs, 4, MVA_SACREBLEU_TOKENIZE_NONE);
  mva_rouge_score (cand, refs, FALSE, &rouge);
  mva_rouge_score (cand, refs, TRUE, &rouge_p);
  out[8] = rouge.rouge1.fmeasure;
  out[9] = rouge.rouge2.fmeasure;
  out[10] = rouge.rougeL.fmeasure;
  out[11] = rouge_p.rouge1.fmeasure;
  out[12] = rouge_p.rouge2.fmeasure;
  out[13] = rouge_p.rougeL.fmeasure;
  out[14] = mva_meteor_score (cand, refs, wordnet);
  out[15] = mva_meteor_score (cand, refs, NULL);
}

static char **
case_references (JsonObject *c)
{
  JsonArray *a = json_object_get_array_member (c, "references");
  guint n = json_array_get_length (a);
  char **refs = g_new0 (char *, n + 1);

  for (guint i = 0; i < n; i++)
    refs[i] = g_strdup (json_array_get_string_element (a, i));
  return refs;
}

static void
check_case_tokens (const char *id,
                   JsonObject *c,
                   char      **refs)
{
  JsonObject *tokens = json_object_get_object_member (c, "tokens");
  const char *cand = json_object_get_string_member (c, "candidate");
  static const char * const kinds[] = {
    "whitespace", "sacrebleu_13a", "rouge", "rouge_porter", "meteor_porter",
  };

  for (gsize k = 0; k < G_N_ELEMENTS (kinds); k++)
    {
      JsonObject *t;
      JsonArray *want_refs;

      if (tokens == NULL || !json_object_has_member (tokens, kinds[k]))
        continue;
      t = json_object_get_object_member (tokens, kinds[k]);
      want_refs = json_object_get_array_member (t, "references");
      for (guint r = 0; r <= g_strv_length (refs); r++)
        {
          const char *text = r == 0 ? cand : refs[r - 1];
          JsonArray *want = r == 0 ? json_object_get_array_member (t, "candidate")
                                   : json_array_get_array_element (want_refs, r - 1);
          g_auto(GStrv) got = NULL;
          g_autofree char *where = g_strdup_printf ("%s[%s]", id, r == 0 ? "cand" : "ref");

          if (k == 0)
            got = mva_metrics_split_whitespace (text);
          else if (k == 1)
            got = mva_metrics_tokenize_13a (text);
          else if (k == 2 || k == 3)
            got = mva_metrics_tokenize_rouge (text, k == 3);
          else
            got = porter_meteor_tokens (text);
          check_tokens (where, kinds[k], got, want);
        }
    }
}

static void
check_meteor_alignment (const char *id,
                        JsonObject *c,
                        char      **refs,
                        MvaWordNet *wordnet)
{
  JsonObject *details = json_object_get_object_member (c, "details");
  const char *cand = json_object_get_string_member (c, "candidate");
  JsonArray *list;

  if (details == NULL || !json_object_has_member (details, "meteor"))
    return;
  list = json_object_get_array_member (details, "meteor");
  for (guint r = 0; r < json_array_get_length (list) && refs[r] != NULL; r++)
    {
      JsonObject *d = json_array_get_object_element (list, r);
      JsonArray *want = json_object_get_array_member (d, "alignment");
      g_autoptr(GArray) got = g_array_new (FALSE, FALSE, sizeof (guint));
      guint chunks = 0;
      double score = mva_meteor_single (cand, refs[r], wordnet, NULL, got, &chunks);
      gboolean ok = got->len == 2 * json_array_get_length (want);
      g_autofree char *where = g_strdup_printf ("%s[ref %u]", id, r);

      for (guint i = 0; ok && i < json_array_get_length (want); i++)
        {
          JsonArray *pair = json_array_get_array_element (want, i);

          ok = g_array_index (got, guint, 2 * i) == json_array_get_int_element (pair, 0) &&
               g_array_index (got, guint, 2 * i + 1) == json_array_get_int_element (pair, 1);
        }
      checks++;
      if (!ok)
        {
          failures++;
          printf ("FAIL %s meteor alignment differs (%u pairs, want %u)\n", where,
                  got->len / 2, json_array_get_length (want));
        }
      check_value (where, "meteor single", score, json_object_get_double_member (d, "score"));
      if (json_object_get_int_member (d, "matches") > 0)
        check_value (where, "meteor chunks", chunks, json_object_get_int_member (d, "chunks"));
    }
}

int
main (void)
{
  const char *shared = g_getenv ("MVAEMA_SHARED_DIR");
  g_autofree char *path = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GHashTable) case_scores = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  g_autoptr(GHashTable) case_objects = g_hash_table_new (g_str_hash, g_str_equal);
  const char *wn_error = NULL;
  MvaWordNet *wordnet;
  JsonObject *root;
  JsonArray *cases, *corpus;

  if (shared == NULL)
    {
      printf ("SKIP: MVAEMA_SHARED_DIR not set\n");
      return 77;
    }
  path = g_build_filename (shared, "metrics", "vectors.json", NULL);
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      printf ("SKIP: %s not found\n", path);
      return 77;
    }
  wordnet = mva_wordnet_get_default (&wn_error);
  if (wordnet == NULL)
    {
      printf ("SKIP: %s\n", wn_error);
      return 77;
    }
  if (!json_parser_load_from_file (parser, path, &error))
    {
      printf ("FAIL: %s: %s\n", path, error->message);
      return 1;
    }
  root = json_node_get_object (json_parser_get_root (parser));
  cases = json_object_get_array_member (root, "cases");
  corpus = json_object_get_array_member (root, "corpus");

  for (guint i = 0; i < json_array_get_length (cases); i++)
    {
      JsonObject *c = json_array_get_object_element (cases, i);
      const char *id = json_object_get_string_member (c, "id");
      const char *cand = json_object_get_string_member (c, "candidate");
      JsonObject *want = json_object_get_object_member (c, "scores");
      g_auto(GStrv) refs = case_references (c);
      double *got = g_new0 (double, N_KEYS);

      compute_scores (cand, (const char * const *) refs, wordnet, got);
      for (int k = 0; k < N_KEYS; k++)
        check_value (id, score_keys[k], got[k], json_object_get_double_member (want, score_keys[k]));
      check_case_tokens (id, c, refs);
      check_meteor_alignment (id, c, refs, wordnet);
      g_hash_table_insert (case_scores, (gpointer) id, got);
      g_hash_table_insert (case_objects, (gpointer) id, c);
    }

  for (guint b = 0; b < json_array_get_length (corpus); b++)
    {
      JsonObject *block = json_array_get_object_element (corpus, b);
      const char *name = json_object_get_string_member (block, "name");
      JsonArray *ids = json_object_get_array_member (block, "case_ids");
      JsonObject *want = json_object_get_object_member (block, "scores");
      JsonObject *want_means = json_object_get_object_member (block, "sentence_score_means");
      MvaBleuStats nltk = { { 0 } };
      MvaBleuStats sb13a = { { 0 } }, sbnone = { { 0 } };
      double sums[N_KEYS] = { 0 };
      guint n = json_array_get_length (ids);

      for (guint i = 0; i < n; i++)
        {
          const char *id = json_array_get_string_element (ids, i);
          JsonObject *c = g_hash_table_lookup (case_objects, id);
          const double *s = g_hash_table_lookup (case_scores, id);
          g_auto(GStrv) refs = NULL;
          const char *cand;

          g_assert (c != NULL && s != NULL);
          refs = case_references (c);
          cand = json_object_get_string_member (c, "candidate");
          mva_bleu_nltk_stats_add (&nltk, cand, (const char * const *) refs);
          mva_sacrebleu_stats_add (&sb13a, cand, (const char * const *) refs, MVA_SACREBLEU_TOKENIZE_13A);
          mva_sacrebleu_stats_add (&sbnone, cand, (const char * const *) refs, MVA_SACREBLEU_TOKENIZE_NONE);
          for (int k = 0; k < N_KEYS; k++)
            sums[k] += s[k];
        }
      check_value (name, "nltk_corpus_bleu2_method0", mva_bleu_nltk_score (&nltk, 2, MVA_BLEU_SMOOTH_METHOD0),
                   json_object_get_double_member (want, "nltk_corpus_bleu2_method0"));
      check_value (name, "nltk_corpus_bleu2_method1", mva_bleu_nltk_score (&nltk, 2, MVA_BLEU_SMOOTH_METHOD1),
                   json_object_get_double_member (want, "nltk_corpus_bleu2_method1"));
      check_value (name, "nltk_corpus_bleu4_method0", mva_bleu_nltk_score (&nltk, 4, MVA_BLEU_SMOOTH_METHOD0),
                   json_object_get_double_member (want, "nltk_corpus_bleu4_method0"));
      check_value (name, "nltk_corpus_bleu4_method1", mva_bleu_nltk_score (&nltk, 4, MVA_BLEU_SMOOTH_METHOD1),
                   json_object_get_double_member (want, "nltk_corpus_bleu4_method1"));
      check_value (name, "sacrebleu_corpus_bleu2_13a", mva_sacrebleu_score (&sb13a, 2, FALSE),
                   json_object_get_double_member (want, "sacrebleu_corpus_bleu2_13a"));
      check_value (name, "sacrebleu_corpus_bleu4_13a", mva_sacrebleu_score (&sb13a, 4, FALSE),
                   json_object_get_double_member (want, "sacrebleu_corpus_bleu4_13a"));
      check_value (name, "sacrebleu_corpus_bleu2_none", mva_sacrebleu_score (&sbnone, 2, FALSE),
                   json_object_get_double_member (want, "sacrebleu_corpus_bleu2_none"));
      check_value (name, "sacrebleu_corpus_bleu4_none", mva_sacrebleu_score (&sbnone, 4, FALSE),
                   json_object_get_double_member (want, "sacrebleu_corpus_bleu4_none"));
      for (int k = 0; k < N_KEYS; k++)
        {
          g_autofree char *key = g_strdup_printf ("mean %s", score_keys[k]);

          check_value (name, key, sums[k] / n, json_object_get_double_member (want_means, score_keys[k]));
        }
    }

  printf ("%d checks, %d failures\n", checks, failures);
  return failures == 0 ? 0 : 1;
}
