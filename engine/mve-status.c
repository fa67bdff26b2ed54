// SPDX-License-Identifier: GPL-3.0-or-later
// mve-status.c: names of status codes and the error-message helper.
#include "mve-status.h"

#include <stdarg.h>
#include <stdio.h>

const char *
mve_status_to_string (mve_status status)
{
  switch (status)
    {
    case MVE_STATUS_OK: return "ok";
    case MVE_STATUS_ERROR: return "error";
    case MVE_STATUS_ALLOC_FAILED: return "out of memory";
    case MVE_STATUS_INVALID_ARGUMENT: return "invalid argument";
    case MVE_STATUS_IO_ERROR: return "input/output error";
    case MVE_STATUS_BAD_FORMAT: return "bad or truncated file";
    case MVE_STATUS_UNSUPPORTED: return "unsupported";
    case MVE_STATUS_CANCELLED: return "cancelled";
    case MVE_STATUS_BACKEND_ERROR: return "backend error";
    case MVE_STATUS_NO_DEVICE: return "no device";
    default: return "unknown status";
    }
}

mve_status
mve_error_set (char *buf, unsigned long n, mve_status st, const char *fmt, ...)
{
  if (buf != NULL && n > 0)
    {
      va_list ap;
      va_start (ap, fmt);
      vsnprintf (buf, n, fmt, ap);
      va_end (ap);
    }
  return st;
}
