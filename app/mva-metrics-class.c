/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-metrics-class.c: top-k accuracy, per-class and macro precision /
 * recall / F1, confusion matrix (rows: true class, columns: top-1 guess).
 */
#define G_LOG_DOMAIN "mva-metrics"
#include "config.h"

#include <math.h>
#include <stdlib.h>

#include "mva-metrics-class.h"

struct _MvaClassMetrics
{
  guint    n_classes;
  guint64  count;
  guint64 *confusion;   /* (n_classes, n_classes), row = true class */
  guint64 *hits_at;     /* (n_classes): hits_at[r] = samples whose true class ranked r */
};

MvaClassMetrics *
mva_class_metrics_new (guint n_classes)
{
  MvaClassMetrics *m;

  g_return_val_if_fail (n_classes > 0 && n_classes <= 65536, NULL);

  m = g_new0 (MvaClassMetrics, 1);
  m->n_classes = n_classes;
  m->confusion = g_new0 (guint64, (gsize) n_classes * n_classes);
  m->hits_at = g_new0 (guint64, n_classes);
  return m;
}

void
mva_class_metrics_free (MvaClassMetrics *m)
{
  if (m == NULL)
    return;
  g_free (m->confusion);
  g_free (m->hits_at);
  g_free (m);
}

guint
mva_class_metrics_get_n_classes (MvaClassMetrics *m)
{
  g_return_val_if_fail (m != NULL, 0);
  return m->n_classes;
}

gboolean
mva_class_metrics_add_ranked (MvaClassMetrics *m,
                              guint            true_class,
                              const guint     *ranked,
                              guint            n_ranked)
{
  g_autofree gboolean *seen = NULL;

  g_return_val_if_fail (m != NULL, FALSE);
  if (ranked == NULL || n_ranked == 0 || n_ranked > m->n_classes || true_class >= m->n_classes)
    return FALSE;
  seen = g_new0 (gboolean, m->n_classes);
  for (guint i = 0; i < n_ranked; i++)
    {
      if (ranked[i] >= m->n_classes || seen[ranked[i]])
        return FALSE;
      seen[ranked[i]] = TRUE;
    }
  m->confusion[(gsize) true_class * m->n_classes + ranked[0]]++;
  for (guint i = 0; i < n_ranked; i++)
    if (ranked[i] == true_class)
      m->hits_at[i]++;
  m->count++;
  return TRUE;
}

typedef struct
{
  guint         n;
  const double *scores;
} RankCtx;

static int
compare_rank (const void *a,
              const void *b,
              void       *data)
{
  const RankCtx *ctx = data;
  guint i = *(const guint *) a, j = *(const guint *) b;
  double x = ctx->scores[i], y = ctx->scores[j];
  gboolean xn = isnan (x), yn = isnan (y);

  if (xn != yn)
    return xn ? 1 : -1;
  if (!xn && x != y)
    return x > y ? -1 : 1;
  return (i > j) - (i < j);
}

gboolean
mva_class_metrics_add_scores (MvaClassMetrics *m,
                              guint            true_class,
                              const double    *scores)
{
  g_autofree guint *order = NULL;
  RankCtx ctx;

  g_return_val_if_fail (m != NULL, FALSE);
  if (scores == NULL || true_class >= m->n_classes)
    return FALSE;
  order = g_new (guint, m->n_classes);
  for (guint i = 0; i < m->n_classes; i++)
    order[i] = i;
  ctx.n = m->n_classes;
  ctx.scores = scores;
  g_qsort_with_data (order, m->n_classes, sizeof (guint), compare_rank, &ctx);
  return mva_class_metrics_add_ranked (m, true_class, order, m->n_classes);
}

guint64
mva_class_metrics_get_count (MvaClassMetrics *m)
{
  g_return_val_if_fail (m != NULL, 0);
  return m->count;
}

double
mva_class_metrics_get_top_k (MvaClassMetrics *m,
                             guint            k)
{
  guint64 hits = 0;

  g_return_val_if_fail (m != NULL, 0.0);
  if (m->count == 0)
    return 0.0;
  for (guint r = 0; r < k && r < m->n_classes; r++)
    hits += m->hits_at[r];
  return (double) hits / (double) m->count;
}

guint64
mva_class_metrics_get_confusion (MvaClassMetrics *m,
                                 guint            true_class,
                                 guint            predicted_class)
{
  g_return_val_if_fail (m != NULL, 0);
  g_return_val_if_fail (true_class < m->n_classes && predicted_class < m->n_classes, 0);
  return m->confusion[(gsize) true_class * m->n_classes + predicted_class];
}

void
mva_class_metrics_get_class (MvaClassMetrics *m,
                             guint            c,
                             MvaClassScore   *out)
{
  guint64 tp, support = 0, predicted = 0;

  g_return_if_fail (m != NULL && out != NULL);
  g_return_if_fail (c < m->n_classes);

  tp = m->confusion[(gsize) c * m->n_classes + c];
  for (guint j = 0; j < m->n_classes; j++)
    {
      support += m->confusion[(gsize) c * m->n_classes + j];
      predicted += m->confusion[(gsize) j * m->n_classes + c];
    }
  out->support = support;
  out->predicted = predicted;
  out->precision = predicted > 0 ? (double) tp / (double) predicted : 0.0;
  out->recall = support > 0 ? (double) tp / (double) support : 0.0;
  out->f1 = out->precision + out->recall > 0.0
            ? 2.0 * out->precision * out->recall / (out->precision + out->recall) : 0.0;
}

void
mva_class_metrics_get_macro (MvaClassMetrics *m,
                             MvaClassScore   *out)
{
  guint n_present = 0;
  MvaClassScore sum = { 0 };

  g_return_if_fail (m != NULL && out != NULL);

  for (guint c = 0; c < m->n_classes; c++)
    {
      MvaClassScore s;

      mva_class_metrics_get_class (m, c, &s);
      sum.support += s.support;
      sum.predicted += s.predicted;
      if (s.support == 0 && s.predicted == 0)
        continue;
      n_present++;
      sum.precision += s.precision;
      sum.recall += s.recall;
      sum.f1 += s.f1;
    }
  *out = sum;
  if (n_present > 0)
    {
      out->precision = sum.precision / n_present;
      out->recall = sum.recall / n_present;
      out->f1 = sum.f1 / n_present;
    }
}
