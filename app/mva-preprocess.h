/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-preprocess.h: micrograph -> model input, shared by train, ask and classify.
 *
 * The model sees a size x size RGB image (224 for every shipped configuration)
 * as planar floats (3, size, size) in [-1, 1]: mva_image_to_rgb8 (grayscale
 * replicated to three channels, percentile stretch for > 8-bit data), the
 * instrument data bar (meta.databar_height_px, bottom rows) left out, the
 * rest resized to size x size without keeping the aspect ratio (area
 * averaging when shrinking, bilinear when enlarging; pixel centres aligned),
 * then (v / 255 - 0.5) / 0.5. Because the whole image area is kept, patch
 * (r, c) of the model covers rows [r, r+1) * h / P and columns [c, c+1) * w / P
 * of the image above the data bar, which is how attention maps are drawn back.
 *
 *   g_autofree float *x = mva_preprocess_load ("a.tif", 224, &error);
 *   mve_model_generate (model, x, ...);
 *
 * Thread-safety: every function is reentrant.
 */
#pragma once

#include <glib.h>

#include "mva-image.h"

G_BEGIN_DECLS

#define MVA_PREPROCESS_DEFAULT_SIZE 224

/* Rows of image (as loaded, possibly a preview) that hold the data bar. */
guint     mva_preprocess_databar_rows   (const MvaImage *image);

/* RGB8 (size, size, 3) interleaved: the resized image before normalisation
 * (the form the trainer caches). Caller frees. NULL + error when the image
 * has no rows left above the data bar. */
guint8   *mva_preprocess_rgb8           (const MvaImage *image,
                                         guint           size,
                                         GError        **error);

/* Planar floats (3, size, size) in [-1, 1] from interleaved RGB8 (size*size*3). */
void      mva_preprocess_normalize_rgb8 (const guint8   *rgb,
                                         guint           size,
                                         float          *out);

/* Planar floats (3, size, size) in [-1, 1] of image. Caller frees (g_free). */
float    *mva_preprocess_image          (const MvaImage *image,
                                         guint           size,
                                         GError        **error);

/* mva_image_load + mva_preprocess_image. */
float    *mva_preprocess_load           (const char     *path,
                                         guint           size,
                                         GError        **error);

G_END_DECLS
