/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-device.h: which device the engine runs on, from a preference ("cpu",
 * "cuda" or "auto": the GSettings key "device", `--device` of the CLI).
 *
 * The CPU engine is always there. CUDA is used when the run-time-loaded
 * CUDA module (engine/mve-backend.h) opens a device *and* runs whole
 * training and decoding steps there; otherwise the preference falls back to
 * the CPU and the note says why, in one line, for a toast, an info line or
 * stderr. With strict, an explicit "cuda" that cannot be honoured is an
 * error instead (the CLI: the user asked for it by name).
 *
 *   MvaDevice dev;
 *   g_autofree char *note = NULL;
 *   if (!mva_device_resolve (pref, FALSE, &dev, &note, &error)) ...   // unknown preference
 *   if (note != NULL) show (note);   // "CUDA is not available (...); using the CPU"
 *
 * Threading: any thread (it may dlopen the CUDA module: call it off the main
 * loop in a GUI). MVAEMA_CUDA_MODULE names the module (mve-backend.h).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define MVA_DEVICE_ERROR (mva_device_error_quark ())

typedef enum
{
  MVA_DEVICE_ERROR_INVALID,     /* not cpu, cuda or auto */
  MVA_DEVICE_ERROR_UNAVAILABLE, /* strict "cuda" and CUDA cannot run the model */
} MvaDeviceError;

GQuark mva_device_error_quark (void);

typedef enum
{
  MVA_DEVICE_CPU,
  MVA_DEVICE_CUDA,
} MvaDevice;

/* Resolve preference (NULL or "": "auto") to a device. *note (may be NULL)
 * gets why a CUDA preference runs on the CPU, else NULL. */
gboolean    mva_device_resolve (const char  *preference,
                                gboolean     strict,
                                MvaDevice   *out,
                                char       **note,
                                GError     **error);
/* "cpu" or "cuda". */
const char *mva_device_name    (MvaDevice    device);

G_END_DECLS
