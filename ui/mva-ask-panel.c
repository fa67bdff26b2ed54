/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-ask-panel.c: the Ask side panel (see mva-ask-panel.h).
 *
 * Threading: asking and classifying run on the assistant's worker threads
 * (mva_assistant_*_async), whose callbacks arrive in this main context.
 * Every callback holds a Job with a GWeakRef to the panel and the panel's
 * generation at the start: a callback for a panel that is gone, or for an
 * ask that was stopped or superseded, does nothing. Library writes that
 * hash a file run in a GTask thread.
 */
#include "config.h"

#define G_LOG_DOMAIN "mva-ask-panel"

#include <math.h>

#include <adwaita.h>
#include <glib/gi18n.h>

#include "mva-toast.h"
#include "mva-ask-panel.h"
#include "mva-measure.h"
#include "mva-window.h"

struct _MvaAskPanel
{
  GtkWidget        parent_instance;

  MvaWindow       *window;          /* weak: the panel lives inside it */
  MvaSession      *session;
  MvaHeatOverlay  *heat;

  GtkWidget       *scroller;
  GtkLabel        *model_label;
  GtkDropDown     *category_dropdown;
  GtkWidget       *ranking_box;     /* rows of the last classification */
  GtkExpander     *ranking_expander;
  GtkDropDown     *preset_dropdown;
  GtkTextView     *question_view;
  GtkWidget       *ask_button;
  GtkWidget       *stop_button;
  GtkSpinner      *spinner;
  GtkTextView     *answer_view;
  GtkLabel        *answer_info;
  GtkWidget       *metadata_row;    /* the scale from the instrument metadata */
  GtkLabel        *metadata_label;
  GtkSwitch       *overlay_switch;
  GtkScale        *opacity_scale;
  GtkLabel        *focus_label;
  GtkWidget       *whole_button;
  GtkWidget       *review_box;
  GtkWidget       *correct_box;
  GtkLabel        *review_label;

  guint            generation;      /* bumped by every ask, stop and new image */
  GCancellable    *ask_cancellable;
  GCancellable    *classify_cancellable;
  const char      *state;
  char            *answer_text;     /* the last complete answer (with the metadata scale) */
  char            *generated_text;  /* what the model generated: the answer box's text */
  GArray          *mean_map;        /* float: its whole-answer map (n_patches) */
  GArray          *offsets;         /* int: char offset where token i starts */
  GArray          *maps;            /* float: n_patches per streamed token */
  guint            n_patches;
  guint            grid;
  int              focus_token;     /* first token of the word shown, -1: whole answer */
  guint            focus_n;         /* its number of tokens */
  int              pinned_token;    /* word clicked (first token), -1 none */
  guint            pinned_n;
  gint64           qa_id;
  gint64           micrograph_id;
  char            *category;        /* NULL unknown */
  gboolean         setting_category;
  gboolean         correcting;
  gboolean         classifying;
  guint            overlay_timeout_id; /* throttles the map while streaming */
  GString         *pending;         /* streamed text not yet in the answer box */
  GString         *partial;         /* bytes of a character split across tokens */
  guint            flush_id;        /* idle that moves pending into the box */
  int              stream_chars;    /* characters streamed so far */
};

G_DEFINE_FINAL_TYPE (MvaAskPanel, mva_ask_panel, GTK_TYPE_WIDGET)

/* --- jobs ------------------------------------------------------------------------ */

typedef struct
{
  GWeakRef  panel;
  guint     generation;
  char     *path;
} Job;

static Job *
job_new (MvaAskPanel *self,
         const char  *path)
{
  Job *job = g_new0 (Job, 1);

  g_weak_ref_init (&job->panel, self);
  job->generation = self->generation;
  job->path = g_strdup (path);
  return job;
}

static void
job_free (Job *job)
{
  g_weak_ref_clear (&job->panel);
  g_free (job->path);
  g_free (job);
}

/* The panel, if it is alive and the job still current (caller unrefs). */
static MvaAskPanel *
job_get_panel (Job *job)
{
  MvaAskPanel *self = g_weak_ref_get (&job->panel);

  if (self != NULL && self->generation != job->generation)
    g_clear_object (&self);
  return self;
}

/* --- helpers ---------------------------------------------------------------------- */

static char *
current_path (MvaAskPanel *self)
{
  GFile *file;

  if (self->window == NULL || mva_window_get_image (self->window) == NULL)
    return NULL;
  file = mva_window_get_file (self->window);
  return file != NULL ? g_file_get_path (file) : NULL;
}

static guint
selected_family (MvaAskPanel *self)
{
  guint pos = gtk_drop_down_get_selected (self->preset_dropdown);

  return pos == GTK_INVALID_LIST_POSITION ? 0 : pos;
}

static char *
question_text (MvaAskPanel *self)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (self->question_view);
  GtkTextIter start, end;
  g_autofree char *text = NULL;

  gtk_text_buffer_get_bounds (buffer, &start, &end);
  text = gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
  return g_strdup (g_strstrip (text));
}

static void
update_actions (MvaAskPanel *self)
{
  gboolean asking = g_strcmp0 (self->state, "asking") == 0;
  gboolean have_image = self->window != NULL && mva_window_get_image (self->window) != NULL;
  gboolean have_model = self->session != NULL && mva_session_get_model (self->session) != NULL;
  gboolean reviewable = self->qa_id > 0 && !asking;

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "ask.ask", have_image && have_model && !asking);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "ask.stop", asking);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "ask.classify",
                                 have_image && have_model && !self->classifying);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "ask.accept", reviewable && !self->correcting);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "ask.correct", reviewable && !self->correcting);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "ask.reject", reviewable && !self->correcting);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "ask.save-correction", reviewable && self->correcting);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "ask.cancel-correction", self->correcting);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "ask.whole-answer", self->focus_token >= 0);
  gtk_widget_set_visible (self->ask_button, !asking);
  gtk_widget_set_visible (self->stop_button, asking);
  gtk_widget_set_visible (self->review_box, !self->correcting);
  gtk_widget_set_visible (self->correct_box, self->correcting);
  if (asking)
    gtk_spinner_start (self->spinner);
  else
    gtk_spinner_stop (self->spinner);
}

static void
set_state (MvaAskPanel *self,
           const char  *state)
{
  self->state = g_intern_static_string (state);
  update_actions (self);
}

static void
update_model_label (MvaAskPanel *self)
{
  const char *state = self->session != NULL ? mva_session_get_model_state (self->session) : "none";
  g_autofree char *text = NULL;
  g_autofree char *tooltip = NULL;

  if (g_str_equal (state, "ready"))
    {
      const char *note = mva_session_get_device_note (self->session);
      g_autofree char *pref = g_settings_get_string (mva_session_get_settings (self->session),
                                                     "device");
      const char *name = mva_assistant_model_get_name (mva_session_get_model (self->session));
      gboolean on_gpu = g_strcmp0 (mva_session_get_device (self->session), "cuda") == 0;

      /* CUDA asked for by name and not there: say so on the line and once as a toast */
      if (note != NULL && g_strcmp0 (pref, "cuda") == 0)
        {
          text = g_strdup_printf (_("Model: %s · CPU (CUDA is not available)"), name);
          if (gtk_widget_get_root (GTK_WIDGET (self)) != NULL)
            mva_widget_show_toast (GTK_WIDGET (self), note);
        }
      else
        text = g_strdup_printf (on_gpu ? _("Model: %s · GPU") : _("Model: %s · CPU"), name);
      tooltip = note != NULL ? g_strdup_printf ("%s\n%s", text, note) : NULL;
    }
  else if (g_str_equal (state, "loading"))
    text = g_strdup (_("Loading the model…"));
  else if (g_str_equal (state, "error"))
    text = g_strdup_printf (_("No model: %s"), mva_session_get_model_error (self->session));
  else
    text = g_strdup (_("No model loaded"));
  gtk_label_set_label (self->model_label, text);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->model_label), tooltip != NULL ? tooltip : text);
  update_actions (self);
}

/* Specimen geometry of the shown image in file pixels. */
static gboolean
image_geometry (MvaAskPanel *self,
                guint       *full_w,
                guint       *full_h,
                guint       *specimen_h)
{
  const MvaImage *image = self->window != NULL ? mva_window_get_image (self->window) : NULL;
  guint fw, fh, rows;

  if (image == NULL || image->height == 0)
    return FALSE;
  fw = image->full_width > 0 ? image->full_width : image->width;
  fh = image->full_height > 0 ? image->full_height : image->height;
  rows = MIN (image->databar_rows, image->height);
  *full_w = fw;
  *full_h = fh;
  /* databar_rows is in the loaded (maybe downscaled) rows: scale to the file */
  *specimen_h = (guint) ((double) fh * (image->height - rows) / image->height + 0.5);
  return TRUE;
}

static void
show_map (MvaAskPanel *self,
          const float *map)
{
  guint fw, fh, sh;

  if (self->heat == NULL)
    return;
  if (map == NULL || !gtk_switch_get_active (self->overlay_switch)
      || !image_geometry (self, &fw, &fh, &sh))
    {
      mva_heat_overlay_set_map (self->heat, NULL, 0, 0, 0, 0);
      return;
    }
  mva_heat_overlay_set_map (self->heat, map, self->grid, fw, fh, sh);
}

static const float *
token_map (MvaAskPanel *self,
           int          index)
{
  if (index < 0 || self->n_patches == 0 || (guint) index >= self->maps->len / self->n_patches)
    return NULL;
  return &g_array_index (self->maps, float, (gsize) index * self->n_patches);
}

static void
update_overlay (MvaAskPanel *self)
{
  if (self->focus_token >= 0)
    {
      /* a word: the mean of its tokens' maps */
      guint n = MAX (self->focus_n, 1);
      g_autofree float *mean = NULL;

      if (n == 1 || self->n_patches == 0)
        {
          show_map (self, token_map (self, self->focus_token));
          return;
        }
      mean = g_new0 (float, self->n_patches);
      for (guint t = 0; t < n; t++)
        {
          const float *m = token_map (self, self->focus_token + (int) t);

          for (guint p = 0; m != NULL && p < self->n_patches; p++)
            mean[p] += m[p] / n;
        }
      show_map (self, mean);
      return;
    }
  if (self->mean_map->len > 0)
    show_map (self, (const float *) self->mean_map->data);
  else if (self->n_patches > 0 && self->maps->len > 0)
    {
      /* while streaming: the mean of the tokens so far */
      guint n = self->maps->len / self->n_patches;
      g_autofree float *mean = g_new0 (float, self->n_patches);

      for (guint t = 0; t < n; t++)
        for (guint p = 0; p < self->n_patches; p++)
          mean[p] += g_array_index (self->maps, float, (gsize) t * self->n_patches + p) / n;
      show_map (self, mean);
    }
  else
    show_map (self, NULL);
}

/* Character range of tokens [index, index + n) in the answer box. */
static void
span_chars (MvaAskPanel *self,
            int          index,
            guint        n,
            int         *from,
            int         *to)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (self->answer_view);
  guint end = (guint) index + MAX (n, 1);

  *from = g_array_index (self->offsets, int, index);
  *to = end < self->offsets->len ? g_array_index (self->offsets, int, end)
                                 : gtk_text_buffer_get_char_count (buffer);
}

static void
update_focus (MvaAskPanel *self)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (self->answer_view);
  GtkTextIter start, end;

  gtk_text_buffer_get_bounds (buffer, &start, &end);
  gtk_text_buffer_remove_tag_by_name (buffer, "focus", &start, &end);
  if (self->focus_token >= 0 && (guint) self->focus_token < self->offsets->len)
    {
      g_autofree char *word = NULL;
      g_autofree char *text = NULL;
      int from, to;

      span_chars (self, self->focus_token, self->focus_n, &from, &to);
      gtk_text_buffer_get_iter_at_offset (buffer, &start, from);
      gtk_text_buffer_get_iter_at_offset (buffer, &end, to);
      gtk_text_buffer_apply_tag_by_name (buffer, "focus", &start, &end);
      word = g_strstrip (gtk_text_buffer_get_text (buffer, &start, &end, FALSE));
      text = g_strdup_printf (_("Where it looked for “%s”"), word);
      gtk_label_set_label (self->focus_label, text);
    }
  else
    gtk_label_set_label (self->focus_label,
                         self->offsets->len > 0 ? _("Where it looked for the whole answer") : "");
  update_overlay (self);
  update_actions (self);
}

static void
set_review_label (MvaAskPanel    *self,
                  MvaReviewState  state)
{
  const char *text = "";

  switch (state)
    {
    case MVA_REVIEW_ACCEPTED: text = _("Accepted"); break;
    case MVA_REVIEW_CORRECTED: text = _("Corrected"); break;
    case MVA_REVIEW_REJECTED: text = _("Rejected"); break;
    case MVA_REVIEW_NONE:
    default: text = self->qa_id > 0 ? _("Not reviewed yet") : ""; break;
    }
  gtk_label_set_label (self->review_label, text);
}

static void
clear_answer (MvaAskPanel *self)
{
  g_clear_handle_id (&self->overlay_timeout_id, g_source_remove);
  g_clear_handle_id (&self->flush_id, g_source_remove);
  g_string_truncate (self->pending, 0);
  g_string_truncate (self->partial, 0);
  self->stream_chars = 0;
  g_clear_pointer (&self->answer_text, g_free);
  g_clear_pointer (&self->generated_text, g_free);
  gtk_label_set_label (self->metadata_label, "");
  gtk_widget_set_visible (self->metadata_row, FALSE);
  g_array_set_size (self->mean_map, 0);
  g_array_set_size (self->offsets, 0);
  g_array_set_size (self->maps, 0);
  self->n_patches = 0;
  self->focus_token = -1;
  self->pinned_token = -1;
  self->qa_id = 0;
  self->correcting = FALSE;
  gtk_text_view_set_editable (self->answer_view, FALSE);
  gtk_text_buffer_set_text (gtk_text_view_get_buffer (self->answer_view), "", -1);
  gtk_label_set_label (self->answer_info, "");
  set_review_label (self, MVA_REVIEW_NONE);
  update_focus (self);
}

/* --- ask --------------------------------------------------------------------------- */

/* How often the map follows the streamed tokens. */
#define OVERLAY_STREAM_MS 150

static gboolean
overlay_timeout_cb (gpointer data)
{
  MvaAskPanel *self = data;

  self->overlay_timeout_id = 0;
  update_overlay (self);
  return G_SOURCE_REMOVE;
}

/* Tokens can arrive in bursts (a fast model, a busy main loop): each one
 * only appends to `pending`; the answer box takes the text in one insert
 * when the burst is over. */
static gboolean
flush_cb (gpointer data)
{
  MvaAskPanel *self = data;
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (self->answer_view);
  GtkTextIter end;

  self->flush_id = 0;
  gtk_text_buffer_get_end_iter (buffer, &end);
  gtk_text_buffer_insert (buffer, &end, self->pending->str, (int) self->pending->len);
  g_string_truncate (self->pending, 0);
  return G_SOURCE_REMOVE;
}

/* Byte-level tokens can split a character (µ, Å) over two tokens: keep an
 * incomplete trailing sequence until the next token completes it, and drop
 * bytes that can never be valid UTF-8. Main thread. */
static void
stream_piece (MvaAskPanel *self,
              const char  *piece)
{
  g_string_append (self->partial, piece);
  while (self->partial->len > 0)
    {
      const char *end = NULL;
      gboolean ok = g_utf8_validate_len (self->partial->str, self->partial->len, &end);
      gsize valid = (gsize) (end - self->partial->str);

      if (valid > 0)
        {
          self->stream_chars += (int) g_utf8_strlen (self->partial->str, (gssize) valid);
          g_string_append_len (self->pending, self->partial->str, (gssize) valid);
          g_string_erase (self->partial, 0, (gssize) valid);
        }
      if (ok || self->partial->len == 0)
        break;
      if (g_utf8_get_char_validated (self->partial->str, (gssize) self->partial->len) == (gunichar) -2)
        break; /* incomplete: the next token may finish it */
      g_string_erase (self->partial, 0, 1);
    }
}

static void
token_cb (guint        index,
          gint32       token,
          const char  *piece,
          const float *attention,
          guint        n_patches,
          gpointer     user_data)
{
  g_autoptr(MvaAskPanel) self = job_get_panel (user_data);

  if (self == NULL)
    return;
  g_array_append_val (self->offsets, self->stream_chars);
  if (attention != NULL && n_patches > 0 && (self->n_patches == 0 || self->n_patches == n_patches))
    {
      self->n_patches = n_patches;
      g_array_append_vals (self->maps, attention, n_patches);
    }
  if (piece != NULL)
    stream_piece (self, piece);
  if (self->flush_id == 0)
    self->flush_id = g_idle_add_full (G_PRIORITY_DEFAULT_IDLE, flush_cb, self, NULL);
  /* the running map a few times a second */
  if (self->overlay_timeout_id == 0)
    self->overlay_timeout_id = g_timeout_add (OVERLAY_STREAM_MS, overlay_timeout_cb, self);
}

typedef struct
{
  char      *path;
  MvaAnswer *answer;
} RecordData;

static void
record_data_free (RecordData *data)
{
  g_free (data->path);
  g_clear_pointer (&data->answer, mva_answer_free);
  g_free (data);
}

typedef struct
{
  gint64 micrograph_id;
  gint64 qa_id;
} RecordResult;

static void
record_thread (GTask        *task,
               gpointer      source_object,
               gpointer      task_data,
               GCancellable *cancellable)
{
  RecordData *data = task_data;
  MvaStore *store = g_object_get_data (G_OBJECT (task), "store");
  g_autoptr(GError) error = NULL;
  RecordResult *result = g_new0 (RecordResult, 1);

  result->micrograph_id = mva_store_add_micrograph_file (store, data->path, NULL,
                                                         MVA_CATEGORY_SOURCE_NONE, NULL, &error);
  /* a category the model predicted for the caption is kept for the image
   * (one the user set stays) before the pair takes the image's category */
  if (result->micrograph_id > 0 && data->answer->category_predicted && data->answer->category != NULL)
    {
      g_autoptr(MvaMicrograph) m = mva_store_get_micrograph (store, result->micrograph_id, NULL);

      if (m != NULL && m->category == NULL)
        mva_store_set_category (store, result->micrograph_id, data->answer->category,
                                MVA_CATEGORY_SOURCE_PREDICTION, NULL);
    }
  if (result->micrograph_id > 0)
    result->qa_id = mva_assistant_record_answer (store, result->micrograph_id, data->answer, &error);
  if (result->qa_id <= 0)
    {
      g_free (result);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  g_task_return_pointer (task, result, g_free);
}

static void
record_done_cb (GObject      *source,
                GAsyncResult *res,
                gpointer      user_data)
{
  Job *job = user_data;
  g_autoptr(MvaAskPanel) self = job_get_panel (job);
  g_autoptr(GError) error = NULL;
  g_autofree RecordResult *result = g_task_propagate_pointer (G_TASK (res), &error);

  if (self != NULL)
    {
      if (result == NULL)
        {
          g_autofree char *msg = g_strdup_printf (_("The answer could not be saved in the library: %s"),
                                                  error->message);
          mva_widget_show_toast (GTK_WIDGET (self), msg);
        }
      else
        {
          self->micrograph_id = result->micrograph_id;
          self->qa_id = result->qa_id;
          set_review_label (self, MVA_REVIEW_NONE);
          update_actions (self);
          mva_session_library_changed (self->session);
        }
    }
  job_free (job);
}

/* Takes answer: the worker records it while the panel goes on. */
static void
record_answer (MvaAskPanel *self,
               const char  *path,
               MvaAnswer   *answer)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GTask) task = NULL;
  MvaStore *store = mva_session_get_store (self->session, &error);
  RecordData *data;

  if (store == NULL)
    {
      g_autofree char *msg = g_strdup_printf (_("The library cannot be opened: %s"), error->message);
      mva_widget_show_toast (GTK_WIDGET (self), msg);
      mva_answer_free (answer);
      return;
    }
  data = g_new0 (RecordData, 1);
  data->path = g_strdup (path);
  data->answer = answer;
  task = g_task_new (NULL, NULL, record_done_cb, job_new (self, path));
  g_task_set_name (task, "[mva-ask-panel] record");
  g_object_set_data_full (G_OBJECT (task), "store", mva_store_ref (store),
                          (GDestroyNotify) mva_store_unref);
  g_task_set_task_data (task, data, (GDestroyNotify) record_data_free);
  g_task_run_in_thread (task, record_thread);
}

static void
ask_done_cb (GObject      *source,
             GAsyncResult *res,
             gpointer      user_data)
{
  Job *job = user_data;
  g_autoptr(MvaAskPanel) self = job_get_panel (job);
  g_autoptr(GError) error = NULL;
  g_autoptr(MvaAnswer) answer = mva_assistant_ask_finish (res, &error);

  if (self == NULL)
    {
      job_free (job);
      return;
    }
  g_clear_object (&self->ask_cancellable);
  if (answer == NULL)
    {
      /* keep what streamed in before the stop or the error */
      if (self->flush_id != 0)
        {
          g_clear_handle_id (&self->flush_id, g_source_remove);
          flush_cb (self);
        }
      if (g_error_matches (error, MVA_ASSISTANT_ERROR, MVA_ASSISTANT_ERROR_CANCELLED))
        {
          gtk_label_set_label (self->answer_info, _("Stopped"));
          set_state (self, "stopped");
        }
      else
        {
          g_autofree char *msg = g_strdup_printf (_("The model could not answer: %s"), error->message);

          gtk_label_set_label (self->answer_info, msg);
          mva_widget_show_toast (GTK_WIDGET (self), msg);
          set_state (self, "error");
        }
      job_free (job);
      return;
    }

  /* the final answer: the generated text and per-token offsets from its
   * pieces, so the words under the pointer map to the right token; a scale
   * from the instrument metadata, which replaces the model's scale sentence
   * in answer->answer, has no tokens and goes on its own line below */
  {
    GtkTextBuffer *buffer = gtk_text_view_get_buffer (self->answer_view);
    g_autoptr(GString) text = g_string_new (NULL);
    g_autofree char *info = NULL;
    const char *generated = answer->generated != NULL ? answer->generated : answer->answer;

    g_array_set_size (self->offsets, 0);
    for (guint i = 0; i < answer->n_tokens && answer->pieces != NULL && answer->pieces[i] != NULL; i++)
      {
        int offset = (int) g_utf8_strlen (text->str, text->len);

        g_array_append_val (self->offsets, offset);
        g_string_append (text, answer->pieces[i]);
      }
    if (g_strcmp0 (text->str, generated) != 0)
      {
        /* pieces do not rebuild the text (should not happen): no word maps */
        g_array_set_size (self->offsets, 0);
        g_string_assign (text, generated);
      }
    gtk_text_buffer_set_text (buffer, text->str, -1);
    g_free (self->generated_text);
    self->generated_text = g_strdup (text->str);
    if (g_strcmp0 (text->str, generated) == 0)
      {
        /* the model's sentences the metadata or the measurement replaced:
         * struck through (what replaced them is listed below) */
        g_autoptr(GArray) gone = mva_answer_superseded_ranges (answer);

        for (guint k = 0; k + 1 < gone->len; k += 2)
          {
            GtkTextIter a, b;
            gsize from = g_array_index (gone, gsize, k), to = g_array_index (gone, gsize, k + 1);

            gtk_text_buffer_get_iter_at_offset (buffer, &a, (int) g_utf8_pointer_to_offset (text->str, text->str + from));
            gtk_text_buffer_get_iter_at_offset (buffer, &b, (int) g_utf8_pointer_to_offset (text->str, text->str + to));
            gtk_text_buffer_apply_tag_by_name (buffer, "superseded", &a, &b);
          }
      }
    {
      /* what the file says (or that it says nothing) about the scale and
       * the instrument's settings, under the model's text */
      g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);

      if (answer->scale_from_metadata && isfinite (answer->pixel_size_nm))
        {
          g_autofree char *px = mva_assistant_format_length (answer->pixel_size_nm);

          if (isfinite (answer->field_of_view_um))
            {
              g_autofree char *fov = mva_assistant_format_length (answer->field_of_view_um * 1000.0);

              /* Translators: the scale read from the microscope's own metadata,
               * e.g. "7.37 nm" per pixel, field of view "1.89 µm" */
              g_ptr_array_add (lines, g_strdup_printf (_("Scale from the instrument metadata: %s per pixel, field of view %s"),
                                                       px, fov));
            }
          else
            g_ptr_array_add (lines, g_strdup_printf (_("Scale from the instrument metadata: %s per pixel"), px));
        }
      else if (answer->scale_asked)
        g_ptr_array_add (lines, g_strdup (_("The file carries no pixel size: a scale in the answer is the model's guess")));
      if (answer->instrument_from_metadata && answer->instrument_settings != NULL)
        /* Translators: e.g. "FEI Quanta FEG, detector ETD Custom, 10 kV, working distance 10.5 mm" */
        g_ptr_array_add (lines, g_strdup_printf (_("Instrument settings from the metadata: %s"),
                                                 answer->instrument_settings));
      else if (answer->instrument_asked)
        g_ptr_array_add (lines, g_strdup (_("The file carries no instrument settings: any in the answer are the model's guess")));
      if (answer->size_measured)
        {
          g_autofree char *len = isfinite (answer->size_nm) ? mva_assistant_format_length (answer->size_nm)
                                                            : g_strdup_printf (_("%.0f px"), answer->size_px);

          const char *what = mva_measure_what (answer->size_category);

          /* Translators: e.g. "Measured on the image: typical particle diameter about 48 nm" */
          g_ptr_array_add (lines, g_strdup_printf (_("Measured on the image: typical %s about %s"),
                                                   what != NULL ? what : _("size"), len));
        }
      if (lines->len > 0)
        {
          g_autofree char *all = NULL;

          g_ptr_array_add (lines, NULL);
          all = g_strjoinv ("\n", (char **) lines->pdata);
          gtk_label_set_label (self->metadata_label, all);
          gtk_widget_set_visible (self->metadata_row, TRUE);
        }
    }
    g_array_set_size (self->maps, 0);
    self->grid = answer->grid;
    self->n_patches = answer->n_patches;
    if (answer->attention != NULL && answer->n_patches > 0)
      g_array_append_vals (self->maps, answer->attention, answer->n_tokens * answer->n_patches);
    if (answer->mean_attention != NULL && answer->n_patches > 0)
      g_array_append_vals (self->mean_map, answer->mean_attention, answer->n_patches);
    info = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u token in %.0f ms (first after %.0f ms) · %s",
                                         "%u tokens in %.0f ms (first after %.0f ms) · %s",
                                         answer->n_tokens),
                            answer->n_tokens, answer->ms, answer->first_token_ms, answer->model_name);
    gtk_label_set_label (self->answer_info, info);
  }
  self->answer_text = g_strdup (answer->answer);
  /* the caption used the model's best category: show it (the next question
   * uses it as it is, and the user can change it) */
  if (answer->category_predicted && answer->category != NULL && self->category == NULL)
    mva_ask_panel_set_category (self, answer->category);
  g_clear_handle_id (&self->overlay_timeout_id, g_source_remove);
  g_clear_handle_id (&self->flush_id, g_source_remove);
  g_string_truncate (self->pending, 0);
  g_string_truncate (self->partial, 0);
  set_state (self, "answered");
  update_focus (self);
  record_answer (self, job->path, g_steal_pointer (&answer));
  job_free (job);
}

static void
ask_action (GtkWidget  *widget,
            const char *action_name,
            GVariant   *parameter)
{
  MvaAskPanel *self = MVA_ASK_PANEL (widget);
  MvaAssistantModel *model = self->session != NULL ? mva_session_get_model (self->session) : NULL;
  g_autofree char *path = current_path (self);
  g_autofree char *question = question_text (self);
  guint family = selected_family (self);
  MvaAskRequest request = { 0 };
  Job *job;

  if (path == NULL)
    {
      mva_widget_show_toast (GTK_WIDGET (self), _("Open a micrograph first"));
      return;
    }
  if (model == NULL)
    {
      mva_widget_show_toast (GTK_WIDGET (self), _("No model is loaded"));
      return;
    }
  if (family == 0 && question[0] == '\0')
    {
      mva_widget_show_toast (GTK_WIDGET (self), _("Type a question or choose a preset"));
      return;
    }

  if (self->ask_cancellable != NULL)
    g_cancellable_cancel (self->ask_cancellable);
  g_clear_object (&self->ask_cancellable);
  self->generation++;
  clear_answer (self);
  self->grid = mva_assistant_model_get_grid (model);

  request.family = family;
  /* the preset's own wording is sent as the family's question */
  if (family > 0 && g_strcmp0 (question, mva_assistant_family_question (family)) == 0)
    request.question = NULL;
  else
    request.question = question;
  request.category = self->category;

  self->ask_cancellable = g_cancellable_new ();
  job = job_new (self, path);
  /* room for the answer */
  gtk_expander_set_expanded (self->ranking_expander, FALSE);
  set_state (self, "asking");
  gtk_label_set_label (self->answer_info, _("Thinking…"));
  mva_assistant_ask_async (model, path, &request, token_cb, job, self->ask_cancellable,
                           ask_done_cb, job);
}

static void
stop_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  MvaAskPanel *self = MVA_ASK_PANEL (widget);

  /* the ready callback still comes (cancelled) and resets the buttons */
  if (self->ask_cancellable != NULL)
    g_cancellable_cancel (self->ask_cancellable);
}

/* --- classify ------------------------------------------------------------------------ */

static void
category_store_thread (GTask        *task,
                       gpointer      source_object,
                       gpointer      task_data,
                       GCancellable *cancellable)
{
  const char *path = g_object_get_data (G_OBJECT (task), "path");
  const char *category = task_data;
  MvaStore *store = g_object_get_data (G_OBJECT (task), "store");
  MvaCategorySource source = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (task), "source"));
  g_autoptr(GError) error = NULL;
  gint64 id;

  id = mva_store_add_micrograph_file (store, path, NULL, MVA_CATEGORY_SOURCE_NONE, NULL, &error);
  if (id <= 0 || !mva_store_set_category (store, id, category, source, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  g_task_return_boolean (task, TRUE);
}

static void
category_stored_cb (GObject      *source,
                    GAsyncResult *res,
                    gpointer      user_data)
{
  Job *job = user_data;
  g_autoptr(MvaAskPanel) self = job_get_panel (job);
  g_autoptr(GError) error = NULL;

  if (!g_task_propagate_boolean (G_TASK (res), &error) && self != NULL)
    {
      g_autofree char *msg = g_strdup_printf (_("The category could not be saved: %s"), error->message);
      mva_widget_show_toast (GTK_WIDGET (self), msg);
    }
  else if (self != NULL)
    mva_session_library_changed (self->session);
  job_free (job);
}

/* Remember the image's category in the library (worker: hashing the file). */
static void
store_category (MvaAskPanel       *self,
                MvaCategorySource  source)
{
  g_autofree char *path = current_path (self);
  MvaStore *store = self->session != NULL ? mva_session_get_store (self->session, NULL) : NULL;
  g_autoptr(GTask) task = NULL;

  if (path == NULL || store == NULL)
    return;
  task = g_task_new (NULL, NULL, category_stored_cb, job_new (self, path));
  g_task_set_name (task, "[mva-ask-panel] category");
  g_object_set_data_full (G_OBJECT (task), "store", mva_store_ref (store),
                          (GDestroyNotify) mva_store_unref);
  g_object_set_data_full (G_OBJECT (task), "path", g_steal_pointer (&path), g_free);
  g_object_set_data (G_OBJECT (task), "source", GINT_TO_POINTER (source));
  g_task_set_task_data (task, g_strdup (self->category), g_free);
  g_task_run_in_thread (task, category_store_thread);
}

static void
ranking_row_activated_cb (MvaAskPanel   *self,
                          GtkListBoxRow *row)
{
  const char *category = g_object_get_data (G_OBJECT (row), "category");

  mva_ask_panel_set_category (self, category);
  store_category (self, MVA_CATEGORY_SOURCE_USER);
}

static void
show_ranking (MvaAskPanel *self,
              GArray      *ranking)
{
  GtkWidget *list = gtk_list_box_new ();
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (self->ranking_box)) != NULL)
    gtk_box_remove (GTK_BOX (self->ranking_box), child);
  if (ranking == NULL)
    {
      gtk_widget_set_visible (GTK_WIDGET (self->ranking_expander), FALSE);
      return;
    }

  gtk_list_box_set_selection_mode (GTK_LIST_BOX (list), GTK_SELECTION_NONE);
  gtk_widget_add_css_class (list, "boxed-list");
  gtk_widget_set_name (list, "ranking");
  g_signal_connect_swapped (list, "row-activated", G_CALLBACK (ranking_row_activated_cb), self);
  for (guint i = 0; i < ranking->len; i++)
    {
      const MvaCategoryScore *s = &g_array_index (ranking, MvaCategoryScore, i);
      GtkWidget *row = gtk_list_box_row_new ();
      GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 8);
      GtkWidget *name = gtk_label_new (s->category);
      GtkWidget *bar = gtk_level_bar_new_for_interval (0.0, 1.0);
      g_autofree char *pct = g_strdup_printf ("%.1f %%", s->score * 100.0);
      GtkWidget *value = gtk_label_new (pct);

      gtk_label_set_xalign (GTK_LABEL (name), 0.0);
      gtk_label_set_width_chars (GTK_LABEL (name), 10);
      gtk_level_bar_set_value (GTK_LEVEL_BAR (bar), CLAMP (s->score, 0.0, 1.0));
      gtk_level_bar_remove_offset_value (GTK_LEVEL_BAR (bar), GTK_LEVEL_BAR_OFFSET_LOW);
      gtk_level_bar_remove_offset_value (GTK_LEVEL_BAR (bar), GTK_LEVEL_BAR_OFFSET_HIGH);
      gtk_level_bar_remove_offset_value (GTK_LEVEL_BAR (bar), GTK_LEVEL_BAR_OFFSET_FULL);
      gtk_widget_set_hexpand (bar, TRUE);
      gtk_widget_set_valign (bar, GTK_ALIGN_CENTER);
      gtk_label_set_width_chars (GTK_LABEL (value), 7);
      gtk_label_set_xalign (GTK_LABEL (value), 1.0);
      gtk_widget_add_css_class (value, "numeric");
      gtk_widget_add_css_class (value, "dim-label");
      gtk_box_append (GTK_BOX (box), name);
      gtk_box_append (GTK_BOX (box), bar);
      gtk_box_append (GTK_BOX (box), value);
      gtk_widget_set_margin_start (box, 8);
      gtk_widget_set_margin_end (box, 8);
      gtk_widget_set_margin_top (box, 4);
      gtk_widget_set_margin_bottom (box, 4);
      gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), box);
      gtk_widget_set_tooltip_text (row, _("Use this category in the question's caption"));
      g_object_set_data_full (G_OBJECT (row), "category", g_strdup (s->category), g_free);
      gtk_list_box_append (GTK_LIST_BOX (list), row);
    }
  gtk_box_append (GTK_BOX (self->ranking_box), list);
  if (ranking->len > 0)
    {
      const MvaCategoryScore *best = &g_array_index (ranking, MvaCategoryScore, 0);
      g_autofree char *label = g_strdup_printf (_("Classified: %s (%.0f %%)"), best->category,
                                                best->score * 100.0);

      gtk_expander_set_label (self->ranking_expander, label);
    }
  gtk_expander_set_expanded (self->ranking_expander, TRUE);
  gtk_widget_set_visible (GTK_WIDGET (self->ranking_expander), TRUE);
}

static void
classify_done_cb (GObject      *source,
                  GAsyncResult *res,
                  gpointer      user_data)
{
  Job *job = user_data;
  g_autoptr(MvaAskPanel) self = job_get_panel (job);
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) ranking = mva_assistant_classify_finish (res, &error);

  if (self != NULL)
    {
      self->classifying = FALSE;
      g_clear_object (&self->classify_cancellable);
      if (ranking == NULL)
        {
          if (!g_error_matches (error, MVA_ASSISTANT_ERROR, MVA_ASSISTANT_ERROR_CANCELLED))
            {
              g_autofree char *msg = g_strdup_printf (_("Classification failed: %s"), error->message);
              mva_widget_show_toast (GTK_WIDGET (self), msg);
            }
        }
      else
        {
          show_ranking (self, ranking);
          /* a category the user set stays; else the prediction is used */
          if (self->category == NULL && ranking->len > 0)
            {
              mva_ask_panel_set_category (self, g_array_index (ranking, MvaCategoryScore, 0).category);
              store_category (self, MVA_CATEGORY_SOURCE_PREDICTION);
            }
        }
      update_actions (self);
    }
  job_free (job);
}

static void
classify_action (GtkWidget  *widget,
                 const char *action_name,
                 GVariant   *parameter)
{
  MvaAskPanel *self = MVA_ASK_PANEL (widget);
  MvaAssistantModel *model = self->session != NULL ? mva_session_get_model (self->session) : NULL;
  g_autofree char *path = current_path (self);
  Job *job;

  if (path == NULL || model == NULL)
    {
      mva_widget_show_toast (GTK_WIDGET (self), path == NULL ? _("Open a micrograph first") : _("No model is loaded"));
      return;
    }
  self->classifying = TRUE;
  self->classify_cancellable = g_cancellable_new ();
  job = job_new (self, path);
  update_actions (self);
  mva_assistant_classify_async (model, path, self->classify_cancellable, classify_done_cb, job);
}

/* --- review ------------------------------------------------------------------------- */

static void
review (MvaAskPanel    *self,
        MvaReviewState  state,
        const char     *corrected)
{
  g_autoptr(GError) error = NULL;
  MvaStore *store = mva_session_get_store (self->session, &error);

  if (store == NULL || mva_store_add_review (store, self->qa_id, state, corrected,
                                             g_get_user_name (), &error) <= 0)
    {
      g_autofree char *msg = g_strdup_printf (_("The review could not be saved: %s"), error->message);
      mva_widget_show_toast (GTK_WIDGET (self), msg);
      return;
    }
  set_review_label (self, state);
  mva_session_library_changed (self->session);
}

static void
accept_action (GtkWidget *widget, const char *name, GVariant *param)
{
  review (MVA_ASK_PANEL (widget), MVA_REVIEW_ACCEPTED, NULL);
}

static void
reject_action (GtkWidget *widget, const char *name, GVariant *param)
{
  review (MVA_ASK_PANEL (widget), MVA_REVIEW_REJECTED, NULL);
}

static void
correct_action (GtkWidget *widget, const char *name, GVariant *param)
{
  MvaAskPanel *self = MVA_ASK_PANEL (widget);

  self->correcting = TRUE;
  self->focus_token = -1;
  gtk_text_view_set_editable (self->answer_view, TRUE);
  gtk_widget_add_css_class (GTK_WIDGET (self->answer_view), "mva-editing");
  gtk_widget_grab_focus (GTK_WIDGET (self->answer_view));
  update_focus (self);
}

static void
end_correcting (MvaAskPanel *self)
{
  self->correcting = FALSE;
  gtk_text_view_set_editable (self->answer_view, FALSE);
  gtk_widget_remove_css_class (GTK_WIDGET (self->answer_view), "mva-editing");
  update_actions (self);
}

static void
save_correction_action (GtkWidget *widget, const char *name, GVariant *param)
{
  MvaAskPanel *self = MVA_ASK_PANEL (widget);
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (self->answer_view);
  GtkTextIter start, end;
  g_autofree char *text = NULL;

  gtk_text_buffer_get_bounds (buffer, &start, &end);
  text = g_strstrip (gtk_text_buffer_get_text (buffer, &start, &end, FALSE));
  if (text[0] == '\0')
    {
      mva_widget_show_toast (GTK_WIDGET (self), _("A correction cannot be empty; use Reject instead"));
      return;
    }
  /* edited text no longer lines up with the model's tokens */
  g_array_set_size (self->offsets, 0);
  end_correcting (self);
  review (self, MVA_REVIEW_CORRECTED, text);
  update_focus (self);
}

static void
cancel_correction_action (GtkWidget *widget, const char *name, GVariant *param)
{
  MvaAskPanel *self = MVA_ASK_PANEL (widget);

  if (self->generated_text != NULL)
    gtk_text_buffer_set_text (gtk_text_view_get_buffer (self->answer_view), self->generated_text, -1);
  end_correcting (self);
}

static void
undo_review_action (GtkWidget *widget, const char *name, GVariant *param)
{
  MvaAskPanel *self = MVA_ASK_PANEL (widget);
  g_autoptr(GError) error = NULL;
  MvaStore *store = self->session != NULL ? mva_session_get_store (self->session, &error) : NULL;
  gint64 qa_id = 0;

  if (store == NULL || !mva_store_undo_review (store, 0, &qa_id, &error))
    {
      if (g_error_matches (error, MVA_STORE_ERROR, MVA_STORE_ERROR_NOT_FOUND))
        mva_widget_show_toast (GTK_WIDGET (self), _("There is no review to undo"));
      else
        {
          g_autofree char *msg = g_strdup_printf (_("The review could not be undone: %s"),
                                                  error != NULL ? error->message : "");
          mva_widget_show_toast (GTK_WIDGET (self), msg);
        }
      return;
    }
  if (qa_id == self->qa_id && qa_id > 0)
    {
      g_autoptr(MvaQaPair) qa = mva_store_get_qa (store, qa_id, NULL);

      set_review_label (self, qa != NULL ? qa->review_state : MVA_REVIEW_NONE);
      if (qa != NULL && qa->review_state != MVA_REVIEW_CORRECTED && self->generated_text != NULL)
        gtk_text_buffer_set_text (gtk_text_view_get_buffer (self->answer_view), self->generated_text, -1);
    }
  mva_widget_show_toast (GTK_WIDGET (self), _("Review undone"));
  mva_session_library_changed (self->session);
}

static void
toggle_overlay_action (GtkWidget *widget, const char *name, GVariant *param)
{
  MvaAskPanel *self = MVA_ASK_PANEL (widget);

  gtk_switch_set_active (self->overlay_switch, !gtk_switch_get_active (self->overlay_switch));
}

static void
whole_answer_action (GtkWidget *widget, const char *name, GVariant *param)
{
  mva_ask_panel_focus_token (MVA_ASK_PANEL (widget), -1);
}

/* --- pointing at words -------------------------------------------------------------- */

/* The token holding character offset (the last one starting at or before it). */
static int
token_of_char (MvaAskPanel *self,
               int          offset)
{
  int lo = 0, hi = (int) self->offsets->len - 1;

  while (lo < hi)
    {
      int mid = (lo + hi + 1) / 2;

      if (g_array_index (self->offsets, int, mid) <= offset)
        lo = mid;
      else
        hi = mid - 1;
    }
  return lo;
}

/* The word under (x, y) as tokens [first, first + *n): a word the tokenizer
 * split into pieces counts as one; outside words, the single token there. */
static int
word_at (MvaAskPanel *self,
         double       x,
         double       y,
         guint       *n)
{
  GtkTextIter iter, start, end;
  int bx, by, first, last;

  if (self->offsets->len == 0 || self->correcting || g_strcmp0 (self->state, "asking") == 0)
    return -1;
  gtk_text_view_window_to_buffer_coords (self->answer_view, GTK_TEXT_WINDOW_WIDGET,
                                         (int) x, (int) y, &bx, &by);
  if (!gtk_text_view_get_iter_at_location (self->answer_view, &iter, bx, by))
    return -1;
  first = last = token_of_char (self, gtk_text_iter_get_offset (&iter));
  if (gtk_text_iter_inside_word (&iter) || gtk_text_iter_starts_word (&iter))
    {
      start = end = iter;
      if (!gtk_text_iter_starts_word (&start))
        gtk_text_iter_backward_word_start (&start);
      gtk_text_iter_forward_word_end (&end);
      first = token_of_char (self, gtk_text_iter_get_offset (&start));
      last = token_of_char (self, MAX (gtk_text_iter_get_offset (&end) - 1, 0));
      last = MAX (last, first);
    }
  *n = (guint) (last - first + 1);
  return first;
}

static void
answer_motion_cb (GtkEventControllerMotion *motion,
                  double                    x,
                  double                    y,
                  MvaAskPanel              *self)
{
  guint n = 1;
  int index = word_at (self, x, y, &n);

  if (index < 0)
    {
      index = self->pinned_token;
      n = self->pinned_n;
    }
  if (index != self->focus_token || n != self->focus_n)
    {
      self->focus_token = index;
      self->focus_n = n;
      update_focus (self);
    }
}

static void
answer_leave_cb (GtkEventControllerMotion *motion,
                 MvaAskPanel              *self)
{
  if (self->focus_token != self->pinned_token || self->focus_n != self->pinned_n)
    {
      self->focus_token = self->pinned_token;
      self->focus_n = self->pinned_n;
      update_focus (self);
    }
}

static void
answer_pressed_cb (GtkGestureClick *gesture,
                   int              n_press,
                   double           x,
                   double           y,
                   MvaAskPanel     *self)
{
  guint n = 1;
  int index = word_at (self, x, y, &n);

  if (index < 0)
    return;
  /* a click keeps the word; a second click on it lets go */
  self->pinned_token = index == self->pinned_token ? -1 : index;
  self->pinned_n = self->pinned_token >= 0 ? n : 0;
  self->focus_token = index;
  self->focus_n = n;
  update_focus (self);
}

/* --- controls ------------------------------------------------------------------------ */

static void
preset_changed_cb (MvaAskPanel *self)
{
  guint family = selected_family (self);

  if (family > 0)
    mva_ask_panel_set_question (self, mva_assistant_family_question (family));
}

static void
category_changed_cb (MvaAskPanel *self)
{
  guint pos = gtk_drop_down_get_selected (self->category_dropdown);

  if (self->setting_category)
    return;
  g_clear_pointer (&self->category, g_free);
  if (pos != GTK_INVALID_LIST_POSITION && pos > 0)
    self->category = g_strdup (mva_assistant_category_name (pos - 1));
  store_category (self, self->category != NULL ? MVA_CATEGORY_SOURCE_USER : MVA_CATEGORY_SOURCE_NONE);
}

static void
overlay_settings_changed_cb (MvaAskPanel *self)
{
  if (self->heat != NULL)
    mva_heat_overlay_set_opacity (self->heat, gtk_range_get_value (GTK_RANGE (self->opacity_scale)));
  update_overlay (self);
}

/* After a new image: forget the answer; look its category up in the library. */
typedef struct
{
  char    *category;
  gint64   id;
} LookupResult;

static void
lookup_result_free (LookupResult *r)
{
  g_free (r->category);
  g_free (r);
}

static void
lookup_thread (GTask        *task,
               gpointer      source_object,
               gpointer      task_data,
               GCancellable *cancellable)
{
  MvaStore *store = g_object_get_data (G_OBJECT (task), "store");
  g_autoptr(GError) error = NULL;
  g_autofree char *sha = mva_store_hash_file (task_data, cancellable, &error);
  g_autoptr(MvaMicrograph) m = sha != NULL ? mva_store_find_micrograph (store, sha, &error) : NULL;
  LookupResult *r = g_new0 (LookupResult, 1);

  if (m != NULL)
    {
      r->category = g_strdup (m->category);
      r->id = m->id;
    }
  g_task_return_pointer (task, r, (GDestroyNotify) lookup_result_free);
}

static void
lookup_done_cb (GObject      *source,
                GAsyncResult *res,
                gpointer      user_data)
{
  Job *job = user_data;
  g_autoptr(MvaAskPanel) self = job_get_panel (job);
  LookupResult *r = g_task_propagate_pointer (G_TASK (res), NULL);

  if (self != NULL && r != NULL)
    {
      self->micrograph_id = r->id;
      if (r->category != NULL && self->category == NULL)
        mva_ask_panel_set_category (self, r->category);
    }
  g_clear_pointer (&r, lookup_result_free);
  job_free (job);
}

static void
window_state_cb (MvaAskPanel *self)
{
  const char *state = mva_window_get_state (self->window);
  g_autofree char *path = NULL;
  MvaStore *store;

  if (g_strcmp0 (state, "loading") == 0)
    return;
  if (self->ask_cancellable != NULL)
    g_cancellable_cancel (self->ask_cancellable);
  if (self->classify_cancellable != NULL)
    g_cancellable_cancel (self->classify_cancellable);
  self->generation++;
  g_clear_object (&self->ask_cancellable);
  g_clear_object (&self->classify_cancellable);
  self->classifying = FALSE;
  self->micrograph_id = 0;
  clear_answer (self);
  show_ranking (self, NULL);
  mva_ask_panel_set_category (self, NULL);
  set_state (self, "idle");

  path = current_path (self);
  store = path != NULL ? mva_session_get_store (self->session, NULL) : NULL;
  if (store != NULL)
    {
      g_autoptr(GTask) task = g_task_new (NULL, NULL, lookup_done_cb, job_new (self, path));

      g_task_set_name (task, "[mva-ask-panel] lookup");
      g_object_set_data_full (G_OBJECT (task), "store", mva_store_ref (store),
                              (GDestroyNotify) mva_store_unref);
      g_task_set_task_data (task, g_steal_pointer (&path), g_free);
      g_task_run_in_thread (task, lookup_thread);
    }
}

/* --- construction ------------------------------------------------------------------- */

static GtkWidget *
heading (const char *text)
{
  GtkWidget *label = gtk_label_new (text);

  gtk_label_set_xalign (GTK_LABEL (label), 0.0);
  gtk_widget_add_css_class (label, "heading");
  gtk_widget_set_margin_top (label, 6);
  return label;
}

static GtkWidget *
action_button (const char *label,
               const char *action,
               const char *tooltip)
{
  GtkWidget *button = gtk_button_new_with_mnemonic (label);

  gtk_actionable_set_action_name (GTK_ACTIONABLE (button), action);
  if (tooltip != NULL)
    gtk_widget_set_tooltip_text (button, tooltip);
  return button;
}

static void
build (MvaAskPanel *self)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 8);
  GtkWidget *row, *frame, *label, *button;
  GtkStringList *categories = gtk_string_list_new (NULL);
  GtkStringList *presets = gtk_string_list_new (NULL);
  GtkTextBuffer *buffer;
  GtkEventController *motion;
  GtkGesture *click;

  gtk_widget_set_margin_start (box, 12);
  gtk_widget_set_margin_end (box, 12);
  gtk_widget_set_margin_top (box, 8);
  gtk_widget_set_margin_bottom (box, 12);

  /* model */
  self->model_label = GTK_LABEL (gtk_label_new (""));
  gtk_widget_set_name (GTK_WIDGET (self->model_label), "model-label");
  gtk_label_set_xalign (self->model_label, 0.0);
  gtk_label_set_ellipsize (self->model_label, PANGO_ELLIPSIZE_END);
  gtk_widget_add_css_class (GTK_WIDGET (self->model_label), "dim-label");
  gtk_widget_add_css_class (GTK_WIDGET (self->model_label), "caption");
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->model_label));

  /* category */
  gtk_box_append (GTK_BOX (box), heading (_("Category")));
  gtk_string_list_append (categories, _("Unknown"));
  for (guint i = 0; i < MVA_ASSISTANT_N_CATEGORIES; i++)
    gtk_string_list_append (categories, mva_assistant_category_name (i));
  row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  self->category_dropdown = GTK_DROP_DOWN (gtk_drop_down_new (G_LIST_MODEL (categories), NULL));
  gtk_widget_set_hexpand (GTK_WIDGET (self->category_dropdown), TRUE);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->category_dropdown),
                               _("The image's category; the question's caption names it"));
  g_signal_connect_swapped (self->category_dropdown, "notify::selected",
                            G_CALLBACK (category_changed_cb), self);
  gtk_box_append (GTK_BOX (row), GTK_WIDGET (self->category_dropdown));
  button = action_button (_("C_lassify"), "ask.classify", _("Rank the 10 categories (Ctrl+K)"));
  gtk_box_append (GTK_BOX (row), button);
  gtk_box_append (GTK_BOX (box), row);
  self->ranking_box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  gtk_widget_set_margin_top (self->ranking_box, 6);
  self->ranking_expander = GTK_EXPANDER (gtk_expander_new (NULL));
  gtk_expander_set_child (self->ranking_expander, self->ranking_box);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->ranking_expander),
                               _("The 10 categories ranked by the model; click one to use it"));
  gtk_widget_set_visible (GTK_WIDGET (self->ranking_expander), FALSE);
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->ranking_expander));

  /* question */
  gtk_box_append (GTK_BOX (box), heading (_("Question")));
  gtk_string_list_append (presets, _("Free question"));
  for (guint f = 1; f <= MVA_ASSISTANT_N_FAMILIES; f++)
    {
      g_autofree char *item = g_strdup_printf ("%u · %s", f, mva_assistant_family_label (f));

      gtk_string_list_append (presets, item);
    }
  self->preset_dropdown = GTK_DROP_DOWN (gtk_drop_down_new (G_LIST_MODEL (presets), NULL));
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->preset_dropdown), _("The 10 question families"));
  g_signal_connect_swapped (self->preset_dropdown, "notify::selected",
                            G_CALLBACK (preset_changed_cb), self);
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->preset_dropdown));
  self->question_view = GTK_TEXT_VIEW (gtk_text_view_new ());
  gtk_text_view_set_wrap_mode (self->question_view, GTK_WRAP_WORD_CHAR);
  gtk_text_view_set_accepts_tab (self->question_view, FALSE);
  gtk_text_view_set_top_margin (self->question_view, 6);
  gtk_text_view_set_bottom_margin (self->question_view, 6);
  gtk_text_view_set_left_margin (self->question_view, 6);
  gtk_text_view_set_right_margin (self->question_view, 6);
  gtk_widget_set_size_request (GTK_WIDGET (self->question_view), -1, 56);
  frame = gtk_frame_new (NULL);
  gtk_frame_set_child (GTK_FRAME (frame), GTK_WIDGET (self->question_view));
  gtk_box_append (GTK_BOX (box), frame);

  row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  self->ask_button = action_button (_("_Ask"), "ask.ask", _("Ask the model (Ctrl+Enter)"));
  gtk_widget_add_css_class (self->ask_button, "suggested-action");
  gtk_widget_set_hexpand (self->ask_button, TRUE);
  self->stop_button = action_button (_("_Stop"), "ask.stop", _("Stop the answer (Escape)"));
  gtk_widget_add_css_class (self->stop_button, "destructive-action");
  gtk_widget_set_hexpand (self->stop_button, TRUE);
  self->spinner = GTK_SPINNER (gtk_spinner_new ());
  gtk_box_append (GTK_BOX (row), self->ask_button);
  gtk_box_append (GTK_BOX (row), self->stop_button);
  gtk_box_append (GTK_BOX (row), GTK_WIDGET (self->spinner));
  gtk_box_append (GTK_BOX (box), row);

  /* answer */
  gtk_box_append (GTK_BOX (box), heading (_("Answer")));
  self->answer_view = GTK_TEXT_VIEW (gtk_text_view_new ());
  gtk_widget_set_name (GTK_WIDGET (self->answer_view), "answer");
  gtk_text_view_set_editable (self->answer_view, FALSE);
  gtk_text_view_set_cursor_visible (self->answer_view, FALSE);
  gtk_text_view_set_wrap_mode (self->answer_view, GTK_WRAP_WORD_CHAR);
  gtk_text_view_set_top_margin (self->answer_view, 8);
  gtk_text_view_set_bottom_margin (self->answer_view, 8);
  gtk_text_view_set_left_margin (self->answer_view, 8);
  gtk_text_view_set_right_margin (self->answer_view, 8);
  gtk_widget_set_size_request (GTK_WIDGET (self->answer_view), -1, 96);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->answer_view),
                               _("Point at a word to see where the model looked for it; click to keep it"));
  buffer = gtk_text_view_get_buffer (self->answer_view);
  gtk_text_buffer_create_tag (buffer, "focus", "background", "rgba(246,211,45,0.45)", NULL);
  /* the model's guesses that the metadata or a measurement replaced */
  gtk_text_buffer_create_tag (buffer, "superseded", "strikethrough", TRUE,
                              "foreground", "rgba(128,128,128,0.9)", NULL);
  motion = gtk_event_controller_motion_new ();
  gtk_event_controller_set_name (motion, "mva-word-pointer");
  g_signal_connect (motion, "motion", G_CALLBACK (answer_motion_cb), self);
  g_signal_connect (motion, "leave", G_CALLBACK (answer_leave_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self->answer_view), motion);
  click = gtk_gesture_click_new ();
  g_signal_connect (click, "pressed", G_CALLBACK (answer_pressed_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self->answer_view), GTK_EVENT_CONTROLLER (click));
  frame = gtk_frame_new (NULL);
  gtk_frame_set_child (GTK_FRAME (frame), GTK_WIDGET (self->answer_view));
  gtk_box_append (GTK_BOX (box), frame);
  /* the scale from the instrument metadata, apart from the model's words */
  self->metadata_row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  gtk_widget_set_name (self->metadata_row, "scale-from-metadata");
  {
    GtkWidget *icon = gtk_image_new_from_icon_name ("document-properties-symbolic");

    gtk_widget_set_valign (icon, GTK_ALIGN_START);
    gtk_box_append (GTK_BOX (self->metadata_row), icon);
  }
  self->metadata_label = GTK_LABEL (gtk_label_new (""));
  gtk_label_set_xalign (self->metadata_label, 0.0);
  gtk_label_set_wrap (self->metadata_label, TRUE);
  gtk_label_set_selectable (self->metadata_label, TRUE);
  gtk_widget_set_hexpand (GTK_WIDGET (self->metadata_label), TRUE);
  gtk_widget_add_css_class (GTK_WIDGET (self->metadata_label), "accent");
  gtk_box_append (GTK_BOX (self->metadata_row), GTK_WIDGET (self->metadata_label));
  gtk_widget_set_tooltip_text (self->metadata_row,
                               _("Read from the microscope's own metadata, not from the model; "
                                 "it replaces the model's scale and settings sentences in the "
                                 "recorded answer"));
  gtk_widget_set_visible (self->metadata_row, FALSE);
  gtk_box_append (GTK_BOX (box), self->metadata_row);
  self->answer_info = GTK_LABEL (gtk_label_new (""));
  gtk_label_set_xalign (self->answer_info, 0.0);
  gtk_label_set_wrap (self->answer_info, TRUE);
  gtk_widget_add_css_class (GTK_WIDGET (self->answer_info), "dim-label");
  gtk_widget_add_css_class (GTK_WIDGET (self->answer_info), "caption");
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->answer_info));

  /* review */
  self->review_box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  gtk_widget_add_css_class (self->review_box, "linked");
  button = action_button (_("A_ccept"), "ask.accept", _("The answer is right (Alt+C)"));
  gtk_widget_set_hexpand (button, TRUE);
  gtk_box_append (GTK_BOX (self->review_box), button);
  button = action_button (_("C_orrect…"), "ask.correct", _("Edit the answer, then save it (Alt+O)"));
  gtk_widget_set_hexpand (button, TRUE);
  gtk_box_append (GTK_BOX (self->review_box), button);
  button = action_button (_("_Reject"), "ask.reject", _("The answer is wrong (Alt+R)"));
  gtk_widget_set_hexpand (button, TRUE);
  gtk_box_append (GTK_BOX (self->review_box), button);
  gtk_box_append (GTK_BOX (box), self->review_box);
  self->correct_box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  button = action_button (_("_Save Correction"), "ask.save-correction", _("Save the edited answer (Ctrl+S)"));
  gtk_widget_add_css_class (button, "suggested-action");
  gtk_widget_set_hexpand (button, TRUE);
  gtk_box_append (GTK_BOX (self->correct_box), button);
  button = action_button (_("Cancel"), "ask.cancel-correction", NULL);
  gtk_box_append (GTK_BOX (self->correct_box), button);
  gtk_box_append (GTK_BOX (box), self->correct_box);
  self->review_label = GTK_LABEL (gtk_label_new (""));
  gtk_label_set_xalign (self->review_label, 0.0);
  gtk_widget_add_css_class (GTK_WIDGET (self->review_label), "caption");
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->review_label));

  /* overlay */
  gtk_box_append (GTK_BOX (box), heading (_("Where It Looked")));
  row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  label = gtk_label_new_with_mnemonic (_("Show _heat map"));
  gtk_label_set_xalign (GTK_LABEL (label), 0.0);
  gtk_widget_set_hexpand (label, TRUE);
  self->overlay_switch = GTK_SWITCH (gtk_switch_new ());
  gtk_widget_set_valign (GTK_WIDGET (self->overlay_switch), GTK_ALIGN_CENTER);
  gtk_label_set_mnemonic_widget (GTK_LABEL (label), GTK_WIDGET (self->overlay_switch));
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->overlay_switch), _("Show the attention heat map (Ctrl+H)"));
  gtk_box_append (GTK_BOX (row), label);
  gtk_box_append (GTK_BOX (row), GTK_WIDGET (self->overlay_switch));
  gtk_box_append (GTK_BOX (box), row);
  row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  label = gtk_label_new (_("Opacity"));
  self->opacity_scale = GTK_SCALE (gtk_scale_new_with_range (GTK_ORIENTATION_HORIZONTAL, 0.0, 1.0, 0.05));
  gtk_widget_set_hexpand (GTK_WIDGET (self->opacity_scale), TRUE);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->opacity_scale), _("Opacity of the heat map"));
  gtk_box_append (GTK_BOX (row), label);
  gtk_box_append (GTK_BOX (row), GTK_WIDGET (self->opacity_scale));
  gtk_box_append (GTK_BOX (box), row);
  row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  self->focus_label = GTK_LABEL (gtk_label_new (""));
  gtk_label_set_xalign (self->focus_label, 0.0);
  gtk_label_set_wrap (self->focus_label, TRUE);
  gtk_widget_set_hexpand (GTK_WIDGET (self->focus_label), TRUE);
  gtk_widget_add_css_class (GTK_WIDGET (self->focus_label), "caption");
  self->whole_button = action_button (_("_Whole Answer"), "ask.whole-answer",
                                      _("Show the map of the whole answer"));
  gtk_widget_add_css_class (self->whole_button, "flat");
  gtk_box_append (GTK_BOX (row), GTK_WIDGET (self->focus_label));
  gtk_box_append (GTK_BOX (row), self->whole_button);
  gtk_box_append (GTK_BOX (box), row);

  self->scroller = gtk_scrolled_window_new ();
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (self->scroller), GTK_POLICY_NEVER,
                                  GTK_POLICY_AUTOMATIC);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (self->scroller), box);
  gtk_widget_set_parent (self->scroller, GTK_WIDGET (self));
}

static void
mva_ask_panel_dispose (GObject *object)
{
  MvaAskPanel *self = MVA_ASK_PANEL (object);

  self->generation++;
  g_clear_handle_id (&self->overlay_timeout_id, g_source_remove);
  g_clear_handle_id (&self->flush_id, g_source_remove);
  if (self->ask_cancellable != NULL)
    g_cancellable_cancel (self->ask_cancellable);
  if (self->classify_cancellable != NULL)
    g_cancellable_cancel (self->classify_cancellable);
  g_clear_object (&self->ask_cancellable);
  g_clear_object (&self->classify_cancellable);
  if (self->window != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->window, self);
      g_object_remove_weak_pointer (G_OBJECT (self->window), (gpointer *) &self->window);
      self->window = NULL;
    }
  if (self->session != NULL)
    {
      GSettings *settings = mva_session_get_settings (self->session);

      g_settings_unbind (self->overlay_switch, "active");
      g_settings_unbind (self->opacity_scale, "value");
      (void) settings;
      g_signal_handlers_disconnect_by_data (self->session, self);
    }
  g_clear_object (&self->session);
  g_clear_object (&self->heat);
  g_clear_pointer (&self->scroller, gtk_widget_unparent);
  G_OBJECT_CLASS (mva_ask_panel_parent_class)->dispose (object);
}

static void
mva_ask_panel_finalize (GObject *object)
{
  MvaAskPanel *self = MVA_ASK_PANEL (object);

  g_free (self->answer_text);
  g_free (self->generated_text);
  g_string_free (self->pending, TRUE);
  g_string_free (self->partial, TRUE);
  g_array_unref (self->mean_map);
  g_array_unref (self->offsets);
  g_array_unref (self->maps);
  g_free (self->category);
  G_OBJECT_CLASS (mva_ask_panel_parent_class)->finalize (object);
}

static void
mva_ask_panel_class_init (MvaAskPanelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = mva_ask_panel_dispose;
  object_class->finalize = mva_ask_panel_finalize;
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "mva-ask-panel");

  gtk_widget_class_install_action (widget_class, "ask.ask", NULL, ask_action);
  gtk_widget_class_install_action (widget_class, "ask.stop", NULL, stop_action);
  gtk_widget_class_install_action (widget_class, "ask.classify", NULL, classify_action);
  gtk_widget_class_install_action (widget_class, "ask.accept", NULL, accept_action);
  gtk_widget_class_install_action (widget_class, "ask.correct", NULL, correct_action);
  gtk_widget_class_install_action (widget_class, "ask.reject", NULL, reject_action);
  gtk_widget_class_install_action (widget_class, "ask.save-correction", NULL, save_correction_action);
  gtk_widget_class_install_action (widget_class, "ask.cancel-correction", NULL, cancel_correction_action);
  gtk_widget_class_install_action (widget_class, "ask.undo-review", NULL, undo_review_action);
  gtk_widget_class_install_action (widget_class, "ask.toggle-overlay", NULL, toggle_overlay_action);
  gtk_widget_class_install_action (widget_class, "ask.whole-answer", NULL, whole_answer_action);
}

static void
add_shortcut (GtkShortcutController *controller,
              const char            *accel,
              const char            *action)
{
  gtk_shortcut_controller_add_shortcut (controller,
                                        gtk_shortcut_new (gtk_shortcut_trigger_parse_string (accel),
                                                          gtk_named_action_new (action)));
}

static void
mva_ask_panel_init (MvaAskPanel *self)
{
  GtkEventController *shortcuts;

  self->offsets = g_array_new (FALSE, FALSE, sizeof (int));
  self->maps = g_array_new (FALSE, FALSE, sizeof (float));
  self->mean_map = g_array_new (FALSE, FALSE, sizeof (float));
  self->pending = g_string_new (NULL);
  self->partial = g_string_new (NULL);
  self->focus_token = -1;
  self->pinned_token = -1;
  self->state = g_intern_static_string ("idle");
  build (self);

  /* window-wide: they work wherever the focus is */
  shortcuts = gtk_shortcut_controller_new ();
  gtk_shortcut_controller_set_scope (GTK_SHORTCUT_CONTROLLER (shortcuts), GTK_SHORTCUT_SCOPE_GLOBAL);
  add_shortcut (GTK_SHORTCUT_CONTROLLER (shortcuts), "<Control>Return", "ask.ask");
  add_shortcut (GTK_SHORTCUT_CONTROLLER (shortcuts), "<Control>KP_Enter", "ask.ask");
  add_shortcut (GTK_SHORTCUT_CONTROLLER (shortcuts), "Escape", "ask.stop");
  add_shortcut (GTK_SHORTCUT_CONTROLLER (shortcuts), "<Control>k", "ask.classify");
  add_shortcut (GTK_SHORTCUT_CONTROLLER (shortcuts), "<Control>z", "ask.undo-review");
  add_shortcut (GTK_SHORTCUT_CONTROLLER (shortcuts), "<Control>h", "ask.toggle-overlay");
  add_shortcut (GTK_SHORTCUT_CONTROLLER (shortcuts), "<Control>s", "ask.save-correction");
  gtk_widget_add_controller (GTK_WIDGET (self), shortcuts);
  update_actions (self);
}

/* --- public API ----------------------------------------------------------------------- */

void
mva_ask_panel_attach (MvaAskPanel    *self,
                      MvaWindow      *window,
                      MvaSession     *session,
                      MvaHeatOverlay *heat)
{
  GSettings *settings;

  g_return_if_fail (MVA_IS_ASK_PANEL (self));
  g_return_if_fail (MVA_IS_WINDOW (window));
  g_return_if_fail (MVA_IS_SESSION (session));
  g_return_if_fail (self->session == NULL);

  self->window = window;
  g_object_add_weak_pointer (G_OBJECT (window), (gpointer *) &self->window);
  self->session = g_object_ref (session);
  self->heat = heat != NULL ? g_object_ref (heat) : NULL;

  settings = mva_session_get_settings (session);
  g_settings_bind (settings, "show-overlay", self->overlay_switch, "active", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (settings, "overlay-opacity", gtk_range_get_adjustment (GTK_RANGE (self->opacity_scale)),
                   "value", G_SETTINGS_BIND_DEFAULT);
  g_signal_connect_swapped (self->overlay_switch, "notify::active",
                            G_CALLBACK (overlay_settings_changed_cb), self);
  g_signal_connect_swapped (self->opacity_scale, "value-changed",
                            G_CALLBACK (overlay_settings_changed_cb), self);
  overlay_settings_changed_cb (self);

  g_signal_connect_object (session, "notify::model-state", G_CALLBACK (update_model_label), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (window, "notify::state", G_CALLBACK (window_state_cb), self,
                           G_CONNECT_SWAPPED);
  update_model_label (self);
  window_state_cb (self);
}

void
mva_ask_panel_set_family (MvaAskPanel *self,
                          guint        family)
{
  g_return_if_fail (MVA_IS_ASK_PANEL (self));
  g_return_if_fail (family <= MVA_ASSISTANT_N_FAMILIES);
  gtk_drop_down_set_selected (self->preset_dropdown, family);
  preset_changed_cb (self);
}

void
mva_ask_panel_set_question (MvaAskPanel *self,
                            const char  *question)
{
  g_return_if_fail (MVA_IS_ASK_PANEL (self));
  gtk_text_buffer_set_text (gtk_text_view_get_buffer (self->question_view),
                            question != NULL ? question : "", -1);
}

void
mva_ask_panel_set_category (MvaAskPanel *self,
                            const char  *category)
{
  guint index = 0;

  g_return_if_fail (MVA_IS_ASK_PANEL (self));

  g_clear_pointer (&self->category, g_free);
  if (category != NULL && mva_assistant_category_index (category, &index))
    self->category = g_strdup (mva_assistant_category_name (index));
  self->setting_category = TRUE;
  gtk_drop_down_set_selected (self->category_dropdown, self->category != NULL ? index + 1 : 0);
  self->setting_category = FALSE;
}

const char *
mva_ask_panel_get_category (MvaAskPanel *self)
{
  g_return_val_if_fail (MVA_IS_ASK_PANEL (self), NULL);
  return self->category;
}

gboolean
mva_ask_panel_can_ask (MvaAskPanel *self)
{
  g_return_val_if_fail (MVA_IS_ASK_PANEL (self), FALSE);
  return self->window != NULL && mva_window_get_image (self->window) != NULL
         && self->session != NULL && mva_session_get_model (self->session) != NULL
         && g_strcmp0 (self->state, "asking") != 0;
}

const char *
mva_ask_panel_get_state (MvaAskPanel *self)
{
  g_return_val_if_fail (MVA_IS_ASK_PANEL (self), NULL);
  return self->state;
}

char *
mva_ask_panel_dup_answer_text (MvaAskPanel *self)
{
  GtkTextBuffer *buffer;
  GtkTextIter start, end;

  g_return_val_if_fail (MVA_IS_ASK_PANEL (self), NULL);
  buffer = gtk_text_view_get_buffer (self->answer_view);
  gtk_text_buffer_get_bounds (buffer, &start, &end);
  return gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
}

const char *
mva_ask_panel_get_answer (MvaAskPanel *self)
{
  g_return_val_if_fail (MVA_IS_ASK_PANEL (self), NULL);
  return self->answer_text;
}

/* The line with the scale from the instrument metadata, or NULL when the
 * last answer has none. */
const char *
mva_ask_panel_get_metadata_text (MvaAskPanel *self)
{
  g_return_val_if_fail (MVA_IS_ASK_PANEL (self), NULL);
  if (!gtk_widget_get_visible (self->metadata_row))
    return NULL;
  return gtk_label_get_label (self->metadata_label);
}

gint64
mva_ask_panel_get_qa_id (MvaAskPanel *self)
{
  g_return_val_if_fail (MVA_IS_ASK_PANEL (self), 0);
  return self->qa_id;
}

void
mva_ask_panel_focus_token (MvaAskPanel *self,
                           int          index)
{
  g_return_if_fail (MVA_IS_ASK_PANEL (self));
  if (index >= (int) self->offsets->len)
    index = -1;
  self->pinned_token = index;
  self->pinned_n = 1;
  self->focus_token = index;
  self->focus_n = 1;
  update_focus (self);
}

int
mva_ask_panel_get_focus_token (MvaAskPanel *self)
{
  g_return_val_if_fail (MVA_IS_ASK_PANEL (self), -1);
  return self->focus_token;
}

guint
mva_ask_panel_get_n_streamed (MvaAskPanel *self)
{
  g_return_val_if_fail (MVA_IS_ASK_PANEL (self), 0);
  return self->n_patches > 0 ? self->maps->len / self->n_patches : self->offsets->len;
}
