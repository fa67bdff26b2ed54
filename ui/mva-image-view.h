/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-image-view.h: the micrograph view.
 *
 * A GtkScrollable widget that draws one GdkTexture with GtkSnapshot, zooms
 * (fit, 1:1, steps, Ctrl+scroll and pinch around the pointer), pans (drag,
 * arrow and Page keys, its adjustments), and draws a scale bar when the
 * physical pixel size is known. Put it in a GtkScrolledWindow for scrollbars.
 * "pointer-moved" (x, y, over_image) reports the file pixel under the pointer.
 *
 * Zoom is in device pixels per pixel of the file, so 1.0 ("1:1") shows every
 * pixel the instrument recorded on one screen pixel, also on HiDPI screens and
 * also when the texture is a downscaled preview of a huge file.
 *
 *   GtkWidget *view = mva_image_view_new ();
 *   mva_image_view_set_image (MVA_IMAGE_VIEW (view), texture, 1536, 1094);
 *   mva_image_view_set_pixel_size_nm (MVA_IMAGE_VIEW (view), 1.079);
 *   mva_image_view_set_databar_height (MVA_IMAGE_VIEW (view), 70);
 *   mva_image_view_zoom_in (MVA_IMAGE_VIEW (view));
 */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define MVA_IMAGE_VIEW_ZOOM_MIN 0.01
#define MVA_IMAGE_VIEW_ZOOM_MAX 32.0

#define MVA_TYPE_IMAGE_VIEW (mva_image_view_get_type ())
G_DECLARE_FINAL_TYPE (MvaImageView, mva_image_view, MVA, IMAGE_VIEW, GtkWidget)

GtkWidget  *mva_image_view_new                   (void);
void        mva_image_view_set_image             (MvaImageView *self,
                                                  GdkTexture   *texture,
                                                  guint         full_width,
                                                  guint         full_height);
GdkTexture *mva_image_view_get_texture           (MvaImageView *self);
void        mva_image_view_set_pixel_size_nm     (MvaImageView *self,
                                                  double        nm_per_pixel);
double      mva_image_view_get_pixel_size_nm     (MvaImageView *self);
void        mva_image_view_set_databar_height    (MvaImageView *self,
                                                  guint         rows);
guint       mva_image_view_get_databar_height    (MvaImageView *self);
void        mva_image_view_set_show_scale_bar    (MvaImageView *self,
                                                  gboolean      show);
gboolean    mva_image_view_get_show_scale_bar    (MvaImageView *self);
double      mva_image_view_get_scale_bar_length_nm (MvaImageView *self);

double      mva_image_view_get_zoom              (MvaImageView *self);
void        mva_image_view_set_zoom              (MvaImageView *self,
                                                  double        zoom);
gboolean    mva_image_view_get_zoom_to_fit       (MvaImageView *self);
void        mva_image_view_set_zoom_to_fit       (MvaImageView *self,
                                                  gboolean      fit);
void        mva_image_view_zoom_in               (MvaImageView *self);
void        mva_image_view_zoom_out              (MvaImageView *self);
void        mva_image_view_zoom_actual           (MvaImageView *self);

G_END_DECLS
