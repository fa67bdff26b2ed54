/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-store-import.c: bring micrographs and instruction data into the
 * library.
 *
 * Inputs (each path given; folders are walked recursively):
 *  - image files (PNG, JPEG, TIFF, DM3/DM4, anything mva_image_load reads;
 *    a file it cannot decode is still added by hash with load_error set);
 *  - a synth folder (holds qa.jsonl, optionally labels.csv "image,category"):
 *    its images with their categories and its question/answer pairs;
 *  - JSON Lines: one {"image","category","family","question","answer",
 *    "params"[,"source"]} per line, image relative to the file's folder;
 *  - LLaVA conversation JSON: [{"id","image","conversations":[{"from":"human",
 *    "value":"<image>\n..."},{"from":"gpt","value":"..."}, ...]}, ...].
 *
 * Everything is deduplicated (images by SHA-256 of their bytes, pairs by
 * image + source + family + question + answer), so importing the same input
 * twice adds nothing. Writes are batched into transactions of at most
 * BATCH_RECORDS records or BATCH_SECONDS; cancellation is honoured between
 * transactions, and on an error the current batch is rolled back while the
 * batches before it stay committed.
 */
#define G_LOG_DOMAIN "mva-store"
#include "config.h"

#include "mva-store-private.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#define BATCH_RECORDS   5000
#define BATCH_SECONDS   1.0
#define PROGRESS_EVERY  (G_USEC_PER_SEC / 5)
#define MAX_DEPTH       64

typedef struct
{
  MvaStore               *store;
  const MvaImportOptions *opt;
  MvaImportStats         *stats;
  MvaImportStats          committed;     /* stats as of the last commit */
  GHashTable             *path_ids;      /* canonical path -> gint64* micrograph id */
  GHashTable             *dir_seen;      /* canonical folders walked (symlink loops) */
  gboolean                in_txn;
  guint                   batch_n;
  gint64                  batch_start;
  gint64                  last_progress;
  const char             *current;
} Importer;

// --- batching -------------------------------------------------------------------------

static gboolean
write_commit_log (Importer *imp, GError **error)
{
  g_autofree char *line = NULL;
  int fd;
  gboolean ok;

  if (imp->opt->commit_log == NULL)
    return TRUE;
  line = g_strdup_printf ("%" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT "\n",
                          imp->stats->qa_added, imp->stats->micrographs_added);
  fd = g_open (imp->opt->commit_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  ok = fd >= 0 && write (fd, line, strlen (line)) == (ssize_t) strlen (line) && fsync (fd) == 0;
  if (fd >= 0)
    close (fd);
  if (!ok)
    g_set_error (error, MVA_STORE_ERROR, MVA_STORE_ERROR_FAILED, "%s: cannot write: %s",
                 imp->opt->commit_log, g_strerror (errno));
  return ok;
}

static void
report_progress (Importer *imp, gboolean force)
{
  gint64 now;

  if (imp->opt->progress == NULL)
    return;
  now = g_get_monotonic_time ();
  if (!force && now - imp->last_progress < PROGRESS_EVERY)
    return;
  imp->last_progress = now;
  imp->opt->progress (imp->stats, imp->current, imp->opt->progress_data);
}

static gboolean
batch_begin (Importer *imp, GError **error)
{
  if (imp->in_txn)
    return TRUE;
  if (!mva_store_begin (imp->store, error))
    return FALSE;
  imp->in_txn = TRUE;
  imp->batch_n = 0;
  imp->batch_start = g_get_monotonic_time ();
  return TRUE;
}

static gboolean
batch_commit (Importer *imp, GError **error)
{
  if (!imp->in_txn)
    return TRUE;
  imp->in_txn = FALSE;
  if (!mva_store_commit (imp->store, error))
    {
      *imp->stats = imp->committed;
      return FALSE;
    }
  imp->committed = *imp->stats;
  return write_commit_log (imp, error);
}

static void
batch_rollback (Importer *imp)
{
  if (!imp->in_txn)
    return;
  imp->in_txn = FALSE;
  mva_store_rollback (imp->store);
  *imp->stats = imp->committed;
  /* ids cached during the rolled-back batch may be gone */
  g_hash_table_remove_all (imp->path_ids);
}

/* Count one record; commit when the batch is full or old, and stop between
 * transactions when cancelled. */
static gboolean
batch_tick (Importer *imp, GError **error)
{
  imp->batch_n++;
  report_progress (imp, FALSE);
  if (imp->batch_n >= BATCH_RECORDS ||
      g_get_monotonic_time () - imp->batch_start > BATCH_SECONDS * G_USEC_PER_SEC ||
      g_cancellable_is_cancelled (imp->opt->cancellable))
    {
      if (!batch_commit (imp, error))
        return FALSE;
      if (g_cancellable_is_cancelled (imp->opt->cancellable))
        {
          g_set_error (error, MVA_STORE_ERROR, MVA_STORE_ERROR_CANCELLED,
                       "stopped by the user; everything before this point is saved");
          return FALSE;
        }
    }
  return batch_begin (imp, error);
}

// --- images ---------------------------------------------------------------------------

static gboolean
is_image_name (const char *name)
{
  static const char *const exts[] = { ".png", ".jpg", ".jpeg", ".tif", ".tiff", ".dm3", ".dm4",
                                      ".bmp", ".gif", ".webp" };
  g_autofree char *lower = g_ascii_strdown (name, -1);

  for (guint i = 0; i < G_N_ELEMENTS (exts); i++)
    if (g_str_has_suffix (lower, exts[i]))
      return TRUE;
  return FALSE;
}

/* Hard errors (the database failed) return FALSE; a file we cannot read is
 * counted and skipped (*id = 0). */
static gboolean
import_image (Importer *imp, const char *path, const char *category, gint64 *out_id,
              GError **error)
{
  g_autofree char *abs = g_canonicalize_filename (path, NULL);
  g_autoptr(GError) local = NULL;
  g_autoptr(MvaMicrograph) m = NULL;
  gint64 *cached = g_hash_table_lookup (imp->path_ids, abs);
  gboolean added = FALSE;
  gint64 id;

  if (out_id != NULL)
    *out_id = 0;
  if (cached != NULL)
    {
      if (out_id != NULL)
        *out_id = *cached;
      return TRUE;
    }
  imp->current = abs;
  imp->stats->files_seen++;
  id = mva_store_add_micrograph_file (imp->store, abs, category,
                                      category != NULL ? MVA_CATEGORY_SOURCE_IMPORT
                                                       : MVA_CATEGORY_SOURCE_NONE,
                                      &added, &local);
  if (id == 0)
    {
      if (local->domain == MVA_STORE_ERROR &&
          (local->code == MVA_STORE_ERROR_NOT_FOUND || local->code == MVA_STORE_ERROR_INVALID ||
           (local->code == MVA_STORE_ERROR_FAILED && g_str_has_prefix (local->message, abs))))
        {
          /* the file, not the library, is the problem */
          imp->stats->unreadable++;
          return TRUE;
        }
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  if (added)
    {
      imp->stats->micrographs_added++;
      m = mva_store_get_micrograph (imp->store, id, NULL);
      if (m != NULL && m->load_error != NULL)
        imp->stats->load_errors++;
    }
  else
    imp->stats->micrographs_known++;
  {
    gint64 *v = g_new (gint64, 1);
    *v = id;
    g_hash_table_insert (imp->path_ids, g_steal_pointer (&abs), v);
  }
  if (out_id != NULL)
    *out_id = id;
  return batch_tick (imp, error);
}

// --- Q/A records --------------------------------------------------------------------------

static const char *
member_string (JsonObject *o, const char *name)
{
  JsonNode *n = json_object_get_member (o, name);

  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (n);
}

/* Resolve an image reference relative to base_dir. */
static char *
resolve_image (const char *base_dir, const char *image)
{
  if (g_path_is_absolute (image))
    return g_canonicalize_filename (image, NULL);
  return g_canonicalize_filename (image, base_dir);
}

static gboolean
add_pair (Importer *imp, const char *base_dir, const char *image, const char *category,
          int family, const char *question, const char *answer, const char *params_json,
          const char *extra_json, MvaQaSource source, GError **error)
{
  g_autofree char *path = resolve_image (base_dir, image);
  g_autoptr(GError) local = NULL;
  MvaQaPair qa = { 0 };
  gboolean added = FALSE;
  gint64 mid = 0;

  if (!import_image (imp, path, category, &mid, error))
    return FALSE;
  if (mid == 0)
    {
      imp->stats->records_skipped++;
      return TRUE;
    }
  qa.micrograph_id = mid;
  qa.source = source;
  qa.family = family;
  qa.question = (char *) question;
  qa.answer = (char *) answer;
  qa.params_json = (char *) params_json;
  qa.extra_json = (char *) extra_json;
  qa.prompt_tokens = qa.completion_tokens = -1;
  if (mva_store_add_qa (imp->store, &qa, TRUE, &added, &local) == 0)
    {
      if (local->code == MVA_STORE_ERROR_INVALID)
        {
          imp->stats->records_skipped++;
          return TRUE;
        }
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  if (added)
    imp->stats->qa_added++;
  else
    imp->stats->qa_known++;
  return batch_tick (imp, error);
}

static int
member_family (JsonObject *o)
{
  JsonNode *n = json_object_get_member (o, "family");

  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n))
    return 0;
  if (json_node_get_value_type (n) == G_TYPE_INT64)
    return (int) CLAMP (json_node_get_int (n), -1, 11);
  if (json_node_get_value_type (n) == G_TYPE_STRING)
    {
      gint64 v = g_ascii_strtoll (json_node_get_string (n), NULL, 10);
      return (int) CLAMP (v, -1, 11);
    }
  return -1;
}

/* The members of a record we do not model, as a JSON object text, or NULL. */
static char *
extra_members (JsonObject *o)
{
  static const char *const known[] = { "image", "category", "family", "question", "answer",
                                       "params", "source" };
  g_autoptr(JsonNode) node = NULL;
  JsonObject *extra = NULL;
  JsonObjectIter iter;
  const char *name;
  JsonNode *value;

  json_object_iter_init (&iter, o);
  while (json_object_iter_next (&iter, &name, &value))
    {
      gboolean is_known = FALSE;
      for (guint i = 0; i < G_N_ELEMENTS (known) && !is_known; i++)
        is_known = strcmp (name, known[i]) == 0;
      if (is_known)
        continue;
      if (extra == NULL)
        extra = json_object_new ();
      json_object_set_member (extra, name, json_node_copy (value));
    }
  if (extra == NULL)
    return NULL;
  node = json_node_init_object (json_node_alloc (), extra);
  json_object_unref (extra);
  return json_to_string (node, FALSE);
}

static gboolean
import_jsonl_record (Importer *imp, const char *base_dir, const char *line, gsize len,
                     MvaQaSource default_source, GError **error)
{
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autofree char *params = NULL;
  g_autofree char *extra = NULL;
  JsonNode *root, *pn;
  JsonObject *o;
  const char *image, *question, *answer, *category, *src;
  MvaQaSource source = default_source;
  int family;

  if (!json_parser_load_from_data (parser, line, len, NULL) ||
      (root = json_parser_get_root (parser)) == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      imp->stats->records_skipped++;
      return TRUE;
    }
  o = json_node_get_object (root);
  image = member_string (o, "image");
  question = member_string (o, "question");
  answer = member_string (o, "answer");
  category = member_string (o, "category");
  src = member_string (o, "source");
  family = member_family (o);
  if (image == NULL || *image == '\0' || question == NULL || answer == NULL ||
      family < 0 || family > 10 || (src != NULL && !mva_qa_source_from_string (src, &source)))
    {
      imp->stats->records_skipped++;
      return TRUE;
    }
  if (category != NULL && *category == '\0')
    category = NULL;
  pn = json_object_get_member (o, "params");
  if (pn != NULL && JSON_NODE_HOLDS_OBJECT (pn))
    params = json_to_string (pn, FALSE);
  extra = extra_members (o);
  return add_pair (imp, base_dir, image, category, family, question, answer, params, extra,
                   source, error);
}

static gboolean
import_jsonl (Importer *imp, const char *path, MvaQaSource default_source, GError **error)
{
  g_autofree char *abs = g_canonicalize_filename (path, NULL);
  g_autofree char *base_dir = g_path_get_dirname (abs);
  g_autofree char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  FILE *f = fopen (abs, "re");

  if (f == NULL)
    {
      g_set_error (error, MVA_STORE_ERROR, MVA_STORE_ERROR_NOT_FOUND, "%s: %s", path,
                   g_strerror (errno));
      return FALSE;
    }
  while ((n = getline (&line, &cap, f)) >= 0)
    {
      while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
      if (n == 0)
        continue;
      imp->current = abs;
      if (!import_jsonl_record (imp, base_dir, line, n, default_source, error))
        {
          fclose (f);
          return FALSE;
        }
    }
  fclose (f);
  return TRUE;
}

/* Drop the "<image>" marker LLaVA puts before or after the question. */
static char *
strip_image_token (const char *s)
{
  GString *out = g_string_new (s);
  char *p;

  while ((p = strstr (out->str, "<image>")) != NULL)
    g_string_erase (out, p - out->str, 7);
  return g_strstrip (g_string_free (out, FALSE));
}

static gboolean
import_llava (Importer *imp, const char *path, GError **error)
{
  g_autofree char *abs = g_canonicalize_filename (path, NULL);
  g_autofree char *base_dir = g_path_get_dirname (abs);
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autoptr(GError) local = NULL;
  JsonNode *root;
  JsonArray *items;

  if (!json_parser_load_from_mapped_file (parser, abs, &local))
    {
      g_set_error (error, MVA_STORE_ERROR, MVA_STORE_ERROR_INVALID,
                   "%s: not LLaVA conversation JSON: %s", path, local->message);
      return FALSE;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_ARRAY (root))
    {
      g_set_error (error, MVA_STORE_ERROR, MVA_STORE_ERROR_INVALID,
                   "%s: not LLaVA conversation JSON (expected a list of conversations)", path);
      return FALSE;
    }
  items = json_node_get_array (root);
  imp->current = abs;
  for (guint i = 0; i < json_array_get_length (items); i++)
    {
      JsonNode *item = json_array_get_element (items, i);
      JsonObject *o;
      JsonNode *conv;
      JsonArray *turns;
      const char *image, *category;
      int family;
      g_autofree char *question = NULL;

      if (!JSON_NODE_HOLDS_OBJECT (item))
        {
          imp->stats->records_skipped++;
          continue;
        }
      o = json_node_get_object (item);
      image = member_string (o, "image");
      category = member_string (o, "category");
      family = member_family (o);
      conv = json_object_get_member (o, "conversations");
      if (image == NULL || *image == '\0' || conv == NULL || !JSON_NODE_HOLDS_ARRAY (conv) ||
          family < 0 || family > 10)
        {
          imp->stats->records_skipped++;
          continue;
        }
      turns = json_node_get_array (conv);
      /* human, gpt, human, gpt, ...: each human turn with the gpt turn after it */
      for (guint t = 0; t < json_array_get_length (turns); t++)
        {
          JsonNode *tn = json_array_get_element (turns, t);
          const char *from, *value;

          if (!JSON_NODE_HOLDS_OBJECT (tn))
            continue;
          from = member_string (json_node_get_object (tn), "from");
          value = member_string (json_node_get_object (tn), "value");
          if (from == NULL || value == NULL)
            continue;
          if (g_strcmp0 (from, "human") == 0 || g_strcmp0 (from, "user") == 0)
            {
              g_free (question);
              question = strip_image_token (value);
            }
          else if ((g_strcmp0 (from, "gpt") == 0 || g_strcmp0 (from, "assistant") == 0) &&
                   question != NULL)
            {
              g_autofree char *answer = g_strstrip (g_strdup (value));

              if (!add_pair (imp, base_dir, image, category, family, question, answer, NULL,
                             NULL, MVA_QA_SOURCE_TEACHER, error))
                return FALSE;
              g_clear_pointer (&question, g_free);
            }
        }
    }
  return TRUE;
}

// --- folders ---------------------------------------------------------------------------------

/* labels.csv: "image,category" with an optional header line. */
static gboolean
import_labels_csv (Importer *imp, const char *rel_dir, GError **error)
{
  g_autofree char *dir = g_canonicalize_filename (rel_dir, NULL);
  g_autofree char *csv = g_build_filename (dir, "labels.csv", NULL);
  g_autofree char *contents = NULL;
  g_auto(GStrv) lines = NULL;

  if (!g_file_get_contents (csv, &contents, NULL, NULL))
    return TRUE;
  lines = g_strsplit (contents, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_auto(GStrv) cols = NULL;
      g_autofree char *path = NULL;
      char *img, *cat;

      g_strstrip (lines[i]);
      if (lines[i][0] == '\0')
        continue;
      cols = g_strsplit (lines[i], ",", 2);
      if (cols[0] == NULL || cols[1] == NULL)
        {
          imp->stats->records_skipped++;
          continue;
        }
      img = g_strstrip (cols[0]);
      cat = g_strstrip (cols[1]);
      if (i == 0 && g_strcmp0 (img, "image") == 0)
        continue;
      path = resolve_image (dir, img);
      if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
        {
          imp->stats->records_skipped++;
          continue;
        }
      if (!import_image (imp, path, *cat != '\0' ? cat : NULL, NULL, error))
        return FALSE;
    }
  return TRUE;
}

static gboolean import_path (Importer *imp, const char *path, int depth, GError **error);

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

static gboolean
import_dir (Importer *imp, const char *dir, int depth, GError **error)
{
  g_autofree char *qa = g_build_filename (dir, "qa.jsonl", NULL);
  g_autofree char *real = realpath (dir, NULL);
  g_autoptr(GError) local = NULL;
  g_autoptr(GDir) d = NULL;
  g_autoptr(GPtrArray) names = NULL;
  const char *name;

  if (depth > MAX_DEPTH || real == NULL || g_hash_table_contains (imp->dir_seen, real))
    return TRUE;
  g_hash_table_add (imp->dir_seen, g_strdup (real));

  if (g_file_test (qa, G_FILE_TEST_IS_REGULAR))
    {
      /* a folder written by mvaema-cli synth */
      return import_labels_csv (imp, dir, error) &&
             import_jsonl (imp, qa, MVA_QA_SOURCE_SYNTHETIC, error);
    }

  d = g_dir_open (dir, 0, &local);
  if (d == NULL)
    {
      g_set_error (error, MVA_STORE_ERROR, MVA_STORE_ERROR_FAILED, "%s", local->message);
      return FALSE;
    }
  names = g_ptr_array_new_with_free_func (g_free);
  while ((name = g_dir_read_name (d)) != NULL)
    if (name[0] != '.')
      g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_names);
  for (guint i = 0; i < names->len; i++)
    {
      g_autofree char *child = g_build_filename (dir, g_ptr_array_index (names, i), NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR))
        {
          if (!import_dir (imp, child, depth + 1, error))
            return FALSE;
        }
      else if (is_image_name (child))
        {
          if (!import_path (imp, child, depth + 1, error))
            return FALSE;
        }
    }
  return TRUE;
}

/* What a file holds, from its first bytes. */
static MvaImportFormat
sniff_file (const char *path, gboolean *is_json)
{
  char buf[512];
  ssize_t n;
  int fd = g_open (path, O_RDONLY | O_CLOEXEC, 0);

  *is_json = FALSE;
  if (fd < 0)
    return MVA_IMPORT_FORMAT_AUTO;
  n = read (fd, buf, sizeof buf);
  close (fd);
  for (ssize_t i = 0; i < n; i++)
    {
      if (g_ascii_isspace (buf[i]))
        continue;
      if (buf[i] == '[')
        {
          *is_json = TRUE;
          return MVA_IMPORT_FORMAT_LLAVA;
        }
      if (buf[i] == '{')
        {
          *is_json = TRUE;
          return MVA_IMPORT_FORMAT_JSONL;
        }
      break;
    }
  return MVA_IMPORT_FORMAT_AUTO;
}

static gboolean
import_path (Importer *imp, const char *path, int depth, GError **error)
{
  struct stat st;

  if (stat (path, &st) != 0)
    {
      g_set_error (error, MVA_STORE_ERROR, MVA_STORE_ERROR_NOT_FOUND, "%s: %s", path,
                   g_strerror (errno));
      return FALSE;
    }
  if (S_ISDIR (st.st_mode))
    return import_dir (imp, path, depth, error);

  {
    gboolean is_json = FALSE;
    MvaImportFormat fmt = imp->opt->format;

    if (fmt == MVA_IMPORT_FORMAT_AUTO && !is_image_name (path))
      fmt = sniff_file (path, &is_json);
    if (fmt == MVA_IMPORT_FORMAT_LLAVA)
      return import_llava (imp, path, error);
    if (fmt == MVA_IMPORT_FORMAT_JSONL)
      return import_jsonl (imp, path, MVA_QA_SOURCE_SYNTHETIC, error);
  }

  {
    g_autofree char *category = NULL;

    if (imp->opt->labels_from_folders)
      {
        g_autofree char *abs = g_canonicalize_filename (path, NULL);
        g_autofree char *dir = g_path_get_dirname (abs);
        category = g_path_get_basename (dir);
        if (g_strcmp0 (category, "/") == 0 || g_strcmp0 (category, ".") == 0)
          g_clear_pointer (&category, g_free);
      }
    return import_image (imp, path, category, NULL, error);
  }
}

static gboolean
set_bulk (Importer *imp, gboolean on, GError **error)
{
  MvaStoreConn *w = _mva_store_writer_lock (imp->store, error);
  gboolean ok;

  if (w == NULL)
    return FALSE;
  ok = _mva_store_exec (imp->store, w,
                        on ? "PRAGMA synchronous = NORMAL; PRAGMA wal_autocheckpoint = 16384"
                           : "PRAGMA synchronous = FULL; PRAGMA wal_autocheckpoint = 1000;"
                             "PRAGMA wal_checkpoint(PASSIVE)", error);
  _mva_store_writer_unlock (imp->store);
  return ok;
}

gboolean
mva_store_import (MvaStore               *store,
                  const char * const     *paths,
                  const MvaImportOptions *options,
                  MvaImportStats         *stats,
                  GError                **error)
{
  static const MvaImportOptions defaults = { 0 };
  MvaImportStats local_stats = { 0 };
  Importer imp = { 0 };
  gboolean ok = TRUE;

  g_return_val_if_fail (store != NULL && paths != NULL, FALSE);
  imp.store = store;
  imp.opt = options != NULL ? options : &defaults;
  imp.stats = stats != NULL ? stats : &local_stats;
  memset (imp.stats, 0, sizeof *imp.stats);
  imp.path_ids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  imp.dir_seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  if (g_cancellable_set_error_if_cancelled (imp.opt->cancellable, error))
    ok = FALSE;
  /* Bulk mode: a batch commit need not wait for the disk (synchronous =
   * NORMAL keeps every committed batch through a crash or kill -9; only a
   * power cut can lose the last batches, and importing again restores them),
   * and the WAL may grow to ~64 MB between checkpoints. */
  if (ok)
    ok = set_bulk (&imp, TRUE, error);
  if (ok)
    ok = batch_begin (&imp, error);
  for (guint i = 0; ok && paths[i] != NULL; i++)
    ok = import_path (&imp, paths[i], 0, error);
  if (ok)
    ok = batch_commit (&imp, error);
  else if (imp.in_txn)
    {
      /* a cancelled batch was committed in batch_tick; anything else is undone */
      batch_rollback (&imp);
    }
  set_bulk (&imp, FALSE, NULL);
  imp.current = NULL;
  report_progress (&imp, TRUE);
  g_hash_table_unref (imp.path_ids);
  g_hash_table_unref (imp.dir_seen);
  return ok;
}
