/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-tiff-meta.c: the text that SEM vendors put into private TIFF tags.
 *
 * FEI/Thermo Fisher (tag 34682, "FEI_HELIOS"; 34680 on older SFEG systems):
 * INI text. Used: [Scan] PixelWidth/PixelHeight (metres), [EBeam] HV (volts)
 * and WD (metres) (falling back to [Beam]), [EBeam]/[Scan] HFW or [Scan]
 * HorFieldsize with [Image] MagCanvasRealWidth for the magnification,
 * [System] SystemType (and Type), [Detectors] Name and Mode, and the data
 * bar height from [PrivateFei] DatabarHeight or from the image height minus
 * [Image] ResolutionY.
 *
 * Zeiss SmartSEM (tag 34118, "CZ_SEM"): a list of parameter ids followed by
 * "Label = value unit" lines. Used: "Image Pixel Size" (preferred: it is
 * given for the stored image) else "Pixel Size", "EHT", "WD", "Mag",
 * "Signal A", and the instrument from "SV_SERIAL_NUMBER"/"Serial No." or
 * "DP_SEM"/"SEM". Units pm, nm, µm/um, mm, m; kV/V; K X for magnification.
 *
 * Input is (text, length), NUL not required; anything is accepted, values
 * that do not parse are left unknown.
 */
#define G_LOG_DOMAIN "mva-image"
#include "config.h"

#include "mva-image-private.h"

#include <math.h>
#include <string.h>

// --- helpers ---------------------------------------------------------------------

/* g_ascii_strtod on a value that may carry a unit after it (shared with
 * mva-sidecar.c; see mva-image-private.h). */
double
_mva_parse_number (const char  *s,
                   const char **end)
{
  char *e = NULL;
  double v;

  while (*s == ' ' || *s == '\t')
    s++;
  v = g_ascii_strtod (s, &e);
  if (e == s || !isfinite (v))
    {
      if (end)
        *end = s;
      return NAN;
    }
  if (end)
    {
      while (*e == ' ' || *e == '\t')
        e++;
      *end = e;
    }
  return v;
}
double
_mva_parse_length_nm (const char *value)
{
  const char *unit;
  double v = _mva_parse_number (value, &unit);
  double f;

  if (!isfinite (v))
    return NAN;
  while (*unit == ' ' || *unit == '\t')
    unit++;
  if (g_str_has_prefix (unit, "pm"))
    f = 1e-3;
  else if (g_str_has_prefix (unit, "nm"))
    f = 1.0;
  else if (g_str_has_prefix (unit, "\xc2\xb5m") || g_str_has_prefix (unit, "\xce\xbcm")
           || g_str_has_prefix (unit, "um") || g_str_has_prefix (unit, "\xb5m")
           || g_str_has_prefix (unit, "micron"))
    f = 1e3;
  else if (g_str_has_prefix (unit, "mm"))
    f = 1e6;
  else if (g_str_has_prefix (unit, "cm"))
    f = 1e7;
  else if (unit[0] == 'm' && !g_ascii_isalpha (unit[1]))
    f = 1e9;
  else if (g_str_has_prefix (unit, "A") || g_str_has_prefix (unit, "\xc3\x85")
           || g_str_has_prefix (unit, "\xe2\x84\xab"))
    f = 0.1;
  else
    return NAN;
  return v * f;
}

char *
_mva_meta_string (const char *s)
{
  char *r = g_strstrip (g_strdup (s));

  if (!g_utf8_validate (r, -1, NULL))
    {
      char *v = g_utf8_make_valid (r, -1);

      g_free (r);
      r = v;
    }
  if (r[0] == '\0')
    g_clear_pointer (&r, g_free);
  return r;
}
static gboolean
positive (double v)
{
  return isfinite (v) && v > 0.0;
}

// --- FEI / Thermo Fisher ---------------------------------------------------------------

typedef struct
{
  GHashTable *values; /* "section/key" -> value */
} Ini;

static Ini
ini_parse (const char *text, gsize length)
{
  Ini ini = { g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free) };
  g_autofree char *copy = g_strndup (text, length);
  g_autofree char *section = g_strdup ("");
  char *line, *save = NULL;

  for (line = strtok_r (copy, "\r\n", &save); line; line = strtok_r (NULL, "\r\n", &save))
    {
      char *eq;

      g_strstrip (line);
      if (line[0] == '[')
        {
          char *close = strchr (line, ']');

          if (close)
            {
              *close = '\0';
              g_free (section);
              section = g_strdup (line + 1);
            }
          continue;
        }
      eq = strchr (line, '=');
      if (eq == NULL || eq == line)
        continue;
      *eq = '\0';
      g_strstrip (line);
      g_hash_table_replace (ini.values, g_strdup_printf ("%s/%s", section, line),
                            g_strdup (g_strstrip (eq + 1)));
    }
  return ini;
}

static const char *
ini_get (const Ini *ini, const char *section, const char *key)
{
  g_autofree char *k = g_strdup_printf ("%s/%s", section, key);
  const char *v = g_hash_table_lookup (ini->values, k);

  return v != NULL && v[0] != '\0' ? v : NULL;
}

static double
ini_number (const Ini *ini, const char *section, const char *key)
{
  const char *v = ini_get (ini, section, key);

  return v ? _mva_parse_number (v, NULL) : NAN;
}

gboolean
_mva_tiff_meta_parse_fei (const char   *text,
                          gsize         length,
                          guint         image_height,
                          MvaImageMeta *meta)
{
  Ini ini;
  double pw, ph, hv, wd, hfw, canvas, bar, resy;
  const char *system, *det_name, *det_mode;
  gboolean found = FALSE;

  if (text == NULL || length == 0)
    return FALSE;
  ini = ini_parse (text, length);

  pw = ini_number (&ini, "Scan", "PixelWidth");
  ph = ini_number (&ini, "Scan", "PixelHeight");
  if (!positive (pw))
    pw = ini_number (&ini, "EScan", "PixelWidth");
  if (!positive (ph))
    ph = ini_number (&ini, "EScan", "PixelHeight");
  if (positive (pw) && pw < 1e-3)
    {
      meta->pixel_size_nm = pw * 1e9;
      meta->pixel_size_y_nm = positive (ph) && ph < 1e-3 ? ph * 1e9 : meta->pixel_size_nm;
      found = TRUE;
    }

  hv = ini_number (&ini, "EBeam", "HV");
  if (!positive (hv))
    hv = ini_number (&ini, "Beam", "HV");
  if (positive (hv))
    {
      meta->hv_kv = hv / 1000.0;
      found = TRUE;
    }
  wd = ini_number (&ini, "EBeam", "WD");
  if (!positive (wd))
    wd = ini_number (&ini, "Stage", "WorkingDistance");
  if (positive (wd) && wd < 1.0)
    {
      meta->wd_mm = wd * 1000.0;
      found = TRUE;
    }

  hfw = ini_number (&ini, "EBeam", "HFW");
  if (!positive (hfw))
    hfw = ini_number (&ini, "Scan", "HorFieldsize");
  canvas = ini_number (&ini, "Image", "MagCanvasRealWidth");
  if (positive (hfw) && positive (canvas))
    {
      meta->magnification = canvas / hfw;
      found = TRUE;
    }

  system = ini_get (&ini, "System", "SystemType");
  if (system != NULL)
    {
      g_autofree char *s = _mva_meta_string (system);

      if (s != NULL)
        {
          if (g_ascii_strncasecmp (s, "FEI", 3) == 0 || g_ascii_strncasecmp (s, "Thermo", 6) == 0)
            meta->instrument = g_steal_pointer (&s);
          else
            meta->instrument = g_strdup_printf ("FEI %s", s);
          found = TRUE;
        }
    }

  det_name = ini_get (&ini, "Detectors", "Name");
  det_mode = ini_get (&ini, "Detectors", "Mode");
  if (det_name != NULL)
    {
      g_autofree char *n = _mva_meta_string (det_name);
      g_autofree char *m = det_mode ? _mva_meta_string (det_mode) : NULL;

      if (n != NULL)
        {
          meta->detector = m ? g_strdup_printf ("%s %s", n, m) : g_steal_pointer (&n);
          found = TRUE;
        }
    }

  bar = ini_number (&ini, "PrivateFei", "DatabarHeight");
  resy = ini_number (&ini, "Image", "ResolutionY");
  if (positive (bar) && bar >= 1.0 && image_height > 0 && bar < image_height)
    meta->databar_height_px = (int) bar;
  else if (positive (resy) && resy >= 1.0 && image_height > 0 && resy < image_height
           && resy >= image_height / 2.0)
    meta->databar_height_px = (int) (image_height - (guint) resy);

  if (found)
    {
      g_free (meta->vendor_format);
      meta->vendor_format = g_strdup ("fei");
    }
  g_hash_table_unref (ini.values);
  return found;
}

// --- Zeiss SmartSEM ----------------------------------------------------------------------

/* Finds "Label = value" with the label at the start of a line. */
static char *
zeiss_value (char **lines, const char *label)
{
  gsize n = strlen (label);

  for (guint i = 0; lines[i]; i++)
    {
      const char *l = lines[i];

      while (*l == ' ' || *l == '\t')
        l++;
      if (g_ascii_strncasecmp (l, label, n) == 0)
        {
          const char *p = l + n;

          while (*p == ' ' || *p == '\t')
            p++;
          if (*p == '=' || *p == ':')
            return _mva_meta_string (p + 1);
        }
    }
  return NULL;
}

gboolean
_mva_tiff_meta_parse_zeiss (const char   *text,
                            gsize         length,
                            MvaImageMeta *meta)
{
  g_autofree char *copy = NULL;
  g_auto(GStrv) lines = NULL;
  g_autofree char *ips = NULL, *ps = NULL, *eht = NULL, *wd = NULL, *mag = NULL;
  g_autofree char *sig = NULL, *serial = NULL, *sem = NULL;
  gboolean found = FALSE;

  if (text == NULL || length == 0)
    return FALSE;
  copy = g_malloc (length + 1);
  /* The tag holds NULs and control bytes between entries: make them line breaks. */
  for (gsize i = 0; i < length; i++)
    copy[i] = text[i] == '\0' ? '\n' : text[i];
  copy[length] = '\0';
  lines = g_strsplit_set (copy, "\r\n", -1);

  ips = zeiss_value (lines, "Image Pixel Size");
  ps = zeiss_value (lines, "Pixel Size");
  {
    double v = ips ? _mva_parse_length_nm (ips) : NAN;

    if (!positive (v) && ps)
      v = _mva_parse_length_nm (ps);
    if (positive (v))
      {
        meta->pixel_size_nm = v;
        meta->pixel_size_y_nm = v;
        found = TRUE;
      }
  }

  eht = zeiss_value (lines, "EHT");
  if (eht)
    {
      const char *unit;
      double v = _mva_parse_number (eht, &unit);

      while (*unit == ' ')
        unit++;
      if (positive (v))
        {
          meta->hv_kv = g_ascii_strncasecmp (unit, "kV", 2) == 0 ? v
                        : (unit[0] == 'V' ? v / 1000.0 : v);
          found = TRUE;
        }
    }

  wd = zeiss_value (lines, "WD");
  if (wd)
    {
      double v = _mva_parse_length_nm (wd);

      if (positive (v))
        {
          meta->wd_mm = v / 1e6;
          found = TRUE;
        }
    }

  mag = zeiss_value (lines, "Mag");
  if (mag)
    {
      const char *unit;
      double v = _mva_parse_number (mag, &unit);

      while (*unit == ' ')
        unit++;
      if (positive (v))
        {
          if (unit[0] == 'K' || unit[0] == 'k')
            v *= 1000.0;
          else if (unit[0] == 'M')
            v *= 1e6;
          meta->magnification = v;
          found = TRUE;
        }
    }

  sig = zeiss_value (lines, "Signal A");
  if (sig)
    {
      meta->detector = g_steal_pointer (&sig);
      found = TRUE;
    }

  serial = zeiss_value (lines, "Serial No.");
  sem = zeiss_value (lines, "SEM");
  if (serial != NULL || sem != NULL)
    {
      const char *name = serial ? serial : sem;

      meta->instrument = g_ascii_strncasecmp (name, "Zeiss", 5) == 0
                         ? g_strdup (name) : g_strdup_printf ("Zeiss %s", name);
      found = TRUE;
    }

  if (found)
    {
      g_free (meta->vendor_format);
      meta->vendor_format = g_strdup ("zeiss");
    }
  return found;
}
