/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-cli-metrics.c: `mvaema-cli metrics [--json]`.
 *
 * Reads JSON Lines on stdin, each {"id": ..., "candidate": "...",
 * "references": ["...", ...]}, and scores every pair in the paper's
 * configuration (nltk BLEU-2/4 method0 on whitespace tokens, rouge_score
 * ROUGE-1/2/L F1 without stemmer, nltk METEOR with WordNet 3.0). Output, one
 * line per input line in input order:
 *   {"id": <as given>, "bleu2", "bleu4", "rouge1", "rouge2", "rougeL", "meteor"}
 *   {"line": N, "error": "..."}            for a line that cannot be scored
 * then {"id": "corpus", ...} with corpus BLEU-2/4 and the mean of each other
 * sentence score (plus "count", "mean_bleu2", "mean_bleu4", "wordnet").
 * Without --json the same as a table. Exit status 1 when a line failed.
 */
#define G_LOG_DOMAIN "mva-cli"
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mva-cli.h"
#include "mva-metrics.h"
#include "mva-report.h"

typedef struct
{
  gboolean       json;
  MvaTextScorer *scorer;
  guint          n_failed;
} MetricsRun;

/* Parses one line; on success fills candidate/references/id (borrowed from
 * the parser, id a node copy) and returns TRUE. */
static gboolean
parse_line (JsonParser   *parser,
            const char   *line,
            gsize         len,
            const char  **candidate,
            GPtrArray    *references,
            JsonNode    **id,
            char        **error_message)
{
  g_autoptr(GError) error = NULL;
  JsonNode *root;
  JsonObject *obj;
  JsonNode *node;
  JsonArray *refs;

  if (!json_parser_load_from_data (parser, line, (gssize) len, &error))
    {
      *error_message = g_strdup_printf ("invalid JSON: %s", error->message);
      return FALSE;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      *error_message = g_strdup ("expected a JSON object");
      return FALSE;
    }
  obj = json_node_get_object (root);
  if (json_object_has_member (obj, "id"))
    *id = json_node_copy (json_object_get_member (obj, "id"));
  else
    {
      *error_message = g_strdup ("missing \"id\"");
      return FALSE;
    }

  node = json_object_get_member (obj, "candidate");
  if (node == NULL || json_node_get_value_type (node) != G_TYPE_STRING)
    {
      *error_message = g_strdup ("\"candidate\" must be a string");
      return FALSE;
    }
  *candidate = json_node_get_string (node);

  node = json_object_get_member (obj, "references");
  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    {
      *error_message = g_strdup ("\"references\" must be an array of strings");
      return FALSE;
    }
  refs = json_node_get_array (node);
  if (json_array_get_length (refs) == 0)
    {
      *error_message = g_strdup ("\"references\" is empty");
      return FALSE;
    }
  for (guint i = 0; i < json_array_get_length (refs); i++)
    {
      JsonNode *r = json_array_get_element (refs, i);

      if (json_node_get_value_type (r) != G_TYPE_STRING)
        {
          *error_message = g_strdup_printf ("\"references\"[%u] is not a string", i);
          return FALSE;
        }
      g_ptr_array_add (references, (gpointer) json_node_get_string (r));
    }
  g_ptr_array_add (references, NULL);
  return TRUE;
}

static char *
id_to_text (JsonNode *id)
{
  g_autoptr(JsonGenerator) gen = NULL;

  if (json_node_get_value_type (id) == G_TYPE_STRING)
    return g_strdup (json_node_get_string (id));
  gen = json_generator_new ();
  json_generator_set_root (gen, id);
  return json_generator_to_data (gen, NULL);
}

static void
print_row (const char          *label,
           const MvaTextScores *s)
{
  g_autofree char *shown = NULL;

  if (g_utf8_strlen (label, -1) > 24)
    {
      g_autofree char *head = g_utf8_substring (label, 0, 23);
      shown = g_strconcat (head, "…", NULL);
    }
  else
    shown = g_strdup (label);
  /* pad by characters, not bytes */
  printf ("%s%*s %7.4f %7.4f %7.4f %7.4f %7.4f %7.4f\n", shown,
          (int) (24 - g_utf8_strlen (shown, -1)), "",
          s->bleu2, s->bleu4, s->rouge1, s->rouge2, s->rougeL, s->meteor);
}

static void
report_error (MetricsRun *run,
              guint64     line_no,
              JsonNode   *id,
              const char *message)
{
  run->n_failed++;
  if (run->json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "line");
      json_builder_add_int_value (b, (gint64) line_no);
      if (id != NULL)
        {
          json_builder_set_member_name (b, "id");
          json_builder_add_value (b, json_node_copy (id));
        }
      json_builder_set_member_name (b, "error");
      json_builder_add_string_value (b, message);
      json_builder_end_object (b);
      mva_cli_print_builder (b);
    }
  else
    {
      fflush (stdout);
      fprintf (stderr, "mvaema-cli: metrics: line %" G_GUINT64_FORMAT ": %s\n", line_no, message);
    }
}

static void
score_line (MetricsRun *run,
            JsonParser *parser,
            guint64     line_no,
            const char *line,
            gsize       len)
{
  g_autoptr(GPtrArray) refs = g_ptr_array_new ();
  g_autoptr(JsonNode) id = NULL;
  g_autofree char *error_message = NULL;
  const char *candidate = NULL;
  MvaTextScores s;

  if (!g_utf8_validate (line, (gssize) len, NULL))
    {
      report_error (run, line_no, NULL, "not valid UTF-8");
      return;
    }
  if (!parse_line (parser, line, len, &candidate, refs, &id, &error_message))
    {
      report_error (run, line_no, id, error_message);
      return;
    }
  mva_text_scorer_add (run->scorer, candidate, (const char * const *) refs->pdata, &s);
  if (run->json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "id");
      json_builder_add_value (b, g_steal_pointer (&id));
      mva_report_add_text_scores_json (b, &s);
      json_builder_end_object (b);
      mva_cli_print_builder (b);
    }
  else
    {
      g_autofree char *label = id_to_text (id);
      print_row (label, &s);
    }
}

static gboolean
line_is_blank (const char *line,
               gsize       len)
{
  for (gsize i = 0; i < len; i++)
    if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r' && line[i] != '\n')
      return FALSE;
  return TRUE;
}

int
mva_cli_metrics (int    argc,
                 char **argv)
{
  gboolean json = FALSE;
  gboolean no_wordnet = FALSE;
  g_autofree char *wordnet_dir = NULL;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "One JSON object per line", NULL },
    { "wordnet", 0, 0, G_OPTION_ARG_FILENAME, &wordnet_dir,
      "WordNet 3.0 database folder (default: $MVAEMA_WORDNET_DIR or " WORDNET_DIR ")", "DIR" },
    { "no-wordnet", 0, 0, G_OPTION_ARG_NONE, &no_wordnet,
      "METEOR without the WordNet synonym stage", NULL },
    { NULL }
  };
  g_autoptr(MvaWordNet) own_wordnet = NULL;
  g_autoptr(MvaTextScorer) scorer = NULL;
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  GCancellable *cancellable = mva_cli_cancellable ();
  MvaWordNet *wordnet = NULL;
  MetricsRun run = { 0 };
  MvaTextScores corpus, means;
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  guint64 line_no = 0;
  gboolean tty = isatty (STDERR_FILENO);

  if (!mva_cli_parse ("metrics", NULL,
                      "Score candidate answers against references (BLEU-2/4, ROUGE-1/2/L, METEOR).\n"
                      "Reads JSON Lines {\"id\", \"candidate\", \"references\"} on standard input.",
                      entries, &argc, &argv))
    return 2;
  if (argc > 1)
    return mva_cli_fail ("metrics: unexpected argument “%s”", argv[1]);

  if (!no_wordnet)
    {
      const char *message = NULL;

      if (wordnet_dir != NULL)
        {
          g_autoptr(GError) error = NULL;

          own_wordnet = mva_wordnet_open (wordnet_dir, &error);
          if (own_wordnet == NULL)
            return mva_cli_fail ("metrics: WordNet not readable in %s: %s", wordnet_dir,
                                 error->message);
          wordnet = own_wordnet;
        }
      else
        wordnet = mva_wordnet_get_default (&message);
      if (wordnet == NULL)
        fprintf (stderr, "mvaema-cli: metrics: %s; METEOR uses exact and stem matches only\n",
                 message);
    }

  scorer = mva_text_scorer_new (wordnet);
  run.json = json;
  run.scorer = scorer;
  if (!json)
    printf ("%-24s %7s %7s %7s %7s %7s %7s\n", "id", "BLEU-2", "BLEU-4", "ROUGE-1",
            "ROUGE-2", "ROUGE-L", "METEOR");

  errno = 0;
  while ((len = getline (&line, &cap, stdin)) >= 0)
    {
      line_no++;
      if (g_cancellable_is_cancelled (cancellable))
        break;
      while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        line[--len] = '\0';
      if (line_is_blank (line, (gsize) len))
        continue;
      if (memchr (line, '\0', (gsize) len) != NULL)
        {
          report_error (&run, line_no, NULL, "line contains a NUL byte");
          continue;
        }
      score_line (&run, parser, line_no, line, (gsize) len);
      if (tty && line_no % 1000 == 0)
        mva_cli_progress ("metrics: %" G_GUINT64_FORMAT " lines", line_no);
    }
  free (line);
  mva_cli_progress_done ();
  if (g_cancellable_is_cancelled (cancellable))
    return mva_cli_fail ("metrics: interrupted after %" G_GUINT64_FORMAT " lines", line_no);
  if (ferror (stdin))
    return mva_cli_fail ("metrics: cannot read standard input: %s", g_strerror (errno));

  mva_text_scorer_get_corpus (scorer, &corpus, &means);
  if (json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "id");
      json_builder_add_string_value (b, "corpus");
      mva_report_add_text_scores_json (b, &corpus);
      json_builder_set_member_name (b, "mean_bleu2");
      json_builder_add_double_value (b, means.bleu2);
      json_builder_set_member_name (b, "mean_bleu4");
      json_builder_add_double_value (b, means.bleu4);
      json_builder_set_member_name (b, "count");
      json_builder_add_int_value (b, (gint64) mva_text_scorer_get_count (scorer));
      json_builder_set_member_name (b, "failed");
      json_builder_add_int_value (b, run.n_failed);
      json_builder_set_member_name (b, "wordnet");
      json_builder_add_boolean_value (b, wordnet != NULL);
      json_builder_end_object (b);
      mva_cli_print_builder (b);
    }
  else
    {
      printf ("%s\n", "------------------------------------------------------------------");
      print_row ("corpus", &corpus);
      print_row ("mean of sentences", &means);
      printf ("%" G_GUINT64_FORMAT " pairs scored, %u failed; corpus row: corpus BLEU, "
              "mean ROUGE and METEOR%s\n", mva_text_scorer_get_count (scorer), run.n_failed,
              wordnet != NULL ? "" : " (METEOR without WordNet)");
    }
  fflush (stdout);
  if (run.n_failed > 0)
    return mva_cli_fail ("metrics: %u line%s could not be scored", run.n_failed,
                         run.n_failed == 1 ? "" : "s");
  return 0;
}
