/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-loss-plot.h: a live training-loss curve drawn with cairo.
 *
 *   GtkWidget *plot = mva_loss_plot_new ();
 *   mva_loss_plot_add (MVA_LOSS_PLOT (plot), step, loss);  // per training step
 *   mva_loss_plot_clear (MVA_LOSS_PLOT (plot));
 *
 * Draws loss against step with axes, tick labels and the last value; the
 * y axis spans the range of the points (from 0 when the range is wide).
 */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define MVA_TYPE_LOSS_PLOT (mva_loss_plot_get_type ())
G_DECLARE_FINAL_TYPE (MvaLossPlot, mva_loss_plot, MVA, LOSS_PLOT, GtkWidget)

GtkWidget *mva_loss_plot_new      (void);
void       mva_loss_plot_add      (MvaLossPlot *self,
                                   double       step,
                                   double       loss);
void       mva_loss_plot_clear    (MvaLossPlot *self);
guint      mva_loss_plot_get_n_points (MvaLossPlot *self);

G_END_DECLS
