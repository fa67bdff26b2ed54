/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-toast.c: the one place that finds a widget's toast overlay.
 */
#define G_LOG_DOMAIN "mva-toast"
#include "config.h"

#include <adwaita.h>

#include "mva-toast.h"

void
mva_widget_show_toast (GtkWidget  *widget,
                       const char *message)
{
  GtkWidget *w = widget;

  g_return_if_fail (GTK_IS_WIDGET (widget));
  g_return_if_fail (message != NULL);

  while (w != NULL && !ADW_IS_TOAST_OVERLAY (w))
    w = gtk_widget_get_parent (w);
  if (w != NULL)
    adw_toast_overlay_add_toast (ADW_TOAST_OVERLAY (w), adw_toast_new (message));
  else
    g_warning ("%s", message);
}
