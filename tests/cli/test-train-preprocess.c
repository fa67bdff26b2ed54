/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * test-train-preprocess.c: app/mva-preprocess, the model-input path shared by
 * train, ask and classify: value scaling, channel planes, data bar removal,
 * area averaging when shrinking, bilinear when enlarging, and a real file;
 * and the trainer on a data set built in memory (the retraining path); the
 * trainer's batches (distinct images, never a tiny batch at an epoch's end).
 */
#include "config.h"

#include <math.h>
#include <string.h>
#include <glib/gstdio.h>

#include "mva-preprocess.h"
#include "mva-trainer.h"
#include "mva-trainer-private.h"

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

/* A data set of the first n PNG/JPEG particle micrographs of ../shared
 * (directory order), one pair each: question and answers[i % n_answers].
 * NULL, with the test skipped, when there are fewer. */
static MvaDataset *
particle_dataset (guint              n,
                  const char        *question,
                  const char *const *answers,
                  guint              n_answers,
                  int                family)
{
  const char *shared = g_getenv ("MVAEMA_SHARED_DIR");
  g_autofree char *dir = shared ? g_build_filename (shared, "micrographs", "particles", NULL) : NULL;
  g_autoptr(GDir) d = dir ? g_dir_open (dir, 0, NULL) : NULL;
  g_autoptr(MvaDataset) ds = NULL;
  const char *name;
  guint k = 0;

  if (d == NULL)
    {
      g_test_skip ("no shared micrographs");
      return NULL;
    }
  ds = mva_dataset_new (dir, 224);
  while ((name = g_dir_read_name (d)) != NULL && k < n)
    {
      if (!g_str_has_suffix (name, ".png") && !g_str_has_suffix (name, ".jpg"))
        continue;
      mva_dataset_add_pair (ds, name, question, answers[k % n_answers], NULL, "particles", family);
      k++;
    }
  if (k < n)
    {
      g_test_skip ("too few readable micrographs");
      return NULL;
    }
  return g_steal_pointer (&ds);
}

/* Options for a quick run of the small configuration into a new temporary
 * folder (opts->out_dir, which the caller frees and removes). */
static void
small_run_options (MvaTrainOptions *opts,
                   guint64          steps,
                   guint            batch)
{
  g_autoptr(GError) error = NULL;

  mva_train_options_init (opts);
  opts->out_dir = g_dir_make_tmp (NULL, &error);
  g_assert_no_error (error);
  opts->config = "small";
  opts->steps = steps;
  opts->batch = batch;
  opts->threads = 1;
  opts->vocab_size = 300;
  opts->val_fraction = 0;
}

/* Removes a model folder the trainer wrote. */
static void
remove_model_dir (const char *out)
{
  for (const char *f = "model.safetensors"; f != NULL;
       f = g_str_equal (f, "model.safetensors") ? "tokenizer.json"
           : g_str_equal (f, "tokenizer.json") ? "train-log.json" : NULL)
    {
      g_autofree char *path = g_build_filename (out, f, NULL);
      g_unlink (path);
    }
  g_rmdir (out);
}

/* A fine-tune's schedule: on two images (an epoch is one batch) every one
 * of the steps asked for runs at the set learning rate; the per-epoch loss
 * of such epochs is noise, and neither halves the rate nor stops the run
 * (without fixed_schedule, this plateau halves the rate after 5 epochs and
 * stops the run after 10). */
static void
test_fixed_schedule (void)
{
  static const char *const answers[] = { "Round and smooth.", "Faceted." };
  g_autoptr(MvaDataset) ds = particle_dataset (2, "Describe the particles.", answers, 2, 2);
  g_autofree char *out = NULL;
  g_autofree char *log = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  MvaTrainOptions opts;
  gboolean cancelled = TRUE;
  JsonObject *o;
  JsonArray *epochs;

  if (ds == NULL)
    return;
  small_run_options (&opts, 40, 2);
  out = (char *) opts.out_dir;
  opts.lr = 1e-9; /* the loss stays where it is: a plateau from the start */
  opts.fixed_schedule = TRUE;
  g_assert_true (mva_trainer_run_dataset (&opts, ds, NULL, NULL, NULL, &cancelled, NULL, &error));
  g_assert_no_error (error);
  log = g_build_filename (out, "train-log.json", NULL);
  g_assert_true (json_parser_load_from_file (parser, log, &error));
  o = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpint (json_array_get_length (json_object_get_array_member (o, "step_log")), ==, 40);
  g_assert_cmpstr (json_object_get_string_member (o, "stopped"), ==, "steps");
  epochs = json_object_get_array_member (o, "epoch_log");
  g_assert_cmpuint (json_array_get_length (epochs), >=, 39);
  for (guint i = 0; i < json_array_get_length (epochs); i++)
    g_assert_cmpfloat_with_epsilon (
      json_object_get_double_member (json_array_get_object_element (epochs, i), "lr"), 1e-9, 1e-15);
  remove_model_dir (out);
}

/* Run a batcher over `epochs` epochs; check every batch has distinct images,
 * no item comes twice in one epoch, and an item missed in an epoch (carried)
 * is not missed in the next. Returns the smallest batch; *sizes gets every
 * batch size, epochs separated by 0. */
static guint
run_batcher (const guint *images, guint n, guint n_images, guint B, guint min_B, guint64 seed,
             guint epochs, GArray *sizes)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed ((guint32) seed);
  g_autofree guint *items = g_new (guint, n);
  g_autofree guint *out = g_new (guint, B);
  g_autofree guint *seen = g_new0 (guint, n);       /* epoch + 1 it was last seen in */
  g_autofree gboolean *in_batch = g_new0 (gboolean, n_images);
  MvaBatcher *b;
  guint smallest = G_MAXUINT;

  for (guint i = 0; i < n; i++)
    items[i] = 1000 + i;
  b = _mva_batcher_new (items, images, n, n_images, B, min_B, rand);
  g_assert_nonnull (b);
  for (guint e = 1; e <= epochs; e++)
    {
      guint k, guard = 0;

      while ((k = _mva_batcher_next (b, out)) > 0)
        {
          g_assert_cmpuint (k, <=, B);
          smallest = MIN (smallest, k);
          g_array_append_val (sizes, k);
          for (guint i = 0; i < k; i++)
            {
              guint it = out[i] - 1000;
              g_assert_cmpuint (it, <, n);
              g_assert_false (in_batch[images[it]]);  /* one pair per image */
              in_batch[images[it]] = TRUE;
              g_assert_cmpuint (seen[it], !=, e + 1); /* once an epoch */
              seen[it] = e + 1;
            }
          for (guint i = 0; i < k; i++)
            in_batch[images[out[i] - 1000]] = FALSE;
          g_assert_cmpuint (++guard, <=, n);
        }
      g_array_append_val (sizes, k);
      if (e >= 2)
        for (guint i = 0; i < n; i++)
          g_assert_cmpuint (seen[i], >=, e); /* seen in this epoch or the one before */
    }
  _mva_batcher_free (b);
  return smallest;
}

static void
test_batcher_min_batch (void)
{
  /* 10 pairs of 10 images, batch 8: without a minimum every epoch would end
   * with a batch of 2 */
  guint uniform[10];
  /* a synth-like skew: 40 images with 1 to 6 pairs each, batch 16 */
  guint skew[160];
  guint n_skew = 0;

  for (guint i = 0; i < 10; i++)
    uniform[i] = i;
  for (guint img = 0; img < 40; img++)
    for (guint j = 0; j < 1 + img % 6; j++)
      skew[n_skew++] = img;

  for (guint64 seed = 1; seed <= 5; seed++)
    {
      g_autoptr(GArray) a = g_array_new (FALSE, FALSE, sizeof (guint));
      g_autoptr(GArray) c = g_array_new (FALSE, FALSE, sizeof (guint));
      g_autoptr(GArray) old = g_array_new (FALSE, FALSE, sizeof (guint));

      /* the minimum is half the batch size */
      g_assert_cmpuint (_mva_batcher_min_for (8), ==, 4);
      g_assert_cmpuint (_mva_batcher_min_for (3), ==, 2);
      g_assert_cmpuint (run_batcher (uniform, 10, 10, 8, _mva_batcher_min_for (8), seed, 6, a),
                        ==, 8);
      /* one batch of 8 an epoch, two pairs carried each time */
      g_assert_cmpuint (a->len, ==, 12);
      g_assert_cmpuint (run_batcher (skew, n_skew, 40, 16, _mva_batcher_min_for (16), seed, 8, c),
                        >=, 8);
      /* the same data without the minimum (the old rule: at least 2) does
       * make smaller batches, so the check above means something */
      g_assert_cmpuint (run_batcher (skew, n_skew, 40, 16, 2, seed, 8, old), <, 8);
    }

  /* same seed, same batches */
  {
    g_autoptr(GRand) r1 = g_rand_new_with_seed (7), r2 = g_rand_new_with_seed (7);
    guint items[160], out1[16], out2[16];
    MvaBatcher *b1, *b2;

    for (guint i = 0; i < n_skew; i++)
      items[i] = i;
    b1 = _mva_batcher_new (items, skew, n_skew, 40, 16, 8, r1);
    b2 = _mva_batcher_new (items, skew, n_skew, 40, 16, 8, r2);
    for (guint s = 0; s < 200; s++)
      {
        guint k1 = _mva_batcher_next (b1, out1), k2 = _mva_batcher_next (b2, out2);
        g_assert_cmpuint (k1, ==, k2);
        g_assert_cmpmem (out1, sizeof (guint) * k1, out2, sizeof (guint) * k2);
      }
    _mva_batcher_free (b1);
    _mva_batcher_free (b2);
  }
}

static void
collect_batch (const MvaTrainProgress *p, gpointer user_data)
{
  if (p->phase == MVA_TRAIN_PHASE_STEP)
    g_array_append_val ((GArray *) user_data, p->batch);
}

/* The trainer itself: 8 images with one pair each and batch 6 would give
 * batches of 6, 2, 6, 2, ...; every step must train on at least 3 pairs. */
static void
test_trainer_min_batch (void)
{
  static const char *const answers[] = { "particles" };
  g_autoptr(MvaDataset) ds = particle_dataset (8, "What type of nanomaterial is shown?", answers, 1, 1);
  g_autofree char *out = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) sizes = g_array_new (FALSE, FALSE, sizeof (guint));
  MvaTrainOptions opts;
  gboolean cancelled = TRUE;

  if (ds == NULL)
    return;
  small_run_options (&opts, 4, 6);
  out = (char *) opts.out_dir;
  g_assert_true (mva_trainer_run_dataset (&opts, ds, collect_batch, sizes, NULL, &cancelled, NULL,
                                          &error));
  g_assert_no_error (error);
  g_assert_cmpuint (sizes->len, ==, 4);
  for (guint i = 0; i < sizes->len; i++)
    g_assert_cmpuint (g_array_index (sizes, guint, i), ==, 6);
  remove_model_dir (out);
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
  g_test_add_func ("/Mva/Trainer/batcher-min-batch", test_batcher_min_batch);
  g_test_add_func ("/Mva/Trainer/min-batch", test_trainer_min_batch);
  g_test_add_func ("/Mva/Trainer/fixed-schedule", test_fixed_schedule);
  return g_test_run ();
}
