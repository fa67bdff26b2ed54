/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-library-view.h: the Library page.
 *
 * The library's micrographs with how many answers each has, how many are
 * reviewed and how many corrected; filters by category and review state and
 * a path search; activating a row emits "open" (GFile) so the window shows
 * it. Batch: one question family over the selected images, answered one
 * after the other on the assistant's worker thread and recorded, with a
 * progress bar and Cancel. Teach (shown only when the administrator has
 * enabled the teacher): says which host would receive which images and
 * how many requests and tokens, asks, then runs mva_teacher_run_async.
 *
 *   mva_library_view_set_session (view, session);
 *   g_signal_connect (view, "open", G_CALLBACK (open_cb), window);
 *
 * Actions (group "library"): library.refresh, library.batch, library.cancel-batch,
 * library.teach.
 */
#pragma once

#include <gtk/gtk.h>

#include "mva-session.h"

G_BEGIN_DECLS

#define MVA_TYPE_LIBRARY_VIEW (mva_library_view_get_type ())
G_DECLARE_FINAL_TYPE (MvaLibraryView, mva_library_view, MVA, LIBRARY_VIEW, GtkWidget)

void     mva_library_view_set_session  (MvaLibraryView *self,
                                        MvaSession     *session);
/* Re-reads the list in a worker; is_refreshing is TRUE until the rows are in. */
void     mva_library_view_refresh      (MvaLibraryView *self);
gboolean mva_library_view_is_refreshing (MvaLibraryView *self);
/* Rows shown after filtering. */
guint    mva_library_view_get_n_rows   (MvaLibraryView *self);
/* category: NULL any, "" uncategorised; review_mask: 0 any, else MVA_REVIEW_MASK bits. */
void     mva_library_view_set_filter   (MvaLibraryView *self,
                                        const char     *category,
                                        guint           review_mask);
void     mva_library_view_select_all   (MvaLibraryView *self);
/* Runs family (1..10) over the selected rows. */
void     mva_library_view_run_batch    (MvaLibraryView *self,
                                        guint           family);
gboolean mva_library_view_is_batch_running (MvaLibraryView *self);
/* Images answered by the last batch. */
guint    mva_library_view_get_batch_done   (MvaLibraryView *self);

G_END_DECLS
