/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-image-png.c: PNG through libpng, row by row into the row sink.
 *
 * 16-bit PNGs stay 16-bit (native endian). Palette and < 8-bit gray are
 * expanded to 8 bits; gray+alpha drops the alpha, RGBA keeps it. Interlaced
 * files need the whole image in memory to de-interlace, so they obey the
 * full-size limits even for previews. libpng errors longjmp back here and
 * become CORRUPT errors with libpng's message.
 */
#define G_LOG_DOMAIN "mva-image"
#include "config.h"

#include "mva-image-private.h"

#include <png.h>
#include <setjmp.h>
#include <string.h>

typedef struct
{
  char        message[256];
  MvaImage   *image;
  MvaRowSink  sink;
  guint8     *row;
  png_bytep  *rows;
  guint64     file_size;
} PngState;

static void
on_png_error (png_structp png, png_const_charp msg)
{
  PngState *st = png_get_error_ptr (png);

  g_strlcpy (st->message, msg, sizeof st->message);
  png_longjmp (png, 1);
}

static void
on_png_warning (png_structp png, png_const_charp msg)
{
}

static MvaImage *
png_fail (PngState *st, GError **error)
{
  if (error != NULL && *error == NULL)
    g_set_error (error, MVA_IMAGE_ERROR, MVA_IMAGE_ERROR_CORRUPT, "%s: bad PNG: %s",
                 st->image->path, st->message[0] ? st->message : "unreadable");
  return NULL;
}

static gboolean
read_png (png_structp png,
          png_infop   info,
          PngState   *st,
          guint       max_side,
          gboolean    header_only,
          GError    **error)
{
  png_uint_32 w, h;
  int depth, color, interlace, passes;
  MvaImage *image = st->image;
  gsize rowbytes;

  png_read_info (png, info);
  png_get_IHDR (png, info, &w, &h, &depth, &color, &interlace, NULL, NULL);

  if (color == PNG_COLOR_TYPE_PALETTE)
    png_set_palette_to_rgb (png);
  if (color == PNG_COLOR_TYPE_GRAY && depth < 8)
    png_set_expand_gray_1_2_4_to_8 (png);
  if (color == PNG_COLOR_TYPE_GRAY_ALPHA)
    png_set_strip_alpha (png);
  if (depth == 16 && G_BYTE_ORDER == G_LITTLE_ENDIAN)
    png_set_swap (png);
  passes = png_set_interlace_handling (png);
  png_read_update_info (png, info);

  image->bit_depth = png_get_bit_depth (png, info) == 16 ? 16 : 8;
  image->channels = png_get_channels (png, info);
  if (image->channels == 2)
    image->channels = 1;
  image->sample_format = MVA_SAMPLE_UINT;
  image->full_width = w;
  image->full_height = h;

  /* pHYs in metres: a physical pixel size only when plausible for a micrograph. */
  {
    png_uint_32 rx, ry;
    int unit;

    if (png_get_pHYs (png, info, &rx, &ry, &unit) && unit == PNG_RESOLUTION_METER && rx > 0)
      {
        double nm = 1e9 / rx;

        if (nm > 0.001 && nm < 10000.0)
          {
            image->meta.pixel_size_nm = nm;
            image->meta.pixel_size_y_nm = ry > 0 ? 1e9 / ry : nm;
            image->meta.vendor_format = g_strdup ("png-phys");
          }
      }
  }

  /* deflate cannot compress more than about 1032:1 */
  if (!_mva_image_check_claim (image, st->file_size, 1100.0, error))
    return FALSE;
  if (header_only)
    {
      image->width = w;
      image->height = h;
      return TRUE;
    }

  rowbytes = png_get_rowbytes (png, info);
  if (rowbytes != (gsize) w * image->channels * (image->bit_depth / 8))
    {
      g_set_error (error, MVA_IMAGE_ERROR, MVA_IMAGE_ERROR_CORRUPT,
                   "%s: bad PNG: unexpected row size", image->path);
      return FALSE;
    }
  if (passes > 1)
    max_side = 0;               /* must hold the whole image */
  if (!_mva_row_sink_init (&st->sink, image, w, h, max_side, error))
    return FALSE;

  if (passes > 1)
    {
      /* De-interlace straight into image->data (full size, checked above). */
      st->rows = g_new (png_bytep, h);
      for (png_uint_32 y = 0; y < h; y++)
        st->rows[y] = (guint8 *) image->data + (gsize) y * image->stride;
      png_read_image (png, st->rows);
      st->sink.in_row = h;
      st->sink.out_row = h;
    }
  else
    {
      st->row = g_try_malloc (rowbytes);
      if (st->row == NULL)
        {
          g_set_error (error, MVA_IMAGE_ERROR, MVA_IMAGE_ERROR_TOO_LARGE,
                       "%s: PNG row too large", image->path);
          return FALSE;
        }
      for (png_uint_32 y = 0; y < h; y++)
        {
          png_read_row (png, st->row, NULL);
          _mva_row_sink_push (&st->sink, st->row);
        }
    }
  png_read_end (png, NULL);
  return _mva_row_sink_finish (&st->sink, error);
}

MvaImage *
_mva_image_load_png (const char *path,
                     FILE       *fp,
                     guint       max_side,
                     gboolean    header_only,
                     GError    **error)
{
  PngState *st = g_new0 (PngState, 1);
  png_structp png;
  png_infop info;
  MvaImage *result = NULL;

  st->image = _mva_image_new (path, "PNG");
  png = png_create_read_struct (PNG_LIBPNG_VER_STRING, st, on_png_error, on_png_warning);
  info = png ? png_create_info_struct (png) : NULL;
  if (png == NULL || info == NULL)
    {
      g_strlcpy (st->message, "out of memory", sizeof st->message);
      png_fail (st, error);
      goto out;
    }
  png_set_user_limits (png, MVA_IMAGE_MAX_SIDE, MVA_IMAGE_MAX_SIDE);
  png_set_chunk_malloc_max (png, 64u << 20);

  if (setjmp (png_jmpbuf (png)))
    {
      png_fail (st, error);
      goto out;
    }
  st->file_size = _mva_file_size (fp);
  png_init_io (png, fp);
  if (read_png (png, info, st, max_side, header_only, error))
    {
      result = st->image;
      st->image = NULL;
    }

out:
  if (png != NULL)
    png_destroy_read_struct (&png, info ? &info : NULL, NULL);
  _mva_row_sink_clear (&st->sink);
  g_free (st->row);
  g_free (st->rows);
  mva_image_free (st->image);
  g_free (st);
  return result;
}
