// SPDX-License-Identifier: GPL-3.0-or-later
// mve-io-impl.h: atomic file writes shared by the engine's writers. Internal.
#pragma once

#include <stddef.h>

#include "mve-status.h"

#ifdef __cplusplus
extern "C" {
#endif

struct mve_chunk
{
  const void *data;
  size_t len;
};

// Write the n chunks, in order, to path atomically: a temporary file in the
// same folder, fsync, rename over path, fsync of the folder. On failure the
// old file (if any) is untouched and no temporary file is left.
mve_status mve_write_atomic (const char *path, const struct mve_chunk *chunks, size_t n,
                             char *err, unsigned long errn);

#ifdef __cplusplus
}
#endif
