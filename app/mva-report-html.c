/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-report-html.c: report.html, one self-contained page. The three figures
 * are drawn with cairo (image surfaces, toy text API: no Pango or GTK in
 * app/), written as PNG into memory and embedded as data: URLs, so the file
 * can be mailed or archived alone.
 *
 *   confusion matrix   heat map of row-normalised counts (recall per true
 *                      category), count printed in each cell, viridis colours
 *   per-family scores  horizontal grouped bars: BLEU-2, BLEU-4, ROUGE-L, METEOR
 *   loss curves        one line per fold and series (train solid, others dashed)
 */
#define G_LOG_DOMAIN "mva-report"
#include "config.h"

#include <math.h>
#include <string.h>
#include <cairo.h>

#include "mva-report-private.h"

/* Okabe-Ito: distinguishable with colour-blindness */
static const double palette[8][3] = {
  { 0.000, 0.447, 0.698 }, { 0.902, 0.624, 0.000 }, { 0.000, 0.620, 0.451 },
  { 0.800, 0.475, 0.655 }, { 0.337, 0.706, 0.914 }, { 0.835, 0.369, 0.000 },
  { 0.941, 0.894, 0.259 }, { 0.000, 0.000, 0.000 },
};

/* --- cairo helpers ---------------------------------------------------------------- */

static cairo_status_t
append_png (void                *closure,
            const unsigned char *data,
            unsigned int         length)
{
  g_byte_array_append (closure, data, length);
  return CAIRO_STATUS_SUCCESS;
}

/* Encodes the surface as a data: URL; NULL (with error) when cairo fails. */
static char *
surface_to_data_url (cairo_surface_t  *surface,
                     GError          **error)
{
  g_autoptr(GByteArray) png = g_byte_array_new ();
  g_autofree char *b64 = NULL;
  cairo_status_t status;

  cairo_surface_flush (surface);
  status = cairo_surface_write_to_png_stream (surface, append_png, png);
  if (status != CAIRO_STATUS_SUCCESS)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot draw a figure: %s",
                   cairo_status_to_string (status));
      return NULL;
    }
  b64 = g_base64_encode (png->data, png->len);
  return g_strconcat ("data:image/png;base64,", b64, NULL);
}

typedef enum
{
  ALIGN_LEFT,
  ALIGN_CENTER,
  ALIGN_RIGHT,
} Align;

static void
draw_text (cairo_t    *cr,
           double      x,
           double      y,
           Align       align,
           const char *text)
{
  cairo_text_extents_t ext;

  cairo_text_extents (cr, text, &ext);
  if (align == ALIGN_CENTER)
    x -= ext.x_advance / 2;
  else if (align == ALIGN_RIGHT)
    x -= ext.x_advance;
  cairo_move_to (cr, x, y);
  cairo_show_text (cr, text);
}

/* text rotated by -90 degrees, centred on (x, y) */
static void
draw_text_up (cairo_t    *cr,
              double      x,
              double      y,
              const char *text)
{
  cairo_save (cr);
  cairo_translate (cr, x, y);
  cairo_rotate (cr, -G_PI / 2);
  draw_text (cr, 0, 0, ALIGN_CENTER, text);
  cairo_restore (cr);
}

static cairo_t *
new_canvas (int               width,
            int               height,
            cairo_surface_t **surface)
{
  cairo_t *cr;

  *surface = cairo_image_surface_create (CAIRO_FORMAT_RGB24, width, height);
  cr = cairo_create (*surface);
  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_paint (cr);
  cairo_select_font_face (cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size (cr, 13);
  cairo_set_source_rgb (cr, 0.1, 0.1, 0.1);
  return cr;
}

static void
viridis (double  t,
         double *rgb)
{
  static const double stops[9][3] = {
    { 0.267, 0.005, 0.329 }, { 0.283, 0.141, 0.458 }, { 0.254, 0.265, 0.530 },
    { 0.207, 0.372, 0.553 }, { 0.164, 0.471, 0.558 }, { 0.128, 0.567, 0.551 },
    { 0.135, 0.659, 0.518 }, { 0.478, 0.821, 0.318 }, { 0.993, 0.906, 0.144 },
  };
  double pos = CLAMP (t, 0.0, 1.0) * 8.0;
  int i = MIN ((int) pos, 7);
  double f = pos - i;

  for (int k = 0; k < 3; k++)
    rgb[k] = stops[i][k] + f * (stops[i + 1][k] - stops[i][k]);
}

/* shorten a label to at most max_chars characters */
static char *
short_label (const char *text,
             glong       max_chars)
{
  if (g_utf8_strlen (text, -1) <= max_chars)
    return g_strdup (text);
  {
    g_autofree char *head = g_utf8_substring (text, 0, max_chars - 1);
    return g_strconcat (head, "…", NULL);
  }
}

/* --- figures ---------------------------------------------------------------------- */

static char *
draw_confusion (MvaReport  *r,
                GError    **error)
{
  guint n = r->n_classes;
  double cell = n <= 10 ? 46 : MAX (14.0, 460.0 / n);
  double left = 150, top = 60;
  int width = (int) (left + n * cell + 120);
  int height = (int) (top + n * cell + 130);
  cairo_surface_t *surface;
  cairo_t *cr = new_canvas (width, height, &surface);
  char *url;

  cairo_set_font_size (cr, 15);
  draw_text (cr, left, 26, ALIGN_LEFT, "Confusion matrix (all folds): share of each true category");
  cairo_set_font_size (cr, 12);
  for (guint t = 0; t < n; t++)
    {
      guint64 row = 0;

      for (guint p = 0; p < n; p++)
        row += mva_class_metrics_get_confusion (r->all_classes, t, p);
      for (guint p = 0; p < n; p++)
        {
          guint64 c = mva_class_metrics_get_confusion (r->all_classes, t, p);
          double frac = row > 0 ? (double) c / (double) row : 0.0;
          double rgb[3];
          char num[32];

          viridis (frac, rgb);
          cairo_set_source_rgb (cr, rgb[0], rgb[1], rgb[2]);
          cairo_rectangle (cr, left + p * cell, top + t * cell, cell - 1, cell - 1);
          cairo_fill (cr);
          if (cell >= 24 && c > 0)
            {
              g_snprintf (num, sizeof num, "%" G_GUINT64_FORMAT, c);
              if (frac > 0.6)
                cairo_set_source_rgb (cr, 0, 0, 0);
              else
                cairo_set_source_rgb (cr, 1, 1, 1);
              draw_text (cr, left + p * cell + cell / 2, top + t * cell + cell / 2 + 4,
                         ALIGN_CENTER, num);
            }
        }
    }
  cairo_set_source_rgb (cr, 0.1, 0.1, 0.1);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *label = short_label (r->class_names[i], 18);

      draw_text (cr, left - 8, top + i * cell + cell / 2 + 4, ALIGN_RIGHT, label);
      cairo_save (cr);
      cairo_translate (cr, left + i * cell + cell / 2 + 4, top + n * cell + 8);
      cairo_rotate (cr, G_PI / 3);
      draw_text (cr, 0, 0, ALIGN_LEFT, label);
      cairo_restore (cr);
    }
  draw_text_up (cr, 18, top + n * cell / 2, "true category");
  draw_text (cr, left + n * cell / 2, height - 12, ALIGN_CENTER, "predicted category (top-1)");

  /* colour bar */
  for (int k = 0; k < 100; k++)
    {
      double rgb[3];

      viridis (1.0 - k / 99.0, rgb);
      cairo_set_source_rgb (cr, rgb[0], rgb[1], rgb[2]);
      cairo_rectangle (cr, left + n * cell + 30, top + k * (n * cell) / 100.0, 16, (n * cell) / 100.0 + 1);
      cairo_fill (cr);
    }
  cairo_set_source_rgb (cr, 0.1, 0.1, 0.1);
  draw_text (cr, left + n * cell + 52, top + 10, ALIGN_LEFT, "100%");
  draw_text (cr, left + n * cell + 52, top + n * cell, ALIGN_LEFT, "0%");

  cairo_destroy (cr);
  url = surface_to_data_url (surface, error);
  cairo_surface_destroy (surface);
  return url;
}

static char *
draw_families (MvaReport  *r,
               GError    **error)
{
  static const char * const metric_names[4] = { "BLEU-2", "BLEU-4", "ROUGE-L", "METEOR" };
  g_autofree guint *shown = g_new0 (guint, r->n_families + 1);
  guint n = 0;
  double bar = 9, group = 4 * bar + 12;
  double left = 300, top = 70, plot_w = 520;
  int width = (int) (left + plot_w + 40);
  int height;
  cairo_surface_t *surface;
  cairo_t *cr;
  char *url;

  /* families without answers are left out */
  for (guint f = 0; f < r->n_families; f++)
    if (mva_text_scorer_get_count (r->family_text[f]) > 0)
      shown[n++] = f;
  height = (int) (top + MAX (n, 1) * group + 50);
  cr = new_canvas (width, height, &surface);
  cairo_set_font_size (cr, 15);
  draw_text (cr, 16, 26, ALIGN_LEFT, "Answer quality per question family (mean over answers)");
  cairo_set_font_size (cr, 12);
  /* legend */
  for (int m = 0; m < 4; m++)
    {
      cairo_set_source_rgb (cr, palette[m][0], palette[m][1], palette[m][2]);
      cairo_rectangle (cr, left + m * 110, 40, 12, 12);
      cairo_fill (cr);
      cairo_set_source_rgb (cr, 0.1, 0.1, 0.1);
      draw_text (cr, left + m * 110 + 17, 51, ALIGN_LEFT, metric_names[m]);
    }
  /* grid */
  for (int k = 0; k <= 10; k++)
    {
      double x = left + plot_w * k / 10.0;
      char tick[16];

      cairo_set_source_rgb (cr, 0.85, 0.85, 0.85);
      cairo_set_line_width (cr, 1);
      cairo_move_to (cr, x + 0.5, top - 4);
      cairo_line_to (cr, x + 0.5, top + n * group);
      cairo_stroke (cr);
      if (k % 2 == 0)
        {
          cairo_set_source_rgb (cr, 0.3, 0.3, 0.3);
          g_snprintf (tick, sizeof tick, "%.1f", k / 10.0);
          draw_text (cr, x, top + n * group + 16, ALIGN_CENTER, tick);
        }
    }
  for (guint k = 0; k < n; k++)
    {
      guint f = shown[k];
      MvaTextScores s;
      double values[4];
      guint64 count = mva_text_scorer_get_count (r->family_text[f]);
      g_autofree char *label = short_label (r->family_names[f], 36);
      g_autofree char *counted = g_strdup_printf ("%s (%" G_GUINT64_FORMAT ")", label, count);
      double y0 = top + k * group;

      mva_text_scorer_get_corpus (r->family_text[f], NULL, &s);
      values[0] = s.bleu2;
      values[1] = s.bleu4;
      values[2] = s.rougeL;
      values[3] = s.meteor;
      cairo_set_source_rgb (cr, 0.1, 0.1, 0.1);
      draw_text (cr, left - 8, y0 + 2 * bar + 4, ALIGN_RIGHT, counted);
      for (int m = 0; m < 4 && count > 0; m++)
        {
          cairo_set_source_rgb (cr, palette[m][0], palette[m][1], palette[m][2]);
          cairo_rectangle (cr, left, y0 + m * bar, plot_w * CLAMP (values[m], 0.0, 1.0), bar - 1);
          cairo_fill (cr);
        }
    }
  cairo_set_source_rgb (cr, 0.1, 0.1, 0.1);
  draw_text (cr, left + plot_w / 2, height - 10, ALIGN_CENTER, "score (0 = no overlap, 1 = identical)");

  cairo_destroy (cr);
  url = surface_to_data_url (surface, error);
  cairo_surface_destroy (surface);
  return url;
}

static double
nice_step (double range)
{
  double raw = range / 5.0;
  double mag = pow (10.0, floor (log10 (raw)));
  double f = raw / mag;

  return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * mag;
}

static char *
draw_losses (MvaReport  *r,
             GError    **error)
{
  double left = 70, top = 60, plot_w = 600, plot_h = 300;
  guint n_line;
  int width = (int) (left + plot_w + 200);
  int height = (int) (top + plot_h + 60);
  double xmin = G_MAXDOUBLE, xmax = -G_MAXDOUBLE, ymin = G_MAXDOUBLE, ymax = -G_MAXDOUBLE;
  double step;
  cairo_surface_t *surface;
  cairo_t *cr = new_canvas (width, height, &surface);
  char *url;

  for (guint i = 0; i < r->losses->len; i++)
    {
      MvaLossSeries *s = r->losses->pdata[i];

      for (guint k = 0; k < s->x->len; k++)
        {
          xmin = MIN (xmin, g_array_index (s->x, double, k));
          xmax = MAX (xmax, g_array_index (s->x, double, k));
          ymin = MIN (ymin, g_array_index (s->y, double, k));
          ymax = MAX (ymax, g_array_index (s->y, double, k));
        }
    }
  if (xmax <= xmin)
    xmax = xmin + 1;
  ymin = MIN (ymin, 0.0);
  if (ymax <= ymin)
    ymax = ymin + 1;
  step = nice_step (ymax - ymin);
  ymax = ceil (ymax / step) * step;

  cairo_set_font_size (cr, 15);
  draw_text (cr, 16, 26, ALIGN_LEFT, "Training loss per epoch (one line per fold and split)");
  cairo_set_font_size (cr, 12);
  cairo_set_line_width (cr, 1);
  for (double v = ymin; v <= ymax + step / 2; v += step)
    {
      double y = top + plot_h - (v - ymin) / (ymax - ymin) * plot_h;
      char tick[32];

      cairo_set_source_rgb (cr, 0.85, 0.85, 0.85);
      cairo_move_to (cr, left, floor (y) + 0.5);
      cairo_line_to (cr, left + plot_w, floor (y) + 0.5);
      cairo_stroke (cr);
      cairo_set_source_rgb (cr, 0.3, 0.3, 0.3);
      g_snprintf (tick, sizeof tick, "%.3g", v);
      draw_text (cr, left - 6, y + 4, ALIGN_RIGHT, tick);
    }
  {
    double xstep = nice_step (xmax - xmin);

    for (double v = ceil (xmin / xstep) * xstep; v <= xmax + xstep / 100; v += xstep)
      {
        double x = left + (v - xmin) / (xmax - xmin) * plot_w;
        char tick[32];

        g_snprintf (tick, sizeof tick, "%.3g", v);
        draw_text (cr, x, top + plot_h + 18, ALIGN_CENTER, tick);
      }
  }
  cairo_set_source_rgb (cr, 0.1, 0.1, 0.1);
  cairo_rectangle (cr, left + 0.5, top + 0.5, plot_w, plot_h);
  cairo_stroke (cr);
  draw_text (cr, left + plot_w / 2, height - 10, ALIGN_CENTER, "epoch");
  draw_text_up (cr, 18, top + plot_h / 2, "loss");

  for (guint i = 0; i < r->losses->len; i++)
    {
      MvaLossSeries *s = r->losses->pdata[i];
      const double *c = palette[s->fold % 8];
      double dash[] = { 6, 4 };
      g_autofree char *label = g_strdup_printf ("fold %u %s", s->fold + 1, s->name);
      g_autofree char *shown = short_label (label, 22);
      double ly = top + 10 + i * 18;

      cairo_set_source_rgb (cr, c[0], c[1], c[2]);
      cairo_set_line_width (cr, 2);
      cairo_set_dash (cr, dash, strcmp (s->name, "train") == 0 ? 0 : 2, 0);
      /* whole epochs joined by the line; a partial last epoch is not one of
       * them: a hollow point of its own (the caption says so) */
      n_line = s->partial != NULL ? s->x->len - 1 : s->x->len;
      for (guint k = 0; k < n_line; k++)
        {
          double x = left + (g_array_index (s->x, double, k) - xmin) / (xmax - xmin) * plot_w;
          double y = top + plot_h - (g_array_index (s->y, double, k) - ymin) / (ymax - ymin) * plot_h;

          if (k == 0)
            cairo_move_to (cr, x, y);
          else
            cairo_line_to (cr, x, y);
        }
      if (n_line == 1)
        cairo_rel_line_to (cr, 0.01, 0);
      cairo_stroke (cr);
      /* a dot on each whole epoch (a run of one or two epochs is still seen) */
      cairo_set_dash (cr, NULL, 0, 0);
      for (guint k = 0; k < n_line && n_line <= 50; k++)
        {
          double x = left + (g_array_index (s->x, double, k) - xmin) / (xmax - xmin) * plot_w;
          double y = top + plot_h - (g_array_index (s->y, double, k) - ymin) / (ymax - ymin) * plot_h;

          cairo_new_sub_path (cr);
          cairo_arc (cr, x, y, 2.5, 0, 2 * G_PI);
          cairo_fill (cr);
        }
      if (s->partial != NULL)
        {
          guint k = s->x->len - 1;
          double x = left + (g_array_index (s->x, double, k) - xmin) / (xmax - xmin) * plot_w;
          double y = top + plot_h - (g_array_index (s->y, double, k) - ymin) / (ymax - ymin) * plot_h;

          cairo_set_dash (cr, NULL, 0, 0);
          cairo_new_sub_path (cr);
          cairo_arc (cr, x, y, 4, 0, 2 * G_PI);
          cairo_set_source_rgb (cr, 1, 1, 1);
          cairo_fill_preserve (cr);
          cairo_set_source_rgb (cr, c[0], c[1], c[2]);
          cairo_stroke (cr);
        }
      cairo_set_dash (cr, dash, strcmp (s->name, "train") == 0 ? 0 : 2, 0); /* the legend's */
      if (ly < height - 20)
        {
          cairo_move_to (cr, left + plot_w + 16, ly);
          cairo_line_to (cr, left + plot_w + 40, ly);
          cairo_stroke (cr);
          cairo_set_dash (cr, NULL, 0, 0);
          cairo_set_source_rgb (cr, 0.1, 0.1, 0.1);
          draw_text (cr, left + plot_w + 46, ly + 4, ALIGN_LEFT, shown);
        }
      cairo_set_dash (cr, NULL, 0, 0);
    }

  cairo_destroy (cr);
  url = surface_to_data_url (surface, error);
  cairo_surface_destroy (surface);
  return url;
}

/* --- HTML ----------------------------------------------------------------------------- */

static void
append_escaped (GString    *out,
                const char *text)
{
  g_autofree char *esc = g_markup_escape_text (text != NULL ? text : "", -1);

  g_string_append (out, esc);
}

static void
append_figure (GString    *out,
               const char *url,
               const char *alt,
               const char *caption)
{
  g_string_append (out, "<figure><img src=\"");
  g_string_append (out, url);
  g_string_append (out, "\" alt=\"");
  append_escaped (out, alt);
  g_string_append (out, "\"><figcaption>");
  append_escaped (out, caption);
  g_string_append (out, "</figcaption></figure>\n");
}

static const char css[] =
  "body{font-family:sans-serif;max-width:980px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}"
  "h1{font-size:1.6em;margin-bottom:.2em}h2{margin-top:1.8em;border-bottom:1px solid #ccc}"
  "table{border-collapse:collapse;margin:.8em 0}th,td{padding:.25em .7em;border-bottom:1px solid #e3e3e3;"
  "text-align:right}th:first-child,td:first-child{text-align:left}td.note{text-align:left;color:#555;"
  "font-size:.9em}.meta{color:#555}figure{margin:1em 0}figcaption{color:#555;font-size:.9em}"
  "img{max-width:100%}.good{color:#0a6e31}.bad{color:#a3171f}blockquote{margin:.3em 0 .3em 1em;"
  "color:#333}";

char *
_mva_report_build_html (MvaReport  *r,
                        GError    **error)
{
  g_autoptr(GString) out = g_string_new (NULL);
  MvaReportStat stats[MVA_REPORT_N_STATS];
  guint n_folds = r->folds->len;
  gboolean have_baseline;

  _mva_report_compute_stats (r, stats);
  have_baseline = r->baseline != NULL && stats[0].base_folds > 0;

  g_string_append (out, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>");
  append_escaped (out, r->title);
  g_string_append_printf (out, "</title>\n<style>%s</style></head><body>\n<h1>", css);
  append_escaped (out, r->title);
  g_string_append (out, "</h1>\n<p class=\"meta\">");
  if (r->model != NULL)
    {
      g_string_append (out, "Model: <b>");
      append_escaped (out, r->model);
      g_string_append (out, "</b>");
      if (r->model_details != NULL)
        {
          g_string_append (out, " (");
          append_escaped (out, r->model_details);
          g_string_append (out, ")");
        }
      g_string_append (out, "<br>");
    }
  if (r->data != NULL)
    {
      g_string_append (out, "Data: ");
      append_escaped (out, r->data);
      g_string_append (out, "<br>");
    }
  g_string_append (out, "Created: ");
  append_escaped (out, r->created);
  g_string_append (out, "</p>\n");

  /* how to read */
  g_string_append (out, "<h2>How to read this report</h2>\n<p>");
  if (n_folds > 1)
    g_string_append_printf (out,
      "The data was split into %u parts (folds). For each fold a model was trained on the other "
      "%u and tested on the held-out one, so every number below comes from questions and images "
      "the model never saw in training. Figures are given as <i>mean ± standard deviation</i> "
      "over the %u folds, as in the MVaEMa paper's tables. ", n_folds, n_folds - 1, n_folds);
  else
    g_string_append (out,
      "The model answered every question and classified every image of the evaluation data, "
      "which should be data it was not trained on. ");
  g_string_append (out,
    "Answer quality is measured by comparing each answer with the reference answer: all scores "
    "run from 0 (nothing in common) to 1 (the same words in the same order). They count shared "
    "words, so a correct answer worded differently still scores below 1. Classification asks the "
    "model which category an image shows; top-1 accuracy is how often its first guess is right. "
    "The <i>paper</i> column gives the numbers the MVaEMa paper reports for its model on the "
    "NFFA-Europe SEM images, for comparison; they come from a different (real) data set.</p>\n");
  if (r->wordnet == NULL)
    g_string_append (out, "<p class=\"bad\">WordNet was not available: METEOR was computed "
                          "without its synonym stage and is lower than the paper's METEOR would be.</p>\n");

  /* summary */
  if (have_baseline)
    {
      g_string_append (out, "<p>The <i>baseline</i> column scores a model that does not look at "
                            "the image: ");
      append_escaped (out, r->baseline);
      g_string_append (out, ". A model worth its weights scores above it.</p>\n");
    }
  g_string_append (out, "<h2>Summary</h2>\n<table><tr><th>metric</th><th>this model</th>");
  if (have_baseline)
    g_string_append (out, "<th>baseline</th>");
  g_string_append (out, "<th>paper</th><th>what it measures</th></tr>\n");
  for (guint k = 0; k < MVA_REPORT_N_STATS; k++)
    {
      MvaReportStat *st = &stats[k];

      g_string_append_printf (out, "<tr><td>%s</td>", st->label);
      if (st->n_folds == 0)
        g_string_append (out, "<td>—</td>");
      else if (st->n_folds > 1)
        g_string_append_printf (out, "<td>%.3f ± %.3f</td>", st->mean, st->std);
      else
        g_string_append_printf (out, "<td>%.3f</td>", st->mean);
      if (have_baseline && st->base_folds == 0)
        g_string_append (out, "<td>—</td>");
      else if (have_baseline && st->base_folds > 1)
        g_string_append_printf (out, "<td>%.3f ± %.3f</td>", st->base_mean, st->base_std);
      else if (have_baseline)
        g_string_append_printf (out, "<td>%.3f</td>", st->base_mean);
      if (st->paper >= 0)
        g_string_append_printf (out, "<td>%.3f</td>", st->paper);
      else
        g_string_append (out, "<td>—</td>");
      g_string_append_printf (out, "<td class=\"note\">%s</td></tr>\n", st->meaning);
    }
  g_string_append (out, "</table>\n");

  /* classification */
  if (r->all_classes != NULL && mva_class_metrics_get_count (r->all_classes) > 0)
    {
      g_autofree char *url = draw_confusion (r, error);
      MvaClassScore macro;

      if (url == NULL)
        return NULL;
      g_string_append_printf (out, "<h2>Classification</h2>\n<p>%" G_GUINT64_FORMAT
                              " images over all folds. Each row of the matrix is one true category; "
                              "the colour shows which share of its images the model put in each "
                              "category (the diagonal is right), the number is the image count.</p>\n",
                              mva_class_metrics_get_count (r->all_classes));
      append_figure (out, url, "confusion matrix heat map",
                     "Confusion matrix: rows are the true categories, columns the model's first guess.");
      g_string_append (out, "<table><tr><th>category</th><th>precision</th><th>recall</th>"
                            "<th>F1</th><th>images</th></tr>\n");
      for (guint c = 0; c < r->n_classes; c++)
        {
          MvaClassScore s;

          mva_class_metrics_get_class (r->all_classes, c, &s);
          g_string_append (out, "<tr><td>");
          append_escaped (out, r->class_names[c]);
          g_string_append_printf (out, "</td><td>%.3f</td><td>%.3f</td><td>%.3f</td><td>%"
                                  G_GUINT64_FORMAT "</td></tr>\n",
                                  s.precision, s.recall, s.f1, s.support);
        }
      mva_class_metrics_get_macro (r->all_classes, &macro);
      g_string_append_printf (out, "<tr><th>macro average</th><th>%.3f</th><th>%.3f</th>"
                                   "<th>%.3f</th><th>%" G_GUINT64_FORMAT "</th></tr></table>\n",
                              macro.precision, macro.recall, macro.f1, macro.support);
      g_string_append (out, "<p class=\"meta\">Precision: of the images the model called this "
                            "category, the share that were. Recall: of the images of this category, "
                            "the share the model recognised. F1 combines both.</p>\n");
    }

  /* answers per family */
  if (r->family_text != NULL)
    {
      g_autofree char *url = draw_families (r, error);

      if (url == NULL)
        return NULL;
      g_string_append (out, "<h2>Answers by question family</h2>\n");
      append_figure (out, url, "per-family scores bar chart",
                     "Mean scores of the answers in each question family (number of answers in brackets).");
      g_string_append (out, "<table><tr><th>family</th><th>answers</th><th>BLEU-2</th><th>BLEU-4</th>"
                            "<th>ROUGE-1</th><th>ROUGE-2</th><th>ROUGE-L</th><th>METEOR</th></tr>\n");
      for (guint f = 0; f < r->n_families; f++)
        {
          MvaTextScores s;

          if (mva_text_scorer_get_count (r->family_text[f]) == 0)
            continue;
          mva_text_scorer_get_corpus (r->family_text[f], NULL, &s);
          g_string_append (out, "<tr><td>");
          append_escaped (out, r->family_names[f]);
          g_string_append_printf (out, "</td><td>%" G_GUINT64_FORMAT "</td><td>%.3f</td><td>%.3f</td>"
                                  "<td>%.3f</td><td>%.3f</td><td>%.3f</td><td>%.3f</td></tr>\n",
                                  mva_text_scorer_get_count (r->family_text[f]),
                                  s.bleu2, s.bleu4, s.rouge1, s.rouge2, s.rougeL, s.meteor);
        }
      g_string_append (out, "</table>\n");
    }

  /* loss curves */
  if (r->losses->len > 0)
    {
      g_autofree char *url = draw_losses (r, error);

      if (url == NULL)
        return NULL;
      g_string_append (out, "<h2>Training</h2>\n<p>The loss measures how far the model's outputs are "
                            "from the training targets; it should fall and level off. A validation "
                            "loss (dashed) that rises while the training loss keeps falling means "
                            "the model is memorising instead of learning.</p>\n");
      {
        g_autoptr(GString) caption = g_string_new ("Loss per epoch of each training run.");

        for (guint i = 0; i < r->losses->len; i++)
          {
            MvaLossSeries *s = r->losses->pdata[i];

            if (s->partial != NULL)
              g_string_append_printf (caption, " Fold %u %s: the hollow point is a partial last "
                                      "epoch (%s), drawn where it stopped and not joined to the "
                                      "whole epochs.", s->fold + 1, s->name, s->partial);
          }
        append_figure (out, url, "loss curves", caption->str);
      }
    }

  /* examples */
  if (r->examples->len > 0)
    {
      g_string_append (out, "<h2>Weakest answers</h2>\n<p>The answers with the lowest METEOR, "
                            "to show what the numbers mean in words.</p>\n");
      for (guint i = 0; i < r->examples->len; i++)
        {
          MvaReportExample *e = r->examples->pdata[i];

          g_string_append (out, "<p><b>");
          append_escaped (out, r->family_names[e->family]);
          g_string_append (out, "</b>");
          if (e->question != NULL)
            {
              g_string_append (out, ": ");
              append_escaped (out, e->question);
            }
          g_string_append (out, "<blockquote>Model: ");
          append_escaped (out, e->answer);
          g_string_append (out, "<br>Reference: ");
          append_escaped (out, e->reference);
          g_string_append_printf (out, "<br><span class=\"meta\">BLEU-2 %.3f, ROUGE-L %.3f, "
                                       "METEOR %.3f</span></blockquote></p>\n",
                                  e->scores.bleu2, e->scores.rougeL, e->scores.meteor);
        }
    }

  /* methods */
  g_string_append (out,
    "<h2>How the numbers were computed</h2>\n<p class=\"meta\">Exactly as the paper's reference "
    "tools compute them, reimplemented in C and checked against their outputs: BLEU with nltk 3.8 "
    "<code>sentence_bleu</code> on whitespace-separated words, case and punctuation kept, no "
    "smoothing; corpus BLEU with nltk <code>corpus_bleu</code>; ROUGE F1 with Google's "
    "rouge_score (lower-cased letters and digits, no stemmer); METEOR with nltk 3.8 "
    "<code>meteor_score</code> (exact, Porter-stem and WordNet 3.0 synonym matches, "
    "α 0.9, β 3, γ 0.5). Classification metrics follow scikit-learn's conventions; macro "
    "averages are unweighted means over categories. Standard deviations are sample standard "
    "deviations over folds. All numbers are also in report.json.</p>\n");
  g_string_append (out, "</body></html>\n");
  return g_string_free (g_steal_pointer (&out), FALSE);
}
