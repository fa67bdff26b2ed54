/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * test-metrics-cli.c: `mvaema-cli metrics --json` end to end: ids echoed with
 * their JSON type, the paper-configuration scores, error lines with line
 * numbers while the other lines are still scored, the corpus line, the exit
 * status, and the WordNet fallback note.
 */
#include "config.h"

#include <string.h>
#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "mva-metrics.h"

static const char *input =
  "{\"id\": \"a\", \"candidate\": \"The image shows round particles.\", "
  "\"references\": [\"The image depicts round particles.\"]}\n"
  "{\"id\": 7, \"candidate\": \"Nanowires cross the substrate\", "
  "\"references\": [\"nanowires lie across the substrate\", \"wires\"]}\n"
  "not json at all\n"
  "\n"
  "{\"id\": null, \"candidate\": \"x\", \"references\": \"x\"}\n"
  "{\"id\": [1, 2], \"candidate\": \"\", \"references\": [\"an empty answer scores 0\"]}\n";

static GPtrArray *
run_cli (const char  *wordnet_dir,
         int         *status,
         char       **err_text)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) proc = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;
  GPtrArray *lines = g_ptr_array_new_with_free_func ((GDestroyNotify) json_node_unref);
  const char *cli = g_getenv ("MVAEMA_CLI");
  g_auto(GStrv) split = NULL;

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE |
                                        G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                        G_SUBPROCESS_FLAGS_STDERR_PIPE);
  if (wordnet_dir != NULL)
    g_subprocess_launcher_setenv (launcher, "MVAEMA_WORDNET_DIR", wordnet_dir, TRUE);
  proc = g_subprocess_launcher_spawn (launcher, &error, cli, "metrics", "--json", NULL);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (proc, input, NULL, &out, err_text, &error);
  g_assert_no_error (error);
  *status = g_subprocess_get_exit_status (proc);
  split = g_strsplit (out, "\n", -1);
  for (guint i = 0; split[i] != NULL; i++)
    {
      if (split[i][0] == '\0')
        continue;
      g_ptr_array_add (lines, json_from_string (split[i], &error));
      g_assert_no_error (error);
    }
  return lines;
}

static JsonObject *
obj (GPtrArray *lines,
     guint      i)
{
  return json_node_get_object (lines->pdata[i]);
}

static void
check_scores (JsonObject         *o,
              const char         *cand,
              const char * const *refs,
              MvaWordNet         *wordnet)
{
  MvaRougeScores rouge;

  mva_rouge_score (cand, refs, FALSE, &rouge);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (o, "bleu2"),
                                  mva_bleu_nltk_sentence (cand, refs, 2, MVA_BLEU_SMOOTH_METHOD0), 1e-15);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (o, "bleu4"),
                                  mva_bleu_nltk_sentence (cand, refs, 4, MVA_BLEU_SMOOTH_METHOD0), 1e-15);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (o, "rouge1"), rouge.rouge1.fmeasure, 1e-15);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (o, "rouge2"), rouge.rouge2.fmeasure, 1e-15);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (o, "rougeL"), rouge.rougeL.fmeasure, 1e-15);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (o, "meteor"),
                                  mva_meteor_score (cand, refs, wordnet), 1e-15);
}

static void
test_json_lines (void)
{
  const char *wn_error = NULL;
  MvaWordNet *wordnet = mva_wordnet_get_default (&wn_error);
  const char *refs_a[] = { "The image depicts round particles.", NULL };
  const char *refs_b[] = { "nanowires lie across the substrate", "wires", NULL };
  g_autofree char *err = NULL;
  g_autoptr(GPtrArray) lines = NULL;
  JsonObject *o;
  int status;

  if (wordnet == NULL)
    {
      g_test_skip (wn_error);
      return;
    }
  lines = run_cli (NULL, &status, &err);
  if (lines->len != 6)
    g_printerr ("%s", err);
  g_assert_cmpint (status, !=, 0);
  g_assert_cmpuint (lines->len, ==, 6);

  o = obj (lines, 0);
  g_assert_cmpstr (json_object_get_string_member (o, "id"), ==, "a");
  check_scores (o, "The image shows round particles.", refs_a, wordnet);
  /* shows/depicts only match through WordNet: one chunk, 5 of 5 words */
  g_assert_cmpfloat (json_object_get_double_member (o, "meteor"), >, 0.99);

  o = obj (lines, 1);
  g_assert_cmpint (json_node_get_value_type (json_object_get_member (o, "id")), ==, G_TYPE_INT64);
  g_assert_cmpint (json_object_get_int_member (o, "id"), ==, 7);
  check_scores (o, "Nanowires cross the substrate", refs_b, wordnet);

  o = obj (lines, 2);
  g_assert_cmpint (json_object_get_int_member (o, "line"), ==, 3);
  g_assert_true (json_object_has_member (o, "error"));
  o = obj (lines, 3);
  g_assert_cmpint (json_object_get_int_member (o, "line"), ==, 5);
  g_assert_true (strstr (json_object_get_string_member (o, "error"), "references") != NULL);

  o = obj (lines, 4);
  g_assert_true (JSON_NODE_HOLDS_ARRAY (json_object_get_member (o, "id")));
  g_assert_cmpfloat (json_object_get_double_member (o, "bleu2"), ==, 0.0);
  g_assert_cmpfloat (json_object_get_double_member (o, "meteor"), ==, 0.0);

  o = obj (lines, 5);
  g_assert_cmpstr (json_object_get_string_member (o, "id"), ==, "corpus");
  g_assert_cmpint (json_object_get_int_member (o, "count"), ==, 3);
  g_assert_cmpint (json_object_get_int_member (o, "failed"), ==, 2);
  g_assert_true (json_object_get_boolean_member (o, "wordnet"));
  {
    double mean_meteor = (json_object_get_double_member (obj (lines, 0), "meteor") +
                          json_object_get_double_member (obj (lines, 1), "meteor") + 0.0) / 3.0;
    MvaBleuStats stats = { { 0 } };
    const char *refs_c[] = { "an empty answer scores 0", NULL };

    mva_bleu_nltk_stats_add (&stats, "The image shows round particles.", refs_a);
    mva_bleu_nltk_stats_add (&stats, "Nanowires cross the substrate", refs_b);
    mva_bleu_nltk_stats_add (&stats, "", refs_c);
    g_assert_cmpfloat_with_epsilon (json_object_get_double_member (o, "meteor"), mean_meteor, 1e-15);
    g_assert_cmpfloat_with_epsilon (json_object_get_double_member (o, "bleu2"),
                                    mva_bleu_nltk_score (&stats, 2, MVA_BLEU_SMOOTH_METHOD0), 1e-15);
  }
}

static void
test_no_wordnet (void)
{
  g_autofree char *err = NULL;
  g_autoptr(GPtrArray) lines = run_cli ("/nonexistent-wordnet", &(int) { 0 }, &err);
  const char *refs_a[] = { "The image depicts round particles.", NULL };
  JsonObject *o;

  g_assert_true (strstr (err, "METEOR uses exact and stem matches only") != NULL);
  o = obj (lines, 0);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (o, "meteor"),
                                  mva_meteor_score ("The image shows round particles.", refs_a, NULL),
                                  1e-15);
  g_assert_cmpfloat (json_object_get_double_member (o, "meteor"), <, 0.9);
  o = obj (lines, lines->len - 1);
  g_assert_false (json_object_get_boolean_member (o, "wordnet"));
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  if (g_getenv ("MVAEMA_CLI") == NULL)
    return 77;
  g_test_add_func ("/Mva/Metrics/cli/json-lines", test_json_lines);
  g_test_add_func ("/Mva/Metrics/cli/no-wordnet", test_no_wordnet);
  return g_test_run ();
}
