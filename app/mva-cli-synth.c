/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-cli-synth.c: `mvaema-cli synth`, synthetic SEM micrographs with grounded
 * question/answer pairs (issue 4).
 *
 *   mvaema-cli synth --out DIR --per-class N --seed S [--width W --height H]
 *                    [--databar] [--contact-sheet FILE.png] [--threads N]
 *                    [--caption-prob P] [--json]
 *
 * Writes DIR/<category>/<category>-NNNN.tif, DIR/qa.jsonl and DIR/labels.csv.
 * Progress on stderr; Ctrl+C stops after the images in flight and still lists
 * the finished ones (exit status 130).
 */
#define G_LOG_DOMAIN "mva-cli"
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "mva-cli.h"
#include "mva-synth.h"

static gboolean
parse_uint (const char *opt, const char *text, guint64 max, guint64 *out)
{
  char *end = NULL;
  guint64 v;

  if (text == NULL || *text == '\0' || *text == '-' || *text == '+')
    {
      mva_cli_fail ("synth: %s expects a non-negative integer, not “%s”", opt, text ? text : "");
      return FALSE;
    }
  errno = 0;
  v = g_ascii_strtoull (text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || v > max)
    {
      mva_cli_fail ("synth: %s expects an integer from 0 to %" G_GUINT64_FORMAT ", not “%s”",
                    opt, max, text);
      return FALSE;
    }
  *out = v;
  return TRUE;
}

static void
on_progress (guint done, guint total, gpointer user_data)
{
  gint64 *start = user_data;
  double secs = (g_get_monotonic_time () - *start) / 1e6;

  mva_cli_progress ("synth: %u/%u images (%.1f images/s)", done, total,
                    secs > 0 ? done / secs : 0.0);
}

int
mva_cli_synth (int argc, char **argv)
{
  g_autofree char *out = NULL, *per_class_s = NULL, *seed_s = NULL, *width_s = NULL;
  g_autofree char *height_s = NULL, *sheet = NULL, *threads_s = NULL, *caption_s = NULL;
  gboolean databar = FALSE, json = FALSE;
  const GOptionEntry entries[] = {
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out, "Output directory (default synth-out)", "DIR" },
    { "per-class", 'n', 0, G_OPTION_ARG_STRING, &per_class_s, "Images per category", "N" },
    { "seed", 's', 0, G_OPTION_ARG_STRING, &seed_s, "Random seed", "S" },
    { "width", 0, 0, G_OPTION_ARG_STRING, &width_s, "Image width (default 1024)", "W" },
    { "height", 0, 0, G_OPTION_ARG_STRING, &height_s, "Image height (default 768)", "H" },
    { "databar", 0, 0, G_OPTION_ARG_NONE, &databar, "Add an FEI-style data bar", NULL },
    { "contact-sheet", 0, 0, G_OPTION_ARG_FILENAME, &sheet, "Write a contact sheet", "FILE.png" },
    { "threads", 't', 0, G_OPTION_ARG_STRING, &threads_s, "Worker threads (default: CPUs)", "N" },
    { "caption-prob", 0, 0, G_OPTION_ARG_STRING, &caption_s,
      "Probability of a category caption before a question (default 0.5)", "P" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print a JSON summary on stdout", NULL },
    { NULL }
  };
  MvaSynthConfig cfg = MVA_SYNTH_CONFIG_INIT;
  guint64 per_class = 0, v = 0, threads = 0;
  g_autoptr(GError) error = NULL;
  gint64 start;
  guint written = 0;
  gboolean ok;

  if (!mva_cli_parse ("synth", NULL,
                      "Render synthetic SEM micrographs of the 10 categories with question/answer pairs.",
                      entries, &argc, &argv))
    return 2;
  if (argc > 1)
    return mva_cli_fail ("synth: unexpected argument “%s”", argv[1]);
  if (out == NULL)
    out = g_strdup ("synth-out");
  if (*out == '\0')
    return mva_cli_fail ("synth: --out needs a directory name");
  if (per_class_s == NULL)
    return mva_cli_fail ("synth: --per-class N is required");
  if (!parse_uint ("--per-class", per_class_s, 1000000, &per_class))
    return 1;
  if (per_class == 0)
    return mva_cli_fail ("synth: --per-class must be at least 1");
  if (seed_s != NULL && !parse_uint ("--seed", seed_s, G_MAXUINT64, &cfg.seed))
    return 1;
  if (width_s != NULL)
    {
      if (!parse_uint ("--width", width_s, 8192, &v))
        return 1;
      cfg.width = (guint) v;
    }
  if (height_s != NULL)
    {
      if (!parse_uint ("--height", height_s, 8192, &v))
        return 1;
      cfg.height = (guint) v;
    }
  if (threads_s != NULL)
    {
      if (!parse_uint ("--threads", threads_s, 256, &threads))
        return 1;
      if (threads == 0)
        return mva_cli_fail ("synth: --threads must be at least 1");
    }
  if (caption_s != NULL)
    {
      char *end = NULL;
      double p = g_ascii_strtod (caption_s, &end);
      if (end == caption_s || *end != '\0' || !(p >= 0.0 && p <= 1.0))
        return mva_cli_fail ("synth: --caption-prob expects a number from 0 to 1, not “%s”", caption_s);
      cfg.caption_prob = p;
    }
  cfg.databar = databar;
  if (!mva_synth_config_check (&cfg, &error))
    return mva_cli_fail ("synth: %s", error->message);

  start = g_get_monotonic_time ();
  ok = mva_synth_generate (&cfg, out, (guint) per_class, (guint) threads, sheet,
                           mva_cli_cancellable (), on_progress, &start, &written, &error);
  mva_cli_progress_done ();
  if (!ok)
    {
      int rc = mva_cli_fail ("synth: %s", error->message);
      return g_error_matches (error, MVA_SYNTH_ERROR, MVA_SYNTH_ERROR_CANCELLED) ? 130 : rc;
    }
  if (json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      double secs = (g_get_monotonic_time () - start) / 1e6;

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "out");
      json_builder_add_string_value (b, out);
      json_builder_set_member_name (b, "images");
      json_builder_add_int_value (b, written);
      json_builder_set_member_name (b, "qa_pairs");
      json_builder_add_int_value (b, (gint64) written * MVA_SYNTH_N_FAMILIES);
      json_builder_set_member_name (b, "seconds");
      json_builder_add_double_value (b, secs);
      json_builder_set_member_name (b, "images_per_second");
      json_builder_add_double_value (b, secs > 0 ? written / secs : 0.0);
      json_builder_end_object (b);
      mva_cli_print_builder (b);
    }
  else
    g_printerr ("synth: wrote %u images and %u question/answer pairs to %s\n", written,
                written * MVA_SYNTH_N_FAMILIES, out);
  return 0;
}
