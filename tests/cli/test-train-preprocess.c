/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * test-train-preprocess.c: app/mva-preprocess, the model-input path shared by
 * train, ask and classify: value scaling, channel planes, data bar removal,
 * area averaging when shrinking, bilinear when enlarging, and a real file;
 * and the trainer on a data set built in memory (the retraining path).
 */
#include "config.h"

#include <math.h>
#include <string.h>
#include <glib/gstdio.h>

#include "mva-preprocess.h"
#include "mva-trainer.h"

static MvaImage *
make_image (guint w, guint h, guint channels)
{
  MvaImage *im = g_new0 (MvaImage, 1);

  im->width = im->full_width = w;
  im->height = im->full_height = h;
  im->channels = channels;
  im->bit_depth = 8;
  im->sample_format = MVA_SAMPLE_UINT;
  im->stride = (gsize) w * channels;
  im->data = g_malloc0 (im->stride * h);
  im->format = g_strdup ("PNG");
  im->path = g_strdup ("memory.png");
  im->meta.pixel_size_nm = im->meta.pixel_size_y_nm = NAN;
  im->meta.hv_kv = im->meta.wd_mm = im->meta.magnification = NAN;
  return im;
}

static void
test_scaling_and_planes (void)
{
  g_autoptr(MvaImage) im = make_image (40, 30, 3);
  g_autoptr(GError) error = NULL;
  g_autofree float *x = NULL;
  guint8 *px = im->data;

  for (guint i = 0; i < 40 * 30; i++)
    {
      px[i * 3] = 255;
      px[i * 3 + 1] = 0;
      px[i * 3 + 2] = 51;
    }
  x = mva_preprocess_image (im, 16, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < 16 * 16; i++)
    {
      g_assert_cmpfloat_with_epsilon (x[i], 1.0f, 1e-6);
      g_assert_cmpfloat_with_epsilon (x[256 + i], -1.0f, 1e-6);
      g_assert_cmpfloat_with_epsilon (x[512 + i], (51.0f / 255.0f - 0.5f) / 0.5f, 1e-6);
    }
}

static void
test_databar_removed (void)
{
  g_autoptr(MvaImage) im = make_image (64, 80, 1);
  g_autoptr(GError) error = NULL;
  g_autofree guint8 *rgb = NULL;
  guint8 *px = im->data;

  /* 60 rows of image at 50, a 20-row white data bar */
  memset (px, 50, 64 * 60);
  memset (px + 64 * 60, 255, 64 * 20);
  im->meta.databar_height_px = 20;
  g_assert_cmpuint (mva_preprocess_databar_rows (im), ==, 20);
  rgb = mva_preprocess_rgb8 (im, 32, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < 32 * 32 * 3; i++)
    g_assert_cmpuint (rgb[i], ==, 50);

  /* a bar covering everything is an error, not a crash */
  im->meta.databar_height_px = 80;
  g_clear_pointer (&rgb, g_free);
  rgb = mva_preprocess_rgb8 (im, 32, &error);
  g_assert_null (rgb);
  g_assert_nonnull (error);
}

static void
test_area_average (void)
{
  /* a 1-pixel checkerboard shrunk 7x (odd, so footprints split pixels)
   * averages to mid-grey everywhere: no aliasing */
  g_autoptr(MvaImage) im = make_image (224 * 7, 224 * 7, 1);
  g_autoptr(GError) error = NULL;
  g_autofree guint8 *rgb = NULL;
  guint8 *px = im->data;

  for (guint y = 0; y < im->height; y++)
    for (guint x = 0; x < im->width; x++)
      px[(gsize) y * im->width + x] = ((x + y) & 1) ? 255 : 0;
  rgb = mva_preprocess_rgb8 (im, 224, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < 224 * 224 * 3; i++)
    g_assert_cmpint (abs ((int) rgb[i] - 128), <=, 3);
}

static void
test_bilinear_enlarge (void)
{
  /* 2x1 black|white enlarged to 8 wide: a monotone ramp, edges kept */
  g_autoptr(MvaImage) im = make_image (2, 1, 1);
  g_autoptr(GError) error = NULL;
  g_autofree guint8 *rgb = NULL;
  guint8 *px = im->data;

  px[0] = 0;
  px[1] = 255;
  rgb = mva_preprocess_rgb8 (im, 8, &error);
  g_assert_no_error (error);
  for (guint y = 0; y < 8; y++)
    {
      const guint8 *row = rgb + y * 8 * 3;
      g_assert_cmpuint (row[0], ==, 0);
      g_assert_cmpuint (row[7 * 3], ==, 255);
      for (guint x = 1; x < 8; x++)
        g_assert_cmpuint (row[x * 3], >=, row[(x - 1) * 3]);
      g_assert_cmpuint (row[3 * 3], <, 128);
      g_assert_cmpuint (row[4 * 3], >, 128);
    }
}

static void
test_real_file (void)
{
  const char *shared = g_getenv ("MVAEMA_SHARED_DIR");
  g_autofree char *dir = NULL;
  g_autoptr(GDir) d = NULL;
  const char *name;
  guint done = 0;

  if (shared == NULL)
    {
      g_test_skip ("MVAEMA_SHARED_DIR not set");
      return;
    }
  dir = g_build_filename (shared, "micrographs", "nanowires", NULL);
  d = g_dir_open (dir, 0, NULL);
  if (d == NULL)
    {
      g_test_skip ("no shared micrographs");
      return;
    }
  while ((name = g_dir_read_name (d)) != NULL && done < 2)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_autoptr(GError) error = NULL;
      g_autofree float *x = NULL;
      double lo = 2, hi = -2;

      if (!g_str_has_suffix (name, ".tif") && !g_str_has_suffix (name, ".png") &&
          !g_str_has_suffix (name, ".jpg") && !g_str_has_suffix (name, ".jpeg"))
        continue;
      x = mva_preprocess_load (path, 224, &error);
      g_assert_no_error (error);
      for (guint i = 0; i < 3 * 224 * 224; i++)
        {
          lo = MIN (lo, x[i]);
          hi = MAX (hi, x[i]);
        }
      g_assert_cmpfloat (lo, >=, -1.0);
      g_assert_cmpfloat (hi, <=, 1.0);
      g_assert_cmpfloat (hi - lo, >, 0.2); /* a micrograph, not a flat field */
      done++;
    }
  if (done == 0)
    g_test_skip ("no readable micrograph found");
}

static void
test_dataset_in_memory (void)
{
  const char *shared = g_getenv ("MVAEMA_SHARED_DIR");
  g_autofree char *dir = NULL, *out = NULL, *model = NULL, *twice = NULL;
  g_autoptr(MvaDataset) ds = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) summary = NULL;
  g_autoptr(GDir) d = NULL;
  MvaTrainOptions opts;
  gboolean cancelled = TRUE;
  const char *name;
  guint n = 0;

  dir = shared ? g_build_filename (shared, "micrographs", "particles", NULL) : NULL;
  d = dir ? g_dir_open (dir, 0, NULL) : NULL;
  if (d == NULL)
    {
      g_test_skip ("no shared micrographs");
      return;
    }
  ds = mva_dataset_new (dir, 224);
  while ((name = g_dir_read_name (d)) != NULL && n < 4)
    {
      if (!g_str_has_suffix (name, ".png") && !g_str_has_suffix (name, ".jpg") &&
          !g_str_has_suffix (name, ".tif"))
        continue;
      mva_dataset_add_pair (ds, name, "This SEM image shows particles. How large are they?",
                            "They are about 50 nm across.", "This SEM image shows particles.",
                            "particles", 3);
      if (n == 0)
        twice = g_strdup_printf ("./%s", name);
      n++;
    }
  if (n < 2)
    {
      g_test_skip ("fewer than two readable micrographs");
      return;
    }
  /* the same file named another way is the same image */
  mva_dataset_add_pair (ds, twice, "What type of nanomaterial is shown?", "particles", NULL,
                        "particles", 1);
  g_assert_cmpuint (ds->n_images, ==, n);
  g_assert_cmpuint (ds->pairs->len, ==, n + 1);
  g_assert_true (g_array_index (ds->pairs, MvaQaPair, 0).asked_with_caption);
  g_assert_cmpstr (g_array_index (ds->pairs, MvaQaPair, 0).question, ==, "How large are they?");

  out = g_dir_make_tmp (NULL, &error);
  g_assert_no_error (error);
  mva_train_options_init (&opts);
  opts.out_dir = out;
  opts.config = "small";
  opts.steps = 2;
  opts.batch = 2;
  opts.threads = 1;
  opts.vocab_size = 300;
  g_assert_true (mva_trainer_run_dataset (&opts, ds, NULL, NULL, NULL, &cancelled, &summary,
                                          &error));
  g_assert_no_error (error);
  g_assert_false (cancelled);
  g_assert_true (ds->loaded);
  g_assert_cmpint (json_object_get_int_member (json_node_get_object (summary), "steps"), ==, 2);
  model = g_build_filename (out, "model.safetensors", NULL);
  g_assert_true (g_file_test (model, G_FILE_TEST_IS_REGULAR));
  for (const char *f = "model.safetensors"; f != NULL;
       f = g_str_equal (f, "model.safetensors") ? "tokenizer.json"
           : g_str_equal (f, "tokenizer.json") ? "train-log.json" : NULL)
    {
      g_autofree char *path = g_build_filename (out, f, NULL);
      g_assert_true (g_file_test (path, G_FILE_TEST_IS_REGULAR));
      g_unlink (path);
    }
  g_rmdir (out);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/Mva/Preprocess/scaling-and-planes", test_scaling_and_planes);
  g_test_add_func ("/Mva/Preprocess/databar", test_databar_removed);
  g_test_add_func ("/Mva/Preprocess/area-average", test_area_average);
  g_test_add_func ("/Mva/Preprocess/bilinear", test_bilinear_enlarge);
  g_test_add_func ("/Mva/Preprocess/real-file", test_real_file);
  g_test_add_func ("/Mva/Trainer/dataset-in-memory", test_dataset_in_memory);
  return g_test_run ();
}
