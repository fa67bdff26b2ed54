/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-report.c: the evaluation report's data (folds, answers, classifications,
 * loss curves), its summary statistics, report.json, and writing both files
 * atomically. The HTML page and its figures live in mva-report-html.c.
 */
#define G_LOG_DOMAIN "mva-report"
#include "config.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <gio/gio.h>

#include "mva-report-private.h"

/* --- lifecycle ------------------------------------------------------------------- */

static void
fold_free (gpointer data)
{
  MvaReportFold *fold = data;

  mva_text_scorer_free (fold->text);
  mva_class_metrics_free (fold->classes);
  if (fold->baseline != NULL)
    mva_text_scorer_free (fold->baseline);
  g_free (fold);
}

static void
loss_free (gpointer data)
{
  MvaLossSeries *s = data;

  g_free (s->name);
  g_free (s->partial);
  g_array_unref (s->x);
  g_array_unref (s->y);
  g_free (s);
}

static void
example_free (gpointer data)
{
  MvaReportExample *e = data;

  g_free (e->question);
  g_free (e->answer);
  g_free (e->reference);
  g_free (e);
}

MvaReport *
mva_report_new (const char *title,
                MvaWordNet *wordnet)
{
  MvaReport *r = g_new0 (MvaReport, 1);
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();

  r->title = g_strdup (title != NULL ? title : "Evaluation report");
  r->wordnet = wordnet;
  r->created = g_date_time_format_iso8601 (now);
  r->folds = g_ptr_array_new_with_free_func (fold_free);
  r->losses = g_ptr_array_new_with_free_func (loss_free);
  r->examples = g_ptr_array_new_with_free_func (example_free);
  return r;
}

void
mva_report_free (MvaReport *r)
{
  if (r == NULL)
    return;
  g_free (r->title);
  g_free (r->model);
  g_free (r->model_details);
  g_free (r->data);
  g_free (r->baseline);
  g_free (r->created);
  g_strfreev (r->class_names);
  g_strfreev (r->family_names);
  g_ptr_array_unref (r->folds);
  for (guint i = 0; r->family_text != NULL && i < r->n_families; i++)
    mva_text_scorer_free (r->family_text[i]);
  g_free (r->family_text);
  mva_class_metrics_free (r->all_classes);
  g_ptr_array_unref (r->losses);
  g_ptr_array_unref (r->examples);
  g_free (r);
}

void
mva_report_set_model (MvaReport  *r,
                      const char *model,
                      const char *details)
{
  g_return_if_fail (r != NULL);
  g_free (r->model);
  g_free (r->model_details);
  r->model = g_strdup (model);
  r->model_details = g_strdup (details);
}

void
mva_report_set_data (MvaReport  *r,
                     const char *description)
{
  g_return_if_fail (r != NULL);
  g_free (r->data);
  r->data = g_strdup (description);
}

void
mva_report_set_class_names (MvaReport          *r,
                            const char * const *names,
                            guint               n_names)
{
  g_return_if_fail (r != NULL);
  g_return_if_fail (r->all_classes == NULL);
  g_return_if_fail (n_names > 0 && names != NULL);

  g_strfreev (r->class_names);
  r->class_names = g_new0 (char *, n_names + 1);
  for (guint i = 0; i < n_names; i++)
    r->class_names[i] = g_strdup (names[i]);
  r->n_classes = n_names;
}

void
mva_report_set_family_names (MvaReport          *r,
                             const char * const *names,
                             guint               n_names)
{
  g_return_if_fail (r != NULL);
  g_return_if_fail (r->family_text == NULL);
  g_return_if_fail (n_names > 0 && names != NULL);

  g_strfreev (r->family_names);
  r->family_names = g_new0 (char *, n_names + 1);
  for (guint i = 0; i < n_names; i++)
    r->family_names[i] = g_strdup (names[i]);
  r->n_families = n_names;
}

guint
mva_report_add_fold (MvaReport *r)
{
  MvaReportFold *fold;

  g_return_val_if_fail (r != NULL, 0);
  fold = g_new0 (MvaReportFold, 1);
  fold->text = mva_text_scorer_new (r->wordnet);
  g_ptr_array_add (r->folds, fold);
  return r->folds->len - 1;
}

guint
mva_report_get_n_folds (MvaReport *r)
{
  g_return_val_if_fail (r != NULL, 0);
  return r->folds->len;
}

/* --- adding data ------------------------------------------------------------------- */

static void
keep_example (MvaReport           *r,
              guint                family,
              const char          *question,
              const char          *answer,
              const char * const  *references,
              const MvaTextScores *s)
{
  MvaReportExample *e;
  guint pos = 0;

  if (r->examples->len == MVA_REPORT_N_EXAMPLES)
    {
      MvaReportExample *last = r->examples->pdata[r->examples->len - 1];

      if (s->meteor >= last->meteor)
        return;
      g_ptr_array_remove_index (r->examples, r->examples->len - 1);
    }
  while (pos < r->examples->len &&
         ((MvaReportExample *) r->examples->pdata[pos])->meteor <= s->meteor)
    pos++;
  e = g_new0 (MvaReportExample, 1);
  e->meteor = s->meteor;
  e->family = family;
  e->question = g_strdup (question);
  e->answer = g_strdup (answer);
  e->reference = g_strdup (references[0]);
  e->scores = *s;
  g_ptr_array_insert (r->examples, (gint) pos, e);
}

gboolean
mva_report_add_answer (MvaReport          *r,
                       guint               fold,
                       guint               family,
                       const char         *question,
                       const char         *answer,
                       const char * const *references)
{
  MvaReportFold *f;
  MvaTextScores s;

  g_return_val_if_fail (r != NULL, FALSE);
  if (fold >= r->folds->len || answer == NULL || references == NULL || references[0] == NULL)
    return FALSE;
  if (r->family_names == NULL)
    {
      /* families unnamed: one group */
      const char *all[] = { "all questions" };

      mva_report_set_family_names (r, all, 1);
    }
  if (family >= r->n_families)
    return FALSE;
  if (r->family_text == NULL)
    {
      r->family_text = g_new0 (MvaTextScorer *, r->n_families);
      for (guint i = 0; i < r->n_families; i++)
        r->family_text[i] = mva_text_scorer_new (r->wordnet);
    }
  f = r->folds->pdata[fold];
  mva_text_scorer_add (f->text, answer, references, &s);
  mva_text_scorer_add (r->family_text[family], answer, references, NULL);
  keep_example (r, family, question, answer, references, &s);
  return TRUE;
}

gboolean
mva_report_add_classification (MvaReport    *r,
                               guint         fold,
                               guint         true_class,
                               const double *scores)
{
  MvaReportFold *f;

  g_return_val_if_fail (r != NULL, FALSE);
  if (fold >= r->folds->len || r->n_classes == 0 || true_class >= r->n_classes || scores == NULL)
    return FALSE;
  f = r->folds->pdata[fold];
  if (f->classes == NULL)
    f->classes = mva_class_metrics_new (r->n_classes);
  if (r->all_classes == NULL)
    r->all_classes = mva_class_metrics_new (r->n_classes);
  if (!mva_class_metrics_add_scores (f->classes, true_class, scores))
    return FALSE;
  mva_class_metrics_add_scores (r->all_classes, true_class, scores);
  return TRUE;
}

gboolean
mva_report_add_loss (MvaReport  *r,
                     guint       fold,
                     const char *series,
                     double      epoch,
                     double      loss)
{
  MvaLossSeries *s = NULL;

  g_return_val_if_fail (r != NULL, FALSE);
  if (fold >= r->folds->len || series == NULL || !isfinite (epoch) || !isfinite (loss))
    return FALSE;
  for (guint i = 0; i < r->losses->len && s == NULL; i++)
    {
      MvaLossSeries *c = r->losses->pdata[i];

      if (c->fold == fold && strcmp (c->name, series) == 0)
        s = c;
    }
  if (s == NULL)
    {
      s = g_new0 (MvaLossSeries, 1);
      s->name = g_strdup (series);
      s->fold = fold;
      s->x = g_array_new (FALSE, FALSE, sizeof (double));
      s->y = g_array_new (FALSE, FALSE, sizeof (double));
      g_ptr_array_add (r->losses, s);
    }
  g_array_append_val (s->x, epoch);
  g_array_append_val (s->y, loss);
  return TRUE;
}

gboolean
mva_report_mark_partial (MvaReport  *r,
                         guint       fold,
                         const char *series,
                         const char *note)
{
  g_return_val_if_fail (r != NULL, FALSE);
  g_return_val_if_fail (series != NULL && note != NULL, FALSE);
  for (guint i = 0; i < r->losses->len; i++)
    {
      MvaLossSeries *s = r->losses->pdata[i];

      if (s->fold == fold && strcmp (s->name, series) == 0 && s->x->len > 0)
        {
          g_free (s->partial);
          s->partial = g_strdup (note);
          return TRUE;
        }
    }
  return FALSE;
}

void
mva_report_set_baseline (MvaReport  *r,
                         const char *description)
{
  g_return_if_fail (r != NULL);
  g_free (r->baseline);
  r->baseline = g_strdup (description);
}

gboolean
mva_report_add_baseline_answer (MvaReport          *r,
                                guint               fold,
                                const char         *answer,
                                const char * const *references)
{
  MvaReportFold *f;

  g_return_val_if_fail (r != NULL, FALSE);
  if (fold >= r->folds->len || answer == NULL || references == NULL || references[0] == NULL)
    return FALSE;
  f = r->folds->pdata[fold];
  if (f->baseline == NULL)
    f->baseline = mva_text_scorer_new (r->wordnet);
  mva_text_scorer_add (f->baseline, answer, references, NULL);
  return TRUE;
}

/* --- summary ----------------------------------------------------------------------- */

static void
stat_finish (MvaReportStat *st,
             const double  *values,
             guint          n)
{
  double sum = 0.0, ss = 0.0;

  st->n_folds = n;
  st->mean = st->std = 0.0;
  if (n == 0)
    return;
  for (guint i = 0; i < n; i++)
    sum += values[i];
  st->mean = sum / n;
  for (guint i = 0; i < n && n > 1; i++)
    ss += (values[i] - st->mean) * (values[i] - st->mean);
  st->std = n > 1 ? sqrt (ss / (n - 1)) : 0.0;
}

void
_mva_report_compute_stats (MvaReport     *r,
                           MvaReportStat *stats)
{
  static const MvaReportStat rows[MVA_REPORT_N_STATS] = {
    { "bleu2", "BLEU-2", "word and word-pair overlap with the reference (nltk, mean over answers)", 0.780 },
    { "bleu4", "BLEU-4", "overlap of runs of up to four words (nltk, mean over answers)", 0.709 },
    { "rouge1", "ROUGE-1", "F1 of shared words (rouge_score, mean over answers)", 0.860 },
    { "rouge2", "ROUGE-2", "F1 of shared word pairs (rouge_score, mean over answers)", 0.765 },
    { "rougeL", "ROUGE-L", "F1 of the longest common word sequence (mean over answers)", 0.822 },
    { "meteor", "METEOR", "word matches incl. stems and WordNet synonyms, order-aware (mean)", 0.853 },
    { "corpus_bleu2", "corpus BLEU-2", "BLEU-2 over all answers pooled (nltk corpus_bleu)", -1 },
    { "corpus_bleu4", "corpus BLEU-4", "BLEU-4 over all answers pooled (nltk corpus_bleu)", -1 },
    { "top1", "top-1 accuracy", "images whose category was the model's first guess", 0.947 },
    { "top5", "top-5 accuracy", "images whose category was among the model's five best guesses", 0.988 },
    { "macro_f1", "macro F1", "per-category F1 averaged over categories", -1 },
  };
  guint nf = r->folds->len;
  g_autofree double *values = g_new0 (double, nf + 1);
  g_autofree double *base = g_new0 (double, nf + 1);

  for (guint k = 0; k < MVA_REPORT_N_STATS; k++)
    {
      guint n = 0, nb = 0;

      stats[k] = rows[k];
      for (guint i = 0; i < nf; i++)
        {
          MvaReportFold *f = r->folds->pdata[i];
          MvaTextScores corpus, means;
          MvaClassScore macro;

          if (k < 8)
            {
              if (mva_text_scorer_get_count (f->text) == 0)
                continue;
              mva_text_scorer_get_corpus (f->text, &corpus, &means);
              switch (k)
                {
                case 0: values[n++] = means.bleu2; break;
                case 1: values[n++] = means.bleu4; break;
                case 2: values[n++] = means.rouge1; break;
                case 3: values[n++] = means.rouge2; break;
                case 4: values[n++] = means.rougeL; break;
                case 5: values[n++] = means.meteor; break;
                case 6: values[n++] = corpus.bleu2; break;
                default: values[n++] = corpus.bleu4; break;
                }
              if (f->baseline != NULL && mva_text_scorer_get_count (f->baseline) > 0)
                {
                  mva_text_scorer_get_corpus (f->baseline, &corpus, &means);
                  base[nb++] = k == 0 ? means.bleu2 : k == 1 ? means.bleu4 : k == 2 ? means.rouge1
                             : k == 3 ? means.rouge2 : k == 4 ? means.rougeL : k == 5 ? means.meteor
                             : k == 6 ? corpus.bleu2 : corpus.bleu4;
                }
            }
          else
            {
              if (f->classes == NULL || mva_class_metrics_get_count (f->classes) == 0)
                continue;
              if (k == 8)
                values[n++] = mva_class_metrics_get_top_k (f->classes, 1);
              else if (k == 9)
                values[n++] = mva_class_metrics_get_top_k (f->classes, 5);
              else
                {
                  mva_class_metrics_get_macro (f->classes, &macro);
                  values[n++] = macro.f1;
                }
            }
        }
      stat_finish (&stats[k], values, n);
      {
        MvaReportStat b = { 0 };

        stat_finish (&b, base, nb);
        stats[k].base_mean = b.mean;
        stats[k].base_std = b.std;
        stats[k].base_folds = b.n_folds;
      }
    }
}

/* --- JSON ------------------------------------------------------------------------- */

void
mva_report_add_text_scores_json (JsonBuilder         *b,
                                 const MvaTextScores *s)
{
  json_builder_set_member_name (b, "bleu2");
  json_builder_add_double_value (b, s->bleu2);
  json_builder_set_member_name (b, "bleu4");
  json_builder_add_double_value (b, s->bleu4);
  json_builder_set_member_name (b, "rouge1");
  json_builder_add_double_value (b, s->rouge1);
  json_builder_set_member_name (b, "rouge2");
  json_builder_add_double_value (b, s->rouge2);
  json_builder_set_member_name (b, "rougeL");
  json_builder_add_double_value (b, s->rougeL);
  json_builder_set_member_name (b, "meteor");
  json_builder_add_double_value (b, s->meteor);
}

static void
add_class_metrics (JsonBuilder     *b,
                   MvaClassMetrics *m,
                   GStrv            names)
{
  guint n = mva_class_metrics_get_n_classes (m);
  MvaClassScore macro;

  json_builder_set_member_name (b, "count");
  json_builder_add_int_value (b, (gint64) mva_class_metrics_get_count (m));
  json_builder_set_member_name (b, "top1");
  json_builder_add_double_value (b, mva_class_metrics_get_top_k (m, 1));
  json_builder_set_member_name (b, "top5");
  json_builder_add_double_value (b, mva_class_metrics_get_top_k (m, 5));
  mva_class_metrics_get_macro (m, &macro);
  json_builder_set_member_name (b, "macro_precision");
  json_builder_add_double_value (b, macro.precision);
  json_builder_set_member_name (b, "macro_recall");
  json_builder_add_double_value (b, macro.recall);
  json_builder_set_member_name (b, "macro_f1");
  json_builder_add_double_value (b, macro.f1);
  json_builder_set_member_name (b, "per_class");
  json_builder_begin_array (b);
  for (guint c = 0; c < n; c++)
    {
      MvaClassScore s;

      mva_class_metrics_get_class (m, c, &s);
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "class");
      json_builder_add_string_value (b, names[c]);
      json_builder_set_member_name (b, "precision");
      json_builder_add_double_value (b, s.precision);
      json_builder_set_member_name (b, "recall");
      json_builder_add_double_value (b, s.recall);
      json_builder_set_member_name (b, "f1");
      json_builder_add_double_value (b, s.f1);
      json_builder_set_member_name (b, "support");
      json_builder_add_int_value (b, (gint64) s.support);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_set_member_name (b, "confusion");
  json_builder_begin_array (b);
  for (guint t = 0; t < n; t++)
    {
      json_builder_begin_array (b);
      for (guint p = 0; p < n; p++)
        json_builder_add_int_value (b, (gint64) mva_class_metrics_get_confusion (m, t, p));
      json_builder_end_array (b);
    }
  json_builder_end_array (b);
}

static void
add_string_or_null (JsonBuilder *b,
                    const char  *key,
                    const char  *value)
{
  json_builder_set_member_name (b, key);
  if (value != NULL)
    json_builder_add_string_value (b, value);
  else
    json_builder_add_null_value (b);
}

JsonNode *
mva_report_to_json (MvaReport *r)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  MvaReportStat stats[MVA_REPORT_N_STATS];

  g_return_val_if_fail (r != NULL, NULL);

  _mva_report_compute_stats (r, stats);
  json_builder_begin_object (b);
  add_string_or_null (b, "title", r->title);
  add_string_or_null (b, "created", r->created);
  add_string_or_null (b, "model", r->model);
  add_string_or_null (b, "model_details", r->model_details);
  add_string_or_null (b, "data", r->data);
  json_builder_set_member_name (b, "folds");
  json_builder_add_int_value (b, r->folds->len);
  json_builder_set_member_name (b, "wordnet");
  json_builder_add_boolean_value (b, r->wordnet != NULL);
  json_builder_set_member_name (b, "std");
  json_builder_add_string_value (b, "sample standard deviation over folds (n - 1)");

  json_builder_set_member_name (b, "summary");
  json_builder_begin_object (b);
  for (guint k = 0; k < MVA_REPORT_N_STATS; k++)
    {
      json_builder_set_member_name (b, stats[k].key);
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "mean");
      json_builder_add_double_value (b, stats[k].mean);
      json_builder_set_member_name (b, "std");
      json_builder_add_double_value (b, stats[k].std);
      json_builder_set_member_name (b, "folds");
      json_builder_add_int_value (b, stats[k].n_folds);
      json_builder_set_member_name (b, "paper");
      if (stats[k].paper >= 0)
        json_builder_add_double_value (b, stats[k].paper);
      else
        json_builder_add_null_value (b);
      if (stats[k].base_folds > 0)
        {
          json_builder_set_member_name (b, "baseline");
          json_builder_add_double_value (b, stats[k].base_mean);
          json_builder_set_member_name (b, "baseline_std");
          json_builder_add_double_value (b, stats[k].base_std);
        }
      json_builder_end_object (b);
    }
  json_builder_end_object (b);
  add_string_or_null (b, "baseline", r->baseline);

  json_builder_set_member_name (b, "per_fold");
  json_builder_begin_array (b);
  for (guint i = 0; i < r->folds->len; i++)
    {
      MvaReportFold *f = r->folds->pdata[i];
      MvaTextScores corpus, means;

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "fold");
      json_builder_add_int_value (b, i);
      json_builder_set_member_name (b, "answers");
      json_builder_add_int_value (b, (gint64) mva_text_scorer_get_count (f->text));
      mva_text_scorer_get_corpus (f->text, &corpus, &means);
      json_builder_set_member_name (b, "text_means");
      json_builder_begin_object (b);
      mva_report_add_text_scores_json (b, &means);
      json_builder_end_object (b);
      json_builder_set_member_name (b, "text_corpus_bleu2");
      json_builder_add_double_value (b, corpus.bleu2);
      json_builder_set_member_name (b, "text_corpus_bleu4");
      json_builder_add_double_value (b, corpus.bleu4);
      if (f->classes != NULL)
        {
          json_builder_set_member_name (b, "classification");
          json_builder_begin_object (b);
          add_class_metrics (b, f->classes, r->class_names);
          json_builder_end_object (b);
        }
      json_builder_end_object (b);
    }
  json_builder_end_array (b);

  json_builder_set_member_name (b, "classification");
  if (r->all_classes != NULL)
    {
      json_builder_begin_object (b);
      add_class_metrics (b, r->all_classes, r->class_names);
      json_builder_end_object (b);
    }
  else
    json_builder_add_null_value (b);

  json_builder_set_member_name (b, "families");
  json_builder_begin_array (b);
  for (guint i = 0; r->family_text != NULL && i < r->n_families; i++)
    {
      MvaTextScores means;

      mva_text_scorer_get_corpus (r->family_text[i], NULL, &means);
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "family");
      json_builder_add_string_value (b, r->family_names[i]);
      json_builder_set_member_name (b, "answers");
      json_builder_add_int_value (b, (gint64) mva_text_scorer_get_count (r->family_text[i]));
      mva_report_add_text_scores_json (b, &means);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);

  json_builder_set_member_name (b, "loss_curves");
  json_builder_begin_array (b);
  for (guint i = 0; i < r->losses->len; i++)
    {
      MvaLossSeries *s = r->losses->pdata[i];

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "fold");
      json_builder_add_int_value (b, s->fold);
      json_builder_set_member_name (b, "series");
      json_builder_add_string_value (b, s->name);
      json_builder_set_member_name (b, "epoch");
      json_builder_begin_array (b);
      for (guint k = 0; k < s->x->len; k++)
        json_builder_add_double_value (b, g_array_index (s->x, double, k));
      json_builder_end_array (b);
      json_builder_set_member_name (b, "loss");
      json_builder_begin_array (b);
      for (guint k = 0; k < s->y->len; k++)
        json_builder_add_double_value (b, g_array_index (s->y, double, k));
      json_builder_end_array (b);
      if (s->partial != NULL)
        add_string_or_null (b, "last_partial", s->partial);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);

  json_builder_set_member_name (b, "weakest_answers");
  json_builder_begin_array (b);
  for (guint i = 0; i < r->examples->len; i++)
    {
      MvaReportExample *e = r->examples->pdata[i];

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "family");
      json_builder_add_string_value (b, r->family_names[e->family]);
      add_string_or_null (b, "question", e->question);
      add_string_or_null (b, "answer", e->answer);
      add_string_or_null (b, "reference", e->reference);
      mva_report_add_text_scores_json (b, &e->scores);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

/* --- writing ------------------------------------------------------------------------ */

gboolean
mva_report_write (MvaReport   *r,
                  const char  *dir,
                  GError     **error)
{
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autofree char *json_text = NULL;
  g_autofree char *html = NULL;
  g_autofree char *json_path = NULL;
  g_autofree char *html_path = NULL;

  g_return_val_if_fail (r != NULL && dir != NULL, FALSE);

  if (g_mkdir_with_parents (dir, 0755) != 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "cannot create %s: %s", dir, g_strerror (saved));
      return FALSE;
    }
  root = mva_report_to_json (r);
  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, TRUE);
  json_text = json_generator_to_data (gen, NULL);
  html = _mva_report_build_html (r, error);
  if (html == NULL)
    return FALSE;

  /* g_file_set_contents writes a temporary file, fsyncs and renames */
  json_path = g_build_filename (dir, "report.json", NULL);
  html_path = g_build_filename (dir, "report.html", NULL);
  if (!g_file_set_contents (json_path, json_text, -1, error))
    return FALSE;
  return g_file_set_contents (html_path, html, -1, error);
}
