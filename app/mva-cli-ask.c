/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-cli-ask.c: `mvaema-cli ask`, ask the assistant about a micrograph.
 *
 *   mvaema-cli ask IMAGE ["QUESTION"] [--family N] [--category C] [--model DIR]
 *                  [--db FILE] [--json] [--overlay OUT.png] [--overlay-token K]
 *                  [--opacity X] [--max-tokens N] [--threads N] [--device cpu|cuda|auto]
 *   mvaema-cli ask --all-images --family N --csv OUT [--db FILE] [--model DIR]
 *
 * Without --json the answer streams to stdout token by token (the model's
 * text), followed, when the metadata or a measurement replaced some of its
 * sentences, by a line with the answer as recorded. --json prints
 * one object: answer, model, ms, first_token_ms, tokens, family, category,
 * caption, question, image, device (+ device_note when a CUDA preference
 * runs on the CPU; + qa_id, model_version_id with --db). With
 * --family N and no (or an empty) question the family's preset question is
 * asked. The caption uses --category, else the library's category of the
 * image (--db; when it has none, the best category of `classify` is stored
 * as a prediction and used). Without --model: the library's adopted model (--db), else
 * the default model. --db records the answer (the image is imported when
 * new). --overlay writes the image with the whole answer's attention (or
 * token K's) as a heat map. --all-images asks every micrograph of the
 * library and writes a CSV. Ctrl+C stops cleanly (exit 130).
 */
#define G_LOG_DOMAIN "mva-cli"
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "mva-assistant.h"
#include "mva-cli.h"
#include "mva-overlay.h"
#include "mva-store.h"

static gboolean
is_blank (const char *s)
{
  while (s != NULL && g_ascii_isspace (*s))
    s++;
  return s == NULL || *s == '\0';
}

static void
on_token_print (guint        index,
                gint32       token,
                const char  *piece,
                const float *attention,
                guint        n_patches,
                gpointer     user_data)
{
  fputs (piece, stdout);
  fflush (stdout);
}

static void
add_string_or_null (JsonBuilder *b, const char *name, const char *value)
{
  json_builder_set_member_name (b, name);
  if (value != NULL)
    json_builder_add_string_value (b, value);
  else
    json_builder_add_null_value (b);
}

static char *
csv_field (const char *s)
{
  GString *out;

  if (s == NULL)
    return g_strdup ("");
  if (strpbrk (s, ",\"\n\r") == NULL)
    return g_strdup (s);
  out = g_string_new ("\"");
  for (const char *p = s; *p; p++)
    {
      if (*p == '"')
        g_string_append_c (out, '"');
      g_string_append_c (out, *p);
    }
  g_string_append_c (out, '"');
  return g_string_free (out, FALSE);
}

static int
fail_error (const GError *error)
{
  if (g_error_matches (error, MVA_ASSISTANT_ERROR, MVA_ASSISTANT_ERROR_CANCELLED))
    {
      mva_cli_fail ("ask: cancelled");
      return 130;
    }
  return mva_cli_fail ("ask: %s", error->message);
}

static int
ask_all (MvaStore          *store,
         MvaAssistantModel *model,
         guint              family,
         const char        *question,
         const char        *csv_path,
         guint              max_tokens,
         gboolean           json)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) images = NULL;
  g_autofree char *tmp = NULL;
  FILE *f;
  guint done = 0, failed = 0;
  gint64 version;

  images = mva_store_list_micrographs (store, NULL, &error);
  if (images == NULL)
    return mva_cli_fail ("ask: %s", error->message);
  version = mva_assistant_model_version_for_dir (store, mva_assistant_model_get_dir (model), &error);
  if (version == 0)
    return mva_cli_fail ("ask: %s", error->message);
  tmp = g_strdup_printf ("%s.tmp", csv_path);
  f = fopen (tmp, "w");
  if (f == NULL)
    return mva_cli_fail ("ask: cannot write %s: %s", csv_path, g_strerror (errno));
  fputs ("micrograph_id,image,category,family,question,answer,ms,qa_id\n", f);
  for (guint i = images->len; i-- > 0;) /* oldest first */
    {
      MvaMicrograph *m = g_ptr_array_index (images, i);
      g_autoptr(MvaImage) image = NULL;
      g_autoptr(MvaAnswer) a = NULL;
      g_autoptr(GError) e = NULL;
      MvaAskRequest req = { question, family, m->category, max_tokens };
      g_autofree char *c_img = NULL, *c_cat = NULL, *c_q = NULL, *c_a = NULL;
      gint64 qa_id;

      if (g_cancellable_is_cancelled (mva_cli_cancellable ()))
        break;
      mva_cli_progress ("ask: %u/%u images", images->len - i, images->len);
      if (m->path == NULL || (image = mva_image_load (m->path, 0, &e)) == NULL)
        {
          failed++;
          g_printerr ("\nask: skipped micrograph %" G_GINT64_FORMAT ": %s\n", m->id,
                      e ? e->message : "no file recorded");
          continue;
        }
      a = mva_assistant_ask (model, image, &req, NULL, NULL, mva_cli_cancellable (), &e);
      if (a == NULL)
        {
          if (g_error_matches (e, MVA_ASSISTANT_ERROR, MVA_ASSISTANT_ERROR_CANCELLED))
            break;
          failed++;
          g_printerr ("\nask: skipped %s: %s\n", m->path, e->message);
          continue;
        }
      qa_id = mva_assistant_record_answer (store, m->id, a, &e);
      if (qa_id == 0)
        {
          fclose (f);
          remove (tmp);
          return mva_cli_fail ("ask: %s", e->message);
        }
      c_img = csv_field (m->path);
      c_cat = csv_field (m->category);
      c_q = csv_field (a->question);
      c_a = csv_field (a->answer);
      fprintf (f, "%" G_GINT64_FORMAT ",%s,%s,%u,%s,%s,%.1f,%" G_GINT64_FORMAT "\n", m->id, c_img,
               c_cat, family, c_q, c_a, a->ms, qa_id);
      done++;
    }
  mva_cli_progress_done ();
  if (fclose (f) != 0 || rename (tmp, csv_path) != 0)
    {
      remove (tmp);
      return mva_cli_fail ("ask: cannot write %s: %s", csv_path, g_strerror (errno));
    }
  if (json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "answered");
      json_builder_add_int_value (b, done);
      json_builder_set_member_name (b, "skipped");
      json_builder_add_int_value (b, failed);
      json_builder_set_member_name (b, "csv");
      json_builder_add_string_value (b, csv_path);
      json_builder_set_member_name (b, "model");
      json_builder_add_string_value (b, mva_assistant_model_get_dir (model));
      json_builder_end_object (b);
      mva_cli_print_builder (b);
    }
  else
    g_print ("answered %u image(s), skipped %u; wrote %s\n", done, failed, csv_path);
  if (g_cancellable_is_cancelled (mva_cli_cancellable ()))
    {
      mva_cli_fail ("ask: cancelled after %u image(s) (the CSV holds them)", done);
      return 130;
    }
  return 0;
}

int
mva_cli_ask (int    argc,
             char **argv)
{
  g_autofree char *model_dir = NULL;
  g_autofree char *db = NULL;
  g_autofree char *overlay = NULL;
  g_autofree char *csv = NULL;
  g_autofree char *category = NULL;
  g_autofree char *family_s = NULL;
  g_autofree char *threads_s = NULL;
  g_autofree char *device = NULL, *device_used = NULL, *device_note = NULL;
  g_autofree char *max_tokens_s = NULL;
  g_autofree char *overlay_token_s = NULL;
  double opacity = 0.5;
  gboolean json = FALSE, all_images = FALSE;
  guint64 family = 0, threads = 0, max_tokens = 0, overlay_token = G_MAXUINT32;
  g_autoptr(GError) error = NULL;
  g_autoptr(MvaStore) store = NULL;
  g_autoptr(MvaAssistantModel) model = NULL;
  g_autoptr(MvaImage) image = NULL;
  g_autoptr(MvaAnswer) a = NULL;
  g_autoptr(MvaMicrograph) micrograph = NULL;
  const char *image_path = NULL, *question = NULL;
  gint64 micrograph_id = 0, qa_id = 0, version_id = 0;
  MvaAskRequest req = { 0 };
  const GOptionEntry entries[] = {
    { "family", 0, 0, G_OPTION_ARG_STRING, &family_s,
      "Question family 1..10 (its preset question when QUESTION is missing or empty)", "N" },
    { "category", 0, 0, G_OPTION_ARG_STRING, &category,
      "Known category of the image: the prompt starts with its caption", "NAME" },
    { "model", 0, 0, G_OPTION_ARG_FILENAME, &model_dir, "Model folder (default: the current model)", "DIR" },
    { "db", 0, 0, G_OPTION_ARG_FILENAME, &db, "Library: record the answer there", "FILE" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print one JSON object", NULL },
    { "overlay", 0, 0, G_OPTION_ARG_FILENAME, &overlay, "Write the attention overlay as PNG", "OUT.png" },
    { "overlay-token", 0, 0, G_OPTION_ARG_STRING, &overlay_token_s,
      "Overlay of answer token K (from 0) instead of the whole answer", "K" },
    { "opacity", 0, 0, G_OPTION_ARG_DOUBLE, &opacity, "Overlay opacity 0..1 (0.5)", "X" },
    { "max-tokens", 0, 0, G_OPTION_ARG_STRING, &max_tokens_s, "Longest answer in tokens", "N" },
    { "threads", 0, 0, G_OPTION_ARG_STRING, &threads_s, "Engine threads (default: all CPUs)", "N" },
    { "device", 0, 0, G_OPTION_ARG_STRING, &device, "Engine device: cpu, cuda or auto (default: "
      "auto: CUDA when it can run the model, else the CPU)", "DEVICE" },
    { "all-images", 0, 0, G_OPTION_ARG_NONE, &all_images,
      "Ask every micrograph of the library (--db) and write --csv", NULL },
    { "csv", 0, 0, G_OPTION_ARG_FILENAME, &csv, "CSV output of --all-images", "OUT" },
    { NULL }
  };

  if (!mva_cli_parse ("ask", "IMAGE [QUESTION]",
                      "Ask the assistant a question about a micrograph.", entries, &argc, &argv))
    return 2;
  if (!mva_cli_parse_uint ("ask", "--family", family_s, 1, MVA_ASSISTANT_N_FAMILIES, &family) ||
      !mva_cli_parse_uint ("ask", "--threads", threads_s, 1, 256, &threads) ||
      !mva_cli_parse_uint ("ask", "--max-tokens", max_tokens_s, 1, 4096, &max_tokens) ||
      !mva_cli_parse_uint ("ask", "--overlay-token", overlay_token_s, 0, 4096, &overlay_token))
    return 2;
  if (!(opacity >= 0 && opacity <= 1))
    return mva_cli_fail ("ask: --opacity expects a number from 0 to 1");
  if (!mva_cli_resolve_device ("ask", device, &device_used, &device_note))
    return 1;
  if (g_str_equal (device_used, "cuda"))
    {
      /* CUDA runs training steps (mva-trainer.c); the assistant's answers,
       * beams and overlays are still computed by the CPU engine */
      g_free (device_used);
      device_used = g_strdup ("cpu");
      device_note = g_strdup ("answers are generated on the CPU: ask does not use the CUDA "
                              "device yet");
    }
  if (device != NULL && device_note != NULL && !json)
    g_printerr ("ask: %s\n", device_note);
  if (category != NULL && category[0] != '\0' && !mva_assistant_category_index (category, NULL))
    return mva_cli_fail ("ask: unknown category “%s” (one of biological, fibres, films, mems, "
                         "nanowires, particles, patterned, porous, powder, tips)", category);

  if (all_images)
    {
      if (argc > 2)
        return mva_cli_fail ("ask: --all-images takes at most a QUESTION, not “%s”", argv[2]);
      question = argc == 2 ? argv[1] : NULL;
      if (family == 0 && is_blank (question))
        return mva_cli_fail ("ask: --all-images needs --family N or a QUESTION");
      if (csv == NULL)
        return mva_cli_fail ("ask: --all-images needs --csv OUT");
    }
  else
    {
      if (argc < 2)
        return mva_cli_fail ("ask: missing IMAGE (usage: ask IMAGE \"QUESTION\" [--family N])");
      if (argc > 3)
        return mva_cli_fail ("ask: unexpected argument “%s” (quote the question)", argv[3]);
      image_path = argv[1];
      question = argc == 3 ? argv[2] : NULL;
      if (family == 0 && is_blank (question))
        return mva_cli_fail ("ask: missing QUESTION (or give --family N for its preset question)");
    }

  if (db != NULL || all_images)
    {
      store = mva_store_open (db, MVA_STORE_OPEN_DEFAULT, &error);
      if (store == NULL)
        return mva_cli_fail ("ask: %s", error->message);
    }
  if (model_dir == NULL)
    {
      model_dir = mva_assistant_current_model_dir (store, &error);
      if (model_dir == NULL)
        return mva_cli_fail ("ask: %s", error->message);
    }
  model = mva_assistant_model_load (model_dir, (guint) threads, &error);
  if (model == NULL)
    return mva_cli_fail ("ask: %s", error->message);

  if (all_images)
    return ask_all (store, model, (guint) family, question, csv, (guint) max_tokens, json);

  image = mva_image_load (image_path, 0, &error);
  if (image == NULL)
    return mva_cli_fail ("ask: %s", error->message);
  if (store != NULL)
    {
      micrograph_id = mva_store_add_micrograph_file (store, image_path, NULL,
                                                     MVA_CATEGORY_SOURCE_NONE, NULL, &error);
      if (micrograph_id == 0)
        return mva_cli_fail ("ask: %s", error->message);
      micrograph = mva_store_get_micrograph (store, micrograph_id, &error);
      if (micrograph == NULL)
        return mva_cli_fail ("ask: %s", error->message);
      /* no known category: predict one and keep it, so the caption can use it */
      if (micrograph->category == NULL && (category == NULL || category[0] == '\0'))
        {
          g_autoptr(GArray) ranking = mva_assistant_classify (model, image, mva_cli_cancellable (),
                                                              &error);

          if (ranking == NULL)
            return fail_error (error);
          micrograph->category = g_strdup (g_array_index (ranking, MvaCategoryScore, 0).category);
          if (!mva_store_set_category (store, micrograph_id, micrograph->category,
                                       MVA_CATEGORY_SOURCE_PREDICTION, &error))
            return mva_cli_fail ("ask: %s", error->message);
        }
    }
  req.question = question;
  req.family = (guint) family;
  req.category = category != NULL && category[0] != '\0'
                   ? category
                   : (micrograph != NULL ? micrograph->category : NULL);
  req.max_tokens = (guint) max_tokens;
  a = mva_assistant_ask (model, image, &req, json ? NULL : on_token_print, NULL,
                         mva_cli_cancellable (), &error);
  if (a == NULL)
    {
      if (!json)
        g_print ("\n");
      return fail_error (error);
    }
  if (!json)
    {
      g_print ("\n");
      /* the streamed text is the model's; where the metadata or a
       * measurement replaced some of its sentences, the answer follows */
      if (g_strcmp0 (a->answer, a->generated) != 0)
        g_print ("With the file's metadata and the measurement on the image: %s\n", a->answer);
    }
  if (store != NULL)
    {
      qa_id = mva_assistant_record_answer (store, micrograph_id, a, &error);
      if (qa_id == 0)
        return mva_cli_fail ("ask: %s", error->message);
      version_id = mva_assistant_model_version_for_dir (store, a->model_dir, &error);
      if (version_id == 0)
        return mva_cli_fail ("ask: %s", error->message);
    }
  if (overlay != NULL)
    {
      MvaOverlayOptions opts = MVA_OVERLAY_OPTIONS_INIT;
      const float *map = a->mean_attention;

      if (overlay_token != G_MAXUINT32)
        {
          if (overlay_token >= a->n_tokens)
            return mva_cli_fail ("ask: --overlay-token %" G_GUINT64_FORMAT
                                 " is past the answer's %u tokens", overlay_token, a->n_tokens);
          map = a->attention + overlay_token * a->n_patches;
        }
      opts.opacity = opacity;
      if (!mva_overlay_write_png (image, map, a->grid, &opts, overlay, &error))
        return mva_cli_fail ("ask: %s", error->message);
    }
  if (json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "answer");
      json_builder_add_string_value (b, a->answer);
      json_builder_set_member_name (b, "model");
      json_builder_add_string_value (b, a->model_dir);
      json_builder_set_member_name (b, "model_name");
      json_builder_add_string_value (b, a->model_name);
      json_builder_set_member_name (b, "ms");
      json_builder_add_double_value (b, a->ms);
      json_builder_set_member_name (b, "device");
      json_builder_add_string_value (b, device_used);
      if (device_note != NULL)
        {
          json_builder_set_member_name (b, "device_note");
          json_builder_add_string_value (b, device_note);
        }
      json_builder_set_member_name (b, "first_token_ms");
      json_builder_add_double_value (b, a->first_token_ms);
      json_builder_set_member_name (b, "tokens");
      json_builder_add_int_value (b, a->n_tokens);
      json_builder_set_member_name (b, "family");
      json_builder_add_int_value (b, a->family);
      add_string_or_null (b, "family_label", mva_assistant_family_label (a->family));
      add_string_or_null (b, "category", a->category);
      json_builder_set_member_name (b, "category_predicted");
      json_builder_add_boolean_value (b, a->category_predicted);
      add_string_or_null (b, "caption", a->caption);
      json_builder_set_member_name (b, "question");
      json_builder_add_string_value (b, a->question);
      json_builder_set_member_name (b, "image");
      json_builder_add_string_value (b, image_path);
      /* issue 6: the scale stated from the instrument metadata (mva-assistant.h) */
      json_builder_set_member_name (b, "scale_from_metadata");
      json_builder_add_boolean_value (b, a->scale_from_metadata);
      if (a->scale_from_metadata)
        {
          json_builder_set_member_name (b, "pixel_size_nm");
          json_builder_add_double_value (b, a->pixel_size_nm);
          json_builder_set_member_name (b, "field_of_view_um");
          json_builder_add_double_value (b, a->field_of_view_um);
        }
      json_builder_set_member_name (b, "instrument_from_metadata");
      json_builder_add_boolean_value (b, a->instrument_from_metadata);
      /* sizes measured on the image (mva-assistant-measure.c) */
      json_builder_set_member_name (b, "size_measured");
      json_builder_add_boolean_value (b, a->size_measured);
      if (a->size_measured)
        {
          json_builder_set_member_name (b, "size_px");
          json_builder_add_double_value (b, a->size_px);
          json_builder_set_member_name (b, "size_nm");
          if (isfinite (a->size_nm))
            json_builder_add_double_value (b, a->size_nm);
          else
            json_builder_add_null_value (b);
          add_string_or_null (b, "size_category", a->size_category);
        }
      if (g_strcmp0 (a->answer, a->generated) != 0)
        {
          /* the model's own text, before the metadata sentences replaced its guesses */
          json_builder_set_member_name (b, "generated");
          json_builder_add_string_value (b, a->generated);
        }
      if (overlay != NULL)
        add_string_or_null (b, "overlay", overlay);
      if (store != NULL)
        {
          json_builder_set_member_name (b, "qa_id");
          json_builder_add_int_value (b, qa_id);
          json_builder_set_member_name (b, "model_version_id");
          json_builder_add_int_value (b, version_id);
          json_builder_set_member_name (b, "micrograph_id");
          json_builder_add_int_value (b, micrograph_id);
        }
      json_builder_end_object (b);
      mva_cli_print_builder (b);
    }
  else if (store != NULL)
    g_printerr ("recorded as pair %" G_GINT64_FORMAT "\n", qa_id);
  return 0;
}
