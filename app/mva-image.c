/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-image.c: format sniffing, the row sink (full copy or box-filtered
 * preview), size limits and the 8-bit display/model mapping.
 *
 * The format is chosen from the file's first bytes, never from its name, so
 * a wrong extension still loads and garbage is refused as unsupported.
 *
 * 8-bit mapping: 8-bit data pass through unchanged. Anything deeper (16-bit,
 * 32-bit, signed, float) is stretched linearly so that the 0.5th percentile
 * of all samples maps to 0 and the 99.5th to 255 (clamped); the percentiles
 * come from up to 2^20 samples taken at a fixed stride, shared by all
 * channels so colours keep their balance. NaN maps to 0. A constant image
 * maps to 0.
 */
#define G_LOG_DOMAIN "mva-image"
#include "config.h"

#include "mva-image-private.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>

G_DEFINE_QUARK (mva-image-error-quark, mva_image_error)

// --- construction -------------------------------------------------------------

void
_mva_image_meta_init (MvaImageMeta *meta)
{
  memset (meta, 0, sizeof *meta);
  meta->pixel_size_nm = NAN;
  meta->pixel_size_y_nm = NAN;
  meta->hv_kv = NAN;
  meta->wd_mm = NAN;
  meta->magnification = NAN;
  meta->databar_height_px = 0;
}

void
_mva_image_meta_clear (MvaImageMeta *meta)
{
  g_clear_pointer (&meta->instrument, g_free);
  g_clear_pointer (&meta->detector, g_free);
  g_clear_pointer (&meta->vendor_format, g_free);
}

MvaImage *
_mva_image_new (const char *path,
                const char *format)
{
  MvaImage *image = g_new0 (MvaImage, 1);

  image->path = g_strdup (path);
  image->format = g_strdup (format);
  image->channels = 1;
  image->bit_depth = 8;
  image->sample_format = MVA_SAMPLE_UINT;
  _mva_image_meta_init (&image->meta);
  return image;
}

void
mva_image_free (MvaImage *image)
{
  if (image == NULL)
    return;
  g_free (image->data);
  g_free (image->format);
  g_free (image->path);
  _mva_image_meta_clear (&image->meta);
  g_free (image);
}

gsize
_mva_image_sample_bytes (const MvaImage *image)
{
  return image->bit_depth / 8;
}

gboolean
_mva_image_check_claim (const MvaImage *image,
                        guint64         file_size,
                        double          max_ratio,
                        GError        **error)
{
  double raw = (double) image->full_width * image->full_height * image->channels
               * (image->bit_depth / 8);

  if (image->full_width == 0 || image->full_height == 0
      || image->full_width > MVA_IMAGE_MAX_SIDE || image->full_height > MVA_IMAGE_MAX_SIDE)
    {
      g_set_error (error, MVA_IMAGE_ERROR, MVA_IMAGE_ERROR_CORRUPT,
                   "%s: implausible image size %u x %u", image->path,
                   image->full_width, image->full_height);
      return FALSE;
    }
  if (raw > 16.0 * 1024 * 1024 && file_size > 0 && raw / (double) file_size > max_ratio)
    {
      g_set_error (error, MVA_IMAGE_ERROR, MVA_IMAGE_ERROR_CORRUPT,
                   "%s: header claims %u x %u pixels but the file holds only %"
                   G_GUINT64_FORMAT " bytes (truncated or corrupt)", image->path,
                   image->full_width, image->full_height, file_size);
      return FALSE;
    }
  return TRUE;
}

guint64
_mva_file_size (FILE *fp)
{
  struct stat st;

  if (fstat (fileno (fp), &st) != 0 || st.st_size < 0)
    return 0;
  return (guint64) st.st_size;
}

// --- row sink -------------------------------------------------------------------

gboolean
_mva_row_sink_init (MvaRowSink *sink,
                    MvaImage   *image,
                    guint       in_width,
                    guint       in_height,
                    guint       max_side,
                    GError    **error)
{
  guint factor = 1;
  guint out_w, out_h;
  guint64 bytes;

  memset (sink, 0, sizeof *sink);
  g_assert (image->bit_depth == 8 || image->bit_depth == 16 || image->bit_depth == 32);
  g_assert (image->channels >= 1 && image->channels <= 4);

  if (in_width == 0 || in_height == 0 || in_width > MVA_IMAGE_MAX_SIDE
      || in_height > MVA_IMAGE_MAX_SIDE)
    {
      g_set_error (error, MVA_IMAGE_ERROR, MVA_IMAGE_ERROR_CORRUPT,
                   "%s: implausible image size %u x %u", image->path, in_width, in_height);
      return FALSE;
    }
  image->full_width = in_width;
  image->full_height = in_height;

  if (max_side == 0)
    {
      guint64 pixels = (guint64) in_width * in_height;

      bytes = pixels * image->channels * (image->bit_depth / 8);
      if (pixels > MVA_IMAGE_MAX_FULL_PIXELS || bytes > MVA_IMAGE_MAX_FULL_BYTES)
        {
          g_set_error (error, MVA_IMAGE_ERROR, MVA_IMAGE_ERROR_TOO_LARGE,
                       "%s: %u x %u pixels is too large to load at full size "
                       "(limit %" G_GUINT64_FORMAT " pixels); load a preview instead",
                       image->path, in_width, in_height, (guint64) MVA_IMAGE_MAX_FULL_PIXELS);
          return FALSE;
        }
    }
  else
    {
      guint longest = MAX (in_width, in_height);

      if (longest > max_side)
        factor = (longest + max_side - 1) / max_side;
    }

  out_w = (in_width + factor - 1) / factor;
  out_h = (in_height + factor - 1) / factor;
  sink->image = image;
  sink->in_width = in_width;
  sink->in_height = in_height;
  sink->factor = factor;
  sink->sample_bytes = image->bit_depth / 8;
  sink->values_per_row = in_width * image->channels;

  image->width = out_w;
  image->height = out_h;
  image->stride = (gsize) out_w * image->channels * sink->sample_bytes;
  bytes = (guint64) image->stride * out_h;
  image->data = g_try_malloc (bytes ? bytes : 1);
  if (image->data == NULL)
    {
      g_set_error (error, MVA_IMAGE_ERROR, MVA_IMAGE_ERROR_TOO_LARGE,
                   "%s: cannot allocate %" G_GUINT64_FORMAT " bytes for %u x %u pixels",
                   image->path, bytes, out_w, out_h);
      return FALSE;
    }
  if (factor > 1)
    {
      sink->acc = g_try_new0 (double, (gsize) out_w * image->channels);
      if (sink->acc == NULL)
        {
          g_set_error (error, MVA_IMAGE_ERROR, MVA_IMAGE_ERROR_TOO_LARGE,
                       "%s: out of memory", image->path);
          return FALSE;
        }
    }
  return TRUE;
}

static inline double
sample_get (const void *row, gsize i, guint bits, MvaSampleFormat fmt)
{
  switch (bits)
    {
    case 8:
      return fmt == MVA_SAMPLE_INT ? ((const gint8 *) row)[i] : ((const guint8 *) row)[i];
    case 16:
      return fmt == MVA_SAMPLE_INT ? ((const gint16 *) row)[i] : ((const guint16 *) row)[i];
    default:
      if (fmt == MVA_SAMPLE_FLOAT)
        {
          float f = ((const float *) row)[i];
          return isfinite (f) ? f : 0.0;
        }
      return fmt == MVA_SAMPLE_INT ? ((const gint32 *) row)[i] : ((const guint32 *) row)[i];
    }
}

static inline void
sample_set (void *row, gsize i, guint bits, MvaSampleFormat fmt, double v)
{
  if (fmt == MVA_SAMPLE_FLOAT)
    {
      ((float *) row)[i] = _mva_to_float (v);
      return;
    }
  v = floor (v + 0.5);
  switch (bits)
    {
    case 8:
      if (fmt == MVA_SAMPLE_INT)
        ((gint8 *) row)[i] = (gint8) CLAMP (v, G_MININT8, G_MAXINT8);
      else
        ((guint8 *) row)[i] = (guint8) CLAMP (v, 0, G_MAXUINT8);
      break;
    case 16:
      if (fmt == MVA_SAMPLE_INT)
        ((gint16 *) row)[i] = (gint16) CLAMP (v, G_MININT16, G_MAXINT16);
      else
        ((guint16 *) row)[i] = (guint16) CLAMP (v, 0, G_MAXUINT16);
      break;
    default:
      if (fmt == MVA_SAMPLE_INT)
        ((gint32 *) row)[i] = (gint32) CLAMP (v, G_MININT32, G_MAXINT32);
      else
        ((guint32 *) row)[i] = (guint32) CLAMP (v, 0, G_MAXUINT32);
      break;
    }
}

static void
sink_flush (MvaRowSink *sink)
{
  MvaImage *img = sink->image;
  guint ch = img->channels;
  guint8 *out = (guint8 *) img->data + (gsize) sink->out_row * img->stride;

  for (guint ox = 0; ox < img->width; ox++)
    {
      guint x0 = ox * sink->factor;
      guint cols = MIN (sink->factor, sink->in_width - x0);
      double n = (double) cols * sink->rows_in_acc;

      for (guint c = 0; c < ch; c++)
        sample_set (out, (gsize) ox * ch + c, img->bit_depth, img->sample_format,
                    sink->acc[(gsize) ox * ch + c] / n);
    }
  memset (sink->acc, 0, sizeof (double) * img->width * ch);
  sink->rows_in_acc = 0;
  sink->out_row++;
}

void
_mva_row_sink_push (MvaRowSink *sink,
                    const void *row)
{
  MvaImage *img = sink->image;

  if (sink->in_row >= sink->in_height)
    return;
  sink->in_row++;
  if (sink->factor == 1)
    {
      memcpy ((guint8 *) img->data + (gsize) sink->out_row * img->stride, row, img->stride);
      sink->out_row++;
      return;
    }
#define ACCUMULATE(T)                                                     \
  do                                                                      \
    {                                                                     \
      const T *r = row;                                                   \
      gsize i = 0;                                                        \
      for (guint ox = 0; ox < img->width; ox++)                           \
        {                                                                 \
          guint cols = MIN (sink->factor, sink->in_width - ox * sink->factor); \
          double *a = sink->acc + (gsize) ox * ch;                        \
          for (guint k = 0; k < cols; k++)                                \
            for (guint c = 0; c < ch; c++)                                \
              a[c] += r[i++];                                             \
        }                                                                 \
    }                                                                     \
  while (0)

  {
    guint ch = img->channels;

    /* Tight loops for the common integer types; float checks for NaN/Inf. */
    if (img->sample_format == MVA_SAMPLE_UINT && img->bit_depth == 8)
      ACCUMULATE (guint8);
    else if (img->sample_format == MVA_SAMPLE_UINT && img->bit_depth == 16)
      ACCUMULATE (guint16);
    else if (img->sample_format == MVA_SAMPLE_INT && img->bit_depth == 16)
      ACCUMULATE (gint16);
    else
      for (guint x = 0; x < sink->in_width; x++)
        {
          guint ox = x / sink->factor;

          for (guint c = 0; c < ch; c++)
            sink->acc[(gsize) ox * ch + c] +=
              sample_get (row, (gsize) x * ch + c, img->bit_depth, img->sample_format);
        }
  }
#undef ACCUMULATE
  sink->rows_in_acc++;
  if (sink->rows_in_acc == sink->factor || sink->in_row == sink->in_height)
    sink_flush (sink);
}

gboolean
_mva_row_sink_finish (MvaRowSink *sink,
                      GError    **error)
{
  if (sink->in_row < sink->in_height || sink->out_row < sink->image->height)
    {
      g_set_error (error, MVA_IMAGE_ERROR, MVA_IMAGE_ERROR_CORRUPT,
                   "%s: image data ends after %u of %u rows", sink->image->path,
                   sink->in_row, sink->in_height);
      return FALSE;
    }
  return TRUE;
}

void
_mva_row_sink_clear (MvaRowSink *sink)
{
  g_clear_pointer (&sink->acc, g_free);
}

// --- loading --------------------------------------------------------------------

typedef enum { KIND_UNKNOWN, KIND_PNG, KIND_JPEG, KIND_TIFF, KIND_DM } FileKind;

static FileKind
sniff (const guint8 *b, gsize n)
{
  static const guint8 png_magic[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };

  if (n >= 8 && memcmp (b, png_magic, 8) == 0)
    return KIND_PNG;
  if (n >= 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff)
    return KIND_JPEG;
  if (n >= 4 && ((b[0] == 'I' && b[1] == 'I' && (b[2] == 42 || b[2] == 43) && b[3] == 0)
                 || (b[0] == 'M' && b[1] == 'M' && b[2] == 0 && (b[3] == 42 || b[3] == 43))))
    return KIND_TIFF;
  if (n >= 4 && b[0] == 0 && b[1] == 0 && b[2] == 0 && (b[3] == 3 || b[3] == 4))
    return KIND_DM;
  return KIND_UNKNOWN;
}

static MvaImage *
load_any (const char *path,
          guint       max_side,
          gboolean    header_only,
          GError    **error)
{
  guint8 head[16] = { 0 };
  gsize n;
  FILE *fp;
  MvaImage *image = NULL;
  struct stat st;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  fp = fopen (path, "rb");
  if (fp == NULL)
    {
      int saved = errno;

      g_set_error (error, MVA_IMAGE_ERROR, MVA_IMAGE_ERROR_OPEN,
                   "%s: cannot open: %s", path, g_strerror (saved));
      return NULL;
    }
  if (fstat (fileno (fp), &st) == 0 && S_ISDIR (st.st_mode))
    {
      fclose (fp);
      g_set_error (error, MVA_IMAGE_ERROR, MVA_IMAGE_ERROR_OPEN,
                   "%s: is a directory, not an image file", path);
      return NULL;
    }
  n = fread (head, 1, sizeof head, fp);
  if (n == 0)
    {
      fclose (fp);
      g_set_error (error, MVA_IMAGE_ERROR, MVA_IMAGE_ERROR_CORRUPT,
                   "%s: file is empty (0 bytes)", path);
      return NULL;
    }
  rewind (fp);

  switch (sniff (head, n))
    {
    case KIND_PNG:
      image = _mva_image_load_png (path, fp, max_side, header_only, error);
      break;
    case KIND_JPEG:
      image = _mva_image_load_jpeg (path, fp, max_side, header_only, error);
      break;
    case KIND_TIFF:
      image = _mva_image_load_tiff (path, max_side, header_only, error);
      break;
    case KIND_DM:
      image = _mva_image_load_dm (path, max_side, header_only, error);
      break;
    case KIND_UNKNOWN:
    default:
      g_set_error (error, MVA_IMAGE_ERROR, MVA_IMAGE_ERROR_UNSUPPORTED,
                   "%s: not a PNG, JPEG, TIFF or Gatan DM3/DM4 file", path);
      break;
    }
  fclose (fp);

  /* Hitachi/JEOL write their metadata into a text file next to the image;
   * it beats generic resolution tags but not a vendor's own TIFF tag. */
  if (image != NULL && (image->meta.vendor_format == NULL
                        || g_str_equal (image->meta.vendor_format, "tiff-resolution")
                        || g_str_equal (image->meta.vendor_format, "png-phys")))
    {
      MvaImageMeta side;

      _mva_image_meta_init (&side);
      if (_mva_sidecar_apply (path, image->full_width, image->full_height, &side))
        {
          _mva_image_meta_clear (&image->meta);
          image->meta = side;
        }
      else
        _mva_image_meta_clear (&side);
    }
  return image;
}

MvaImage *
mva_image_load (const char  *path,
                guint        max_side,
                GError     **error)
{
  MvaImage *image = load_any (path, max_side, FALSE, error);

  if (image != NULL)
    {
      /* Vendor metadata may already say where the data bar is. */
      if (image->meta.databar_height_px <= 0)
        {
          g_autofree guint8 *gray = mva_image_to_gray8 (image);
          guint rows = _mva_databar_detect (gray, image->width, image->height);

          image->databar_rows = rows;
          image->meta.databar_height_px =
            rows == 0 ? 0 : (int) MIN ((guint64) image->full_height,
                                       ((guint64) rows * image->full_height + image->height / 2)
                                       / image->height);
        }
      else
        {
          guint64 r = ((guint64) image->meta.databar_height_px * image->height
                       + image->full_height / 2) / image->full_height;
          image->databar_rows = (guint) MIN (r, (guint64) image->height);
        }
    }
  return image;
}

MvaImage *
mva_image_probe (const char *path,
                 GError    **error)
{
  return load_any (path, 0, TRUE, error);
}

// --- 8-bit mapping ----------------------------------------------------------------

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return (x > y) - (x < y);
}

void
mva_image_stretch_range (const MvaImage *image,
                         double         *lo,
                         double         *hi)
{
  gsize total = (gsize) image->width * image->height * image->channels;
  gsize step = total / (1u << 20) + 1;
  gsize n = 0;
  g_autofree double *v = NULL;

  *lo = 0.0;
  *hi = 255.0;
  if (total == 0 || image->data == NULL)
    return;
  if (image->bit_depth == 8 && image->sample_format == MVA_SAMPLE_UINT)
    return;
  v = g_new (double, total / step + 1);
  for (gsize i = 0; i < total; i += step)
    {
      gsize per_row = (gsize) image->width * image->channels;
      gsize y = i / per_row, x = i % per_row;
      const guint8 *row = (const guint8 *) image->data + y * image->stride;
      double d;

      if (image->sample_format == MVA_SAMPLE_FLOAT)
        {
          float f = ((const float *) (const void *) row)[x];

          if (!isfinite (f))
            continue;
          d = f;
        }
      else
        d = sample_get (row, x, image->bit_depth, image->sample_format);
      v[n++] = d;
    }
  if (n == 0)
    return;
  qsort (v, n, sizeof (double), cmp_double);
  *lo = v[(gsize) floor (0.005 * (n - 1))];
  *hi = v[(gsize) ceil (0.995 * (n - 1))];
  if (!(*hi > *lo))
    {
      /* Percentiles collapse: fall back to the full range. */
      *lo = v[0];
      *hi = v[n - 1];
    }
}

static guint8 *
to_8bit (const MvaImage *image,
         guint           out_channels)
{
  guint w = image->width, h = image->height, ch = image->channels;
  guint8 *out;
  double lo, hi, scale;
  gboolean passthrough;

  g_return_val_if_fail (image != NULL && image->data != NULL, NULL);
  mva_image_stretch_range (image, &lo, &hi);
  passthrough = image->bit_depth == 8 && image->sample_format == MVA_SAMPLE_UINT;
  scale = hi > lo ? 255.0 / (hi - lo) : 0.0;
  out = g_malloc ((gsize) w * h * out_channels + 1);

  for (guint y = 0; y < h; y++)
    {
      const guint8 *row = (const guint8 *) image->data + (gsize) y * image->stride;
      guint8 *o = out + (gsize) y * w * out_channels;

      for (guint x = 0; x < w; x++)
        {
          guint8 px[3];

          for (guint c = 0; c < 3; c++)
            {
              guint sc = ch >= 3 ? c : 0;
              gsize i = (gsize) x * ch + sc;

              if (passthrough)
                px[c] = row[i];
              else
                {
                  double d;

                  if (image->sample_format == MVA_SAMPLE_FLOAT
                      && !isfinite (((const float *) (const void *) row)[i]))
                    d = lo;
                  else
                    d = sample_get (row, i, image->bit_depth, image->sample_format);
                  d = (d - lo) * scale;
                  px[c] = (guint8) CLAMP (floor (d + 0.5), 0.0, 255.0);
                }
            }
          if (out_channels == 3)
            memcpy (o + (gsize) x * 3, px, 3);
          else if (ch >= 3)
            o[x] = (guint8) ((299 * px[0] + 587 * px[1] + 114 * px[2] + 500) / 1000);
          else
            o[x] = px[0];
        }
    }
  return out;
}

guint8 *
mva_image_to_gray8 (const MvaImage *image)
{
  return to_8bit (image, 1);
}

guint8 *
mva_image_to_rgb8 (const MvaImage *image)
{
  return to_8bit (image, 3);
}
