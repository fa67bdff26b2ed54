/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-cli-train.c: `mvaema-cli train`, train or fine-tune a model (issue 3).
 *
 *   mvaema-cli train --data DIR --out MODEL_DIR [--epochs N | --steps N]
 *                    [--seed S] [--threads N] [--batch N] [--lr X]
 *                    [--ablate itc|itm|sa|ca|csa]... [--config small|paper]
 *                    [--init MODEL_DIR] [--val-fraction F] [--caption-prob P] [--augment]
 *                    [--vocab N] [--device cpu|cuda|auto]
 *                    [--warmup N] [--json]
 *   mvaema-cli train --from-reviews --db FILE [--model DIR] [--steps N] ...
 *                    (retrain from the library's reviews: mva-cli-models.c)
 *
 * DIR is a folder in the `mvaema-cli synth` layout (qa.jsonl + images).
 * Writes MODEL_DIR/model.safetensors, tokenizer.json and train-log.json.
 * One progress line per step and per epoch on stderr. Ctrl+C stops after the
 * current step and still writes the model (exit status 130).
 */
#define G_LOG_DOMAIN "mva-cli"
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "mva-cli.h"
#include "mva-trainer.h"

static void
on_progress (const MvaTrainProgress *p, gpointer user_data)
{
  switch (p->phase)
    {
    case MVA_TRAIN_PHASE_LOADING:
      if (p->done < p->total)
        mva_cli_progress ("train: loading images %u/%u", p->done, p->total);
      else
        {
          mva_cli_progress ("train: loaded %u images", p->total);
          mva_cli_progress_done ();
        }
      break;
    case MVA_TRAIN_PHASE_TOKENIZER:
      mva_cli_progress ("train: building the tokenizer from the training text");
      mva_cli_progress_done ();
      break;
    case MVA_TRAIN_PHASE_STEP:
      {
        g_autofree char *of = p->total_steps > 0
                                ? g_strdup_printf ("/%" G_GUINT64_FORMAT, p->total_steps)
                                : g_strdup ("");
        /* one line per step (mva_cli_progress overwrites it on a terminal) */
        mva_cli_progress ("train: step %" G_GUINT64_FORMAT "%s epoch %u loss %.4f "
                          "(itc %.4f itm %.4f lm %.4f) lr %.2e %.1f samples/s",
                          p->step, of, p->epoch, p->loss, p->itc, p->itm, p->lm, p->lr,
                          p->samples_per_s);
        break;
      }
    case MVA_TRAIN_PHASE_EPOCH:
      mva_cli_progress_done ();
      if (isfinite (p->val_loss))
        fprintf (stderr, "train: epoch %u done after step %" G_GUINT64_FORMAT
                 ": validation loss %.4f, lr %.2e\n", p->epoch, p->step, p->val_loss, p->lr);
      else
        fprintf (stderr, "train: epoch %u done after step %" G_GUINT64_FORMAT "\n", p->epoch,
                 p->step);
      break;
    case MVA_TRAIN_PHASE_SAVING:
      mva_cli_progress_done ();
      break;
    default:
      break;
    }
}

int
mva_cli_train (int argc, char **argv)
{
  g_autofree char *data = NULL, *out = NULL, *init = NULL, *config = NULL;
  g_autofree char *epochs_s = NULL, *steps_s = NULL, *seed_s = NULL, *threads_s = NULL;
  g_autofree char *batch_s = NULL, *lr_s = NULL, *val_s = NULL, *cap_s = NULL, *vocab_s = NULL;
  g_autofree char *device = NULL, *device_used = NULL, *device_note = NULL;
  g_autofree char *warmup_s = NULL;
  g_auto(GStrv) ablate = NULL;
  gboolean json = FALSE, cancelled = FALSE, augment = FALSE;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) summary = NULL;
  guint64 epochs = 0, steps = 0, seed = 0, threads = 0, batch = 48, vocab = 8192, warmup = 0;
  MvaTrainOptions opts;
  const GOptionEntry entries[] = {
    { "data", 0, 0, G_OPTION_ARG_FILENAME, &data, "Training folder (qa.jsonl + images)", "DIR" },
    { "out", 0, 0, G_OPTION_ARG_FILENAME, &out, "Model folder to write", "MODEL_DIR" },
    { "epochs", 0, 0, G_OPTION_ARG_STRING, &epochs_s, "Train this many epochs (default 50, "
      "early stopping)", "N" },
    { "steps", 0, 0, G_OPTION_ARG_STRING, &steps_s, "Train this many steps", "N" },
    { "seed", 0, 0, G_OPTION_ARG_STRING, &seed_s, "Random seed (default 0)", "S" },
    { "threads", 0, 0, G_OPTION_ARG_STRING, &threads_s, "Worker threads (default: all CPUs)",
      "N" },
    { "batch", 0, 0, G_OPTION_ARG_STRING, &batch_s, "Batch size (default 48)", "N" },
    { "lr", 0, 0, G_OPTION_ARG_STRING, &lr_s, "Adam learning rate (default 1e-3)", "X" },
    { "warmup", 0, 0, G_OPTION_ARG_STRING, &warmup_s, "Linear learning-rate warmup over the "
      "first N steps (default: 5% of the steps, at most 200; 0: none)", "N" },
    { "ablate", 0, 0, G_OPTION_ARG_STRING_ARRAY, &ablate,
      "Remove itc, itm, sa, ca or csa (repeat or comma-separate)", "PART" },
    { "config", 0, 0, G_OPTION_ARG_STRING, &config, "Model size: paper (default) or small",
      "NAME" },
    { "init", 0, 0, G_OPTION_ARG_FILENAME, &init, "Fine-tune this model instead of starting "
      "fresh", "MODEL_DIR" },
    { "val-fraction", 0, 0, G_OPTION_ARG_STRING, &val_s, "Share of images held out for "
      "validation (default 0.1)", "F" },
    { "caption-prob", 0, 0, G_OPTION_ARG_STRING, &cap_s, "Chance a training question starts "
      "with its caption (default 0.5)", "P" },
    { "vocab", 0, 0, G_OPTION_ARG_STRING, &vocab_s, "Tokenizer size for a fresh model "
      "(default 8192)", "N" },
    { "device", 0, 0, G_OPTION_ARG_STRING, &device, "Engine device: cpu, cuda or auto (default: "
      "auto, the CPU when CUDA cannot run the step)", "DEVICE" },
    { "augment", 0, 0, G_OPTION_ARG_NONE, &augment, "Mirror and jitter the training images "
      "(left-right mirror, contrast, brightness, noise; validation images stay as they are)",
      NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print a JSON summary on stdout", NULL },
    { NULL }
  };

  for (int i = 1; i < argc; i++)
    if (g_strcmp0 (argv[i], "--from-reviews") == 0)
      return mva_cli_train_from_reviews (argc, argv);
  if (!mva_cli_parse ("train", NULL, "Train or fine-tune an MVaEMa model on a folder of "
                      "images with qa.jsonl.", entries, &argc, &argv))
    return 2;
  if (argc > 1)
    return mva_cli_fail ("train: unexpected argument “%s”", argv[1]);
  if (data == NULL || out == NULL)
    return mva_cli_fail ("train: --data DIR and --out MODEL_DIR are required");
  if (epochs_s != NULL && steps_s != NULL)
    return mva_cli_fail ("train: give --epochs or --steps, not both");

  mva_train_options_init (&opts);
  threads = (guint64) g_get_num_processors ();
  if (!mva_cli_parse_uint ("train", "--epochs", epochs_s, 1, 100000, &epochs) ||
      !mva_cli_parse_uint ("train", "--steps", steps_s, 1, G_GUINT64_CONSTANT (1) << 40, &steps) ||
      !mva_cli_parse_uint ("train", "--seed", seed_s, 0, G_MAXUINT64, &seed) ||
      !mva_cli_parse_uint ("train", "--threads", threads_s, 1, 256, &threads) ||
      !mva_cli_parse_uint ("train", "--batch", batch_s, 2, 4096, &batch) ||
      !mva_cli_parse_uint ("train", "--vocab", vocab_s, 263, 1 << 20, &vocab) ||
      !mva_cli_parse_uint ("train", "--warmup", warmup_s, 0, G_GUINT64_CONSTANT (1) << 40, &warmup) ||
      !mva_cli_parse_double ("train", "--lr", lr_s, 1e-9, 0.999, &opts.lr) ||
      !mva_cli_parse_double ("train", "--val-fraction", val_s, 0.0, 0.9, &opts.val_fraction) ||
      !mva_cli_parse_double ("train", "--caption-prob", cap_s, 0.0, 1.0, &opts.caption_prob))
    return 1;
  opts.augment = augment;
  if (config != NULL && g_strcmp0 (config, "paper") != 0 && g_strcmp0 (config, "small") != 0)
    return mva_cli_fail ("train: --config expects paper or small, not “%s”", config);
  if (init != NULL && config != NULL)
    return mva_cli_fail ("train: --config applies to fresh models; --init keeps its model's");
  for (guint i = 0; ablate != NULL && ablate[i] != NULL; i++)
    {
      g_auto(GStrv) parts = g_strsplit (ablate[i], ",", -1);
      for (guint j = 0; parts[j] != NULL; j++)
        {
          const char *a = g_strstrip (parts[j]);
          if (g_strcmp0 (a, "itc") == 0) opts.no_itc = TRUE;
          else if (g_strcmp0 (a, "itm") == 0) opts.no_itm = TRUE;
          else if (g_strcmp0 (a, "sa") == 0) opts.no_sa = TRUE;
          else if (g_strcmp0 (a, "ca") == 0) opts.no_ca = TRUE;
          else if (g_strcmp0 (a, "csa") == 0) opts.no_csa = TRUE;
          else
            return mva_cli_fail ("train: --ablate expects itc, itm, sa, ca or csa, not “%s”", a);
        }
    }
  if (!mva_cli_resolve_device ("train", device, &device_used, &device_note))
    return 1;
  if (!g_file_test (data, G_FILE_TEST_IS_DIR))
    return mva_cli_fail ("train: %s is not a folder", data);
  if (init != NULL && !g_file_test (init, G_FILE_TEST_IS_DIR))
    return mva_cli_fail ("train: --init %s is not a folder", init);

  opts.data_dir = data;
  opts.out_dir = out;
  opts.init_dir = init;
  opts.config = config != NULL ? config : "paper";
  opts.epochs = (guint) epochs;
  opts.steps = steps;
  opts.seed = seed;
  opts.threads = (guint) threads;
  opts.batch = (guint) batch;
  opts.vocab_size = (guint) vocab;
  if (warmup_s != NULL)
    opts.warmup_steps = (gint64) warmup;
  opts.device = device;

  if (!mva_trainer_run (&opts, on_progress, NULL, mva_cli_cancellable (), &cancelled, &summary,
                        &error))
    {
      if (g_error_matches (error, MVA_TRAINER_ERROR, MVA_TRAINER_ERROR_CANCELLED))
        {
          mva_cli_fail ("train: %s; nothing written", error->message);
          return 130;
        }
      return mva_cli_fail ("train: %s", error->message);
    }
  mva_cli_progress_done ();
  if (json)
    {
      JsonObject *o = json_node_get_object (summary);
      json_object_set_string_member (o, "device", device_used);
      if (device_note != NULL)
        json_object_set_string_member (o, "device_note", device_note);
      mva_cli_print_json (summary);
    }
  else
    {
      JsonObject *o = json_node_get_object (summary);
      printf ("model written to %s (%" G_GINT64_FORMAT " steps, final loss %.4f)\n",
              json_object_get_string_member (o, "out"),
              json_object_get_int_member (o, "steps"),
              json_object_get_double_member (o, "loss"));
    }
  if (cancelled)
    {
      fprintf (stderr, "mvaema-cli: train: interrupted; the model after the last finished step "
               "is in %s\n", out);
      return 130;
    }
  return 0;
}
