/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-library-view.c: the Library page (see mva-library-view.h).
 */
#include "config.h"

#define G_LOG_DOMAIN "mva-library-view"

#include <adwaita.h>
#include <glib/gi18n.h>

#include "mva-toast.h"
#include "mva-library-view.h"
#include "mva-teacher.h"

/* A library can hold many thousands of images; the page lists the newest
 * ones matching the filters and says so when there are more. */
#define MAX_ROWS 500

struct _MvaLibraryView
{
  GtkWidget       parent_instance;

  MvaSession     *session;
  GtkWidget      *box;
  GtkDropDown    *category_dropdown;
  GtkDropDown    *review_dropdown;
  GtkSearchEntry *search_entry;
  GtkListBox     *list;
  GtkStack       *stack;
  GtkLabel       *count_label;
  GtkDropDown    *family_dropdown;
  GtkWidget      *batch_button;
  GtkWidget      *cancel_button;
  GtkWidget      *teach_button;
  GtkProgressBar *progress;
  guint           n_rows;
  gboolean        setting_filter;
  guint           refresh_generation;
  gboolean        refreshing;     /* a refresh is reading the library */

  /* batch */
  GPtrArray      *batch_items;     /* BatchItem*: images still to answer */
  guint           batch_total;
  guint           batch_done;
  guint           batch_failed;
  guint           batch_family;
  guint           generation;
  GCancellable   *batch_cancellable;
};

typedef struct
{
  gint64  id;        /* micrograph */
  char   *path;
  char   *category;  /* NULL unknown */
} BatchItem;

static void
batch_item_free (BatchItem *item)
{
  g_free (item->path);
  g_free (item->category);
  g_free (item);
}

enum { OPEN, N_SIGNALS };
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (MvaLibraryView, mva_library_view, GTK_TYPE_WIDGET)

static const guint review_masks[] = {
  0,
  MVA_REVIEW_MASK (MVA_REVIEW_NONE),
  MVA_REVIEW_MASK (MVA_REVIEW_ACCEPTED),
  MVA_REVIEW_MASK (MVA_REVIEW_CORRECTED),
  MVA_REVIEW_MASK (MVA_REVIEW_REJECTED),
  MVA_REVIEW_MASK_REVIEWED,
};

static void
update_actions (MvaLibraryView *self)
{
  gboolean running = self->batch_cancellable != NULL;
  g_autoptr(GList) selected = gtk_list_box_get_selected_rows (self->list);
  gboolean have_model = self->session != NULL && mva_session_get_model (self->session) != NULL;

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "library.batch",
                                 !running && selected != NULL && have_model);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "library.cancel-batch", running);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "library.teach", !running && selected != NULL);
  /* the teacher exists for the user only when an administrator enabled it */
  gtk_widget_set_visible (self->teach_button,
                          self->session != NULL
                          && g_settings_get_boolean (mva_session_get_settings (self->session),
                                                     "teacher-enabled"));
  gtk_widget_set_visible (self->batch_button, !running);
  gtk_widget_set_visible (self->cancel_button, running);
}

static gint64
count_pairs (MvaStore *store,
             gint64    micrograph_id,
             guint     review_mask)
{
  MvaQaFilter filter = { 0 };

  filter.micrograph_id = micrograph_id;
  filter.review_mask = review_mask;
  return mva_store_count_qa (store, &filter, NULL);
}

/* What the worker reads for one row. */
typedef struct
{
  gint64   reviewed;
  gint64   corrected;
  gboolean exists;
} RowFacts;

typedef struct
{
  char      *category;   /* filter: NULL any, "" uncategorised */
  guint      review_mask;
  char      *search;
  GPtrArray *images;     /* result: MvaMicrograph* */
  GArray    *facts;      /* result: RowFacts per image */
  gint64     total;
} RefreshData;

static void
refresh_data_free (RefreshData *d)
{
  g_free (d->category);
  g_free (d->search);
  g_clear_pointer (&d->images, g_ptr_array_unref);
  g_clear_pointer (&d->facts, g_array_unref);
  g_free (d);
}

static GtkWidget *
make_row (MvaMicrograph  *m,
          const RowFacts *facts)
{
  GtkWidget *row = adw_action_row_new ();
  g_autofree char *name = m->path != NULL ? g_path_get_basename (m->path) : g_strdup (m->sha256);
  g_autofree char *counts = g_strdup_printf (_("%" G_GINT64_FORMAT " answered · %" G_GINT64_FORMAT
                                               " reviewed · %" G_GINT64_FORMAT " corrected"),
                                             m->n_qa, facts->reviewed, facts->corrected);
  g_autofree char *subtitle = g_strdup_printf ("%s\n%s", counts, m->path != NULL ? m->path : "");
  GtkWidget *tag = gtk_label_new (m->category != NULL ? m->category : _("uncategorised"));

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), name);
  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
  adw_action_row_set_subtitle_lines (ADW_ACTION_ROW (row), 2);
  gtk_widget_add_css_class (tag, m->category != NULL ? "accent" : "dim-label");
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), tag);
  gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), TRUE);
  g_object_set_data_full (G_OBJECT (row), "path", g_strdup (m->path), g_free);
  g_object_set_data_full (G_OBJECT (row), "category", g_strdup (m->category), g_free);
  g_object_set_data (G_OBJECT (row), "id", GSIZE_TO_POINTER ((gsize) m->id));
  if (!facts->exists)
    gtk_widget_set_tooltip_text (row, _("The file is not at its recorded place"));
  return row;
}

/* Worker: the listing, the per-image counts and whether each file is there
 * (a library on a slow disk or network share must not block the window). */
static void
refresh_thread (GTask        *task,
                gpointer      source_object,
                gpointer      task_data,
                GCancellable *cancellable)
{
  RefreshData *d = task_data;
  MvaStore *store = g_object_get_data (G_OBJECT (task), "store");
  MvaMicrographFilter filter = { 0 };
  GError *error = NULL;

  filter.category = d->category;
  filter.review_mask = d->review_mask;
  filter.search = d->search;
  d->total = mva_store_count_micrographs (store, &filter, NULL);
  filter.limit = MAX_ROWS;
  d->images = mva_store_list_micrographs (store, &filter, &error);
  if (d->images == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  d->facts = g_array_sized_new (FALSE, TRUE, sizeof (RowFacts), d->images->len);
  for (guint i = 0; i < d->images->len; i++)
    {
      MvaMicrograph *m = g_ptr_array_index (d->images, i);
      RowFacts f;

      f.reviewed = count_pairs (store, m->id, MVA_REVIEW_MASK_REVIEWED | MVA_REVIEW_MASK (MVA_REVIEW_REJECTED));
      f.corrected = count_pairs (store, m->id, MVA_REVIEW_MASK (MVA_REVIEW_CORRECTED));
      f.exists = m->path != NULL && g_file_test (m->path, G_FILE_TEST_EXISTS);
      g_array_append_val (d->facts, f);
    }
  g_task_return_boolean (task, TRUE);
}

static void
refresh_done_cb (GObject      *source,
                 GAsyncResult *res,
                 gpointer      user_data)
{
  GWeakRef *ref = user_data;
  g_autoptr(MvaLibraryView) self = g_weak_ref_get (ref);
  g_autoptr(GError) error = NULL;
  RefreshData *d = g_task_get_task_data (G_TASK (res));
  guint generation = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (res), "generation"));
  GtkWidget *child;

  g_weak_ref_clear (ref);
  g_free (ref);
  if (self == NULL || generation != self->refresh_generation)
    return; /* gone, or a newer refresh is on its way */
  self->refreshing = FALSE;

  if (!g_task_propagate_boolean (G_TASK (res), &error))
    {
      g_autofree char *msg = g_strdup_printf (_("The library could not be read: %s"), error->message);

      mva_widget_show_toast (GTK_WIDGET (self), msg);
      update_actions (self);
      return;
    }
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->list))) != NULL)
    gtk_list_box_remove (self->list, child);
  for (guint i = 0; i < d->images->len; i++)
    gtk_list_box_append (self->list, make_row (g_ptr_array_index (d->images, i),
                                               &g_array_index (d->facts, RowFacts, i)));
  self->n_rows = d->images->len;
  {
    g_autofree char *text = NULL;

    if (d->total > (gint64) d->images->len)
      text = g_strdup_printf (_("%u of %" G_GINT64_FORMAT " images (the newest)"), d->images->len, d->total);
    else
      text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u image", "%u images", d->images->len),
                              d->images->len);
    gtk_label_set_label (self->count_label, text);
  }
  gtk_stack_set_visible_child_name (self->stack, d->images->len > 0 ? "list" : "empty");
  update_actions (self);
}

/**
 * mva_library_view_refresh:
 *
 * Re-reads the list in a worker thread; mva_library_view_is_refreshing ()
 * is TRUE until the rows are there.
 */
void
mva_library_view_refresh (MvaLibraryView *self)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GTask) task = NULL;
  RefreshData *d;
  MvaStore *store;
  guint cat_pos, review_pos;
  const char *search;
  GWeakRef *ref;

  g_return_if_fail (MVA_IS_LIBRARY_VIEW (self));
  if (self->session == NULL)
    return;

  store = mva_session_get_store (self->session, &error);
  if (store == NULL)
    {
      g_autofree char *msg = g_strdup_printf (_("The library cannot be opened: %s"), error->message);
      GtkWidget *child;

      while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->list))) != NULL)
        gtk_list_box_remove (self->list, child);
      self->n_rows = 0;
      self->refreshing = FALSE;
      gtk_label_set_label (self->count_label, msg);
      gtk_stack_set_visible_child_name (self->stack, "empty");
      update_actions (self);
      return;
    }

  d = g_new0 (RefreshData, 1);
  cat_pos = gtk_drop_down_get_selected (self->category_dropdown);
  if (cat_pos >= 1 && cat_pos <= MVA_ASSISTANT_N_CATEGORIES)
    d->category = g_strdup (mva_assistant_category_name (cat_pos - 1));
  else if (cat_pos == MVA_ASSISTANT_N_CATEGORIES + 1)
    d->category = g_strdup ("");
  review_pos = gtk_drop_down_get_selected (self->review_dropdown);
  d->review_mask = review_pos < G_N_ELEMENTS (review_masks) ? review_masks[review_pos] : 0;
  search = gtk_editable_get_text (GTK_EDITABLE (self->search_entry));
  d->search = search[0] != '\0' ? g_strdup (search) : NULL;

  self->refresh_generation++;
  self->refreshing = TRUE;
  ref = g_new0 (GWeakRef, 1);
  g_weak_ref_init (ref, self);
  task = g_task_new (NULL, NULL, refresh_done_cb, ref);
  g_task_set_name (task, "[mva-library-view] refresh");
  g_object_set_data (G_OBJECT (task), "generation", GUINT_TO_POINTER (self->refresh_generation));
  g_object_set_data_full (G_OBJECT (task), "store", mva_store_ref (store),
                          (GDestroyNotify) mva_store_unref);
  g_task_set_task_data (task, d, (GDestroyNotify) refresh_data_free);
  g_task_run_in_thread (task, refresh_thread);
}

gboolean
mva_library_view_is_refreshing (MvaLibraryView *self)
{
  g_return_val_if_fail (MVA_IS_LIBRARY_VIEW (self), FALSE);
  return self->refreshing;
}

static void
row_activated_cb (MvaLibraryView *self,
                  GtkListBoxRow  *row)
{
  const char *path = g_object_get_data (G_OBJECT (row), "path");
  g_autoptr(GFile) file = NULL;

  if (path == NULL || !g_file_test (path, G_FILE_TEST_EXISTS))
    {
      mva_widget_show_toast (GTK_WIDGET (self), _("The file is no longer at its recorded place"));
      return;
    }
  file = g_file_new_for_path (path);
  g_signal_emit (self, signals[OPEN], 0, file);
}

/* --- batch ------------------------------------------------------------------------------ */

typedef struct
{
  GWeakRef   view;
  guint      generation;
  BatchItem *item;
} Job;

static void
job_free (Job *job)
{
  g_weak_ref_clear (&job->view);
  batch_item_free (job->item);
  g_free (job);
}

static void batch_next (MvaLibraryView *self);

static void
batch_progress (MvaLibraryView *self)
{
  g_autofree char *text = g_strdup_printf (_("%u of %u answered"), self->batch_done, self->batch_total);

  gtk_progress_bar_set_fraction (self->progress,
                                 self->batch_total > 0 ? (double) self->batch_done / self->batch_total : 0);
  gtk_progress_bar_set_text (self->progress, text);
}

static void
batch_finish (MvaLibraryView *self,
              const char     *message)
{
  g_clear_object (&self->batch_cancellable);
  g_ptr_array_set_size (self->batch_items, 0);
  mva_widget_show_toast (GTK_WIDGET (self), message);
  mva_session_library_changed (self->session);
  update_actions (self);
}

static void
batch_answer_cb (GObject      *source,
                 GAsyncResult *res,
                 gpointer      user_data)
{
  Job *job = user_data;
  g_autoptr(MvaLibraryView) self = g_weak_ref_get (&job->view);
  g_autoptr(GError) error = NULL;
  g_autoptr(MvaAnswer) answer = mva_assistant_ask_finish (res, &error);

  if (self == NULL || self->generation != job->generation)
    {
      job_free (job);
      return;
    }
  if (answer == NULL && g_error_matches (error, MVA_ASSISTANT_ERROR, MVA_ASSISTANT_ERROR_CANCELLED))
    {
      g_autofree char *msg = g_strdup_printf (_("Batch stopped after %u of %u images"),
                                              self->batch_done, self->batch_total);
      batch_finish (self, msg);
      job_free (job);
      return;
    }
  if (answer != NULL)
    {
      MvaStore *store = mva_session_get_store (self->session, NULL);

      if (store == NULL || mva_assistant_record_answer (store, job->item->id, answer, &error) <= 0)
        self->batch_failed++;
    }
  else
    {
      g_debug ("batch: %s: %s", job->item->path, error->message);
      self->batch_failed++;
    }
  self->batch_done++;
  batch_progress (self);
  job_free (job);
  batch_next (self);
}

static void
batch_next (MvaLibraryView *self)
{
  MvaAssistantModel *model = mva_session_get_model (self->session);
  MvaAskRequest request = { 0 };
  Job *job;

  if (self->batch_items->len == 0 || model == NULL)
    {
      g_autofree char *msg = NULL;

      if (self->batch_failed > 0)
        msg = g_strdup_printf (_("Batch done: %u answered, %u failed"),
                               self->batch_done - self->batch_failed, self->batch_failed);
      else
        msg = g_strdup_printf (_("Batch done: %u answered"), self->batch_done);
      batch_finish (self, msg);
      return;
    }
  job = g_new0 (Job, 1);
  g_weak_ref_init (&job->view, self);
  job->generation = self->generation;
  job->item = g_ptr_array_steal_index (self->batch_items, 0);
  request.family = self->batch_family;
  /* the library's category of the image, when it has one, goes into the caption */
  request.category = job->item->category;
  mva_assistant_ask_async (model, job->item->path, &request, NULL, NULL, self->batch_cancellable,
                           batch_answer_cb, job);
}

void
mva_library_view_run_batch (MvaLibraryView *self,
                            guint           family)
{
  g_autoptr(GList) selected = NULL;

  g_return_if_fail (MVA_IS_LIBRARY_VIEW (self));
  g_return_if_fail (family >= 1 && family <= MVA_ASSISTANT_N_FAMILIES);

  if (self->batch_cancellable != NULL || self->session == NULL)
    return;
  if (mva_session_get_model (self->session) == NULL)
    {
      mva_widget_show_toast (GTK_WIDGET (self), _("No model is loaded"));
      return;
    }
  selected = gtk_list_box_get_selected_rows (self->list);
  g_ptr_array_set_size (self->batch_items, 0);
  for (GList *l = selected; l != NULL; l = l->next)
    {
      const char *path = g_object_get_data (G_OBJECT (l->data), "path");

      if (path != NULL && g_file_test (path, G_FILE_TEST_IS_REGULAR))
        {
          BatchItem *item = g_new0 (BatchItem, 1);

          item->id = (gint64) GPOINTER_TO_SIZE (g_object_get_data (G_OBJECT (l->data), "id"));
          item->path = g_strdup (path);
          item->category = g_strdup (g_object_get_data (G_OBJECT (l->data), "category"));
          g_ptr_array_add (self->batch_items, item);
        }
    }
  if (self->batch_items->len == 0)
    {
      mva_widget_show_toast (GTK_WIDGET (self), _("Select images whose files are present"));
      return;
    }
  self->generation++;
  self->batch_family = family;
  self->batch_total = self->batch_items->len;
  self->batch_done = 0;
  self->batch_failed = 0;
  self->batch_cancellable = g_cancellable_new ();
  gtk_widget_set_visible (GTK_WIDGET (self->progress), TRUE);
  batch_progress (self);
  update_actions (self);
  batch_next (self);
}

static void
batch_action (GtkWidget  *widget,
              const char *action_name,
              GVariant   *parameter)
{
  MvaLibraryView *self = MVA_LIBRARY_VIEW (widget);

  mva_library_view_run_batch (self, gtk_drop_down_get_selected (self->family_dropdown) + 1);
}

static void
cancel_batch_action (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *parameter)
{
  MvaLibraryView *self = MVA_LIBRARY_VIEW (widget);

  if (self->batch_cancellable != NULL)
    g_cancellable_cancel (self->batch_cancellable);
}

/* --- teacher ---------------------------------------------------------------------------- */

static void
teach_progress_cb (const MvaTeacherStats *stats,
                   gpointer               data)
{
  g_autoptr(MvaLibraryView) self = g_weak_ref_get (data);
  g_autofree char *text = NULL;
  guint64 done;

  if (self == NULL)
    return;
  done = stats->ok + stats->failed;
  text = g_strdup_printf (_("Teacher: %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT " answers (%"
                            G_GUINT64_FORMAT " failed)"),
                          done, stats->requests_total - stats->skipped, stats->failed);
  gtk_progress_bar_set_text (self->progress, text);
  if (stats->requests_total > stats->skipped)
    gtk_progress_bar_set_fraction (self->progress,
                                   (double) done / (stats->requests_total - stats->skipped));
}

static void
weak_ref_free (gpointer data)
{
  g_weak_ref_clear (data);
  g_free (data);
}

static void
teach_done_cb (GObject      *source,
               GAsyncResult *res,
               gpointer      user_data)
{
  GWeakRef *ref = user_data;
  g_autoptr(MvaLibraryView) self = g_weak_ref_get (ref);
  g_autoptr(GError) error = NULL;
  MvaTeacherStats stats = { 0 };
  gboolean ok = mva_teacher_run_finish (res, &stats, &error);

  weak_ref_free (ref);
  if (self == NULL)
    return;
  if (!ok && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_autofree char *msg = g_strdup_printf (_("The teacher stopped: %s"), error->message);
      batch_finish (self, msg);
    }
  else
    {
      g_autofree char *msg = g_strdup_printf (_("Teacher: %" G_GUINT64_FORMAT " answered, %"
                                                G_GUINT64_FORMAT " pairs added, %" G_GUINT64_FORMAT
                                                " failed%s"),
                                              stats.ok, stats.pairs_added, stats.failed,
                                              stats.cancelled ? _(" (stopped)") : "");
      batch_finish (self, msg);
    }
}

typedef struct
{
  GWeakRef          view;
  MvaTeacherConfig *config;
  GPtrArray        *micrographs;
} TeachConfirm;

static void
teach_confirm_free (TeachConfirm *c)
{
  g_weak_ref_clear (&c->view);
  mva_teacher_config_free (c->config);
  g_ptr_array_unref (c->micrographs);
  g_free (c);
}

static void
teach_response_cb (AdwMessageDialog *dialog,
                   const char       *response,
                   TeachConfirm     *c)
{
  g_autoptr(MvaLibraryView) self = g_weak_ref_get (&c->view);
  MvaStore *store;
  GWeakRef *progress_ref, *done_ref;

  if (self == NULL || g_strcmp0 (response, "send") != 0 || self->batch_cancellable != NULL)
    return;
  store = mva_session_get_store (self->session, NULL);
  if (store == NULL)
    return;
  progress_ref = g_new0 (GWeakRef, 1);
  g_weak_ref_init (progress_ref, self);
  done_ref = g_new0 (GWeakRef, 1);
  g_weak_ref_init (done_ref, self);
  self->generation++;
  self->batch_cancellable = g_cancellable_new ();
  gtk_widget_set_visible (GTK_WIDGET (self->progress), TRUE);
  gtk_progress_bar_set_fraction (self->progress, 0.0);
  gtk_progress_bar_set_text (self->progress, _("Teacher: starting…"));
  update_actions (self);
  mva_teacher_run_async (store, c->config, NULL, c->micrographs, MVA_TEACHER_ALL_FAMILIES,
                         self->batch_cancellable, teach_progress_cb, progress_ref, weak_ref_free,
                         teach_done_cb, done_ref);
}

/* Before the first request: which host receives which images, and ask. */
static void
teach_action (GtkWidget  *widget,
              const char *action_name,
              GVariant   *parameter)
{
  MvaLibraryView *self = MVA_LIBRARY_VIEW (widget);
  g_autoptr(GError) error = NULL;
  g_autoptr(MvaTeacherConfig) config = mva_teacher_config_new ();
  g_autoptr(MvaTeacherPlan) plan = NULL;
  g_autoptr(GPtrArray) micrographs = g_ptr_array_new_with_free_func ((GDestroyNotify) mva_micrograph_free);
  g_autoptr(GList) selected = gtk_list_box_get_selected_rows (self->list);
  g_autofree char *heading = NULL;
  g_autofree char *body = NULL;
  MvaStore *store = mva_session_get_store (self->session, &error);
  AdwMessageDialog *dialog;
  TeachConfirm *c;

  if (store == NULL)
    {
      mva_widget_show_toast (GTK_WIDGET (self), error->message);
      return;
    }
  if (!mva_teacher_config_load (config, &error))
    {
      g_autofree char *msg = g_strdup_printf (_("The teacher settings cannot be read: %s"), error->message);
      mva_widget_show_toast (GTK_WIDGET (self), msg);
      return;
    }
  mva_teacher_config_apply_settings (config, mva_session_get_settings (self->session), NULL);
  if (!mva_teacher_config_validate (config, &error))
    {
      g_autofree char *msg = g_strdup_printf (_("The teacher cannot run: %s"), error->message);
      mva_widget_show_toast (GTK_WIDGET (self), msg);
      return;
    }
  for (GList *l = selected; l != NULL; l = l->next)
    {
      gint64 id = (gint64) GPOINTER_TO_SIZE (g_object_get_data (G_OBJECT (l->data), "id"));
      MvaMicrograph *m = id > 0 ? mva_store_get_micrograph (store, id, NULL) : NULL;

      if (m != NULL)
        g_ptr_array_add (micrographs, m);
    }
  plan = mva_teacher_plan_new (store, config, micrographs, MVA_TEACHER_ALL_FAMILIES, &error);
  if (plan == NULL)
    {
      g_autofree char *msg = g_strdup_printf (_("The teacher cannot run: %s"), error->message);
      mva_widget_show_toast (GTK_WIDGET (self), msg);
      return;
    }
  if (plan->n_requests == 0)
    {
      mva_widget_show_toast (GTK_WIDGET (self), _("The teacher has already answered every family for these images"));
      return;
    }

  heading = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "Send %u Image to %s?",
                                          "Send %u Images to %s?", plan->micrographs->len),
                             plan->micrographs->len, plan->host);
  body = g_strdup_printf (_("%" G_GUINT64_FORMAT " requests go to %s (%" G_GUINT64_FORMAT
                            " already answered are skipped). Each carries one image as pixels only: "
                            "without its data bar, file name or metadata, at most %u pixels on its "
                            "longer side. About %" G_GINT64_FORMAT " prompt tokens and up to %"
                            G_GINT64_FORMAT " answer tokens."),
                          plan->n_requests, plan->url, plan->n_skipped, config->max_side,
                          plan->estimated_prompt_tokens, plan->max_completion_tokens);
  dialog = ADW_MESSAGE_DIALOG (adw_message_dialog_new (GTK_WINDOW (gtk_widget_get_root (widget)),
                                                       heading, body));
  adw_message_dialog_add_responses (dialog, "cancel", _("_Cancel"), "send", _("_Send"), NULL);
  adw_message_dialog_set_response_appearance (dialog, "send", ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (dialog, "cancel");
  adw_message_dialog_set_close_response (dialog, "cancel");
  c = g_new0 (TeachConfirm, 1);
  g_weak_ref_init (&c->view, self);
  c->config = g_steal_pointer (&config);
  c->micrographs = g_ptr_array_ref (plan->micrographs);
  g_signal_connect_data (dialog, "response", G_CALLBACK (teach_response_cb), c,
                         (GClosureNotify) (void (*) (void)) teach_confirm_free, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
refresh_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  mva_library_view_refresh (MVA_LIBRARY_VIEW (widget));
}

/* --- construction ---------------------------------------------------------------------- */

static void
filter_changed_cb (MvaLibraryView *self)
{
  if (!self->setting_filter)
    mva_library_view_refresh (self);
}

static void
build (MvaLibraryView *self)
{
  GtkStringList *categories = gtk_string_list_new (NULL);
  GtkStringList *states = gtk_string_list_new (NULL);
  GtkStringList *families = gtk_string_list_new (NULL);
  GtkWidget *bar, *scroller, *status, *button, *clamp;

  self->box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);

  gtk_string_list_append (categories, _("All categories"));
  for (guint i = 0; i < MVA_ASSISTANT_N_CATEGORIES; i++)
    gtk_string_list_append (categories, mva_assistant_category_name (i));
  gtk_string_list_append (categories, _("Uncategorised"));
  gtk_string_list_append (states, _("Any review state"));
  gtk_string_list_append (states, _("Not reviewed"));
  gtk_string_list_append (states, _("Accepted"));
  gtk_string_list_append (states, _("Corrected"));
  gtk_string_list_append (states, _("Rejected"));
  gtk_string_list_append (states, _("Accepted or corrected"));
  for (guint f = 1; f <= MVA_ASSISTANT_N_FAMILIES; f++)
    {
      g_autofree char *item = g_strdup_printf ("%u · %s", f, mva_assistant_family_label (f));

      gtk_string_list_append (families, item);
    }

  /* filters */
  bar = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  gtk_widget_add_css_class (bar, "toolbar");
  self->category_dropdown = GTK_DROP_DOWN (gtk_drop_down_new (G_LIST_MODEL (categories), NULL));
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->category_dropdown), _("Filter by category"));
  self->review_dropdown = GTK_DROP_DOWN (gtk_drop_down_new (G_LIST_MODEL (states), NULL));
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->review_dropdown),
                               _("Images with at least one answer in this state"));
  self->search_entry = GTK_SEARCH_ENTRY (gtk_search_entry_new ());
  gtk_widget_set_hexpand (GTK_WIDGET (self->search_entry), TRUE);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->search_entry), _("Search file names"));
  g_signal_connect_swapped (self->category_dropdown, "notify::selected", G_CALLBACK (filter_changed_cb), self);
  g_signal_connect_swapped (self->review_dropdown, "notify::selected", G_CALLBACK (filter_changed_cb), self);
  g_signal_connect_swapped (self->search_entry, "search-changed", G_CALLBACK (filter_changed_cb), self);
  button = gtk_button_new_from_icon_name ("view-refresh-symbolic");
  gtk_actionable_set_action_name (GTK_ACTIONABLE (button), "library.refresh");
  gtk_widget_set_tooltip_text (button, _("Refresh (F5)"));
  gtk_box_append (GTK_BOX (bar), GTK_WIDGET (self->category_dropdown));
  gtk_box_append (GTK_BOX (bar), GTK_WIDGET (self->review_dropdown));
  gtk_box_append (GTK_BOX (bar), GTK_WIDGET (self->search_entry));
  gtk_box_append (GTK_BOX (bar), button);
  gtk_box_append (GTK_BOX (self->box), bar);

  /* list */
  self->stack = GTK_STACK (gtk_stack_new ());
  gtk_widget_set_vexpand (GTK_WIDGET (self->stack), TRUE);
  self->list = GTK_LIST_BOX (gtk_list_box_new ());
  gtk_list_box_set_selection_mode (self->list, GTK_SELECTION_MULTIPLE);
  gtk_list_box_set_activate_on_single_click (self->list, FALSE);
  gtk_widget_add_css_class (GTK_WIDGET (self->list), "boxed-list");
  gtk_widget_set_name (GTK_WIDGET (self->list), "library-list");
  gtk_widget_set_valign (GTK_WIDGET (self->list), GTK_ALIGN_START);
  gtk_widget_set_margin_top (GTK_WIDGET (self->list), 12);
  gtk_widget_set_margin_bottom (GTK_WIDGET (self->list), 12);
  g_signal_connect_swapped (self->list, "row-activated", G_CALLBACK (row_activated_cb), self);
  g_signal_connect_swapped (self->list, "selected-rows-changed", G_CALLBACK (update_actions), self);
  clamp = adw_clamp_new ();
  adw_clamp_set_maximum_size (ADW_CLAMP (clamp), 900);
  adw_clamp_set_child (ADW_CLAMP (clamp), GTK_WIDGET (self->list));
  scroller = gtk_scrolled_window_new ();
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (scroller), GTK_POLICY_NEVER, GTK_POLICY_AUTOMATIC);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scroller), clamp);
  gtk_stack_add_named (self->stack, scroller, "list");
  status = adw_status_page_new ();
  adw_status_page_set_icon_name (ADW_STATUS_PAGE (status), "folder-pictures-symbolic");
  adw_status_page_set_title (ADW_STATUS_PAGE (status), _("No Images"));
  adw_status_page_set_description (ADW_STATUS_PAGE (status),
                                   _("Images you ask about are added to the library. "
                                     "Import folders with “mvaema-cli import”."));
  gtk_stack_add_named (self->stack, status, "empty");
  gtk_box_append (GTK_BOX (self->box), GTK_WIDGET (self->stack));

  /* batch */
  bar = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  gtk_widget_add_css_class (bar, "toolbar");
  self->count_label = GTK_LABEL (gtk_label_new (""));
  gtk_widget_add_css_class (GTK_WIDGET (self->count_label), "dim-label");
  gtk_box_append (GTK_BOX (bar), GTK_WIDGET (self->count_label));
  self->progress = GTK_PROGRESS_BAR (gtk_progress_bar_new ());
  gtk_progress_bar_set_show_text (self->progress, TRUE);
  gtk_widget_set_hexpand (GTK_WIDGET (self->progress), TRUE);
  gtk_widget_set_valign (GTK_WIDGET (self->progress), GTK_ALIGN_CENTER);
  gtk_widget_set_visible (GTK_WIDGET (self->progress), FALSE);
  gtk_box_append (GTK_BOX (bar), GTK_WIDGET (self->progress));
  {
    GtkWidget *spacer = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 0);

    gtk_widget_set_hexpand (spacer, TRUE);
    gtk_box_append (GTK_BOX (bar), spacer);
  }
  gtk_box_append (GTK_BOX (bar), gtk_label_new (_("Ask the selected images:")));
  self->family_dropdown = GTK_DROP_DOWN (gtk_drop_down_new (G_LIST_MODEL (families), NULL));
  gtk_box_append (GTK_BOX (bar), GTK_WIDGET (self->family_dropdown));
  self->batch_button = gtk_button_new_with_mnemonic (_("_Run"));
  gtk_actionable_set_action_name (GTK_ACTIONABLE (self->batch_button), "library.batch");
  gtk_widget_add_css_class (self->batch_button, "suggested-action");
  gtk_widget_set_tooltip_text (self->batch_button,
                               _("Answer this question for every selected image (Ctrl+A selects all)"));
  self->cancel_button = gtk_button_new_with_mnemonic (_("_Cancel"));
  gtk_actionable_set_action_name (GTK_ACTIONABLE (self->cancel_button), "library.cancel-batch");
  gtk_box_append (GTK_BOX (bar), self->batch_button);
  gtk_box_append (GTK_BOX (bar), self->cancel_button);
  self->teach_button = gtk_button_new_with_mnemonic (_("_Teach…"));
  gtk_actionable_set_action_name (GTK_ACTIONABLE (self->teach_button), "library.teach");
  gtk_widget_set_tooltip_text (self->teach_button,
                               _("Ask the remote teacher the 10 families about the selected images"));
  gtk_box_append (GTK_BOX (bar), self->teach_button);
  gtk_box_append (GTK_BOX (self->box), bar);

  gtk_widget_set_parent (self->box, GTK_WIDGET (self));
}

static void
mva_library_view_dispose (GObject *object)
{
  MvaLibraryView *self = MVA_LIBRARY_VIEW (object);

  self->generation++;
  self->refresh_generation++;
  if (self->batch_cancellable != NULL)
    g_cancellable_cancel (self->batch_cancellable);
  g_clear_object (&self->batch_cancellable);
  if (self->session != NULL)
    g_signal_handlers_disconnect_by_data (self->session, self);
  g_clear_object (&self->session);
  g_clear_pointer (&self->box, gtk_widget_unparent);
  G_OBJECT_CLASS (mva_library_view_parent_class)->dispose (object);
}

static void
mva_library_view_finalize (GObject *object)
{
  g_ptr_array_unref (MVA_LIBRARY_VIEW (object)->batch_items);
  G_OBJECT_CLASS (mva_library_view_parent_class)->finalize (object);
}

static void
mva_library_view_class_init (MvaLibraryViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = mva_library_view_dispose;
  object_class->finalize = mva_library_view_finalize;
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "mva-library-view");

  /* open (GFile): the user wants to see this image in the viewer */
  signals[OPEN] = g_signal_new ("open", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_FILE);

  gtk_widget_class_install_action (widget_class, "library.refresh", NULL, refresh_action);
  gtk_widget_class_install_action (widget_class, "library.batch", NULL, batch_action);
  gtk_widget_class_install_action (widget_class, "library.cancel-batch", NULL, cancel_batch_action);
  gtk_widget_class_install_action (widget_class, "library.teach", NULL, teach_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_F5, 0, "library.refresh", NULL);
}

static void
mva_library_view_init (MvaLibraryView *self)
{
  self->batch_items = g_ptr_array_new_with_free_func ((GDestroyNotify) batch_item_free);
  build (self);
  update_actions (self);
}

void
mva_library_view_set_session (MvaLibraryView *self,
                              MvaSession     *session)
{
  g_return_if_fail (MVA_IS_LIBRARY_VIEW (self));
  g_return_if_fail (MVA_IS_SESSION (session));

  g_set_object (&self->session, session);
  g_signal_connect_object (session, "library-changed", G_CALLBACK (mva_library_view_refresh), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (session, "notify::model-state", G_CALLBACK (update_actions), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (mva_session_get_settings (session), "changed::teacher-enabled",
                           G_CALLBACK (update_actions), self, G_CONNECT_SWAPPED);
  update_actions (self);
}

guint
mva_library_view_get_n_rows (MvaLibraryView *self)
{
  g_return_val_if_fail (MVA_IS_LIBRARY_VIEW (self), 0);
  return self->n_rows;
}

void
mva_library_view_set_filter (MvaLibraryView *self,
                             const char     *category,
                             guint           review_mask)
{
  guint cat_pos = 0, review_pos = 0, index;

  g_return_if_fail (MVA_IS_LIBRARY_VIEW (self));
  if (category != NULL && category[0] == '\0')
    cat_pos = MVA_ASSISTANT_N_CATEGORIES + 1;
  else if (category != NULL && mva_assistant_category_index (category, &index))
    cat_pos = index + 1;
  for (guint i = 0; i < G_N_ELEMENTS (review_masks); i++)
    if (review_masks[i] == review_mask)
      review_pos = i;
  self->setting_filter = TRUE;
  gtk_drop_down_set_selected (self->category_dropdown, cat_pos);
  gtk_drop_down_set_selected (self->review_dropdown, review_pos);
  self->setting_filter = FALSE;
  mva_library_view_refresh (self);
}

void
mva_library_view_select_all (MvaLibraryView *self)
{
  g_return_if_fail (MVA_IS_LIBRARY_VIEW (self));
  gtk_list_box_select_all (self->list);
}

gboolean
mva_library_view_is_batch_running (MvaLibraryView *self)
{
  g_return_val_if_fail (MVA_IS_LIBRARY_VIEW (self), FALSE);
  return self->batch_cancellable != NULL;
}

guint
mva_library_view_get_batch_done (MvaLibraryView *self)
{
  g_return_val_if_fail (MVA_IS_LIBRARY_VIEW (self), 0);
  return self->batch_done;
}
