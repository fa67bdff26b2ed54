/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-image-tiff.c: TIFF through libtiff (never parsed by hand).
 *
 * Samples of 1, 2, 4, 8, 16, 32 and 64 bits, unsigned, signed and IEEE
 * float, gray, RGB(A) and palette, contiguous or planar, stripped or tiled.
 * 1/2/4-bit data are scaled to 8 bits, 64-bit samples become 32-bit float;
 * everything else keeps its depth and signedness. A palette whose entries
 * are all gray becomes one gray channel. YCbCr, CMYK, CIELab and the other
 * photometric interpretations go through libtiff's RGBA interface (8-bit
 * RGB). Strips are read scanline by scanline and tiles one tile row at a
 * time, so a preview of a huge TIFF holds one tile row plus the result.
 *
 * Metadata: FEI/Thermo tag 34682, Zeiss tag 34118, ImageJ's description
 * (unit=), and the resolution tags with a physical unit when the resulting
 * pixel size is plausible for a micrograph (0.001 nm .. 10 µm).
 *
 * libtiff reports through per-handle handlers (TIFFOpenExt), so messages are
 * thread-safe and become the GError text.
 */
#define G_LOG_DOMAIN "mva-image"
#include "config.h"

#include "mva-image-private.h"

#include <math.h>
#include <string.h>
#include <tiffio.h>

#define TAG_FEI_HELIOS 34682
#define TAG_FEI_SFEG   34680
#define TAG_CZ_SEM     34118

typedef struct
{
  char message[512];
} TiffMsg;

static int on_tiff_error (TIFF *tif, void *user_data, const char *module, const char *fmt,
                          va_list ap) G_GNUC_PRINTF (4, 0);

static int
on_tiff_error (TIFF *tif, void *user_data, const char *module, const char *fmt, va_list ap)
{
  TiffMsg *msg = user_data;

  if (msg->message[0] == '\0')
    g_vsnprintf (msg->message, sizeof msg->message, fmt, ap);
  return 1;
}

static int
on_tiff_warning (TIFF *tif, void *user_data, const char *module, const char *fmt, va_list ap)
{
  return 1;
}

// --- metadata -----------------------------------------------------------------------

static gboolean
get_text_tag (TIFF *tif, ttag_t tag, const char **text, gsize *len)
{
  const TIFFField *field = TIFFFieldWithTag (tif, tag);
  uint32_t count32 = 0;
  uint16_t count16 = 0;
  void *data = NULL;

  if (field == NULL)
    return FALSE;
  switch (TIFFFieldDataType (field))
    {
    case TIFF_ASCII:
    case TIFF_BYTE:
    case TIFF_SBYTE:
    case TIFF_UNDEFINED:
      break;
    default:
      return FALSE;
    }
  if (TIFFFieldPassCount (field))
    {
      if (TIFFFieldReadCount (field) == TIFF_VARIABLE2)
        {
          if (!TIFFGetField (tif, tag, &count32, &data))
            return FALSE;
        }
      else
        {
          if (!TIFFGetField (tif, tag, &count16, &data))
            return FALSE;
          count32 = count16;
        }
    }
  else
    {
      if (!TIFFGetField (tif, tag, &data) || data == NULL)
        return FALSE;
      count32 = strlen (data);
    }
  if (data == NULL || count32 == 0)
    return FALSE;
  *text = data;
  *len = count32;
  return TRUE;
}

static gboolean
imagej_pixel_size (const char *desc, double xres, double yres, MvaImageMeta *meta)
{
  g_auto(GStrv) lines = NULL;
  double unit_nm = NAN;

  if (!g_str_has_prefix (desc, "ImageJ="))
    return FALSE;
  lines = g_strsplit (desc, "\n", -1);
  for (guint i = 0; lines[i]; i++)
    if (g_str_has_prefix (lines[i], "unit="))
      {
        g_autofree char *probe = g_strdup_printf ("1 %s", lines[i] + 5);

        if (g_str_equal (lines[i] + 5, "micron") || g_str_equal (lines[i] + 5, "microns"))
          unit_nm = 1000.0;
        else
          unit_nm = _mva_parse_length_nm (probe);
      }
  if (!isfinite (unit_nm) || !(xres > 0))
    return FALSE;
  meta->pixel_size_nm = unit_nm / xres;
  meta->pixel_size_y_nm = yres > 0 ? unit_nm / yres : meta->pixel_size_nm;
  return meta->pixel_size_nm > 0.0 && isfinite (meta->pixel_size_nm);
}

static void
read_metadata (TIFF *tif, MvaImage *image, guint height)
{
  MvaImageMeta *meta = &image->meta;
  const char *text;
  gsize len;
  float xres = 0, yres = 0;
  uint16_t unit = RESUNIT_INCH;
  char *desc = NULL;

  if (get_text_tag (tif, TAG_FEI_HELIOS, &text, &len)
      || get_text_tag (tif, TAG_FEI_SFEG, &text, &len))
    {
      if (_mva_tiff_meta_parse_fei (text, len, height, meta))
        return;
    }
  if (get_text_tag (tif, TAG_CZ_SEM, &text, &len))
    {
      if (_mva_tiff_meta_parse_zeiss (text, len, meta))
        return;
    }

  TIFFGetField (tif, TIFFTAG_XRESOLUTION, &xres);
  TIFFGetField (tif, TIFFTAG_YRESOLUTION, &yres);
  TIFFGetFieldDefaulted (tif, TIFFTAG_RESOLUTIONUNIT, &unit);
  if (TIFFGetField (tif, TIFFTAG_IMAGEDESCRIPTION, &desc) && desc != NULL
      && imagej_pixel_size (desc, xres, yres, meta))
    {
      meta->vendor_format = g_strdup ("imagej");
      return;
    }
  if ((unit == RESUNIT_INCH || unit == RESUNIT_CENTIMETER) && xres > 0 && isfinite (xres))
    {
      double unit_nm = unit == RESUNIT_INCH ? 25.4e6 : 1e7;
      double nm = unit_nm / xres;
      double nm_y = yres > 0 && isfinite (yres) ? unit_nm / yres : nm;

      /* 72/96/300 dpi and friends are desktop defaults, not a pixel size. */
      if (nm > 0.001 && nm < 10000.0 && nm_y > 0.001 && nm_y < 10000.0)
        {
          meta->pixel_size_nm = nm;
          meta->pixel_size_y_nm = nm_y;
          meta->vendor_format = g_strdup ("tiff-resolution");
        }
    }
}

// --- sample conversion ----------------------------------------------------------------

typedef struct
{
  guint     width;
  guint     height;
  uint16_t  spp;
  uint16_t  bps;
  uint16_t  sample_format;
  uint16_t  photometric;
  uint16_t  planar;
  guint     src_channel[4];  /* source sample for each output channel */
  uint16_t *cmap[3];         /* palette */
  gboolean  invert;          /* MINISWHITE */
  gsize     plane_row_bytes; /* bytes of one row of one plane */
} Layout;

static inline double
raw_sample (const guint8 *row, gsize index, const Layout *l)
{
  switch (l->bps)
    {
    case 1:
    case 2:
    case 4:
      {
        gsize bit = index * l->bps;
        guint v = (row[bit / 8] >> (8 - l->bps - bit % 8)) & ((1u << l->bps) - 1);
        return v;
      }
    case 8:
      return l->sample_format == SAMPLEFORMAT_INT ? (double) ((const gint8 *) row)[index]
                                                  : (double) row[index];
    case 16:
      {
        guint16 u;

        memcpy (&u, row + index * 2, 2);
        return l->sample_format == SAMPLEFORMAT_INT ? (double) (gint16) u : (double) u;
      }
    case 32:
      {
        guint32 u;
        float f;

        memcpy (&u, row + index * 4, 4);
        if (l->sample_format == SAMPLEFORMAT_IEEEFP)
          {
            memcpy (&f, &u, 4);
            return f;
          }
        return l->sample_format == SAMPLEFORMAT_INT ? (double) (gint32) u : (double) u;
      }
    default: /* 64 */
      {
        guint64 u;
        double d;

        memcpy (&u, row + index * 8, 8);
        if (l->sample_format == SAMPLEFORMAT_IEEEFP)
          {
            memcpy (&d, &u, 8);
            return d;
          }
        return l->sample_format == SAMPLEFORMAT_INT ? (double) (gint64) u : (double) u;
      }
    }
}

/* planes[p] holds one row of plane p (planes[0] only when contiguous). */
static void
convert_row (const Layout *l, MvaImage *image, guint8 *const *planes, void *out)
{
  guint ch = image->channels;
  gboolean contig = l->planar == PLANARCONFIG_CONTIG;
  double maxval = l->bps < 8 ? (double) ((1u << l->bps) - 1) : 0.0;

  /* Same layout in the file and in memory: copy. */
  if (contig && l->bps == image->bit_depth && l->bps >= 8 && l->spp == ch && !l->invert
      && l->photometric != PHOTOMETRIC_PALETTE)
    {
      memcpy (out, planes[0], (gsize) l->width * ch * (l->bps / 8));
      return;
    }

  for (guint x = 0; x < l->width; x++)
    {
      if (l->photometric == PHOTOMETRIC_PALETTE)
        {
          const guint8 *row = planes[0];
          guint idx = (guint) raw_sample (row, contig ? (gsize) x * l->spp : x, l);
          guint8 *o = (guint8 *) out + (gsize) x * ch;

          if (idx >= (1u << MIN (l->bps, 16)))
            idx = 0;
          for (guint c = 0; c < ch; c++)
            o[c] = (guint8) (l->cmap[c][idx] >> 8);
          continue;
        }
      for (guint c = 0; c < ch; c++)
        {
          guint s = l->src_channel[c];
          const guint8 *row = contig ? planes[0] : planes[s];
          gsize index = contig ? (gsize) x * l->spp + s : x;
          double v = raw_sample (row, index, l);
          gsize o = (gsize) x * ch + c;

          if (l->bps < 8)
            {
              v = v * 255.0 / maxval;
              if (l->invert)
                v = 255.0 - v;
              ((guint8 *) out)[o] = (guint8) v;
              continue;
            }
          switch (image->bit_depth)
            {
            case 8:
              if (image->sample_format == MVA_SAMPLE_INT)
                ((gint8 *) out)[o] = (gint8) (l->invert ? -v - 1 : v);
              else
                ((guint8 *) out)[o] = (guint8) (l->invert ? 255 - v : v);
              break;
            case 16:
              if (image->sample_format == MVA_SAMPLE_INT)
                ((gint16 *) out)[o] = (gint16) (l->invert ? -v - 1 : v);
              else
                ((guint16 *) out)[o] = (guint16) (l->invert ? 65535 - v : v);
              break;
            default:
              if (image->sample_format == MVA_SAMPLE_FLOAT)
                ((float *) out)[o] = _mva_to_float (l->invert ? -v : v);
              else if (image->sample_format == MVA_SAMPLE_INT)
                ((gint32 *) out)[o] = (gint32) (l->invert ? -v - 1 : v);
              else
                ((guint32 *) out)[o] = (guint32) (l->invert ? 4294967295.0 - v : v);
              break;
            }
        }
    }
}

// --- reading ----------------------------------------------------------------------------

static gboolean
tiff_fail (MvaImage *image, TiffMsg *msg, const char *what, GError **error)
{
  g_set_error (error, MVA_IMAGE_ERROR, MVA_IMAGE_ERROR_CORRUPT, "%s: bad TIFF: %s%s%s",
               image->path, what, msg->message[0] ? ": " : "", msg->message);
  return FALSE;
}

static gboolean
read_rgba (TIFF *tif, MvaImage *image, const Layout *l, MvaRowSink *sink, TiffMsg *msg,
           GError **error)
{
  uint32_t block_w = l->width, block_h = 0;
  gboolean tiled = TIFFIsTiled (tif);
  g_autofree uint32_t *raster = NULL;
  g_autofree guint8 *row = g_malloc ((gsize) l->width * 3);
  char emsg[1024] = "";

  if (!TIFFRGBAImageOK (tif, emsg))
    {
      g_set_error (error, MVA_IMAGE_ERROR, MVA_IMAGE_ERROR_UNSUPPORTED,
                   "%s: unsupported TIFF layout: %s", image->path, emsg);
      return FALSE;
    }
  if (tiled)
    {
      TIFFGetField (tif, TIFFTAG_TILEWIDTH, &block_w);
      TIFFGetField (tif, TIFFTAG_TILELENGTH, &block_h);
    }
  else
    TIFFGetFieldDefaulted (tif, TIFFTAG_ROWSPERSTRIP, &block_h);
  block_h = MIN (block_h, l->height);
  if (block_w == 0 || block_h == 0 || (guint64) block_w * block_h > (1u << 26)
      || (tiled && (guint64) l->width * block_h > (1u << 28)))
    return tiff_fail (image, msg, "unreasonable strip or tile size", error);

  {
    g_autofree uint32_t *band = g_try_new (uint32_t, (gsize) l->width * block_h);

    if (band == NULL)
      return tiff_fail (image, msg, "out of memory", error);
    raster = g_new (uint32_t, (gsize) block_w * block_h);
    for (guint y0 = 0; y0 < l->height; y0 += block_h)
      {
        guint rows = MIN (block_h, l->height - y0);

        for (guint x0 = 0; x0 < l->width; x0 += block_w)
          {
            guint cols = MIN (block_w, l->width - x0);

            if (tiled ? !TIFFReadRGBATile (tif, x0, y0, raster)
                      : !TIFFReadRGBAStrip (tif, y0, raster))
              return tiff_fail (image, msg, "cannot decode image data", error);
            /* The RGBA raster is bottom-up inside each block. */
            for (guint r = 0; r < rows; r++)
              {
                guint src_r = tiled ? block_h - 1 - r : rows - 1 - r;

                memcpy (band + (gsize) r * l->width + x0,
                        raster + (gsize) src_r * block_w, cols * sizeof (uint32_t));
              }
          }
        for (guint r = 0; r < rows; r++)
          {
            for (guint x = 0; x < l->width; x++)
              {
                uint32_t p = band[(gsize) r * l->width + x];

                row[x * 3 + 0] = TIFFGetR (p);
                row[x * 3 + 1] = TIFFGetG (p);
                row[x * 3 + 2] = TIFFGetB (p);
              }
            if (image->channels == 1)
              for (guint x = 0; x < l->width; x++)
                row[x] = row[x * 3];
            _mva_row_sink_push (sink, row);
          }
      }
  }
  return TRUE;
}

static gboolean
read_scanlines (TIFF *tif, MvaImage *image, const Layout *l, MvaRowSink *sink, TiffMsg *msg,
                GError **error)
{
  guint nplanes = l->planar == PLANARCONFIG_CONTIG ? 1 : l->spp;
  g_autofree guint8 *buf = NULL;
  g_autofree void *out = g_malloc ((gsize) l->width * image->channels
                                   * _mva_image_sample_bytes (image));
  guint8 *planes[8] = { NULL };
  tmsize_t sl = TIFFScanlineSize (tif);

  if (sl <= 0 || (gsize) sl < l->plane_row_bytes)
    return tiff_fail (image, msg, "bad scanline size", error);
  buf = g_malloc ((gsize) sl * MIN (nplanes, 8));
  for (guint p = 0; p < MIN (nplanes, 8); p++)
    planes[p] = buf + (gsize) p * sl;

  for (guint y = 0; y < l->height; y++)
    {
      for (guint p = 0; p < MIN (nplanes, 8); p++)
        {
          if (nplanes > 1)
            {
              gboolean needed = FALSE;

              for (guint c = 0; c < image->channels; c++)
                needed |= l->src_channel[c] == p;
              if (!needed)
                continue;
            }
          if (TIFFReadScanline (tif, planes[p], y, (uint16_t) p) < 0)
            return tiff_fail (image, msg, "cannot decode image data", error);
        }
      convert_row (l, image, planes, out);
      _mva_row_sink_push (sink, out);
    }
  return TRUE;
}

static gboolean
read_tiles (TIFF *tif, MvaImage *image, const Layout *l, MvaRowSink *sink, TiffMsg *msg,
            GError **error)
{
  guint nplanes = l->planar == PLANARCONFIG_CONTIG ? 1 : l->spp;
  uint32_t tw = 0, th = 0;
  tmsize_t tile_bytes = TIFFTileSize (tif);
  gsize tile_row_bytes;
  g_autofree guint8 *tile = NULL;
  g_autofree guint8 *band = NULL;
  g_autofree void *out = g_malloc ((gsize) l->width * image->channels
                                   * _mva_image_sample_bytes (image));
  guint spp_plane = l->planar == PLANARCONFIG_CONTIG ? l->spp : 1;
  guint8 *planes[8];

  TIFFGetField (tif, TIFFTAG_TILEWIDTH, &tw);
  TIFFGetField (tif, TIFFTAG_TILELENGTH, &th);
  if (tw == 0 || th == 0 || tile_bytes <= 0 || nplanes > 8)
    return tiff_fail (image, msg, "bad tile layout", error);
  tile_row_bytes = ((gsize) tw * spp_plane * l->bps + 7) / 8;
  if ((gsize) tile_bytes < tile_row_bytes * th
      || (guint64) l->plane_row_bytes * th * nplanes > (1u << 30))
    return tiff_fail (image, msg, "unreasonable tile size", error);
  if ((guint64) tile_bytes > (1u << 30))
    return tiff_fail (image, msg, "unreasonable tile size", error);
  tile = g_try_malloc (tile_bytes);
  band = g_try_malloc (l->plane_row_bytes * th * nplanes);
  if (tile == NULL || band == NULL)
    return tiff_fail (image, msg, "out of memory", error);

  for (guint y0 = 0; y0 < l->height; y0 += th)
    {
      guint rows = MIN (th, l->height - y0);

      for (guint p = 0; p < nplanes; p++)
        for (guint x0 = 0; x0 < l->width; x0 += tw)
          {
            gsize off = (gsize) x0 * spp_plane * l->bps / 8;
            gsize n = MIN (tile_row_bytes, l->plane_row_bytes - off);

            if (TIFFReadTile (tif, tile, x0, y0, 0, (uint16_t) p) < 0)
              return tiff_fail (image, msg, "cannot decode tile", error);
            for (guint r = 0; r < rows; r++)
              memcpy (band + ((gsize) p * th + r) * l->plane_row_bytes + off,
                      tile + (gsize) r * tile_row_bytes, n);
          }
      for (guint r = 0; r < rows; r++)
        {
          for (guint p = 0; p < nplanes; p++)
            planes[p] = band + ((gsize) p * th + r) * l->plane_row_bytes;
          convert_row (l, image, planes, out);
          _mva_row_sink_push (sink, out);
        }
    }
  return TRUE;
}

static gboolean
setup_layout (TIFF *tif, MvaImage *image, Layout *l, gboolean *use_rgba, GError **error)
{
  uint16_t extra = 0, *extra_types = NULL, compression = COMPRESSION_NONE;
  uint32_t w = 0, h = 0;
  gboolean color;

  memset (l, 0, sizeof *l);
  *use_rgba = FALSE;
  if (!TIFFGetField (tif, TIFFTAG_IMAGEWIDTH, &w) || !TIFFGetField (tif, TIFFTAG_IMAGELENGTH, &h))
    {
      g_set_error (error, MVA_IMAGE_ERROR, MVA_IMAGE_ERROR_CORRUPT,
                   "%s: bad TIFF: no image size", image->path);
      return FALSE;
    }
  l->width = w;
  l->height = h;
  TIFFGetFieldDefaulted (tif, TIFFTAG_SAMPLESPERPIXEL, &l->spp);
  TIFFGetFieldDefaulted (tif, TIFFTAG_BITSPERSAMPLE, &l->bps);
  TIFFGetFieldDefaulted (tif, TIFFTAG_SAMPLEFORMAT, &l->sample_format);
  TIFFGetFieldDefaulted (tif, TIFFTAG_PLANARCONFIG, &l->planar);
  TIFFGetFieldDefaulted (tif, TIFFTAG_COMPRESSION, &compression);
  TIFFGetFieldDefaulted (tif, TIFFTAG_EXTRASAMPLES, &extra, &extra_types);
  if (!TIFFGetField (tif, TIFFTAG_PHOTOMETRIC, &l->photometric))
    l->photometric = l->spp >= 3 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK;

  if (l->spp == 0 || l->spp > 16)
    {
      g_set_error (error, MVA_IMAGE_ERROR, MVA_IMAGE_ERROR_CORRUPT,
                   "%s: bad TIFF: %u samples per pixel", image->path, l->spp);
      return FALSE;
    }
  if (l->sample_format == SAMPLEFORMAT_COMPLEXINT || l->sample_format == SAMPLEFORMAT_COMPLEXIEEEFP)
    {
      g_set_error (error, MVA_IMAGE_ERROR, MVA_IMAGE_ERROR_UNSUPPORTED,
                   "%s: complex-valued TIFF samples are not supported", image->path);
      return FALSE;
    }
  if (l->sample_format != SAMPLEFORMAT_INT && l->sample_format != SAMPLEFORMAT_IEEEFP)
    l->sample_format = SAMPLEFORMAT_UINT;
  if (l->sample_format == SAMPLEFORMAT_IEEEFP && l->bps != 32 && l->bps != 64)
    {
      g_set_error (error, MVA_IMAGE_ERROR, MVA_IMAGE_ERROR_UNSUPPORTED,
                   "%s: %u-bit floating-point TIFF samples are not supported",
                   image->path, l->bps);
      return FALSE;
    }

  switch (l->photometric)
    {
    case PHOTOMETRIC_MINISBLACK:
    case PHOTOMETRIC_MINISWHITE:
      color = FALSE;
      break;
    case PHOTOMETRIC_RGB:
      color = l->spp >= 3;
      if (!color)
        l->photometric = PHOTOMETRIC_MINISBLACK;
      break;
    case PHOTOMETRIC_PALETTE:
      color = TRUE;
      break;
    default:
      /* YCbCr, separated, CIELab, LogLuv...: let libtiff convert to RGBA. */
      *use_rgba = TRUE;
      color = TRUE;
      break;
    }
  if (compression == COMPRESSION_OJPEG || compression == COMPRESSION_JPEG)
    {
      if (l->photometric == PHOTOMETRIC_YCBCR || l->photometric == PHOTOMETRIC_RGB)
        *use_rgba = TRUE;
    }
  if (!*use_rgba && l->bps != 1 && l->bps != 2 && l->bps != 4 && l->bps != 8
      && l->bps != 16 && l->bps != 32 && l->bps != 64)
    {
      if (l->bps <= 16 && (l->photometric == PHOTOMETRIC_RGB || l->photometric == PHOTOMETRIC_MINISBLACK
                           || l->photometric == PHOTOMETRIC_MINISWHITE))
        *use_rgba = TRUE;
      else
        {
          g_set_error (error, MVA_IMAGE_ERROR, MVA_IMAGE_ERROR_UNSUPPORTED,
                       "%s: %u-bit TIFF samples are not supported", image->path, l->bps);
          return FALSE;
        }
    }

  if (*use_rgba)
    {
      image->channels = l->photometric == PHOTOMETRIC_MINISBLACK
                        || l->photometric == PHOTOMETRIC_MINISWHITE ? 1 : 3;
      image->bit_depth = 8;
      image->sample_format = MVA_SAMPLE_UINT;
      return TRUE;
    }

  if (l->photometric == PHOTOMETRIC_PALETTE)
    {
      gboolean gray = TRUE;
      guint n = 1u << MIN (l->bps, 16);

      if (l->bps > 16 || !TIFFGetField (tif, TIFFTAG_COLORMAP, &l->cmap[0], &l->cmap[1], &l->cmap[2]))
        {
          g_set_error (error, MVA_IMAGE_ERROR, MVA_IMAGE_ERROR_CORRUPT,
                       "%s: bad TIFF: palette image without a colour map", image->path);
          return FALSE;
        }
      for (guint i = 0; i < n && gray; i++)
        gray = l->cmap[0][i] == l->cmap[1][i] && l->cmap[1][i] == l->cmap[2][i];
      image->channels = gray ? 1 : 3;
      image->bit_depth = 8;
      image->sample_format = MVA_SAMPLE_UINT;
      for (guint c = 0; c < 3; c++)
        l->src_channel[c] = 0;
      if (l->planar != PLANARCONFIG_CONTIG && l->spp > 1)
        l->planar = PLANARCONFIG_CONTIG;
    }
  else
    {
      gboolean alpha = color && l->spp >= 4 && extra >= 1 && extra_types != NULL
                       && extra_types[0] != EXTRASAMPLE_UNSPECIFIED;

      image->channels = color ? (alpha ? 4 : 3) : 1;
      for (guint c = 0; c < image->channels; c++)
        l->src_channel[c] = c;
      if (l->bps <= 8)
        image->bit_depth = 8;
      else if (l->bps == 16)
        image->bit_depth = 16;
      else
        image->bit_depth = 32;
      if (l->sample_format == SAMPLEFORMAT_IEEEFP || l->bps == 64)
        image->sample_format = MVA_SAMPLE_FLOAT;
      else if (l->sample_format == SAMPLEFORMAT_INT && l->bps >= 8)
        image->sample_format = MVA_SAMPLE_INT;
      else
        image->sample_format = MVA_SAMPLE_UINT;
      l->invert = l->photometric == PHOTOMETRIC_MINISWHITE;
    }
  if (l->planar != PLANARCONFIG_CONTIG && l->spp > 8)
    {
      g_set_error (error, MVA_IMAGE_ERROR, MVA_IMAGE_ERROR_UNSUPPORTED,
                   "%s: planar TIFF with %u samples is not supported", image->path, l->spp);
      return FALSE;
    }
  l->plane_row_bytes = ((gsize) l->width * (l->planar == PLANARCONFIG_CONTIG ? l->spp : 1)
                        * l->bps + 7) / 8;
  return TRUE;
}

static gboolean
select_directory (TIFF *tif)
{
  /* The first full-resolution image (skip thumbnails / reduced images). */
  tdir_t n = TIFFNumberOfDirectories (tif);

  for (tdir_t d = 0; d < n && d < 64; d++)
    {
      uint32_t subfile = 0;

      if (!TIFFSetDirectory (tif, d))
        break;
      TIFFGetFieldDefaulted (tif, TIFFTAG_SUBFILETYPE, &subfile);
      if ((subfile & FILETYPE_REDUCEDIMAGE) == 0)
        return TRUE;
    }
  return TIFFSetDirectory (tif, 0);
}

MvaImage *
_mva_image_load_tiff (const char *path,
                      guint       max_side,
                      gboolean    header_only,
                      GError    **error)
{
  g_autoptr(MvaImage) image = _mva_image_new (path, "TIFF");
  TIFFOpenOptions *opts = TIFFOpenOptionsAlloc ();
  TiffMsg msg = { "" };
  MvaRowSink sink = { 0 };
  gboolean use_rgba, ok = FALSE;
  uint16_t compression = COMPRESSION_NONE;
  Layout l;
  TIFF *tif;
  FILE *fp;
  guint64 file_size = 0;

  fp = fopen (path, "rb");
  if (fp != NULL)
    {
      file_size = _mva_file_size (fp);
      fclose (fp);
    }

  TIFFOpenOptionsSetErrorHandlerExtR (opts, on_tiff_error, &msg);
  TIFFOpenOptionsSetWarningHandlerExtR (opts, on_tiff_warning, NULL);
  TIFFOpenOptionsSetMaxSingleMemAlloc (opts, 256 << 20);
  /* "m": read(), not mmap, so a preview of a huge file stays small in memory. */
  tif = TIFFOpenExt (path, "rm", opts);
  TIFFOpenOptionsFree (opts);
  if (tif == NULL)
    {
      tiff_fail (image, &msg, "cannot read the header", error);
      return NULL;
    }

  select_directory (tif);
  if (!setup_layout (tif, image, &l, &use_rgba, error))
    goto out;
  image->full_width = l.width;
  image->full_height = l.height;
  TIFFGetFieldDefaulted (tif, TIFFTAG_COMPRESSION, &compression);
  if (!_mva_image_check_claim (image, file_size,
                               compression == COMPRESSION_NONE ? 1.5 : 10000.0, error))
    goto out;
  read_metadata (tif, image, l.height);
  if (header_only)
    {
      image->width = l.width;
      image->height = l.height;
      ok = TRUE;
      goto out;
    }
  if (!_mva_row_sink_init (&sink, image, l.width, l.height, max_side, error))
    goto out;
  if (use_rgba)
    ok = read_rgba (tif, image, &l, &sink, &msg, error);
  else if (TIFFIsTiled (tif))
    ok = read_tiles (tif, image, &l, &sink, &msg, error);
  else
    ok = read_scanlines (tif, image, &l, &sink, &msg, error);
  if (ok)
    ok = _mva_row_sink_finish (&sink, error);

out:
  _mva_row_sink_clear (&sink);
  TIFFClose (tif);
  return ok ? g_steal_pointer (&image) : NULL;
}
