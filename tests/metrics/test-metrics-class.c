/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * test-metrics-class.c: classification metrics against hand-computed values.
 */
#include "config.h"

#include <math.h>
#include <glib.h>

#include "mva-metrics-class.h"

#define CLOSE(a, b) g_assert_cmpfloat_with_epsilon ((a), (b), 1e-12)

/* 4 classes, class 3 never occurs:
 *   true 0 ranked 0 1 2 3   top-1 hit
 *   true 0 ranked 1 0 2 3   rank 2
 *   true 1 ranked 1 2 0 3   top-1 hit
 *   true 1 ranked 2 0 1 3   rank 3
 *   true 2 ranked 2 1 0 3   top-1 hit
 *   true 0 ranked 2 1 0 3   rank 3
 * confusion rows (true) x cols (top-1): [1 1 1 0] [0 1 1 0] [0 0 1 0] [0 0 0 0]
 * class 0: P 1/1, R 1/3, F1 1/2; class 1: P 1/2, R 1/2, F1 1/2;
 * class 2: P 1/3, R 1/1, F1 1/2; macro over classes 0-2: P 11/18, R 11/18, F1 1/2 */
static void
test_hand_computed (void)
{
  g_autoptr(MvaClassMetrics) m = mva_class_metrics_new (4);
  static const guint rows[6][5] = {
    { 0, 0, 1, 2, 3 }, { 0, 1, 0, 2, 3 }, { 1, 1, 2, 0, 3 },
    { 1, 2, 0, 1, 3 }, { 2, 2, 1, 0, 3 }, { 0, 2, 1, 0, 3 },
  };
  static const guint64 confusion[4][4] = {
    { 1, 1, 1, 0 }, { 0, 1, 1, 0 }, { 0, 0, 1, 0 }, { 0, 0, 0, 0 },
  };
  MvaClassScore s;

  for (guint i = 0; i < 6; i++)
    g_assert_true (mva_class_metrics_add_ranked (m, rows[i][0], &rows[i][1], 4));
  g_assert_cmpuint (mva_class_metrics_get_count (m), ==, 6);
  CLOSE (mva_class_metrics_get_top_k (m, 1), 3.0 / 6.0);
  CLOSE (mva_class_metrics_get_top_k (m, 2), 4.0 / 6.0);
  CLOSE (mva_class_metrics_get_top_k (m, 3), 1.0);
  CLOSE (mva_class_metrics_get_top_k (m, 5), 1.0);
  for (guint t = 0; t < 4; t++)
    for (guint p = 0; p < 4; p++)
      g_assert_cmpuint (mva_class_metrics_get_confusion (m, t, p), ==, confusion[t][p]);

  mva_class_metrics_get_class (m, 0, &s);
  CLOSE (s.precision, 1.0);
  CLOSE (s.recall, 1.0 / 3.0);
  CLOSE (s.f1, 0.5);
  g_assert_cmpuint (s.support, ==, 3);
  g_assert_cmpuint (s.predicted, ==, 1);
  mva_class_metrics_get_class (m, 1, &s);
  CLOSE (s.precision, 0.5);
  CLOSE (s.recall, 0.5);
  CLOSE (s.f1, 0.5);
  mva_class_metrics_get_class (m, 2, &s);
  CLOSE (s.precision, 1.0 / 3.0);
  CLOSE (s.recall, 1.0);
  CLOSE (s.f1, 0.5);
  mva_class_metrics_get_class (m, 3, &s);
  CLOSE (s.precision, 0.0);
  CLOSE (s.recall, 0.0);
  CLOSE (s.f1, 0.0);

  mva_class_metrics_get_macro (m, &s);
  CLOSE (s.precision, 11.0 / 18.0);
  CLOSE (s.recall, 11.0 / 18.0);
  CLOSE (s.f1, 0.5);
  g_assert_cmpuint (s.support, ==, 6);
}

/* scores 0.1 0.7 0.7 0.2: ranking 1 2 3 0 (tie -> lower index first) */
static void
test_scores (void)
{
  g_autoptr(MvaClassMetrics) m = mva_class_metrics_new (4);
  const double scores[4] = { 0.1, 0.7, 0.7, 0.2 };
  const double with_nan[4] = { NAN, -5.0, -1.0, -3.0 };

  g_assert_true (mva_class_metrics_add_scores (m, 2, scores));
  g_assert_cmpuint (mva_class_metrics_get_confusion (m, 2, 1), ==, 1);
  CLOSE (mva_class_metrics_get_top_k (m, 1), 0.0);
  CLOSE (mva_class_metrics_get_top_k (m, 2), 1.0);

  /* NaN ranks last: ranking 2 3 1 0, true 0 only found at k = 4 */
  g_assert_true (mva_class_metrics_add_scores (m, 0, with_nan));
  g_assert_cmpuint (mva_class_metrics_get_confusion (m, 0, 2), ==, 1);
  CLOSE (mva_class_metrics_get_top_k (m, 3), 0.5);
  CLOSE (mva_class_metrics_get_top_k (m, 4), 1.0);
}

static void
test_bad_input (void)
{
  g_autoptr(MvaClassMetrics) m = mva_class_metrics_new (3);
  const guint repeated[] = { 0, 0 };
  const guint out_of_range[] = { 3 };
  const guint ok[] = { 2 };
  MvaClassScore s;

  g_assert_false (mva_class_metrics_add_ranked (m, 0, repeated, 2));
  g_assert_false (mva_class_metrics_add_ranked (m, 0, out_of_range, 1));
  g_assert_false (mva_class_metrics_add_ranked (m, 3, ok, 1));
  g_assert_false (mva_class_metrics_add_ranked (m, 0, ok, 0));
  g_assert_cmpuint (mva_class_metrics_get_count (m), ==, 0);
  CLOSE (mva_class_metrics_get_top_k (m, 1), 0.0);
  mva_class_metrics_get_macro (m, &s);
  CLOSE (s.f1, 0.0);
  /* a partial ranking counts for top-k up to its length */
  g_assert_true (mva_class_metrics_add_ranked (m, 1, ok, 1));
  CLOSE (mva_class_metrics_get_top_k (m, 3), 0.0);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/Mva/Metrics/class/hand-computed", test_hand_computed);
  g_test_add_func ("/Mva/Metrics/class/scores", test_scores);
  g_test_add_func ("/Mva/Metrics/class/bad-input", test_bad_input);
  return g_test_run ();
}
