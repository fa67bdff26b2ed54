/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-overlay.c: attention heat maps over micrographs (see mva-overlay.h).
 *
 * Colour maps: matplotlib's inferno and viridis as degree-6 polynomial fits
 * (Matt Zucker's fits, CC0), within about 1/255 of the published tables.
 * Upsampling: Catmull-Rom (bicubic) between the patch centres, edges
 * clamped, result clamped to [0, 1].
 */
#define G_LOG_DOMAIN "mva-overlay"
#include "config.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <gio/gio.h>

#include "mva-overlay.h"
#include "mva-preprocess.h"

static const double inferno_c[7][3] = {
  { 0.0002189403691192265, 0.001651004631001012, -0.01948089843709184 },
  { 0.1065134194856116, 0.5639564367884091, 3.932712388889277 },
  { 11.60249308247187, -3.972853965665698, -15.9423941062914 },
  { -41.70399613139459, 17.43639888205313, 44.35414519872813 },
  { 77.162935699427, -33.40235894210092, -81.80730925738993 },
  { -71.31942824499214, 32.62606426397723, 73.20951985803202 },
  { 25.13112622477341, -12.24266895238567, -23.07032500287172 },
};

static const double viridis_c[7][3] = {
  { 0.2777273272234177, 0.005407344544966578, 0.3340998053353061 },
  { 0.1050930431085774, 1.404613529898575, 1.384590162594685 },
  { -0.3308618287255563, 0.214847559468213, 0.09509516302823659 },
  { -4.634230498983486, -5.799100973351585, -19.33244095627987 },
  { 6.228269936347081, 14.17993336680509, 56.69055260068105 },
  { 4.776384997670288, -13.74514537774601, -65.35303263337234 },
  { -5.435455855934631, 4.645852612178535, 26.3124352495832 },
};

void
mva_overlay_colormap (MvaColormap colormap,
                      double      t,
                      guint8      rgb[3])
{
  const double (*c)[3] = colormap == MVA_COLORMAP_VIRIDIS ? viridis_c : inferno_c;

  if (!(t >= 0))
    t = 0;
  if (t > 1)
    t = 1;
  for (int k = 0; k < 3; k++)
    {
      double v = c[6][k];

      for (int i = 5; i >= 0; i--)
        v = v * t + c[i][k];
      rgb[k] = (guint8) lround (CLAMP (v, 0.0, 1.0) * 255.0);
    }
}

static double
cubic (double p0, double p1, double p2, double p3, double t)
{
  return p1 + 0.5 * t * (p2 - p0 + t * (2 * p0 - 5 * p1 + 4 * p2 - p3 + t * (3 * (p1 - p2) + p3 - p0)));
}

/* weights of the 4 taps around coordinate g (in patch units, centres at i) */
typedef struct
{
  int    i[4];
  double t;
} Taps;

static void
taps_for (double g, guint grid, Taps *tp)
{
  int base = (int) floor (g);

  tp->t = g - base;
  for (int k = 0; k < 4; k++)
    tp->i[k] = CLAMP (base - 1 + k, 0, (int) grid - 1);
}

float *
mva_overlay_upsample (const float *map,
                      guint        grid,
                      guint        width,
                      guint        height)
{
  g_autofree double *norm = NULL;
  g_autofree double *rows = NULL;
  float *out;
  double lo = INFINITY, hi = -INFINITY;

  g_return_val_if_fail (map != NULL && grid > 0, NULL);
  out = g_new0 (float, (gsize) MAX (width, 1) * MAX (height, 1));
  if (width == 0 || height == 0)
    return out;
  norm = g_new (double, (gsize) grid * grid);
  for (guint i = 0; i < grid * grid; i++)
    if (isfinite (map[i]))
      {
        lo = MIN (lo, (double) map[i]);
        hi = MAX (hi, (double) map[i]);
      }
  if (!(hi > lo))
    return out;
  for (guint i = 0; i < grid * grid; i++)
    norm[i] = isfinite (map[i]) ? ((double) map[i] - lo) / (hi - lo) : 0.0;

  /* horizontal pass: grid rows x width */
  rows = g_new (double, (gsize) grid * width);
  for (guint x = 0; x < width; x++)
    {
      Taps tp;

      taps_for ((x + 0.5) * grid / width - 0.5, grid, &tp);
      for (guint r = 0; r < grid; r++)
        {
          const double *row = norm + (gsize) r * grid;

          rows[(gsize) r * width + x] = cubic (row[tp.i[0]], row[tp.i[1]], row[tp.i[2]],
                                               row[tp.i[3]], tp.t);
        }
    }
  /* vertical pass */
  for (guint y = 0; y < height; y++)
    {
      Taps tp;
      float *o = out + (gsize) y * width;

      taps_for ((y + 0.5) * grid / height - 0.5, grid, &tp);
      for (guint x = 0; x < width; x++)
        {
          double v = cubic (rows[(gsize) tp.i[0] * width + x], rows[(gsize) tp.i[1] * width + x],
                            rows[(gsize) tp.i[2] * width + x], rows[(gsize) tp.i[3] * width + x],
                            tp.t);

          o[x] = (float) CLAMP (v, 0.0, 1.0);
        }
    }
  return out;
}

/* heat map into an ARGB32 surface's rows [0, height) (premultiplied) */
static void
paint_heat (guint8                  *data,
            int                      stride,
            const float             *map,
            guint                    grid,
            guint                    width,
            guint                    height,
            const MvaOverlayOptions *o,
            gboolean                 over)
{
  g_autofree float *up = mva_overlay_upsample (map, grid, width, height);
  guint8 lut[256][3];
  double opacity = CLAMP (o->opacity, 0.0, 1.0);

  for (int i = 0; i < 256; i++)
    mva_overlay_colormap (o->colormap, i / 255.0, lut[i]);
  for (guint y = 0; y < height; y++)
    {
      guint32 *px = (guint32 *) (data + (gsize) y * stride);

      for (guint x = 0; x < width; x++)
        {
          double t = up[(gsize) y * width + x];
          int li = (int) lround (t * 255.0);
          double a = o->flat_alpha ? opacity : opacity * t;
          double r = lut[li][0], g = lut[li][1], b = lut[li][2];

          if (over)
            {
              guint32 d = px[x];
              double dr = (d >> 16) & 0xff, dg = (d >> 8) & 0xff, db = d & 0xff;

              r = r * a + dr * (1 - a);
              g = g * a + dg * (1 - a);
              b = b * a + db * (1 - a);
              px[x] = 0xff000000u | ((guint32) lround (r) << 16) | ((guint32) lround (g) << 8) |
                      (guint32) lround (b);
            }
          else
            px[x] = ((guint32) lround (a * 255) << 24) | ((guint32) lround (r * a) << 16) |
                    ((guint32) lround (g * a) << 8) | (guint32) lround (b * a);
        }
    }
}

cairo_surface_t *
mva_overlay_heatmap (const float             *map,
                     guint                    grid,
                     guint                    width,
                     guint                    height,
                     const MvaOverlayOptions *options)
{
  MvaOverlayOptions defaults = MVA_OVERLAY_OPTIONS_INIT;
  cairo_surface_t *s;

  g_return_val_if_fail (map != NULL && grid > 0, NULL);
  if (width == 0 || height == 0 || width > 32767 || height > 32767)
    return NULL;
  s = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, (int) width, (int) height);
  if (cairo_surface_status (s) != CAIRO_STATUS_SUCCESS)
    {
      cairo_surface_destroy (s);
      return NULL;
    }
  cairo_surface_flush (s);
  paint_heat (cairo_image_surface_get_data (s), cairo_image_surface_get_stride (s), map, grid,
              width, height, options ? options : &defaults, FALSE);
  cairo_surface_mark_dirty (s);
  return s;
}

cairo_surface_t *
mva_overlay_render (const MvaImage          *image,
                    const float             *map,
                    guint                    grid,
                    const MvaOverlayOptions *options,
                    GError                 **error)
{
  MvaOverlayOptions defaults = MVA_OVERLAY_OPTIONS_INIT;
  g_autofree guint8 *rgb = NULL;
  cairo_surface_t *s;
  guint8 *data;
  int stride;
  guint bar, above;

  g_return_val_if_fail (image != NULL && map != NULL && grid > 0, NULL);
  if (image->width == 0 || image->height == 0 || image->width > 32767 || image->height > 32767)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "overlay: image size %ux%u is out of range", image->width, image->height);
      return NULL;
    }
  bar = MIN (mva_preprocess_databar_rows (image), image->height);
  above = image->height - bar;
  rgb = mva_image_to_rgb8 (image);
  s = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, (int) image->width, (int) image->height);
  if (rgb == NULL || cairo_surface_status (s) != CAIRO_STATUS_SUCCESS)
    {
      cairo_surface_destroy (s);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "overlay: out of memory for %ux%u",
                   image->width, image->height);
      return NULL;
    }
  cairo_surface_flush (s);
  data = cairo_image_surface_get_data (s);
  stride = cairo_image_surface_get_stride (s);
  for (guint y = 0; y < image->height; y++)
    {
      guint32 *px = (guint32 *) (data + (gsize) y * stride);
      const guint8 *src = rgb + (gsize) y * image->width * 3;

      for (guint x = 0; x < image->width; x++)
        px[x] = 0xff000000u | ((guint32) src[3 * x] << 16) | ((guint32) src[3 * x + 1] << 8) |
                src[3 * x + 2];
    }
  if (above > 0)
    paint_heat (data, stride, map, grid, image->width, above, options ? options : &defaults, TRUE);
  cairo_surface_mark_dirty (s);
  return s;
}

guint8 *
mva_overlay_render_rgba (const MvaImage          *image,
                         const float             *map,
                         guint                    grid,
                         const MvaOverlayOptions *options,
                         GError                 **error)
{
  cairo_surface_t *s = mva_overlay_render (image, map, grid, options, error);
  guint8 *out, *data;
  int stride;

  if (s == NULL)
    return NULL;
  data = cairo_image_surface_get_data (s);
  stride = cairo_image_surface_get_stride (s);
  out = g_malloc ((gsize) image->width * image->height * 4);
  for (guint y = 0; y < image->height; y++)
    {
      const guint32 *px = (const guint32 *) (data + (gsize) y * stride);
      guint8 *o = out + (gsize) y * image->width * 4;

      for (guint x = 0; x < image->width; x++)
        {
          o[4 * x] = (px[x] >> 16) & 0xff;
          o[4 * x + 1] = (px[x] >> 8) & 0xff;
          o[4 * x + 2] = px[x] & 0xff;
          o[4 * x + 3] = 0xff;
        }
    }
  cairo_surface_destroy (s);
  return out;
}

gboolean
mva_overlay_write_png (const MvaImage          *image,
                       const float             *map,
                       guint                    grid,
                       const MvaOverlayOptions *options,
                       const char              *path,
                       GError                 **error)
{
  cairo_surface_t *s;
  g_autofree char *tmp = NULL;
  cairo_status_t st;

  g_return_val_if_fail (path != NULL, FALSE);
  s = mva_overlay_render (image, map, grid, options, error);
  if (s == NULL)
    return FALSE;
  tmp = g_strdup_printf ("%s.tmp-%d", path, (int) getpid ());
  st = cairo_surface_write_to_png (s, tmp);
  cairo_surface_destroy (s);
  if (st != CAIRO_STATUS_SUCCESS)
    {
      g_unlink (tmp);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot write %s: %s", path,
                   cairo_status_to_string (st));
      return FALSE;
    }
  if (g_rename (tmp, path) != 0)
    {
      int e = errno;

      g_unlink (tmp);
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (e), "cannot write %s: %s", path,
                   g_strerror (e));
      return FALSE;
    }
  return TRUE;
}
