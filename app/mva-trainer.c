/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-trainer.c: data sets and training runs on top of the engine (see
 * mva-trainer.h). GLib, no GTK.
 *
 * Batches: each epoch shuffles the training pairs (GRand seeded from the run's
 * seed) and fills batches with pairs of distinct images, so the contrastive
 * (ITC) and matching (ITM) losses never treat another answer about the same
 * image as a negative; a pair whose image is already in the batch waits for
 * the next one. The pairs left at an epoch's end often share a few images;
 * rather than train a step on a tiny batch (an easy ITC, a dip in the loss
 * curve), a batch smaller than half the batch size ends the epoch and its
 * pairs open the next one (MvaBatcher, mva-trainer-private.h).
 * Questions start with the image's caption with probability caption_prob.
 */
#define G_LOG_DOMAIN "mva-trainer"
#include "config.h"

#include "mva-trainer.h"
#include "mva-trainer-private.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include "mva-device.h"
#include "mva-image.h"
#include "mva-preprocess.h"
#include "mve-backend.h"
#include "mve-device.h"
#include "mve-tokenizer.h"
#include "mve.h"

G_DEFINE_QUARK (mva-trainer-error-quark, mva_trainer_error)

/* --- data set ---------------------------------------------------------------- */

static void
qa_pair_clear (gpointer data)
{
  MvaQaPair *p = data;

  g_free (p->category);
  g_free (p->question);
  g_free (p->caption);
  g_free (p->answer);
}

void
mva_dataset_free (MvaDataset *ds)
{
  if (ds == NULL)
    return;
  for (guint i = 0; i < ds->n_images; i++)
    {
      g_free (ds->image_paths[i]);
      g_free (ds->pixels[i]);
    }
  g_free (ds->image_paths);
  g_free (ds->pixels);
  g_free (ds->channels);
  g_clear_pointer (&ds->index, g_hash_table_unref);
  g_clear_pointer (&ds->pairs, g_array_unref);
  g_free (ds->dir);
  g_free (ds);
}

static const char *
member_string (JsonObject *o, const char *name)
{
  JsonNode *n = json_object_get_member (o, name);

  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (n);
}

typedef struct
{
  MvaDataset *ds;
  gint        next;      /* atomic */
  gint        done;      /* atomic */
  GMutex      lock;
  GError     *error;     /* first failure */
  GCancellable *cancellable;
} LoadJob;

static gpointer
load_worker (gpointer data)
{
  LoadJob *job = data;

  for (;;)
    {
      gint i = g_atomic_int_add (&job->next, 1);
      g_autoptr(GError) local = NULL;
      g_autoptr(MvaImage) img = NULL;
      guint8 *px = NULL;
      gboolean stop;

      if (i >= (gint) job->ds->n_images)
        break;
      g_mutex_lock (&job->lock);
      stop = job->error != NULL;
      g_mutex_unlock (&job->lock);
      if (stop || g_cancellable_is_cancelled (job->cancellable))
        break;
      img = mva_image_load (job->ds->image_paths[i], 0, &local);
      if (img != NULL)
        px = mva_preprocess_rgb8 (img, job->ds->size, &local);
      if (px == NULL)
        {
          g_mutex_lock (&job->lock);
          if (job->error == NULL)
            job->error = g_error_new (MVA_TRAINER_ERROR, MVA_TRAINER_ERROR_DATA, "%s",
                                      local->message);
          g_mutex_unlock (&job->lock);
          break;
        }
      /* RGB8 always: callers (eval) read pixels[i] as size*size*3; a gray
       * image could be kept once (a third of the memory) once every caller
       * goes through mva_dataset_image_floats */
      job->ds->channels[i] = 3;
      job->ds->pixels[i] = px;
      g_atomic_int_inc (&job->done);
    }
  return NULL;
}

MvaDataset *
mva_dataset_new (const char *dir,
                 guint       size)
{
  MvaDataset *ds;

  g_return_val_if_fail (size > 0, NULL);
  ds = g_new0 (MvaDataset, 1);
  ds->dir = dir ? g_canonicalize_filename (dir, NULL) : NULL; /* relative to the cwd */
  ds->size = size;
  ds->pairs = g_array_new (FALSE, TRUE, sizeof (MvaQaPair));
  g_array_set_clear_func (ds->pairs, qa_pair_clear);
  ds->index = g_hash_table_new (g_str_hash, g_str_equal);
  ds->image_paths = g_new0 (char *, 1);
  ds->pixels = g_new0 (guint8 *, 1);
  ds->channels = g_new0 (guint8, 1);
  return ds;
}

static guint
mva_dataset_add_image (MvaDataset *ds,
                       const char *image)
{
  /* canonical, so "./a.png" and "a.png" are one image (and one side of the split) */
  g_autofree char *abs = g_canonicalize_filename (image, ds->dir);
  gpointer found;

  if (g_hash_table_lookup_extended (ds->index, abs, NULL, &found))
    return GPOINTER_TO_UINT (found);
  ds->image_paths = g_renew (char *, ds->image_paths, ds->n_images + 2);
  ds->pixels = g_renew (guint8 *, ds->pixels, ds->n_images + 2);
  ds->channels = g_renew (guint8, ds->channels, ds->n_images + 2);
  ds->image_paths[ds->n_images] = g_steal_pointer (&abs);
  ds->image_paths[ds->n_images + 1] = NULL;
  ds->pixels[ds->n_images] = ds->pixels[ds->n_images + 1] = NULL;
  ds->channels[ds->n_images] = ds->channels[ds->n_images + 1] = 0;
  g_hash_table_insert (ds->index, ds->image_paths[ds->n_images],
                       GUINT_TO_POINTER (ds->n_images));
  return ds->n_images++;
}

guint
mva_dataset_add_pair (MvaDataset *ds,
                      const char *image,
                      const char *question,
                      const char *answer,
                      const char *caption,
                      const char *category,
                      int         family)
{
  MvaQaPair pair = { 0 };

  g_return_val_if_fail (ds != NULL && image != NULL && question != NULL && answer != NULL, 0);
  g_return_val_if_fail (ds->loaded == FALSE, 0);
  pair.image = mva_dataset_add_image (ds, image);
  pair.category = g_strdup (category);
  pair.family = family;
  pair.answer = g_strdup (answer);
  if (caption != NULL && caption[0] != '\0' && g_str_has_prefix (question, caption))
    {
      const char *rest = question + strlen (caption);
      while (*rest == ' ')
        rest++;
      pair.question = g_strdup (rest);
      pair.caption = g_strdup (caption);
      pair.asked_with_caption = TRUE;
    }
  else
    {
      pair.question = g_strdup (question);
      pair.caption = caption != NULL && caption[0] != '\0'
                       ? g_strdup (caption)
                       : (category != NULL && category[0] != '\0'
                            ? g_strdup_printf ("This SEM image shows %s.", category)
                            : NULL);
    }
  g_array_append_val (ds->pairs, pair);
  return ds->pairs->len - 1;
}

MvaDataset *
mva_dataset_load (const char         *dir,
                  guint               size,
                  guint               threads,
                  MvaDatasetProgress  progress,
                  gpointer            user_data,
                  GCancellable       *cancellable,
                  GError            **error)
{
  g_autoptr(MvaDataset) ds = NULL;
  g_autofree char *qa_path = NULL, *text = NULL;
  g_autoptr(GError) local = NULL;
  g_auto(GStrv) lines = NULL;

  g_return_val_if_fail (dir != NULL, NULL);
  g_return_val_if_fail (size > 0, NULL);

  qa_path = g_build_filename (dir, "qa.jsonl", NULL);
  if (!g_file_get_contents (qa_path, &text, NULL, &local))
    {
      g_set_error (error, MVA_TRAINER_ERROR, MVA_TRAINER_ERROR_DATA, "%s", local->message);
      return NULL;
    }
  ds = mva_dataset_new (dir, size);
  lines = g_strsplit (text, "\n", -1);
  for (guint ln = 0; lines[ln] != NULL; ln++)
    {
      g_autoptr(JsonParser) parser = json_parser_new ();
      g_autoptr(GError) perr = NULL;
      const char *image, *question, *answer;
      g_autofree char *abs = NULL;
      JsonObject *o;
      int family = 0;

      g_strstrip (lines[ln]);
      if (lines[ln][0] == '\0')
        continue;
      if (!json_parser_load_from_data (parser, lines[ln], -1, &perr) ||
          !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
        {
          g_set_error (error, MVA_TRAINER_ERROR, MVA_TRAINER_ERROR_DATA,
                       "%s line %u: not a JSON object%s%s", qa_path, ln + 1,
                       perr ? ": " : "", perr ? perr->message : "");
          return NULL;
        }
      o = json_node_get_object (json_parser_get_root (parser));
      image = member_string (o, "image");
      question = member_string (o, "question");
      answer = member_string (o, "answer");
      if (image == NULL || question == NULL || answer == NULL || image[0] == '\0')
        {
          g_set_error (error, MVA_TRAINER_ERROR, MVA_TRAINER_ERROR_DATA,
                       "%s line %u: needs string members image, question and answer",
                       qa_path, ln + 1);
          return NULL;
        }
      abs = g_canonicalize_filename (image, ds->dir);
      if (!g_hash_table_contains (ds->index, abs) && !g_file_test (abs, G_FILE_TEST_IS_REGULAR))
        {
          g_set_error (error, MVA_TRAINER_ERROR, MVA_TRAINER_ERROR_DATA,
                       "%s line %u: image %s not found", qa_path, ln + 1, image);
          return NULL;
        }
      if (json_object_has_member (o, "family") &&
          JSON_NODE_HOLDS_VALUE (json_object_get_member (o, "family")))
        family = (int) json_object_get_int_member (o, "family");
      mva_dataset_add_pair (ds, abs, question, answer, member_string (o, "caption"),
                            member_string (o, "category"), family);
    }
  if (ds->pairs->len == 0)
    {
      g_set_error (error, MVA_TRAINER_ERROR, MVA_TRAINER_ERROR_DATA,
                   "%s holds no question/answer pairs", qa_path);
      return NULL;
    }
  if (!mva_dataset_load_images (ds, threads, progress, user_data, cancellable, error))
    return NULL;
  return g_steal_pointer (&ds);
}

gboolean
mva_dataset_load_images (MvaDataset         *ds,
                         guint               threads,
                         MvaDatasetProgress  progress,
                         gpointer            user_data,
                         GCancellable       *cancellable,
                         GError            **error)
{
  LoadJob job = { 0 };
  GThread **workers;

  g_return_val_if_fail (ds != NULL, FALSE);
  if (ds->loaded)
    return TRUE;
  if (ds->n_images == 0)
    {
      g_set_error (error, MVA_TRAINER_ERROR, MVA_TRAINER_ERROR_DATA, "the data set has no images");
      return FALSE;
    }

  /* preprocess with worker threads; this thread reports progress */
  threads = CLAMP (threads, 1, 64);
  threads = MIN (threads, ds->n_images);
  job.ds = ds;
  job.cancellable = cancellable;
  g_mutex_init (&job.lock);
  workers = g_new0 (GThread *, threads);
  for (guint t = 0; t < threads; t++)
    workers[t] = g_thread_new ("mva-dataset", load_worker, &job);
  for (gint64 last_report = 0;;)
    {
      gint done = g_atomic_int_get (&job.done);
      gint64 now = g_get_monotonic_time ();
      gboolean failed;
      g_mutex_lock (&job.lock);
      failed = job.error != NULL;
      g_mutex_unlock (&job.lock);
      /* at most one report a second, and the last one */
      if (progress != NULL && !failed &&
          (done >= (gint) ds->n_images || now - last_report >= G_USEC_PER_SEC))
        {
          progress ((guint) done, ds->n_images, user_data);
          last_report = now;
        }
      if (done >= (gint) ds->n_images || failed || g_cancellable_is_cancelled (cancellable))
        break;
      g_usleep (100 * 1000);
    }
  for (guint t = 0; t < threads; t++)
    g_thread_join (workers[t]);
  g_free (workers);
  g_mutex_clear (&job.lock);
  if (job.error != NULL)
    {
      g_propagate_error (error, job.error);
      return FALSE;
    }
  if (g_cancellable_is_cancelled (cancellable))
    {
      g_set_error (error, MVA_TRAINER_ERROR, MVA_TRAINER_ERROR_CANCELLED,
                   "cancelled while loading images");
      return FALSE;
    }
  ds->loaded = TRUE;
  return TRUE;
}

void
mva_dataset_image_floats (const MvaDataset *ds,
                          guint             i,
                          float            *out)
{
  gsize plane = (gsize) ds->size * ds->size;

  g_return_if_fail (ds != NULL && i < ds->n_images && out != NULL);
  if (ds->channels[i] == 3)
    {
      mva_preprocess_normalize_rgb8 (ds->pixels[i], ds->size, out);
      return;
    }
  for (gsize k = 0; k < plane; k++)
    out[k] = ((float) ds->pixels[i][k] / 255.0f - 0.5f) / 0.5f;
  memcpy (out + plane, out, plane * sizeof (float));
  memcpy (out + 2 * plane, out, plane * sizeof (float));
}

/* --- training run ------------------------------------------------------------- */

void
mva_train_options_init (MvaTrainOptions *opts)
{
  memset (opts, 0, sizeof *opts);
  opts->config = "paper";
  opts->seed = 0;
  opts->threads = 1;
  opts->batch = 48;
  opts->lr = 1e-3;
  opts->val_fraction = 0.1;
  opts->caption_prob = 0.5;
  opts->vocab_size = MVE_TOKENIZER_DEFAULT_SIZE;
  opts->warmup_steps = -1;
}

typedef struct
{
  int32_t *with_caption;  /* token ids */
  int32_t  n_with;
  int32_t *without;
  int32_t  n_without;
  int32_t *answer;
  int32_t  n_answer;
  guint    image;
  gboolean has_caption;   /* the data asked it with the caption */
} TokPair;

typedef struct
{
  guint64 step;
  guint   epoch;
  float   total, itc, itm, lm, lr;
  double  samples_per_s;
} StepLog;

typedef struct
{
  guint   epoch;
  float   val_loss, lr;
} EpochLog;

typedef struct
{
  const MvaTrainOptions *opts;
  MvaDataset  *ds;
  const struct mve_config *cfg;
  TokPair     *pairs;          /* (n_pairs) */
  guint        n_pairs;
  guint       *train;          /* pair indices */
  guint        n_train;
  guint       *val;
  guint        n_val;
  GRand       *rand;
  guint       *pair_image;     /* (n_pairs) image of each pair */
  MvaBatcher  *batcher;        /* training batches */
  gboolean    *in_batch;       /* (n_images) for validation batches */
  /* batch buffers */
  guint        B;
  float       *images;         /* (B, 3, S, S) */
  int32_t     *question;       /* (B, max_question_len) */
  int32_t     *question_len;   /* (B) */
  int32_t     *answer;         /* (B, max_answer_len) */
  int32_t     *answer_len;     /* (B) */
  /* reporting */
  MvaTrainProgressFunc progress;
  gpointer     user_data;
  GCancellable *cancellable;
  guint        epoch;          /* 1-based, the epoch being trained */
  gint64       last_step_us;
  GArray      *steps;          /* of StepLog */
  GArray      *epochs;         /* of EpochLog */
  guint64      samples;
  guint        last_batch_n;
  gint64       warmup;         /* resolved warmup steps */
} Run;

static void
tok_pair_clear (TokPair *p)
{
  g_free (p->with_caption);
  g_free (p->without);
  g_free (p->answer);
}

static int32_t *
encode (const mve_tokenizer *tok, const char *text, int32_t max, int32_t *n_out)
{
  size_t n = 0, len = strlen (text);
  int32_t *ids = g_new (int32_t, len + 1);

  mve_tokenizer_encode (tok, text, len, ids, len + 1, &n);
  *n_out = (int32_t) MIN ((size_t) max, n);
  return ids;
}

/* --- augmentation (MvaTrainOptions.augment) ----------------------------------- */
static guint64
aug_next (guint64 *s)
{
  guint64 z = (*s += G_GUINT64_CONSTANT (0x9e3779b97f4a7c15));

  z = (z ^ (z >> 30)) * G_GUINT64_CONSTANT (0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * G_GUINT64_CONSTANT (0x94d049bb133111eb);
  return z ^ (z >> 31);
}

static double
aug_unit (guint64 *s) /* [0, 1) */
{
  return (double) (aug_next (s) >> 11) / 9007199254740992.0;
}

/* One image (3, S, S) in [-1, 1], in place: a left-right mirror half the
 * time (the answers never say left or right), contrast and brightness
 * jitter, and Gaussian pixel noise; seeded by seed (from the run's GRand,
 * so a run is repeatable). */
static void
augment_image (float *img, guint S, guint64 seed)
{
  guint64 s = seed;
  gsize plane = (gsize) S * S;
  gboolean mirror = aug_unit (&s) < 0.5;
  double contrast = exp (log (0.8) + aug_unit (&s) * (log (1.25) - log (0.8)));
  double bright = (aug_unit (&s) * 2 - 1) * 0.1;
  double sigma = aug_unit (&s) * 0.05;

  for (guint c = 0; c < 3; c++)
    for (guint y = 0; y < S; y++)
      {
        float *row = img + c * plane + (gsize) y * S;

        if (mirror)
          for (guint x = 0; x < S / 2; x++)
            {
              float t = row[x];

              row[x] = row[S - 1 - x];
              row[S - 1 - x] = t;
            }
      }
  for (gsize k = 0; k < plane; k++)
    {
      /* the same jitter and noise on the three channels (gray micrographs) */
      double u1 = aug_unit (&s), u2 = aug_unit (&s);
      double noise = sigma * sqrt (-2.0 * log (u1 + 1e-300)) * cos (6.283185307179586 * u2);

      for (guint c = 0; c < 3; c++)
        {
          double v = contrast * img[c * plane + k] + bright + noise;

          img[c * plane + k] = (float) CLAMP (v, -1.0, 1.0);
        }
    }
}

/* Fill the batch buffers with the pairs idx[0..n); question with caption
 * when use_caption[i]; training batches are augmented when the options say. */
static void
fill_batch (Run *r, const guint *idx, const gboolean *use_caption, guint n, struct mve_batch *b,
            gboolean augment)
{
  guint S = r->ds->size;
  gsize img_len = (gsize) 3 * S * S;
  int32_t Tq = 1, Ta = 1;

  for (guint i = 0; i < n; i++)
    {
      const TokPair *p = &r->pairs[idx[i]];
      Tq = MAX (Tq, use_caption[i] ? p->n_with : p->n_without);
      Ta = MAX (Ta, p->n_answer);
    }
  memset (r->question, 0, sizeof (int32_t) * n * (gsize) Tq);
  memset (r->answer, 0, sizeof (int32_t) * n * (gsize) Ta);
  for (guint i = 0; i < n; i++)
    {
      const TokPair *p = &r->pairs[idx[i]];
      const int32_t *q = use_caption[i] ? p->with_caption : p->without;
      int32_t ql = use_caption[i] ? p->n_with : p->n_without;

      mva_dataset_image_floats (r->ds, p->image, r->images + i * img_len);
      if (augment)
        augment_image (r->images + i * img_len, S,
                       ((guint64) g_rand_int (r->rand) << 32) | g_rand_int (r->rand));
      memcpy (r->question + (gsize) i * Tq, q, sizeof (int32_t) * (gsize) ql);
      r->question_len[i] = ql;
      memcpy (r->answer + (gsize) i * Ta, p->answer, sizeof (int32_t) * (gsize) p->n_answer);
      r->answer_len[i] = p->n_answer;
    }
  b->B = (int32_t) n;
  b->images = r->images;
  b->question = r->question;
  b->question_len = r->question_len;
  b->answer = r->answer;
  b->answer_len = r->answer_len;
  b->Tq = Tq;
  b->Ta = Ta;
}

/* Take up to B entries whose images (image_of[entry]) are distinct from the
 * front of list[0..*n_left), keeping the order of what is left. in_batch
 * (indexed by image) is all FALSE before and after. Returns how many were
 * taken. */
static guint
take_distinct (const guint *image_of, gboolean *in_batch, guint B, guint *list, guint *n_left,
               guint *out)
{
  guint taken = 0, keep = 0;

  for (guint i = 0; i < *n_left; i++)
    {
      guint e = list[i];
      guint img = image_of[e];
      if (taken < B && !in_batch[img])
        {
          in_batch[img] = TRUE;
          out[taken++] = e;
        }
      else
        list[keep++] = e;
    }
  *n_left = keep;
  for (guint i = 0; i < taken; i++)
    in_batch[image_of[out[i]]] = FALSE;
  return taken;
}

// --- batcher (mva-trainer-private.h) --------------------------------------------

struct _MvaBatcher
{
  guint    *items;     /* (n) what is handed out */
  guint    *images;    /* (n) image of each item */
  guint     n, n_images, B, min_B;
  GRand    *rand;      /* borrowed */
  guint    *order;     /* (n) positions in this epoch's order */
  guint     n_left;    /* order[0..n_left) not yet handed out */
  guint    *carry;     /* (n) positions carried to the next epoch */
  guint     n_carry;
  gboolean *carried;   /* (n) */
  gboolean *in_batch;  /* (n_images) */
  guint    *taken;     /* (B) positions of the batch being built */
  guint     batches;   /* handed out this epoch */
};

/* A new epoch: the carried positions first, then the others shuffled. The
 * shuffle draws the same numbers whatever is carried. */
static void
batcher_start_epoch (MvaBatcher *self)
{
  guint k = 0;
  g_autofree guint *shuffled = g_new (guint, self->n);

  for (guint i = 0; i < self->n; i++)
    shuffled[i] = i;
  for (guint i = self->n; i > 1; i--)
    {
      guint j = (guint) g_rand_int_range (self->rand, 0, (gint32) i);
      guint t = shuffled[i - 1];
      shuffled[i - 1] = shuffled[j];
      shuffled[j] = t;
    }
  for (guint i = 0; i < self->n_carry; i++)
    {
      self->order[k++] = self->carry[i];
      self->carried[self->carry[i]] = TRUE;
    }
  for (guint i = 0; i < self->n; i++)
    if (!self->carried[shuffled[i]])
      self->order[k++] = shuffled[i];
  for (guint i = 0; i < self->n_carry; i++)
    self->carried[self->carry[i]] = FALSE;
  g_assert (k == self->n);
  self->n_left = self->n;
  self->batches = 0;
}

MvaBatcher *
_mva_batcher_new (const guint *items,
                  const guint *images,
                  guint        n,
                  guint        n_images,
                  guint        batch,
                  guint        min_batch,
                  GRand       *rand)
{
  MvaBatcher *self;

  g_return_val_if_fail (items != NULL || n == 0, NULL);
  g_return_val_if_fail (images != NULL || n == 0, NULL);
  g_return_val_if_fail (batch >= 2, NULL);
  g_return_val_if_fail (rand != NULL, NULL);
  for (guint i = 0; i < n; i++)
    g_return_val_if_fail (images[i] < n_images, NULL);

  self = g_new0 (MvaBatcher, 1);
  self->items = g_memdup2 (items, sizeof (guint) * n);
  self->images = g_memdup2 (images, sizeof (guint) * n);
  self->n = n;
  self->n_images = n_images;
  self->B = batch;
  self->min_B = CLAMP (min_batch, 2, batch);
  self->rand = rand;
  self->order = g_new (guint, MAX (n, 1));
  self->carry = g_new (guint, MAX (n, 1));
  self->carried = g_new0 (gboolean, MAX (n, 1));
  self->in_batch = g_new0 (gboolean, MAX (n_images, 1));
  self->taken = g_new (guint, batch);
  batcher_start_epoch (self);
  return self;
}

guint
_mva_batcher_next (MvaBatcher *self,
                   guint      *out)
{
  guint k;

  g_return_val_if_fail (self != NULL, 0);
  g_return_val_if_fail (out != NULL, 0);

  self->n_carry = 0;
  if (self->n_left == 0)
    {
      batcher_start_epoch (self);
      return 0;
    }
  k = take_distinct (self->images, self->in_batch, self->B, self->order, &self->n_left,
                     self->taken);
  if (k < 2 || (k < self->min_B && self->batches > 0))
    {
      /* too few distinct images left: these pairs open the next epoch */
      memcpy (self->carry, self->taken, sizeof (guint) * k);
      memcpy (self->carry + k, self->order, sizeof (guint) * self->n_left);
      self->n_carry = k + self->n_left;
      batcher_start_epoch (self);
      return 0;
    }
  for (guint i = 0; i < k; i++)
    out[i] = self->items[self->taken[i]];
  self->batches++;
  return k;
}

guint
_mva_batcher_n_carried (const MvaBatcher *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return self->n_carry;
}

void
_mva_batcher_free (MvaBatcher *self)
{
  if (self == NULL)
    return;
  g_free (self->items);
  g_free (self->images);
  g_free (self->order);
  g_free (self->carry);
  g_free (self->carried);
  g_free (self->in_batch);
  g_free (self->taken);
  g_free (self);
}

// --- engine callbacks -------------------------------------------------------------

static int
next_batch (void *user, struct mve_batch *b)
{
  Run *r = user;
  g_autofree guint *idx = g_new (guint, r->B);
  g_autofree gboolean *cap = g_new (gboolean, r->B);
  guint n = _mva_batcher_next (r->batcher, idx);

  if (n == 0)
    return 0; /* end of epoch */
  for (guint i = 0; i < n; i++)
    cap[i] = r->pairs[idx[i]].n_with > 0 && g_rand_double (r->rand) < r->opts->caption_prob;
  fill_batch (r, idx, cap, n, b, r->opts->augment);
  r->last_batch_n = n;
  return 1;
}

static mve_status
validate (void *user, mve_model_t m, float *val_loss)
{
  Run *r = user;
  g_autofree guint *list = g_memdup2 (r->val, sizeof (guint) * r->n_val);
  g_autofree guint *idx = g_new (guint, r->B);
  g_autofree gboolean *cap = g_new (gboolean, r->B);
  guint n_left = r->n_val;
  double sum = 0;
  guint count = 0;

  while (n_left > 0)
    {
      struct mve_batch b;
      struct mve_losses L;
      guint n = take_distinct (r->pair_image, r->in_batch, r->B, list, &n_left, idx);
      mve_status st;

      if (n < 2)
        break;
      for (guint i = 0; i < n; i++)
        cap[i] = r->pairs[idx[i]].has_caption;
      fill_batch (r, idx, cap, n, &b, FALSE);
      st = mve_model_evaluate (m, &b, &L);
      if (st != MVE_STATUS_OK)
        return st;
      sum += (double) L.total * n;
      count += n;
    }
  *val_loss = count > 0 ? (float) (sum / count) : INFINITY;
  return MVE_STATUS_OK;
}

static void
on_step (void *user, int64_t step, const struct mve_losses *L, float lr, double engine_rate)
{
  Run *r = user;
  gint64 now = g_get_monotonic_time ();
  MvaTrainProgress p = { 0 };
  StepLog s;

  (void) engine_rate;
  s.step = (guint64) step;
  s.epoch = r->epoch;
  s.total = L->total;
  s.itc = L->itc;
  s.itm = L->itm;
  s.lm = L->lm;
  s.lr = lr;
  /* wall-clock rate of the whole step, batch assembly included */
  s.samples_per_s = now > r->last_step_us ? r->last_batch_n / ((now - r->last_step_us) / 1e6) : 0;
  r->last_step_us = now;
  r->samples += r->last_batch_n;
  g_array_append_val (r->steps, s);
  p.phase = MVA_TRAIN_PHASE_STEP;
  p.step = s.step;
  p.total_steps = r->opts->steps;
  p.epoch = r->epoch;
  p.loss = s.total;
  p.itc = s.itc;
  p.itm = s.itm;
  p.lm = s.lm;
  p.lr = s.lr;
  p.samples_per_s = s.samples_per_s;
  p.batch = r->last_batch_n;
  if (r->progress)
    r->progress (&p, r->user_data);
}

static void
on_epoch (void *user, int32_t epoch, float val_loss, float lr)
{
  Run *r = user;
  EpochLog e = { (guint) epoch + 1, val_loss, lr };
  MvaTrainProgress p = { 0 };

  g_array_append_val (r->epochs, e);
  p.phase = MVA_TRAIN_PHASE_EPOCH;
  p.epoch = e.epoch;
  p.val_loss = val_loss;
  p.lr = lr;
  p.step = r->steps->len;
  if (r->progress)
    r->progress (&p, r->user_data);
  r->epoch = (guint) epoch + 2;
}

static bool
should_abort (void *user)
{
  Run *r = user;
  return g_cancellable_is_cancelled (r->cancellable);
}

static gboolean
engine_error (GError **error, const char *what, mve_status st, const char *msg)
{
  g_set_error (error, MVA_TRAINER_ERROR, MVA_TRAINER_ERROR_ENGINE, "%s: %s%s%s", what,
               mve_status_to_string (st), msg && *msg ? ": " : "", msg ? msg : "");
  return FALSE;
}

static void
config_small (struct mve_config *cfg)
{
  /* for tests and quick experiments: same input and lengths, a quarter of the
   * paper model's width and half its depth */
  cfg->width = 32;
  cfg->vision_layers = 2;
  cfg->text_layers = 2;
  cfg->decoder_layers = 2;
  cfg->heads = 2;
  cfg->embed_dim = 32;
}

static void
add_config (JsonBuilder *b, const struct mve_config *cfg)
{
  char keys[MVE_CONFIG_N_KEYS][MVE_CONFIG_KV_LEN], vals[MVE_CONFIG_N_KEYS][MVE_CONFIG_KV_LEN];

  json_builder_begin_object (b);
  if (mve_config_to_kv (cfg, keys, vals) == MVE_STATUS_OK)
    for (int i = 0; i < MVE_CONFIG_N_KEYS; i++)
      {
        json_builder_set_member_name (b, keys[i]);
        json_builder_add_string_value (b, vals[i]);
      }
  json_builder_end_object (b);
}

static char *
iso_now (void)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  return g_date_time_format (now, "%Y-%m-%dT%H:%M:%SZ");
}

typedef struct
{
  const char *stopped;
  char       *started, *finished;
  double      seconds;
  gint64      params;
  int32_t     vocab;
  gboolean    fresh_tokenizer;
  guint       train_images, val_images;
  MvaDevice   device;
  char       *device_note;     /* why a CUDA preference runs on the CPU, or NULL */
} RunInfo;

static void
add_summary_members (JsonBuilder *b, const Run *r, const RunInfo *info)
{
  const MvaTrainOptions *o = r->opts;
  const StepLog *last = r->steps->len ? &g_array_index (r->steps, StepLog, r->steps->len - 1) : NULL;
  const EpochLog *le = r->epochs->len ? &g_array_index (r->epochs, EpochLog, r->epochs->len - 1) : NULL;
  const char *data = o->data_dir ? o->data_dir : r->ds->dir;
  g_autofree char *data_abs = data ? g_canonicalize_filename (data, NULL) : NULL;
  g_autofree char *out_abs = g_canonicalize_filename (o->out_dir, NULL);

  json_builder_set_member_name (b, "out");
  json_builder_add_string_value (b, out_abs);
  json_builder_set_member_name (b, "data");
  if (data_abs)
    json_builder_add_string_value (b, data_abs);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "init");
  if (o->init_dir)
    {
      g_autofree char *init_abs = g_canonicalize_filename (o->init_dir, NULL);
      json_builder_add_string_value (b, init_abs);
    }
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "seed");
  json_builder_add_int_value (b, (gint64) o->seed);
  json_builder_set_member_name (b, "augment");
  json_builder_add_boolean_value (b, o->augment);
  json_builder_set_member_name (b, "threads");
  json_builder_add_int_value (b, o->threads);
  json_builder_set_member_name (b, "batch");
  json_builder_add_int_value (b, o->batch);
  json_builder_set_member_name (b, "lr");
  json_builder_add_double_value (b, o->lr);
  json_builder_set_member_name (b, "warmup_steps");
  json_builder_add_int_value (b, r->warmup);
  json_builder_set_member_name (b, "steps");
  json_builder_add_int_value (b, r->steps->len);
  json_builder_set_member_name (b, "epochs");
  json_builder_add_int_value (b, r->epochs->len);
  json_builder_set_member_name (b, "stopped");
  json_builder_add_string_value (b, info->stopped);
  json_builder_set_member_name (b, "device");
  json_builder_add_string_value (b, mva_device_name (info->device));
  if (info->device_note != NULL)
    {
      json_builder_set_member_name (b, "device_note");
      json_builder_add_string_value (b, info->device_note);
    }
  json_builder_set_member_name (b, "loss");
  json_builder_add_double_value (b, last ? last->total : NAN);
  json_builder_set_member_name (b, "itc");
  json_builder_add_double_value (b, last ? last->itc : NAN);
  json_builder_set_member_name (b, "itm");
  json_builder_add_double_value (b, last ? last->itm : NAN);
  json_builder_set_member_name (b, "lm");
  json_builder_add_double_value (b, last ? last->lm : NAN);
  json_builder_set_member_name (b, "val_loss");
  if (le != NULL && isfinite (le->val_loss))
    json_builder_add_double_value (b, le->val_loss);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "samples_per_s");
  json_builder_add_double_value (b, info->seconds > 0 ? r->samples / info->seconds : 0);
  json_builder_set_member_name (b, "seconds");
  json_builder_add_double_value (b, info->seconds);
  json_builder_set_member_name (b, "params");
  json_builder_add_int_value (b, info->params);
  json_builder_set_member_name (b, "vocab_size");
  json_builder_add_int_value (b, info->vocab);
  json_builder_set_member_name (b, "tokenizer_trained");
  json_builder_add_boolean_value (b, info->fresh_tokenizer);
  json_builder_set_member_name (b, "train_images");
  json_builder_add_int_value (b, info->train_images);
  json_builder_set_member_name (b, "val_images");
  json_builder_add_int_value (b, info->val_images);
  json_builder_set_member_name (b, "train_pairs");
  json_builder_add_int_value (b, r->n_train);
  json_builder_set_member_name (b, "val_pairs");
  json_builder_add_int_value (b, r->n_val);
  json_builder_set_member_name (b, "started");
  json_builder_add_string_value (b, info->started);
  json_builder_set_member_name (b, "finished");
  json_builder_add_string_value (b, info->finished);
  json_builder_set_member_name (b, "config");
  add_config (b, r->cfg);
}

static gboolean
write_log (const Run *r, const RunInfo *info, const char *path, GError **error)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *text = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "format");
  json_builder_add_string_value (b, "mvaema-train-log/1");
  add_summary_members (b, r, info);
  json_builder_set_member_name (b, "step_log");
  json_builder_begin_array (b);
  for (guint i = 0; i < r->steps->len; i++)
    {
      const StepLog *s = &g_array_index (r->steps, StepLog, i);
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "step");
      json_builder_add_int_value (b, (gint64) s->step);
      json_builder_set_member_name (b, "epoch");
      json_builder_add_int_value (b, s->epoch);
      json_builder_set_member_name (b, "loss");
      json_builder_add_double_value (b, s->total);
      json_builder_set_member_name (b, "itc");
      json_builder_add_double_value (b, s->itc);
      json_builder_set_member_name (b, "itm");
      json_builder_add_double_value (b, s->itm);
      json_builder_set_member_name (b, "lm");
      json_builder_add_double_value (b, s->lm);
      json_builder_set_member_name (b, "lr");
      json_builder_add_double_value (b, s->lr);
      json_builder_set_member_name (b, "samples_per_s");
      json_builder_add_double_value (b, s->samples_per_s);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_set_member_name (b, "epoch_log");
  json_builder_begin_array (b);
  for (guint i = 0; i < r->epochs->len; i++)
    {
      const EpochLog *e = &g_array_index (r->epochs, EpochLog, i);
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "epoch");
      json_builder_add_int_value (b, e->epoch);
      json_builder_set_member_name (b, "val_loss");
      if (isfinite (e->val_loss))
        json_builder_add_double_value (b, e->val_loss);
      else
        json_builder_add_null_value (b);
      json_builder_set_member_name (b, "lr");
      json_builder_add_double_value (b, e->lr);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, TRUE);
  text = json_generator_to_data (gen, NULL);
  return g_file_set_contents (path, text, -1, error);
}

typedef struct
{
  MvaTrainProgressFunc progress;
  gpointer             user_data;
} LoadProgress;

static void
on_load_progress (guint done, guint total, gpointer data)
{
  LoadProgress *lp = data;
  MvaTrainProgress p = { 0 };

  p.phase = MVA_TRAIN_PHASE_LOADING;
  p.done = done;
  p.total = total;
  if (lp->progress)
    lp->progress (&p, lp->user_data);
}

static gboolean
trainer_run (const MvaTrainOptions *opts,
             MvaDataset            *given,
             MvaTrainProgressFunc   progress,
             gpointer               user_data,
             GCancellable          *cancellable,
             gboolean              *cancelled,
             JsonNode             **summary,
             GError               **error)
{
  g_autoptr(MvaDataset) owned = NULL;
  MvaDataset *ds = given;
  g_autofree char *model_path = NULL, *tok_path = NULL, *log_path = NULL;
  mve_tokenizer *tok = NULL;
  mve_model_t model = NULL;
  struct mve_config cfg;
  struct mve_train_opts topts;
  struct mve_backend *backend = NULL;
  Run r = { 0 };
  RunInfo info = { 0 };
  MvaTrainProgress p = { 0 };
  char err[512] = "";
  mve_status st;
  gboolean ok = FALSE;
  gint64 t0;
  guint n_val_images = 0;
  g_autofree guint *img_order = NULL;
  g_autofree gboolean *is_val = NULL;

  g_return_val_if_fail (opts != NULL && opts->out_dir != NULL, FALSE);
  g_return_val_if_fail (given != NULL || opts->data_dir != NULL, FALSE);
  if (cancelled)
    *cancelled = FALSE;
  if (summary)
    *summary = NULL;

  if (opts->batch < 2)
    {
      g_set_error (error, MVA_TRAINER_ERROR, MVA_TRAINER_ERROR_INVALID,
                   "batch must be at least 2 (the contrastive loss compares pairs)");
      return FALSE;
    }
  if (!(opts->lr > 0 && opts->lr < 1))
    {
      g_set_error (error, MVA_TRAINER_ERROR, MVA_TRAINER_ERROR_INVALID,
                   "learning rate %g is not in (0, 1)", opts->lr);
      return FALSE;
    }
  if (opts->init_dir != NULL &&
      (opts->no_itc || opts->no_itm || opts->no_sa || opts->no_ca || opts->no_csa))
    {
      g_set_error (error, MVA_TRAINER_ERROR, MVA_TRAINER_ERROR_INVALID,
                   "ablations apply to fresh models only, not with --init");
      return FALSE;
    }
  if (g_mkdir_with_parents (opts->out_dir, 0755) != 0)
    {
      g_set_error (error, MVA_TRAINER_ERROR, MVA_TRAINER_ERROR_IO, "cannot create %s: %s",
                   opts->out_dir, g_strerror (errno));
      return FALSE;
    }
  model_path = g_build_filename (opts->out_dir, "model.safetensors", NULL);
  tok_path = g_build_filename (opts->out_dir, "tokenizer.json", NULL);
  log_path = g_build_filename (opts->out_dir, "train-log.json", NULL);
  {
    g_autoptr(GError) local = NULL;

    /* the engine runs on the CPU unless CUDA can run whole steps (mva-device.h) */
    if (!mva_device_resolve (opts->device, FALSE, &info.device, &info.device_note, &local))
      {
        g_set_error (error, MVA_TRAINER_ERROR, MVA_TRAINER_ERROR_INVALID, "%s", local->message);
        return FALSE;
      }
    /* CUDA: mve_train runs every step on the device (topts.backend) */
    if (info.device == MVA_DEVICE_CUDA)
      {
        char why[512] = "";

        if (mve_backend_open_cuda (&backend, 0, why, sizeof why) != MVE_STATUS_OK ||
            !mve_backend_has_model (backend))
          {
            mve_backend_close (backend);
            backend = NULL;
            info.device = MVA_DEVICE_CPU;
            g_free (info.device_note);
            info.device_note = g_strdup_printf ("CUDA is not available (%s); using the CPU",
                                                why[0] ? why : "no whole-model support");
          }
      }
  }
  info.started = iso_now ();

  /* 1. model configuration (and weights when fine-tuning) */
  if (opts->init_dir != NULL)
    {
      g_autofree char *ip = g_build_filename (opts->init_dir, "model.safetensors", NULL);
      g_autofree char *it = g_build_filename (opts->init_dir, "tokenizer.json", NULL);
      st = mve_model_load (&model, ip, (int32_t) opts->threads, err, sizeof err);
      if (st != MVE_STATUS_OK)
        {
          engine_error (error, "cannot load the model to fine-tune", st, err);
          goto out;
        }
      st = mve_tokenizer_load (&tok, it, err, sizeof err);
      if (st != MVE_STATUS_OK)
        {
          engine_error (error, "cannot load its tokenizer", st, err);
          goto out;
        }
      cfg = *mve_model_get_config (model);
      if (cfg.vocab_size != mve_tokenizer_size (tok))
        {
          g_set_error (error, MVA_TRAINER_ERROR, MVA_TRAINER_ERROR_ENGINE,
                       "%s: the model has %d vocabulary entries but its tokenizer %d",
                       opts->init_dir, cfg.vocab_size, mve_tokenizer_size (tok));
          goto out;
        }
    }
  else
    {
      mve_config_init_default (&cfg);
      if (opts->config != NULL && g_strcmp0 (opts->config, "small") == 0)
        config_small (&cfg);
      else if (opts->config != NULL && g_strcmp0 (opts->config, "paper") != 0)
        {
          g_set_error (error, MVA_TRAINER_ERROR, MVA_TRAINER_ERROR_INVALID,
                       "unknown configuration “%s” (paper or small)", opts->config);
          goto out;
        }
      cfg.use_itc = !opts->no_itc;
      cfg.use_itm = !opts->no_itm;
      cfg.use_sa = !opts->no_sa;
      cfg.use_ca = !opts->no_ca;
      cfg.use_csa = !opts->no_csa;
    }

  /* 2. data */
  {
    g_autoptr(GError) local = NULL;
    LoadProgress lp = { progress, user_data };
    if (given != NULL)
      {
        if (given->size != (guint) cfg.image_size)
          {
            g_set_error (error, MVA_TRAINER_ERROR, MVA_TRAINER_ERROR_INVALID,
                         "the data set caches %u-pixel images but the model takes %d",
                         given->size, cfg.image_size);
            goto out;
          }
        if (!mva_dataset_load_images (given, MAX (opts->threads, 1), on_load_progress, &lp,
                                      cancellable, &local))
          {
            g_propagate_error (error, g_steal_pointer (&local));
            goto out;
          }
      }
    else
      {
        owned = mva_dataset_load (opts->data_dir, (guint) cfg.image_size,
                                  MAX (opts->threads, 1), on_load_progress, &lp, cancellable,
                                  &local);
        if (owned == NULL)
          {
            g_propagate_error (error, g_steal_pointer (&local));
            goto out;
          }
        ds = owned;
      }
  }

  /* 3. validation split by image */
  r.opts = opts;
  r.ds = ds;
  r.rand = g_rand_new_with_seed_array ((const guint32[]) { (guint32) opts->seed,
                                                            (guint32) (opts->seed >> 32), 0x7a1e },
                                       3);
  img_order = g_new (guint, ds->n_images);
  is_val = g_new0 (gboolean, ds->n_images);
  for (guint i = 0; i < ds->n_images; i++)
    img_order[i] = i;
  for (guint i = ds->n_images; i > 1; i--)
    {
      guint j = (guint) g_rand_int_range (r.rand, 0, (gint32) i), t = img_order[i - 1];
      img_order[i - 1] = img_order[j];
      img_order[j] = t;
    }
  n_val_images = (guint) floor (ds->n_images * CLAMP (opts->val_fraction, 0.0, 0.9) + 0.5);
  if (n_val_images < 2 || ds->n_images - n_val_images < 2)
    n_val_images = 0; /* too few images: judge by the training loss */
  for (guint i = 0; i < n_val_images; i++)
    is_val[img_order[i]] = TRUE;
  info.val_images = n_val_images;
  info.train_images = ds->n_images - n_val_images;

  /* 4. tokenizer from the training text */
  if (tok == NULL)
    {
      g_autoptr(GPtrArray) texts = g_ptr_array_new ();
      p.phase = MVA_TRAIN_PHASE_TOKENIZER;
      if (progress)
        progress (&p, user_data);
      for (guint i = 0; i < ds->pairs->len; i++)
        {
          MvaQaPair *qa = &g_array_index (ds->pairs, MvaQaPair, i);
          if (is_val[qa->image])
            continue;
          g_ptr_array_add (texts, qa->question);
          g_ptr_array_add (texts, qa->answer);
          if (qa->caption)
            g_ptr_array_add (texts, qa->caption);
        }
      st = mve_tokenizer_train (&tok, (const char *const *) texts->pdata, texts->len,
                                (int32_t) opts->vocab_size, err, sizeof err);
      if (st != MVE_STATUS_OK)
        {
          engine_error (error, "cannot build the tokenizer", st, err);
          goto out;
        }
      info.fresh_tokenizer = TRUE;
      cfg.vocab_size = mve_tokenizer_size (tok);
      st = mve_model_init (&model, &cfg, opts->seed, (int32_t) MAX (opts->threads, 1), err,
                           sizeof err);
      if (st != MVE_STATUS_OK)
        {
          engine_error (error, "cannot create the model", st, err);
          goto out;
        }
    }
  r.cfg = mve_model_get_config (model);
  info.vocab = mve_tokenizer_size (tok);
  info.params = mve_model_num_params (model);

  /* 5. tokenise every pair */
  r.n_pairs = ds->pairs->len;
  r.pairs = g_new0 (TokPair, r.n_pairs);
  r.train = g_new (guint, r.n_pairs);
  r.val = g_new (guint, r.n_pairs);
  for (guint i = 0; i < r.n_pairs; i++)
    {
      MvaQaPair *qa = &g_array_index (ds->pairs, MvaQaPair, i);
      TokPair *tp = &r.pairs[i];
      g_autofree char *full = qa->caption ? g_strconcat (qa->caption, " ", qa->question, NULL)
                                          : NULL;
      tp->image = qa->image;
      tp->without = encode (tok, qa->question, r.cfg->max_question_len, &tp->n_without);
      if (full != NULL)
        tp->with_caption = encode (tok, full, r.cfg->max_question_len, &tp->n_with);
      /* validation asks the question the way the data set wrote it */
      tp->has_caption = qa->asked_with_caption && tp->with_caption != NULL;
      tp->answer = encode (tok, qa->answer, r.cfg->max_answer_len, &tp->n_answer);
      if (is_val[qa->image])
        r.val[r.n_val++] = i;
      else
        r.train[r.n_train++] = i;
    }
  if (r.n_train < 2 || info.train_images < 2)
    {
      g_set_error (error, MVA_TRAINER_ERROR, MVA_TRAINER_ERROR_DATA,
                   "training needs pairs about at least two images");
      goto out;
    }

  /* 6. train */
  r.B = MIN (opts->batch, info.train_images);
  r.images = g_new (float, (gsize) r.B * 3 * ds->size * ds->size);
  r.question = g_new0 (int32_t, (gsize) r.B * (gsize) MAX (r.cfg->max_question_len, 1));
  r.question_len = g_new0 (int32_t, r.B);
  r.answer = g_new0 (int32_t, (gsize) r.B * (gsize) MAX (r.cfg->max_answer_len, 1));
  r.answer_len = g_new0 (int32_t, r.B);
  r.in_batch = g_new0 (gboolean, ds->n_images);
  r.pair_image = g_new (guint, r.n_pairs);
  {
    g_autofree guint *train_images = g_new (guint, r.n_train);

    for (guint i = 0; i < r.n_pairs; i++)
      r.pair_image[i] = r.pairs[i].image;
    for (guint i = 0; i < r.n_train; i++)
      train_images[i] = r.pairs[r.train[i]].image;
    r.batcher = _mva_batcher_new (r.train, train_images, r.n_train, ds->n_images, r.B,
                                  _mva_batcher_min_for (r.B), r.rand);
  }
  r.steps = g_array_new (FALSE, FALSE, sizeof (StepLog));
  r.epochs = g_array_new (FALSE, FALSE, sizeof (EpochLog));
  r.progress = progress;
  r.user_data = user_data;
  r.cancellable = cancellable;
  r.epoch = 1;

  mve_train_opts_init_default (&topts);
  topts.adam.lr = (float) opts->lr;
  topts.steps = (int64_t) opts->steps;
  topts.epochs = opts->epochs > 0 ? (int32_t) opts->epochs : (opts->steps > 0 ? 0 : 50);
  {
    /* epochs decide: about n_train / B batches an epoch */
    gint64 total = opts->steps > 0 ? (gint64) opts->steps
                                   : (gint64) topts.epochs * ((r.n_train + r.B - 1) / r.B);
    r.warmup = mve_train_warmup_steps (opts->warmup_steps < 0 ? MVE_WARMUP_AUTO
                                                               : opts->warmup_steps, total);
    topts.warmup_steps = r.warmup;
  }
  topts.seed = opts->seed; /* the ITM negatives' draws */
  if (opts->fixed_schedule && opts->steps > 0)
    {
      topts.patience = 0;
      topts.early_stop_patience = 0;
    }
  topts.next_batch = next_batch;
  topts.validate = r.n_val >= 2 ? validate : NULL;
  topts.on_step = on_step;
  topts.on_epoch = on_epoch;
  topts.should_abort = should_abort;
  topts.user = &r;
  topts.backend = backend;
  t0 = g_get_monotonic_time ();
  r.last_step_us = t0;
  st = mve_train (model, &topts);
  info.seconds = (g_get_monotonic_time () - t0) / 1e6;
  if (st == MVE_STATUS_CANCELLED)
    {
      info.stopped = "cancelled";
      if (cancelled)
        *cancelled = TRUE;
    }
  else if (st != MVE_STATUS_OK)
    {
      engine_error (error, "training failed", st, mve_model_last_error (model));
      goto out;
    }
  else if (opts->steps > 0 && r.steps->len >= opts->steps)
    info.stopped = "steps";
  else if (opts->epochs > 0 && r.epochs->len >= opts->epochs)
    info.stopped = "epochs";
  else
    info.stopped = "early-stop";

  /* 7. write the model directory (also after Ctrl+C: a clean checkpoint) */
  p.phase = MVA_TRAIN_PHASE_SAVING;
  if (progress)
    progress (&p, user_data);
  st = mve_tokenizer_save (tok, tok_path, err, sizeof err);
  if (st != MVE_STATUS_OK)
    {
      g_set_error (error, MVA_TRAINER_ERROR, MVA_TRAINER_ERROR_IO, "%s", err);
      goto out;
    }
  {
    const char *meta[] = { "mve.tokenizer", "tokenizer.json", NULL };
    st = mve_model_save (model, model_path, meta, err, sizeof err);
    if (st != MVE_STATUS_OK)
      {
        g_set_error (error, MVA_TRAINER_ERROR, MVA_TRAINER_ERROR_IO, "%s", err);
        goto out;
      }
  }
  info.finished = iso_now ();
  if (!write_log (&r, &info, log_path, error))
    goto out;
  if (summary != NULL)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      add_summary_members (b, &r, &info);
      json_builder_end_object (b);
      *summary = json_builder_get_root (b);
    }
  ok = TRUE;

out:
  if (r.pairs != NULL)
    for (guint i = 0; i < r.n_pairs; i++)
      tok_pair_clear (&r.pairs[i]);
  g_free (r.pairs);
  g_free (r.train);
  g_free (r.val);
  _mva_batcher_free (r.batcher);
  g_free (r.pair_image);
  g_free (r.in_batch);
  g_free (r.images);
  g_free (r.question);
  g_free (r.question_len);
  g_free (r.answer);
  g_free (r.answer_len);
  if (r.steps)
    g_array_unref (r.steps);
  if (r.epochs)
    g_array_unref (r.epochs);
  if (r.rand)
    g_rand_free (r.rand);
  g_free (info.started);
  g_free (info.device_note);
  g_free (info.finished);
  mve_model_free (model);
  mve_backend_close (backend);
  mve_tokenizer_free (tok);
  return ok;
}

gboolean
mva_trainer_run (const MvaTrainOptions *opts,
                 MvaTrainProgressFunc   progress,
                 gpointer               user_data,
                 GCancellable          *cancellable,
                 gboolean              *cancelled,
                 JsonNode             **summary,
                 GError               **error)
{
  return trainer_run (opts, NULL, progress, user_data, cancellable, cancelled, summary, error);
}

gboolean
mva_trainer_run_dataset (const MvaTrainOptions *opts,
                         MvaDataset            *dataset,
                         MvaTrainProgressFunc   progress,
                         gpointer               user_data,
                         GCancellable          *cancellable,
                         gboolean              *cancelled,
                         JsonNode             **summary,
                         GError               **error)
{
  g_return_val_if_fail (dataset != NULL, FALSE);
  return trainer_run (opts, dataset, progress, user_data, cancellable, cancelled, summary, error);
}
