/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-overlay.h: the attention overlay. A grid x grid attention map (one
 * token's or the whole answer's, mva-assistant.h) is scaled to [0, 1]
 * (min..max of the map), upsampled smoothly (bicubic between patch centres)
 * to the image area above the data bar, and coloured with a perceptual
 * colour map; the data bar stays uncovered.
 *
 *   MvaOverlayOptions opts = MVA_OVERLAY_OPTIONS_INIT;   // inferno, opacity 0.5
 *   opts.opacity = 0.6;
 *   // heat map alone, to paint over the GUI's own image (rows above the bar):
 *   cairo_surface_t *heat = mva_overlay_heatmap (map, 7, w, h_above_bar, &opts);
 *   // or the image with the heat map blended over it, as a PNG:
 *   mva_overlay_write_png (image, map, 7, &opts, "overlay.png", &error);
 *
 * Surfaces are CAIRO_FORMAT_ARGB32 (premultiplied). Thread-safety: every
 * function is reentrant (cairo image surfaces may be made in any thread).
 */
#pragma once

#include <cairo.h>
#include <glib.h>

#include "mva-image.h"

G_BEGIN_DECLS

typedef enum
{
  MVA_COLORMAP_INFERNO = 0,
  MVA_COLORMAP_VIRIDIS,
} MvaColormap;

typedef struct
{
  MvaColormap colormap;
  double      opacity;   /* 0..1: alpha of the hottest pixels */
  gboolean    flat_alpha;/* TRUE: every pixel gets `opacity`; FALSE (default):
                            alpha grows with the value, cold areas stay clear */
} MvaOverlayOptions;

#define MVA_OVERLAY_OPTIONS_INIT { MVA_COLORMAP_INFERNO, 0.5, FALSE }

/* Colour of t in [0, 1] (clamped) as 8-bit RGB. */
void             mva_overlay_colormap (MvaColormap colormap,
                                       double      t,
                                       guint8      rgb[3]);

/* Upsample a grid x grid map to width x height floats in [0, 1] (normalised
 * by the map's range; a uniform map gives all 0). Caller frees. */
float           *mva_overlay_upsample (const float *map,
                                       guint        grid,
                                       guint        width,
                                       guint        height);

/* The heat map alone, width x height, transparent where cold. NULL when a
 * size is 0 or the surface cannot be made. */
cairo_surface_t *mva_overlay_heatmap  (const float             *map,
                                       guint                    grid,
                                       guint                    width,
                                       guint                    height,
                                       const MvaOverlayOptions *options);

/* The image (8-bit display form, mva_image_to_rgb8) with the heat map over
 * the rows above its data bar; image->width x image->height. */
cairo_surface_t *mva_overlay_render   (const MvaImage          *image,
                                       const float             *map,
                                       guint                    grid,
                                       const MvaOverlayOptions *options,
                                       GError                 **error);

/* Straight (not premultiplied) RGBA8 of mva_overlay_render, rows of width*4
 * bytes. Caller frees. */
guint8          *mva_overlay_render_rgba (const MvaImage          *image,
                                          const float             *map,
                                          guint                    grid,
                                          const MvaOverlayOptions *options,
                                          GError                 **error);

/* mva_overlay_render written to path as PNG (temporary file + rename). */
gboolean         mva_overlay_write_png (const MvaImage          *image,
                                        const float             *map,
                                        guint                    grid,
                                        const MvaOverlayOptions *options,
                                        const char              *path,
                                        GError                 **error);

G_END_DECLS
