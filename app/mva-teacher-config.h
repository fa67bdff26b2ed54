/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-teacher-config.h: whether the teacher may be used, where it sends
 * requests, and how (privacy by default).
 *
 * The teacher is off until an administrator enables it. For headless use the
 * switch is the key file `mvaema/teacher.conf`, looked up in
 * g_get_user_config_dir () first, then in g_get_system_config_dirs (); the
 * first file found is the only one read:
 *
 *   [teacher]
 *   enabled=true
 *   endpoint=https://llm.example.org/v1
 *   model=my-vision-model
 *   # optional: max-side, temperature, top-p, max-tokens, concurrency,
 *   # requests-per-minute, max-total-tokens, timeout, connect-timeout, retries,
 *   # proxy (requests use a proxy only when the administrator names one here)
 *
 * When the file names an endpoint, requests may go to that endpoint only.
 * The API key never comes from this file, the database or the command line:
 * mva_teacher_config_dup_api_key () reads MVAEMA_TEACHER_API_KEY, else the
 * keyring through libsecret (when built with it): an item with attributes
 * service=mvaema-teacher and endpoint=<endpoint URL>, e.g.
 *
 *   secret-tool store --label='MVaEMa teacher' service mvaema-teacher \
 *       endpoint https://llm.example.org/v1
 *
 *   g_autoptr(MvaTeacherConfig) config = mva_teacher_config_new ();
 *   if (!mva_teacher_config_load (config, &error)) ...;
 *   if (!config->enabled) refuse;
 *
 * Thread-safety: a config is plain data; load it once, then read it from any
 * thread.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define MVA_TEACHER_ERROR (mva_teacher_error_quark ())

typedef enum
{
  MVA_TEACHER_ERROR_DISABLED,   /* the administrator has not enabled the teacher */
  MVA_TEACHER_ERROR_INVALID,    /* bad configuration or argument */
  MVA_TEACHER_ERROR_IMAGE,      /* the micrograph could not be read or encoded */
  MVA_TEACHER_ERROR_NETWORK,    /* connection, timeout, transfer error */
  MVA_TEACHER_ERROR_HTTP,       /* non-success HTTP status */
  MVA_TEACHER_ERROR_SERVER,     /* an {"error": ...} reply */
  MVA_TEACHER_ERROR_MALFORMED,  /* reply not readable as JSON or as Q/A pairs */
  MVA_TEACHER_ERROR_TRUNCATED,  /* reply cut off (body or max_tokens) */
  MVA_TEACHER_ERROR_REFUSED,    /* content filter */
  MVA_TEACHER_ERROR_SPEND_CAP,  /* the token cap would be exceeded */
  MVA_TEACHER_ERROR_STORE,      /* writing to the library failed */
} MvaTeacherError;

typedef struct
{
  gboolean  enabled;            /* default FALSE */
  char     *endpoint;           /* base URL; requests go to <endpoint>/chat/completions */
  char     *model;
  char     *config_file;        /* the key file read, NULL when none was found */
  gboolean  endpoint_locked;    /* TRUE when the key file names the endpoint */
  guint     max_side;           /* longest side of the image sent, px (1024) */
  double    temperature;        /* 0.25 */
  double    top_p;              /* 0.1 */
  guint     max_tokens;         /* 3500 */
  guint     concurrency;        /* requests in flight at once (2) */
  guint     requests_per_minute;/* 0: no limit (default 60) */
  guint64   max_total_tokens;   /* spend cap per run, prompt + completion; 0: none */
  guint     timeout_s;          /* whole request (300) */
  guint     connect_timeout_s;  /* connection set-up (15) */
  guint     retries;            /* retries after the first attempt (4) */
  double    backoff_s;          /* first retry delay; doubles each time, with jitter (1.0) */
  char     *proxy;              /* proxy URL from the key file; NULL: none, and the
                                   http_proxy/https_proxy environment is ignored */
} MvaTeacherConfig;

GQuark            mva_teacher_error_quark      (void);

/* Defaults, teacher disabled. */
MvaTeacherConfig *mva_teacher_config_new       (void);
void              mva_teacher_config_free      (MvaTeacherConfig *config);
MvaTeacherConfig *mva_teacher_config_copy      (const MvaTeacherConfig *config);

/* Read `mvaema/teacher.conf` (see above) into config. A missing file is not
 * an error (the teacher stays disabled); an unreadable or malformed file is. */
gboolean          mva_teacher_config_load      (MvaTeacherConfig *config,
                                                GError          **error);

/* For the GUI: take enabled, endpoint and model from the application's
 * GSettings keys "teacher-enabled", "teacher-endpoint" and "teacher-model"
 * (keys the schema lacks are left alone; empty strings too). *locked (may be
 * NULL) is TRUE when an administrator has locked "teacher-enabled". The
 * endpoint then counts as configured (endpoint_locked). */
void              mva_teacher_config_apply_settings (MvaTeacherConfig *config,
                                                     GSettings        *settings,
                                                     gboolean         *locked);

/* Check the settings a run needs (enabled, endpoint is an http(s) URL,
 * model set, numbers in range). Sets MVA_TEACHER_ERROR_DISABLED or _INVALID. */
gboolean          mva_teacher_config_validate  (const MvaTeacherConfig *config,
                                                GError                **error);

/* The host (and port when given) of an http(s) URL, NULL with error if the URL
 * is not http(s) or has no host. */
char             *mva_teacher_endpoint_host    (const char *endpoint,
                                                GError    **error);

/* The API key: MVAEMA_TEACHER_API_KEY, else the keyring. NULL (no error) when
 * there is none: servers on a private network often need no key. */
char             *mva_teacher_config_dup_api_key (const MvaTeacherConfig *config);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MvaTeacherConfig, mva_teacher_config_free)

G_END_DECLS
