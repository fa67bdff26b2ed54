/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-store-private.h: internals shared by mva-store*.c (connections,
 * cached statements, the writer lock, SQLite error mapping). Not installed;
 * only the store's own files and its tests include it.
 */
#pragma once

#include <sqlite3.h>

#include "mva-store.h"

G_BEGIN_DECLS

/* One SQLite connection with its prepared-statement cache (SQL text -> stmt). */
typedef struct
{
  sqlite3    *db;
  GHashTable *stmts;
} MvaStoreConn;

/* The writer connection of store, locked for the calling thread (recursive).
 * Pair with _mva_store_writer_unlock. */
MvaStoreConn *_mva_store_writer_lock   (MvaStore *store, GError **error);
void          _mva_store_writer_unlock (MvaStore *store);

/* A connection to read from: the writer when the calling thread is inside
 * its own transaction, else one from the reader pool. Pair with release. */
MvaStoreConn *_mva_store_reader_acquire (MvaStore *store, GError **error);
void          _mva_store_reader_release (MvaStore *store, MvaStoreConn *conn);

/* A cached, reset statement for sql on conn (NULL + error on failure). */
sqlite3_stmt *_mva_store_prepare (MvaStore     *store,
                                  MvaStoreConn *conn,
                                  const char   *sql,
                                  GError      **error);
/* Run sql (no results) on conn. */
gboolean      _mva_store_exec    (MvaStore     *store,
                                  MvaStoreConn *conn,
                                  const char   *sql,
                                  GError      **error);

/* Turn the last SQLite error on db (code rc) into a GError with a one-line
 * message "<what>: <reason> (<file>)". */
void          _mva_store_set_error (MvaStore   *store,
                                    sqlite3    *db,
                                    int         rc,
                                    const char *what,
                                    GError    **error);

/* prefix (taken) + the six-character pattern g_mkstemp fills in. */
char         *_mva_store_tmp_template (char *prefix);

/* Column helpers. */
char         *_mva_stmt_dup_text   (sqlite3_stmt *stmt, int col);
void          _mva_stmt_bind_text_or_null (sqlite3_stmt *stmt, int idx, const char *s);
void          _mva_stmt_bind_id_or_null   (sqlite3_stmt *stmt, int idx, gint64 id);

/* The SQL that creates schema version `version` from the one before it
 * (1-based; version 1 starts from an empty database). */
const char   *_mva_store_migration_sql (int version);

/* Create an empty library at path at schema `version` (1..current), as an
 * older MVaEMa would have written it. For migration tests. */
gboolean      _mva_store_create_at_version (const char *path,
                                            int         version,
                                            GError    **error);

G_END_DECLS
