/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-store-query.c: record-level reads and writes of the library
 * (micrographs, Q/A pairs, reviews, datasets, model versions, training runs,
 * teacher log). Every write runs inside mva_store_begin/commit so that it is
 * atomic and joins the caller's transaction when there is one; every read
 * goes through a pooled reader connection.
 */
#define G_LOG_DOMAIN "mva-store"
#include "config.h"

#include "mva-store-private.h"
#include "mva-image.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <json-glib/json-glib.h>

// --- record frees ---------------------------------------------------------------

void
mva_micrograph_free (MvaMicrograph *m)
{
  if (m == NULL)
    return;
  g_free (m->sha256);
  g_free (m->path);
  g_free (m->format);
  g_free (m->instrument);
  g_free (m->metadata_json);
  g_free (m->category);
  g_free (m->load_error);
  g_free (m);
}

void
mva_qa_pair_free (MvaQaPair *qa)
{
  if (qa == NULL)
    return;
  g_free (qa->question);
  g_free (qa->answer);
  g_clear_pointer (&qa->tokens, g_bytes_unref);
  g_clear_pointer (&qa->attention, g_bytes_unref);
  g_free (qa->params_json);
  g_free (qa->extra_json);
  g_free (qa->teacher_model);
  g_free (qa->corrected_text);
  g_free (qa->reviewer);
  g_free (qa->category);
  g_free (qa->image_path);
  g_free (qa->image_sha256);
  g_free (qa);
}

void
mva_review_free (MvaReview *r)
{
  if (r == NULL)
    return;
  g_free (r->corrected_text);
  g_free (r->reviewer);
  g_free (r);
}

void
mva_model_version_free (MvaModelVersion *mv)
{
  if (mv == NULL)
    return;
  g_free (mv->name);
  g_free (mv->file_path);
  g_free (mv->sha256);
  g_free (mv->metrics_json);
  g_free (mv);
}

void
mva_training_run_free (MvaTrainingRun *run)
{
  if (run == NULL)
    return;
  g_free (run->config_json);
  g_free (run->epochs_json);
  g_free (run->error_message);
  g_free (run);
}

void
mva_teacher_request_free (MvaTeacherRequest *req)
{
  if (req == NULL)
    return;
  g_free (req->model);
  g_free (req->reason);
  g_free (req);
}

void
mva_category_count_free (MvaCategoryCount *c)
{
  if (c == NULL)
    return;
  g_free (c->category);
  g_free (c);
}

// --- helpers ---------------------------------------------------------------------

/* Run a prepared write statement to completion. */
static gboolean
step_done (MvaStore *store, MvaStoreConn *conn, sqlite3_stmt *stmt, const char *what,
           GError **error)
{
  int rc = sqlite3_step (stmt);

  if (rc != SQLITE_DONE && rc != SQLITE_ROW)
    {
      _mva_store_set_error (store, conn->db, rc, what, error);
      sqlite3_reset (stmt);
      return FALSE;
    }
  sqlite3_reset (stmt);
  return TRUE;
}

/* Finish a write begun with mva_store_begin: commit on ok, else roll back. */
static gboolean
write_end (MvaStore *store, gboolean ok, GError **error)
{
  if (!ok)
    {
      mva_store_rollback (store);
      return FALSE;
    }
  return mva_store_commit (store, error);
}

static gboolean
check_json_object (const char *json, const char *what, GError **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) local = NULL;
  JsonNode *root;

  if (!json_parser_load_from_data (parser, json, -1, &local))
    {
      g_set_error (error, MVA_STORE_ERROR, MVA_STORE_ERROR_INVALID,
                   "%s is not valid JSON: %s", what, local->message);
      return FALSE;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, MVA_STORE_ERROR, MVA_STORE_ERROR_INVALID,
                   "%s must be a JSON object", what);
      return FALSE;
    }
  return TRUE;
}

static gboolean
not_found (GError **error, const char *what, gint64 id)
{
  g_set_error (error, MVA_STORE_ERROR, MVA_STORE_ERROR_NOT_FOUND,
               "no %s with id %" G_GINT64_FORMAT, what, id);
  return FALSE;
}

static gboolean
valid_sha256 (const char *s)
{
  if (s == NULL || strlen (s) != 64)
    return FALSE;
  for (int i = 0; i < 64; i++)
    if (!g_ascii_isxdigit (s[i]) || g_ascii_isupper (s[i]))
      return FALSE;
  return TRUE;
}

static int
category_source_rank (MvaCategorySource s)
{
  switch (s)
    {
    case MVA_CATEGORY_SOURCE_USER: return 3;
    case MVA_CATEGORY_SOURCE_IMPORT: return 2;
    case MVA_CATEGORY_SOURCE_PREDICTION: return 1;
    case MVA_CATEGORY_SOURCE_NONE:
    default: return 0;
    }
}

// --- micrographs ---------------------------------------------------------------

#define MICROGRAPH_COLS \
  "m.id, m.sha256, m.path, m.file_size, m.width, m.height, m.channels, m.bit_depth, " \
  "m.format, m.pixel_size_nm, m.instrument, m.metadata_json, m.category, "           \
  "m.category_source, m.load_error, m.added_at, "                                    \
  "(SELECT count(*) FROM qa_pairs q WHERE q.micrograph_id = m.id)"

static MvaMicrograph *
micrograph_from_row (sqlite3_stmt *stmt)
{
  MvaMicrograph *m = g_new0 (MvaMicrograph, 1);
  MvaCategorySource cs = MVA_CATEGORY_SOURCE_NONE;

  m->id = sqlite3_column_int64 (stmt, 0);
  m->sha256 = _mva_stmt_dup_text (stmt, 1);
  m->path = _mva_stmt_dup_text (stmt, 2);
  m->file_size = sqlite3_column_int64 (stmt, 3);
  m->width = (guint) sqlite3_column_int64 (stmt, 4);
  m->height = (guint) sqlite3_column_int64 (stmt, 5);
  m->channels = (guint) sqlite3_column_int64 (stmt, 6);
  m->bit_depth = (guint) sqlite3_column_int64 (stmt, 7);
  m->format = _mva_stmt_dup_text (stmt, 8);
  m->pixel_size_nm = sqlite3_column_type (stmt, 9) == SQLITE_NULL ? NAN
                                                                  : sqlite3_column_double (stmt, 9);
  m->instrument = _mva_stmt_dup_text (stmt, 10);
  m->metadata_json = _mva_stmt_dup_text (stmt, 11);
  m->category = _mva_stmt_dup_text (stmt, 12);
  mva_category_source_from_string ((const char *) sqlite3_column_text (stmt, 13), &cs);
  m->category_source = cs;
  m->load_error = _mva_stmt_dup_text (stmt, 14);
  m->added_at = sqlite3_column_int64 (stmt, 15);
  m->n_qa = sqlite3_column_int64 (stmt, 16);
  return m;
}

static MvaMicrograph *
get_micrograph_where (MvaStore *store, const char *where, gint64 id, const char *sha,
                      GError **error)
{
  g_autofree char *sql = g_strdup_printf ("SELECT " MICROGRAPH_COLS " FROM micrographs m WHERE %s",
                                          where);
  MvaStoreConn *conn = _mva_store_reader_acquire (store, error);
  MvaMicrograph *m = NULL;
  sqlite3_stmt *stmt;
  int rc;

  if (conn == NULL)
    return NULL;
  stmt = _mva_store_prepare (store, conn, sql, error);
  if (stmt != NULL)
    {
      if (sha != NULL)
        sqlite3_bind_text (stmt, 1, sha, -1, SQLITE_TRANSIENT);
      else
        sqlite3_bind_int64 (stmt, 1, id);
      rc = sqlite3_step (stmt);
      if (rc == SQLITE_ROW)
        m = micrograph_from_row (stmt);
      else if (rc != SQLITE_DONE)
        _mva_store_set_error (store, conn->db, rc, "read micrograph", error);
      sqlite3_reset (stmt);
    }
  _mva_store_reader_release (store, conn);
  return m;
}

MvaMicrograph *
mva_store_get_micrograph (MvaStore *store, gint64 id, GError **error)
{
  g_autoptr(GError) local = NULL;
  MvaMicrograph *m;

  g_return_val_if_fail (store != NULL, NULL);
  m = get_micrograph_where (store, "m.id = ?1", id, NULL, &local);
  if (m == NULL && local == NULL)
    not_found (&local, "micrograph", id);
  if (local != NULL)
    g_propagate_error (error, g_steal_pointer (&local));
  return m;
}

MvaMicrograph *
mva_store_find_micrograph (MvaStore *store, const char *sha256, GError **error)
{
  g_return_val_if_fail (store != NULL && sha256 != NULL, NULL);
  return get_micrograph_where (store, "m.sha256 = ?1", 0, sha256, error);
}

gint64
mva_store_add_micrograph (MvaStore            *store,
                          const MvaMicrograph *m,
                          gboolean            *added,
                          GError             **error)
{
  static const char *insert_sql =
    "INSERT INTO micrographs (sha256, path, file_size, width, height, channels, bit_depth, "
    "format, pixel_size_nm, instrument, metadata_json, category, category_source, load_error, "
    "added_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15) "
    "ON CONFLICT (sha256) DO NOTHING";
  static const char *find_sql =
    "SELECT id, path, category, category_source FROM micrographs WHERE sha256 = ?1";
  MvaStoreConn *w;
  sqlite3_stmt *stmt;
  gint64 id = 0;
  gboolean ok = FALSE, was_added = FALSE;
  MvaCategorySource cs = m != NULL ? m->category_source : MVA_CATEGORY_SOURCE_NONE;

  g_return_val_if_fail (store != NULL && m != NULL, 0);
  if (added != NULL)
    *added = FALSE;
  if (!valid_sha256 (m->sha256))
    {
      g_set_error (error, MVA_STORE_ERROR, MVA_STORE_ERROR_INVALID,
                   "micrograph hash must be 64 lowercase hex digits");
      return 0;
    }
  if (m->category == NULL)
    cs = MVA_CATEGORY_SOURCE_NONE;
  else if (cs == MVA_CATEGORY_SOURCE_NONE)
    cs = MVA_CATEGORY_SOURCE_USER;

  if (!mva_store_begin (store, error))
    return 0;
  w = _mva_store_writer_lock (store, error);

  stmt = _mva_store_prepare (store, w, insert_sql, error);
  if (stmt == NULL)
    goto out;
  sqlite3_bind_text (stmt, 1, m->sha256, -1, SQLITE_TRANSIENT);
  _mva_stmt_bind_text_or_null (stmt, 2, m->path);
  sqlite3_bind_int64 (stmt, 3, m->file_size);
  sqlite3_bind_int64 (stmt, 4, m->width);
  sqlite3_bind_int64 (stmt, 5, m->height);
  sqlite3_bind_int64 (stmt, 6, m->channels);
  sqlite3_bind_int64 (stmt, 7, m->bit_depth);
  _mva_stmt_bind_text_or_null (stmt, 8, m->format);
  if (isfinite (m->pixel_size_nm) && m->pixel_size_nm > 0)
    sqlite3_bind_double (stmt, 9, m->pixel_size_nm);
  else
    sqlite3_bind_null (stmt, 9);
  _mva_stmt_bind_text_or_null (stmt, 10, m->instrument);
  _mva_stmt_bind_text_or_null (stmt, 11, m->metadata_json);
  _mva_stmt_bind_text_or_null (stmt, 12, m->category);
  sqlite3_bind_text (stmt, 13, mva_category_source_to_string (cs), -1, SQLITE_STATIC);
  _mva_stmt_bind_text_or_null (stmt, 14, m->load_error);
  sqlite3_bind_int64 (stmt, 15, g_get_real_time ());
  if (!step_done (store, w, stmt, "add micrograph", error))
    goto out;
  was_added = sqlite3_changes (w->db) > 0;
  if (was_added)
    {
      id = sqlite3_last_insert_rowid (w->db);
      ok = TRUE;
      goto out;
    }

  /* known image: remember where it is now; take a category of equal or
   * higher authority (user > import > prediction) */
  stmt = _mva_store_prepare (store, w, find_sql, error);
  if (stmt == NULL)
    goto out;
  sqlite3_bind_text (stmt, 1, m->sha256, -1, SQLITE_TRANSIENT);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    {
      g_autofree char *old_path = _mva_stmt_dup_text (stmt, 1);
      g_autofree char *old_cat = _mva_stmt_dup_text (stmt, 2);
      MvaCategorySource old_cs = MVA_CATEGORY_SOURCE_NONE;

      mva_category_source_from_string ((const char *) sqlite3_column_text (stmt, 3), &old_cs);
      id = sqlite3_column_int64 (stmt, 0);
      sqlite3_reset (stmt);
      ok = TRUE;
      if (m->path != NULL && g_strcmp0 (old_path, m->path) != 0)
        ok = mva_store_set_micrograph_path (store, id, m->path, error);
      if (ok && m->category != NULL && g_strcmp0 (old_cat, m->category) != 0 &&
          category_source_rank (cs) >= category_source_rank (old_cs))
        ok = mva_store_set_category (store, id, m->category, cs, error);
    }
  else
    {
      _mva_store_set_error (store, w->db, sqlite3_errcode (w->db), "find micrograph", error);
      sqlite3_reset (stmt);
    }

out:
  _mva_store_writer_unlock (store);
  if (!write_end (store, ok, error))
    return 0;
  if (added != NULL)
    *added = was_added;
  return id;
}

gint64
mva_store_add_micrograph_file (MvaStore            *store,
                               const char          *path,
                               const char          *category,
                               MvaCategorySource    category_source,
                               gboolean            *added,
                               GError             **error)
{
  g_autofree char *abs = NULL;
  g_autofree char *sha = NULL;
  g_autofree char *meta_json = NULL;
  g_autoptr(MvaImage) img = NULL;
  g_autoptr(GError) load_error = NULL;
  g_autoptr(MvaMicrograph) known = NULL;
  MvaMicrograph m = { 0 };
  struct stat st;

  g_return_val_if_fail (store != NULL && path != NULL, 0);
  if (added != NULL)
    *added = FALSE;
  abs = g_canonicalize_filename (path, NULL);
  sha = mva_store_hash_file (abs, NULL, error);
  if (sha == NULL)
    return 0;

  m.sha256 = sha;
  m.path = abs;
  m.category = (char *) category;
  m.category_source = category_source;
  m.file_size = stat (abs, &st) == 0 ? (gint64) st.st_size : -1;
  m.pixel_size_nm = NAN;

  /* a known image needs no decoding */
  known = mva_store_find_micrograph (store, sha, NULL);
  if (known == NULL)
    {
      img = mva_image_load (abs, 256, &load_error);
      if (img != NULL)
        {
          g_autoptr(JsonBuilder) b = json_builder_new ();
          g_autoptr(JsonGenerator) gen = json_generator_new ();
          g_autoptr(JsonNode) root = NULL;
          const MvaImageMeta *im = &img->meta;

          m.width = img->full_width ? img->full_width : img->width;
          m.height = img->full_height ? img->full_height : img->height;
          m.channels = img->channels;
          m.bit_depth = img->bit_depth;
          m.format = img->format;
          m.pixel_size_nm = im->pixel_size_nm;
          m.instrument = im->instrument;
          json_builder_begin_object (b);
#define ADD_NUM(key, v) \
          if (isfinite (v)) { json_builder_set_member_name (b, key); json_builder_add_double_value (b, v); }
          ADD_NUM ("pixel_size_nm", im->pixel_size_nm);
          ADD_NUM ("pixel_size_y_nm", im->pixel_size_y_nm);
          ADD_NUM ("hv_kv", im->hv_kv);
          ADD_NUM ("wd_mm", im->wd_mm);
          ADD_NUM ("magnification", im->magnification);
#undef ADD_NUM
          if (im->instrument != NULL)
            {
              json_builder_set_member_name (b, "instrument");
              json_builder_add_string_value (b, im->instrument);
            }
          if (im->detector != NULL)
            {
              json_builder_set_member_name (b, "detector");
              json_builder_add_string_value (b, im->detector);
            }
          if (im->vendor_format != NULL)
            {
              json_builder_set_member_name (b, "vendor_format");
              json_builder_add_string_value (b, im->vendor_format);
            }
          json_builder_set_member_name (b, "databar_height_px");
          json_builder_add_int_value (b, im->databar_height_px);
          json_builder_end_object (b);
          root = json_builder_get_root (b);
          json_generator_set_root (gen, root);
          meta_json = json_generator_to_data (gen, NULL);
          m.metadata_json = meta_json;
        }
      else
        m.load_error = load_error != NULL ? load_error->message : (char *) "cannot load";
    }
  return mva_store_add_micrograph (store, &m, added, error);
}

gboolean
mva_store_set_category (MvaStore          *store,
                        gint64             micrograph_id,
                        const char        *category,
                        MvaCategorySource  source,
                        GError           **error)
{
  MvaStoreConn *w;
  sqlite3_stmt *stmt;
  gboolean ok = FALSE;

  g_return_val_if_fail (store != NULL, FALSE);
  if (category == NULL)
    source = MVA_CATEGORY_SOURCE_NONE;
  else if (source == MVA_CATEGORY_SOURCE_NONE)
    source = MVA_CATEGORY_SOURCE_USER;
  if (!mva_store_begin (store, error))
    return FALSE;
  w = _mva_store_writer_lock (store, error);
  stmt = _mva_store_prepare (store, w,
                             "UPDATE micrographs SET category = ?2, category_source = ?3 "
                             "WHERE id = ?1", error);
  if (stmt != NULL)
    {
      sqlite3_bind_int64 (stmt, 1, micrograph_id);
      _mva_stmt_bind_text_or_null (stmt, 2, category);
      sqlite3_bind_text (stmt, 3, mva_category_source_to_string (source), -1, SQLITE_STATIC);
      ok = step_done (store, w, stmt, "set category", error);
      if (ok && sqlite3_changes (w->db) == 0)
        ok = not_found (error, "micrograph", micrograph_id);
    }
  _mva_store_writer_unlock (store);
  return write_end (store, ok, error);
}

gboolean
mva_store_set_micrograph_path (MvaStore   *store,
                               gint64      micrograph_id,
                               const char *path,
                               GError    **error)
{
  MvaStoreConn *w;
  sqlite3_stmt *stmt;
  gboolean ok = FALSE;

  g_return_val_if_fail (store != NULL, FALSE);
  if (!mva_store_begin (store, error))
    return FALSE;
  w = _mva_store_writer_lock (store, error);
  stmt = _mva_store_prepare (store, w, "UPDATE micrographs SET path = ?2 WHERE id = ?1", error);
  if (stmt != NULL)
    {
      sqlite3_bind_int64 (stmt, 1, micrograph_id);
      _mva_stmt_bind_text_or_null (stmt, 2, path);
      ok = step_done (store, w, stmt, "set path", error);
      if (ok && sqlite3_changes (w->db) == 0)
        ok = not_found (error, "micrograph", micrograph_id);
    }
  _mva_store_writer_unlock (store);
  return write_end (store, ok, error);
}

/* DELETE ... WHERE id = ?1 with a not-found check. */
static gboolean
delete_by_id (MvaStore *store, const char *sql, gint64 id, const char *what, GError **error)
{
  MvaStoreConn *w;
  sqlite3_stmt *stmt;
  gboolean ok = FALSE;

  if (!mva_store_begin (store, error))
    return FALSE;
  w = _mva_store_writer_lock (store, error);
  stmt = _mva_store_prepare (store, w, sql, error);
  if (stmt != NULL)
    {
      sqlite3_bind_int64 (stmt, 1, id);
      ok = step_done (store, w, stmt, "delete", error);
      if (ok && sqlite3_changes (w->db) == 0)
        ok = not_found (error, what, id);
    }
  _mva_store_writer_unlock (store);
  return write_end (store, ok, error);
}

gboolean
mva_store_delete_micrograph (MvaStore *store, gint64 id, GError **error)
{
  g_return_val_if_fail (store != NULL, FALSE);
  return delete_by_id (store, "DELETE FROM micrographs WHERE id = ?1", id, "micrograph", error);
}

/* Append "AND <cond>" pieces for a category filter. */
static void
append_category (GString *where, const char *col, const char *category, int param)
{
  if (category == NULL)
    return;
  if (*category == '\0')
    g_string_append_printf (where, " AND %s IS NULL", col);
  else
    g_string_append_printf (where, " AND %s = ?%d", col, param);
}

static void
append_mask (GString *where, const char *col, guint mask, guint n_values)
{
  gboolean first = TRUE;

  mask &= (1u << n_values) - 1;
  if (mask == 0)
    return;
  g_string_append_printf (where, " AND %s IN (", col);
  for (guint i = 0; i < n_values; i++)
    if (mask & (1u << i))
      {
        g_string_append_printf (where, "%s%u", first ? "" : ",", i);
        first = FALSE;
      }
  g_string_append_c (where, ')');
}

static char *
micrograph_where (const MvaMicrographFilter *f)
{
  GString *where = g_string_new ("1");

  if (f == NULL)
    return g_string_free (where, FALSE);
  append_category (where, "m.category", f->category, 1);
  if (f->search != NULL && *f->search != '\0')
    g_string_append (where, " AND instr(m.path, ?2) > 0");
  if ((f->review_mask & 0xf) != 0)
    {
      g_string_append (where, " AND EXISTS (SELECT 1 FROM qa_pairs q WHERE "
                              "q.micrograph_id = m.id");
      append_mask (where, "q.review_state", f->review_mask, 4);
      g_string_append_c (where, ')');
    }
  return g_string_free (where, FALSE);
}

static void
bind_micrograph_filter (sqlite3_stmt *stmt, const MvaMicrographFilter *f)
{
  if (f == NULL)
    return;
  if (f->category != NULL && *f->category != '\0')
    sqlite3_bind_text (stmt, 1, f->category, -1, SQLITE_TRANSIENT);
  if (f->search != NULL && *f->search != '\0')
    sqlite3_bind_text (stmt, 2, f->search, -1, SQLITE_TRANSIENT);
}

GPtrArray *
mva_store_list_micrographs (MvaStore                  *store,
                            const MvaMicrographFilter *filter,
                            GError                   **error)
{
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) mva_micrograph_free);
  g_autofree char *where = micrograph_where (filter);
  g_autofree char *sql = NULL;
  MvaStoreConn *conn;
  sqlite3_stmt *stmt;
  int rc = SQLITE_DONE;

  g_return_val_if_fail (store != NULL, NULL);
  sql = g_strdup_printf ("SELECT " MICROGRAPH_COLS " FROM micrographs m WHERE %s "
                         "ORDER BY m.id DESC LIMIT ?3 OFFSET ?4", where);
  conn = _mva_store_reader_acquire (store, error);
  if (conn == NULL)
    return NULL;
  stmt = _mva_store_prepare (store, conn, sql, error);
  if (stmt != NULL)
    {
      bind_micrograph_filter (stmt, filter);
      sqlite3_bind_int64 (stmt, 3, filter != NULL && filter->limit > 0 ? (gint64) filter->limit : -1);
      sqlite3_bind_int64 (stmt, 4, filter != NULL ? (gint64) filter->offset : 0);
      while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
        g_ptr_array_add (out, micrograph_from_row (stmt));
      if (rc != SQLITE_DONE)
        _mva_store_set_error (store, conn->db, rc, "list micrographs", error);
      sqlite3_reset (stmt);
    }
  _mva_store_reader_release (store, conn);
  if (stmt == NULL || rc != SQLITE_DONE)
    return NULL;
  return g_steal_pointer (&out);
}

/* Run a one-value count query; -1 on error. */
static gint64
count_query (MvaStore *store, const char *sql, gpointer filter,
             void (*bind) (sqlite3_stmt *, gpointer), GError **error)
{
  MvaStoreConn *conn = _mva_store_reader_acquire (store, error);
  sqlite3_stmt *stmt;
  gint64 n = -1;
  int rc;

  if (conn == NULL)
    return -1;
  stmt = _mva_store_prepare (store, conn, sql, error);
  if (stmt != NULL)
    {
      if (bind != NULL)
        bind (stmt, filter);
      rc = sqlite3_step (stmt);
      if (rc == SQLITE_ROW)
        n = sqlite3_column_int64 (stmt, 0);
      else
        _mva_store_set_error (store, conn->db, rc, "count", error);
      sqlite3_reset (stmt);
    }
  _mva_store_reader_release (store, conn);
  return n;
}

static void
bind_micrograph_filter_cb (sqlite3_stmt *stmt, gpointer f)
{
  bind_micrograph_filter (stmt, f);
}

gint64
mva_store_count_micrographs (MvaStore                  *store,
                             const MvaMicrographFilter *filter,
                             GError                   **error)
{
  g_autofree char *where = micrograph_where (filter);
  g_autofree char *sql = g_strdup_printf ("SELECT count(*) FROM micrographs m WHERE %s", where);

  g_return_val_if_fail (store != NULL, -1);
  return count_query (store, sql, (gpointer) filter, bind_micrograph_filter_cb, error);
}

GPtrArray *
mva_store_list_categories (MvaStore *store, GError **error)
{
  g_autoptr(GPtrArray) out =
    g_ptr_array_new_with_free_func ((GDestroyNotify) mva_category_count_free);
  MvaStoreConn *conn;
  sqlite3_stmt *stmt;
  int rc = SQLITE_DONE;

  g_return_val_if_fail (store != NULL, NULL);
  conn = _mva_store_reader_acquire (store, error);
  if (conn == NULL)
    return NULL;
  stmt = _mva_store_prepare (store, conn,
                             "SELECT m.category, count(*), "
                             "  (SELECT count(*) FROM qa_pairs q WHERE q.category IS m.category) "
                             "FROM micrographs m GROUP BY m.category "
                             "ORDER BY m.category IS NULL, m.category", error);
  if (stmt != NULL)
    {
      while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
        {
          MvaCategoryCount *c = g_new0 (MvaCategoryCount, 1);
          c->category = _mva_stmt_dup_text (stmt, 0);
          c->n_micrographs = sqlite3_column_int64 (stmt, 1);
          c->n_qa = sqlite3_column_int64 (stmt, 2);
          g_ptr_array_add (out, c);
        }
      if (rc != SQLITE_DONE)
        _mva_store_set_error (store, conn->db, rc, "list categories", error);
      sqlite3_reset (stmt);
    }
  _mva_store_reader_release (store, conn);
  if (stmt == NULL || rc != SQLITE_DONE)
    return NULL;
  return g_steal_pointer (&out);
}

// --- Q/A pairs -------------------------------------------------------------------

/* Identity of a pair for deduplicated imports: image, family, question and
 * answer (not the source: the same pair arriving as JSONL and as LLaVA is
 * one pair). */
static char *
qa_dedup_key (const MvaQaPair *qa)
{
  g_autoptr(GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  char head[64];

  g_snprintf (head, sizeof head, "%" G_GINT64_FORMAT "|%d|", qa->micrograph_id, qa->family);
  g_checksum_update (sum, (const guchar *) head, -1);
  g_checksum_update (sum, (const guchar *) qa->question, -1);
  g_checksum_update (sum, (const guchar *) "\x1f", 1);
  g_checksum_update (sum, (const guchar *) qa->answer, -1);
  return g_strdup (g_checksum_get_string (sum));
}

static void
bind_blob_or_null (sqlite3_stmt *stmt, int idx, GBytes *bytes)
{
  gsize n = 0;
  gconstpointer data = bytes != NULL ? g_bytes_get_data (bytes, &n) : NULL;

  if (data != NULL && n > 0)
    sqlite3_bind_blob64 (stmt, idx, data, n, SQLITE_TRANSIENT);
  else
    sqlite3_bind_null (stmt, idx);
}

gint64
mva_store_add_qa (MvaStore        *store,
                  const MvaQaPair *qa,
                  gboolean         dedup,
                  gboolean        *added,
                  GError         **error)
{
  static const char *sql =
    "INSERT INTO qa_pairs (micrograph_id, source, model_version_id, family, question, answer, "
    "tokens, attention, params_json, dedup_key, created_at, teacher_model, prompt_tokens, "
    "completion_tokens, extra_json, category) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, "
    "?11, ?12, ?13, ?14, ?15, (SELECT category FROM micrographs WHERE id = ?1)) "
    "ON CONFLICT (dedup_key) DO NOTHING";
  g_autofree char *key = NULL;
  MvaStoreConn *w;
  sqlite3_stmt *stmt;
  gint64 id = 0;
  gboolean ok = FALSE, was_added = FALSE;

  g_return_val_if_fail (store != NULL && qa != NULL, 0);
  if (added != NULL)
    *added = FALSE;
  if (qa->question == NULL || qa->answer == NULL || qa->micrograph_id <= 0)
    {
      g_set_error (error, MVA_STORE_ERROR, MVA_STORE_ERROR_INVALID,
                   "a question/answer pair needs a micrograph, a question and an answer");
      return 0;
    }
  if (qa->family < 0 || qa->family > 10 || mva_qa_source_to_string (qa->source) == NULL)
    {
      g_set_error (error, MVA_STORE_ERROR, MVA_STORE_ERROR_INVALID,
                   "bad family %d or source %d", qa->family, (int) qa->source);
      return 0;
    }
  if (qa->params_json != NULL && !check_json_object (qa->params_json, "params", error))
    return 0;
  if (qa->extra_json != NULL && !check_json_object (qa->extra_json, "extra keys", error))
    return 0;
  if (dedup)
    key = qa_dedup_key (qa);

  if (!mva_store_begin (store, error))
    return 0;
  w = _mva_store_writer_lock (store, error);
  stmt = _mva_store_prepare (store, w, sql, error);
  if (stmt == NULL)
    goto out;
  sqlite3_bind_int64 (stmt, 1, qa->micrograph_id);
  sqlite3_bind_text (stmt, 2, mva_qa_source_to_string (qa->source), -1, SQLITE_STATIC);
  _mva_stmt_bind_id_or_null (stmt, 3, qa->model_version_id);
  sqlite3_bind_int (stmt, 4, qa->family);
  sqlite3_bind_text (stmt, 5, qa->question, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 6, qa->answer, -1, SQLITE_TRANSIENT);
  bind_blob_or_null (stmt, 7, qa->tokens);
  bind_blob_or_null (stmt, 8, qa->attention);
  _mva_stmt_bind_text_or_null (stmt, 9, qa->params_json);
  _mva_stmt_bind_text_or_null (stmt, 10, key);
  sqlite3_bind_int64 (stmt, 11, qa->created_at > 0 ? qa->created_at : g_get_real_time ());
  _mva_stmt_bind_text_or_null (stmt, 12, qa->teacher_model);
  sqlite3_bind_int64 (stmt, 13, qa->teacher_model != NULL || qa->prompt_tokens > 0
                                  ? qa->prompt_tokens : -1);
  sqlite3_bind_int64 (stmt, 14, qa->teacher_model != NULL || qa->completion_tokens > 0
                                  ? qa->completion_tokens : -1);
  _mva_stmt_bind_text_or_null (stmt, 15, qa->extra_json);
  if (!step_done (store, w, stmt, "add question/answer", error))
    goto out;
  was_added = sqlite3_changes (w->db) > 0;
  ok = TRUE;
  if (was_added)
    id = sqlite3_last_insert_rowid (w->db);
  else
    {
      stmt = _mva_store_prepare (store, w, "SELECT id FROM qa_pairs WHERE dedup_key = ?1", error);
      ok = stmt != NULL;
      if (ok)
        {
          sqlite3_bind_text (stmt, 1, key, -1, SQLITE_TRANSIENT);
          if (sqlite3_step (stmt) == SQLITE_ROW)
            id = sqlite3_column_int64 (stmt, 0);
          sqlite3_reset (stmt);
          ok = id > 0;
          if (!ok)
            _mva_store_set_error (store, w->db, sqlite3_errcode (w->db), "find pair", error);
        }
    }
out:
  _mva_store_writer_unlock (store);
  if (!write_end (store, ok, error))
    return 0;
  if (added != NULL)
    *added = was_added;
  return id;
}

#define QA_COLS                                                                           \
  "q.id, q.micrograph_id, q.source, q.model_version_id, q.family, q.question, q.answer, "  \
  "q.params_json, q.teacher_model, q.prompt_tokens, q.completion_tokens, q.created_at, "    \
  "q.review_state, q.category, m.path, m.sha256, "                                         \
  "r.corrected_text, r.reviewer, r.reviewed_at, q.extra_json"
#define QA_BLOB_COLS ", q.tokens, q.attention"
#define QA_JOINS                                                                          \
  " JOIN micrographs m ON m.id = q.micrograph_id "                                         \
  "LEFT JOIN reviews r ON r.qa_id = q.id AND "                                              \
  "  r.id = (SELECT max(r2.id) FROM reviews r2 WHERE r2.qa_id = q.id)"
#define QA_FROM " FROM qa_pairs q" QA_JOINS

static MvaQaPair *
qa_from_row (sqlite3_stmt *stmt, gboolean with_blobs)
{
  MvaQaPair *qa = g_new0 (MvaQaPair, 1);
  MvaQaSource src = MVA_QA_SOURCE_USER;

  qa->id = sqlite3_column_int64 (stmt, 0);
  qa->micrograph_id = sqlite3_column_int64 (stmt, 1);
  mva_qa_source_from_string ((const char *) sqlite3_column_text (stmt, 2), &src);
  qa->source = src;
  qa->model_version_id = sqlite3_column_int64 (stmt, 3);
  qa->family = sqlite3_column_int (stmt, 4);
  qa->question = _mva_stmt_dup_text (stmt, 5);
  qa->answer = _mva_stmt_dup_text (stmt, 6);
  qa->params_json = _mva_stmt_dup_text (stmt, 7);
  qa->teacher_model = _mva_stmt_dup_text (stmt, 8);
  qa->prompt_tokens = sqlite3_column_int64 (stmt, 9);
  qa->completion_tokens = sqlite3_column_int64 (stmt, 10);
  qa->created_at = sqlite3_column_int64 (stmt, 11);
  qa->review_state = (MvaReviewState) CLAMP (sqlite3_column_int (stmt, 12), 0, 3);
  qa->category = _mva_stmt_dup_text (stmt, 13);
  qa->image_path = _mva_stmt_dup_text (stmt, 14);
  qa->image_sha256 = _mva_stmt_dup_text (stmt, 15);
  qa->corrected_text = _mva_stmt_dup_text (stmt, 16);
  qa->reviewer = _mva_stmt_dup_text (stmt, 17);
  qa->reviewed_at = sqlite3_column_int64 (stmt, 18);
  qa->extra_json = _mva_stmt_dup_text (stmt, 19);
  if (with_blobs)
    {
      if (sqlite3_column_type (stmt, 20) == SQLITE_BLOB)
        qa->tokens = g_bytes_new (sqlite3_column_blob (stmt, 20), sqlite3_column_bytes (stmt, 20));
      if (sqlite3_column_type (stmt, 21) == SQLITE_BLOB)
        qa->attention = g_bytes_new (sqlite3_column_blob (stmt, 21),
                                     sqlite3_column_bytes (stmt, 21));
    }
  return qa;
}

MvaQaPair *
mva_store_get_qa (MvaStore *store, gint64 id, GError **error)
{
  MvaStoreConn *conn;
  sqlite3_stmt *stmt;
  MvaQaPair *qa = NULL;
  int rc;

  g_return_val_if_fail (store != NULL, NULL);
  conn = _mva_store_reader_acquire (store, error);
  if (conn == NULL)
    return NULL;
  stmt = _mva_store_prepare (store, conn, "SELECT " QA_COLS QA_BLOB_COLS QA_FROM " WHERE q.id = ?1",
                             error);
  if (stmt != NULL)
    {
      sqlite3_bind_int64 (stmt, 1, id);
      rc = sqlite3_step (stmt);
      if (rc == SQLITE_ROW)
        qa = qa_from_row (stmt, TRUE);
      else if (rc == SQLITE_DONE)
        not_found (error, "question/answer pair", id);
      else
        _mva_store_set_error (store, conn->db, rc, "read pair", error);
      sqlite3_reset (stmt);
    }
  _mva_store_reader_release (store, conn);
  return qa;
}

gboolean
mva_store_delete_qa (MvaStore *store, gint64 id, GError **error)
{
  g_return_val_if_fail (store != NULL, FALSE);
  return delete_by_id (store, "DELETE FROM qa_pairs WHERE id = ?1", id,
                       "question/answer pair", error);
}

/* WHERE clause of a pair filter; state >= 0 replaces the review mask by
 * "review_state = state". Parameters: ?1 category, ?2 micrograph, ?3 family,
 * ?4 model version. */
static char *
qa_where_state (const MvaQaFilter *f, int state)
{
  GString *where = g_string_new ("1");

  if (f == NULL)
    return g_string_free (where, FALSE);
  append_category (where, "q.category", f->category, 1);
  if (state >= 0)
    g_string_append_printf (where, " AND q.review_state = %d", state);
  else
    append_mask (where, "q.review_state", f->review_mask, 4);
  if ((f->source_mask & 0xf) != 0)
    {
      gboolean first = TRUE;
      g_string_append (where, " AND q.source IN (");
      for (guint i = 0; i < 4; i++)
        if (f->source_mask & (1u << i))
          {
            g_string_append_printf (where, "%s'%s'", first ? "" : ",",
                                    mva_qa_source_to_string ((MvaQaSource) i));
            first = FALSE;
          }
      g_string_append_c (where, ')');
    }
  if (f->micrograph_id > 0)
    g_string_append (where, " AND q.micrograph_id = ?2");
  if (f->family > 0)
    g_string_append (where, " AND q.family = ?3");
  if (f->model_version_id > 0)
    g_string_append (where, " AND q.model_version_id = ?4");
  return g_string_free (where, FALSE);
}

static char *
qa_where (const MvaQaFilter *f)
{
  return qa_where_state (f, -1);
}

static void
bind_qa_filter (sqlite3_stmt *stmt, gpointer data)
{
  const MvaQaFilter *f = data;

  if (f == NULL)
    return;
  if (f->category != NULL && *f->category != '\0')
    sqlite3_bind_text (stmt, 1, f->category, -1, SQLITE_TRANSIENT);
  if (f->micrograph_id > 0)
    sqlite3_bind_int64 (stmt, 2, f->micrograph_id);
  if (f->family > 0)
    sqlite3_bind_int (stmt, 3, f->family);
  if (f->model_version_id > 0)
    sqlite3_bind_int64 (stmt, 4, f->model_version_id);
}

GPtrArray *
mva_store_list_qa (MvaStore *store, const MvaQaFilter *filter, GError **error)
{
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) mva_qa_pair_free);
  g_autofree char *where = qa_where (filter);
  g_autofree char *sql = NULL;
  gboolean blobs = filter != NULL && filter->with_blobs;
  const char *order;
  MvaStoreConn *conn;
  sqlite3_stmt *stmt;
  int rc = SQLITE_DONE;

  g_return_val_if_fail (store != NULL, NULL);
  order = filter != NULL && filter->oldest_first ? "ASC" : "DESC";
  if (filter != NULL && filter->limit > 0 && filter->micrograph_id <= 0 &&
      (filter->category != NULL || (filter->review_mask & 0xf) != 0))
    {
      /* A page by category and/or review states: one index range per state
       * (category, review_state, id), each read only as far as the page
       * needs, merged by id. A plain IN over the states would sort every
       * matching pair before cutting the page. */
      GString *inner = g_string_new (NULL);
      guint states = (filter->review_mask & 0xf) ? (filter->review_mask & 0xf) : 0xf;

      for (int st = 0; st < 4; st++)
        if (states & (1u << st))
          {
            g_autofree char *w = qa_where_state (filter, st);
            g_string_append_printf (inner, "%sSELECT id FROM (SELECT q.id FROM qa_pairs q "
                                    "WHERE %s ORDER BY q.id %s LIMIT ?7)",
                                    inner->len > 0 ? " UNION ALL " : "", w, order);
          }
      sql = g_strdup_printf ("SELECT " QA_COLS "%s FROM (SELECT id FROM (%s) ORDER BY id %s "
                             "LIMIT ?5 OFFSET ?6) p JOIN qa_pairs q ON q.id = p.id" QA_JOINS
                             " ORDER BY q.id %s", blobs ? QA_BLOB_COLS : "", inner->str, order,
                             order);
      g_string_free (inner, TRUE);
    }
  else
    sql = g_strdup_printf ("SELECT " QA_COLS "%s" QA_FROM " WHERE %s ORDER BY q.id %s "
                           "LIMIT ?5 OFFSET ?6", blobs ? QA_BLOB_COLS : "", where, order);
  conn = _mva_store_reader_acquire (store, error);
  if (conn == NULL)
    return NULL;
  stmt = _mva_store_prepare (store, conn, sql, error);
  if (stmt != NULL)
    {
      gint64 limit = filter != NULL && filter->limit > 0 ? (gint64) filter->limit : -1;
      gint64 offset = filter != NULL ? (gint64) filter->offset : 0;

      bind_qa_filter (stmt, (gpointer) filter);
      sqlite3_bind_int64 (stmt, 5, limit);
      sqlite3_bind_int64 (stmt, 6, offset);
      if (sqlite3_bind_parameter_index (stmt, "?7") > 0)
        sqlite3_bind_int64 (stmt, 7, offset + limit);
      while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
        g_ptr_array_add (out, qa_from_row (stmt, blobs));
      if (rc != SQLITE_DONE)
        _mva_store_set_error (store, conn->db, rc, "list pairs", error);
      sqlite3_reset (stmt);
    }
  _mva_store_reader_release (store, conn);
  if (stmt == NULL || rc != SQLITE_DONE)
    return NULL;
  return g_steal_pointer (&out);
}

gint64
mva_store_count_qa (MvaStore *store, const MvaQaFilter *filter, GError **error)
{
  g_autofree char *where = qa_where (filter);
  g_autofree char *sql = g_strdup_printf ("SELECT count(*) FROM qa_pairs q WHERE %s", where);

  g_return_val_if_fail (store != NULL, -1);
  return count_query (store, sql, (gpointer) filter, bind_qa_filter, error);
}

// --- reviews -----------------------------------------------------------------------

gint64
mva_store_add_review (MvaStore       *store,
                      gint64          qa_id,
                      MvaReviewState  state,
                      const char     *corrected_text,
                      const char     *reviewer,
                      GError        **error)
{
  MvaStoreConn *w;
  sqlite3_stmt *stmt;
  gint64 id = 0;
  gboolean ok = FALSE;

  g_return_val_if_fail (store != NULL, 0);
  if (state != MVA_REVIEW_ACCEPTED && state != MVA_REVIEW_CORRECTED &&
      state != MVA_REVIEW_REJECTED)
    {
      g_set_error (error, MVA_STORE_ERROR, MVA_STORE_ERROR_INVALID,
                   "a review is accepted, corrected or rejected");
      return 0;
    }
  if (state == MVA_REVIEW_CORRECTED && (corrected_text == NULL || *corrected_text == '\0'))
    {
      g_set_error (error, MVA_STORE_ERROR, MVA_STORE_ERROR_INVALID,
                   "a correction needs the corrected text");
      return 0;
    }
  if (!mva_store_begin (store, error))
    return 0;
  w = _mva_store_writer_lock (store, error);
  stmt = _mva_store_prepare (store, w,
                             "INSERT INTO reviews (qa_id, state, corrected_text, reviewer, "
                             "reviewed_at) VALUES (?1, ?2, ?3, ?4, ?5)", error);
  if (stmt != NULL)
    {
      sqlite3_bind_int64 (stmt, 1, qa_id);
      sqlite3_bind_text (stmt, 2, mva_review_state_to_string (state), -1, SQLITE_STATIC);
      _mva_stmt_bind_text_or_null (stmt, 3, state == MVA_REVIEW_CORRECTED ? corrected_text : NULL);
      _mva_stmt_bind_text_or_null (stmt, 4, reviewer);
      sqlite3_bind_int64 (stmt, 5, g_get_real_time ());
      ok = step_done (store, w, stmt, "add review", error);
      if (ok)
        id = sqlite3_last_insert_rowid (w->db);
      else if (error != NULL && *error != NULL && (*error)->code == MVA_STORE_ERROR_INVALID)
        {
          /* the only constraint an otherwise valid review can break is the pair's FK */
          g_clear_error (error);
          not_found (error, "question/answer pair", qa_id);
        }
    }
  _mva_store_writer_unlock (store);
  if (!write_end (store, ok, error))
    return 0;
  return id;
}

gboolean
mva_store_undo_review (MvaStore *store,
                       gint64    qa_id,
                       gint64   *out_qa_id,
                       GError  **error)
{
  MvaStoreConn *w;
  sqlite3_stmt *stmt;
  gint64 review_id = 0, touched = 0;
  gboolean ok = FALSE;

  g_return_val_if_fail (store != NULL, FALSE);
  if (!mva_store_begin (store, error))
    return FALSE;
  w = _mva_store_writer_lock (store, error);
  stmt = _mva_store_prepare (store, w,
                             qa_id > 0 ? "SELECT id, qa_id FROM reviews WHERE qa_id = ?1 "
                                         "ORDER BY id DESC LIMIT 1"
                                       : "SELECT id, qa_id FROM reviews ORDER BY id DESC LIMIT 1",
                             error);
  if (stmt != NULL)
    {
      if (qa_id > 0)
        sqlite3_bind_int64 (stmt, 1, qa_id);
      if (sqlite3_step (stmt) == SQLITE_ROW)
        {
          review_id = sqlite3_column_int64 (stmt, 0);
          touched = sqlite3_column_int64 (stmt, 1);
        }
      sqlite3_reset (stmt);
      if (review_id == 0)
        g_set_error (error, MVA_STORE_ERROR, MVA_STORE_ERROR_NOT_FOUND, "no review to undo");
      else
        {
          stmt = _mva_store_prepare (store, w, "DELETE FROM reviews WHERE id = ?1", error);
          if (stmt != NULL)
            {
              sqlite3_bind_int64 (stmt, 1, review_id);
              ok = step_done (store, w, stmt, "undo review", error);
            }
        }
    }
  _mva_store_writer_unlock (store);
  if (!write_end (store, ok, error))
    return FALSE;
  if (out_qa_id != NULL)
    *out_qa_id = touched;
  return TRUE;
}

GPtrArray *
mva_store_list_reviews (MvaStore *store, gint64 qa_id, GError **error)
{
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) mva_review_free);
  MvaStoreConn *conn;
  sqlite3_stmt *stmt;
  int rc = SQLITE_DONE;

  g_return_val_if_fail (store != NULL, NULL);
  conn = _mva_store_reader_acquire (store, error);
  if (conn == NULL)
    return NULL;
  stmt = _mva_store_prepare (store, conn,
                             "SELECT id, qa_id, state, corrected_text, reviewer, reviewed_at "
                             "FROM reviews WHERE qa_id = ?1 ORDER BY id", error);
  if (stmt != NULL)
    {
      sqlite3_bind_int64 (stmt, 1, qa_id);
      while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
        {
          MvaReview *r = g_new0 (MvaReview, 1);
          MvaReviewState st = MVA_REVIEW_NONE;
          r->id = sqlite3_column_int64 (stmt, 0);
          r->qa_id = sqlite3_column_int64 (stmt, 1);
          mva_review_state_from_string ((const char *) sqlite3_column_text (stmt, 2), &st);
          r->state = st;
          r->corrected_text = _mva_stmt_dup_text (stmt, 3);
          r->reviewer = _mva_stmt_dup_text (stmt, 4);
          r->reviewed_at = sqlite3_column_int64 (stmt, 5);
          g_ptr_array_add (out, r);
        }
      if (rc != SQLITE_DONE)
        _mva_store_set_error (store, conn->db, rc, "list reviews", error);
      sqlite3_reset (stmt);
    }
  _mva_store_reader_release (store, conn);
  if (stmt == NULL || rc != SQLITE_DONE)
    return NULL;
  return g_steal_pointer (&out);
}

// --- datasets ----------------------------------------------------------------------

gint64
mva_store_create_dataset (MvaStore   *store,
                          const char *name,
                          const char *description,
                          GError    **error)
{
  MvaStoreConn *w;
  sqlite3_stmt *stmt;
  gint64 id = 0;
  gboolean ok = FALSE;

  g_return_val_if_fail (store != NULL, 0);
  if (name == NULL || *name == '\0')
    {
      g_set_error (error, MVA_STORE_ERROR, MVA_STORE_ERROR_INVALID, "a dataset needs a name");
      return 0;
    }
  if (!mva_store_begin (store, error))
    return 0;
  w = _mva_store_writer_lock (store, error);
  stmt = _mva_store_prepare (store, w, "INSERT INTO datasets (name, description, created_at) "
                                       "VALUES (?1, ?2, ?3)", error);
  if (stmt != NULL)
    {
      sqlite3_bind_text (stmt, 1, name, -1, SQLITE_TRANSIENT);
      _mva_stmt_bind_text_or_null (stmt, 2, description);
      sqlite3_bind_int64 (stmt, 3, g_get_real_time ());
      ok = step_done (store, w, stmt, "create dataset", error);
      if (ok)
        id = sqlite3_last_insert_rowid (w->db);
      else if (error != NULL && *error != NULL && (*error)->code == MVA_STORE_ERROR_EXISTS)
        {
          g_clear_error (error);
          g_set_error (error, MVA_STORE_ERROR, MVA_STORE_ERROR_EXISTS,
                       "a dataset named “%s” exists", name);
        }
    }
  _mva_store_writer_unlock (store);
  if (!write_end (store, ok, error))
    return 0;
  return id;
}

gint64
mva_store_find_dataset (MvaStore *store, const char *name, GError **error)
{
  MvaStoreConn *conn;
  sqlite3_stmt *stmt;
  gint64 id = 0;
  int rc;

  g_return_val_if_fail (store != NULL && name != NULL, 0);
  conn = _mva_store_reader_acquire (store, error);
  if (conn == NULL)
    return 0;
  stmt = _mva_store_prepare (store, conn, "SELECT id FROM datasets WHERE name = ?1", error);
  if (stmt != NULL)
    {
      sqlite3_bind_text (stmt, 1, name, -1, SQLITE_TRANSIENT);
      rc = sqlite3_step (stmt);
      if (rc == SQLITE_ROW)
        id = sqlite3_column_int64 (stmt, 0);
      else if (rc != SQLITE_DONE)
        _mva_store_set_error (store, conn->db, rc, "find dataset", error);
      sqlite3_reset (stmt);
    }
  _mva_store_reader_release (store, conn);
  return id;
}

gboolean
mva_store_delete_dataset (MvaStore *store, gint64 dataset_id, GError **error)
{
  g_return_val_if_fail (store != NULL, FALSE);
  return delete_by_id (store, "DELETE FROM datasets WHERE id = ?1", dataset_id, "dataset", error);
}

gboolean
mva_store_dataset_add (MvaStore  *store,
                       gint64     dataset_id,
                       gint64     qa_id,
                       MvaSplit   split,
                       int        fold,
                       GError   **error)
{
  MvaStoreConn *w;
  sqlite3_stmt *stmt;
  gboolean ok = FALSE;

  g_return_val_if_fail (store != NULL, FALSE);
  if (mva_split_to_string (split) == NULL)
    {
      g_set_error (error, MVA_STORE_ERROR, MVA_STORE_ERROR_INVALID, "bad split %d", (int) split);
      return FALSE;
    }
  if (!mva_store_begin (store, error))
    return FALSE;
  w = _mva_store_writer_lock (store, error);
  stmt = _mva_store_prepare (store, w,
                             "INSERT INTO dataset_items (dataset_id, qa_id, split, fold) "
                             "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (dataset_id, qa_id) "
                             "DO UPDATE SET split = excluded.split, fold = excluded.fold", error);
  if (stmt != NULL)
    {
      sqlite3_bind_int64 (stmt, 1, dataset_id);
      sqlite3_bind_int64 (stmt, 2, qa_id);
      sqlite3_bind_text (stmt, 3, mva_split_to_string (split), -1, SQLITE_STATIC);
      sqlite3_bind_int (stmt, 4, fold < 0 ? -1 : fold);
      ok = step_done (store, w, stmt, "add to dataset", error);
      if (!ok && error != NULL && *error != NULL && (*error)->code == MVA_STORE_ERROR_INVALID)
        {
          g_clear_error (error);
          g_set_error (error, MVA_STORE_ERROR, MVA_STORE_ERROR_NOT_FOUND,
                       "no dataset %" G_GINT64_FORMAT " or pair %" G_GINT64_FORMAT,
                       dataset_id, qa_id);
        }
    }
  _mva_store_writer_unlock (store);
  return write_end (store, ok, error);
}

GArray *
mva_store_dataset_list (MvaStore *store, gint64 dataset_id, int split, GError **error)
{
  g_autoptr(GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  MvaStoreConn *conn;
  sqlite3_stmt *stmt;
  int rc = SQLITE_DONE;

  g_return_val_if_fail (store != NULL, NULL);
  conn = _mva_store_reader_acquire (store, error);
  if (conn == NULL)
    return NULL;
  stmt = _mva_store_prepare (store, conn,
                             split < 0 ? "SELECT qa_id FROM dataset_items WHERE dataset_id = ?1 "
                                         "ORDER BY qa_id"
                                       : "SELECT qa_id FROM dataset_items WHERE dataset_id = ?1 "
                                         "AND split = ?2 ORDER BY qa_id", error);
  if (stmt != NULL)
    {
      sqlite3_bind_int64 (stmt, 1, dataset_id);
      if (split >= 0)
        _mva_stmt_bind_text_or_null (stmt, 2, mva_split_to_string ((MvaSplit) split));
      while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
        {
          gint64 id = sqlite3_column_int64 (stmt, 0);
          g_array_append_val (ids, id);
        }
      if (rc != SQLITE_DONE)
        _mva_store_set_error (store, conn->db, rc, "list dataset", error);
      sqlite3_reset (stmt);
    }
  _mva_store_reader_release (store, conn);
  if (stmt == NULL || rc != SQLITE_DONE)
    return NULL;
  return g_steal_pointer (&ids);
}

/* splitmix64: a stable hash so a seed gives the same split everywhere */
static guint64
mix64 (guint64 x)
{
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

gint64
mva_store_dataset_fill (MvaStore          *store,
                        gint64             dataset_id,
                        const MvaQaFilter *filter,
                        double             val_fraction,
                        double             test_fraction,
                        guint64            seed,
                        GError           **error)
{
  g_autoptr(GPtrArray) pairs = NULL;
  MvaQaFilter f = { 0 };
  gint64 n = 0;

  g_return_val_if_fail (store != NULL, -1);
  if (!(val_fraction >= 0 && test_fraction >= 0 && val_fraction + test_fraction < 1))
    {
      g_set_error (error, MVA_STORE_ERROR, MVA_STORE_ERROR_INVALID,
                   "validation and test fractions must be >= 0 and sum to less than 1");
      return -1;
    }
  if (filter != NULL)
    f = *filter;
  f.with_blobs = FALSE;
  f.oldest_first = TRUE;
  if (!mva_store_begin (store, error))
    return -1;
  pairs = mva_store_list_qa (store, &f, error);
  if (pairs == NULL)
    {
      mva_store_rollback (store);
      return -1;
    }
  for (guint i = 0; i < pairs->len; i++)
    {
      MvaQaPair *qa = g_ptr_array_index (pairs, i);
      guint64 h = mix64 (seed ^ mix64 ((guint64) qa->micrograph_id));
      double u = (double) (h >> 11) / (double) (1ull << 53);
      MvaSplit split = u < test_fraction ? MVA_SPLIT_TEST
                     : u < test_fraction + val_fraction ? MVA_SPLIT_VAL : MVA_SPLIT_TRAIN;

      if (!mva_store_dataset_add (store, dataset_id, qa->id, split, (int) (h % 10), error))
        {
          mva_store_rollback (store);
          return -1;
        }
      n++;
    }
  if (!mva_store_commit (store, error))
    return -1;
  return n;
}

// --- model versions ------------------------------------------------------------------

#define MODEL_COLS "id, name, file_path, sha256, parent_id, training_run_id, created_at, " \
                   "adopted, metrics_json"

static MvaModelVersion *
model_from_row (sqlite3_stmt *stmt)
{
  MvaModelVersion *mv = g_new0 (MvaModelVersion, 1);

  mv->id = sqlite3_column_int64 (stmt, 0);
  mv->name = _mva_stmt_dup_text (stmt, 1);
  mv->file_path = _mva_stmt_dup_text (stmt, 2);
  mv->sha256 = _mva_stmt_dup_text (stmt, 3);
  mv->parent_id = sqlite3_column_int64 (stmt, 4);
  mv->training_run_id = sqlite3_column_int64 (stmt, 5);
  mv->created_at = sqlite3_column_int64 (stmt, 6);
  mv->adopted = sqlite3_column_int (stmt, 7) != 0;
  mv->metrics_json = _mva_stmt_dup_text (stmt, 8);
  return mv;
}

gint64
mva_store_add_model_version (MvaStore              *store,
                             const MvaModelVersion *mv,
                             GError               **error)
{
  MvaStoreConn *w;
  sqlite3_stmt *stmt;
  gint64 id = 0;
  gboolean ok = FALSE;

  g_return_val_if_fail (store != NULL && mv != NULL, 0);
  if (mv->name == NULL || *mv->name == '\0' || mv->file_path == NULL)
    {
      g_set_error (error, MVA_STORE_ERROR, MVA_STORE_ERROR_INVALID,
                   "a model version needs a name and a file");
      return 0;
    }
  if (mv->metrics_json != NULL && !check_json_object (mv->metrics_json, "metrics", error))
    return 0;
  if (!mva_store_begin (store, error))
    return 0;
  w = _mva_store_writer_lock (store, error);
  stmt = _mva_store_prepare (store, w,
                             "INSERT INTO model_versions (name, file_path, sha256, parent_id, "
                             "training_run_id, created_at, metrics_json) "
                             "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)", error);
  if (stmt != NULL)
    {
      sqlite3_bind_text (stmt, 1, mv->name, -1, SQLITE_TRANSIENT);
      sqlite3_bind_text (stmt, 2, mv->file_path, -1, SQLITE_TRANSIENT);
      _mva_stmt_bind_text_or_null (stmt, 3, mv->sha256);
      _mva_stmt_bind_id_or_null (stmt, 4, mv->parent_id);
      _mva_stmt_bind_id_or_null (stmt, 5, mv->training_run_id);
      sqlite3_bind_int64 (stmt, 6, g_get_real_time ());
      _mva_stmt_bind_text_or_null (stmt, 7, mv->metrics_json);
      ok = step_done (store, w, stmt, "add model version", error);
      if (ok)
        id = sqlite3_last_insert_rowid (w->db);
    }
  _mva_store_writer_unlock (store);
  if (!write_end (store, ok, error))
    return 0;
  return id;
}

static MvaModelVersion *
get_model_where (MvaStore *store, const char *sql, gint64 id, GError **error)
{
  MvaStoreConn *conn = _mva_store_reader_acquire (store, error);
  MvaModelVersion *mv = NULL;
  sqlite3_stmt *stmt;
  int rc;

  if (conn == NULL)
    return NULL;
  stmt = _mva_store_prepare (store, conn, sql, error);
  if (stmt != NULL)
    {
      if (id > 0)
        sqlite3_bind_int64 (stmt, 1, id);
      rc = sqlite3_step (stmt);
      if (rc == SQLITE_ROW)
        mv = model_from_row (stmt);
      else if (rc != SQLITE_DONE)
        _mva_store_set_error (store, conn->db, rc, "read model version", error);
      sqlite3_reset (stmt);
    }
  _mva_store_reader_release (store, conn);
  return mv;
}

MvaModelVersion *
mva_store_get_model_version (MvaStore *store, gint64 id, GError **error)
{
  g_autoptr(GError) local = NULL;
  MvaModelVersion *mv;

  g_return_val_if_fail (store != NULL, NULL);
  mv = get_model_where (store, "SELECT " MODEL_COLS " FROM model_versions WHERE id = ?1", id,
                        &local);
  if (mv == NULL && local == NULL)
    not_found (&local, "model version", id);
  if (local != NULL)
    g_propagate_error (error, g_steal_pointer (&local));
  return mv;
}

MvaModelVersion *
mva_store_get_adopted_model (MvaStore *store, GError **error)
{
  g_return_val_if_fail (store != NULL, NULL);
  return get_model_where (store, "SELECT " MODEL_COLS " FROM model_versions WHERE adopted = 1",
                          0, error);
}

gboolean
mva_store_adopt_model_version (MvaStore *store, gint64 id, GError **error)
{
  MvaStoreConn *w;
  gboolean ok = FALSE;
  sqlite3_stmt *stmt;

  g_return_val_if_fail (store != NULL, FALSE);
  if (!mva_store_begin (store, error))
    return FALSE;
  w = _mva_store_writer_lock (store, error);
  ok = _mva_store_exec (store, w, "UPDATE model_versions SET adopted = 0 WHERE adopted = 1",
                        error);
  if (ok)
    {
      stmt = _mva_store_prepare (store, w, "UPDATE model_versions SET adopted = 1 WHERE id = ?1",
                                 error);
      ok = stmt != NULL;
      if (ok)
        {
          sqlite3_bind_int64 (stmt, 1, id);
          ok = step_done (store, w, stmt, "adopt model version", error);
          if (ok && sqlite3_changes (w->db) == 0)
            ok = not_found (error, "model version", id);
        }
    }
  _mva_store_writer_unlock (store);
  return write_end (store, ok, error);
}

gboolean
mva_store_set_model_metrics (MvaStore *store, gint64 id, const char *metrics_json,
                             GError **error)
{
  MvaStoreConn *w;
  sqlite3_stmt *stmt;
  gboolean ok = FALSE;

  g_return_val_if_fail (store != NULL, FALSE);
  if (metrics_json != NULL && !check_json_object (metrics_json, "metrics", error))
    return FALSE;
  if (!mva_store_begin (store, error))
    return FALSE;
  w = _mva_store_writer_lock (store, error);
  stmt = _mva_store_prepare (store, w, "UPDATE model_versions SET metrics_json = ?2 WHERE id = ?1",
                             error);
  if (stmt != NULL)
    {
      sqlite3_bind_int64 (stmt, 1, id);
      _mva_stmt_bind_text_or_null (stmt, 2, metrics_json);
      ok = step_done (store, w, stmt, "set model metrics", error);
      if (ok && sqlite3_changes (w->db) == 0)
        ok = not_found (error, "model version", id);
    }
  _mva_store_writer_unlock (store);
  return write_end (store, ok, error);
}

GPtrArray *
mva_store_list_model_versions (MvaStore *store, GError **error)
{
  g_autoptr(GPtrArray) out =
    g_ptr_array_new_with_free_func ((GDestroyNotify) mva_model_version_free);
  MvaStoreConn *conn;
  sqlite3_stmt *stmt;
  int rc = SQLITE_DONE;

  g_return_val_if_fail (store != NULL, NULL);
  conn = _mva_store_reader_acquire (store, error);
  if (conn == NULL)
    return NULL;
  stmt = _mva_store_prepare (store, conn,
                             "SELECT " MODEL_COLS " FROM model_versions ORDER BY id DESC", error);
  if (stmt != NULL)
    {
      while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
        g_ptr_array_add (out, model_from_row (stmt));
      if (rc != SQLITE_DONE)
        _mva_store_set_error (store, conn->db, rc, "list model versions", error);
      sqlite3_reset (stmt);
    }
  _mva_store_reader_release (store, conn);
  if (stmt == NULL || rc != SQLITE_DONE)
    return NULL;
  return g_steal_pointer (&out);
}

// --- training runs ---------------------------------------------------------------------

#define RUN_COLS "id, base_model_id, dataset_id, config_json, state, epochs_json, " \
                 "error_message, started_at, finished_at"

static MvaTrainingRun *
run_from_row (sqlite3_stmt *stmt)
{
  MvaTrainingRun *run = g_new0 (MvaTrainingRun, 1);
  MvaRunState st = MVA_RUN_PENDING;

  run->id = sqlite3_column_int64 (stmt, 0);
  run->base_model_id = sqlite3_column_int64 (stmt, 1);
  run->dataset_id = sqlite3_column_int64 (stmt, 2);
  run->config_json = _mva_stmt_dup_text (stmt, 3);
  mva_run_state_from_string ((const char *) sqlite3_column_text (stmt, 4), &st);
  run->state = st;
  run->epochs_json = _mva_stmt_dup_text (stmt, 5);
  run->error_message = _mva_stmt_dup_text (stmt, 6);
  run->started_at = sqlite3_column_int64 (stmt, 7);
  run->finished_at = sqlite3_column_int64 (stmt, 8);
  return run;
}

gint64
mva_store_start_training_run (MvaStore   *store,
                              gint64      base_model_id,
                              gint64      dataset_id,
                              const char *config_json,
                              GError    **error)
{
  MvaStoreConn *w;
  sqlite3_stmt *stmt;
  gint64 id = 0;
  gboolean ok = FALSE;

  g_return_val_if_fail (store != NULL, 0);
  if (config_json == NULL || !check_json_object (config_json, "training configuration", error))
    {
      if (config_json == NULL)
        g_set_error (error, MVA_STORE_ERROR, MVA_STORE_ERROR_INVALID,
                     "a training run needs its configuration");
      return 0;
    }
  if (!mva_store_begin (store, error))
    return 0;
  w = _mva_store_writer_lock (store, error);
  stmt = _mva_store_prepare (store, w,
                             "INSERT INTO training_runs (base_model_id, dataset_id, config_json, "
                             "state, epochs_json, started_at) "
                             "VALUES (?1, ?2, ?3, 'running', '[]', ?4)", error);
  if (stmt != NULL)
    {
      _mva_stmt_bind_id_or_null (stmt, 1, base_model_id);
      _mva_stmt_bind_id_or_null (stmt, 2, dataset_id);
      sqlite3_bind_text (stmt, 3, config_json, -1, SQLITE_TRANSIENT);
      sqlite3_bind_int64 (stmt, 4, g_get_real_time ());
      ok = step_done (store, w, stmt, "start training run", error);
      if (ok)
        id = sqlite3_last_insert_rowid (w->db);
    }
  _mva_store_writer_unlock (store);
  if (!write_end (store, ok, error))
    return 0;
  return id;
}

gboolean
mva_store_append_training_epoch (MvaStore   *store,
                                 gint64      run_id,
                                 const char *epoch_json,
                                 GError    **error)
{
  MvaStoreConn *w;
  sqlite3_stmt *stmt;
  gboolean ok = FALSE;

  g_return_val_if_fail (store != NULL && epoch_json != NULL, FALSE);
  if (!check_json_object (epoch_json, "epoch record", error))
    return FALSE;
  if (!mva_store_begin (store, error))
    return FALSE;
  w = _mva_store_writer_lock (store, error);
  stmt = _mva_store_prepare (store, w,
                             "UPDATE training_runs SET epochs_json = "
                             "json_insert(epochs_json, '$[#]', json(?2)) WHERE id = ?1", error);
  if (stmt != NULL)
    {
      sqlite3_bind_int64 (stmt, 1, run_id);
      sqlite3_bind_text (stmt, 2, epoch_json, -1, SQLITE_TRANSIENT);
      ok = step_done (store, w, stmt, "append epoch", error);
      if (ok && sqlite3_changes (w->db) == 0)
        ok = not_found (error, "training run", run_id);
    }
  _mva_store_writer_unlock (store);
  return write_end (store, ok, error);
}

gboolean
mva_store_finish_training_run (MvaStore    *store,
                               gint64       run_id,
                               MvaRunState  state,
                               const char  *error_message,
                               GError     **error)
{
  MvaStoreConn *w;
  sqlite3_stmt *stmt;
  gboolean ok = FALSE;
  gboolean final = state == MVA_RUN_FINISHED || state == MVA_RUN_FAILED ||
                   state == MVA_RUN_CANCELLED;

  g_return_val_if_fail (store != NULL, FALSE);
  if (mva_run_state_to_string (state) == NULL)
    {
      g_set_error (error, MVA_STORE_ERROR, MVA_STORE_ERROR_INVALID, "bad run state %d",
                   (int) state);
      return FALSE;
    }
  if (!mva_store_begin (store, error))
    return FALSE;
  w = _mva_store_writer_lock (store, error);
  stmt = _mva_store_prepare (store, w,
                             "UPDATE training_runs SET state = ?2, error_message = ?3, "
                             "finished_at = ?4 WHERE id = ?1", error);
  if (stmt != NULL)
    {
      sqlite3_bind_int64 (stmt, 1, run_id);
      sqlite3_bind_text (stmt, 2, mva_run_state_to_string (state), -1, SQLITE_STATIC);
      _mva_stmt_bind_text_or_null (stmt, 3, error_message);
      sqlite3_bind_int64 (stmt, 4, final ? g_get_real_time () : 0);
      ok = step_done (store, w, stmt, "finish training run", error);
      if (ok && sqlite3_changes (w->db) == 0)
        ok = not_found (error, "training run", run_id);
    }
  _mva_store_writer_unlock (store);
  return write_end (store, ok, error);
}

static GPtrArray *
list_runs (MvaStore *store, gint64 id, GError **error)
{
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) mva_training_run_free);
  MvaStoreConn *conn;
  sqlite3_stmt *stmt;
  int rc = SQLITE_DONE;

  conn = _mva_store_reader_acquire (store, error);
  if (conn == NULL)
    return NULL;
  stmt = _mva_store_prepare (store, conn,
                             id > 0 ? "SELECT " RUN_COLS " FROM training_runs WHERE id = ?1"
                                    : "SELECT " RUN_COLS " FROM training_runs ORDER BY id DESC",
                             error);
  if (stmt != NULL)
    {
      if (id > 0)
        sqlite3_bind_int64 (stmt, 1, id);
      while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
        g_ptr_array_add (out, run_from_row (stmt));
      if (rc != SQLITE_DONE)
        _mva_store_set_error (store, conn->db, rc, "list training runs", error);
      sqlite3_reset (stmt);
    }
  _mva_store_reader_release (store, conn);
  if (stmt == NULL || rc != SQLITE_DONE)
    return NULL;
  return g_steal_pointer (&out);
}

MvaTrainingRun *
mva_store_get_training_run (MvaStore *store, gint64 id, GError **error)
{
  g_autoptr(GPtrArray) runs = NULL;

  g_return_val_if_fail (store != NULL, NULL);
  runs = list_runs (store, id > 0 ? id : -1, error);
  if (runs == NULL)
    return NULL;
  if (runs->len == 0 || id <= 0)
    {
      not_found (error, "training run", id);
      return NULL;
    }
  return g_ptr_array_steal_index (runs, 0);
}

GPtrArray *
mva_store_list_training_runs (MvaStore *store, GError **error)
{
  g_return_val_if_fail (store != NULL, NULL);
  return list_runs (store, 0, error);
}

// --- teacher log -----------------------------------------------------------------------

gint64
mva_store_log_teacher_request (MvaStore                *store,
                               const MvaTeacherRequest *req,
                               GError                 **error)
{
  MvaStoreConn *w;
  sqlite3_stmt *stmt;
  gint64 id = 0;
  gboolean ok = FALSE;

  g_return_val_if_fail (store != NULL && req != NULL, 0);
  if (req->family < 0 || req->family > 10)
    {
      g_set_error (error, MVA_STORE_ERROR, MVA_STORE_ERROR_INVALID, "bad family %d", req->family);
      return 0;
    }
  if (!mva_store_begin (store, error))
    return 0;
  w = _mva_store_writer_lock (store, error);
  stmt = _mva_store_prepare (store, w,
                             "INSERT INTO teacher_requests (micrograph_id, family, model, status, "
                             "reason, prompt_tokens, completion_tokens, created_at) "
                             "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)", error);
  if (stmt != NULL)
    {
      sqlite3_bind_int64 (stmt, 1, req->micrograph_id);
      sqlite3_bind_int (stmt, 2, req->family);
      _mva_stmt_bind_text_or_null (stmt, 3, req->model);
      sqlite3_bind_text (stmt, 4, req->ok ? "ok" : "failed", -1, SQLITE_STATIC);
      _mva_stmt_bind_text_or_null (stmt, 5, req->reason);
      sqlite3_bind_int64 (stmt, 6, req->prompt_tokens);
      sqlite3_bind_int64 (stmt, 7, req->completion_tokens);
      sqlite3_bind_int64 (stmt, 8, g_get_real_time ());
      ok = step_done (store, w, stmt, "log teacher request", error);
      if (ok)
        id = sqlite3_last_insert_rowid (w->db);
      else if (error != NULL && *error != NULL && (*error)->code == MVA_STORE_ERROR_INVALID)
        {
          g_clear_error (error);
          not_found (error, "micrograph", req->micrograph_id);
        }
    }
  _mva_store_writer_unlock (store);
  if (!write_end (store, ok, error))
    return 0;
  return id;
}

gboolean
mva_store_teacher_request_done (MvaStore   *store,
                                gint64      micrograph_id,
                                int         family,
                                const char *model,
                                GError    **error)
{
  MvaStoreConn *conn;
  sqlite3_stmt *stmt;
  gboolean done = FALSE;
  int rc;

  g_return_val_if_fail (store != NULL, FALSE);
  conn = _mva_store_reader_acquire (store, error);
  if (conn == NULL)
    return FALSE;
  stmt = _mva_store_prepare (store, conn,
                             "SELECT 1 FROM teacher_requests WHERE micrograph_id = ?1 AND "
                             "family = ?2 AND status = 'ok' AND (?3 IS NULL OR model = ?3) LIMIT 1",
                             error);
  if (stmt != NULL)
    {
      sqlite3_bind_int64 (stmt, 1, micrograph_id);
      sqlite3_bind_int (stmt, 2, family);
      _mva_stmt_bind_text_or_null (stmt, 3, model);
      rc = sqlite3_step (stmt);
      done = rc == SQLITE_ROW;
      if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        _mva_store_set_error (store, conn->db, rc, "read teacher log", error);
      sqlite3_reset (stmt);
    }
  _mva_store_reader_release (store, conn);
  return done;
}

GPtrArray *
mva_store_list_teacher_requests (MvaStore *store,
                                 gint64    micrograph_id,
                                 guint     limit,
                                 GError  **error)
{
  g_autoptr(GPtrArray) out =
    g_ptr_array_new_with_free_func ((GDestroyNotify) mva_teacher_request_free);
  MvaStoreConn *conn;
  sqlite3_stmt *stmt;
  int rc = SQLITE_DONE;

  g_return_val_if_fail (store != NULL, NULL);
  conn = _mva_store_reader_acquire (store, error);
  if (conn == NULL)
    return NULL;
  stmt = _mva_store_prepare (store, conn,
                             "SELECT id, micrograph_id, family, model, status, reason, "
                             "prompt_tokens, completion_tokens, created_at FROM teacher_requests "
                             "WHERE (?1 <= 0 OR micrograph_id = ?1) ORDER BY id DESC LIMIT ?2",
                             error);
  if (stmt != NULL)
    {
      sqlite3_bind_int64 (stmt, 1, micrograph_id);
      sqlite3_bind_int64 (stmt, 2, limit > 0 ? (gint64) limit : -1);
      while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
        {
          MvaTeacherRequest *r = g_new0 (MvaTeacherRequest, 1);
          r->id = sqlite3_column_int64 (stmt, 0);
          r->micrograph_id = sqlite3_column_int64 (stmt, 1);
          r->family = sqlite3_column_int (stmt, 2);
          r->model = _mva_stmt_dup_text (stmt, 3);
          r->ok = g_strcmp0 ((const char *) sqlite3_column_text (stmt, 4), "ok") == 0;
          r->reason = _mva_stmt_dup_text (stmt, 5);
          r->prompt_tokens = sqlite3_column_int64 (stmt, 6);
          r->completion_tokens = sqlite3_column_int64 (stmt, 7);
          r->created_at = sqlite3_column_int64 (stmt, 8);
          g_ptr_array_add (out, r);
        }
      if (rc != SQLITE_DONE)
        _mva_store_set_error (store, conn->db, rc, "list teacher log", error);
      sqlite3_reset (stmt);
    }
  _mva_store_reader_release (store, conn);
  if (stmt == NULL || rc != SQLITE_DONE)
    return NULL;
  return g_steal_pointer (&out);
}
