/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-synth-databar.c: the FEI-style data bar burnt under a micrograph.
 *
 * Layout as on a Quanta/Nova: a black strip with cells separated by thin grey
 * rules, parameter names on the upper line and values below (HV, det, WD,
 * mag, HFW, spot), the user label, and a micron bar with its length above it
 * at the right. Drawn with cairo into an RGB24 surface and copied as gray.
 */
#define G_LOG_DOMAIN "mva-synth"
#include "config.h"

#include <cairo.h>
#include <string.h>

#include "mva-synth-private.h"

int
_mva_synth_databar_height (int width)
{
  return MAX (36, (int) (width * 0.058 + 0.5));
}

/* 1, 2 or 5 times a power of ten, the largest not above target */
static double
nice_length (double target)
{
  double p = pow (10.0, floor (log10 (target)));
  double m = target / p;

  if (m >= 5.0)
    return 5.0 * p;
  if (m >= 2.0)
    return 2.0 * p;
  return p;
}

static char *
format_mag (double mag)
{
  /* three significant figures, thousands separated by a space: "4 000 x" */
  double p = pow (10.0, floor (log10 (mag)) - 2);
  long v = (long) (floor (mag / p + 0.5) * p + 0.5);
  GString *s = g_string_new (NULL);
  char buf[32];
  int len;

  g_snprintf (buf, sizeof buf, "%ld", v);
  len = (int) strlen (buf);
  for (int i = 0; i < len; i++)
    {
      if (i > 0 && (len - i) % 3 == 0)
        g_string_append_c (s, ' ');
      g_string_append_c (s, buf[i]);
    }
  g_string_append (s, " x");
  return g_string_free (s, FALSE);
}

static char *
format_hfw (double nm)
{
  if (nm < 1000.0)
    return g_strdup_printf ("%.0f nm", nm);
  if (nm < 10000.0)
    return g_strdup_printf ("%.2f µm", nm / 1000.0);
  if (nm < 100000.0)
    return g_strdup_printf ("%.1f µm", nm / 1000.0);
  return g_strdup_printf ("%.0f µm", nm / 1000.0);
}

void
_mva_synth_databar_draw (guint8                   *pixels,
                         int                       width,
                         int                       bar_y,
                         int                       bar_h,
                         const MvaSynthInstrument *ins)
{
  cairo_surface_t *surf = cairo_image_surface_create (CAIRO_FORMAT_RGB24, width, bar_h);
  cairo_t *cr = cairo_create (surf);
  const MvaSynthLook *lk = ins->look;
  double fs = bar_h * 0.36;
  double x = 2.0, y_top = bar_h * 0.42, y_bot = bar_h * 0.88;
  g_autofree char *hv = g_strdup_printf ("%.2f kV", lk->hv_kv);
  g_autofree char *wd = g_strdup_printf ("%.1f mm", lk->wd_mm);
  g_autofree char *mag = format_mag (_mva_synth_magnification (ins->pixel_nm, ins->width));
  g_autofree char *hfw = format_hfw (ins->pixel_nm * ins->width);
  g_autofree char *spot = g_strdup_printf ("%.1f", lk->spot);
  const char *names[] = { "HV", "det", "WD", "mag", "HFW", "spot" };
  const char *values[] = { hv, lk->detector, wd, mag, hfw, spot };
  double bar_nm, bar_px, bx0, bx1, label_w;
  g_autofree char *bar_text = NULL;
  unsigned char *data;
  int stride;

  cairo_set_source_rgb (cr, 0, 0, 0);
  cairo_paint (cr);
  cairo_select_font_face (cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size (cr, fs);
  cairo_set_line_width (cr, 1.0);

  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    {
      cairo_text_extents_t en, ev;
      double cw;

      cairo_text_extents (cr, names[i], &en);
      cairo_text_extents (cr, values[i], &ev);
      cw = MAX (en.x_advance, ev.x_advance) + fs * 0.8;
      cairo_set_source_rgb (cr, 1, 1, 1);
      cairo_move_to (cr, x + (cw - en.x_advance) / 2, y_top);
      cairo_show_text (cr, names[i]);
      cairo_move_to (cr, x + (cw - ev.x_advance) / 2, y_bot);
      cairo_show_text (cr, values[i]);
      x += cw;
      cairo_set_source_rgb (cr, 0.6, 0.6, 0.6);
      cairo_move_to (cr, floor (x) + 0.5, 1);
      cairo_line_to (cr, floor (x) + 0.5, bar_h - 1);
      cairo_stroke (cr);
    }
  cairo_set_source_rgb (cr, 0.6, 0.6, 0.6);
  cairo_move_to (cr, 0, 0.5);
  cairo_line_to (cr, width, 0.5);
  cairo_move_to (cr, x, bar_h * 0.5 + 0.5);
  cairo_line_to (cr, width, bar_h * 0.5 + 0.5);
  cairo_stroke (cr);

  /* micron bar: the right part, about a fifth of the image width */
  label_w = width - x;
  bar_nm = nice_length (ins->pixel_nm * MIN (width * 0.3, label_w * 0.9));
  bar_px = bar_nm / ins->pixel_nm;
  bar_text = _mva_synth_format_length (bar_nm);
  bx0 = x + (label_w - bar_px) / 2;
  bx1 = bx0 + bar_px;
  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_set_line_width (cr, MAX (1.0, bar_h * 0.04));
  cairo_move_to (cr, bx0, bar_h * 0.28);
  cairo_line_to (cr, bx1, bar_h * 0.28);
  cairo_move_to (cr, bx0, bar_h * 0.16);
  cairo_line_to (cr, bx0, bar_h * 0.40);
  cairo_move_to (cr, bx1, bar_h * 0.16);
  cairo_line_to (cr, bx1, bar_h * 0.40);
  cairo_stroke (cr);
  {
    cairo_text_extents_t e;
    double tx;

    cairo_text_extents (cr, bar_text, &e);
    tx = (bx0 + bx1) / 2 - e.x_advance / 2;
    cairo_set_source_rgb (cr, 0, 0, 0);
    cairo_rectangle (cr, tx - fs * 0.3, bar_h * 0.06, e.x_advance + fs * 0.6, bar_h * 0.38);
    cairo_fill (cr);
    cairo_set_source_rgb (cr, 1, 1, 1);
    cairo_move_to (cr, tx, y_top);
    cairo_show_text (cr, bar_text);
    if (ins->label != NULL)
      {
        cairo_text_extents (cr, ins->label, &e);
        cairo_move_to (cr, x + (label_w - e.x_advance) / 2, y_bot);
        cairo_show_text (cr, ins->label);
      }
  }

  cairo_surface_flush (surf);
  data = cairo_image_surface_get_data (surf);
  stride = cairo_image_surface_get_stride (surf);
  for (int y = 0; y < bar_h; y++)
    {
      const guint32 *row = (const guint32 *) (gpointer) (data + (gsize) y * stride);
      guint8 *dst = pixels + (gsize) (bar_y + y) * width;
      for (int xx = 0; xx < width; xx++)
        dst[xx] = (guint8) ((row[xx] >> 8) & 0xff);
    }
  cairo_destroy (cr);
  cairo_surface_destroy (surf);
}
