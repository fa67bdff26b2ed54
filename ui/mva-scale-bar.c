/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-scale-bar.c: nice scale-bar lengths (see mva-scale-bar.h).
 */
#include "config.h"

#define G_LOG_DOMAIN "mva-scale-bar"

#include <math.h>

#include "mva-scale-bar.h"

/* Largest 1/2/5 x 10^k that is <= limit; limit > 0 and finite. */
static double
nice_floor (double limit)
{
  static const double steps[] = { 5.0, 2.0, 1.0 };
  double decade = pow (10.0, floor (log10 (limit)));

  /* log10 rounding can put decade one step too high or low. */
  if (decade > limit)
    decade /= 10.0;
  else if (decade * 10.0 <= limit)
    decade *= 10.0;

  for (guint i = 0; i < G_N_ELEMENTS (steps); i++)
    if (steps[i] * decade <= limit * (1.0 + 1e-9))
      return steps[i] * decade;
  return decade;
}

/* "%g" without float noise: 0.1 + 0.2 style residue never reaches a label
 * because lengths are 1/2/5 x 10^k, but round to 6 significant digits anyway. */
static char *
format_value (double value,
              const char *unit)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  g_snprintf (buf, sizeof buf, "%.6g", value);
  return g_strdup_printf ("%s %s", buf, unit);
}

/**
 * mva_scale_bar_format_length:
 * @length_nm: a length in nanometres, > 0
 *
 * Returns: (transfer full): the length in the unit that keeps the number
 * between 1 and 999 where possible: pm below 1 nm, nm, µm from 1 µm, mm from
 * 1 mm.
 */
char *
mva_scale_bar_format_length (double length_nm)
{
  if (length_nm < 1.0)
    return format_value (length_nm * 1000.0, "pm");
  if (length_nm < 1000.0)
    return format_value (length_nm, "nm");
  if (length_nm < 1e6)
    return format_value (length_nm / 1000.0, "µm");
  return format_value (length_nm / 1e6, "mm");
}

/**
 * mva_scale_bar_choose:
 * @nm_per_px: nanometres covered by one screen pixel
 * @max_px: the longest bar, in screen pixels, the caller will draw
 * @bar: (out caller-allocates): the result; clear with mva_scale_bar_clear()
 *
 * Returns: %FALSE (and leaves @bar empty) when @nm_per_px or @max_px is not a
 * positive finite number, so unknown pixel sizes draw no bar.
 */
gboolean
mva_scale_bar_choose (double       nm_per_px,
                      double       max_px,
                      MvaScaleBar *bar)
{
  double limit_nm;

  g_return_val_if_fail (bar != NULL, FALSE);

  bar->length_nm = 0.0;
  bar->length_px = 0.0;
  bar->label = NULL;

  if (!isfinite (nm_per_px) || nm_per_px <= 0.0 || !isfinite (max_px) || max_px < 1.0)
    return FALSE;

  limit_nm = nm_per_px * max_px;
  if (!isfinite (limit_nm) || limit_nm <= 0.0)
    return FALSE;

  bar->length_nm = nice_floor (limit_nm);
  bar->length_px = bar->length_nm / nm_per_px;
  bar->label = mva_scale_bar_format_length (bar->length_nm);
  return TRUE;
}

void
mva_scale_bar_clear (MvaScaleBar *bar)
{
  if (bar == NULL)
    return;
  g_clear_pointer (&bar->label, g_free);
  bar->length_nm = 0.0;
  bar->length_px = 0.0;
}
