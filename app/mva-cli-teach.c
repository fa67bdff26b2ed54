/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-cli-teach.c: `mvaema-cli teach`, question/answer pairs from the optional
 * teacher (an OpenAI-compatible chat-completions endpoint) into the library.
 *
 *   mvaema-cli teach --db FILE --endpoint URL --model NAME [--families 1-10]
 *                    [--images QUERY] [--limit N] [--dry-run] [--json] ...
 *
 * Privacy: the teacher.conf key file must enable the teacher (see
 * mva-teacher-config.h); otherwise the command refuses before it opens the
 * library or any connection. --dry-run prints what would be sent, to which
 * host, and the estimated tokens, and opens no connection at all. The API key
 * is read from MVAEMA_TEACHER_API_KEY or the keyring, never from an option.
 */
#define G_LOG_DOMAIN "mvaema-cli"
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "mva-cli.h"
#include "mva-store.h"
#include "mva-teacher.h"

static gint
compare_micrograph_id (gconstpointer a,
                       gconstpointer b)
{
  const MvaMicrograph *ma = *(MvaMicrograph * const *) a;
  const MvaMicrograph *mb = *(MvaMicrograph * const *) b;

  return (ma->id > mb->id) - (ma->id < mb->id);
}

/* --images QUERY: "all" (default), "category:NAME" ("category:" for
 * uncategorised), "id:N[,M...]", "sha256:HEX", else a substring of the path. */
static GPtrArray *
select_micrographs (MvaStore    *store,
                    const char  *query,
                    GError     **error)
{
  MvaMicrographFilter filter = { 0 };
  g_autoptr(GPtrArray) list = NULL;

  if (query != NULL && g_str_has_prefix (query, "id:"))
    {
      g_auto(GStrv) ids = g_strsplit (query + 3, ",", -1);

      list = g_ptr_array_new_with_free_func ((GDestroyNotify) mva_micrograph_free);
      for (guint i = 0; ids[i] != NULL; i++)
        {
          guint64 id;
          MvaMicrograph *m;

          if (!g_ascii_string_to_unsigned (g_strstrip (ids[i]), 10, 1, G_MAXINT64, &id, NULL))
            {
              g_set_error (error, MVA_TEACHER_ERROR, MVA_TEACHER_ERROR_INVALID,
                           "--images: bad micrograph id “%s”", ids[i]);
              return NULL;
            }
          m = mva_store_get_micrograph (store, (gint64) id, error);
          if (m == NULL)
            return NULL;
          g_ptr_array_add (list, m);
        }
    }
  else if (query != NULL && g_str_has_prefix (query, "sha256:"))
    {
      MvaMicrograph *m = mva_store_find_micrograph (store, query + 7, error);

      if (m == NULL)
        {
          if (error != NULL && *error == NULL)
            g_set_error (error, MVA_TEACHER_ERROR, MVA_TEACHER_ERROR_INVALID,
                         "--images: no micrograph with hash %s", query + 7);
          return NULL;
        }
      list = g_ptr_array_new_with_free_func ((GDestroyNotify) mva_micrograph_free);
      g_ptr_array_add (list, m);
    }
  else
    {
      if (query != NULL && g_str_has_prefix (query, "category:"))
        filter.category = query + 9;
      else if (query != NULL && *query != '\0' && g_strcmp0 (query, "all") != 0)
        filter.search = query;
      list = mva_store_list_micrographs (store, &filter, error);
      if (list == NULL)
        return NULL;
    }
  g_ptr_array_sort (list, compare_micrograph_id);
  return g_steal_pointer (&list);
}

static int
dry_run (const MvaTeacherConfig *config,
         const MvaTeacherPlan   *plan,
         gboolean                json)
{
  const char *host = plan->host;
  const char *url = plan->url;
  gint64 est_prompt = 0, est_completion = 0;
  guint64 n = 0, skipped = plan->n_skipped, unreadable = 0;

  if (!json)
    {
      printf ("Dry run: nothing is sent and no connection is opened.\n"
              "Requests would go to %s (POST %s), model %s, temperature %g, top_p %g, "
              "max_tokens %u.\n"
              "Images are sent as PNG (data bar removed, longest side at most %u px, no "
              "metadata or file names).\n\nSystem prompt:\n  %s\n\n",
              host, url, config->model, config->temperature, config->top_p,
              config->max_tokens, config->max_side, mva_teacher_system_prompt ());
      if (config->proxy != NULL)
        printf ("Requests pass through the proxy %s (teacher.conf).\n\n", config->proxy);
    }
  for (guint i = 0; i < plan->micrographs->len; i++)
    {
      MvaMicrograph *m = g_ptr_array_index (plan->micrographs, i);
      guint pending = g_array_index (plan->family_masks, guint, i);
      g_autoptr(MvaTeacherImage) img = NULL;
      g_autoptr(GError) error = NULL;

      for (guint f = 1; f <= MVA_TEACHER_N_FAMILIES; f++)
        {
          g_autofree char *prompt = NULL;
          gint64 est;

          if (!(pending & (1u << f)))
            continue;
          if (img == NULL && error == NULL)
            {
              if (m->path == NULL)
                g_set_error (&error, MVA_TEACHER_ERROR, MVA_TEACHER_ERROR_IMAGE,
                             "micrograph %" G_GINT64_FORMAT " has no known file", m->id);
              else
                img = mva_teacher_image_encode (m->path, config->max_side, &error);
            }
          if (img == NULL)
            {
              unreadable++;
              if (json)
                {
                  g_autoptr(JsonBuilder) b = json_builder_new ();

                  json_builder_begin_object (b);
                  json_builder_set_member_name (b, "dry_run");
                  json_builder_add_boolean_value (b, TRUE);
                  json_builder_set_member_name (b, "micrograph_id");
                  json_builder_add_int_value (b, m->id);
                  json_builder_set_member_name (b, "image");
                  json_builder_add_string_value (b, m->path);
                  json_builder_set_member_name (b, "family");
                  json_builder_add_int_value (b, f);
                  json_builder_set_member_name (b, "error");
                  json_builder_add_string_value (b, error->message);
                  json_builder_end_object (b);
                  mva_cli_print_builder (b);
                }
              else
                printf ("[%" G_GUINT64_FORMAT "] %s, family %u: would not be sent: %s\n",
                        n + unreadable, m->path ? m->path : "(no file)", f, error->message);
              continue;
            }
          n++;
          est = mva_teacher_estimate_prompt_tokens (f, m->category, img->width, img->height);
          est_prompt += est;
          est_completion += config->max_tokens;
          prompt = mva_teacher_prompt_build (f, m->category);
          if (json)
            {
              g_autoptr(JsonBuilder) b = json_builder_new ();

              json_builder_begin_object (b);
              json_builder_set_member_name (b, "dry_run");
              json_builder_add_boolean_value (b, TRUE);
              json_builder_set_member_name (b, "micrograph_id");
              json_builder_add_int_value (b, m->id);
              json_builder_set_member_name (b, "image");
              json_builder_add_string_value (b, m->path);
              json_builder_set_member_name (b, "family");
              json_builder_add_int_value (b, f);
              json_builder_set_member_name (b, "family_name");
              json_builder_add_string_value (b, mva_teacher_family_name (f));
              json_builder_set_member_name (b, "host");
              json_builder_add_string_value (b, host);
              json_builder_set_member_name (b, "url");
              json_builder_add_string_value (b, url);
              json_builder_set_member_name (b, "model");
              json_builder_add_string_value (b, config->model);
              json_builder_set_member_name (b, "width");
              json_builder_add_int_value (b, img->width);
              json_builder_set_member_name (b, "height");
              json_builder_add_int_value (b, img->height);
              json_builder_set_member_name (b, "png_bytes");
              json_builder_add_int_value (b, (gint64) img->png_bytes);
              json_builder_set_member_name (b, "estimated_prompt_tokens");
              json_builder_add_int_value (b, est);
              json_builder_set_member_name (b, "max_completion_tokens");
              json_builder_add_int_value (b, config->max_tokens);
              json_builder_set_member_name (b, "prompt");
              json_builder_add_string_value (b, prompt);
              json_builder_end_object (b);
              mva_cli_print_builder (b);
            }
          else
            {
              g_auto(GStrv) lines = g_strsplit (prompt, "\n", -1);

              printf ("[%" G_GUINT64_FORMAT "] %s -> %s: family %u (%s), image %ux%u PNG "
                      "%.1f KiB, ~%" G_GINT64_FORMAT " prompt tokens + up to %u completion\n",
                      n, m->path, host, f, mva_teacher_family_name (f), img->width, img->height,
                      img->png_bytes / 1024.0, est, config->max_tokens);
              for (guint l = 0; lines[l] != NULL; l++)
                if (*lines[l] != '\0')
                  printf ("    %s\n", lines[l]);
            }
        }
    }
  if (json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "dry_run");
      json_builder_add_boolean_value (b, TRUE);
      json_builder_set_member_name (b, "host");
      json_builder_add_string_value (b, host);
      json_builder_set_member_name (b, "url");
      json_builder_add_string_value (b, url);
      json_builder_set_member_name (b, "model");
      json_builder_add_string_value (b, config->model);
      json_builder_set_member_name (b, "proxy");
      if (config->proxy != NULL)
        json_builder_add_string_value (b, config->proxy);
      else
        json_builder_add_null_value (b);
      json_builder_set_member_name (b, "requests");
      json_builder_add_int_value (b, (gint64) n);
      json_builder_set_member_name (b, "skipped");
      json_builder_add_int_value (b, (gint64) skipped);
      json_builder_set_member_name (b, "unreadable");
      json_builder_add_int_value (b, (gint64) unreadable);
      json_builder_set_member_name (b, "estimated_prompt_tokens");
      json_builder_add_int_value (b, est_prompt);
      json_builder_set_member_name (b, "max_completion_tokens");
      json_builder_add_int_value (b, est_completion);
      json_builder_set_member_name (b, "estimated_tokens");
      json_builder_add_int_value (b, est_prompt + est_completion);
      json_builder_end_object (b);
      mva_cli_print_builder (b);
    }
  else
    printf ("\nWould send %" G_GUINT64_FORMAT " requests to %s (%" G_GUINT64_FORMAT
            " already answered and skipped, %" G_GUINT64_FORMAT " not sendable): "
            "estimated %" G_GINT64_FORMAT " prompt tokens + at most %" G_GINT64_FORMAT
            " completion tokens = at most ~%" G_GINT64_FORMAT " tokens.\n",
            n, host, skipped, unreadable, est_prompt, est_completion, est_prompt + est_completion);
  return 0;
}

static void
on_progress (const MvaTeacherStats *s,
             gpointer               user_data)
{
  guint64 done = s->skipped + s->ok + s->failed + s->not_sent;

  mva_cli_progress ("teach: %" G_GUINT64_FORMAT " requests done (ok %" G_GUINT64_FORMAT
                    ", failed %" G_GUINT64_FORMAT ", skipped %" G_GUINT64_FORMAT
                    "), %" G_GUINT64_FORMAT " pairs, %" G_GINT64_FORMAT " tokens; %s family %u",
                    done, s->ok, s->failed, s->skipped, s->pairs_added,
                    s->prompt_tokens + s->completion_tokens,
                    s->current_path ? s->current_path : "", s->current_family);
}

static gboolean
same_endpoint (const char *a,
               const char *b)
{
  g_autofree char *ua = mva_teacher_request_url (a);
  g_autofree char *ub = mva_teacher_request_url (b);

  return g_ascii_strcasecmp (ua, ub) == 0;
}

int
mva_cli_teach (int    argc,
               char **argv)
{
  g_autofree char *db = NULL;
  g_autofree char *endpoint = NULL;
  g_autofree char *model = NULL;
  g_autofree char *families = NULL;
  g_autofree char *images = NULL;
  gint limit = 0, max_side = -1, max_tokens = -1, concurrency = -1, rpm = -1, timeout = -1;
  gint connect_timeout = -1, retries = -1;
  gint64 max_total_tokens = -1;
  double temperature = -1, top_p = -1;
  gboolean dry = FALSE, json = FALSE;
  const GOptionEntry entries[] = {
    { "db", 0, 0, G_OPTION_ARG_FILENAME, &db, "Library database (default: $MVAEMA_DB or the user data folder)", "FILE" },
    { "endpoint", 0, 0, G_OPTION_ARG_STRING, &endpoint, "Base URL of the chat-completions API (default: teacher.conf)", "URL" },
    { "model", 0, 0, G_OPTION_ARG_STRING, &model, "Teacher model name (default: teacher.conf)", "NAME" },
    { "families", 0, 0, G_OPTION_ARG_STRING, &families, "Question families to ask, e.g. 1-10 or 1,3,5 (default 1-10)", "LIST" },
    { "images", 0, 0, G_OPTION_ARG_STRING, &images, "Micrographs: all, category:NAME, id:N[,M], sha256:HEX or a path substring", "QUERY" },
    { "limit", 0, 0, G_OPTION_ARG_INT, &limit, "At most N micrographs that still need answers", "N" },
    { "dry-run", 0, 0, G_OPTION_ARG_NONE, &dry, "Print what would be sent, where, and the estimated tokens; send nothing", NULL },
    { "max-side", 0, 0, G_OPTION_ARG_INT, &max_side, "Longest image side sent, in pixels (default 1024)", "PX" },
    { "temperature", 0, 0, G_OPTION_ARG_DOUBLE, &temperature, "Sampling temperature (default 0.25)", "T" },
    { "top-p", 0, 0, G_OPTION_ARG_DOUBLE, &top_p, "Nucleus sampling top_p (default 0.1)", "P" },
    { "max-tokens", 0, 0, G_OPTION_ARG_INT, &max_tokens, "Completion tokens per request (default 3500)", "N" },
    { "concurrency", 0, 0, G_OPTION_ARG_INT, &concurrency, "Requests in flight at once (default 2)", "N" },
    { "rpm", 0, 0, G_OPTION_ARG_INT, &rpm, "Requests started per minute, 0 for no limit (default 60)", "N" },
    { "max-total-tokens", 0, 0, G_OPTION_ARG_INT64, &max_total_tokens, "Spend cap for this run in tokens, 0 for none (default 0)", "N" },
    { "timeout", 0, 0, G_OPTION_ARG_INT, &timeout, "Seconds a request may take in all (default 300)", "S" },
    { "connect-timeout", 0, 0, G_OPTION_ARG_INT, &connect_timeout, "Seconds to set up a connection (default 15)", "S" },
    { "retries", 0, 0, G_OPTION_ARG_INT, &retries, "Retries on 429, 5xx and network errors (default 4)", "N" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Machine-readable output, one JSON object per line", NULL },
    { NULL }
  };
  g_autoptr(MvaTeacherConfig) config = mva_teacher_config_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(MvaStore) store = NULL;
  g_autoptr(GPtrArray) list = NULL;
  g_autoptr(MvaTeacherPlan) plan = NULL;
  g_autofree char *api_key = NULL;
  g_autofree char *host = NULL;
  MvaTeacherStats stats;
  guint family_mask = MVA_TEACHER_ALL_FAMILIES;
  gboolean ok;

  if (!mva_cli_parse ("teach", NULL,
                      "Ask the optional teacher (an OpenAI-compatible chat-completions API) for\n"
                      "question/answer pairs about the micrographs in the library. The teacher\n"
                      "must be enabled by an administrator in mvaema/teacher.conf ([teacher]\n"
                      "enabled=true). The API key is read from MVAEMA_TEACHER_API_KEY or the keyring.",
                      entries, &argc, &argv))
    return 2;
  if (argc > 1)
    return mva_cli_fail ("teach: unexpected argument “%s”", argv[1]);

  /* Privacy first: nothing is opened before we know the teacher is enabled. */
  if (!mva_teacher_config_load (config, &error))
    return mva_cli_fail ("teach: %s", error->message);
  if (!config->enabled)
    {
      mva_teacher_config_validate (config, &error);
      return mva_cli_fail ("teach: refused: %s; no connection was made", error->message);
    }

  if (endpoint != NULL)
    {
      if (config->endpoint_locked && !same_endpoint (endpoint, config->endpoint))
        return mva_cli_fail ("teach: refused: %s allows the teacher endpoint %s only, not %s",
                             config->config_file, config->endpoint, endpoint);
      g_free (config->endpoint);
      config->endpoint = g_steal_pointer (&endpoint);
    }
  if (model != NULL)
    {
      g_free (config->model);
      config->model = g_steal_pointer (&model);
    }
  if (families != NULL && (family_mask = mva_teacher_families_parse (families, &error)) == 0)
    return mva_cli_fail ("teach: --families: %s", error->message);
  if (limit < 0)
    return mva_cli_fail ("teach: --limit must be 0 or more");
#define SET_UINT(opt, field, lo, hi, name)                                              \
  if ((opt) != -1)                                                                      \
    {                                                                                   \
      if ((opt) < (lo) || (opt) > (hi))                                                 \
        return mva_cli_fail ("teach: --%s must be from %d to %d", name, (int) (lo), (int) (hi)); \
      config->field = (guint) (opt);                                                    \
    }
  SET_UINT (max_side, max_side, 64, 8192, "max-side");
  SET_UINT (max_tokens, max_tokens, 1, 1000000, "max-tokens");
  SET_UINT (concurrency, concurrency, 1, 64, "concurrency");
  SET_UINT (rpm, requests_per_minute, 0, 100000, "rpm");
  SET_UINT (timeout, timeout_s, 1, 86400, "timeout");
  SET_UINT (connect_timeout, connect_timeout_s, 1, 3600, "connect-timeout");
  SET_UINT (retries, retries, 0, 20, "retries");
#undef SET_UINT
  if (max_total_tokens != -1)
    {
      if (max_total_tokens < 0)
        return mva_cli_fail ("teach: --max-total-tokens must be 0 or more");
      /* a cap the administrator set in teacher.conf may be lowered, not raised */
      if (config->max_total_tokens > 0 &&
          (max_total_tokens == 0 || (guint64) max_total_tokens > config->max_total_tokens))
        return mva_cli_fail ("teach: refused: %s caps a run at %" G_GUINT64_FORMAT " tokens",
                             config->config_file, config->max_total_tokens);
      config->max_total_tokens = (guint64) max_total_tokens;
    }
  if (temperature != -1)
    config->temperature = temperature;
  if (top_p != -1)
    config->top_p = top_p;
  if (!mva_teacher_config_validate (config, &error))
    return mva_cli_fail ("teach: %s", error->message);
  host = mva_teacher_endpoint_host (config->endpoint, NULL);

  store = mva_store_open (db, MVA_STORE_OPEN_DEFAULT, &error);
  if (store == NULL)
    return mva_cli_fail ("teach: %s", error->message);
  list = select_micrographs (store, images, &error);
  if (list == NULL)
    return mva_cli_fail ("teach: %s", error->message);
  plan = mva_teacher_plan_new (store, config, list, family_mask, &error);
  if (plan == NULL)
    return mva_cli_fail ("teach: %s", error->message);
  if (limit > 0 && plan->micrographs->len > (guint) limit)
    {
      /* --limit N: the first N micrographs that still need answers */
      g_ptr_array_set_size (plan->micrographs, (guint) limit);
      g_array_set_size (plan->family_masks, (guint) limit);
    }

  if (dry)
    return dry_run (config, plan, json);

  api_key = mva_teacher_config_dup_api_key (config);
  if (api_key == NULL && !json)
    fprintf (stderr, "teach: no API key (MVAEMA_TEACHER_API_KEY or the keyring): requests go "
             "without an Authorization header\n");
  ok = mva_teacher_run (store, config, api_key, plan->micrographs, family_mask,
                        mva_cli_cancellable (), on_progress, NULL, &stats, &error);
  mva_cli_progress_done ();
  /* count what was answered before over every selected micrograph, including
   * those the plan left out because nothing was left to ask */
  stats.requests_total = plan->n_skipped + stats.requests_total - stats.skipped;
  stats.skipped = plan->n_skipped;
  if (json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "host");
      json_builder_add_string_value (b, host);
      json_builder_set_member_name (b, "model");
      json_builder_add_string_value (b, config->model);
      json_builder_set_member_name (b, "requests");
      json_builder_add_int_value (b, (gint64) stats.requests_total);
      json_builder_set_member_name (b, "skipped");
      json_builder_add_int_value (b, (gint64) stats.skipped);
      json_builder_set_member_name (b, "ok");
      json_builder_add_int_value (b, (gint64) stats.ok);
      json_builder_set_member_name (b, "failed");
      json_builder_add_int_value (b, (gint64) stats.failed);
      json_builder_set_member_name (b, "not_sent");
      json_builder_add_int_value (b, (gint64) stats.not_sent);
      json_builder_set_member_name (b, "pairs_added");
      json_builder_add_int_value (b, (gint64) stats.pairs_added);
      json_builder_set_member_name (b, "retries");
      json_builder_add_int_value (b, (gint64) stats.retries);
      json_builder_set_member_name (b, "prompt_tokens");
      json_builder_add_int_value (b, stats.prompt_tokens);
      json_builder_set_member_name (b, "completion_tokens");
      json_builder_add_int_value (b, stats.completion_tokens);
      json_builder_set_member_name (b, "spend_cap_reached");
      json_builder_add_boolean_value (b, stats.spend_cap_reached);
      json_builder_set_member_name (b, "cancelled");
      json_builder_add_boolean_value (b, stats.cancelled);
      json_builder_end_object (b);
      mva_cli_print_builder (b);
    }
  else
    fprintf (stderr, "teach: %" G_GUINT64_FORMAT " requests: %" G_GUINT64_FORMAT " ok, %"
             G_GUINT64_FORMAT " failed, %" G_GUINT64_FORMAT " skipped (already answered), %"
             G_GUINT64_FORMAT " not sent; %" G_GUINT64_FORMAT " pairs added; %" G_GINT64_FORMAT
             " prompt + %" G_GINT64_FORMAT " completion tokens\n",
             stats.requests_total, stats.ok, stats.failed, stats.skipped, stats.not_sent,
             stats.pairs_added, stats.prompt_tokens, stats.completion_tokens);

  if (!ok && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      mva_cli_fail ("teach: stopped; run the same command again to continue");
      return 130;
    }
  if (!ok)
    return mva_cli_fail ("teach: %s", error->message);
  if (stats.spend_cap_reached)
    fprintf (stderr, "teach: stopped at the spend cap of %" G_GUINT64_FORMAT
             " tokens; run again (with a higher --max-total-tokens) to continue\n",
             config->max_total_tokens);
  if (stats.failed > 0)
    return mva_cli_fail ("teach: %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT
                         " requests failed (reasons are in the teacher log); run again to retry them",
                         stats.failed, stats.ok + stats.failed);
  return 0;
}
