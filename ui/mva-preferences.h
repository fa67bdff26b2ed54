/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-preferences.h: the Preferences window.
 *
 * Device ("auto", "cpu", "cuda": the CUDA row is listed only when
 * MVAEMA_CUDA_AVAILABLE=1 says the engine was built with CUDA and found a
 * GPU, which the engine does not do yet), CPU thread count, where the
 * library lives, and the teacher:
 * its section appears only when the administrator has enabled it
 * ("teacher-enabled"), and its rows are locked when the keys are.
 *
 *   GtkWindow *prefs = mva_preferences_new (parent, settings);
 *   gtk_window_present (prefs);
 */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

GtkWindow *mva_preferences_new            (GtkWindow *parent,
                                           GSettings *settings);

G_END_DECLS
