/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-teacher-config.c: the teacher's key file, defaults and API key lookup.
 *
 * Privacy by default: nothing here opens a network connection. The keyring
 * lookup talks to the session bus (a local socket) and only when asked for
 * the key, which callers do only once the teacher is enabled.
 */
#define G_LOG_DOMAIN "mva-teacher"
#include "config.h"

#include "mva-teacher-config.h"

#include <math.h>
#include <string.h>

#ifdef HAVE_LIBSECRET
#include <libsecret/secret.h>
#endif

#define CONFIG_GROUP "teacher"

G_DEFINE_QUARK (mva-teacher-error-quark, mva_teacher_error)

MvaTeacherConfig *
mva_teacher_config_new (void)
{
  MvaTeacherConfig *config = g_new0 (MvaTeacherConfig, 1);

  config->enabled = FALSE;
  config->max_side = 1024;
  config->temperature = 0.25;
  config->top_p = 0.1;
  config->max_tokens = 3500;
  config->concurrency = 2;
  config->requests_per_minute = 60;
  config->max_total_tokens = 0;
  config->timeout_s = 300;
  config->connect_timeout_s = 15;
  config->retries = 4;
  config->backoff_s = 1.0;
  return config;
}

void
mva_teacher_config_free (MvaTeacherConfig *config)
{
  if (config == NULL)
    return;
  g_free (config->endpoint);
  g_free (config->model);
  g_free (config->config_file);
  g_free (config->proxy);
  g_free (config);
}

MvaTeacherConfig *
mva_teacher_config_copy (const MvaTeacherConfig *config)
{
  MvaTeacherConfig *copy;

  g_return_val_if_fail (config != NULL, NULL);

  copy = g_new (MvaTeacherConfig, 1);
  *copy = *config;
  copy->endpoint = g_strdup (config->endpoint);
  copy->model = g_strdup (config->model);
  copy->config_file = g_strdup (config->config_file);
  copy->proxy = g_strdup (config->proxy);
  return copy;
}

/* Read an optional unsigned integer key within [lo, hi]. */
static gboolean
read_uint (GKeyFile   *kf,
           const char *file,
           const char *key,
           guint64     lo,
           guint64     hi,
           guint64    *out,
           GError    **error)
{
  g_autofree char *text = NULL;
  guint64 v;

  if (!g_key_file_has_key (kf, CONFIG_GROUP, key, NULL))
    return TRUE;
  text = g_key_file_get_value (kf, CONFIG_GROUP, key, NULL);
  if (text == NULL || !g_ascii_string_to_unsigned (g_strstrip (text), 10, lo, hi, &v, NULL))
    {
      g_set_error (error, MVA_TEACHER_ERROR, MVA_TEACHER_ERROR_INVALID,
                   "%s: %s must be a whole number from %" G_GUINT64_FORMAT " to %"
                   G_GUINT64_FORMAT, file, key, lo, hi);
      return FALSE;
    }
  *out = v;
  return TRUE;
}

static gboolean
read_double (GKeyFile   *kf,
             const char *file,
             const char *key,
             double      lo,
             double      hi,
             double     *out,
             GError    **error)
{
  g_autofree char *text = NULL;
  char *end = NULL;
  double v;

  if (!g_key_file_has_key (kf, CONFIG_GROUP, key, NULL))
    return TRUE;
  text = g_key_file_get_value (kf, CONFIG_GROUP, key, NULL);
  if (text != NULL)
    {
      g_strstrip (text);
      v = g_ascii_strtod (text, &end);
    }
  if (text == NULL || end == text || *end != '\0' || !isfinite (v) || v < lo || v > hi)
    {
      g_set_error (error, MVA_TEACHER_ERROR, MVA_TEACHER_ERROR_INVALID,
                   "%s: %s must be a number from %g to %g", file, key, lo, hi);
      return FALSE;
    }
  *out = v;
  return TRUE;
}

static gboolean
load_key_file (MvaTeacherConfig *config,
               const char       *path,
               GError          **error)
{
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autoptr(GError) local = NULL;
  g_autofree char *endpoint = NULL;
  g_autofree char *model = NULL;
  g_autofree char *proxy = NULL;
  guint64 u;

  if (!g_key_file_load_from_file (kf, path, G_KEY_FILE_NONE, &local))
    {
      g_set_error (error, MVA_TEACHER_ERROR, MVA_TEACHER_ERROR_INVALID,
                   "cannot read %s: %s", path, local->message);
      return FALSE;
    }
  g_free (config->config_file);
  config->config_file = g_strdup (path);
  if (!g_key_file_has_group (kf, CONFIG_GROUP))
    return TRUE;  /* no [teacher] group: stays disabled */

  if (g_key_file_has_key (kf, CONFIG_GROUP, "enabled", NULL))
    {
      gboolean enabled = g_key_file_get_boolean (kf, CONFIG_GROUP, "enabled", &local);

      if (local != NULL)
        {
          g_set_error (error, MVA_TEACHER_ERROR, MVA_TEACHER_ERROR_INVALID,
                       "%s: enabled must be true or false", path);
          return FALSE;
        }
      config->enabled = enabled;
    }
  endpoint = g_key_file_get_string (kf, CONFIG_GROUP, "endpoint", NULL);
  if (endpoint != NULL && *g_strstrip (endpoint) != '\0')
    {
      g_free (config->endpoint);
      config->endpoint = g_steal_pointer (&endpoint);
      config->endpoint_locked = TRUE;
    }
  proxy = g_key_file_get_string (kf, CONFIG_GROUP, "proxy", NULL);
  if (proxy != NULL && *g_strstrip (proxy) != '\0')
    {
      g_free (config->proxy);
      config->proxy = g_steal_pointer (&proxy);
    }
  model = g_key_file_get_string (kf, CONFIG_GROUP, "model", NULL);
  if (model != NULL && *g_strstrip (model) != '\0')
    {
      g_free (config->model);
      config->model = g_steal_pointer (&model);
    }

  u = config->max_side;
  if (!read_uint (kf, path, "max-side", 64, 8192, &u, error))
    return FALSE;
  config->max_side = (guint) u;
  u = config->max_tokens;
  if (!read_uint (kf, path, "max-tokens", 1, 1000000, &u, error))
    return FALSE;
  config->max_tokens = (guint) u;
  u = config->concurrency;
  if (!read_uint (kf, path, "concurrency", 1, 64, &u, error))
    return FALSE;
  config->concurrency = (guint) u;
  u = config->requests_per_minute;
  if (!read_uint (kf, path, "requests-per-minute", 0, 100000, &u, error))
    return FALSE;
  config->requests_per_minute = (guint) u;
  if (!read_uint (kf, path, "max-total-tokens", 0, G_MAXINT64, &config->max_total_tokens, error))
    return FALSE;
  u = config->timeout_s;
  if (!read_uint (kf, path, "timeout", 1, 86400, &u, error))
    return FALSE;
  config->timeout_s = (guint) u;
  u = config->connect_timeout_s;
  if (!read_uint (kf, path, "connect-timeout", 1, 3600, &u, error))
    return FALSE;
  config->connect_timeout_s = (guint) u;
  u = config->retries;
  if (!read_uint (kf, path, "retries", 0, 20, &u, error))
    return FALSE;
  config->retries = (guint) u;
  if (!read_double (kf, path, "temperature", 0.0, 2.0, &config->temperature, error) ||
      !read_double (kf, path, "top-p", 0.0, 1.0, &config->top_p, error))
    return FALSE;
  return TRUE;
}

gboolean
mva_teacher_config_load (MvaTeacherConfig *config,
                         GError          **error)
{
  g_autoptr(GPtrArray) dirs = g_ptr_array_new ();
  const char * const *sys = g_get_system_config_dirs ();

  g_return_val_if_fail (config != NULL, FALSE);

  g_ptr_array_add (dirs, (gpointer) g_get_user_config_dir ());
  for (guint i = 0; sys != NULL && sys[i] != NULL; i++)
    g_ptr_array_add (dirs, (gpointer) sys[i]);

  for (guint i = 0; i < dirs->len; i++)
    {
      g_autofree char *path = g_build_filename (g_ptr_array_index (dirs, i), "mvaema",
                                                "teacher.conf", NULL);

      if (g_file_test (path, G_FILE_TEST_EXISTS))
        return load_key_file (config, path, error);
    }
  return TRUE;
}

void
mva_teacher_config_apply_settings (MvaTeacherConfig *config,
                                   GSettings        *settings,
                                   gboolean         *locked)
{
  g_autoptr(GSettingsSchema) schema = NULL;

  g_return_if_fail (config != NULL && G_IS_SETTINGS (settings));

  g_object_get (settings, "settings-schema", &schema, NULL);
  if (locked != NULL)
    *locked = FALSE;
  if (schema == NULL)
    return;
  if (g_settings_schema_has_key (schema, "teacher-enabled"))
    {
      config->enabled = g_settings_get_boolean (settings, "teacher-enabled");
      if (locked != NULL)
        *locked = !g_settings_is_writable (settings, "teacher-enabled");
    }
  if (g_settings_schema_has_key (schema, "teacher-endpoint"))
    {
      g_autofree char *endpoint = g_settings_get_string (settings, "teacher-endpoint");

      if (*g_strstrip (endpoint) != '\0')
        {
          g_free (config->endpoint);
          config->endpoint = g_steal_pointer (&endpoint);
          config->endpoint_locked = TRUE;
        }
    }
  if (g_settings_schema_has_key (schema, "teacher-model"))
    {
      g_autofree char *model = g_settings_get_string (settings, "teacher-model");

      if (*g_strstrip (model) != '\0')
        {
          g_free (config->model);
          config->model = g_steal_pointer (&model);
        }
    }
}

char *
mva_teacher_endpoint_host (const char *endpoint,
                           GError    **error)
{
  g_autoptr(GUri) uri = NULL;
  const char *scheme;
  const char *host;

  if (endpoint == NULL || *endpoint == '\0')
    {
      g_set_error (error, MVA_TEACHER_ERROR, MVA_TEACHER_ERROR_INVALID, "no endpoint given");
      return NULL;
    }
  uri = g_uri_parse (endpoint, G_URI_FLAGS_NONE, NULL);
  scheme = uri != NULL ? g_uri_get_scheme (uri) : NULL;
  host = uri != NULL ? g_uri_get_host (uri) : NULL;
  if (uri == NULL || scheme == NULL ||
      (g_ascii_strcasecmp (scheme, "http") != 0 && g_ascii_strcasecmp (scheme, "https") != 0) ||
      host == NULL || *host == '\0')
    {
      g_set_error (error, MVA_TEACHER_ERROR, MVA_TEACHER_ERROR_INVALID,
                   "endpoint “%s” is not an http:// or https:// URL with a host", endpoint);
      return NULL;
    }
  if (g_uri_get_user (uri) != NULL || g_uri_get_password (uri) != NULL)
    {
      g_set_error (error, MVA_TEACHER_ERROR, MVA_TEACHER_ERROR_INVALID,
                   "endpoint must not carry credentials; use the keyring or "
                   "MVAEMA_TEACHER_API_KEY");
      return NULL;
    }
  if (g_uri_get_query (uri) != NULL || g_uri_get_fragment (uri) != NULL)
    {
      g_set_error (error, MVA_TEACHER_ERROR, MVA_TEACHER_ERROR_INVALID,
                   "endpoint “%s” must not have a query or fragment", endpoint);
      return NULL;
    }
  if (g_uri_get_port (uri) > 0)
    return g_strdup_printf (strchr (host, ':') ? "[%s]:%d" : "%s:%d", host, g_uri_get_port (uri));
  return g_strdup (host);
}

gboolean
mva_teacher_config_validate (const MvaTeacherConfig *config,
                             GError                **error)
{
  g_autofree char *host = NULL;

  g_return_val_if_fail (config != NULL, FALSE);

  if (!config->enabled)
    {
      g_set_error (error, MVA_TEACHER_ERROR, MVA_TEACHER_ERROR_DISABLED,
                   "the teacher is not enabled: an administrator must set enabled=true "
                   "in the [teacher] group of mvaema/teacher.conf (in %s or %s)",
                   g_get_user_config_dir (),
                   g_get_system_config_dirs ()[0] ? g_get_system_config_dirs ()[0] : "/etc/xdg");
      return FALSE;
    }
  host = mva_teacher_endpoint_host (config->endpoint, error);
  if (host == NULL)
    return FALSE;
  if (config->model == NULL || *config->model == '\0')
    {
      g_set_error (error, MVA_TEACHER_ERROR, MVA_TEACHER_ERROR_INVALID, "no teacher model given");
      return FALSE;
    }
  if (config->max_side < 64 || config->max_side > 8192 || config->max_tokens < 1 ||
      config->concurrency < 1 || config->concurrency > 64 || config->timeout_s < 1 ||
      config->connect_timeout_s < 1 || !(config->temperature >= 0.0 && config->temperature <= 2.0) ||
      !(config->top_p >= 0.0 && config->top_p <= 1.0) || !(config->backoff_s >= 0.0))
    {
      g_set_error (error, MVA_TEACHER_ERROR, MVA_TEACHER_ERROR_INVALID,
                   "teacher settings out of range (max-side 64-8192, concurrency 1-64, "
                   "temperature 0-2, top-p 0-1, positive timeouts and max-tokens)");
      return FALSE;
    }
  return TRUE;
}

#ifdef HAVE_LIBSECRET
static const SecretSchema *
teacher_secret_schema (void)
{
  static const SecretSchema schema = {
    .name = "io.github.mvaema.Workbench.Teacher",
    .flags = SECRET_SCHEMA_DONT_MATCH_NAME,
    .attributes = {
      { "service", SECRET_SCHEMA_ATTRIBUTE_STRING },
      { "endpoint", SECRET_SCHEMA_ATTRIBUTE_STRING },
      { NULL, 0 },
    },
  };
  return &schema;
}
#endif

char *
mva_teacher_config_dup_api_key (const MvaTeacherConfig *config)
{
  const char *env = g_getenv ("MVAEMA_TEACHER_API_KEY");

  g_return_val_if_fail (config != NULL, NULL);

  if (env != NULL && *env != '\0')
    return g_strdup (env);
#ifdef HAVE_LIBSECRET
  /* Only with a session bus: without one libsecret would try to autolaunch. */
  if (config->endpoint != NULL && g_getenv ("DBUS_SESSION_BUS_ADDRESS") != NULL)
    {
      g_autoptr(GError) error = NULL;
      char *secret = secret_password_lookup_sync (teacher_secret_schema (), NULL, &error,
                                                  "service", "mvaema-teacher",
                                                  "endpoint", config->endpoint,
                                                  NULL);
      if (secret != NULL)
        {
          char *key = g_strdup (secret);

          secret_password_free (secret);
          return key;
        }
      if (error != NULL)
        g_debug ("no teacher key from the keyring: %s", error->message);
    }
#endif
  return NULL;
}
