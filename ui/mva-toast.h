/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-toast.h: show a message as a toast of the nearest AdwToastOverlay above
 * a widget (the window has one). Main thread only.
 */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* Adds a toast to the closest AdwToastOverlay ancestor of widget; without one
 * (a widget not yet in a window) the message goes to the log as a warning. */
void mva_widget_show_toast (GtkWidget  *widget,
                            const char *message);

G_END_DECLS
