/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-improve-page.c: fine-tune from reviews, adopt or discard, restore,
 * and the current model's report (see mva-improve-page.h).
 *
 * The fine-tune runs on the assistant's worker thread; its progress and
 * result arrive in this main context. They carry a GWeakRef to the page and
 * the run's generation, so a page that is gone or a run that was cancelled
 * is left alone.
 */
#include "config.h"

#define G_LOG_DOMAIN "mva-improve-page"

#include <adwaita.h>
#include <glib/gi18n.h>
#include <json-glib/json-glib.h>

#include "mva-toast.h"
#include "mva-improve-page.h"
#include "mva-loss-plot.h"

struct _MvaImprovePage
{
  GtkWidget       parent_instance;

  MvaSession     *session;

  GtkWidget      *scroller;
  AdwActionRow   *model_row;
  AdwActionRow   *new_row;
  GtkWidget      *start_button;
  GtkWidget      *cancel_button;
  GtkProgressBar *progress;
  GtkLabel       *phase_label;
  MvaLossPlot    *plot;
  AdwPreferencesGroup *result_group;
  GtkLabel       *result_label;
  GtkWidget      *versions_box;  /* a GtkListBox rebuilt on refresh */
  AdwPreferencesGroup *versions_group;
  AdwPreferencesGroup *report_group;
  GtkWidget      *report_list;
  GtkFileChooserNative *chooser;

  const char     *state;
  guint           generation;
  guint64         steps;
  GCancellable   *cancellable;
  gint64          new_version_id;  /* waiting for adopt/discard; 0 none */
  guint64         last_step;       /* of the running fine-tune's main run: the loss plot's
                                    * x continues from it through the focus rounds */
  gint64          n_new;
  char           *report_dir;      /* folder holding the current model's report */
};

G_DEFINE_FINAL_TYPE (MvaImprovePage, mva_improve_page, GTK_TYPE_WIDGET)

typedef struct
{
  GWeakRef page;
  guint    generation;
} Job;

static Job *
job_new (MvaImprovePage *self)
{
  Job *job = g_new0 (Job, 1);

  g_weak_ref_init (&job->page, self);
  job->generation = self->generation;
  return job;
}

static void
job_free (Job *job)
{
  g_weak_ref_clear (&job->page);
  g_free (job);
}

static MvaImprovePage *
job_get_page (Job *job)
{
  MvaImprovePage *self = g_weak_ref_get (&job->page);

  if (self != NULL && self->generation != job->generation)
    g_clear_object (&self);
  return self;
}

static void
update_actions (MvaImprovePage *self)
{
  gboolean training = g_str_equal (self->state, "training");

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "improve.start",
                                 !training && self->new_version_id == 0 && self->session != NULL);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "improve.cancel", training);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "improve.adopt", !training && self->new_version_id > 0);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "improve.discard", !training && self->new_version_id > 0);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "improve.restore", !training);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "improve.export-report", self->report_dir != NULL);
  gtk_widget_set_visible (self->start_button, !training);
  gtk_widget_set_visible (self->cancel_button, training);
  gtk_widget_set_visible (GTK_WIDGET (self->result_group), self->new_version_id > 0);
}

static void
set_state (MvaImprovePage *self,
           const char     *state)
{
  self->state = g_intern_static_string (state);
  update_actions (self);
}

/* --- versions, counts and report ---------------------------------------------------- */

static char *
format_time (gint64 usec)
{
  g_autoptr(GDateTime) dt = g_date_time_new_from_unix_local (usec / G_USEC_PER_SEC);

  return dt != NULL ? g_date_time_format (dt, "%Y-%m-%d %H:%M") : g_strdup ("");
}

/* "BLEU-4 0.21 → 0.34" from the metrics a retrain records; NULL when none. */
static char *
describe_metrics (const char *metrics_json,
                  gboolean   *discarded)
{
  g_autoptr(JsonNode) node = metrics_json != NULL ? json_from_string (metrics_json, NULL) : NULL;
  JsonObject *o, *old, *new;

  *discarded = FALSE;
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return NULL;
  o = json_node_get_object (node);
  *discarded = json_object_get_boolean_member_with_default (o, "discarded", FALSE);
  old = json_object_has_member (o, "old") ? json_object_get_object_member (o, "old") : NULL;
  new = json_object_has_member (o, "new") ? json_object_get_object_member (o, "new") : NULL;
  if (old == NULL || new == NULL)
    return NULL;
  return g_strdup_printf (_("BLEU-4 %.3f → %.3f · ROUGE-L %.3f → %.3f · METEOR %.3f → %.3f"),
                          json_object_get_double_member_with_default (old, "bleu4", 0),
                          json_object_get_double_member_with_default (new, "bleu4", 0),
                          json_object_get_double_member_with_default (old, "rougeL", 0),
                          json_object_get_double_member_with_default (new, "rougeL", 0),
                          json_object_get_double_member_with_default (old, "meteor", 0),
                          json_object_get_double_member_with_default (new, "meteor", 0));
}

static void
rebuild_versions (MvaImprovePage *self,
                  MvaStore       *store)
{
  g_autoptr(GPtrArray) versions = store != NULL ? mva_store_list_model_versions (store, NULL) : NULL;
  GtkWidget *list = gtk_list_box_new ();

  if (self->versions_box != NULL)
    adw_preferences_group_remove (self->versions_group, self->versions_box);
  self->versions_box = list;
  gtk_list_box_set_selection_mode (GTK_LIST_BOX (list), GTK_SELECTION_NONE);
  gtk_widget_add_css_class (list, "boxed-list");
  gtk_widget_set_name (list, "versions");

  if (versions == NULL || versions->len == 0)
    {
      GtkWidget *row = adw_action_row_new ();

      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), _("No versions yet"));
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row),
                                   _("The default model answers until a fine-tune is adopted"));
      gtk_list_box_append (GTK_LIST_BOX (list), row);
    }
  for (guint i = 0; versions != NULL && i < versions->len; i++)
    {
      MvaModelVersion *mv = g_ptr_array_index (versions, i);
      GtkWidget *row = adw_action_row_new ();
      g_autofree char *when = format_time (mv->created_at);
      gboolean discarded = FALSE;
      g_autofree char *metrics = describe_metrics (mv->metrics_json, &discarded);
      g_autofree char *subtitle = g_strdup_printf ("%s%s%s", when, metrics != NULL ? " · " : "",
                                                   metrics != NULL ? metrics : "");

      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), mv->name);
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
      if (mv->adopted)
        {
          GtkWidget *tag = gtk_label_new (_("Current"));

          gtk_widget_add_css_class (tag, "accent");
          adw_action_row_add_suffix (ADW_ACTION_ROW (row), tag);
        }
      else if (discarded)
        {
          GtkWidget *tag = gtk_label_new (_("Discarded"));

          gtk_widget_add_css_class (tag, "dim-label");
          adw_action_row_add_suffix (ADW_ACTION_ROW (row), tag);
        }
      else if (mv->id != self->new_version_id)
        {
          GtkWidget *button = gtk_button_new_with_label (_("Restore"));

          gtk_widget_set_valign (button, GTK_ALIGN_CENTER);
          gtk_actionable_set_action_name (GTK_ACTIONABLE (button), "improve.restore");
          gtk_actionable_set_action_target (GTK_ACTIONABLE (button), "x", mv->id);
          gtk_widget_set_tooltip_text (button, _("Make this version the current model again"));
          adw_action_row_add_suffix (ADW_ACTION_ROW (row), button);
        }
      gtk_list_box_append (GTK_LIST_BOX (list), row);
    }
  adw_preferences_group_add (self->versions_group, list);
}

static void
add_report_row (GtkWidget  *list,
                const char *title,
                const char *value)
{
  GtkWidget *row = adw_action_row_new ();
  GtkWidget *label = gtk_label_new (value);

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  gtk_widget_add_css_class (label, "numeric");
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), label);
  gtk_list_box_append (GTK_LIST_BOX (list), row);
}

/* The current model's report: DIR/report/report.json or DIR/report.json. */
static void
rebuild_report (MvaImprovePage *self,
                const char     *model_dir)
{
  static const struct { const char *key, *label; } stats[] = {
    { "bleu2", "BLEU-2" }, { "bleu4", "BLEU-4" }, { "rougeL", "ROUGE-L" },
    { "meteor", "METEOR" }, { "top1", N_("Top-1 accuracy") }, { "top5", N_("Top-5 accuracy") },
  };
  GtkWidget *list = gtk_list_box_new ();
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *root = NULL, *summary = NULL;

  if (self->report_list != NULL)
    adw_preferences_group_remove (self->report_group, self->report_list);
  self->report_list = list;
  g_clear_pointer (&self->report_dir, g_free);
  gtk_list_box_set_selection_mode (GTK_LIST_BOX (list), GTK_SELECTION_NONE);
  gtk_widget_add_css_class (list, "boxed-list");

  for (guint i = 0; model_dir != NULL && i < 2 && self->report_dir == NULL; i++)
    {
      g_autofree char *dir = i == 0 ? g_build_filename (model_dir, "report", NULL) : g_strdup (model_dir);
      g_autofree char *json = g_build_filename (dir, "report.json", NULL);

      if (json_parser_load_from_file (parser, json, NULL)
          && JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
        {
          self->report_dir = g_steal_pointer (&dir);
          root = json_node_get_object (json_parser_get_root (parser));
        }
    }
  if (root != NULL && json_object_has_member (root, "summary"))
    summary = json_object_get_object_member (root, "summary");

  if (root == NULL)
    {
      GtkWidget *row = adw_action_row_new ();
      g_autofree char *hint = g_strdup_printf (_("mvaema-cli eval --model %s --data DIR --report %s/report"),
                                               model_dir != NULL ? model_dir : "MODEL",
                                               model_dir != NULL ? model_dir : "MODEL");

      adw_preferences_group_set_description (self->report_group, NULL);
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), _("No evaluation report for this model"));
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), hint);
      gtk_list_box_append (GTK_LIST_BOX (list), row);
    }
  else
    {
      const char *title = json_object_get_string_member_with_default (root, "title", "");
      const char *created = json_object_get_string_member_with_default (root, "created", "");

      g_autofree char *description = g_strdup_printf ("%s · %s", title, created);

      adw_preferences_group_set_description (self->report_group, description);
      for (guint k = 0; summary != NULL && k < G_N_ELEMENTS (stats); k++)
        {
          JsonObject *s;
          g_autofree char *value = NULL;

          if (!json_object_has_member (summary, stats[k].key)
              || (s = json_object_get_object_member (summary, stats[k].key)) == NULL
              || json_node_is_null (json_object_get_member (s, "mean")))
            continue;
          if (json_object_get_int_member_with_default (s, "folds", 1) > 1)
            value = g_strdup_printf ("%.3f ± %.3f", json_object_get_double_member (s, "mean"),
                                     json_object_get_double_member_with_default (s, "std", 0));
          else
            value = g_strdup_printf ("%.3f", json_object_get_double_member (s, "mean"));
          add_report_row (list, _(stats[k].label), value);
        }
    }
  adw_preferences_group_add (self->report_group, list);
  update_actions (self);
}

void
mva_improve_page_refresh (MvaImprovePage *self)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *model_dir = NULL;
  g_autofree char *count = NULL;
  MvaStore *store;

  g_return_if_fail (MVA_IS_IMPROVE_PAGE (self));
  if (self->session == NULL)
    return;

  store = mva_session_get_store (self->session, &error);
  if (store == NULL)
    {
      adw_action_row_set_subtitle (self->new_row, error->message);
      rebuild_versions (self, NULL);
      rebuild_report (self, NULL);
      return;
    }
  model_dir = mva_assistant_current_model_dir (store, NULL);
  adw_action_row_set_subtitle (self->model_row, model_dir != NULL ? model_dir : _("No model found"));
  self->n_new = mva_assistant_count_new_reviews (store, NULL);
  count = self->n_new >= 0 ? g_strdup_printf ("%" G_GINT64_FORMAT, self->n_new) : g_strdup ("?");
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->new_row),
                                 g_dngettext (GETTEXT_PACKAGE,
                                              "Reviewed pair new since this model",
                                              "Reviewed pairs new since this model",
                                              MAX (self->n_new, 0)));
  adw_action_row_set_subtitle (self->new_row,
                               self->n_new > 0 ? _("Accepted and corrected answers the model will learn from")
                                               : _("Accept or correct answers on the viewer page first"));
  {
    GtkWidget *suffix = g_object_get_data (G_OBJECT (self->new_row), "count");

    gtk_label_set_label (GTK_LABEL (suffix), count);
  }
  rebuild_versions (self, store);
  rebuild_report (self, model_dir);
  update_actions (self);
}

/* --- fine-tune ----------------------------------------------------------------------- */

static void
progress_cb (const MvaRetrainProgress *p,
             gpointer                  user_data)
{
  g_autoptr(MvaImprovePage) self = job_get_page (user_data);
  g_autofree char *text = NULL;

  if (self == NULL)
    return;
  switch (p->phase)
    {
    case MVA_RETRAIN_PHASE_PREPARING:
      text = g_strdup_printf (_("Preparing the data… %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT),
                              p->done, p->total);
      gtk_progress_bar_pulse (self->progress);
      break;
    case MVA_RETRAIN_PHASE_TRAINING:
      text = g_strdup_printf (_("Training: step %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT
                                " · loss %.4f"), p->done, p->total, p->loss);
      if (p->total > 0)
        gtk_progress_bar_set_fraction (self->progress, (double) p->done / p->total);
      mva_loss_plot_add (self->plot, (double) p->done, p->loss);
      self->last_step = p->done;
      break;
    case MVA_RETRAIN_PHASE_FOCUSING:
      text = g_strdup_printf (_("Learning the corrections: step %" G_GUINT64_FORMAT " of %"
                                G_GUINT64_FORMAT " · loss %.4f"), p->done, p->total, p->loss);
      if (p->total > 0)
        gtk_progress_bar_set_fraction (self->progress, (double) p->done / p->total);
      mva_loss_plot_add (self->plot, (double) (self->last_step + p->done), p->loss);
      break;
    case MVA_RETRAIN_PHASE_EVALUATING:
      text = g_strdup_printf (_("Comparing the old and new model… %" G_GUINT64_FORMAT " of %"
                                G_GUINT64_FORMAT), p->done, p->total);
      if (p->total > 0)
        gtk_progress_bar_set_fraction (self->progress, (double) p->done / p->total);
      break;
    case MVA_RETRAIN_PHASE_SAVING:
    default:
      text = g_strdup (_("Saving the new version…"));
      break;
    }
  gtk_label_set_label (self->phase_label, text);
}

static void
retrain_done_cb (GObject      *source,
                 GAsyncResult *res,
                 gpointer      user_data)
{
  Job *job = user_data;
  g_autoptr(MvaImprovePage) self = job_get_page (job);
  g_autoptr(GError) error = NULL;
  g_autoptr(MvaRetrainResult) result = mva_assistant_retrain_finish (res, &error);

  job_free (job);
  if (self == NULL)
    return;
  g_clear_object (&self->cancellable);
  if (result == NULL)
    {
      if (g_error_matches (error, MVA_ASSISTANT_ERROR, MVA_ASSISTANT_ERROR_CANCELLED))
        {
          gtk_label_set_label (self->phase_label, _("Cancelled; the current model is unchanged"));
          set_state (self, "cancelled");
        }
      else
        {
          g_autofree char *msg = g_strdup_printf (_("Fine-tuning failed: %s"), error->message);

          gtk_label_set_label (self->phase_label, msg);
          mva_widget_show_toast (GTK_WIDGET (self), msg);
          set_state (self, "error");
        }
      gtk_progress_bar_set_fraction (self->progress, 0.0);
      return;
    }

  self->new_version_id = result->model_version_id;
  gtk_progress_bar_set_fraction (self->progress, 1.0);
  {
    g_autofree char *text =
      g_strdup_printf (_("Trained in %.0f s on %u reviewed and %u replay pairs. Held-out pairs: %u%s.\n"
                         "BLEU-4 %.3f → %.3f · ROUGE-L %.3f → %.3f · METEOR %.3f → %.3f\n"
                         "Loss per answer token %.3f → %.3f (lower is better; steadier than the scores of a few answers)"),
                       result->seconds, result->n_reviewed, result->n_replay, result->n_heldout,
                       result->heldout_is_train ? _(" (too few images to hold any out: scored on the training pairs)") : "",
                       result->old_bleu4, result->new_bleu4, result->old_rouge_l, result->new_rouge_l,
                       result->old_meteor, result->new_meteor, result->old_nll, result->new_nll);

    if (result->n_corrected > 0)
      {
        g_autofree char *more = g_strdup_printf (
          _("%s\nCorrections the new version gives word for word: %u of %u"), text,
          result->n_reflected, MIN (result->n_corrected, 40u));

        g_free (text);
        text = g_steal_pointer (&more);
      }
    gtk_label_set_label (self->result_label, text);
    if (result->device_note != NULL)
      {
        g_autofree char *pref = g_settings_get_string (mva_session_get_settings (self->session),
                                                       "device");

        /* CUDA asked for by name: say it trained on the CPU, and why */
        if (g_strcmp0 (pref, "cuda") == 0)
          mva_widget_show_toast (GTK_WIDGET (self), result->device_note);
      }
  }
  gtk_label_set_label (self->phase_label, _("Done: adopt the new version or discard it"));
  set_state (self, "trained");
  mva_session_library_changed (self->session);
}

static void
start_action (GtkWidget  *widget,
              const char *action_name,
              GVariant   *parameter)
{
  MvaImprovePage *self = MVA_IMPROVE_PAGE (widget);
  g_autoptr(GError) error = NULL;
  MvaStore *store = mva_session_get_store (self->session, &error);
  MvaRetrainOptions opts;
  g_autofree char *device = NULL;

  if (store == NULL)
    {
      g_autofree char *msg = g_strdup_printf (_("The library cannot be opened: %s"), error->message);
      mva_widget_show_toast (GTK_WIDGET (self), msg);
      return;
    }
  device = g_settings_get_string (mva_session_get_settings (self->session), "device");
  mva_retrain_options_init (&opts);
  if (self->steps > 0)
    opts.steps = self->steps;
  opts.threads = mva_session_get_threads (self->session);
  opts.device = device; /* copied by mva_assistant_retrain_async */

  self->generation++;
  self->cancellable = g_cancellable_new ();
  mva_loss_plot_clear (self->plot);
  self->last_step = 0;
  gtk_progress_bar_set_fraction (self->progress, 0.0);
  gtk_label_set_label (self->phase_label, _("Starting…"));
  set_state (self, "training");
  {
    Job *progress_job = job_new (self);
    Job *done_job = job_new (self);

    /* progress_job must outlive the ready callback: it is freed with the task's
     * callback data chain (done_job frees it too) */
    g_object_set_data_full (G_OBJECT (self->cancellable), "progress-job", progress_job,
                            (GDestroyNotify) job_free);
    mva_assistant_retrain_async (store, &opts, progress_cb, progress_job, self->cancellable,
                                 retrain_done_cb, done_job);
  }
}

static void
cancel_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  MvaImprovePage *self = MVA_IMPROVE_PAGE (widget);

  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  gtk_label_set_label (self->phase_label, _("Cancelling…"));
}

static void
after_model_change (MvaImprovePage *self)
{
  mva_session_load_model (self->session);
  mva_session_library_changed (self->session);
}

static void
adopt_action (GtkWidget  *widget,
              const char *action_name,
              GVariant   *parameter)
{
  MvaImprovePage *self = MVA_IMPROVE_PAGE (widget);
  g_autoptr(GError) error = NULL;
  MvaStore *store = mva_session_get_store (self->session, &error);

  if (store == NULL || !mva_assistant_adopt (store, self->new_version_id, &error))
    {
      g_autofree char *msg = g_strdup_printf (_("The new version could not be adopted: %s"), error->message);
      mva_widget_show_toast (GTK_WIDGET (self), msg);
      return;
    }
  self->new_version_id = 0;
  mva_widget_show_toast (GTK_WIDGET (self), _("The new version is now the current model"));
  set_state (self, "idle");
  after_model_change (self);
}

static void
discard_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  MvaImprovePage *self = MVA_IMPROVE_PAGE (widget);
  g_autoptr(GError) error = NULL;
  MvaStore *store = mva_session_get_store (self->session, &error);

  if (store == NULL || !mva_assistant_discard (store, self->new_version_id, &error))
    {
      g_autofree char *msg = g_strdup_printf (_("The new version could not be discarded: %s"), error->message);
      mva_widget_show_toast (GTK_WIDGET (self), msg);
      return;
    }
  self->new_version_id = 0;
  mva_widget_show_toast (GTK_WIDGET (self), _("The new version was discarded"));
  set_state (self, "idle");
  mva_session_library_changed (self->session);
}

static void
restore_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  MvaImprovePage *self = MVA_IMPROVE_PAGE (widget);
  g_autoptr(GError) error = NULL;
  MvaStore *store = mva_session_get_store (self->session, &error);
  gint64 id = g_variant_get_int64 (parameter);

  if (store == NULL || !mva_assistant_adopt (store, id, &error))
    {
      g_autofree char *msg = g_strdup_printf (_("The version could not be restored: %s"), error->message);
      mva_widget_show_toast (GTK_WIDGET (self), msg);
      return;
    }
  mva_widget_show_toast (GTK_WIDGET (self), _("Restored; that version is the current model again"));
  after_model_change (self);
}

static gboolean
copy_file (const char  *from_dir,
           const char  *name,
           GFile       *to_dir,
           GError     **error)
{
  g_autofree char *path = g_build_filename (from_dir, name, NULL);
  g_autoptr(GFile) src = g_file_new_for_path (path);
  g_autoptr(GFile) dst = g_file_get_child (to_dir, name);

  return g_file_copy (src, dst, G_FILE_COPY_OVERWRITE, NULL, NULL, NULL, error);
}

static void
export_response_cb (GtkNativeDialog *dialog,
                    int              response,
                    MvaImprovePage  *self)
{
  g_autoptr(GFile) folder = NULL;
  g_autoptr(GError) error = NULL;

  if (response == GTK_RESPONSE_ACCEPT && self->report_dir != NULL)
    {
      folder = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      if (!copy_file (self->report_dir, "report.html", folder, &error)
          || !copy_file (self->report_dir, "report.json", folder, &error))
        {
          g_autofree char *msg = g_strdup_printf (_("The report could not be exported: %s"), error->message);
          mva_widget_show_toast (GTK_WIDGET (self), msg);
        }
      else
        mva_widget_show_toast (GTK_WIDGET (self), _("Report exported (report.html and report.json)"));
    }
  gtk_native_dialog_destroy (dialog);
  g_clear_object (&self->chooser);
}

static void
export_report_action (GtkWidget  *widget,
                      const char *action_name,
                      GVariant   *parameter)
{
  MvaImprovePage *self = MVA_IMPROVE_PAGE (widget);
  GtkRoot *root = gtk_widget_get_root (widget);

  if (self->chooser != NULL)
    return;
  self->chooser = gtk_file_chooser_native_new (_("Export the Report To"),
                                               GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                               GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER,
                                               _("_Export"), _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->chooser), TRUE);
  g_signal_connect_object (self->chooser, "response", G_CALLBACK (export_response_cb), self, 0);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

/* --- construction ---------------------------------------------------------------------- */

static GtkWidget *
button_for (const char *label,
            const char *action,
            const char *style)
{
  GtkWidget *button = gtk_button_new_with_mnemonic (label);

  gtk_actionable_set_action_name (GTK_ACTIONABLE (button), action);
  if (style != NULL)
    gtk_widget_add_css_class (button, style);
  return button;
}

static void
build (MvaImprovePage *self)
{
  GtkWidget *clamp = adw_clamp_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 18);
  GtkWidget *group, *list, *row, *label, *buttons, *title;

  gtk_widget_set_margin_top (box, 18);
  gtk_widget_set_margin_bottom (box, 24);
  gtk_widget_set_margin_start (box, 12);
  gtk_widget_set_margin_end (box, 12);

  title = gtk_label_new (_("Improve the Model"));
  gtk_widget_add_css_class (title, "title-1");
  gtk_box_append (GTK_BOX (box), title);
  label = gtk_label_new (_("Fine-tune the current model on the answers you accepted or corrected. "
                           "Everything runs on this computer; the current model stays until you adopt the new one."));
  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_label_set_justify (GTK_LABEL (label), GTK_JUSTIFY_CENTER);
  gtk_widget_add_css_class (label, "dim-label");
  gtk_box_append (GTK_BOX (box), label);

  /* the model and what is new */
  group = adw_preferences_group_new ();
  adw_preferences_group_set_title (ADW_PREFERENCES_GROUP (group), _("Fine-Tune"));
  list = gtk_list_box_new ();
  gtk_list_box_set_selection_mode (GTK_LIST_BOX (list), GTK_SELECTION_NONE);
  gtk_widget_add_css_class (list, "boxed-list");
  row = adw_action_row_new ();
  self->model_row = ADW_ACTION_ROW (row);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), _("Current model"));
  gtk_list_box_append (GTK_LIST_BOX (list), row);
  row = adw_action_row_new ();
  self->new_row = ADW_ACTION_ROW (row);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), _("Reviewed pairs new since this model"));
  label = gtk_label_new ("0");
  gtk_widget_add_css_class (label, "title-2");
  gtk_widget_add_css_class (label, "numeric");
  adw_action_row_add_suffix (self->new_row, label);
  g_object_set_data (G_OBJECT (row), "count", label);
  gtk_list_box_append (GTK_LIST_BOX (list), row);
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (group), list);
  gtk_box_append (GTK_BOX (box), group);

  buttons = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  gtk_widget_set_halign (buttons, GTK_ALIGN_CENTER);
  self->start_button = button_for (_("_Start Fine-Tune"), "improve.start", "suggested-action");
  gtk_widget_add_css_class (self->start_button, "pill");
  gtk_widget_set_tooltip_text (self->start_button, _("Train a new version from the reviews (Ctrl+T)"));
  self->cancel_button = button_for (_("_Cancel"), "improve.cancel", "destructive-action");
  gtk_widget_add_css_class (self->cancel_button, "pill");
  gtk_box_append (GTK_BOX (buttons), self->start_button);
  gtk_box_append (GTK_BOX (buttons), self->cancel_button);
  gtk_box_append (GTK_BOX (box), buttons);

  self->progress = GTK_PROGRESS_BAR (gtk_progress_bar_new ());
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->progress));
  self->phase_label = GTK_LABEL (gtk_label_new (""));
  gtk_widget_add_css_class (GTK_WIDGET (self->phase_label), "dim-label");
  gtk_label_set_wrap (self->phase_label, TRUE);
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->phase_label));
  self->plot = MVA_LOSS_PLOT (mva_loss_plot_new ());
  gtk_widget_add_css_class (GTK_WIDGET (self->plot), "card");
  gtk_widget_set_size_request (GTK_WIDGET (self->plot), -1, 200);
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->plot));

  /* result */
  group = adw_preferences_group_new ();
  self->result_group = ADW_PREFERENCES_GROUP (group);
  adw_preferences_group_set_title (self->result_group, _("New Version"));
  self->result_label = GTK_LABEL (gtk_label_new (""));
  gtk_label_set_wrap (self->result_label, TRUE);
  gtk_label_set_xalign (self->result_label, 0.0);
  gtk_label_set_selectable (self->result_label, TRUE);
  adw_preferences_group_add (self->result_group, GTK_WIDGET (self->result_label));
  buttons = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  gtk_widget_set_margin_top (buttons, 12);
  gtk_widget_set_halign (buttons, GTK_ALIGN_CENTER);
  gtk_box_append (GTK_BOX (buttons), button_for (_("_Adopt"), "improve.adopt", "suggested-action"));
  gtk_box_append (GTK_BOX (buttons), button_for (_("_Discard"), "improve.discard", NULL));
  adw_preferences_group_add (self->result_group, buttons);
  gtk_box_append (GTK_BOX (box), group);

  /* versions */
  group = adw_preferences_group_new ();
  self->versions_group = ADW_PREFERENCES_GROUP (group);
  adw_preferences_group_set_title (self->versions_group, _("Versions"));
  gtk_box_append (GTK_BOX (box), group);

  /* report */
  group = adw_preferences_group_new ();
  self->report_group = ADW_PREFERENCES_GROUP (group);
  adw_preferences_group_set_title (self->report_group, _("Evaluation Report of the Current Model"));
  adw_preferences_group_set_header_suffix (self->report_group,
                                           button_for (_("_Export…"), "improve.export-report", "flat"));
  gtk_box_append (GTK_BOX (box), group);

  adw_clamp_set_maximum_size (ADW_CLAMP (clamp), 720);
  adw_clamp_set_child (ADW_CLAMP (clamp), box);
  self->scroller = gtk_scrolled_window_new ();
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (self->scroller), GTK_POLICY_NEVER,
                                  GTK_POLICY_AUTOMATIC);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (self->scroller), clamp);
  gtk_widget_set_parent (self->scroller, GTK_WIDGET (self));
}

static void
mva_improve_page_dispose (GObject *object)
{
  MvaImprovePage *self = MVA_IMPROVE_PAGE (object);

  self->generation++;
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  if (self->chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
  g_clear_object (&self->chooser);
  if (self->session != NULL)
    g_signal_handlers_disconnect_by_data (self->session, self);
  g_clear_object (&self->session);
  g_clear_pointer (&self->scroller, gtk_widget_unparent);
  G_OBJECT_CLASS (mva_improve_page_parent_class)->dispose (object);
}

static void
mva_improve_page_finalize (GObject *object)
{
  g_free (MVA_IMPROVE_PAGE (object)->report_dir);
  G_OBJECT_CLASS (mva_improve_page_parent_class)->finalize (object);
}

static void
mva_improve_page_class_init (MvaImprovePageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = mva_improve_page_dispose;
  object_class->finalize = mva_improve_page_finalize;
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "mva-improve-page");

  gtk_widget_class_install_action (widget_class, "improve.start", NULL, start_action);
  gtk_widget_class_install_action (widget_class, "improve.cancel", NULL, cancel_action);
  gtk_widget_class_install_action (widget_class, "improve.adopt", NULL, adopt_action);
  gtk_widget_class_install_action (widget_class, "improve.discard", NULL, discard_action);
  gtk_widget_class_install_action (widget_class, "improve.restore", "x", restore_action);
  gtk_widget_class_install_action (widget_class, "improve.export-report", NULL, export_report_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_t, GDK_CONTROL_MASK, "improve.start", NULL);
}

static void
mva_improve_page_init (MvaImprovePage *self)
{
  self->state = g_intern_static_string ("idle");
  build (self);
  update_actions (self);
}

void
mva_improve_page_set_session (MvaImprovePage *self,
                              MvaSession     *session)
{
  g_return_if_fail (MVA_IS_IMPROVE_PAGE (self));
  g_return_if_fail (MVA_IS_SESSION (session));

  g_set_object (&self->session, session);
  g_signal_connect_object (session, "library-changed", G_CALLBACK (mva_improve_page_refresh), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (session, "notify::model-state", G_CALLBACK (mva_improve_page_refresh), self,
                           G_CONNECT_SWAPPED);
  mva_improve_page_refresh (self);
}

void
mva_improve_page_set_steps (MvaImprovePage *self,
                            guint64         steps)
{
  g_return_if_fail (MVA_IS_IMPROVE_PAGE (self));
  self->steps = steps;
}

const char *
mva_improve_page_get_state (MvaImprovePage *self)
{
  g_return_val_if_fail (MVA_IS_IMPROVE_PAGE (self), NULL);
  return self->state;
}

gint64
mva_improve_page_get_n_new (MvaImprovePage *self)
{
  g_return_val_if_fail (MVA_IS_IMPROVE_PAGE (self), 0);
  return self->n_new;
}

guint
mva_improve_page_get_n_loss_points (MvaImprovePage *self)
{
  g_return_val_if_fail (MVA_IS_IMPROVE_PAGE (self), 0);
  return mva_loss_plot_get_n_points (self->plot);
}

const char *
mva_improve_page_get_report_dir (MvaImprovePage *self)
{
  g_return_val_if_fail (MVA_IS_IMPROVE_PAGE (self), NULL);
  return self->report_dir;
}
