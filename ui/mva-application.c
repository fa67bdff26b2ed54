/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-application.c: application actions, accelerators, settings and the
 * recent list (see mva-application.h).
 */
#include "config.h"

#define G_LOG_DOMAIN "mva-application"

#include <stdlib.h>

#include <glib/gi18n.h>

#include "mva-application.h"
#include "mva-window.h"

struct _MvaApplication
{
  AdwApplication  parent_instance;

  GSettings      *settings;
  MvaRecent      *recent;
};

G_DEFINE_FINAL_TYPE (MvaApplication, mva_application, ADW_TYPE_APPLICATION)

static MvaWindow *
get_or_create_window (MvaApplication *self)
{
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (self));

  if (MVA_IS_WINDOW (window))
    return MVA_WINDOW (window);
  return mva_window_new (self);
}

static void
mva_application_activate (GApplication *app)
{
  MvaWindow *window = get_or_create_window (MVA_APPLICATION (app));

  gtk_window_present (GTK_WINDOW (window));
}

static void
mva_application_open (GApplication  *app,
                      GFile        **files,
                      int            n_files,
                      const char    *hint)
{
  MvaWindow *window = get_or_create_window (MVA_APPLICATION (app));

  mva_window_open_files (window, files, n_files);
  gtk_window_present (GTK_WINDOW (window));
}

static void
quit_activated (GSimpleAction *action,
                GVariant      *parameter,
                gpointer       user_data)
{
  GApplication *app = G_APPLICATION (user_data);
  GList *windows = gtk_application_get_windows (GTK_APPLICATION (app));

  /* Close the windows so they save their size; then the application ends. */
  while (windows != NULL)
    {
      GtkWindow *window = windows->data;

      windows = windows->next;
      gtk_window_close (window);
    }
}

static void
about_activated (GSimpleAction *action,
                 GVariant      *parameter,
                 gpointer       user_data)
{
  GtkApplication *app = GTK_APPLICATION (user_data);
  const char *developers[] = { "The MVaEMa Workbench developers", NULL };
  GtkWidget *about;

  about = g_object_new (ADW_TYPE_ABOUT_WINDOW,
                        "transient-for", gtk_application_get_active_window (app),
                        "modal", TRUE,
                        "application-icon", MVA_SCHEMA_ID,
                        "application-name", _("MVaEMa Workbench"),
                        "developer-name", _("The MVaEMa Workbench developers"),
                        "version", PACKAGE_VERSION,
                        "comments", _("Look at electron micrographs, read the scale the "
                                      "instrument wrote, and ask a vision-language model "
                                      "that runs on your workstation about them."),
                        "website", "https://github.com/mvaema/workbench",
                        "issue-url", "https://github.com/mvaema/workbench/issues",
                        "license-type", GTK_LICENSE_GPL_3_0,
                        "developers", developers,
                        /* Translators: put your name here, one per line. */
                        "translator-credits", _("translator-credits"),
                        NULL);
  adw_about_window_add_legal_section (ADW_ABOUT_WINDOW (about), _("Sample micrographs"),
                                      NULL, GTK_LICENSE_CUSTOM,
                                      _("The sample micrographs keep their authors' "
                                        "licences (CC0, CC-BY-4.0, BSD-3-Clause, MIT, "
                                        "Apache-2.0); see samples/SOURCES.md."));
  gtk_window_present (GTK_WINDOW (about));
}

static void
clear_recent_activated (GSimpleAction *action,
                        GVariant      *parameter,
                        gpointer       user_data)
{
  mva_recent_clear (MVA_APPLICATION (user_data)->recent);
}

static const GActionEntry app_actions[] = {
  { "quit", quit_activated, NULL, NULL, NULL, { 0 } },
  { "about", about_activated, NULL, NULL, NULL, { 0 } },
  { "clear-recent", clear_recent_activated, NULL, NULL, NULL, { 0 } },
};

/* Settings are created at startup, not in init, so `mvaema --version` and
 * `--help` work even where the schema is not installed. */
static gboolean
ensure_settings (MvaApplication *self)
{
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr(GSettingsSchema) schema = NULL;

  if (self->settings != NULL)
    return TRUE;
  if (source != NULL)
    schema = g_settings_schema_source_lookup (source, MVA_SCHEMA_ID, TRUE);
  if (schema == NULL)
    return FALSE;
  self->settings = g_settings_new_full (schema, NULL, NULL);
  self->recent = mva_recent_new (self->settings);
  return TRUE;
}

static void
mva_application_startup (GApplication *app)
{
  MvaApplication *self = MVA_APPLICATION (app);
  static const struct { const char *action; const char *accels[5]; } accels[] = {
    { "app.quit", { "<Control>q", NULL } },
    { "win.open", { "<Control>o", NULL } },
    { "window.close", { "<Control>w", NULL } },
    { "win.zoom-in", { "<Control>plus", "<Control>equal", "<Control>KP_Add", NULL } },
    { "win.zoom-out", { "<Control>minus", "<Control>KP_Subtract", NULL } },
    { "win.zoom-fit", { "<Control>0", "<Control>KP_0", NULL } },
    { "win.zoom-actual", { "<Control>1", "<Control>KP_1", NULL } },
    { "win.show-sidebar", { "F9", NULL } },
  };

  G_APPLICATION_CLASS (mva_application_parent_class)->startup (app);

  if (!ensure_settings (self))
    {
      /* Nothing is open yet, so nothing is lost: say why and stop. */
      g_printerr (_("mvaema: the GSettings schema %s is not installed; run an installed "
                    "build, or `meson devenv -C BUILDDIR mvaema` from the build tree\n"),
                  MVA_SCHEMA_ID);
      exit (EXIT_FAILURE);
    }

  g_action_map_add_action_entries (G_ACTION_MAP (self), app_actions,
                                   G_N_ELEMENTS (app_actions), self);
  for (guint i = 0; i < G_N_ELEMENTS (accels); i++)
    gtk_application_set_accels_for_action (GTK_APPLICATION (self), accels[i].action,
                                           accels[i].accels);

  /* Micrographs read best on a dark surround, as in every instrument's software. */
  adw_style_manager_set_color_scheme (adw_style_manager_get_default (),
                                      ADW_COLOR_SCHEME_PREFER_DARK);
  gtk_icon_theme_add_resource_path (gtk_icon_theme_get_for_display (gdk_display_get_default ()),
                                    MVA_RESOURCE_PATH "/icons");
  gtk_window_set_default_icon_name (MVA_SCHEMA_ID);
}

static int
mva_application_handle_local_options (GApplication *app,
                                      GVariantDict *options)
{
  if (g_variant_dict_contains (options, "version"))
    {
      g_print ("mvaema %s\n", PACKAGE_VERSION);
      return 0;
    }
  return -1;
}

static void
mva_application_dispose (GObject *object)
{
  MvaApplication *self = MVA_APPLICATION (object);

  g_clear_object (&self->recent);
  g_clear_object (&self->settings);
  G_OBJECT_CLASS (mva_application_parent_class)->dispose (object);
}

static void
mva_application_class_init (MvaApplicationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  object_class->dispose = mva_application_dispose;
  app_class->activate = mva_application_activate;
  app_class->open = mva_application_open;
  app_class->startup = mva_application_startup;
  app_class->handle_local_options = mva_application_handle_local_options;
}

static void
mva_application_init (MvaApplication *self)
{
  static const GOptionEntry entries[] = {
    { "version", 0, 0, G_OPTION_ARG_NONE, NULL, N_("Print the version and exit"), NULL },
    { NULL }
  };

  g_application_add_main_option_entries (G_APPLICATION (self), entries);
  g_application_set_option_context_parameter_string (G_APPLICATION (self), _("[MICROGRAPH…]"));
}

MvaApplication *
mva_application_new (void)
{
  return g_object_new (MVA_TYPE_APPLICATION,
                       "application-id", APP_ID,
                       "flags", G_APPLICATION_HANDLES_OPEN,
                       /* Same for the .Devel id, so style.css and help-overlay.ui are found. */
                       "resource-base-path", MVA_RESOURCE_PATH,
                       NULL);
}

/* The application's settings and recent list; NULL until it has started up. */
GSettings *
mva_application_get_settings (MvaApplication *self)
{
  g_return_val_if_fail (MVA_IS_APPLICATION (self), NULL);
  return self->settings;
}

MvaRecent *
mva_application_get_recent (MvaApplication *self)
{
  g_return_val_if_fail (MVA_IS_APPLICATION (self), NULL);
  return self->recent;
}
