/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-databar.c: find the instrument's information strip ("data bar") at the
 * bottom of an SEM image by image analysis, for files whose metadata does not
 * say where it is.
 *
 * A data bar is a full-width band of rows at the bottom on a near-constant
 * dark or bright background, holding high-contrast text, a scale bar, logos
 * and separator lines, with a sharp boundary to the specimen above. Each row
 * is classified by the share of its pixels that are background (within 40
 * levels of black or white, the polarity taken from the bottom rows), "ink"
 * (the opposite extreme) and mid-tones. Rows of a data bar are mostly
 * background with few mid-tones; separator lines are rows of uniform ink.
 * Walking up from the bottom through such rows (bridging gaps of a few rows)
 * gives the band; it is accepted when
 *   - it is 2%..40% of the height and at least 6 rows,
 *   - it holds some ink (text) but is mostly background,
 *   - the rows just above it are not background-like (the specimen), so a
 *     dark or bright specimen region at the bottom is not taken for a bar,
 *   - its top edge is straight and sharp: in at least half of the columns the
 *     pixel changes by more than 40 levels, or from specimen to background,
 *     across the boundary (a scale bar drawn on the vacuum of a TEM image
 *     has no such edge).
 * Returns 0 when there is no such band.
 */
#define G_LOG_DOMAIN "mva-image"
#include "config.h"

#include "mva-image-private.h"

#include <math.h>
#include <stdlib.h>

typedef struct
{
  float bg;    /* share of background pixels */
  float ink;   /* share of opposite-extreme pixels */
  float mid;   /* share of mid-tones */
  float sd;    /* standard deviation of the row */
} RowStat;

static void
row_stats (const guint8 *row, guint width, gboolean dark, RowStat *st)
{
  guint bg = 0, ink = 0;
  double sum = 0, sum2 = 0;

  for (guint x = 0; x < width; x++)
    {
      guint v = row[x];

      sum += v;
      sum2 += (double) v * v;
      if (dark ? v <= 40 : v >= 215)
        bg++;
      else if (dark ? v >= 150 : v <= 105)
        ink++;
    }
  st->bg = (float) bg / width;
  st->ink = (float) ink / width;
  st->mid = 1.0f - st->bg - st->ink;
  {
    double mean = sum / width;
    double var = sum2 / width - mean * mean;

    st->sd = (float) sqrt (MAX (var, 0.0));
  }
}

static gboolean
bar_row (const RowStat *s)
{
  return s->bg >= 0.5f && s->mid <= 0.3f;
}

static gboolean
line_row (const RowStat *s)
{
  /* A separator: nearly all ink or background, and uniform. */
  return (s->ink >= 0.9f || s->bg >= 0.9f) && s->sd < 40.0f;
}

static guint
detect_polarity (const guint8 *gray, guint width, guint height, gboolean dark)
{
  g_autofree RowStat *st = g_new0 (RowStat, height);
  guint max_gap = MAX (2u, height / 200);
  guint min_h = MAX (6u, height / 50);
  guint max_h = height * 2 / 5;
  guint top = height, gap = 0;
  double bg = 0, ink = 0, n = 0;
  guint above_bar = 0, above_n = 0;

  /* Bottom rows decide whether this polarity is worth a look. */
  for (guint y = height; y-- > 0 && height - y <= max_h + 16;)
    row_stats (gray + (gsize) y * width, width, dark, &st[y]);
  if (!(bar_row (&st[height - 1]) || line_row (&st[height - 1])))
    {
      /* Allow a frame line or two at the very bottom. */
      gboolean any = FALSE;

      for (guint k = 1; k <= max_gap && k < height; k++)
        any |= bar_row (&st[height - 1 - k]);
      if (!any)
        return 0;
    }

  for (guint y = height; y-- > 0;)
    {
      if (height - y > max_h + 1)
        return 0;
      if (bar_row (&st[y]) || line_row (&st[y]))
        {
          top = y;
          gap = 0;
        }
      else if (++gap > max_gap)
        break;
    }
  if (top >= height || height - top < min_h || height - top > max_h)
    return 0;

  /* The band: mostly background, some ink. */
  for (guint y = top; y < height; y++)
    {
      bg += st[y].bg;
      ink += st[y].ink;
      n++;
    }
  bg /= n;
  ink /= n;
  if (bg < 0.6 || ink < 0.003 || ink > 0.4)
    return 0;

  /* The specimen above must not look like the bar. */
  for (guint y = top > 0 ? top - 1 : 0; y > 0 && above_n < MAX (8u, height / 40); y--)
    {
      RowStat s;

      row_stats (gray + (gsize) (y - 1) * width, width, dark, &s);
      above_bar += bar_row (&s) ? 1 : 0;
      above_n++;
    }
  if (above_n == 0 || above_bar * 4 > above_n)
    return 0;

  /* A straight, sharp top edge across the width. */
  {
    double best = 0;

    for (guint r = top > 3 ? top - 3 : 2; r <= top + 3 && r + 1 < height; r++)
      {
        /* Rows two apart, so a transition blurred over a row still counts. */
        const guint8 *a = gray + (gsize) (r - 2) * width, *b = gray + (gsize) (r + 1) * width;
        guint n_edge = 0;

        for (guint x = 0; x < width; x++)
          {
            gboolean a_bg = dark ? a[x] <= 40 : a[x] >= 215;
            gboolean b_bg = dark ? b[x] <= 40 : b[x] >= 215;

            n_edge += (!a_bg && b_bg) || abs ((int) a[x] - (int) b[x]) > 40;
          }
        best = MAX (best, (double) n_edge / width);
      }
    if (best < 0.5)
      return 0;
  }
  return height - top;
}

guint
_mva_databar_detect (const guint8 *gray,
                     guint         width,
                     guint         height)
{
  guint dark, bright;

  if (gray == NULL || width < 32 || height < 64)
    return 0;
  dark = detect_polarity (gray, width, height, TRUE);
  bright = detect_polarity (gray, width, height, FALSE);
  return MAX (dark, bright);
}
