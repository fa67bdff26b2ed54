/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-teacher.h: the optional teacher. Sends micrographs with the 10 family
 * prompts to an OpenAI-compatible chat-completions endpoint over libcurl and
 * stores the answers as question/answer pairs (source teacher) in the library.
 *
 *   g_autoptr(MvaTeacherConfig) config = mva_teacher_config_new ();
 *   mva_teacher_config_load (config, &error);          // teacher.conf
 *   if (!mva_teacher_config_validate (config, &error)) // refuses when disabled
 *     return;
 *   g_autofree char *key = mva_teacher_config_dup_api_key (config);
 *   MvaTeacherStats stats;
 *   mva_teacher_run (store, config, key, micrographs, MVA_TEACHER_ALL_FAMILIES,
 *                    cancellable, on_progress, data, &stats, &error);
 *
 * Requests: POST <endpoint>/chat/completions with model, a system prompt and a
 * user message holding the family prompt (with a caption naming the category
 * when known) and the image as a PNG data URL (data bar removed, longest side
 * at most max_side, pixels only: no metadata and no file name leave the site),
 * temperature, top_p and max_tokens from the config. The API key goes only
 * into the Authorization: Bearer header; it is never logged or stored.
 *
 * Robustness: connect, total and low-speed timeouts; retries with exponential
 * backoff and jitter on 429, 5xx and network errors, honouring Retry-After; at
 * most `concurrency` requests in flight and `requests_per_minute` started per
 * minute; a token cap per run (a request is not started when its estimate
 * could exceed the cap). Each (micrograph, family) outcome is written in one
 * transaction (pairs + request log), so a killed run loses at most the
 * requests in flight and a resumed run skips every (micrograph, family, model)
 * the log marks ok. Malformed or truncated replies are logged as failures with
 * the reason and never stored as pairs. 401/403/404 stop the run (the
 * endpoint, model or key is wrong for every request alike).
 *
 * Threads: mva_teacher_run blocks the calling thread (call it from a worker,
 * never the GUI main loop), runs `concurrency` HTTP worker threads, writes to
 * the store only from the calling thread, and calls progress there.
 */
#pragma once

#include <gio/gio.h>

#include "mva-store.h"
#include "mva-teacher-config.h"
#include "mva-teacher-parse.h"
#include "mva-teacher-prompts.h"

G_BEGIN_DECLS

#define MVA_TEACHER_ALL_FAMILIES (((1u << (MVA_TEACHER_N_FAMILIES + 1)) - 1) & ~1u)

/* One image prepared for sending. */
typedef struct
{
  char   *data_url;        /* "data:image/png;base64,..." */
  guint   width;           /* after data-bar removal and downscaling */
  guint   height;
  gsize   png_bytes;
  guint   databar_rows;    /* rows removed at the bottom */
} MvaTeacherImage;

/* Load, drop the data bar, downscale to max_side, encode as PNG data URL. */
MvaTeacherImage *mva_teacher_image_encode   (const char *path,
                                             guint       max_side,
                                             GError    **error);
void             mva_teacher_image_free     (MvaTeacherImage *image);

/* The JSON request body for one family (see above). */
char            *mva_teacher_request_build  (const MvaTeacherConfig *config,
                                             guint                   family,
                                             const char             *category,
                                             const char             *data_url,
                                             gsize                  *length);

/* Estimated prompt tokens of a request: text at ~4 characters per token plus
 * the image at the high-detail tile rate (85 + 170 per 512-px tile after
 * fitting into 2048 and scaling the short side to 768). An estimate only:
 * servers count differently; the cap uses the usage the server reports. */
gint64           mva_teacher_estimate_prompt_tokens (guint       family,
                                                     const char *category,
                                                     guint       width,
                                                     guint       height);

/* "<endpoint>/chat/completions" without a doubled slash. */
char            *mva_teacher_request_url    (const char *endpoint);

/* What a run would send, for the confirmation the GUI shows before the first
 * request ("which host will receive which images"). Quick: reads the store
 * and the recorded image sizes only, loads no image. */
typedef struct
{
  char      *host;                   /* host[:port] that would receive the images */
  char      *url;                    /* POST target */
  GPtrArray *micrographs;            /* MvaMicrograph* with families left to ask (owned) */
  GArray    *family_masks;           /* guint per micrograph: bit f = family f to ask */
  guint64    n_requests;             /* requests that would be sent */
  guint64    n_skipped;              /* already answered by this model */
  gint64     estimated_prompt_tokens;/* from recorded sizes scaled to max_side */
  gint64     max_completion_tokens;  /* n_requests * max_tokens */
} MvaTeacherPlan;

/* config must validate (enabled, endpoint, model). micrographs: MvaMicrograph*. */
MvaTeacherPlan  *mva_teacher_plan_new       (MvaStore               *store,
                                             const MvaTeacherConfig *config,
                                             GPtrArray              *micrographs,
                                             guint                   family_mask,
                                             GError                **error);
void             mva_teacher_plan_free      (MvaTeacherPlan *plan);

typedef struct
{
  guint64  requests_total;    /* (micrograph, family) requests selected */
  guint64  skipped;           /* already answered by this model: not asked again */
  guint64  ok;                /* answered and stored this run */
  guint64  failed;            /* failed this run (logged with the reason) */
  guint64  not_sent;          /* left unsent (spend cap, cancel, fatal error) */
  guint64  pairs_added;
  guint64  retries;           /* extra attempts (429/5xx/network) */
  gint64   prompt_tokens;     /* reported by the server this run */
  gint64   completion_tokens;
  gboolean spend_cap_reached;
  gboolean cancelled;
  const char *current_path;   /* image of the last outcome (valid during progress) */
  guint    current_family;
} MvaTeacherStats;

/* Called on the thread running mva_teacher_run after every outcome. */
typedef void (*MvaTeacherProgress) (const MvaTeacherStats *stats,
                                    gpointer               user_data);

/* Ask the teacher about each micrograph (MvaMicrograph*) for each family in
 * family_mask (bit f = family f). api_key may be NULL (no Authorization
 * header). Returns FALSE with an error when the run could not go on (store
 * write failure, 401/403/404, or G_IO_ERROR_CANCELLED when cancelled);
 * individual request failures are logged and counted, not returned.
 * stats is filled in either case. */
gboolean         mva_teacher_run            (MvaStore               *store,
                                             const MvaTeacherConfig *config,
                                             const char             *api_key,
                                             GPtrArray              *micrographs,
                                             guint                   family_mask,
                                             GCancellable           *cancellable,
                                             MvaTeacherProgress      progress,
                                             gpointer                progress_data,
                                             MvaTeacherStats        *stats,
                                             GError                **error);

/* The same run on a dedicated thread, for the GUI. config is copied and
 * micrographs (MvaMicrograph*) referenced, so the caller may drop them.
 * api_key NULL: looked up on that thread with mva_teacher_config_dup_api_key
 * (the keyring call never blocks the caller).
 * progress is called in the thread-default main context of the caller (with
 * a snapshot of the stats whose current_path is valid during the call), and
 * callback there too, once. */
void             mva_teacher_run_async      (MvaStore               *store,
                                             const MvaTeacherConfig *config,
                                             const char             *api_key,
                                             GPtrArray              *micrographs,
                                             guint                   family_mask,
                                             GCancellable           *cancellable,
                                             MvaTeacherProgress      progress,
                                             gpointer                progress_data,
                                             GDestroyNotify          progress_data_free,
                                             GAsyncReadyCallback     callback,
                                             gpointer                user_data);
/* stats (may be NULL) receives the final counts, also on failure. */
gboolean         mva_teacher_run_finish     (GAsyncResult           *result,
                                             MvaTeacherStats        *stats,
                                             GError                **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MvaTeacherImage, mva_teacher_image_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MvaTeacherPlan, mva_teacher_plan_free)

G_END_DECLS
