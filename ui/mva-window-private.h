/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-window-private.h: MvaWindow's instance struct and the functions its
 * source files share:
 *   mva-window.c          GObject, loading in a worker, viewer states, window state
 *   mva-window-info.c     text of the info bar and the pointer readout
 *   mva-window-recent.c   the recent list and its thumbnails
 *   mva-window-actions.c  win.* actions, keyboard shortcuts, the Open dialog, drops
 */
#pragma once

#include "mva-ask-panel.h"
#include "mva-heat-overlay.h"
#include "mva-improve-page.h"
#include "mva-library-view.h"
#include "mva-session.h"
#include "mva-window.h"

G_BEGIN_DECLS

struct _MvaWindow
{
  AdwApplicationWindow  parent_instance;

  /* template children */
  AdwToastOverlay      *toast_overlay;
  AdwWindowTitle       *window_title;
  GtkLabel             *zoom_label;
  GtkRevealer          *sidebar_revealer;
  GtkStack             *recent_stack;
  GtkListBox           *recent_list;
  GtkStack             *main_stack;
  GtkStack             *view_stack;
  GtkSpinner           *spinner;
  GtkLabel             *loading_label;
  AdwStatusPage        *error_page;
  MvaImageView         *image_view;
  GtkWidget            *content_box;
  GtkWidget            *info_bar;
  GtkLabel             *info_label;
  GtkLabel             *meta_label;
  GtkLabel             *pointer_label;
  MvaHeatOverlay       *heat_overlay;
  MvaAskPanel          *ask_panel;
  MvaLibraryView       *library_view;
  MvaImprovePage       *improve_page;
  GtkWidget            *zoom_box;

  GSettings            *settings;
  MvaRecent            *recent;
  GtkFileChooserNative *chooser;
  MvaSession           *session;          /* library and model of the assistant pages */

  GCancellable         *load_cancellable; /* the load in flight, if any */
  GHashTable           *thumbnails;       /* path -> GdkTexture, or NULL while queued/failed */
  GQueue                thumbnail_queue;  /* paths waiting for a thumbnail */
  GCancellable         *thumbnail_cancellable; /* the thumbnail in flight, if any */
  guint                 spinner_timeout_id;
  guint                 zoom_label_idle_id;
  GFile                *file;             /* shown (or failed) file */
  MvaImage             *image;            /* shown image, full depth */
  char                 *error_text;
  const char           *state;            /* "empty", "loading", "error", "image" */
};

/* What a worker hands back to the main loop: the image and its display RGB. */
typedef struct
{
  MvaImage *image;
  GBytes   *rgb;
  guint     thumb_side; /* thumbnails: rgb is a square of this side */
} MvaLoadResult;

/* mva-window.c */
void      _mva_load_result_free              (MvaLoadResult   *result);

/* mva-window-info.c */
char     *_mva_window_build_info_text        (const MvaImage  *image);
char     *_mva_window_build_meta_text        (const MvaImage  *image);
void      _mva_window_pointer_moved_cb       (MvaWindow       *self,
                                              double           fx,
                                              double           fy,
                                              gboolean         over_image,
                                              MvaImageView    *view);

/* mva-window-recent.c */
void      _mva_window_rebuild_recent_list    (MvaWindow       *self);
void      _mva_window_recent_row_activated_cb (MvaWindow      *self,
                                              GtkListBoxRow   *row);
void      _mva_window_thumbnails_init        (MvaWindow       *self);
void      _mva_window_thumbnails_dispose     (MvaWindow       *self);

/* mva-window-actions.c */
void      _mva_window_class_add_actions      (GtkWidgetClass  *widget_class);
gboolean  _mva_window_drop_cb                (GtkDropTarget   *target,
                                              const GValue    *value,
                                              double           x,
                                              double           y,
                                              MvaWindow       *self);

G_END_DECLS
