/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-cli-classify.c: `mvaema-cli classify`, rank the 10 categories.
 *
 *   mvaema-cli classify IMAGE... [--top N] [--model DIR] [--db FILE] [--json]
 *                       [--threads N]
 *
 * Each image's 10 categories are ranked by the decoder's log-likelihood of
 * the answer "<category>" to "What type of nanomaterial is shown?" (softmax
 * scores, best first). --json: one object per image and line with `path` and
 * `ranking` ([{"category", "score"}, ...], the top N). Without --model: the
 * library's adopted model (--db), else the default model. An image that
 * cannot be read is reported and the exit status is 1 (the others are still
 * classified). Ctrl+C stops cleanly (exit 130).
 */
#define G_LOG_DOMAIN "mva-cli"
#include "config.h"

#include <errno.h>
#include <stdio.h>

#include "mva-assistant.h"
#include "mva-cli.h"
#include "mva-store.h"

int
mva_cli_classify (int    argc,
                  char **argv)
{
  g_autofree char *model_dir = NULL;
  g_autofree char *db = NULL;
  g_autofree char *top_s = NULL;
  g_autofree char *threads_s = NULL;
  gboolean json = FALSE;
  guint64 top = MVA_ASSISTANT_N_CATEGORIES, threads = 0;
  g_autoptr(GError) error = NULL;
  g_autoptr(MvaStore) store = NULL;
  g_autoptr(MvaAssistantModel) model = NULL;
  int status = 0;
  const GOptionEntry entries[] = {
    { "top", 0, 0, G_OPTION_ARG_STRING, &top_s, "Show the best N categories (default all 10)", "N" },
    { "model", 0, 0, G_OPTION_ARG_FILENAME, &model_dir, "Model folder (default: the current model)", "DIR" },
    { "db", 0, 0, G_OPTION_ARG_FILENAME, &db, "Library whose adopted model to use", "FILE" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "One JSON object per image and line", NULL },
    { "threads", 0, 0, G_OPTION_ARG_STRING, &threads_s, "Engine threads (default: all CPUs)", "N" },
    { NULL }
  };

  if (!mva_cli_parse ("classify", "IMAGE...",
                      "Rank the 10 nanomaterial categories for each image.", entries, &argc, &argv))
    return 2;
  if (!mva_cli_parse_uint ("classify", "--top", top_s, 1, MVA_ASSISTANT_N_CATEGORIES, &top) ||
      !mva_cli_parse_uint ("classify", "--threads", threads_s, 1, 256, &threads))
    return 1;
  if (argc < 2)
    return mva_cli_fail ("classify: missing IMAGE");
  if (db != NULL)
    {
      store = mva_store_open (db, MVA_STORE_OPEN_READ_ONLY, &error);
      if (store == NULL)
        return mva_cli_fail ("classify: %s", error->message);
    }
  if (model_dir == NULL)
    {
      model_dir = mva_assistant_current_model_dir (store, &error);
      if (model_dir == NULL)
        return mva_cli_fail ("classify: %s", error->message);
    }
  model = mva_assistant_model_load (model_dir, (guint) threads, &error);
  if (model == NULL)
    return mva_cli_fail ("classify: %s", error->message);

  for (int i = 1; i < argc; i++)
    {
      g_autoptr(MvaImage) image = NULL;
      g_autoptr(GArray) ranking = NULL;
      g_autoptr(GError) e = NULL;

      image = mva_image_load (argv[i], 0, &e);
      if (image != NULL)
        ranking = mva_assistant_classify (model, image, mva_cli_cancellable (), &e);
      if (ranking == NULL)
        {
          if (g_error_matches (e, MVA_ASSISTANT_ERROR, MVA_ASSISTANT_ERROR_CANCELLED))
            {
              mva_cli_fail ("classify: cancelled");
              return 130;
            }
          mva_cli_fail ("classify: %s", e->message);
          status = 1;
          continue;
        }
      if (json)
        {
          g_autoptr(JsonBuilder) b = json_builder_new ();

          json_builder_begin_object (b);
          json_builder_set_member_name (b, "path");
          json_builder_add_string_value (b, argv[i]);
          json_builder_set_member_name (b, "ranking");
          json_builder_begin_array (b);
          for (guint r = 0; r < MIN (top, ranking->len); r++)
            {
              const MvaCategoryScore *s = &g_array_index (ranking, MvaCategoryScore, r);

              json_builder_begin_object (b);
              json_builder_set_member_name (b, "category");
              json_builder_add_string_value (b, s->category);
              json_builder_set_member_name (b, "score");
              json_builder_add_double_value (b, s->score);
              json_builder_end_object (b);
            }
          json_builder_end_array (b);
          json_builder_set_member_name (b, "model");
          json_builder_add_string_value (b, mva_assistant_model_get_dir (model));
          json_builder_end_object (b);
          mva_cli_print_builder (b);
        }
      else
        {
          g_print ("%s\n", argv[i]);
          for (guint r = 0; r < MIN (top, ranking->len); r++)
            {
              const MvaCategoryScore *s = &g_array_index (ranking, MvaCategoryScore, r);

              g_print ("  %2u. %-10s %.4f\n", r + 1, s->category, s->score);
            }
        }
    }
  return status;
}
