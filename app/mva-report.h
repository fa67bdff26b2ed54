/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-report.h: an evaluation report (what `mvaema-cli eval` writes): answers
 * scored with the paper's text metrics, classifications, and training loss
 * curves, per fold, summarised as mean ± standard deviation over folds next
 * to the paper's figures, and written as
 *
 *   DIR/report.json   every number, machine-readable
 *   DIR/report.html   one self-contained page (no external files): summary
 *                     table, per-class and per-family tables, and three
 *                     cairo-drawn PNG figures embedded as data: URLs
 *                     (confusion-matrix heat map, per-family scores, loss
 *                     curves), plus the weakest answers as examples.
 *
 *   g_autoptr(MvaReport) r = mva_report_new ("mvaema-s32 on synth-200", wordnet);
 *   mva_report_set_class_names (r, categories, 10);
 *   mva_report_set_family_names (r, families, 10);
 *   guint f = mva_report_add_fold (r);
 *   mva_report_add_answer (r, f, family, question, answer, references);
 *   mva_report_add_classification (r, f, true_class, scores);   // one per class
 *   mva_report_add_loss (r, f, "train", epoch, loss);
 *   mva_report_mark_partial (r, f, "train", "epoch 3: 120 of 400 steps"); // a cut-short last point
 *   mva_report_set_baseline (r, "most common answer of the asked family");
 *   mva_report_add_baseline_answer (r, f, baseline_answer, references);
 *   mva_report_write (r, "out/report", &error);
 *
 * Standard deviations are sample standard deviations (n - 1) over folds; 0
 * with one fold. Not thread-safe: fill it from one thread.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "mva-metrics.h"
#include "mva-metrics-class.h"

G_BEGIN_DECLS

typedef struct _MvaReport MvaReport;

/* wordnet: for METEOR (nullable: exact + stem only, and the report says so) */
MvaReport *mva_report_new               (const char          *title,
                                         MvaWordNet          *wordnet);
void       mva_report_free              (MvaReport           *report);
void       mva_report_set_model         (MvaReport           *report,
                                         const char          *model,
                                         const char          *details);
void       mva_report_set_data          (MvaReport           *report,
                                         const char          *description);
/* Must be called before the first classification is added. */
void       mva_report_set_class_names   (MvaReport           *report,
                                         const char * const  *names,
                                         guint                n_names);
/* Must be called before the first answer is added. */
void       mva_report_set_family_names  (MvaReport           *report,
                                         const char * const  *names,
                                         guint                n_names);
/* Starts a fold (or the single held-out split) and returns its index. */
guint      mva_report_add_fold          (MvaReport           *report);
guint      mva_report_get_n_folds       (MvaReport           *report);
/* FALSE (nothing recorded) when fold or family is out of range. question may
 * be NULL; references NULL-terminated. */
gboolean   mva_report_add_answer        (MvaReport           *report,
                                         guint                fold,
                                         guint                family,
                                         const char          *question,
                                         const char          *answer,
                                         const char * const  *references);
/* scores: one per class, higher is more likely. */
gboolean   mva_report_add_classification (MvaReport          *report,
                                           guint               fold,
                                           guint               true_class,
                                           const double       *scores);
/* One point of a loss curve ("train", "val", ...) of a fold's training run. */
gboolean   mva_report_add_loss          (MvaReport           *report,
                                         guint                fold,
                                         const char          *series,
                                         double               epoch,
                                         double               loss);
/* The last point added to a loss series is an epoch the run stopped part
 * way through (note says how far, e.g. "epoch 3: 120 of 400 steps"): the
 * chart draws it as a hollow point, apart from the whole epochs, and
 * report.json gives the note as "last_partial". FALSE when there is no such
 * series. */
gboolean   mva_report_mark_partial      (MvaReport           *report,
                                         guint                fold,
                                         const char          *series,
                                         const char          *note);
/* A baseline the model should beat, answering the same questions (e.g. the
 * most common answer of the asked family in the training pairs): its text
 * scores appear next to the model's in the summary ("baseline" in
 * report.json). */
void       mva_report_set_baseline      (MvaReport           *report,
                                         const char          *description);
gboolean   mva_report_add_baseline_answer (MvaReport         *report,
                                           guint              fold,
                                           const char        *answer,
                                           const char * const *references);
/* Adds the members "bleu2", "bleu4", "rouge1", "rouge2", "rougeL", "meteor"
 * of s to the object b is building (report.json and `mvaema-cli metrics`). */
void       mva_report_add_text_scores_json (JsonBuilder         *b,
                                            const MvaTextScores *s);
/* The whole report as JSON (what report.json holds). */
JsonNode  *mva_report_to_json           (MvaReport           *report);
/* Creates dir if needed; writes report.json and report.html atomically. */
gboolean   mva_report_write             (MvaReport           *report,
                                         const char          *dir,
                                         GError             **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MvaReport, mva_report_free)

G_END_DECLS
