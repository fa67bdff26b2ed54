/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-window.h: the main window.
 *
 * Header bar (Open, zoom, menu), a sidebar of recent micrographs, and a stack
 * of pages (today the viewer; later the library and "Improve the model"). The
 * viewer loads micrographs in a worker thread through mva_image_load() and
 * shows them in an MvaImageView with their size, depth and instrument data.
 *
 *   MvaWindow *win = mva_window_new (app);
 *   mva_window_open_file (win, file);   // async; "state" goes loading -> image | error
 */
#pragma once

#include <adwaita.h>

#include "mva-application.h"
#include "mva-image.h"
#include "mva-image-view.h"

G_BEGIN_DECLS

/* Largest texture side the viewer asks the loader for; bigger files come as a
 * downscaled preview (their pixel size and 1:1 still refer to the file). */
#define MVA_WINDOW_MAX_TEXTURE_SIDE 8192

#define MVA_TYPE_WINDOW (mva_window_get_type ())
G_DECLARE_FINAL_TYPE (MvaWindow, mva_window, MVA, WINDOW, AdwApplicationWindow)

MvaWindow      *mva_window_new             (MvaApplication *application);
void            mva_window_open_file       (MvaWindow      *self,
                                            GFile          *file);
void            mva_window_open_files      (MvaWindow      *self,
                                            GFile         **files,
                                            int             n_files);
const char     *mva_window_get_state       (MvaWindow      *self);
GFile          *mva_window_get_file        (MvaWindow      *self);
const MvaImage *mva_window_get_image       (MvaWindow      *self);
MvaImageView   *mva_window_get_image_view  (MvaWindow      *self);
const char     *mva_window_get_error_text  (MvaWindow      *self);
char           *mva_window_dup_info_text   (MvaWindow      *self);

G_END_DECLS
