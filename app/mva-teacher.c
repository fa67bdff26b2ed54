/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-teacher.c: image encoding, request building, the HTTP client with
 * retries and limits, and the resumable batch that writes into the store.
 *
 * Shape of a run (mva_teacher_run):
 *   calling thread: select pending (micrograph, family) requests, encode each
 *                   image once, queue requests (bounded), write outcomes;
 *   N workers:      take a request, wait for the rate limiter and the spend
 *                   cap, POST it with retries, parse, hand back an outcome.
 * The store is touched only by the calling thread; each outcome is one
 * transaction. No connection is opened before mva_teacher_run starts its
 * workers, and none at all when there is nothing to ask.
 */
#define G_LOG_DOMAIN "mva-teacher"
#include "config.h"

#include "mva-teacher.h"

#include <curl/curl.h>
#include <gdk-pixbuf/gdk-pixbuf.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "mva-image.h"

#define MAX_REPLY_BYTES     (32 * 1024 * 1024)
#define MAX_RETRY_AFTER_S   300      /* a longer Retry-After fails the request */
#define MAX_BACKOFF_S       60.0
#define LOW_SPEED_TIME_S    120      /* no byte for this long (capped by timeout) */

// --- image -------------------------------------------------------------------

void
mva_teacher_image_free (MvaTeacherImage *image)
{
  if (image == NULL)
    return;
  g_free (image->data_url);
  g_free (image);
}

static void
free_pixels (guchar  *pixels,
             gpointer data)
{
  g_free (pixels);
}

MvaTeacherImage *
mva_teacher_image_encode (const char *path,
                          guint       max_side,
                          GError    **error)
{
  g_autoptr(GError) local = NULL;
  g_autoptr(MvaImage) img = NULL;
  g_autoptr(GdkPixbuf) pixbuf = NULL;
  g_autoptr(GdkPixbuf) scaled = NULL;
  g_autofree char *png = NULL;
  g_autofree char *b64 = NULL;
  MvaTeacherImage *out;
  guint8 *rgb;
  guint w, h, bar = 0;
  gsize png_len = 0;

  g_return_val_if_fail (path != NULL, NULL);

  /* a preview at twice the size sent: bounded memory for huge scans, and
   * our own area-averaging downscale below */
  img = mva_image_load (path, max_side > 0 ? MIN (2 * max_side, 16384) : 0, &local);
  if (img == NULL)
    {
      g_set_error (error, MVA_TEACHER_ERROR, MVA_TEACHER_ERROR_IMAGE,
                   "cannot read image: %s", local->message);
      return NULL;
    }
  w = img->width;
  h = img->height;
  if (img->databar_rows > 0 && img->databar_rows < h)
    bar = img->databar_rows;   /* in the loaded (possibly downscaled) image's rows */
  rgb = mva_image_to_rgb8 (img);
  if (rgb == NULL || w == 0 || h <= bar)
    {
      g_free (rgb);
      g_set_error (error, MVA_TEACHER_ERROR, MVA_TEACHER_ERROR_IMAGE,
                   "cannot convert image %s to RGB", path);
      return NULL;
    }
  /* the data bar is the bottom rows: dropping it is just a shorter height */
  pixbuf = gdk_pixbuf_new_from_data (rgb, GDK_COLORSPACE_RGB, FALSE, 8, (int) w, (int) (h - bar),
                                     (int) w * 3, free_pixels, NULL);
  h -= bar;
  if (max_side > 0 && MAX (w, h) > max_side)
    {
      double s = (double) max_side / MAX (w, h);
      guint nw = MAX (1, (guint) lround (w * s));
      guint nh = MAX (1, (guint) lround (h * s));

      scaled = gdk_pixbuf_scale_simple (pixbuf, (int) MIN (nw, max_side), (int) MIN (nh, max_side),
                                        GDK_INTERP_BILINEAR);
      if (scaled == NULL)
        {
          g_set_error (error, MVA_TEACHER_ERROR, MVA_TEACHER_ERROR_IMAGE,
                       "out of memory scaling %s", path);
          return NULL;
        }
      g_set_object (&pixbuf, scaled);
    }
  /* a fresh PNG from pixels only: no text chunks, no EXIF, no file name */
  if (!gdk_pixbuf_save_to_buffer (pixbuf, &png, &png_len, "png", &local, NULL))
    {
      g_set_error (error, MVA_TEACHER_ERROR, MVA_TEACHER_ERROR_IMAGE,
                   "cannot encode %s as PNG: %s", path, local->message);
      return NULL;
    }
  b64 = g_base64_encode ((const guchar *) png, png_len);
  out = g_new0 (MvaTeacherImage, 1);
  out->data_url = g_strconcat ("data:image/png;base64,", b64, NULL);
  out->width = (guint) gdk_pixbuf_get_width (pixbuf);
  out->height = (guint) gdk_pixbuf_get_height (pixbuf);
  out->png_bytes = png_len;
  out->databar_rows = bar;
  return out;
}

// --- request -----------------------------------------------------------------

char *
mva_teacher_request_url (const char *endpoint)
{
  g_autofree char *base = g_strdup (endpoint);
  gsize n = strlen (base);

  while (n > 0 && base[n - 1] == '/')
    base[--n] = '\0';
  return g_strconcat (base, "/chat/completions", NULL);
}

char *
mva_teacher_request_build (const MvaTeacherConfig *config,
                           guint                   family,
                           const char             *category,
                           const char             *data_url,
                           gsize                  *length)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *prompt = mva_teacher_prompt_build (family, category);

  g_return_val_if_fail (config != NULL && data_url != NULL, NULL);
  g_return_val_if_fail (prompt != NULL, NULL);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "model");
  json_builder_add_string_value (b, config->model);
  json_builder_set_member_name (b, "messages");
  json_builder_begin_array (b);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "role");
  json_builder_add_string_value (b, "system");
  json_builder_set_member_name (b, "content");
  json_builder_add_string_value (b, mva_teacher_system_prompt ());
  json_builder_end_object (b);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "role");
  json_builder_add_string_value (b, "user");
  json_builder_set_member_name (b, "content");
  json_builder_begin_array (b);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, "text");
  json_builder_set_member_name (b, "text");
  json_builder_add_string_value (b, prompt);
  json_builder_end_object (b);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, "image_url");
  json_builder_set_member_name (b, "image_url");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "url");
  json_builder_add_string_value (b, data_url);
  json_builder_end_object (b);
  json_builder_end_object (b);
  json_builder_end_array (b);
  json_builder_end_object (b);
  json_builder_end_array (b);
  json_builder_set_member_name (b, "temperature");
  json_builder_add_double_value (b, config->temperature);
  json_builder_set_member_name (b, "top_p");
  json_builder_add_double_value (b, config->top_p);
  json_builder_set_member_name (b, "max_tokens");
  json_builder_add_int_value (b, config->max_tokens);
  json_builder_set_member_name (b, "stream");
  json_builder_add_boolean_value (b, FALSE);
  json_builder_end_object (b);

  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  return json_generator_to_data (gen, length);
}

gint64
mva_teacher_estimate_prompt_tokens (guint       family,
                                    const char *category,
                                    guint       width,
                                    guint       height)
{
  g_autofree char *prompt = mva_teacher_prompt_build (family, category);
  double w = width, h = height, s;
  gint64 tiles;

  if (prompt == NULL)
    return 0;
  if (MAX (w, h) > 2048)
    {
      s = 2048.0 / MAX (w, h);
      w *= s, h *= s;
    }
  if (MIN (w, h) > 768)
    {
      s = 768.0 / MIN (w, h);
      w *= s, h *= s;
    }
  tiles = (gint64) (ceil (w / 512.0) * ceil (h / 512.0));
  if (width == 0 || height == 0)
    tiles = 0;
  /* ~4 characters per token, plus per-message overhead */
  return (gint64) ((strlen (mva_teacher_system_prompt ()) + strlen (prompt) + 3) / 4) + 12 +
         85 + 170 * tiles;
}

// --- plan --------------------------------------------------------------------

void
mva_teacher_plan_free (MvaTeacherPlan *plan)
{
  if (plan == NULL)
    return;
  g_free (plan->host);
  g_free (plan->url);
  g_clear_pointer (&plan->micrographs, g_ptr_array_unref);
  g_clear_pointer (&plan->family_masks, g_array_unref);
  g_free (plan);
}

MvaTeacherPlan *
mva_teacher_plan_new (MvaStore               *store,
                      const MvaTeacherConfig *config,
                      GPtrArray              *micrographs,
                      guint                   family_mask,
                      GError                **error)
{
  g_autoptr(MvaTeacherPlan) plan = NULL;

  g_return_val_if_fail (store != NULL && config != NULL && micrographs != NULL, NULL);

  if (!mva_teacher_config_validate (config, error))
    return NULL;
  plan = g_new0 (MvaTeacherPlan, 1);
  plan->host = mva_teacher_endpoint_host (config->endpoint, NULL);
  plan->url = mva_teacher_request_url (config->endpoint);
  plan->micrographs = g_ptr_array_new_with_free_func ((GDestroyNotify) mva_micrograph_free);
  plan->family_masks = g_array_new (FALSE, FALSE, sizeof (guint));
  family_mask &= MVA_TEACHER_ALL_FAMILIES;
  for (guint i = 0; i < micrographs->len; i++)
    {
      const MvaMicrograph *m = g_ptr_array_index (micrographs, i);
      double s = 1.0;
      guint pending = 0;

      for (guint f = 1; f <= MVA_TEACHER_N_FAMILIES; f++)
        {
          GError *local = NULL;

          if (!(family_mask & (1u << f)))
            continue;
          if (mva_store_teacher_request_done (store, m->id, (int) f, config->model, &local))
            plan->n_skipped++;
          else if (local != NULL)
            {
              g_propagate_error (error, local);
              return NULL;
            }
          else
            pending |= 1u << f;
        }
      if (pending == 0)
        continue;
      if (MAX (m->width, m->height) > config->max_side)
        s = (double) config->max_side / MAX (m->width, m->height);
      for (guint f = 1; f <= MVA_TEACHER_N_FAMILIES; f++)
        if (pending & (1u << f))
          {
            plan->n_requests++;
            plan->estimated_prompt_tokens +=
              mva_teacher_estimate_prompt_tokens (f, m->category, (guint) (m->width * s),
                                                  (guint) (m->height * s));
            plan->max_completion_tokens += config->max_tokens;
          }
      {
        /* a copy of our own, read back from the store */
        MvaMicrograph *copy = mva_store_get_micrograph (store, m->id, error);

        if (copy == NULL)
          return NULL;
        g_ptr_array_add (plan->micrographs, copy);
      }
      g_array_append_val (plan->family_masks, pending);
    }
  return g_steal_pointer (&plan);
}

// --- a run -------------------------------------------------------------------

typedef struct
{
  gatomicrefcount  ref;
  MvaTeacherImage *image;
} SharedImage;

static SharedImage *
shared_image_ref (SharedImage *s)
{
  g_atomic_ref_count_inc (&s->ref);
  return s;
}

static void
shared_image_unref (SharedImage *s)
{
  if (s != NULL && g_atomic_ref_count_dec (&s->ref))
    {
      mva_teacher_image_free (s->image);
      g_free (s);
    }
}

typedef struct
{
  gint64       micrograph_id;
  char        *path;
  char        *category;
  guint        family;
  SharedImage *image;
  gint64       estimate;   /* prompt tokens */
} Task;

static void
task_free (Task *t)
{
  if (t == NULL)
    return;
  g_free (t->path);
  g_free (t->category);
  shared_image_unref (t->image);
  g_free (t);
}

typedef enum
{
  OUTCOME_OK,
  OUTCOME_FAILED,     /* logged with the reason */
  OUTCOME_NOT_SENT,   /* cancel, spend cap or an earlier fatal error */
  OUTCOME_FATAL,      /* stops the run */
} OutcomeKind;

typedef struct
{
  Task        *task;
  OutcomeKind  kind;
  char        *reason;
  GPtrArray   *pairs;
  char        *model;
  gint64       prompt_tokens;
  gint64       completion_tokens;
  guint        retries;
  GError      *fatal;
} Outcome;

static void
outcome_free (Outcome *o)
{
  if (o == NULL)
    return;
  task_free (o->task);
  g_free (o->reason);
  g_clear_pointer (&o->pairs, g_ptr_array_unref);
  g_free (o->model);
  g_clear_error (&o->fatal);
  g_free (o);
}

typedef struct
{
  const MvaTeacherConfig *config;
  char                   *url;
  char                   *host;
  const char             *api_key;
  struct curl_slist      *headers;   /* shared, read-only once built */
  GCancellable           *cancellable;
  GAsyncQueue            *tasks;     /* Task*, or &stop_marker */
  GAsyncQueue            *outcomes;  /* Outcome* */
  GMutex                  lock;      /* guards the fields below */
  gint64                  next_start_us;
  gint64                  tokens_used;
  gint64                  tokens_reserved;
  gboolean                stop;
  gboolean                cap_reached;
} Run;

static Task stop_marker;

/* Replace every occurrence of the API key in text (in place semantics via
 * a new string): server error messages may echo request headers. */
static char *
scrub_key (const Run  *run,
           const char *text)
{
  g_autoptr(GString) s = g_string_new (text);

  if (run->api_key != NULL && strlen (run->api_key) >= 4)
    g_string_replace (s, run->api_key, "[redacted]", 0);
  return g_string_free (g_steal_pointer (&s), FALSE);
}

/* Sleep up to `seconds`, waking early on cancel. FALSE when cancelled. */
static gboolean
sleep_cancellable (double        seconds,
                   GCancellable *cancellable)
{
  gint64 end = g_get_monotonic_time () + (gint64) (seconds * G_USEC_PER_SEC);

  while (g_get_monotonic_time () < end)
    {
      gint64 left = end - g_get_monotonic_time ();

      if (g_cancellable_is_cancelled (cancellable))
        return FALSE;
      g_usleep (MIN (left, 50 * 1000));
    }
  return !g_cancellable_is_cancelled (cancellable);
}

/* Wait for our slot under the requests-per-minute limit. */
static gboolean
rate_limit_wait (Run *run)
{
  gint64 start, now;

  if (run->config->requests_per_minute == 0)
    return !g_cancellable_is_cancelled (run->cancellable);
  g_mutex_lock (&run->lock);
  now = g_get_monotonic_time ();
  start = MAX (now, run->next_start_us);
  run->next_start_us = start + (gint64) (60.0 * G_USEC_PER_SEC / run->config->requests_per_minute);
  g_mutex_unlock (&run->lock);
  return sleep_cancellable ((double) (start - now) / G_USEC_PER_SEC, run->cancellable);
}

typedef struct
{
  GByteArray *body;
  gboolean    too_large;
} Sink;

static size_t
on_write (char   *data,
          size_t  size,
          size_t  nmemb,
          void   *user)
{
  Sink *sink = user;
  size_t n = size * nmemb;

  if (sink->body->len + n > MAX_REPLY_BYTES)
    {
      sink->too_large = TRUE;
      return 0;
    }
  g_byte_array_append (sink->body, (const guint8 *) data, (guint) n);
  return n;
}

static int
on_xferinfo (void      *user,
             curl_off_t dltotal,
             curl_off_t dlnow,
             curl_off_t ultotal,
             curl_off_t ulnow)
{
  return g_cancellable_is_cancelled (user) ? 1 : 0;
}

static gboolean
retryable_curl_error (CURLcode rc)
{
  switch (rc)
    {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
      return TRUE;
    default:
      return FALSE;
    }
}

/* Errors of the set-up rather than of one request: they would hit every
 * request alike, so they stop the run. */
static gboolean
fatal_curl_error (CURLcode rc)
{
  switch (rc)
    {
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_FAILED_INIT:
    case CURLE_URL_MALFORMAT:
    case CURLE_NOT_BUILT_IN:
    case CURLE_OUT_OF_MEMORY:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_LOGIN_DENIED:
    case CURLE_UNKNOWN_OPTION:
      return TRUE;
    default:
      return FALSE;
    }
}

/* A short, printable description of an error reply body. */
static char *
describe_error_body (const GByteArray *body)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MvaTeacherReply) reply = NULL;
  GString *s;

  if (body->len == 0)
    return g_strdup ("(empty body)");
  reply = mva_teacher_reply_parse ((const char *) body->data, body->len, &error);
  if (reply == NULL && g_error_matches (error, MVA_TEACHER_ERROR, MVA_TEACHER_ERROR_SERVER))
    return g_strdup (error->message);
  s = g_string_new (NULL);
  for (guint i = 0; i < body->len && s->len < 200; i++)
    g_string_append_c (s, g_ascii_isprint (body->data[i]) ? (char) body->data[i] : ' ');
  return g_string_free (s, FALSE);
}

static CURL *
worker_handle (Run        *run,
               Sink       *sink,
               char       *errbuf)
{
  const MvaTeacherConfig *c = run->config;
  CURL *h = curl_easy_init ();

  if (h == NULL)
    return NULL;
  curl_easy_setopt (h, CURLOPT_URL, run->url);
  curl_easy_setopt (h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt (h, CURLOPT_FOLLOWLOCATION, 0L);   /* only the configured endpoint */
  curl_easy_setopt (h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt (h, CURLOPT_HTTPHEADER, run->headers);
  curl_easy_setopt (h, CURLOPT_USERAGENT, "mvaema/" PACKAGE_VERSION);
  curl_easy_setopt (h, CURLOPT_CONNECTTIMEOUT, (long) c->connect_timeout_s);
  curl_easy_setopt (h, CURLOPT_TIMEOUT, (long) c->timeout_s);
  curl_easy_setopt (h, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt (h, CURLOPT_LOW_SPEED_TIME, (long) MIN (c->timeout_s, LOW_SPEED_TIME_S));
  curl_easy_setopt (h, CURLOPT_WRITEFUNCTION, on_write);
  curl_easy_setopt (h, CURLOPT_WRITEDATA, sink);
  curl_easy_setopt (h, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt (h, CURLOPT_XFERINFOFUNCTION, on_xferinfo);
  curl_easy_setopt (h, CURLOPT_XFERINFODATA, run->cancellable);
  curl_easy_setopt (h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt (h, CURLOPT_ACCEPT_ENCODING, "");
  /* "" turns off proxies, including http_proxy & co. from the environment:
   * images go through a proxy only when teacher.conf names one */
  curl_easy_setopt (h, CURLOPT_PROXY, c->proxy != NULL ? c->proxy : "");
  return h;
}

/* Reserve spend for one request; FALSE (and stop) when the cap forbids it. */
static gboolean
spend_reserve (Run    *run,
               gint64  amount)
{
  gboolean ok = TRUE;

  g_mutex_lock (&run->lock);
  if (run->stop)
    ok = FALSE;
  else if (run->config->max_total_tokens > 0 &&
           run->tokens_used + run->tokens_reserved + amount > (gint64) run->config->max_total_tokens)
    {
      run->cap_reached = TRUE;
      run->stop = TRUE;
      ok = FALSE;
    }
  else
    run->tokens_reserved += amount;
  g_mutex_unlock (&run->lock);
  return ok;
}

static void
spend_settle (Run    *run,
              gint64  reserved,
              gint64  used)
{
  g_mutex_lock (&run->lock);
  run->tokens_reserved -= reserved;
  run->tokens_used += used;
  g_mutex_unlock (&run->lock);
}

/* Read a 2xx reply into the outcome. */
static void
read_reply (Run         *run,
            Outcome     *o,
            GByteArray  *body)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MvaTeacherReply) reply = NULL;

  reply = mva_teacher_reply_parse ((const char *) body->data, body->len, &error);
  if (reply != NULL)
    {
      o->prompt_tokens = reply->prompt_tokens;
      o->completion_tokens = reply->completion_tokens;
      o->model = g_strdup (reply->model);
    }
  if (reply == NULL || !mva_teacher_reply_check (reply, &error) ||
      (o->pairs = mva_teacher_parse_pairs (o->task->family, reply->content, &error)) == NULL)
    {
      o->kind = OUTCOME_FAILED;
      o->reason = scrub_key (run, error->message);
      return;
    }
  o->kind = OUTCOME_OK;
}

/* One request with retries. Runs on a worker thread. */
static void
ask (Run        *run,
     CURL       *h,
     Sink       *sink,
     char       *errbuf,
     Outcome    *o)
{
  const MvaTeacherConfig *c = run->config;
  Task *t = o->task;
  g_autofree char *body = NULL;
  gsize body_len = 0;
  gint64 reserve = t->estimate + c->max_tokens;
  gint64 used = 0;

  if (!spend_reserve (run, reserve))
    {
      o->kind = OUTCOME_NOT_SENT;
      return;
    }
  body = mva_teacher_request_build (c, t->family, t->category, t->image->image->data_url,
                                    &body_len);
  curl_easy_setopt (h, CURLOPT_POSTFIELDS, body);
  curl_easy_setopt (h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) body_len);

  for (guint attempt = 0; ; attempt++)
    {
      long status = 0;
      curl_off_t retry_after = -1;
      double delay = 0;
      gboolean retry = FALSE;
      g_autofree char *why = NULL;
      CURLcode rc;

      if (!rate_limit_wait (run))
        {
          o->kind = OUTCOME_NOT_SENT;
          break;
        }
      g_byte_array_set_size (sink->body, 0);
      sink->too_large = FALSE;
      errbuf[0] = '\0';
      rc = curl_easy_perform (h);
      if (rc == CURLE_ABORTED_BY_CALLBACK ||
          (rc != CURLE_OK && g_cancellable_is_cancelled (run->cancellable)))
        {
          o->kind = OUTCOME_NOT_SENT;
          break;
        }
      if (rc == CURLE_OK)
        {
          curl_easy_getinfo (h, CURLINFO_RESPONSE_CODE, &status);
          curl_easy_getinfo (h, CURLINFO_RETRY_AFTER, &retry_after);
        }

      if (rc != CURLE_OK)
        {
          const char *detail = errbuf[0] ? errbuf : curl_easy_strerror (rc);

          if (sink->too_large)
            why = g_strdup_printf ("reply larger than %d MiB", MAX_REPLY_BYTES >> 20);
          else if (rc == CURLE_PARTIAL_FILE)
            why = g_strdup_printf ("truncated reply body: %s", detail);
          else if (rc == CURLE_OPERATION_TIMEDOUT)
            why = g_strdup_printf ("timed out: %s", detail);
          else
            why = g_strdup_printf ("network error: %s", detail);
          if (fatal_curl_error (rc))
            {
              g_autofree char *msg = scrub_key (run, why);

              o->kind = OUTCOME_FATAL;
              g_set_error (&o->fatal, MVA_TEACHER_ERROR, MVA_TEACHER_ERROR_NETWORK,
                           "cannot talk to %s: %s", run->host, msg);
              break;
            }
          retry = !sink->too_large && retryable_curl_error (rc);
        }
      else if (status >= 200 && status < 300)
        {
          read_reply (run, o, sink->body);
          break;
        }
      else
        {
          g_autofree char *msg = describe_error_body (sink->body);

          why = g_strdup_printf ("HTTP %ld: %s", status, msg);
          if (status >= 300 && status < 400)
            {
              char *location = NULL;

              curl_easy_getinfo (h, CURLINFO_REDIRECT_URL, &location);
              o->kind = OUTCOME_FATAL;
              g_set_error (&o->fatal, MVA_TEACHER_ERROR, MVA_TEACHER_ERROR_HTTP,
                           "%s answered HTTP %ld redirecting to %s; redirects are not followed "
                           "(only the configured endpoint may receive images): fix the endpoint",
                           run->host, status, location ? location : "(no location)");
              break;
            }
          if (status == 401 || status == 403 || status == 404)
            {
              g_autofree char *clean = scrub_key (run, why);

              o->kind = OUTCOME_FATAL;
              g_set_error (&o->fatal, MVA_TEACHER_ERROR, MVA_TEACHER_ERROR_HTTP,
                           "%s refused the request (%s); check the endpoint, model and API key",
                           run->host, clean);
              break;
            }
          retry = status == 429 || status == 408 || status >= 500;
        }

      if (retry && retry_after > MAX_RETRY_AFTER_S)
        {
          g_autofree char *tmp = g_steal_pointer (&why);

          why = g_strdup_printf ("%s (server asks to wait %" CURL_FORMAT_CURL_OFF_T " s)", tmp,
                                 retry_after);
          retry = FALSE;
        }
      if (!retry || attempt >= c->retries)
        {
          o->kind = OUTCOME_FAILED;
          if (retry)
            {
              g_autofree char *tmp = g_steal_pointer (&why);
              why = g_strdup_printf ("%s (after %u attempts)", tmp, attempt + 1);
            }
          o->reason = scrub_key (run, why);
          break;
        }
      if (retry_after > 0)
        delay = (double) retry_after;
      else
        delay = MIN (MAX_BACKOFF_S, c->backoff_s * pow (2.0, attempt)) *
                g_random_double_range (0.5, 1.0);   /* jitter */
      o->retries++;
      g_debug ("retry %u of a request for %s in %.2f s: %s", attempt + 1, run->host, delay, why);
      if (!sleep_cancellable (delay, run->cancellable))
        {
          o->kind = OUTCOME_NOT_SENT;
          break;
        }
    }

  if (o->prompt_tokens >= 0 || o->completion_tokens >= 0)
    used = MAX (o->prompt_tokens, 0) + MAX (o->completion_tokens, 0);
  else if (o->kind == OUTCOME_OK || o->kind == OUTCOME_FAILED)
    used = sink->body->len > 0 ? t->estimate + (gint64) sink->body->len / 4 : 0;
  spend_settle (run, reserve, used);
}

static gpointer
worker_main (gpointer data)
{
  Run *run = data;
  g_autoptr(GByteArray) buffer = g_byte_array_new ();
  char errbuf[CURL_ERROR_SIZE];
  Sink sink = { buffer, FALSE };
  CURL *h = worker_handle (run, &sink, errbuf);

  for (;;)
    {
      Task *t = g_async_queue_pop (run->tasks);
      Outcome *o;
      gboolean stop;

      if (t == &stop_marker)
        break;
      o = g_new0 (Outcome, 1);
      o->task = t;
      o->prompt_tokens = -1;
      o->completion_tokens = -1;
      g_mutex_lock (&run->lock);
      stop = run->stop;
      g_mutex_unlock (&run->lock);
      if (stop || g_cancellable_is_cancelled (run->cancellable))
        o->kind = OUTCOME_NOT_SENT;
      else if (h == NULL)
        {
          o->kind = OUTCOME_FATAL;
          g_set_error (&o->fatal, MVA_TEACHER_ERROR, MVA_TEACHER_ERROR_NETWORK,
                       "cannot create an HTTP handle");
        }
      else
        ask (run, h, &sink, errbuf, o);
      if (o->kind == OUTCOME_FATAL)
        {
          /* no worker may start another request once one has failed fatally */
          g_mutex_lock (&run->lock);
          run->stop = TRUE;
          g_mutex_unlock (&run->lock);
        }
      g_async_queue_push (run->outcomes, o);
    }
  if (h != NULL)
    curl_easy_cleanup (h);
  return NULL;
}

static gpointer
init_curl (gpointer data)
{
  return GINT_TO_POINTER (curl_global_init (CURL_GLOBAL_DEFAULT) == CURLE_OK);
}

/* Write one outcome (calling thread). FALSE with error on a store failure. */
static gboolean
store_outcome (MvaStore               *store,
               const MvaTeacherConfig *config,
               Outcome                *o,
               MvaTeacherStats        *stats,
               GError                **error)
{
  MvaTeacherRequest req = { 0 };
  const char *reported = (o->model != NULL && *o->model != '\0') ? o->model : config->model;
  guint added_here = 0;

  req.micrograph_id = o->task->micrograph_id;
  req.family = (int) o->task->family;
  req.model = config->model;
  req.ok = o->kind == OUTCOME_OK;
  req.reason = o->reason;
  req.prompt_tokens = o->prompt_tokens;
  req.completion_tokens = o->completion_tokens;

  if (!mva_store_begin (store, error))
    return FALSE;
  for (guint i = 0; req.ok && i < o->pairs->len; i++)
    {
      MvaTeacherPair *p = g_ptr_array_index (o->pairs, i);
      MvaQaPair qa = { 0 };
      gboolean added = FALSE;

      qa.micrograph_id = o->task->micrograph_id;
      qa.source = MVA_QA_SOURCE_TEACHER;
      qa.family = (int) o->task->family;
      qa.question = p->question;
      qa.answer = p->answer;
      qa.teacher_model = (char *) reported;
      qa.prompt_tokens = o->prompt_tokens;         /* usage of the request that made it */
      qa.completion_tokens = o->completion_tokens;
      qa.created_at = g_get_real_time ();
      if (mva_store_add_qa (store, &qa, TRUE, &added, error) == 0)
        {
          mva_store_rollback (store);
          return FALSE;
        }
      added_here += added ? 1 : 0;
    }
  if (mva_store_log_teacher_request (store, &req, error) == 0 || !mva_store_commit (store, error))
    {
      mva_store_rollback (store);
      return FALSE;
    }
  stats->pairs_added += added_here;
  return TRUE;
}

/* The calling thread's side of a run. */
typedef struct
{
  Run                    *run;
  MvaStore               *store;
  const MvaTeacherConfig *config;
  MvaTeacherStats        *stats;
  MvaTeacherProgress      progress;
  gpointer                progress_data;
  GError                 *error;      /* first error that stops the run */
  guint                   in_flight;
} Batch;

static void
batch_stop (Batch  *b,
            GError *error)
{
  if (b->error == NULL)
    b->error = error;
  else
    g_error_free (error);
  g_mutex_lock (&b->run->lock);
  b->run->stop = TRUE;
  g_mutex_unlock (&b->run->lock);
}

static void
batch_report (Batch      *b,
              const Task *t)
{
  b->stats->current_path = t->path;
  b->stats->current_family = t->family;
  if (b->progress != NULL)
    b->progress (b->stats, b->progress_data);
}

static void
batch_handle (Batch   *b,
              Outcome *o)
{
  MvaTeacherStats *stats = b->stats;
  GError *local = NULL;

  stats->retries += o->retries;
  if (o->prompt_tokens > 0)
    stats->prompt_tokens += o->prompt_tokens;
  if (o->completion_tokens > 0)
    stats->completion_tokens += o->completion_tokens;
  if (o->kind == OUTCOME_OK || o->kind == OUTCOME_FAILED)
    {
      if (b->error == NULL && store_outcome (b->store, b->config, o, stats, &local))
        {
          if (o->kind == OUTCOME_OK)
            stats->ok++;
          else
            stats->failed++;
        }
      else
        {
          stats->not_sent++;
          if (local != NULL)
            batch_stop (b, local);
        }
    }
  else
    {
      stats->not_sent++;
      if (o->kind == OUTCOME_FATAL)
        batch_stop (b, g_steal_pointer (&o->fatal));
    }
  batch_report (b, o->task);
}

/* Write outcomes until at most `limit` requests are in flight. */
static void
batch_drain (Batch *b,
             guint  limit)
{
  while (b->in_flight > limit)
    {
      Outcome *o = g_async_queue_pop (b->run->outcomes);

      b->in_flight--;
      batch_handle (b, o);
      outcome_free (o);
    }
}

gboolean
mva_teacher_run (MvaStore               *store,
                 const MvaTeacherConfig *config,
                 const char             *api_key,
                 GPtrArray              *micrographs,
                 guint                   family_mask,
                 GCancellable           *cancellable,
                 MvaTeacherProgress      progress,
                 gpointer                progress_data,
                 MvaTeacherStats        *stats,
                 GError                **error)
{
  static GOnce curl_once = G_ONCE_INIT;
  g_autoptr(GPtrArray) workers = g_ptr_array_new ();
  g_autoptr(GCancellable) own_cancellable = NULL;
  g_autofree char *auth = NULL;
  guint n_workers;
  Run run = { 0 };
  Batch b = { 0 };

  g_return_val_if_fail (store != NULL && config != NULL && micrographs != NULL, FALSE);
  g_return_val_if_fail (stats != NULL, FALSE);

  memset (stats, 0, sizeof *stats);
  if (!mva_teacher_config_validate (config, error))
    return FALSE;
  family_mask &= MVA_TEACHER_ALL_FAMILIES;
  if (cancellable == NULL)
    cancellable = own_cancellable = g_cancellable_new ();

  run.config = config;
  run.url = mva_teacher_request_url (config->endpoint);
  run.host = mva_teacher_endpoint_host (config->endpoint, NULL);
  run.api_key = api_key;
  run.cancellable = cancellable;
  run.tasks = g_async_queue_new ();
  run.outcomes = g_async_queue_new ();
  g_mutex_init (&run.lock);
  run.headers = curl_slist_append (NULL, "Content-Type: application/json");
  run.headers = curl_slist_append (run.headers, "Accept: application/json");
  run.headers = curl_slist_append (run.headers, "Expect:");
  if (api_key != NULL && *api_key != '\0')
    {
      auth = g_strconcat ("Authorization: Bearer ", api_key, NULL);
      run.headers = curl_slist_append (run.headers, auth);
    }
  n_workers = config->concurrency;
  b.run = &run;
  b.store = store;
  b.config = config;
  b.stats = stats;
  b.progress = progress;
  b.progress_data = progress_data;

  for (guint i = 0; i < micrographs->len && b.error == NULL; i++)
    {
      MvaMicrograph *m = g_ptr_array_index (micrographs, i);
      g_autoptr(GError) image_error = NULL;
      SharedImage *shared = NULL;
      guint pending = 0;
      gboolean stop;

      for (guint f = 1; f <= MVA_TEACHER_N_FAMILIES; f++)
        {
          GError *local = NULL;

          if (!(family_mask & (1u << f)))
            continue;
          stats->requests_total++;
          if (mva_store_teacher_request_done (store, m->id, (int) f, config->model, &local))
            stats->skipped++;
          else if (local != NULL)
            {
              batch_stop (&b, local);
              break;
            }
          else
            pending |= 1u << f;
        }
      if (pending == 0 || b.error != NULL)
        continue;

      g_mutex_lock (&run.lock);
      stop = run.stop;
      g_mutex_unlock (&run.lock);
      if (stop || g_cancellable_is_cancelled (cancellable))
        {
          stats->not_sent += (guint64) __builtin_popcount (pending);
          continue;
        }

      if (m->path == NULL)
        g_set_error (&image_error, MVA_TEACHER_ERROR, MVA_TEACHER_ERROR_IMAGE,
                     "micrograph %" G_GINT64_FORMAT " has no known file", m->id);
      else
        {
          MvaTeacherImage *img = mva_teacher_image_encode (m->path, config->max_side, &image_error);

          if (img != NULL)
            {
              shared = g_new0 (SharedImage, 1);
              g_atomic_ref_count_init (&shared->ref);
              shared->image = img;
            }
        }

      for (guint f = 1; f <= MVA_TEACHER_N_FAMILIES && b.error == NULL; f++)
        {
          Task *t;

          if (!(pending & (1u << f)))
            continue;
          t = g_new0 (Task, 1);
          t->micrograph_id = m->id;
          t->path = g_strdup (m->path);
          t->category = g_strdup (m->category);
          t->family = f;
          if (shared == NULL)
            {
              /* the image cannot be sent: log a failure; no request is made */
              Outcome *o = g_new0 (Outcome, 1);

              o->task = t;
              o->kind = OUTCOME_FAILED;
              o->prompt_tokens = -1;
              o->completion_tokens = -1;
              o->reason = g_strdup_printf ("not sent: %s", image_error->message);
              batch_handle (&b, o);
              outcome_free (o);
              continue;
            }
          t->image = shared_image_ref (shared);
          t->estimate = mva_teacher_estimate_prompt_tokens (f, m->category, shared->image->width,
                                                            shared->image->height);
          if (workers->len == 0)
            {
              /* first request: only now is libcurl set up and may a thread connect */
              if (!GPOINTER_TO_INT (g_once (&curl_once, init_curl, NULL)))
                {
                  batch_stop (&b, g_error_new (MVA_TEACHER_ERROR, MVA_TEACHER_ERROR_NETWORK,
                                               "cannot initialise libcurl"));
                  task_free (t);
                  break;
                }
              for (guint w = 0; w < n_workers; w++)
                g_ptr_array_add (workers, g_thread_new ("mva-teacher", worker_main, &run));
            }
          g_async_queue_push (run.tasks, t);
          b.in_flight++;
          /* at most two requests per worker wait in the queue */
          batch_drain (&b, 2 * n_workers - 1);
        }
      shared_image_unref (shared);
    }

  batch_drain (&b, 0);
  for (guint w = 0; w < workers->len; w++)
    g_async_queue_push (run.tasks, &stop_marker);
  for (guint w = 0; w < workers->len; w++)
    g_thread_join (g_ptr_array_index (workers, w));

  stats->spend_cap_reached = run.cap_reached;
  stats->cancelled = g_cancellable_is_cancelled (cancellable) && own_cancellable == NULL;
  stats->current_path = NULL;
  stats->current_family = 0;

  curl_slist_free_all (run.headers);
  if (auth != NULL)
    memset (auth, 0, strlen (auth));
  g_async_queue_unref (run.tasks);
  g_async_queue_unref (run.outcomes);
  g_mutex_clear (&run.lock);
  g_free (run.url);
  g_free (run.host);

  if (b.error != NULL)
    {
      g_propagate_error (error, b.error);
      return FALSE;
    }
  if (stats->cancelled)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, "stopped");
      return FALSE;
    }
  return TRUE;
}

// --- async -------------------------------------------------------------------

typedef struct
{
  MvaStore           *store;
  MvaTeacherConfig   *config;
  char               *api_key;
  GPtrArray          *micrographs;
  guint               family_mask;
  MvaTeacherProgress  progress;
  gpointer            progress_data;
  GDestroyNotify      progress_data_free;
  GMainContext       *context;
  MvaTeacherStats     stats;
  GTask              *task;     /* owned by the thread until it returns */
} AsyncRun;

static void
async_run_free (gpointer data)
{
  AsyncRun *a = data;

  mva_store_unref (a->store);
  mva_teacher_config_free (a->config);
  if (a->api_key != NULL)
    memset (a->api_key, 0, strlen (a->api_key));
  g_free (a->api_key);
  g_ptr_array_unref (a->micrographs);
  if (a->progress_data_free != NULL)
    a->progress_data_free (a->progress_data);
  g_main_context_unref (a->context);
  g_free (a);
}

typedef struct
{
  GTask           *task;       /* keeps the AsyncRun alive */
  MvaTeacherStats  stats;
  char            *path;
} ProgressCall;

static void
progress_call_free (gpointer data)
{
  ProgressCall *p = data;

  g_object_unref (p->task);
  g_free (p->path);
  g_free (p);
}

/* Runs in the caller's main context. */
static gboolean
progress_call_dispatch (gpointer data)
{
  ProgressCall *p = data;
  AsyncRun *a = g_task_get_task_data (p->task);

  p->stats.current_path = p->path;
  if (!g_task_get_completed (p->task))
    a->progress (&p->stats, a->progress_data);
  return G_SOURCE_REMOVE;
}

/* Runs on the run's thread: hand a snapshot to the caller's context. */
static void
async_progress (const MvaTeacherStats *stats,
                gpointer               user_data)
{
  AsyncRun *a = user_data;
  ProgressCall *p = g_new0 (ProgressCall, 1);

  p->task = g_object_ref (a->task);
  p->stats = *stats;
  p->path = g_strdup (stats->current_path);
  g_main_context_invoke_full (a->context, G_PRIORITY_DEFAULT, progress_call_dispatch, p,
                              progress_call_free);
}

static gpointer
async_thread (gpointer data)
{
  GTask *task = data;
  AsyncRun *a = g_task_get_task_data (task);
  GError *error = NULL;
  gboolean ok;

  a->task = task;
  if (a->api_key == NULL && a->config->enabled)
    a->api_key = mva_teacher_config_dup_api_key (a->config);  /* keyring: not on the GUI thread */
  ok = mva_teacher_run (a->store, a->config, a->api_key, a->micrographs, a->family_mask,
                        g_task_get_cancellable (task), a->progress ? async_progress : NULL, a,
                        &a->stats, &error);
  a->stats.current_path = NULL;   /* pointed into the run's tasks */
  if (ok)
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
  g_object_unref (task);
  return NULL;
}

void
mva_teacher_run_async (MvaStore               *store,
                       const MvaTeacherConfig *config,
                       const char             *api_key,
                       GPtrArray              *micrographs,
                       guint                   family_mask,
                       GCancellable           *cancellable,
                       MvaTeacherProgress      progress,
                       gpointer                progress_data,
                       GDestroyNotify          progress_data_free,
                       GAsyncReadyCallback     callback,
                       gpointer                user_data)
{
  GTask *task;
  AsyncRun *a;

  g_return_if_fail (store != NULL && config != NULL && micrographs != NULL);

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, mva_teacher_run_async);
  a = g_new0 (AsyncRun, 1);
  a->store = mva_store_ref (store);
  a->config = mva_teacher_config_copy (config);
  a->api_key = g_strdup (api_key);
  a->micrographs = g_ptr_array_ref (micrographs);
  a->family_mask = family_mask;
  a->progress = progress;
  a->progress_data = progress_data;
  a->progress_data_free = progress_data_free;
  a->context = g_main_context_ref_thread_default ();
  g_task_set_task_data (task, a, async_run_free);
  /* a long job: its own thread, not the GTask pool (STYLE.md, Threading) */
  g_thread_unref (g_thread_new ("mva-teacher-run", async_thread, task));
}

gboolean
mva_teacher_run_finish (GAsyncResult     *result,
                        MvaTeacherStats  *stats,
                        GError          **error)
{
  GTask *task = G_TASK (result);
  AsyncRun *a;

  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (task) == mva_teacher_run_async, FALSE);

  a = g_task_get_task_data (task);
  if (stats != NULL)
    *stats = a->stats;
  return g_task_propagate_boolean (task, error);
}
