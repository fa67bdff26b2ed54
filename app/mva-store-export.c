/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-store-export.c: write question/answer pairs out for training other
 * tools.
 *
 * JSON Lines: one object per pair with the keys of the synth qa.jsonl:
 *   {"image","category","family","question","answer","params"}, plus any
 *   other keys the record had when it was imported (e.g. synth's "caption").
 * LLaVA: a JSON list of {"id","image","conversations":[{"from":"human",
 *   "value":"<image>\n<question>"},{"from":"gpt","value":"<answer>"}]}, plus
 *   "category" and "family" members that LLaVA loaders ignore and our import
 *   reads back.
 *
 * image is relative to the folder of the output file when the image lies
 * under that folder, else absolute. A corrected pair exports its corrected
 * text as the answer. Rejected pairs are never exported; reviewed_only
 * keeps only accepted and corrected ones. Pairs come oldest first. The file
 * is written beside its destination, fsynced and renamed into place.
 */
#define G_LOG_DOMAIN "mva-store"
#include "config.h"

#include "mva-store-private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

static char *
export_image_path (const char *out_dir, const char *path)
{
  gsize n = strlen (out_dir);

  if (path == NULL)
    return g_strdup ("");
  if (strncmp (path, out_dir, n) == 0 && path[n] == '/' && path[n + 1] != '\0')
    return g_strdup (path + n + 1);
  if (strcmp (out_dir, "/") == 0 && path[0] == '/')
    return g_strdup (path + 1);
  return g_strdup (path);
}

static void
add_params (JsonBuilder *b, const char *params_json)
{
  g_autoptr(JsonNode) node = NULL;

  json_builder_set_member_name (b, "params");
  if (params_json != NULL)
    node = json_from_string (params_json, NULL);
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    {
      json_builder_begin_object (b);
      json_builder_end_object (b);
      return;
    }
  json_builder_add_value (b, g_steal_pointer (&node));
}

/* Members of an imported record we do not model, written back as they came
 * (never overriding the keys above). */
static void
add_extra (JsonBuilder *b, const char *extra_json)
{
  static const char *const ours[] = { "image", "category", "family", "question", "answer",
                                      "params" };
  g_autoptr(JsonNode) node = extra_json != NULL ? json_from_string (extra_json, NULL) : NULL;
  JsonObjectIter iter;
  const char *name;
  JsonNode *value;

  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return;
  json_object_iter_init (&iter, json_node_get_object (node));
  while (json_object_iter_next (&iter, &name, &value))
    {
      gboolean taken = FALSE;
      for (guint i = 0; i < G_N_ELEMENTS (ours) && !taken; i++)
        taken = strcmp (name, ours[i]) == 0;
      if (taken)
        continue;
      json_builder_set_member_name (b, name);
      json_builder_add_value (b, json_node_copy (value));
    }
}

static gboolean
write_all (FILE *f, const char *s, const char *out_path, GError **error)
{
  if (fputs (s, f) < 0)
    {
      int saved = errno;
      g_set_error (error, MVA_STORE_ERROR,
                   saved == ENOSPC || saved == EFBIG ? MVA_STORE_ERROR_FULL
                                                     : MVA_STORE_ERROR_FAILED,
                   "%s: cannot write: %s", out_path, g_strerror (saved));
      return FALSE;
    }
  return TRUE;
}

gboolean
mva_store_export (MvaStore        *store,
                  const char      *out_path,
                  MvaExportFormat  format,
                  gboolean         reviewed_only,
                  GCancellable    *cancellable,
                  guint64         *n_written,
                  GError         **error)
{
  static const char *sql =
    "SELECT q.id, m.path, q.category, q.family, q.question, q.answer, q.params_json, "
    "  q.review_state, (SELECT r.corrected_text FROM reviews r WHERE r.qa_id = q.id "
    "                   ORDER BY r.id DESC LIMIT 1), m.sha256, q.extra_json "
    "FROM qa_pairs q JOIN micrographs m ON m.id = q.micrograph_id "
    "WHERE q.review_state IN (1, 2) OR (?1 = 0 AND q.review_state = 0) ORDER BY q.id";
  g_autofree char *abs = NULL;
  g_autofree char *out_dir = NULL;
  g_autofree char *tmp = NULL;
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  MvaStoreConn *conn = NULL;
  sqlite3_stmt *stmt = NULL;
  FILE *f = NULL;
  guint64 n = 0;
  gboolean ok = FALSE;
  int fd, rc;

  g_return_val_if_fail (store != NULL && out_path != NULL, FALSE);
  if (n_written != NULL)
    *n_written = 0;
  if (format != MVA_EXPORT_FORMAT_JSONL && format != MVA_EXPORT_FORMAT_LLAVA)
    {
      g_set_error (error, MVA_STORE_ERROR, MVA_STORE_ERROR_INVALID, "unknown export format");
      return FALSE;
    }
  abs = g_canonicalize_filename (out_path, NULL);
  if (g_file_test (abs, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, MVA_STORE_ERROR, MVA_STORE_ERROR_INVALID,
                   "%s: is a folder; give a file name", out_path);
      return FALSE;
    }
  out_dir = g_path_get_dirname (abs);
  tmp = g_build_filename (out_dir, ".mvaema-export-", NULL);
  tmp = _mva_store_tmp_template (g_steal_pointer (&tmp));
  fd = g_mkstemp (tmp);
  if (fd < 0)
    {
      int saved = errno;
      g_set_error (error, MVA_STORE_ERROR,
                   saved == EACCES || saved == EROFS ? MVA_STORE_ERROR_READ_ONLY
                   : saved == ENOSPC ? MVA_STORE_ERROR_FULL
                   : saved == ENOENT ? MVA_STORE_ERROR_NOT_FOUND : MVA_STORE_ERROR_FAILED,
                   "%s: cannot write in %s: %s", out_path, out_dir, g_strerror (saved));
      return FALSE;
    }
  fchmod (fd, 0644);
  f = fdopen (fd, "w");
  if (f == NULL)
    {
      close (fd);
      g_unlink (tmp);
      g_set_error (error, MVA_STORE_ERROR, MVA_STORE_ERROR_FAILED, "%s: %s", out_path,
                   g_strerror (errno));
      return FALSE;
    }

  conn = _mva_store_reader_acquire (store, error);
  if (conn == NULL)
    goto out;
  stmt = _mva_store_prepare (store, conn, sql, error);
  if (stmt == NULL)
    goto out;
  sqlite3_bind_int (stmt, 1, reviewed_only ? 1 : 0);
  if (format == MVA_EXPORT_FORMAT_LLAVA && !write_all (f, "[", abs, error))
    goto out;

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      g_autoptr(JsonNode) root = NULL;
      g_autofree char *text = NULL;
      g_autofree char *image = export_image_path (out_dir, (const char *) sqlite3_column_text (stmt, 1));
      const char *category = (const char *) sqlite3_column_text (stmt, 2);
      const char *question = (const char *) sqlite3_column_text (stmt, 4);
      const char *answer = (const char *) sqlite3_column_text (stmt, 5);
      int family = sqlite3_column_int (stmt, 3);

      if (sqlite3_column_int (stmt, 7) == MVA_REVIEW_CORRECTED &&
          sqlite3_column_type (stmt, 8) == SQLITE_TEXT)
        answer = (const char *) sqlite3_column_text (stmt, 8);

      json_builder_begin_object (b);
      if (format == MVA_EXPORT_FORMAT_JSONL)
        {
          json_builder_set_member_name (b, "image");
          json_builder_add_string_value (b, image);
          json_builder_set_member_name (b, "category");
          if (category != NULL)
            json_builder_add_string_value (b, category);
          else
            json_builder_add_null_value (b);
          json_builder_set_member_name (b, "family");
          json_builder_add_int_value (b, family);
          json_builder_set_member_name (b, "question");
          json_builder_add_string_value (b, question);
          json_builder_set_member_name (b, "answer");
          json_builder_add_string_value (b, answer);
          add_params (b, (const char *) sqlite3_column_text (stmt, 6));
          add_extra (b, (const char *) sqlite3_column_text (stmt, 10));
        }
      else
        {
          g_autofree char *id = g_strdup_printf ("%.12s-%" G_GINT64_FORMAT,
                                                 (const char *) sqlite3_column_text (stmt, 9),
                                                 (gint64) sqlite3_column_int64 (stmt, 0));
          g_autofree char *human = g_strconcat ("<image>\n", question, NULL);

          json_builder_set_member_name (b, "id");
          json_builder_add_string_value (b, id);
          json_builder_set_member_name (b, "image");
          json_builder_add_string_value (b, image);
          json_builder_set_member_name (b, "conversations");
          json_builder_begin_array (b);
          json_builder_begin_object (b);
          json_builder_set_member_name (b, "from");
          json_builder_add_string_value (b, "human");
          json_builder_set_member_name (b, "value");
          json_builder_add_string_value (b, human);
          json_builder_end_object (b);
          json_builder_begin_object (b);
          json_builder_set_member_name (b, "from");
          json_builder_add_string_value (b, "gpt");
          json_builder_set_member_name (b, "value");
          json_builder_add_string_value (b, answer);
          json_builder_end_object (b);
          json_builder_end_array (b);
          if (category != NULL)
            {
              json_builder_set_member_name (b, "category");
              json_builder_add_string_value (b, category);
            }
          json_builder_set_member_name (b, "family");
          json_builder_add_int_value (b, family);
        }
      json_builder_end_object (b);
      root = json_builder_get_root (b);
      json_generator_set_root (gen, root);
      text = json_generator_to_data (gen, NULL);
      if (format == MVA_EXPORT_FORMAT_LLAVA && !write_all (f, n > 0 ? ",\n" : "\n", abs, error))
        goto out;
      if (!write_all (f, text, abs, error))
        goto out;
      if (format == MVA_EXPORT_FORMAT_JSONL && !write_all (f, "\n", abs, error))
        goto out;
      n++;
      if ((n & 1023) == 0 && g_cancellable_set_error_if_cancelled (cancellable, error))
        goto out;
    }
  if (rc != SQLITE_DONE)
    {
      _mva_store_set_error (store, conn->db, rc, "read pairs", error);
      goto out;
    }
  if (format == MVA_EXPORT_FORMAT_LLAVA && !write_all (f, "\n]\n", abs, error))
    goto out;
  if (fflush (f) != 0 || fsync (fileno (f)) != 0)
    {
      int saved = errno;
      g_set_error (error, MVA_STORE_ERROR,
                   saved == ENOSPC || saved == EFBIG ? MVA_STORE_ERROR_FULL
                                                     : MVA_STORE_ERROR_FAILED,
                   "%s: cannot write: %s", out_path, g_strerror (saved));
      goto out;
    }
  ok = TRUE;

out:
  if (stmt != NULL)
    sqlite3_reset (stmt);
  if (conn != NULL)
    _mva_store_reader_release (store, conn);
  if (fclose (f) != 0 && ok)
    {
      int saved = errno;
      g_set_error (error, MVA_STORE_ERROR, MVA_STORE_ERROR_FAILED, "%s: cannot write: %s",
                   out_path, g_strerror (saved));
      ok = FALSE;
    }
  if (ok && g_rename (tmp, abs) != 0)
    {
      int saved = errno;
      g_set_error (error, MVA_STORE_ERROR, MVA_STORE_ERROR_FAILED, "%s: cannot rename: %s",
                   out_path, g_strerror (saved));
      ok = FALSE;
    }
  if (!ok)
    g_unlink (tmp);
  else if (n_written != NULL)
    *n_written = n;
  return ok;
}
