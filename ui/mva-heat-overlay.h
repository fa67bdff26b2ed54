/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-heat-overlay.h: the attention heat map drawn over an MvaImageView.
 *
 * A transparent widget meant to be an overlay child of a GtkOverlay whose
 * main child holds the image view (it does not take input). It follows the
 * view's zoom and scrolling and draws a grid x grid attention map
 * (mva-assistant.h) over the specimen area of the image, leaving the data
 * bar uncovered, coloured by mva_overlay_heatmap().
 *
 *   GtkWidget *heat = mva_heat_overlay_new ();
 *   mva_heat_overlay_set_view (MVA_HEAT_OVERLAY (heat), view);
 *   gtk_overlay_add_overlay (overlay, heat);
 *   mva_heat_overlay_set_map (MVA_HEAT_OVERLAY (heat), map, 7, 1536, 1094, 1024);
 *   mva_heat_overlay_set_opacity (MVA_HEAT_OVERLAY (heat), 0.6);
 */
#pragma once

#include <gtk/gtk.h>

#include "mva-image-view.h"

G_BEGIN_DECLS

#define MVA_TYPE_HEAT_OVERLAY (mva_heat_overlay_get_type ())
G_DECLARE_FINAL_TYPE (MvaHeatOverlay, mva_heat_overlay, MVA, HEAT_OVERLAY, GtkWidget)

GtkWidget *mva_heat_overlay_new         (void);
void       mva_heat_overlay_set_view    (MvaHeatOverlay *self,
                                         MvaImageView   *view);
/* map: grid * grid floats (copied); NULL clears. full_width/height: the
 * file's size (as given to the view); specimen_height: the file rows above
 * the data bar, which the map covers. */
void       mva_heat_overlay_set_map     (MvaHeatOverlay *self,
                                         const float    *map,
                                         guint           grid,
                                         guint           full_width,
                                         guint           full_height,
                                         guint           specimen_height);
gboolean   mva_heat_overlay_has_map     (MvaHeatOverlay *self);
void       mva_heat_overlay_set_opacity (MvaHeatOverlay *self,
                                         double          opacity);
double     mva_heat_overlay_get_opacity (MvaHeatOverlay *self);

G_END_DECLS
