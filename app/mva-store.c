/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-store.c: opening the library, schema migrations, connections and the
 * writer lock, transactions, error mapping, db check and online backup.
 * Record-level reads and writes live in mva-store-query.c, import in
 * mva-store-import.c, export in mva-store-export.c.
 *
 * Safety rules this file enforces:
 *  - an existing file is identified (SQLite magic, application_id, schema)
 *    through a read-only connection before anything can write to it, so a
 *    foreign or corrupt file is never modified;
 *  - migrations run in one IMMEDIATE transaction (all or nothing);
 *  - WAL + synchronous=FULL: a committed transaction survives kill -9 and
 *    power loss; an interrupted one leaves no trace.
 */
#define G_LOG_DOMAIN "mva-store"
#include "config.h"

#include "mva-store-private.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <glib/gstdio.h>

struct _MvaStore
{
  gatomicrefcount   ref_count;
  char             *path;
  MvaStoreOpenFlags flags;
  int               schema_version;   /* as found at open */

  /* writer: the one connection that writes; rec-locked by one thread at a time */
  GRecMutex         writer_lock;
  MvaStoreConn     *writer;           /* NULL for READ_ONLY stores */
  GThread          *txn_owner;        /* thread inside mva_store_begin, or NULL */
  guint             txn_depth;

  /* reader pool */
  GMutex            pool_lock;
  GPtrArray        *idle_readers;     /* MvaStoreConn* */
};

G_DEFINE_QUARK (mva-store-error-quark, mva_store_error)

// --- enums <-> strings -------------------------------------------------------

static const char *const qa_source_names[] = { "user", "teacher", "synthetic", "model" };
static const char *const review_names[] = { "none", "accepted", "corrected", "rejected" };
static const char *const category_source_names[] = { "none", "user", "import", "prediction" };
static const char *const split_names[] = { "train", "val", "test" };
static const char *const run_state_names[] = { "pending", "running", "finished", "failed", "cancelled" };

static gboolean
lookup_name (const char *const *names, guint n, const char *s, int *out)
{
  if (s == NULL)
    return FALSE;
  for (guint i = 0; i < n; i++)
    if (g_ascii_strcasecmp (names[i], s) == 0)
      {
        *out = (int) i;
        return TRUE;
      }
  return FALSE;
}

#define NAME_OR_NULL(names, v) \
  (((guint) (v)) < G_N_ELEMENTS (names) ? names[(guint) (v)] : NULL)

const char *mva_qa_source_to_string (MvaQaSource s) { return NAME_OR_NULL (qa_source_names, s); }
const char *mva_review_state_to_string (MvaReviewState s) { return NAME_OR_NULL (review_names, s); }
const char *mva_category_source_to_string (MvaCategorySource s) { return NAME_OR_NULL (category_source_names, s); }
const char *mva_split_to_string (MvaSplit s) { return NAME_OR_NULL (split_names, s); }
const char *mva_run_state_to_string (MvaRunState s) { return NAME_OR_NULL (run_state_names, s); }

#define FROM_STRING(fn, Type, names)                                    \
  gboolean fn (const char *s, Type *out)                                \
  {                                                                     \
    int v;                                                              \
    if (!lookup_name (names, G_N_ELEMENTS (names), s, &v))              \
      return FALSE;                                                     \
    *out = (Type) v;                                                    \
    return TRUE;                                                        \
  }
FROM_STRING (mva_qa_source_from_string, MvaQaSource, qa_source_names)
FROM_STRING (mva_review_state_from_string, MvaReviewState, review_names)
FROM_STRING (mva_category_source_from_string, MvaCategorySource, category_source_names)
FROM_STRING (mva_split_from_string, MvaSplit, split_names)
FROM_STRING (mva_run_state_from_string, MvaRunState, run_state_names)

// --- schema history ------------------------------------------------------------
/* Forward-only. Never edit a released step; add a new one and bump
 * MVA_STORE_SCHEMA_VERSION. tests/store/schema-v*.sql hold frozen copies of
 * databases at each older version for the migration test. */

static const char *const migrations[MVA_STORE_SCHEMA_VERSION] = {
  /* v1: the library as first released */
  "CREATE TABLE micrographs (\n"
  "  id INTEGER PRIMARY KEY,\n"
  "  sha256 TEXT NOT NULL UNIQUE CHECK (length(sha256) = 64),\n"
  "  path TEXT,\n"
  "  file_size INTEGER NOT NULL DEFAULT -1,\n"
  "  width INTEGER NOT NULL DEFAULT 0,\n"
  "  height INTEGER NOT NULL DEFAULT 0,\n"
  "  channels INTEGER NOT NULL DEFAULT 0,\n"
  "  bit_depth INTEGER NOT NULL DEFAULT 0,\n"
  "  format TEXT,\n"
  "  pixel_size_nm REAL,\n"
  "  instrument TEXT,\n"
  "  category TEXT,\n"
  "  category_source TEXT NOT NULL DEFAULT 'none'\n"
  "    CHECK (category_source IN ('none','user','import','prediction')),\n"
  "  load_error TEXT,\n"
  "  added_at INTEGER NOT NULL\n"
  ");\n"
  "CREATE TABLE model_versions (\n"
  "  id INTEGER PRIMARY KEY,\n"
  "  name TEXT NOT NULL UNIQUE,\n"
  "  file_path TEXT NOT NULL,\n"
  "  sha256 TEXT,\n"
  "  parent_id INTEGER REFERENCES model_versions(id) ON DELETE SET NULL,\n"
  "  training_run_id INTEGER REFERENCES training_runs(id) ON DELETE SET NULL,\n"
  "  created_at INTEGER NOT NULL,\n"
  "  adopted INTEGER NOT NULL DEFAULT 0 CHECK (adopted IN (0, 1))\n"
  ");\n"
  "CREATE UNIQUE INDEX model_versions_adopted ON model_versions(adopted) WHERE adopted = 1;\n"
  "CREATE TABLE training_runs (\n"
  "  id INTEGER PRIMARY KEY,\n"
  "  base_model_id INTEGER REFERENCES model_versions(id) ON DELETE SET NULL,\n"
  "  config_json TEXT NOT NULL CHECK (json_valid(config_json)),\n"
  "  state TEXT NOT NULL\n"
  "    CHECK (state IN ('pending','running','finished','failed','cancelled')),\n"
  "  epochs_json TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(epochs_json)),\n"
  "  error_message TEXT,\n"
  "  started_at INTEGER NOT NULL,\n"
  "  finished_at INTEGER NOT NULL DEFAULT 0\n"
  ");\n"
  "CREATE TABLE qa_pairs (\n"
  "  id INTEGER PRIMARY KEY,\n"
  "  micrograph_id INTEGER NOT NULL REFERENCES micrographs(id) ON DELETE CASCADE,\n"
  "  source TEXT NOT NULL CHECK (source IN ('user','teacher','synthetic','model')),\n"
  "  model_version_id INTEGER REFERENCES model_versions(id) ON DELETE SET NULL,\n"
  "  family INTEGER NOT NULL DEFAULT 0 CHECK (family BETWEEN 0 AND 10),\n"
  "  question TEXT NOT NULL,\n"
  "  answer TEXT NOT NULL,\n"
  "  tokens BLOB,\n"
  "  attention BLOB,\n"
  "  params_json TEXT,\n"
  "  dedup_key TEXT UNIQUE,\n"
  "  created_at INTEGER NOT NULL\n"
  ");\n"
  "CREATE INDEX qa_pairs_micrograph ON qa_pairs(micrograph_id);\n"
  "CREATE INDEX qa_pairs_model ON qa_pairs(model_version_id) WHERE model_version_id IS NOT NULL;\n"
  "CREATE TABLE reviews (\n"
  "  id INTEGER PRIMARY KEY,\n"
  "  qa_id INTEGER NOT NULL REFERENCES qa_pairs(id) ON DELETE CASCADE,\n"
  "  state TEXT NOT NULL CHECK (state IN ('accepted','corrected','rejected')),\n"
  "  corrected_text TEXT CHECK (state <> 'corrected' OR corrected_text IS NOT NULL),\n"
  "  reviewer TEXT,\n"
  "  reviewed_at INTEGER NOT NULL\n"
  ");\n"
  "CREATE INDEX reviews_qa ON reviews(qa_id, id);\n"
  "CREATE TABLE datasets (\n"
  "  id INTEGER PRIMARY KEY,\n"
  "  name TEXT NOT NULL UNIQUE,\n"
  "  description TEXT,\n"
  "  created_at INTEGER NOT NULL\n"
  ");\n"
  "CREATE TABLE dataset_items (\n"
  "  dataset_id INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,\n"
  "  qa_id INTEGER NOT NULL REFERENCES qa_pairs(id) ON DELETE CASCADE,\n"
  "  split TEXT NOT NULL CHECK (split IN ('train','val','test')),\n"
  "  fold INTEGER NOT NULL DEFAULT -1,\n"
  "  PRIMARY KEY (dataset_id, qa_id)\n"
  ") WITHOUT ROWID;\n"
  "CREATE INDEX dataset_items_qa ON dataset_items(qa_id);\n",

  /* v2: teacher support (request log, token usage), instrument metadata,
   * model metrics, the dataset a run trained on */
  "ALTER TABLE micrographs ADD COLUMN metadata_json TEXT;\n"
  "ALTER TABLE qa_pairs ADD COLUMN teacher_model TEXT;\n"
  "ALTER TABLE qa_pairs ADD COLUMN prompt_tokens INTEGER NOT NULL DEFAULT -1;\n"
  "ALTER TABLE qa_pairs ADD COLUMN completion_tokens INTEGER NOT NULL DEFAULT -1;\n"
  "ALTER TABLE model_versions ADD COLUMN metrics_json TEXT;\n"
  "ALTER TABLE training_runs ADD COLUMN dataset_id INTEGER\n"
  "  REFERENCES datasets(id) ON DELETE SET NULL;\n"
  "CREATE TABLE teacher_requests (\n"
  "  id INTEGER PRIMARY KEY,\n"
  "  micrograph_id INTEGER NOT NULL REFERENCES micrographs(id) ON DELETE CASCADE,\n"
  "  family INTEGER NOT NULL CHECK (family BETWEEN 0 AND 10),\n"
  "  model TEXT,\n"
  "  status TEXT NOT NULL CHECK (status IN ('ok','failed')),\n"
  "  reason TEXT,\n"
  "  prompt_tokens INTEGER NOT NULL DEFAULT -1,\n"
  "  completion_tokens INTEGER NOT NULL DEFAULT -1,\n"
  "  created_at INTEGER NOT NULL\n"
  ");\n"
  "CREATE INDEX teacher_requests_lookup ON teacher_requests(micrograph_id, family, status);\n",

  /* v3: fast filtered pages. The review state (of the latest review) and the
   * micrograph's category are kept on each pair by triggers, so a page by
   * (category, review state) is one index range. */
  "ALTER TABLE qa_pairs ADD COLUMN review_state INTEGER NOT NULL DEFAULT 0\n"
  "  CHECK (review_state BETWEEN 0 AND 3);\n"
  "ALTER TABLE qa_pairs ADD COLUMN category TEXT;\n"
  "UPDATE qa_pairs SET category =\n"
  "  (SELECT m.category FROM micrographs m WHERE m.id = qa_pairs.micrograph_id);\n"
  "UPDATE qa_pairs SET review_state = COALESCE((SELECT CASE r.state\n"
  "    WHEN 'accepted' THEN 1 WHEN 'corrected' THEN 2 ELSE 3 END\n"
  "  FROM reviews r WHERE r.qa_id = qa_pairs.id ORDER BY r.id DESC LIMIT 1), 0);\n"
  "CREATE INDEX qa_pairs_page ON qa_pairs(category, review_state, id);\n"
  "CREATE INDEX qa_pairs_state ON qa_pairs(review_state, id);\n"
  "CREATE INDEX micrographs_category ON micrographs(category, id);\n"
  "CREATE TRIGGER reviews_after_insert AFTER INSERT ON reviews BEGIN\n"
  "  UPDATE qa_pairs SET review_state = CASE NEW.state\n"
  "    WHEN 'accepted' THEN 1 WHEN 'corrected' THEN 2 ELSE 3 END\n"
  "  WHERE id = NEW.qa_id;\n"
  "END;\n"
  "CREATE TRIGGER reviews_after_delete AFTER DELETE ON reviews BEGIN\n"
  "  UPDATE qa_pairs SET review_state = COALESCE((SELECT CASE r.state\n"
  "      WHEN 'accepted' THEN 1 WHEN 'corrected' THEN 2 ELSE 3 END\n"
  "    FROM reviews r WHERE r.qa_id = OLD.qa_id ORDER BY r.id DESC LIMIT 1), 0)\n"
  "  WHERE id = OLD.qa_id;\n"
  "END;\n"
  "CREATE TRIGGER micrographs_after_category AFTER UPDATE OF category ON micrographs BEGIN\n"
  "  UPDATE qa_pairs SET category = NEW.category WHERE micrograph_id = NEW.id;\n"
  "END;\n"
  "CREATE TRIGGER qa_pairs_after_insert AFTER INSERT ON qa_pairs\n"
  "  WHEN NEW.category IS NOT (SELECT category FROM micrographs WHERE id = NEW.micrograph_id)\n"
  "BEGIN\n"
  "  UPDATE qa_pairs SET category =\n"
  "    (SELECT category FROM micrographs WHERE id = NEW.micrograph_id) WHERE id = NEW.id;\n"
  "END;\n",

  /* v4: keys of imported records we do not model (e.g. synth's "caption"),
   * kept so that export returns the records as they came */
  "ALTER TABLE qa_pairs ADD COLUMN extra_json TEXT;\n",
};

const char *
_mva_store_migration_sql (int version)
{
  if (version < 1 || version > MVA_STORE_SCHEMA_VERSION)
    return NULL;
  return migrations[version - 1];
}

// --- errors ------------------------------------------------------------------

/* Why writes to the database at path fail for lack of room, or NULL: no
 * free blocks on its file system, or the file size limit (RLIMIT_FSIZE)
 * reached by the database or its WAL. */
static const char *
space_exhausted (const char *path)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *wal = g_strconcat (path, "-wal", NULL);
  struct statvfs vfs;
  struct rlimit lim;
  struct stat st;

  if (statvfs (dir, &vfs) == 0 && (guint64) vfs.f_bavail * vfs.f_frsize < 64 * 1024)
    return "no space left on the device";
  if (getrlimit (RLIMIT_FSIZE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY)
    {
      if ((stat (path, &st) == 0 && (guint64) st.st_size + 65536 >= lim.rlim_cur) ||
          (stat (wal, &st) == 0 && (guint64) st.st_size + 65536 >= lim.rlim_cur))
        return "file size limit reached";
    }
  return NULL;
}

void
_mva_store_set_error (MvaStore   *store,
                      sqlite3    *db,
                      int         rc,
                      const char *what,
                      GError    **error)
{
  int primary = rc & 0xff;
  int sys_errno = db != NULL ? sqlite3_system_errno (db) : 0;
  const char *msg = db != NULL ? sqlite3_errmsg (db) : sqlite3_errstr (rc);
  const char *path = store != NULL ? store->path : "library";
  MvaStoreError code = MVA_STORE_ERROR_FAILED;
  const char *reason = msg;
  const char *full_reason = NULL;
  g_autofree char *reason_buf = NULL;

  if (primary == SQLITE_FULL || (primary == SQLITE_IOERR &&
                                 (sys_errno == ENOSPC || sys_errno == EFBIG || sys_errno == EDQUOT)))
    {
      code = MVA_STORE_ERROR_FULL;
      reason_buf = g_strdup_printf ("disk full (%s)", sys_errno ? g_strerror (sys_errno) : msg);
      reason = reason_buf;
    }
  else if (primary == SQLITE_IOERR && store != NULL && (full_reason = space_exhausted (store->path)))
    {
      /* SQLite does not always keep errno of a failed write; look at the disk */
      code = MVA_STORE_ERROR_FULL;
      reason_buf = g_strdup_printf ("disk full (%s)", full_reason);
      reason = reason_buf;
    }
  else if (primary == SQLITE_READONLY ||
           (primary == SQLITE_CANTOPEN && (sys_errno == EACCES || sys_errno == EROFS ||
                                            sys_errno == EPERM)) ||
           (primary == SQLITE_IOERR && (sys_errno == EACCES || sys_errno == EROFS)))
    {
      code = MVA_STORE_ERROR_READ_ONLY;
      reason_buf = g_strdup_printf ("not writable (%s)", sys_errno ? g_strerror (sys_errno) : msg);
      reason = reason_buf;
    }
  else if (primary == SQLITE_CORRUPT)
    code = MVA_STORE_ERROR_CORRUPT;
  else if (primary == SQLITE_NOTADB)
    code = MVA_STORE_ERROR_NOT_A_LIBRARY;
  else if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
    code = MVA_STORE_ERROR_EXISTS;
  else if (primary == SQLITE_CONSTRAINT)
    code = MVA_STORE_ERROR_INVALID;
  else if (primary == SQLITE_IOERR && sys_errno != 0)
    {
      reason_buf = g_strdup_printf ("%s (%s)", msg, g_strerror (sys_errno));
      reason = reason_buf;
    }

  g_set_error (error, MVA_STORE_ERROR, code, "%s: %s: %s", path, what, reason);
}

// --- connections ---------------------------------------------------------------

static void
conn_free (MvaStoreConn *conn)
{
  if (conn == NULL)
    return;
  g_clear_pointer (&conn->stmts, g_hash_table_unref);
  if (conn->db != NULL)
    sqlite3_close_v2 (conn->db);
  g_free (conn);
}

static void
stmt_finalize (gpointer stmt)
{
  sqlite3_finalize (stmt);
}

static MvaStoreConn *
conn_new (sqlite3 *db)
{
  MvaStoreConn *conn = g_new0 (MvaStoreConn, 1);

  conn->db = db;
  conn->stmts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                       stmt_finalize);
  return conn;
}

sqlite3_stmt *
_mva_store_prepare (MvaStore     *store,
                    MvaStoreConn *conn,
                    const char   *sql,
                    GError      **error)
{
  sqlite3_stmt *stmt = g_hash_table_lookup (conn->stmts, sql);
  int rc;

  if (stmt != NULL)
    {
      sqlite3_reset (stmt);
      sqlite3_clear_bindings (stmt);
      return stmt;
    }
  rc = sqlite3_prepare_v3 (conn->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL);
  if (rc != SQLITE_OK)
    {
      _mva_store_set_error (store, conn->db, rc, "prepare", error);
      sqlite3_finalize (stmt);
      return NULL;
    }
  g_hash_table_insert (conn->stmts, g_strdup (sql), stmt);
  return stmt;
}

gboolean
_mva_store_exec (MvaStore     *store,
                 MvaStoreConn *conn,
                 const char   *sql,
                 GError      **error)
{
  char *errmsg = NULL;
  int rc = sqlite3_exec (conn->db, sql, NULL, NULL, &errmsg);

  sqlite3_free (errmsg);
  if (rc != SQLITE_OK)
    {
      _mva_store_set_error (store, conn->db, rc, "write", error);
      return FALSE;
    }
  return TRUE;
}

char *
_mva_stmt_dup_text (sqlite3_stmt *stmt, int col)
{
  const unsigned char *t = sqlite3_column_text (stmt, col);

  return t != NULL ? g_strdup ((const char *) t) : NULL;
}

void
_mva_stmt_bind_text_or_null (sqlite3_stmt *stmt, int idx, const char *s)
{
  if (s != NULL)
    sqlite3_bind_text (stmt, idx, s, -1, SQLITE_TRANSIENT);
  else
    sqlite3_bind_null (stmt, idx);
}

void
_mva_stmt_bind_id_or_null (sqlite3_stmt *stmt, int idx, gint64 id)
{
  if (id > 0)
    sqlite3_bind_int64 (stmt, idx, id);
  else
    sqlite3_bind_null (stmt, idx);
}

static int
query_int (sqlite3 *db, const char *sql, int *out)
{
  sqlite3_stmt *stmt = NULL;
  int rc = sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL);

  if (rc == SQLITE_OK)
    {
      rc = sqlite3_step (stmt);
      if (rc == SQLITE_ROW)
        {
          *out = sqlite3_column_int (stmt, 0);
          rc = SQLITE_OK;
        }
      else if (rc == SQLITE_DONE)
        rc = SQLITE_OK;
    }
  sqlite3_finalize (stmt);
  return rc;
}

/* Pragmas every connection gets. */
static gboolean
conn_setup (MvaStore *store, sqlite3 *db, gboolean writer, GError **error)
{
  int rc;

  sqlite3_busy_timeout (db, 10000);
  sqlite3_extended_result_codes (db, 1);
  rc = sqlite3_exec (db, "PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;"
                         "PRAGMA temp_store = MEMORY;", NULL, NULL, NULL);
  if (rc == SQLITE_OK && !writer)
    rc = sqlite3_exec (db, "PRAGMA query_only = ON; PRAGMA cache_size = -8192;", NULL, NULL, NULL);
  /* a big page cache lets large transactions (imports) stay in memory
   * instead of spilling dirty pages into the WAL mid-transaction */
  if (rc == SQLITE_OK && writer)
    rc = sqlite3_exec (db, "PRAGMA cache_size = -65536;", NULL, NULL, NULL);
  if (rc != SQLITE_OK)
    {
      _mva_store_set_error (store, db, rc, "configure connection", error);
      return FALSE;
    }
  return TRUE;
}

static sqlite3 *
open_db (MvaStore *store, int open_flags, GError **error)
{
  sqlite3 *db = NULL;
  int rc = sqlite3_open_v2 (store->path, &db, open_flags | SQLITE_OPEN_NOMUTEX, NULL);

  if (rc != SQLITE_OK)
    {
      _mva_store_set_error (store, db, rc, "cannot open", error);
      sqlite3_close_v2 (db);
      return NULL;
    }
  return db;
}

MvaStoreConn *
_mva_store_writer_lock (MvaStore *store, GError **error)
{
  if (store->writer == NULL)
    {
      g_set_error (error, MVA_STORE_ERROR, MVA_STORE_ERROR_READ_ONLY,
                   "%s: opened read-only", store->path);
      return NULL;
    }
  g_rec_mutex_lock (&store->writer_lock);
  return store->writer;
}

void
_mva_store_writer_unlock (MvaStore *store)
{
  g_rec_mutex_unlock (&store->writer_lock);
}

MvaStoreConn *
_mva_store_reader_acquire (MvaStore *store, GError **error)
{
  MvaStoreConn *conn = NULL;
  sqlite3 *db;

  /* Inside our own transaction: read our uncommitted rows. txn_owner is only
   * set/cleared by the thread that owns the writer lock, so comparing it with
   * ourselves is race-free. */
  if (store->writer != NULL && g_atomic_pointer_get (&store->txn_owner) == g_thread_self ())
    {
      g_rec_mutex_lock (&store->writer_lock);
      return store->writer;
    }

  g_mutex_lock (&store->pool_lock);
  if (store->idle_readers->len > 0)
    conn = g_ptr_array_steal_index_fast (store->idle_readers, store->idle_readers->len - 1);
  g_mutex_unlock (&store->pool_lock);
  if (conn != NULL)
    return conn;

  db = open_db (store, SQLITE_OPEN_READONLY, error);
  if (db == NULL)
    return NULL;
  if (!conn_setup (store, db, FALSE, error))
    {
      sqlite3_close_v2 (db);
      return NULL;
    }
  return conn_new (db);
}

void
_mva_store_reader_release (MvaStore *store, MvaStoreConn *conn)
{
  if (conn == NULL)
    return;
  if (conn == store->writer)
    {
      g_rec_mutex_unlock (&store->writer_lock);
      return;
    }
  /* a reader must not hold a read transaction open while idle (it would pin
   * the WAL); statements are reset by the callers, reset them all here too */
  {
    sqlite3_stmt *s = NULL;
    while ((s = sqlite3_next_stmt (conn->db, s)) != NULL)
      sqlite3_reset (s);
  }
  g_mutex_lock (&store->pool_lock);
  if (store->idle_readers->len < 8)
    {
      g_ptr_array_add (store->idle_readers, conn);
      conn = NULL;
    }
  g_mutex_unlock (&store->pool_lock);
  conn_free (conn);
}

// --- transactions ----------------------------------------------------------------

/* Run a one-statement transaction control command through the statement
 * cache (savepoints come once per write inside imports; parsing them each
 * time shows in profiles). */
static gboolean
exec_cached (MvaStore *store, MvaStoreConn *conn, const char *sql, GError **error)
{
  sqlite3_stmt *stmt = _mva_store_prepare (store, conn, sql, error);
  int rc;

  if (stmt == NULL)
    return FALSE;
  rc = sqlite3_step (stmt);
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE && rc != SQLITE_ROW)
    {
      _mva_store_set_error (store, conn->db, rc, "write", error);
      return FALSE;
    }
  return TRUE;
}

gboolean
mva_store_begin (MvaStore *store, GError **error)
{
  MvaStoreConn *w;
  g_autofree char *sql = NULL;

  g_return_val_if_fail (store != NULL, FALSE);
  w = _mva_store_writer_lock (store, error);
  if (w == NULL)
    return FALSE;
  if (store->txn_depth == 0)
    sql = g_strdup ("BEGIN IMMEDIATE");
  else
    sql = g_strdup_printf ("SAVEPOINT mva_%u", store->txn_depth);
  if (!(store->txn_depth == 0 ? _mva_store_exec (store, w, sql, error)
                              : exec_cached (store, w, sql, error)))
    {
      _mva_store_writer_unlock (store);
      return FALSE;
    }
  if (store->txn_depth == 0)
    g_atomic_pointer_set (&store->txn_owner, g_thread_self ());
  store->txn_depth++;
  return TRUE;
}

/* Reset every cached statement of the writer so none holds the transaction. */
static void
writer_reset_all (MvaStore *store)
{
  sqlite3_stmt *s = NULL;

  while ((s = sqlite3_next_stmt (store->writer->db, s)) != NULL)
    sqlite3_reset (s);
}

gboolean
mva_store_commit (MvaStore *store, GError **error)
{
  g_autofree char *sql = NULL;
  gboolean ok;

  g_return_val_if_fail (store != NULL && store->txn_depth > 0, FALSE);
  g_return_val_if_fail (store->txn_owner == g_thread_self (), FALSE);

  if (store->txn_depth == 1)
    {
      writer_reset_all (store);
      ok = _mva_store_exec (store, store->writer, "COMMIT", error);
    }
  else
    {
      sql = g_strdup_printf ("RELEASE mva_%u", store->txn_depth - 1);
      ok = exec_cached (store, store->writer, sql, error);
    }
  if (!ok)
    {
      /* a failed COMMIT (disk full, I/O) leaves the transaction open: undo it
       * at this level so the library stays as it was before begin */
      if (store->txn_depth == 1)
        {
          if (!sqlite3_get_autocommit (store->writer->db))
            sqlite3_exec (store->writer->db, "ROLLBACK", NULL, NULL, NULL);
        }
      else
        {
          g_autofree char *undo = g_strdup_printf ("ROLLBACK TO mva_%u; RELEASE mva_%u",
                                                   store->txn_depth - 1, store->txn_depth - 1);
          sqlite3_exec (store->writer->db, undo, NULL, NULL, NULL);
        }
    }
  store->txn_depth--;
  if (store->txn_depth == 0)
    g_atomic_pointer_set (&store->txn_owner, NULL);
  _mva_store_writer_unlock (store);
  return ok;
}

void
mva_store_rollback (MvaStore *store)
{
  g_return_if_fail (store != NULL);
  /* after a failed commit (which already rolled back) there is nothing
   * left to undo: harmless, so callers may roll back on any failure */
  if (store->txn_depth == 0 || g_atomic_pointer_get (&store->txn_owner) != g_thread_self ())
    return;

  writer_reset_all (store);
  if (store->txn_depth == 1)
    {
      if (!sqlite3_get_autocommit (store->writer->db))
        sqlite3_exec (store->writer->db, "ROLLBACK", NULL, NULL, NULL);
    }
  else
    {
      g_autofree char *sql = g_strdup_printf ("ROLLBACK TO mva_%u; RELEASE mva_%u",
                                              store->txn_depth - 1, store->txn_depth - 1);
      sqlite3_exec (store->writer->db, sql, NULL, NULL, NULL);
    }
  store->txn_depth--;
  if (store->txn_depth == 0)
    g_atomic_pointer_set (&store->txn_owner, NULL);
  _mva_store_writer_unlock (store);
}

// --- open ----------------------------------------------------------------------

char *
mva_store_default_path (void)
{
  const char *env = g_getenv ("MVAEMA_DB");

  if (env != NULL && *env != '\0')
    return g_strdup (env);
  return g_build_filename (g_get_user_data_dir (), "mvaema", "library.db", NULL);
}

/* Look at an existing file through a read-only connection. Sets *is_new
 * when the file is empty or an SQLite database without any schema object. */
static gboolean
identify_file (MvaStore *store, gboolean *is_new, int *version, GError **error)
{
  static const char magic[16] = "SQLite format 3";
  char header[100];
  int fd, app_id = 0, n_objects = 0, rc;
  ssize_t n;
  sqlite3 *db;

  *is_new = FALSE;
  *version = 0;
  fd = g_open (store->path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0)
    {
      int saved = errno;
      if (saved == ENOENT)
        {
          *is_new = TRUE;
          return TRUE;
        }
      g_set_error (error, MVA_STORE_ERROR,
                   saved == EACCES ? MVA_STORE_ERROR_READ_ONLY : MVA_STORE_ERROR_FAILED,
                   "%s: cannot open: %s", store->path, g_strerror (saved));
      return FALSE;
    }
  {
    struct stat st;
    if (fstat (fd, &st) == 0 && S_ISDIR (st.st_mode))
      {
        close (fd);
        g_set_error (error, MVA_STORE_ERROR, MVA_STORE_ERROR_INVALID,
                     "%s: is a folder; give the library's file name", store->path);
        return FALSE;
      }
  }
  n = read (fd, header, sizeof header);
  close (fd);
  if (n == 0)
    {
      *is_new = TRUE;
      return TRUE;
    }
  if (n < (ssize_t) sizeof header || memcmp (header, magic, sizeof magic) != 0)
    {
      g_set_error (error, MVA_STORE_ERROR, MVA_STORE_ERROR_NOT_A_LIBRARY,
                   "%s: not an MVaEMa library (not an SQLite database); left untouched",
                   store->path);
      return FALSE;
    }

  db = open_db (store, SQLITE_OPEN_READONLY, error);
  if (db == NULL)
    return FALSE;
  sqlite3_busy_timeout (db, 10000);
  sqlite3_extended_result_codes (db, 1);
  rc = query_int (db, "PRAGMA application_id", &app_id);
  if (rc == SQLITE_OK)
    rc = query_int (db, "PRAGMA user_version", version);
  if (rc == SQLITE_OK)
    rc = query_int (db, "SELECT count(*) FROM sqlite_master", &n_objects);
  if (rc != SQLITE_OK)
    {
      int primary = rc & 0xff;
      if (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB)
        g_set_error (error, MVA_STORE_ERROR,
                     primary == SQLITE_CORRUPT ? MVA_STORE_ERROR_CORRUPT
                                               : MVA_STORE_ERROR_NOT_A_LIBRARY,
                     "%s: the database is corrupt (%s); left untouched",
                     store->path, sqlite3_errmsg (db));
      else
        _mva_store_set_error (store, db, rc, "cannot read", error);
      sqlite3_close_v2 (db);
      return FALSE;
    }
  sqlite3_close_v2 (db);

  if (app_id == 0 && *version == 0 && n_objects == 0)
    {
      *is_new = TRUE;
      return TRUE;
    }
  if ((guint32) app_id != MVA_STORE_APPLICATION_ID)
    {
      g_set_error (error, MVA_STORE_ERROR, MVA_STORE_ERROR_NOT_A_LIBRARY,
                   "%s: an SQLite database of another program, not an MVaEMa library; "
                   "left untouched", store->path);
      return FALSE;
    }
  if (*version > MVA_STORE_SCHEMA_VERSION)
    {
      g_set_error (error, MVA_STORE_ERROR, MVA_STORE_ERROR_TOO_NEW,
                   "%s: written by a newer MVaEMa (schema %d, this one knows up to %d); "
                   "left untouched", store->path, *version, MVA_STORE_SCHEMA_VERSION);
      return FALSE;
    }
  if (*version < 1)
    {
      g_set_error (error, MVA_STORE_ERROR, MVA_STORE_ERROR_CORRUPT,
                   "%s: MVaEMa library without a schema version; left untouched",
                   store->path);
      return FALSE;
    }
  return TRUE;
}

/* Bring the writer's database from its version up to target, in one
 * transaction. */
static gboolean
migrate (MvaStore *store, sqlite3 *db, int target, GError **error)
{
  int rc, version = 0;
  char *errmsg = NULL;

  rc = sqlite3_exec (db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
  if (rc == SQLITE_OK)
    rc = query_int (db, "PRAGMA user_version", &version);
  if (rc != SQLITE_OK)
    goto fail;
  if (version > target)
    {
      sqlite3_exec (db, "ROLLBACK", NULL, NULL, NULL);
      g_set_error (error, MVA_STORE_ERROR, MVA_STORE_ERROR_TOO_NEW,
                   "%s: written by a newer MVaEMa (schema %d)", store->path, version);
      return FALSE;
    }
  for (int v = version + 1; v <= target; v++)
    {
      g_autofree char *set = g_strdup_printf ("PRAGMA user_version = %d", v);

      rc = sqlite3_exec (db, migrations[v - 1], NULL, NULL, &errmsg);
      if (rc == SQLITE_OK)
        rc = sqlite3_exec (db, set, NULL, NULL, NULL);
      if (rc != SQLITE_OK)
        goto fail;
    }
  if (version == 0)
    {
      g_autofree char *app = g_strdup_printf ("PRAGMA application_id = %d",
                                              (int) MVA_STORE_APPLICATION_ID);
      rc = sqlite3_exec (db, app, NULL, NULL, NULL);
      if (rc != SQLITE_OK)
        goto fail;
    }
  rc = sqlite3_exec (db, "COMMIT", NULL, NULL, NULL);
  if (rc != SQLITE_OK)
    goto fail;
  sqlite3_free (errmsg);
  return TRUE;

fail:
  _mva_store_set_error (store, db, rc, version == 0 ? "cannot create the library"
                                                    : "cannot migrate the library", error);
  if (!sqlite3_get_autocommit (db))
    sqlite3_exec (db, "ROLLBACK", NULL, NULL, NULL);
  sqlite3_free (errmsg);
  return FALSE;
}

static MvaStore *
store_new (const char *path, MvaStoreOpenFlags flags)
{
  MvaStore *store = g_new0 (MvaStore, 1);

  g_atomic_ref_count_init (&store->ref_count);
  store->path = g_canonicalize_filename (path, NULL);
  store->flags = flags;
  g_rec_mutex_init (&store->writer_lock);
  g_mutex_init (&store->pool_lock);
  store->idle_readers = g_ptr_array_new_with_free_func ((GDestroyNotify) conn_free);
  return store;
}

MvaStore *
mva_store_open (const char         *path,
                MvaStoreOpenFlags   flags,
                GError            **error)
{
  g_autoptr(MvaStore) store = NULL;
  g_autofree char *default_path = NULL;
  gboolean is_new = FALSE, read_only = (flags & MVA_STORE_OPEN_READ_ONLY) != 0;
  int version = 0, rc;
  sqlite3 *db;

  if (path == NULL || *path == '\0')
    path = default_path = mva_store_default_path ();
  store = store_new (path, flags);

  if (!identify_file (store, &is_new, &version, error))
    return NULL;
  store->schema_version = version;

  if (read_only)
    {
      MvaStoreConn *probe;

      if (is_new)
        {
          g_set_error (error, MVA_STORE_ERROR, MVA_STORE_ERROR_NOT_FOUND,
                       "%s: no library there", path);
          return NULL;
        }
      if (version < MVA_STORE_SCHEMA_VERSION && !(flags & MVA_STORE_OPEN_NO_MIGRATE))
        {
          g_set_error (error, MVA_STORE_ERROR, MVA_STORE_ERROR_NEEDS_MIGRATION,
                       "%s: schema %d is older than %d; open it once read-write to migrate",
                       path, version, MVA_STORE_SCHEMA_VERSION);
          return NULL;
        }
      probe = _mva_store_reader_acquire (store, error);
      if (probe == NULL)
        return NULL;
      _mva_store_reader_release (store, probe);
      return g_steal_pointer (&store);
    }

  if (is_new)
    {
      g_autofree char *dir = g_path_get_dirname (path);

      if (g_mkdir_with_parents (dir, 0700) != 0)
        {
          int saved = errno;
          g_set_error (error, MVA_STORE_ERROR,
                       saved == EACCES || saved == EROFS || saved == EPERM
                       ? MVA_STORE_ERROR_READ_ONLY : MVA_STORE_ERROR_FAILED,
                       "%s: cannot create the folder %s: %s", path, dir, g_strerror (saved));
          return NULL;
        }
      /* say why a new library cannot be written there (SQLite only says
       * "unable to open database file") */
      {
        g_autofree char *probe = _mva_store_tmp_template (g_build_filename (dir, ".mvaema-probe-",
                                                                            NULL));
        int fd = g_mkstemp (probe);

        if (fd < 0)
          {
            int saved = errno;
            g_set_error (error, MVA_STORE_ERROR,
                         saved == EACCES || saved == EROFS || saved == EPERM
                         ? MVA_STORE_ERROR_READ_ONLY
                         : saved == ENOSPC || saved == EDQUOT ? MVA_STORE_ERROR_FULL
                         : MVA_STORE_ERROR_FAILED,
                         "%s: cannot create the library in %s: %s", path, dir,
                         g_strerror (saved));
            return NULL;
          }
        close (fd);
        g_unlink (probe);
      }
    }

  db = open_db (store, SQLITE_OPEN_READWRITE | (is_new ? SQLITE_OPEN_CREATE : 0), error);
  if (db == NULL)
    return NULL;
  store->writer = conn_new (db);
  if (!conn_setup (store, db, TRUE, error))
    return NULL;
  {
    sqlite3_stmt *stmt = NULL;
    const unsigned char *mode = NULL;

    rc = sqlite3_prepare_v2 (db, "PRAGMA journal_mode = WAL", -1, &stmt, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step (stmt)) == SQLITE_ROW)
      {
        mode = sqlite3_column_text (stmt, 0);
        rc = SQLITE_OK;
      }
    if (rc != SQLITE_OK || mode == NULL || g_ascii_strcasecmp ((const char *) mode, "wal") != 0)
      {
        if (rc == SQLITE_OK)
          g_set_error (error, MVA_STORE_ERROR, MVA_STORE_ERROR_FAILED,
                       "%s: cannot switch to WAL mode (the file system may not support it)",
                       path);
        else
          _mva_store_set_error (store, db, rc, "cannot open", error);
        sqlite3_finalize (stmt);
        if (is_new)
          g_unlink (path);
        return NULL;
      }
    sqlite3_finalize (stmt);
  }
  if (version < MVA_STORE_SCHEMA_VERSION)
    {
      if (!migrate (store, db, MVA_STORE_SCHEMA_VERSION, error))
        {
          if (is_new)
            {
              g_autofree char *wal = g_strconcat (path, "-wal", NULL);
              g_autofree char *shm = g_strconcat (path, "-shm", NULL);
              g_clear_pointer (&store->writer, conn_free);
              g_unlink (path);
              g_unlink (wal);
              g_unlink (shm);
            }
          return NULL;
        }
    }
  return g_steal_pointer (&store);
}

gboolean
_mva_store_create_at_version (const char *path, int version, GError **error)
{
  g_autoptr(MvaStore) store = NULL;
  sqlite3 *db;
  gboolean ok;

  g_return_val_if_fail (version >= 1 && version <= MVA_STORE_SCHEMA_VERSION, FALSE);
  store = store_new (path, 0);
  db = open_db (store, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, error);
  if (db == NULL)
    return FALSE;
  sqlite3_exec (db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL);
  ok = migrate (store, db, version, error);
  sqlite3_close_v2 (db);
  return ok;
}

MvaStore *
mva_store_ref (MvaStore *store)
{
  g_return_val_if_fail (store != NULL, NULL);
  g_atomic_ref_count_inc (&store->ref_count);
  return store;
}

void
mva_store_unref (MvaStore *store)
{
  if (store == NULL || !g_atomic_ref_count_dec (&store->ref_count))
    return;
  g_clear_pointer (&store->idle_readers, g_ptr_array_unref);
  if (store->writer != NULL)
    {
      /* a clean close checkpoints the WAL into the main file */
      g_clear_pointer (&store->writer, conn_free);
    }
  g_rec_mutex_clear (&store->writer_lock);
  g_mutex_clear (&store->pool_lock);
  g_free (store->path);
  g_free (store);
}

const char *
mva_store_get_path (MvaStore *store)
{
  g_return_val_if_fail (store != NULL, NULL);
  return store->path;
}

int
mva_store_get_schema_version (MvaStore *store)
{
  g_return_val_if_fail (store != NULL, 0);
  return store->schema_version;
}

char *
_mva_store_tmp_template (char *prefix)
{
  g_autofree char *x = g_strnfill (6, 'X');
  char *t = g_strconcat (prefix, x, NULL);

  g_free (prefix);
  return t;
}

// --- hashing -------------------------------------------------------------------

char *
mva_store_hash_file (const char    *path,
                     GCancellable  *cancellable,
                     GError       **error)
{
  g_autoptr(GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autofree guchar *buf = g_malloc (1 << 16);
  int fd = g_open (path, O_RDONLY | O_CLOEXEC, 0);
  struct stat st;

  if (fd < 0)
    {
      int saved = errno;
      g_set_error (error, MVA_STORE_ERROR,
                   saved == ENOENT ? MVA_STORE_ERROR_NOT_FOUND : MVA_STORE_ERROR_FAILED,
                   "%s: %s", path, g_strerror (saved));
      return NULL;
    }
  if (fstat (fd, &st) == 0 && S_ISDIR (st.st_mode))
    {
      close (fd);
      g_set_error (error, MVA_STORE_ERROR, MVA_STORE_ERROR_INVALID, "%s: is a folder", path);
      return NULL;
    }
  for (;;)
    {
      ssize_t n = read (fd, buf, 1 << 16);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int saved = errno;
          close (fd);
          g_set_error (error, MVA_STORE_ERROR, MVA_STORE_ERROR_FAILED,
                       "%s: read failed: %s", path, g_strerror (saved));
          return NULL;
        }
      if (n == 0)
        break;
      g_checksum_update (sum, buf, n);
      if (g_cancellable_is_cancelled (cancellable))
        {
          close (fd);
          g_set_error (error, MVA_STORE_ERROR, MVA_STORE_ERROR_CANCELLED, "cancelled");
          return NULL;
        }
    }
  close (fd);
  return g_strdup (g_checksum_get_string (sum));
}

// --- check -------------------------------------------------------------------------

static void
missing_file_free (MvaMissingFile *f)
{
  if (f == NULL)
    return;
  g_free (f->path);
  g_free (f->sha256);
  g_free (f->found_path);
  g_free (f);
}

void
mva_store_check_free (MvaStoreCheck *check)
{
  if (check == NULL)
    return;
  g_clear_pointer (&check->integrity_errors, g_ptr_array_unref);
  g_clear_pointer (&check->foreign_key_errors, g_ptr_array_unref);
  g_clear_pointer (&check->missing_files, g_ptr_array_unref);
  g_free (check);
}

/* Hash every regular file under dir whose hash we look for. */
static void
search_moved (const char   *dir,
              GHashTable   *wanted,      /* sha256 -> MvaMissingFile* */
              guint        *n_left,
              GCancellable *cancellable,
              int           depth)
{
  g_autoptr(GDir) d = NULL;
  const char *name;

  if (*n_left == 0 || depth > 32 || g_cancellable_is_cancelled (cancellable))
    return;
  d = g_dir_open (dir, 0, NULL);
  if (d == NULL)
    return;
  while ((name = g_dir_read_name (d)) != NULL && *n_left > 0)
    {
      g_autofree char *child = g_build_filename (dir, name, NULL);
      struct stat st;

      if (lstat (child, &st) != 0)
        continue;
      if (S_ISDIR (st.st_mode))
        search_moved (child, wanted, n_left, cancellable, depth + 1);
      else if (S_ISREG (st.st_mode))
        {
          g_autofree char *hash = mva_store_hash_file (child, cancellable, NULL);
          MvaMissingFile *f = hash != NULL ? g_hash_table_lookup (wanted, hash) : NULL;

          if (f != NULL && f->found_path == NULL)
            {
              f->found_path = g_canonicalize_filename (child, NULL);
              (*n_left)--;
            }
        }
    }
}

MvaStoreCheck *
mva_store_check (MvaStore            *store,
                 const char * const  *search_dirs,
                 GCancellable        *cancellable,
                 GError             **error)
{
  g_autoptr(MvaStoreCheck) check = g_new0 (MvaStoreCheck, 1);
  MvaStoreConn *conn;
  sqlite3_stmt *stmt = NULL;
  int rc;

  g_return_val_if_fail (store != NULL, NULL);
  check->integrity_errors = g_ptr_array_new_with_free_func (g_free);
  check->foreign_key_errors = g_ptr_array_new_with_free_func (g_free);
  check->missing_files = g_ptr_array_new_with_free_func ((GDestroyNotify) missing_file_free);
  check->schema_version = store->schema_version;

  conn = _mva_store_reader_acquire (store, error);
  if (conn == NULL)
    return NULL;

  rc = sqlite3_prepare_v2 (conn->db, "PRAGMA integrity_check(100)", -1, &stmt, NULL);
  while (rc == SQLITE_OK && (rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      const char *line = (const char *) sqlite3_column_text (stmt, 0);
      if (line != NULL && strcmp (line, "ok") != 0)
        g_ptr_array_add (check->integrity_errors, g_strdup (line));
      rc = SQLITE_OK;
    }
  sqlite3_finalize (stmt);
  stmt = NULL;
  if (rc != SQLITE_DONE)
    {
      /* corruption severe enough that the check itself fails is a finding */
      g_ptr_array_add (check->integrity_errors,
                       g_strdup_printf ("integrity_check failed: %s", sqlite3_errmsg (conn->db)));
    }

  rc = sqlite3_prepare_v2 (conn->db, "PRAGMA foreign_key_check", -1, &stmt, NULL);
  while (rc == SQLITE_OK && (rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      g_ptr_array_add (check->foreign_key_errors,
                       g_strdup_printf ("%s row %lld -> %s",
                                        (const char *) sqlite3_column_text (stmt, 0),
                                        (long long) sqlite3_column_int64 (stmt, 1),
                                        (const char *) sqlite3_column_text (stmt, 2)));
      rc = SQLITE_OK;
    }
  sqlite3_finalize (stmt);
  stmt = NULL;
  if (rc != SQLITE_DONE)
    g_ptr_array_add (check->foreign_key_errors,
                     g_strdup_printf ("foreign_key_check failed: %s", sqlite3_errmsg (conn->db)));

  rc = sqlite3_prepare_v2 (conn->db,
                           "SELECT id, path, sha256 FROM micrographs WHERE path IS NOT NULL "
                           "ORDER BY id", -1, &stmt, NULL);
  while (rc == SQLITE_OK && (rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      const char *p = (const char *) sqlite3_column_text (stmt, 1);

      if (p != NULL && !g_file_test (p, G_FILE_TEST_IS_REGULAR))
        {
          MvaMissingFile *f = g_new0 (MvaMissingFile, 1);
          f->micrograph_id = sqlite3_column_int64 (stmt, 0);
          f->path = g_strdup (p);
          f->sha256 = _mva_stmt_dup_text (stmt, 2);
          g_ptr_array_add (check->missing_files, f);
        }
      rc = SQLITE_OK;
      if (g_cancellable_is_cancelled (cancellable))
        break;
    }
  sqlite3_finalize (stmt);
  if (rc != SQLITE_DONE && rc != SQLITE_OK)
    g_ptr_array_add (check->integrity_errors,
                     g_strdup_printf ("cannot list micrographs: %s", sqlite3_errmsg (conn->db)));
  _mva_store_reader_release (store, conn);

  if (search_dirs != NULL && check->missing_files->len > 0)
    {
      g_autoptr(GHashTable) wanted = g_hash_table_new (g_str_hash, g_str_equal);
      guint n_left = 0;

      for (guint i = 0; i < check->missing_files->len; i++)
        {
          MvaMissingFile *f = g_ptr_array_index (check->missing_files, i);
          if (f->sha256 != NULL && g_hash_table_insert (wanted, f->sha256, f))
            n_left++;
        }
      for (guint i = 0; search_dirs[i] != NULL; i++)
        search_moved (search_dirs[i], wanted, &n_left, cancellable, 0);
    }

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;
  return g_steal_pointer (&check);
}

// --- backup ----------------------------------------------------------------------

gboolean
mva_store_backup (MvaStore      *store,
                  const char    *dest,
                  GCancellable  *cancellable,
                  GError       **error)
{
  g_autofree char *dir = NULL;
  g_autofree char *tmpl = NULL;
  g_autofree char *abs_dest = NULL;
  g_autofree char *abs_src = NULL;
  sqlite3 *out = NULL;
  sqlite3_backup *bk;
  MvaStoreConn *src;
  int fd, rc;

  g_return_val_if_fail (store != NULL && dest != NULL, FALSE);
  abs_dest = g_canonicalize_filename (dest, NULL);
  abs_src = g_canonicalize_filename (store->path, NULL);
  if (g_strcmp0 (abs_dest, abs_src) == 0)
    {
      g_set_error (error, MVA_STORE_ERROR, MVA_STORE_ERROR_INVALID,
                   "%s: the backup cannot replace the library itself", dest);
      return FALSE;
    }
  dir = g_path_get_dirname (abs_dest);
  tmpl = _mva_store_tmp_template (g_build_filename (dir, ".mvaema-backup-", NULL));
  fd = g_mkstemp (tmpl);
  if (fd < 0)
    {
      int saved = errno;
      g_set_error (error, MVA_STORE_ERROR,
                   saved == EACCES || saved == EROFS ? MVA_STORE_ERROR_READ_ONLY
                   : saved == ENOSPC ? MVA_STORE_ERROR_FULL : MVA_STORE_ERROR_FAILED,
                   "%s: cannot write in %s: %s", dest, dir, g_strerror (saved));
      return FALSE;
    }
  close (fd);

  rc = sqlite3_open_v2 (tmpl, &out, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
  if (rc != SQLITE_OK)
    {
      _mva_store_set_error (store, out, rc, "cannot create the backup", error);
      goto fail;
    }
  src = _mva_store_reader_acquire (store, error);
  if (src == NULL)
    goto fail;
  bk = sqlite3_backup_init (out, "main", src->db, "main");
  if (bk == NULL)
    {
      _mva_store_set_error (store, out, sqlite3_errcode (out), "backup", error);
      _mva_store_reader_release (store, src);
      goto fail;
    }
  do
    {
      rc = sqlite3_backup_step (bk, 256);
      if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
        g_usleep (10000);
      if (g_cancellable_is_cancelled (cancellable))
        break;
    }
  while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
  sqlite3_backup_finish (bk);
  _mva_store_reader_release (store, src);
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    goto fail;
  if (rc != SQLITE_DONE)
    {
      _mva_store_set_error (store, out, rc, "backup", error);
      goto fail;
    }
  /* the copy is a standalone file: rollback journal, no -wal beside it */
  rc = sqlite3_exec (out, "PRAGMA journal_mode = DELETE", NULL, NULL, NULL);
  if (rc != SQLITE_OK)
    {
      _mva_store_set_error (store, out, rc, "backup", error);
      goto fail;
    }
  sqlite3_close_v2 (out);
  out = NULL;

  fd = g_open (tmpl, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0 || fsync (fd) != 0)
    {
      int saved = errno;
      if (fd >= 0)
        close (fd);
      g_set_error (error, MVA_STORE_ERROR,
                   saved == ENOSPC ? MVA_STORE_ERROR_FULL : MVA_STORE_ERROR_FAILED,
                   "%s: cannot flush the backup: %s", dest, g_strerror (saved));
      goto fail;
    }
  close (fd);
  if (g_rename (tmpl, abs_dest) != 0)
    {
      int saved = errno;
      g_set_error (error, MVA_STORE_ERROR, MVA_STORE_ERROR_FAILED,
                   "%s: cannot rename the backup into place: %s", dest, g_strerror (saved));
      goto fail;
    }
  fd = g_open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  if (fd >= 0)
    {
      fsync (fd);
      close (fd);
    }
  return TRUE;

fail:
  if (out != NULL)
    sqlite3_close_v2 (out);
  g_unlink (tmpl);
  {
    g_autofree char *j = g_strconcat (tmpl, "-journal", NULL);
    g_unlink (j);
  }
  return FALSE;
}
