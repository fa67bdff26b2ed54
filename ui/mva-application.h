/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-application.h: the `mvaema` GTK application.
 *
 * One AdwApplication (G_APPLICATION_HANDLES_OPEN) that owns the settings and
 * the recent-files list shared by its windows. Files given on the command
 * line or through D-Bus open in the active window.
 *
 *   g_autoptr(MvaApplication) app = mva_application_new ();
 *   return g_application_run (G_APPLICATION (app), argc, argv);
 */
#pragma once

#include <adwaita.h>

#include "mva-recent.h"

G_BEGIN_DECLS

/* The schema id stays the same for the .Devel build. */
#define MVA_SCHEMA_ID "io.github.mvaema.Workbench"
#define MVA_RESOURCE_PATH "/io/github/mvaema/Workbench"

#define MVA_TYPE_APPLICATION (mva_application_get_type ())
G_DECLARE_FINAL_TYPE (MvaApplication, mva_application, MVA, APPLICATION, AdwApplication)

MvaApplication *mva_application_new          (void);
GSettings      *mva_application_get_settings (MvaApplication *self);
MvaRecent      *mva_application_get_recent   (MvaApplication *self);

G_END_DECLS
