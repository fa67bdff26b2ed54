// SPDX-License-Identifier: GPL-3.0-or-later
// mve-safetensors.h: checkpoints in the safetensors format, plain C11.
//
// File layout (https://github.com/huggingface/safetensors): an 8-byte
// little-endian header length N, N bytes of JSON header, then the tensor data.
// The header maps each tensor name to {"dtype", "shape", "data_offsets":
// [begin, end]} (offsets relative to the data section) and may hold a
// "__metadata__" object of string -> string; the model stores its
// configuration there. The writer emits F32 tensors, in the order given,
// contiguous, with the header padded by spaces to a multiple of 8 bytes, and
// writes atomically: a temporary file in the same folder, fsync, rename, fsync
// of the folder. So a crash leaves either the old file or the new one.
//
// The reader validates everything before it hands out a tensor: header length
// within the file, strict JSON, known dtype (F32, F16, BF16; the latter two are
// converted to float on read), shapes whose element count matches the byte
// range, ranges inside the data section, contiguous and non-overlapping,
// covering it exactly. A truncated or foreign file is refused with
// MVE_STATUS_BAD_FORMAT and a one-line message.
//
//   const int64_t shape[2] = { 3, 4 };
//   struct mve_st_tensor t = { "w", 2, { 3, 4 }, w_data };
//   const char *meta[] = { "format", "pt", NULL };
//   st = mve_safetensors_write ("model.safetensors", &t, 1, meta, err, sizeof err);
//
//   mve_safetensors *f = NULL;
//   st = mve_safetensors_open (&f, "model.safetensors", err, sizeof err);
//   const struct mve_st_info *info = mve_safetensors_find (f, "w");
//   st = mve_safetensors_read_f32 (f, "w", dst, 12, err, sizeof err);
//   const char *fmt = mve_safetensors_get_meta (f, "format");
//   mve_safetensors_close (f);
//
// Thread-safety: a handle may be read from one thread at a time.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "mve-status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MVE_ST_MAX_DIMS 8
// Largest header we accept (the format's reference reader uses 100 MB).
#define MVE_ST_MAX_HEADER (100u * 1024u * 1024u)

typedef enum mve_st_dtype
{
  MVE_ST_DTYPE_F32,
  MVE_ST_DTYPE_F16,
  MVE_ST_DTYPE_BF16,
} mve_st_dtype;

// One tensor to write: row-major float data of prod(shape) elements.
struct mve_st_tensor
{
  const char *name;                // UTF-8, unique, not "__metadata__"
  int32_t ndim;                    // 0..MVE_ST_MAX_DIMS (0 is a scalar)
  int64_t shape[MVE_ST_MAX_DIMS];
  const float *data;
};

// What the reader knows about a tensor in an open file.
struct mve_st_info
{
  const char *name;
  mve_st_dtype dtype;
  int32_t ndim;
  int64_t shape[MVE_ST_MAX_DIMS];
  int64_t numel;                   // product of shape (1 for a scalar)
  uint64_t offset;                 // byte offset of the data from the file start
  uint64_t nbytes;
};

typedef struct mve_safetensors mve_safetensors;

// Write n tensors and the metadata meta_kv (key, value, key, value, ..., NULL;
// may be NULL) to path, atomically. Fails with MVE_STATUS_INVALID_ARGUMENT on
// duplicate or empty names, negative dims, and on non-UTF-8 strings; with
// MVE_STATUS_IO_ERROR when the folder cannot be written (the old file stays).
mve_status mve_safetensors_write (const char *path, const struct mve_st_tensor *tensors,
                                  size_t n, const char *const *meta_kv,
                                  char *err, unsigned long errn);

// Open and validate a file. On success *out is a handle to close.
mve_status mve_safetensors_open (mve_safetensors **out, const char *path,
                                 char *err, unsigned long errn);
void mve_safetensors_close (mve_safetensors *f);

size_t mve_safetensors_count (const mve_safetensors *f);
// Tensors in file order (by data offset).
const struct mve_st_info *mve_safetensors_info_at (const mve_safetensors *f, size_t i);
// NULL when the file has no tensor of that name.
const struct mve_st_info *mve_safetensors_find (const mve_safetensors *f, const char *name);

// Read a tensor as float into dst, which holds count elements; count must equal
// the tensor's numel (a shape mismatch is reported, not silently truncated).
mve_status mve_safetensors_read_f32 (mve_safetensors *f, const char *name, float *dst,
                                     size_t count, char *err, unsigned long errn);

// Metadata value for key, or NULL. Valid until close.
const char *mve_safetensors_get_meta (const mve_safetensors *f, const char *key);
size_t mve_safetensors_meta_count (const mve_safetensors *f);
// i-th metadata pair; returns the key and sets *value.
const char *mve_safetensors_meta_at (const mve_safetensors *f, size_t i, const char **value);

// Validate an in-memory header (the JSON text after the 8-byte length) against
// a data section of data_len bytes. Used by open and by the fuzz target.
mve_status mve_safetensors_check_header (const char *json, size_t len, uint64_t data_len,
                                         char *err, unsigned long errn);

#ifdef __cplusplus
}
#endif
