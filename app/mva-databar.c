/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-databar.c: find the instrument's information strip ("data bar") at the
 * bottom of an SEM image by image analysis, for files whose metadata does not
 * say where it is.
 *
 * A data bar is a full-width band of rows at the bottom on a near-constant
 * dark or bright background, holding high-contrast text, a scale bar, logos
 * and separator lines, with a sharp boundary to the specimen above. Each row
 * is classified by the share of its pixels that are background (within 14
 * levels of the commonest level of the bottom rows, which must be darker
 * than 100 or brighter than 155), "ink" (at least 90 levels brighter than a
 * dark background, or darker than a bright one) and mid-tones. Rows of a data bar are mostly
 * background with few mid-tones; separator lines are rows of uniform ink.
 * Walking up from the bottom through such rows (bridging gaps of a few rows,
 * and taking a perfectly uniform separator row on top) gives the band; it is accepted when
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
  float line;  /* share of pixels at the opposite extreme (>= 200 or <= 55) */
  float sd;    /* standard deviation of the row */
} RowStat;

typedef struct
{
  int      bg;     /* background level of the bar (the mode of the bottom rows) */
  gboolean dark;   /* background darker than mid-gray: ink is bright */
} Polarity;

static inline gboolean
is_bg (const Polarity *p, guint v)
{
  return abs ((int) v - p->bg) <= 14;
}

static inline gboolean
is_ink (const Polarity *p, guint v)
{
  return p->dark ? (int) v >= p->bg + 90 : (int) v <= p->bg - 90;
}

static void
row_stats (const guint8 *row, guint width, const Polarity *pol, RowStat *st)
{
  guint bg = 0, ink = 0, line = 0;
  double sum = 0, sum2 = 0;

  for (guint x = 0; x < width; x++)
    {
      guint v = row[x];

      sum += v;
      sum2 += (double) v * v;
      if (is_bg (pol, v))
        bg++;
      else if (is_ink (pol, v))
        ink++;
      if (pol->dark ? v >= 200 : v <= 55)
        line++;
    }
  st->bg = (float) bg / width;
  st->ink = (float) ink / width;
  st->mid = 1.0f - st->bg - st->ink;
  st->line = (float) line / width;
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
  /* A separator: a uniform row at the opposite extreme (white on a dark
   * bar, black on a bright one). */
  return s->line >= 0.9f && s->sd < 40.0f;
}

static guint
detect_with (const guint8 *gray, guint width, guint height, const Polarity *pol)
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
    row_stats (gray + (gsize) y * width, width, pol, &st[y]);
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
  /* A perfectly uniform row on top of the band (a separator of any gray) belongs to it. */
  for (guint k = 0; k < max_gap && top > 1 && height - top < max_h && st[top - 1].sd < 4.0f; k++)
    top--;

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

      row_stats (gray + (gsize) (y - 1) * width, width, pol, &s);
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
            gboolean a_bg = is_bg (pol, a[x]);
            gboolean b_bg = is_bg (pol, b[x]);

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
  guint hist[256] = { 0 };
  guint rows, mode = 0;
  Polarity pol;

  if (gray == NULL || width < 32 || height < 64)
    return 0;
  /* The bar's background: the commonest level of the bottom rows, which
   * must be near black or near white and cover most of them. */
  rows = MAX (4u, height / 50);
  for (guint y = height - rows; y < height; y++)
    for (guint x = 0; x < width; x++)
      hist[gray[(gsize) y * width + x]]++;
  for (guint v = 1; v < 256; v++)
    if (hist[v] > hist[mode])
      mode = v;
  if ((guint64) hist[mode] * 10 < (guint64) rows * width * 3)
    return 0;
  if (mode > 100 && mode < 155)
    return 0;
  pol.bg = (int) mode;
  pol.dark = mode < 128;
  return detect_with (gray, width, height, &pol);
}
