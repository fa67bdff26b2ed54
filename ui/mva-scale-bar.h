/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-scale-bar.h: choosing the length and label of a scale bar.
 *
 * Given how many nanometres one screen pixel covers and the longest bar the
 * view wants to draw, pick the longest "nice" length (1, 2 or 5 times a power
 * of ten) that fits, and a label in pm, nm, µm or mm:
 *
 *   MvaScaleBar bar;
 *   if (mva_scale_bar_choose (1.079, 150.0, &bar))
 *     draw (bar.length_px, bar.label);   // 100 nm, 92.7 px
 *   mva_scale_bar_clear (&bar);
 *
 * Pure computation (no GTK), so it is unit-tested on its own.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct
{
  double length_nm;  /* the chosen physical length */
  double length_px;  /* its length on screen, <= max_px */
  char  *label;      /* "100 nm", "2 µm", "500 pm", "1 mm" */
} MvaScaleBar;

gboolean mva_scale_bar_choose (double       nm_per_px,
                               double       max_px,
                               MvaScaleBar *bar);
char    *mva_scale_bar_format_length (double length_nm);
void     mva_scale_bar_clear  (MvaScaleBar *bar);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (MvaScaleBar, mva_scale_bar_clear)

G_END_DECLS
