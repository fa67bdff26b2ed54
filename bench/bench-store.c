/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * bench-store.c: library page listing and review writes at scale, through
 * the public store API (app/mva-store.h). Built and run by bench-store.sh:
 *
 *   bench-store DB
 *
 * DB must already hold the imported pairs. The program reviews 30% of the
 * pairs (one transaction), then times, median of 50 runs each:
 *   - a filtered page (category + review state, 50 rows) at offset 0 and deep;
 *   - the count behind it; a micrograph page filtered by category and state;
 * and, as the baseline in the same run, the same page as one plain SQL query
 * (review_state IN (...) ORDER BY id), which sorts every match before cutting
 * the page; the ratio shows what the per-state index merge buys.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <sqlite3.h>

#include "mva-store.h"

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

typedef gboolean (*BenchFn) (MvaStore *store, gpointer data);

static double
median_ms (MvaStore *store, BenchFn fn, gpointer data, int runs)
{
  double t[64];

  g_assert (runs <= 64);
  for (int i = 0; i < runs; i++)
    {
      gint64 t0 = g_get_monotonic_time ();
      if (!fn (store, data))
        {
          fprintf (stderr, "bench-store: query failed\n");
          exit (1);
        }
      t[i] = (g_get_monotonic_time () - t0) / 1000.0;
    }
  qsort (t, runs, sizeof t[0], cmp_double);
  return t[runs / 2];
}

static gboolean
page_fn (MvaStore *store, gpointer data)
{
  g_autoptr(GPtrArray) page = mva_store_list_qa (store, data, NULL);
  return page != NULL && page->len > 0;
}

static gboolean
count_fn (MvaStore *store, gpointer data)
{
  return mva_store_count_qa (store, data, NULL) > 0;
}

static gboolean
micrograph_page_fn (MvaStore *store, gpointer data)
{
  g_autoptr(GPtrArray) page = mva_store_list_micrographs (store, data, NULL);
  return page != NULL && page->len > 0;
}

/* The same page as one plain SQL query (IN over the states, then ORDER BY):
 * what the store did before its per-state index merge. */
static gboolean
noindex_fn (MvaStore *store, gpointer data)
{
  sqlite3 *db = data;
  sqlite3_stmt *stmt = NULL;
  int n = 0;

  if (sqlite3_prepare_v2 (db,
                          "SELECT q.id, q.question, q.answer, m.path, r.corrected_text "
                          "FROM qa_pairs q JOIN micrographs m ON m.id = q.micrograph_id "
                          "LEFT JOIN reviews r ON r.qa_id = q.id AND r.id = "
                          "  (SELECT max(r2.id) FROM reviews r2 WHERE r2.qa_id = q.id) "
                          "WHERE q.category = 'porous' AND q.review_state IN (1, 2) "
                          "ORDER BY q.id DESC LIMIT 50", -1, &stmt, NULL) != SQLITE_OK)
    return FALSE;
  while (sqlite3_step (stmt) == SQLITE_ROW)
    n++;
  sqlite3_finalize (stmt);
  return n > 0;
}

int
main (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MvaStore) store = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (7);
  sqlite3 *raw = NULL;
  gint64 n_pairs, n_reviewed = 0, t0;
  double review_s;
  MvaQaFilter page = { .category = "porous", .review_mask = MVA_REVIEW_MASK_REVIEWED,
                       .limit = 50 };
  MvaQaFilter deep = page;
  MvaMicrographFilter mpage = { .category = "porous",
                                .review_mask = MVA_REVIEW_MASK (MVA_REVIEW_NONE), .limit = 50 };
  double t_page, t_deep, t_count, t_mpage, t_base;

  if (argc != 2)
    {
      fprintf (stderr, "usage: bench-store DB\n");
      return 2;
    }
  store = mva_store_open (argv[1], 0, &error);
  if (store == NULL)
    {
      fprintf (stderr, "bench-store: %s\n", error->message);
      return 1;
    }
  n_pairs = mva_store_count_qa (store, NULL, &error);

  /* review 30% of the pairs: accepted, corrected or rejected */
  t0 = g_get_monotonic_time ();
  if (!mva_store_begin (store, &error))
    return 1;
  for (gint64 id = 1; id <= n_pairs; id++)
    {
      int r = g_rand_int_range (rand, 0, 10);
      MvaReviewState st = r == 0 ? MVA_REVIEW_ACCEPTED : r == 1 ? MVA_REVIEW_CORRECTED
                        : r == 2 ? MVA_REVIEW_REJECTED : MVA_REVIEW_NONE;
      if (st == MVA_REVIEW_NONE)
        continue;
      if (mva_store_add_review (store, id, st, st == MVA_REVIEW_CORRECTED ? "Corrected." : NULL,
                                "bench", &error) == 0)
        {
          fprintf (stderr, "bench-store: %s\n", error->message);
          return 1;
        }
      n_reviewed++;
    }
  if (!mva_store_commit (store, &error))
    return 1;
  review_s = (g_get_monotonic_time () - t0) / 1e6;

  deep.offset = (guint) (mva_store_count_qa (store, &page, NULL) / 2);
  t_page = median_ms (store, page_fn, &page, 50);
  t_deep = median_ms (store, page_fn, &deep, 50);
  t_count = median_ms (store, count_fn, &page, 50);
  t_mpage = median_ms (store, micrograph_page_fn, &mpage, 50);
  if (sqlite3_open_v2 (argv[1], &raw, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
    return 1;
  t_base = median_ms (store, noindex_fn, raw, 9);
  sqlite3_close (raw);

  printf ("pairs in the library:                  %" G_GINT64_FORMAT "\n", n_pairs);
  printf ("reviews written (one transaction):     %" G_GINT64_FORMAT " in %.2f s (%.0f/s)\n",
          n_reviewed, review_s, n_reviewed / review_s);
  printf ("filtered page, first 50 rows:          %.3f ms  (target < 20 ms)\n", t_page);
  printf ("filtered page at offset %-6u:        %.3f ms\n", deep.offset, t_deep);
  printf ("count behind the filter:               %.3f ms\n", t_count);
  printf ("micrograph page (category, unreviewed): %.3f ms\n", t_mpage);
  printf ("baseline, same page as one plain query: %.3f ms  -> first page is %.0fx faster\n",
          t_base, t_base / t_page);
  return t_page < 20.0 ? 0 : 1;
}
