/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-store.h: the library. One SQLite database holding micrographs,
 * question/answer pairs, reviews, datasets and splits, model versions,
 * training runs and the teacher request log.
 *
 *   g_autoptr(GError) error = NULL;
 *   g_autoptr(MvaStore) store = mva_store_open (NULL, 0, &error); // default path
 *   if (store == NULL) { g_printerr ("%s\n", error->message); return 1; }
 *   gint64 id = mva_store_add_micrograph_file (store, "x.tif", NULL, 0, NULL, &error);
 *   MvaQaPair qa = { .micrograph_id = id, .source = MVA_QA_SOURCE_USER,
 *                    .question = "What is shown?", .answer = "Nanowires." };
 *   gint64 qa_id = mva_store_add_qa (store, &qa, FALSE, NULL, &error);
 *   mva_store_add_review (store, qa_id, MVA_REVIEW_ACCEPTED, NULL, "alice", &error);
 *
 * Location: mva_store_default_path (): $MVAEMA_DB if set, else
 * $XDG_DATA_HOME/mvaema/library.db. mvaema-cli's --db FILE overrides both.
 *
 * Database: WAL journal, foreign_keys=ON, busy_timeout 10 s, application_id
 * 0x4D564145 ("MVAE"), schema version in PRAGMA user_version, migrations
 * forward only (MVA_STORE_SCHEMA_VERSION is the current one). A file that is
 * not SQLite, is SQLite with a foreign schema, is corrupt, or was written by
 * a newer version is refused with an error and never modified.
 *
 * Thread-safety: an MvaStore may be shared by any number of threads (take a
 * reference with mva_store_ref for each worker). Writes go through one
 * writer connection behind a recursive mutex; reads use a pool of reader
 * connections, so the GUI thread reads the last committed state while a
 * worker writes, and is never blocked by it. mva_store_begin () ...
 * mva_store_commit () groups writes into one transaction (held by the
 * calling thread; other threads' writes wait); reads made by that thread
 * inside its transaction see its uncommitted rows. Nested begin/commit pairs
 * are savepoints. Every write function is atomic on its own and joins the
 * caller's transaction when there is one.
 *
 * Times are Unix microseconds (g_get_real_time ()). Ids are > 0; 0 means
 * "none" in id fields and filters. Records returned by the getters are owned
 * by the caller (free with the matching _free or the GPtrArray's free func).
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define MVA_STORE_ERROR          (mva_store_error_quark ())
#define MVA_STORE_SCHEMA_VERSION 4
#define MVA_STORE_APPLICATION_ID 0x4D564145

typedef enum
{
  MVA_STORE_ERROR_FAILED,         /* SQLite or I/O failure; message says which */
  MVA_STORE_ERROR_NOT_A_LIBRARY,  /* not SQLite, or SQLite with a foreign schema */
  MVA_STORE_ERROR_CORRUPT,        /* SQLite reports corruption */
  MVA_STORE_ERROR_TOO_NEW,        /* written by a newer MVaEMa (user_version) */
  MVA_STORE_ERROR_NEEDS_MIGRATION,/* read-only open of an older schema */
  MVA_STORE_ERROR_READ_ONLY,      /* file or folder not writable */
  MVA_STORE_ERROR_FULL,           /* disk (or quota / file size limit) full */
  MVA_STORE_ERROR_NOT_FOUND,      /* no row with that id / file missing */
  MVA_STORE_ERROR_EXISTS,         /* unique name already taken */
  MVA_STORE_ERROR_INVALID,        /* bad argument or bad input data */
  MVA_STORE_ERROR_CANCELLED,      /* stopped through the GCancellable */
} MvaStoreError;

typedef enum
{
  MVA_STORE_OPEN_DEFAULT    = 0,      /* read-write, create and migrate as needed */
  MVA_STORE_OPEN_READ_ONLY  = 1 << 0, /* no writes; file must exist and be current */
  MVA_STORE_OPEN_NO_MIGRATE = 1 << 1, /* with READ_ONLY: accept older schemas (db check) */
} MvaStoreOpenFlags;

/* Where a micrograph's category came from. */
typedef enum
{
  MVA_CATEGORY_SOURCE_NONE = 0,
  MVA_CATEGORY_SOURCE_USER,
  MVA_CATEGORY_SOURCE_IMPORT,
  MVA_CATEGORY_SOURCE_PREDICTION,
} MvaCategorySource;

/* Who wrote a question/answer pair. */
typedef enum
{
  MVA_QA_SOURCE_USER = 0,   /* asked by the user, answer typed or accepted */
  MVA_QA_SOURCE_TEACHER,    /* the optional remote teacher */
  MVA_QA_SOURCE_SYNTHETIC,  /* mvaema-cli synth / the generator */
  MVA_QA_SOURCE_MODEL,      /* our model (model_version_id says which) */
} MvaQaSource;

/* The current review state of a pair = its latest review. */
typedef enum
{
  MVA_REVIEW_NONE = 0,
  MVA_REVIEW_ACCEPTED,
  MVA_REVIEW_CORRECTED,
  MVA_REVIEW_REJECTED,
} MvaReviewState;

/* Bit masks for filters: MVA_REVIEW_MASK (MVA_REVIEW_ACCEPTED) | ... */
#define MVA_REVIEW_MASK(state)  (1u << (state))
#define MVA_REVIEW_MASK_REVIEWED (MVA_REVIEW_MASK (MVA_REVIEW_ACCEPTED) | \
                                  MVA_REVIEW_MASK (MVA_REVIEW_CORRECTED))

typedef enum
{
  MVA_SPLIT_TRAIN = 0,
  MVA_SPLIT_VAL,
  MVA_SPLIT_TEST,
} MvaSplit;

typedef enum
{
  MVA_RUN_PENDING = 0,
  MVA_RUN_RUNNING,
  MVA_RUN_FINISHED,
  MVA_RUN_FAILED,
  MVA_RUN_CANCELLED,
} MvaRunState;

typedef struct _MvaStore MvaStore;

/* ---------------------------------------------------------------- records */

typedef struct
{
  gint64             id;
  char              *sha256;          /* 64 lowercase hex digits of the file's bytes */
  char              *path;            /* last known absolute path (NULL if never on disk) */
  gint64             file_size;       /* bytes; -1 unknown */
  guint              width;           /* 0 unknown (e.g. the loader failed) */
  guint              height;
  guint              channels;
  guint              bit_depth;
  char              *format;          /* "PNG", "TIFF", "DM3", ... */
  double             pixel_size_nm;   /* NAN unknown */
  char              *instrument;      /* NULL unknown */
  char              *metadata_json;   /* {"hv_kv":..,"wd_mm":..,"magnification":..,
                                         "detector":..,"vendor_format":..} or NULL */
  char              *category;        /* NULL uncategorised */
  MvaCategorySource  category_source;
  char              *load_error;      /* why mva_image_load failed, or NULL */
  gint64             added_at;
  gint64             n_qa;            /* filled by list/get: pairs on this image */
} MvaMicrograph;

typedef struct
{
  gint64          id;
  gint64          micrograph_id;
  MvaQaSource     source;
  gint64          model_version_id;  /* 0: none */
  int             family;            /* 1..10 (DESIGN.md), 0: free question */
  char           *question;
  char           *answer;
  GBytes         *tokens;            /* generated token ids, int32 native endian; NULL none */
  GBytes         *attention;         /* attention maps as the assistant writes them
                                        (float32 blob, layout documented in mva-assistant.h) */
  char           *params_json;       /* synth generation parameters (JSON object) or NULL */
  char           *extra_json;        /* other keys of an imported record (JSON object),
                                        written back by export; or NULL */
  char           *teacher_model;     /* model name the teacher reported, or NULL */
  gint64          prompt_tokens;     /* token usage reported by the teacher; -1 unknown */
  gint64          completion_tokens;
  gint64          created_at;
  /* Filled by the getters; ignored by mva_store_add_qa: */
  MvaReviewState  review_state;
  char           *corrected_text;    /* for MVA_REVIEW_CORRECTED */
  char           *reviewer;
  gint64          reviewed_at;
  char           *category;          /* the micrograph's */
  char           *image_path;        /* the micrograph's last known path */
  char           *image_sha256;
} MvaQaPair;

typedef struct
{
  gint64          id;
  gint64          qa_id;
  MvaReviewState  state;             /* ACCEPTED, CORRECTED or REJECTED */
  char           *corrected_text;
  char           *reviewer;
  gint64          reviewed_at;
} MvaReview;

typedef struct
{
  gint64   id;
  char    *name;                     /* unique, e.g. "mvaema-s32 2026-11-26 #3" */
  char    *file_path;                /* safetensors file */
  char    *sha256;                   /* of that file, or NULL */
  gint64   parent_id;                /* model version it was fine-tuned from; 0 none */
  gint64   training_run_id;          /* run that produced it; 0 none */
  gint64   created_at;
  gboolean adopted;                  /* the current model; at most one row */
  char    *metrics_json;             /* evaluation figures (JSON object) or NULL */
} MvaModelVersion;

typedef struct
{
  gint64       id;
  gint64       base_model_id;        /* model version fine-tuned; 0 from scratch */
  gint64       dataset_id;           /* 0 none */
  char        *config_json;          /* training configuration (JSON object) */
  MvaRunState  state;
  char        *epochs_json;          /* JSON array, one object per epoch (losses, metrics) */
  char        *error_message;        /* for FAILED */
  gint64       started_at;
  gint64       finished_at;          /* 0 while pending/running */
} MvaTrainingRun;

typedef struct
{
  gint64   id;
  gint64   micrograph_id;
  int      family;                   /* 1..10 */
  char    *model;                    /* teacher model name */
  gboolean ok;                       /* TRUE ok, FALSE failed */
  char    *reason;                   /* why it failed, or NULL */
  gint64   prompt_tokens;            /* -1 unknown */
  gint64   completion_tokens;
  gint64   created_at;
} MvaTeacherRequest;

typedef struct
{
  char   *category;                  /* NULL: uncategorised */
  gint64  n_micrographs;
  gint64  n_qa;
} MvaCategoryCount;

void   mva_micrograph_free      (MvaMicrograph *m);
void   mva_qa_pair_free         (MvaQaPair *qa);
void   mva_review_free          (MvaReview *r);
void   mva_model_version_free   (MvaModelVersion *mv);
void   mva_training_run_free    (MvaTrainingRun *run);
void   mva_teacher_request_free (MvaTeacherRequest *req);
void   mva_category_count_free  (MvaCategoryCount *c);

/* Enum <-> the strings stored in the database and used in JSON. */
const char        *mva_qa_source_to_string       (MvaQaSource source);
gboolean           mva_qa_source_from_string     (const char *s, MvaQaSource *out);
const char        *mva_review_state_to_string    (MvaReviewState state);  /* "none", "accepted", ... */
gboolean           mva_review_state_from_string  (const char *s, MvaReviewState *out);
const char        *mva_category_source_to_string (MvaCategorySource source);
gboolean           mva_category_source_from_string (const char *s, MvaCategorySource *out);
const char        *mva_split_to_string           (MvaSplit split);         /* "train", "val", "test" */
gboolean           mva_split_from_string         (const char *s, MvaSplit *out);
const char        *mva_run_state_to_string       (MvaRunState state);
gboolean           mva_run_state_from_string     (const char *s, MvaRunState *out);

/* ---------------------------------------------------------------- open */

GQuark      mva_store_error_quark  (void);

/* $MVAEMA_DB, else $XDG_DATA_HOME/mvaema/library.db. */
char       *mva_store_default_path (void);

/* Open (creating the folder and file when missing, unless READ_ONLY) and
 * migrate to MVA_STORE_SCHEMA_VERSION. path NULL: the default path. */
MvaStore   *mva_store_open         (const char         *path,
                                    MvaStoreOpenFlags   flags,
                                    GError            **error);
MvaStore   *mva_store_ref          (MvaStore *store);
void        mva_store_unref        (MvaStore *store);
const char *mva_store_get_path     (MvaStore *store);
int         mva_store_get_schema_version (MvaStore *store); /* as found at open (NO_MIGRATE) */

/* Group writes into one transaction on the calling thread. A nested begin
 * opens a savepoint: its commit releases it, its rollback undoes only the
 * writes since that begin. Only the outermost commit makes writes durable.
 * A failed commit rolls that level back; calling rollback after it is a
 * harmless no-op when no transaction of this thread is left open. */
gboolean    mva_store_begin        (MvaStore *store, GError **error);
gboolean    mva_store_commit       (MvaStore *store, GError **error);
void        mva_store_rollback     (MvaStore *store);

/* SHA-256 of a file's bytes as 64 lowercase hex digits. */
char       *mva_store_hash_file    (const char    *path,
                                    GCancellable  *cancellable,
                                    GError       **error);

/* ---------------------------------------------------------------- micrographs */

/* Insert a micrograph record (m->sha256 required; id, n_qa and added_at
 * ignored). If one with the same hash exists, its path is updated to m->path
 * (when given), *added is FALSE and its id is returned. Returns 0 on error. */
gint64      mva_store_add_micrograph      (MvaStore            *store,
                                           const MvaMicrograph *m,
                                           gboolean            *added,
                                           GError             **error);

/* Hash the file, read its facts with mva_image_load (a loader failure is
 * recorded in load_error, not returned as an error) and add it. category may
 * be NULL. Returns the id (existing or new) or 0 on error. */
gint64      mva_store_add_micrograph_file (MvaStore            *store,
                                           const char          *path,
                                           const char          *category,
                                           MvaCategorySource    category_source,
                                           gboolean            *added,
                                           GError             **error);

MvaMicrograph *mva_store_get_micrograph   (MvaStore *store, gint64 id, GError **error);
/* NULL and no error when no micrograph has that hash. */
MvaMicrograph *mva_store_find_micrograph  (MvaStore *store, const char *sha256, GError **error);

gboolean    mva_store_set_category        (MvaStore          *store,
                                           gint64             micrograph_id,
                                           const char        *category,   /* NULL clears */
                                           MvaCategorySource  source,
                                           GError           **error);
gboolean    mva_store_set_micrograph_path (MvaStore   *store,
                                           gint64      micrograph_id,
                                           const char *path,
                                           GError    **error);
/* Removes the micrograph with its pairs, reviews and teacher log. */
gboolean    mva_store_delete_micrograph   (MvaStore *store, gint64 id, GError **error);

typedef struct
{
  const char *category;      /* NULL any; "" uncategorised */
  guint       review_mask;   /* 0 any; else images with >= 1 pair in these states */
  const char *search;        /* NULL any; substring of the path */
  guint       offset;
  guint       limit;         /* 0: no limit */
} MvaMicrographFilter;

/* Newest first. Element type MvaMicrograph*, owned by the array. */
GPtrArray  *mva_store_list_micrographs    (MvaStore                  *store,
                                           const MvaMicrographFilter *filter,
                                           GError                   **error);
gint64      mva_store_count_micrographs   (MvaStore                  *store,
                                           const MvaMicrographFilter *filter,
                                           GError                   **error);  /* -1 on error */
/* Element type MvaCategoryCount*, sorted by name, uncategorised last. */
GPtrArray  *mva_store_list_categories     (MvaStore *store, GError **error);

/* ---------------------------------------------------------------- Q/A pairs */

/* Insert a pair (qa->micrograph_id, question, answer required). dedup TRUE:
 * an identical pair (same micrograph, family, question, answer)
 * is not added again; its id is returned and *added is FALSE. */
gint64      mva_store_add_qa        (MvaStore        *store,
                                     const MvaQaPair *qa,
                                     gboolean         dedup,
                                     gboolean        *added,
                                     GError         **error);
MvaQaPair  *mva_store_get_qa        (MvaStore *store, gint64 id, GError **error);
gboolean    mva_store_delete_qa     (MvaStore *store, gint64 id, GError **error);

typedef struct
{
  const char *category;        /* NULL any; "" uncategorised */
  guint       review_mask;     /* 0 any; MVA_REVIEW_MASK (...) | ... */
  guint       source_mask;     /* 0 any; else 1 << MvaQaSource | ... */
  gint64      micrograph_id;   /* 0 any */
  int         family;          /* 0 any */
  gint64      model_version_id;/* 0 any */
  gboolean    with_blobs;      /* also load tokens and attention (slower) */
  gboolean    oldest_first;    /* default: newest first */
  guint       offset;
  guint       limit;           /* 0: no limit */
} MvaQaFilter;

/* Element type MvaQaPair*, owned by the array. A zeroed filter (or NULL)
 * lists everything. */
GPtrArray  *mva_store_list_qa       (MvaStore *store, const MvaQaFilter *filter, GError **error);
gint64      mva_store_count_qa      (MvaStore *store, const MvaQaFilter *filter, GError **error);

/* ---------------------------------------------------------------- reviews */

/* Record a review (the pair's new state). corrected_text is required for
 * MVA_REVIEW_CORRECTED and ignored otherwise. Returns the review id or 0. */
gint64      mva_store_add_review    (MvaStore       *store,
                                     gint64          qa_id,
                                     MvaReviewState  state,
                                     const char     *corrected_text,
                                     const char     *reviewer,
                                     GError        **error);
/* Remove the latest review of qa_id (qa_id 0: the latest review of any pair),
 * restoring the previous state. *out_qa_id gets the pair it touched.
 * MVA_STORE_ERROR_NOT_FOUND when there is nothing to undo. */
gboolean    mva_store_undo_review   (MvaStore *store,
                                     gint64    qa_id,
                                     gint64   *out_qa_id,
                                     GError  **error);
/* All reviews of a pair, oldest first. Element type MvaReview*. */
GPtrArray  *mva_store_list_reviews  (MvaStore *store, gint64 qa_id, GError **error);

/* ---------------------------------------------------------------- datasets */

/* MVA_STORE_ERROR_EXISTS if the name is taken. */
gint64      mva_store_create_dataset  (MvaStore   *store,
                                       const char *name,
                                       const char *description,
                                       GError    **error);
gint64      mva_store_find_dataset    (MvaStore *store, const char *name, GError **error); /* 0: none */
gboolean    mva_store_delete_dataset  (MvaStore *store, gint64 dataset_id, GError **error);
/* Add or move a pair into a split (fold: cross-validation fold, -1 none). */
gboolean    mva_store_dataset_add     (MvaStore  *store,
                                       gint64     dataset_id,
                                       gint64     qa_id,
                                       MvaSplit   split,
                                       int        fold,
                                       GError   **error);
/* Pair ids of the dataset in a split (split -1: all), ascending. */
GArray     *mva_store_dataset_list    (MvaStore *store,
                                       gint64    dataset_id,
                                       int       split,
                                       GError  **error);   /* element gint64 */
/* Split the pairs matched by filter into train/val/test by micrograph (all
 * pairs of one image land in the same split), deterministically from seed;
 * val_fraction + test_fraction < 1. Returns the number of pairs added, -1. */
gint64      mva_store_dataset_fill    (MvaStore          *store,
                                       gint64             dataset_id,
                                       const MvaQaFilter *filter,
                                       double             val_fraction,
                                       double             test_fraction,
                                       guint64            seed,
                                       GError           **error);

/* ---------------------------------------------------------------- models */

/* name and file_path required; id, created_at, adopted ignored. */
gint64           mva_store_add_model_version     (MvaStore              *store,
                                                  const MvaModelVersion *mv,
                                                  GError               **error);
MvaModelVersion *mva_store_get_model_version     (MvaStore *store, gint64 id, GError **error);
/* NULL and no error when none is adopted. */
MvaModelVersion *mva_store_get_adopted_model     (MvaStore *store, GError **error);
/* Make id the current model (the previous one is un-adopted): adopt a new
 * version or roll back to an older one. */
gboolean         mva_store_adopt_model_version   (MvaStore *store, gint64 id, GError **error);
gboolean         mva_store_set_model_metrics     (MvaStore *store, gint64 id,
                                                  const char *metrics_json, GError **error);
/* Newest first. Element type MvaModelVersion*. */
GPtrArray       *mva_store_list_model_versions   (MvaStore *store, GError **error);

/* ---------------------------------------------------------------- training runs */

/* State RUNNING, started now, epochs "[]". config_json must be a JSON object. */
gint64          mva_store_start_training_run  (MvaStore   *store,
                                               gint64      base_model_id,
                                               gint64      dataset_id,
                                               const char *config_json,
                                               GError    **error);
/* Append one epoch's record (a JSON object, e.g. {"epoch":3,"loss":1.2,
 * "itc":..,"itm":..,"lm":..,"val_loss":..,"lr":..}). */
gboolean        mva_store_append_training_epoch (MvaStore   *store,
                                                 gint64      run_id,
                                                 const char *epoch_json,
                                                 GError    **error);
/* FINISHED/FAILED/CANCELLED also set finished_at. error_message for FAILED. */
gboolean        mva_store_finish_training_run (MvaStore    *store,
                                               gint64       run_id,
                                               MvaRunState  state,
                                               const char  *error_message,
                                               GError     **error);
MvaTrainingRun *mva_store_get_training_run    (MvaStore *store, gint64 id, GError **error);
/* Newest first. Element type MvaTrainingRun*. */
GPtrArray      *mva_store_list_training_runs  (MvaStore *store, GError **error);

/* ---------------------------------------------------------------- teacher log */

/* Append one request outcome (req->id and created_at ignored). */
gint64      mva_store_log_teacher_request (MvaStore                *store,
                                           const MvaTeacherRequest *req,
                                           GError                 **error);
/* TRUE when an ok request for (micrograph, family, model) is logged, so a
 * resumed batch can skip it. model NULL: any model. */
gboolean    mva_store_teacher_request_done (MvaStore   *store,
                                            gint64      micrograph_id,
                                            int         family,
                                            const char *model,
                                            GError    **error);
/* Newest first; micrograph_id 0: all. Element type MvaTeacherRequest*. */
GPtrArray  *mva_store_list_teacher_requests (MvaStore *store,
                                             gint64    micrograph_id,
                                             guint     limit,
                                             GError  **error);

/* ---------------------------------------------------------------- maintenance */

typedef struct
{
  gint64  micrograph_id;
  char   *path;        /* recorded path that no longer exists */
  char   *sha256;
  char   *found_path;  /* a file with the same hash under a search folder, or NULL */
} MvaMissingFile;

typedef struct
{
  GPtrArray *integrity_errors;    /* char*: PRAGMA integrity_check lines other than "ok" */
  GPtrArray *foreign_key_errors;  /* char*: "table row <rowid> -> parent" */
  GPtrArray *missing_files;       /* MvaMissingFile* */
  int        schema_version;
} MvaStoreCheck;

void           mva_store_check_free (MvaStoreCheck *check);
/* Run integrity_check, foreign_key_check and look for dangling files. With
 * search_dirs (NULL-terminated, may be NULL), files under them are hashed to
 * find moved images. Returns NULL only when the checks could not run. */
MvaStoreCheck *mva_store_check      (MvaStore            *store,
                                     const char * const  *search_dirs,
                                     GCancellable        *cancellable,
                                     GError             **error);
/* Copy the live database to dest with the online backup API (consistent
 * even while others write); written to a temporary file, fsynced and
 * renamed, so dest is either the old file or a complete copy. */
gboolean       mva_store_backup     (MvaStore      *store,
                                     const char    *dest,
                                     GCancellable  *cancellable,
                                     GError       **error);

/* ---------------------------------------------------------------- import / export
 * (mva-store-import.c, mva-store-export.c) */

typedef enum
{
  MVA_IMPORT_FORMAT_AUTO = 0,  /* by content: folders, images, .jsonl, LLaVA .json */
  MVA_IMPORT_FORMAT_JSONL,     /* synth qa.jsonl lines */
  MVA_IMPORT_FORMAT_LLAVA,     /* LLaVA conversation JSON */
} MvaImportFormat;

typedef struct
{
  guint64 files_seen;        /* image files looked at */
  guint64 micrographs_added;
  guint64 micrographs_known; /* already in the library (same hash) */
  guint64 load_errors;       /* images the loader could not read (still added by hash) */
  guint64 unreadable;        /* files that could not be read at all (skipped) */
  guint64 qa_added;
  guint64 qa_known;          /* identical pair already present */
  guint64 records_skipped;   /* malformed JSON records or missing images */
} MvaImportStats;

/* Called on the importing thread about every 0.2 s and at the end. */
typedef void (*MvaImportProgress) (const MvaImportStats *stats,
                                   const char           *current_path,
                                   gpointer              user_data);

typedef struct
{
  MvaImportFormat    format;
  gboolean           labels_from_folders; /* category = name of the parent folder */
  GCancellable      *cancellable;         /* checked between transactions */
  MvaImportProgress  progress;
  gpointer           progress_data;
  /* For crash-safety tests: after each commit, append a line
   * "<qa_added> <micrographs_added>" to this file and fsync it. NULL: off. */
  const char        *commit_log;
} MvaImportOptions;

/* Import image files and folders (recursively), synth folders (qa.jsonl +
 * labels.csv), JSON Lines and LLaVA JSON. Image paths inside JSON records
 * are relative to the JSON file's folder (or absolute). Deduplicated:
 * importing the same input twice adds nothing. Work is committed in batches
 * (5000 records or 1 s); on cancel (checked between batches; error
 * MVA_STORE_ERROR_CANCELLED) or error the batches committed so far stay.
 * stats is filled either way and counts only committed work. */
gboolean    mva_store_import  (MvaStore               *store,
                               const char * const     *paths,
                               const MvaImportOptions *options,
                               MvaImportStats         *stats,
                               GError                **error);

typedef enum
{
  MVA_EXPORT_FORMAT_JSONL = 0, /* keys image, category, family, question, answer, params */
  MVA_EXPORT_FORMAT_LLAVA,     /* [{"id","image","conversations":[human, gpt]}] */
} MvaExportFormat;

/* Write pairs (oldest first). Image paths are relative to the folder of
 * out_path when the image lies under it, absolute otherwise. Corrected
 * reviews export the corrected text as the answer. reviewed_only: only
 * accepted and corrected pairs; otherwise all but rejected ones.
 * Written to a temporary file and renamed. *n_written gets the pair count. */
gboolean    mva_store_export  (MvaStore        *store,
                               const char      *out_path,
                               MvaExportFormat  format,
                               gboolean         reviewed_only,
                               GCancellable    *cancellable,
                               guint64         *n_written,
                               GError         **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MvaStore, mva_store_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MvaMicrograph, mva_micrograph_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MvaQaPair, mva_qa_pair_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MvaReview, mva_review_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MvaModelVersion, mva_model_version_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MvaTrainingRun, mva_training_run_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MvaTeacherRequest, mva_teacher_request_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MvaStoreCheck, mva_store_check_free)

G_END_DECLS
