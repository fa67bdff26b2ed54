/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-loss-plot.c: live loss curve (see mva-loss-plot.h).
 */
#include "config.h"

#define G_LOG_DOMAIN "mva-loss-plot"

#include <math.h>

#include <glib/gi18n.h>

#include "mva-loss-plot.h"

struct _MvaLossPlot
{
  GtkWidget  parent_instance;
  GArray    *points;  /* graphene_point_t: x step, y loss */
};

G_DEFINE_FINAL_TYPE (MvaLossPlot, mva_loss_plot, GTK_TYPE_WIDGET)

/* A "nice" tick spacing near range / n. */
static double
nice_step (double range,
           int    n)
{
  double raw = range / MAX (n, 1), mag, f;

  if (!(raw > 0.0))
    return 1.0;
  mag = pow (10.0, floor (log10 (raw)));
  f = raw / mag;
  return (f < 1.5 ? 1.0 : f < 3.5 ? 2.0 : f < 7.5 ? 5.0 : 10.0) * mag;
}

static void
draw_text (cairo_t     *cr,
           GtkWidget   *widget,
           const char  *text,
           double       x,
           double       y,
           double       xalign,
           double       yalign)
{
  PangoLayout *layout = gtk_widget_create_pango_layout (widget, text);
  int w, h;

  pango_layout_get_pixel_size (layout, &w, &h);
  cairo_move_to (cr, x - w * xalign, y - h * yalign);
  pango_cairo_show_layout (cr, layout);
  g_object_unref (layout);
}

static void
mva_loss_plot_snapshot (GtkWidget   *widget,
                        GtkSnapshot *snapshot)
{
  MvaLossPlot *self = MVA_LOSS_PLOT (widget);
  double w = gtk_widget_get_width (widget), h = gtk_widget_get_height (widget);
  double left = 48, right = 12, top = 12, bottom = 26;
  double pw = w - left - right, ph = h - top - bottom;
  double xmin = 0, xmax = 1, ymin = 0, ymax = 1, ystep, xstep;
  GdkRGBA fg, accent = { 0.21, 0.52, 0.89, 1.0 };
  cairo_t *cr;

  if (pw < 10 || ph < 10)
    return;
  gtk_style_context_get_color (gtk_widget_get_style_context (widget), &fg);
  cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, w, h));

  if (self->points->len > 0)
    {
      const graphene_point_t *p0 = &g_array_index (self->points, graphene_point_t, 0);

      xmin = p0->x;
      xmax = p0->x;
      ymin = ymax = p0->y;
      for (guint i = 1; i < self->points->len; i++)
        {
          const graphene_point_t *p = &g_array_index (self->points, graphene_point_t, i);

          xmin = MIN (xmin, p->x);
          xmax = MAX (xmax, p->x);
          ymin = MIN (ymin, p->y);
          ymax = MAX (ymax, p->y);
        }
      if (xmax - xmin < 1.0)
        xmax = xmin + 1.0;
      if (ymax - ymin < 1e-6)
        {
          ymin -= 0.5;
          ymax += 0.5;
        }
      /* a little room above and below */
      {
        double pad = (ymax - ymin) * 0.08;

        ymin = MAX (ymin - pad, ymin > 0 ? 0.0 : ymin - pad);
        ymax += pad;
      }
    }
  ystep = nice_step (ymax - ymin, 4);
  xstep = nice_step (xmax - xmin, 5);

  /* grid and tick labels */
  cairo_set_line_width (cr, 1.0);
  cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, 0.12);
  for (double v = ceil (ymin / ystep) * ystep; v <= ymax + 1e-9; v += ystep)
    {
      double y = top + ph - (v - ymin) / (ymax - ymin) * ph;
      g_autofree char *label = g_strdup_printf ("%.3g", fabs (v) < ystep * 1e-6 ? 0.0 : v);

      cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, 0.12);
      cairo_move_to (cr, left, floor (y) + 0.5);
      cairo_line_to (cr, left + pw, floor (y) + 0.5);
      cairo_stroke (cr);
      cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, 0.6);
      draw_text (cr, widget, label, left - 6, y, 1.0, 0.5);
    }
  for (double v = ceil (xmin / xstep) * xstep; v <= xmax + 1e-9; v += xstep)
    {
      double x = left + (v - xmin) / (xmax - xmin) * pw;
      g_autofree char *label = g_strdup_printf ("%.0f", v);

      cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, 0.6);
      draw_text (cr, widget, label, x, top + ph + 4, 0.5, 0.0);
    }
  cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, 0.4);
  cairo_rectangle (cr, left + 0.5, top + 0.5, pw - 1, ph - 1);
  cairo_stroke (cr);

  if (self->points->len == 0)
    {
      cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, 0.5);
      draw_text (cr, widget, _("The loss appears here while the model trains"),
                 left + pw / 2, top + ph / 2, 0.5, 0.5);
    }
  else
    {
      const graphene_point_t *last = &g_array_index (self->points, graphene_point_t,
                                                     self->points->len - 1);
      g_autofree char *label = g_strdup_printf (_("step %.0f · loss %.4f"), last->x, last->y);

      cairo_save (cr);
      cairo_rectangle (cr, left, top, pw, ph);
      cairo_clip (cr);
      cairo_set_source_rgba (cr, accent.red, accent.green, accent.blue, 1.0);
      cairo_set_line_width (cr, 2.0);
      cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);
      for (guint i = 0; i < self->points->len; i++)
        {
          const graphene_point_t *p = &g_array_index (self->points, graphene_point_t, i);
          double x = left + (p->x - xmin) / (xmax - xmin) * pw;
          double y = top + ph - (p->y - ymin) / (ymax - ymin) * ph;

          if (i == 0)
            cairo_move_to (cr, x, y);
          else
            cairo_line_to (cr, x, y);
        }
      cairo_stroke (cr);
      cairo_restore (cr);
      cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, 0.8);
      draw_text (cr, widget, label, left + pw - 6, top + 4, 1.0, 0.0);
    }
  cairo_destroy (cr);
}

static void
mva_loss_plot_measure (GtkWidget      *widget,
                       GtkOrientation  orientation,
                       int             for_size,
                       int            *minimum,
                       int            *natural,
                       int            *minimum_baseline,
                       int            *natural_baseline)
{
  *minimum = orientation == GTK_ORIENTATION_HORIZONTAL ? 200 : 140;
  *natural = orientation == GTK_ORIENTATION_HORIZONTAL ? 480 : 200;
}

static void
mva_loss_plot_finalize (GObject *object)
{
  g_array_unref (MVA_LOSS_PLOT (object)->points);
  G_OBJECT_CLASS (mva_loss_plot_parent_class)->finalize (object);
}

static void
mva_loss_plot_class_init (MvaLossPlotClass *klass)
{
  GTK_WIDGET_CLASS (klass)->snapshot = mva_loss_plot_snapshot;
  GTK_WIDGET_CLASS (klass)->measure = mva_loss_plot_measure;
  G_OBJECT_CLASS (klass)->finalize = mva_loss_plot_finalize;
  gtk_widget_class_set_css_name (GTK_WIDGET_CLASS (klass), "mva-loss-plot");
}

static void
mva_loss_plot_init (MvaLossPlot *self)
{
  self->points = g_array_new (FALSE, FALSE, sizeof (graphene_point_t));
}

GtkWidget *
mva_loss_plot_new (void)
{
  return g_object_new (MVA_TYPE_LOSS_PLOT, NULL);
}

void
mva_loss_plot_add (MvaLossPlot *self,
                   double       step,
                   double       loss)
{
  graphene_point_t p = GRAPHENE_POINT_INIT ((float) step, (float) loss);

  g_return_if_fail (MVA_IS_LOSS_PLOT (self));
  if (!isfinite (step) || !isfinite (loss))
    return;
  g_array_append_val (self->points, p);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
mva_loss_plot_clear (MvaLossPlot *self)
{
  g_return_if_fail (MVA_IS_LOSS_PLOT (self));
  g_array_set_size (self->points, 0);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

guint
mva_loss_plot_get_n_points (MvaLossPlot *self)
{
  g_return_val_if_fail (MVA_IS_LOSS_PLOT (self), 0);
  return self->points->len;
}
