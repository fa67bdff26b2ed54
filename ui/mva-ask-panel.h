/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-ask-panel.h: the Ask side panel beside the image.
 *
 * Category (user-set, or predicted by Classify with the 10 categories as a
 * ranked list with score bars), the 10 question-family presets and a free
 * question, Ask (Ctrl+Enter) and Stop (Escape); the answer streams in token
 * by token from a worker (mva_assistant_ask_async); the attention overlay
 * over the image (toggle, opacity; pointing at a word of the answer shows
 * that word's map); review buttons Accept / Correct (edit + Save) / Reject,
 * and Ctrl+Z undoes the last review. Answers and reviews go to the library.
 *
 *   MvaAskPanel *panel = ...;                 // in mva-window.ui
 *   mva_ask_panel_attach (panel, window, session, heat_overlay);
 *
 * Actions (group "ask"): ask.ask, ask.stop, ask.classify, ask.accept,
 * ask.correct, ask.save-correction, ask.reject, ask.undo-review,
 * ask.toggle-overlay.
 */
#pragma once

#include <gtk/gtk.h>

#include "mva-assistant.h"
#include "mva-heat-overlay.h"
#include "mva-session.h"

G_BEGIN_DECLS

typedef struct _MvaWindow MvaWindow;

#define MVA_TYPE_ASK_PANEL (mva_ask_panel_get_type ())
G_DECLARE_FINAL_TYPE (MvaAskPanel, mva_ask_panel, MVA, ASK_PANEL, GtkWidget)

void              mva_ask_panel_attach           (MvaAskPanel    *self,
                                                  MvaWindow      *window,
                                                  MvaSession     *session,
                                                  MvaHeatOverlay *heat);
/* 0: free question, else the family 1..10 whose preset is selected. */
void              mva_ask_panel_set_family       (MvaAskPanel    *self,
                                                  guint           family);
void              mva_ask_panel_set_question     (MvaAskPanel    *self,
                                                  const char     *question);
/* NULL: unknown. */
void              mva_ask_panel_set_category     (MvaAskPanel    *self,
                                                  const char     *category);
const char       *mva_ask_panel_get_category     (MvaAskPanel    *self);
/* An image is shown, a model is loaded and no answer is streaming. */
gboolean          mva_ask_panel_can_ask          (MvaAskPanel    *self);
/* "idle", "asking", "answered", "error", "stopped" */
const char       *mva_ask_panel_get_state        (MvaAskPanel    *self);
/* The text shown in the answer box (streamed so far, or final). */
char             *mva_ask_panel_dup_answer_text  (MvaAskPanel    *self);
/* The last complete answer as the model gave it; NULL before one. */
const char       *mva_ask_panel_get_answer       (MvaAskPanel    *self);
/* The line with the scale from the instrument metadata ("Scale from the
 * instrument metadata: …"), or NULL when the last answer has none. */
const char       *mva_ask_panel_get_metadata_text (MvaAskPanel   *self);
/* The library pair of the last answer (0 until it is recorded). */
gint64            mva_ask_panel_get_qa_id        (MvaAskPanel    *self);
/* Show the map of token index (-1: the whole answer). */
void              mva_ask_panel_focus_token      (MvaAskPanel    *self,
                                                  int             index);
int               mva_ask_panel_get_focus_token  (MvaAskPanel    *self);
/* Tokens streamed into the answer box during the last ask. */
guint             mva_ask_panel_get_n_streamed   (MvaAskPanel    *self);

G_END_DECLS
