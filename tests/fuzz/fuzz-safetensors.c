// SPDX-License-Identifier: GPL-3.0-or-later
// fuzz-safetensors.c: libFuzzer target for the safetensors reader
// (engine/mve-safetensors.c and its strict JSON parser). The input is a whole
// file: it goes through the header check in memory, then through
// mve_safetensors_open on a memfd, and every tensor it accepts is read.
// Built with -Dfuzz=true (clang); fuzz-replay.c runs the corpus in CI.
#include "mve-safetensors.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char err[256], path[64];
  mve_safetensors *f = NULL;
  int fd;

  if (size >= 8)
    {
      uint64_t hlen = 0;
      for (int i = 0; i < 8; i++)
        hlen |= (uint64_t) data[i] << (8 * i);
      if (hlen <= size - 8)
        (void) mve_safetensors_check_header ((const char *) data + 8, (size_t) hlen,
                                             size - 8 - hlen, err, sizeof err);
    }

  fd = memfd_create ("fuzz-safetensors", 0);
  if (fd < 0)
    return 0;
  if (size > 0 && write (fd, data, size) != (ssize_t) size)
    {
      close (fd);
      return 0;
    }
  snprintf (path, sizeof path, "/proc/self/fd/%d", fd);
  if (mve_safetensors_open (&f, path, err, sizeof err) == MVE_STATUS_OK)
    {
      for (size_t i = 0; i < mve_safetensors_count (f); i++)
        {
          const struct mve_st_info *info = mve_safetensors_info_at (f, i);
          // the reader validated numel against the file size
          float *buf = malloc ((size_t) info->numel * sizeof *buf + 1);
          if (info->nbytes > size)
            abort ();
          if (buf != NULL)
            (void) mve_safetensors_read_f32 (f, info->name, buf, (size_t) info->numel, err,
                                             sizeof err);
          free (buf);
        }
      for (size_t i = 0; i < mve_safetensors_meta_count (f); i++)
        {
          const char *v = NULL;
          const char *k = mve_safetensors_meta_at (f, i, &v);
          if (k == NULL || v == NULL || mve_safetensors_get_meta (f, k) == NULL)
            abort ();
        }
      mve_safetensors_close (f);
    }
  else if (strchr (err, '\n') != NULL || err[0] == '\0')
    abort (); // every refusal must come with a one-line message
  close (fd);
  return 0;
}
