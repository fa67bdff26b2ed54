/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-recent.h: the list of recently opened micrographs.
 *
 * Kept in the GSettings key "recent-files" (absolute paths, newest first,
 * at most "recent-limit" entries), so it survives restarts and is shared by
 * every window. "changed" is emitted whenever the list changes, also when
 * another process changes the key.
 *
 *   MvaRecent *recent = mva_recent_new (settings);
 *   mva_recent_add (recent, "/data/sem/rbc1.tif");
 *   g_auto(GStrv) paths = mva_recent_dup_paths (recent);
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define MVA_TYPE_RECENT (mva_recent_get_type ())
G_DECLARE_FINAL_TYPE (MvaRecent, mva_recent, MVA, RECENT, GObject)

MvaRecent  *mva_recent_new       (GSettings  *settings);
void        mva_recent_add       (MvaRecent  *self,
                                  const char *path);
void        mva_recent_remove    (MvaRecent  *self,
                                  const char *path);
void        mva_recent_clear     (MvaRecent  *self);
char      **mva_recent_dup_paths (MvaRecent  *self);

G_END_DECLS
