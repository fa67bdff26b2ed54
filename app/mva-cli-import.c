/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-cli-import.c: `mvaema-cli import [--db FILE] PATH...`: images, folders
 * (recursively), synth folders, JSON Lines and LLaVA JSON into the library.
 * Prints one summary line (or a JSON object with --json) on stdout and
 * progress on stderr; Ctrl+C stops between transactions, keeping what was
 * committed.
 */
#define G_LOG_DOMAIN "mva-cli"
#include "config.h"

#include "mva-cli.h"
#include "mva-store.h"

static void
on_progress (const MvaImportStats *s, const char *current, gpointer data)
{
  if (current == NULL)
    return;
  mva_cli_progress ("import: %" G_GUINT64_FORMAT " images (%" G_GUINT64_FORMAT " new), %"
                    G_GUINT64_FORMAT " pairs (%" G_GUINT64_FORMAT " new)",
                    s->micrographs_added + s->micrographs_known, s->micrographs_added,
                    s->qa_added + s->qa_known, s->qa_added);
}

static void
print_stats (const MvaImportStats *s, gboolean json, const char *db_path)
{
  if (json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
#define MEMBER(name) json_builder_set_member_name (b, #name); \
                     json_builder_add_int_value (b, (gint64) s->name);
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "db");
      json_builder_add_string_value (b, db_path);
      MEMBER (files_seen);
      MEMBER (micrographs_added);
      MEMBER (micrographs_known);
      MEMBER (load_errors);
      MEMBER (unreadable);
      MEMBER (qa_added);
      MEMBER (qa_known);
      MEMBER (records_skipped);
#undef MEMBER
      json_builder_end_object (b);
      mva_cli_print_builder (b);
      return;
    }
  g_print ("imported %" G_GUINT64_FORMAT " new micrographs (%" G_GUINT64_FORMAT
           " already known), %" G_GUINT64_FORMAT " new question/answer pairs (%"
           G_GUINT64_FORMAT " already known); %" G_GUINT64_FORMAT " images the loader could "
           "not read, %" G_GUINT64_FORMAT " unreadable files, %" G_GUINT64_FORMAT
           " records skipped\n",
           s->micrographs_added, s->micrographs_known, s->qa_added, s->qa_known,
           s->load_errors, s->unreadable, s->records_skipped);
}

int
mva_cli_import (int argc, char **argv)
{
  g_autofree char *db = NULL;
  g_autofree char *format = NULL;
  g_autofree char *commit_log = NULL;
  gboolean labels_from_folders = FALSE, json = FALSE;
  g_autoptr(GError) error = NULL;
  g_autoptr(MvaStore) store = NULL;
  MvaImportOptions opt = { 0 };
  MvaImportStats stats = { 0 };
  const GOptionEntry entries[] = {
    { "db", 0, 0, G_OPTION_ARG_FILENAME, &db, "Library database (default $MVAEMA_DB or "
      "$XDG_DATA_HOME/mvaema/library.db)", "FILE" },
    { "labels-from-folders", 0, 0, G_OPTION_ARG_NONE, &labels_from_folders,
      "Take each image's category from its folder name (NFFA-Europe layout)", NULL },
    { "format", 0, 0, G_OPTION_ARG_STRING, &format,
      "Instruction data format: auto (default), jsonl or llava", "FORMAT" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print the summary as one JSON object", NULL },
    { "commit-log", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_FILENAME, &commit_log,
      "Append the running totals to FILE after each commit (crash tests)", "FILE" },
    { NULL }
  };

  if (!mva_cli_parse ("import", "PATH…",
                      "Import micrographs (files, folders), synth folders, JSON Lines and "
                      "LLaVA JSON into the library. Importing the same data twice adds nothing.",
                      entries, &argc, &argv))
    return 2;
  if (argc < 2)
    return mva_cli_fail ("import: give at least one file or folder");
  if (format == NULL || g_strcmp0 (format, "auto") == 0)
    opt.format = MVA_IMPORT_FORMAT_AUTO;
  else if (g_strcmp0 (format, "jsonl") == 0)
    opt.format = MVA_IMPORT_FORMAT_JSONL;
  else if (g_strcmp0 (format, "llava") == 0)
    opt.format = MVA_IMPORT_FORMAT_LLAVA;
  else
    return mva_cli_fail ("import: unknown --format “%s” (auto, jsonl or llava)", format);

  store = mva_store_open (db, MVA_STORE_OPEN_DEFAULT, &error);
  if (store == NULL)
    return mva_cli_fail ("import: %s", error->message);

  opt.labels_from_folders = labels_from_folders;
  opt.cancellable = mva_cli_cancellable ();
  opt.progress = on_progress;
  opt.commit_log = commit_log;
  if (!mva_store_import (store, (const char * const *) argv + 1, &opt, &stats, &error))
    {
      mva_cli_progress_done ();
      print_stats (&stats, json, mva_store_get_path (store));
      return mva_cli_fail ("import: %s", error->message);
    }
  mva_cli_progress_done ();
  print_stats (&stats, json, mva_store_get_path (store));
  return 0;
}
