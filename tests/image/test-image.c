/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * test-image.c: app/ image loading (issue 2 item 4, issue 6).
 *
 * Files the test writes itself (into a temporary folder): TIFFs of every
 * sample type and layout, TIFFs with FEI/Zeiss tags and resolution tags,
 * Hitachi/JEOL sidecars, DM3 and DM4 images and spectra, PNG and JPEG, then
 * truncated, garbage, zero-byte and wrong-extension variants of each, a PNG
 * header claiming 100000 x 100000 pixels, and a 20000 x 20000 TIFF loaded as
 * a preview. With ../shared present, every instrument file's pixel size is
 * checked against SOURCES.md.
 */
#include "config.h"

#include "image-writers.h"
#include "mva-image-private.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

static char *tmpdir;

static char *
tmp_path (const char *name)
{
  return g_build_filename (tmpdir, name, NULL);
}

static const char *
shared_dir (void)
{
  const char *d = g_getenv ("MVAEMA_SHARED_DIR");

  return d != NULL && g_file_test (d, G_FILE_TEST_IS_DIR) ? d : NULL;
}

static double px_gradient (guint x, guint y, guint c) { return (x * 7 + y * 3 + c * 50) % 256; }
static double px_16 (guint x, guint y, guint c) { return 1000 + (x * 37 + y * 11 + c * 5) % 3000; }
static double px_signed (guint x, guint y, guint c) { return ((double) x - 20.0) * 100.0 + y; }
static double px_float (guint x, guint y, guint c) { return sin (x * 0.1) * 1e-3 + y * 1e-5; }
static double px_bits (guint x, guint y, guint c) { return (x + y) % 2 ? 1 : 0; }
static double px_nibble (guint x, guint y, guint c) { return (x + y) % 16; }
static double px_rgb (guint x, guint y, guint c) { return c == 0 ? x * 4 % 256 : c == 1 ? y * 4 % 256 : 128; }

static double
px_i32 (guint x, guint y, guint c)
{
  return ((double) x * 100000.0) - 1e6 + y;
}

static MvaImage *
load_ok (const char *path, guint max_side)
{
  g_autoptr(GError) error = NULL;
  MvaImage *img = mva_image_load (path, max_side, &error);

  if (img == NULL)
    g_error ("loading %s failed: %s", path, error->message);
  return img;
}

static void
expect_error (const char *path, guint max_side)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MvaImage) img = mva_image_load (path, max_side, &error);
  g_autoptr(GError) error2 = NULL;
  g_autoptr(MvaImage) probe = mva_image_probe (path, &error2);

  g_assert_null (img);
  g_assert_error (error, MVA_IMAGE_ERROR, error->code);
  g_assert_nonnull (strstr (error->message, path));
  g_assert_null (strchr (error->message, '\n'));
  g_test_message ("%s -> %s", path, error->message);
  /* The header-only probe may accept a truncated file, but must not crash. */
  if (probe == NULL)
    g_assert_nonnull (error2);
}

// --- TIFF sample types --------------------------------------------------------------------

typedef struct
{
  const char   *name;
  TestTiff      spec;
  guint         channels, bit_depth;
  MvaSampleFormat fmt;
} TiffCase;

static void
check_tiff_case (const TiffCase *tc)
{
  g_autofree char *path = tmp_path (tc->name);
  g_autoptr(MvaImage) img = NULL;
  g_autofree guint8 *gray = NULL, *rgb = NULL;

  g_assert_true (test_write_tiff (path, &tc->spec));
  img = load_ok (path, 0);
  g_assert_cmpuint (img->width, ==, tc->spec.width);
  g_assert_cmpuint (img->height, ==, tc->spec.height);
  g_assert_cmpuint (img->full_width, ==, tc->spec.width);
  g_assert_cmpuint (img->channels, ==, tc->channels);
  g_assert_cmpuint (img->bit_depth, ==, tc->bit_depth);
  g_assert_cmpint (img->sample_format, ==, tc->fmt);
  g_assert_cmpstr (img->format, ==, "TIFF");
  g_assert_true (isnan (img->meta.pixel_size_nm));

  /* Values survive at full depth. */
  for (guint y = 0; y < img->height; y += 7)
    for (guint x = 0; x < img->width; x += 5)
      for (guint c = 0; c < img->channels; c++)
        {
          const guint8 *row = (const guint8 *) img->data + (gsize) y * img->stride;
          gsize i = (gsize) x * img->channels + c;
          double want = tc->spec.pixel (x, y, c), got;

          if (tc->spec.photometric == PHOTOMETRIC_PALETTE)
            continue;
          if (tc->spec.bps < 8)
            want = want * 255.0 / ((1 << tc->spec.bps) - 1);
          if (tc->spec.photometric == PHOTOMETRIC_MINISWHITE)
            want = (tc->bit_depth == 16 ? 65535 : 255) - want;
          switch (img->bit_depth)
            {
            case 8:
              got = img->sample_format == MVA_SAMPLE_INT ? (double) ((const gint8 *) row)[i]
                                                        : (double) row[i];
              break;
            case 16:
              got = img->sample_format == MVA_SAMPLE_INT ? (double) ((const gint16 *) row)[i]
                                                        : (double) ((const guint16 *) row)[i];
              break;
            default:
              got = img->sample_format == MVA_SAMPLE_FLOAT ? (double) ((const float *) row)[i]
                    : img->sample_format == MVA_SAMPLE_INT ? (double) ((const gint32 *) row)[i]
                                                           : (double) ((const guint32 *) row)[i];
              break;
            }
          if (img->sample_format == MVA_SAMPLE_FLOAT)
            g_assert_cmpfloat_with_epsilon (got, want, 1e-6);
          else
            g_assert_cmpfloat (got, ==, floor (want));
        }

  gray = mva_image_to_gray8 (img);
  rgb = mva_image_to_rgb8 (img);
  g_assert_nonnull (gray);
  g_assert_nonnull (rgb);
  if (img->bit_depth > 8 || img->sample_format != MVA_SAMPLE_UINT)
    {
      /* The stretch uses the whole 8-bit range. */
      guint lo = 255, hi = 0;

      for (gsize i = 0; i < (gsize) img->width * img->height; i++)
        {
          lo = MIN (lo, gray[i]);
          hi = MAX (hi, gray[i]);
        }
      g_assert_cmpuint (lo, <=, 5);
      g_assert_cmpuint (hi, >=, 250);
    }
}

static void
test_tiff_types (void)
{
  const TiffCase cases[] = {
    { "u8.tif", { 61, 47, 1, 8, SAMPLEFORMAT_UINT, PHOTOMETRIC_MINISBLACK, .pixel = px_gradient }, 1, 8, MVA_SAMPLE_UINT },
    { "u8-lzw-strips.tif", { 61, 47, 1, 8, SAMPLEFORMAT_UINT, PHOTOMETRIC_MINISBLACK, COMPRESSION_LZW, .rows_per_strip = 5, .pixel = px_gradient }, 1, 8, MVA_SAMPLE_UINT },
    { "u8-white.tif", { 33, 20, 1, 8, SAMPLEFORMAT_UINT, PHOTOMETRIC_MINISWHITE, .pixel = px_gradient }, 1, 8, MVA_SAMPLE_UINT },
    { "s8.tif", { 40, 21, 1, 8, SAMPLEFORMAT_INT, PHOTOMETRIC_MINISBLACK, .pixel = px_nibble }, 1, 8, MVA_SAMPLE_INT },
    { "u16.tif", { 70, 33, 1, 16, SAMPLEFORMAT_UINT, PHOTOMETRIC_MINISBLACK, COMPRESSION_ADOBE_DEFLATE, .pixel = px_16 }, 1, 16, MVA_SAMPLE_UINT },
    { "s16.tif", { 41, 30, 1, 16, SAMPLEFORMAT_INT, PHOTOMETRIC_MINISBLACK, .pixel = px_signed }, 1, 16, MVA_SAMPLE_INT },
    { "u32.tif", { 41, 30, 1, 32, SAMPLEFORMAT_UINT, PHOTOMETRIC_MINISBLACK, .pixel = px_16 }, 1, 32, MVA_SAMPLE_UINT },
    { "s32.tif", { 41, 30, 1, 32, SAMPLEFORMAT_INT, PHOTOMETRIC_MINISBLACK, .pixel = px_i32 }, 1, 32, MVA_SAMPLE_INT },
    { "f32.tif", { 50, 40, 1, 32, SAMPLEFORMAT_IEEEFP, PHOTOMETRIC_MINISBLACK, .pixel = px_float }, 1, 32, MVA_SAMPLE_FLOAT },
    { "f64.tif", { 50, 40, 1, 64, SAMPLEFORMAT_IEEEFP, PHOTOMETRIC_MINISBLACK, .pixel = px_float }, 1, 32, MVA_SAMPLE_FLOAT },
    { "bilevel.tif", { 37, 9, 1, 1, SAMPLEFORMAT_UINT, PHOTOMETRIC_MINISBLACK, .pixel = px_bits }, 1, 8, MVA_SAMPLE_UINT },
    { "4bit.tif", { 37, 9, 1, 4, SAMPLEFORMAT_UINT, PHOTOMETRIC_MINISBLACK, .pixel = px_nibble }, 1, 8, MVA_SAMPLE_UINT },
    { "rgb8.tif", { 64, 48, 3, 8, SAMPLEFORMAT_UINT, PHOTOMETRIC_RGB, .pixel = px_rgb }, 3, 8, MVA_SAMPLE_UINT },
    { "rgb8-planar.tif", { 64, 48, 3, 8, SAMPLEFORMAT_UINT, PHOTOMETRIC_RGB, .planar = PLANARCONFIG_SEPARATE, .pixel = px_rgb }, 3, 8, MVA_SAMPLE_UINT },
    { "rgba8.tif", { 30, 20, 4, 8, SAMPLEFORMAT_UINT, PHOTOMETRIC_RGB, .pixel = px_rgb }, 4, 8, MVA_SAMPLE_UINT },
    { "rgb16.tif", { 30, 20, 3, 16, SAMPLEFORMAT_UINT, PHOTOMETRIC_RGB, .pixel = px_16 }, 3, 16, MVA_SAMPLE_UINT },
    { "u16-tiled.tif", { 100, 70, 1, 16, SAMPLEFORMAT_UINT, PHOTOMETRIC_MINISBLACK, COMPRESSION_LZW, .tile = 32, .pixel = px_16 }, 1, 16, MVA_SAMPLE_UINT },
    { "rgb-tiled-planar.tif", { 50, 40, 3, 8, SAMPLEFORMAT_UINT, PHOTOMETRIC_RGB, .planar = PLANARCONFIG_SEPARATE, .tile = 16, .pixel = px_rgb }, 3, 8, MVA_SAMPLE_UINT },
    { "palette-gray.tif", { 40, 30, 1, 8, SAMPLEFORMAT_UINT, PHOTOMETRIC_PALETTE, .palette_gray = TRUE, .pixel = px_gradient }, 1, 8, MVA_SAMPLE_UINT },
    { "palette-colour.tif", { 40, 30, 1, 8, SAMPLEFORMAT_UINT, PHOTOMETRIC_PALETTE, .pixel = px_gradient }, 3, 8, MVA_SAMPLE_UINT },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_test_message ("case %s", cases[i].name);
      check_tiff_case (&cases[i]);
    }
}

static void
test_palette_values (void)
{
  TestTiff spec = { 40, 30, 1, 8, SAMPLEFORMAT_UINT, PHOTOMETRIC_PALETTE, .palette_gray = TRUE,
                    .pixel = px_gradient };
  g_autofree char *path = tmp_path ("palette-check.tif");
  g_autoptr(MvaImage) img = NULL;

  g_assert_true (test_write_tiff (path, &spec));
  img = load_ok (path, 0);
  /* Gray map i -> i*257, so the 8-bit value is the index. */
  g_assert_cmpuint (((guint8 *) img->data)[5], ==, (guint) px_gradient (5, 0, 0));
}

static double px_smooth (guint x, guint y, guint c) { return c == 0 ? 200 : c == 1 ? 100 : 50; }

static void
test_tiff_rgba_path (void)
{
  /* JPEG-in-TIFF (YCbCr) and CMYK go through libtiff's RGBA interface. */
  g_autofree char *jp = tmp_path ("jpeg-ycbcr.tif");
  g_autofree char *cp = tmp_path ("cmyk.tif");
  g_autoptr(MvaImage) a = NULL, b = NULL;
  TIFF *tif;

  tif = TIFFOpen (jp, "w");
  g_assert_nonnull (tif);
  TIFFSetField (tif, TIFFTAG_IMAGEWIDTH, 64);
  TIFFSetField (tif, TIFFTAG_IMAGELENGTH, 48);
  TIFFSetField (tif, TIFFTAG_SAMPLESPERPIXEL, 3);
  TIFFSetField (tif, TIFFTAG_BITSPERSAMPLE, 8);
  TIFFSetField (tif, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
  TIFFSetField (tif, TIFFTAG_COMPRESSION, COMPRESSION_JPEG);
  TIFFSetField (tif, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_YCBCR);
  TIFFSetField (tif, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB);
  TIFFSetField (tif, TIFFTAG_ROWSPERSTRIP, 16);
  for (guint y = 0; y < 48; y++)
    {
      guint8 row[64 * 3];

      for (guint x = 0; x < 64; x++)
        for (guint c = 0; c < 3; c++)
          row[x * 3 + c] = (guint8) px_smooth (x, y, c);
      g_assert_cmpint (TIFFWriteScanline (tif, row, y, 0), >=, 0);
    }
  TIFFClose (tif);
  a = load_ok (jp, 0);
  g_assert_cmpuint (a->width, ==, 64);
  g_assert_cmpuint (a->height, ==, 48);
  g_assert_cmpuint (a->channels, ==, 3);
  for (guint c = 0; c < 3; c++)
    g_assert_cmpint (abs ((int) ((guint8 *) a->data)[(20 * 64 + 30) * 3 + c] - (int) px_smooth (0, 0, c)), <=, 4);

  tif = TIFFOpen (cp, "w");
  g_assert_nonnull (tif);
  TIFFSetField (tif, TIFFTAG_IMAGEWIDTH, 20);
  TIFFSetField (tif, TIFFTAG_IMAGELENGTH, 10);
  TIFFSetField (tif, TIFFTAG_SAMPLESPERPIXEL, 4);
  TIFFSetField (tif, TIFFTAG_BITSPERSAMPLE, 8);
  TIFFSetField (tif, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
  TIFFSetField (tif, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_SEPARATED);
  TIFFSetField (tif, TIFFTAG_INKSET, INKSET_CMYK);
  for (guint y = 0; y < 10; y++)
    {
      guint8 row[20 * 4] = { 0 };

      for (guint x = 0; x < 20; x++)
        row[x * 4 + 0] = 255; /* full cyan: red 0, green and blue 255 */
      g_assert_cmpint (TIFFWriteScanline (tif, row, y, 0), >=, 0);
    }
  TIFFClose (tif);
  b = load_ok (cp, 0);
  g_assert_cmpuint (b->channels, ==, 3);
  g_assert_cmpuint (((guint8 *) b->data)[0], ==, 0);
  g_assert_cmpuint (((guint8 *) b->data)[1], ==, 255);
  g_assert_cmpuint (((guint8 *) b->data)[2], ==, 255);
}

// --- percentile stretch --------------------------------------------------------------------

static double px_ramp (guint x, guint y, guint c) { return 1000 + (y * 100 + x) * 0.1; }

static void
test_stretch (void)
{
  /* 10000 distinct values 1000..1999.9: the 0.5th/99.5th percentiles. */
  TestTiff spec = { 100, 100, 1, 32, SAMPLEFORMAT_IEEEFP, PHOTOMETRIC_MINISBLACK, .pixel = px_ramp };
  g_autofree char *path = tmp_path ("ramp.tif");
  g_autoptr(MvaImage) img = NULL;
  g_autofree guint8 *gray = NULL;
  double lo, hi;

  g_assert_true (test_write_tiff (path, &spec));
  img = load_ok (path, 0);
  mva_image_stretch_range (img, &lo, &hi);
  g_assert_cmpfloat_with_epsilon (lo, 1000 + 0.1 * floor (0.005 * 9999), 0.2);
  g_assert_cmpfloat_with_epsilon (hi, 1000 + 0.1 * ceil (0.995 * 9999), 0.2);
  gray = mva_image_to_gray8 (img);
  g_assert_cmpuint (gray[0], ==, 0);
  g_assert_cmpuint (gray[9999], ==, 255);
  g_assert_cmpuint (gray[5000], >=, 125);
  g_assert_cmpuint (gray[5000], <=, 130);
}

// --- vendor metadata -----------------------------------------------------------------------

static const char fei_text[] =
  "[User]\r\nDate=01/02/2020\r\n\r\n[System]\r\nType=SEM\r\nSystemType=Quanta FEG 250\r\n"
  "[Beam]\r\nHV=15000\r\n\r\n[EBeam]\r\nHV=15000\r\nWD=0.0101\r\nHFW=5.12e-005\r\n\r\n"
  "[Scan]\r\nPixelWidth=5e-008\r\nPixelHeight=5.5e-008\r\nHorFieldsize=5.12e-005\r\n\r\n"
  "[Detectors]\r\nNumber=1\r\nName=ETD\r\nMode=SE\r\n\r\n"
  "[Image]\r\nResolutionX=1024\r\nResolutionY=96\r\nMagCanvasRealWidth=0.128\r\n";

static const char zeiss_text[] =
  "\x00\x00" "0\r\nAP_PIXEL_SIZE\r\nPixel Size = 19.53 nm\r\n"
  "AP_IMAGE_PIXEL_SIZE\r\nImage Pixel Size = 9.766 nm\r\n"
  "AP_MAG\r\nMag = 12.34 K X\r\nAP_WD\r\nWD = 4.6 mm\r\nAP_ACTUALKV\r\nEHT = 5.00 kV\r\n"
  "DP_DETECTOR_CHANNEL\r\nSignal A = InLens\r\nSV_SERIAL_NUMBER\r\nSerial No. = Auriga-39-07\r\n";

static double px_noise (guint x, guint y, guint c) { return 60 + (x * 2654435761u ^ y * 40503u) % 120; }

static void
test_fei_tag (void)
{
  TestTiff spec = { 128, 112, 1, 8, SAMPLEFORMAT_UINT, PHOTOMETRIC_MINISBLACK, .fei_text = fei_text,
                    .pixel = px_noise };
  g_autofree char *path = tmp_path ("fei.tif");
  g_autoptr(MvaImage) img = NULL;

  g_assert_true (test_write_tiff (path, &spec));
  img = load_ok (path, 0);
  g_assert_cmpstr (img->meta.vendor_format, ==, "fei");
  g_assert_cmpfloat_with_epsilon (img->meta.pixel_size_nm, 50.0, 1e-9);
  g_assert_cmpfloat_with_epsilon (img->meta.pixel_size_y_nm, 55.0, 1e-9);
  g_assert_cmpfloat_with_epsilon (img->meta.hv_kv, 15.0, 1e-9);
  g_assert_cmpfloat_with_epsilon (img->meta.wd_mm, 10.1, 1e-9);
  g_assert_cmpfloat_with_epsilon (img->meta.magnification, 2500.0, 1e-6);
  g_assert_cmpstr (img->meta.instrument, ==, "FEI Quanta FEG 250");
  g_assert_cmpstr (img->meta.detector, ==, "ETD SE");
  /* 112 rows in the file, ResolutionY 96: a 16-row data bar. */
  g_assert_cmpint (img->meta.databar_height_px, ==, 16);
  g_assert_cmpuint (img->databar_rows, ==, 16);
}

static void
test_zeiss_tag (void)
{
  TestTiff spec = { 64, 48, 1, 8, SAMPLEFORMAT_UINT, PHOTOMETRIC_MINISBLACK, .pixel = px_noise };
  g_autofree char *path = tmp_path ("zeiss.tif");
  g_autoptr(MvaImage) img = NULL;
  /* libtiff writes ASCII up to the first NUL: keep the text NUL-free here. */
  g_autofree char *text = g_strdup (zeiss_text + 2);
  MvaImageMeta meta;

  spec.zeiss_text = text;
  g_assert_true (test_write_tiff (path, &spec));
  img = load_ok (path, 0);
  g_assert_cmpstr (img->meta.vendor_format, ==, "zeiss");
  g_assert_cmpfloat_with_epsilon (img->meta.pixel_size_nm, 9.766, 1e-9);
  g_assert_cmpfloat_with_epsilon (img->meta.hv_kv, 5.0, 1e-9);
  g_assert_cmpfloat_with_epsilon (img->meta.wd_mm, 4.6, 1e-9);
  g_assert_cmpfloat_with_epsilon (img->meta.magnification, 12340.0, 1e-6);
  g_assert_cmpstr (img->meta.detector, ==, "InLens");
  g_assert_cmpstr (img->meta.instrument, ==, "Zeiss Auriga-39-07");

  /* The raw parser, NULs included, and each length unit. */
  _mva_image_meta_init (&meta);
  g_assert_true (_mva_tiff_meta_parse_zeiss (zeiss_text, sizeof zeiss_text - 1, &meta));
  g_assert_cmpfloat_with_epsilon (meta.pixel_size_nm, 9.766, 1e-9);
  _mva_image_meta_clear (&meta);
  g_assert_cmpfloat_with_epsilon (_mva_parse_length_nm ("543.0 pm"), 0.543, 1e-12);
  g_assert_cmpfloat_with_epsilon (_mva_parse_length_nm ("1.5 \xc2\xb5m"), 1500, 1e-9);
  g_assert_cmpfloat_with_epsilon (_mva_parse_length_nm ("1.5 um"), 1500, 1e-9);
  g_assert_cmpfloat_with_epsilon (_mva_parse_length_nm ("2 mm"), 2e6, 1e-6);
  g_assert_true (isnan (_mva_parse_length_nm ("2 eV")));
  g_assert_true (isnan (_mva_parse_length_nm ("nm")));
  /* Only "Pixel Size" present: used. */
  {
    const char only[] = "AP_PIXEL_SIZE\nPixel Size = 3.2 nm\n";

    _mva_image_meta_init (&meta);
    g_assert_true (_mva_tiff_meta_parse_zeiss (only, sizeof only - 1, &meta));
    g_assert_cmpfloat_with_epsilon (meta.pixel_size_nm, 3.2, 1e-9);
    _mva_image_meta_clear (&meta);
  }
}

static void
test_resolution_tags (void)
{
  /* 10 nm pixels as pixels per centimetre: plausible, used. */
  TestTiff spec = { 32, 32, 1, 8, SAMPLEFORMAT_UINT, PHOTOMETRIC_MINISBLACK, .xres = 1e6f,
                    .res_unit = RESUNIT_CENTIMETER, .pixel = px_noise };
  g_autofree char *p1 = tmp_path ("res-cm.tif");
  g_autofree char *p2 = tmp_path ("res-72dpi.tif");
  g_autofree char *p3 = tmp_path ("imagej.tif");
  g_autoptr(MvaImage) a = NULL, b = NULL, c = NULL;

  g_assert_true (test_write_tiff (p1, &spec));
  a = load_ok (p1, 0);
  g_assert_cmpstr (a->meta.vendor_format, ==, "tiff-resolution");
  g_assert_cmpfloat_with_epsilon (a->meta.pixel_size_nm, 10.0, 1e-6);

  /* 72 dpi is a desktop default (0.35 mm per pixel): not a pixel size. */
  spec.xres = 72;
  spec.res_unit = RESUNIT_INCH;
  g_assert_true (test_write_tiff (p2, &spec));
  b = load_ok (p2, 0);
  g_assert_true (isnan (b->meta.pixel_size_nm));
  g_assert_null (b->meta.vendor_format);

  /* ImageJ: resolution in pixels per unit= of the description. */
  spec.xres = 50;
  spec.res_unit = RESUNIT_NONE;
  spec.description = "ImageJ=1.53t\nunit=micron\n";
  g_assert_true (test_write_tiff (p3, &spec));
  c = load_ok (p3, 0);
  g_assert_cmpstr (c->meta.vendor_format, ==, "imagej");
  g_assert_cmpfloat_with_epsilon (c->meta.pixel_size_nm, 20.0, 1e-6);
}

static void
test_sidecars (void)
{
  TestTiff spec = { 160, 128, 1, 8, SAMPLEFORMAT_UINT, PHOTOMETRIC_MINISBLACK, .pixel = px_noise };
  g_autofree char *hp = tmp_path ("hitachi.tif");
  g_autofree char *ht = tmp_path ("hitachi.txt");
  g_autofree char *jp = tmp_path ("jeol.tif");
  g_autofree char *jt = tmp_path ("jeol.txt");
  g_autofree char *np = tmp_path ("nometa.tif");
  const char hitachi[] = "[SemImageFile]\r\nInstructName=S-4800\r\nDataSize=160x120\r\n"
                         "PixelSize=9.921875\r\nAcceleratingVoltage=10000 Volt\r\n"
                         "WorkingDistance=8100 um\r\nMagnification=5000\r\nSignalName=SE(U)\r\n";
  const char jeol[] = "$CM_FORMAT JEOL/SEM\n$CM_INSTRUMENT JSM-7800F\n$CM_SIGNAL SEI\n"
                      "$CM_MAG 10000\n$CM_ACCEL_VOLT 15.00\n$CM_FULL_SIZE 320 240\n"
                      "$$SM_MICRON_BAR 180\n$$SM_MICRON_MARKER 5um\n$$SM_WD 10.0\n";
  g_autoptr(MvaImage) h = NULL, j = NULL, n = NULL;

  g_assert_true (test_write_tiff (hp, &spec));
  g_assert_true (test_write_file (ht, hitachi, sizeof hitachi - 1));
  h = load_ok (hp, 0);
  g_assert_cmpstr (h->meta.vendor_format, ==, "hitachi");
  g_assert_cmpfloat_with_epsilon (h->meta.pixel_size_nm, 9.921875, 1e-9);
  g_assert_cmpfloat_with_epsilon (h->meta.hv_kv, 10.0, 1e-9);
  g_assert_cmpfloat_with_epsilon (h->meta.wd_mm, 8.1, 1e-9);
  g_assert_cmpstr (h->meta.instrument, ==, "Hitachi S-4800");
  g_assert_cmpstr (h->meta.detector, ==, "SE(U)");
  g_assert_cmpint (h->meta.databar_height_px, ==, 8);

  /* JEOL: the scale is for 320 px across; the stored image is 160. */
  g_assert_true (test_write_tiff (jp, &spec));
  g_assert_true (test_write_file (jt, jeol, sizeof jeol - 1));
  j = load_ok (jp, 0);
  g_assert_cmpstr (j->meta.vendor_format, ==, "jeol");
  g_assert_cmpfloat_with_epsilon (j->meta.pixel_size_nm, 5000.0 / 180.0 * 2.0, 1e-6);
  g_assert_cmpfloat_with_epsilon (j->meta.hv_kv, 15.0, 1e-9);
  g_assert_cmpfloat_with_epsilon (j->meta.wd_mm, 10.0, 1e-9);
  g_assert_cmpfloat_with_epsilon (j->meta.magnification, 10000.0, 1e-9);
  g_assert_cmpstr (j->meta.instrument, ==, "JEOL JSM-7800F");
  g_assert_cmpstr (j->meta.detector, ==, "SEI");

  /* No metadata at all: pixel size unknown, nothing invented. */
  g_assert_true (test_write_tiff (np, &spec));
  n = load_ok (np, 0);
  g_assert_true (isnan (n->meta.pixel_size_nm));
  g_assert_true (isnan (n->meta.hv_kv));
  g_assert_true (isnan (n->meta.magnification));
  g_assert_null (n->meta.instrument);
  g_assert_null (n->meta.detector);
  g_assert_null (n->meta.vendor_format);
}

// --- DM3 / DM4 -----------------------------------------------------------------------------

static double px_dm (guint x, guint y, guint c) { return (double) x * 3 - (double) y * 2 + 100; }

static void
test_dm (void)
{
  for (int version = 3; version <= 4; version++)
    {
      const struct { int et, dt; guint bits; MvaSampleFormat fmt; } types[] = {
        { 6, 2, 32, MVA_SAMPLE_FLOAT },  /* float */
        { 2, 1, 16, MVA_SAMPLE_INT },    /* int16 */
        { 4, 10, 16, MVA_SAMPLE_UINT },  /* uint16 */
        { 3, 7, 32, MVA_SAMPLE_INT },    /* int32 */
        { 10, 6, 8, MVA_SAMPLE_UINT },   /* uint8 */
        { 7, 12, 32, MVA_SAMPLE_FLOAT }, /* double */
      };

      for (guint t = 0; t < G_N_ELEMENTS (types); t++)
        {
          TestDm spec = { version, 96, 64, types[t].et, types[t].dt, 0.25, "nm", 200000, 50000,
                          "Test TEM 2100", TRUE, px_dm };
          g_autoptr(GBytes) bytes = test_dm_bytes (&spec);
          g_autofree char *name = g_strdup_printf ("image-%d.dm%d", t, version);
          g_autofree char *path = tmp_path (name);
          g_autoptr(MvaImage) img = NULL;
          gsize len;
          const guint8 *data = g_bytes_get_data (bytes, &len);

          g_assert_true (test_write_file (path, data, len));
          img = load_ok (path, 0);
          g_assert_cmpstr (img->format, ==, version == 4 ? "DM4" : "DM3");
          g_assert_cmpuint (img->width, ==, 96);
          g_assert_cmpuint (img->height, ==, 64);
          g_assert_cmpuint (img->channels, ==, 1);
          g_assert_cmpuint (img->bit_depth, ==, types[t].bits);
          g_assert_cmpint (img->sample_format, ==, types[t].fmt);
          g_assert_cmpfloat_with_epsilon (img->meta.pixel_size_nm, 0.25, 1e-9);
          g_assert_cmpfloat_with_epsilon (img->meta.hv_kv, 200.0, 1e-9);
          g_assert_cmpfloat_with_epsilon (img->meta.magnification, 50000.0, 1e-9);
          g_assert_cmpstr (img->meta.instrument, ==, "Test TEM 2100");
          if (types[t].et == 2)
            {
              /* int16 at (10, 60): 30 - 120 + 100 = 10; (0, 63): -26 */
              g_assert_cmpint (((gint16 *) img->data)[60 * 96 + 10], ==, 10);
              g_assert_cmpint (((gint16 *) img->data)[63 * 96 + 0], ==, -26);
            }
          if (types[t].et == 6)
            g_assert_cmpfloat (((float *) img->data)[5 * 96 + 7], ==, 7 * 3 - 5 * 2 + 100);
          /* Truncated copies give a clear error. */
          for (gsize cut = 0; cut < len; cut += len / 7 + 1)
            {
              g_autofree char *tname = g_strdup_printf ("trunc-%d-%" G_GSIZE_FORMAT ".dm%d", t, cut, version);
              g_autofree char *tpath = tmp_path (tname);

              g_assert_true (test_write_file (tpath, data, MAX (cut, 1)));
              expect_error (tpath, 0);
            }
        }

      /* micrometres and a preview */
      {
        TestDm spec = { version, 300, 200, 4, 10, 0.002, "\xc2\xb5m", 0, 0, NULL, FALSE, px_dm };
        g_autoptr(GBytes) bytes = test_dm_bytes (&spec);
        g_autofree char *name = g_strdup_printf ("um.dm%d", version);
        g_autofree char *path = tmp_path (name);
        g_autoptr(MvaImage) img = NULL;

        g_assert_true (test_write_file (path, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes)));
        img = load_ok (path, 100);
        g_assert_cmpuint (img->width, ==, 100);
        g_assert_cmpuint (img->full_width, ==, 300);
        g_assert_cmpfloat_with_epsilon (img->meta.pixel_size_nm, 2.0, 1e-6);
        g_assert_true (isnan (img->meta.hv_kv));
        g_assert_null (img->meta.instrument);
      }

      /* A spectrum: not an image, said so. */
      {
        TestDm spec = { version, 2048, 0, 6, 2, 0.25, "eV", 200000, 0, NULL, TRUE, px_dm };
        g_autoptr(GBytes) bytes = test_dm_bytes (&spec);
        g_autofree char *name = g_strdup_printf ("spectrum.dm%d", version);
        g_autofree char *path = tmp_path (name);
        g_autoptr(GError) error = NULL;
        g_autoptr(MvaImage) img = NULL;

        g_assert_true (test_write_file (path, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes)));
        img = mva_image_load (path, 0, &error);
        g_assert_null (img);
        g_assert_error (error, MVA_IMAGE_ERROR, MVA_IMAGE_ERROR_UNSUPPORTED);
        g_assert_nonnull (strstr (error->message, "not an image"));
      }
    }
}

// --- bad files ---------------------------------------------------------------------------------

static void
write_variants (const char *good_path, const char *stem)
{
  g_autofree char *contents = NULL;
  gsize len;
  g_autofree char *zero = g_strdup_printf ("%s-zero.%s", stem, stem);
  g_autofree char *trunc_half = g_strdup_printf ("%s-half.%s", stem, stem);
  g_autofree char *trunc_head = g_strdup_printf ("%s-head.%s", stem, stem);
  g_autofree char *garbage = g_strdup_printf ("%s-garbage.%s", stem, stem);
  g_autofree char *p;

  g_assert_true (g_file_get_contents (good_path, &contents, &len, NULL));

  p = tmp_path (zero);
  g_assert_true (test_write_file (p, "", 0));
  expect_error (p, 0);
  g_free (p);

  p = tmp_path (trunc_half);
  g_assert_true (test_write_file (p, contents, len / 2));
  expect_error (p, 0);
  expect_error (p, 64);
  g_free (p);

  p = tmp_path (trunc_head);
  g_assert_true (test_write_file (p, contents, MIN (len, 12)));
  expect_error (p, 0);
  g_free (p);

  /* Same header, garbage after it. */
  {
    g_autofree char *junk = g_memdup2 (contents, len);

    for (gsize i = 16; i < len; i++)
      junk[i] = (char) (i * 131 + 7);
    p = tmp_path (garbage);
    g_assert_true (test_write_file (p, junk, len));
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(MvaImage) img = mva_image_load (p, 0, &error);

      /* Garbage may still decode as some image (e.g. raw TIFF strips); it
       * must not crash, and an error must be a clear one. */
      if (img == NULL)
        g_assert_nonnull (strstr (error->message, p));
    }
    g_free (p);
  }
  p = NULL;
}

static void
test_bad_files (void)
{
  TestTiff spec = { 64, 48, 1, 16, SAMPLEFORMAT_UINT, PHOTOMETRIC_MINISBLACK, COMPRESSION_LZW,
                    .fei_text = fei_text, .pixel = px_16 };
  g_autofree char *tif = tmp_path ("good.tif");
  g_autofree char *png = tmp_path ("good.png");
  g_autofree char *jpg = tmp_path ("good.jpg");
  g_autofree char *text = tmp_path ("notes.tif");
  g_autofree char *dir = tmp_path ("a-folder.png");
  g_autofree char *missing = tmp_path ("missing.png");
  TestDm dm = { 3, 40, 30, 6, 2, 1.0, "nm", 0, 0, NULL, FALSE, px_dm };
  g_autoptr(GBytes) dm_bytes = test_dm_bytes (&dm);
  g_autofree char *dm3 = tmp_path ("good.dm3");
  g_autoptr(GError) error = NULL;
  g_autoptr(MvaImage) img = NULL;

  g_assert_true (test_write_tiff (tif, &spec));
  g_assert_true (test_write_file (dm3, g_bytes_get_data (dm_bytes, NULL), g_bytes_get_size (dm_bytes)));
  {
    /* PNG and JPEG through the writers every system has. */
    g_autofree char *cmd_png = g_strdup_printf ("convert -size 64x48 gradient: '%s'", png);
    g_autofree char *cmd_jpg = g_strdup_printf ("convert -size 64x48 gradient: '%s'", jpg);
    int st1 = -1, st2 = -1;

    if (!g_spawn_command_line_sync (cmd_png, NULL, NULL, &st1, NULL) || st1 != 0
        || !g_spawn_command_line_sync (cmd_jpg, NULL, NULL, &st2, NULL) || st2 != 0)
      {
        g_test_skip ("ImageMagick convert not available");
        return;
      }
  }
  write_variants (tif, "tif");
  write_variants (png, "png");
  write_variants (jpg, "jpg");
  write_variants (dm3, "dm3");

  /* Wrong extension: content decides. */
  {
    g_autofree char *contents = NULL;
    g_autofree char *as_jpg = tmp_path ("really-a-png.jpg");
    g_autofree char *as_tif = tmp_path ("really-a-dm3.tif");
    gsize len;
    g_autoptr(MvaImage) a = NULL, b = NULL;

    g_assert_true (g_file_get_contents (png, &contents, &len, NULL));
    g_assert_true (test_write_file (as_jpg, contents, len));
    a = load_ok (as_jpg, 0);
    g_assert_cmpstr (a->format, ==, "PNG");
    g_assert_true (test_write_file (as_tif, g_bytes_get_data (dm_bytes, NULL), g_bytes_get_size (dm_bytes)));
    b = load_ok (as_tif, 0);
    g_assert_cmpstr (b->format, ==, "DM3");
  }

  /* A text file named .tif, a folder, a missing file. */
  g_assert_true (test_write_file (text, "hello, this is not an image\n", 28));
  img = mva_image_load (text, 0, &error);
  g_assert_error (error, MVA_IMAGE_ERROR, MVA_IMAGE_ERROR_UNSUPPORTED);
  g_clear_error (&error);
  g_assert_cmpint (g_mkdir (dir, 0700), ==, 0);
  img = mva_image_load (dir, 0, &error);
  g_assert_error (error, MVA_IMAGE_ERROR, MVA_IMAGE_ERROR_OPEN);
  g_clear_error (&error);
  img = mva_image_load (missing, 0, &error);
  g_assert_error (error, MVA_IMAGE_ERROR, MVA_IMAGE_ERROR_OPEN);
  g_clear_error (&error);

  /* PNG / JPEG decode right. */
  {
    g_autoptr(MvaImage) p = load_ok (png, 0);
    g_autoptr(MvaImage) j = load_ok (jpg, 0);

    g_assert_cmpuint (p->width, ==, 64);
    g_assert_cmpuint (p->height, ==, 48);
    g_assert_cmpuint (j->width, ==, 64);
    g_assert_cmpstr (j->format, ==, "JPEG");
  }
}

static void
test_png_16bit (void)
{
  g_autofree char *png = tmp_path ("deep.png");
  g_autofree char *cmd = g_strdup_printf ("convert -size 40x30 -depth 16 gradient:black-white '%s'", png);
  int status = -1;
  g_autoptr(MvaImage) img = NULL;

  if (!g_spawn_command_line_sync (cmd, NULL, NULL, &status, NULL) || status != 0)
    {
      g_test_skip ("ImageMagick convert not available");
      return;
    }
  img = load_ok (png, 0);
  g_assert_cmpuint (img->bit_depth, ==, 16);
  g_assert_cmpuint (img->channels, ==, 1);
  /* top row black, bottom row white, at 16 bits */
  g_assert_cmpuint (((guint16 *) img->data)[0], <, 500);
  g_assert_cmpuint (((guint16 *) img->data)[29 * 40], >, 65000);
}

static void
test_png_jpeg_previews (void)
{
  g_autofree char *png = tmp_path ("big.png");
  g_autofree char *jpg = tmp_path ("big.jpg");
  g_autofree char *cmd2 = NULL;
  int status = -1;
  g_autofree char *cmd = g_strdup_printf ("convert -size 3000x2000 gradient:white-black '%s'", png);
  cmd2 = g_strdup_printf ("convert -size 3000x2000 gradient:white-black -quality 90 '%s'", jpg);
  if (!g_spawn_command_line_sync (cmd, NULL, NULL, &status, NULL) || status != 0
      || !g_spawn_command_line_sync (cmd2, NULL, NULL, &status, NULL) || status != 0)
    {
      g_test_skip ("ImageMagick convert not available");
      return;
    }
  for (guint i = 0; i < 2; i++)
    {
      g_autoptr(MvaImage) img = load_ok (i == 0 ? png : jpg, 300);
      g_autofree guint8 *d = mva_image_to_gray8 (img);

      g_assert_cmpuint (img->full_width, ==, 3000);
      g_assert_cmpuint (img->full_height, ==, 2000);
      g_assert_cmpuint (MAX (img->width, img->height), <=, 300);
      g_assert_cmpuint (MAX (img->width, img->height), >=, 150);
      g_assert_cmpfloat_with_epsilon ((double) img->width / img->height, 1.5, 0.02);
      /* white at the top, black at the bottom */
      g_assert_cmpuint (d[img->width / 2], >, 240);
      g_assert_cmpuint (d[(gsize) (img->height - 1) * img->width + img->width / 2], <, 15);
    }
}

static void
test_huge_header (void)
{
  g_autoptr(GBytes) bytes = test_png_header (100000, 100000, 8, 0);
  g_autofree char *path = tmp_path ("huge-header.png");
  g_autoptr(GError) e1 = NULL, e2 = NULL, e3 = NULL;
  g_autoptr(MvaImage) a = NULL, b = NULL, c = NULL;

  g_assert_true (test_write_file (path, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes)));
  a = mva_image_load (path, 0, &e1);
  g_assert_null (a);
  g_assert_nonnull (e1);
  g_test_message ("%s", e1->message);
  g_assert_true (g_error_matches (e1, MVA_IMAGE_ERROR, MVA_IMAGE_ERROR_CORRUPT)
                 || g_error_matches (e1, MVA_IMAGE_ERROR, MVA_IMAGE_ERROR_TOO_LARGE));
  b = mva_image_load (path, 512, &e2);
  g_assert_null (b);
  g_assert_error (e2, MVA_IMAGE_ERROR, MVA_IMAGE_ERROR_CORRUPT);
  c = mva_image_probe (path, &e3);
  g_assert_null (c);
  g_assert_error (e3, MVA_IMAGE_ERROR, MVA_IMAGE_ERROR_CORRUPT);
}

// --- huge images: previews ----------------------------------------------------------------------

static double px_huge (guint x, guint y, guint c) { return ((x / 1000) * 10 + (y / 1000) * 3) % 256; }

static void
test_huge_preview (void)
{
  TestTiff spec = { 20000, 20000, 1, 8, SAMPLEFORMAT_UINT, PHOTOMETRIC_MINISBLACK,
                    COMPRESSION_ADOBE_DEFLATE, .rows_per_strip = 64, .pixel = px_huge };
  g_autofree char *path = tmp_path ("huge.tif");
  g_autoptr(GError) error = NULL;
  g_autoptr(MvaImage) full = NULL, preview = NULL, probe = NULL;

  if (g_getenv ("MVAEMA_TEST_QUICK") != NULL)
    {
      /* Same code path at 4000^2 for quick local runs. */
      spec.width = spec.height = 4000;
    }
  g_assert_true (test_write_tiff (path, &spec));
  probe = mva_image_probe (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (probe->full_width, ==, spec.width);
  g_assert_null (probe->data);

  if (spec.width == 20000)
    {
      full = mva_image_load (path, 0, &error);
      g_assert_null (full);
      g_assert_error (error, MVA_IMAGE_ERROR, MVA_IMAGE_ERROR_TOO_LARGE);
      g_clear_error (&error);
    }
  preview = mva_image_load (path, spec.width / 20, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (preview->width, ==, spec.width / 20);
  g_assert_cmpuint (preview->height, ==, spec.height / 20);
  g_assert_cmpuint (preview->full_width, ==, spec.width);
  /* Each 20x20 box lies inside one 1000x1000 block of constant value. */
  for (guint y = 0; y < preview->height; y += 13)
    for (guint x = 0; x < preview->width; x += 17)
      g_assert_cmpuint (((guint8 *) preview->data)[(gsize) y * preview->stride + x], ==,
                        (guint) px_huge (x * 20, y * 20, 0));
}

static void
test_preview_box_filter (void)
{
  /* 16-bit, odd size: the preview is the mean of each box, at full depth. */
  TestTiff spec = { 101, 53, 1, 16, SAMPLEFORMAT_UINT, PHOTOMETRIC_MINISBLACK, .pixel = px_16 };
  g_autofree char *path = tmp_path ("box.tif");
  g_autoptr(MvaImage) full = NULL, prev = NULL;

  g_assert_true (test_write_tiff (path, &spec));
  full = load_ok (path, 0);
  prev = load_ok (path, 25);
  /* factor ceil(101/25) = 5 -> 21 x 11 */
  g_assert_cmpuint (prev->width, ==, 21);
  g_assert_cmpuint (prev->height, ==, 11);
  g_assert_cmpuint (prev->bit_depth, ==, 16);
  for (guint oy = 0; oy < prev->height; oy++)
    for (guint ox = 0; ox < prev->width; ox++)
      {
        double sum = 0;
        guint n = 0;

        for (guint y = oy * 5; y < MIN (oy * 5 + 5, 53); y++)
          for (guint x = ox * 5; x < MIN (ox * 5 + 5, 101); x++)
            {
              sum += ((guint16 *) full->data)[y * 101 + x];
              n++;
            }
        g_assert_cmpuint (((guint16 *) prev->data)[oy * 21 + ox], ==, (guint) floor (sum / n + 0.5));
      }
}

// --- data bar -------------------------------------------------------------------------------------

static guint8 *
synthetic_sem (guint w, guint h, guint bar, gboolean dark_bar)
{
  guint8 *g = g_malloc ((gsize) w * h);

  for (guint y = 0; y < h; y++)
    for (guint x = 0; x < w; x++)
      {
        guint8 v = (guint8) (70 + (x * 2654435761u ^ (y * 97u)) % 110);

        if (y >= h - bar)
          {
            guint by = y - (h - bar);
            /* text: blocks of glyph-like strokes on two lines */
            gboolean ink = (by > bar / 5 && by < bar / 2 && (x / 3) % 4 == 0 && x % 200 < 150)
                           || (by > bar * 3 / 5 && by < bar * 4 / 5 && (x / 2) % 5 == 1 && x % 180 < 90);

            v = dark_bar ? (ink ? 240 : 5) : (ink ? 10 : 250);
          }
        g[(gsize) y * w + x] = v;
      }
  return g;
}

static void
test_databar_detect (void)
{
  g_autofree guint8 *a = synthetic_sem (800, 600, 60, TRUE);
  g_autofree guint8 *b = synthetic_sem (800, 600, 45, FALSE);
  g_autofree guint8 *c = synthetic_sem (800, 600, 0, TRUE);
  g_autofree guint8 *tem = g_malloc (800 * 600);

  g_assert_cmpuint (_mva_databar_detect (a, 800, 600), ==, 60);
  g_assert_cmpuint (_mva_databar_detect (b, 800, 600), ==, 45);
  g_assert_cmpuint (_mva_databar_detect (c, 800, 600), ==, 0);

  /* TEM-like: bright vacuum, a dark particle, a scale bar in the corner. */
  for (guint y = 0; y < 600; y++)
    for (guint x = 0; x < 800; x++)
      {
        double d = hypot ((double) x - 400, (double) y - 250);
        guint8 v = d < 200 ? 60 : 235 + (x + y) % 10;

        if (y > 560 && y < 570 && x > 600 && x < 760)
          v = 0;
        tem[y * 800 + x] = v;
      }
  g_assert_cmpuint (_mva_databar_detect (tem, 800, 600), ==, 0);
}

static void
check_synth_dir (const char *dir, gboolean with_bar)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  guint n = 0;

  g_assert_nonnull (d);
  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *sub = g_build_filename (dir, name, NULL);
      g_autoptr(GDir) sd = NULL;
      const char *f;

      if (!g_file_test (sub, G_FILE_TEST_IS_DIR))
        continue;
      sd = g_dir_open (sub, 0, NULL);
      while ((f = g_dir_read_name (sd)) != NULL)
        {
          g_autofree char *path = g_build_filename (sub, f, NULL);
          g_autoptr(MvaImage) img = NULL;
          g_autofree guint8 *gray = NULL;
          guint found;

          if (!g_str_has_suffix (f, ".tif"))
            continue;
          img = load_ok (path, 0);
          gray = mva_image_to_gray8 (img);
          found = _mva_databar_detect (gray, img->width, img->height);
          g_test_message ("%s: metadata %d rows, analysis %u rows", path,
                          img->meta.databar_height_px, found);
          if (with_bar)
            {
              g_assert_cmpint (img->meta.databar_height_px, >, 0);
              g_assert_cmpint (abs ((int) found - img->meta.databar_height_px), <=, 2);
            }
          else
            g_assert_cmpuint (found, ==, 0);
          n++;
        }
    }
  g_assert_cmpuint (n, >=, 10);
}

static void
test_synth_databar (void)
{
  /* The app's own generator draws FEI-style data bars and writes the FEI
   * tag: image analysis must agree with it, and find none without a bar. */
  const char *cli = g_getenv ("MVAEMA_CLI");
  g_autofree char *with = tmp_path ("synth-bar");
  g_autofree char *without = tmp_path ("synth-nobar");
  const char *argv_bar[] = { cli, "synth", "-o", with, "-n", "1", "-s", "11", "-t", "1",
                             "--databar", NULL };
  const char *argv_nobar[] = { cli, "synth", "-o", without, "-n", "1", "-s", "12", "-t", "1", NULL };
  int s1 = -1, s2 = -1;

  if (cli == NULL || !g_file_test (cli, G_FILE_TEST_IS_EXECUTABLE))
    {
      g_test_skip ("MVAEMA_CLI not set");
      return;
    }
  if (!g_spawn_sync (NULL, (char **) argv_bar, NULL, G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
                     NULL, NULL, NULL, NULL, &s1, NULL) || !g_spawn_check_wait_status (s1, NULL)
      || !g_spawn_sync (NULL, (char **) argv_nobar, NULL, G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
                        NULL, NULL, NULL, NULL, &s2, NULL) || !g_spawn_check_wait_status (s2, NULL))
    {
      g_test_skip ("mvaema-cli synth is not available in this build");
      return;
    }
  check_synth_dir (with, TRUE);
  check_synth_dir (without, FALSE);
}

// --- real instrument files ------------------------------------------------------------------------

typedef struct
{
  const char *rel;
  double      pixel_nm;
  const char *vendor;
  int         databar;  /* expected rows, -1: do not check */
} RealFile;

static void
test_real_files (void)
{
  const RealFile files[] = {
    { "instrument-files/dvtxc_fibresem_sample.01_img08.tif", 9.766, "zeiss", -1 },
    { "instrument-files/kit-data-manager_SEM-Mapping-Tool_1-as-cast_16_Sch_10k_InLens.tif", 11.16, "zeiss", -1 },
    { "instrument-files/kit-data-manager_SEM-Mapping-Tool_1-as-cast_18_Sch_10k_BSD-Compo.tif", 11.16, "zeiss", -1 },
    { "instrument-files/kit-data-manager_SEM-Mapping-Tool_FeMoOx_AntiA_04_1k5x_CN.tif", 74.43, "zeiss", -1 },
    { "instrument-files/vyastreb_sem2surface_Indent_20230912_7kV_spot4.5_FOV100um_multiBSE_A_05.tif", 65.1042, "fei", 79 },
    { "biological/jni_skan_rbc1.tif", 1.07917, "fei", 70 },
    { "fibres/IBMTRostock_GIFT_10%_gelatin_fibers.tif", 31.0059, "fei", 59 },
    { "fibres/IBMTRostock_GIFT_20%_gelatin_fibers.tif", 31.0059, "fei", 59 },
    { "porous/JStuckner_aquami_Sample.tif", 0.543, "zeiss", -1 },
  };
  const char *shared = shared_dir ();

  if (shared == NULL)
    {
      g_test_skip ("../shared not present");
      return;
    }
  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autofree char *path = g_build_filename (shared, "micrographs", files[i].rel, NULL);
      g_autoptr(MvaImage) img = NULL;
      g_autoptr(MvaImage) probe = NULL;
      g_autoptr(GError) error = NULL;

      if (!g_file_test (path, G_FILE_TEST_EXISTS))
        {
          g_test_message ("missing %s", path);
          continue;
        }
      probe = mva_image_probe (path, &error);
      g_assert_no_error (error);
      g_assert_cmpfloat_with_epsilon (probe->meta.pixel_size_nm, files[i].pixel_nm, 1e-6);
      img = load_ok (path, 0);
      g_assert_cmpfloat_with_epsilon (img->meta.pixel_size_nm, files[i].pixel_nm, 1e-6);
      g_assert_cmpstr (img->meta.vendor_format, ==, files[i].vendor);
      g_assert_nonnull (img->meta.instrument);
      g_assert_true (isfinite (img->meta.hv_kv));
      g_assert_true (isfinite (img->meta.wd_mm));
      g_assert_true (isfinite (img->meta.magnification));
      if (files[i].databar >= 0)
        {
          g_autofree guint8 *gray = mva_image_to_gray8 (img);
          guint found = _mva_databar_detect (gray, img->width, img->height);

          g_assert_cmpint (img->meta.databar_height_px, ==, files[i].databar);
          /* Image analysis agrees with what the vendor wrote. */
          g_test_message ("%s: vendor %d rows, analysis %u rows", files[i].rel,
                          files[i].databar, found);
          g_assert_cmpint (abs ((int) found - files[i].databar), <=, 3);
        }
      else
        {
          /* Zeiss writes no data-bar height: analysis must find one. */
          g_assert_cmpint (img->meta.databar_height_px, >, img->height / 20);
          g_assert_cmpint (img->meta.databar_height_px, <, img->height / 5);
        }
    }

  /* DM3/DM4: the images load, the spectra do not. */
  {
    const char *images[] = { "pycroscopy_SciFiDatasets_DMReader_Image_SI-Survey.dm3",
                             "pycroscopy_SciFiDatasets_DMReader_SI-HAADF.dm3" };
    const char *spectra[] = { "pycroscopy_SciFiDatasets_DMReader_EELS_STO.dm3",
                              "pycroscopy_SciFiDatasets_DMReader_EELS_STO.dm4" };

    for (guint i = 0; i < G_N_ELEMENTS (images); i++)
      {
        g_autofree char *path = g_build_filename (shared, "micrographs", "instrument-files", images[i], NULL);
        g_autoptr(MvaImage) img = NULL;

        if (!g_file_test (path, G_FILE_TEST_EXISTS))
          continue;
        img = load_ok (path, 0);
        g_assert_cmpuint (img->width * img->height, >, 10000);
        g_assert_cmpfloat_with_epsilon (img->meta.hv_kv, 200.0, 1e-9);
        /* Uncalibrated (no unit): no pixel size is invented. */
        g_assert_true (isnan (img->meta.pixel_size_nm));
      }
    for (guint i = 0; i < G_N_ELEMENTS (spectra); i++)
      {
        g_autofree char *path = g_build_filename (shared, "micrographs", "instrument-files", spectra[i], NULL);
        g_autoptr(GError) error = NULL;
        g_autoptr(MvaImage) img = NULL;

        if (!g_file_test (path, G_FILE_TEST_EXISTS))
          continue;
        img = mva_image_load (path, 0, &error);
        g_assert_null (img);
        g_assert_nonnull (strstr (error->message, "not an image"));
      }
  }

  /* Plain images without metadata: no pixel size. */
  {
    g_autofree char *path = g_build_filename (shared, "micrographs", "nanowires",
                                              "BoguslawObara_nanotubes2d_nanotubes.png", NULL);

    if (g_file_test (path, G_FILE_TEST_EXISTS))
      {
        g_autoptr(MvaImage) img = load_ok (path, 0);

        g_assert_true (isnan (img->meta.pixel_size_nm));
        g_assert_null (img->meta.vendor_format);
      }
  }
}

// --- mvaema-cli info --------------------------------------------------------------------------

static void
test_cli_info (void)
{
  const char *cli = g_getenv ("MVAEMA_CLI");
  TestTiff spec = { 128, 112, 1, 16, SAMPLEFORMAT_UINT, PHOTOMETRIC_MINISBLACK, .fei_text = fei_text,
                    .pixel = px_16 };
  g_autofree char *good = tmp_path ("cli-fei.tif");
  g_autofree char *plain = tmp_path ("cli-plain.tif");
  g_autofree char *bad = tmp_path ("cli-bad.png");
  g_autofree char *out = NULL, *err = NULL;
  g_auto(GStrv) lines = NULL;
  int status = 0;
  g_autoptr(GError) error = NULL;
  const char *argv_json[] = { cli, "info", good, bad, plain, "--json", NULL };
  const char *argv_text[] = { cli, "info", good, NULL };

  if (cli == NULL || !g_file_test (cli, G_FILE_TEST_IS_EXECUTABLE))
    {
      g_test_skip ("MVAEMA_CLI not set");
      return;
    }
  g_assert_true (test_write_tiff (good, &spec));
  spec.fei_text = NULL;
  g_assert_true (test_write_tiff (plain, &spec));
  g_assert_true (test_write_file (bad, "\x89PNG\r\n\x1a\nnot really", 18));

  g_spawn_sync (NULL, (char **) argv_json, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err,
                &status, &error);
  g_assert_no_error (error);
  g_assert_false (g_spawn_check_wait_status (status, NULL));  /* one file failed */
  g_assert_nonnull (strstr (err, "cli-bad.png"));
  lines = g_strsplit (g_strstrip (out), "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 3);
  for (guint i = 0; i < 3; i++)
    {
      g_autoptr(JsonParser) parser = json_parser_new ();
      JsonObject *o;

      g_assert_true (json_parser_load_from_data (parser, lines[i], -1, NULL));
      o = json_node_get_object (json_parser_get_root (parser));
      g_assert_true (json_object_has_member (o, "path"));
      if (i == 1)
        {
          g_assert_true (json_object_has_member (o, "error"));
          g_assert_false (json_object_has_member (o, "width"));
          continue;
        }
      g_assert_cmpint (json_object_get_int_member (o, "width"), ==, 128);
      g_assert_cmpint (json_object_get_int_member (o, "height"), ==, 112);
      g_assert_cmpint (json_object_get_int_member (o, "channels"), ==, 1);
      g_assert_cmpint (json_object_get_int_member (o, "bit_depth"), ==, 16);
      g_assert_cmpstr (json_object_get_string_member (o, "format"), ==, "TIFF");
      if (i == 0)
        {
          g_assert_cmpfloat_with_epsilon (json_object_get_double_member (o, "pixel_size_nm"), 50.0, 1e-9);
          g_assert_cmpfloat_with_epsilon (json_object_get_double_member (o, "pixel_size_y_nm"), 55.0, 1e-9);
          g_assert_cmpfloat_with_epsilon (json_object_get_double_member (o, "field_of_view_um"), 6.4, 1e-9);
          g_assert_cmpstr (json_object_get_string_member (o, "instrument"), ==, "FEI Quanta FEG 250");
          g_assert_cmpfloat_with_epsilon (json_object_get_double_member (o, "hv_kv"), 15.0, 1e-9);
          g_assert_cmpfloat_with_epsilon (json_object_get_double_member (o, "wd_mm"), 10.1, 1e-9);
          g_assert_cmpfloat_with_epsilon (json_object_get_double_member (o, "magnification"), 2500.0, 1e-6);
          g_assert_cmpstr (json_object_get_string_member (o, "detector"), ==, "ETD SE");
          g_assert_cmpint (json_object_get_int_member (o, "databar_height_px"), ==, 16);
        }
      else
        {
          const char *absent[] = { "pixel_size_nm", "pixel_size_y_nm", "field_of_view_um",
                                   "instrument", "hv_kv", "wd_mm", "magnification", "detector",
                                   "databar_height_px" };

          for (guint k = 0; k < G_N_ELEMENTS (absent); k++)
            g_assert_false (json_object_has_member (o, absent[k]));
        }
    }

  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_spawn_sync (NULL, (char **) argv_text, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err,
                &status, &error);
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_assert_nonnull (strstr (out, "128 x 112"));
  g_assert_nonnull (strstr (out, "16-bit"));
  g_assert_nonnull (strstr (out, "50 nm"));
}

int
main (int argc, char **argv)
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  tmpdir = g_dir_make_tmp ("mva-image-test-XXXXXX", NULL);
  g_assert_nonnull (tmpdir);

  g_test_add_func ("/Mva/Image/tiff-types", test_tiff_types);
  g_test_add_func ("/Mva/Image/palette", test_palette_values);
  g_test_add_func ("/Mva/Image/tiff-rgba-path", test_tiff_rgba_path);
  g_test_add_func ("/Mva/Image/stretch", test_stretch);
  g_test_add_func ("/Mva/Image/fei-tag", test_fei_tag);
  g_test_add_func ("/Mva/Image/zeiss-tag", test_zeiss_tag);
  g_test_add_func ("/Mva/Image/resolution-tags", test_resolution_tags);
  g_test_add_func ("/Mva/Image/sidecars", test_sidecars);
  g_test_add_func ("/Mva/Image/dm", test_dm);
  g_test_add_func ("/Mva/Image/bad-files", test_bad_files);
  g_test_add_func ("/Mva/Image/png-16bit", test_png_16bit);
  g_test_add_func ("/Mva/Image/huge-header", test_huge_header);
  g_test_add_func ("/Mva/Image/png-jpeg-previews", test_png_jpeg_previews);
  g_test_add_func ("/Mva/Image/preview-box-filter", test_preview_box_filter);
  g_test_add_func ("/Mva/Image/huge-preview", test_huge_preview);
  g_test_add_func ("/Mva/Image/databar", test_databar_detect);
  g_test_add_func ("/Mva/Image/synth-databar", test_synth_databar);
  g_test_add_func ("/Mva/Image/real-files", test_real_files);
  g_test_add_func ("/Mva/Image/cli-info", test_cli_info);
  ret = g_test_run ();

  {
    g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", tmpdir);

    if (ret == 0)
      g_spawn_command_line_sync (cmd, NULL, NULL, NULL, NULL);
  }
  g_free (tmpdir);
  return ret;
}
