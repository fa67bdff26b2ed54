/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-window.c: the main window: GObject plumbing, loading micrographs in
 * a worker thread, the viewer's states (empty, loading, error, image) and
 * the window state in GSettings (see mva-window.h and mva-window-private.h).
 */
#include "config.h"

#define G_LOG_DOMAIN "mva-window"

#include <glib/gi18n.h>

#include "mva-preferences.h"
#include "mva-window-private.h"

/* Show the spinner only when a load takes longer than this, so small files
 * do not flash it. */
#define SPINNER_DELAY_MS 150

G_DEFINE_FINAL_TYPE (MvaWindow, mva_window, ADW_TYPE_APPLICATION_WINDOW)

enum { PROP_0, PROP_STATE, N_PROPS };
static GParamSpec *properties[N_PROPS];

static void
set_state (MvaWindow  *self,
           const char *state)
{
  if (g_strcmp0 (self->state, state) == 0)
    return;
  self->state = g_intern_static_string (state);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
}

static void
update_zoom_label (MvaWindow *self)
{
  g_autofree char *text = NULL;
  double zoom = mva_image_view_get_zoom (self->image_view);
  double percent = zoom * 100.0;

  if (mva_image_view_get_texture (self->image_view) == NULL)
    {
      gtk_label_set_label (self->zoom_label, "—");
      return;
    }
  if (percent >= 10.0)
    text = g_strdup_printf ("%.0f %%", percent);
  else
    text = g_strdup_printf ("%.1f %%", percent);
  if (mva_image_view_get_zoom_to_fit (self->image_view))
    {
      g_autofree char *fit = g_strdup_printf (_("Fit %s"), text);

      gtk_label_set_label (self->zoom_label, fit);
    }
  else
    gtk_label_set_label (self->zoom_label, text);
}

static gboolean
zoom_label_idle_cb (gpointer user_data)
{
  MvaWindow *self = MVA_WINDOW (user_data);

  self->zoom_label_idle_id = 0;
  update_zoom_label (self);
  return G_SOURCE_REMOVE;
}

/* The view changes its zoom while it is being allocated (fit mode); changing
 * a header-bar label right then would queue a resize in the middle of the
 * window's allocation, so the label follows from an idle. */
static void
queue_update_zoom_label (MvaWindow *self)
{
  if (self->zoom_label_idle_id == 0)
    /* Before the next frame's layout (GDK_PRIORITY_REDRAW is HIGH_IDLE + 20),
     * so the label keeps up even when drawing is slow. */
    self->zoom_label_idle_id = g_idle_add_full (G_PRIORITY_HIGH_IDLE + 10, zoom_label_idle_cb,
                                                self, NULL);
}

static void
update_actions (MvaWindow *self)
{
  gboolean has_image = self->image != NULL && g_strcmp0 (self->state, "image") == 0;

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.zoom-in", has_image);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.zoom-out", has_image);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.zoom-fit", has_image);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.zoom-actual", has_image);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.zoom-toggle", has_image);
}

/* --- loading ---------------------------------------------------------------------- */

void
_mva_load_result_free (MvaLoadResult *result)
{
  g_clear_pointer (&result->image, mva_image_free);
  g_clear_pointer (&result->rgb, g_bytes_unref);
  g_free (result);
}

static void
load_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  const char *path = task_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(MvaImage) image = NULL;
  MvaLoadResult *result;
  guint8 *rgb;

  image = mva_image_load (path, MVA_WINDOW_MAX_TEXTURE_SIDE, &error);
  if (image == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (image->width == 0 || image->height == 0)
    {
      g_task_return_new_error (task, MVA_IMAGE_ERROR, MVA_IMAGE_ERROR_CORRUPT,
                               _("The image has no pixels"));
      return;
    }
  if (g_task_return_error_if_cancelled (task))
    return;

  rgb = mva_image_to_rgb8 (image);
  if (rgb == NULL)
    {
      g_task_return_new_error (task, MVA_IMAGE_ERROR, MVA_IMAGE_ERROR_UNSUPPORTED,
                               _("The image could not be converted for display"));
      return;
    }
  result = g_new0 (MvaLoadResult, 1);
  result->rgb = g_bytes_new_take (rgb, (gsize) image->width * image->height * 3);
  result->image = g_steal_pointer (&image);
  g_task_return_pointer (task, result, (GDestroyNotify) _mva_load_result_free);
}

static gboolean
spinner_timeout_cb (gpointer user_data)
{
  MvaWindow *self = MVA_WINDOW (user_data);

  self->spinner_timeout_id = 0;
  gtk_spinner_start (self->spinner);
  gtk_stack_set_visible_child_name (self->view_stack, "loading");
  return G_SOURCE_REMOVE;
}

static void
stop_spinner (MvaWindow *self)
{
  g_clear_handle_id (&self->spinner_timeout_id, g_source_remove);
  gtk_spinner_stop (self->spinner);
}

static void
show_error (MvaWindow  *self,
            GFile      *file,
            const char *message)
{
  g_autofree char *name = file != NULL ? g_file_get_basename (file) : NULL;
  g_autofree char *escaped = g_markup_escape_text (message, -1);
  g_autofree char *title = NULL;

  g_set_object (&self->file, file);
  g_clear_pointer (&self->image, mva_image_free);
  g_free (self->error_text);
  self->error_text = g_strdup (message);

  /* Translators: %s is a file name */
  title = g_strdup_printf (_("Could Not Open “%s”"), name != NULL ? name : "");
  adw_status_page_set_title (self->error_page, title);
  adw_status_page_set_description (self->error_page, escaped);
  adw_window_title_set_subtitle (self->window_title, name != NULL ? name : "");
  mva_image_view_set_image (self->image_view, NULL, 0, 0);
  gtk_label_set_label (self->info_label, "");
  gtk_label_set_label (self->meta_label, "");
  gtk_widget_set_visible (self->info_bar, FALSE);
  queue_update_zoom_label (self);
  gtk_stack_set_visible_child_name (self->view_stack, "error");
  set_state (self, "error");
  update_actions (self);
  _mva_window_rebuild_recent_list (self);
}

static void
show_image (MvaWindow  *self,
            GFile      *file,
            MvaLoadResult *result)
{
  g_autoptr(GdkTexture) texture = NULL;
  g_autofree char *name = g_file_get_basename (file);
  g_autofree char *path = g_file_get_path (file);
  g_autofree char *info = NULL;
  g_autofree char *meta = NULL;
  MvaImage *image = result->image;

  texture = gdk_memory_texture_new ((int) image->width, (int) image->height,
                                    GDK_MEMORY_R8G8B8, result->rgb, (gsize) image->width * 3);

  g_set_object (&self->file, file);
  g_clear_pointer (&self->image, mva_image_free);
  self->image = g_steal_pointer (&result->image);
  g_clear_pointer (&self->error_text, g_free);

  mva_image_view_set_image (self->image_view, texture,
                            self->image->full_width > 0 ? self->image->full_width : self->image->width,
                            self->image->full_height > 0 ? self->image->full_height : self->image->height);
  mva_image_view_set_pixel_size_nm (self->image_view, self->image->meta.pixel_size_nm);
  mva_image_view_set_databar_height (self->image_view, (guint) MAX (self->image->meta.databar_height_px, 0));

  info = _mva_window_build_info_text (self->image);
  meta = _mva_window_build_meta_text (self->image);
  gtk_label_set_label (self->info_label, info);
  gtk_label_set_label (self->meta_label, meta);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->meta_label), meta);
  gtk_widget_set_visible (self->info_bar, TRUE);
  adw_window_title_set_subtitle (self->window_title, name);

  gtk_stack_set_visible_child_name (self->view_stack, "image");
  set_state (self, "image");
  update_actions (self);
  update_zoom_label (self);
  gtk_widget_grab_focus (GTK_WIDGET (self->image_view));

  if (path != NULL)
    mva_recent_add (self->recent, path);
  _mva_window_rebuild_recent_list (self);
}

/* What a load's callback gets. The task has no source object and holds the
 * window only weakly. A strong reference kept a closed window alive while a
 * load or thumbnail ran (closing a GTK 4 window only drops the toplevel's
 * reference, so dispose and its cancel never came): the callback then ran
 * on the destroyed window and started more work on it, and when the worker
 * dropped the last task reference after the main loop's, the window was
 * disposed and finalized in that worker thread, beside the main loop. Now
 * closing disposes the window at once (which cancels the load) and the
 * worker finishes into the void. */
typedef struct
{
  GWeakRef  window;
  GFile    *file;
} LoadJob;

static LoadJob *
load_job_new (MvaWindow *window,
              GFile     *file)
{
  LoadJob *job = g_new0 (LoadJob, 1);

  g_weak_ref_init (&job->window, window);
  job->file = g_object_ref (file);
  return job;
}

static void
load_job_free (LoadJob *job)
{
  g_weak_ref_clear (&job->window);
  g_object_unref (job->file);
  g_free (job);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LoadJob, load_job_free)

static void
load_done_cb (GObject      *source,
              GAsyncResult *res,
              gpointer      user_data)
{
  g_autoptr(LoadJob) job = user_data;
  g_autoptr(MvaWindow) self = g_weak_ref_get (&job->window);
  g_autoptr(GError) error = NULL;
  MvaLoadResult *result;

  result = g_task_propagate_pointer (G_TASK (res), &error);
  if (self == NULL || (result == NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)))
    {
      /* superseded by a newer load, or the window is going away */
      g_clear_pointer (&result, _mva_load_result_free);
      return;
    }

  stop_spinner (self);
  g_clear_object (&self->load_cancellable);

  if (result == NULL)
    show_error (self, job->file, error->message);
  else
    show_image (self, job->file, result);
  g_clear_pointer (&result, _mva_load_result_free);
}

/**
 * mva_window_open_file:
 * @file: a local file
 *
 * Starts loading @file in a worker thread; a load still running is dropped.
 * The window shows the image, or an error page with the reason.
 */
void
mva_window_open_file (MvaWindow *self,
                      GFile     *file)
{
  g_autoptr(GTask) task = NULL;
  g_autofree char *path = NULL;
  g_autofree char *name = NULL;
  g_autofree char *loading = NULL;

  g_return_if_fail (MVA_IS_WINDOW (self));
  g_return_if_fail (G_IS_FILE (file));

  if (self->load_cancellable != NULL)
    g_cancellable_cancel (self->load_cancellable);
  g_clear_object (&self->load_cancellable);
  stop_spinner (self);

  path = g_file_get_path (file);
  if (path == NULL)
    {
      g_autofree char *uri = g_file_get_uri (file);
      g_autofree char *msg = g_strdup_printf (_("Only local files can be opened: %s"), uri);

      show_error (self, file, msg);
      return;
    }

  name = g_file_get_basename (file);
  /* Translators: %s is a file name */
  loading = g_strdup_printf (_("Loading “%s”…"), name);
  gtk_label_set_label (self->loading_label, loading);
  set_state (self, "loading");
  update_actions (self);

  self->load_cancellable = g_cancellable_new ();
  task = g_task_new (NULL, self->load_cancellable, load_done_cb, load_job_new (self, file));
  g_task_set_source_tag (task, mva_window_open_file);
  g_task_set_name (task, "[mva-window] load");
  g_task_set_task_data (task, g_steal_pointer (&path), g_free);
  /* The loader cannot be interrupted; on cancel, answer at once and let the
   * thread finish into the void. */
  g_task_set_return_on_cancel (task, TRUE);
  g_task_run_in_thread (task, load_thread);

  self->spinner_timeout_id = g_timeout_add (SPINNER_DELAY_MS, spinner_timeout_cb, self);
}

/**
 * mva_window_open_files:
 *
 * Adds every file to the recent list (the first on top) and shows the first.
 */
void
mva_window_open_files (MvaWindow  *self,
                       GFile     **files,
                       int         n_files)
{
  int added = 0;

  g_return_if_fail (MVA_IS_WINDOW (self));

  if (n_files <= 0)
    return;
  for (int i = n_files - 1; i > 0; i--)
    {
      g_autofree char *path = g_file_get_path (files[i]);

      if (path != NULL && g_file_test (path, G_FILE_TEST_IS_REGULAR))
        {
          mva_recent_add (self->recent, path);
          added++;
        }
    }
  mva_window_open_file (self, files[0]);
  if (added > 0)
    {
      g_autofree char *title =
        g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                      "%d more micrograph is in the recent list",
                                      "%d more micrographs are in the recent list", added),
                         added);
      AdwToast *toast = adw_toast_new (title);

      adw_toast_set_timeout (toast, 3);
      adw_toast_overlay_add_toast (self->toast_overlay, toast);
    }
}

/* --- window state ---------------------------------------------------------------- */

static void
save_window_state (MvaWindow *self)
{
  int width, height;
  gboolean maximized = gtk_window_is_maximized (GTK_WINDOW (self));

  g_settings_delay (self->settings);
  if (!maximized && !gtk_window_is_fullscreen (GTK_WINDOW (self)))
    {
      gtk_window_get_default_size (GTK_WINDOW (self), &width, &height);
      if (width > 0 && height > 0)
        {
          g_settings_set_int (self->settings, "window-width", MAX (width, 360));
          g_settings_set_int (self->settings, "window-height", MAX (height, 294));
        }
    }
  g_settings_set_boolean (self->settings, "window-maximized", maximized);
  g_settings_apply (self->settings);
}

static gboolean
mva_window_close_request (GtkWindow *window)
{
  save_window_state (MVA_WINDOW (window));
  return GTK_WINDOW_CLASS (mva_window_parent_class)->close_request (window);
}

/* --- GObject ----------------------------------------------------------------------- */

static void
mva_window_constructed (GObject *object)
{
  MvaWindow *self = MVA_WINDOW (object);
  GtkApplication *app = gtk_window_get_application (GTK_WINDOW (self));
  g_autoptr(GAction) scale_bar_action = NULL;
  g_autoptr(GAction) sidebar_action = NULL;
  g_autoptr(GSimpleActionGroup) group = NULL;

  G_OBJECT_CLASS (mva_window_parent_class)->constructed (object);

  if (MVA_IS_APPLICATION (app) && mva_application_get_settings (MVA_APPLICATION (app)) != NULL)
    {
      self->settings = g_object_ref (mva_application_get_settings (MVA_APPLICATION (app)));
      self->recent = g_object_ref (mva_application_get_recent (MVA_APPLICATION (app)));
    }
  else
    {
      self->settings = g_settings_new (MVA_SCHEMA_ID);
      self->recent = mva_recent_new (self->settings);
    }

  gtk_window_set_default_size (GTK_WINDOW (self),
                               g_settings_get_int (self->settings, "window-width"),
                               g_settings_get_int (self->settings, "window-height"));
  if (g_settings_get_boolean (self->settings, "window-maximized"))
    gtk_window_maximize (GTK_WINDOW (self));

  /* Stateful toggles live in GSettings; expose them as win.* actions. */
  scale_bar_action = g_settings_create_action (self->settings, "show-scale-bar");
  sidebar_action = g_settings_create_action (self->settings, "show-sidebar");
  g_action_map_add_action (G_ACTION_MAP (self), scale_bar_action);
  g_action_map_add_action (G_ACTION_MAP (self), sidebar_action);
  g_settings_bind (self->settings, "show-scale-bar", self->image_view, "show-scale-bar",
                   G_SETTINGS_BIND_GET);
  g_settings_bind (self->settings, "show-sidebar", self->sidebar_revealer, "reveal-child",
                   G_SETTINGS_BIND_GET);

  g_signal_connect_object (self->recent, "changed", G_CALLBACK (_mva_window_rebuild_recent_list), self,
                           G_CONNECT_SWAPPED);
  _mva_window_rebuild_recent_list (self);
  update_actions (self);
  update_zoom_label (self);
  gtk_widget_set_visible (self->info_bar, FALSE);

  /* the assistant pages share one library and model */
  self->session = mva_session_new (self->settings);
  mva_heat_overlay_set_view (self->heat_overlay, self->image_view);
  mva_ask_panel_attach (self->ask_panel, self, self->session, self->heat_overlay);
  mva_library_view_set_session (self->library_view, self->session);
  mva_improve_page_set_session (self->improve_page, self->session);
  mva_session_load_model (self->session);
}

/* --- assistant pages ------------------------------------------------------------- */

static void
library_open_cb (MvaWindow      *self,
                 GFile          *file,
                 MvaLibraryView *view)
{
  gtk_stack_set_visible_child_name (self->main_stack, "viewer");
  mva_window_open_file (self, file);
}

static void
main_page_changed_cb (MvaWindow *self)
{
  const char *page = gtk_stack_get_visible_child_name (self->main_stack);

  /* zoom belongs to the image */
  gtk_widget_set_visible (self->zoom_box, g_strcmp0 (page, "viewer") == 0);
  if (g_strcmp0 (page, "library") == 0)
    mva_library_view_refresh (self->library_view);
  else if (g_strcmp0 (page, "improve") == 0)
    mva_improve_page_refresh (self->improve_page);
}

static void
show_page_action (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *parameter)
{
  MvaWindow *self = MVA_WINDOW (widget);

  gtk_stack_set_visible_child_name (self->main_stack, g_variant_get_string (parameter, NULL));
}

static void
preferences_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  MvaWindow *self = MVA_WINDOW (widget);

  gtk_window_present (mva_preferences_new (GTK_WINDOW (self), self->settings));
}

static void
mva_window_dispose (GObject *object)
{
  MvaWindow *self = MVA_WINDOW (object);

  if (self->load_cancellable != NULL)
    g_cancellable_cancel (self->load_cancellable);
  g_clear_object (&self->load_cancellable);
  g_clear_handle_id (&self->spinner_timeout_id, g_source_remove);
  g_clear_handle_id (&self->zoom_label_idle_id, g_source_remove);
  _mva_window_thumbnails_dispose (self);
  if (self->chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
  g_clear_object (&self->chooser);

  /* The settings actions outlive the window inside GSettings' signal
   * handlers; take them out so a later change does not reach a dead window. */
  g_action_map_remove_action (G_ACTION_MAP (self), "show-scale-bar");
  g_action_map_remove_action (G_ACTION_MAP (self), "show-sidebar");

  gtk_widget_dispose_template (GTK_WIDGET (self), MVA_TYPE_WINDOW);

  g_clear_object (&self->session);
  g_clear_object (&self->recent);
  g_clear_object (&self->settings);

  G_OBJECT_CLASS (mva_window_parent_class)->dispose (object);
}

static void
mva_window_finalize (GObject *object)
{
  MvaWindow *self = MVA_WINDOW (object);

  g_clear_object (&self->file);
  g_clear_pointer (&self->image, mva_image_free);
  g_clear_pointer (&self->error_text, g_free);
  g_clear_pointer (&self->thumbnails, g_hash_table_unref);

  G_OBJECT_CLASS (mva_window_parent_class)->finalize (object);
}

static void
mva_window_get_property (GObject    *object,
                         guint       prop_id,
                         GValue     *value,
                         GParamSpec *pspec)
{
  MvaWindow *self = MVA_WINDOW (object);

  switch (prop_id)
    {
    case PROP_STATE:
      g_value_set_string (value, self->state);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
mva_window_class_init (MvaWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->constructed = mva_window_constructed;
  object_class->dispose = mva_window_dispose;
  object_class->finalize = mva_window_finalize;
  object_class->get_property = mva_window_get_property;
  window_class->close_request = mva_window_close_request;

  properties[PROP_STATE] =
    g_param_spec_string ("state", NULL, NULL, "empty",
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_type_ensure (MVA_TYPE_IMAGE_VIEW);
  g_type_ensure (MVA_TYPE_HEAT_OVERLAY);
  g_type_ensure (MVA_TYPE_ASK_PANEL);
  g_type_ensure (MVA_TYPE_LIBRARY_VIEW);
  g_type_ensure (MVA_TYPE_IMPROVE_PAGE);
  gtk_widget_class_set_template_from_resource (widget_class, MVA_RESOURCE_PATH "/ui/mva-window.ui");
  gtk_widget_class_bind_template_child (widget_class, MvaWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, MvaWindow, window_title);
  gtk_widget_class_bind_template_child (widget_class, MvaWindow, zoom_label);
  gtk_widget_class_bind_template_child (widget_class, MvaWindow, sidebar_revealer);
  gtk_widget_class_bind_template_child (widget_class, MvaWindow, recent_stack);
  gtk_widget_class_bind_template_child (widget_class, MvaWindow, recent_list);
  gtk_widget_class_bind_template_child (widget_class, MvaWindow, main_stack);
  gtk_widget_class_bind_template_child (widget_class, MvaWindow, view_stack);
  gtk_widget_class_bind_template_child (widget_class, MvaWindow, spinner);
  gtk_widget_class_bind_template_child (widget_class, MvaWindow, loading_label);
  gtk_widget_class_bind_template_child (widget_class, MvaWindow, error_page);
  gtk_widget_class_bind_template_child (widget_class, MvaWindow, image_view);
  gtk_widget_class_bind_template_child (widget_class, MvaWindow, content_box);
  gtk_widget_class_bind_template_child (widget_class, MvaWindow, info_bar);
  gtk_widget_class_bind_template_child (widget_class, MvaWindow, info_label);
  gtk_widget_class_bind_template_child (widget_class, MvaWindow, meta_label);
  gtk_widget_class_bind_template_child (widget_class, MvaWindow, pointer_label);
  gtk_widget_class_bind_template_child (widget_class, MvaWindow, heat_overlay);
  gtk_widget_class_bind_template_child (widget_class, MvaWindow, ask_panel);
  gtk_widget_class_bind_template_child (widget_class, MvaWindow, library_view);
  gtk_widget_class_bind_template_child (widget_class, MvaWindow, improve_page);
  gtk_widget_class_bind_template_child (widget_class, MvaWindow, zoom_box);
  gtk_widget_class_bind_template_callback_full (widget_class, "recent_row_activated_cb",
                                                G_CALLBACK (_mva_window_recent_row_activated_cb));

  _mva_window_class_add_actions (widget_class);
  gtk_widget_class_install_action (widget_class, "win.show-page", "s", show_page_action);
  gtk_widget_class_install_action (widget_class, "win.preferences", NULL, preferences_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_1, GDK_ALT_MASK, "win.show-page", "s", "viewer");
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_2, GDK_ALT_MASK, "win.show-page", "s", "library");
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_3, GDK_ALT_MASK, "win.show-page", "s", "improve");
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_comma, GDK_CONTROL_MASK, "win.preferences", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_1, 0, "win.zoom-actual", NULL);
}

static void
mva_window_init (MvaWindow *self)
{
  GtkDropTarget *target;

  self->state = g_intern_static_string ("empty");
  _mva_window_thumbnails_init (self);
  gtk_widget_init_template (GTK_WIDGET (self));

  g_signal_connect_object (self->image_view, "pointer-moved",
                           G_CALLBACK (_mva_window_pointer_moved_cb),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->image_view, "notify::zoom", G_CALLBACK (queue_update_zoom_label),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->library_view, "open", G_CALLBACK (library_open_cb),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->main_stack, "notify::visible-child", G_CALLBACK (main_page_changed_cb),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->image_view, "notify::zoom-to-fit",
                           G_CALLBACK (queue_update_zoom_label), self, G_CONNECT_SWAPPED);

  target = gtk_drop_target_new (GDK_TYPE_FILE_LIST, GDK_ACTION_COPY);
  g_signal_connect (target, "drop", G_CALLBACK (_mva_window_drop_cb), self);
  gtk_widget_add_controller (self->content_box, GTK_EVENT_CONTROLLER (target));
}

/* --- public API -------------------------------------------------------------------- */

MvaWindow *
mva_window_new (MvaApplication *application)
{
  g_return_val_if_fail (MVA_IS_APPLICATION (application), NULL);
  return g_object_new (MVA_TYPE_WINDOW, "application", application, NULL);
}

/* "empty", "loading", "error" or "image". */
const char *
mva_window_get_state (MvaWindow *self)
{
  g_return_val_if_fail (MVA_IS_WINDOW (self), NULL);
  return self->state;
}

/* The file shown, or the one that failed to load; NULL before the first. */
GFile *
mva_window_get_file (MvaWindow *self)
{
  g_return_val_if_fail (MVA_IS_WINDOW (self), NULL);
  return self->file;
}

/* The micrograph shown, at full depth with its metadata; NULL when none. */
const MvaImage *
mva_window_get_image (MvaWindow *self)
{
  g_return_val_if_fail (MVA_IS_WINDOW (self), NULL);
  return self->image;
}

MvaImageView *
mva_window_get_image_view (MvaWindow *self)
{
  g_return_val_if_fail (MVA_IS_WINDOW (self), NULL);
  return self->image_view;
}

/* The reason the last load failed, as shown on the error page; NULL if it did not. */
const char *
mva_window_get_error_text (MvaWindow *self)
{
  g_return_val_if_fail (MVA_IS_WINDOW (self), NULL);
  return self->error_text;
}

/* The info bar's text (size, depth, format, instrument data, then the
 * pointer's position and pixel value). */
char *
mva_window_dup_info_text (MvaWindow *self)
{
  g_return_val_if_fail (MVA_IS_WINDOW (self), NULL);
  return g_strconcat (gtk_label_get_label (self->info_label), "  ·  ",
                      gtk_label_get_label (self->meta_label), "  ·  ",
                      gtk_label_get_label (self->pointer_label), NULL);
}
