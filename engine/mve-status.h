// SPDX-License-Identifier: GPL-3.0-or-later
// mve-status.h: status codes shared by every engine function.
//
// Engine functions return an mve_status: 0 is success, negative is an error.
// The engine never calls exit() or abort() on bad input; it returns a status
// and, where it has a context, records a message (see mve_ctx_last_error).
//
//   mve_status st = mve_model_load (&model, "model/", err, sizeof err);
//   if (st != MVE_STATUS_OK)
//     fprintf (stderr, "%s: %s\n", mve_status_to_string (st), err);
#pragma once

#ifdef __cplusplus
extern "C" {
#endif

typedef enum mve_status
{
  MVE_STATUS_OK = 0,
  MVE_STATUS_ERROR = -1,            // unspecified failure
  MVE_STATUS_ALLOC_FAILED = -2,     // out of memory (host or device)
  MVE_STATUS_INVALID_ARGUMENT = -3, // caller passed something impossible
  MVE_STATUS_IO_ERROR = -4,         // open/read/write/fsync/rename failed
  MVE_STATUS_BAD_FORMAT = -5,       // truncated, foreign or corrupt file
  MVE_STATUS_UNSUPPORTED = -6,      // valid but not handled (e.g. dtype)
  MVE_STATUS_CANCELLED = -7,        // should_abort callback returned true
  MVE_STATUS_BACKEND_ERROR = -8,    // CUDA / cuBLAS / cuDNN failure
  MVE_STATUS_NO_DEVICE = -9,        // requested backend not available
} mve_status;

const char *mve_status_to_string (mve_status status);

// Write a printf-style message into buf (size n, may be NULL/0) and return st.
// Convenience for "record a message and return the status" in one line.
mve_status mve_error_set (char *buf, unsigned long n, mve_status st, const char *fmt, ...)
  __attribute__ ((format (printf, 4, 5)));

#ifdef __cplusplus
}
#endif
