/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * image-writers.c: see image-writers.h. TIFFs go through libtiff (the vendor
 * tags are registered with TIFFMergeFieldInfo before they are set); DM files
 * are written byte by byte following the layout documented in app/mva-dm.c.
 */
#include "config.h"

#include "image-writers.h"

#include <math.h>
#include <string.h>
#include <zlib.h>

// --- TIFF -------------------------------------------------------------------------------

static const TIFFFieldInfo vendor_fields[] = {
  { 34682, -1, -1, TIFF_ASCII, FIELD_CUSTOM, 1, 0, (char *) "FEI_HELIOS" },
  { 34118, -1, -1, TIFF_ASCII, FIELD_CUSTOM, 1, 0, (char *) "CZ_SEM" },
};

static void
put_sample (guint8 *buf, gsize index, const TestTiff *s, double v)
{
  switch (s->bps)
    {
    case 1: case 2: case 4:
      {
        gsize bit = index * s->bps;
        guint iv = (guint) CLAMP (v, 0, (1 << s->bps) - 1);

        buf[bit / 8] |= (guint8) (iv << (8 - s->bps - bit % 8));
        break;
      }
    case 8:
      if (s->sample_format == SAMPLEFORMAT_INT)
        ((gint8 *) buf)[index] = (gint8) v;
      else
        buf[index] = (guint8) v;
      break;
    case 16:
      if (s->sample_format == SAMPLEFORMAT_INT)
        ((gint16 *) buf)[index] = (gint16) v;
      else
        ((guint16 *) buf)[index] = (guint16) v;
      break;
    case 32:
      if (s->sample_format == SAMPLEFORMAT_IEEEFP)
        ((float *) buf)[index] = (float) v;
      else if (s->sample_format == SAMPLEFORMAT_INT)
        ((gint32 *) buf)[index] = (gint32) v;
      else
        ((guint32 *) buf)[index] = (guint32) v;
      break;
    default:
      ((double *) buf)[index] = v;
      break;
    }
}

gboolean
test_write_tiff (const char *path, const TestTiff *s)
{
  TIFF *tif = TIFFOpen (path, "w");
  guint planes = s->planar == PLANARCONFIG_SEPARATE ? s->spp : 1;
  guint spp_plane = s->planar == PLANARCONFIG_SEPARATE ? 1 : s->spp;
  gboolean ok = TRUE;

  if (tif == NULL)
    return FALSE;
  TIFFMergeFieldInfo (tif, vendor_fields, G_N_ELEMENTS (vendor_fields));
  TIFFSetField (tif, TIFFTAG_IMAGEWIDTH, s->width);
  TIFFSetField (tif, TIFFTAG_IMAGELENGTH, s->height);
  TIFFSetField (tif, TIFFTAG_SAMPLESPERPIXEL, s->spp);
  TIFFSetField (tif, TIFFTAG_BITSPERSAMPLE, s->bps);
  TIFFSetField (tif, TIFFTAG_SAMPLEFORMAT, s->sample_format ? s->sample_format : SAMPLEFORMAT_UINT);
  TIFFSetField (tif, TIFFTAG_PHOTOMETRIC, s->photometric);
  TIFFSetField (tif, TIFFTAG_COMPRESSION, s->compression ? s->compression : COMPRESSION_NONE);
  TIFFSetField (tif, TIFFTAG_PLANARCONFIG, s->planar ? s->planar : PLANARCONFIG_CONTIG);
  if (s->spp == 4)
    {
      guint16 extra = EXTRASAMPLE_UNASSALPHA;

      TIFFSetField (tif, TIFFTAG_EXTRASAMPLES, 1, &extra);
    }
  if (s->photometric == PHOTOMETRIC_PALETTE)
    {
      guint n = 1u << s->bps;
      g_autofree guint16 *r = g_new (guint16, n), *g = g_new (guint16, n), *b = g_new (guint16, n);

      for (guint i = 0; i < n; i++)
        {
          guint16 v = (guint16) (i * 65535 / (n - 1));

          r[i] = v;
          g[i] = s->palette_gray ? v : (guint16) (65535 - v);
          b[i] = s->palette_gray ? v : (guint16) (v / 2);
        }
      TIFFSetField (tif, TIFFTAG_COLORMAP, r, g, b);
    }
  if (s->fei_text)
    TIFFSetField (tif, 34682, s->fei_text);
  if (s->zeiss_text)
    TIFFSetField (tif, 34118, s->zeiss_text);
  if (s->description)
    TIFFSetField (tif, TIFFTAG_IMAGEDESCRIPTION, s->description);
  if (s->xres > 0)
    {
      TIFFSetField (tif, TIFFTAG_XRESOLUTION, s->xres);
      TIFFSetField (tif, TIFFTAG_YRESOLUTION, s->yres > 0 ? s->yres : s->xres);
      TIFFSetField (tif, TIFFTAG_RESOLUTIONUNIT, s->res_unit ? s->res_unit : RESUNIT_INCH);
    }

  if (s->tile > 0)
    {
      tmsize_t tsize;
      g_autofree guint8 *tile = NULL;

      TIFFSetField (tif, TIFFTAG_TILEWIDTH, s->tile);
      TIFFSetField (tif, TIFFTAG_TILELENGTH, s->tile);
      tsize = TIFFTileSize (tif);
      tile = g_malloc (tsize);
      for (guint p = 0; p < planes && ok; p++)
        for (guint ty = 0; ty < s->height && ok; ty += s->tile)
          for (guint tx = 0; tx < s->width && ok; tx += s->tile)
            {
              memset (tile, 0, tsize);
              for (guint y = 0; y < s->tile; y++)
                for (guint x = 0; x < s->tile; x++)
                  for (guint c = 0; c < spp_plane; c++)
                    {
                      guint gx = tx + x, gy = ty + y;
                      double v = gx < s->width && gy < s->height
                                 ? s->pixel (gx, gy, planes > 1 ? p : c) : 0;

                      put_sample (tile, ((gsize) y * s->tile + x) * spp_plane + c, s, v);
                    }
              ok = TIFFWriteTile (tif, tile, tx, ty, 0, (uint16_t) p) >= 0;
            }
    }
  else
    {
      tmsize_t sl;
      g_autofree guint8 *row = NULL;

      TIFFSetField (tif, TIFFTAG_ROWSPERSTRIP,
                    s->rows_per_strip ? s->rows_per_strip : TIFFDefaultStripSize (tif, 0));
      sl = TIFFScanlineSize (tif);
      row = g_malloc (sl);
      for (guint p = 0; p < planes && ok; p++)
        for (guint y = 0; y < s->height && ok; y++)
          {
            memset (row, 0, sl);
            for (guint x = 0; x < s->width; x++)
              for (guint c = 0; c < spp_plane; c++)
                put_sample (row, (gsize) x * spp_plane + c, s, s->pixel (x, y, planes > 1 ? p : c));
            ok = TIFFWriteScanline (tif, row, y, (uint16_t) p) >= 0;
          }
    }
  TIFFClose (tif);
  return ok;
}

// --- DM3 / DM4 ----------------------------------------------------------------------------

typedef struct
{
  GByteArray *b;
  int         v;
} DmW;

static void
be (DmW *w, guint64 v, guint n)
{
  for (guint i = 0; i < n; i++)
    {
      guint8 byte = (guint8) (v >> (8 * (n - 1 - i)));

      g_byte_array_append (w->b, &byte, 1);
    }
}

static void
word (DmW *w, guint64 v)
{
  be (w, v, w->v == 4 ? 8 : 4);
}

static void
le (DmW *w, const void *p, guint n)
{
  /* Data in little-endian order (byte-order flag 1). */
  guint8 tmp[8];

  memcpy (tmp, p, n);
  if (G_BYTE_ORDER == G_BIG_ENDIAN)
    for (guint i = 0; i < n / 2; i++)
      {
        guint8 t = tmp[i];

        tmp[i] = tmp[n - 1 - i];
        tmp[n - 1 - i] = t;
      }
  g_byte_array_append (w->b, tmp, n);
}

/* Opens an entry; returns the offset of the DM4 size field to patch. */
static guint
entry (DmW *w, int kind, const char *name)
{
  guint at;
  gsize n = name ? strlen (name) : 0;

  be (w, kind, 1);
  be (w, n, 2);
  if (n)
    g_byte_array_append (w->b, (const guint8 *) name, n);
  at = w->b->len;
  if (w->v == 4)
    be (w, 0, 8);
  return at;
}

static void
close_entry (DmW *w, guint at)
{
  if (w->v == 4)
    {
      guint64 size = w->b->len - (at + 8);

      for (guint i = 0; i < 8; i++)
        w->b->data[at + i] = (guint8) (size >> (8 * (7 - i)));
    }
}

static guint
group (DmW *w, const char *name, guint ntags)
{
  guint at = entry (w, 20, name);

  be (w, 0, 1);
  be (w, 1, 1);
  word (w, ntags);
  return at;
}

static void
simple (DmW *w, const char *name, int type, double v)
{
  guint at = entry (w, 21, name);

  g_byte_array_append (w->b, (const guint8 *) "%%%%", 4);
  word (w, 1);
  word (w, type);
  switch (type)
    {
    case 3: { gint32 x = (gint32) v; le (w, &x, 4); break; }
    case 5: { guint32 x = (guint32) v; le (w, &x, 4); break; }
    case 6: { float x = (float) v; le (w, &x, 4); break; }
    default: { double x = v; le (w, &x, 8); break; }
    }
  close_entry (w, at);
}

static void
ustring (DmW *w, const char *name, const char *utf8)
{
  glong n = 0;
  g_autofree gunichar2 *u = g_utf8_to_utf16 (utf8, -1, NULL, &n, NULL);
  guint at = entry (w, 21, name);

  g_byte_array_append (w->b, (const guint8 *) "%%%%", 4);
  word (w, 3);
  word (w, 20);
  word (w, 4);
  word (w, n);
  for (glong i = 0; i < n; i++)
    le (w, &u[i], 2);
  close_entry (w, at);
}

static gsize
elem_size (int t)
{
  switch (t)
    {
    case 2: case 4: return 2;
    case 3: case 5: case 6: return 4;
    case 7: case 11: case 12: return 8;
    default: return 1;
    }
}

static void
data_array (DmW *w, const TestDm *s, gboolean thumb)
{
  guint width = thumb ? 8 : s->width, height = thumb ? 8 : MAX (s->height, 1);
  int et = thumb ? 5 : s->elem_type;
  guint at = entry (w, 21, "Data");

  g_byte_array_append (w->b, (const guint8 *) "%%%%", 4);
  word (w, 3);
  word (w, 20);
  word (w, et);
  word (w, (guint64) width * height);
  for (guint y = 0; y < height; y++)
    for (guint x = 0; x < width; x++)
      {
        double v = thumb ? (double) (0xff000000u | (x * 30) | ((y * 30) << 8)) : s->pixel (x, y, 0);

        switch (et)
          {
          case 2: { gint16 t = (gint16) v; le (w, &t, 2); break; }
          case 4: { guint16 t = (guint16) v; le (w, &t, 2); break; }
          case 3: { gint32 t = (gint32) v; le (w, &t, 4); break; }
          case 5: { guint32 t = (guint32) v; le (w, &t, 4); break; }
          case 6: { float t = (float) v; le (w, &t, 4); break; }
          case 7: { double t = v; le (w, &t, 8); break; }
          case 9: { gint8 t = (gint8) v; le (w, &t, 1); break; }
          default: { guint8 t = (guint8) v; le (w, &t, 1); break; }
          }
      }
  (void) elem_size;
  close_entry (w, at);
}

static void
image_entry (DmW *w, const TestDm *s, gboolean thumb)
{
  gboolean two_d = thumb || s->height > 0;
  guint ndim = two_d ? 2 : 1;
  guint g = group (w, NULL, thumb ? 1 : 2);
  guint id = group (w, "ImageData", 4);
  guint cal = group (w, "Calibrations", 1);
  guint dim = group (w, "Dimension", ndim);

  for (guint k = 0; k < ndim; k++)
    {
      guint d = group (w, NULL, 3);

      simple (w, "Origin", 6, 0);
      simple (w, "Scale", 6, thumb ? 1.0 : s->scale);
      ustring (w, "Units", thumb || s->units == NULL ? "" : s->units);
      close_entry (w, d);
    }
  close_entry (w, dim);
  close_entry (w, cal);
  data_array (w, s, thumb);
  simple (w, "DataType", 5, thumb ? 23 : s->data_type);
  {
    guint dims = group (w, "Dimensions", ndim);

    simple (w, NULL, 5, thumb ? 8 : s->width);
    if (ndim == 2)
      simple (w, NULL, 5, thumb ? 8 : s->height);
    close_entry (w, dims);
  }
  close_entry (w, id);
  if (!thumb)
    {
      guint tags = group (w, "ImageTags", 1);
      guint mi = group (w, "Microscope Info", 3);

      simple (w, "Voltage", 7, s->voltage);
      simple (w, "Indicated Magnification", 7, s->magnification);
      ustring (w, "Microscope", s->microscope ? s->microscope : "");
      close_entry (w, mi);
      close_entry (w, tags);
    }
  close_entry (w, g);
}

GBytes *
test_dm_bytes (const TestDm *s)
{
  DmW w = { g_byte_array_new (), s->version };
  guint list;

  be (&w, s->version, 4);
  be (&w, 0, s->version == 4 ? 8 : 4); /* root length, patched below */
  be (&w, 1, 4);                        /* little-endian data */
  be (&w, 0, 1);
  be (&w, 1, 1);
  word (&w, s->thumbnail ? 2 : 1);
  list = group (&w, "ImageList", s->thumbnail ? 2 : 1);
  if (s->thumbnail)
    image_entry (&w, s, TRUE);
  image_entry (&w, s, FALSE);
  close_entry (&w, list);
  if (s->thumbnail)
    {
      guint th = group (&w, "Thumbnails", 1);
      guint t0 = group (&w, NULL, 1);

      simple (&w, "ImageIndex", 5, 0);
      close_entry (&w, t0);
      close_entry (&w, th);
    }
  be (&w, 0, 8); /* trailing zeros like Gatan's writer */
  {
    guint64 rootlen = w.b->len - (s->version == 4 ? 16 : 12);
    guint n = s->version == 4 ? 8 : 4;

    for (guint i = 0; i < n; i++)
      w.b->data[4 + i] = (guint8) (rootlen >> (8 * (n - 1 - i)));
  }
  return g_byte_array_free_to_bytes (w.b);
}

gboolean
test_write_file (const char *path, const void *data, gsize len)
{
  return g_file_set_contents (path, data, (gssize) len, NULL);
}

// --- PNG header ---------------------------------------------------------------------------

static void
chunk (GByteArray *b, const char *type, const guint8 *data, guint32 len)
{
  guint8 hdr[8];
  guint32 crc;

  hdr[0] = len >> 24; hdr[1] = len >> 16; hdr[2] = len >> 8; hdr[3] = len;
  memcpy (hdr + 4, type, 4);
  g_byte_array_append (b, hdr, 8);
  if (len)
    g_byte_array_append (b, data, len);
  crc = crc32 (0, (const Bytef *) type, 4);
  if (len)
    crc = crc32 (crc, data, len);
  hdr[0] = crc >> 24; hdr[1] = crc >> 16; hdr[2] = crc >> 8; hdr[3] = crc;
  g_byte_array_append (b, hdr, 4);
}

GBytes *
test_png_header (guint32 width, guint32 height, guint8 depth, guint8 color)
{
  static const guint8 sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
  GByteArray *b = g_byte_array_new ();
  guint8 ihdr[13] = { 0 };
  guint8 idat[64];
  uLongf idat_len = sizeof idat;
  guint8 raw[16] = { 0 };

  g_byte_array_append (b, sig, 8);
  ihdr[0] = width >> 24; ihdr[1] = width >> 16; ihdr[2] = width >> 8; ihdr[3] = width;
  ihdr[4] = height >> 24; ihdr[5] = height >> 16; ihdr[6] = height >> 8; ihdr[7] = height;
  ihdr[8] = depth;
  ihdr[9] = color;
  chunk (b, "IHDR", ihdr, 13);
  compress (idat, &idat_len, raw, sizeof raw);
  chunk (b, "IDAT", idat, (guint32) idat_len);
  chunk (b, "IEND", NULL, 0);
  return g_byte_array_free_to_bytes (b);
}
