/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-metrics-class.h: classification metrics for zero-shot classification
 * (the paper's top-1 / top-5 accuracy), per-class precision, recall and F1,
 * their macro averages, and the confusion matrix.
 *
 * Conventions (scikit-learn's defaults): a class nobody predicted has
 * precision 0, a class with no samples has recall 0, F1 = 2PR / (P + R) or 0,
 * and the macro averages are the unweighted means over the classes that
 * occur as a true or a predicted label (macro F1 is the mean of the per-class
 * F1, not the F1 of the macro precision and recall).
 *
 *   g_autoptr(MvaClassMetrics) m = mva_class_metrics_new (10);
 *   guint ranked[] = { 3, 1, 7, 0, 2 };            // best first
 *   mva_class_metrics_add_ranked (m, 1, ranked, 5);  // true class 1
 *   mva_class_metrics_get_top_k (m, 1);  // 0.0
 *   mva_class_metrics_get_top_k (m, 5);  // 1.0
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _MvaClassMetrics MvaClassMetrics;

typedef struct
{
  double  precision;
  double  recall;
  double  f1;
  guint64 support;     /* samples whose true class this is */
  guint64 predicted;   /* samples predicted (top-1) as this class */
} MvaClassScore;

MvaClassMetrics *mva_class_metrics_new           (guint                  n_classes);
void             mva_class_metrics_free          (MvaClassMetrics       *metrics);
guint            mva_class_metrics_get_n_classes (MvaClassMetrics       *metrics);
/* ranked: class indexes, best first, no repeats (at least one). FALSE, and
 * nothing recorded, when an index is out of range or repeated. */
gboolean         mva_class_metrics_add_ranked    (MvaClassMetrics       *metrics,
                                                  guint                  true_class,
                                                  const guint           *ranked,
                                                  guint                  n_ranked);
/* scores: one per class, higher is more likely; equal scores rank the lower
 * index first. NaN scores rank last. */
gboolean         mva_class_metrics_add_scores    (MvaClassMetrics       *metrics,
                                                  guint                  true_class,
                                                  const double          *scores);
guint64          mva_class_metrics_get_count     (MvaClassMetrics       *metrics);
/* Fraction of samples whose true class is among the first k ranked (0 when
 * empty). */
double           mva_class_metrics_get_top_k     (MvaClassMetrics       *metrics,
                                                  guint                  k);
guint64          mva_class_metrics_get_confusion (MvaClassMetrics       *metrics,
                                                  guint                  true_class,
                                                  guint                  predicted_class);
void             mva_class_metrics_get_class     (MvaClassMetrics       *metrics,
                                                  guint                  class_index,
                                                  MvaClassScore         *out);
/* support/predicted of out are the totals; the rest are macro averages. */
void             mva_class_metrics_get_macro     (MvaClassMetrics       *metrics,
                                                  MvaClassScore         *out);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MvaClassMetrics, mva_class_metrics_free)

G_END_DECLS
