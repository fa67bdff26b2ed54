/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-sidecar.c: the text files that Hitachi and JEOL SEMs write next to
 * each image (same name, .txt).
 *
 * Hitachi (S-4800, SU8000, ...): INI-like, "[SemImageFile]" then Key=Value:
 *   PixelSize=9.921875            nm per pixel
 *   InstructName=S-4800           instrument
 *   AcceleratingVoltage=10000 Volt
 *   WorkingDistance=8000 um       (any length unit; bare numbers are um)
 *   Magnification=5000
 *   SignalName=SE(U)              detector
 *   DataSize=1280x960             image area; rows below it are the data bar
 *
 * JEOL (JSM series): "$KEY value" lines:
 *   $CM_INSTRUMENT JSM-7800F      $CM_SIGNAL SEI       $CM_MAG 10000
 *   $CM_ACCEL_VOLT 15.00 (kV)     $$SM_WD 10.0 (mm unless a unit follows)
 *   $CM_FULL_SIZE 1280 960        image area the scale refers to
 *   $$SM_MICRON_BAR 120           scale-bar length in pixels of that area
 *   $$SM_MICRON_MARKER 1um        scale-bar length
 *   pixel size = marker / bar, rescaled when the stored image is wider or
 *   narrower than $CM_FULL_SIZE; rows below $CM_FULL_SIZE are the data bar.
 *
 * Input is (text, length); anything is accepted, unknown values stay unknown.
 */
#define G_LOG_DOMAIN "mva-image"
#include "config.h"

#include "mva-image-private.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

static gboolean
pos (double v)
{
  return isfinite (v) && v > 0;
}

/* Length with an optional unit; bare numbers are in default_unit_nm. */
static double
length_nm (const char *s, double default_unit_nm)
{
  const char *unit;
  double v = _mva_parse_number (s, &unit);
  double nm;

  if (!isfinite (v))
    return NAN;
  if (*unit == '\0')
    return v * default_unit_nm;
  nm = _mva_parse_length_nm (s);
  return nm;
}

static void
set_databar (MvaImageMeta *meta, double area_h, guint image_h)
{
  /* Whole rows only: a fractional area must not make the bar the whole image. */
  if (pos (area_h) && area_h >= 1.0 && image_h > 0 && area_h < image_h && area_h >= image_h / 2.0)
    meta->databar_height_px = (int) (image_h - (guint) area_h);
}

static gboolean
parse_hitachi (char **lines, guint image_width, guint image_height, MvaImageMeta *meta)
{
  gboolean found = FALSE;
  double data_w = NAN, data_h = NAN;

  for (guint i = 0; lines[i]; i++)
    {
      char *line = g_strstrip (lines[i]);
      char *eq = strchr (line, '=');
      const char *key, *val;

      if (eq == NULL)
        continue;
      *eq = '\0';
      key = g_strstrip (line);
      val = eq + 1;
      if (g_ascii_strcasecmp (key, "PixelSize") == 0)
        {
          double v = _mva_parse_number (val, NULL);

          if (pos (v))
            {
              meta->pixel_size_nm = meta->pixel_size_y_nm = v;
              found = TRUE;
            }
        }
      else if (g_ascii_strcasecmp (key, "InstructName") == 0)
        {
          g_autofree char *s = _mva_meta_string (val);

          if (s)
            {
              g_free (meta->instrument);
              meta->instrument = g_ascii_strncasecmp (s, "Hitachi", 7) == 0
                                 ? g_steal_pointer (&s) : g_strdup_printf ("Hitachi %s", s);
              found = TRUE;
            }
        }
      else if (g_ascii_strcasecmp (key, "AcceleratingVoltage") == 0)
        {
          const char *unit;
          double v = _mva_parse_number (val, &unit);

          if (pos (v))
            {
              meta->hv_kv = g_ascii_strncasecmp (unit, "kV", 2) == 0 ? v : v / 1000.0;
              found = TRUE;
            }
        }
      else if (g_ascii_strcasecmp (key, "WorkingDistance") == 0)
        {
          double v = length_nm (val, 1000.0);

          if (pos (v))
            {
              meta->wd_mm = v / 1e6;
              found = TRUE;
            }
        }
      else if (g_ascii_strcasecmp (key, "Magnification") == 0)
        {
          double v = _mva_parse_number (val, NULL);

          if (pos (v))
            {
              meta->magnification = v;
              found = TRUE;
            }
        }
      else if (g_ascii_strcasecmp (key, "SignalName") == 0)
        {
          g_autofree char *s = _mva_meta_string (val);

          if (s)
            {
              g_free (meta->detector);
              meta->detector = g_steal_pointer (&s);
              found = TRUE;
            }
        }
      else if (g_ascii_strcasecmp (key, "DataSize") == 0)
        {
          const char *rest;

          data_w = _mva_parse_number (val, &rest);
          if (*rest == 'x' || *rest == 'X' || *rest == '*')
            data_h = _mva_parse_number (rest + 1, NULL);
        }
    }
  if (found)
    {
      /* PixelSize refers to DataSize; rescale to the stored width. */
      if (pos (meta->pixel_size_nm) && pos (data_w) && image_width > 0
          && fabs (data_w - image_width) > 0.5)
        meta->pixel_size_nm = meta->pixel_size_y_nm =
          meta->pixel_size_nm * data_w / image_width;
      set_databar (meta, data_h, image_height);
      g_free (meta->vendor_format);
      meta->vendor_format = g_strdup ("hitachi");
    }
  return found;
}

static gboolean
parse_jeol (char **lines, guint image_width, guint image_height, MvaImageMeta *meta)
{
  gboolean found = FALSE;
  double bar_px = NAN, marker_nm = NAN, full_w = NAN, full_h = NAN;

  for (guint i = 0; lines[i]; i++)
    {
      char *line = g_strstrip (lines[i]);
      char *sp;
      const char *key, *val;

      if (line[0] != '$')
        continue;
      sp = strpbrk (line, " \t");
      if (sp == NULL)
        continue;
      *sp = '\0';
      key = line;
      val = sp + 1;
      if (strcmp (key, "$$SM_MICRON_BAR") == 0 || strcmp (key, "$CM_MICRON_BAR") == 0)
        bar_px = _mva_parse_number (val, NULL);
      else if (strcmp (key, "$$SM_MICRON_MARKER") == 0 || strcmp (key, "$CM_MICRON_MARKER") == 0)
        marker_nm = length_nm (val, 1000.0);
      else if (strcmp (key, "$CM_FULL_SIZE") == 0)
        {
          const char *rest;

          full_w = _mva_parse_number (val, &rest);
          full_h = _mva_parse_number (rest, NULL);
        }
      else if (strcmp (key, "$CM_INSTRUMENT") == 0)
        {
          g_autofree char *s = _mva_meta_string (val);

          if (s)
            {
              g_free (meta->instrument);
              meta->instrument = g_ascii_strncasecmp (s, "JEOL", 4) == 0
                                 ? g_steal_pointer (&s) : g_strdup_printf ("JEOL %s", s);
              found = TRUE;
            }
        }
      else if (strcmp (key, "$CM_SIGNAL") == 0)
        {
          g_autofree char *s = _mva_meta_string (val);

          if (s)
            {
              g_free (meta->detector);
              meta->detector = g_steal_pointer (&s);
              found = TRUE;
            }
        }
      else if (strcmp (key, "$CM_MAG") == 0)
        {
          double v = _mva_parse_number (val, NULL);

          if (pos (v))
            {
              meta->magnification = v;
              found = TRUE;
            }
        }
      else if (strcmp (key, "$CM_ACCEL_VOLT") == 0)
        {
          const char *unit;
          double v = _mva_parse_number (val, &unit);

          if (pos (v))
            {
              /* kV unless it is obviously volts */
              meta->hv_kv = (unit[0] == 'V' || v > 1000.0) ? v / 1000.0 : v;
              found = TRUE;
            }
        }
      else if (strcmp (key, "$$SM_WD") == 0 || strcmp (key, "$CM_WD") == 0)
        {
          double v = length_nm (val, 1e6);

          if (pos (v))
            {
              meta->wd_mm = v / 1e6;
              found = TRUE;
            }
        }
    }
  if (pos (bar_px) && pos (marker_nm))
    {
      double nm = marker_nm / bar_px;

      if (pos (full_w) && image_width > 0)
        nm *= full_w / image_width;
      meta->pixel_size_nm = meta->pixel_size_y_nm = nm;
      found = TRUE;
    }
  if (found)
    {
      set_databar (meta, full_h, image_height);
      g_free (meta->vendor_format);
      meta->vendor_format = g_strdup ("jeol");
    }
  return found;
}

gboolean
_mva_sidecar_parse (const char   *text,
                    gsize         length,
                    guint         image_width,
                    guint         image_height,
                    MvaImageMeta *meta)
{
  g_autofree char *copy = NULL;
  g_auto(GStrv) lines = NULL;

  if (text == NULL || length == 0)
    return FALSE;
  copy = g_malloc (length + 1);
  for (gsize i = 0; i < length; i++)
    copy[i] = text[i] == '\0' ? '\n' : text[i];
  copy[length] = '\0';
  lines = g_strsplit_set (copy, "\r\n", -1);

  if (strstr (copy, "$CM_") != NULL || strstr (copy, "$$SM_") != NULL)
    return parse_jeol (lines, image_width, image_height, meta);
  if (strstr (copy, "[SemImageFile]") != NULL || strstr (copy, "PixelSize=") != NULL
      || strstr (copy, "InstructName=") != NULL)
    return parse_hitachi (lines, image_width, image_height, meta);
  return FALSE;
}

gboolean
_mva_sidecar_apply (const char   *path,
                    guint         image_width,
                    guint         image_height,
                    MvaImageMeta *meta)
{
  g_autofree char *base = NULL;
  const char *dot, *slash;
  static const char *const exts[] = { ".txt", ".TXT", ".Txt" };

  dot = strrchr (path, '.');
  slash = strrchr (path, '/');
  base = dot != NULL && (slash == NULL || dot > slash) ? g_strndup (path, dot - path)
                                                      : g_strdup (path);
  for (guint i = 0; i < G_N_ELEMENTS (exts); i++)
    {
      g_autofree char *txt = g_strconcat (base, exts[i], NULL);
      g_autofree char *contents = NULL;
      gsize len = 0;

      if (g_strcmp0 (txt, path) == 0)
        continue;
      if (!g_file_test (txt, G_FILE_TEST_IS_REGULAR))
        continue;
      /* Sidecars are a few kB; refuse to slurp something huge. */
      {
        GStatBuf st;

        if (g_stat (txt, &st) != 0 || st.st_size > (1 << 20))
          continue;
      }
      if (g_file_get_contents (txt, &contents, &len, NULL)
          && _mva_sidecar_parse (contents, len, image_width, image_height, meta))
        return TRUE;
    }
  return FALSE;
}
