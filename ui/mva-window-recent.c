/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-window-recent.c: the recent list in the sidebar and its thumbnails (see mva-window-private.h).
 */
#include "config.h"

#define G_LOG_DOMAIN "mva-window"

#include <string.h>

#include <glib/gi18n.h>

#include "mva-window-private.h"

/* --- recent list ---------------------------------------------------------------- */

#define THUMBNAIL_SIDE 96

static void request_thumbnail (MvaWindow  *self,
                               const char *path);

static GtkWidget *
create_recent_row (const char *path,
                   GdkTexture *thumbnail,
                   gboolean    current)
{
  g_autofree char *name = g_path_get_basename (path);
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *home_dir = NULL;
  const char *home = g_get_home_dir ();
  gboolean exists = g_file_test (path, G_FILE_TEST_IS_REGULAR);
  GtkWidget *row, *box, *labels, *thumb, *title, *subtitle;

  if (home != NULL && g_str_has_prefix (dir, home) && strlen (home) > 1)
    home_dir = g_strconcat ("~", dir + strlen (home), NULL);

  row = gtk_list_box_row_new ();
  g_object_set_data_full (G_OBJECT (row), "path", g_strdup (path), g_free);
  gtk_widget_set_tooltip_text (row, exists ? path : _("The file is no longer there"));

  box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 10);

  /* Square thumbnail of the specimen; an icon until it is ready. */
  thumb = gtk_image_new ();
  gtk_image_set_pixel_size (GTK_IMAGE (thumb), 40);
  gtk_widget_set_valign (thumb, GTK_ALIGN_CENTER);
  gtk_widget_set_overflow (thumb, GTK_OVERFLOW_HIDDEN);
  gtk_widget_add_css_class (thumb, "mva-thumbnail");
  if (thumbnail != NULL)
    gtk_image_set_from_paintable (GTK_IMAGE (thumb), GDK_PAINTABLE (thumbnail));
  else
    gtk_image_set_from_icon_name (GTK_IMAGE (thumb),
                                  exists ? "image-x-generic-symbolic" : "image-missing-symbolic");
  g_object_set_data (G_OBJECT (row), "thumbnail", thumb);
  gtk_box_append (GTK_BOX (box), thumb);

  labels = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
  gtk_widget_set_valign (labels, GTK_ALIGN_CENTER);
  title = gtk_label_new (name);
  gtk_label_set_xalign (GTK_LABEL (title), 0.0f);
  gtk_label_set_ellipsize (GTK_LABEL (title), PANGO_ELLIPSIZE_MIDDLE);
  subtitle = gtk_label_new (home_dir != NULL ? home_dir : dir);
  gtk_label_set_xalign (GTK_LABEL (subtitle), 0.0f);
  gtk_label_set_ellipsize (GTK_LABEL (subtitle), PANGO_ELLIPSIZE_START);
  gtk_widget_add_css_class (subtitle, "caption");
  gtk_widget_add_css_class (subtitle, "dim-label");
  gtk_box_append (GTK_BOX (labels), title);
  gtk_box_append (GTK_BOX (labels), subtitle);
  gtk_box_append (GTK_BOX (box), labels);

  if (!exists)
    gtk_widget_add_css_class (box, "dim-label");
  if (current)
    gtk_widget_add_css_class (row, "mva-current");
  gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), box);
  return row;
}

void
_mva_window_rebuild_recent_list (MvaWindow *self)
{
  g_auto(GStrv) paths = mva_recent_dup_paths (self->recent);
  g_autofree char *current = self->file != NULL ? g_file_get_path (self->file) : NULL;
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->recent_list))) != NULL)
    gtk_list_box_remove (self->recent_list, child);

  for (guint i = 0; paths[i] != NULL; i++)
    {
      gboolean is_current = current != NULL && g_strcmp0 (paths[i], current) == 0;
      GdkTexture *thumbnail = g_hash_table_lookup (self->thumbnails, paths[i]);
      GtkWidget *row = create_recent_row (paths[i], thumbnail, is_current);

      if (!g_hash_table_contains (self->thumbnails, paths[i]))
        request_thumbnail (self, paths[i]);

      gtk_list_box_append (self->recent_list, row);
      if (is_current)
        gtk_list_box_select_row (self->recent_list, GTK_LIST_BOX_ROW (row));
    }
  gtk_stack_set_visible_child_name (self->recent_stack, paths[0] != NULL ? "list" : "empty");
}

void
_mva_window_recent_row_activated_cb (MvaWindow     *self,
                                     GtkListBoxRow *row)
{
  g_autofree char *path = g_strdup (g_object_get_data (G_OBJECT (row), "path"));
  g_autoptr(GFile) file = NULL;

  if (path == NULL)
    return;
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      /* Moved or deleted since: say so and drop it, keep what is shown. */
      g_autofree char *name = g_path_get_basename (path);
      /* Translators: %s is a file name */
      g_autofree char *title = g_strdup_printf (_("“%s” is no longer there; removed from the list"),
                                                name);

      adw_toast_overlay_add_toast (self->toast_overlay, adw_toast_new (title));
      mva_recent_remove (self->recent, path); /* rebuilds the list, freeing @row */
      return;
    }
  file = g_file_new_for_path (path);
  mva_window_open_file (self, file);
}

/* --- thumbnails for the recent list ------------------------------------------------ */

static void thumbnail_next (MvaWindow *self);

static void
thumbnail_thread (GTask        *task,
                  gpointer      source_object,
                  gpointer      task_data,
                  GCancellable *cancellable)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MvaImage) image = mva_image_load (task_data, THUMBNAIL_SIDE, &error);
  MvaLoadResult *result;
  guint8 *rgb;

  guint8 *square;
  guint specimen_h, side, x0, y0;

  if (image == NULL || image->width == 0 || image->height == 0 ||
      (rgb = mva_image_to_rgb8 (image)) == NULL)
    {
      g_task_return_new_error (task, MVA_IMAGE_ERROR, MVA_IMAGE_ERROR_UNSUPPORTED,
                               "no thumbnail for %s", (const char *) task_data);
      return;
    }
  /* The centre square of the specimen: the data bar is left out. */
  specimen_h = image->height;
  if (image->meta.databar_height_px > 0 && image->full_height > 0)
    {
      guint bar = (guint) ((guint64) image->meta.databar_height_px * image->height / image->full_height);

      if (bar < image->height / 2)
        specimen_h = image->height - bar;
    }
  side = MIN (image->width, specimen_h);
  x0 = (image->width - side) / 2;
  y0 = (specimen_h - side) / 2;
  square = g_malloc ((gsize) side * side * 3);
  for (guint y = 0; y < side; y++)
    memcpy (square + (gsize) y * side * 3,
            rgb + ((gsize) (y0 + y) * image->width + x0) * 3, (gsize) side * 3);
  g_free (rgb);

  result = g_new0 (MvaLoadResult, 1);
  result->thumb_side = side;
  result->rgb = g_bytes_new_take (square, (gsize) side * side * 3);
  result->image = g_steal_pointer (&image);
  g_task_return_pointer (task, result, (GDestroyNotify) _mva_load_result_free);
}

/* What a thumbnail's callback gets: the window only weakly, for the same
 * reason as loads (see LoadJob in mva-window.c): a task must never keep a
 * closed window alive or drop its last reference in a worker thread. */
typedef struct
{
  GWeakRef  window;
  char     *path;
} ThumbnailJob;

static void
thumbnail_job_free (ThumbnailJob *job)
{
  g_weak_ref_clear (&job->window);
  g_free (job->path);
  g_free (job);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ThumbnailJob, thumbnail_job_free)

static void
thumbnail_done_cb (GObject      *source,
                   GAsyncResult *res,
                   gpointer      user_data)
{
  g_autoptr(ThumbnailJob) job = user_data;
  g_autoptr(MvaWindow) self = g_weak_ref_get (&job->window);
  const char *path = job->path;
  g_autoptr(GError) error = NULL;
  MvaLoadResult *result = g_task_propagate_pointer (G_TASK (res), &error);
  g_autoptr(GdkTexture) texture = NULL;

  if (self == NULL || (result == NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)))
    {
      g_clear_pointer (&result, _mva_load_result_free);
      return; /* the window is going away */
    }
  g_clear_object (&self->thumbnail_cancellable);

  if (result != NULL)
    {
      texture = gdk_memory_texture_new ((int) result->thumb_side, (int) result->thumb_side,
                                        GDK_MEMORY_R8G8B8, result->rgb,
                                        (gsize) result->thumb_side * 3);
      _mva_load_result_free (result);
      g_hash_table_replace (self->thumbnails, g_strdup (path), g_object_ref (texture));

      for (GtkWidget *row = gtk_widget_get_first_child (GTK_WIDGET (self->recent_list));
           row != NULL; row = gtk_widget_get_next_sibling (row))
        {
          GtkImage *thumb = g_object_get_data (G_OBJECT (row), "thumbnail");

          if (thumb != NULL && g_strcmp0 (g_object_get_data (G_OBJECT (row), "path"), path) == 0)
            gtk_image_set_from_paintable (thumb, GDK_PAINTABLE (texture));
        }
    }
  thumbnail_next (self);
}

/* Thumbnails are made one at a time, so they never compete with the image
 * being opened for more than one core. */
static void
thumbnail_next (MvaWindow *self)
{
  g_autoptr(GTask) task = NULL;
  ThumbnailJob *job;
  char *path;

  if (self->thumbnail_cancellable != NULL)
    return;
  path = g_queue_pop_head (&self->thumbnail_queue);
  if (path == NULL)
    return;

  self->thumbnail_cancellable = g_cancellable_new ();
  job = g_new0 (ThumbnailJob, 1);
  g_weak_ref_init (&job->window, self);
  job->path = path;
  task = g_task_new (NULL, self->thumbnail_cancellable, thumbnail_done_cb, job);
  g_task_set_source_tag (task, thumbnail_next);
  g_task_set_name (task, "[mva-window] thumbnail");
  g_task_set_task_data (task, g_strdup (path), g_free);
  g_task_set_return_on_cancel (task, TRUE);
  g_task_run_in_thread (task, thumbnail_thread);
}

static void
request_thumbnail (MvaWindow  *self,
                   const char *path)
{
  /* A NULL entry marks "queued or failed", so each path is tried once. */
  g_hash_table_insert (self->thumbnails, g_strdup (path), NULL);
  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    return;
  g_queue_push_tail (&self->thumbnail_queue, g_strdup (path));
  thumbnail_next (self);
}

static void
unref_nullable (gpointer object)
{
  if (object != NULL)
    g_object_unref (object);
}

void
_mva_window_thumbnails_init (MvaWindow *self)
{
  self->thumbnails = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, unref_nullable);
  g_queue_init (&self->thumbnail_queue);
}

/* Drops queued thumbnails and the one in flight; the cache itself goes in finalize. */
void
_mva_window_thumbnails_dispose (MvaWindow *self)
{
  if (self->thumbnail_cancellable != NULL)
    g_cancellable_cancel (self->thumbnail_cancellable);
  g_clear_object (&self->thumbnail_cancellable);
  g_queue_clear_full (&self->thumbnail_queue, g_free);
}
