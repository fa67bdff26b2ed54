/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-improve-page.h: the "Improve the Model" page.
 *
 * How many reviewed pairs are new since the current model; Start Fine-Tune
 * runs mva_assistant_retrain_async (progress bar, live loss plot, Cancel);
 * the old and new model's held-out scores; Adopt or Discard the new version;
 * earlier versions with Restore; the current model's latest evaluation
 * report (report.json beside the model, as `mvaema-cli eval --report`
 * writes it) with Export.
 *
 *   mva_improve_page_set_session (page, session);
 *
 * Actions (group "improve"): improve.start, improve.cancel, improve.adopt,
 * improve.discard, improve.restore (int64 version id), improve.export-report.
 */
#pragma once

#include <gtk/gtk.h>

#include "mva-session.h"

G_BEGIN_DECLS

#define MVA_TYPE_IMPROVE_PAGE (mva_improve_page_get_type ())
G_DECLARE_FINAL_TYPE (MvaImprovePage, mva_improve_page, MVA, IMPROVE_PAGE, GtkWidget)

void        mva_improve_page_set_session (MvaImprovePage *self,
                                          MvaSession     *session);
/* Training steps of the next fine-tune (0: the assistant's default). */
void        mva_improve_page_set_steps   (MvaImprovePage *self,
                                          guint64         steps);
/* "idle", "training", "trained" (waiting for Adopt/Discard), "cancelled", "error" */
const char *mva_improve_page_get_state   (MvaImprovePage *self);
gint64      mva_improve_page_get_n_new   (MvaImprovePage *self);
/* Loss points plotted during the current/last run. */
guint       mva_improve_page_get_n_loss_points (MvaImprovePage *self);
/* Folder of the report shown (what Export copies), or NULL when the
 * current model has none. */
const char *mva_improve_page_get_report_dir (MvaImprovePage *self);
/* Re-read counts, versions and the report from the library. */
void        mva_improve_page_refresh     (MvaImprovePage *self);

G_END_DECLS
