/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-recent.c: recently opened micrographs in GSettings (see mva-recent.h).
 */
#include "config.h"

#define G_LOG_DOMAIN "mva-recent"

#include "mva-recent.h"

#define KEY_FILES "recent-files"
#define KEY_LIMIT "recent-limit"

struct _MvaRecent
{
  GObject    parent_instance;
  GSettings *settings;
};

enum { CHANGED, N_SIGNALS };
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (MvaRecent, mva_recent, G_TYPE_OBJECT)

static void
settings_changed_cb (MvaRecent *self)
{
  g_signal_emit (self, signals[CHANGED], 0);
}

static void
mva_recent_dispose (GObject *object)
{
  MvaRecent *self = MVA_RECENT (object);

  if (self->settings != NULL)
    g_signal_handlers_disconnect_by_func (self->settings, settings_changed_cb, self);
  g_clear_object (&self->settings);
  G_OBJECT_CLASS (mva_recent_parent_class)->dispose (object);
}

static void
mva_recent_class_init (MvaRecentClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = mva_recent_dispose;

  signals[CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                   0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
mva_recent_init (MvaRecent *self)
{
}

/**
 * mva_recent_new:
 * @settings: settings of the io.github.mvaema.Workbench schema
 */
MvaRecent *
mva_recent_new (GSettings *settings)
{
  MvaRecent *self;

  g_return_val_if_fail (G_IS_SETTINGS (settings), NULL);

  self = g_object_new (MVA_TYPE_RECENT, NULL);
  self->settings = g_object_ref (settings);
  g_signal_connect_swapped (settings, "changed::" KEY_FILES,
                            G_CALLBACK (settings_changed_cb), self);
  return self;
}

/* Store @paths (newest first), without duplicates, cut to the limit. */
static void
store (MvaRecent          *self,
       const char * const *paths)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  g_auto(GStrv) result = NULL;
  int limit = g_settings_get_int (self->settings, KEY_LIMIT);
  int n = 0;

  for (guint i = 0; paths[i] != NULL && n < limit; i++)
    {
      if (paths[i][0] == '\0' || !g_hash_table_add (seen, (gpointer) paths[i]))
        continue;
      g_strv_builder_add (builder, paths[i]);
      n++;
    }
  result = g_strv_builder_end (builder);
  g_settings_set_strv (self->settings, KEY_FILES, (const char * const *) result);
}

/**
 * mva_recent_add:
 * @path: an absolute path; relative paths are made absolute against the
 *   current directory
 *
 * Puts @path first, removing an older entry for the same path.
 */
void
mva_recent_add (MvaRecent  *self,
                const char *path)
{
  g_auto(GStrv) old = NULL;
  g_autofree char *abs = NULL;
  g_autoptr(GPtrArray) paths = g_ptr_array_new ();

  g_return_if_fail (MVA_IS_RECENT (self));
  g_return_if_fail (path != NULL && path[0] != '\0');

  abs = g_canonicalize_filename (path, NULL);
  old = g_settings_get_strv (self->settings, KEY_FILES);
  g_ptr_array_add (paths, abs);
  for (guint i = 0; old[i] != NULL; i++)
    if (g_strcmp0 (old[i], abs) != 0)
      g_ptr_array_add (paths, old[i]);
  g_ptr_array_add (paths, NULL);
  store (self, (const char * const *) paths->pdata);
}

void
mva_recent_remove (MvaRecent  *self,
                   const char *path)
{
  g_auto(GStrv) old = NULL;
  g_autoptr(GPtrArray) paths = g_ptr_array_new ();

  g_return_if_fail (MVA_IS_RECENT (self));
  g_return_if_fail (path != NULL);

  old = g_settings_get_strv (self->settings, KEY_FILES);
  for (guint i = 0; old[i] != NULL; i++)
    if (g_strcmp0 (old[i], path) != 0)
      g_ptr_array_add (paths, old[i]);
  g_ptr_array_add (paths, NULL);
  store (self, (const char * const *) paths->pdata);
}

void
mva_recent_clear (MvaRecent *self)
{
  const char *empty[] = { NULL };

  g_return_if_fail (MVA_IS_RECENT (self));
  g_settings_set_strv (self->settings, KEY_FILES, empty);
}

/**
 * mva_recent_dup_paths:
 *
 * Returns: (transfer full): the paths, newest first; free with g_strfreev()
 */
char **
mva_recent_dup_paths (MvaRecent *self)
{
  g_return_val_if_fail (MVA_IS_RECENT (self), NULL);
  return g_settings_get_strv (self->settings, KEY_FILES);
}
