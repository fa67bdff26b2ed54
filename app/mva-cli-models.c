/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-cli-models.c: `mvaema-cli models`, the library's model versions.
 *
 *   mvaema-cli models --db FILE list [--json]
 *   mvaema-cli models --db FILE adopt ID
 *   mvaema-cli models --db FILE rollback
 *   mvaema-cli models --db FILE discard ID
 *
 * list: newest first, the adopted one marked (--json: one object per line
 * with id, name, path, parent_id, adopted, created_at, metrics). adopt makes
 * ID the current model; rollback adopts the version the current one was
 * fine-tuned from; discard deletes a retrained version's folder that is not
 * adopted.
 */
#define G_LOG_DOMAIN "mva-cli"
#include "config.h"

#include <errno.h>
#include <math.h>

#include "mva-assistant.h"
#include "mva-cli.h"
#include "mva-store.h"

static gboolean
parse_id (const char *text, gint64 *out)
{
  char *end = NULL;

  errno = 0;
  *out = g_ascii_strtoll (text, &end, 10);
  return text[0] != '\0' && *end == '\0' && errno == 0 && *out > 0;
}

int
mva_cli_models (int    argc,
                char **argv)
{
  g_autofree char *db = NULL;
  gboolean json = FALSE;
  g_autoptr(GError) error = NULL;
  g_autoptr(MvaStore) store = NULL;
  const char *action;
  gint64 id = 0;
  const GOptionEntry entries[] = {
    { "db", 0, 0, G_OPTION_ARG_FILENAME, &db, "Library database", "FILE" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "JSON output", NULL },
    { NULL }
  };

  if (!mva_cli_parse ("models", "list|adopt ID|rollback|discard ID",
                      "List, adopt, roll back or discard the library's model versions.", entries,
                      &argc, &argv))
    return 2;
  if (argc < 2)
    return mva_cli_fail ("models: missing action (list, adopt ID, rollback or discard ID)");
  action = argv[1];
  if (g_strcmp0 (action, "adopt") == 0 || g_strcmp0 (action, "discard") == 0)
    {
      if (argc != 3 || !parse_id (argv[2], &id))
        return mva_cli_fail ("models: %s needs a model version ID (see models list)", action);
    }
  else if (g_strcmp0 (action, "list") == 0 || g_strcmp0 (action, "rollback") == 0)
    {
      if (argc != 2)
        return mva_cli_fail ("models: unexpected argument “%s”", argv[2]);
    }
  else
    return mva_cli_fail ("models: unknown action “%s” (list, adopt ID, rollback or discard ID)", action);

  store = mva_store_open (db, g_strcmp0 (action, "list") == 0 ? MVA_STORE_OPEN_READ_ONLY
                                                             : MVA_STORE_OPEN_DEFAULT, &error);
  if (store == NULL)
    return mva_cli_fail ("models: %s", error->message);

  if (g_strcmp0 (action, "list") == 0)
    {
      g_autoptr(GPtrArray) all = mva_store_list_model_versions (store, &error);

      if (all == NULL)
        return mva_cli_fail ("models: %s", error->message);
      for (guint i = 0; i < all->len; i++)
        {
          MvaModelVersion *mv = g_ptr_array_index (all, i);
          g_autofree char *dir = g_path_get_dirname (mv->file_path);

          if (json)
            {
              g_autoptr(JsonBuilder) b = json_builder_new ();
              g_autoptr(JsonNode) metrics = mv->metrics_json ? json_from_string (mv->metrics_json, NULL) : NULL;

              json_builder_begin_object (b);
              json_builder_set_member_name (b, "id");
              json_builder_add_int_value (b, mv->id);
              json_builder_set_member_name (b, "name");
              json_builder_add_string_value (b, mv->name);
              json_builder_set_member_name (b, "path");
              json_builder_add_string_value (b, dir);
              json_builder_set_member_name (b, "parent_id");
              json_builder_add_int_value (b, mv->parent_id);
              json_builder_set_member_name (b, "adopted");
              json_builder_add_boolean_value (b, mv->adopted);
              json_builder_set_member_name (b, "created_at");
              json_builder_add_int_value (b, mv->created_at);
              json_builder_set_member_name (b, "metrics");
              if (metrics != NULL)
                json_builder_add_value (b, g_steal_pointer (&metrics));
              else
                json_builder_add_null_value (b);
              json_builder_end_object (b);
              mva_cli_print_builder (b);
            }
          else
            {
              g_autoptr(GDateTime) t = g_date_time_new_from_unix_local (mv->created_at / G_USEC_PER_SEC);
              g_autofree char *when = t ? g_date_time_format (t, "%Y-%m-%d %H:%M") : g_strdup ("?");

              g_print ("%c %3" G_GINT64_FORMAT "  %-16s %s  parent %" G_GINT64_FORMAT "  %s%s%s\n",
                       mv->adopted ? '*' : ' ', mv->id, mv->name, when, mv->parent_id, dir,
                       mv->metrics_json ? "  " : "", mv->metrics_json ? mv->metrics_json : "");
            }
        }
      if (all->len == 0 && !json)
        g_print ("no model versions yet\n");
      return 0;
    }
  if (g_strcmp0 (action, "adopt") == 0)
    {
      if (!mva_assistant_adopt (store, id, &error))
        return mva_cli_fail ("models: %s", error->message);
      g_print ("adopted model version %" G_GINT64_FORMAT "\n", id);
      return 0;
    }
  if (g_strcmp0 (action, "discard") == 0)
    {
      if (!mva_assistant_discard (store, id, &error))
        return mva_cli_fail ("models: %s", error->message);
      g_print ("discarded model version %" G_GINT64_FORMAT "\n", id);
      return 0;
    }
  if (!mva_assistant_rollback (store, &id, &error))
    return mva_cli_fail ("models: %s", error->message);
  g_print ("rolled back to model version %" G_GINT64_FORMAT "\n", id);
  return 0;
}

/* --- train --from-reviews ----------------------------------------------------------- */

static void
on_retrain_progress (const MvaRetrainProgress *p,
                     gpointer                  user_data)
{
  switch (p->phase)
    {
    case MVA_RETRAIN_PHASE_PREPARING:
      if (p->total > 0)
        mva_cli_progress ("train: loading images %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT,
                          p->done, p->total);
      break;
    case MVA_RETRAIN_PHASE_TRAINING:
      mva_cli_progress ("train: step %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT " loss %.4f",
                        p->done, p->total, p->loss);
      break;
    case MVA_RETRAIN_PHASE_FOCUSING:
      mva_cli_progress ("train: learning the corrections, step %" G_GUINT64_FORMAT "/%"
                        G_GUINT64_FORMAT " loss %.4f", p->done, p->total, p->loss);
      break;
    case MVA_RETRAIN_PHASE_EVALUATING:
      mva_cli_progress ("train: comparing old and new model %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT,
                        p->done, p->total);
      break;
    case MVA_RETRAIN_PHASE_SAVING:
    default:
      break;
    }
}

int
mva_cli_train_from_reviews (int    argc,
                            char **argv)
{
  g_autofree char *db = NULL;
  g_autofree char *model_dir = NULL;
  g_autofree char *models_dir = NULL;
  g_autofree char *steps_s = NULL, *batch_s = NULL, *lr_s = NULL, *threads_s = NULL;
  g_autofree char *seed_s = NULL, *replay_s = NULL, *holdout_s = NULL;
  g_autofree char *repeat_s = NULL, *focus_s = NULL;
  g_autofree char *device = NULL, *device_used = NULL, *device_note = NULL;
  gboolean from_reviews = FALSE, json = FALSE;
  g_autoptr(GError) error = NULL;
  g_autoptr(MvaStore) store = NULL;
  g_autoptr(MvaRetrainResult) r = NULL;
  MvaRetrainOptions o;
  double steps = 0, batch = 0, threads = 0, seed = 1, repeat = 0, focus = -1;
  const GOptionEntry entries[] = {
    { "from-reviews", 0, 0, G_OPTION_ARG_NONE, &from_reviews,
      "Fine-tune the current model on the library's reviewed answers", NULL },
    { "db", 0, 0, G_OPTION_ARG_FILENAME, &db, "Library database", "FILE" },
    { "model", 0, 0, G_OPTION_ARG_FILENAME, &model_dir,
      "Model to fine-tune (default: the library's current model)", "DIR" },
    { "models-dir", 0, 0, G_OPTION_ARG_FILENAME, &models_dir,
      "Where new versions go (default: models/ beside the library)", "DIR" },
    { "steps", 0, 0, G_OPTION_ARG_STRING, &steps_s, "Training steps (default 200)", "N" },
    { "batch", 0, 0, G_OPTION_ARG_STRING, &batch_s, "Batch size (default 16)", "N" },
    { "lr", 0, 0, G_OPTION_ARG_STRING, &lr_s, "Adam learning rate (default 3e-4)", "X" },
    { "replay-ratio", 0, 0, G_OPTION_ARG_STRING, &replay_s,
      "Replay pairs of the original data per reviewed pair (default 1)", "R" },
    { "holdout", 0, 0, G_OPTION_ARG_STRING, &holdout_s,
      "Share of reviewed images held out for the old/new comparison (default 0.2)", "F" },
    { "correction-repeat", 0, 0, G_OPTION_ARG_STRING, &repeat_s,
      "Copies of each corrected answer in the training set (default 3)", "N" },
    { "focus-rounds", 0, 0, G_OPTION_ARG_STRING, &focus_s,
      "Rounds of training (k * 100 steps) on corrections the new model does not yet give "
      "(default 4; 0: none)",
      "N" },
    { "threads", 0, 0, G_OPTION_ARG_STRING, &threads_s, "Worker threads (default: all CPUs)", "N" },
    { "device", 0, 0, G_OPTION_ARG_STRING, &device, "Engine device: cpu, cuda or auto (default: "
      "auto: CUDA when it can run the model, else the CPU)", "DEVICE" },
    { "seed", 0, 0, G_OPTION_ARG_STRING, &seed_s, "Random seed (default 1)", "S" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print the result as one JSON object", NULL },
    { NULL }
  };

  if (!mva_cli_parse ("train", "--from-reviews",
                      "Fine-tune the library's current model on its reviewed answers (accepted "
                      "and corrected; rejected ones left out) plus a replay sample of its "
                      "original data; compare old and new on held-out reviewed pairs and record "
                      "the new version (not adopted: see `models adopt`).",
                      entries, &argc, &argv))
    return 2;
  if (argc > 1)
    return mva_cli_fail ("train: unexpected argument “%s”", argv[1]);
  mva_retrain_options_init (&o);
  if (!mva_cli_parse_double ("train", "--steps", steps_s, 1, 1e9, &steps) ||
      !mva_cli_parse_double ("train", "--batch", batch_s, 2, 4096, &batch) ||
      !mva_cli_parse_double ("train", "--lr", lr_s, 1e-9, 0.999, &o.lr) ||
      !mva_cli_parse_double ("train", "--replay-ratio", replay_s, 0, 100, &o.replay_ratio) ||
      !mva_cli_parse_double ("train", "--holdout", holdout_s, 0, 0.9, &o.holdout_fraction) ||
      !mva_cli_parse_double ("train", "--threads", threads_s, 1, 256, &threads) ||
      !mva_cli_parse_double ("train", "--correction-repeat", repeat_s, 1, 100, &repeat) ||
      !mva_cli_parse_double ("train", "--focus-rounds", focus_s, 0, 100, &focus) ||
      !mva_cli_parse_double ("train", "--seed", seed_s, 0, 4294967295.0, &seed))
    return 2;
  if (steps > 0)
    o.steps = (guint64) steps;
  if (batch > 0)
    o.batch = (guint) batch;
  o.threads = (guint) threads;
  o.seed = (guint64) seed;
  if (repeat > 0)
    o.correction_repeat = (guint) repeat;
  if (focus >= 0)
    o.focus_rounds = (gint) focus;
  if (!mva_cli_resolve_device ("train", device, &device_used, &device_note))
    return 1;
  o.device = device;
  o.base_model_dir = model_dir;
  o.models_dir = models_dir;
  if (model_dir != NULL && !g_file_test (model_dir, G_FILE_TEST_IS_DIR))
    return mva_cli_fail ("train: --model %s is not a folder", model_dir);

  store = mva_store_open (db, MVA_STORE_OPEN_DEFAULT, &error);
  if (store == NULL)
    return mva_cli_fail ("train: %s", error->message);
  r = mva_assistant_retrain (store, &o, on_retrain_progress, NULL, mva_cli_cancellable (), &error);
  mva_cli_progress_done ();
  if (r == NULL)
    {
      if (g_error_matches (error, MVA_ASSISTANT_ERROR, MVA_ASSISTANT_ERROR_CANCELLED))
        {
          mva_cli_fail ("train: cancelled; nothing recorded");
          return 130;
        }
      return mva_cli_fail ("train: %s", error->message);
    }
  if (json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "model_version_id");
      json_builder_add_int_value (b, r->model_version_id);
      json_builder_set_member_name (b, "base_version_id");
      json_builder_add_int_value (b, r->base_version_id);
      json_builder_set_member_name (b, "training_run_id");
      json_builder_add_int_value (b, r->training_run_id);
      json_builder_set_member_name (b, "model");
      json_builder_add_string_value (b, r->model_dir);
      json_builder_set_member_name (b, "reviewed");
      json_builder_add_int_value (b, r->n_reviewed);
      json_builder_set_member_name (b, "replay");
      json_builder_add_int_value (b, r->n_replay);
      json_builder_set_member_name (b, "heldout");
      json_builder_add_int_value (b, r->n_heldout);
      json_builder_set_member_name (b, "heldout_is_train");
      json_builder_add_boolean_value (b, r->heldout_is_train);
      json_builder_set_member_name (b, "corrected");
      json_builder_add_int_value (b, r->n_corrected);
      json_builder_set_member_name (b, "reflected");
      json_builder_add_int_value (b, r->n_reflected);
      json_builder_set_member_name (b, "focus_rounds");
      json_builder_add_int_value (b, r->focus_rounds);
      json_builder_set_member_name (b, "device");
      json_builder_add_string_value (b, r->device);
      if (r->device_note != NULL)
        {
          json_builder_set_member_name (b, "device_note");
          json_builder_add_string_value (b, r->device_note);
        }
      json_builder_set_member_name (b, "old");
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "bleu4");
      json_builder_add_double_value (b, r->old_bleu4);
      json_builder_set_member_name (b, "rougeL");
      json_builder_add_double_value (b, r->old_rouge_l);
      json_builder_set_member_name (b, "meteor");
      json_builder_add_double_value (b, r->old_meteor);
      json_builder_set_member_name (b, "nll");
      json_builder_add_double_value (b, isfinite (r->old_nll) ? r->old_nll : -1.0);
      json_builder_end_object (b);
      json_builder_set_member_name (b, "new");
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "bleu4");
      json_builder_add_double_value (b, r->new_bleu4);
      json_builder_set_member_name (b, "rougeL");
      json_builder_add_double_value (b, r->new_rouge_l);
      json_builder_set_member_name (b, "meteor");
      json_builder_add_double_value (b, r->new_meteor);
      json_builder_set_member_name (b, "nll");
      json_builder_add_double_value (b, isfinite (r->new_nll) ? r->new_nll : -1.0);
      json_builder_end_object (b);
      json_builder_set_member_name (b, "final_loss");
      json_builder_add_double_value (b, isfinite (r->final_loss) ? r->final_loss : 0.0);
      json_builder_set_member_name (b, "seconds");
      json_builder_add_double_value (b, r->seconds);
      json_builder_end_object (b);
      mva_cli_print_builder (b);
    }
  else
    g_print ("new model version %" G_GINT64_FORMAT " in %s (not adopted; `mvaema-cli models "
             "adopt %" G_GINT64_FORMAT "` to use it)\n"
             "  %u reviewed + %u replay pairs, %.1f s on the %s%s%s\n"
             "  corrections given word for word: %u of %u (%u focus round%s)\n"
             "  held-out%s (%u pairs): BLEU-4 %.3f -> %.3f, ROUGE-L %.3f -> %.3f, METEOR %.3f -> %.3f\n"
             "  held-out answers' loss per token (lower is better): %.3f -> %.3f\n",
             r->model_version_id, r->model_dir, r->model_version_id, r->n_reviewed, r->n_replay,
             r->seconds, g_strcmp0 (r->device, "cuda") == 0 ? "GPU" : "CPU",
             device != NULL && r->device_note ? ": " : "",
             device != NULL && r->device_note ? r->device_note : "", r->n_reflected, MIN (r->n_corrected, 40u), r->focus_rounds,
             r->focus_rounds == 1 ? "" : "s", r->heldout_is_train ? " (= training pairs: too few reviewed images)" : "",
             r->n_heldout, r->old_bleu4, r->new_bleu4, r->old_rouge_l, r->new_rouge_l,
             r->old_meteor, r->new_meteor, r->old_nll, r->new_nll);
  return 0;
}
