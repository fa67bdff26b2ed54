/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * test-synth.c: the synthetic micrograph generator through `mvaema-cli synth`
 * (suite app).
 *
 * Generates small data sets once (512x384, 4 per class) and checks:
 * determinism (same seed twice, 1 vs 2 threads: identical bytes), the qa.jsonl
 * and labels.csv contracts, that answers agree with the params, that particle
 * and pore sizes measured back from the pixels (smoothing, Otsu threshold,
 * connected components) are within 15% of the declared medians, that
 * categories differ in simple texture statistics, the FEI tag (also through
 * the image loader), one-line CLI errors and a clean stop on SIGINT.
 */
#include "config.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <tiffio.h>

#include "mva-image.h"
#include "mva-synth.h"

/* The data bar's cairo text loads fontconfig, whose process-lifetime caches
 * LeakSanitizer reports at exit; they are not ours (read by ASan builds only). */
const char *__lsan_default_suppressions (void);
const char *
__lsan_default_suppressions (void)
{
  return "leak:libfontconfig.so\n";
}

#define PER_CLASS 4
#define W 512
#define H 384

static char *tmp_root;
static char *dir_a; /* seed 11, 1 thread */
static char *dir_b; /* seed 11, 2 threads */
static char *dir_c; /* seed 12, --databar */

static const char *
cli_path (void)
{
  const char *p = g_getenv ("MVAEMA_CLI");

  g_assert_nonnull (p);
  return p;
}

/* Run the CLI; returns the exit status, stderr in *err. */
static int
run_cli (const char *const *args, char **out, char **err)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  int status = 0;

  g_ptr_array_add (argv, (gpointer) cli_path ());
  for (int i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, out, err,
                &status, &error);
  g_assert_no_error (error);
  if (WIFEXITED (status))
    return WEXITSTATUS (status);
  return 128 + (WIFSIGNALED (status) ? WTERMSIG (status) : 0);
}

static void
generate (const char *dir, const char *seed, const char *threads, gboolean databar)
{
  g_autofree char *err = NULL;
  const char *args[] = { "synth", "--out", dir, "--per-class", G_STRINGIFY (PER_CLASS),
                         "--seed", seed, "--width", G_STRINGIFY (W), "--height", G_STRINGIFY (H),
                         "--threads", threads, databar ? "--databar" : NULL, NULL };
  int rc = run_cli (args, NULL, &err);

  if (rc != 0)
    g_printerr ("%s", err);
  g_assert_cmpint (rc, ==, 0);
}

// --- reading back -----------------------------------------------------------

typedef struct
{
  char       *image;
  char       *category;
  int         family;
  char       *question;
  char       *answer;
  JsonObject *params;
} Line;

static void
line_free (gpointer p)
{
  Line *l = p;

  g_free (l->image);
  g_free (l->category);
  g_free (l->question);
  g_free (l->answer);
  json_object_unref (l->params);
  g_free (l);
}

static GPtrArray *
read_qa (const char *dir)
{
  g_autofree char *path = g_build_filename (dir, "qa.jsonl", NULL);
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;
  GPtrArray *out = g_ptr_array_new_with_free_func (line_free);

  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  lines = g_strsplit (text, "\n", -1);
  for (int i = 0; lines[i] != NULL; i++)
    {
      g_autoptr(JsonParser) p = json_parser_new ();
      g_autoptr(GError) error = NULL;
      JsonObject *o;
      Line *l;

      if (lines[i][0] == '\0')
        continue;
      json_parser_load_from_data (p, lines[i], -1, &error);
      g_assert_no_error (error);
      g_assert_true (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (p)));
      o = json_node_get_object (json_parser_get_root (p));
      for (const char *const *k = (const char *const[]) { "image", "category", "family", "question", "answer", "params", NULL }; *k; k++)
        if (!json_object_has_member (o, *k))
          g_error ("qa.jsonl line %d lacks key %s", i + 1, *k);
      l = g_new0 (Line, 1);
      l->image = g_strdup (json_object_get_string_member (o, "image"));
      l->category = g_strdup (json_object_get_string_member (o, "category"));
      l->family = (int) json_object_get_int_member (o, "family");
      l->question = g_strdup (json_object_get_string_member (o, "question"));
      l->answer = g_strdup (json_object_get_string_member (o, "answer"));
      l->params = json_object_ref (json_object_get_object_member (o, "params"));
      g_ptr_array_add (out, l);
    }
  return out;
}

/* 8-bit gray TIFF -> pixels (all rows). */
static guint8 *
read_tiff (const char *path, int *w, int *h)
{
  TIFF *tif = TIFFOpen (path, "r");
  uint32_t tw = 0, th = 0;
  uint16_t bps = 0, spp = 0;
  guint8 *px;

  g_assert_nonnull (tif);
  TIFFGetField (tif, TIFFTAG_IMAGEWIDTH, &tw);
  TIFFGetField (tif, TIFFTAG_IMAGELENGTH, &th);
  TIFFGetFieldDefaulted (tif, TIFFTAG_BITSPERSAMPLE, &bps);
  TIFFGetFieldDefaulted (tif, TIFFTAG_SAMPLESPERPIXEL, &spp);
  g_assert_cmpuint (bps, ==, 8);
  g_assert_cmpuint (spp, ==, 1);
  px = g_new (guint8, (gsize) tw * th);
  for (uint32_t y = 0; y < th; y++)
    g_assert_cmpint (TIFFReadScanline (tif, px + (gsize) y * tw, y, 0), >=, 0);
  TIFFClose (tif);
  *w = (int) tw;
  *h = (int) th;
  return px;
}

static double
pd (JsonObject *params, const char *key)
{
  g_assert_true (json_object_has_member (params, key));
  return json_object_get_double_member (params, key);
}

// --- determinism ----------------------------------------------------------------

static void
assert_same_file (const char *a, const char *b)
{
  g_autofree char *ta = NULL, *tb = NULL;
  gsize la = 0, lb = 0;

  g_assert_true (g_file_get_contents (a, &ta, &la, NULL));
  g_assert_true (g_file_get_contents (b, &tb, &lb, NULL));
  if (la != lb || memcmp (ta, tb, la) != 0)
    g_error ("%s and %s differ", a, b);
}

static void
test_determinism (void)
{
  g_autoptr(GPtrArray) qa = read_qa (dir_a);
  g_autoptr(GPtrArray) qc = read_qa (dir_c);
  g_autofree char *qa_a = g_build_filename (dir_a, "qa.jsonl", NULL);
  g_autofree char *qa_b = g_build_filename (dir_b, "qa.jsonl", NULL);
  g_autofree char *lb_a = g_build_filename (dir_a, "labels.csv", NULL);
  g_autofree char *lb_b = g_build_filename (dir_b, "labels.csv", NULL);
  g_autofree char *ta = NULL, *tc = NULL;
  int same = 0;

  assert_same_file (qa_a, qa_b);
  assert_same_file (lb_a, lb_b);
  for (guint i = 0; i < qa->len; i += 10)
    {
      Line *l = qa->pdata[i];
      g_autofree char *a = g_build_filename (dir_a, l->image, NULL);
      g_autofree char *b = g_build_filename (dir_b, l->image, NULL);
      assert_same_file (a, b);
    }
  /* another seed gives other images */
  for (guint i = 0; i < qa->len; i += 10)
    {
      Line *l = qa->pdata[i];
      g_autofree char *a = g_build_filename (dir_a, l->image, NULL);
      g_autofree char *c = g_build_filename (dir_c, l->image, NULL);
      int w1, h1, w2, h2;
      g_autofree guint8 *p1 = read_tiff (a, &w1, &h1);
      g_autofree guint8 *p2 = read_tiff (c, &w2, &h2);
      if (w1 == w2 && h1 == h2 && memcmp (p1, p2, (gsize) w1 * h1) == 0)
        same++;
    }
  g_assert_cmpint (same, ==, 0);
  g_assert_cmpuint (qc->len, ==, qa->len);
}

// --- contracts ---------------------------------------------------------------------

static void
test_contract (void)
{
  g_autoptr(GPtrArray) qa = read_qa (dir_a);
  g_autofree char *lb = g_build_filename (dir_a, "labels.csv", NULL);
  g_autofree char *text = NULL;
  g_auto(GStrv) rows = NULL;
  g_autoptr(GHashTable) fams = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  int per_cat[MVA_SYNTH_N_CATEGORIES] = { 0 };
  int n_rows = 0;

  g_assert_cmpuint (qa->len, ==, MVA_SYNTH_N_CATEGORIES * PER_CLASS * MVA_SYNTH_N_FAMILIES);
  for (guint i = 0; i < qa->len; i++)
    {
      Line *l = qa->pdata[i];
      MvaSynthCategory c;
      g_autofree char *key = g_strdup_printf ("%s#%d", l->image, l->family);
      g_autofree char *path = g_build_filename (dir_a, l->image, NULL);

      g_assert_true (mva_synth_category_from_name (l->category, &c));
      g_assert_true (g_str_has_prefix (l->image, l->category));
      g_assert_cmpint (l->family, >=, 1);
      g_assert_cmpint (l->family, <=, 10);
      g_assert_false (g_hash_table_contains (fams, key));
      g_hash_table_add (fams, g_steal_pointer (&key));
      g_assert_true (g_file_test (path, G_FILE_TEST_IS_REGULAR));
      g_assert_cmpstr (json_object_get_string_member (l->params, "category"), ==, l->category);
      g_assert_true (strlen (l->question) > 10 && strlen (l->answer) > 10);
      if (l->family == 1)
        per_cat[c]++;
    }
  for (int c = 0; c < MVA_SYNTH_N_CATEGORIES; c++)
    g_assert_cmpint (per_cat[c], ==, PER_CLASS);

  g_assert_true (g_file_get_contents (lb, &text, NULL, NULL));
  rows = g_strsplit (text, "\n", -1);
  g_assert_cmpstr (rows[0], ==, "image,category");
  for (int i = 1; rows[i] != NULL; i++)
    {
      g_auto(GStrv) cells = NULL;
      if (rows[i][0] == '\0')
        continue;
      cells = g_strsplit (rows[i], ",", -1);
      g_assert_cmpuint (g_strv_length (cells), ==, 2);
      g_assert_true (g_str_has_prefix (cells[0], cells[1]));
      n_rows++;
    }
  g_assert_cmpint (n_rows, ==, MVA_SYNTH_N_CATEGORIES * PER_CLASS);
}

// --- answers agree with params -----------------------------------------------------

/* All lengths "12.5 nm", "3.4 µm", "1.2 mm" in text, in nm. */
static GArray *
lengths_in (const char *text)
{
  static GRegex *re;
  GArray *out = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GMatchInfo) mi = NULL;

  if (re == NULL)
    re = g_regex_new ("([0-9]+(?:\\.[0-9]+)?)(?: ± ([0-9]+(?:\\.[0-9]+)?))? (nm|µm|mm)", 0, 0, NULL);
  g_regex_match (re, text, 0, &mi);
  while (g_match_info_matches (mi))
    {
      g_autofree char *num = g_match_info_fetch (mi, 1);
      g_autofree char *unit = g_match_info_fetch (mi, 3);
      double v = g_ascii_strtod (num, NULL);
      v *= g_str_equal (unit, "nm") ? 1 : g_str_equal (unit, "mm") ? 1e6 : 1e3;
      g_array_append_val (out, v);
      g_match_info_next (mi, NULL);
    }
  return out;
}

static gboolean
has_length (const char *text, double nm, double tol)
{
  g_autoptr(GArray) v = lengths_in (text);

  for (guint i = 0; i < v->len; i++)
    if (fabs (g_array_index (v, double, i) - nm) <= tol * nm)
      return TRUE;
  return FALSE;
}

static int
sentences (const char *text)
{
  int n = 0;

  for (const char *p = text; *p; p++)
    if ((*p == '.' || *p == '?' || *p == '!') && (p[1] == ' ' || p[1] == '\0') &&
        !(p > text && g_ascii_isdigit (p[-1]) && g_ascii_isdigit (p[1])))
      n++;
  return n;
}

static const char *
size_mean_key (const char *category)
{
  if (g_str_equal (category, "particles") || g_str_equal (category, "fibres") ||
      g_str_equal (category, "nanowires"))
    return "diameter_mean_nm";
  if (g_str_equal (category, "porous"))
    return "pore_diameter_mean_nm";
  return NULL;
}

static void
test_answers (void)
{
  g_autoptr(GPtrArray) qa = read_qa (dir_a);
  g_autoptr(GPtrArray) qc = read_qa (dir_c);
  GHashTable *openings[MVA_SYNTH_N_FAMILIES];

  for (int f = 0; f < MVA_SYNTH_N_FAMILIES; f++)
    openings[f] = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (int pass = 0; pass < 2; pass++)
    {
      GPtrArray *set = pass == 0 ? qa : qc;
      gboolean databar = pass == 1;
      for (guint i = 0; i < set->len; i++)
        {
          Line *l = set->pdata[i];
          JsonObject *p = l->params;
          int ns = sentences (l->answer);
          g_auto(GStrv) words = g_strsplit (l->answer, " ", 5);
          g_autofree char *opening = NULL;

          if (ns < 1 || ns > 3)
            g_error ("family %d answer has %d sentences: %s", l->family, ns, l->answer);
          if (g_strv_length (words) >= 4)
            opening = g_strjoin (" ", words[0], words[1], words[2], words[3], NULL);
          else
            opening = g_strdup (l->answer);
          g_hash_table_add (openings[l->family - 1], g_steal_pointer (&opening));

          /* never state what is not rendered */
          if (!json_object_get_boolean_member (p, "charging"))
            g_assert_null (strstr (l->answer, "charging"));
          if (json_object_get_int_member (p, "debris") == 0)
            g_assert_null (strstr (l->answer, "dust"));
          if (!databar)
            g_assert_null (strstr (l->answer, "data bar"));
          g_assert_null (strstr (l->answer, "TEM image"));

          switch (l->family)
            {
            case 1:
              g_assert_nonnull (strstr (l->answer, l->category));
              if (!has_length (l->answer, pd (p, "pixel_size_nm"), 0.06))
                g_error ("pixel size %g nm not in: %s", pd (p, "pixel_size_nm"), l->answer);
              if (strstr (l->answer, "magnification") == NULL &&
                  !has_length (l->answer, pd (p, "field_of_view_um") * 1000, 0.06))
                g_error ("field of view not in: %s", l->answer);
              break;
            case 3:
              {
                const char *k = size_mean_key (l->category);
                if (k != NULL && !has_length (l->answer, pd (p, k), 0.06))
                  g_error ("%s %g not in: %s", k, pd (p, k), l->answer);
                if (g_str_equal (l->category, "patterned") &&
                    strstr (l->answer, "pitch") != NULL &&
                    !has_length (l->answer, pd (p, "pitch_nm"), 0.06))
                  g_error ("pitch %g not in: %s", pd (p, "pitch_nm"), l->answer);
                if (g_str_equal (l->category, "tips") && !has_length (l->answer, pd (p, "apex_radius_nm"), 0.06))
                  g_error ("apex radius not in: %s", l->answer);
              }
              break;
            case 8:
              {
                g_autofree char *kv = g_strdup_printf ("%g kV", pd (p, "hv_kv"));
                g_assert_nonnull (strstr (l->answer, "SEM"));
                g_assert_nonnull (strstr (l->answer, kv));
                g_assert_nonnull (strstr (l->answer, json_object_get_string_member (p, "detector")));
                if (pd (p, "tilt_deg") > 0)
                  g_assert_nonnull (strstr (l->answer, "tilted"));
                else
                  g_assert_null (strstr (l->answer, "tilted"));
              }
              break;
            case 4:
              if (g_str_equal (l->category, "films") && json_object_has_member (p, "cracks") &&
                  json_object_get_int_member (p, "cracks") > 0)
                {
                  g_autofree char *n = g_strdup_printf ("%" G_GINT64_FORMAT " cracks",
                                                        json_object_get_int_member (p, "cracks"));
                  g_assert_nonnull (strstr (l->answer, n));
                }
              break;
            default:
              break;
            }
          if (json_object_has_member (p, "missing_features") && l->family == 4)
            {
              gint64 m = json_object_get_int_member (p, "missing_features");
              if (m == 0)
                g_assert_nonnull (strstr (l->answer, "no missing"));
              else
                {
                  g_autofree char *n = g_strdup_printf ("%" G_GINT64_FORMAT " missing", m);
                  g_assert_nonnull (strstr (l->answer, n));
                }
            }
        }
    }
  /* no family answers with one fixed sentence */
  for (int f = 0; f < MVA_SYNTH_N_FAMILIES; f++)
    if (g_hash_table_size (openings[f]) < 3)
      g_error ("family %d has only %u distinct answer openings", f + 1,
               g_hash_table_size (openings[f]));
  for (int f = 0; f < MVA_SYNTH_N_FAMILIES; f++)
    g_hash_table_unref (openings[f]);
}

// --- sizes measured back from the pixels -------------------------------------------

static int
otsu (const guint8 *px, gsize n)
{
  double hist[256] = { 0 }, sum = 0, sum_b = 0, w_b = 0, best = -1;
  int t_best = 128;

  for (gsize i = 0; i < n; i++)
    hist[px[i]]++;
  for (int t = 0; t < 256; t++)
    sum += t * hist[t];
  for (int t = 0; t < 256; t++)
    {
      double w_f, m_b, m_f, between;
      w_b += hist[t];
      if (w_b == 0)
        continue;
      w_f = n - w_b;
      if (w_f == 0)
        break;
      sum_b += t * hist[t];
      m_b = sum_b / w_b;
      m_f = (sum - sum_b) / w_f;
      between = w_b * w_f * (m_b - m_f) * (m_b - m_f);
      if (between > best)
        {
          best = between;
          t_best = t;
        }
    }
  return t_best;
}

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

/* Median equivalent diameter (px) of compact, non-border components of the
 * foreground (bright if !dark). Returns the number of components used. */
static int
measure (const guint8 *px, int w, int h, gboolean dark, double *median_px)
{
  gsize n = (gsize) w * h;
  g_autofree guint8 *sm = g_new (guint8, n);
  g_autofree guint8 *fg = g_new0 (guint8, n);
  g_autofree int *stack = g_new (int, n);
  g_autoptr(GArray) d = g_array_new (FALSE, FALSE, sizeof (double));
  int t;

  /* 3x3 box smoothing against shot noise */
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      {
        int s = 0, c = 0;
        for (int dy = -1; dy <= 1; dy++)
          for (int dx = -1; dx <= 1; dx++)
            {
              int yy = CLAMP (y + dy, 0, h - 1), xx = CLAMP (x + dx, 0, w - 1);
              s += px[(gsize) yy * w + xx];
              c++;
            }
        sm[(gsize) y * w + x] = (guint8) (s / c);
      }
  t = otsu (sm, n);
  for (gsize i = 0; i < n; i++)
    fg[i] = dark ? sm[i] <= t : sm[i] > t;
  for (int start = 0; start < (int) n; start++)
    {
      int top = 0, area = 0, x0 = w, x1 = -1, y0 = h, y1 = -1;
      gboolean border = FALSE;
      if (fg[start] != 1)
        continue;
      fg[start] = 2;
      stack[top++] = start;
      while (top > 0)
        {
          int i = stack[--top], x = i % w, y = i / w;
          const int nb[4] = { i - 1, i + 1, i - w, i + w };
          area++;
          x0 = MIN (x0, x); x1 = MAX (x1, x);
          y0 = MIN (y0, y); y1 = MAX (y1, y);
          if (x == 0 || y == 0 || x == w - 1 || y == h - 1)
            border = TRUE;
          for (int k = 0; k < 4; k++)
            {
              if ((k == 0 && x == 0) || (k == 1 && x == w - 1) || (k == 2 && y == 0) ||
                  (k == 3 && y == h - 1))
                continue;
              if (fg[nb[k]] == 1)
                {
                  fg[nb[k]] = 2;
                  stack[top++] = nb[k];
                }
            }
        }
      if (!border && area >= 20)
        {
          double bw = x1 - x0 + 1, bh = y1 - y0 + 1;
          double aspect = MAX (bw, bh) / MIN (bw, bh), fill = area / (bw * bh);
          if (aspect <= 1.7 && fill >= 0.45 && fill <= 0.95)
            {
              double deq = 2 * sqrt (area / G_PI);
              g_array_append_val (d, deq);
            }
        }
    }
  if (d->len == 0)
    return 0;
  g_array_sort (d, cmp_double);
  *median_px = d->len % 2 ? g_array_index (d, double, d->len / 2)
             : 0.5 * (g_array_index (d, double, d->len / 2 - 1) + g_array_index (d, double, d->len / 2));
  return (int) d->len;
}

static void
test_measured_sizes (void)
{
  g_autoptr(GPtrArray) set_a = read_qa (dir_a);
  g_autoptr(GPtrArray) set_c = read_qa (dir_c);
  GPtrArray *sets[2] = { set_a, set_c };
  const char *dirs[2] = { dir_a, dir_c };
  int measured = 0, images = 0;

  for (int s = 0; s < 2; s++)
    for (guint i = 0; i < sets[s]->len; i++)
      {
        Line *l = sets[s]->pdata[i];
        gboolean pores = g_str_equal (l->category, "porous");
        g_autofree char *path = NULL;
        g_autofree guint8 *px = NULL;
        double declared, med_px = 0, pix;
        int w, h, n;

        if (l->family != 1 || !(pores || g_str_equal (l->category, "particles")))
          continue;
        images++;
        path = g_build_filename (dirs[s], l->image, NULL);
        px = read_tiff (path, &w, &h);
        h = (int) json_object_get_int_member (l->params, "height"); /* above the data bar */
        declared = pd (l->params, pores ? "pore_diameter_median_nm" : "diameter_median_nm");
        pix = pd (l->params, "pixel_size_nm");
        n = measure (px, w, h, pores, &med_px);
        if (n < 5)
          {
            g_test_message ("%s: only %d measurable objects", l->image, n);
            continue;
          }
        measured++;
        g_test_message ("%s: declared %.1f nm, measured %.1f nm (%d objects)", l->image,
                        declared, med_px * pix, n);
        if (fabs (med_px * pix - declared) > 0.15 * declared)
          g_error ("%s/%s: measured median %.1f nm vs declared %.1f nm (%d objects)", dirs[s],
                   l->image, med_px * pix, declared, n);
      }
  g_assert_cmpint (images, ==, 2 * 2 * PER_CLASS);
  /* nearly every image must be measurable */
  g_assert_cmpint (measured, >=, images - 2);
}

// --- categories differ in texture -------------------------------------------------------

#define N_FEAT 8

static void
texture_features (const guint8 *px, int w, int h, double *f)
{
  double sum = 0, sq = 0, gx = 0, gy = 0, bright = 0, dark = 0, ac4 = 0, ac16 = 0;
  gsize n = (gsize) w * h;
  double mean, var;

  for (gsize i = 0; i < n; i++)
    {
      sum += px[i];
      sq += (double) px[i] * px[i];
    }
  mean = sum / n;
  var = MAX (sq / n - mean * mean, 1e-6);
  for (int y = 0; y < h - 16; y++)
    for (int x = 0; x < w - 16; x++)
      {
        gsize i = (gsize) y * w + x;
        double v = px[i] - mean;
        gx += fabs ((double) px[i + 1] - px[i]);
        gy += fabs ((double) px[i + w] - px[i]);
        ac4 += v * (px[i + 4] - mean + px[i + 4 * w] - mean) / 2;
        ac16 += v * (px[i + 16] - mean + px[i + 16 * w] - mean) / 2;
        bright += px[i] > mean + 1.5 * sqrt (var);
        dark += px[i] < mean - 1.5 * sqrt (var);
      }
  n = (gsize) (w - 16) * (h - 16);
  f[0] = mean / 255;
  f[1] = sqrt (var) / 255;
  f[2] = (gx + gy) / n / sqrt (var);
  f[3] = log ((gx + 1) / (gy + 1));
  f[4] = ac4 / n / var;
  f[5] = ac16 / n / var;
  f[6] = bright / n * 5;
  f[7] = dark / n * 5;
}

static void
test_texture (void)
{
  g_autoptr(GPtrArray) qa = read_qa (dir_a);
  g_autoptr(GPtrArray) qc = read_qa (dir_c);
  double feats[2 * MVA_SYNTH_N_CATEGORIES * PER_CLASS][N_FEAT];
  int cat[2 * MVA_SYNTH_N_CATEGORIES * PER_CLASS];
  int n = 0, correct = 0;
  double mu[N_FEAT] = { 0 }, sd[N_FEAT] = { 0 };

  for (int s = 0; s < 2; s++)
    {
      GPtrArray *set = s == 0 ? qa : qc;
      const char *dir = s == 0 ? dir_a : dir_c;
      for (guint i = 0; i < set->len; i++)
        {
          Line *l = set->pdata[i];
          g_autofree char *path = NULL;
          g_autofree guint8 *px = NULL;
          MvaSynthCategory c;
          int w, h;

          if (l->family != 1)
            continue;
          path = g_build_filename (dir, l->image, NULL);
          px = read_tiff (path, &w, &h);
          g_assert_true (mva_synth_category_from_name (l->category, &c));
          texture_features (px, w, H, feats[n]);
          cat[n++] = c;
        }
    }
  /* standardise, then leave-one-out nearest centroid */
  for (int k = 0; k < N_FEAT; k++)
    {
      for (int i = 0; i < n; i++)
        mu[k] += feats[i][k] / n;
      for (int i = 0; i < n; i++)
        sd[k] += (feats[i][k] - mu[k]) * (feats[i][k] - mu[k]) / n;
      sd[k] = sqrt (sd[k]) + 1e-9;
      for (int i = 0; i < n; i++)
        feats[i][k] = (feats[i][k] - mu[k]) / sd[k];
    }
  for (int i = 0; i < n; i++)
    {
      double best = 1e30;
      int best_c = -1;
      for (int c = 0; c < MVA_SYNTH_N_CATEGORIES; c++)
        {
          double cen[N_FEAT] = { 0 }, dist = 0;
          int m = 0;
          for (int j = 0; j < n; j++)
            if (j != i && cat[j] == c)
              {
                for (int k = 0; k < N_FEAT; k++)
                  cen[k] += feats[j][k];
                m++;
              }
          for (int k = 0; k < N_FEAT; k++)
            dist += (cen[k] / m - feats[i][k]) * (cen[k] / m - feats[i][k]);
          if (dist < best)
            {
              best = dist;
              best_c = c;
            }
        }
      correct += best_c == cat[i];
    }
  g_test_message ("nearest-centroid texture accuracy %d/%d (chance %d)", correct, n,
                  n / MVA_SYNTH_N_CATEGORIES);
  /* well above the 10% of chance */
  g_assert_cmpint (correct * 100, >=, 35 * n);
}

// --- FEI tag ------------------------------------------------------------------------

static char *
ini_value (const char *text, const char *section, const char *key)
{
  g_autofree char *head = g_strdup_printf ("[%s]\r\n", section);
  g_autofree char *k = g_strdup_printf ("\r\n%s=", key);
  const char *s = strstr (text, head), *end, *v;

  if (s == NULL)
    return NULL;
  end = strstr (s + 1, "\r\n[");
  v = strstr (s, k);
  if (v == NULL || (end != NULL && v > end))
    return NULL;
  v += strlen (k);
  return g_strndup (v, strcspn (v, "\r\n"));
}

static void
test_fei_tag (void)
{
  g_autoptr(GPtrArray) qc = read_qa (dir_c);

  for (guint i = 0; i < qc->len; i += 10)
    {
      Line *l = qc->pdata[i];
      g_autofree char *path = g_build_filename (dir_c, l->image, NULL);
      g_autoptr(GError) error = NULL;
      MvaImage *img;
      double pix = pd (l->params, "pixel_size_nm");
      int bar = (int) json_object_get_int_member (l->params, "databar_height_px");
      MvaSynthConfig cfg = MVA_SYNTH_CONFIG_INIT;
      MvaSynthCategory c;
      g_autoptr(MvaSynthSample) sample = NULL;
      const char *fei;
      g_autofree char *pw = NULL, *hv = NULL, *wd = NULL, *ry = NULL, *dbh = NULL;
      g_autofree char *hv2 = NULL;

      /* the in-process API gives the same sample as the CLI */
      cfg.width = W;
      cfg.height = H;
      cfg.seed = 12;
      cfg.databar = TRUE;
      g_assert_true (mva_synth_category_from_name (l->category, &c));
      sample = mva_synth_sample_new (&cfg, c, (guint) json_object_get_int_member (l->params, "index"));
      g_assert_cmpstr (mva_synth_sample_get_answer (sample, 1), ==, l->answer);
      fei = mva_synth_sample_get_fei_text (sample);
      pw = ini_value (fei, "Scan", "PixelWidth");
      hv = ini_value (fei, "EBeam", "HV");
      hv2 = ini_value (fei, "Beam", "HV");
      wd = ini_value (fei, "EBeam", "WD");
      ry = ini_value (fei, "Image", "ResolutionY");
      dbh = ini_value (fei, "PrivateFei", "DatabarHeight");
      g_assert_nonnull (pw);
      g_assert_nonnull (hv);
      g_assert_nonnull (wd);
      g_assert_cmpstr (hv, ==, hv2);
      g_assert_cmpfloat_with_epsilon (g_ascii_strtod (pw, NULL) * 1e9, pix, pix * 1e-4);
      g_assert_cmpfloat_with_epsilon (g_ascii_strtod (hv, NULL), pd (l->params, "hv_kv") * 1000, 1.0);
      g_assert_cmpfloat_with_epsilon (g_ascii_strtod (wd, NULL) * 1e3, pd (l->params, "wd_mm"), 0.01);
      g_assert_cmpint (atoi (ry), ==, H);
      g_assert_cmpint (atoi (dbh), ==, bar);
      g_assert_cmpint (bar, >, 0);

      /* and the image loader reads it back from the file */
      img = mva_image_load (path, 0, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (img->width, ==, W);
      g_assert_cmpuint (img->height, ==, H + bar);
      g_assert_cmpfloat_with_epsilon (img->meta.pixel_size_nm, pix, pix * 1e-3);
      g_assert_cmpfloat_with_epsilon (img->meta.hv_kv, pd (l->params, "hv_kv"), 0.01);
      mva_image_free (img);
    }
}

// --- CLI errors and Ctrl+C ------------------------------------------------------------

static void
expect_fail (const char *const *args)
{
  g_autofree char *err = NULL;
  int rc = run_cli (args, NULL, &err);
  const char *nl;

  g_assert_cmpint (rc, !=, 0);
  g_assert_true (g_str_has_prefix (err, "mvaema-cli: "));
  nl = strchr (err, '\n');
  g_assert_nonnull (nl);
  if (nl[1] != '\0')
    g_error ("more than one line of error for %s: %s", args[1], err);
}

static void
test_cli_errors (void)
{
  g_autofree char *file = g_build_filename (tmp_root, "a-file", NULL);
  g_autofree char *blocked = g_build_filename (file, "sub", NULL);
  g_autofree char *ok = g_build_filename (tmp_root, "never", NULL);

  g_assert_true (g_file_set_contents (file, "x", 1, NULL));
  expect_fail ((const char *[]) { "synth", "--out", file, "--per-class", "1", NULL });
  expect_fail ((const char *[]) { "synth", "--out", blocked, "--per-class", "1", NULL });
  expect_fail ((const char *[]) { "synth", "--out", "", "--per-class", "1", NULL });
  expect_fail ((const char *[]) { "synth", "--out", ok, "--per-class", "abc", NULL });
  expect_fail ((const char *[]) { "synth", "--out", ok, "--per-class", "-3", NULL });
  expect_fail ((const char *[]) { "synth", "--out", ok, "--per-class", "0", NULL });
  expect_fail ((const char *[]) { "synth", "--out", ok, NULL });
  expect_fail ((const char *[]) { "synth", "--out", ok, "--per-class", "1", "--seed", "x1", NULL });
  expect_fail ((const char *[]) { "synth", "--out", ok, "--per-class", "1", "--width", "10", NULL });
  expect_fail ((const char *[]) { "synth", "--out", ok, "--per-class", "1", "--height", "1e9", NULL });
  expect_fail ((const char *[]) { "synth", "--out", ok, "--per-class", "1", "--threads", "0", NULL });
  expect_fail ((const char *[]) { "synth", "--out", ok, "--per-class", "1", "--caption-prob", "1.5", NULL });
  expect_fail ((const char *[]) { "synth", "--out", ok, "--per-class", "1", "--caption-prob", "nan", NULL });
  expect_fail ((const char *[]) { "synth", "--out", ok, "--per-class", "1", "--bogus", NULL });
  expect_fail ((const char *[]) { "synth", "--out", ok, "--per-class", "1", "extra", NULL });
  g_assert_false (g_file_test (ok, G_FILE_TEST_EXISTS));
}

static void
test_interrupt (void)
{
  g_autofree char *dir = g_build_filename (tmp_root, "interrupted", NULL);
  g_autofree char *qa_path = g_build_filename (dir, "qa.jsonl", NULL);
  const char *argv[] = { cli_path (), "synth", "--out", dir, "--per-class", "500", "--seed", "3",
                         "--width", "256", "--height", "192", "--threads", "2", NULL };
  g_autoptr(GError) error = NULL;
  GPid pid;
  int status = 0, waited;
  g_autofree char *text = NULL;
  g_autoptr(GDir) d = NULL;
  const char *name;
  g_autofree char *sub = g_build_filename (dir, "particles", NULL);

  g_spawn_async (NULL, (char **) argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDERR_TO_DEV_NULL,
                 NULL, NULL, &pid, &error);
  g_assert_no_error (error);
  /* interrupt once images are being written (the handler is installed by then) */
  {
    g_autofree char *first = g_build_filename (dir, "biological", "biological-0000.tif", NULL);
    for (waited = 0; waited < 1200 && !g_file_test (first, G_FILE_TEST_EXISTS); waited++)
      g_usleep (50 * 1000);
    g_assert_true (g_file_test (first, G_FILE_TEST_EXISTS));
  }
  kill (pid, SIGINT);
  for (waited = 0; waited < 600; waited++)
    {
      if (waitpid (pid, &status, WNOHANG) == pid)
        break;
      g_usleep (100 * 1000);
    }
  g_assert_cmpint (waited, <, 600);
  g_spawn_close_pid (pid);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 130);
  /* the finished images are listed, nothing half-written is left */
  g_assert_true (g_file_get_contents (qa_path, &text, NULL, NULL));
  d = g_dir_open (sub, 0, NULL);
  if (d != NULL)
    while ((name = g_dir_read_name (d)) != NULL)
      g_assert_false (g_str_has_suffix (name, ".part"));
}

int
main (int argc, char **argv)
{
  int rc;

  g_test_init (&argc, &argv, NULL);
  TIFFSetWarningHandler (NULL);
  tmp_root = g_dir_make_tmp ("mvaema-synth-XXXXXX", NULL);
  g_assert_nonnull (tmp_root);
  dir_a = g_build_filename (tmp_root, "a", NULL);
  dir_b = g_build_filename (tmp_root, "b", NULL);
  dir_c = g_build_filename (tmp_root, "c", NULL);
  generate (dir_a, "11", "1", FALSE);
  generate (dir_b, "11", "2", FALSE);
  generate (dir_c, "12", "2", TRUE);

  g_test_add_func ("/Mva/Synth/determinism", test_determinism);
  g_test_add_func ("/Mva/Synth/contract", test_contract);
  g_test_add_func ("/Mva/Synth/answers", test_answers);
  g_test_add_func ("/Mva/Synth/measured-sizes", test_measured_sizes);
  g_test_add_func ("/Mva/Synth/texture", test_texture);
  g_test_add_func ("/Mva/Synth/fei-tag", test_fei_tag);
  g_test_add_func ("/Mva/Synth/cli-errors", test_cli_errors);
  g_test_add_func ("/Mva/Synth/interrupt", test_interrupt);
  rc = g_test_run ();

  if (g_getenv ("MVAEMA_KEEP_TMP") == NULL)
    {
      g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", tmp_root);
      if (system (cmd) != 0)
        g_printerr ("could not remove %s\n", tmp_root);
    }
  g_free (dir_a);
  g_free (dir_b);
  g_free (dir_c);
  g_free (tmp_root);
  return rc;
}
