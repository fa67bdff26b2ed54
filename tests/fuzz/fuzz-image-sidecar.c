// SPDX-License-Identifier: GPL-3.0-or-later
// fuzz-image-sidecar.c: libFuzzer target for the Hitachi / JEOL sidecar
// text parser. The stored image size comes from the last two bytes.
#include "config.h"

#include "mva-image-private.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  MvaImageMeta meta;
  guint w = size >= 2 ? 1u + data[size - 2] * 16u : 0;
  guint h = size >= 1 ? 1u + data[size - 1] * 16u : 0;

  _mva_image_meta_init (&meta);
  _mva_sidecar_parse ((const char *) data, size, w, h, &meta);
  if (!isnan (meta.pixel_size_nm) && !(meta.pixel_size_nm > 0 && isfinite (meta.pixel_size_nm)))
    abort ();
  if (meta.databar_height_px < 0 || (meta.databar_height_px > 0 && (guint) meta.databar_height_px >= h))
    abort ();
  if ((meta.instrument && !g_utf8_validate (meta.instrument, -1, NULL))
      || (meta.detector && !g_utf8_validate (meta.detector, -1, NULL)))
    abort ();
  _mva_image_meta_clear (&meta);
  return 0;
}
