/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-cli-measure.c: `mvaema-cli measure IMAGE... [--category NAME] [--json]`.
 *
 * The typical size of the structures in each image, measured on its pixels
 * (mva-measure.c): the autocorrelation length and, with a measured
 * category, that scaled by the category's factor: a typical diameter in
 * pixels and, where the metadata gives the pixel size, in nm. With --json
 * one object per line with path, correlation_length_px and category (or
 * null), plus what, factor, size_px and size_nm (null without a pixel
 * size) for a measured category; or path and error. Exit status 1 when any
 * file failed or could not be measured.
 */
#define G_LOG_DOMAIN "mva-cli"
#include "config.h"

#include "mva-cli.h"
#include "mva-assistant.h"
#include "mva-measure.h"

#include <math.h>
#include <stdio.h>

int
mva_cli_measure (int argc, char **argv)
{
  g_autofree char *category = NULL;
  gboolean json = FALSE;
  g_auto(GStrv) files = NULL;
  GOptionEntry entries[] = {
    { "category", 'c', 0, G_OPTION_ARG_STRING, &category,
      "Category of the images: particles, nanowires, porous or fibres (without one, only the "
      "correlation length)",
      "NAME" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "One JSON object per image and line", NULL },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &files, NULL, "IMAGE..." },
    { NULL },
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("IMAGE... - measure the structures' typical size");
  g_autoptr(GError) error = NULL;
  int status = 0;

  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    return mva_cli_fail ("measure: %s", error->message);
  if (files == NULL || files[0] == NULL)
    return mva_cli_fail ("measure: no image given (mvaema-cli measure IMAGE...)");
  if (category != NULL && !mva_assistant_category_index (category, NULL))
    return mva_cli_fail ("measure: unknown category '%s'", category);
  for (guint i = 0; files[i] != NULL; i++)
    {
      g_autoptr(GError) e = NULL;
      g_autoptr(MvaImage) image = mva_image_load (files[i], 0, &e);
      double L = NAN, size_px = NAN, size_nm = NAN;
      gboolean ok = image != NULL && mva_measure_correlation_length (image, &L);
      gboolean sized = ok && mva_measure_structure_size (image, category, &size_px, &size_nm);
      const char *why = image == NULL ? e->message : "no structure size could be measured "
                                                     "(flat image, or structures larger than a "
                                                     "third of the view)";

      if (!ok)
        status = 1;
      if (json)
        {
          g_autoptr(JsonBuilder) b = json_builder_new ();
          g_autoptr(JsonGenerator) gen = json_generator_new ();
          g_autoptr(JsonNode) root = NULL;
          g_autofree char *text = NULL;

          json_builder_begin_object (b);
          json_builder_set_member_name (b, "path");
          json_builder_add_string_value (b, files[i]);
          if (ok)
            {
              json_builder_set_member_name (b, "correlation_length_px");
              json_builder_add_double_value (b, L);
              json_builder_set_member_name (b, "category");
              if (category != NULL)
                json_builder_add_string_value (b, category);
              else
                json_builder_add_null_value (b);
              if (sized)
                {
                  json_builder_set_member_name (b, "what");
                  json_builder_add_string_value (b, mva_measure_what (category));
                  json_builder_set_member_name (b, "factor");
                  json_builder_add_double_value (b, mva_measure_factor (category));
                  json_builder_set_member_name (b, "size_px");
                  json_builder_add_double_value (b, size_px);
                  json_builder_set_member_name (b, "size_nm");
                  if (isfinite (size_nm))
                    json_builder_add_double_value (b, size_nm);
                  else
                    json_builder_add_null_value (b);
                }
            }
          else
            {
              json_builder_set_member_name (b, "error");
              json_builder_add_string_value (b, why);
            }
          json_builder_end_object (b);
          root = json_builder_get_root (b);
          json_generator_set_root (gen, root);
          text = json_generator_to_data (gen, NULL);
          g_print ("%s\n", text);
        }
      else if (sized)
        {
          g_autofree char *len = isfinite (size_nm) ? mva_assistant_format_length (size_nm) : NULL;

          g_print ("%s: %s about %.1f px%s%s (correlation length %.1f px)\n", files[i],
                   mva_measure_what (category), size_px, len ? " = " : "", len ? len : "", L);
        }
      else if (ok)
        g_print ("%s: correlation length %.1f px%s\n", files[i], L,
                 category != NULL ? " (this category's size is not measured)" : "");
      else
        g_printerr ("measure: %s: %s\n", files[i], why);
    }
  return status;
}
