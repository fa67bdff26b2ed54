/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * test-teacher-parse.c: reply parsing, prompts, families and config of the
 * teacher, without any network.
 */
#include "config.h"

#include <glib/gstdio.h>
#define G_SETTINGS_ENABLE_BACKEND
#include <gio/gsettingsbackend.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "mva-teacher.h"

static GPtrArray *
parse_ok (guint       family,
          const char *text)
{
  g_autoptr(GError) error = NULL;
  GPtrArray *pairs = mva_teacher_parse_pairs (family, text, &error);

  g_assert_no_error (error);
  g_assert_nonnull (pairs);
  return pairs;
}

static const MvaTeacherPair *
pair (GPtrArray *pairs,
      guint      i)
{
  g_assert_cmpuint (i, <, pairs->len);
  return g_ptr_array_index (pairs, i);
}

static void
test_labelled (void)
{
  g_autoptr(GPtrArray) p = parse_ok (1,
    "Sure, here they are.\n\n"
    "Q1: What type of nanomaterial is shown in this image?\n"
    "A1: Silver nanowires lying on a silicon substrate.\n\n"
    "**Q2:** What is the scale of the image?\n"
    "**A2:** The scale bar reads 2 µm,\nabout 4 nm per pixel.\n");

  g_assert_cmpuint (p->len, ==, 2);
  g_assert_cmpstr (pair (p, 0)->question, ==, "What type of nanomaterial is shown in this image?");
  g_assert_cmpstr (pair (p, 0)->answer, ==, "Silver nanowires lying on a silicon substrate.");
  g_assert_cmpstr (pair (p, 1)->question, ==, "What is the scale of the image?");
  g_assert_cmpstr (pair (p, 1)->answer, ==, "The scale bar reads 2 µm, about 4 nm per pixel.");
}

static void
test_template_echo (void)
{
  /* the model copied the layout without repeating the questions */
  g_autoptr(GPtrArray) p = parse_ok (2,
    "Q1: <the question>\nA1: Rod-like.\nQ2: <the question>\nA2: No layers are visible.\n"
    "Q3:\nA3: Quite uniform, within 10 %.\n");

  g_assert_cmpuint (p->len, ==, 3);
  g_assert_cmpstr (pair (p, 0)->question, ==, mva_teacher_family_question (2, 0));
  g_assert_cmpstr (pair (p, 2)->question, ==, mva_teacher_family_question (2, 2));
  g_assert_cmpstr (pair (p, 2)->answer, ==, "Quite uniform, within 10 %.");
}

static void
test_answers_only (void)
{
  g_autoptr(GPtrArray) p = parse_ok (4, "A1: Rough and grainy.\nA2: Several pores of ~20 nm.\n");

  g_assert_cmpuint (p->len, ==, 2);
  g_assert_cmpstr (pair (p, 1)->question, ==, mva_teacher_family_question (4, 1));
  g_assert_cmpstr (pair (p, 1)->answer, ==, "Several pores of ~20 nm.");
}

static void
test_numbered (void)
{
  g_autoptr(GPtrArray) p = parse_ok (3,
    "Here is my analysis:\n"
    "1. **What is the approximate size of the structures?** Roughly 50-80 nm across.\n"
    "2) They are clustered\n   in groups of five to ten.\n"
    "3. **Bundling:** Yes, several bundles of 1.5 µm length.\n");

  g_assert_cmpuint (p->len, ==, 3);
  g_assert_cmpstr (pair (p, 0)->question, ==, "What is the approximate size of the structures?");
  g_assert_cmpstr (pair (p, 0)->answer, ==, "Roughly 50-80 nm across.");
  g_assert_cmpstr (pair (p, 1)->question, ==, mva_teacher_family_question (3, 1));
  g_assert_cmpstr (pair (p, 1)->answer, ==, "They are clustered in groups of five to ten.");
  g_assert_cmpstr (pair (p, 2)->question, ==, mva_teacher_family_question (3, 2));
  g_assert_cmpstr (pair (p, 2)->answer, ==, "Yes, several bundles of 1.5 µm length.");
}

static void
test_bullets (void)
{
  g_autoptr(GPtrArray) p = parse_ok (6,
    "Looking at the image:\n"
    "- **Are the structures touching?** Most particles touch their neighbours.\n"
    "- **Boundaries:** Sharp, with no visible interphase.\n"
    "  They appear well defined.\n");

  g_assert_cmpuint (p->len, ==, 2);
  g_assert_cmpstr (pair (p, 0)->question, ==, "Are the structures touching?");
  g_assert_cmpstr (pair (p, 1)->question, ==, mva_teacher_family_question (6, 1));
  g_assert_cmpstr (pair (p, 1)->answer, ==, "Sharp, with no visible interphase. They appear well defined.");
}

static void
test_headings (void)
{
  g_autoptr(GPtrArray) p = parse_ok (8,
    "## Which imaging technique was used?\r\nSEM, secondary electrons.\r\n\r\n"
    "## Post-processing\r\nNone visible.\r\n");

  g_assert_cmpuint (p->len, ==, 2);
  g_assert_cmpstr (pair (p, 0)->question, ==, "Which imaging technique was used?");
  g_assert_cmpstr (pair (p, 0)->answer, ==, "SEM, secondary electrons.");
  g_assert_cmpstr (pair (p, 1)->question, ==, mva_teacher_family_question (8, 1));
}

static void
test_paragraphs (void)
{
  g_autoptr(GPtrArray) p = parse_ok (10, "Likely a gas sensor.\n\nAn experimental sample.\n");
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) none = NULL;

  g_assert_cmpuint (p->len, ==, 2);
  g_assert_cmpstr (pair (p, 1)->answer, ==, "An experimental sample.");
  /* one paragraph for two questions is not guessed at */
  none = mva_teacher_parse_pairs (10, "I cannot tell anything from this image.", &error);
  g_assert_null (none);
  g_assert_error (error, MVA_TEACHER_ERROR, MVA_TEACHER_ERROR_MALFORMED);
}

static void
test_bad_input (void)
{
  const char *bad[] = { "", "   \n\n", "Q1: a question with no answer?\n", "\xff\xfe", "A1:\nA2:",
                        "1.\n2.\n", "### \n", "Q1: <the question>\nA1: <your answer>" };

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GPtrArray) p = mva_teacher_parse_pairs (1, bad[i], &error);

      g_assert_null (p);
      g_assert_error (error, MVA_TEACHER_ERROR, MVA_TEACHER_ERROR_MALFORMED);
    }
  {
    g_autoptr(GError) error = NULL;
    g_assert_null (mva_teacher_parse_pairs (11, "Q1: x\nA1: y", &error));
    g_assert_error (error, MVA_TEACHER_ERROR, MVA_TEACHER_ERROR_INVALID);
  }
}

static void
test_duplicates (void)
{
  g_autoptr(GPtrArray) p = parse_ok (5, "Q: Same?\nA: One.\nQ: same?\nA: Two.\nQ: Other?\nA: Three.");

  g_assert_cmpuint (p->len, ==, 2);
  g_assert_cmpstr (pair (p, 1)->answer, ==, "Three.");
}

static void
test_reply_envelope (void)
{
  struct { const char *body; int code; } bad[] = {
    { "", MVA_TEACHER_ERROR_MALFORMED },
    { "{\"choices\": [{\"message\": {\"content\": \"Q1: a", MVA_TEACHER_ERROR_MALFORMED },
    { "[1, 2]", MVA_TEACHER_ERROR_MALFORMED },
    { "{\"choices\": []}", MVA_TEACHER_ERROR_MALFORMED },
    { "{\"choices\": [3]}", MVA_TEACHER_ERROR_MALFORMED },
    { "{\"choices\": [{\"finish_reason\": \"stop\"}]}", MVA_TEACHER_ERROR_MALFORMED },
    { "{\"error\": {\"message\": \"model overloaded\"}}", MVA_TEACHER_ERROR_SERVER },
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(MvaTeacherReply) r = NULL;
  g_autoptr(MvaTeacherReply) cut = NULL;
  g_autoptr(MvaTeacherReply) parts = NULL;
  g_autoptr(MvaTeacherReply) empty = NULL;

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) e = NULL;
      g_autoptr(MvaTeacherReply) x = mva_teacher_reply_parse (bad[i].body, -1, &e);

      g_assert_null (x);
      g_assert_error (e, MVA_TEACHER_ERROR, bad[i].code);
    }

  r = mva_teacher_reply_parse ("{\"model\":\"m-1\",\"choices\":[{\"finish_reason\":\"stop\","
                               "\"message\":{\"role\":\"assistant\",\"content\":\"Q1: x?\\nA1: y\"}}],"
                               "\"usage\":{\"prompt_tokens\":812,\"completion_tokens\":95}}", -1, &error);
  g_assert_no_error (error);
  g_assert_true (mva_teacher_reply_check (r, &error));
  g_assert_cmpint (r->prompt_tokens, ==, 812);
  g_assert_cmpint (r->completion_tokens, ==, 95);
  g_assert_cmpstr (r->model, ==, "m-1");

  cut = mva_teacher_reply_parse ("{\"choices\":[{\"finish_reason\":\"length\",\"message\":"
                                 "{\"content\":\"Q1: x?\\nA1: y\"}}]}", -1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (cut->prompt_tokens, ==, -1);
  g_assert_false (mva_teacher_reply_check (cut, &error));
  g_assert_error (error, MVA_TEACHER_ERROR, MVA_TEACHER_ERROR_TRUNCATED);
  g_clear_error (&error);

  parts = mva_teacher_reply_parse ("{\"choices\":[{\"message\":{\"content\":[{\"type\":\"text\","
                                   "\"text\":\"Q1: a?\"},{\"type\":\"text\",\"text\":\"A1: b\"}]}}]}",
                                   -1, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (parts->content, ==, "Q1: a?\nA1: b");

  empty = mva_teacher_reply_parse ("{\"choices\":[{\"message\":{\"content\":null}}]}", -1, &error);
  g_assert_no_error (error);
  g_assert_false (mva_teacher_reply_check (empty, &error));
  g_assert_error (error, MVA_TEACHER_ERROR, MVA_TEACHER_ERROR_MALFORMED);
}

static void
test_prompts (void)
{
  g_autofree char *p = mva_teacher_prompt_build (1, "nanowires");
  g_autofree char *q = mva_teacher_prompt_build (7, NULL);
  guint total = 0;

  g_assert_true (g_str_has_prefix (p, "This micrograph shows nanowires.\n"));
  g_assert_nonnull (strstr (p, "Topic: Basics."));
  g_assert_nonnull (strstr (p, "1. What type of nanomaterial is shown in this image?"));
  g_assert_nonnull (strstr (p, "Q2: <the question>\nA2: <your answer>"));
  g_assert_true (g_str_has_prefix (q, "Topic: External environment."));
  g_assert_null (mva_teacher_prompt_build (0, NULL));
  g_assert_null (mva_teacher_prompt_build (11, NULL));
  for (guint f = 1; f <= MVA_TEACHER_N_FAMILIES; f++)
    {
      g_assert_nonnull (mva_teacher_family_name (f));
      g_assert_cmpuint (mva_teacher_family_n_questions (f), >=, 2);
      total += mva_teacher_family_n_questions (f);
    }
  g_assert_cmpuint (total, ==, 22);
  {
    g_autofree char *c = mva_teacher_caption ("films");
    g_assert_cmpstr (c, ==, "This micrograph shows films or coated surfaces.");
  }
  g_assert_null (mva_teacher_caption ("  "));
}

static void
test_families (void)
{
  g_autoptr(GError) error = NULL;
  const char *bad[] = { "", "0", "11", "3-1", "1-", "a", "1,,2", "1-10x" };

  g_assert_cmphex (mva_teacher_families_parse ("1-10", &error), ==, MVA_TEACHER_ALL_FAMILIES);
  g_assert_cmphex (mva_teacher_families_parse (" 2, 5-6 ", &error), ==, (1u << 2) | (1u << 5) | (1u << 6));
  g_assert_no_error (error);
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) e = NULL;
      g_assert_cmphex (mva_teacher_families_parse (bad[i], &e), ==, 0);
      g_assert_error (e, MVA_TEACHER_ERROR, MVA_TEACHER_ERROR_INVALID);
    }
}

static void
test_request_body (void)
{
  g_autoptr(MvaTeacherConfig) c = mva_teacher_config_new ();
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *body = NULL;
  g_autofree char *url = mva_teacher_request_url ("http://h:8080/v1//");
  JsonObject *o;
  JsonArray *msgs, *content;

  g_assert_cmpstr (url, ==, "http://h:8080/v1/chat/completions");
  c->model = g_strdup ("vision-x");
  body = mva_teacher_request_build (c, 3, "particles", "data:image/png;base64,AAAA", NULL);
  g_assert_true (json_parser_load_from_data (parser, body, -1, &error));
  o = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpstr (json_object_get_string_member (o, "model"), ==, "vision-x");
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (o, "temperature"), 0.25, 1e-9);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (o, "top_p"), 0.1, 1e-9);
  g_assert_cmpint (json_object_get_int_member (o, "max_tokens"), ==, 3500);
  msgs = json_object_get_array_member (o, "messages");
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (msgs, 0), "role"),
                   ==, "system");
  content = json_object_get_array_member (json_array_get_object_element (msgs, 1), "content");
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (content, 1), "type"),
                   ==, "image_url");
  g_assert_nonnull (strstr (json_object_get_string_member (json_array_get_object_element (content, 0),
                                                           "text"), "This micrograph shows particles."));
  /* an image of 1024x768 is 4 tiles at the high-detail rate */
  g_assert_cmpint (mva_teacher_estimate_prompt_tokens (1, NULL, 1024, 768), >, 85 + 170 * 4);
  g_assert_cmpint (mva_teacher_estimate_prompt_tokens (1, NULL, 1024, 768), <, 85 + 170 * 4 + 600);
}

static void
test_config (void)
{
  /* main () points XDG_CONFIG_HOME and XDG_CONFIG_DIRS at empty folders */
  g_autofree char *user = g_build_filename (g_get_user_config_dir (), "mvaema", NULL);
  g_autofree char *file = g_build_filename (user, "teacher.conf", NULL);
  g_autofree char *sys = g_build_filename (g_get_system_config_dirs ()[0], "mvaema", NULL);
  g_autofree char *sys_file = g_build_filename (sys, "teacher.conf", NULL);
  g_autoptr(MvaTeacherConfig) c = mva_teacher_config_new ();
  g_autoptr(MvaTeacherConfig) s = mva_teacher_config_new ();
  g_autoptr(MvaTeacherConfig) d = mva_teacher_config_new ();
  g_autoptr(MvaTeacherConfig) e = mva_teacher_config_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *host = NULL;

  /* no file anywhere: disabled */
  g_assert_true (mva_teacher_config_load (c, &error));
  g_assert_false (c->enabled);
  g_assert_false (mva_teacher_config_validate (c, &error));
  g_assert_error (error, MVA_TEACHER_ERROR, MVA_TEACHER_ERROR_DISABLED);
  g_clear_error (&error);

  /* system-wide file only */
  g_assert_cmpint (g_mkdir_with_parents (sys, 0700), ==, 0);
  g_assert_true (g_file_set_contents (sys_file, "[teacher]\nenabled=true\nendpoint=http://sys/v1\n"
                                      "model=s\n", -1, NULL));
  g_assert_true (mva_teacher_config_load (s, &error));
  g_assert_true (s->enabled);
  g_assert_cmpstr (s->endpoint, ==, "http://sys/v1");

  /* the user's file comes first */
  g_assert_cmpint (g_mkdir_with_parents (user, 0700), ==, 0);
  g_assert_true (g_file_set_contents (file, "[teacher]\nenabled=true\nendpoint=https://llm.example.org:8443/v1\n"
                                      "model=vis\ntemperature=0.5\nmax-side=512\n", -1, NULL));
  g_assert_true (mva_teacher_config_load (d, &error));
  g_assert_no_error (error);
  g_assert_true (d->enabled);
  g_assert_true (d->endpoint_locked);
  g_assert_cmpstr (d->model, ==, "vis");
  g_assert_cmpuint (d->max_side, ==, 512);
  g_assert_cmpfloat_with_epsilon (d->temperature, 0.5, 1e-9);
  g_assert_true (mva_teacher_config_validate (d, &error));
  host = mva_teacher_endpoint_host (d->endpoint, &error);
  g_assert_cmpstr (host, ==, "llm.example.org:8443");

  g_assert_true (g_file_set_contents (file, "[teacher]\nenabled=maybe\n", -1, NULL));
  g_assert_false (mva_teacher_config_load (e, &error));
  g_assert_error (error, MVA_TEACHER_ERROR, MVA_TEACHER_ERROR_INVALID);
  g_clear_error (&error);

  g_assert_null (mva_teacher_endpoint_host ("ftp://x/v1", &error));
  g_assert_error (error, MVA_TEACHER_ERROR, MVA_TEACHER_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_null (mva_teacher_endpoint_host ("https://user:pw@x/v1", &error));
  g_assert_error (error, MVA_TEACHER_ERROR, MVA_TEACHER_ERROR_INVALID);
  g_clear_error (&error);

  g_unsetenv ("MVAEMA_TEACHER_API_KEY");
  g_unsetenv ("DBUS_SESSION_BUS_ADDRESS");
  {
    g_autofree char *none = mva_teacher_config_dup_api_key (d);
    g_assert_null (none);
  }
  g_setenv ("MVAEMA_TEACHER_API_KEY", "k-123", TRUE);
  {
    g_autofree char *key = mva_teacher_config_dup_api_key (d);
    g_assert_cmpstr (key, ==, "k-123");
  }
}

static void
on_run_done (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

/* The GUI's keys, read through the application's real schema (data/). */
static void
test_settings (void)
{
  const char *src = g_getenv ("MVAEMA_SOURCE_DIR");
  g_autofree char *data = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *cmd = NULL;
  g_autoptr(GSettingsSchemaSource) source = NULL;
  g_autoptr(GSettingsSchema) schema = NULL;
  g_autoptr(GSettingsBackend) backend = NULL;
  g_autoptr(GSettings) settings = NULL;
  g_autoptr(MvaTeacherConfig) config = mva_teacher_config_new ();
  g_autoptr(GError) error = NULL;
  gboolean locked = TRUE;
  int status = -1;

  g_autofree char *compiler = g_find_program_in_path ("glib-compile-schemas");

  if (src == NULL || compiler == NULL)
    {
      g_test_skip ("needs MVAEMA_SOURCE_DIR and glib-compile-schemas");
      return;
    }
  data = g_build_filename (src, "data", NULL);
  dir = g_dir_make_tmp (NULL, NULL);
  cmd = g_strdup_printf ("glib-compile-schemas --targetdir='%s' '%s'", dir, data);
  g_assert_true (g_spawn_command_line_sync (cmd, NULL, NULL, &status, NULL));
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  source = g_settings_schema_source_new_from_directory (dir, NULL, FALSE, &error);
  g_assert_no_error (error);
  schema = g_settings_schema_source_lookup (source, APP_ID, FALSE);
  if (schema == NULL)
    schema = g_settings_schema_source_lookup (source, "io.github.mvaema.Workbench", FALSE);
  g_assert_nonnull (schema);
  g_assert_true (g_settings_schema_has_key (schema, "teacher-enabled"));
  backend = g_memory_settings_backend_new ();
  settings = g_settings_new_full (schema, backend, NULL);

  /* defaults: off, nothing configured */
  mva_teacher_config_apply_settings (config, settings, &locked);
  g_assert_false (config->enabled);
  g_assert_false (locked);
  g_assert_null (config->endpoint);
  g_assert_false (mva_teacher_config_validate (config, &error));
  g_assert_error (error, MVA_TEACHER_ERROR, MVA_TEACHER_ERROR_DISABLED);
  g_clear_error (&error);

  g_settings_set_boolean (settings, "teacher-enabled", TRUE);
  g_settings_set_string (settings, "teacher-endpoint", "https://llm.example.org/v1");
  g_settings_set_string (settings, "teacher-model", "vision-large");
  mva_teacher_config_apply_settings (config, settings, &locked);
  g_assert_true (config->enabled);
  g_assert_true (config->endpoint_locked);
  g_assert_cmpstr (config->endpoint, ==, "https://llm.example.org/v1");
  g_assert_cmpstr (config->model, ==, "vision-large");
  g_assert_true (mva_teacher_config_validate (config, &error));

  g_clear_object (&settings);
  {
    g_autofree char *rm = g_strdup_printf ("rm -rf '%s'", dir);
    g_assert_true (g_spawn_command_line_sync (rm, NULL, NULL, NULL, NULL));
  }
}

typedef struct
{
  GThread *thread;
  guint    calls;
  guint64  failed;
} ProgressSeen;

static void
on_progress (const MvaTeacherStats *stats,
             gpointer               user_data)
{
  ProgressSeen *seen = user_data;

  g_assert_true (g_thread_self () == seen->thread);
  g_assert_nonnull (stats->current_path);
  seen->calls++;
  seen->failed = stats->failed;
}

/* The async run: refusal when disabled, an empty batch, and a batch whose
 * image file is gone (logged as not sent): none of them may touch the
 * network; progress and the callback come back on this thread's context. */
static void
test_async (void)
{
  g_autofree char *dir = g_dir_make_tmp (NULL, NULL);
  g_autofree char *db = g_build_filename (dir, "library.db", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(MvaStore) store = mva_store_open (db, MVA_STORE_OPEN_DEFAULT, &error);
  g_autoptr(MvaTeacherConfig) config = mva_teacher_config_new ();
  g_autoptr(GPtrArray) none = g_ptr_array_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GAsyncResult) result2 = NULL;
  MvaTeacherStats stats;

  g_assert_no_error (error);
  config->endpoint = g_strdup ("http://127.0.0.1:9/v1");
  config->model = g_strdup ("m");

  mva_teacher_run_async (store, config, NULL, none, MVA_TEACHER_ALL_FAMILIES, NULL, NULL, NULL,
                         NULL, on_run_done, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (mva_teacher_run_finish (result, &stats, &error));
  g_assert_error (error, MVA_TEACHER_ERROR, MVA_TEACHER_ERROR_DISABLED);
  g_clear_error (&error);

  config->enabled = TRUE;
  mva_teacher_run_async (store, config, "k", none, MVA_TEACHER_ALL_FAMILIES, NULL, NULL, NULL,
                         NULL, on_run_done, &result2);
  mva_teacher_config_free (g_steal_pointer (&config));   /* the run holds a copy */
  while (result2 == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (mva_teacher_run_finish (result2, &stats, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (stats.requests_total, ==, 0);
  g_assert_cmpuint (stats.ok + stats.failed + stats.not_sent, ==, 0);

  {
    MvaMicrograph m = { .sha256 = (char *) "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                        .path = (char *) "/nonexistent/mva-teacher-test.png", .file_size = -1 };
    g_autoptr(GPtrArray) list = NULL;
    g_autoptr(GAsyncResult) result3 = NULL;
    g_autoptr(GPtrArray) log = NULL;
    g_autoptr(MvaTeacherConfig) c2 = mva_teacher_config_new ();
    ProgressSeen seen = { g_thread_self (), 0, 0 };
    MvaTeacherRequest *req;

    g_assert_cmpint (mva_store_add_micrograph (store, &m, NULL, &error), >, 0);
    g_assert_no_error (error);
    list = mva_store_list_micrographs (store, NULL, &error);
    g_assert_no_error (error);
    c2->enabled = TRUE;
    c2->endpoint = g_strdup ("http://127.0.0.1:9/v1");
    c2->model = g_strdup ("m");
    mva_teacher_run_async (store, c2, NULL, list, (1u << 1) | (1u << 2), NULL, on_progress, &seen,
                           NULL, on_run_done, &result3);
    while (result3 == NULL)
      g_main_context_iteration (NULL, TRUE);
    g_assert_true (mva_teacher_run_finish (result3, &stats, &error));
    g_assert_cmpuint (stats.failed, ==, 2);
    g_assert_cmpuint (seen.calls, ==, 2);
    g_assert_cmpuint (seen.failed, ==, 2);
    log = mva_store_list_teacher_requests (store, 0, 0, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (log->len, ==, 2);
    req = g_ptr_array_index (log, 0);
    g_assert_false (req->ok);
    g_assert_true (g_str_has_prefix (req->reason, "not sent: cannot read image"));
  }

  g_clear_pointer (&store, mva_store_unref);
  {
    g_autofree char *rm = g_strdup_printf ("rm -rf '%s'", dir);
    g_assert_true (g_spawn_command_line_sync (rm, NULL, NULL, NULL, NULL));
  }
}

int
main (int    argc,
      char **argv)
{
  g_autofree char *tmp = g_dir_make_tmp (NULL, NULL);
  g_autofree char *user_dir = g_build_filename (tmp, "config", NULL);
  g_autofree char *sys_dir = g_build_filename (tmp, "xdg", NULL);
  g_autofree char *rm = g_strdup_printf ("rm -rf '%s'", tmp);
  int status;

  /* before anything asks GLib for the config folders (it caches them) */
  g_assert_nonnull (tmp);
  g_setenv ("XDG_CONFIG_HOME", user_dir, TRUE);
  g_setenv ("XDG_CONFIG_DIRS", sys_dir, TRUE);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/Mva/Teacher/parse/labelled", test_labelled);
  g_test_add_func ("/Mva/Teacher/parse/template-echo", test_template_echo);
  g_test_add_func ("/Mva/Teacher/parse/answers-only", test_answers_only);
  g_test_add_func ("/Mva/Teacher/parse/numbered", test_numbered);
  g_test_add_func ("/Mva/Teacher/parse/headings", test_headings);
  g_test_add_func ("/Mva/Teacher/parse/bullets", test_bullets);
  g_test_add_func ("/Mva/Teacher/parse/paragraphs", test_paragraphs);
  g_test_add_func ("/Mva/Teacher/parse/bad-input", test_bad_input);
  g_test_add_func ("/Mva/Teacher/parse/duplicates", test_duplicates);
  g_test_add_func ("/Mva/Teacher/reply/envelope", test_reply_envelope);
  g_test_add_func ("/Mva/Teacher/prompts", test_prompts);
  g_test_add_func ("/Mva/Teacher/families", test_families);
  g_test_add_func ("/Mva/Teacher/request-body", test_request_body);
  g_test_add_func ("/Mva/Teacher/config", test_config);
  g_test_add_func ("/Mva/Teacher/async", test_async);
  g_test_add_func ("/Mva/Teacher/settings", test_settings);
  status = g_test_run ();
  if (!g_spawn_command_line_sync (rm, NULL, NULL, NULL, NULL))
    g_printerr ("could not remove %s\n", tmp);
  return status;
}
