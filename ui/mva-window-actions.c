/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-window-actions.c: win.* actions, keyboard shortcuts, the Open dialog and drag and drop (see mva-window-private.h).
 */
#include "config.h"

#define G_LOG_DOMAIN "mva-window"

#include <glib/gi18n.h>

#include "mva-window-private.h"

/* --- actions -------------------------------------------------------------------- */

static void
chooser_response_cb (MvaWindow            *self,
                     int                   response,
                     GtkFileChooserNative *chooser)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GListModel) files = gtk_file_chooser_get_files (GTK_FILE_CHOOSER (chooser));
      guint n = g_list_model_get_n_items (files);
      g_autoptr(GPtrArray) array = g_ptr_array_new_with_free_func (g_object_unref);

      for (guint i = 0; i < n; i++)
        g_ptr_array_add (array, g_list_model_get_item (files, i));
      mva_window_open_files (self, (GFile **) array->pdata, (int) array->len);
    }
  g_clear_object (&self->chooser);
}

static void
open_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  MvaWindow *self = MVA_WINDOW (widget);
  GtkFileFilter *filter;

  if (self->chooser != NULL)
    {
      gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
      return;
    }
  self->chooser = gtk_file_chooser_native_new (_("Open a Micrograph"), GTK_WINDOW (self),
                                               GTK_FILE_CHOOSER_ACTION_OPEN,
                                               _("_Open"), _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->chooser), TRUE);
  gtk_file_chooser_set_select_multiple (GTK_FILE_CHOOSER (self->chooser), TRUE);

  filter = gtk_file_filter_new ();
  gtk_file_filter_set_name (filter, _("Micrographs"));
  gtk_file_filter_add_mime_type (filter, "image/tiff");
  gtk_file_filter_add_mime_type (filter, "image/png");
  gtk_file_filter_add_mime_type (filter, "image/jpeg");
  gtk_file_filter_add_suffix (filter, "dm3");
  gtk_file_filter_add_suffix (filter, "dm4");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (self->chooser), filter);
  g_object_unref (filter);
  filter = gtk_file_filter_new ();
  gtk_file_filter_set_name (filter, _("All Files"));
  gtk_file_filter_add_pattern (filter, "*");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (self->chooser), filter);
  g_object_unref (filter);

  if (self->file != NULL)
    {
      g_autoptr(GFile) parent = g_file_get_parent (self->file);

      if (parent != NULL)
        gtk_file_chooser_set_current_folder (GTK_FILE_CHOOSER (self->chooser), parent, NULL);
    }
  g_signal_connect_swapped (self->chooser, "response", G_CALLBACK (chooser_response_cb), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

static void
zoom_in_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  mva_image_view_zoom_in (MVA_WINDOW (widget)->image_view);
}

static void
zoom_out_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  mva_image_view_zoom_out (MVA_WINDOW (widget)->image_view);
}

static void
zoom_fit_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  mva_image_view_set_zoom_to_fit (MVA_WINDOW (widget)->image_view, TRUE);
}

static void
zoom_actual_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  mva_image_view_zoom_actual (MVA_WINDOW (widget)->image_view);
}

static void
zoom_toggle_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  MvaImageView *view = MVA_WINDOW (widget)->image_view;

  if (mva_image_view_get_zoom_to_fit (view))
    mva_image_view_zoom_actual (view);
  else
    mva_image_view_set_zoom_to_fit (view, TRUE);
}

/* --- drag and drop -------------------------------------------------------------- */

gboolean
_mva_window_drop_cb (GtkDropTarget *target,
         const GValue  *value,
         double         x,
         double         y,
         MvaWindow     *self)
{
  GSList *list;
  g_autoptr(GPtrArray) files = g_ptr_array_new ();

  if (!G_VALUE_HOLDS (value, GDK_TYPE_FILE_LIST))
    return FALSE;
  list = g_value_get_boxed (value);
  for (GSList *l = list; l != NULL; l = l->next)
    g_ptr_array_add (files, l->data);
  if (files->len == 0)
    return FALSE;
  mva_window_open_files (self, (GFile **) files->pdata, (int) files->len);
  return TRUE;
}

/* Installs the win.* actions of the class and the plain-key shortcuts. */
void
_mva_window_class_add_actions (GtkWidgetClass *widget_class)
{
  gtk_widget_class_install_action (widget_class, "win.open", NULL, open_action);
  gtk_widget_class_install_action (widget_class, "win.zoom-in", NULL, zoom_in_action);
  gtk_widget_class_install_action (widget_class, "win.zoom-out", NULL, zoom_out_action);
  gtk_widget_class_install_action (widget_class, "win.zoom-fit", NULL, zoom_fit_action);
  gtk_widget_class_install_action (widget_class, "win.zoom-actual", NULL, zoom_actual_action);
  gtk_widget_class_install_action (widget_class, "win.zoom-toggle", NULL, zoom_toggle_action);

  /* Plain keys (no Ctrl) as in every image viewer. They are bubble-phase
   * window shortcuts, so a text entry added later (the Ask panel) still
   * receives "+", "-", "0" and "1" as text. The Ctrl variants are
   * application accelerators (mva-application.c). */
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_plus, 0, "win.zoom-in", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_equal, 0, "win.zoom-in", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_Add, 0, "win.zoom-in", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_minus, 0, "win.zoom-out", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_Subtract, 0, "win.zoom-out", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_0, 0, "win.zoom-fit", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_0, 0, "win.zoom-fit", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_1, 0, "win.zoom-actual", NULL);
}
