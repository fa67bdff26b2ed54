/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-heat-overlay.c: attention heat map over the image view (see
 * mva-heat-overlay.h).
 */
#include "config.h"

#define G_LOG_DOMAIN "mva-heat-overlay"

#include <math.h>

#include "mva-heat-overlay.h"
#include "mva-overlay.h"

/* The heat map is smooth; a texture of this longer side is plenty and keeps
 * a new map (one per hovered word) cheap to make. */
#define HEAT_TEXTURE_SIDE 384

struct _MvaHeatOverlay
{
  GtkWidget     parent_instance;

  MvaImageView *view;            /* weak */
  GtkAdjustment *hadjustment;
  GtkAdjustment *vadjustment;
  GdkTexture   *texture;         /* the heat map, opacity 1 */
  guint         full_width;      /* the file's size */
  guint         full_height;
  guint         specimen_height; /* file rows above the data bar: what it covers */
  double        opacity;
};

G_DEFINE_FINAL_TYPE (MvaHeatOverlay, mva_heat_overlay, GTK_TYPE_WIDGET)

static void
redraw (MvaHeatOverlay *self)
{
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
track_adjustments (MvaHeatOverlay *self)
{
  GtkAdjustment *h = NULL, *v = NULL;

  if (self->view != NULL)
    {
      h = gtk_scrollable_get_hadjustment (GTK_SCROLLABLE (self->view));
      v = gtk_scrollable_get_vadjustment (GTK_SCROLLABLE (self->view));
    }
  if (h != self->hadjustment)
    {
      if (self->hadjustment != NULL)
        g_signal_handlers_disconnect_by_data (self->hadjustment, self);
      g_set_object (&self->hadjustment, h);
      if (h != NULL)
        g_signal_connect_swapped (h, "value-changed", G_CALLBACK (redraw), self);
    }
  if (v != self->vadjustment)
    {
      if (self->vadjustment != NULL)
        g_signal_handlers_disconnect_by_data (self->vadjustment, self);
      g_set_object (&self->vadjustment, v);
      if (v != NULL)
        g_signal_connect_swapped (v, "value-changed", G_CALLBACK (redraw), self);
    }
  redraw (self);
}

static void
mva_heat_overlay_snapshot (GtkWidget   *widget,
                           GtkSnapshot *snapshot)
{
  MvaHeatOverlay *self = MVA_HEAT_OVERLAY (widget);
  GtkWidget *view = GTK_WIDGET (self->view);
  graphene_point_t origin;
  double scale, cw, ch, view_w, view_h, ox, oy, zoom;
  int scale_factor;

  if (self->texture == NULL || view == NULL || self->opacity <= 0.0
      || mva_image_view_get_texture (self->view) == NULL
      || !gtk_widget_get_mapped (view))
    return;
  if (!gtk_widget_compute_point (view, widget, &GRAPHENE_POINT_INIT (0, 0), &origin))
    return;

  /* The same geometry as the view's own drawing: zoom is device pixels per
   * file pixel, centred when smaller than the view, else scrolled. */
  zoom = mva_image_view_get_zoom (self->view);
  scale_factor = MAX (gtk_widget_get_scale_factor (view), 1);
  scale = zoom / scale_factor;
  view_w = gtk_widget_get_width (view);
  view_h = gtk_widget_get_height (view);
  cw = self->full_width * scale;
  ch = self->full_height * scale;
  ox = cw < view_w ? floor ((view_w - cw) / 2.0)
                   : -(self->hadjustment != NULL ? gtk_adjustment_get_value (self->hadjustment) : 0.0);
  oy = ch < view_h ? floor ((view_h - ch) / 2.0)
                   : -(self->vadjustment != NULL ? gtk_adjustment_get_value (self->vadjustment) : 0.0);

  gtk_snapshot_push_clip (snapshot, &GRAPHENE_RECT_INIT (origin.x, origin.y, view_w, view_h));
  gtk_snapshot_push_opacity (snapshot, self->opacity);
  gtk_snapshot_append_texture (snapshot, self->texture,
                               &GRAPHENE_RECT_INIT (origin.x + ox, origin.y + oy,
                                                    self->full_width * scale,
                                                    self->specimen_height * scale));
  gtk_snapshot_pop (snapshot);
  gtk_snapshot_pop (snapshot);
}

static void
mva_heat_overlay_dispose (GObject *object)
{
  MvaHeatOverlay *self = MVA_HEAT_OVERLAY (object);

  mva_heat_overlay_set_view (self, NULL);
  g_clear_object (&self->texture);
  G_OBJECT_CLASS (mva_heat_overlay_parent_class)->dispose (object);
}

static void
mva_heat_overlay_class_init (MvaHeatOverlayClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = mva_heat_overlay_dispose;
  widget_class->snapshot = mva_heat_overlay_snapshot;
  gtk_widget_class_set_css_name (widget_class, "mva-heat-overlay");
}

static void
mva_heat_overlay_init (MvaHeatOverlay *self)
{
  self->opacity = 0.5;
  gtk_widget_set_can_target (GTK_WIDGET (self), FALSE);
  gtk_widget_set_can_focus (GTK_WIDGET (self), FALSE);
}

GtkWidget *
mva_heat_overlay_new (void)
{
  return g_object_new (MVA_TYPE_HEAT_OVERLAY, NULL);
}

static void
view_weak_notify (gpointer  data,
                  GObject  *where_the_object_was)
{
  MvaHeatOverlay *self = data;

  self->view = NULL;
  track_adjustments (self);
}

void
mva_heat_overlay_set_view (MvaHeatOverlay *self,
                           MvaImageView   *view)
{
  g_return_if_fail (MVA_IS_HEAT_OVERLAY (self));
  g_return_if_fail (view == NULL || MVA_IS_IMAGE_VIEW (view));

  if (self->view == view)
    return;
  if (self->view != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->view, self);
      g_object_weak_unref (G_OBJECT (self->view), view_weak_notify, self);
    }
  self->view = view;
  if (view != NULL)
    {
      g_object_weak_ref (G_OBJECT (view), view_weak_notify, self);
      g_signal_connect_swapped (view, "notify::zoom", G_CALLBACK (redraw), self);
      g_signal_connect_swapped (view, "notify::texture", G_CALLBACK (redraw), self);
      g_signal_connect_swapped (view, "notify::hadjustment", G_CALLBACK (track_adjustments), self);
      g_signal_connect_swapped (view, "notify::vadjustment", G_CALLBACK (track_adjustments), self);
    }
  track_adjustments (self);
}

void
mva_heat_overlay_set_map (MvaHeatOverlay *self,
                          const float    *map,
                          guint           grid,
                          guint           full_width,
                          guint           full_height,
                          guint           specimen_height)
{
  MvaOverlayOptions opts = MVA_OVERLAY_OPTIONS_INIT;
  cairo_surface_t *surface;
  g_autoptr(GBytes) bytes = NULL;
  double k;
  guint tw, th;

  g_return_if_fail (MVA_IS_HEAT_OVERLAY (self));

  g_clear_object (&self->texture);
  self->full_width = full_width;
  self->full_height = full_height;
  self->specimen_height = MIN (specimen_height, full_height);
  if (map == NULL || grid == 0 || full_width == 0 || self->specimen_height == 0)
    {
      redraw (self);
      return;
    }

  k = (double) HEAT_TEXTURE_SIDE / MAX (full_width, self->specimen_height);
  tw = MAX (1u, (guint) lround (full_width * MIN (k, 1.0)));
  th = MAX (1u, (guint) lround (self->specimen_height * MIN (k, 1.0)));
  opts.opacity = 1.0; /* the widget applies the user's opacity when drawing */
  surface = mva_overlay_heatmap (map, grid, tw, th, &opts);
  if (surface == NULL)
    {
      redraw (self);
      return;
    }
  cairo_surface_flush (surface);
  bytes = g_bytes_new (cairo_image_surface_get_data (surface),
                       (gsize) cairo_image_surface_get_stride (surface) * th);
  /* Cairo's ARGB32 is premultiplied BGRA in memory on little-endian and
   * ARGB on big-endian: GDK_MEMORY_DEFAULT is exactly that. */
  self->texture = gdk_memory_texture_new ((int) tw, (int) th, GDK_MEMORY_DEFAULT, bytes,
                                          (gsize) cairo_image_surface_get_stride (surface));
  cairo_surface_destroy (surface);
  redraw (self);
}

gboolean
mva_heat_overlay_has_map (MvaHeatOverlay *self)
{
  g_return_val_if_fail (MVA_IS_HEAT_OVERLAY (self), FALSE);
  return self->texture != NULL;
}

void
mva_heat_overlay_set_opacity (MvaHeatOverlay *self,
                              double          opacity)
{
  g_return_if_fail (MVA_IS_HEAT_OVERLAY (self));
  self->opacity = CLAMP (opacity, 0.0, 1.0);
  redraw (self);
}

double
mva_heat_overlay_get_opacity (MvaHeatOverlay *self)
{
  g_return_val_if_fail (MVA_IS_HEAT_OVERLAY (self), 0.0);
  return self->opacity;
}
