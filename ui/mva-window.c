/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-window.c: the main window: opening (dialog, drag and drop, command
 * line, recent list), loading in a worker thread, the viewer page, window
 * state in GSettings (see mva-window.h).
 */
#include "config.h"

#define G_LOG_DOMAIN "mva-window"

#include <math.h>
#include <string.h>

#include <glib/gi18n.h>

#include "mva-scale-bar.h"
#include "mva-window.h"

/* Show the spinner only when a load takes longer than this, so small files
 * do not flash it. */
#define SPINNER_DELAY_MS 150

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

  GSettings            *settings;
  MvaRecent            *recent;
  GtkFileChooserNative *chooser;

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

G_DEFINE_FINAL_TYPE (MvaWindow, mva_window, ADW_TYPE_APPLICATION_WINDOW)

enum { PROP_0, PROP_STATE, N_PROPS };
static GParamSpec *properties[N_PROPS];

static void
set_state (MvaWindow  *self,
           const char *state)
{
  if (g_strcmp0 (self->state, state) == 0)
    return;
  self->state = g_intern_static_string (state);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
}

/* --- text for the info bar ---------------------------------------------------- */

static const char *
channels_name (guint channels)
{
  switch (channels)
    {
    case 1: return _("grey");
    case 2: return _("grey + alpha");
    case 3: return _("RGB");
    case 4: return _("RGBA");
    default: return _("multi-channel");
    }
}

static char *
format_depth (const MvaImage *image)
{
  switch (image->sample_format)
    {
    case MVA_SAMPLE_FLOAT:
      /* Translators: e.g. "32-bit float" */
      return g_strdup_printf (_("%u-bit float"), image->bit_depth);
    case MVA_SAMPLE_INT:
      return g_strdup_printf (_("%u-bit signed"), image->bit_depth);
    case MVA_SAMPLE_UINT:
    default:
      return g_strdup_printf (_("%u-bit"), image->bit_depth);
    }
}

/* A length with 3 significant digits in a fitting unit. */
static char *
format_length_3 (double nm)
{
  if (nm < 1.0)
    return g_strdup_printf ("%.3g pm", nm * 1000.0);
  if (nm < 1000.0)
    return g_strdup_printf ("%.3g nm", nm);
  if (nm < 1e6)
    return g_strdup_printf ("%.3g µm", nm / 1000.0);
  return g_strdup_printf ("%.3g mm", nm / 1e6);
}

static gboolean
known (double value)
{
  return isfinite (value) && value > 0.0;
}

static char *
build_info_text (const MvaImage *image)
{
  g_autofree char *depth = format_depth (image);
  GString *s = g_string_new (NULL);

  /* Translators: width × height in pixels */
  g_string_append_printf (s, _("%u × %u px"), image->full_width, image->full_height);
  g_string_append_printf (s, " · %s %s · %s", depth, channels_name (image->channels),
                          image->format != NULL ? image->format : "");
  if (image->width != image->full_width || image->height != image->full_height)
    /* Translators: a huge file is shown from a smaller copy */
    g_string_append_printf (s, " · %s", _("preview"));
  return g_string_free (s, FALSE);
}

static char *
build_meta_text (const MvaImage *image)
{
  const MvaImageMeta *m = &image->meta;
  g_autoptr(GPtrArray) parts = g_ptr_array_new_with_free_func (g_free);

  if (known (m->pixel_size_nm))
    {
      g_autofree char *px = format_length_3 (m->pixel_size_nm);
      g_autofree char *fov = format_length_3 (m->pixel_size_nm * image->full_width);

      /* Translators: pixel size, e.g. "1.08 nm/px" */
      g_ptr_array_add (parts, g_strdup_printf (_("%s/px"), px));
      /* Translators: horizontal field of view, e.g. "FOV 1.66 µm" */
      g_ptr_array_add (parts, g_strdup_printf (_("FOV %s"), fov));
    }
  else
    g_ptr_array_add (parts, g_strdup (_("pixel size not stated in the file")));

  if (m->instrument != NULL && m->instrument[0] != '\0')
    g_ptr_array_add (parts, g_strdup (m->instrument));
  if (known (m->hv_kv))
    g_ptr_array_add (parts, g_strdup_printf ("%.3g kV", m->hv_kv));
  if (known (m->wd_mm))
    /* Translators: working distance */
    g_ptr_array_add (parts, g_strdup_printf (_("WD %.3g mm"), m->wd_mm));
  if (known (m->magnification))
    g_ptr_array_add (parts, g_strdup_printf ("%.0f×", m->magnification));
  if (m->detector != NULL && m->detector[0] != '\0')
    g_ptr_array_add (parts, g_strdup (m->detector));
  if (m->databar_height_px > 0)
    /* Translators: the instrument's information strip below the image */
    g_ptr_array_add (parts, g_strdup_printf (_("data bar %d px"), m->databar_height_px));

  g_ptr_array_add (parts, NULL);
  return g_strjoinv ("  ·  ", (char **) parts->pdata);
}

/* The sample at (x, y) of @image as text: one number for grey, R, G, B for
 * colour, at the depth stored in the file. */
static char *
format_pixel_value (const MvaImage *image,
                    guint           x,
                    guint           y)
{
  const guint8 *row = (const guint8 *) image->data + (gsize) y * image->stride;
  guint bytes = image->bit_depth / 8;
  guint n = MIN (image->channels, 3u);
  GString *s = g_string_new (NULL);

  for (guint c = 0; c < n; c++)
    {
      const guint8 *p = row + ((gsize) x * image->channels + c) * bytes;

      if (c > 0)
        g_string_append (s, ", ");
      if (image->sample_format == MVA_SAMPLE_FLOAT && bytes == 4)
        {
          float v;
          memcpy (&v, p, sizeof v);
          g_string_append_printf (s, "%.5g", v);
        }
      else if (image->sample_format == MVA_SAMPLE_FLOAT && bytes == 8)
        {
          double v;
          memcpy (&v, p, sizeof v);
          g_string_append_printf (s, "%.5g", v);
        }
      else if (bytes == 1)
        g_string_append_printf (s, "%d", image->sample_format == MVA_SAMPLE_INT ? (int) (gint8) *p : (int) *p);
      else if (bytes == 2)
        {
          guint16 v;
          memcpy (&v, p, sizeof v);
          g_string_append_printf (s, "%d", image->sample_format == MVA_SAMPLE_INT ? (int) (gint16) v : (int) v);
        }
      else if (bytes == 4)
        {
          guint32 v;
          memcpy (&v, p, sizeof v);
          if (image->sample_format == MVA_SAMPLE_INT)
            g_string_append_printf (s, "%" G_GINT32_FORMAT, (gint32) v);
          else
            g_string_append_printf (s, "%" G_GUINT32_FORMAT, v);
        }
      else
        g_string_append (s, "?");
    }
  return g_string_free (s, FALSE);
}

static void
pointer_moved_cb (MvaWindow    *self,
                  double        fx,
                  double        fy,
                  gboolean      over_image,
                  MvaImageView *view)
{
  const MvaImage *image = self->image;
  g_autofree char *value = NULL;
  g_autofree char *text = NULL;
  guint x, y, px, py;

  if (!over_image || image == NULL || image->data == NULL || image->width == 0)
    {
      gtk_label_set_label (self->pointer_label, "");
      return;
    }
  x = MIN ((guint) fx, image->full_width - 1);
  y = MIN ((guint) fy, image->full_height - 1);
  /* The data may be a preview of a huge file. */
  px = MIN ((guint) (fx * image->width / image->full_width), image->width - 1);
  py = MIN ((guint) (fy * image->height / image->full_height), image->height - 1);
  value = format_pixel_value (image, px, py);

  if (known (image->meta.pixel_size_nm))
    {
      double sy = known (image->meta.pixel_size_y_nm) ? image->meta.pixel_size_y_nm
                                                     : image->meta.pixel_size_nm;
      g_autofree char *lx = format_length_3 ((x + 0.5) * image->meta.pixel_size_nm);
      g_autofree char *ly = format_length_3 ((y + 0.5) * sy);

      /* Translators: pointer position in pixels and in physical units, and the pixel value */
      text = g_strdup_printf (_("x %u  y %u  (%s, %s)  ·  %s"), x, y, lx, ly, value);
    }
  else
    /* Translators: pointer position in pixels and the pixel value */
    text = g_strdup_printf (_("x %u  y %u  ·  %s"), x, y, value);
  gtk_label_set_label (self->pointer_label, text);
}

static void
update_zoom_label (MvaWindow *self)
{
  g_autofree char *text = NULL;
  double zoom = mva_image_view_get_zoom (self->image_view);
  double percent = zoom * 100.0;

  if (mva_image_view_get_texture (self->image_view) == NULL)
    {
      gtk_label_set_label (self->zoom_label, "—");
      return;
    }
  if (percent >= 10.0)
    text = g_strdup_printf ("%.0f %%", percent);
  else
    text = g_strdup_printf ("%.1f %%", percent);
  if (mva_image_view_get_zoom_to_fit (self->image_view))
    {
      g_autofree char *fit = g_strdup_printf (_("Fit %s"), text);

      gtk_label_set_label (self->zoom_label, fit);
    }
  else
    gtk_label_set_label (self->zoom_label, text);
}

static gboolean
zoom_label_idle_cb (gpointer user_data)
{
  MvaWindow *self = MVA_WINDOW (user_data);

  self->zoom_label_idle_id = 0;
  update_zoom_label (self);
  return G_SOURCE_REMOVE;
}

/* The view changes its zoom while it is being allocated (fit mode); changing
 * a header-bar label right then would queue a resize in the middle of the
 * window's allocation, so the label follows from an idle. */
static void
queue_update_zoom_label (MvaWindow *self)
{
  if (self->zoom_label_idle_id == 0)
    self->zoom_label_idle_id = g_idle_add (zoom_label_idle_cb, self);
}

static void
update_actions (MvaWindow *self)
{
  gboolean has_image = self->image != NULL && g_strcmp0 (self->state, "image") == 0;

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.zoom-in", has_image);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.zoom-out", has_image);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.zoom-fit", has_image);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.zoom-actual", has_image);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.zoom-toggle", has_image);
}

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

static void
rebuild_recent_list (MvaWindow *self)
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

static void
recent_row_activated_cb (MvaWindow     *self,
                         GtkListBoxRow *row)
{
  const char *path = g_object_get_data (G_OBJECT (row), "path");
  g_autoptr(GFile) file = NULL;

  if (path == NULL)
    return;
  file = g_file_new_for_path (path);
  mva_window_open_file (self, file);
}

/* --- loading ---------------------------------------------------------------------- */

typedef struct
{
  MvaImage *image;
  GBytes   *rgb;
  guint     thumb_side; /* thumbnails: rgb is a square of this side */
} LoadResult;

static void
load_result_free (LoadResult *result)
{
  g_clear_pointer (&result->image, mva_image_free);
  g_clear_pointer (&result->rgb, g_bytes_unref);
  g_free (result);
}

static void
load_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  const char *path = task_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(MvaImage) image = NULL;
  LoadResult *result;
  guint8 *rgb;

  image = mva_image_load (path, MVA_WINDOW_MAX_TEXTURE_SIDE, &error);
  if (image == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (image->width == 0 || image->height == 0)
    {
      g_task_return_new_error (task, MVA_IMAGE_ERROR, MVA_IMAGE_ERROR_CORRUPT,
                               _("The image has no pixels"));
      return;
    }
  if (g_task_return_error_if_cancelled (task))
    return;

  rgb = mva_image_to_rgb8 (image);
  if (rgb == NULL)
    {
      g_task_return_new_error (task, MVA_IMAGE_ERROR, MVA_IMAGE_ERROR_UNSUPPORTED,
                               _("The image could not be converted for display"));
      return;
    }
  result = g_new0 (LoadResult, 1);
  result->rgb = g_bytes_new_take (rgb, (gsize) image->width * image->height * 3);
  result->image = g_steal_pointer (&image);
  g_task_return_pointer (task, result, (GDestroyNotify) load_result_free);
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
  LoadResult *result;
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

  result = g_new0 (LoadResult, 1);
  result->thumb_side = side;
  result->rgb = g_bytes_new_take (square, (gsize) side * side * 3);
  result->image = g_steal_pointer (&image);
  g_task_return_pointer (task, result, (GDestroyNotify) load_result_free);
}

static void
thumbnail_done_cb (GObject      *source,
                   GAsyncResult *res,
                   gpointer      user_data)
{
  MvaWindow *self = MVA_WINDOW (source);
  g_autofree char *path = user_data;
  g_autoptr(GError) error = NULL;
  LoadResult *result = g_task_propagate_pointer (G_TASK (res), &error);
  g_autoptr(GdkTexture) texture = NULL;

  if (result == NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return; /* the window is going away */
  g_clear_object (&self->thumbnail_cancellable);

  if (result != NULL)
    {
      texture = gdk_memory_texture_new ((int) result->thumb_side, (int) result->thumb_side,
                                        GDK_MEMORY_R8G8B8, result->rgb,
                                        (gsize) result->thumb_side * 3);
      load_result_free (result);
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
  char *path;

  if (self->thumbnail_cancellable != NULL)
    return;
  path = g_queue_pop_head (&self->thumbnail_queue);
  if (path == NULL)
    return;

  self->thumbnail_cancellable = g_cancellable_new ();
  task = g_task_new (self, self->thumbnail_cancellable, thumbnail_done_cb, path);
  g_task_set_source_tag (task, thumbnail_next);
  g_task_set_name (task, "[mva-window] thumbnail");
  g_task_set_task_data (task, g_strdup (path), g_free);
  g_task_set_return_on_cancel (task, TRUE);
  g_task_set_priority (task, G_PRIORITY_LOW);
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

static gboolean
spinner_timeout_cb (gpointer user_data)
{
  MvaWindow *self = MVA_WINDOW (user_data);

  self->spinner_timeout_id = 0;
  gtk_spinner_start (self->spinner);
  gtk_stack_set_visible_child_name (self->view_stack, "loading");
  return G_SOURCE_REMOVE;
}

static void
stop_spinner (MvaWindow *self)
{
  g_clear_handle_id (&self->spinner_timeout_id, g_source_remove);
  gtk_spinner_stop (self->spinner);
}

static void
show_error (MvaWindow  *self,
            GFile      *file,
            const char *message)
{
  g_autofree char *name = file != NULL ? g_file_get_basename (file) : NULL;
  g_autofree char *escaped = g_markup_escape_text (message, -1);
  g_autofree char *title = NULL;

  g_set_object (&self->file, file);
  g_clear_pointer (&self->image, mva_image_free);
  g_free (self->error_text);
  self->error_text = g_strdup (message);

  /* Translators: %s is a file name */
  title = g_strdup_printf (_("Could Not Open “%s”"), name != NULL ? name : "");
  adw_status_page_set_title (self->error_page, title);
  adw_status_page_set_description (self->error_page, escaped);
  adw_window_title_set_subtitle (self->window_title, name != NULL ? name : "");
  mva_image_view_set_image (self->image_view, NULL, 0, 0);
  gtk_label_set_label (self->info_label, "");
  gtk_label_set_label (self->meta_label, "");
  gtk_widget_set_visible (self->info_bar, FALSE);
  queue_update_zoom_label (self);
  gtk_stack_set_visible_child_name (self->view_stack, "error");
  set_state (self, "error");
  update_actions (self);
  rebuild_recent_list (self);
}

static void
show_image (MvaWindow  *self,
            GFile      *file,
            LoadResult *result)
{
  g_autoptr(GdkTexture) texture = NULL;
  g_autofree char *name = g_file_get_basename (file);
  g_autofree char *path = g_file_get_path (file);
  g_autofree char *info = NULL;
  g_autofree char *meta = NULL;
  MvaImage *image = result->image;

  texture = gdk_memory_texture_new ((int) image->width, (int) image->height,
                                    GDK_MEMORY_R8G8B8, result->rgb, (gsize) image->width * 3);

  g_set_object (&self->file, file);
  g_clear_pointer (&self->image, mva_image_free);
  self->image = g_steal_pointer (&result->image);
  g_clear_pointer (&self->error_text, g_free);

  mva_image_view_set_image (self->image_view, texture,
                            self->image->full_width > 0 ? self->image->full_width : self->image->width,
                            self->image->full_height > 0 ? self->image->full_height : self->image->height);
  mva_image_view_set_pixel_size_nm (self->image_view, self->image->meta.pixel_size_nm);
  mva_image_view_set_databar_height (self->image_view, (guint) MAX (self->image->meta.databar_height_px, 0));

  info = build_info_text (self->image);
  meta = build_meta_text (self->image);
  gtk_label_set_label (self->info_label, info);
  gtk_label_set_label (self->meta_label, meta);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->meta_label), meta);
  gtk_widget_set_visible (self->info_bar, TRUE);
  adw_window_title_set_subtitle (self->window_title, name);

  gtk_stack_set_visible_child_name (self->view_stack, "image");
  set_state (self, "image");
  update_actions (self);
  update_zoom_label (self);
  gtk_widget_grab_focus (GTK_WIDGET (self->image_view));

  if (path != NULL)
    mva_recent_add (self->recent, path);
  rebuild_recent_list (self);
}

static void
load_done_cb (GObject      *source,
              GAsyncResult *res,
              gpointer      user_data)
{
  MvaWindow *self = MVA_WINDOW (source);
  g_autoptr(GFile) file = user_data;
  g_autoptr(GError) error = NULL;
  LoadResult *result;

  result = g_task_propagate_pointer (G_TASK (res), &error);
  if (result == NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return; /* superseded by a newer load, or the window is going away */

  stop_spinner (self);
  g_clear_object (&self->load_cancellable);

  if (result == NULL)
    show_error (self, file, error->message);
  else
    show_image (self, file, result);
  g_clear_pointer (&result, load_result_free);
}

/**
 * mva_window_open_file:
 * @file: a local file
 *
 * Starts loading @file in a worker thread; a load still running is dropped.
 * The window shows the image, or an error page with the reason.
 */
void
mva_window_open_file (MvaWindow *self,
                      GFile     *file)
{
  g_autoptr(GTask) task = NULL;
  g_autofree char *path = NULL;
  g_autofree char *name = NULL;
  g_autofree char *loading = NULL;

  g_return_if_fail (MVA_IS_WINDOW (self));
  g_return_if_fail (G_IS_FILE (file));

  if (self->load_cancellable != NULL)
    g_cancellable_cancel (self->load_cancellable);
  g_clear_object (&self->load_cancellable);
  stop_spinner (self);

  path = g_file_get_path (file);
  if (path == NULL)
    {
      g_autofree char *uri = g_file_get_uri (file);
      g_autofree char *msg = g_strdup_printf (_("Only local files can be opened: %s"), uri);

      show_error (self, file, msg);
      return;
    }

  name = g_file_get_basename (file);
  /* Translators: %s is a file name */
  loading = g_strdup_printf (_("Loading “%s”…"), name);
  gtk_label_set_label (self->loading_label, loading);
  set_state (self, "loading");
  update_actions (self);

  self->load_cancellable = g_cancellable_new ();
  task = g_task_new (self, self->load_cancellable, load_done_cb, g_object_ref (file));
  g_task_set_source_tag (task, mva_window_open_file);
  g_task_set_name (task, "[mva-window] load");
  g_task_set_task_data (task, g_steal_pointer (&path), g_free);
  /* The loader cannot be interrupted; on cancel, answer at once and let the
   * thread finish into the void. */
  g_task_set_return_on_cancel (task, TRUE);
  g_task_run_in_thread (task, load_thread);

  self->spinner_timeout_id = g_timeout_add (SPINNER_DELAY_MS, spinner_timeout_cb, self);
}

/**
 * mva_window_open_files:
 *
 * Adds every file to the recent list (the first on top) and shows the first.
 */
void
mva_window_open_files (MvaWindow  *self,
                       GFile     **files,
                       int         n_files)
{
  int added = 0;

  g_return_if_fail (MVA_IS_WINDOW (self));

  if (n_files <= 0)
    return;
  for (int i = n_files - 1; i > 0; i--)
    {
      g_autofree char *path = g_file_get_path (files[i]);

      if (path != NULL && g_file_test (path, G_FILE_TEST_IS_REGULAR))
        {
          mva_recent_add (self->recent, path);
          added++;
        }
    }
  mva_window_open_file (self, files[0]);
  if (added > 0)
    {
      g_autofree char *title =
        g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                      "%d more micrograph is in the recent list",
                                      "%d more micrographs are in the recent list", added),
                         added);
      AdwToast *toast = adw_toast_new (title);

      adw_toast_set_timeout (toast, 3);
      adw_toast_overlay_add_toast (self->toast_overlay, toast);
    }
}

/* --- actions -------------------------------------------------------------------- */

static void
chooser_response_cb (MvaWindow            *self,
                     int                   response,
                     GtkFileChooserNative *chooser)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GListModel) files = gtk_file_chooser_get_files (GTK_FILE_CHOOSER (chooser));
      guint n = g_list_model_get_n_items (files);
      g_autoptr(GPtrArray) array = g_ptr_array_new_with_free_func (g_object_unref);

      for (guint i = 0; i < n; i++)
        g_ptr_array_add (array, g_list_model_get_item (files, i));
      mva_window_open_files (self, (GFile **) array->pdata, (int) array->len);
    }
  g_clear_object (&self->chooser);
}

static void
open_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  MvaWindow *self = MVA_WINDOW (widget);
  GtkFileFilter *filter;

  if (self->chooser != NULL)
    {
      gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
      return;
    }
  self->chooser = gtk_file_chooser_native_new (_("Open a Micrograph"), GTK_WINDOW (self),
                                               GTK_FILE_CHOOSER_ACTION_OPEN,
                                               _("_Open"), _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->chooser), TRUE);
  gtk_file_chooser_set_select_multiple (GTK_FILE_CHOOSER (self->chooser), TRUE);

  filter = gtk_file_filter_new ();
  gtk_file_filter_set_name (filter, _("Micrographs"));
  gtk_file_filter_add_mime_type (filter, "image/tiff");
  gtk_file_filter_add_mime_type (filter, "image/png");
  gtk_file_filter_add_mime_type (filter, "image/jpeg");
  gtk_file_filter_add_suffix (filter, "dm3");
  gtk_file_filter_add_suffix (filter, "dm4");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (self->chooser), filter);
  g_object_unref (filter);
  filter = gtk_file_filter_new ();
  gtk_file_filter_set_name (filter, _("All Files"));
  gtk_file_filter_add_pattern (filter, "*");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (self->chooser), filter);
  g_object_unref (filter);

  if (self->file != NULL)
    {
      g_autoptr(GFile) parent = g_file_get_parent (self->file);

      if (parent != NULL)
        gtk_file_chooser_set_current_folder (GTK_FILE_CHOOSER (self->chooser), parent, NULL);
    }
  g_signal_connect_swapped (self->chooser, "response", G_CALLBACK (chooser_response_cb), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

static void
zoom_in_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  mva_image_view_zoom_in (MVA_WINDOW (widget)->image_view);
}

static void
zoom_out_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  mva_image_view_zoom_out (MVA_WINDOW (widget)->image_view);
}

static void
zoom_fit_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  mva_image_view_set_zoom_to_fit (MVA_WINDOW (widget)->image_view, TRUE);
}

static void
zoom_actual_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  mva_image_view_zoom_actual (MVA_WINDOW (widget)->image_view);
}

static void
zoom_toggle_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  MvaImageView *view = MVA_WINDOW (widget)->image_view;

  if (mva_image_view_get_zoom_to_fit (view))
    mva_image_view_zoom_actual (view);
  else
    mva_image_view_set_zoom_to_fit (view, TRUE);
}

/* --- drag and drop -------------------------------------------------------------- */

static gboolean
drop_cb (GtkDropTarget *target,
         const GValue  *value,
         double         x,
         double         y,
         MvaWindow     *self)
{
  GSList *list;
  g_autoptr(GPtrArray) files = g_ptr_array_new ();

  if (!G_VALUE_HOLDS (value, GDK_TYPE_FILE_LIST))
    return FALSE;
  list = g_value_get_boxed (value);
  for (GSList *l = list; l != NULL; l = l->next)
    g_ptr_array_add (files, l->data);
  if (files->len == 0)
    return FALSE;
  mva_window_open_files (self, (GFile **) files->pdata, (int) files->len);
  return TRUE;
}

/* --- window state ---------------------------------------------------------------- */

static void
save_window_state (MvaWindow *self)
{
  int width, height;
  gboolean maximized = gtk_window_is_maximized (GTK_WINDOW (self));

  g_settings_delay (self->settings);
  if (!maximized && !gtk_window_is_fullscreen (GTK_WINDOW (self)))
    {
      gtk_window_get_default_size (GTK_WINDOW (self), &width, &height);
      if (width > 0 && height > 0)
        {
          g_settings_set_int (self->settings, "window-width", MAX (width, 360));
          g_settings_set_int (self->settings, "window-height", MAX (height, 294));
        }
    }
  g_settings_set_boolean (self->settings, "window-maximized", maximized);
  g_settings_apply (self->settings);
}

static gboolean
mva_window_close_request (GtkWindow *window)
{
  save_window_state (MVA_WINDOW (window));
  return GTK_WINDOW_CLASS (mva_window_parent_class)->close_request (window);
}

/* --- GObject ----------------------------------------------------------------------- */

static void
mva_window_constructed (GObject *object)
{
  MvaWindow *self = MVA_WINDOW (object);
  GtkApplication *app = gtk_window_get_application (GTK_WINDOW (self));
  g_autoptr(GAction) scale_bar_action = NULL;
  g_autoptr(GAction) sidebar_action = NULL;
  g_autoptr(GSimpleActionGroup) group = NULL;

  G_OBJECT_CLASS (mva_window_parent_class)->constructed (object);

  if (MVA_IS_APPLICATION (app) && mva_application_get_settings (MVA_APPLICATION (app)) != NULL)
    {
      self->settings = g_object_ref (mva_application_get_settings (MVA_APPLICATION (app)));
      self->recent = g_object_ref (mva_application_get_recent (MVA_APPLICATION (app)));
    }
  else
    {
      self->settings = g_settings_new (MVA_SCHEMA_ID);
      self->recent = mva_recent_new (self->settings);
    }

  gtk_window_set_default_size (GTK_WINDOW (self),
                               g_settings_get_int (self->settings, "window-width"),
                               g_settings_get_int (self->settings, "window-height"));
  if (g_settings_get_boolean (self->settings, "window-maximized"))
    gtk_window_maximize (GTK_WINDOW (self));

  /* Stateful toggles live in GSettings; expose them as win.* actions. */
  scale_bar_action = g_settings_create_action (self->settings, "show-scale-bar");
  sidebar_action = g_settings_create_action (self->settings, "show-sidebar");
  g_action_map_add_action (G_ACTION_MAP (self), scale_bar_action);
  g_action_map_add_action (G_ACTION_MAP (self), sidebar_action);
  g_settings_bind (self->settings, "show-scale-bar", self->image_view, "show-scale-bar",
                   G_SETTINGS_BIND_GET);
  g_settings_bind (self->settings, "show-sidebar", self->sidebar_revealer, "reveal-child",
                   G_SETTINGS_BIND_GET);

  g_signal_connect_object (self->recent, "changed", G_CALLBACK (rebuild_recent_list), self,
                           G_CONNECT_SWAPPED);
  rebuild_recent_list (self);
  update_actions (self);
  update_zoom_label (self);
  gtk_widget_set_visible (self->info_bar, FALSE);
}

static void
mva_window_dispose (GObject *object)
{
  MvaWindow *self = MVA_WINDOW (object);

  if (self->load_cancellable != NULL)
    g_cancellable_cancel (self->load_cancellable);
  g_clear_object (&self->load_cancellable);
  g_clear_handle_id (&self->spinner_timeout_id, g_source_remove);
  g_clear_handle_id (&self->zoom_label_idle_id, g_source_remove);
  if (self->thumbnail_cancellable != NULL)
    g_cancellable_cancel (self->thumbnail_cancellable);
  g_clear_object (&self->thumbnail_cancellable);
  g_queue_clear_full (&self->thumbnail_queue, g_free);
  if (self->chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
  g_clear_object (&self->chooser);

  /* The settings actions outlive the window inside GSettings' signal
   * handlers; take them out so a later change does not reach a dead window. */
  g_action_map_remove_action (G_ACTION_MAP (self), "show-scale-bar");
  g_action_map_remove_action (G_ACTION_MAP (self), "show-sidebar");

  gtk_widget_dispose_template (GTK_WIDGET (self), MVA_TYPE_WINDOW);

  g_clear_object (&self->recent);
  g_clear_object (&self->settings);

  G_OBJECT_CLASS (mva_window_parent_class)->dispose (object);
}

static void
mva_window_finalize (GObject *object)
{
  MvaWindow *self = MVA_WINDOW (object);

  g_clear_object (&self->file);
  g_clear_pointer (&self->image, mva_image_free);
  g_clear_pointer (&self->error_text, g_free);
  g_clear_pointer (&self->thumbnails, g_hash_table_unref);

  G_OBJECT_CLASS (mva_window_parent_class)->finalize (object);
}

static void
mva_window_get_property (GObject    *object,
                         guint       prop_id,
                         GValue     *value,
                         GParamSpec *pspec)
{
  MvaWindow *self = MVA_WINDOW (object);

  switch (prop_id)
    {
    case PROP_STATE:
      g_value_set_string (value, self->state);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
mva_window_class_init (MvaWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->constructed = mva_window_constructed;
  object_class->dispose = mva_window_dispose;
  object_class->finalize = mva_window_finalize;
  object_class->get_property = mva_window_get_property;
  window_class->close_request = mva_window_close_request;

  properties[PROP_STATE] =
    g_param_spec_string ("state", NULL, NULL, "empty",
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_type_ensure (MVA_TYPE_IMAGE_VIEW);
  gtk_widget_class_set_template_from_resource (widget_class, MVA_RESOURCE_PATH "/ui/mva-window.ui");
  gtk_widget_class_bind_template_child (widget_class, MvaWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, MvaWindow, window_title);
  gtk_widget_class_bind_template_child (widget_class, MvaWindow, zoom_label);
  gtk_widget_class_bind_template_child (widget_class, MvaWindow, sidebar_revealer);
  gtk_widget_class_bind_template_child (widget_class, MvaWindow, recent_stack);
  gtk_widget_class_bind_template_child (widget_class, MvaWindow, recent_list);
  gtk_widget_class_bind_template_child (widget_class, MvaWindow, main_stack);
  gtk_widget_class_bind_template_child (widget_class, MvaWindow, view_stack);
  gtk_widget_class_bind_template_child (widget_class, MvaWindow, spinner);
  gtk_widget_class_bind_template_child (widget_class, MvaWindow, loading_label);
  gtk_widget_class_bind_template_child (widget_class, MvaWindow, error_page);
  gtk_widget_class_bind_template_child (widget_class, MvaWindow, image_view);
  gtk_widget_class_bind_template_child (widget_class, MvaWindow, content_box);
  gtk_widget_class_bind_template_child (widget_class, MvaWindow, info_bar);
  gtk_widget_class_bind_template_child (widget_class, MvaWindow, info_label);
  gtk_widget_class_bind_template_child (widget_class, MvaWindow, meta_label);
  gtk_widget_class_bind_template_child (widget_class, MvaWindow, pointer_label);
  gtk_widget_class_bind_template_callback (widget_class, recent_row_activated_cb);

  gtk_widget_class_install_action (widget_class, "win.open", NULL, open_action);
  gtk_widget_class_install_action (widget_class, "win.zoom-in", NULL, zoom_in_action);
  gtk_widget_class_install_action (widget_class, "win.zoom-out", NULL, zoom_out_action);
  gtk_widget_class_install_action (widget_class, "win.zoom-fit", NULL, zoom_fit_action);
  gtk_widget_class_install_action (widget_class, "win.zoom-actual", NULL, zoom_actual_action);
  gtk_widget_class_install_action (widget_class, "win.zoom-toggle", NULL, zoom_toggle_action);

  /* Plain keys (no Ctrl) as in every image viewer. They are bubble-phase
   * window shortcuts, so a text entry added later (the Ask panel) still
   * receives "+", "-", "0" and "1" as text. The Ctrl variants are
   * application accelerators (mva-application.c). */
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_plus, 0, "win.zoom-in", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_equal, 0, "win.zoom-in", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_Add, 0, "win.zoom-in", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_minus, 0, "win.zoom-out", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_Subtract, 0, "win.zoom-out", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_0, 0, "win.zoom-fit", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_0, 0, "win.zoom-fit", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_1, 0, "win.zoom-actual", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_1, 0, "win.zoom-actual", NULL);
}

static void
unref_nullable (gpointer object)
{
  if (object != NULL)
    g_object_unref (object);
}

static void
mva_window_init (MvaWindow *self)
{
  GtkDropTarget *target;

  self->state = g_intern_static_string ("empty");
  self->thumbnails = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                            unref_nullable);
  g_queue_init (&self->thumbnail_queue);
  gtk_widget_init_template (GTK_WIDGET (self));

  g_signal_connect_object (self->image_view, "pointer-moved", G_CALLBACK (pointer_moved_cb),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->image_view, "notify::zoom", G_CALLBACK (queue_update_zoom_label),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->image_view, "notify::zoom-to-fit",
                           G_CALLBACK (queue_update_zoom_label), self, G_CONNECT_SWAPPED);

  target = gtk_drop_target_new (GDK_TYPE_FILE_LIST, GDK_ACTION_COPY);
  g_signal_connect (target, "drop", G_CALLBACK (drop_cb), self);
  gtk_widget_add_controller (self->content_box, GTK_EVENT_CONTROLLER (target));
}

/* --- public API -------------------------------------------------------------------- */

MvaWindow *
mva_window_new (MvaApplication *application)
{
  g_return_val_if_fail (MVA_IS_APPLICATION (application), NULL);
  return g_object_new (MVA_TYPE_WINDOW, "application", application, NULL);
}

/* "empty", "loading", "error" or "image". */
const char *
mva_window_get_state (MvaWindow *self)
{
  g_return_val_if_fail (MVA_IS_WINDOW (self), NULL);
  return self->state;
}

/* The file shown, or the one that failed to load; NULL before the first. */
GFile *
mva_window_get_file (MvaWindow *self)
{
  g_return_val_if_fail (MVA_IS_WINDOW (self), NULL);
  return self->file;
}

/* The micrograph shown, at full depth with its metadata; NULL when none. */
const MvaImage *
mva_window_get_image (MvaWindow *self)
{
  g_return_val_if_fail (MVA_IS_WINDOW (self), NULL);
  return self->image;
}

MvaImageView *
mva_window_get_image_view (MvaWindow *self)
{
  g_return_val_if_fail (MVA_IS_WINDOW (self), NULL);
  return self->image_view;
}

/* The reason the last load failed, as shown on the error page; NULL if it did not. */
const char *
mva_window_get_error_text (MvaWindow *self)
{
  g_return_val_if_fail (MVA_IS_WINDOW (self), NULL);
  return self->error_text;
}

/* The info bar's text (size, depth, format, instrument data, then the
 * pointer's position and pixel value). */
char *
mva_window_dup_info_text (MvaWindow *self)
{
  g_return_val_if_fail (MVA_IS_WINDOW (self), NULL);
  return g_strconcat (gtk_label_get_label (self->info_label), "  ·  ",
                      gtk_label_get_label (self->meta_label), "  ·  ",
                      gtk_label_get_label (self->pointer_label), NULL);
}
