/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-assistant.c: families, categories, model location and loading, ask
 * (streamed, with per-token attention) and classify, blocking and async.
 * Library integration is in mva-assistant-store.c, retraining in
 * mva-assistant-retrain.c.
 */
#define G_LOG_DOMAIN "mva-assistant"
#include "config.h"

#include <math.h>
#include <string.h>

#include "mva-assistant-private.h"
#include "mva-preprocess.h"
#include "mve-tokenizer.h"
#include "mve.h"

G_DEFINE_QUARK (mva-assistant-error-quark, mva_assistant_error)

/* --- families and categories --------------------------------------------------- */

static const char *const family_labels[MVA_ASSISTANT_N_FAMILIES] = {
  "Basics", "Morphology and structure", "Size and distribution", "Surface characteristics",
  "Composition and elements", "Interactions and boundaries", "External environment",
  "Imaging technique and modifications", "Functional features", "Context and application",
};

/* The first phrasing of each family in the synthetic generator's question
 * pools (mva-synth-qa.c), so the presets are questions the model has seen. */
static const char *const family_questions[MVA_ASSISTANT_N_FAMILIES] = {
  "What type of nanomaterial is shown, and what is the scale of the image?",
  "Describe the overall shape and structure of the material.",
  "What is the size of the structures, and how are they distributed?",
  "Describe the surface texture. Are there defects, pores or impurities?",
  "Do brightness or contrast differences hint at different compositions?",
  "Are the structures touching, fused or separate, and how sharp are their boundaries?",
  "Is there any sign of interaction with the surroundings, such as a substrate, solvent or polymer?",
  "Which imaging technique was used, and has the image been post-processed?",
  "Which regions might have a distinct function or property, and is this a static image or a dynamic process?",
  "What is this material likely used for, and is it an experimental sample or a simulation?",
};

static const char *const category_names[MVA_ASSISTANT_N_CATEGORIES] = {
  "biological", "fibres", "films", "mems", "nanowires",
  "particles", "patterned", "porous", "powder", "tips",
};

/* As the synthetic generator phrases its captions. */
static const char *const category_phrases[MVA_ASSISTANT_N_CATEGORIES] = {
  "biological material", "fibres", "a film or coated surface", "a MEMS device",
  "nanowires", "particles", "a patterned surface", "a porous sponge-like material",
  "a powder", "a sharp tip",
};

const char *
mva_assistant_family_label (guint family)
{
  return family >= 1 && family <= MVA_ASSISTANT_N_FAMILIES ? family_labels[family - 1] : NULL;
}

const char *
mva_assistant_family_question (guint family)
{
  return family >= 1 && family <= MVA_ASSISTANT_N_FAMILIES ? family_questions[family - 1] : NULL;
}

const char *
mva_assistant_category_name (guint index)
{
  return index < MVA_ASSISTANT_N_CATEGORIES ? category_names[index] : NULL;
}

gboolean
mva_assistant_category_index (const char *name,
                              guint      *out_index)
{
  for (guint i = 0; name != NULL && i < MVA_ASSISTANT_N_CATEGORIES; i++)
    if (g_ascii_strcasecmp (name, category_names[i]) == 0)
      {
        if (out_index != NULL)
          *out_index = i;
        return TRUE;
      }
  return FALSE;
}

char *
mva_assistant_caption (const char *category)
{
  guint i;

  if (!mva_assistant_category_index (category, &i))
    return NULL;
  return g_strdup_printf ("This SEM image shows %s.", category_phrases[i]);
}

/* --- model location and loading ---------------------------------------------------- */

struct _MvaAssistantModel
{
  gint           ref_count;
  char          *dir;
  char          *name;
  mve_model_t    model;
  mve_tokenizer *tok;
  GMutex         lock;   /* one call runs the model at a time */
  guint          grid;
  guint          image_size;
  guint          max_answer_len;
  guint          max_question_len;
};

static gboolean
has_model (const char *dir)
{
  g_autofree char *p = g_build_filename (dir, "model.safetensors", NULL);

  return g_file_test (p, G_FILE_TEST_IS_REGULAR);
}

static gboolean
running_uninstalled (void)
{
  g_autofree char *exe = g_file_read_link ("/proc/self/exe", NULL);

  return exe != NULL && g_str_has_prefix (exe, MVAEMA_SOURCE_DIR "/");
}

char *
mva_assistant_default_model_dir (GError **error)
{
  const char *env = g_getenv ("MVAEMA_MODEL");
  g_autofree char *src = g_build_filename (MVAEMA_SOURCE_DIR, "data", "models", "default", NULL);
  g_autofree char *pkg = g_build_filename (PKGDATADIR, "models", "default", NULL);

  if (env != NULL && env[0] != '\0')
    {
      if (has_model (env))
        return g_canonicalize_filename (env, NULL);
      g_set_error (error, MVA_ASSISTANT_ERROR, MVA_ASSISTANT_ERROR_MODEL,
                   "MVAEMA_MODEL=%s holds no model.safetensors", env);
      return NULL;
    }
  if (running_uninstalled () && has_model (src))
    return g_steal_pointer (&src);
  if (has_model (pkg))
    return g_steal_pointer (&pkg);
  if (has_model (src))
    return g_steal_pointer (&src);
  g_set_error (error, MVA_ASSISTANT_ERROR, MVA_ASSISTANT_ERROR_MODEL,
               "no default model: %s/model.safetensors is missing (set MVAEMA_MODEL or pass --model DIR)",
               pkg);
  return NULL;
}

MvaAssistantModel *
mva_assistant_model_load (const char  *dir,
                          guint        threads,
                          GError     **error)
{
  g_autofree char *abs = NULL;
  g_autofree char *mpath = NULL;
  g_autofree char *tpath = NULL;
  mve_model_t m = NULL;
  mve_tokenizer *tok = NULL;
  const struct mve_config *cfg;
  MvaAssistantModel *model;
  char err[512] = "";

  g_return_val_if_fail (dir != NULL, NULL);
  abs = g_canonicalize_filename (dir, NULL);
  if (!g_file_test (abs, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, MVA_ASSISTANT_ERROR, MVA_ASSISTANT_ERROR_MODEL,
                   "model folder %s does not exist", dir);
      return NULL;
    }
  mpath = g_build_filename (abs, "model.safetensors", NULL);
  tpath = g_build_filename (abs, "tokenizer.json", NULL);
  if (!g_file_test (mpath, G_FILE_TEST_IS_REGULAR))
    {
      g_set_error (error, MVA_ASSISTANT_ERROR, MVA_ASSISTANT_ERROR_MODEL,
                   "%s is not a model folder: model.safetensors is missing", dir);
      return NULL;
    }
  if (threads == 0)
    threads = g_get_num_processors ();
  if (mve_tokenizer_load (&tok, tpath, err, sizeof err) != MVE_STATUS_OK)
    {
      g_set_error (error, MVA_ASSISTANT_ERROR, MVA_ASSISTANT_ERROR_MODEL, "%s: %s", tpath, err);
      return NULL;
    }
  if (mve_model_load (&m, mpath, (int32_t) threads, err, sizeof err) != MVE_STATUS_OK)
    {
      g_set_error (error, MVA_ASSISTANT_ERROR, MVA_ASSISTANT_ERROR_MODEL, "%s: %s", mpath, err);
      mve_tokenizer_free (tok);
      return NULL;
    }
  cfg = mve_model_get_config (m);
  if (mve_tokenizer_size (tok) != cfg->vocab_size || cfg->channels != 3)
    {
      g_set_error (error, MVA_ASSISTANT_ERROR, MVA_ASSISTANT_ERROR_MODEL,
                   "%s has %d tokens but %s expects %d", tpath, mve_tokenizer_size (tok), mpath,
                   cfg->vocab_size);
      mve_model_free (m);
      mve_tokenizer_free (tok);
      return NULL;
    }
  model = g_new0 (MvaAssistantModel, 1);
  model->ref_count = 1;
  model->dir = g_steal_pointer (&abs);
  model->name = g_path_get_basename (model->dir);
  model->model = m;
  model->tok = tok;
  g_mutex_init (&model->lock);
  model->image_size = (guint) cfg->image_size;
  model->grid = (guint) (cfg->image_size / cfg->patch_size);
  model->max_answer_len = (guint) cfg->max_answer_len;
  model->max_question_len = (guint) cfg->max_question_len;
  return model;
}

MvaAssistantModel *
mva_assistant_model_ref (MvaAssistantModel *model)
{
  g_return_val_if_fail (model != NULL, NULL);
  g_atomic_int_inc (&model->ref_count);
  return model;
}

void
mva_assistant_model_unref (MvaAssistantModel *model)
{
  if (model == NULL || !g_atomic_int_dec_and_test (&model->ref_count))
    return;
  mve_model_free (model->model);
  mve_tokenizer_free (model->tok);
  g_mutex_clear (&model->lock);
  g_free (model->dir);
  g_free (model->name);
  g_free (model);
}

const char *
mva_assistant_model_get_dir (MvaAssistantModel *model)
{
  return model->dir;
}

const char *
mva_assistant_model_get_name (MvaAssistantModel *model)
{
  return model->name;
}

guint
mva_assistant_model_get_grid (MvaAssistantModel *model)
{
  return model->grid;
}

guint
mva_assistant_model_get_image_size (MvaAssistantModel *model)
{
  return model->image_size;
}

guint
mva_assistant_model_get_max_answer_len (MvaAssistantModel *model)
{
  return model->max_answer_len;
}

void
mva_assistant_model_set_threads (MvaAssistantModel *model,
                                 guint              threads)
{
  g_mutex_lock (&model->lock);
  mve_model_set_threads (model->model, (int32_t) (threads ? threads : g_get_num_processors ()));
  g_mutex_unlock (&model->lock);
}

/* --- helpers ------------------------------------------------------------------------ */

static bool
should_abort (void *user)
{
  return user != NULL && g_cancellable_is_cancelled (G_CANCELLABLE (user));
}

static int32_t *
encode_text (const mve_tokenizer *tok,
             const char          *text,
             guint                max,
             int32_t             *n_out)
{
  size_t n = 0, len = strlen (text);
  int32_t *ids = g_new (int32_t, len + 1);

  mve_tokenizer_encode (tok, text, len, ids, len + 1, &n);
  *n_out = (int32_t) MIN ((size_t) max, n);
  return ids;
}

static float *
model_input (MvaAssistantModel *model,
             const MvaImage    *image,
             GError           **error)
{
  g_autoptr(GError) local = NULL;
  float *x = mva_preprocess_image (image, model->image_size, &local);

  if (x == NULL)
    g_set_error (error, MVA_ASSISTANT_ERROR, MVA_ASSISTANT_ERROR_IMAGE, "%s%s%s",
                 image->path ? image->path : "", image->path ? ": " : "", local->message);
  return x;
}

static void
set_engine_error (GError      **error,
                  GCancellable *cancellable,
                  const char   *what,
                  const char   *err)
{
  if (g_cancellable_is_cancelled (cancellable))
    g_set_error_literal (error, MVA_ASSISTANT_ERROR, MVA_ASSISTANT_ERROR_CANCELLED, "cancelled");
  else
    g_set_error (error, MVA_ASSISTANT_ERROR, MVA_ASSISTANT_ERROR_ENGINE, "%s: %s", what, err);
}

/* --- ask ------------------------------------------------------------------------------ */

void
mva_answer_free (MvaAnswer *a)
{
  if (a == NULL)
    return;
  g_free (a->model_dir);
  g_free (a->model_name);
  g_free (a->category);
  g_free (a->question);
  g_free (a->caption);
  g_free (a->answer);
  g_free (a->generated);
  g_free (a->instrument_settings);
  g_free (a->size_category);
  g_free (a->tokens);
  g_strfreev (a->pieces);
  g_free (a->attention);
  g_free (a->mean_attention);
  g_free (a);
}

gint
mva_answer_token_at (const MvaAnswer *a,
                     gsize            offset)
{
  gsize pos = 0;

  g_return_val_if_fail (a != NULL, -1);
  for (guint t = 0; t < a->n_tokens && a->pieces != NULL && a->pieces[t] != NULL; t++)
    {
      gsize len = strlen (a->pieces[t]);

      if (offset < pos + len)
        return (gint) t;
      pos += len;
    }
  return -1;
}

float *
mva_answer_span_attention (const MvaAnswer *a,
                           guint            first,
                           guint            n)
{
  float *out;
  guint end;

  g_return_val_if_fail (a != NULL, NULL);
  out = g_new0 (float, MAX (a->n_patches, 1));
  if (n == 0 || a->n_tokens == 0)
    {
      if (a->mean_attention != NULL)
        memcpy (out, a->mean_attention, sizeof (float) * a->n_patches);
      return out;
    }
  first = MIN (first, a->n_tokens - 1);
  end = MIN (a->n_tokens, first + n);
  for (guint t = first; t < end; t++)
    for (guint p = 0; p < a->n_patches; p++)
      out[p] += a->attention[(gsize) t * a->n_patches + p] / (float) (end - first);
  return out;
}

typedef struct
{
  MvaAssistantModel *model;
  MvaAnswer         *answer;
  GArray            *tokens;     /* gint32 */
  GArray            *attn;       /* float */
  GPtrArray         *pieces;     /* char* */
  GByteArray        *bytes;      /* raw answer bytes so far */
  gsize              emitted;    /* bytes of `bytes` handed out as pieces */
  gint64             t0;
  MvaAskTokenFunc    on_token;
  gpointer           user_data;
  GCancellable      *cancellable;
} AskRun;

/* The valid UTF-8 text the new bytes complete; an incomplete sequence at the
 * end waits for the next token, invalid bytes become U+FFFD. */
static char *
next_piece (AskRun *run)
{
  GString *s = g_string_new (NULL);
  const char *p = (const char *) run->bytes->data;
  gsize len = run->bytes->len;

  while (run->emitted < len)
    {
      const char *end = NULL;

      if (g_utf8_validate_len (p + run->emitted, len - run->emitted, &end))
        {
          g_string_append_len (s, p + run->emitted, (gssize) (len - run->emitted));
          run->emitted = len;
          break;
        }
      g_string_append_len (s, p + run->emitted, end - (p + run->emitted));
      run->emitted = (gsize) (end - p);
      /* an incomplete sequence (at most 3 bytes, lead byte first) may finish later */
      if (len - run->emitted < 4 && g_utf8_get_char_validated (p + run->emitted,
                                                               (gssize) (len - run->emitted)) ==
                                      (gunichar) -2)
        break;
      g_string_append (s, "\xef\xbf\xbd");
      run->emitted++;
    }
  return g_string_free (s, FALSE);
}

static bool
on_engine_token (void        *user,
                 int32_t      token,
                 const float *attn)
{
  AskRun *run = user;
  guint P = run->answer->n_patches;
  size_t len = 0;
  const uint8_t *b = mve_tokenizer_token_bytes (run->model->tok, token, &len);
  char *piece;

  if (run->tokens->len == 0)
    run->answer->first_token_ms = (g_get_monotonic_time () - run->t0) / 1000.0;
  g_array_append_val (run->tokens, token);
  if (attn != NULL)
    {
      /* the engine leaves the image <cls> token out, so renormalise over the patches */
      double sum = 0;
      float *dst;

      g_array_set_size (run->attn, run->attn->len + P);
      dst = &g_array_index (run->attn, float, run->attn->len - P);
      for (guint i = 0; i < P; i++)
        sum += attn[i] > 0 && isfinite (attn[i]) ? attn[i] : 0;
      for (guint i = 0; i < P; i++)
        dst[i] = sum > 0 ? (float) ((attn[i] > 0 && isfinite (attn[i]) ? attn[i] : 0) / sum)
                         : 1.0f / (float) P;
    }
  else
    {
      float u = 1.0f / (float) P;

      for (guint i = 0; i < P; i++)
        g_array_append_val (run->attn, u);
    }
  if (b != NULL && token >= MVE_TOKEN_N_SPECIAL)
    g_byte_array_append (run->bytes, b, (guint) len);
  piece = next_piece (run);
  g_ptr_array_add (run->pieces, piece);
  if (run->on_token != NULL)
    run->on_token (run->tokens->len - 1, token, piece,
                   &g_array_index (run->attn, float, run->attn->len - P), P, run->user_data);
  return !g_cancellable_is_cancelled (run->cancellable);
}

MvaAnswer *
mva_assistant_ask (MvaAssistantModel   *model,
                   const MvaImage      *image,
                   const MvaAskRequest *request,
                   MvaAskTokenFunc      on_token,
                   gpointer             user_data,
                   GCancellable        *cancellable,
                   GError             **error)
{
  g_autoptr(MvaAnswer) a = NULL;
  g_autofree float *x = NULL;
  g_autofree int32_t *q = NULL;
  g_autofree char *prompt = NULL;
  const char *question;
  int32_t qlen = 0, n_out = 0;
  guint max_new;
  AskRun run = { 0 };
  char err[512] = "";
  mve_status st;

  g_return_val_if_fail (model != NULL && image != NULL && request != NULL, NULL);

  run.t0 = g_get_monotonic_time ();
  if (request->family > MVA_ASSISTANT_N_FAMILIES)
    {
      g_set_error (error, MVA_ASSISTANT_ERROR, MVA_ASSISTANT_ERROR_INVALID,
                   "family %u does not exist (1 to %d)", request->family,
                   MVA_ASSISTANT_N_FAMILIES);
      return NULL;
    }
  question = request->question;
  while (question != NULL && g_ascii_isspace (*question))
    question++;
  if (question == NULL || question[0] == '\0')
    {
      if (request->family == 0)
        {
          g_set_error_literal (error, MVA_ASSISTANT_ERROR, MVA_ASSISTANT_ERROR_INVALID,
                               "the question is empty (type one or choose a family)");
          return NULL;
        }
      question = family_questions[request->family - 1];
    }
  if (!g_utf8_validate (question, -1, NULL))
    {
      g_set_error_literal (error, MVA_ASSISTANT_ERROR, MVA_ASSISTANT_ERROR_INVALID,
                           "the question is not valid UTF-8");
      return NULL;
    }
  if (request->category != NULL && request->category[0] != '\0' &&
      !mva_assistant_category_index (request->category, NULL))
    {
      g_set_error (error, MVA_ASSISTANT_ERROR, MVA_ASSISTANT_ERROR_INVALID,
                   "unknown category “%s” (one of biological, fibres, films, mems, nanowires, "
                   "particles, patterned, porous, powder, tips)", request->category);
      return NULL;
    }

  a = g_new0 (MvaAnswer, 1);
  a->model_dir = g_strdup (model->dir);
  a->model_name = g_strdup (model->name);
  a->family = request->family;
  a->question = g_strstrip (g_strdup (question));
  if (request->category != NULL && request->category[0] != '\0')
    {
      guint ci = 0;

      mva_assistant_category_index (request->category, &ci);
      a->category = g_strdup (category_names[ci]);
      a->caption = mva_assistant_caption (a->category);
    }
  else if (!request->model_only)
    {
      /* no known category: the model's best guess (a ranking of the 10
       * names, about as long as a few answer tokens) gives the caption, so
       * the answer and the measured size speak of the same kind of sample */
      g_autoptr(GArray) ranking = mva_assistant_classify (model, image, cancellable, NULL);

      if (ranking != NULL && ranking->len > 0)
        {
          a->category = g_strdup (g_array_index (ranking, MvaCategoryScore, 0).category);
          a->caption = mva_assistant_caption (a->category);
          a->category_predicted = TRUE;
        }
    }
  a->grid = model->grid;
  a->n_patches = model->grid * model->grid;
  a->first_token_ms = -1;

  x = model_input (model, image, error);
  if (x == NULL)
    return NULL;
  prompt = a->caption ? g_strconcat (a->caption, " ", a->question, NULL) : g_strdup (a->question);
  q = encode_text (model->tok, prompt, model->max_question_len, &qlen);
  max_new = request->max_tokens ? MIN (request->max_tokens, model->max_answer_len)
                                 : model->max_answer_len;

  run.model = model;
  run.answer = a;
  run.tokens = g_array_new (FALSE, FALSE, sizeof (gint32));
  run.attn = g_array_new (FALSE, FALSE, sizeof (float));
  run.pieces = g_ptr_array_new ();
  run.bytes = g_byte_array_new ();
  run.on_token = on_token;
  run.user_data = user_data;
  run.cancellable = cancellable;
  {
    g_autofree int32_t *out = g_new (int32_t, max_new + 1);

    g_mutex_lock (&model->lock);
    mve_model_set_abort_callback (model->model, should_abort, cancellable);
    st = mve_model_generate (model->model, x, q, qlen, (int32_t) max_new, 1, on_engine_token, &run,
                             out, &n_out, NULL, err, sizeof err);
    mve_model_set_abort_callback (model->model, NULL, NULL);
    g_mutex_unlock (&model->lock);
  }
  a->n_tokens = run.tokens->len;
  a->tokens = (gint32 *) g_array_free (run.tokens, FALSE);
  a->attention = (float *) g_array_free (run.attn, FALSE);
  g_ptr_array_add (run.pieces, NULL);
  a->pieces = (char **) g_ptr_array_free (run.pieces, FALSE);
  g_byte_array_unref (run.bytes);
  if (g_cancellable_is_cancelled (cancellable))
    {
      g_set_error_literal (error, MVA_ASSISTANT_ERROR, MVA_ASSISTANT_ERROR_CANCELLED, "cancelled");
      return NULL;
    }
  if (st != MVE_STATUS_OK)
    {
      set_engine_error (error, cancellable, "generation", err);
      return NULL;
    }
  /* the answer is exactly what was streamed (an incomplete UTF-8 tail is dropped) */
  a->generated = g_strjoinv ("", a->pieces);
  a->answer = g_strdup (a->generated);
  a->pixel_size_nm = NAN;
  a->field_of_view_um = NAN;
  a->size_px = NAN;
  a->size_nm = NAN;
  if (!request->model_only)
    {
      _mva_assistant_apply_metadata_scale (a, image);
      _mva_assistant_apply_metadata_instrument (a, image);
      _mva_assistant_apply_measured_size (a, image, a->category);
      if (a->size_measured)
        a->size_category = g_strdup (a->category);
    }
  a->mean_attention = g_new0 (float, a->n_patches);
  for (guint t = 0; t < a->n_tokens; t++)
    for (guint p = 0; p < a->n_patches; p++)
      a->mean_attention[p] += a->attention[(gsize) t * a->n_patches + p] / (float) a->n_tokens;
  if (a->n_tokens == 0)
    for (guint p = 0; p < a->n_patches; p++)
      a->mean_attention[p] = 1.0f / (float) a->n_patches;
  a->ms = (g_get_monotonic_time () - run.t0) / 1000.0;
  return g_steal_pointer (&a);
}

/* --- classify -------------------------------------------------------------------------- */

static gint
score_cmp (gconstpointer pa,
           gconstpointer pb)
{
  const MvaCategoryScore *a = pa, *b = pb;

  return a->logprob > b->logprob ? -1 : a->logprob < b->logprob ? 1
                                                                 : g_strcmp0 (a->category, b->category);
}

GArray *
mva_assistant_classify (MvaAssistantModel  *model,
                        const MvaImage     *image,
                        GCancellable       *cancellable,
                        GError            **error)
{
  g_autofree float *x = NULL;
  g_autofree int32_t *q = NULL;
  int32_t *ids[MVA_ASSISTANT_N_CATEGORIES];
  int32_t lens[MVA_ASSISTANT_N_CATEGORIES];
  float logp[MVA_ASSISTANT_N_CATEGORIES];
  int32_t qlen = 0;
  char err[512] = "";
  mve_status st;
  GArray *out;
  double mx = -INFINITY, sum = 0;

  g_return_val_if_fail (model != NULL && image != NULL, NULL);
  if (g_cancellable_set_error_if_cancelled (cancellable, NULL))
    {
      g_set_error_literal (error, MVA_ASSISTANT_ERROR, MVA_ASSISTANT_ERROR_CANCELLED, "cancelled");
      return NULL;
    }
  x = model_input (model, image, error);
  if (x == NULL)
    return NULL;
  q = encode_text (model->tok, MVA_ASSISTANT_CLASSIFY_QUESTION, model->max_question_len, &qlen);
  for (guint c = 0; c < MVA_ASSISTANT_N_CATEGORIES; c++)
    ids[c] = encode_text (model->tok, category_names[c], model->max_answer_len, &lens[c]);
  g_mutex_lock (&model->lock);
  mve_model_set_abort_callback (model->model, should_abort, cancellable);
  st = mve_model_score_answers (model->model, x, q, qlen, (const int32_t *const *) ids, lens,
                                MVA_ASSISTANT_N_CATEGORIES, logp, err, sizeof err);
  mve_model_set_abort_callback (model->model, NULL, NULL);
  g_mutex_unlock (&model->lock);
  for (guint c = 0; c < MVA_ASSISTANT_N_CATEGORIES; c++)
    g_free (ids[c]);
  if (st != MVE_STATUS_OK)
    {
      set_engine_error (error, cancellable, "classification", err);
      return NULL;
    }
  out = g_array_sized_new (FALSE, TRUE, sizeof (MvaCategoryScore), MVA_ASSISTANT_N_CATEGORIES);
  for (guint c = 0; c < MVA_ASSISTANT_N_CATEGORIES; c++)
    mx = MAX (mx, (double) logp[c]);
  for (guint c = 0; c < MVA_ASSISTANT_N_CATEGORIES; c++)
    sum += exp ((double) logp[c] - mx);
  for (guint c = 0; c < MVA_ASSISTANT_N_CATEGORIES; c++)
    {
      MvaCategoryScore s = { category_names[c], exp ((double) logp[c] - mx) / sum, logp[c] };

      g_array_append_val (out, s);
    }
  g_array_sort (out, score_cmp);
  return out;
}

gboolean
mva_assistant_answer_logprob (MvaAssistantModel  *model,
                              const MvaImage     *image,
                              const char         *question,
                              const char         *category,
                              const char         *answer,
                              double             *logprob,
                              guint              *n_tokens,
                              GCancellable       *cancellable,
                              GError            **error)
{
  g_autofree float *x = NULL;
  g_autofree int32_t *q = NULL, *a = NULL;
  g_autofree char *caption = NULL, *prompt = NULL;
  int32_t qlen = 0, alen = 0;
  const int32_t *answers[1];
  float lp = 0.0f;
  char err[512] = "";
  mve_status st;

  g_return_val_if_fail (model != NULL && image != NULL && question != NULL && answer != NULL, FALSE);
  g_return_val_if_fail (logprob != NULL, FALSE);
  if (g_cancellable_set_error_if_cancelled (cancellable, NULL))
    {
      g_set_error_literal (error, MVA_ASSISTANT_ERROR, MVA_ASSISTANT_ERROR_CANCELLED, "cancelled");
      return FALSE;
    }
  x = model_input (model, image, error);
  if (x == NULL)
    return FALSE;
  if (category != NULL && category[0] != '\0')
    caption = mva_assistant_caption (category);
  prompt = caption != NULL ? g_strconcat (caption, " ", question, NULL) : g_strdup (question);
  q = encode_text (model->tok, prompt, model->max_question_len, &qlen);
  a = encode_text (model->tok, answer, model->max_answer_len, &alen);
  answers[0] = a;
  g_mutex_lock (&model->lock);
  mve_model_set_abort_callback (model->model, should_abort, cancellable);
  st = mve_model_score_answers (model->model, x, q, qlen, answers, &alen, 1, &lp, err, sizeof err);
  mve_model_set_abort_callback (model->model, NULL, NULL);
  g_mutex_unlock (&model->lock);
  if (st != MVE_STATUS_OK)
    {
      set_engine_error (error, cancellable, "scoring", err);
      return FALSE;
    }
  *logprob = lp;
  if (n_tokens != NULL)
    *n_tokens = (guint) alen + 1;
  return TRUE;
}

/* --- async ------------------------------------------------------------------------------ */

typedef struct
{
  GTask           *task;
  GTaskThreadFunc  func;
} ThreadJob;

static gpointer
thread_main (gpointer data)
{
  ThreadJob *job = data;

  job->func (job->task, g_task_get_source_object (job->task), g_task_get_task_data (job->task),
             g_task_get_cancellable (job->task));
  g_object_unref (job->task);
  g_free (job);
  return NULL;
}

void
_mva_assistant_run_in_thread (GTask           *task,
                              const char      *name,
                              GTaskThreadFunc  func)
{
  ThreadJob *job = g_new (ThreadJob, 1);

  job->task = g_object_ref (task);
  job->func = func;
  g_thread_unref (g_thread_new (name, thread_main, job));
}

typedef struct
{
  MvaAssistantModel *model;
  char              *path;
  char              *question;
  char              *category;
  MvaAskRequest      request;
  MvaAskTokenFunc    on_token;
  gpointer           user_data;
  GMainContext      *context;
} AskAsync;

static void
ask_async_free (gpointer p)
{
  AskAsync *d = p;

  mva_assistant_model_unref (d->model);
  g_free (d->path);
  g_free (d->question);
  g_free (d->category);
  g_main_context_unref (d->context);
  g_free (d);
}

typedef struct
{
  MvaAskTokenFunc on_token;
  gpointer        user_data;
  guint           index;
  gint32          token;
  char           *piece;
  float          *attn;
  guint           n_patches;
} TokenEvent;

static void
token_event_free (gpointer p)
{
  TokenEvent *e = p;

  g_free (e->piece);
  g_free (e->attn);
  g_free (e);
}

static gboolean
token_event_dispatch (gpointer p)
{
  TokenEvent *e = p;

  e->on_token (e->index, e->token, e->piece, e->attn, e->n_patches, e->user_data);
  return G_SOURCE_REMOVE;
}

/* Posts to the caller's context at the priority GTask returns with, so every
 * token arrives before the ready callback. */
static void
post_to_context (GMainContext *context,
                 GSourceFunc   func,
                 gpointer      data,
                 GDestroyNotify notify)
{
  GSource *src = g_idle_source_new ();

  g_source_set_priority (src, G_PRIORITY_DEFAULT);
  g_source_set_callback (src, func, data, notify);
  g_source_attach (src, context);
  g_source_unref (src);
}

static void
ask_async_token (guint        index,
                 gint32       token,
                 const char  *piece,
                 const float *attention,
                 guint        n_patches,
                 gpointer     user_data)
{
  AskAsync *d = user_data;
  TokenEvent *e = g_new0 (TokenEvent, 1);

  e->on_token = d->on_token;
  e->user_data = d->user_data;
  e->index = index;
  e->token = token;
  e->piece = g_strdup (piece);
  e->attn = g_memdup2 (attention, sizeof (float) * n_patches);
  e->n_patches = n_patches;
  post_to_context (d->context, token_event_dispatch, e, token_event_free);
}

static void
ask_thread (GTask        *task,
            gpointer      source,
            gpointer      task_data,
            GCancellable *cancellable)
{
  AskAsync *d = task_data;
  g_autoptr(MvaImage) image = NULL;
  GError *error = NULL;
  MvaAnswer *a;

  image = mva_image_load (d->path, 0, &error);
  if (image == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  a = mva_assistant_ask (d->model, image, &d->request, d->on_token ? ask_async_token : NULL, d,
                         cancellable, &error);
  if (a == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, a, (GDestroyNotify) mva_answer_free);
}

/* A task for ask/classify on a thread of its own, with its AskAsync (model,
 * path and the caller's main context filled in) as task data. */
static GTask *
async_task_new (MvaAssistantModel   *model,
                const char          *image_path,
                GCancellable        *cancellable,
                GAsyncReadyCallback  callback,
                gpointer             callback_data,
                gpointer             source_tag,
                AskAsync           **out)
{
  GTask *task = g_task_new (NULL, cancellable, callback, callback_data);
  AskAsync *d = g_new0 (AskAsync, 1);

  g_task_set_check_cancellable (task, FALSE); /* errors in MVA_ASSISTANT_ERROR */
  g_task_set_source_tag (task, source_tag);
  g_task_set_return_on_cancel (task, FALSE);
  d->model = mva_assistant_model_ref (model);
  d->path = g_strdup (image_path);
  d->context = g_main_context_ref_thread_default ();
  g_task_set_task_data (task, d, ask_async_free);
  *out = d;
  return task;
}

void
mva_assistant_ask_async (MvaAssistantModel   *model,
                         const char          *image_path,
                         const MvaAskRequest *request,
                         MvaAskTokenFunc      on_token,
                         gpointer             user_data,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             callback_data)
{
  g_autoptr(GTask) task = NULL;
  AskAsync *d;

  g_return_if_fail (model != NULL && image_path != NULL && request != NULL);
  task = async_task_new (model, image_path, cancellable, callback, callback_data,
                         mva_assistant_ask_async, &d);
  d->question = g_strdup (request->question);
  d->category = g_strdup (request->category);
  d->request = *request;
  d->request.question = d->question;
  d->request.category = d->category;
  d->on_token = on_token;
  d->user_data = user_data;
  _mva_assistant_run_in_thread (task, "mva-ask", ask_thread);
}

MvaAnswer *
mva_assistant_ask_finish (GAsyncResult  *result,
                          GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
classify_thread (GTask        *task,
                 gpointer      source,
                 gpointer      task_data,
                 GCancellable *cancellable)
{
  AskAsync *d = task_data;
  g_autoptr(MvaImage) image = NULL;
  GError *error = NULL;
  GArray *ranking;

  image = mva_image_load (d->path, 0, &error);
  if (image == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  ranking = mva_assistant_classify (d->model, image, cancellable, &error);
  if (ranking == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, ranking, (GDestroyNotify) g_array_unref);
}

void
mva_assistant_classify_async (MvaAssistantModel  *model,
                              const char         *image_path,
                              GCancellable       *cancellable,
                              GAsyncReadyCallback callback,
                              gpointer            callback_data)
{
  g_autoptr(GTask) task = NULL;
  AskAsync *d;

  g_return_if_fail (model != NULL && image_path != NULL);
  task = async_task_new (model, image_path, cancellable, callback, callback_data,
                         mva_assistant_classify_async, &d);
  _mva_assistant_run_in_thread (task, "mva-classify", classify_thread);
}

GArray *
mva_assistant_classify_finish (GAsyncResult  *result,
                               GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
