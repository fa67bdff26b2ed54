// SPDX-License-Identifier: GPL-3.0-or-later
// fuzz-image-tiffmeta.c: libFuzzer target for the SEM vendor tag text
// parsers (FEI/Thermo tag 34682 INI text, Zeiss tag 34118 CZ_SEM text) and
// the length-with-unit parser. Checks that whatever comes back is sane.
#include "config.h"

#include "mva-image-private.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

static void
check_meta (const MvaImageMeta *m, guint height)
{
  if (!isnan (m->pixel_size_nm) && !(m->pixel_size_nm > 0 && isfinite (m->pixel_size_nm)))
    abort ();
  if (!isnan (m->hv_kv) && !(m->hv_kv > 0))
    abort ();
  if (m->databar_height_px < 0 || (m->databar_height_px > 0 && (guint) m->databar_height_px >= height))
    abort ();
  if (m->instrument && !g_utf8_validate (m->instrument, -1, NULL))
    abort ();
  if (m->detector && !g_utf8_validate (m->detector, -1, NULL))
    abort ();
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  MvaImageMeta meta;
  guint height = size > 0 ? 1u + data[size - 1] * 8u : 0;
  char *text;

  _mva_image_meta_init (&meta);
  _mva_tiff_meta_parse_fei ((const char *) data, size, height, &meta);
  check_meta (&meta, height ? height : 1);
  _mva_image_meta_clear (&meta);

  _mva_image_meta_init (&meta);
  _mva_tiff_meta_parse_zeiss ((const char *) data, size, &meta);
  check_meta (&meta, 1);
  _mva_image_meta_clear (&meta);

  text = g_strndup ((const char *) data, size);
  {
    double v = _mva_parse_length_nm (text);

    (void) v;
  }
  g_free (text);
  return 0;
}
