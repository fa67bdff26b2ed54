/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-session.h: what the assistant pages of one window share: the library
 * (MvaStore, from the "library-path" setting or the default path) and the
 * current model (loaded in a worker thread with the "threads" setting, on the
 * device the "device" setting asks for when it can: mva-device.h).
 *
 *   MvaSession *session = mva_session_new (settings);
 *   mva_session_load_model (session);         // async; notify::model-state
 *   MvaAssistantModel *m = mva_session_get_model (session);   // NULL until "ready"
 *   MvaStore *store = mva_session_get_store (session, &error); // opened on first use
 *   mva_session_library_changed (session);    // after a write: pages refresh
 *
 * "model-state" is "none", "loading", "ready" or "error"
 * (mva_session_get_model_error says why). Once "ready",
 * mva_session_get_device says where the model runs ("cpu" or "cuda") and
 * mva_session_get_device_note why a CUDA preference runs on the CPU (NULL
 * when it does not). Changing "device" reloads the model. The model folder is the library's
 * adopted version, else the default model ($MVAEMA_MODEL, ...: mva-assistant.h).
 */
#pragma once

#include <gio/gio.h>

#include "mva-assistant.h"
#include "mva-store.h"

G_BEGIN_DECLS

#define MVA_TYPE_SESSION (mva_session_get_type ())
G_DECLARE_FINAL_TYPE (MvaSession, mva_session, MVA, SESSION, GObject)

MvaSession        *mva_session_new             (GSettings   *settings);
GSettings         *mva_session_get_settings    (MvaSession  *self);
MvaStore          *mva_session_get_store       (MvaSession  *self,
                                                GError     **error);
void               mva_session_load_model      (MvaSession  *self);
const char        *mva_session_get_model_state (MvaSession  *self);
const char        *mva_session_get_model_error (MvaSession  *self);
MvaAssistantModel *mva_session_get_model       (MvaSession  *self);
guint              mva_session_get_threads     (MvaSession  *self);
const char        *mva_session_get_device      (MvaSession  *self);
const char        *mva_session_get_device_note (MvaSession  *self);
void               mva_session_library_changed (MvaSession  *self);

G_END_DECLS
