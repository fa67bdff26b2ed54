/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-cli-devices.c: `mvaema-cli devices [--json]` lists the engine's
 * devices: the CPU (threads, OpenBLAS build) and the CUDA devices the
 * run-time-loaded module finds, or the reason there are none. Also the
 * `--device cpu|cuda|auto` resolution shared by `bench` and `train`.
 *
 * JSON: {"cpu": {"threads": N, "blas": "..."},
 *        "cuda": {"available": bool, "module": PATH, "reason": "...",
 *                 "devices": [{"index", "name", "compute_capability",
 *                              "memory_mb", "multiprocessors", "driver",
 *                              "runtime"}]}}
 */
#define G_LOG_DOMAIN "mvaema-cli"
#include "config.h"

#include <stdio.h>

#include "mva-cli.h"
#include "mva-device.h"
#include "mve-backend.h"

#define MAX_DEVICES 16

gboolean
mva_cli_resolve_device (const char  *command,
                        const char  *device,
                        char       **out_device,
                        char       **out_note)
{
  g_autoptr(GError) error = NULL;
  MvaDevice dev;

  *out_device = NULL;
  *out_note = NULL;
  if (!mva_device_resolve (device, TRUE, &dev, out_note, &error))
    {
      if (g_error_matches (error, MVA_DEVICE_ERROR, MVA_DEVICE_ERROR_INVALID))
        mva_cli_fail ("%s: --device expects cpu, cuda or auto, not “%s”", command, device);
      else
        mva_cli_fail ("%s: %s; use --device cpu or auto", command, error->message);
      return FALSE;
    }
  *out_device = g_strdup (mva_device_name (dev));
  return TRUE;
}

int
mva_cli_devices (int argc, char **argv)
{
  gboolean json = FALSE;
  struct mve_device_info infos[MAX_DEVICES];
  char reason[512] = "", module[512];
  int32_t count, shown;
  guint threads = g_get_num_processors ();
  const char *blas = mve_backend_cpu_blas ();
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print one JSON object", NULL },
    { NULL }
  };

  if (!mva_cli_parse ("devices", NULL, "List the engine's devices: the CPU and the CUDA "
                      "devices (or why there are none).", entries, &argc, &argv))
    return 2;
  if (argc > 1)
    return mva_cli_fail ("devices: unexpected argument “%s”", argv[1]);

  memset (infos, 0, sizeof infos);
  mve_backend_cuda_module_path (module, sizeof module);
  count = mve_backend_cuda_devices (infos, MAX_DEVICES, reason, sizeof reason);
  shown = count < MAX_DEVICES ? count : MAX_DEVICES;
  if (count == 0 && reason[0] == '\0')
    g_strlcpy (reason, "no CUDA device found", sizeof reason);

  if (json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "cpu");
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "threads");
      json_builder_add_int_value (b, threads);
      json_builder_set_member_name (b, "blas");
      json_builder_add_string_value (b, blas);
      json_builder_end_object (b);
      json_builder_set_member_name (b, "cuda");
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "available");
      json_builder_add_boolean_value (b, count > 0);
      json_builder_set_member_name (b, "module");
      json_builder_add_string_value (b, module);
      if (count == 0)
        {
          json_builder_set_member_name (b, "reason");
          json_builder_add_string_value (b, reason);
        }
      json_builder_set_member_name (b, "devices");
      json_builder_begin_array (b);
      for (int32_t i = 0; i < shown; i++)
        {
          g_autofree char *cc = g_strdup_printf ("%d.%d", infos[i].cc_major, infos[i].cc_minor);
          json_builder_begin_object (b);
          json_builder_set_member_name (b, "index");
          json_builder_add_int_value (b, infos[i].index);
          json_builder_set_member_name (b, "name");
          json_builder_add_string_value (b, infos[i].name);
          json_builder_set_member_name (b, "compute_capability");
          json_builder_add_string_value (b, cc);
          json_builder_set_member_name (b, "memory_mb");
          json_builder_add_int_value (b, infos[i].total_mem / (1024 * 1024));
          json_builder_set_member_name (b, "multiprocessors");
          json_builder_add_int_value (b, infos[i].multiprocessors);
          json_builder_set_member_name (b, "driver");
          json_builder_add_string_value (b, infos[i].driver);
          json_builder_set_member_name (b, "runtime");
          json_builder_add_string_value (b, infos[i].runtime);
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      json_builder_end_object (b);
      json_builder_end_object (b);
      mva_cli_print_builder (b);
      return 0;
    }

  printf ("cpu: %u threads, %s\n", threads, blas);
  if (count == 0)
    printf ("cuda: none (%s)\n", reason);
  for (int32_t i = 0; i < shown; i++)
    printf ("cuda:%d %s, compute %d.%d, %.1f GiB, %d SMs, driver %s, runtime %s\n", infos[i].index,
            infos[i].name, infos[i].cc_major, infos[i].cc_minor,
            infos[i].total_mem / (1024.0 * 1024.0 * 1024.0), infos[i].multiprocessors,
            infos[i].driver, infos[i].runtime);
  return 0;
}
