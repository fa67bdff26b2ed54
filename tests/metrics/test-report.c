/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * test-report.c: the evaluation report: summary statistics over folds
 * (hand-computed), report.json contents, and a self-contained report.html
 * whose three figures are valid embedded PNGs.
 */
#include "config.h"

#include <math.h>
#include <string.h>
#include <glib/gstdio.h>
#include <cairo.h>
#include <json-glib/json-glib.h>

#include "mva-report.h"

/* cairo's toy text API loads fontconfig, whose process-lifetime caches LSan
 * reports as leaks at exit; they are not ours (read by ASan builds only). */
const char *__lsan_default_suppressions (void);
const char *
__lsan_default_suppressions (void)
{
  return "leak:libfontconfig.so\n";
}

static const char * const classes[] = { "particles", "nanowires", "porous" };
static const char * const families[] = { "Basics", "Morphology and structure" };

typedef struct
{
  const guchar *data;
  gsize         len;
  gsize         pos;
} PngReader;

static cairo_status_t
read_png (void          *closure,
          unsigned char *data,
          unsigned int   length)
{
  PngReader *rd = closure;

  if (rd->pos + length > rd->len)
    return CAIRO_STATUS_READ_ERROR;
  memcpy (data, rd->data + rd->pos, length);
  rd->pos += length;
  return CAIRO_STATUS_SUCCESS;
}

/* Fold 0: 2 images, top-1 right on 1 (top1 0.5); fold 1: 2 images, both
 * right (top1 1.0) -> mean 0.75, sample std sqrt (0.125) = 0.35355... */
static MvaReport *
make_report (void)
{
  MvaReport *r = mva_report_new ("Test <report> & co", NULL);
  const double right0[3] = { 0.9, 0.05, 0.05 };   /* guesses particles */
  const double wrong1[3] = { 0.6, 0.3, 0.1 };     /* nanowires image guessed particles */
  const double right1[3] = { 0.1, 0.8, 0.1 };
  const double right2[3] = { 0.1, 0.2, 0.7 };
  const char *refs[] = { "The image shows round particles on a substrate.", NULL };
  guint f0, f1;

  mva_report_set_model (r, "mvaema-s32", "width 64, 4 layers");
  mva_report_set_data (r, "synthetic set, 40 images");
  mva_report_set_class_names (r, classes, 3);
  mva_report_set_family_names (r, families, 2);
  f0 = mva_report_add_fold (r);
  f1 = mva_report_add_fold (r);
  g_assert_true (mva_report_add_classification (r, f0, 0, right0));
  g_assert_true (mva_report_add_classification (r, f0, 1, wrong1));
  g_assert_true (mva_report_add_classification (r, f1, 1, right1));
  g_assert_true (mva_report_add_classification (r, f1, 2, right2));
  g_assert_false (mva_report_add_classification (r, 5, 0, right0));
  g_assert_false (mva_report_add_classification (r, f0, 3, right0));

  /* fold 0: identical answer (ROUGE-L 1); fold 1: no common word (0) */
  g_assert_true (mva_report_add_answer (r, f0, 0, "What is shown?", refs[0], refs));
  g_assert_true (mva_report_add_answer (r, f1, 1, "Describe the shape.", "Nothing here.", refs));
  g_assert_false (mva_report_add_answer (r, f1, 2, NULL, "x", refs));

  for (int e = 1; e <= 5; e++)
    {
      g_assert_true (mva_report_add_loss (r, f0, "train", e, 3.0 / e));
      g_assert_true (mva_report_add_loss (r, f0, "val", e, 3.2 / e + 0.1));
      g_assert_true (mva_report_add_loss (r, f1, "train", e, 2.9 / e));
    }
  g_assert_false (mva_report_add_loss (r, f1, "train", 6, NAN));
  /* fold 1 stopped a third into epoch 6 */
  g_assert_true (mva_report_add_loss (r, f1, "train", 5 + 1.0 / 3, 0.45));
  g_assert_true (mva_report_mark_partial (r, f1, "train", "epoch 6: 10 of about 30 steps"));
  g_assert_false (mva_report_mark_partial (r, f1, "val", "no such series"));
  g_assert_false (mva_report_mark_partial (r, 7, "train", "no such fold"));

  /* baseline: fold 0 answers right (ROUGE-L 1), fold 1 says nothing in common (0) */
  mva_report_set_baseline (r, "the most common answer of the family");
  g_assert_true (mva_report_add_baseline_answer (r, f0, refs[0], refs));
  g_assert_true (mva_report_add_baseline_answer (r, f1, "Nothing here.", refs));
  g_assert_false (mva_report_add_baseline_answer (r, 9, "x", refs));
  return r;
}

static void
test_json (void)
{
  g_autoptr(MvaReport) r = make_report ();
  g_autoptr(JsonNode) root = mva_report_to_json (r);
  JsonObject *o = json_node_get_object (root);
  JsonObject *summary = json_object_get_object_member (o, "summary");
  JsonObject *top1 = json_object_get_object_member (summary, "top1");
  JsonObject *rougeL = json_object_get_object_member (summary, "rougeL");
  JsonObject *cls = json_object_get_object_member (o, "classification");
  JsonArray *confusion = json_object_get_array_member (cls, "confusion");

  g_assert_cmpint (json_object_get_int_member (o, "folds"), ==, 2);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (top1, "mean"), 0.75, 1e-12);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (top1, "std"), sqrt (0.125), 1e-12);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (top1, "paper"), 0.947, 1e-12);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (rougeL, "mean"), 0.5, 1e-12);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (rougeL, "std"), sqrt (0.5), 1e-12);
  /* pooled confusion: particles->particles 1, nanowires->particles 1, nanowires->nanowires 1, porous->porous 1 */
  g_assert_cmpint (json_array_get_int_element (json_array_get_array_element (confusion, 0), 0), ==, 1);
  g_assert_cmpint (json_array_get_int_element (json_array_get_array_element (confusion, 1), 0), ==, 1);
  g_assert_cmpint (json_array_get_int_element (json_array_get_array_element (confusion, 1), 1), ==, 1);
  g_assert_cmpint (json_array_get_int_element (json_array_get_array_element (confusion, 2), 2), ==, 1);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (cls, "top1"), 0.75, 1e-12);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (o, "loss_curves")), ==, 3);
  {
    JsonArray *curves = json_object_get_array_member (o, "loss_curves");
    guint partial = 0;

    for (guint i = 0; i < json_array_get_length (curves); i++)
      {
        JsonObject *c = json_array_get_object_element (curves, i);

        if (json_object_has_member (c, "last_partial"))
          {
            JsonArray *x = json_object_get_array_member (c, "epoch");

            partial++;
            g_assert_cmpint (json_object_get_int_member (c, "fold"), ==, 1);
            g_assert_cmpstr (json_object_get_string_member (c, "last_partial"), ==,
                             "epoch 6: 10 of about 30 steps");
            g_assert_cmpuint (json_array_get_length (x), ==, 6);
            g_assert_cmpfloat_with_epsilon (json_array_get_double_element (x, 5), 5 + 1.0 / 3, 1e-12);
          }
      }
    g_assert_cmpuint (partial, ==, 1);
  }
  /* the baseline next to the model: ROUGE-L 1 and 0 -> mean 0.5, std sqrt (0.5) */
  g_assert_cmpstr (json_object_get_string_member (o, "baseline"), ==,
                   "the most common answer of the family");
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (rougeL, "baseline"), 0.5, 1e-12);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (rougeL, "baseline_std"),
                                  sqrt (0.5), 1e-12);
  g_assert_false (json_object_has_member (top1, "baseline"));
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (o, "families")), ==, 2);
  g_assert_false (json_object_get_boolean_member (o, "wordnet"));
}

static void
test_write (void)
{
  g_autoptr(MvaReport) r = make_report ();
  g_autoptr(GError) error = NULL;
  g_autofree char *tmp = g_dir_make_tmp (NULL, &error);
  g_autofree char *dir = NULL;
  g_autofree char *html = NULL;
  g_autofree char *json_path = NULL;
  g_autofree char *html_path = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  const char *p;
  guint n_images = 0;

  g_assert_no_error (error);
  dir = g_build_filename (tmp, "nested", "report", NULL);
  g_assert_true (mva_report_write (r, dir, &error));
  g_assert_no_error (error);
  json_path = g_build_filename (dir, "report.json", NULL);
  html_path = g_build_filename (dir, "report.html", NULL);
  g_assert_true (json_parser_load_from_file (parser, json_path, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (html_path, &html, NULL, &error));

  /* escaped title, no external resources, three decodable PNG figures */
  g_assert_nonnull (strstr (html, "Test &lt;report&gt; &amp; co"));
  g_assert_null (strstr (html, "src=\"http"));
  g_assert_null (strstr (html, "<script"));
  g_assert_nonnull (strstr (html, "0.750 ± 0.354"));
  g_assert_nonnull (strstr (html, "<th>baseline</th>"));
  g_assert_nonnull (strstr (html, "Fold 2 train: the hollow point is a partial last epoch "
                                  "(epoch 6: 10 of about 30 steps)"));
  for (p = strstr (html, "src=\"data:image/png;base64,"); p != NULL;
       p = strstr (p + 1, "src=\"data:image/png;base64,"))
    {
      const char *b64 = p + strlen ("src=\"data:image/png;base64,");
      const char *end = strchr (b64, '"');
      g_autofree char *text = g_strndup (b64, end - b64);
      gsize len = 0;
      g_autofree guchar *png = g_base64_decode (text, &len);
      PngReader rd = { png, len, 0 };
      cairo_surface_t *s;

      g_assert_cmpuint (len, >, 8);
      g_assert_cmpmem (png, 8, "\x89PNG\r\n\x1a\n", 8);
      s = cairo_image_surface_create_from_png_stream (read_png, &rd);
      g_assert_cmpint (cairo_surface_status (s), ==, CAIRO_STATUS_SUCCESS);
      g_assert_cmpint (cairo_image_surface_get_width (s), >, 300);
      g_assert_cmpint (cairo_image_surface_get_height (s), >, 200);
      cairo_surface_destroy (s);
      n_images++;
    }
  g_assert_cmpuint (n_images, ==, 3);

  g_assert_cmpint (g_remove (json_path), ==, 0);
  g_assert_cmpint (g_remove (html_path), ==, 0);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
  {
    g_autofree char *nested = g_build_filename (tmp, "nested", NULL);
    g_assert_cmpint (g_rmdir (nested), ==, 0);
  }
  g_assert_cmpint (g_rmdir (tmp), ==, 0);
}

static void
test_unwritable (void)
{
  g_autoptr(MvaReport) r = make_report ();
  g_autoptr(GError) error = NULL;

  g_assert_false (mva_report_write (r, "/proc/version/report", &error));
  g_assert_nonnull (error);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/Mva/Report/json", test_json);
  g_test_add_func ("/Mva/Report/write", test_write);
  g_test_add_func ("/Mva/Report/unwritable", test_unwritable);
  return g_test_run ();
}
