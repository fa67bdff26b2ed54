/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * image-writers.h: test-only writers of TIFF (through libtiff, with vendor
 * tags), DM3/DM4 (tag tree written here) and minimal PNG headers, shared by
 * the image tests and the fuzz seed generator.
 */
#pragma once

#include <glib.h>
#include <tiffio.h>

G_BEGIN_DECLS

typedef double (*TestPixelFunc) (guint x, guint y, guint c);

typedef struct
{
  guint        width, height, spp, bps;
  guint16      sample_format;  /* SAMPLEFORMAT_UINT/INT/IEEEFP */
  guint16      photometric;
  guint16      compression;
  guint16      planar;         /* 0 = contiguous */
  guint        tile;           /* tile side; 0 = strips */
  guint        rows_per_strip; /* 0 = default */
  const char  *fei_text;       /* tag 34682 */
  const char  *zeiss_text;     /* tag 34118 */
  const char  *description;
  float        xres, yres;     /* 0 = none */
  guint16      res_unit;
  gboolean     palette_gray;   /* photometric palette: gray or colour map */
  TestPixelFunc pixel;
} TestTiff;

gboolean test_write_tiff (const char *path, const TestTiff *spec);

typedef struct
{
  int          version;        /* 3 or 4 */
  guint        width, height;  /* height 0: a 1-D spectrum of width channels */
  int          elem_type;      /* DM tag encoding: 2 short, 4 ushort, 6 float, 3 long, 10 octet... */
  int          data_type;      /* Gatan ImageData/DataType */
  double       scale;          /* calibration per pixel */
  const char  *units;          /* e.g. "nm", "\xc2\xb5m", "eV" */
  double       voltage;        /* volts; 0 = absent */
  double       magnification;
  const char  *microscope;
  gboolean     thumbnail;      /* add an RGBA thumbnail as ImageList/0 */
  TestPixelFunc pixel;
} TestDm;

GBytes  *test_dm_bytes   (const TestDm *spec);
gboolean test_write_file (const char *path, const void *data, gsize len);

/* A PNG with a valid IHDR (and CRC) of the given size and one tiny IDAT. */
GBytes  *test_png_header (guint32 width, guint32 height, guint8 depth, guint8 color);

G_END_DECLS
