/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-cli-db.c: `mvaema-cli db check [--db FILE] [--json] [--search DIR]...`
 * (integrity_check, foreign_key_check, files whose recorded path is gone,
 * optionally found again by hash under DIR and, with --relink, recorded at
 * their new place; exit 0 only when all is well) and
 * `mvaema-cli db backup [--db FILE] OUT` (SQLite online backup API, safe
 * while other processes write).
 */
#define G_LOG_DOMAIN "mva-cli"
#include "config.h"

#include <string.h>

#include "mva-cli.h"
#include "mva-store.h"

static void
add_strings (JsonBuilder *b, const char *name, GPtrArray *strings)
{
  json_builder_set_member_name (b, name);
  json_builder_begin_array (b);
  for (guint i = 0; i < strings->len; i++)
    json_builder_add_string_value (b, g_ptr_array_index (strings, i));
  json_builder_end_array (b);
}

static int
db_check (int argc, char **argv)
{
  g_autofree char *db = NULL;
  g_auto(GStrv) search = NULL;
  gboolean json = FALSE, relink = FALSE, all_ok;
  guint n_missing = 0, n_relinked = 0;
  g_autoptr(GError) error = NULL;
  g_autoptr(MvaStore) store = NULL;
  g_autoptr(MvaStoreCheck) check = NULL;
  const GOptionEntry entries[] = {
    { "db", 0, 0, G_OPTION_ARG_FILENAME, &db, "Library database", "FILE" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print the findings as one JSON object", NULL },
    { "search", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &search,
      "Look for missing images (by content hash) under DIR; may repeat", "DIR" },
    { "relink", 0, 0, G_OPTION_ARG_NONE, &relink,
      "With --search: record the new path of each missing image found again", NULL },
    { NULL }
  };

  if (!mva_cli_parse ("db check", NULL,
                      "Check the library: SQLite integrity, foreign keys, and images whose "
                      "file is gone. Exits 0 only when all is well. Modifies nothing unless "
                      "--relink is given.",
                      entries, &argc, &argv))
    return 2;
  if (argc != 1)
    return mva_cli_fail ("db check: unexpected argument “%s”", argv[1]);
  if (relink && search == NULL)
    return mva_cli_fail ("db check: --relink needs --search DIR");
  store = mva_store_open (db, MVA_STORE_OPEN_READ_ONLY | MVA_STORE_OPEN_NO_MIGRATE, &error);
  if (store == NULL)
    return mva_cli_fail ("db check: %s", error->message);
  check = mva_store_check (store, (const char * const *) search, mva_cli_cancellable (), &error);
  if (check == NULL)
    return mva_cli_fail ("db check: %s", error->message);
  n_missing = check->missing_files->len;
  if (relink && check->integrity_errors->len == 0 && check->foreign_key_errors->len == 0)
    {
      g_autoptr(MvaStore) rw = NULL;

      for (guint i = 0; i < check->missing_files->len; i++)
        {
          MvaMissingFile *f = g_ptr_array_index (check->missing_files, i);

          if (f->found_path == NULL)
            continue;
          if (rw == NULL && (rw = mva_store_open (mva_store_get_path (store), 0, &error)) == NULL)
            return mva_cli_fail ("db check: %s", error->message);
          if (!mva_store_set_micrograph_path (rw, f->micrograph_id, f->found_path, &error))
            return mva_cli_fail ("db check: %s", error->message);
          n_relinked++;
          n_missing--;
        }
    }
  all_ok = check->integrity_errors->len == 0 && check->foreign_key_errors->len == 0 &&
           n_missing == 0;

  if (json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "db");
      json_builder_add_string_value (b, mva_store_get_path (store));
      json_builder_set_member_name (b, "ok");
      json_builder_add_boolean_value (b, all_ok);
      json_builder_set_member_name (b, "relinked");
      json_builder_add_int_value (b, n_relinked);
      json_builder_set_member_name (b, "schema_version");
      json_builder_add_int_value (b, check->schema_version);
      add_strings (b, "integrity", check->integrity_errors);
      add_strings (b, "foreign_keys", check->foreign_key_errors);
      json_builder_set_member_name (b, "missing_files");
      json_builder_begin_array (b);
      for (guint i = 0; i < check->missing_files->len; i++)
        {
          MvaMissingFile *f = g_ptr_array_index (check->missing_files, i);
          json_builder_begin_object (b);
          json_builder_set_member_name (b, "id");
          json_builder_add_int_value (b, f->micrograph_id);
          json_builder_set_member_name (b, "path");
          json_builder_add_string_value (b, f->path);
          json_builder_set_member_name (b, "sha256");
          json_builder_add_string_value (b, f->sha256);
          json_builder_set_member_name (b, "found");
          if (f->found_path != NULL)
            json_builder_add_string_value (b, f->found_path);
          else
            json_builder_add_null_value (b);
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      json_builder_end_object (b);
      mva_cli_print_builder (b);
    }
  else
    {
      g_print ("%s (schema %d)\n", mva_store_get_path (store), check->schema_version);
      if (check->integrity_errors->len == 0)
        g_print ("integrity: ok\n");
      for (guint i = 0; i < check->integrity_errors->len; i++)
        g_print ("integrity: %s\n", (char *) g_ptr_array_index (check->integrity_errors, i));
      if (check->foreign_key_errors->len == 0)
        g_print ("foreign keys: ok\n");
      for (guint i = 0; i < check->foreign_key_errors->len; i++)
        g_print ("foreign key: %s\n", (char *) g_ptr_array_index (check->foreign_key_errors, i));
      if (check->missing_files->len == 0)
        g_print ("files: ok\n");
      if (n_relinked > 0)
        g_print ("relinked: %u moved file(s) found again by content hash\n", n_relinked);
      for (guint i = 0; i < check->missing_files->len; i++)
        {
          MvaMissingFile *f = g_ptr_array_index (check->missing_files, i);
          if (f->found_path != NULL)
            g_print ("missing file: %s (micrograph %" G_GINT64_FORMAT "), found at %s\n",
                     f->path, f->micrograph_id, f->found_path);
          else
            g_print ("missing file: %s (micrograph %" G_GINT64_FORMAT ")\n",
                     f->path, f->micrograph_id);
        }
    }
  if (!all_ok)
    return mva_cli_fail ("db check: %u integrity problem(s), %u foreign key problem(s), "
                         "%u missing file(s)", check->integrity_errors->len,
                         check->foreign_key_errors->len, n_missing);
  return 0;
}

static int
db_backup (int argc, char **argv)
{
  g_autofree char *db = NULL;
  gboolean json = FALSE;
  g_autoptr(GError) error = NULL;
  g_autoptr(MvaStore) store = NULL;
  const GOptionEntry entries[] = {
    { "db", 0, 0, G_OPTION_ARG_FILENAME, &db, "Library database", "FILE" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print the result as one JSON object", NULL },
    { NULL }
  };

  if (!mva_cli_parse ("db backup", "OUT",
                      "Copy the library to OUT with SQLite's online backup API; safe while "
                      "others write. OUT is replaced only by a complete copy.",
                      entries, &argc, &argv))
    return 2;
  if (argc != 2)
    return mva_cli_fail ("db backup: give one output file");
  store = mva_store_open (db, MVA_STORE_OPEN_READ_ONLY | MVA_STORE_OPEN_NO_MIGRATE, &error);
  if (store == NULL)
    return mva_cli_fail ("db backup: %s", error->message);
  if (!mva_store_backup (store, argv[1], mva_cli_cancellable (), &error))
    return mva_cli_fail ("db backup: %s", error->message);
  if (json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "db");
      json_builder_add_string_value (b, mva_store_get_path (store));
      json_builder_set_member_name (b, "backup");
      json_builder_add_string_value (b, argv[1]);
      json_builder_end_object (b);
      mva_cli_print_builder (b);
    }
  else
    g_print ("backed up %s to %s\n", mva_store_get_path (store), argv[1]);
  return 0;
}

int
mva_cli_db (int argc, char **argv)
{
  if (argc < 2 || strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0)
    {
      g_print ("Usage: mvaema-cli db check [--db FILE] [--json] [--search DIR]\n"
               "       mvaema-cli db backup [--db FILE] OUT\n");
      return argc < 2 ? 2 : 0;
    }
  if (strcmp (argv[1], "check") == 0)
    return db_check (argc - 1, argv + 1);
  if (strcmp (argv[1], "backup") == 0)
    return db_backup (argc - 1, argv + 1);
  return mva_cli_fail ("db: unknown subcommand “%s” (check or backup)", argv[1]);
}
