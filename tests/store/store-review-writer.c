/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * store-review-writer.c: helper of test-store-crash.sh. Writes reviews (and
 * undoes some) as fast as it can, forever, and after each committed write
 * appends what it committed to a side file (fsynced), so a kill -9 at any
 * moment can be checked against the database:
 *
 *   store-review-writer DB LOG SEED
 *
 * LOG lines: "add <review_id> <qa_id> <state> <text>" or "undo <qa_id>".
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "mva-store.h"

static void
log_line (int fd, const char *line)
{
  if (write (fd, line, strlen (line)) != (ssize_t) strlen (line) || fsync (fd) != 0)
    {
      g_printerr ("store-review-writer: cannot write the log\n");
      _exit (3);
    }
}

int
main (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MvaStore) store = NULL;
  g_autoptr(GRand) rand = NULL;
  gint64 n_pairs;
  int fd;

  if (argc != 4)
    {
      g_printerr ("usage: store-review-writer DB LOG SEED\n");
      return 2;
    }
  store = mva_store_open (argv[1], 0, &error);
  if (store == NULL)
    {
      g_printerr ("store-review-writer: %s\n", error->message);
      return 1;
    }
  n_pairs = mva_store_count_qa (store, NULL, &error);
  if (n_pairs <= 0)
    {
      g_printerr ("store-review-writer: the library has no pairs\n");
      return 1;
    }
  fd = g_open (argv[2], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0)
    return 1;
  rand = g_rand_new_with_seed ((guint32) g_ascii_strtoull (argv[3], NULL, 10));
  for (guint64 i = 0;; i++)
    {
      gint64 qa = g_rand_int_range (rand, 1, (gint32) n_pairs + 1);
      int pick = g_rand_int_range (rand, 0, 10);
      g_autofree char *line = NULL;

      if (pick == 0)
        {
          gint64 touched = 0;
          if (mva_store_undo_review (store, qa, &touched, &error))
            line = g_strdup_printf ("undo %" G_GINT64_FORMAT "\n", touched);
          else if (g_error_matches (error, MVA_STORE_ERROR, MVA_STORE_ERROR_NOT_FOUND))
            g_clear_error (&error);
          else
            break;
        }
      else
        {
          MvaReviewState st = pick < 5 ? MVA_REVIEW_ACCEPTED
                            : pick < 8 ? MVA_REVIEW_CORRECTED : MVA_REVIEW_REJECTED;
          g_autofree char *text = g_strdup_printf ("corrected answer %" G_GUINT64_FORMAT
                                                   " for pair %" G_GINT64_FORMAT, i, qa);
          gint64 id = mva_store_add_review (store, qa, st,
                                            st == MVA_REVIEW_CORRECTED ? text : NULL,
                                            "crash-test", &error);
          if (id == 0)
            break;
          line = g_strdup_printf ("add %" G_GINT64_FORMAT " %" G_GINT64_FORMAT " %s %s\n", id, qa,
                                  mva_review_state_to_string (st),
                                  st == MVA_REVIEW_CORRECTED ? text : "-");
        }
      if (line != NULL)
        log_line (fd, line);
    }
  g_printerr ("store-review-writer: %s\n", error->message);
  return 1;
}
