/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-image-jpeg.c: baseline and progressive JPEG through libjpeg.
 *
 * Gray stays one channel, everything else becomes RGB. For previews the
 * decoder's own DCT scaling (scale_denom 1, 2, 4 or 8) does most of the
 * reduction, picking the strongest one that still leaves the longer side at
 * least max_side; the row sink's box filter does the rest. CMYK/YCCK files
 * are refused as unsupported. libjpeg errors longjmp back here.
 */
#define G_LOG_DOMAIN "mva-image"
#include "config.h"

#include "mva-image-private.h"

#include <jpeglib.h>
#include <setjmp.h>
#include <string.h>

typedef struct
{
  struct jpeg_error_mgr pub;
  jmp_buf               jump;
  char                  message[JMSG_LENGTH_MAX];
} JpegErr;

typedef struct
{
  struct jpeg_decompress_struct cinfo;
  JpegErr     err;
  MvaImage   *image;
  MvaRowSink  sink;
  guint8     *row;
  gboolean    created;
} JpegState;

static void
on_jpeg_error (j_common_ptr cinfo)
{
  JpegErr *err = (JpegErr *) cinfo->err;

  cinfo->err->format_message (cinfo, err->message);
  longjmp (err->jump, 1);
}

static void
on_jpeg_message (j_common_ptr cinfo, int level)
{
  JpegErr *err = (JpegErr *) cinfo->err;

  /* Corrupt-data warnings (level -1) mean damaged data: treat as errors. */
  if (level < 0)
    {
      cinfo->err->format_message (cinfo, err->message);
      longjmp (err->jump, 1);
    }
}

static gboolean
read_jpeg (JpegState *st,
           FILE      *fp,
           guint      max_side,
           gboolean   header_only,
           GError   **error)
{
  struct jpeg_decompress_struct *ci = &st->cinfo;
  MvaImage *image = st->image;
  guint longest;

  jpeg_stdio_src (ci, fp);
  jpeg_read_header (ci, TRUE);

  if (ci->jpeg_color_space == JCS_CMYK || ci->jpeg_color_space == JCS_YCCK)
    {
      g_set_error (error, MVA_IMAGE_ERROR, MVA_IMAGE_ERROR_UNSUPPORTED,
                   "%s: CMYK JPEG is not supported", image->path);
      return FALSE;
    }
  image->channels = ci->num_components == 1 ? 1 : 3;
  image->bit_depth = 8;
  image->full_width = ci->image_width;
  image->full_height = ci->image_height;
  if (!_mva_image_check_claim (image, _mva_file_size (fp), 4096.0, error))
    return FALSE;
  if (header_only)
    {
      image->width = ci->image_width;
      image->height = ci->image_height;
      return TRUE;
    }

  ci->out_color_space = image->channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
  ci->scale_num = 1;
  ci->scale_denom = 1;
  longest = MAX (ci->image_width, ci->image_height);
  if (max_side > 0)
    for (guint d = 8; d >= 2; d /= 2)
      if (longest / d >= max_side)
        {
          ci->scale_denom = d;
          break;
        }
  jpeg_start_decompress (ci);
  if (ci->output_components != (int) image->channels)
    {
      g_set_error (error, MVA_IMAGE_ERROR, MVA_IMAGE_ERROR_CORRUPT,
                   "%s: bad JPEG: unexpected component count", image->path);
      return FALSE;
    }
  if (!_mva_row_sink_init (&st->sink, image, ci->output_width, ci->output_height,
                           max_side, error))
    return FALSE;
  image->full_width = ci->image_width;
  image->full_height = ci->image_height;
  st->row = g_malloc ((gsize) ci->output_width * image->channels);
  while (ci->output_scanline < ci->output_height)
    {
      JSAMPROW rows[1] = { st->row };

      if (jpeg_read_scanlines (ci, rows, 1) != 1)
        break;
      _mva_row_sink_push (&st->sink, st->row);
    }
  if (!_mva_row_sink_finish (&st->sink, error))
    return FALSE;
  jpeg_finish_decompress (ci);
  return TRUE;
}

MvaImage *
_mva_image_load_jpeg (const char *path,
                      FILE       *fp,
                      guint       max_side,
                      gboolean    header_only,
                      GError    **error)
{
  JpegState *st = g_new0 (JpegState, 1);
  MvaImage *result = NULL;

  st->image = _mva_image_new (path, "JPEG");
  st->cinfo.err = jpeg_std_error (&st->err.pub);
  st->err.pub.error_exit = on_jpeg_error;
  st->err.pub.emit_message = on_jpeg_message;
  if (setjmp (st->err.jump))
    {
      if (error != NULL && *error == NULL)
        g_set_error (error, MVA_IMAGE_ERROR, MVA_IMAGE_ERROR_CORRUPT, "%s: bad JPEG: %s",
                     path, st->err.message);
      goto out;
    }
  jpeg_create_decompress (&st->cinfo);
  st->created = TRUE;
  /* Progressive files keep all coefficients: a bogus one errors, not OOMs. */
  st->cinfo.mem->max_memory_to_use = 1L << 30;
  if (read_jpeg (st, fp, max_side, header_only, error))
    {
      result = st->image;
      st->image = NULL;
    }

out:
  if (st->created)
    jpeg_destroy_decompress (&st->cinfo);
  _mva_row_sink_clear (&st->sink);
  g_free (st->row);
  mva_image_free (st->image);
  g_free (st);
  return result;
}
