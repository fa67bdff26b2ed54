/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-cli-export.c: `mvaema-cli export [--db FILE] --format jsonl|llava OUT
 * [--reviewed-only]`: question/answer pairs for training other tools. Image
 * paths are relative to OUT's folder when the image lies under it, absolute
 * otherwise; corrected reviews export the corrected text; rejected pairs are
 * never exported.
 */
#define G_LOG_DOMAIN "mva-cli"
#include "config.h"

#include "mva-cli.h"
#include "mva-store.h"

int
mva_cli_export (int argc, char **argv)
{
  g_autofree char *db = NULL;
  g_autofree char *format = NULL;
  gboolean reviewed_only = FALSE, json = FALSE;
  g_autoptr(GError) error = NULL;
  g_autoptr(MvaStore) store = NULL;
  MvaExportFormat fmt;
  guint64 n = 0;
  const GOptionEntry entries[] = {
    { "db", 0, 0, G_OPTION_ARG_FILENAME, &db, "Library database", "FILE" },
    { "format", 0, 0, G_OPTION_ARG_STRING, &format, "jsonl (default) or llava", "FORMAT" },
    { "reviewed-only", 0, 0, G_OPTION_ARG_NONE, &reviewed_only,
      "Only accepted and corrected pairs", NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print the summary as one JSON object", NULL },
    { NULL }
  };

  if (!mva_cli_parse ("export", "OUT",
                      "Write question/answer pairs as JSON Lines (keys image, category, family, "
                      "question, answer, params) or LLaVA conversation JSON.",
                      entries, &argc, &argv))
    return 2;
  if (argc != 2)
    return mva_cli_fail ("export: give one output file");
  if (format == NULL || g_strcmp0 (format, "jsonl") == 0)
    fmt = MVA_EXPORT_FORMAT_JSONL;
  else if (g_strcmp0 (format, "llava") == 0)
    fmt = MVA_EXPORT_FORMAT_LLAVA;
  else
    return mva_cli_fail ("export: unknown --format “%s” (jsonl or llava)", format);

  store = mva_store_open (db, MVA_STORE_OPEN_READ_ONLY, &error);
  if (store == NULL && g_error_matches (error, MVA_STORE_ERROR, MVA_STORE_ERROR_NEEDS_MIGRATION))
    {
      g_clear_error (&error);
      store = mva_store_open (db, MVA_STORE_OPEN_DEFAULT, &error);
    }
  if (store == NULL)
    return mva_cli_fail ("export: %s", error->message);
  if (!mva_store_export (store, argv[1], fmt, reviewed_only, mva_cli_cancellable (), &n, &error))
    return mva_cli_fail ("export: %s", error->message);
  if (json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "out");
      json_builder_add_string_value (b, argv[1]);
      json_builder_set_member_name (b, "format");
      json_builder_add_string_value (b, fmt == MVA_EXPORT_FORMAT_JSONL ? "jsonl" : "llava");
      json_builder_set_member_name (b, "pairs");
      json_builder_add_int_value (b, (gint64) n);
      json_builder_end_object (b);
      mva_cli_print_builder (b);
    }
  else
    g_print ("exported %" G_GUINT64_FORMAT " question/answer pairs to %s\n", n, argv[1]);
  return 0;
}
