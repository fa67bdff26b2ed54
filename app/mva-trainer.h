/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-trainer.h: training data sets and training runs (GLib, no GTK).
 *
 * MvaDataset reads a folder in the layout `mvaema-cli synth` writes: qa.jsonl
 * (one object per line with keys image (path relative to the folder),
 * category, family, question, answer, and optionally caption and params) and
 * the images it names (TIFF/PNG/JPEG/DM3/DM4). Every image is loaded once and
 * kept as its preprocessed 224x224 RGB8 form (mva-preprocess.h, 147 KB an
 * image). mva_dataset_image_floats gives the model input of image i; prefer it
 * to reading pixels directly, so the cache can shrink gray images later.
 *
 * mva_trainer_run trains a model on a data set: it builds the tokenizer from
 * the training text when starting fresh (or takes the one of --init), holds
 * out a validation split by image, runs the engine's training loop with
 * progress through a callback, stops cleanly when the GCancellable fires,
 * and writes OUT/model.safetensors, OUT/tokenizer.json and OUT/train-log.json.
 *
 *   MvaTrainOptions opts;
 *   mva_train_options_init (&opts);
 *   opts.data_dir = "synth"; opts.out_dir = "model"; opts.steps = 200;
 *   g_autoptr(JsonNode) summary = NULL;
 *   if (!mva_trainer_run (&opts, on_progress, NULL, cancellable, &summary, &error)) ...
 *
 * Threading: mva_trainer_run blocks; run it in a worker thread in a GUI. The
 * progress callback runs in that thread.
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define MVA_TRAINER_ERROR (mva_trainer_error_quark ())

typedef enum
{
  MVA_TRAINER_ERROR_DATA,       /* bad qa.jsonl, missing or unreadable image */
  MVA_TRAINER_ERROR_ENGINE,     /* the engine refused (message says why) */
  MVA_TRAINER_ERROR_IO,         /* cannot write the model directory */
  MVA_TRAINER_ERROR_CANCELLED,  /* stopped before a model existed */
  MVA_TRAINER_ERROR_INVALID,    /* bad options */
} MvaTrainerError;

GQuark mva_trainer_error_quark (void);

/* --- data set ------------------------------------------------------------- */

typedef struct
{
  guint  image;      /* index into the data set's images */
  char  *category;   /* may be NULL */
  int    family;     /* 0 when absent */
  char  *question;   /* without the caption */
  char  *caption;    /* "This SEM image shows ..." or NULL */
  gboolean asked_with_caption; /* qa.jsonl's question started with the caption */
  char  *answer;
} MvaQaPair;

typedef struct
{
  char       *dir;
  guint       size;        /* side of the cached images */
  guint       n_images;
  char      **image_paths; /* (n_images) absolute paths */
  guint8    **pixels;      /* (n_images) size*size*3 RGB8 each */
  guint8     *channels;    /* (n_images) channels of pixels[i]: 3 (RGB interleaved) */
  GArray     *pairs;       /* of MvaQaPair */
  GHashTable *index;       /* canonical path -> image index */
  gboolean    loaded;      /* images preprocessed */
} MvaDataset;

typedef void (*MvaDatasetProgress) (guint done, guint total, gpointer user_data);

/* An empty data set; relative image paths are taken relative to dir (may be
 * NULL: the working directory). Images are cached at size x size. */
MvaDataset *mva_dataset_new  (const char *dir,
                              guint       size);
/* Add one question/answer pair about image (a file path); the image is
 * shared with earlier pairs naming the same file. caption (may be NULL) is
 * removed from the front of question when it is there. Returns the pair's
 * index. Only before mva_dataset_load_images. */
guint       mva_dataset_add_pair (MvaDataset *ds,
                                  const char *image,
                                  const char *question,
                                  const char *answer,
                                  const char *caption,
                                  const char *category,
                                  int         family);
/* Load and preprocess every image with `threads` workers; progress from the
 * calling thread, at most once a second. */
gboolean    mva_dataset_load_images (MvaDataset         *ds,
                                     guint               threads,
                                     MvaDatasetProgress  progress,
                                     gpointer            user_data,
                                     GCancellable       *cancellable,
                                     GError            **error);

/* Read DIR/qa.jsonl and preprocess every image it names with `threads`
 * workers. Errors name the file and line. */
MvaDataset *mva_dataset_load (const char         *dir,
                              guint               size,
                              guint               threads,
                              MvaDatasetProgress  progress,
                              gpointer            user_data,
                              GCancellable       *cancellable,
                              GError            **error);
void        mva_dataset_free (MvaDataset *ds);
/* Planar (3, size, size) floats in [-1, 1] of image i into out. */
void        mva_dataset_image_floats (const MvaDataset *ds,
                                      guint             i,
                                      float            *out);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MvaDataset, mva_dataset_free)

/* --- training run ------------------------------------------------------------ */

typedef struct
{
  const char *data_dir;
  const char *out_dir;
  const char *init_dir;      /* NULL: fresh model and tokenizer */
  const char *config;        /* "paper" (default) or "small"; ignored with init_dir */
  guint       epochs;        /* 0 with steps > 0: steps decide */
  guint64     steps;         /* 0: epochs decide */
  guint64     seed;
  guint       threads;
  guint       batch;         /* 48 */
  double      lr;            /* 1e-3 */
  double      val_fraction;  /* 0.1 of the images */
  double      caption_prob;  /* 0.5: chance a training question starts with its caption */
  gboolean    augment;       /* training images mirrored left-right half the time, contrast
                              * x0.8..1.25, brightness +-0.1 and Gaussian noise up to 0.05
                              * (validation images never); geometry-changing crops are left
                              * out: sizes in the answers would no longer match the image */
  gboolean    fixed_schedule; /* every one of `steps` at lr (after the warmup): no halving of
                               * lr on a plateau, no early stop. For fine-tunes on a few pairs,
                               * whose epochs are a batch or two long and whose per-epoch loss
                               * says nothing about a plateau */
  guint       vocab_size;    /* 8192 for a fresh tokenizer */
  gboolean    no_itc, no_itm, no_sa, no_ca, no_csa; /* ablations */
  gint64      warmup_steps;  /* linear lr warmup; -1 (default): min(200, 5% of the
                              * run's steps); 0: none */
  const char *device;        /* "cpu", "cuda" or "auto" (NULL: auto; mva-device.h); a CUDA
                              * preference CUDA cannot honour runs on the CPU, and the
                              * log's "device_note" says why */
} MvaTrainOptions;

void mva_train_options_init (MvaTrainOptions *opts);

typedef enum
{
  MVA_TRAIN_PHASE_LOADING,   /* done/total images */
  MVA_TRAIN_PHASE_TOKENIZER,
  MVA_TRAIN_PHASE_STEP,      /* one training step finished */
  MVA_TRAIN_PHASE_EPOCH,     /* validation after an epoch */
  MVA_TRAIN_PHASE_SAVING,
} MvaTrainPhase;

typedef struct
{
  MvaTrainPhase phase;
  guint   done, total;       /* LOADING */
  guint64 step, total_steps; /* STEP (total_steps 0 when epochs decide) */
  guint   epoch;             /* 1-based */
  double  loss, itc, itm, lm, lr, samples_per_s;  /* STEP */
  double  val_loss;          /* EPOCH */
  guint   batch;             /* STEP: pairs in the step's batch */
} MvaTrainProgress;

typedef void (*MvaTrainProgressFunc) (const MvaTrainProgress *p, gpointer user_data);

/* Train. Returns TRUE when a model was written (also when cancelled after
 * the first step: *cancelled is then TRUE and the checkpoint holds the last
 * finished step). *summary (may be NULL) gets a JSON object describing the
 * run (the same fields as train-log.json without the per-step lists). */
gboolean mva_trainer_run (const MvaTrainOptions *opts,
                          MvaTrainProgressFunc   progress,
                          gpointer               user_data,
                          GCancellable          *cancellable,
                          gboolean              *cancelled,
                          JsonNode             **summary,
                          GError               **error);

/* The same on a data set built in memory (mva_dataset_new/add_pair, e.g.
 * reviewed pairs plus a replay sample for retraining); its images are loaded
 * here if they are not yet. opts->data_dir may be NULL (the log then names
 * the data set's dir). The data set must cache images at the model's size
 * (224 for every shipped configuration). */
gboolean mva_trainer_run_dataset (const MvaTrainOptions *opts,
                                  MvaDataset            *dataset,
                                  MvaTrainProgressFunc   progress,
                                  gpointer               user_data,
                                  GCancellable          *cancellable,
                                  gboolean              *cancelled,
                                  JsonNode             **summary,
                                  GError               **error);

G_END_DECLS
