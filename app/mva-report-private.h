/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-report-private.h: the report's data, shared by mva-report.c (data,
 * JSON) and mva-report-html.c (HTML page and cairo figures).
 */
#pragma once

#include "mva-report.h"

G_BEGIN_DECLS

typedef struct
{
  char   *name;      /* "train", "val", ... */
  guint   fold;
  GArray *x;         /* double epochs */
  GArray *y;         /* double losses */
  char   *partial;   /* the last point is a partial epoch: how far it got; or NULL */
} MvaLossSeries;

typedef struct
{
  double  meteor;
  guint   family;
  char   *question;
  char   *answer;
  char   *reference;  /* the first reference */
  MvaTextScores scores;
} MvaReportExample;

typedef struct
{
  MvaTextScorer   *text;      /* every answer of the fold */
  MvaClassMetrics *classes;   /* NULL until the first classification */
  MvaTextScorer   *baseline;  /* the baseline's answers; NULL until one is added */
} MvaReportFold;

/* one summary row: mean and sample standard deviation over folds */
typedef struct
{
  const char *key;        /* JSON key */
  const char *label;      /* table label */
  const char *meaning;    /* one-line explanation for readers */
  double      paper;      /* the paper's figure, < 0 when it has none */
  double      mean;
  double      std;
  guint       n_folds;    /* folds that had data for it */
  double      base_mean;  /* the baseline (text metrics), when base_folds > 0 */
  double      base_std;
  guint       base_folds;
} MvaReportStat;

#define MVA_REPORT_N_STATS 11
#define MVA_REPORT_N_EXAMPLES 5

struct _MvaReport
{
  char            *title;
  char            *model;
  char            *model_details;
  char            *data;
  char            *created;         /* ISO 8601 */
  MvaWordNet      *wordnet;         /* borrowed */
  GStrv            class_names;
  guint            n_classes;
  GStrv            family_names;
  guint            n_families;
  GPtrArray       *folds;           /* MvaReportFold* */
  MvaTextScorer  **family_text;     /* (n_families): answers of all folds */
  MvaClassMetrics *all_classes;     /* all folds pooled; NULL until used */
  GPtrArray       *losses;          /* MvaLossSeries* */
  GPtrArray       *examples;        /* MvaReportExample*, lowest METEOR first */
  char            *baseline;        /* what the baseline is, or NULL */
};

void    _mva_report_compute_stats (MvaReport     *report,
                                   MvaReportStat *stats);
char   *_mva_report_build_html    (MvaReport     *report,
                                   GError       **error);

G_END_DECLS
