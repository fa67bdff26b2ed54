/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-session.c: the library and the current model of a window (see
 * mva-session.h).
 */
#include "config.h"

#define G_LOG_DOMAIN "mva-session"

#include <glib/gi18n.h>

#include "mva-device.h"
#include "mva-session.h"

struct _MvaSession
{
  GObject            parent_instance;

  GSettings         *settings;
  MvaStore          *store;
  char              *store_path;     /* the path store was opened from */
  MvaAssistantModel *model;
  const char        *model_state;
  char              *model_error;
  GCancellable      *model_cancellable;
  const char        *device;         /* where answers run: "cpu" (CUDA trains only) */
  char              *device_note;    /* why a CUDA preference runs on the CPU */
};

enum { PROP_0, PROP_MODEL_STATE, N_PROPS };
static GParamSpec *properties[N_PROPS];

enum { LIBRARY_CHANGED, N_SIGNALS };
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (MvaSession, mva_session, G_TYPE_OBJECT)

static void
set_model_state (MvaSession *self,
                 const char *state)
{
  self->model_state = g_intern_static_string (state);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MODEL_STATE]);
}

static void
library_path_changed_cb (MvaSession *self)
{
  g_clear_pointer (&self->store, mva_store_unref);
  g_clear_pointer (&self->store_path, g_free);
  mva_session_library_changed (self);
  mva_session_load_model (self);
}

static void
device_changed_cb (MvaSession *self)
{
  mva_session_load_model (self);
}

static void
threads_changed_cb (MvaSession *self)
{
  if (self->model != NULL)
    mva_assistant_model_set_threads (self->model, mva_session_get_threads (self));
}

static void
mva_session_dispose (GObject *object)
{
  MvaSession *self = MVA_SESSION (object);

  if (self->model_cancellable != NULL)
    g_cancellable_cancel (self->model_cancellable);
  g_clear_object (&self->model_cancellable);
  if (self->settings != NULL)
    g_signal_handlers_disconnect_by_data (self->settings, self);
  g_clear_object (&self->settings);
  g_clear_pointer (&self->model, mva_assistant_model_unref);
  g_clear_pointer (&self->store, mva_store_unref);
  G_OBJECT_CLASS (mva_session_parent_class)->dispose (object);
}

static void
mva_session_finalize (GObject *object)
{
  MvaSession *self = MVA_SESSION (object);

  g_free (self->store_path);
  g_free (self->model_error);
  g_free (self->device_note);
  G_OBJECT_CLASS (mva_session_parent_class)->finalize (object);
}

static void
mva_session_get_property (GObject    *object,
                          guint       prop_id,
                          GValue     *value,
                          GParamSpec *pspec)
{
  MvaSession *self = MVA_SESSION (object);

  switch (prop_id)
    {
    case PROP_MODEL_STATE:
      g_value_set_string (value, self->model_state);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
mva_session_class_init (MvaSessionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = mva_session_dispose;
  object_class->finalize = mva_session_finalize;
  object_class->get_property = mva_session_get_property;

  properties[PROP_MODEL_STATE] =
    g_param_spec_string ("model-state", NULL, NULL, "none",
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* The library's contents changed (answer recorded, review, new model
   * version, another library): lists and counts should be re-read. */
  signals[LIBRARY_CHANGED] = g_signal_new ("library-changed", G_TYPE_FROM_CLASS (klass),
                                           G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                           G_TYPE_NONE, 0);
}

static void
mva_session_init (MvaSession *self)
{
  self->model_state = g_intern_static_string ("none");
  self->device = "cpu";
}

MvaSession *
mva_session_new (GSettings *settings)
{
  MvaSession *self;

  g_return_val_if_fail (G_IS_SETTINGS (settings), NULL);

  self = g_object_new (MVA_TYPE_SESSION, NULL);
  self->settings = g_object_ref (settings);
  g_signal_connect_swapped (settings, "changed::library-path",
                            G_CALLBACK (library_path_changed_cb), self);
  g_signal_connect_swapped (settings, "changed::threads", G_CALLBACK (threads_changed_cb), self);
  g_signal_connect_swapped (settings, "changed::device", G_CALLBACK (device_changed_cb), self);
  return self;
}

GSettings *
mva_session_get_settings (MvaSession *self)
{
  g_return_val_if_fail (MVA_IS_SESSION (self), NULL);
  return self->settings;
}

/* The "threads" setting; 0 there means every core but one, so the window
 * keeps a core to stay responsive while the model works. */
guint
mva_session_get_threads (MvaSession *self)
{
  int threads;

  g_return_val_if_fail (MVA_IS_SESSION (self), 1);
  threads = g_settings_get_int (self->settings, "threads");
  if (threads > 0)
    return (guint) threads;
  return (guint) MAX ((int) g_get_num_processors () - 1, 1);
}

/**
 * mva_session_get_store:
 *
 * The library, opened (and created) on first use. Returns NULL with @error
 * set when it cannot be opened; the next call tries again.
 */
MvaStore *
mva_session_get_store (MvaSession  *self,
                       GError     **error)
{
  g_autofree char *path = NULL;

  g_return_val_if_fail (MVA_IS_SESSION (self), NULL);

  if (self->store != NULL)
    return self->store;
  path = g_settings_get_string (self->settings, "library-path");
  self->store = mva_store_open (path[0] != '\0' ? path : NULL, MVA_STORE_OPEN_DEFAULT, error);
  if (self->store != NULL)
    self->store_path = g_steal_pointer (&path);
  return self->store;
}

typedef struct
{
  char      *dir;
  guint      threads;
  char      *device_pref;   /* the "device" setting */
  /* results, read after the task returned */
  MvaDevice  device;
  char      *device_note;
} LoadData;

static void
load_data_free (LoadData *data)
{
  g_free (data->dir);
  g_free (data->device_pref);
  g_free (data->device_note);
  g_free (data);
}

static void
load_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  LoadData *data = task_data;
  g_autoptr(GError) error = NULL;
  MvaAssistantModel *model;

  /* may dlopen the CUDA module: here, off the main loop */
  if (!mva_device_resolve (data->device_pref, FALSE, &data->device, &data->device_note, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  model = mva_assistant_model_load (data->dir, data->threads, &error);
  if (model == NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_pointer (task, model, (GDestroyNotify) mva_assistant_model_unref);
}

static void
weak_ref_free (GWeakRef *ref)
{
  g_weak_ref_clear (ref);
  g_free (ref);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GWeakRef, weak_ref_free)

/* @user_data is a GWeakRef to the session: the task has no source object,
 * because the worker may drop the task's last reference, and that must
 * never dispose the session (disconnecting its GSettings handlers, closing
 * the library) in a worker thread; the session also goes with its window
 * instead of living on until the model is read. */
static void
load_done_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GWeakRef) ref = user_data;
  g_autoptr(MvaSession) self = g_weak_ref_get (ref);
  g_autoptr(GError) error = NULL;
  MvaAssistantModel *model;
  LoadData *data = g_task_get_task_data (G_TASK (result));

  model = g_task_propagate_pointer (G_TASK (result), &error);
  if (self == NULL || (model == NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)))
    {
      g_clear_pointer (&model, mva_assistant_model_unref);
      return;
    }
  g_clear_object (&self->model_cancellable);
  g_clear_pointer (&self->model, mva_assistant_model_unref);
  g_clear_pointer (&self->model_error, g_free);
  if (model == NULL)
    {
      self->model_error = g_strdup (error->message);
      set_model_state (self, "error");
      return;
    }
  self->model = model;
  g_free (self->device_note);
  if (data->device == MVA_DEVICE_CUDA)
    {
      /* CUDA runs fine-tuning (mva-trainer.c); answers, beams and overlays
       * are still computed by the CPU engine (about 8 ms an answer) */
      self->device = "cpu";
      self->device_note = NULL;
    }
  else
    {
      self->device = mva_device_name (data->device);
      self->device_note = g_steal_pointer (&data->device_note);
    }
  set_model_state (self, "ready");
}

/**
 * mva_session_load_model:
 *
 * (Re)loads the current model in a worker thread: the library's adopted
 * version, else the default model.
 */
void
mva_session_load_model (MvaSession *self)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GError) error = NULL;
  LoadData *data;
  GWeakRef *ref;
  char *dir = NULL;
  MvaStore *store;

  g_return_if_fail (MVA_IS_SESSION (self));

  if (self->model_cancellable != NULL)
    g_cancellable_cancel (self->model_cancellable);
  g_clear_object (&self->model_cancellable);

  /* the library's adopted version, else the default ($MVAEMA_MODEL, ...) */
  store = mva_session_get_store (self, NULL);
  dir = store != NULL ? mva_assistant_current_model_dir (store, &error)
                      : mva_assistant_default_model_dir (&error);
  if (dir == NULL)
    {
      g_clear_pointer (&self->model, mva_assistant_model_unref);
      g_free (self->model_error);
      self->model_error = g_strdup (error->message);
      set_model_state (self, "error");
      return;
    }

  /* nothing answers with the old model while the new one loads */
  g_clear_pointer (&self->model, mva_assistant_model_unref);
  data = g_new0 (LoadData, 1);
  data->dir = dir;
  data->threads = mva_session_get_threads (self);
  data->device_pref = g_settings_get_string (self->settings, "device");
  self->model_cancellable = g_cancellable_new ();
  ref = g_new0 (GWeakRef, 1);
  g_weak_ref_init (ref, self);
  task = g_task_new (NULL, self->model_cancellable, load_done_cb, ref);
  g_task_set_source_tag (task, mva_session_load_model);
  g_task_set_name (task, "[mva-session] load model");
  g_task_set_task_data (task, data, (GDestroyNotify) load_data_free);
  g_task_set_return_on_cancel (task, TRUE);
  set_model_state (self, "loading");
  g_task_run_in_thread (task, load_thread);
}

const char *
mva_session_get_model_state (MvaSession *self)
{
  g_return_val_if_fail (MVA_IS_SESSION (self), NULL);
  return self->model_state;
}

const char *
mva_session_get_model_error (MvaSession *self)
{
  g_return_val_if_fail (MVA_IS_SESSION (self), NULL);
  return self->model_error;
}

/* The loaded model (borrowed), or NULL unless "model-state" is "ready". */
MvaAssistantModel *
mva_session_get_model (MvaSession *self)
{
  g_return_val_if_fail (MVA_IS_SESSION (self), NULL);
  return self->model;
}

/* Where the model runs, "cpu" or "cuda" (meaningful once "ready"). */
const char *
mva_session_get_device (MvaSession *self)
{
  g_return_val_if_fail (MVA_IS_SESSION (self), NULL);
  return self->device;
}

/* Why the "device" setting's CUDA runs on the CPU, or NULL. */
const char *
mva_session_get_device_note (MvaSession *self)
{
  g_return_val_if_fail (MVA_IS_SESSION (self), NULL);
  return self->device_note;
}

void
mva_session_library_changed (MvaSession *self)
{
  g_return_if_fail (MVA_IS_SESSION (self));
  g_signal_emit (self, signals[LIBRARY_CHANGED], 0);
}
