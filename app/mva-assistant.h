/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-assistant.h: the assistant workflow of DESIGN.md (GLib, no GTK):
 * locate and load a model, ask a question about a micrograph with tokens
 * streamed as they are generated, classify into the 10 categories, record
 * answers and reviews in the library, and retrain from reviews.
 * The attention overlay is drawn by mva-overlay.h.
 *
 *   g_autoptr(GError) error = NULL;
 *   g_autofree char *dir = mva_assistant_default_model_dir (&error);
 *   g_autoptr(MvaAssistantModel) model = mva_assistant_model_load (dir, 2, &error);
 *   g_autoptr(MvaImage) image = mva_image_load ("a.tif", 0, &error);
 *   MvaAskRequest req = { .family = 3 };          // preset question of family 3
 *   g_autoptr(MvaAnswer) a = mva_assistant_ask (model, image, &req, on_token, NULL,
 *                                                NULL, &error);
 *   g_print ("%s (%.0f ms)\n", a->answer, a->ms);
 *
 *   GArray *ranking = mva_assistant_classify (model, image, NULL, &error);
 *   // g_array_index (ranking, MvaCategoryScore, 0) is the best category
 *
 * Threading: an MvaAssistantModel is reference counted and may be shared by
 * threads; calls that run it (ask, classify) take its internal lock, so two
 * threads asking at once run one after the other. The blocking calls
 * (mva_assistant_ask, mva_assistant_classify, mva_assistant_retrain) run their
 * callbacks in the calling thread: call them from a worker thread in a GUI
 * and marshal yourself, or use the _async variants, which run on a thread
 * of their own (not GTask's pool) and deliver every callback (tokens, progress) and the
 * GAsyncReadyCallback in the thread-default GMainContext of the thread that
 * called _async, in order: all token/progress callbacks come before the
 * ready callback. Cancelling the GCancellable stops generation or training
 * between steps; the call then fails with MVA_ASSISTANT_ERROR_CANCELLED
 * (a retrain cancelled after its first step still fails: nothing is recorded).
 *
 * Attention maps: one map per generated token of n_patches = grid * grid
 * floats (grid 7 for the 224-pixel, 32-pixel-patch model), row-major, patch
 * (r, c) covering rows [r, r+1) * h / grid and columns [c, c+1) * w / grid of
 * the image area above the data bar (mva-preprocess.h). Each map sums to 1
 * (renormalised over the patches: the engine leaves the image <cls> token out).
 * In the library (MvaQaPair.attention) the blob is the n_tokens maps one after
 * the other as native-endian float32, (n_tokens, n_patches); n_tokens is the
 * length of MvaQaPair.tokens (int32 ids, native endian), so n_patches is
 * blob size / 4 / n_tokens. See mva_assistant_attention_from_blob.
 *
 * Model locations: a model is a folder holding model.safetensors and
 * tokenizer.json (what `mvaema-cli train` writes). The default model is
 * $MVAEMA_MODEL if set, else data/models/default of the source tree when run
 * uninstalled, else PKGDATADIR/models/default. With a library, the current
 * model is its adopted model version if any, else the default model; models
 * made by retraining live in <library folder>/models/vN.
 */
#pragma once

#include <gio/gio.h>

#include "mva-image.h"

G_BEGIN_DECLS

/* From mva-store.h (repeated so this header does not pull it in). */
typedef struct _MvaStore MvaStore;

#define MVA_ASSISTANT_ERROR (mva_assistant_error_quark ())

typedef enum
{
  MVA_ASSISTANT_ERROR_MODEL,      /* no model, or a model folder that cannot be loaded */
  MVA_ASSISTANT_ERROR_IMAGE,      /* the image cannot be used (no rows above the data bar) */
  MVA_ASSISTANT_ERROR_INVALID,    /* bad argument (family out of range, empty question, ...) */
  MVA_ASSISTANT_ERROR_ENGINE,     /* the engine failed; message says why */
  MVA_ASSISTANT_ERROR_CANCELLED,  /* stopped through the GCancellable */
  MVA_ASSISTANT_ERROR_NO_DATA,    /* retrain: no reviewed pairs to learn from */
  MVA_ASSISTANT_ERROR_IO,         /* cannot write a model folder */
} MvaAssistantError;

GQuark mva_assistant_error_quark (void);

/* --- families and categories ------------------------------------------------ */

#define MVA_ASSISTANT_N_FAMILIES   10
#define MVA_ASSISTANT_N_CATEGORIES 10

/* family 1..10 (DESIGN.md): short label ("Size and distribution") and the
 * preset question asked by the ask box. NULL when out of range. */
const char *mva_assistant_family_label    (guint family);
const char *mva_assistant_family_question (guint family);

/* index 0..9: "biological", "fibres", "films", "mems", "nanowires",
 * "particles", "patterned", "porous", "powder", "tips" (DESIGN.md). */
const char *mva_assistant_category_name   (guint index);
gboolean    mva_assistant_category_index  (const char *name, guint *out_index);
/* "This SEM image shows nanowires." with the category's phrase, as the
 * training data writes it; NULL for an unknown category. */
char       *mva_assistant_caption         (const char *category);

/* The question used for classification: "What type of nanomaterial is shown?" */
#define MVA_ASSISTANT_CLASSIFY_QUESTION "What type of nanomaterial is shown?"

/* --- models --------------------------------------------------------------------- */

typedef struct _MvaAssistantModel MvaAssistantModel;

/* The default model folder (see top); NULL + MVA_ASSISTANT_ERROR_MODEL when
 * none of the candidates holds model.safetensors. */
char              *mva_assistant_default_model_dir (GError **error);

/* The current model folder of a library: its adopted version's folder, else
 * the default model folder. */
char              *mva_assistant_current_model_dir (MvaStore  *store,
                                                    GError   **error);

/* Load DIR/model.safetensors + DIR/tokenizer.json with `threads` engine
 * threads (0: number of CPUs). Errors name the file and say what is wrong. */
MvaAssistantModel *mva_assistant_model_load        (const char  *dir,
                                                    guint        threads,
                                                    GError     **error);
MvaAssistantModel *mva_assistant_model_ref         (MvaAssistantModel *model);
void               mva_assistant_model_unref       (MvaAssistantModel *model);
const char        *mva_assistant_model_get_dir     (MvaAssistantModel *model); /* absolute */
/* Short name for display and JSON: the folder's name ("default", "v3"). */
const char        *mva_assistant_model_get_name    (MvaAssistantModel *model);
guint              mva_assistant_model_get_grid    (MvaAssistantModel *model); /* 7 */
guint              mva_assistant_model_get_image_size (MvaAssistantModel *model); /* 224 */
guint              mva_assistant_model_get_max_answer_len (MvaAssistantModel *model);
void               mva_assistant_model_set_threads (MvaAssistantModel *model, guint threads);

/* --- ask ------------------------------------------------------------------------ */

typedef struct
{
  const char *question;   /* free text; NULL or "" with family > 0: the preset question */
  guint       family;     /* 1..10, or 0 for a free question */
  const char *category;   /* known category (user-set or predicted; NULL: the model's best
                           * guess is used, except with model_only): the prompt starts
                             with its caption; NULL: no caption */
  guint       max_tokens; /* 0: the model's max_answer_len */
  gboolean    model_only; /* TRUE: answer is the generated text as is, never the
                             metadata scale (MvaAnswer below); eval uses it */
} MvaAskRequest;

typedef struct
{
  char    *model_dir;        /* the model that answered */
  char    *model_name;
  guint    family;           /* as requested */
  char    *category;         /* as requested, else the model's best guess (classify), or NULL */
  gboolean category_predicted; /* category is the model's guess, not the request's */
  char    *question;         /* the question without the caption */
  char    *caption;          /* "This SEM image shows ..." or NULL */
  char    *answer;           /* the answer text (valid UTF-8) */
  guint    n_tokens;
  gint32  *tokens;           /* (n_tokens) generated ids, <EOS> left out */
  char   **pieces;           /* (n_tokens + 1) NULL-terminated: the text each token added */
  guint    grid;             /* attention grid side */
  guint    n_patches;        /* grid * grid */
  float   *attention;        /* (n_tokens, n_patches) per-token maps */
  float   *mean_attention;   /* (n_patches) the whole answer's map (mean over tokens) */
  double   ms;               /* from the call to the last token, including preprocessing */
  double   first_token_ms;   /* from the call to the first token (-1 if none) */
  /* The scale from the instrument metadata (issue 6): when the question asks
   * for the scale (family 1, or the text says "scale", "pixel size", "per
   * pixel", "field of view", "field width" or "magnification") and the
   * image's meta.pixel_size_nm is known, the sentences of the generated text
   * that state a scale are replaced by one sentence from the metadata
   * ("According to the instrument metadata, each pixel covers 4.88 nm, so the
   * field of view is 5.00 µm wide."; field of view = full_width × pixel size);
   * then answer differs from generated. tokens, pieces and attention always
   * describe generated (pieces concatenate to it, and mva_answer_token_at's
   * offsets are into it); the metadata sentence has no tokens of its own:
   * its overlay is the whole-answer map (mean_attention). When the pixel
   * size is unknown, the scale sentences give way to "The file carries no
   * pixel size, so the scale cannot be read from it ...".
   * Likewise the instrument's settings: family 8 (imaging technique) or a
   * question about the voltage, detector, working distance or instrument
   * gets the metadata's instrument, detector, kV, working distance and
   * magnification in one sentence in place of the model's (a guess learnt
   * from synthetic answers), or "The file carries no instrument settings
   * ...". Otherwise answer == generated and the fields below are FALSE / NAN. */
  char    *generated;        /* the model's text: the pieces concatenated */
  gboolean scale_from_metadata;
  double   pixel_size_nm;    /* nm per pixel from the metadata, or NAN */
  double   field_of_view_um; /* full_width × pixel size, µm, or NAN */
  gboolean instrument_from_metadata; /* the settings sentence is the file's */
  char    *instrument_settings; /* "FEI Quanta FEG, detector ETD Custom, 10 kV, ..." or NULL */
  gboolean scale_asked;      /* the question asks for the scale (the rule above) */
  gboolean instrument_asked; /* ... for the instrument's settings */
  /* Sizes measured on the image (mva-assistant-measure.c): for family 3 or a
   * question about size or diameter, on an image of a category whose size
   * mva-measure.c measures (particles, nanowires, porous, fibres;
   * the answer's category), the
   * answer's sentences stating lengths give way to "Measured on the image,
   * the typical particle diameter is about 48 nm (...)". */
  gboolean size_measured;
  double   size_px;          /* typical size in file pixels, or NAN */
  double   size_nm;          /* ... in nm (needs the pixel size), or NAN */
  char    *size_category;    /* the category it was measured as, or NULL */
} MvaAnswer;

void       mva_answer_free (MvaAnswer *answer);

/* Byte ranges [from, to) of answer->generated (pairs of gsize, flattened)
 * holding the sentences the metadata and measurement rules left out of
 * answer->answer (of a sentence whose lengths alone were replaced by the
 * measured one, family 10: just those lengths): the model's guesses that a
 * display may strike through. Empty when answer == generated. Caller
 * unrefs. */
GArray    *mva_answer_superseded_ranges (const MvaAnswer *answer);

/* The token whose piece holds byte offset `offset` of answer->generated (for
 * "the word under the pointer"); -1 when out of range. */
gint       mva_answer_token_at        (const MvaAnswer *answer,
                                       gsize            offset);
/* Mean attention map (n_patches, caller frees) of tokens [first, first + n)
 * (clamped), e.g. the tokens of one word; the whole-answer map when n is 0. */
float     *mva_answer_span_attention  (const MvaAnswer *answer,
                                       guint            first,
                                       guint            n);

/* Called once per generated token: index from 0, the token id, the text it
 * adds to the answer (may be "" for a partial UTF-8 sequence), and its
 * attention map (n_patches floats, valid during the call only). Runs in the
 * calling thread (blocking call) or the caller's main context (_async). */
typedef void (*MvaAskTokenFunc) (guint        index,
                                 gint32       token,
                                 const char  *piece,
                                 const float *attention,
                                 guint        n_patches,
                                 gpointer     user_data);

/* Answer a question about image (as loaded by mva_image_load). Blocking. */
MvaAnswer *mva_assistant_ask        (MvaAssistantModel   *model,
                                     const MvaImage      *image,
                                     const MvaAskRequest *request,
                                     MvaAskTokenFunc      on_token,
                                     gpointer             user_data,
                                     GCancellable        *cancellable,
                                     GError             **error);

/* The same on a worker thread; image is loaded there from image_path (the
 * path form keeps the GUI thread free of decoding too). on_token and
 * callback run in the calling thread's thread-default main context;
 * user_data must stay valid until callback has run. request's strings are
 * copied. */
void       mva_assistant_ask_async  (MvaAssistantModel   *model,
                                     const char          *image_path,
                                     const MvaAskRequest *request,
                                     MvaAskTokenFunc      on_token,
                                     gpointer             user_data,
                                     GCancellable        *cancellable,
                                     GAsyncReadyCallback  callback,
                                     gpointer             callback_data);
MvaAnswer *mva_assistant_ask_finish (GAsyncResult  *result,
                                     GError       **error);

/* --- classify -------------------------------------------------------------------- */

typedef struct
{
  const char *category;   /* static string, as mva_assistant_category_name */
  double      score;      /* softmax over the 10 log-likelihoods; sums to 1 */
  double      logprob;    /* log-likelihood of the answer "<category>" */
} MvaCategoryScore;

/* All 10 categories, best first (GArray of MvaCategoryScore). Blocking. */
GArray    *mva_assistant_classify        (MvaAssistantModel  *model,
                                          const MvaImage     *image,
                                          GCancellable       *cancellable,
                                          GError            **error);
void       mva_assistant_classify_async  (MvaAssistantModel  *model,
                                          const char         *image_path,
                                          GCancellable       *cancellable,
                                          GAsyncReadyCallback callback,
                                          gpointer            callback_data);
GArray    *mva_assistant_classify_finish (GAsyncResult  *result,
                                          GError       **error);

/* A length as the assistant's metadata sentence writes it: nm, µm or mm
 * with three significant digits ("7.37 nm", "34.8 µm", "136 nm"). */
char      *mva_assistant_format_length   (double              nm);

/* The model's log-likelihood of `answer` (and the <EOS> after it) as the
 * answer to `question` about image, asked as mva_assistant_ask asks it (with
 * the caption of `category` when that is given); *n_tokens (may be NULL)
 * receives the number of tokens scored. Teacher-forced: unlike a greedy
 * answer, it changes smoothly with the weights. Blocking. */
gboolean   mva_assistant_answer_logprob  (MvaAssistantModel  *model,
                                          const MvaImage     *image,
                                          const char         *question,
                                          const char         *category,
                                          const char         *answer,
                                          double             *logprob,
                                          guint              *n_tokens,
                                          GCancellable       *cancellable,
                                          GError            **error);

/* --- library ------------------------------------------------------------------------ */

/* Attention blob of the library (layout at the top) from an answer / back.
 * from_blob: FALSE when the sizes do not fit (n_tokens = 0 is valid). */
GBytes    *mva_assistant_attention_blob      (const MvaAnswer *answer);
GBytes    *mva_assistant_tokens_blob         (const MvaAnswer *answer);
gboolean   mva_assistant_attention_from_blob (GBytes  *attention,
                                              GBytes  *tokens,
                                              guint   *out_n_tokens,
                                              guint   *out_n_patches,
                                              float  **out_maps);

/* The model version row of a model folder: the existing one whose file_path
 * is DIR/model.safetensors, else a new row named after the folder (adopted
 * when the library has no adopted model yet). Returns the id or 0. */
gint64     mva_assistant_model_version_for_dir (MvaStore    *store,
                                                const char  *model_dir,
                                                GError     **error);

/* Record an answer as a MODEL pair of micrograph_id (tokens, attention,
 * family, model version of answer->model_dir). Returns the pair id or 0. */
gint64     mva_assistant_record_answer       (MvaStore         *store,
                                              gint64            micrograph_id,
                                              const MvaAnswer  *answer,
                                              GError          **error);

/* Reviewed pairs (accepted or corrected, any source) reviewed after the
 * current model version was created: what a retrain would add. -1 on error. */
gint64     mva_assistant_count_new_reviews   (MvaStore  *store,
                                              GError   **error);

/* Adopt version id; roll back to the version the current one was fine-tuned
 * from (*out_id gets it; error when there is none); discard a version that
 * is not adopted (its folder is deleted and its metrics say "discarded"). */
gboolean   mva_assistant_adopt               (MvaStore *store, gint64 id, GError **error);
gboolean   mva_assistant_rollback            (MvaStore *store, gint64 *out_id, GError **error);
gboolean   mva_assistant_discard             (MvaStore *store, gint64 id, GError **error);

/* --- retrain from reviews ---------------------------------------------------------------- */

typedef struct
{
  const char *base_model_dir;   /* NULL: the library's current model */
  const char *models_dir;       /* NULL: <library folder>/models */
  guint64     steps;            /* 0: 200 */
  guint       batch;            /* 0: 16 */
  double      lr;               /* 0: 3e-4 */
  double      replay_ratio;     /* replay pairs per reviewed training pair (at least four
                                 * batches of them); < 0: 1.0; 0: no replay */
  double      holdout_fraction; /* reviewed images held out for the comparison; < 0: 0.2 */
  guint       threads;          /* 0: number of CPUs */
  guint64     seed;
  guint       correction_repeat; /* copies of each corrected pair in the training set; 0: 3 */
  gint        focus_rounds;     /* rounds of focused training on corrections the new model
                                 * does not yet answer word for word; < 0: 4; 0: none */
  const char *device;           /* "cpu", "cuda" or "auto" (NULL: auto; mva-device.h) */
} MvaRetrainOptions;

void mva_retrain_options_init (MvaRetrainOptions *opts); /* the defaults above */

typedef enum
{
  MVA_RETRAIN_PHASE_PREPARING,  /* collecting pairs and loading images (done/total) */
  MVA_RETRAIN_PHASE_TRAINING,   /* one step finished: step/total, loss */
  MVA_RETRAIN_PHASE_EVALUATING, /* old and new model on held-out pairs (done/total) */
  MVA_RETRAIN_PHASE_SAVING,
  MVA_RETRAIN_PHASE_FOCUSING,   /* one step of the focus rounds on corrections not yet learned:
                                 * done/total within those rounds, loss */
} MvaRetrainPhase;

typedef struct
{
  MvaRetrainPhase phase;
  guint64         done, total;   /* images, steps or answers, by phase */
  double          loss;          /* TRAINING: total loss of the step */
  double          lm;            /* TRAINING: LM loss of the step */
} MvaRetrainProgress;

typedef void (*MvaRetrainProgressFunc) (const MvaRetrainProgress *progress,
                                        gpointer                  user_data);

typedef struct
{
  gint64   model_version_id;  /* the new version (not adopted) */
  gint64   base_version_id;   /* the version it was fine-tuned from */
  gint64   training_run_id;
  char    *model_dir;
  guint    n_reviewed;        /* reviewed pairs used for training */
  guint    n_replay;          /* replay pairs from the base model's data / the library */
  guint    n_heldout;         /* reviewed pairs the comparison used (at most 40 of the
                                 held-out ones; answers up to 64 tokens) */
  gboolean heldout_is_train;  /* too few reviewed images to hold any out: the
                                 comparison ran on the training pairs */
  guint    n_corrected;       /* corrected pairs trained on (never held out) */
  guint    n_reflected;       /* of those (the newest 40 at most), answered word for word
                                 by the new model */
  guint    focus_rounds;      /* focused rounds it took (MvaRetrainOptions.focus_rounds) */
  char    *device;            /* where it trained: "cpu" or "cuda" */
  char    *device_note;       /* why a CUDA preference trained on the CPU, or NULL */
  double   old_bleu4, old_rouge_l, old_meteor;
  double   new_bleu4, new_rouge_l, new_meteor;
  /* mean negative log-likelihood per token of the held-out reference answers
   * (teacher-forced, lower is better): unlike the greedy answers' scores it
   * does not jump when a near-tie token flips; NAN when nothing was scored */
  double   old_nll, new_nll;
  double   final_loss;
  double   seconds;
} MvaRetrainResult;

void mva_retrain_result_free (MvaRetrainResult *result);

/* Fine-tune the current (or given) model on the library's reviewed pairs
 * (accepted: the answer, or where the assistant replaced sentences of it
 * from the metadata or a measurement, the model's own text; corrected: the
 * corrected text, repeated correction_repeat times and never held out;
 * rejected: left out) plus a replay sample of the base model's training
 * data (where that is not at hand, as for an installed default model: the
 * library's synthetic pairs, else a synthetic replay set made once in
 * <library folder>/replay-synth); then, while the new model does not
 * answer a corrected question with its corrected text (word for word, up
 * to case and spacing) and focus rounds are left, train it further on
 * those corrections (round k: k * 100 steps; all rounds at most twice as
 * many pairs as the main run) together with the other reviewed answers
 * about the same images and as many replay partners (a short answer among
 * long ones carries little weight in the per-token loss, so the main run
 * alone may not learn it; without the same image's other answers the
 * correction leaks into all of them); compare old and new on held-out
 * reviewed pairs (BLEU-4, ROUGE-L, METEOR), write <models_dir>/vN and
 * record it as a model version (parent = base, not adopted) with its
 * training run and metrics. Blocking; progress runs in the calling
 * thread. */
MvaRetrainResult *mva_assistant_retrain        (MvaStore                *store,
                                                const MvaRetrainOptions *options,
                                                MvaRetrainProgressFunc   progress,
                                                gpointer                 user_data,
                                                GCancellable            *cancellable,
                                                GError                 **error);
/* The same on a worker thread; progress and callback run in the caller's
 * thread-default main context (progress_data must outlive callback). */
void              mva_assistant_retrain_async  (MvaStore                *store,
                                                const MvaRetrainOptions *options,
                                                MvaRetrainProgressFunc   progress,
                                                gpointer                 progress_data,
                                                GCancellable            *cancellable,
                                                GAsyncReadyCallback      callback,
                                                gpointer                 callback_data);
MvaRetrainResult *mva_assistant_retrain_finish (GAsyncResult  *result,
                                                GError       **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MvaAssistantModel, mva_assistant_model_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MvaAnswer, mva_answer_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MvaRetrainResult, mva_retrain_result_free)

G_END_DECLS
