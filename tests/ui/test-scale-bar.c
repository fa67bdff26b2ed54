/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * test-scale-bar.c: the scale bar picks the longest 1/2/5 x 10^k length that
 * fits and labels it in the right unit (no display needed).
 */
#include "config.h"

#include <math.h>

#include "mva-scale-bar.h"

static void
test_known_values (void)
{
  static const struct { double nm_per_px, max_px, length_nm; const char *label; } cases[] = {
    { 1.07917, 150.0, 100.0, "100 nm" },   /* FEI Teneo at 250 000x, 1:1 */
    { 31.0059, 150.0, 2000.0, "2 µm" },    /* FEI Quanta at 4000x, 1:1 */
    { 31.0059 / 0.74, 150.0, 5000.0, "5 µm" },
    { 11.16, 260.0, 2000.0, "2 µm" },
    { 0.543, 150.0, 50.0, "50 nm" },       /* Zeiss, pixel size given in pm */
    { 0.001, 150.0, 0.1, "100 pm" },
    { 0.02, 60.0, 1.0, "1 nm" },
    { 1e4, 250.0, 2e6, "2 mm" },
    { 1.0, 999.0, 500.0, "500 nm" },
    { 1.0, 1000.0, 1000.0, "1 µm" },
    { 1.0, 1999.0, 1000.0, "1 µm" },
    { 1.0, 5000.0, 5000.0, "5 µm" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_auto(MvaScaleBar) bar = { 0 };

      g_test_message ("case %u: %g nm/px, max %g px", i, cases[i].nm_per_px, cases[i].max_px);
      g_assert_true (mva_scale_bar_choose (cases[i].nm_per_px, cases[i].max_px, &bar));
      g_assert_cmpfloat_with_epsilon (bar.length_nm, cases[i].length_nm, cases[i].length_nm * 1e-9);
      g_assert_cmpstr (bar.label, ==, cases[i].label);
      g_assert_cmpfloat_with_epsilon (bar.length_px, cases[i].length_nm / cases[i].nm_per_px, 1e-6);
      g_assert_cmpfloat (bar.length_px, <=, cases[i].max_px * (1 + 1e-9));
    }
}

/* Whatever the scale, the bar is 1, 2 or 5 x 10^k, fits, and is more than
 * 2/5 of the room (the next nice length would not fit). */
static void
test_sweep (void)
{
  for (double nm = 1e-4; nm < 1e7; nm *= 1.0371)
    {
      g_auto(MvaScaleBar) bar = { 0 };
      double mantissa;

      g_assert_true (mva_scale_bar_choose (nm, 200.0, &bar));
      g_assert_cmpfloat (bar.length_px, <=, 200.0 * (1 + 1e-9));
      g_assert_cmpfloat (bar.length_px, >, 200.0 * 0.4 * (1 - 1e-9));
      mantissa = bar.length_nm / pow (10.0, floor (log10 (bar.length_nm) + 1e-9));
      g_assert_true (fabs (mantissa - 1.0) < 1e-6 || fabs (mantissa - 2.0) < 1e-6 ||
                     fabs (mantissa - 5.0) < 1e-6);
      g_assert_nonnull (bar.label);
      g_assert_true (g_str_has_suffix (bar.label, " pm") || g_str_has_suffix (bar.label, " nm") ||
                     g_str_has_suffix (bar.label, " µm") || g_str_has_suffix (bar.label, " mm"));
    }
}

static void
test_unknown (void)
{
  MvaScaleBar bar;

  g_assert_false (mva_scale_bar_choose (NAN, 150.0, &bar));
  g_assert_null (bar.label);
  g_assert_false (mva_scale_bar_choose (0.0, 150.0, &bar));
  g_assert_false (mva_scale_bar_choose (-3.0, 150.0, &bar));
  g_assert_false (mva_scale_bar_choose (INFINITY, 150.0, &bar));
  g_assert_false (mva_scale_bar_choose (1.0, 0.0, &bar));
  g_assert_false (mva_scale_bar_choose (1.0, NAN, &bar));
  g_assert_null (bar.label);
  mva_scale_bar_clear (&bar);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/scale-bar/known-values", test_known_values);
  g_test_add_func ("/scale-bar/sweep", test_sweep);
  g_test_add_func ("/scale-bar/unknown", test_unknown);
  return g_test_run ();
}
