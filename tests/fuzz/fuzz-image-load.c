// SPDX-License-Identifier: GPL-3.0-or-later
// fuzz-image-load.c: libFuzzer target for the whole loader (format sniffing,
// PNG/JPEG/TIFF wrappers, DM3/DM4 pixel conversion, previews, the data-bar
// detector and the 8-bit mapping). The input is written to a temporary file
// because the loader takes a path. Loaded images must be self-consistent.
#include "config.h"

#include "mva-image-private.h"

#include <glib/gstdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static char *path;

static void
check (const MvaImage *img, guint max_side)
{
  g_autofree guint8 *gray = NULL;

  if (img->width == 0 || img->height == 0 || img->data == NULL)
    abort ();
  if (max_side > 0 && (img->width > max_side || img->height > max_side))
    abort ();
  if (img->databar_rows > img->height)
    abort ();
  gray = mva_image_to_gray8 (img);
  if (gray == NULL)
    abort ();
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  GError *error = NULL;
  MvaImage *img;

  if (path == NULL)
    path = g_strdup_printf ("%s/fuzz-image-load-%d.bin", g_get_tmp_dir (), (int) getpid ());
  if (!g_file_set_contents (path, (const char *) data, (gssize) size, NULL))
    return 0;

  img = mva_image_load (path, 64, &error);
  if (img != NULL)
    check (img, 64);
  else if (error == NULL)
    abort ();
  g_clear_error (&error);
  mva_image_free (img);

  img = mva_image_probe (path, &error);
  g_clear_error (&error);
  mva_image_free (img);

  /* Full size only for small inputs, so a header claiming a huge image that
   * passes the plausibility checks cannot stall the fuzzer. */
  if (size < 4096)
    {
      img = mva_image_load (path, 0, &error);
      if (img != NULL)
        check (img, 0);
      g_clear_error (&error);
      mva_image_free (img);
    }
  g_unlink (path);
  return 0;
}
