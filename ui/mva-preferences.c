/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-preferences.c: the Preferences window (see mva-preferences.h).
 */
#include "config.h"

#define G_LOG_DOMAIN "mva-preferences"

#include <glib/gi18n.h>

#include "mva-preferences.h"
#include "mva-store.h"

typedef struct
{
  GSettings            *settings;
  AdwActionRow         *library_row;
  GtkFileChooserNative *chooser;
  GPtrArray            *devices;   /* setting values in combo order */
} Prefs;

static void
prefs_free (Prefs *p)
{
  if (p->chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (p->chooser));
  g_clear_object (&p->chooser);
  g_signal_handlers_disconnect_by_data (p->settings, p);
  g_object_unref (p->settings);
  g_ptr_array_unref (p->devices);
  g_free (p);
}

static void
update_library_row (Prefs *p)
{
  g_autofree char *path = g_settings_get_string (p->settings, "library-path");
  g_autofree char *def = mva_store_default_path ();
  g_autofree char *text = path[0] != '\0' ? g_strdup (path)
                                          : g_strdup_printf (_("%s (default)"), def);

  adw_action_row_set_subtitle (p->library_row, text);
}

static void
device_selected_cb (AdwComboRow *row,
                    GParamSpec  *pspec,
                    Prefs       *p)
{
  guint pos = adw_combo_row_get_selected (row);

  if (pos < p->devices->len)
    g_settings_set_string (p->settings, "device", g_ptr_array_index (p->devices, pos));
}

static void
chooser_response_cb (GtkNativeDialog *dialog,
                     int              response,
                     Prefs           *p)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = file != NULL ? g_file_get_path (file) : NULL;

      if (path != NULL)
        g_settings_set_string (p->settings, "library-path", path);
    }
  gtk_native_dialog_destroy (dialog);
  g_clear_object (&p->chooser);
}

static void
choose_library_cb (GtkButton *button,
                   Prefs     *p)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (button));

  if (p->chooser != NULL)
    return;
  p->chooser = gtk_file_chooser_native_new (_("Library Location"), GTK_WINDOW (root),
                                            GTK_FILE_CHOOSER_ACTION_SAVE, _("_Use"), _("_Cancel"));
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (p->chooser), "library.db");
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (p->chooser), TRUE);
  g_signal_connect (p->chooser, "response", G_CALLBACK (chooser_response_cb), p);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (p->chooser));
}

static void
default_library_cb (GtkButton *button,
                    Prefs     *p)
{
  g_settings_reset (p->settings, "library-path");
}

static GtkWidget *
entry_row (GSettings  *settings,
           const char *key,
           const char *title)
{
  GtkWidget *row = adw_entry_row_new ();

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  g_settings_bind (settings, key, row, "text", G_SETTINGS_BIND_DEFAULT);
  return row;
}

GtkWindow *
mva_preferences_new (GtkWindow *parent,
                     GSettings *settings)
{
  GtkWidget *window = adw_preferences_window_new ();
  GtkWidget *page = adw_preferences_page_new ();
  GtkWidget *group, *row, *spin, *box, *button;
  GtkStringList *devices = gtk_string_list_new (NULL);
  g_autofree char *device = g_settings_get_string (settings, "device");
  Prefs *p = g_new0 (Prefs, 1);
  const char *cuda = g_getenv ("MVAEMA_CUDA_AVAILABLE");

  g_return_val_if_fail (G_IS_SETTINGS (settings), NULL);

  p->settings = g_object_ref (settings);
  p->devices = g_ptr_array_new ();
  g_object_set_data_full (G_OBJECT (window), "prefs", p, (GDestroyNotify) prefs_free);
  gtk_window_set_transient_for (GTK_WINDOW (window), parent);
  gtk_window_set_modal (GTK_WINDOW (window), TRUE);
  adw_preferences_window_set_search_enabled (ADW_PREFERENCES_WINDOW (window), FALSE);

  /* --- model --- */
  group = adw_preferences_group_new ();
  adw_preferences_group_set_title (ADW_PREFERENCES_GROUP (group), _("Model"));
  gtk_string_list_append (devices, _("Automatic"));
  g_ptr_array_add (p->devices, (gpointer) "auto");
  gtk_string_list_append (devices, _("CPU"));
  g_ptr_array_add (p->devices, (gpointer) "cpu");
  if (g_strcmp0 (cuda, "1") == 0 || g_strcmp0 (device, "cuda") == 0)
    {
      gtk_string_list_append (devices, _("CUDA (NVIDIA GPU)"));
      g_ptr_array_add (p->devices, (gpointer) "cuda");
    }
  row = adw_combo_row_new ();
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), _("Device"));
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), _("Where the model answers and trains"));
  adw_combo_row_set_model (ADW_COMBO_ROW (row), G_LIST_MODEL (devices));
  for (guint i = 0; i < p->devices->len; i++)
    if (g_strcmp0 (g_ptr_array_index (p->devices, i), device) == 0)
      adw_combo_row_set_selected (ADW_COMBO_ROW (row), i);
  g_signal_connect (row, "notify::selected", G_CALLBACK (device_selected_cb), p);
  gtk_widget_set_sensitive (row, g_settings_is_writable (settings, "device"));
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (group), row);
  g_object_unref (devices);

  row = adw_action_row_new ();
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), _("CPU threads"));
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), _("0 uses every core but one"));
  spin = gtk_spin_button_new_with_range (0, 256, 1);
  gtk_widget_set_valign (spin, GTK_ALIGN_CENTER);
  g_settings_bind (settings, "threads", spin, "value", G_SETTINGS_BIND_DEFAULT);
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), spin);
  adw_action_row_set_activatable_widget (ADW_ACTION_ROW (row), spin);
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (group), row);
  adw_preferences_page_add (ADW_PREFERENCES_PAGE (page), ADW_PREFERENCES_GROUP (group));

  /* --- library --- */
  group = adw_preferences_group_new ();
  adw_preferences_group_set_title (ADW_PREFERENCES_GROUP (group), _("Library"));
  row = adw_action_row_new ();
  p->library_row = ADW_ACTION_ROW (row);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), _("Location"));
  box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  gtk_widget_set_valign (box, GTK_ALIGN_CENTER);
  button = gtk_button_new_with_mnemonic (_("_Choose…"));
  g_signal_connect (button, "clicked", G_CALLBACK (choose_library_cb), p);
  gtk_box_append (GTK_BOX (box), button);
  button = gtk_button_new_with_mnemonic (_("_Default"));
  g_signal_connect (button, "clicked", G_CALLBACK (default_library_cb), p);
  gtk_box_append (GTK_BOX (box), button);
  adw_action_row_add_suffix (p->library_row, box);
  gtk_widget_set_sensitive (box, g_settings_is_writable (settings, "library-path"));
  g_signal_connect_swapped (settings, "changed::library-path", G_CALLBACK (update_library_row), p);
  update_library_row (p);
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (group), row);
  adw_preferences_page_add (ADW_PREFERENCES_PAGE (page), ADW_PREFERENCES_GROUP (group));

  /* --- teacher: only when an administrator has enabled it --- */
  group = adw_preferences_group_new ();
  gtk_widget_set_name (group, "teacher");
  adw_preferences_group_set_title (ADW_PREFERENCES_GROUP (group), _("Teacher"));
  if (g_settings_get_boolean (settings, "teacher-enabled"))
    {
      gboolean locked = !g_settings_is_writable (settings, "teacher-endpoint")
                        || !g_settings_is_writable (settings, "teacher-model");

      adw_preferences_group_set_description (ADW_PREFERENCES_GROUP (group),
                                             locked
                                             ? _("Set by the administrator. Images are sent to this endpoint only when you start a teaching run and confirm it.")
                                             : _("Images are sent to this endpoint only when you start a teaching run and confirm it. The API key comes from the keyring or MVAEMA_TEACHER_API_KEY."));
      row = entry_row (settings, "teacher-endpoint", _("Endpoint (OpenAI-compatible)"));
      gtk_widget_set_sensitive (row, !locked);
      adw_preferences_group_add (ADW_PREFERENCES_GROUP (group), row);
      row = entry_row (settings, "teacher-model", _("Model name"));
      gtk_widget_set_sensitive (row, !locked);
      adw_preferences_group_add (ADW_PREFERENCES_GROUP (group), row);
    }
  else
    adw_preferences_group_set_description (ADW_PREFERENCES_GROUP (group),
                                           _("Off. Nothing leaves this computer. An administrator can enable a remote teacher."));
  adw_preferences_page_add (ADW_PREFERENCES_PAGE (page), ADW_PREFERENCES_GROUP (group));

  adw_preferences_window_add (ADW_PREFERENCES_WINDOW (window), ADW_PREFERENCES_PAGE (page));
  return GTK_WINDOW (window);
}
