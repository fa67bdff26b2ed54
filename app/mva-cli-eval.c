/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-cli-eval.c: `mvaema-cli eval`, score a model the way the paper does.
 *
 *   mvaema-cli eval --data DIR [--model MODEL_DIR] [--folds K] [--report OUT]
 *                   [--config small|paper] [--epochs N | --steps N] [--batch N]
 *                   [--vocab N] [--seed S] [--threads N] [--max-tokens N] [--json]
 *
 * Without --folds (K = 1): every question of DIR (the `mvaema-cli synth`
 * layout) is answered by MODEL_DIR (greedy decoding) and every image is
 * classified (the 10 category names ranked by the decoder's log-likelihood
 * as answers to "What type of nanomaterial is shown?", no caption); answers
 * are scored with the paper's metrics (mva-metrics.h) against the data's
 * answers, and the loss curves of MODEL_DIR/train-log.json are included.
 * With --folds K: the images are split into K folds (seeded shuffle); for
 * each fold a model is trained on the other folds (fresh with --config, or
 * fine-tuned from MODEL_DIR) and evaluated on the fold; the summary is mean ±
 * sample standard deviation over folds. --report writes OUT/report.json and
 * OUT/report.html (mva-report.h). Progress on stderr; Ctrl+C stops cleanly.
 */
#define G_LOG_DOMAIN "mva-cli"
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <glib/gstdio.h>

#include "mva-assistant.h"
#include "mva-cli.h"
#include "mva-report.h"
#include "mva-synth.h"
#include "mva-trainer.h"

/* Under -Dsanitize=true: the report's cairo text loads fontconfig, which keeps
 * its caches until exit by design; LeakSanitizer reads this hook (other
 * builds never call it). */
const char *__lsan_default_suppressions (void);
const char *
__lsan_default_suppressions (void)
{
  return "leak:libfontconfig.so\n";
}

#define OTHER_FAMILY MVA_SYNTH_N_FAMILIES

typedef struct
{
  GCancellable *cancellable;
  guint         threads;
  MvaReport    *report;
  /* current training run's curves: per epoch sums */
  GArray       *train_sum;   /* double, index epoch - 1 */
  GArray       *train_n;     /* guint */
  GArray       *val;         /* double (NAN when none) */
  guint         fold;
  guint         n_folds;
  int32_t       max_tokens;  /* answer tokens to generate at most, 0: the model's limit */
} EvalRun;

/* --- loss curves ------------------------------------------------------------------- */

static void
curves_reset (EvalRun *run)
{
  g_array_set_size (run->train_sum, 0);
  g_array_set_size (run->train_n, 0);
  g_array_set_size (run->val, 0);
}

static void
curves_add (EvalRun *run,
            guint    epoch,
            double   loss,
            gboolean is_val)
{
  if (epoch == 0 || !isfinite (loss))
    return;
  while (run->train_sum->len < epoch)
    {
      double zero = 0.0, nan_value = NAN;
      guint none = 0;

      g_array_append_val (run->train_sum, zero);
      g_array_append_val (run->train_n, none);
      g_array_append_val (run->val, nan_value);
    }
  if (is_val)
    g_array_index (run->val, double, epoch - 1) = loss;
  else
    {
      g_array_index (run->train_sum, double, epoch - 1) += loss;
      g_array_index (run->train_n, guint, epoch - 1) += 1;
    }
}

/* The training curve per epoch (mean step loss) and the validation curve.
 * A run that stopped part way through its last epoch (steps decide) has a
 * last epoch of fewer steps than a whole one: it is put where it stopped
 * (epoch - 1 + steps / steps of a whole epoch) and marked partial. The last
 * epoch counts as cut short when the others ended in a validation and it did
 * not (or, with no validation, when it has fewer steps than every other),
 * and it has fewer steps than the longest whole epoch. */
static void
curves_to_report (EvalRun *run)
{
  guint n_epochs = run->train_sum->len;
  guint last_n = n_epochs > 0 ? g_array_index (run->train_n, guint, n_epochs - 1) : 0;
  guint whole = 0, fewest = G_MAXUINT;
  gboolean any_val = FALSE, partial = FALSE;

  for (guint e = 0; e + 1 < n_epochs; e++)
    {
      whole = MAX (whole, g_array_index (run->train_n, guint, e));
      fewest = MIN (fewest, g_array_index (run->train_n, guint, e));
      any_val = any_val || isfinite (g_array_index (run->val, double, e));
    }
  if (n_epochs >= 2 && last_n > 0 && last_n < whole)
    partial = any_val ? !isfinite (g_array_index (run->val, double, n_epochs - 1))
                      : last_n < fewest;

  for (guint e = 0; e < n_epochs; e++)
    {
      guint n = g_array_index (run->train_n, guint, e);
      double v = g_array_index (run->val, double, e);
      double x = e + 1;

      if (partial && e + 1 == n_epochs)
        x = e + (double) n / whole;
      if (n > 0)
        mva_report_add_loss (run->report, run->fold, "train", x,
                             g_array_index (run->train_sum, double, e) / n);
      if (isfinite (v))
        mva_report_add_loss (run->report, run->fold, "val", e + 1, v);
    }
  if (partial)
    {
      g_autofree char *note = g_strdup_printf ("epoch %u: %u of about %u steps", n_epochs, last_n,
                                               whole);

      mva_report_mark_partial (run->report, run->fold, "train", note);
    }
}

/* train-log.json of an existing model: step_log[].{epoch, loss}, epoch_log[].{epoch, val_loss} */
static void
curves_from_log (EvalRun    *run,
                 const char *model_dir)
{
  g_autofree char *path = g_build_filename (model_dir, "train-log.json", NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *root;

  curves_reset (run);
  if (!json_parser_load_from_file (parser, path, NULL) ||
      !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return;
  root = json_node_get_object (json_parser_get_root (parser));
  for (int k = 0; k < 2; k++)
    {
      const char *list = k == 0 ? "step_log" : "epoch_log";
      const char *key = k == 0 ? "loss" : "val_loss";
      JsonArray *a;

      if (!json_object_has_member (root, list) ||
          !JSON_NODE_HOLDS_ARRAY (json_object_get_member (root, list)))
        continue;
      a = json_object_get_array_member (root, list);
      for (guint i = 0; i < json_array_get_length (a); i++)
        {
          JsonNode *n = json_array_get_element (a, i);
          JsonObject *o;

          if (!JSON_NODE_HOLDS_OBJECT (n))
            continue;
          o = json_node_get_object (n);
          if (json_object_get_member (o, "epoch") == NULL || json_object_get_member (o, key) == NULL ||
              json_object_get_null_member (o, key))
            continue;
          curves_add (run, (guint) json_object_get_int_member (o, "epoch"),
                      json_object_get_double_member (o, key), k == 1);
        }
    }
  curves_to_report (run);
}

static void
on_train_progress (const MvaTrainProgress *p,
                   gpointer                user_data)
{
  EvalRun *run = user_data;

  switch (p->phase)
    {
    case MVA_TRAIN_PHASE_STEP:
      curves_add (run, p->epoch, p->loss, FALSE);
      mva_cli_progress ("eval: fold %u/%u: training step %" G_GUINT64_FORMAT " epoch %u loss %.4f",
                        run->fold + 1, run->n_folds, p->step, p->epoch, p->loss);
      break;
    case MVA_TRAIN_PHASE_EPOCH:
      curves_add (run, p->epoch, p->val_loss, TRUE);
      break;
    default:
      break;
    }
}

/* --- answering and classifying -------------------------------------------------------- */

static guint
family_index (const MvaQaPair *pair)
{
  return pair->family >= 1 && pair->family <= MVA_SYNTH_N_FAMILIES ? (guint) pair->family - 1
                                                                     : OTHER_FAMILY;
}

/* The assistant's errors as eval reports them: a cancel is G_IO_ERROR_CANCELLED. */
static void
take_assistant_error (GError **error,
                      GError  *local)
{
  if (g_error_matches (local, MVA_ASSISTANT_ERROR, MVA_ASSISTANT_ERROR_CANCELLED))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, local->message);
      g_error_free (local);
    }
  else
    g_propagate_error (error, local);
}

/* Answers and classifies the pairs and images with in_fold[image] set,
 * through the assistant (mva-assistant.h) as the app does: the data's
 * model-input pixels (already size x size, data bar left out) are handed over
 * as an 8-bit RGB image, which the assistant's preprocessing passes through
 * unchanged; answers are the model's text (model_only: no metadata scale). */
static gboolean
evaluate_model (EvalRun         *run,
                const char      *model_dir,
                MvaDataset      *ds,
                const gboolean  *in_fold,
                GError         **error)
{
  g_autoptr(MvaAssistantModel) model = NULL;
  g_autofree gboolean *classified = g_new0 (gboolean, ds->n_images + 1);
  GError *local = NULL;
  guint done = 0, total = 0;
  MvaImage image = { 0 };

  model = mva_assistant_model_load (model_dir, run->threads, &local);
  if (model == NULL)
    {
      take_assistant_error (error, local);
      return FALSE;
    }
  if (mva_assistant_model_get_image_size (model) != ds->size)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "%s/model.safetensors expects %ux%u images; the data was prepared at %ux%u RGB",
                   model_dir, mva_assistant_model_get_image_size (model),
                   mva_assistant_model_get_image_size (model), ds->size, ds->size);
      return FALSE;
    }
  image.width = image.full_width = ds->size;
  image.height = image.full_height = ds->size;
  image.channels = 3;
  image.bit_depth = 8;
  image.sample_format = MVA_SAMPLE_UINT;
  image.stride = (gsize) 3 * ds->size;
  image.format = (char *) "RGB";
  image.meta.pixel_size_nm = image.meta.pixel_size_y_nm = NAN;
  image.meta.hv_kv = image.meta.wd_mm = image.meta.magnification = NAN;

  for (guint i = 0; i < ds->pairs->len; i++)
    if (in_fold[g_array_index (ds->pairs, MvaQaPair, i).image])
      total++;

  for (guint i = 0; i < ds->pairs->len; i++)
    {
      const MvaQaPair *pair = &g_array_index (ds->pairs, MvaQaPair, i);
      g_autofree char *question = NULL;
      g_autoptr(MvaAnswer) answer = NULL;
      const char *refs[2] = { pair->answer, NULL };
      MvaAskRequest req = { 0 };
      MvaSynthCategory category;

      if (!in_fold[pair->image])
        continue;
      if (g_cancellable_set_error_if_cancelled (run->cancellable, error))
        return FALSE;
      image.data = ds->pixels[pair->image];

      /* classify each image once, without a caption */
      if (!classified[pair->image] && pair->category != NULL &&
          mva_synth_category_from_name (pair->category, &category))
        {
          g_autoptr(GArray) ranking = NULL;
          double scores[MVA_SYNTH_N_CATEGORIES];

          ranking = mva_assistant_classify (model, &image, run->cancellable, &local);
          if (ranking == NULL)
            {
              take_assistant_error (error, local);
              return FALSE;
            }
          for (guint c = 0; c < MVA_SYNTH_N_CATEGORIES; c++)
            scores[c] = -INFINITY;
          for (guint k = 0; k < ranking->len; k++)
            {
              const MvaCategoryScore *cs = &g_array_index (ranking, MvaCategoryScore, k);
              MvaSynthCategory c;

              if (mva_synth_category_from_name (cs->category, &c))
                scores[c] = cs->logprob;
            }
          mva_report_add_classification (run->report, run->fold, category, scores);
          classified[pair->image] = TRUE;
        }

      /* answer the question as the data asked it (with its caption or not) */
      question = pair->asked_with_caption && pair->caption != NULL
                   ? g_strconcat (pair->caption, " ", pair->question, NULL)
                   : g_strdup (pair->question);
      req.question = question;
      req.max_tokens = run->max_tokens > 0 ? (guint) run->max_tokens : 0;
      req.model_only = TRUE;
      answer = mva_assistant_ask (model, &image, &req, NULL, NULL, run->cancellable, &local);
      if (answer == NULL)
        {
          take_assistant_error (error, local);
          return FALSE;
        }
      mva_report_add_answer (run->report, run->fold, family_index (pair), question, answer->answer,
                             refs);
      done++;
      if (done % 25 == 0 || done == total)
        mva_cli_progress ("eval: fold %u/%u: answered %u/%u questions", run->fold + 1,
                          run->n_folds, done, total);
    }
  mva_cli_progress_done ();
  return TRUE;
}

/* The last component of a folder path ("runs/m1/" -> "m1"). */
static char *
dir_name (const char *path)
{
  g_autofree char *abs = g_canonicalize_filename (path, NULL);

  return g_path_get_basename (abs);
}

/* --- baseline ------------------------------------------------------------------------
 *
 * What bench/baseline-majority.py computes: every question answered with the
 * most common answer of its family among the training pairs (ties: the one
 * seen first), a family the training pairs lack with the most common answer
 * overall. */

typedef struct
{
  guint count, first;
} Tally;

typedef struct
{
  GHashTable *tallies;  /* family (GINT_TO_POINTER (family + 1)) -> GHashTable answer -> Tally */
  GHashTable *all;      /* answer -> Tally */
  guint       n;
} Majority;

static void
majority_init (Majority *m)
{
  m->tallies = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) g_hash_table_unref);
  m->all = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  m->n = 0;
}

static void
majority_clear (Majority *m)
{
  g_clear_pointer (&m->tallies, g_hash_table_unref);
  g_clear_pointer (&m->all, g_hash_table_unref);
}

static void
tally (GHashTable *t, const char *answer, guint index)
{
  Tally *c = g_hash_table_lookup (t, answer);

  if (c == NULL)
    {
      c = g_new0 (Tally, 1);
      c->first = index;
      g_hash_table_insert (t, g_strdup (answer), c);
    }
  c->count++;
}

static void
majority_add (Majority *m, int family, const char *answer)
{
  gpointer key = GINT_TO_POINTER (family + 1);
  GHashTable *t = g_hash_table_lookup (m->tallies, key);

  if (t == NULL)
    {
      t = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
      g_hash_table_insert (m->tallies, key, t);
    }
  tally (t, answer, m->n);
  tally (m->all, answer, m->n);
  m->n++;
}

static const char *
most_common (GHashTable *t)
{
  GHashTableIter it;
  gpointer k, v;
  const char *best = NULL;
  const Tally *bt = NULL;

  g_hash_table_iter_init (&it, t);
  while (g_hash_table_iter_next (&it, &k, &v))
    {
      const Tally *c = v;

      if (bt == NULL || c->count > bt->count || (c->count == bt->count && c->first < bt->first))
        {
          best = k;
          bt = c;
        }
    }
  return best;
}

static const char *
majority_answer (Majority *m, int family)
{
  GHashTable *t = g_hash_table_lookup (m->tallies, GINT_TO_POINTER (family + 1));

  return most_common (t != NULL ? t : m->all);
}

/* The training pairs of an existing model: its train-log.json "data"
 * folder's qa.jsonl, when that is still there. FALSE when not at hand. */
static gboolean
majority_from_model (Majority *m, const char *model_dir)
{
  g_autofree char *log = g_build_filename (model_dir, "train-log.json", NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autofree char *qa = NULL, *text = NULL;
  g_auto(GStrv) lines = NULL;
  JsonObject *root;
  const char *data;

  if (!json_parser_load_from_file (parser, log, NULL) ||
      !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return FALSE;
  root = json_node_get_object (json_parser_get_root (parser));
  data = json_object_get_string_member_with_default (root, "data", NULL);
  if (data == NULL)
    return FALSE;
  qa = g_build_filename (data, "qa.jsonl", NULL);
  if (!g_file_get_contents (qa, &text, NULL, NULL))
    return FALSE;
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autoptr(JsonNode) node = NULL;
      JsonObject *o;
      const char *answer;

      if (g_strstrip (lines[i])[0] == '\0')
        continue;
      node = json_from_string (lines[i], NULL);
      if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
        continue;
      o = json_node_get_object (node);
      answer = json_object_get_string_member_with_default (o, "answer", NULL);
      if (answer != NULL)
        majority_add (m, (int) json_object_get_int_member_with_default (o, "family", 0), answer);
    }
  return m->n > 0;
}

/* The baseline's answer to every pair of the fold. */
static void
add_baseline (EvalRun *run, Majority *m, MvaDataset *ds, const gboolean *in_fold)
{
  for (guint i = 0; i < ds->pairs->len; i++)
    {
      const MvaQaPair *pair = &g_array_index (ds->pairs, MvaQaPair, i);
      const char *refs[2] = { pair->answer, NULL };

      if (in_fold[pair->image])
        mva_report_add_baseline_answer (run->report, run->fold, majority_answer (m, pair->family),
                                        refs);
    }
}

/* --- folds ------------------------------------------------------------------------- */

static gboolean
remove_tree (const char  *path,
             GError     **error)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK))
    {
      g_autoptr(GDir) dir = g_dir_open (path, 0, error);
      const char *name;

      if (dir == NULL)
        return FALSE;
      while ((name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);

          if (!remove_tree (child, error))
            return FALSE;
        }
      if (g_rmdir (path) != 0)
        {
          int saved = errno;

          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "cannot remove %s: %s",
                       path, g_strerror (saved));
          return FALSE;
        }
      return TRUE;
    }
  if (g_unlink (path) != 0 && errno != ENOENT)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "cannot remove %s: %s", path,
                   g_strerror (saved));
      return FALSE;
    }
  return TRUE;
}

/* qa.jsonl of the pairs outside the fold, images by absolute path */
static gboolean
write_training_set (MvaDataset      *ds,
                    const gboolean  *in_fold,
                    const char      *dir,
                    GError         **error)
{
  g_autoptr(GString) out = g_string_new (NULL);
  g_autofree char *path = g_build_filename (dir, "qa.jsonl", NULL);

  for (guint i = 0; i < ds->pairs->len; i++)
    {
      const MvaQaPair *pair = &g_array_index (ds->pairs, MvaQaPair, i);
      g_autoptr(JsonBuilder) b = NULL;
      g_autoptr(JsonGenerator) gen = NULL;
      g_autoptr(JsonNode) root = NULL;
      g_autofree char *line = NULL;
      g_autofree char *question = NULL;

      if (in_fold[pair->image])
        continue;
      question = pair->asked_with_caption && pair->caption != NULL
                   ? g_strconcat (pair->caption, " ", pair->question, NULL)
                   : g_strdup (pair->question);
      b = json_builder_new ();
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "image");
      json_builder_add_string_value (b, ds->image_paths[pair->image]);
      json_builder_set_member_name (b, "category");
      if (pair->category != NULL)
        json_builder_add_string_value (b, pair->category);
      else
        json_builder_add_null_value (b);
      json_builder_set_member_name (b, "family");
      json_builder_add_int_value (b, pair->family);
      json_builder_set_member_name (b, "question");
      json_builder_add_string_value (b, question);
      json_builder_set_member_name (b, "answer");
      json_builder_add_string_value (b, pair->answer);
      json_builder_set_member_name (b, "caption");
      if (pair->caption != NULL)
        json_builder_add_string_value (b, pair->caption);
      else
        json_builder_add_null_value (b);
      json_builder_end_object (b);
      root = json_builder_get_root (b);
      gen = json_generator_new ();
      json_generator_set_root (gen, root);
      line = json_generator_to_data (gen, NULL);
      g_string_append (out, line);
      g_string_append_c (out, '\n');
    }
  return g_file_set_contents (path, out->str, (gssize) out->len, error);
}

/* --- output -------------------------------------------------------------------------- */

static void
print_summary (JsonObject *summary,
               guint       n_folds)
{
  static const char * const keys[] = {
    "bleu2", "bleu4", "rouge1", "rouge2", "rougeL", "meteor", "corpus_bleu2", "corpus_bleu4",
    "top1", "top5", "macro_f1",
  };

  printf ("%-14s %-17s %s\n", "metric", n_folds > 1 ? "mean ± sd" : "value", "paper");
  for (gsize i = 0; i < G_N_ELEMENTS (keys); i++)
    {
      JsonObject *o = json_object_get_object_member (summary, keys[i]);
      g_autofree char *value = NULL;
      g_autofree char *paper = NULL;

      if (json_object_get_int_member (o, "folds") == 0)
        value = g_strdup ("—");
      else if (n_folds > 1)
        value = g_strdup_printf ("%.3f ± %.3f", json_object_get_double_member (o, "mean"),
                                 json_object_get_double_member (o, "std"));
      else
        value = g_strdup_printf ("%.3f", json_object_get_double_member (o, "mean"));
      paper = json_object_get_null_member (o, "paper")
                ? g_strdup ("—")
                : g_strdup_printf ("%.3f", json_object_get_double_member (o, "paper"));
      /* pad by characters: ± and — are multi-byte */
      printf ("%-14s %s%*s %s\n", keys[i], value, (int) (17 - g_utf8_strlen (value, -1)), "",
              paper);
    }
}

int
mva_cli_eval (int    argc,
              char **argv)
{
  g_autofree char *model = NULL;
  g_autofree char *data = NULL;
  g_autofree char *report_dir = NULL;
  g_autofree char *config = NULL;
  g_autofree char *folds_s = NULL, *epochs_s = NULL, *steps_s = NULL, *seed_s = NULL;
  g_autofree char *threads_s = NULL, *batch_s = NULL, *vocab_s = NULL, *max_tokens_s = NULL;
  gboolean json = FALSE;
  const GOptionEntry entries[] = {
    { "data", 0, 0, G_OPTION_ARG_FILENAME, &data, "Evaluation folder (qa.jsonl + images)", "DIR" },
    { "model", 0, 0, G_OPTION_ARG_FILENAME, &model,
      "Model to evaluate; with --folds, the model each fold fine-tunes", "MODEL_DIR" },
    { "folds", 0, 0, G_OPTION_ARG_STRING, &folds_s,
      "Train and evaluate K folds (cross-validation, default 1: evaluate --model)", "K" },
    { "report", 0, 0, G_OPTION_ARG_FILENAME, &report_dir,
      "Write report.json and report.html into this folder", "OUT" },
    { "config", 0, 0, G_OPTION_ARG_STRING, &config,
      "With --folds and no --model: paper (default) or small", "NAME" },
    { "epochs", 0, 0, G_OPTION_ARG_STRING, &epochs_s, "With --folds: epochs per fold", "N" },
    { "steps", 0, 0, G_OPTION_ARG_STRING, &steps_s, "With --folds: steps per fold", "N" },
    { "batch", 0, 0, G_OPTION_ARG_STRING, &batch_s, "With --folds: batch size (default 48)", "N" },
    { "vocab", 0, 0, G_OPTION_ARG_STRING, &vocab_s,
      "With --folds and no --model: tokenizer size (default 8192)", "N" },
    { "seed", 0, 0, G_OPTION_ARG_STRING, &seed_s, "Seed of the fold split and training", "S" },
    { "threads", 0, 0, G_OPTION_ARG_STRING, &threads_s, "Worker threads (default: all CPUs)", "N" },
    { "max-tokens", 0, 0, G_OPTION_ARG_STRING, &max_tokens_s,
      "Generate at most N answer tokens (default: the model's limit)", "N" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print the summary as one JSON object", NULL },
    { NULL }
  };
  const char *family_names[MVA_SYNTH_N_FAMILIES + 1];
  const char *class_names[MVA_SYNTH_N_CATEGORIES];
  const char *wn_message = NULL;
  guint64 folds = 1, epochs = 0, steps = 0, seed = 0, batch = 48, vocab = 8192, max_tokens = 0;
  guint64 threads = g_get_num_processors ();
  g_autoptr(MvaDataset) ds = NULL;
  g_autoptr(MvaReport) report = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) root = NULL;
  g_autofree guint *image_fold = NULL;
  g_autofree gboolean *in_fold = NULL;
  g_autofree char *title = NULL;
  GCancellable *cancellable = mva_cli_cancellable ();
  MvaWordNet *wordnet;
  EvalRun run = { 0 };
  int status = 0;

  if (!mva_cli_parse ("eval", NULL,
                      "Answer and classify held-out data, score it with the paper's metrics, "
                      "and write a report.", entries, &argc, &argv))
    return 2;
  if (argc > 1)
    return mva_cli_fail ("eval: unexpected argument “%s”", argv[1]);
  if (data == NULL)
    return mva_cli_fail ("eval: --data DIR is required");
  if (!mva_cli_parse_uint ("eval", "--folds", folds_s, 1, 100, &folds) ||
      !mva_cli_parse_uint ("eval", "--epochs", epochs_s, 1, 100000, &epochs) ||
      !mva_cli_parse_uint ("eval", "--steps", steps_s, 1, G_MAXUINT32, &steps) ||
      !mva_cli_parse_uint ("eval", "--seed", seed_s, 0, G_MAXUINT64, &seed) ||
      !mva_cli_parse_uint ("eval", "--threads", threads_s, 1, 1024, &threads) ||
      !mva_cli_parse_uint ("eval", "--batch", batch_s, 2, 100000, &batch) ||
      !mva_cli_parse_uint ("eval", "--vocab", vocab_s, 300, 1000000, &vocab) ||
      !mva_cli_parse_uint ("eval", "--max-tokens", max_tokens_s, 1, 100000, &max_tokens))
    return 2;
  if (folds == 1 && model == NULL)
    return mva_cli_fail ("eval: --model MODEL_DIR is required without --folds");
  if (folds == 1 && (epochs_s || steps_s || config || batch_s || vocab_s))
    return mva_cli_fail ("eval: --config, --epochs, --steps, --batch and --vocab only apply with --folds");
  if (epochs_s != NULL && steps_s != NULL)
    return mva_cli_fail ("eval: give --epochs or --steps, not both");
  if (config != NULL && g_strcmp0 (config, "small") != 0 && g_strcmp0 (config, "paper") != 0)
    return mva_cli_fail ("eval: unknown configuration “%s” (paper or small)", config);
  if (model != NULL && folds == 1)
    {
      g_autofree char *mp = g_build_filename (model, "model.safetensors", NULL);

      if (!g_file_test (mp, G_FILE_TEST_IS_REGULAR))
        return mva_cli_fail ("eval: %s not found", mp);
    }

  /* every model configuration takes 224 x 224 input */
  mva_cli_progress ("eval: loading %s", data);
  ds = mva_dataset_load (data, 224, (guint) threads, NULL, NULL, cancellable, &error);
  mva_cli_progress_done ();
  if (ds == NULL)
    return mva_cli_fail ("eval: %s", error->message);
  if (ds->pairs->len == 0)
    return mva_cli_fail ("eval: %s has no question/answer pairs", data);
  if (folds > ds->n_images)
    return mva_cli_fail ("eval: %" G_GUINT64_FORMAT " folds need at least as many images; %s has %u",
                         folds, data, ds->n_images);

  wordnet = mva_wordnet_get_default (&wn_message);
  if (wordnet == NULL)
    fprintf (stderr, "mvaema-cli: eval: %s; METEOR uses exact and stem matches only\n", wn_message);

  /* names, not (often temporary) paths: the paths are on the model and data lines */
  {
    g_autofree char *data_name = dir_name (data);
    g_autofree char *model_name = model != NULL ? dir_name (model) : NULL;

    title = folds > 1
              ? g_strdup_printf ("%" G_GUINT64_FORMAT "-fold cross-validation on %s", folds,
                                 data_name)
              : g_strdup_printf ("Evaluation of %s on %s", model_name, data_name);
  }
  report = mva_report_new (title, wordnet);
  for (guint f = 0; f < MVA_SYNTH_N_FAMILIES; f++)
    family_names[f] = mva_synth_family_name (f + 1);
  family_names[OTHER_FAMILY] = "other questions";
  for (guint c = 0; c < MVA_SYNTH_N_CATEGORIES; c++)
    class_names[c] = mva_synth_category_name (c);
  mva_report_set_family_names (report, family_names, MVA_SYNTH_N_FAMILIES + 1);
  mva_report_set_class_names (report, class_names, MVA_SYNTH_N_CATEGORIES);
  {
    g_autofree char *details = NULL;
    g_autofree char *desc = g_strdup_printf ("%s: %u images, %u question/answer pairs", data,
                                             ds->n_images, ds->pairs->len);

    if (folds > 1)
      {
        /* e.g. "Model: trained per fold (from scratch, small configuration, 40 steps)" */
        g_autofree char *how = model != NULL
          ? g_strdup ("fine-tuned from this model")
          : g_strdup_printf ("from scratch, %s configuration", config != NULL ? config : "paper");

        details = g_strdup_printf ("%s%s%s%s", how,
                                   steps_s != NULL || epochs_s != NULL ? ", " : "",
                                   steps_s != NULL ? steps_s : epochs_s != NULL ? epochs_s : "",
                                   steps_s != NULL ? " steps" : epochs_s != NULL ? " epochs" : "");
      }
    mva_report_set_model (report, model != NULL ? model : "trained per fold", details);
    mva_report_set_data (report, desc);
  }

  run.cancellable = cancellable;
  run.threads = (guint) threads;
  run.report = report;
  run.n_folds = (guint) folds;
  run.max_tokens = (int32_t) max_tokens;
  run.train_sum = g_array_new (FALSE, FALSE, sizeof (double));
  run.train_n = g_array_new (FALSE, FALSE, sizeof (guint));
  run.val = g_array_new (FALSE, FALSE, sizeof (double));

  /* fold of every image: a seeded shuffle dealt round-robin */
  image_fold = g_new0 (guint, ds->n_images + 1);
  in_fold = g_new0 (gboolean, ds->n_images + 1);
  {
    g_autoptr(GRand) rand = g_rand_new_with_seed ((guint32) (seed ^ (seed >> 32)));
    g_autofree guint *order = g_new (guint, ds->n_images + 1);

    for (guint i = 0; i < ds->n_images; i++)
      order[i] = i;
    for (guint i = ds->n_images; i > 1; i--)
      {
        guint j = (guint) g_rand_int_range (rand, 0, (gint32) i);
        guint t = order[i - 1];

        order[i - 1] = order[j];
        order[j] = t;
      }
    for (guint i = 0; i < ds->n_images; i++)
      image_fold[order[i]] = i % (guint) folds;
  }

  for (guint f = 0; f < folds && status == 0; f++)
    {
      g_autofree char *tmp = NULL;
      g_autofree char *fold_model = NULL;

      run.fold = mva_report_add_fold (report);
      for (guint i = 0; i < ds->n_images; i++)
        in_fold[i] = folds == 1 || image_fold[i] == f;
      curves_reset (&run);

      if (folds == 1)
        {
          Majority m;

          curves_from_log (&run, model);
          if (!evaluate_model (&run, model, ds, in_fold, &error))
            status = 1;
          majority_init (&m);
          if (status == 0 && majority_from_model (&m, model))
            {
              mva_report_set_baseline (report, "the most common answer of the asked question "
                                               "family in the model's training pairs");
              add_baseline (&run, &m, ds, in_fold);
            }
          majority_clear (&m);
          continue;
        }

      tmp = g_dir_make_tmp (NULL, &error);
      if (tmp == NULL)
        {
          status = 1;
          break;
        }
      fold_model = g_build_filename (tmp, "model", NULL);
      if (write_training_set (ds, in_fold, tmp, &error))
        {
          MvaTrainOptions opts;
          gboolean cancelled = FALSE;

          mva_train_options_init (&opts);
          opts.data_dir = tmp;
          opts.out_dir = fold_model;
          opts.init_dir = model;
          opts.config = config;
          opts.epochs = (guint) epochs;
          opts.steps = steps;
          opts.seed = seed + f;
          opts.threads = (guint) threads;
          opts.batch = (guint) batch;
          opts.vocab_size = (guint) vocab;
          fprintf (stderr, "eval: fold %u/%" G_GUINT64_FORMAT ": training on the other folds\n",
                   f + 1, folds);
          if (!mva_trainer_run (&opts, on_train_progress, &run, cancellable, &cancelled, NULL,
                                &error))
            status = 1;
          else if (cancelled)
            {
              g_set_error (&error, G_IO_ERROR, G_IO_ERROR_CANCELLED, "interrupted");
              status = 1;
            }
          mva_cli_progress_done ();
          if (status == 0)
            {
              Majority m;

              curves_to_report (&run);
              if (!evaluate_model (&run, fold_model, ds, in_fold, &error))
                status = 1;
              majority_init (&m);
              for (guint i = 0; i < ds->pairs->len; i++)
                {
                  const MvaQaPair *pair = &g_array_index (ds->pairs, MvaQaPair, i);

                  if (!in_fold[pair->image])
                    majority_add (&m, pair->family, pair->answer);
                }
              if (status == 0 && m.n > 0)
                {
                  mva_report_set_baseline (report, "the most common answer of the asked question "
                                                   "family in the fold's training pairs");
                  add_baseline (&run, &m, ds, in_fold);
                }
              majority_clear (&m);
            }
        }
      else
        status = 1;
      {
        g_autoptr(GError) rm_error = NULL;

        if (!remove_tree (tmp, &rm_error))
          fprintf (stderr, "mvaema-cli: eval: %s\n", rm_error->message);
      }
    }
  g_array_unref (run.train_sum);
  g_array_unref (run.train_n);
  g_array_unref (run.val);

  if (status != 0)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          mva_cli_fail ("eval: interrupted");
          return 130;
        }
      return mva_cli_fail ("eval: %s", error != NULL ? error->message : "failed");
    }

  if (report_dir != NULL && !mva_report_write (report, report_dir, &error))
    return mva_cli_fail ("eval: %s", error->message);

  root = mva_report_to_json (report);
  if (json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      JsonObject *o = json_node_get_object (root);

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "folds");
      json_builder_add_int_value (b, (gint64) folds);
      json_builder_set_member_name (b, "report");
      if (report_dir != NULL)
        json_builder_add_string_value (b, report_dir);
      else
        json_builder_add_null_value (b);
      json_builder_set_member_name (b, "wordnet");
      json_builder_add_boolean_value (b, wordnet != NULL);
      json_builder_set_member_name (b, "summary");
      json_builder_add_value (b, json_node_copy (json_object_get_member (o, "summary")));
      json_builder_end_object (b);
      mva_cli_print_builder (b);
    }
  else
    {
      print_summary (json_object_get_object_member (json_node_get_object (root), "summary"),
                     (guint) folds);
      if (report_dir != NULL)
        printf ("report: %s/report.html\n", report_dir);
    }
  return 0;
}
