/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * bench/image-preview.c: how much a preview of a huge TIFF costs.
 *
 * Writes (once) a SIDE x SIDE 8-bit deflate TIFF, then in the same run
 *   baseline: libtiff decodes every scanline and throws it away;
 *   preview:  mva_image_load (path, 1024) (decode + box filter + data bar);
 * and prints CPU seconds of each, their ratio, and the peak RSS of the
 * preview (to show the full image is never held: 20000^2 is 400 MB).
 * Build and run with bench/image-preview.sh [SIDE] [BUILD_DIR].
 */
#include "config.h"

#include "image-writers.h"
#include "mva-image.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <tiffio.h>

static double px (guint x, guint y, guint c) { return ((x / 100) * 10 + (y / 100) * 3 + (x ^ y) % 7) % 256; }

static double
cpu_seconds (void)
{
  struct rusage ru;

  getrusage (RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static long
peak_rss_mib (void)
{
  struct rusage ru;

  getrusage (RUSAGE_SELF, &ru);
  return ru.ru_maxrss / 1024;
}

int
main (int argc, char **argv)
{
  const char *path = argc > 1 ? argv[1] : "huge.tif";
  guint side = argc > 2 ? (guint) atoi (argv[2]) : 20000;
  double t0, t_base, t_prev;
  GError *error = NULL;
  MvaImage *img;
  long rss_after_base;

  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      TestTiff t = { side, side, 1, 8, SAMPLEFORMAT_UINT, PHOTOMETRIC_MINISBLACK,
                     COMPRESSION_ADOBE_DEFLATE, .rows_per_strip = 64, .pixel = px };

      fprintf (stderr, "writing %s (%u x %u)...\n", path, side, side);
      if (!test_write_tiff (path, &t))
        return 1;
    }

  /* Preview first, so its peak RSS is not inflated by the baseline. */
  t0 = cpu_seconds ();
  img = mva_image_load (path, 1024, &error);
  t_prev = cpu_seconds () - t0;
  if (img == NULL)
    {
      fprintf (stderr, "%s\n", error->message);
      return 1;
    }
  printf ("preview: %u x %u of %u x %u, data bar %d rows, %.2f s CPU, peak RSS %ld MiB\n",
          img->width, img->height, img->full_width, img->full_height,
          img->meta.databar_height_px, t_prev, peak_rss_mib ());
  mva_image_free (img);

  {
    TIFF *tif = TIFFOpen (path, "rm");
    uint32_t h = 0;
    tdata_t buf;

    t0 = cpu_seconds ();
    TIFFGetField (tif, TIFFTAG_IMAGELENGTH, &h);
    buf = _TIFFmalloc (TIFFScanlineSize (tif));
    for (uint32_t y = 0; y < h; y++)
      TIFFReadScanline (tif, buf, y, 0);
    _TIFFfree (buf);
    TIFFClose (tif);
    t_base = cpu_seconds () - t0;
    rss_after_base = peak_rss_mib ();
  }
  printf ("baseline (libtiff scanline decode only): %.2f s CPU, peak RSS %ld MiB\n",
          t_base, rss_after_base);
  printf ("preview / baseline CPU ratio: %.2f\n", t_prev / t_base);
  return 0;
}
