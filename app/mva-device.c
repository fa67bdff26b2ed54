/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-device.c: device preference -> device (see mva-device.h).
 */
#define G_LOG_DOMAIN "mva-device"
#include "config.h"

#include "mva-device.h"

#include "mve-backend.h"
#include "mve-device.h"

G_DEFINE_QUARK (mva-device-error-quark, mva_device_error)

const char *
mva_device_name (MvaDevice device)
{
  return device == MVA_DEVICE_CUDA ? "cuda" : "cpu";
}

/* Why CUDA cannot run the model, or NULL when it can. */
static char *
cuda_unusable (void)
{
  struct mve_backend *be = NULL;
  char why[512] = "";
  gboolean whole_steps;

  if (mve_backend_open_cuda (&be, 0, why, sizeof why) != MVE_STATUS_OK)
    return g_strdup (why[0] ? why : "no CUDA device");
  /* The engine runs on a device only when the backend does whole training
   * and decoding steps there (mve-device.h; no host round trip per op). */
  whole_steps = mve_backend_has_model (be);
  mve_backend_close (be);
  if (!whole_steps)
    return g_strdup ("a CUDA device was found, but its CUDA module runs single operations "
                     "only, not whole training or decoding steps (rebuild the module; see "
                     "docs/cuda.md)");
  return NULL;
}

gboolean
mva_device_resolve (const char  *preference,
                    gboolean     strict,
                    MvaDevice   *out,
                    char       **note,
                    GError     **error)
{
  g_autofree char *why = NULL;

  g_return_val_if_fail (out != NULL, FALSE);

  *out = MVA_DEVICE_CPU;
  if (note != NULL)
    *note = NULL;
  if (preference == NULL || preference[0] == '\0')
    preference = "auto";
  if (g_str_equal (preference, "cpu"))
    return TRUE;
  if (!g_str_equal (preference, "cuda") && !g_str_equal (preference, "auto"))
    {
      g_set_error (error, MVA_DEVICE_ERROR, MVA_DEVICE_ERROR_INVALID,
                   "device must be cpu, cuda or auto, not “%s”", preference);
      return FALSE;
    }
  why = cuda_unusable ();
  if (why == NULL)
    {
      *out = MVA_DEVICE_CUDA;
      return TRUE;
    }
  if (strict && g_str_equal (preference, "cuda"))
    {
      g_set_error (error, MVA_DEVICE_ERROR, MVA_DEVICE_ERROR_UNAVAILABLE,
                   "CUDA is not available: %s", why);
      return FALSE;
    }
  if (note != NULL)
    *note = g_strdup_printf ("CUDA is not available (%s); using the CPU", why);
  return TRUE;
}
