// SPDX-License-Identifier: GPL-3.0-or-later
// test-gpu-module.c: runs everywhere (no GPU needed). The CUDA module, when
// built, links and exports its entry point; opening the CUDA backend either
// works or fails with a status and a one-line reason (never a crash or an
// exit); a missing module is named in the reason; op names are stable.
// argv[1]: the built module's path, or "-" when this build has none.
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mve-backend.h"

static int failures;

static void
expect (int ok, const char *what)
{
  printf ("%s: %s\n", ok ? "ok" : "FAIL", what);
  if (!ok)
    failures++;
}

static int
one_line (const char *s)
{
  return s[0] != '\0' && strchr (s, '\n') == NULL;
}

int
main (int argc, char **argv)
{
  char why[512] = "", path[512];
  struct mve_backend *be = NULL;
  struct mve_device_info infos[4];
  mve_status st;
  int32_t n;

  if (argc < 2)
    {
      fprintf (stderr, "usage: test-gpu-module MODULE_PATH|-\n");
      return 2;
    }
  expect (strcmp (mve_op_name (MVE_OP_MATMUL_FORWARD), "matmul_forward") == 0
            && strcmp (mve_op_name (MVE_OP_ADAM), "adam") == 0
            && strcmp (mve_op_name (MVE_OP_COUNT), "unknown") == 0,
          "op names");
  expect (strstr (mve_backend_cpu_blas (), "OpenBLAS") != NULL, "CPU BLAS is described");

  if (strcmp (argv[1], "-") != 0)
    {
      st = mve_backend_probe_module (argv[1], why, sizeof why);
      if (st != MVE_STATUS_OK)
        printf ("  probe: %s\n", why);
      expect (st == MVE_STATUS_OK, "the built CUDA module loads and exports mve_cuda_backend_open");
      setenv ("MVAEMA_CUDA_MODULE", argv[1], 1);
      mve_backend_cuda_module_path (path, sizeof path);
      expect (strcmp (path, argv[1]) == 0, "MVAEMA_CUDA_MODULE selects the module");
    }

  st = mve_backend_open_cuda (&be, 0, why, sizeof why);
  if (st == MVE_STATUS_OK)
    {
      printf ("  a CUDA device is present: %s\n", be->iface->name);
      expect (be->iface->abi_version == MVE_BACKEND_ABI_VERSION, "ABI version matches");
      mve_backend_close (be);
    }
  else
    {
      printf ("  reason: %s\n", why);
      expect (be == NULL && one_line (why)
                && (st == MVE_STATUS_NO_DEVICE || st == MVE_STATUS_BACKEND_ERROR),
              "no device: a status and a one-line reason");
    }

  n = mve_backend_cuda_devices (infos, 4, why, sizeof why);
  expect (n >= 0 && (n > 0 || one_line (why)), "device listing gives a count or a reason");

  // a module that is not there: the reason names the path (or the missing
  // driver, which is checked first)
  setenv ("MVAEMA_CUDA_MODULE", "/nonexistent/libmvaema-cuda.so", 1);
  st = mve_backend_open_cuda (&be, 0, why, sizeof why);
  printf ("  missing module: %s\n", why);
  expect (st == MVE_STATUS_NO_DEVICE && be == NULL && one_line (why)
            && (strstr (why, "/nonexistent/libmvaema-cuda.so") != NULL
                || strstr (why, "libcuda.so.1") != NULL),
          "a missing module is reported with its path");
  st = mve_backend_probe_module ("/nonexistent/libmvaema-cuda.so", why, sizeof why);
  expect (st == MVE_STATUS_NO_DEVICE && strstr (why, "/nonexistent/libmvaema-cuda.so") != NULL,
          "probing a missing module names it");
  // a file that is not a module
  st = mve_backend_probe_module ("/etc/hostname", why, sizeof why);
  printf ("  not a module: %s\n", why);
  expect (st == MVE_STATUS_NO_DEVICE && one_line (why), "a foreign file is refused with a reason");

  if (failures > 0)
    return 1;
  printf ("all ok\n");
  return 0;
}
