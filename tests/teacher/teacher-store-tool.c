/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * teacher-store-tool.c: test helper for tests/teacher. Fills a library with
 * micrographs and dumps what the teacher wrote, through the public store API
 * (so the tests do not depend on the SQL schema).
 *
 *   teacher-store-tool add DB PATH [CATEGORY]   prints the micrograph id
 *   teacher-store-tool dump DB                  one JSON object per line:
 *     {"kind":"qa","micrograph_id":..,"family":..,"source":..,"question":..,
 *      "answer":..,"teacher_model":..,"prompt_tokens":..,"completion_tokens":..,
 *      "created_at":..}
 *     {"kind":"log","micrograph_id":..,"family":..,"model":..,"ok":..,
 *      "reason":..,"prompt_tokens":..,"completion_tokens":..}
 */
#include "config.h"

#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>

#include "mva-store.h"

static void
print_builder (JsonBuilder *b)
{
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(JsonNode) root = json_builder_get_root (b);
  g_autofree char *text = NULL;

  json_generator_set_root (gen, root);
  text = json_generator_to_data (gen, NULL);
  puts (text);
}

static void
add_str (JsonBuilder *b,
         const char  *key,
         const char  *value)
{
  json_builder_set_member_name (b, key);
  if (value != NULL)
    json_builder_add_string_value (b, value);
  else
    json_builder_add_null_value (b);
}

static void
add_int (JsonBuilder *b,
         const char  *key,
         gint64       value)
{
  json_builder_set_member_name (b, key);
  json_builder_add_int_value (b, value);
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MvaStore) store = NULL;

  if (argc < 3)
    {
      fprintf (stderr, "usage: %s add DB PATH [CATEGORY] | dump DB\n", argv[0]);
      return 2;
    }
  store = mva_store_open (argv[2], MVA_STORE_OPEN_DEFAULT, &error);
  if (store == NULL)
    {
      fprintf (stderr, "%s\n", error->message);
      return 1;
    }
  if (strcmp (argv[1], "add") == 0 && argc >= 4)
    {
      const char *category = argc >= 5 ? argv[4] : NULL;
      gint64 id = mva_store_add_micrograph_file (store, argv[3], category,
                                                 category ? MVA_CATEGORY_SOURCE_USER
                                                          : MVA_CATEGORY_SOURCE_NONE,
                                                 NULL, &error);
      if (id == 0)
        {
          fprintf (stderr, "%s\n", error->message);
          return 1;
        }
      printf ("%" G_GINT64_FORMAT "\n", id);
      return 0;
    }
  if (strcmp (argv[1], "dump") == 0)
    {
      MvaQaFilter filter = { .oldest_first = TRUE };
      g_autoptr(GPtrArray) pairs = mva_store_list_qa (store, &filter, &error);
      g_autoptr(GPtrArray) log = NULL;

      if (pairs == NULL)
        {
          fprintf (stderr, "%s\n", error->message);
          return 1;
        }
      for (guint i = 0; i < pairs->len; i++)
        {
          MvaQaPair *qa = g_ptr_array_index (pairs, i);
          g_autoptr(JsonBuilder) b = json_builder_new ();

          json_builder_begin_object (b);
          add_str (b, "kind", "qa");
          add_int (b, "micrograph_id", qa->micrograph_id);
          add_int (b, "family", qa->family);
          add_str (b, "source", mva_qa_source_to_string (qa->source));
          add_str (b, "question", qa->question);
          add_str (b, "answer", qa->answer);
          add_str (b, "teacher_model", qa->teacher_model);
          add_int (b, "prompt_tokens", qa->prompt_tokens);
          add_int (b, "completion_tokens", qa->completion_tokens);
          add_int (b, "created_at", qa->created_at);
          json_builder_end_object (b);
          print_builder (b);
        }
      log = mva_store_list_teacher_requests (store, 0, 0, &error);
      if (log == NULL)
        {
          fprintf (stderr, "%s\n", error->message);
          return 1;
        }
      for (guint i = 0; i < log->len; i++)
        {
          MvaTeacherRequest *r = g_ptr_array_index (log, i);
          g_autoptr(JsonBuilder) b = json_builder_new ();

          json_builder_begin_object (b);
          add_str (b, "kind", "log");
          add_int (b, "micrograph_id", r->micrograph_id);
          add_int (b, "family", r->family);
          add_str (b, "model", r->model);
          json_builder_set_member_name (b, "ok");
          json_builder_add_boolean_value (b, r->ok);
          add_str (b, "reason", r->reason);
          add_int (b, "prompt_tokens", r->prompt_tokens);
          add_int (b, "completion_tokens", r->completion_tokens);
          json_builder_end_object (b);
          print_builder (b);
        }
      return 0;
    }
  fprintf (stderr, "unknown command %s\n", argv[1]);
  return 2;
}
