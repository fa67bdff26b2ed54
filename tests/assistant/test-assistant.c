/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * test-assistant.c: the assistant API (mva-assistant.h, mva-overlay.h) on a
 * small random model this test writes itself: presets and captions, blocking
 * ask with streamed tokens and attention, async ask (every token before the
 * ready callback, in the main context's thread), cancellation, classify,
 * the library's attention blob, and the overlay's upsampling and colours.
 */
#include "config.h"

#include <math.h>
#include <string.h>
#include <glib/gstdio.h>

#include "mva-assistant.h"
#include "mva-device.h"
#include "mva-overlay.h"
#include "mva-store.h"
#include "mva-synth.h"
#include "mve-tokenizer.h"
#include "mve.h"

/* fontconfig keeps its caches (the synth's data bar text) until exit */
const char *__lsan_default_suppressions (void);
const char *
__lsan_default_suppressions (void)
{
  return "leak:libfontconfig.so\n";
}

typedef struct
{
  char *dir;
  char *model_dir;
  char *image_path;
} Fixture;

static Fixture fx;

static void
make_model (void)
{
  const char *texts[] = {
    "What type of nanomaterial is shown?", "biological fibres films mems nanowires",
    "particles patterned porous powder tips", "This SEM image shows nanowires.",
    "The wires are about 40 nm wide and 2 µm long, randomly oriented.",
    "Describe the overall shape and structure of the material.",
  };
  struct mve_config cfg;
  mve_tokenizer *tok = NULL;
  mve_model_t m = NULL;
  char err[256];
  g_autofree char *tp = NULL;
  g_autofree char *mp = NULL;

  g_assert_cmpint (mve_tokenizer_train (&tok, texts, G_N_ELEMENTS (texts), 320, err, sizeof err), ==,
                   MVE_STATUS_OK);
  mve_config_init_default (&cfg);
  cfg.width = 32;
  cfg.vision_layers = 1;
  cfg.text_layers = 1;
  cfg.decoder_layers = 1;
  cfg.heads = 2;
  cfg.embed_dim = 32;
  cfg.vocab_size = mve_tokenizer_size (tok);
  g_assert_cmpint (mve_model_init (&m, &cfg, 7, 1, err, sizeof err), ==, MVE_STATUS_OK);
  fx.model_dir = g_build_filename (fx.dir, "model", NULL);
  g_assert_cmpint (g_mkdir_with_parents (fx.model_dir, 0755), ==, 0);
  tp = g_build_filename (fx.model_dir, "tokenizer.json", NULL);
  mp = g_build_filename (fx.model_dir, "model.safetensors", NULL);
  g_assert_cmpint (mve_tokenizer_save (tok, tp, err, sizeof err), ==, MVE_STATUS_OK);
  g_assert_cmpint (mve_model_save (m, mp, NULL, err, sizeof err), ==, MVE_STATUS_OK);
  mve_model_free (m);
  mve_tokenizer_free (tok);
}

static void
make_image (void)
{
  MvaSynthConfig cfg = MVA_SYNTH_CONFIG_INIT;
  g_autoptr(MvaSynthSample) s = NULL;
  g_autoptr(GError) error = NULL;

  cfg.width = 160;
  cfg.height = 120;
  cfg.databar = TRUE;
  s = mva_synth_sample_new (&cfg, MVA_SYNTH_NANOWIRES, 0);
  fx.image_path = g_build_filename (fx.dir, "wires.tif", NULL);
  g_assert_true (mva_synth_sample_write_tiff (s, fx.image_path, &error));
  g_assert_no_error (error);
}

static void
test_presets (void)
{
  g_autofree char *cap = mva_assistant_caption ("nanowires");
  guint idx = 99;

  for (guint f = 1; f <= MVA_ASSISTANT_N_FAMILIES; f++)
    {
      g_assert_nonnull (mva_assistant_family_label (f));
      g_assert_true (g_str_has_suffix (mva_assistant_family_question (f), "?") ||
                     g_str_has_suffix (mva_assistant_family_question (f), "."));
    }
  g_assert_null (mva_assistant_family_label (0));
  g_assert_null (mva_assistant_family_question (11));
  g_assert_cmpstr (mva_assistant_family_label (3), ==, "Size and distribution");
  g_assert_cmpstr (cap, ==, "This SEM image shows nanowires.");
  g_assert_null (mva_assistant_caption ("rocks"));
  g_assert_true (mva_assistant_category_index ("porous", &idx));
  g_assert_cmpuint (idx, ==, 7);
  g_assert_cmpstr (mva_assistant_category_name (0), ==, "biological");
  g_assert_null (mva_assistant_category_name (10));
}

typedef struct
{
  guint    n;
  GString *text;
  gboolean sums_ok;
  GThread *thread;
  gboolean other_thread;
  gboolean done;
  guint    n_at_done;
  MvaAnswer *answer;
  GError  *error;
} Collect;

static void
on_token (guint index, gint32 token, const char *piece, const float *attn, guint P, gpointer user)
{
  Collect *c = user;
  double sum = 0;

  g_assert_cmpuint (index, ==, c->n);
  g_assert_false (c->done);
  for (guint p = 0; p < P; p++)
    sum += attn[p];
  if (P != 49 || fabs (sum - 1.0) > 1e-3)
    c->sums_ok = FALSE;
  g_string_append (c->text, piece);
  if (g_thread_self () != c->thread)
    c->other_thread = TRUE;
  c->n++;
}

static void
test_ask_blocking (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MvaAssistantModel) model = mva_assistant_model_load (fx.model_dir, 1, &error);
  g_autoptr(MvaImage) image = NULL;
  g_autoptr(MvaAnswer) a = NULL;
  MvaAskRequest req = { NULL, 2, "nanowires", 10 };
  Collect c = { 0, g_string_new (NULL), TRUE, g_thread_self () };
  double sum = 0;

  g_assert_no_error (error);
  g_assert_cmpuint (mva_assistant_model_get_grid (model), ==, 7);
  g_assert_cmpstr (mva_assistant_model_get_name (model), ==, "model");
  image = mva_image_load (fx.image_path, 0, &error);
  g_assert_no_error (error);
  a = mva_assistant_ask (model, image, &req, on_token, &c, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (a);
  g_assert_cmpuint (a->n_tokens, ==, c.n);
  g_assert_cmpuint (a->n_tokens, <=, 10);
  g_assert_true (c.sums_ok);
  g_assert_false (c.other_thread);
  g_assert_cmpstr (a->question, ==, mva_assistant_family_question (2));
  g_assert_cmpstr (a->caption, ==, "This SEM image shows nanowires.");
  g_assert_cmpuint (a->n_patches, ==, 49);
  g_assert_cmpuint (g_strv_length (a->pieces), ==, a->n_tokens);
  /* the pieces spell the answer (valid UTF-8 throughout) */
  g_assert_cmpstr (c.text->str, ==, a->answer);
  for (guint p = 0; p < a->n_patches; p++)
    sum += a->mean_attention[p];
  g_assert_cmpfloat (fabs (sum - 1.0), <, 1e-3);
  g_assert_cmpfloat (a->ms, >=, a->first_token_ms);

  /* pointing at a byte of the answer finds its token; spans average maps */
  if (a->n_tokens > 0 && a->answer[0] != '\0')
    {
      gsize last = strlen (a->answer) - 1;
      gint t = mva_answer_token_at (a, last);
      g_autofree float *all = mva_answer_span_attention (a, 0, 0);
      g_autofree float *one = mva_answer_span_attention (a, 0, 1);

      g_assert_cmpint (t, >=, 0);
      g_assert_cmpint (t, <, (gint) a->n_tokens);
      g_assert_cmpint (mva_answer_token_at (a, last + 1), ==, -1);
      g_assert_cmpmem (all, 49 * sizeof (float), a->mean_attention, 49 * sizeof (float));
      g_assert_cmpmem (one, 49 * sizeof (float), a->attention, 49 * sizeof (float));
    }
  /* the library blob round-trips */
  {
    g_autoptr(GBytes) ab = mva_assistant_attention_blob (a);
    g_autoptr(GBytes) tb = mva_assistant_tokens_blob (a);
    g_autofree float *maps = NULL;
    guint nt = 0, np = 0;

    g_assert_true (mva_assistant_attention_from_blob (ab, tb, &nt, &np, &maps));
    g_assert_cmpuint (nt, ==, a->n_tokens);
    g_assert_cmpuint (np, ==, 49);
    g_assert_cmpmem (maps, nt * np * sizeof (float), a->attention, nt * np * sizeof (float));
  }
  {
    g_autoptr(GBytes) bad = g_bytes_new ("abcde", 5);
    g_autoptr(GBytes) tb = mva_assistant_tokens_blob (a);

    g_assert_false (mva_assistant_attention_from_blob (bad, tb, NULL, NULL, NULL));
  }

  /* bad requests */
  {
    MvaAskRequest empty = { "   ", 0, NULL, 4 };
    MvaAskRequest fam = { "x", 12, NULL, 4 };
    MvaAskRequest cat = { "x", 0, "rocks", 4 };
    MvaAnswer *none;

    none = mva_assistant_ask (model, image, &empty, NULL, NULL, NULL, &error);
    g_assert_null (none);
    g_assert_error (error, MVA_ASSISTANT_ERROR, MVA_ASSISTANT_ERROR_INVALID);
    g_clear_error (&error);
    none = mva_assistant_ask (model, image, &fam, NULL, NULL, NULL, &error);
    g_assert_null (none);
    g_assert_error (error, MVA_ASSISTANT_ERROR, MVA_ASSISTANT_ERROR_INVALID);
    g_clear_error (&error);
    none = mva_assistant_ask (model, image, &cat, NULL, NULL, NULL, &error);
    g_assert_null (none);
    g_assert_error (error, MVA_ASSISTANT_ERROR, MVA_ASSISTANT_ERROR_INVALID);
    g_clear_error (&error);
  }
  g_string_free (c.text, TRUE);
}

static void
on_ask_done (GObject *source, GAsyncResult *res, gpointer user)
{
  Collect *c = user;

  c->answer = mva_assistant_ask_finish (res, &c->error);
  c->n_at_done = c->n;
  c->done = TRUE;
}

static void
test_ask_async (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MvaAssistantModel) model = mva_assistant_model_load (fx.model_dir, 1, &error);
  MvaAskRequest req = { "What is shown?", 0, NULL, 12 };
  Collect c = { 0, g_string_new (NULL), TRUE, g_thread_self () };

  g_assert_no_error (error);
  mva_assistant_ask_async (model, fx.image_path, &req, on_token, &c, NULL, on_ask_done, &c);
  while (!c.done)
    g_main_context_iteration (NULL, TRUE);
  g_assert_no_error (c.error);
  g_assert_nonnull (c.answer);
  g_assert_false (c.other_thread);
  g_assert_cmpuint (c.n_at_done, ==, c.answer->n_tokens);
  g_assert_cmpstr (c.text->str, ==, c.answer->answer);
  mva_answer_free (c.answer);
  g_string_free (c.text, TRUE);

  /* cancelled before it starts: CANCELLED, no answer */
  {
    g_autoptr(GCancellable) cancel = g_cancellable_new ();
    Collect d = { 0, g_string_new (NULL), TRUE, g_thread_self () };

    g_cancellable_cancel (cancel);
    mva_assistant_ask_async (model, fx.image_path, &req, on_token, &d, cancel, on_ask_done, &d);
    while (!d.done)
      g_main_context_iteration (NULL, TRUE);
    g_assert_null (d.answer);
    g_assert_error (d.error, MVA_ASSISTANT_ERROR, MVA_ASSISTANT_ERROR_CANCELLED);
    g_clear_error (&d.error);
    g_string_free (d.text, TRUE);
  }
  /* a missing image fails cleanly */
  {
    Collect d = { 0, g_string_new (NULL), TRUE, g_thread_self () };
    g_autofree char *missing = g_build_filename (fx.dir, "missing.png", NULL);

    mva_assistant_ask_async (model, missing, &req, on_token, &d, NULL, on_ask_done, &d);
    while (!d.done)
      g_main_context_iteration (NULL, TRUE);
    g_assert_null (d.answer);
    g_assert_nonnull (d.error);
    g_clear_error (&d.error);
    g_string_free (d.text, TRUE);
  }
}

static void
test_classify (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MvaAssistantModel) model = mva_assistant_model_load (fx.model_dir, 1, &error);
  g_autoptr(MvaImage) image = mva_image_load (fx.image_path, 0, &error);
  g_autoptr(GArray) r = NULL;
  double sum = 0;
  guint seen = 0;

  g_assert_no_error (error);
  r = mva_assistant_classify (model, image, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (r->len, ==, MVA_ASSISTANT_N_CATEGORIES);
  for (guint i = 0; i < r->len; i++)
    {
      const MvaCategoryScore *s = &g_array_index (r, MvaCategoryScore, i);
      guint idx;

      g_assert_true (mva_assistant_category_index (s->category, &idx));
      seen |= 1u << idx;
      sum += s->score;
      if (i > 0)
        g_assert_cmpfloat (s->score, <=, g_array_index (r, MvaCategoryScore, i - 1).score);
    }
  g_assert_cmpuint (seen, ==, (1u << MVA_ASSISTANT_N_CATEGORIES) - 1);
  g_assert_cmpfloat (fabs (sum - 1.0), <, 1e-6);
}

static void
test_model_errors (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *broken = g_build_filename (fx.dir, "broken", NULL);
  g_autofree char *weights = g_build_filename (broken, "model.safetensors", NULL);
  MvaAssistantModel *m;

  m = mva_assistant_model_load (fx.dir, 1, &error);
  g_assert_null (m);
  g_assert_error (error, MVA_ASSISTANT_ERROR, MVA_ASSISTANT_ERROR_MODEL);
  g_clear_error (&error);
  g_assert_cmpint (g_mkdir_with_parents (broken, 0755), ==, 0);
  g_assert_true (g_file_set_contents (weights, "\x08\0\0\0\0\0\0\0{}", 10, NULL));
  m = mva_assistant_model_load (broken, 1, &error);
  g_assert_null (m);
  g_assert_error (error, MVA_ASSISTANT_ERROR, MVA_ASSISTANT_ERROR_MODEL);
  g_clear_error (&error);
  g_setenv ("MVAEMA_MODEL", fx.model_dir, TRUE);
  {
    g_autofree char *d = mva_assistant_default_model_dir (&error);

    g_assert_no_error (error);
    g_assert_cmpstr (d, ==, fx.model_dir);
  }
  g_setenv ("MVAEMA_MODEL", broken + 0, TRUE);
  g_unlink (weights);
  {
    g_autofree char *d = mva_assistant_default_model_dir (&error);

    g_assert_null (d);
    g_assert_error (error, MVA_ASSISTANT_ERROR, MVA_ASSISTANT_ERROR_MODEL);
    g_clear_error (&error);
  }
  g_unsetenv ("MVAEMA_MODEL");
}

static void
test_overlay (void)
{
  float map[49] = { 0 };
  g_autofree float *up = NULL;
  g_autofree float *flat = NULL;
  guint8 lo[3], hi[3], v0[3];
  g_autoptr(GError) error = NULL;
  g_autoptr(MvaImage) image = mva_image_load (fx.image_path, 0, &error);
  g_autofree char *png = g_build_filename (fx.dir, "ov.png", NULL);
  MvaOverlayOptions opts = MVA_OVERLAY_OPTIONS_INIT;
  cairo_surface_t *s;
  guint best = 0;
  float uniform[49];

  /* hot patch at row 1, column 5 -> the maximum lands in that cell */
  map[1 * 7 + 5] = 1.0f;
  up = mva_overlay_upsample (map, 7, 140, 70);
  for (guint i = 0; i < 140 * 70; i++)
    {
      g_assert_cmpfloat (up[i], >=, 0.0f);
      g_assert_cmpfloat (up[i], <=, 1.0f);
      if (up[i] > up[best])
        best = i;
    }
  g_assert_cmpuint ((best % 140) / 20, ==, 5);
  g_assert_cmpuint ((best / 140) / 10, ==, 1);
  g_assert_cmpfloat (up[best], >, 0.9f);
  g_assert_cmpfloat (up[0], <, 0.05f);
  /* uniform map: nothing stands out */
  for (guint i = 0; i < 49; i++)
    uniform[i] = 1.0f / 49;
  flat = mva_overlay_upsample (uniform, 7, 30, 30);
  for (guint i = 0; i < 900; i++)
    g_assert_cmpfloat (flat[i], ==, 0.0f);

  /* colour maps: inferno black -> pale yellow, viridis starts purple */
  mva_overlay_colormap (MVA_COLORMAP_INFERNO, 0, lo);
  mva_overlay_colormap (MVA_COLORMAP_INFERNO, 1, hi);
  mva_overlay_colormap (MVA_COLORMAP_VIRIDIS, 0, v0);
  g_assert_cmpuint (lo[0] + lo[1] + lo[2], <, 30);
  g_assert_cmpuint (hi[0], >, 230);
  g_assert_cmpuint (hi[1], >, 230);
  g_assert_cmpuint (v0[0], >, 50);
  g_assert_cmpuint (v0[2], >, 60);
  g_assert_cmpuint (v0[1], <, 20);

  /* heat map surface: transparent where cold */
  s = mva_overlay_heatmap (map, 7, 70, 70, &opts);
  g_assert_nonnull (s);
  g_assert_cmpint (cairo_image_surface_get_width (s), ==, 70);
  {
    const guint32 *px = (const guint32 *) cairo_image_surface_get_data (s);

    g_assert_cmpuint (px[0] >> 24, ==, 0);
  }
  cairo_surface_destroy (s);
  g_assert_null (mva_overlay_heatmap (map, 7, 0, 10, &opts));

  /* render keeps the data bar as it was */
  g_assert_no_error (error);
  opts.opacity = 1.0;
  opts.flat_alpha = TRUE;
  {
    g_autofree guint8 *rgba = mva_overlay_render_rgba (image, map, 7, &opts, &error);
    guint y = image->height - 2;

    g_assert_no_error (error);
    g_assert_nonnull (rgba);
    for (guint x = 0; x < image->width; x++)
      {
        const guint8 *p = rgba + ((gsize) y * image->width + x) * 4;

        g_assert_cmpuint (p[0], ==, p[1]);
        g_assert_cmpuint (p[1], ==, p[2]);
      }
  }
  g_assert_true (mva_overlay_write_png (image, map, 7, &opts, png, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_test (png, G_FILE_TEST_IS_REGULAR));
}

typedef struct
{
  guint             n_progress;
  guint             n_steps;
  guint             n_focus;         /* FOCUSING steps, each done = n_focus of a fixed total */
  guint64           focus_total;
  gboolean          other_thread;
  GThread          *thread;
  gboolean          done;
  guint             progress_at_done;
  MvaRetrainResult *result;
  GError           *error;
} RetrainWatch;

static void
on_retrain_progress (const MvaRetrainProgress *p, gpointer user)
{
  RetrainWatch *w = user;

  g_assert_false (w->done);
  if (g_thread_self () != w->thread)
    w->other_thread = TRUE;
  w->n_progress++;
  if (p->phase == MVA_RETRAIN_PHASE_TRAINING)
    {
      w->n_steps++;
      g_assert_true (isfinite (p->loss));
    }
  if (p->phase == MVA_RETRAIN_PHASE_FOCUSING)
    {
      w->n_focus++;
      g_assert_true (isfinite (p->loss));
      g_assert_cmpuint (p->done, ==, w->n_focus);
      g_assert_cmpuint (p->done, <=, p->total);
      w->focus_total = p->total;
    }
}

static void
on_retrain_done (GObject *source, GAsyncResult *res, gpointer user)
{
  RetrainWatch *w = user;

  w->result = mva_assistant_retrain_finish (res, &w->error);
  w->progress_at_done = w->n_progress;
  w->done = TRUE;
}

/* Record answers about two images, review them, retrain in the background:
 * a new version (parent = the model, not adopted) with its metrics; a
 * cancelled retrain records nothing. */
static void
test_retrain (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *db = g_build_filename (fx.dir, "lib", "library.db", NULL);
  g_autoptr(MvaStore) store = mva_store_open (db, 0, &error);
  g_autoptr(MvaAssistantModel) model = mva_assistant_model_load (fx.model_dir, 1, &error);
  g_autofree char *second = g_build_filename (fx.dir, "dots.tif", NULL);
  const char *paths[2] = { fx.image_path, second };
  const char *cats[2] = { "nanowires", "particles" };
  g_autoptr(GPtrArray) versions = NULL;
  MvaRetrainOptions o;
  RetrainWatch w = { 0 };
  gint64 qa[2], base;

  g_assert_no_error (error);
  {
    MvaSynthConfig cfg = MVA_SYNTH_CONFIG_INIT;
    g_autoptr(MvaSynthSample) s = NULL;

    cfg.width = 128;
    cfg.height = 96;
    s = mva_synth_sample_new (&cfg, MVA_SYNTH_PARTICLES, 1);
    g_assert_true (mva_synth_sample_write_tiff (s, second, &error));
  }
  for (guint i = 0; i < 2; i++)
    {
      g_autoptr(MvaImage) image = mva_image_load (paths[i], 0, &error);
      g_autoptr(MvaAnswer) a = NULL;
      MvaAskRequest req = { NULL, 3, cats[i], 6 };
      gint64 mid = mva_store_add_micrograph_file (store, paths[i], cats[i],
                                                  MVA_CATEGORY_SOURCE_USER, NULL, &error);

      g_assert_no_error (error);
      a = mva_assistant_ask (model, image, &req, NULL, NULL, NULL, &error);
      g_assert_no_error (error);
      qa[i] = mva_assistant_record_answer (store, mid, a, &error);
      g_assert_no_error (error);
      g_assert_cmpint (qa[i], >, 0);
    }
  g_assert_cmpint (mva_assistant_count_new_reviews (store, NULL), ==, 0);
  g_assert_cmpint (mva_store_add_review (store, qa[0], MVA_REVIEW_ACCEPTED, NULL, "t", &error), >, 0);
  g_assert_cmpint (mva_store_add_review (store, qa[1], MVA_REVIEW_CORRECTED,
                                         "Round particles about 50 nm across.", "t", &error), >, 0);
  g_assert_cmpint (mva_assistant_count_new_reviews (store, NULL), ==, 2);
  base = mva_assistant_model_version_for_dir (store, fx.model_dir, &error);
  g_assert_no_error (error);

  mva_retrain_options_init (&o);
  o.steps = 3;
  o.batch = 2;
  o.threads = 1;
  o.focus_rounds = 0; /* the step count below is the main run's (test-assistant-correction.sh
                       * covers the focus rounds) */
  o.device = "cuda";  /* not available (main() hides the module): trains on the CPU, says why */
  w.thread = g_thread_self ();
  mva_assistant_retrain_async (store, &o, on_retrain_progress, &w, NULL, on_retrain_done, &w);
  while (!w.done)
    g_main_context_iteration (NULL, TRUE);
  g_assert_no_error (w.error);
  g_assert_nonnull (w.result);
  g_assert_false (w.other_thread);
  g_assert_cmpuint (w.n_steps, ==, 3);
  g_assert_cmpuint (w.progress_at_done, ==, w.n_progress);
  g_assert_cmpuint (w.result->n_reviewed, ==, 2);
  g_assert_cmpuint (w.result->n_corrected, ==, 1);
  g_assert_cmpuint (w.result->focus_rounds, ==, 0);
  g_assert_cmpstr (w.result->device, ==, "cpu");
  g_assert_nonnull (w.result->device_note);
  g_assert_true (g_str_has_prefix (w.result->device_note, "CUDA is not available ("));
  {
    g_autofree char *log = g_build_filename (w.result->model_dir, "train-log.json", NULL);
    g_autofree char *text = NULL;

    g_assert_true (g_file_get_contents (log, &text, NULL, NULL));
    g_assert_nonnull (strstr (text, "\"device\" : \"cpu\""));
    g_assert_nonnull (strstr (text, "\"device_note\" : \"CUDA is not available ("));
  }
  g_assert_true (w.result->heldout_is_train);
  g_assert_cmpint (w.result->base_version_id, ==, base);
  {
    g_autoptr(MvaModelVersion) mv = mva_store_get_model_version (store, w.result->model_version_id, &error);
    g_autofree char *data = g_build_filename (w.result->model_dir, "data", "qa.jsonl", NULL);
    g_autofree char *text = NULL;

    g_assert_no_error (error);
    g_assert_false (mv->adopted);
    g_assert_cmpint (mv->parent_id, ==, base);
    g_assert_nonnull (mv->metrics_json);
    g_assert_true (g_file_get_contents (data, &text, NULL, NULL));
    g_assert_nonnull (strstr (text, "Round particles about 50 nm across."));
    /* a correction comes correction_repeat (3) times */
    {
      const char *t = text;
      guint n = 0;

      while ((t = strstr (t, "Round particles about 50 nm across.")) != NULL)
        n++, t++;
      g_assert_cmpuint (n, ==, 3);
    }
  }
  g_assert_true (mva_assistant_adopt (store, w.result->model_version_id, &error));
  {
    g_autofree char *cur = mva_assistant_current_model_dir (store, &error);

    g_assert_cmpstr (cur, ==, w.result->model_dir);
  }
  {
    gint64 back = 0;

    g_assert_true (mva_assistant_rollback (store, &back, &error));
    g_assert_cmpint (back, ==, base);
  }
  g_assert_true (mva_assistant_discard (store, w.result->model_version_id, &error));
  g_assert_false (g_file_test (w.result->model_dir, G_FILE_TEST_EXISTS));
  mva_retrain_result_free (w.result);

  /* with focus rounds: 3 steps cannot teach the tiny model the correction, so
   * a focus round follows, capped by twice the main run's 3 x 2 pairs: 6
   * steps of the correction and one replay partner */
  {
    RetrainWatch fw = { 0 };

    o.focus_rounds = 4;
    fw.thread = g_thread_self ();
    mva_assistant_retrain_async (store, &o, on_retrain_progress, &fw, NULL, on_retrain_done, &fw);
    while (!fw.done)
      g_main_context_iteration (NULL, TRUE);
    g_assert_no_error (fw.error);
    g_assert_nonnull (fw.result);
    g_assert_cmpuint (fw.n_steps, ==, 3);
    g_assert_cmpuint (fw.result->n_corrected, ==, 1);
    g_assert_cmpuint (fw.result->focus_rounds, ==, 1);
    g_assert_cmpuint (fw.n_focus, ==, 6);
    g_assert_cmpuint (fw.focus_total, ==, 6);
    g_assert_true (mva_assistant_discard (store, fw.result->model_version_id, &error));
    g_assert_false (g_file_test (fw.result->model_dir, G_FILE_TEST_EXISTS));
    {
      g_autofree char *focus = g_build_filename (fw.result->model_dir, "focus", NULL);

      g_assert_false (g_file_test (focus, G_FILE_TEST_EXISTS));
    }
    mva_retrain_result_free (fw.result);
  }

  /* cancelled: nothing recorded */
  versions = mva_store_list_model_versions (store, &error);
  {
    g_autoptr(GCancellable) cancel = g_cancellable_new ();
    g_autoptr(GPtrArray) after = NULL;
    RetrainWatch c = { 0 };

    c.thread = g_thread_self ();
    g_cancellable_cancel (cancel);
    mva_assistant_retrain_async (store, &o, on_retrain_progress, &c, cancel, on_retrain_done, &c);
    while (!c.done)
      g_main_context_iteration (NULL, TRUE);
    g_assert_null (c.result);
    g_assert_error (c.error, MVA_ASSISTANT_ERROR, MVA_ASSISTANT_ERROR_CANCELLED);
    g_clear_error (&c.error);
    after = mva_store_list_model_versions (store, &error);
    g_assert_cmpuint (after->len, ==, versions->len);
  }
}

/* Device preferences with the CUDA module hidden (main() points
 * MVAEMA_CUDA_MODULE at a missing file): the CPU, with a note or an error. */
static void
test_device (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *note = NULL;
  MvaDevice dev = MVA_DEVICE_CUDA;

  g_assert_true (mva_device_resolve ("cpu", TRUE, &dev, &note, &error));
  g_assert_no_error (error);
  g_assert_cmpint (dev, ==, MVA_DEVICE_CPU);
  g_assert_null (note);
  for (guint i = 0; i < 3; i++)
    {
      const char *pref = i == 0 ? "cuda" : i == 1 ? "auto" : NULL;

      dev = MVA_DEVICE_CUDA;
      g_assert_true (mva_device_resolve (pref, FALSE, &dev, &note, &error));
      g_assert_no_error (error);
      g_assert_cmpint (dev, ==, MVA_DEVICE_CPU);
      g_assert_nonnull (note);
      g_test_message ("%s: %s", pref ? pref : "(default)", note);
      g_assert_true (g_str_has_prefix (note, "CUDA is not available ("));
      g_assert_true (g_str_has_suffix (note, "); using the CPU"));
      g_assert_null (strchr (note, '\n'));
      g_clear_pointer (&note, g_free);
    }
  /* asked for by name (strict): an error; auto stays a fallback */
  g_assert_false (mva_device_resolve ("cuda", TRUE, &dev, &note, &error));
  g_assert_error (error, MVA_DEVICE_ERROR, MVA_DEVICE_ERROR_UNAVAILABLE);
  g_assert_null (note);
  g_clear_error (&error);
  g_assert_true (mva_device_resolve ("auto", TRUE, &dev, &note, &error));
  g_assert_cmpint (dev, ==, MVA_DEVICE_CPU);
  g_assert_nonnull (note);
  g_clear_pointer (&note, g_free);
  g_assert_false (mva_device_resolve ("tpu", FALSE, &dev, &note, &error));
  g_assert_error (error, MVA_DEVICE_ERROR, MVA_DEVICE_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_cmpstr (mva_device_name (MVA_DEVICE_CPU), ==, "cpu");
  g_assert_cmpstr (mva_device_name (MVA_DEVICE_CUDA), ==, "cuda");
}

static void
rm_rf (const char *path)
{
  g_autoptr(GDir) d = g_dir_open (path, 0, NULL);
  const char *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR))
        rm_rf (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

/* The sentences the metadata/measurement rules replaced, as byte ranges of
 * the generated text (the Ask panel strikes them through). */
static void
test_superseded (void)
{
  MvaAnswer a = { 0 };
  g_autoptr(GArray) same = NULL, gone = NULL;
  const char *gen = "The particles span 15 nm to 14 nm. They are scattered. Each is 2 µm wide.";

  a.generated = (char *) gen;
  a.answer = (char *) gen;
  same = mva_answer_superseded_ranges (&a);
  g_assert_cmpuint (same->len, ==, 0);
  a.answer = (char *) "Measured on the image, the typical particle diameter is about 48 nm. They are scattered.";
  gone = mva_answer_superseded_ranges (&a);
  g_assert_cmpuint (gone->len, ==, 4);
  g_assert_cmpuint (g_array_index (gone, gsize, 0), ==, 0);
  g_assert_cmpuint (g_array_index (gone, gsize, 1), ==, strlen ("The particles span 15 nm to 14 nm."));
  g_assert_true (g_str_has_prefix (gen + g_array_index (gone, gsize, 2), "Each is 2 µm wide."));
  g_assert_cmpuint (g_array_index (gone, gsize, 3), ==, strlen (gen));

  /* family 10: a length replaced in place; only the length (with its
   * spread) is superseded, the rest of the sentence stands */
  {
    g_autoptr(GArray) spans = NULL;
    const char *gen10 = "Nanoparticles of about 51 ± 4 nm are typical of catalysts. It is real.";
    g_autofree char *len = mva_assistant_format_length (48.0);
    g_autofree char *ans10 = g_strdup_printf ("Nanoparticles of about %s are typical of catalysts. It is real.", len);

    a.family = 10;
    a.size_measured = TRUE;
    a.size_nm = 48.0;
    a.size_px = 12.0;
    a.generated = (char *) gen10;
    a.answer = ans10;
    spans = mva_answer_superseded_ranges (&a);
    g_assert_cmpuint (spans->len, ==, 2);
    g_assert_cmpuint (g_array_index (spans, gsize, 0), ==, strlen ("Nanoparticles of about "));
    g_assert_cmpuint (g_array_index (spans, gsize, 1), ==, strlen ("Nanoparticles of about 51 ± 4 nm"));
  }
}

int
main (int argc, char **argv)
{
  int rc;

  g_test_init (&argc, &argv, NULL);
  /* no CUDA module here, whatever the machine: the fallback path is tested */
  g_setenv ("MVAEMA_CUDA_MODULE", "/nonexistent/libmvaema-cuda.so", TRUE);
  fx.dir = g_dir_make_tmp ("mva-assistant-XXXXXX", NULL);
  g_assert_nonnull (fx.dir);
  make_model ();
  make_image ();
  g_test_add_func ("/assistant/model-errors", test_model_errors);
  g_test_add_func ("/assistant/presets", test_presets);
  g_test_add_func ("/assistant/superseded", test_superseded);
  g_test_add_func ("/assistant/ask", test_ask_blocking);
  g_test_add_func ("/assistant/ask-async", test_ask_async);
  g_test_add_func ("/assistant/classify", test_classify);
  g_test_add_func ("/assistant/overlay", test_overlay);
  g_test_add_func ("/assistant/retrain", test_retrain);
  g_test_add_func ("/assistant/device", test_device);
  rc = g_test_run ();
  rm_rf (fx.dir);
  g_free (fx.dir);
  g_free (fx.model_dir);
  g_free (fx.image_path);
  return rc;
}
