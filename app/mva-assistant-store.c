/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-assistant-store.c: the assistant and the library: model versions,
 * recorded answers, adopt / roll back / discard, and retraining from reviews.
 */
#define G_LOG_DOMAIN "mva-assistant"
#include "config.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "mva-assistant-private.h"
#include "mva-device.h"
#include "mva-metrics.h"
#include "mva-store.h"
#include "mva-synth.h"

/* --- blobs ---------------------------------------------------------------------------- */

GBytes *
mva_assistant_attention_blob (const MvaAnswer *a)
{
  g_return_val_if_fail (a != NULL, NULL);
  return g_bytes_new (a->attention, sizeof (float) * a->n_tokens * a->n_patches);
}

GBytes *
mva_assistant_tokens_blob (const MvaAnswer *a)
{
  g_return_val_if_fail (a != NULL, NULL);
  return g_bytes_new (a->tokens, sizeof (gint32) * a->n_tokens);
}

gboolean
mva_assistant_attention_from_blob (GBytes  *attention,
                                   GBytes  *tokens,
                                   guint   *out_n_tokens,
                                   guint   *out_n_patches,
                                   float  **out_maps)
{
  gsize an = attention ? g_bytes_get_size (attention) : 0;
  gsize tn = tokens ? g_bytes_get_size (tokens) : 0;
  guint n_tokens, n_patches;

  if (tn % sizeof (gint32) != 0 || an % sizeof (float) != 0)
    return FALSE;
  n_tokens = (guint) (tn / sizeof (gint32));
  if (n_tokens == 0)
    {
      if (an != 0)
        return FALSE;
      n_patches = 0;
    }
  else
    {
      if (an == 0 || (an / sizeof (float)) % n_tokens != 0)
        return FALSE;
      n_patches = (guint) (an / sizeof (float) / n_tokens);
    }
  if (out_n_tokens)
    *out_n_tokens = n_tokens;
  if (out_n_patches)
    *out_n_patches = n_patches;
  if (out_maps)
    *out_maps = an ? g_memdup2 (g_bytes_get_data (attention, NULL), an) : NULL;
  return TRUE;
}

/* --- model versions ----------------------------------------------------------------------- */

static char *
model_file_of (const char *dir)
{
  g_autofree char *abs = g_canonicalize_filename (dir, NULL);

  return g_build_filename (abs, "model.safetensors", NULL);
}

static char *
dir_of_version (const MvaModelVersion *mv)
{
  return g_path_get_dirname (mv->file_path);
}

char *
mva_assistant_current_model_dir (MvaStore  *store,
                                 GError   **error)
{
  g_autoptr(MvaModelVersion) mv = NULL;
  GError *local = NULL;

  if (store != NULL)
    {
      mv = mva_store_get_adopted_model (store, &local);
      if (local != NULL)
        {
          g_propagate_error (error, local);
          return NULL;
        }
      if (mv != NULL)
        {
          if (!g_file_test (mv->file_path, G_FILE_TEST_IS_REGULAR))
            {
              g_set_error (error, MVA_ASSISTANT_ERROR, MVA_ASSISTANT_ERROR_MODEL,
                           "the adopted model %s is missing: %s", mv->name, mv->file_path);
              return NULL;
            }
          return dir_of_version (mv);
        }
    }
  return mva_assistant_default_model_dir (error);
}

static gint64 model_version_for_dir_locked (MvaStore *store, const char *model_dir, GError **error);

/* Lookup and insert in one transaction, so two threads recording answers of
 * a new model at once make one row. */
gint64
mva_assistant_model_version_for_dir (MvaStore    *store,
                                     const char  *model_dir,
                                     GError     **error)
{
  gint64 id;

  g_return_val_if_fail (store != NULL && model_dir != NULL, 0);
  if (!mva_store_begin (store, error))
    return 0;
  id = model_version_for_dir_locked (store, model_dir, error);
  if (id == 0)
    {
      mva_store_rollback (store);
      return 0;
    }
  if (!mva_store_commit (store, error))
    return 0;
  return id;
}

static gint64
model_version_for_dir_locked (MvaStore    *store,
                              const char  *model_dir,
                              GError     **error)
{
  g_autofree char *file = model_file_of (model_dir);
  g_autofree char *base = NULL;
  g_autoptr(GPtrArray) all = NULL;
  g_autoptr(MvaModelVersion) adopted = NULL;
  MvaModelVersion mv = { 0 };
  g_autofree char *sha = NULL;
  gint64 id = 0;

  all = mva_store_list_model_versions (store, error);
  if (all == NULL)
    return 0;
  for (guint i = 0; i < all->len; i++)
    {
      MvaModelVersion *v = g_ptr_array_index (all, i);

      if (g_strcmp0 (v->file_path, file) == 0)
        return v->id;
    }
  if (!g_file_test (file, G_FILE_TEST_IS_REGULAR))
    {
      g_set_error (error, MVA_ASSISTANT_ERROR, MVA_ASSISTANT_ERROR_MODEL,
                   "%s is not a model folder: model.safetensors is missing", model_dir);
      return 0;
    }
  sha = mva_store_hash_file (file, NULL, NULL);
  base = g_path_get_basename (model_dir);
  mv.file_path = file;
  mv.sha256 = sha;
  for (guint n = 1; n < 1000 && id == 0; n++)
    {
      g_autofree char *name = n == 1 ? g_strdup (base) : g_strdup_printf ("%s (%u)", base, n);
      g_autoptr(GError) local = NULL;

      mv.name = name;
      id = mva_store_add_model_version (store, &mv, &local);
      if (id == 0 && !g_error_matches (local, MVA_STORE_ERROR, MVA_STORE_ERROR_EXISTS))
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return 0;
        }
    }
  adopted = mva_store_get_adopted_model (store, NULL);
  if (id > 0 && adopted == NULL && !mva_store_adopt_model_version (store, id, error))
    return 0;
  return id;
}

gint64
mva_assistant_record_answer (MvaStore         *store,
                             gint64            micrograph_id,
                             const MvaAnswer  *answer,
                             GError          **error)
{
  g_autoptr(GBytes) tokens = NULL;
  g_autoptr(GBytes) attn = NULL;
  g_autofree char *extra = NULL;
  MvaQaPair qa = { 0 };
  gint64 version;

  g_return_val_if_fail (store != NULL && answer != NULL, 0);
  version = mva_assistant_model_version_for_dir (store, answer->model_dir, error);
  if (version == 0)
    return 0;
  tokens = mva_assistant_tokens_blob (answer);
  attn = mva_assistant_attention_blob (answer);
  qa.micrograph_id = micrograph_id;
  qa.source = MVA_QA_SOURCE_MODEL;
  qa.model_version_id = version;
  qa.family = (int) answer->family;
  qa.question = answer->question;
  qa.answer = answer->answer;
  qa.tokens = tokens;
  qa.attention = attn;
  qa.prompt_tokens = -1;
  qa.completion_tokens = -1;
  /* where the metadata or a measurement replaced sentences, the model's own
   * text too: an accepted answer is trained on what the model said (the
   * replaced sentences are the assistant's, not the model's, to give) */
  if (answer->generated != NULL && g_strcmp0 (answer->generated, answer->answer) != 0)
    {
      g_autoptr(JsonNode) root = json_node_new (JSON_NODE_OBJECT);
      JsonObject *o = json_object_new ();

      json_object_set_string_member (o, "generated", answer->generated);
      json_node_take_object (root, o);
      extra = json_to_string (root, FALSE);
      qa.extra_json = extra;
    }
  return mva_store_add_qa (store, &qa, FALSE, NULL, error);
}

gint64
mva_assistant_count_new_reviews (MvaStore  *store,
                                 GError   **error)
{
  g_autoptr(MvaModelVersion) cur = NULL;
  g_autoptr(GPtrArray) pairs = NULL;
  MvaQaFilter f = { 0 };
  GError *local = NULL;
  gint64 since = 0, n = 0;

  cur = mva_store_get_adopted_model (store, &local);
  if (local != NULL)
    {
      g_propagate_error (error, local);
      return -1;
    }
  if (cur != NULL)
    since = cur->created_at;
  f.review_mask = MVA_REVIEW_MASK_REVIEWED;
  pairs = mva_store_list_qa (store, &f, error);
  if (pairs == NULL)
    return -1;
  for (guint i = 0; i < pairs->len; i++)
    if (((MvaQaPair *) g_ptr_array_index (pairs, i))->reviewed_at > since)
      n++;
  return n;
}

gboolean
mva_assistant_adopt (MvaStore  *store,
                     gint64     id,
                     GError   **error)
{
  g_autoptr(MvaModelVersion) mv = mva_store_get_model_version (store, id, error);

  if (mv == NULL)
    return FALSE;
  if (!g_file_test (mv->file_path, G_FILE_TEST_IS_REGULAR))
    {
      g_set_error (error, MVA_ASSISTANT_ERROR, MVA_ASSISTANT_ERROR_MODEL,
                   "model version %" G_GINT64_FORMAT " (%s) has no weights at %s", id, mv->name,
                   mv->file_path);
      return FALSE;
    }
  return mva_store_adopt_model_version (store, id, error);
}

gboolean
mva_assistant_rollback (MvaStore  *store,
                        gint64    *out_id,
                        GError   **error)
{
  g_autoptr(MvaModelVersion) cur = NULL;
  GError *local = NULL;

  cur = mva_store_get_adopted_model (store, &local);
  if (local != NULL)
    {
      g_propagate_error (error, local);
      return FALSE;
    }
  if (cur == NULL || cur->parent_id == 0)
    {
      g_set_error_literal (error, MVA_ASSISTANT_ERROR, MVA_ASSISTANT_ERROR_INVALID,
                           cur == NULL ? "no model is adopted: nothing to roll back"
                                       : "the current model was not fine-tuned from another version: nothing to roll back to");
      return FALSE;
    }
  if (!mva_assistant_adopt (store, cur->parent_id, error))
    return FALSE;
  if (out_id)
    *out_id = cur->parent_id;
  return TRUE;
}

static gboolean
remove_tree (const char *path)
{
  g_autoptr(GDir) d = g_dir_open (path, 0, NULL);
  const char *name;

  if (d == NULL)
    return g_unlink (path) == 0 || errno == ENOENT;
  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        remove_tree (child);
      else
        g_unlink (child);
    }
  return g_rmdir (path) == 0;
}

gboolean
mva_assistant_discard (MvaStore  *store,
                       gint64     id,
                       GError   **error)
{
  g_autoptr(MvaModelVersion) mv = mva_store_get_model_version (store, id, error);
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(JsonObject) o = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *json = NULL;

  if (mv == NULL)
    return FALSE;
  if (mv->adopted)
    {
      g_set_error (error, MVA_ASSISTANT_ERROR, MVA_ASSISTANT_ERROR_INVALID,
                   "model version %" G_GINT64_FORMAT " is the current model; adopt another first", id);
      return FALSE;
    }
  if (mv->parent_id == 0)
    {
      g_set_error (error, MVA_ASSISTANT_ERROR, MVA_ASSISTANT_ERROR_INVALID,
                   "model version %" G_GINT64_FORMAT " was not made by a retrain; it is kept", id);
      return FALSE;
    }
  node = mv->metrics_json ? json_from_string (mv->metrics_json, NULL) : NULL;
  o = node && JSON_NODE_HOLDS_OBJECT (node) ? json_object_ref (json_node_get_object (node))
                                            : json_object_new ();
  json_object_set_boolean_member (o, "discarded", TRUE);
  {
    g_autoptr(JsonNode) root = json_node_init_object (json_node_alloc (), o);

    json = json_to_string (root, FALSE);
  }
  if (!mva_store_set_model_metrics (store, id, json, error))
    return FALSE;
  dir = dir_of_version (mv);
  if (g_file_test (dir, G_FILE_TEST_IS_DIR))
    remove_tree (dir);
  return TRUE;
}

/* --- retrain ------------------------------------------------------------------------------- */

#define MVA_RETRAIN_MAX_COMPARED   40 /* held-out pairs answered by old and new model */
#define MVA_RETRAIN_COMPARE_TOKENS 64 /* longest answer in the comparison */
#define MVA_RETRAIN_MIN_REPLAY_BATCHES 4 /* replay pairs: at least this many batches */

void
mva_retrain_options_init (MvaRetrainOptions *o)
{
  memset (o, 0, sizeof *o);
  o->steps = 200;
  o->batch = 16;
  o->lr = 3e-4;
  o->replay_ratio = 1.0;
  o->holdout_fraction = 0.2;
  o->seed = 1;
  o->correction_repeat = 3;
  o->focus_rounds = 4;
}

void
mva_retrain_result_free (MvaRetrainResult *r)
{
  if (r == NULL)
    return;
  g_free (r->model_dir);
  g_free (r->device);
  g_free (r->device_note);
  g_free (r);
}

typedef struct
{
  char  *image;     /* absolute */
  char  *category;
  int    family;
  char  *question;
  char  *answer;    /* accepted answer or correction: the reference of the comparison */
  char  *target;    /* what the model is trained to say: answer, except for an accepted
                     * answer in which the assistant replaced sentences (scale from the
                     * metadata, measured size): there the model's own text */
  char  *key;       /* micrograph hash: the unit of the split */
  gboolean corrected;
} ReviewedPair;

/* The model's own text recorded beside an answer whose sentences the
 * assistant replaced (extra_json "generated"), or NULL. */
static char *
model_text_of (const char *extra_json)
{
  g_autoptr(JsonNode) node = extra_json != NULL ? json_from_string (extra_json, NULL) : NULL;
  const char *text;

  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return NULL;
  text = json_object_get_string_member_with_default (json_node_get_object (node), "generated",
                                                     NULL);
  return text != NULL && *text != '\0' ? g_strdup (text) : NULL;
}

static void
reviewed_pair_free (gpointer p)
{
  ReviewedPair *r = p;

  g_free (r->image);
  g_free (r->category);
  g_free (r->question);
  g_free (r->answer);
  g_free (r->target);
  g_free (r->key);
  g_free (r);
}

static void
add_jsonl (GString     *out,
           const char  *image,
           const char  *category,
           int          family,
           const char  *question,
           const char  *answer)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *caption = mva_assistant_caption (category);
  g_autofree char *text = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "image");
  json_builder_add_string_value (b, image);
  if (category != NULL)
    {
      json_builder_set_member_name (b, "category");
      json_builder_add_string_value (b, category);
    }
  json_builder_set_member_name (b, "family");
  json_builder_add_int_value (b, family);
  json_builder_set_member_name (b, "question");
  json_builder_add_string_value (b, question);
  json_builder_set_member_name (b, "answer");
  json_builder_add_string_value (b, answer);
  if (caption != NULL)
    {
      json_builder_set_member_name (b, "caption");
      json_builder_add_string_value (b, caption);
    }
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  text = json_generator_to_data (gen, NULL);
  g_string_append (out, text);
  g_string_append_c (out, '\n');
}

/* Replay lines from DATA/qa.jsonl, image paths made absolute (relative ones
 * are relative to DATA); lines whose image is missing are skipped. Element
 * type char*. */
static void
replay_from_qa_dir (const char *data,
                    GPtrArray  *out)
{
  g_autofree char *qa_path = g_build_filename (data, "qa.jsonl", NULL);
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;

  if (!g_file_get_contents (qa_path, &text, NULL, NULL))
    return;
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autoptr(JsonParser) p = json_parser_new ();
      g_autoptr(JsonGenerator) gen = NULL;
      g_autofree char *abs = NULL;
      JsonObject *o;
      const char *img;

      if (lines[i][0] == '\0' || !json_parser_load_from_data (p, lines[i], -1, NULL) ||
          !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (p)))
        continue;
      o = json_node_get_object (json_parser_get_root (p));
      img = json_object_has_member (o, "image") &&
                JSON_NODE_HOLDS_VALUE (json_object_get_member (o, "image"))
              ? json_object_get_string_member (o, "image")
              : NULL;
      if (img == NULL)
        continue;
      abs = g_canonicalize_filename (img, data);
      if (!g_file_test (abs, G_FILE_TEST_IS_REGULAR))
        continue;
      json_object_set_string_member (o, "image", abs);
      json_object_remove_member (o, "params");
      gen = json_generator_new ();
      json_generator_set_root (gen, json_parser_get_root (p));
      g_ptr_array_add (out, json_generator_to_data (gen, NULL));
    }
}

/* Replay lines from the base model's training data (train-log.json "data"). */
static void
replay_from_base (const char *base_dir,
                  GPtrArray  *out)
{
  g_autofree char *log = g_build_filename (base_dir, "train-log.json", NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *root;

  if (!json_parser_load_from_file (parser, log, NULL) ||
      !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return;
  root = json_node_get_object (json_parser_get_root (parser));
  if (json_object_has_member (root, "data") &&
      JSON_NODE_HOLDS_VALUE (json_object_get_member (root, "data")) &&
      json_object_get_string_member (root, "data") != NULL)
    replay_from_qa_dir (json_object_get_string_member (root, "data"), out);
}

/* The synthetic replay set: when neither the base model's training data
 * (not shipped with an installed model) nor the library holds enough
 * pairs to replay, the synthetic generator makes them again. Same
 * generator, same seed as scripts/train-default-model: the images are the
 * first of the default model's training set, with its pairs and one
 * "What type of nanomaterial is shown?" pair per image. Cached in
 * LIB/replay-synth (regenerated when missing or incomplete). */
#define MVA_RETRAIN_SYNTH_PER_CLASS 6
#define MVA_RETRAIN_SYNTH_SEED      20261126

static gboolean
replay_from_synth (const char    *lib_dir,
                   guint          threads,
                   GCancellable  *cancellable,
                   GPtrArray     *out,
                   GError       **error)
{
  g_autofree char *dir = g_build_filename (lib_dir, "replay-synth", NULL);
  g_autofree char *stamp = g_build_filename (dir, ".done", NULL);
  g_autofree char *want = g_strdup_printf ("per-class %u seed %u\n", MVA_RETRAIN_SYNTH_PER_CLASS,
                                           MVA_RETRAIN_SYNTH_SEED);
  g_autofree char *have = NULL;
  g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GHashTable) images = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  if (!g_file_get_contents (stamp, &have, NULL, NULL) || strcmp (have, want) != 0)
    {
      MvaSynthConfig cfg = MVA_SYNTH_CONFIG_INIT;
      g_autoptr(GError) local = NULL;

      remove_tree (dir);
      cfg.seed = MVA_RETRAIN_SYNTH_SEED;
      if (!mva_synth_generate (&cfg, dir, MVA_RETRAIN_SYNTH_PER_CLASS, threads, NULL, cancellable,
                               NULL, NULL, NULL, &local))
        {
          remove_tree (dir);
          if (g_error_matches (local, MVA_SYNTH_ERROR, MVA_SYNTH_ERROR_CANCELLED))
            g_set_error_literal (error, MVA_ASSISTANT_ERROR, MVA_ASSISTANT_ERROR_CANCELLED,
                                 "cancelled");
          else
            g_set_error (error, MVA_ASSISTANT_ERROR, MVA_ASSISTANT_ERROR_IO,
                         "cannot make the synthetic replay set in %s: %s", dir, local->message);
          return FALSE;
        }
      if (!g_file_set_contents (stamp, want, -1, &local))
        {
          g_set_error (error, MVA_ASSISTANT_ERROR, MVA_ASSISTANT_ERROR_IO, "cannot write %s: %s",
                       stamp, local->message);
          return FALSE;
        }
    }
  replay_from_qa_dir (dir, lines);
  for (guint i = 0; i < lines->len; i++)
    {
      g_autoptr(JsonParser) p = json_parser_new ();
      JsonObject *o;
      const char *img, *cat;

      g_ptr_array_add (out, g_strdup (g_ptr_array_index (lines, i)));
      if (!json_parser_load_from_data (p, g_ptr_array_index (lines, i), -1, NULL))
        continue;
      o = json_node_get_object (json_parser_get_root (p));
      img = json_object_get_string_member_with_default (o, "image", NULL);
      cat = json_object_get_string_member_with_default (o, "category", NULL);
      if (img != NULL && cat != NULL && !g_hash_table_contains (images, img))
        {
          GString *s = g_string_new (NULL);

          g_hash_table_add (images, g_strdup (img));
          add_jsonl (s, img, cat, 1, "What type of nanomaterial is shown?", cat);
          g_strchomp (s->str);
          g_ptr_array_add (out, g_string_free (s, FALSE));
        }
    }
  return TRUE;
}

/* Replay from the library: synthetic and teacher pairs that are not rejected. */
static void
replay_from_library (MvaStore  *store,
                     GPtrArray *out)
{
  g_autoptr(GPtrArray) pairs = NULL;
  MvaQaFilter f = { 0 };

  f.source_mask = (1u << MVA_QA_SOURCE_SYNTHETIC) | (1u << MVA_QA_SOURCE_TEACHER);
  f.review_mask = MVA_REVIEW_MASK (MVA_REVIEW_NONE) | MVA_REVIEW_MASK_REVIEWED;
  f.oldest_first = TRUE;
  pairs = mva_store_list_qa (store, &f, NULL);
  for (guint i = 0; pairs != NULL && i < pairs->len; i++)
    {
      MvaQaPair *qa = g_ptr_array_index (pairs, i);
      GString *s;

      if (qa->image_path == NULL || !g_file_test (qa->image_path, G_FILE_TEST_IS_REGULAR))
        continue;
      s = g_string_new (NULL);
      add_jsonl (s, qa->image_path, qa->category, qa->family, qa->question,
                 qa->review_state == MVA_REVIEW_CORRECTED ? qa->corrected_text : qa->answer);
      g_strchomp (s->str);
      g_ptr_array_add (out, g_string_free (s, FALSE));
    }
}

typedef struct
{
  MvaRetrainProgressFunc progress;
  gpointer               user_data;
} Reporter;

static void
report (Reporter *r, MvaRetrainPhase phase, guint64 done, guint64 total)
{
  MvaRetrainProgress p = { phase, done, total, NAN, NAN };

  if (r->progress)
    r->progress (&p, r->user_data);
}

/* Answers the held-out pairs with one model; fills corpus scores. */
static gboolean
score_model (const char    *dir,
             GPtrArray     *pairs,
             guint          threads,
             Reporter      *rep,
             guint64        offset,
             guint64        total,
             GCancellable  *cancellable,
             MvaTextScores *out,
             double        *nll,
             GError       **error)
{
  g_autoptr(MvaAssistantModel) model = mva_assistant_model_load (dir, threads, error);
  g_autoptr(MvaTextScorer) scorer = NULL;
  const char *image_path = NULL;
  g_autoptr(MvaImage) image = NULL;
  double sum_lp = 0;
  guint64 n_tok = 0;

  if (model == NULL)
    return FALSE;
  scorer = mva_text_scorer_new (mva_wordnet_get_default (NULL));
  for (guint i = 0; i < pairs->len; i++)
    {
      ReviewedPair *rp = g_ptr_array_index (pairs, i);
      MvaAskRequest req = { rp->question, (guint) CLAMP (rp->family, 0, 10), rp->category,
                            MVA_RETRAIN_COMPARE_TOKENS, TRUE /* the models, not the metadata */ };
      g_autoptr(MvaAnswer) a = NULL;
      const char *refs[2] = { rp->answer, NULL };

      if (image == NULL || g_strcmp0 (image_path, rp->image) != 0)
        {
          g_clear_pointer (&image, mva_image_free);
          image = mva_image_load (rp->image, 0, error);
          if (image == NULL)
            return FALSE;
          image_path = rp->image;
        }
      a = mva_assistant_ask (model, image, &req, NULL, NULL, cancellable, error);
      if (a == NULL)
        return FALSE;
      mva_text_scorer_add (scorer, a->answer, refs, NULL);
      /* the reference's log-likelihood, asked as the answer was (a->question
       * is the question actually asked, the family's preset when empty) */
      {
        double lp = 0;
        guint nt = 0;

        if (!mva_assistant_answer_logprob (model, image, a->question, rp->category, rp->target,
                                           &lp, &nt, cancellable, error))
          return FALSE;
        sum_lp += lp;
        n_tok += nt;
      }
      report (rep, MVA_RETRAIN_PHASE_EVALUATING, offset + i + 1, total);
    }
  mva_text_scorer_get_corpus (scorer, out, NULL);
  *nll = n_tok > 0 ? -sum_lp / (double) n_tok : NAN;
  return TRUE;
}

/* The words of text, lowercased, joined by single spaces. */
static char *
normalized_words (const char *text)
{
  g_autofree char *down = g_utf8_strdown (text, -1);
  g_auto(GStrv) words = g_strsplit_set (g_strstrip (down), " \t\r\n", -1);
  g_autoptr(GString) out = g_string_new (NULL);

  for (guint i = 0; words[i] != NULL; i++)
    if (words[i][0] != '\0')
      g_string_append_printf (out, "%s%s", out->len ? " " : "", words[i]);
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* Pairs of `pairs` that the model in dir does not answer with
 * their corrected text (normalized_words); into *missing. */
static gboolean
corrections_missing (const char    *dir,
                     GPtrArray     *pairs,
                     guint          threads,
                     GCancellable  *cancellable,
                     GPtrArray     *missing,
                     GError       **error)
{
  g_autoptr(MvaAssistantModel) model = mva_assistant_model_load (dir, threads, error);

  if (model == NULL)
    return FALSE;
  g_ptr_array_set_size (missing, 0);
  for (guint i = 0; i < pairs->len; i++)
    {
      ReviewedPair *rp = g_ptr_array_index (pairs, i);
      MvaAskRequest req = { rp->question, (guint) CLAMP (rp->family, 0, 10), rp->category,
                            0 /* the model's longest answer */, TRUE };
      g_autoptr(MvaImage) image = mva_image_load (rp->image, 0, error);
      g_autoptr(MvaAnswer) a = NULL;
      g_autofree char *got = NULL, *want = NULL;

      if (image == NULL)
        return FALSE;
      a = mva_assistant_ask (model, image, &req, NULL, NULL, cancellable, error);
      if (a == NULL)
        return FALSE;
      got = normalized_words (a->answer);
      want = normalized_words (rp->answer);
      if (g_strcmp0 (got, want) != 0)
        g_ptr_array_add (missing, rp);
    }
  return TRUE;
}

#define MVA_RETRAIN_FOCUS_STEPS 100

/* steps of the first `rounds` focus rounds together */
static guint64
focus_steps (guint rounds)
{
  return (guint64) rounds * (rounds + 1) / 2 * MVA_RETRAIN_FOCUS_STEPS;
}

/* After the main fine-tune into out_dir: while some corrections (at most the
 * newest 40) are not answered word for word and rounds are left, train
 * out_dir further on just those corrections (round k: k * 100 steps; all
 * rounds together see at most twice as many pairs as the main run) on those
 * corrections, the other reviewed answers about the same images (the
 * correction belongs to its question, not to the whole image) and as many
 * replay pairs (else accepted ones) about other images as those two
 * together, so a short correction is a good part of its batch instead of
 * a few tokens among long answers. Counts go to res (n_reflected,
 * focus_rounds). */
static gboolean
focus_corrections (const MvaRetrainOptions *o,
                   const char              *out_dir,
                   GPtrArray               *corrected,
                   GPtrArray               *train,
                   GPtrArray               *replay,
                   guint                    n_replay,
                   MvaRetrainProgressFunc   progress,
                   gpointer                 user_data,
                   GCancellable            *cancellable,
                   MvaRetrainResult        *res,
                   GError                 **error)
{
  g_autoptr(GPtrArray) missing = g_ptr_array_new ();
  g_autofree char *focus_dir = g_build_filename (out_dir, "focus", NULL);
  g_autofree char *data_dir = g_build_filename (focus_dir, "data", NULL);
  g_autofree char *model_dir = g_build_filename (focus_dir, "model", NULL);
  guint next_partner = 0;
  guint64 budget = 2 * o->steps * o->batch, used = 0, steps_done = 0;

  res->focus_rounds = 0;
  res->n_reflected = 0;
  if (corrected->len == 0)
    return TRUE;
  for (;;)
    {
      g_autoptr(GString) jsonl = g_string_new (NULL);
      g_autoptr(GHashTable) images = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
      g_autofree char *qa_path = g_build_filename (data_dir, "qa.jsonl", NULL);
      g_autofree char *from = NULL, *to = NULL;
      g_autoptr(GError) local = NULL;
      MvaFinetuneArgs args = { 0 };
      guint partners = 0, anchors = 0;

      if (!corrections_missing (out_dir, corrected, o->threads, cancellable, missing, error))
        return FALSE;
      res->n_reflected = corrected->len - missing->len;
      if (missing->len == 0 || res->focus_rounds >= (guint) MAX (o->focus_rounds, 0))
        return TRUE;

      /* the missing corrections' images, then the other reviewed answers
       * about them, so that a correction is learnt as the answer to its
       * question, not to its image (without them a correction leaks into
       * every answer about the image) */
      for (guint i = 0; i < missing->len; i++)
        g_hash_table_insert (images, g_strdup (((ReviewedPair *) g_ptr_array_index (missing, i))->image),
                             GUINT_TO_POINTER (0));
      for (guint i = 0; i < train->len; i++)
        {
          ReviewedPair *rp = g_ptr_array_index (train, i);
          gpointer n;

          if (!rp->corrected && g_hash_table_lookup_extended (images, rp->image, NULL, &n))
            {
              add_jsonl (jsonl, rp->image, rp->category, rp->family, rp->question, rp->target);
              g_hash_table_insert (images, g_strdup (rp->image), GUINT_TO_POINTER (GPOINTER_TO_UINT (n) + 1));
              anchors++;
            }
        }
      /* each correction as often as its image's other answers together: a
       * batch holds one pair per image, and that pair is the correction half
       * of the time */
      for (guint i = 0; i < missing->len; i++)
        {
          ReviewedPair *rp = g_ptr_array_index (missing, i);
          guint n = GPOINTER_TO_UINT (g_hash_table_lookup (images, rp->image));

          for (guint k = 0; k < MAX (n, 1); k++)
            add_jsonl (jsonl, rp->image, rp->category, rp->family, rp->question, rp->target);
        }
      /* as many replay pairs about other images as there are pairs above */
      for (guint tries = 0; partners < missing->len + anchors && tries < n_replay; tries++)
        {
          const char *line = g_ptr_array_index (replay, next_partner++ % n_replay);
          g_autoptr(JsonNode) node = json_from_string (line, NULL);
          JsonObject *obj = node && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
          const char *img = obj ? json_object_get_string_member_with_default (obj, "image", NULL)
                                : NULL;

          if (img == NULL || g_hash_table_contains (images, img))
            continue;
          g_hash_table_add (images, g_strdup (img));
          g_string_append (jsonl, line);
          g_string_append_c (jsonl, '\n');
          partners++;
        }
      /* too little replay: accepted pairs about other images */
      for (guint i = 0; i < train->len && partners < missing->len + anchors; i++)
        {
          ReviewedPair *rp = g_ptr_array_index (train, i);

          if (!rp->corrected && !g_hash_table_contains (images, rp->image))
            {
              add_jsonl (jsonl, rp->image, rp->category, rp->family, rp->question, rp->target);
              g_hash_table_add (images, g_strdup (rp->image));
              partners++;
            }
        }
      if (g_hash_table_size (images) < 2)
        return TRUE; /* nothing to pair a lone correction with */

      if (g_mkdir_with_parents (data_dir, 0755) != 0 ||
          !g_file_set_contents (qa_path, jsonl->str, (gssize) jsonl->len, &local))
        {
          g_set_error (error, MVA_ASSISTANT_ERROR, MVA_ASSISTANT_ERROR_IO, "cannot write %s: %s",
                       qa_path, local ? local->message : g_strerror (errno));
          return FALSE;
        }
      args.data_dir = data_dir;
      args.base_dir = out_dir;
      args.out_dir = model_dir;
      args.batch = MIN (o->batch, missing->len + anchors + partners);
      /* round k trains k * 100 steps (a hard correction gets more each time),
       * all rounds together at most twice as many pairs as the main run */
      args.steps = MIN ((guint64) (res->focus_rounds + 1) * MVA_RETRAIN_FOCUS_STEPS,
                        (budget - used) / args.batch);
      if (args.steps == 0)
        return TRUE;
      used += args.steps * args.batch;
      args.lr = o->lr;
      args.threads = o->threads;
      args.seed = o->seed + res->focus_rounds + 1;
      args.device = o->device;
      /* progress: steps of the focus rounds so far, of at most all rounds' (the budget's cap
       * at this round's batch size) */
      args.focusing = TRUE;
      args.step_offset = steps_done;
      args.total_steps = MAX (MIN (focus_steps ((guint) o->focus_rounds),
                                   steps_done + args.steps + (budget - used) / args.batch),
                              steps_done + args.steps);
      steps_done += args.steps;
      if (!_mva_assistant_finetune (&args, progress, user_data, cancellable, &res->final_loss,
                                    error))
        {
          remove_tree (focus_dir);
          return FALSE;
        }
      res->focus_rounds++;
      /* the new weights replace the version's; its train-log.json (data: the
       * whole fine-tune set, replayed by later retrains) stays */
      from = g_build_filename (model_dir, "model.safetensors", NULL);
      to = g_build_filename (out_dir, "model.safetensors", NULL);
      if (g_rename (from, to) != 0)
        {
          int e = errno;

          g_set_error (error, MVA_ASSISTANT_ERROR, MVA_ASSISTANT_ERROR_IO, "cannot move %s: %s",
                       from, g_strerror (e));
          remove_tree (focus_dir);
          return FALSE;
        }
      remove_tree (focus_dir);
    }
}

static guint
next_version_number (const char *models_dir)
{
  for (guint n = 1;; n++)
    {
      g_autofree char *name = g_strdup_printf ("v%u", n);
      g_autofree char *p = g_build_filename (models_dir, name, NULL);

      if (!g_file_test (p, G_FILE_TEST_EXISTS))
        return n;
    }
}

MvaRetrainResult *
mva_assistant_retrain (MvaStore                *store,
                       const MvaRetrainOptions *options,
                       MvaRetrainProgressFunc   progress,
                       gpointer                 user_data,
                       GCancellable            *cancellable,
                       GError                 **error)
{
  MvaRetrainOptions o;
  Reporter rep = { progress, user_data };
  g_autofree char *base_dir = NULL;
  g_autofree char *models_dir = NULL;
  g_autofree char *out_dir = NULL;
  g_autofree char *data_dir = NULL;
  g_autofree char *qa_path = NULL;
  g_autoptr(GPtrArray) pairs = NULL;
  g_autoptr(GPtrArray) train = g_ptr_array_new ();
  g_autoptr(GPtrArray) heldout = g_ptr_array_new ();
  g_autoptr(GPtrArray) corrected = g_ptr_array_new ();
  g_autoptr(GPtrArray) replay = NULL;
  g_autoptr(GPtrArray) reviewed = g_ptr_array_new_with_free_func (reviewed_pair_free);
  g_autoptr(GHashTable) keys = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GString) jsonl = g_string_new (NULL);
  g_autoptr(MvaRetrainResult) res = g_new0 (MvaRetrainResult, 1);
  g_autoptr(GRand) rand = NULL;
  g_autoptr(GError) local = NULL;
  g_autofree char *config_json = NULL;
  g_autofree char *base_esc = NULL;
  g_autofree char *metrics_json = NULL;
  MvaQaFilter f = { 0 };
  MvaFinetuneArgs args = { 0 };
  MvaTextScores old_s = { 0 }, new_s = { 0 };
  double old_nll = NAN, new_nll = NAN;
  MvaModelVersion mv = { 0 };
  gint64 t0 = g_get_monotonic_time ();
  guint n_replay, want_replay, vnum;

  g_return_val_if_fail (store != NULL, NULL);
  mva_retrain_options_init (&o);
  if (options != NULL)
    {
      o = *options;
      if (o.steps == 0)
        o.steps = 200;
      if (o.batch == 0)
        o.batch = 16;
      if (!(o.lr > 0))
        o.lr = 3e-4;
      if (o.replay_ratio < 0)
        o.replay_ratio = 1.0;
      if (o.holdout_fraction < 0)
        o.holdout_fraction = 0.2;
      if (o.correction_repeat == 0)
        o.correction_repeat = 3;
      if (o.focus_rounds < 0)
        o.focus_rounds = 4;
    }
  if (o.threads == 0)
    o.threads = g_get_num_processors ();
  rand = g_rand_new_with_seed ((guint32) (o.seed ^ (o.seed >> 32)));
  {
    MvaDevice dev;

    if (!mva_device_resolve (o.device, FALSE, &dev, &res->device_note, &local))
      {
        g_set_error_literal (error, MVA_ASSISTANT_ERROR, MVA_ASSISTANT_ERROR_INVALID,
                             local->message);
        return NULL;
      }
    res->device = g_strdup (mva_device_name (dev));
  }

  /* 1. base model and the library's reviewed pairs */
  base_dir = o.base_model_dir ? g_canonicalize_filename (o.base_model_dir, NULL)
                              : mva_assistant_current_model_dir (store, error);
  if (base_dir == NULL)
    return NULL;
  res->base_version_id = mva_assistant_model_version_for_dir (store, base_dir, error);
  if (res->base_version_id == 0)
    return NULL;
  report (&rep, MVA_RETRAIN_PHASE_PREPARING, 0, 0);
  f.review_mask = MVA_REVIEW_MASK_REVIEWED;
  f.oldest_first = TRUE;
  pairs = mva_store_list_qa (store, &f, error);
  if (pairs == NULL)
    return NULL;
  for (guint i = 0; i < pairs->len; i++)
    {
      MvaQaPair *qa = g_ptr_array_index (pairs, i);
      ReviewedPair *rp;

      if (qa->image_path == NULL || !g_file_test (qa->image_path, G_FILE_TEST_IS_REGULAR))
        continue;
      rp = g_new0 (ReviewedPair, 1);
      rp->image = g_strdup (qa->image_path);
      rp->category = g_strdup (qa->category);
      rp->family = qa->family;
      rp->question = g_strdup (qa->question);
      rp->answer = g_strdup (qa->review_state == MVA_REVIEW_CORRECTED ? qa->corrected_text
                                                                      : qa->answer);
      rp->key = g_strdup (qa->image_sha256 ? qa->image_sha256 : qa->image_path);
      rp->corrected = qa->review_state == MVA_REVIEW_CORRECTED;
      rp->target = rp->corrected ? NULL : model_text_of (qa->extra_json);
      if (rp->target == NULL)
        rp->target = g_strdup (rp->answer);
      g_ptr_array_add (reviewed, rp);
      g_hash_table_add (keys, rp->key);
    }
  if (reviewed->len == 0)
    {
      g_set_error_literal (error, MVA_ASSISTANT_ERROR, MVA_ASSISTANT_ERROR_NO_DATA,
                           "no reviewed answers to learn from (accept or correct some first)");
      return NULL;
    }

  /* 2. hold out whole images when there are enough of them; a correction is
   * what the user asked the model to learn, so it is always trained on */
  if (g_hash_table_size (keys) >= 5 && o.holdout_fraction > 0)
    {
      for (guint i = 0; i < reviewed->len; i++)
        {
          ReviewedPair *rp = g_ptr_array_index (reviewed, i);
          guint32 h = g_str_hash (rp->key) ^ (guint32) o.seed;

          h = h * 2654435761u;
          if (!rp->corrected && (h >> 8) / (double) (1u << 24) < o.holdout_fraction)
            g_ptr_array_add (heldout, rp);
          else
            g_ptr_array_add (train, rp);
        }
    }
  if (heldout->len == 0 || train->len == 0)
    {
      g_ptr_array_set_size (heldout, 0);
      g_ptr_array_set_size (train, 0);
      for (guint i = 0; i < reviewed->len; i++)
        {
          g_ptr_array_add (train, g_ptr_array_index (reviewed, i));
          g_ptr_array_add (heldout, g_ptr_array_index (reviewed, i));
        }
      res->heldout_is_train = TRUE;
    }
  res->n_reviewed = train->len;
  for (guint i = 0; i < train->len; i++)
    if (((ReviewedPair *) g_ptr_array_index (train, i))->corrected)
      g_ptr_array_add (corrected, g_ptr_array_index (train, i));
  res->n_corrected = corrected->len;
  /* the focus rounds check the newest corrections (each is answered once a round) */
  if (corrected->len > MVA_RETRAIN_MAX_COMPARED)
    g_ptr_array_remove_range (corrected, 0, corrected->len - MVA_RETRAIN_MAX_COMPARED);
  /* the comparison answers each held-out pair twice: cap it to keep a retrain quick */
  if (heldout->len > MVA_RETRAIN_MAX_COMPARED)
    g_ptr_array_set_size (heldout, MVA_RETRAIN_MAX_COMPARED);
  res->n_heldout = heldout->len;

  /* 3. replay sample of the base model's data; where that is short, the
   * library's synthetic and teacher pairs, then the synthetic replay set */
  replay = g_ptr_array_new_with_free_func (g_free);
  replay_from_base (base_dir, replay);
  /* at least a few batches' worth: one correction with a handful of replay
   * pairs would be learnt as the answer to everything */
  want_replay = (guint) ceil (o.replay_ratio * train->len);
  if (o.replay_ratio > 0)
    want_replay = MAX (want_replay, MVA_RETRAIN_MIN_REPLAY_BATCHES * o.batch);
  if (replay->len < want_replay)
    replay_from_library (store, replay);
  if (replay->len < want_replay)
    {
      g_autofree char *lib = g_path_get_dirname (mva_store_get_path (store));

      if (!replay_from_synth (lib, o.threads, cancellable, replay, error))
        return NULL;
    }
  n_replay = MIN (replay->len, want_replay);
  for (guint i = 0; i < n_replay; i++)
    {
      guint j = (guint) g_rand_int_range (rand, (gint32) i, (gint32) replay->len);
      gpointer t = replay->pdata[i];

      replay->pdata[i] = replay->pdata[j];
      replay->pdata[j] = t;
      g_string_append (jsonl, g_ptr_array_index (replay, i));
      g_string_append_c (jsonl, '\n');
    }
  res->n_replay = n_replay;
  for (guint i = 0; i < train->len; i++)
    {
      ReviewedPair *rp = g_ptr_array_index (train, i);

      for (guint k = 0; k < (rp->corrected ? o.correction_repeat : 1); k++)
        add_jsonl (jsonl, rp->image, rp->category, rp->family, rp->question, rp->target);
    }

  /* 4. the new version's folder with its training data */
  if (o.models_dir != NULL)
    models_dir = g_canonicalize_filename (o.models_dir, NULL);
  else
    {
      g_autofree char *lib = g_path_get_dirname (mva_store_get_path (store));

      models_dir = g_build_filename (lib, "models", NULL);
    }
  vnum = next_version_number (models_dir);
  {
    g_autofree char *name = g_strdup_printf ("v%u", vnum);

    out_dir = g_build_filename (models_dir, name, NULL);
  }
  data_dir = g_build_filename (out_dir, "data", NULL);
  qa_path = g_build_filename (data_dir, "qa.jsonl", NULL);
  if (g_mkdir_with_parents (data_dir, 0755) != 0 ||
      !g_file_set_contents (qa_path, jsonl->str, (gssize) jsonl->len, &local))
    {
      g_set_error (error, MVA_ASSISTANT_ERROR, MVA_ASSISTANT_ERROR_IO, "cannot write %s: %s",
                   qa_path, local ? local->message : g_strerror (errno));
      remove_tree (out_dir);
      return NULL;
    }

  /* 5. training run */
  base_esc = g_strescape (base_dir, NULL);
  config_json = g_strdup_printf ("{\"kind\":\"from-reviews\",\"base\":\"%s\",\"steps\":%" G_GUINT64_FORMAT
                                 ",\"batch\":%u,\"lr\":%g,\"reviewed\":%u,\"replay\":%u,\"heldout\":%u,"
                                 "\"corrected\":%u,\"correction_repeat\":%u,\"focus_rounds\":%d}",
                                 base_esc, o.steps, o.batch, o.lr,
                                 res->n_reviewed, res->n_replay, res->n_heldout,
                                 res->n_corrected, o.correction_repeat, o.focus_rounds);
  res->training_run_id = mva_store_start_training_run (store, res->base_version_id, 0, config_json,
                                                       error);
  if (res->training_run_id == 0)
    {
      remove_tree (out_dir);
      return NULL;
    }
  args.data_dir = data_dir;
  args.base_dir = base_dir;
  args.out_dir = out_dir;
  args.steps = o.steps;
  args.batch = o.batch;
  args.lr = o.lr;
  args.threads = o.threads;
  args.seed = o.seed;
  args.step_offset = 0;
  args.total_steps = 0;
  args.device = o.device;
  res->final_loss = NAN;
  if (!_mva_assistant_finetune (&args, progress, user_data, cancellable, &res->final_loss, &local) ||
      !focus_corrections (&o, out_dir, corrected, train, replay, n_replay, progress, user_data,
                          cancellable, res, &local) ||
      !score_model (base_dir, heldout, o.threads, &rep, 0, 2 * (guint64) heldout->len, cancellable,
                    &old_s, &old_nll, &local) ||
      !score_model (out_dir, heldout, o.threads, &rep, heldout->len, 2 * (guint64) heldout->len,
                    cancellable, &new_s, &new_nll, &local))
    {
      gboolean cancelled = g_error_matches (local, MVA_ASSISTANT_ERROR, MVA_ASSISTANT_ERROR_CANCELLED);

      mva_store_finish_training_run (store, res->training_run_id,
                                     cancelled ? MVA_RUN_CANCELLED : MVA_RUN_FAILED,
                                     cancelled ? NULL : local->message, NULL);
      remove_tree (out_dir);
      g_propagate_error (error, g_steal_pointer (&local));
      return NULL;
    }
  res->old_bleu4 = old_s.bleu4;
  res->old_rouge_l = old_s.rougeL;
  res->old_meteor = old_s.meteor;
  res->new_bleu4 = new_s.bleu4;
  res->new_rouge_l = new_s.rougeL;
  res->new_meteor = new_s.meteor;
  res->old_nll = old_nll;
  res->new_nll = new_nll;

  /* 6. record the version (not adopted) */
  report (&rep, MVA_RETRAIN_PHASE_SAVING, 0, 0);
  metrics_json = g_strdup_printf (
    "{\"heldout\":%u,\"heldout_is_train\":%s,\"old\":{\"bleu4\":%.6f,\"rougeL\":%.6f,\"meteor\":%.6f,\"nll\":%.6f},"
    "\"new\":{\"bleu4\":%.6f,\"rougeL\":%.6f,\"meteor\":%.6f,\"nll\":%.6f},\"reviewed\":%u,\"replay\":%u,"
    "\"corrected\":%u,\"reflected\":%u,\"focus_rounds\":%u,\"final_loss\":%.6f}",
    res->n_heldout, res->heldout_is_train ? "true" : "false", old_s.bleu4, old_s.rougeL,
    old_s.meteor, isfinite (old_nll) ? old_nll : -1.0, new_s.bleu4, new_s.rougeL, new_s.meteor,
    isfinite (new_nll) ? new_nll : -1.0, res->n_reviewed, res->n_replay,
    res->n_corrected, res->n_reflected, res->focus_rounds,
    isfinite (res->final_loss) ? res->final_loss : 0.0);
  {
    g_autofree char *file = g_build_filename (out_dir, "model.safetensors", NULL);
    g_autofree char *name = g_strdup_printf ("v%u", vnum);
    g_autofree char *sha = mva_store_hash_file (file, NULL, NULL);
    g_autofree char *epoch = g_strdup_printf ("{\"epoch\":1,\"steps\":%" G_GUINT64_FORMAT
                                              ",\"loss\":%.6f}", o.steps,
                                              isfinite (res->final_loss) ? res->final_loss : 0.0);

    mv.name = name;
    mv.file_path = file;
    mv.sha256 = sha;
    mv.parent_id = res->base_version_id;
    mv.training_run_id = res->training_run_id;
    mv.metrics_json = metrics_json;
    for (guint n = 2; n < 1000; n++)
      {
        g_clear_error (&local);
        res->model_version_id = mva_store_add_model_version (store, &mv, &local);
        if (res->model_version_id != 0 ||
            !g_error_matches (local, MVA_STORE_ERROR, MVA_STORE_ERROR_EXISTS))
          break;
        g_free (name);
        name = g_strdup_printf ("v%u (%u)", vnum, n);
        mv.name = name;
      }
    if (res->model_version_id == 0)
      {
        mva_store_finish_training_run (store, res->training_run_id, MVA_RUN_FAILED,
                                       local->message, NULL);
        remove_tree (out_dir);
        g_propagate_error (error, g_steal_pointer (&local));
        return NULL;
      }
    mva_store_set_model_metrics (store, res->model_version_id, metrics_json, NULL);
    mva_store_append_training_epoch (store, res->training_run_id, epoch, NULL);
    mva_store_finish_training_run (store, res->training_run_id, MVA_RUN_FINISHED, NULL, NULL);
  }
  res->model_dir = g_steal_pointer (&out_dir);
  res->seconds = (g_get_monotonic_time () - t0) / 1e6;
  return g_steal_pointer (&res);
}

/* --- retrain async ------------------------------------------------------------------------ */

typedef struct
{
  MvaStore               *store;
  MvaRetrainOptions       options;
  char                   *base_model_dir;
  char                   *models_dir;
  char                   *device;
  MvaRetrainProgressFunc  progress;
  gpointer                progress_data;
  GMainContext           *context;
} RetrainAsync;

static void
retrain_async_free (gpointer p)
{
  RetrainAsync *d = p;

  mva_store_unref (d->store);
  g_free (d->base_model_dir);
  g_free (d->models_dir);
  g_free (d->device);
  g_main_context_unref (d->context);
  g_free (d);
}

typedef struct
{
  MvaRetrainProgressFunc progress;
  gpointer               data;
  MvaRetrainProgress     p;
} ProgressEvent;

static gboolean
progress_dispatch (gpointer p)
{
  ProgressEvent *e = p;

  e->progress (&e->p, e->data);
  return G_SOURCE_REMOVE;
}

static void
retrain_async_progress (const MvaRetrainProgress *p,
                        gpointer                  user_data)
{
  RetrainAsync *d = user_data;
  ProgressEvent *e = g_new (ProgressEvent, 1);
  GSource *src = g_idle_source_new ();

  e->progress = d->progress;
  e->data = d->progress_data;
  e->p = *p;
  g_source_set_priority (src, G_PRIORITY_DEFAULT);
  g_source_set_callback (src, progress_dispatch, e, g_free);
  g_source_attach (src, d->context);
  g_source_unref (src);
}

static void
retrain_thread (GTask        *task,
                gpointer      source,
                gpointer      task_data,
                GCancellable *cancellable)
{
  RetrainAsync *d = task_data;
  GError *error = NULL;
  MvaRetrainResult *r;

  r = mva_assistant_retrain (d->store, &d->options, d->progress ? retrain_async_progress : NULL, d,
                             cancellable, &error);
  if (r == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, r, (GDestroyNotify) mva_retrain_result_free);
}

void
mva_assistant_retrain_async (MvaStore                *store,
                             const MvaRetrainOptions *options,
                             MvaRetrainProgressFunc   progress,
                             gpointer                 progress_data,
                             GCancellable            *cancellable,
                             GAsyncReadyCallback      callback,
                             gpointer                 callback_data)
{
  g_autoptr(GTask) task = NULL;
  RetrainAsync *d;

  g_return_if_fail (store != NULL);
  task = g_task_new (NULL, cancellable, callback, callback_data);
  g_task_set_check_cancellable (task, FALSE); /* errors in MVA_ASSISTANT_ERROR */
  g_task_set_source_tag (task, mva_assistant_retrain_async);
  d = g_new0 (RetrainAsync, 1);
  d->store = mva_store_ref (store);
  if (options != NULL)
    d->options = *options;
  else
    mva_retrain_options_init (&d->options);
  d->base_model_dir = g_strdup (d->options.base_model_dir);
  d->models_dir = g_strdup (d->options.models_dir);
  d->device = g_strdup (d->options.device);
  d->options.base_model_dir = d->base_model_dir;
  d->options.models_dir = d->models_dir;
  d->options.device = d->device;
  d->progress = progress;
  d->progress_data = progress_data;
  d->context = g_main_context_ref_thread_default ();
  g_task_set_task_data (task, d, retrain_async_free);
  _mva_assistant_run_in_thread (task, "mva-retrain", retrain_thread);
}

MvaRetrainResult *
mva_assistant_retrain_finish (GAsyncResult  *result,
                              GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
