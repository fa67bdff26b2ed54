/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-cli-review.c: `mvaema-cli review`, accept, reject or correct an answer.
 *
 *   mvaema-cli review --db FILE QA_ID accept|reject [--reviewer NAME] [--json]
 *   mvaema-cli review --db FILE QA_ID correct "TEXT"
 *   mvaema-cli review --db FILE --undo
 *
 * The pair's new state is its latest review; --undo removes the latest review
 * of any pair (restoring its previous state). Reviewer defaults to the user
 * name.
 */
#define G_LOG_DOMAIN "mva-cli"
#include "config.h"

#include <errno.h>

#include "mva-cli.h"
#include "mva-store.h"

static void
print_state (MvaStore *store, gint64 qa_id, gboolean json, const char *what)
{
  g_autoptr(MvaQaPair) qa = mva_store_get_qa (store, qa_id, NULL);
  MvaReviewState state = qa ? qa->review_state : MVA_REVIEW_NONE;

  if (json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "qa_id");
      json_builder_add_int_value (b, qa_id);
      json_builder_set_member_name (b, "state");
      json_builder_add_string_value (b, mva_review_state_to_string (state));
      json_builder_set_member_name (b, "corrected_text");
      if (qa && qa->corrected_text && state == MVA_REVIEW_CORRECTED)
        json_builder_add_string_value (b, qa->corrected_text);
      else
        json_builder_add_null_value (b);
      json_builder_end_object (b);
      mva_cli_print_builder (b);
    }
  else
    g_print ("%s pair %" G_GINT64_FORMAT ": now %s\n", what, qa_id,
             mva_review_state_to_string (state));
}

int
mva_cli_review (int    argc,
                char **argv)
{
  g_autofree char *db = NULL;
  g_autofree char *reviewer = NULL;
  gboolean undo = FALSE, json = FALSE;
  g_autoptr(GError) error = NULL;
  g_autoptr(MvaStore) store = NULL;
  g_autoptr(MvaQaPair) qa = NULL;
  MvaReviewState state;
  const char *text = NULL;
  gint64 qa_id;
  char *end = NULL;
  const GOptionEntry entries[] = {
    { "db", 0, 0, G_OPTION_ARG_FILENAME, &db, "Library database", "FILE" },
    { "undo", 0, 0, G_OPTION_ARG_NONE, &undo, "Undo the latest review", NULL },
    { "reviewer", 0, 0, G_OPTION_ARG_STRING, &reviewer, "Who reviews (default: the user name)", "NAME" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print the pair's new state as JSON", NULL },
    { NULL }
  };

  if (!mva_cli_parse ("review", "QA_ID accept|reject|correct [TEXT]",
                      "Review an answer of the library: accept it, reject it or correct it.",
                      entries, &argc, &argv))
    return 2;
  if (undo)
    {
      gint64 touched = 0;

      if (argc != 1)
        return mva_cli_fail ("review: --undo takes no other argument");
      store = mva_store_open (db, MVA_STORE_OPEN_DEFAULT, &error);
      if (store == NULL)
        return mva_cli_fail ("review: %s", error->message);
      if (!mva_store_undo_review (store, 0, &touched, &error))
        return mva_cli_fail ("review: %s", g_error_matches (error, MVA_STORE_ERROR,
                                                            MVA_STORE_ERROR_NOT_FOUND)
                                             ? "nothing to undo"
                                             : error->message);
      print_state (store, touched, json, "undid the latest review of");
      return 0;
    }
  if (argc < 3)
    return mva_cli_fail ("review: usage: review --db FILE QA_ID accept|reject|correct \"TEXT\"");
  errno = 0;
  qa_id = g_ascii_strtoll (argv[1], &end, 10);
  if (argv[1][0] == '\0' || *end != '\0' || errno != 0 || qa_id <= 0)
    return mva_cli_fail ("review: QA_ID must be a positive integer, not “%s”", argv[1]);
  if (g_strcmp0 (argv[2], "accept") == 0)
    state = MVA_REVIEW_ACCEPTED;
  else if (g_strcmp0 (argv[2], "reject") == 0)
    state = MVA_REVIEW_REJECTED;
  else if (g_strcmp0 (argv[2], "correct") == 0)
    state = MVA_REVIEW_CORRECTED;
  else
    return mva_cli_fail ("review: unknown action “%s” (accept, reject or correct)", argv[2]);
  if (state == MVA_REVIEW_CORRECTED)
    {
      if (argc != 4)
        return mva_cli_fail ("review: correct needs the corrected text: review --db FILE %s correct \"TEXT\"",
                             argv[1]);
      text = argv[3];
      {
        g_autofree char *t = g_strstrip (g_strdup (text));

        if (t[0] == '\0')
          return mva_cli_fail ("review: the corrected text is empty");
        if (!g_utf8_validate (text, -1, NULL))
          return mva_cli_fail ("review: the corrected text is not valid UTF-8");
      }
    }
  else if (argc != 3)
    return mva_cli_fail ("review: unexpected argument “%s”", argv[3]);
  store = mva_store_open (db, MVA_STORE_OPEN_DEFAULT, &error);
  if (store == NULL)
    return mva_cli_fail ("review: %s", error->message);
  qa = mva_store_get_qa (store, qa_id, &error);
  if (qa == NULL)
    return mva_cli_fail ("review: %s", error->message);
  if (mva_store_add_review (store, qa_id, state, text,
                            reviewer ? reviewer : g_get_user_name (), &error) == 0)
    return mva_cli_fail ("review: %s", error->message);
  print_state (store, qa_id, json, "reviewed");
  return 0;
}
