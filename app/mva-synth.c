/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-synth.c: samples (scene -> pixels + params + Q/A) and the data-set
 * driver (worker pool, qa.jsonl, labels.csv, contact sheet).
 *
 * Determinism: a sample is a pure function of (config, category, index); the
 * per-image RNG is seeded from (seed, category, index) and the driver writes
 * qa.jsonl and labels.csv in (category, index) order after the workers finish,
 * so output bytes do not depend on the number of threads or on scheduling.
 */
#define G_LOG_DOMAIN "mva-synth"
#include "config.h"

#include <cairo.h>
#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>

#include "mva-synth-private.h"

struct _MvaSynthSample
{
  MvaSynthCategory category;
  guint       index;
  guint       width;
  guint       total_height;
  guint       image_height;
  double      pixel_nm;
  guint8     *pixels;
  JsonObject *params;
  char       *fei_text;
  MvaSynthQa  qa[MVA_SYNTH_N_FAMILIES];
};

static const char *const category_names[MVA_SYNTH_N_CATEGORIES] = {
  "biological", "fibres", "films", "mems", "nanowires",
  "particles", "patterned", "porous", "powder", "tips",
};

static const char *const family_names[MVA_SYNTH_N_FAMILIES] = {
  "Basics", "Morphology and structure", "Size and distribution", "Surface characteristics",
  "Composition and elements", "Interactions and boundaries", "External environment",
  "Imaging technique and modifications", "Functional features", "Context and application",
};

G_DEFINE_QUARK (mva-synth-error-quark, mva_synth_error)

const char *
mva_synth_category_name (MvaSynthCategory category)
{
  g_return_val_if_fail (category < MVA_SYNTH_N_CATEGORIES, NULL);
  return category_names[category];
}

gboolean
mva_synth_category_from_name (const char *name, MvaSynthCategory *out)
{
  for (int i = 0; i < MVA_SYNTH_N_CATEGORIES; i++)
    if (g_strcmp0 (name, category_names[i]) == 0)
      {
        *out = (MvaSynthCategory) i;
        return TRUE;
      }
  return FALSE;
}

const char *
mva_synth_family_name (guint family)
{
  g_return_val_if_fail (family >= 1 && family <= MVA_SYNTH_N_FAMILIES, NULL);
  return family_names[family - 1];
}

gboolean
mva_synth_config_check (const MvaSynthConfig *config, GError **error)
{
  if (config->width < 64 || config->height < 64 || config->width > 8192 || config->height > 8192)
    {
      g_set_error (error, MVA_SYNTH_ERROR, MVA_SYNTH_ERROR_INVALID,
                   "image size %ux%u is out of range (64 to 8192 pixels per side)",
                   config->width, config->height);
      return FALSE;
    }
  if (!(config->caption_prob >= 0.0 && config->caption_prob <= 1.0))
    {
      g_set_error (error, MVA_SYNTH_ERROR, MVA_SYNTH_ERROR_INVALID,
                   "caption probability %g is not between 0 and 1", config->caption_prob);
      return FALSE;
    }
  return TRUE;
}

// --- one sample ------------------------------------------------------------------

static void
add_common_params (MvaSynthScene *sc, const MvaSynthConfig *config, int bar_h)
{
  const MvaSynthLook *lk = &sc->look;

  _mva_synth_param_string (sc, "category", category_names[sc->category]);
  _mva_synth_param_int (sc, "index", sc->index);
  _mva_synth_param_int (sc, "width", sc->w);
  _mva_synth_param_int (sc, "height", sc->h);
  _mva_synth_param_double (sc, "pixel_size_nm", sc->pixel_nm, 4);
  _mva_synth_param_double (sc, "field_of_view_um", sc->pixel_nm * sc->w / 1000.0, 4);
  _mva_synth_param_double (sc, "field_of_view_height_um", sc->pixel_nm * sc->h / 1000.0, 4);
  _mva_synth_param_double (sc, "magnification", _mva_synth_magnification (sc->pixel_nm, sc->w), 0);
  _mva_synth_param_double (sc, "hv_kv", lk->hv_kv, 2);
  _mva_synth_param_double (sc, "wd_mm", lk->wd_mm, 2);
  _mva_synth_param_string (sc, "detector", lk->detector);
  _mva_synth_param_string (sc, "signal", lk->mode);
  _mva_synth_param_double (sc, "tilt_deg", lk->tilt_deg, 1);
  _mva_synth_param_bool (sc, "databar", config->databar);
  _mva_synth_param_int (sc, "databar_height_px", bar_h);
  _mva_synth_param_bool (sc, "charging", sc->charged);
  _mva_synth_param_double (sc, "probe_blur_px", lk->blur, 2);
  _mva_synth_param_int (sc, "debris", sc->facts.debris);
  _mva_synth_param_string (sc, "technique", "SEM");
  _mva_synth_param_bool (sc, "synthetic", TRUE);
}

MvaSynthSample *
mva_synth_sample_new (const MvaSynthConfig *config,
                      MvaSynthCategory      category,
                      guint                 index)
{
  MvaSynthSample *s;
  MvaSynthScene sc;
  MvaSynthInstrument ins;
  g_autoptr(JsonNode) root = NULL;
  int bar_h;
  double charge_sum = 0;

  g_return_val_if_fail (config != NULL, NULL);
  g_return_val_if_fail (category < MVA_SYNTH_N_CATEGORIES, NULL);
  g_return_val_if_fail (mva_synth_config_check (config, NULL), NULL);

  _mva_synth_scene_init (&sc, category, index, (int) config->width, (int) config->height,
                         config->seed);
  _mva_synth_recipe_build (&sc);
  if (sc.look.charging > 0 || sc.look.streaks > 0)
    {
      for (gsize i = 0; i < (gsize) sc.w * sc.h; i++)
        charge_sum += sc.charge[i];
      sc.charged = charge_sum > 0.01 * sc.w * sc.h;
    }
  if (!sc.charged)
    sc.look.charging = sc.look.streaks = 0;

  s = g_new0 (MvaSynthSample, 1);
  s->category = category;
  s->index = index;
  s->width = config->width;
  s->image_height = config->height;
  s->pixel_nm = sc.pixel_nm;
  bar_h = config->databar ? _mva_synth_databar_height (sc.w) : 0;
  s->total_height = config->height + bar_h;

  _mva_synth_qa_write (&sc, config->databar, config->caption_prob, s->qa);
  add_common_params (&sc, config, bar_h);

  s->pixels = g_new0 (guint8, (gsize) s->width * s->total_height);
  _mva_synth_render (&sc, s->pixels);

  ins.pixel_nm = sc.pixel_nm;
  ins.width = sc.w;
  ins.height = sc.h;
  ins.look = &sc.look;
  ins.label = category_names[category];
  if (bar_h > 0)
    _mva_synth_databar_draw (s->pixels, sc.w, sc.h, bar_h, &ins);
  s->fei_text = _mva_synth_fei_text (&ins, bar_h);

  json_builder_end_object (sc.params);
  root = json_builder_get_root (sc.params);
  s->params = json_object_ref (json_node_get_object (root));
  _mva_synth_scene_clear (&sc);
  return s;
}

void
mva_synth_sample_free (MvaSynthSample *s)
{
  if (s == NULL)
    return;
  g_free (s->pixels);
  g_clear_pointer (&s->params, json_object_unref);
  g_free (s->fei_text);
  for (int i = 0; i < MVA_SYNTH_N_FAMILIES; i++)
    {
      g_free (s->qa[i].question);
      g_free (s->qa[i].answer);
      g_free (s->qa[i].caption);
    }
  g_free (s);
}

const guint8 *
mva_synth_sample_get_pixels (MvaSynthSample *s, guint *width, guint *total_height,
                             guint *image_height)
{
  g_return_val_if_fail (s != NULL, NULL);
  if (width)
    *width = s->width;
  if (total_height)
    *total_height = s->total_height;
  if (image_height)
    *image_height = s->image_height;
  return s->pixels;
}

MvaSynthCategory
mva_synth_sample_get_category (MvaSynthSample *s)
{
  return s->category;
}

JsonObject *
mva_synth_sample_get_params (MvaSynthSample *s)
{
  return s->params;
}

const char *
mva_synth_sample_get_question (MvaSynthSample *s, guint family)
{
  g_return_val_if_fail (family >= 1 && family <= MVA_SYNTH_N_FAMILIES, NULL);
  return s->qa[family - 1].question;
}

const char *
mva_synth_sample_get_answer (MvaSynthSample *s, guint family)
{
  g_return_val_if_fail (family >= 1 && family <= MVA_SYNTH_N_FAMILIES, NULL);
  return s->qa[family - 1].answer;
}

const char *
mva_synth_sample_get_caption (MvaSynthSample *s, guint family)
{
  g_return_val_if_fail (family >= 1 && family <= MVA_SYNTH_N_FAMILIES, NULL);
  return s->qa[family - 1].caption;
}

const char *
mva_synth_sample_get_fei_text (MvaSynthSample *s)
{
  return s->fei_text;
}

gboolean
mva_synth_sample_write_tiff (MvaSynthSample *s, const char *path, GError **error)
{
  return _mva_synth_tiff_write (path, s->pixels, (int) s->width, (int) s->total_height,
                                s->fei_text, s->pixel_nm, error);
}

// --- data set ------------------------------------------------------------------------

#define SHEET_COLS 6
#define THUMB_BOX 256 /* thumbnails fit a 256 x 256 box */

typedef struct
{
  const MvaSynthConfig *config;
  const char *out_dir;
  guint       per_class;
  guint       total;
  guint       cols;
  guint       thumb_w;
  guint       thumb_h;
  GMutex      lock;
  GCond       cond;
  guint       finished;       /* tasks done or skipped */
  guint       generated;      /* images written */
  gint        stop;           /* atomic: cancelled or failed */
  GError     *error;          /* first failure, under lock */
  char      **lines;          /* per task: its qa.jsonl lines, NULL if not done */
  guint8    **thumbs;         /* per (category, column) */
} Job;

static char *
image_rel_path (MvaSynthCategory c, guint index)
{
  return g_strdup_printf ("%s/%s-%04u.tif", category_names[c], category_names[c], index);
}

static char *
sample_lines (MvaSynthSample *s, const char *rel)
{
  GString *out = g_string_new (NULL);
  g_autoptr(JsonGenerator) gen = json_generator_new ();

  for (int f = 1; f <= MVA_SYNTH_N_FAMILIES; f++)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      g_autoptr(JsonNode) root = NULL;
      g_autofree char *text = NULL;
      const MvaSynthQa *q = &s->qa[f - 1];

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "image");
      json_builder_add_string_value (b, rel);
      json_builder_set_member_name (b, "category");
      json_builder_add_string_value (b, category_names[s->category]);
      json_builder_set_member_name (b, "family");
      json_builder_add_int_value (b, f);
      json_builder_set_member_name (b, "question");
      json_builder_add_string_value (b, q->question);
      json_builder_set_member_name (b, "answer");
      json_builder_add_string_value (b, q->answer);
      json_builder_set_member_name (b, "params");
      json_builder_add_value (b, json_node_init_object (json_node_alloc (), s->params));
      json_builder_set_member_name (b, "caption");
      if (q->caption)
        json_builder_add_string_value (b, q->caption);
      else
        json_builder_add_null_value (b);
      json_builder_end_object (b);
      root = json_builder_get_root (b);
      json_generator_set_root (gen, root);
      text = json_generator_to_data (gen, NULL);
      g_string_append (out, text);
      g_string_append_c (out, '\n');
    }
  return g_string_free (out, FALSE);
}

static guint8 *
make_thumb (MvaSynthSample *s, guint tw, guint th)
{
  guint8 *t = g_new (guint8, (gsize) tw * th);
  double fx = (double) s->width / tw, fy = (double) s->total_height / th;

  for (guint y = 0; y < th; y++)
    for (guint x = 0; x < tw; x++)
      {
        guint x0 = (guint) (x * fx), x1 = MAX (x0 + 1, (guint) ((x + 1) * fx));
        guint y0 = (guint) (y * fy), y1 = MAX (y0 + 1, (guint) ((y + 1) * fy));
        guint sum = 0, n = 0;
        x1 = MIN (x1, s->width);
        y1 = MIN (y1, s->total_height);
        for (guint yy = y0; yy < y1; yy++)
          for (guint xx = x0; xx < x1; xx++)
            {
              sum += s->pixels[(gsize) yy * s->width + xx];
              n++;
            }
        t[(gsize) y * tw + x] = (guint8) (n ? sum / n : 0);
      }
  return t;
}

static void
worker (gpointer data, gpointer user_data)
{
  Job *job = user_data;
  guint task = GPOINTER_TO_UINT (data) - 1;
  MvaSynthCategory c = (MvaSynthCategory) (task / job->per_class);
  guint index = task % job->per_class;
  g_autoptr(MvaSynthSample) s = NULL;
  g_autofree char *rel = NULL, *path = NULL, *lines = NULL;
  g_autoptr(GError) error = NULL;
  guint8 *thumb = NULL;

  if (g_atomic_int_get (&job->stop))
    goto done;
  s = mva_synth_sample_new (job->config, c, index);
  rel = image_rel_path (c, index);
  path = g_build_filename (job->out_dir, rel, NULL);
  if (!mva_synth_sample_write_tiff (s, path, &error))
    {
      g_mutex_lock (&job->lock);
      if (job->error == NULL)
        job->error = g_steal_pointer (&error);
      g_mutex_unlock (&job->lock);
      g_atomic_int_set (&job->stop, 1);
      goto done;
    }
  lines = sample_lines (s, rel);
  if (index < job->cols)
    thumb = make_thumb (s, job->thumb_w, job->thumb_h);

done:
  g_mutex_lock (&job->lock);
  if (lines != NULL)
    job->generated++;
  job->lines[task] = g_steal_pointer (&lines);
  if (thumb)
    job->thumbs[c * job->cols + index] = thumb;
  job->finished++;
  g_cond_signal (&job->cond);
  g_mutex_unlock (&job->lock);
}

static gboolean
write_sheet (Job *job, const char *path, GError **error)
{
  int label_w = 150, pad = 6;
  int cw = (int) job->thumb_w + pad, ch = (int) job->thumb_h + pad;
  int W = label_w + (int) job->cols * cw + pad, H = MVA_SYNTH_N_CATEGORIES * ch + pad;
  cairo_surface_t *surf = cairo_image_surface_create (CAIRO_FORMAT_RGB24, W, H);
  cairo_t *cr = cairo_create (surf);
  cairo_status_t st;
  unsigned char *data;
  int stride;

  if (cairo_surface_status (surf) != CAIRO_STATUS_SUCCESS)
    {
      g_set_error (error, MVA_SYNTH_ERROR, MVA_SYNTH_ERROR_IO, "cannot make a %dx%d contact sheet: %s",
                   W, H, cairo_status_to_string (cairo_surface_status (surf)));
      cairo_destroy (cr);
      cairo_surface_destroy (surf);
      return FALSE;
    }
  cairo_set_source_rgb (cr, 0.12, 0.12, 0.12);
  cairo_paint (cr);
  cairo_surface_flush (surf);
  data = cairo_image_surface_get_data (surf);
  stride = cairo_image_surface_get_stride (surf);
  for (int c = 0; c < MVA_SYNTH_N_CATEGORIES; c++)
    for (guint k = 0; k < job->cols; k++)
      {
        const guint8 *t = job->thumbs[c * job->cols + k];
        int ox = label_w + (int) k * cw, oy = pad + c * ch;
        if (t == NULL)
          continue;
        for (guint y = 0; y < job->thumb_h; y++)
          {
            guint32 *row = (guint32 *) (gpointer) (data + (gsize) (oy + y) * stride) + ox;
            for (guint x = 0; x < job->thumb_w; x++)
              {
                guint32 v = t[(gsize) y * job->thumb_w + x];
                row[x] = (v << 16) | (v << 8) | v;
              }
          }
      }
  cairo_surface_mark_dirty (surf);
  cairo_select_font_face (cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
  cairo_set_font_size (cr, 18);
  cairo_set_source_rgb (cr, 1, 1, 1);
  for (int c = 0; c < MVA_SYNTH_N_CATEGORIES; c++)
    {
      cairo_move_to (cr, 10, pad + c * ch + job->thumb_h / 2.0 + 6);
      cairo_show_text (cr, category_names[c]);
    }
  cairo_destroy (cr);
  st = cairo_surface_write_to_png (surf, path);
  cairo_surface_destroy (surf);
  if (st != CAIRO_STATUS_SUCCESS)
    {
      g_set_error (error, MVA_SYNTH_ERROR, MVA_SYNTH_ERROR_IO, "cannot write contact sheet %s: %s",
                   path, cairo_status_to_string (st));
      return FALSE;
    }
  return TRUE;
}

gboolean
mva_synth_generate (const MvaSynthConfig *config,
                    const char           *out_dir,
                    guint                 per_class,
                    guint                 threads,
                    const char           *contact_sheet,
                    GCancellable         *cancellable,
                    MvaSynthProgressFunc  progress,
                    gpointer              user_data,
                    guint                *n_written,
                    GError              **error)
{
  Job job = { 0 };
  GThreadPool *pool;
  GString *qa, *labels;
  g_autofree char *qa_path = NULL, *labels_path = NULL;
  guint written = 0, last_reported = G_MAXUINT;
  gboolean ok = TRUE;
  gint64 last_time = 0;

  g_return_val_if_fail (config != NULL && out_dir != NULL, FALSE);
  if (n_written)
    *n_written = 0;
  if (!mva_synth_config_check (config, error))
    return FALSE;
  if (per_class == 0 || per_class > 1000000)
    {
      g_set_error (error, MVA_SYNTH_ERROR, MVA_SYNTH_ERROR_INVALID,
                   "images per class must be between 1 and 1000000, not %u", per_class);
      return FALSE;
    }
  if (g_file_test (out_dir, G_FILE_TEST_EXISTS) && !g_file_test (out_dir, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, MVA_SYNTH_ERROR, MVA_SYNTH_ERROR_IO, "%s exists and is not a directory",
                   out_dir);
      return FALSE;
    }
  for (int c = 0; c < MVA_SYNTH_N_CATEGORIES; c++)
    {
      g_autofree char *d = g_build_filename (out_dir, category_names[c], NULL);
      if (g_mkdir_with_parents (d, 0755) != 0)
        {
          int e = errno;
          g_set_error (error, MVA_SYNTH_ERROR, MVA_SYNTH_ERROR_IO, "cannot create %s: %s", d,
                       g_strerror (e));
          return FALSE;
        }
    }
  if (threads == 0)
    threads = g_get_num_processors ();

  job.config = config;
  job.out_dir = out_dir;
  job.per_class = per_class;
  job.total = per_class * MVA_SYNTH_N_CATEGORIES;
  job.cols = MIN (per_class, SHEET_COLS);
  {
    double th = config->height + (config->databar ? _mva_synth_databar_height ((int) config->width) : 0);
    double f = MIN (THUMB_BOX / (double) config->width, THUMB_BOX / th);
    job.thumb_w = MAX (1u, (guint) (config->width * f + 0.5));
    job.thumb_h = MAX (1u, (guint) (th * f + 0.5));
  }
  job.lines = g_new0 (char *, job.total);
  job.thumbs = g_new0 (guint8 *, MVA_SYNTH_N_CATEGORIES * job.cols);
  g_mutex_init (&job.lock);
  g_cond_init (&job.cond);

  pool = g_thread_pool_new (worker, &job, (int) threads, TRUE, NULL);
  for (guint t = 0; t < job.total; t++)
    g_thread_pool_push (pool, GUINT_TO_POINTER (t + 1), NULL);

  g_mutex_lock (&job.lock);
  while (job.finished < job.total)
    {
      gint64 now = g_get_monotonic_time ();
      guint done = job.generated;

      if (cancellable && g_cancellable_is_cancelled (cancellable))
        g_atomic_int_set (&job.stop, 1);
      if (progress && done != last_reported && now - last_time > 250000)
        {
          last_reported = done;
          last_time = now;
          g_mutex_unlock (&job.lock);
          progress (done, job.total, user_data);
          g_mutex_lock (&job.lock);
          continue;
        }
      g_cond_wait_until (&job.cond, &job.lock, now + 100000);
    }
  g_mutex_unlock (&job.lock);
  g_thread_pool_free (pool, FALSE, TRUE);
  if (progress)
    progress (job.generated, job.total, user_data);

  qa = g_string_new (NULL);
  labels = g_string_new ("image,category\n");
  for (guint t = 0; t < job.total; t++)
    if (job.lines[t] != NULL)
      {
        g_autofree char *rel = image_rel_path ((MvaSynthCategory) (t / per_class), t % per_class);
        g_string_append (qa, job.lines[t]);
        g_string_append_printf (labels, "%s,%s\n", rel, category_names[t / per_class]);
        written++;
      }
  qa_path = g_build_filename (out_dir, "qa.jsonl", NULL);
  labels_path = g_build_filename (out_dir, "labels.csv", NULL);
  if (job.error != NULL)
    {
      g_propagate_error (error, job.error);
      job.error = NULL;
      ok = FALSE;
    }
  if (ok && (!g_file_set_contents (qa_path, qa->str, (gssize) qa->len, error) ||
             !g_file_set_contents (labels_path, labels->str, (gssize) labels->len, error)))
    ok = FALSE;
  if (ok && g_atomic_int_get (&job.stop))
    {
      g_set_error (error, MVA_SYNTH_ERROR, MVA_SYNTH_ERROR_CANCELLED,
                   "cancelled after %u of %u images", written, job.total);
      ok = FALSE;
    }
  if (ok && contact_sheet != NULL && !write_sheet (&job, contact_sheet, error))
    ok = FALSE;

  g_string_free (qa, TRUE);
  g_string_free (labels, TRUE);
  for (guint t = 0; t < job.total; t++)
    g_free (job.lines[t]);
  g_free (job.lines);
  for (guint i = 0; i < MVA_SYNTH_N_CATEGORIES * job.cols; i++)
    g_free (job.thumbs[i]);
  g_free (job.thumbs);
  g_mutex_clear (&job.lock);
  g_cond_clear (&job.cond);
  if (n_written)
    *n_written = written;
  return ok;
}
