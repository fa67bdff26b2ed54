// SPDX-License-Identifier: GPL-3.0-or-later
// mve-backend.c: op names, the run-time loader of the CUDA module (dlopen,
// GGML_BACKEND_DL-style) and the CPU description. Nothing here links CUDA:
// the driver and the module are looked up at run time, and every failure
// becomes a one-line reason.
#include "config.h"

#include "mve-backend.h"

#include <cblas.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef MVE_CUDA_MODULE_DIR
#define MVE_CUDA_MODULE_DIR "/usr/local/lib/mvaema"
#endif
#define MVE_CUDA_MODULE_NAME "libmvaema-cuda.so"

static const char *const op_names[MVE_OP_COUNT] = {
  [MVE_OP_MATMUL_FORWARD] = "matmul_forward",
  [MVE_OP_MATMUL_BACKWARD] = "matmul_backward",
  [MVE_OP_LAYERNORM_FORWARD] = "layernorm_forward",
  [MVE_OP_LAYERNORM_BACKWARD] = "layernorm_backward",
  [MVE_OP_GELU_FORWARD] = "gelu_forward",
  [MVE_OP_GELU_BACKWARD] = "gelu_backward",
  [MVE_OP_ATTENTION_FORWARD] = "attention_forward",
  [MVE_OP_ATTENTION_BACKWARD] = "attention_backward",
  [MVE_OP_EMBEDDING_FORWARD] = "embedding_forward",
  [MVE_OP_EMBEDDING_BACKWARD] = "embedding_backward",
  [MVE_OP_RESIDUAL_FORWARD] = "residual_forward",
  [MVE_OP_LM_XENT] = "lm_xent",
  [MVE_OP_ITM_XENT] = "itm_xent",
  [MVE_OP_ITC_LOSS] = "itc_loss",
  [MVE_OP_ADAM] = "adam",
  [MVE_OP_TRAIN_STEP] = "train_step",
  [MVE_OP_DECODE_STEP] = "decode_step",
};

const char *
mve_op_name (enum mve_op op)
{
  if ((int) op < 0 || op >= MVE_OP_COUNT || op_names[op] == NULL)
    return "unknown";
  return op_names[op];
}

const char *
mve_backend_cpu_blas (void)
{
  const char *c = openblas_get_config ();
  return c != NULL ? c : "OpenBLAS";
}

void
mve_backend_cuda_module_path (char *out, size_t n)
{
  const char *env = getenv ("MVAEMA_CUDA_MODULE");
  char build[512];

  if (env != NULL && env[0] != '\0')
    {
      snprintf (out, n, "%s", env);
      return;
    }
  snprintf (build, sizeof build, "%s/engine/cuda/%s", MVAEMA_BUILD_DIR, MVE_CUDA_MODULE_NAME);
  if (access (build, R_OK) == 0)
    {
      snprintf (out, n, "%s", build);
      return;
    }
  snprintf (out, n, "%s/%s", MVE_CUDA_MODULE_DIR, MVE_CUDA_MODULE_NAME);
}

// The driver is checked first, in its own dlopen, so that a machine without
// an NVIDIA driver gets that reason rather than a CUDA runtime error code.
static mve_status
check_driver (char *reason, size_t n)
{
  void *h = dlopen ("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL);
  if (h == NULL)
    {
      const char *e = dlerror ();
      return mve_error_set (reason, n, MVE_STATUS_NO_DEVICE,
                            "no NVIDIA driver: libcuda.so.1 cannot be loaded (%s)",
                            e != NULL ? e : "not found");
    }
  dlclose (h);
  return MVE_STATUS_OK;
}

static mve_status
load_module (const char *path, void **handle, mve_backend_entry_fn *entry, char *reason, size_t n)
{
  void *h;
  void *sym;
  const char *e;

  *handle = NULL;
  *entry = NULL;
  if (access (path, R_OK) != 0)
    return mve_error_set (reason, n, MVE_STATUS_NO_DEVICE,
                          "CUDA module not found at %s (built only where nvcc is found; "
                          "set MVAEMA_CUDA_MODULE)", path);
  // RTLD_NODELETE: the CUDA and cuBLAS libraries it pulls in stay mapped
  // after dlclose (unloading them mid-process is unsafe, and their static
  // runtime allocations stay reachable rather than leaked)
  h = dlopen (path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
  if (h == NULL)
    {
      e = dlerror ();
      return mve_error_set (reason, n, MVE_STATUS_NO_DEVICE,
                            "CUDA module %s cannot be loaded (%s)", path,
                            e != NULL ? e : "unknown dlopen error");
    }
  dlerror ();
  sym = dlsym (h, MVE_BACKEND_ENTRY);
  if (sym == NULL)
    {
      dlclose (h);
      return mve_error_set (reason, n, MVE_STATUS_NO_DEVICE,
                            "CUDA module %s has no symbol %s", path, MVE_BACKEND_ENTRY);
    }
  *handle = h;
  // POSIX: a data pointer from dlsym converts to a function pointer
  memcpy (entry, &sym, sizeof sym);
  return MVE_STATUS_OK;
}

mve_status
mve_backend_probe_module (const char *path, char *reason, size_t n)
{
  void *h = NULL;
  mve_backend_entry_fn entry = NULL;
  mve_status st = load_module (path, &h, &entry, reason, n);
  if (st != MVE_STATUS_OK)
    return st;
  dlclose (h);
  return MVE_STATUS_OK;
}

mve_status
mve_backend_open_cuda (struct mve_backend **out, int32_t device, char *reason, size_t n)
{
  struct mve_backend *be;
  mve_backend_entry_fn entry = NULL;
  int32_t count = 0;
  mve_status st;

  if (out == NULL)
    return mve_error_set (reason, n, MVE_STATUS_INVALID_ARGUMENT, "no output pointer");
  *out = NULL;
  if (reason != NULL && n > 0)
    reason[0] = '\0';
  st = check_driver (reason, n);
  if (st != MVE_STATUS_OK)
    return st;
  be = calloc (1, sizeof *be);
  if (be == NULL)
    return mve_error_set (reason, n, MVE_STATUS_ALLOC_FAILED, "out of memory (%zu bytes)",
                          sizeof *be);
  mve_backend_cuda_module_path (be->module_path, sizeof be->module_path);
  st = load_module (be->module_path, &be->module, &entry, reason, n);
  if (st != MVE_STATUS_OK)
    {
      free (be);
      return st;
    }
  st = entry (MVE_BACKEND_ABI_VERSION, device, &be->iface, &be->ctx, &count, reason, n);
  if (st != MVE_STATUS_OK || be->iface == NULL || be->ctx == NULL)
    {
      if (st == MVE_STATUS_OK)
        st = mve_error_set (reason, n, MVE_STATUS_BACKEND_ERROR,
                            "CUDA module returned no backend");
      dlclose (be->module);
      free (be);
      return st;
    }
  *out = be;
  return MVE_STATUS_OK;
}

int32_t
mve_backend_cuda_devices (struct mve_device_info *infos, int32_t max, char *reason, size_t n)
{
  int32_t count = 0;
  mve_backend_entry_fn entry = NULL;
  void *h = NULL;
  const struct mve_backend_i *iface = NULL;
  void *ctx = NULL;
  char path[512];

  if (reason != NULL && n > 0)
    reason[0] = '\0';
  if (check_driver (reason, n) != MVE_STATUS_OK)
    return 0;
  mve_backend_cuda_module_path (path, sizeof path);
  if (load_module (path, &h, &entry, reason, n) != MVE_STATUS_OK)
    return 0;
  for (int32_t d = 0; d < max || d == 0; d++)
    {
      if (entry (MVE_BACKEND_ABI_VERSION, d, &iface, &ctx, &count, reason, n) != MVE_STATUS_OK)
        {
          if (d == 0)
            count = 0;
          break;
        }
      if (d < max && infos != NULL)
        iface->get_device_info (ctx, &infos[d]);
      iface->free_ctx (ctx);
      ctx = NULL;
      if (d + 1 >= count)
        break;
    }
  dlclose (h);
  return count;
}

void
mve_backend_close (struct mve_backend *be)
{
  if (be == NULL)
    return;
  if (be->iface != NULL && be->ctx != NULL)
    be->iface->free_ctx (be->ctx);
  if (be->module != NULL)
    dlclose (be->module);
  free (be);
}
