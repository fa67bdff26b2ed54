/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * test-store.c: the library API (app/mva-store.h): creation, records,
 * reviews and undo, filters, datasets, models, runs, teacher log,
 * transactions, concurrent reader/writer, migrations from every earlier
 * schema (frozen SQL in tests/store/schema-v*.sql), refusal of foreign,
 * corrupt and too-new files (bytes unchanged), disk full, backup and check.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <sqlite3.h>

#include "mva-store.h"
#include "mva-store-private.h"

static char *tmpdir;

static char *
tmp_path (const char *name)
{
  return g_build_filename (tmpdir, name, NULL);
}

static char *
shared_image (const char *rel)
{
  const char *shared = g_getenv ("MVAEMA_SHARED_DIR");
  g_autofree char *p = NULL;

  if (shared == NULL)
    return NULL;
  p = g_build_filename (shared, "micrographs", rel, NULL);
  if (!g_file_test (p, G_FILE_TEST_IS_REGULAR))
    return NULL;
  return g_canonicalize_filename (p, NULL);   /* the store keeps canonical paths */
}

static char *
file_sha (const char *path)
{
  g_autoptr(GError) error = NULL;
  char *sha = mva_store_hash_file (path, NULL, &error);

  g_assert_no_error (error);
  return sha;
}

static void
remove_db (const char *path)
{
  g_autofree char *wal = g_strconcat (path, "-wal", NULL);
  g_autofree char *shm = g_strconcat (path, "-shm", NULL);

  g_unlink (path);
  g_unlink (wal);
  g_unlink (shm);
}

/* Fake hash n as 64 hex digits. */
static char *
fake_sha (guint n)
{
  return g_strdup_printf ("%064x", n);
}

static gint64
add_fake_micrograph (MvaStore *store, guint n, const char *category)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *sha = fake_sha (n);
  MvaMicrograph m = { .sha256 = sha, .category = (char *) category,
                      .category_source = MVA_CATEGORY_SOURCE_IMPORT,
                      .pixel_size_nm = NAN, .file_size = -1 };
  gint64 id = mva_store_add_micrograph (store, &m, NULL, &error);

  g_assert_no_error (error);
  g_assert_cmpint (id, >, 0);
  return id;
}

static gint64
add_pair (MvaStore *store, gint64 mid, int family, const char *q, const char *a)
{
  g_autoptr(GError) error = NULL;
  MvaQaPair qa = { .micrograph_id = mid, .source = MVA_QA_SOURCE_SYNTHETIC, .family = family,
                   .question = (char *) q, .answer = (char *) a };
  gint64 id = mva_store_add_qa (store, &qa, FALSE, NULL, &error);

  g_assert_no_error (error);
  g_assert_cmpint (id, >, 0);
  return id;
}

static int
pragma_int (const char *path, const char *pragma)
{
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  int v = -1;

  g_assert_cmpint (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, pragma, -1, &stmt, NULL), ==, SQLITE_OK);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    v = sqlite3_column_int (stmt, 0);
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return v;
}

// ---------------------------------------------------------------------------

static void
test_open_create (void)
{
  g_autofree char *path = tmp_path ("sub/dir/library.db");
  g_autoptr(GError) error = NULL;
  g_autoptr(MvaStore) store = mva_store_open (path, 0, &error);
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;

  g_assert_no_error (error);
  g_assert_nonnull (store);
  g_assert_cmpint (pragma_int (path, "PRAGMA user_version"), ==, MVA_STORE_SCHEMA_VERSION);
  g_assert_cmpint ((guint32) pragma_int (path, "PRAGMA application_id"), ==,
                   MVA_STORE_APPLICATION_ID);
  g_assert_cmpint (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, "PRAGMA journal_mode", -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  g_assert_cmpstr ((const char *) sqlite3_column_text (stmt, 0), ==, "wal");
  sqlite3_finalize (stmt);
  sqlite3_close (db);

  /* reopen: nothing to migrate, same file */
  g_clear_pointer (&store, mva_store_unref);
  store = mva_store_open (path, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpint (mva_store_get_schema_version (store), ==, MVA_STORE_SCHEMA_VERSION);

  /* default path honours MVAEMA_DB */
  g_setenv ("MVAEMA_DB", path, TRUE);
  {
    g_autofree char *def = mva_store_default_path ();
    g_assert_cmpstr (def, ==, path);
  }
  g_unsetenv ("MVAEMA_DB");
  {
    g_autofree char *def = mva_store_default_path ();
    g_assert_true (g_str_has_suffix (def, "/mvaema/library.db"));
  }
  /* read-only open of a missing file is an error, not a creation */
  {
    g_autofree char *missing = tmp_path ("missing.db");
    g_autoptr(MvaStore) ro = mva_store_open (missing, MVA_STORE_OPEN_READ_ONLY, &error);
    g_assert_null (ro);
    g_assert_error (error, MVA_STORE_ERROR, MVA_STORE_ERROR_NOT_FOUND);
    g_assert_false (g_file_test (missing, G_FILE_TEST_EXISTS));
  }
}

static void
test_micrographs (void)
{
  g_autofree char *path = tmp_path ("micrographs.db");
  g_autofree char *img = shared_image ("particles/by256_emps_032bd4a6b1.png");
  g_autofree char *copy = tmp_path ("moved.png");
  g_autoptr(GError) error = NULL;
  g_autoptr(MvaStore) store = NULL;
  g_autoptr(MvaMicrograph) m = NULL;
  g_autoptr(GPtrArray) list = NULL;
  g_autoptr(GPtrArray) cats = NULL;
  g_autofree char *sha = NULL;
  gboolean added = FALSE;
  gint64 id, id2;

  remove_db (path);
  store = mva_store_open (path, 0, &error);
  g_assert_no_error (error);

  if (img != NULL)
    {
      g_autofree char *contents = NULL;
      gsize len;

      id = mva_store_add_micrograph_file (store, img, NULL, MVA_CATEGORY_SOURCE_NONE, &added,
                                          &error);
      g_assert_no_error (error);
      g_assert_true (added);
      sha = file_sha (img);
      m = mva_store_find_micrograph (store, sha, &error);
      g_assert_no_error (error);
      g_assert_nonnull (m);
      g_assert_cmpint (m->id, ==, id);
      g_assert_cmpstr (m->path, ==, img);
      g_assert_cmpuint (m->width, >, 0);
      g_assert_cmpuint (m->height, >, 0);
      g_assert_null (m->category);
      g_clear_pointer (&m, mva_micrograph_free);

      /* the same bytes elsewhere: same micrograph, path follows the file */
      g_assert_true (g_file_get_contents (img, &contents, &len, NULL));
      g_assert_true (g_file_set_contents (copy, contents, len, NULL));
      id2 = mva_store_add_micrograph_file (store, copy, "particles", MVA_CATEGORY_SOURCE_IMPORT,
                                           &added, &error);
      g_assert_no_error (error);
      g_assert_false (added);
      g_assert_cmpint (id2, ==, id);
      m = mva_store_get_micrograph (store, id, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (m->path, ==, copy);
      g_assert_cmpstr (m->category, ==, "particles");
      g_assert_cmpint (m->category_source, ==, MVA_CATEGORY_SOURCE_IMPORT);
      g_clear_pointer (&m, mva_micrograph_free);

      /* a user's category is not overridden by a later prediction */
      g_assert_true (mva_store_set_category (store, id, "powder", MVA_CATEGORY_SOURCE_USER, &error));
      g_assert_no_error (error);
      id2 = mva_store_add_micrograph_file (store, copy, "tips", MVA_CATEGORY_SOURCE_PREDICTION,
                                           NULL, &error);
      g_assert_no_error (error);
      m = mva_store_get_micrograph (store, id, &error);
      g_assert_cmpstr (m->category, ==, "powder");
      g_assert_cmpint (m->category_source, ==, MVA_CATEGORY_SOURCE_USER);
      g_clear_pointer (&m, mva_micrograph_free);
    }
  else
    g_test_message ("shared micrographs not found; file part skipped");

  /* a file the loader cannot read is still added, with its error */
  {
    g_autofree char *junk = tmp_path ("junk.tif");
    g_assert_true (g_file_set_contents (junk, "II*\0garbage garbage", 19, NULL));
    id = mva_store_add_micrograph_file (store, junk, NULL, 0, &added, &error);
    g_assert_no_error (error);
    g_assert_true (added);
    m = mva_store_get_micrograph (store, id, &error);
    g_assert_nonnull (m->load_error);
    g_assert_cmpuint (m->width, ==, 0);
    g_clear_pointer (&m, mva_micrograph_free);
  }
  /* a missing file is an error */
  {
    g_autofree char *nofile = tmp_path ("nope.png");
    id = mva_store_add_micrograph_file (store, nofile, NULL, 0, NULL, &error);
    g_assert_cmpint (id, ==, 0);
    g_assert_error (error, MVA_STORE_ERROR, MVA_STORE_ERROR_NOT_FOUND);
    g_clear_error (&error);
  }
  /* bad hash */
  {
    MvaMicrograph bad = { .sha256 = (char *) "abc" };
    g_assert_cmpint (mva_store_add_micrograph (store, &bad, NULL, &error), ==, 0);
    g_assert_error (error, MVA_STORE_ERROR, MVA_STORE_ERROR_INVALID);
    g_clear_error (&error);
  }

  for (guint i = 0; i < 10; i++)
    add_fake_micrograph (store, 1000 + i, i % 2 ? "films" : "tips");
  {
    MvaMicrographFilter f = { .category = "films" };
    list = mva_store_list_micrographs (store, &f, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (list->len, ==, 5);
    g_assert_cmpint (mva_store_count_micrographs (store, &f, &error), ==, 5);
    f.limit = 2;
    f.offset = 4;
    g_clear_pointer (&list, g_ptr_array_unref);
    list = mva_store_list_micrographs (store, &f, &error);
    g_assert_cmpuint (list->len, ==, 1);
  }
  cats = mva_store_list_categories (store, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (cats->len, >=, 2);
  {
    MvaCategoryCount *c = g_ptr_array_index (cats, 0);
    g_assert_cmpstr (c->category, ==, "films");
    g_assert_cmpint (c->n_micrographs, ==, 5);
  }
}

static void
test_qa_reviews (void)
{
  g_autofree char *path = tmp_path ("qa.db");
  g_autoptr(GError) error = NULL;
  g_autoptr(MvaStore) store = NULL;
  g_autoptr(GPtrArray) list = NULL;
  g_autoptr(GPtrArray) reviews = NULL;
  g_autoptr(MvaQaPair) qa = NULL;
  gint64 m1, m2, q1, q2, q3, touched = 0;
  gboolean added;

  remove_db (path);
  store = mva_store_open (path, 0, &error);
  g_assert_no_error (error);
  m1 = add_fake_micrograph (store, 1, "nanowires");
  m2 = add_fake_micrograph (store, 2, "porous");
  q1 = add_pair (store, m1, 1, "What is shown?", "Nanowires.");
  q2 = add_pair (store, m1, 3, "How big?", "About 50 nm wide.");
  q3 = add_pair (store, m2, 4, "Texture?", "Porous, sponge-like.");

  /* blobs, tokens, teacher fields round-trip */
  {
    gint32 toks[] = { 4, 17, 99, 6 };
    float att[49];
    MvaQaPair in = { .micrograph_id = m2, .source = MVA_QA_SOURCE_TEACHER, .family = 8,
                     .question = (char *) "SEM or TEM?", .answer = (char *) "SEM.",
                     .teacher_model = (char *) "gpt-4v", .prompt_tokens = 1200,
                     .completion_tokens = 80, .params_json = (char *) "{\"k\":1}" };
    gint64 id;

    for (int i = 0; i < 49; i++)
      att[i] = i / 49.0f;
    in.tokens = g_bytes_new (toks, sizeof toks);
    in.attention = g_bytes_new (att, sizeof att);
    id = mva_store_add_qa (store, &in, TRUE, &added, &error);
    g_assert_no_error (error);
    g_assert_true (added);
    g_assert_cmpint (mva_store_add_qa (store, &in, TRUE, &added, &error), ==, id);
    g_assert_false (added);
    qa = mva_store_get_qa (store, id, &error);
    g_assert_no_error (error);
    g_assert_cmpint (qa->source, ==, MVA_QA_SOURCE_TEACHER);
    g_assert_cmpstr (qa->teacher_model, ==, "gpt-4v");
    g_assert_cmpint (qa->prompt_tokens, ==, 1200);
    g_assert_cmpint (qa->completion_tokens, ==, 80);
    g_assert_true (g_bytes_equal (qa->tokens, in.tokens));
    g_assert_true (g_bytes_equal (qa->attention, in.attention));
    g_assert_cmpstr (qa->category, ==, "porous");
    g_assert_cmpstr (qa->params_json, ==, "{\"k\":1}");
    g_clear_pointer (&qa, mva_qa_pair_free);
    g_bytes_unref (in.tokens);
    g_bytes_unref (in.attention);
    in.params_json = (char *) "[1,2]";
    in.answer = (char *) "other";
    g_assert_cmpint (mva_store_add_qa (store, &in, FALSE, NULL, &error), ==, 0);
    g_assert_error (error, MVA_STORE_ERROR, MVA_STORE_ERROR_INVALID);
    g_clear_error (&error);
  }

  /* reviews */
  g_assert_cmpint (mva_store_add_review (store, q1, MVA_REVIEW_ACCEPTED, NULL, "alice", &error), >, 0);
  g_assert_no_error (error);
  g_assert_cmpint (mva_store_add_review (store, q2, MVA_REVIEW_CORRECTED, NULL, "bob", &error), ==, 0);
  g_assert_error (error, MVA_STORE_ERROR, MVA_STORE_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_cmpint (mva_store_add_review (store, 999999, MVA_REVIEW_ACCEPTED, NULL, "x", &error), ==, 0);
  g_assert_error (error, MVA_STORE_ERROR, MVA_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_cmpint (mva_store_add_review (store, q2, MVA_REVIEW_CORRECTED, "About 40 nm wide.",
                                         "bob", &error), >, 0);
  g_assert_cmpint (mva_store_add_review (store, q3, MVA_REVIEW_REJECTED, NULL, "bob", &error), >, 0);
  g_assert_cmpint (mva_store_add_review (store, q1, MVA_REVIEW_REJECTED, NULL, "carol", &error), >, 0);

  qa = mva_store_get_qa (store, q1, &error);
  g_assert_cmpint (qa->review_state, ==, MVA_REVIEW_REJECTED);
  g_assert_cmpstr (qa->reviewer, ==, "carol");
  g_clear_pointer (&qa, mva_qa_pair_free);
  /* undo restores the earlier state */
  g_assert_true (mva_store_undo_review (store, 0, &touched, &error));
  g_assert_cmpint (touched, ==, q1);
  qa = mva_store_get_qa (store, q1, &error);
  g_assert_cmpint (qa->review_state, ==, MVA_REVIEW_ACCEPTED);
  g_assert_cmpstr (qa->reviewer, ==, "alice");
  g_clear_pointer (&qa, mva_qa_pair_free);
  qa = mva_store_get_qa (store, q2, &error);
  g_assert_cmpint (qa->review_state, ==, MVA_REVIEW_CORRECTED);
  g_assert_cmpstr (qa->corrected_text, ==, "About 40 nm wide.");
  g_clear_pointer (&qa, mva_qa_pair_free);
  reviews = mva_store_list_reviews (store, q1, &error);
  g_assert_cmpuint (reviews->len, ==, 1);
  g_assert_true (mva_store_undo_review (store, q1, NULL, &error));
  g_assert_false (mva_store_undo_review (store, q1, NULL, &error));
  g_assert_error (error, MVA_STORE_ERROR, MVA_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_cmpint (mva_store_add_review (store, q1, MVA_REVIEW_ACCEPTED, NULL, "alice", &error), >, 0);

  /* filters: category + review state */
  {
    MvaQaFilter f = { .category = "nanowires", .review_mask = MVA_REVIEW_MASK_REVIEWED };
    list = mva_store_list_qa (store, &f, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (list->len, ==, 2);
    g_clear_pointer (&list, g_ptr_array_unref);
    f.review_mask = MVA_REVIEW_MASK (MVA_REVIEW_REJECTED);
    g_assert_cmpint (mva_store_count_qa (store, &f, &error), ==, 0);
    f.category = "porous";
    g_assert_cmpint (mva_store_count_qa (store, &f, &error), ==, 1);
    f.review_mask = MVA_REVIEW_MASK (MVA_REVIEW_NONE);
    g_assert_cmpint (mva_store_count_qa (store, &f, &error), ==, 1);
    f.source_mask = 1u << MVA_QA_SOURCE_SYNTHETIC;
    g_assert_cmpint (mva_store_count_qa (store, &f, &error), ==, 0);
    g_assert_cmpint (mva_store_count_qa (store, NULL, &error), ==, 4);
  }
  /* changing a micrograph's category moves its pairs */
  g_assert_true (mva_store_set_category (store, m1, "tips", MVA_CATEGORY_SOURCE_USER, &error));
  {
    MvaQaFilter f = { .category = "tips" };
    g_assert_cmpint (mva_store_count_qa (store, &f, &error), ==, 2);
    f.category = "";
    g_assert_cmpint (mva_store_count_qa (store, &f, &error), ==, 0);
  }
  {
    MvaMicrographFilter f = { .review_mask = MVA_REVIEW_MASK (MVA_REVIEW_REJECTED) };
    g_assert_cmpint (mva_store_count_micrographs (store, &f, &error), ==, 1);
  }
  /* delete cascades */
  g_assert_true (mva_store_delete_micrograph (store, m2, &error));
  g_assert_cmpint (mva_store_count_qa (store, NULL, &error), ==, 2);
  g_assert_false (mva_store_delete_micrograph (store, m2, &error));
  g_assert_error (error, MVA_STORE_ERROR, MVA_STORE_ERROR_NOT_FOUND);
}

/* Pages (the per-state index merge) agree with slices of the full list. */
static void
test_pages (void)
{
  g_autofree char *path = tmp_path ("pages.db");
  g_autoptr(GError) error = NULL;
  g_autoptr(MvaStore) store = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (3);
  const char *cats[] = { "tips", "films", NULL };
  const guint masks[] = { 0, MVA_REVIEW_MASK_REVIEWED, MVA_REVIEW_MASK (MVA_REVIEW_NONE),
                          MVA_REVIEW_MASK (MVA_REVIEW_REJECTED) | MVA_REVIEW_MASK (MVA_REVIEW_NONE) };

  remove_db (path);
  store = mva_store_open (path, 0, &error);
  g_assert_true (mva_store_begin (store, &error));
  for (guint i = 0; i < 30; i++)
    {
      gint64 m = add_fake_micrograph (store, 500 + i, i % 3 == 0 ? NULL : cats[i % 2]);
      for (int k = 0; k < 10; k++)
        {
          g_autofree char *qq = g_strdup_printf ("q%u-%d", i, k);
          gint64 id = add_pair (store, m, 1 + k, qq, "a");
          int r = g_rand_int_range (rand, 0, 4);
          if (r > 0)
            g_assert_cmpint (mva_store_add_review (store, id, (MvaReviewState) r,
                                                   r == MVA_REVIEW_CORRECTED ? "c" : NULL, "t",
                                                   &error), >, 0);
        }
    }
  g_assert_true (mva_store_commit (store, &error));

  for (guint c = 0; c < G_N_ELEMENTS (cats); c++)
    for (guint k = 0; k < G_N_ELEMENTS (masks); k++)
      for (int oldest = 0; oldest < 2; oldest++)
        {
          MvaQaFilter f = { .category = cats[c], .review_mask = masks[k], .oldest_first = oldest };
          g_autoptr(GPtrArray) all = mva_store_list_qa (store, &f, &error);
          gint64 n = mva_store_count_qa (store, &f, &error);

          g_assert_no_error (error);
          g_assert_cmpint (all->len, ==, n);
          for (guint off = 0; off <= all->len + 3; off += 7)
            {
              g_autoptr(GPtrArray) page = NULL;
              f.offset = off;
              f.limit = 9;
              page = mva_store_list_qa (store, &f, &error);
              g_assert_no_error (error);
              g_assert_cmpuint (page->len, ==, MIN (9, all->len > off ? all->len - off : 0));
              for (guint i = 0; i < page->len; i++)
                {
                  MvaQaPair *a = g_ptr_array_index (page, i);
                  MvaQaPair *b = g_ptr_array_index (all, off + i);
                  g_assert_cmpint (a->id, ==, b->id);
                  g_assert_cmpint (a->review_state, ==, b->review_state);
                  g_assert_cmpstr (a->corrected_text, ==, b->corrected_text);
                  if (masks[k] != 0)
                    g_assert_true (masks[k] & MVA_REVIEW_MASK (a->review_state));
                  if (cats[c] != NULL)
                    g_assert_cmpstr (a->category, ==, cats[c]);
                }
              f.offset = 0;
              f.limit = 0;
            }
        }
}

static void
test_datasets_models_runs (void)
{
  g_autofree char *path = tmp_path ("models.db");
  g_autoptr(GError) error = NULL;
  g_autoptr(MvaStore) store = NULL;
  g_autoptr(GArray) ids = NULL;
  g_autoptr(MvaModelVersion) mv = NULL;
  g_autoptr(MvaTrainingRun) run = NULL;
  g_autoptr(GPtrArray) reqs = NULL;
  gint64 ds, v1, v2, r, mid = 0;
  gint64 n;

  remove_db (path);
  store = mva_store_open (path, 0, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < 20; i++)
    {
      gint64 m = add_fake_micrograph (store, i + 1, "particles");
      for (int fam = 1; fam <= 3; fam++)
        add_pair (store, m, fam, "q", "a");
      mid = m;
    }
  ds = mva_store_create_dataset (store, "reviewed-2026", "first", &error);
  g_assert_no_error (error);
  g_assert_cmpint (mva_store_create_dataset (store, "reviewed-2026", NULL, &error), ==, 0);
  g_assert_error (error, MVA_STORE_ERROR, MVA_STORE_ERROR_EXISTS);
  g_clear_error (&error);
  g_assert_cmpint (mva_store_find_dataset (store, "reviewed-2026", &error), ==, ds);
  n = mva_store_dataset_fill (store, ds, NULL, 0.2, 0.2, 42, &error);
  g_assert_no_error (error);
  g_assert_cmpint (n, ==, 60);
  ids = mva_store_dataset_list (store, ds, -1, &error);
  g_assert_cmpuint (ids->len, ==, 60);
  {
    /* every image's pairs are in one split */
    g_autoptr(GArray) test_ids = mva_store_dataset_list (store, ds, MVA_SPLIT_TEST, &error);
    g_autoptr(GArray) train_ids = mva_store_dataset_list (store, ds, MVA_SPLIT_TRAIN, &error);
    g_assert_cmpuint (test_ids->len % 3, ==, 0);
    g_assert_cmpuint (train_ids->len % 3, ==, 0);
    g_assert_cmpuint (train_ids->len, >, 0);
  }
  g_assert_false (mva_store_dataset_add (store, ds, 987654, MVA_SPLIT_TRAIN, -1, &error));
  g_assert_error (error, MVA_STORE_ERROR, MVA_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);

  {
    MvaModelVersion in = { .name = (char *) "base", .file_path = (char *) "/models/base.safetensors" };
    v1 = mva_store_add_model_version (store, &in, &error);
    g_assert_no_error (error);
  }
  r = mva_store_start_training_run (store, v1, ds, "{\"lr\":0.001,\"epochs\":3}", &error);
  g_assert_no_error (error);
  g_assert_cmpint (mva_store_start_training_run (store, v1, ds, "not json", &error), ==, 0);
  g_assert_error (error, MVA_STORE_ERROR, MVA_STORE_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_true (mva_store_append_training_epoch (store, r, "{\"epoch\":1,\"loss\":2.5}", &error));
  g_assert_true (mva_store_append_training_epoch (store, r, "{\"epoch\":2,\"loss\":1.5}", &error));
  g_assert_true (mva_store_finish_training_run (store, r, MVA_RUN_FINISHED, NULL, &error));
  run = mva_store_get_training_run (store, r, &error);
  g_assert_no_error (error);
  g_assert_cmpint (run->state, ==, MVA_RUN_FINISHED);
  g_assert_cmpint (run->finished_at, >, 0);
  g_assert_cmpstr (run->epochs_json, ==, "[{\"epoch\":1,\"loss\":2.5},{\"epoch\":2,\"loss\":1.5}]");
  {
    MvaModelVersion in = { .name = (char *) "ft-1", .file_path = (char *) "/models/ft1.safetensors",
                           .parent_id = v1, .training_run_id = r,
                           .metrics_json = (char *) "{\"bleu4\":0.5}" };
    v2 = mva_store_add_model_version (store, &in, &error);
    g_assert_no_error (error);
  }
  mv = mva_store_get_adopted_model (store, &error);
  g_assert_no_error (error);
  g_assert_null (mv);
  g_assert_true (mva_store_adopt_model_version (store, v1, &error));
  g_assert_true (mva_store_adopt_model_version (store, v2, &error));
  mv = mva_store_get_adopted_model (store, &error);
  g_assert_cmpint (mv->id, ==, v2);
  g_assert_cmpint (mv->parent_id, ==, v1);
  g_assert_cmpint (mv->training_run_id, ==, r);
  g_clear_pointer (&mv, mva_model_version_free);
  /* roll back */
  g_assert_true (mva_store_adopt_model_version (store, v1, &error));
  mv = mva_store_get_adopted_model (store, &error);
  g_assert_cmpint (mv->id, ==, v1);
  g_assert_false (mva_store_adopt_model_version (store, 424242, &error));
  g_assert_error (error, MVA_STORE_ERROR, MVA_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);
  /* a failed adopt leaves the previous one adopted */
  g_clear_pointer (&mv, mva_model_version_free);
  mv = mva_store_get_adopted_model (store, &error);
  g_assert_cmpint (mv->id, ==, v1);

  /* teacher log for resumable batches */
  {
    MvaTeacherRequest req = { .micrograph_id = mid, .family = 2, .model = (char *) "gpt-4v",
                              .ok = FALSE, .reason = (char *) "HTTP 429",
                              .prompt_tokens = -1, .completion_tokens = -1 };
    g_assert_cmpint (mva_store_log_teacher_request (store, &req, &error), >, 0);
    g_assert_false (mva_store_teacher_request_done (store, mid, 2, "gpt-4v", &error));
    req.ok = TRUE;
    req.reason = NULL;
    req.prompt_tokens = 900;
    g_assert_cmpint (mva_store_log_teacher_request (store, &req, &error), >, 0);
    g_assert_true (mva_store_teacher_request_done (store, mid, 2, "gpt-4v", &error));
    g_assert_true (mva_store_teacher_request_done (store, mid, 2, NULL, &error));
    g_assert_false (mva_store_teacher_request_done (store, mid, 2, "other", &error));
    g_assert_false (mva_store_teacher_request_done (store, mid, 3, NULL, &error));
    reqs = mva_store_list_teacher_requests (store, mid, 0, &error);
    g_assert_cmpuint (reqs->len, ==, 2);
    g_assert_true (((MvaTeacherRequest *) g_ptr_array_index (reqs, 0))->ok);
    req.micrograph_id = 999999;
    g_assert_cmpint (mva_store_log_teacher_request (store, &req, &error), ==, 0);
    g_assert_error (error, MVA_STORE_ERROR, MVA_STORE_ERROR_NOT_FOUND);
    g_clear_error (&error);
  }
}

static void
test_transactions (void)
{
  g_autofree char *path = tmp_path ("txn.db");
  g_autoptr(GError) error = NULL;
  g_autoptr(MvaStore) store = NULL;
  gint64 m;

  remove_db (path);
  store = mva_store_open (path, 0, &error);
  m = add_fake_micrograph (store, 7, NULL);

  g_assert_true (mva_store_begin (store, &error));
  add_pair (store, m, 1, "a", "1");
  g_assert_true (mva_store_begin (store, &error));
  add_pair (store, m, 1, "b", "2");
  /* reads inside our own transaction see our rows */
  g_assert_cmpint (mva_store_count_qa (store, NULL, &error), ==, 2);
  mva_store_rollback (store);           /* undoes only "b" */
  g_assert_cmpint (mva_store_count_qa (store, NULL, &error), ==, 1);
  g_assert_true (mva_store_commit (store, &error));
  g_assert_cmpint (mva_store_count_qa (store, NULL, &error), ==, 1);

  g_assert_true (mva_store_begin (store, &error));
  add_pair (store, m, 1, "c", "3");
  mva_store_rollback (store);
  g_assert_cmpint (mva_store_count_qa (store, NULL, &error), ==, 1);
}

typedef struct
{
  MvaStore *store;
  gint64    mid;
  guint     n_txn;
  guint     per_txn;
} WriterData;

static gpointer
writer_thread (gpointer data)
{
  WriterData *wd = data;
  g_autoptr(GError) error = NULL;

  for (guint t = 0; t < wd->n_txn; t++)
    {
      g_assert_true (mva_store_begin (wd->store, &error));
      for (guint i = 0; i < wd->per_txn; i++)
        {
          g_autofree char *q = g_strdup_printf ("q%u-%u", t, i);
          add_pair (wd->store, wd->mid, 2, q, "a");
        }
      g_assert_true (mva_store_commit (wd->store, &error));
    }
  return NULL;
}

/* The GUI thread reads while a worker writes: every count it sees is a
 * whole number of transactions, and it never waits for a transaction. */
static void
test_threads (void)
{
  g_autofree char *path = tmp_path ("threads.db");
  g_autoptr(GError) error = NULL;
  g_autoptr(MvaStore) store = NULL;
  WriterData wd = { 0 };
  GThread *t;
  gint64 last = 0, n = 0;
  guint reads = 0;

  remove_db (path);
  store = mva_store_open (path, 0, &error);
  wd.store = store;
  wd.mid = add_fake_micrograph (store, 9, "films");
  wd.n_txn = 40;
  wd.per_txn = 50;
  t = g_thread_new ("writer", writer_thread, &wd);
  while (n < (gint64) (wd.n_txn * wd.per_txn))
    {
      MvaQaFilter f = { .category = "films", .limit = 20 };
      g_autoptr(GPtrArray) page = mva_store_list_qa (store, &f, &error);

      g_assert_no_error (error);
      g_assert_nonnull (page);
      n = mva_store_count_qa (store, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpint (n % wd.per_txn, ==, 0);
      g_assert_cmpint (n, >=, last);
      last = n;
      reads++;
    }
  g_thread_join (t);
  g_assert_cmpint (mva_store_count_qa (store, NULL, &error), ==, 2000);
  g_test_message ("%u consistent reads during the writes", reads);
}

/* Frozen databases of every earlier schema, with data, migrate forward. */
static void
test_migrations (void)
{
  const char *src = g_getenv ("MVAEMA_SOURCE_DIR");

  g_assert_nonnull (src);
  for (int v = 1; v < MVA_STORE_SCHEMA_VERSION; v++)
    {
      g_autofree char *name = g_strdup_printf ("schema-v%d.sql", v);
      g_autofree char *sql_path = g_build_filename (src, "tests", "store", name, NULL);
      g_autofree char *dbname = g_strdup_printf ("old-v%d.db", v);
      g_autofree char *path = tmp_path (dbname);
      g_autofree char *sql = NULL;
      g_autoptr(GError) error = NULL;
      g_autoptr(MvaStore) store = NULL;
      g_autoptr(MvaQaPair) qa = NULL;
      g_autoptr(MvaStoreCheck) check = NULL;
      sqlite3 *db = NULL;
      char *err = NULL;

      g_test_message ("migrating from schema %d", v);
      g_assert_true (g_file_get_contents (sql_path, &sql, NULL, NULL));
      remove_db (path);
      g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
      if (sqlite3_exec (db, sql, NULL, NULL, &err) != SQLITE_OK)
        g_error ("%s: %s", sql_path, err);
      sqlite3_close (db);
      g_assert_cmpint (pragma_int (path, "PRAGMA user_version"), ==, v);

      /* read-only open refuses an old schema instead of migrating */
      store = mva_store_open (path, MVA_STORE_OPEN_READ_ONLY, &error);
      g_assert_error (error, MVA_STORE_ERROR, MVA_STORE_ERROR_NEEDS_MIGRATION);
      g_clear_error (&error);
      g_assert_cmpint (pragma_int (path, "PRAGMA user_version"), ==, v);

      store = mva_store_open (path, 0, &error);
      g_assert_no_error (error);
      g_assert_cmpint (mva_store_get_schema_version (store), ==, v);
      g_assert_cmpint (pragma_int (path, "PRAGMA user_version"), ==, MVA_STORE_SCHEMA_VERSION);

      /* the frozen data: micrograph 1 "nanowires" with pair 1 accepted then
       * corrected, pair 2 unreviewed; micrograph 2 uncategorised */
      qa = mva_store_get_qa (store, 1, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (qa->category, ==, "nanowires");
      g_assert_cmpint (qa->review_state, ==, MVA_REVIEW_CORRECTED);
      g_assert_cmpstr (qa->corrected_text, ==, "Bundled nanowires, about 40 nm wide.");
      g_assert_cmpint (qa->prompt_tokens, ==, -1);
      {
        MvaQaFilter f = { .category = "nanowires", .review_mask = MVA_REVIEW_MASK (MVA_REVIEW_NONE) };
        g_assert_cmpint (mva_store_count_qa (store, &f, &error), ==, 1);
      }
      g_assert_cmpint (mva_store_count_micrographs (store, NULL, &error), ==, 2);
      /* new columns and tables work */
      {
        MvaTeacherRequest req = { .micrograph_id = 2, .family = 1, .ok = TRUE,
                                  .prompt_tokens = 1, .completion_tokens = 2 };
        g_assert_cmpint (mva_store_log_teacher_request (store, &req, &error), >, 0);
        g_assert_no_error (error);
      }
      g_assert_true (mva_store_undo_review (store, 1, NULL, &error));
      g_clear_pointer (&qa, mva_qa_pair_free);
      qa = mva_store_get_qa (store, 1, &error);
      g_assert_cmpint (qa->review_state, ==, MVA_REVIEW_ACCEPTED);
      check = mva_store_check (store, NULL, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (check->integrity_errors->len, ==, 0);
      g_assert_cmpuint (check->foreign_key_errors->len, ==, 0);
    }

  /* and empty libraries created by each older release */
  for (int v = 1; v < MVA_STORE_SCHEMA_VERSION; v++)
    {
      g_autofree char *dbname = g_strdup_printf ("empty-v%d.db", v);
      g_autofree char *path = tmp_path (dbname);
      g_autoptr(GError) error = NULL;
      g_autoptr(MvaStore) store = NULL;

      remove_db (path);
      g_assert_true (_mva_store_create_at_version (path, v, &error));
      g_assert_cmpint (pragma_int (path, "PRAGMA user_version"), ==, v);
      store = mva_store_open (path, 0, &error);
      g_assert_no_error (error);
      add_fake_micrograph (store, 3, "tips");
    }
}

static gboolean
same_file (const char *path, const char *sha_before, gint64 size_before)
{
  g_autofree char *sha = file_sha (path);
  struct stat st;

  return stat (path, &st) == 0 && st.st_size == size_before && g_strcmp0 (sha, sha_before) == 0;
}

static void
expect_refused (const char *path, MvaStoreError code)
{
  g_autofree char *sha = file_sha (path);
  struct stat st;
  g_autoptr(GError) error = NULL;
  MvaStore *store;

  g_assert_cmpint (stat (path, &st), ==, 0);
  store = mva_store_open (path, 0, &error);
  g_assert_null (store);
  g_assert_error (error, MVA_STORE_ERROR, code);
  g_assert_null (strchr (error->message, '\n'));
  g_test_message ("refused: %s", error->message);
  g_clear_error (&error);
  store = mva_store_open (path, MVA_STORE_OPEN_READ_ONLY | MVA_STORE_OPEN_NO_MIGRATE, &error);
  g_assert_null (store);
  g_assert_nonnull (error);
  g_assert_true (same_file (path, sha, st.st_size));
}

static void
test_hostile_files (void)
{
  g_autofree char *text = tmp_path ("notes.txt");
  g_autofree char *foreign = tmp_path ("foreign.db");
  g_autofree char *corrupt = tmp_path ("corrupt.db");
  g_autofree char *newer = tmp_path ("newer.db");
  g_autofree char *tiny = tmp_path ("tiny.db");
  sqlite3 *db = NULL;

  g_assert_true (g_file_set_contents (text, "hello, I am not a database\n", -1, NULL));
  expect_refused (text, MVA_STORE_ERROR_NOT_A_LIBRARY);
  g_assert_true (g_file_set_contents (tiny, "SQLite format 3", 16, NULL));
  expect_refused (tiny, MVA_STORE_ERROR_NOT_A_LIBRARY);

  remove_db (foreign);
  g_assert_cmpint (sqlite3_open (foreign, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, "CREATE TABLE orders (id INTEGER PRIMARY KEY, what TEXT);"
                                     "INSERT INTO orders (what) VALUES ('tea');", NULL, NULL, NULL),
                   ==, SQLITE_OK);
  sqlite3_close (db);
  expect_refused (foreign, MVA_STORE_ERROR_NOT_A_LIBRARY);

  /* a library written by a newer release */
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(MvaStore) store = NULL;
    g_autofree char *sql = g_strdup_printf ("PRAGMA user_version = %d", MVA_STORE_SCHEMA_VERSION + 1);

    remove_db (newer);
    store = mva_store_open (newer, 0, &error);
    g_assert_no_error (error);
    g_clear_pointer (&store, mva_store_unref);
    g_assert_cmpint (sqlite3_open (newer, &db), ==, SQLITE_OK);
    g_assert_cmpint (sqlite3_exec (db, sql, NULL, NULL, NULL), ==, SQLITE_OK);
    g_assert_cmpint (sqlite3_exec (db, "PRAGMA journal_mode = DELETE", NULL, NULL, NULL), ==, SQLITE_OK);
    sqlite3_close (db);
    expect_refused (newer, MVA_STORE_ERROR_TOO_NEW);
  }

  /* a library whose first page is damaged */
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(MvaStore) store = NULL;
    g_autofree char *contents = NULL;
    gsize len;

    remove_db (corrupt);
    store = mva_store_open (corrupt, 0, &error);
    g_assert_no_error (error);
    for (guint i = 0; i < 50; i++)
      add_fake_micrograph (store, 100 + i, "tips");
    g_clear_pointer (&store, mva_store_unref);      /* checkpoints into the file */
    g_assert_true (g_file_get_contents (corrupt, &contents, &len, NULL));
    g_assert_cmpuint (len, >, 4096);
    /* keep the 100-byte header, overwrite the schema table on page 1 */
    memset (contents + 100, 0xA5, 3000);
    g_assert_true (g_file_set_contents (corrupt, contents, len, NULL));
    expect_refused (corrupt, MVA_STORE_ERROR_CORRUPT);
  }
}

/* Disk full, simulated with RLIMIT_FSIZE: a clear error, nothing half
 * written, every committed row still there. */
static void
test_disk_full (void)
{
  g_autofree char *path = tmp_path ("full.db");
  g_autoptr(GError) error = NULL;
  g_autoptr(MvaStore) store = NULL;
  g_autofree char *big = g_strnfill (4000, 'x');
  struct rlimit old, lim;
  struct sigaction sa = { 0 }, old_sa;
  gint64 m, committed = 0;
  gboolean failed = FALSE;

  remove_db (path);
  store = mva_store_open (path, 0, &error);
  g_assert_no_error (error);
  m = add_fake_micrograph (store, 5, "powder");

  sa.sa_handler = SIG_IGN;
  sigaction (SIGXFSZ, &sa, &old_sa);
  g_assert_cmpint (getrlimit (RLIMIT_FSIZE, &old), ==, 0);
  lim = old;
  lim.rlim_cur = 256 * 1024;
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &lim), ==, 0);

  for (guint t = 0; t < 1000 && !failed; t++)
    {
      g_assert_true (mva_store_begin (store, &error));
      for (guint i = 0; i < 5 && !failed; i++)
        {
          g_autofree char *q = g_strdup_printf ("q %u %u", t, i);
          MvaQaPair qa = { .micrograph_id = m, .source = MVA_QA_SOURCE_USER,
                           .question = q, .answer = big };
          if (mva_store_add_qa (store, &qa, FALSE, NULL, &error) == 0)
            failed = TRUE;
        }
      if (failed)
        mva_store_rollback (store);
      else if (!mva_store_commit (store, &error))
        {
          failed = TRUE;
          mva_store_rollback (store);   /* harmless after a failed commit */
        }
      else
        committed += 5;
    }
  setrlimit (RLIMIT_FSIZE, &old);
  sigaction (SIGXFSZ, &old_sa, NULL);

  g_assert_true (failed);
  g_assert_error (error, MVA_STORE_ERROR, MVA_STORE_ERROR_FULL);
  g_assert_null (strchr (error->message, '\n'));
  g_test_message ("disk full after %" G_GINT64_FORMAT " pairs: %s", committed, error->message);
  g_clear_error (&error);
  g_clear_pointer (&store, mva_store_unref);

  store = mva_store_open (path, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpint (mva_store_count_qa (store, NULL, &error), ==, committed);
  {
    g_autoptr(MvaStoreCheck) check = mva_store_check (store, NULL, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (check->integrity_errors->len, ==, 0);
  }
}

static void
test_read_only_folder (void)
{
  g_autoptr(GError) error = NULL;
  MvaStore *store;

  if (geteuid () == 0)
    {
      /* root writes anywhere chmod forbids; sysfs refuses new files */
      store = mva_store_open ("/sys/mvaema-test/library.db", 0, &error);
      g_assert_null (store);
      g_assert_nonnull (error);
      g_test_message ("%s", error->message);
      return;
    }
  {
    g_autofree char *dir = tmp_path ("ro");
    g_autofree char *path = tmp_path ("ro/library.db");

    g_mkdir (dir, 0555);
    g_chmod (dir, 0555);
    store = mva_store_open (path, 0, &error);
    g_assert_null (store);
    g_assert_error (error, MVA_STORE_ERROR, MVA_STORE_ERROR_READ_ONLY);
    g_test_message ("%s", error->message);
    g_chmod (dir, 0755);
  }
}

static void
test_backup_check (void)
{
  g_autofree char *path = tmp_path ("check.db");
  g_autofree char *bk = tmp_path ("check-backup.db");
  g_autofree char *img = tmp_path ("vanishing.png");
  g_autofree char *moved_dir = tmp_path ("moved");
  g_autofree char *moved = tmp_path ("moved/found.png");
  g_autoptr(GError) error = NULL;
  g_autoptr(MvaStore) store = NULL;
  g_autoptr(MvaStore) copy = NULL;
  g_autoptr(MvaStoreCheck) check = NULL;
  gint64 m;

  remove_db (path);
  g_unlink (bk);
  store = mva_store_open (path, 0, &error);
  g_assert_true (g_file_set_contents (img, "\x89PNG not really", -1, NULL));
  m = mva_store_add_micrograph_file (store, img, "tips", MVA_CATEGORY_SOURCE_USER, NULL, &error);
  g_assert_no_error (error);
  add_pair (store, m, 1, "q", "a");

  check = mva_store_check (store, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (check->missing_files->len, ==, 0);
  g_clear_pointer (&check, mva_store_check_free);

  g_mkdir_with_parents (moved_dir, 0755);
  g_assert_cmpint (g_rename (img, moved), ==, 0);
  {
    const char *dirs[] = { moved_dir, NULL };
    check = mva_store_check (store, dirs, NULL, &error);
  }
  g_assert_no_error (error);
  g_assert_cmpuint (check->missing_files->len, ==, 1);
  {
    MvaMissingFile *f = g_ptr_array_index (check->missing_files, 0);
    g_assert_cmpstr (f->path, ==, img);
    g_assert_cmpstr (f->found_path, ==, moved);
  }

  g_assert_true (mva_store_backup (store, bk, NULL, &error));
  g_assert_no_error (error);
  g_assert_false (mva_store_backup (store, path, NULL, &error));
  g_assert_error (error, MVA_STORE_ERROR, MVA_STORE_ERROR_INVALID);
  g_clear_error (&error);
  copy = mva_store_open (bk, MVA_STORE_OPEN_READ_ONLY, &error);
  g_assert_no_error (error);
  g_assert_cmpint (mva_store_count_qa (copy, NULL, &error), ==, 1);
  /* a read-only store refuses writes */
  {
    g_autofree char *sha = fake_sha (77);
    MvaMicrograph mm = { .sha256 = sha };
    g_assert_cmpint (mva_store_add_micrograph (copy, &mm, NULL, &error), ==, 0);
    g_assert_error (error, MVA_STORE_ERROR, MVA_STORE_ERROR_READ_ONLY);
  }
}

int
main (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  int rc;

  g_test_init (&argc, &argv, NULL);
  tmpdir = g_dir_make_tmp (NULL, &error);
  g_assert_no_error (error);

  g_test_add_func ("/Mva/Store/open-create", test_open_create);
  g_test_add_func ("/Mva/Store/micrographs", test_micrographs);
  g_test_add_func ("/Mva/Store/qa-reviews", test_qa_reviews);
  g_test_add_func ("/Mva/Store/pages", test_pages);
  g_test_add_func ("/Mva/Store/datasets-models-runs", test_datasets_models_runs);
  g_test_add_func ("/Mva/Store/transactions", test_transactions);
  g_test_add_func ("/Mva/Store/threads", test_threads);
  g_test_add_func ("/Mva/Store/migrations", test_migrations);
  g_test_add_func ("/Mva/Store/hostile-files", test_hostile_files);
  g_test_add_func ("/Mva/Store/disk-full", test_disk_full);
  g_test_add_func ("/Mva/Store/read-only-folder", test_read_only_folder);
  g_test_add_func ("/Mva/Store/backup-check", test_backup_check);
  rc = g_test_run ();

  {
    g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", tmpdir);
    if (rc == 0 && system (cmd) != 0)
      g_printerr ("could not remove %s\n", tmpdir);
  }
  g_free (tmpdir);
  return rc;
}
