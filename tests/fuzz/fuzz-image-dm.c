// SPDX-License-Identifier: GPL-3.0-or-later
// fuzz-image-dm.c: libFuzzer target for the Gatan DM3/DM4 tag-tree parser.
// Whatever image it reports must lie inside the input.
#include "config.h"

#include "mva-image-private.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  MvaDmInfo info;
  GError *error = NULL;

  if (_mva_dm_parse (data, size, &info, &error))
    {
      if (info.found)
        {
          if (info.ndims < 1 || info.ndims > 4 || info.data_offset > size)
            abort ();
          for (guint k = 0; k < info.ndims; k++)
            if (info.dims[k] < 1 || info.dims[k] > MVA_IMAGE_MAX_SIDE)
              abort ();
        }
    }
  else if (error == NULL || error->message == NULL)
    abort ();
  g_clear_error (&error);
  _mva_dm_info_clear (&info);
  return 0;
}
