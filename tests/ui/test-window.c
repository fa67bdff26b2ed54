/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * test-window.c: drives the real MvaWindow in-process (gtk_test_init):
 * opens a sample micrograph through the application's "open", checks the
 * info bar, zooms through the keyboard accelerators and shortcuts, checks the
 * scale bar, opens broken files and checks the error page, and checks that
 * the recent list and the window size persist in GSettings.
 *
 * Needs a display (Xvfb in CI); exits 77 (skip) without one.
 */
#include "config.h"

#include <math.h>

#include <glib/gstdio.h>

#include "mva-application.h"
#include "mva-window.h"

#define LOAD_TIMEOUT_S 60

/* Under -Dsanitize=true: fontconfig keeps its caches until exit by design. */
const char *__lsan_default_suppressions (void);
const char *
__lsan_default_suppressions (void)
{
  return "leak:libfontconfig.so\n";
}

static MvaApplication *app;
static char *tmpdir;
static GThread *main_thread;
/* Windows whose last reference went away outside the main thread. */
static int off_thread_finalizations;

static char *
sample_path (const char *name)
{
  const char *src = g_getenv ("MVAEMA_SOURCE_DIR");

  return g_build_filename (src != NULL ? src : MVAEMA_SOURCE_DIR, "data", "samples", name, NULL);
}

static gboolean
timeout_cb (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Run the main loop until the window has left "loading". */
static void
wait_loaded (MvaWindow *window)
{
  gboolean timed_out = FALSE;
  guint id = g_timeout_add_seconds (LOAD_TIMEOUT_S, timeout_cb, &timed_out);

  while (g_strcmp0 (mva_window_get_state (window), "loading") == 0 && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (timed_out);
  g_source_remove (id);
}

static void
after_paint_cb (GdkFrameClock *clock,
                guint         *count)
{
  (*count)++;
}

/* Run the main loop until @widget has been painted @n more times. */
static void
wait_frames (GtkWidget *widget,
             guint      n)
{
  GdkFrameClock *clock;
  guint count = 0;
  gulong handler;
  gboolean timed_out = FALSE;
  guint id;

  while (!gtk_widget_get_mapped (widget))
    g_main_context_iteration (NULL, TRUE);
  clock = gtk_widget_get_frame_clock (widget);
  g_assert_nonnull (clock);
  handler = g_signal_connect (clock, "after-paint", G_CALLBACK (after_paint_cb), &count);
  id = g_timeout_add_seconds (20, timeout_cb, &timed_out);
  while (count < n && !timed_out)
    {
      gtk_widget_queue_draw (widget);
      g_main_context_iteration (NULL, TRUE);
    }
  g_assert_false (timed_out);
  g_source_remove (id);
  g_signal_handler_disconnect (clock, handler);
}

/* A window must only ever be finalized on the main thread: a worker that
 * holds the last reference (a load finishing "into the void") would run
 * GTK's finalizers beside the main loop. */
static void
window_finalized_cb (gpointer data)
{
  gboolean *finalized = data;

  if (g_thread_self () != main_thread)
    g_atomic_int_inc (&off_thread_finalizations);
  if (finalized != NULL)
    g_atomic_int_set (finalized, TRUE);
}

/* Object data is released in finalize (weak references already go at
 * dispose, when the window is destroyed), in the thread that drops the last
 * reference. */
static void
watch_finalize (MvaWindow *window,
                gboolean  *finalized)
{
  static gboolean unwatched;

  g_object_set_data_full (G_OBJECT (window), "test-finalize-watch",
                          finalized != NULL ? finalized : &unwatched, window_finalized_cb);
}

static MvaWindow *
new_window (void)
{
  MvaWindow *window = mva_window_new (app);

  g_assert_cmpint (g_atomic_int_get (&off_thread_finalizations), ==, 0);
  watch_finalize (window, NULL);
  gtk_window_present (GTK_WINDOW (window));
  return window;
}

static void
close_window (MvaWindow *window)
{
  gtk_window_close (GTK_WINDOW (window));
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

/* The action an application accelerator runs, e.g. "<Control>plus". */
static void
assert_accel (const char *accel,
              const char *action)
{
  g_auto(GStrv) actions = gtk_application_get_actions_for_accel (GTK_APPLICATION (app), accel);

  g_assert_nonnull (actions);
  g_assert_true (g_strv_contains ((const char * const *) actions, action));
}

/* The window's own (bubble-phase) shortcut for a plain key, e.g. "plus". */
static void
assert_window_shortcut (MvaWindow  *window,
                        const char *trigger,
                        const char *action)
{
  g_autoptr(GListModel) controllers = gtk_widget_observe_controllers (GTK_WIDGET (window));
  gboolean found = FALSE;

  for (guint i = 0; i < g_list_model_get_n_items (controllers) && !found; i++)
    {
      g_autoptr(GObject) controller = g_list_model_get_item (controllers, i);

      if (!GTK_IS_SHORTCUT_CONTROLLER (controller))
        continue;
      for (guint j = 0; j < g_list_model_get_n_items (G_LIST_MODEL (controller)) && !found; j++)
        {
          g_autoptr(GtkShortcut) shortcut = g_list_model_get_item (G_LIST_MODEL (controller), j);
          GtkShortcutTrigger *t = gtk_shortcut_get_trigger (shortcut);
          GtkShortcutAction *a = gtk_shortcut_get_action (shortcut);
          g_autofree char *t_str = gtk_shortcut_trigger_to_string (t);

          if (GTK_IS_NAMED_ACTION (a) && g_strcmp0 (t_str, trigger) == 0 &&
              g_strcmp0 (gtk_named_action_get_action_name (GTK_NAMED_ACTION (a)), action) == 0)
            {
              g_assert_cmpint (gtk_event_controller_get_propagation_phase (GTK_EVENT_CONTROLLER (controller)),
                               ==, GTK_PHASE_BUBBLE);
              found = TRUE;
            }
        }
    }
  if (!found)
    g_error ("no window shortcut %s -> %s", trigger, action);
}

static void
test_open_and_zoom (void)
{
  g_autofree char *path = sample_path ("gelatin-fibres-10pct.tif");
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autofree char *info = NULL;
  g_auto(GStrv) recent = NULL;
  MvaWindow *window = new_window ();
  MvaImageView *view = mva_window_get_image_view (window);
  const MvaImage *image;
  double fit, z;

  g_assert_cmpstr (mva_window_get_state (window), ==, "empty");

  /* Through the application, as `mvaema FILE` does. */
  g_application_open (G_APPLICATION (app), &file, 1, "");
  g_assert_cmpstr (mva_window_get_state (window), ==, "loading");
  wait_loaded (window);
  g_assert_cmpstr (mva_window_get_state (window), ==, "image");

  image = mva_window_get_image (window);
  g_assert_nonnull (image);
  g_assert_cmpuint (image->full_width, ==, 1024);
  g_assert_cmpuint (image->full_height, ==, 943);
  g_assert_nonnull (mva_image_view_get_texture (view));
  info = mva_window_dup_info_text (window);
  g_test_message ("info: %s", info);
  g_assert_nonnull (strstr (info, "1024 × 943 px"));
  g_assert_nonnull (strstr (info, "8-bit"));
  g_assert_nonnull (strstr (info, "TIFF"));

  recent = mva_recent_dup_paths (mva_application_get_recent (app));
  g_assert_cmpstr (recent[0], ==, path);

  /* Pointer readout: position, physical position, value of that pixel. */
  {
    const guint8 *row = (const guint8 *) image->data + 200 * image->stride;
    g_autofree char *expect_pos = g_strdup_printf ("x 100  y 200");
    g_autofree char *expect_val = g_strdup_printf ("·  %u", row[100 * image->channels]);
    g_autofree char *text = NULL;

    g_assert_cmpuint (image->bit_depth, ==, 8);
    g_signal_emit_by_name (view, "pointer-moved", 100.7, 200.2, TRUE);
    text = mva_window_dup_info_text (window);
    g_test_message ("pointer: %s", text);
    g_assert_nonnull (strstr (text, expect_pos));
    g_assert_true (g_str_has_suffix (text, expect_val));
    if (image->meta.pixel_size_nm > 0.0)
      g_assert_nonnull (strstr (text, " µm, "));
    g_clear_pointer (&text, g_free);
    g_signal_emit_by_name (view, "pointer-moved", -1.0, -1.0, FALSE);
    text = mva_window_dup_info_text (window);
    g_assert_true (g_str_has_suffix (text, "·  "));
  }

  wait_frames (GTK_WIDGET (view), 2);
  g_assert_true (mva_image_view_get_zoom_to_fit (view));
  fit = mva_image_view_get_zoom (view);
  g_assert_cmpfloat (fit, >, 0.05);
  g_assert_cmpfloat (fit, <, 4.0);
  /* Fit: the whole file is visible and touches two sides of the view. */
  {
    int scale = gtk_widget_get_scale_factor (GTK_WIDGET (view));
    double w = 1024 * fit / scale, h = 943 * fit / scale;
    double vw = gtk_widget_get_width (GTK_WIDGET (view));
    double vh = gtk_widget_get_height (GTK_WIDGET (view));

    g_assert_cmpfloat (w, <=, vw + 0.5);
    g_assert_cmpfloat (h, <=, vh + 0.5);
    g_assert_true (fabs (w - vw) < 1.0 || fabs (h - vh) < 1.0);
  }

  /* Keyboard: Ctrl accelerators are the app's, plain keys the window's. */
  assert_accel ("<Control>plus", "win.zoom-in");
  assert_accel ("<Control>equal", "win.zoom-in");
  assert_accel ("<Control>minus", "win.zoom-out");
  assert_accel ("<Control>0", "win.zoom-fit");
  assert_accel ("<Control>1", "win.zoom-actual");
  assert_accel ("<Control>o", "win.open");
  assert_window_shortcut (window, "plus", "win.zoom-in");
  assert_window_shortcut (window, "minus", "win.zoom-out");
  assert_window_shortcut (window, "0", "win.zoom-fit");
  assert_window_shortcut (window, "1", "win.zoom-actual");

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.zoom-in", NULL));
  z = mva_image_view_get_zoom (view);
  g_assert_cmpfloat (z, >, fit);
  g_assert_false (mva_image_view_get_zoom_to_fit (view));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.zoom-in", NULL));
  g_assert_cmpfloat (mva_image_view_get_zoom (view), >, z);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.zoom-out", NULL));
  g_assert_cmpfloat_with_epsilon (mva_image_view_get_zoom (view), z, 1e-9);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.zoom-actual", NULL));
  g_assert_cmpfloat (mva_image_view_get_zoom (view), ==, 1.0);
  wait_frames (GTK_WIDGET (view), 1);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.zoom-fit", NULL));
  g_assert_true (mva_image_view_get_zoom_to_fit (view));
  g_assert_cmpfloat_with_epsilon (mva_image_view_get_zoom (view), fit, 1e-9);
  for (int i = 0; i < 40; i++)
    gtk_widget_activate_action (GTK_WIDGET (window), "win.zoom-out", NULL);
  g_assert_cmpfloat (mva_image_view_get_zoom (view), ==, MVA_IMAGE_VIEW_ZOOM_MIN);
  for (int i = 0; i < 60; i++)
    gtk_widget_activate_action (GTK_WIDGET (window), "win.zoom-in", NULL);
  g_assert_cmpfloat (mva_image_view_get_zoom (view), ==, MVA_IMAGE_VIEW_ZOOM_MAX);
  /* At 32x the image is far larger than the view: it scrolls. */
  {
    GtkAdjustment *h = gtk_scrollable_get_hadjustment (GTK_SCROLLABLE (view));

    g_assert_cmpfloat (gtk_adjustment_get_upper (h), >, gtk_adjustment_get_page_size (h) * 4);
  }
  gtk_widget_activate_action (GTK_WIDGET (window), "win.zoom-fit", NULL);

  /* Scale bar: the FEI file states its pixel size (31.0 nm). */
  if (image->meta.pixel_size_nm > 0.0)
    {
      double bar;

      g_assert_cmpfloat_with_epsilon (mva_image_view_get_pixel_size_nm (view),
                                      image->meta.pixel_size_nm, 1e-9);
      wait_frames (GTK_WIDGET (view), 2);
      bar = mva_image_view_get_scale_bar_length_nm (view);
      g_test_message ("scale bar %g nm at zoom %g", bar, mva_image_view_get_zoom (view));
      g_assert_cmpfloat (bar, >, 0.0);
      /* The bar's on-screen length is at most 260 px and at least 60 * 2/5. */
      {
        double px = bar / image->meta.pixel_size_nm * mva_image_view_get_zoom (view) /
                    gtk_widget_get_scale_factor (GTK_WIDGET (view));

        g_assert_cmpfloat (px, <=, 260.0);
        g_assert_cmpfloat (px, >=, 24.0);
      }
      g_action_group_activate_action (G_ACTION_GROUP (window), "show-scale-bar", NULL);
      g_assert_false (mva_image_view_get_show_scale_bar (view));
      wait_frames (GTK_WIDGET (view), 2);
      g_assert_cmpfloat (mva_image_view_get_scale_bar_length_nm (view), ==, 0.0);
      g_action_group_activate_action (G_ACTION_GROUP (window), "show-scale-bar", NULL);
      g_assert_true (mva_image_view_get_show_scale_bar (view));
    }
  else
    g_test_message ("loader gave no pixel size for the FEI sample; scale bar not checked");

  close_window (window);
}

static void
write_file (const char *path,
            const void *data,
            gsize       len)
{
  g_autoptr(GError) error = NULL;

  g_file_set_contents (path, data, (gssize) len, &error);
  g_assert_no_error (error);
}

static void
assert_error_page (MvaWindow  *window,
                   const char *path)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);

  mva_window_open_file (window, file);
  wait_loaded (window);
  g_test_message ("%s: %s", path, mva_window_get_error_text (window));
  g_assert_cmpstr (mva_window_get_state (window), ==, "error");
  g_assert_nonnull (mva_window_get_error_text (window));
  g_assert_cmpuint (strlen (mva_window_get_error_text (window)), >, 0);
  g_assert_null (mva_window_get_image (window));
  g_assert_null (mva_image_view_get_texture (mva_window_get_image_view (window)));
  g_assert_true (g_file_equal (mva_window_get_file (window), file));
  wait_frames (GTK_WIDGET (window), 1);
}

static void
test_corrupt_files (void)
{
  static const guint8 tiff_header[] = { 'I', 'I', 42, 0, 8, 0, 0, 0, 0xff, 0xff, 3, 1 };
  static const char text[] = "this is not a micrograph\n";
  g_autofree char *truncated = g_build_filename (tmpdir, "truncated.tif", NULL);
  g_autofree char *empty = g_build_filename (tmpdir, "empty.png", NULL);
  g_autofree char *wrong_ext = g_build_filename (tmpdir, "notes.jpg", NULL);
  g_autofree char *missing = g_build_filename (tmpdir, "no-such-file.tif", NULL);
  g_autofree char *good = sample_path ("carbon-nanotubes.png");
  g_autofree char *png_head = NULL;
  g_autofree char *cut_png = g_build_filename (tmpdir, "cut.png", NULL);
  gsize png_len = 0;
  MvaWindow *window = new_window ();

  write_file (truncated, tiff_header, sizeof tiff_header);
  write_file (empty, "", 0);
  write_file (wrong_ext, text, sizeof text - 1);
  g_assert_true (g_file_get_contents (good, &png_head, &png_len, NULL));
  write_file (cut_png, png_head, MIN (png_len, 300));

  assert_error_page (window, truncated);
  assert_error_page (window, empty);
  assert_error_page (window, wrong_ext);
  assert_error_page (window, missing);
  assert_error_page (window, cut_png);
  assert_error_page (window, tmpdir); /* a folder */

  /* Zooming does nothing and breaks nothing on the error page. */
  gtk_widget_activate_action (GTK_WIDGET (window), "win.zoom-in", NULL);
  g_assert_cmpstr (mva_window_get_state (window), ==, "error");

  /* A good file afterwards still opens. */
  {
    g_autoptr(GFile) file = g_file_new_for_path (good);

    mva_window_open_file (window, file);
    wait_loaded (window);
    g_assert_cmpstr (mva_window_get_state (window), ==, "image");
    g_assert_cmpuint (mva_window_get_image (window)->full_width, ==, 750);
    g_assert_null (mva_window_get_error_text (window));
  }

  close_window (window);
}

/* A new load replaces one still running; only the newest is shown. */
static void
test_superseded_load (void)
{
  g_autofree char *a = sample_path ("rbc-membrane-skeleton.tif");
  g_autofree char *b = sample_path ("glass-bubbles-sand.jpg");
  g_autoptr(GFile) fa = g_file_new_for_path (a);
  g_autoptr(GFile) fb = g_file_new_for_path (b);
  MvaWindow *window = new_window ();

  mva_window_open_file (window, fa);
  mva_window_open_file (window, fb);
  wait_loaded (window);
  g_assert_cmpstr (mva_window_get_state (window), ==, "image");
  g_assert_true (g_file_equal (mva_window_get_file (window), fb));
  g_assert_cmpuint (mva_window_get_image (window)->full_width, ==, 1024);
  /* Let the first worker finish into the void. */
  for (int i = 0; i < 50; i++)
    {
      g_usleep (10000);
      while (g_main_context_iteration (NULL, FALSE))
        ;
    }
  g_assert_true (g_file_equal (mva_window_get_file (window), fb));
  close_window (window);
}

static void
test_open_several (void)
{
  g_autofree char *a = sample_path ("nanoporous-gold.png");
  g_autofree char *b = sample_path ("as-cast-alloy-inlens.tif");
  g_autofree char *c = sample_path ("glass-bubbles-sand.jpg");
  GFile *files[3];
  g_auto(GStrv) recent = NULL;
  MvaWindow *window = new_window ();

  files[0] = g_file_new_for_path (a);
  files[1] = g_file_new_for_path (b);
  files[2] = g_file_new_for_path (c);
  mva_window_open_files (window, files, 3);
  wait_loaded (window);
  g_assert_cmpstr (mva_window_get_state (window), ==, "image");
  g_assert_true (g_file_equal (mva_window_get_file (window), files[0]));
  recent = mva_recent_dup_paths (mva_application_get_recent (app));
  g_assert_cmpstr (recent[0], ==, a);
  g_assert_cmpstr (recent[1], ==, b);
  g_assert_cmpstr (recent[2], ==, c);
  for (int i = 0; i < 3; i++)
    g_object_unref (files[i]);
  close_window (window);
}

static GtkDropTarget *
find_drop_target (GtkWidget *widget)
{
  g_autoptr(GListModel) controllers = gtk_widget_observe_controllers (widget);

  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr(GObject) controller = g_list_model_get_item (controllers, i);

      if (GTK_IS_DROP_TARGET (controller))
        return GTK_DROP_TARGET (controller);
    }
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkDropTarget *target = find_drop_target (child);

      if (target != NULL)
        return target;
    }
  return NULL;
}

/* Dropping files from a file manager: the drop target takes a file list. */
static void
test_drop_files (void)
{
  g_autofree char *a = sample_path ("carbon-nanotubes.png");
  g_autofree char *b = sample_path ("rbc-membrane-skeleton.tif");
  g_autoptr(GFile) fa = g_file_new_for_path (a);
  g_autoptr(GFile) fb = g_file_new_for_path (b);
  g_auto(GValue) value = G_VALUE_INIT;
  g_auto(GStrv) recent = NULL;
  GSList *list = NULL;
  MvaWindow *window = new_window ();
  GtkDropTarget *target = find_drop_target (GTK_WIDGET (window));
  gboolean accepted = FALSE;

  g_assert_nonnull (target);
  g_assert_true (g_type_is_a (GDK_TYPE_FILE_LIST, gtk_drop_target_get_gtypes (target, NULL)[0]));
  /* The boxed file list owns a reference on each file. */
  list = g_slist_append (list, g_object_ref (fb));
  list = g_slist_append (list, g_object_ref (fa));
  g_value_init (&value, GDK_TYPE_FILE_LIST);
  g_value_take_boxed (&value, list);
  g_signal_emit_by_name (target, "drop", &value, 10.0, 10.0, &accepted);
  g_assert_true (accepted);
  wait_loaded (window);
  g_assert_cmpstr (mva_window_get_state (window), ==, "image");
  g_assert_true (g_file_equal (mva_window_get_file (window), fb));
  recent = mva_recent_dup_paths (mva_application_get_recent (app));
  g_assert_cmpstr (recent[0], ==, b);
  g_assert_cmpstr (recent[1], ==, a);
  close_window (window);
}

/* Closing a window while its image still loads: nothing the worker holds
 * may keep the window alive, or the load's callback would run on a
 * destroyed window and the last reference could go in a worker thread
 * (GTK finalizers beside the main loop). The window is gone at once, on the
 * main thread, and the worker finishes into the void. */
static void
test_close_while_loading (void)
{
  g_autofree char *a = g_build_filename (tmpdir, "large-slow.png", NULL);
  g_autoptr(GFile) fa = g_file_new_for_path (a);
  gboolean finalized = FALSE;
  gboolean timed_out = FALSE;
  g_autoptr(GError) error = NULL;
  MvaWindow *window;
  G_GNUC_UNUSED guint id;

  /* Large and uncompressed, so its load is still running in the worker
   * well after the window is closed. */
  {
    g_autoptr(GdkPixbuf) big = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 5000, 5000);
    guint8 *px = gdk_pixbuf_get_pixels (big);
    int stride = gdk_pixbuf_get_rowstride (big);

    for (int y = 0; y < 5000; y++)
      for (int x = 0; x < 5000 * 3; x++)
        px[(gsize) y * stride + x] = (guint8) ((x * 7 + y * 13) & 0xff);
    g_assert_true (gdk_pixbuf_save (big, a, "png", &error, "compression", "0", NULL));
    g_assert_no_error (error);
  }

  window = mva_window_new (app);
  watch_finalize (window, &finalized);
  gtk_window_present (GTK_WINDOW (window));
  wait_frames (GTK_WIDGET (window), 2);
  mva_window_open_file (window, fa);
  g_assert_cmpstr (mva_window_get_state (window), ==, "loading");
  close_window (window);
  g_assert_true (g_atomic_int_get (&finalized));
  g_assert_cmpint (g_atomic_int_get (&off_thread_finalizations), ==, 0);

  /* Let the worker finish into the void: no callback reaches the window. */
  id = g_timeout_add_seconds (2, timeout_cb, &timed_out);
  while (!timed_out)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpint (g_atomic_int_get (&off_thread_finalizations), ==, 0);
}

static GtkListBoxRow *
find_recent_row (GtkWidget  *widget,
                 const char *path)
{
  if (GTK_IS_LIST_BOX_ROW (widget) &&
      g_strcmp0 (g_object_get_data (G_OBJECT (widget), "path"), path) == 0)
    return GTK_LIST_BOX_ROW (widget);
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkListBoxRow *row = find_recent_row (child, path);

      if (row != NULL)
        return row;
    }
  return NULL;
}

/* The sidebar lists the recent files; a row opens its file, and a row whose
 * file is gone is dropped from the list instead. */
static void
test_recent_rows (void)
{
  g_autofree char *good = sample_path ("as-cast-alloy-inlens.tif");
  g_autofree char *gone = g_build_filename (tmpdir, "moved-away.tif", NULL);
  MvaRecent *recent = mva_application_get_recent (app);
  g_auto(GStrv) paths = NULL;
  MvaWindow *window = new_window ();
  GtkListBoxRow *row;

  mva_recent_clear (recent);
  mva_recent_add (recent, good);
  mva_recent_add (recent, gone);

  row = find_recent_row (GTK_WIDGET (window), good);
  g_assert_nonnull (row);
  g_signal_emit_by_name (row, "activate");
  wait_loaded (window);
  g_assert_cmpstr (mva_window_get_state (window), ==, "image");
  g_assert_cmpuint (mva_window_get_image (window)->full_width, ==, 1024);

  row = find_recent_row (GTK_WIDGET (window), gone);
  g_assert_nonnull (row);
  g_signal_emit_by_name (row, "activate");
  g_assert_cmpstr (mva_window_get_state (window), ==, "image");
  paths = mva_recent_dup_paths (recent);
  g_assert_cmpuint (g_strv_length (paths), ==, 1);
  g_assert_cmpstr (paths[0], ==, good);
  g_assert_null (find_recent_row (GTK_WIDGET (window), gone));
  close_window (window);
}

static void
test_settings_persist (void)
{
  GSettings *settings = mva_application_get_settings (app);
  MvaWindow *window = new_window ();
  int w = 0, h = 0;

  gtk_window_set_default_size (GTK_WINDOW (window), 903, 651);
  close_window (window);
  g_assert_cmpint (g_settings_get_int (settings, "window-width"), ==, 903);
  g_assert_cmpint (g_settings_get_int (settings, "window-height"), ==, 651);
  g_assert_false (g_settings_get_boolean (settings, "window-maximized"));

  window = new_window ();
  gtk_window_get_default_size (GTK_WINDOW (window), &w, &h);
  g_assert_cmpint (w, ==, 903);
  g_assert_cmpint (h, ==, 651);
  close_window (window);

  /* Toggles persist too. */
  window = new_window ();
  g_action_group_activate_action (G_ACTION_GROUP (window), "show-sidebar", NULL);
  g_assert_false (g_settings_get_boolean (settings, "show-sidebar"));
  close_window (window);
  window = new_window ();
  {
    g_autoptr(GVariant) state = g_action_group_get_action_state (G_ACTION_GROUP (window), "show-sidebar");

    g_assert_false (g_variant_get_boolean (state));
  }
  g_action_group_activate_action (G_ACTION_GROUP (window), "show-sidebar", NULL);
  g_assert_true (g_settings_get_boolean (settings, "show-sidebar"));
  close_window (window);
}

static void
test_recent_list (void)
{
  MvaRecent *recent = mva_application_get_recent (app);
  GSettings *settings = mva_application_get_settings (app);
  g_auto(GStrv) paths = NULL;

  mva_recent_clear (recent);
  g_settings_set_int (settings, "recent-limit", 3);
  mva_recent_add (recent, "/a/1.tif");
  mva_recent_add (recent, "/a/2.tif");
  mva_recent_add (recent, "/a/3.tif");
  mva_recent_add (recent, "/a/1.tif");
  mva_recent_add (recent, "/a/4.tif");
  paths = mva_recent_dup_paths (recent);
  g_assert_cmpuint (g_strv_length (paths), ==, 3);
  g_assert_cmpstr (paths[0], ==, "/a/4.tif");
  g_assert_cmpstr (paths[1], ==, "/a/1.tif");
  g_assert_cmpstr (paths[2], ==, "/a/3.tif");
  g_clear_pointer (&paths, g_strfreev);

  mva_recent_remove (recent, "/a/1.tif");
  paths = mva_recent_dup_paths (recent);
  g_assert_cmpuint (g_strv_length (paths), ==, 2);
  g_settings_reset (settings, "recent-limit");
  mva_recent_clear (recent);
  g_clear_pointer (&paths, g_strfreev);
  paths = mva_recent_dup_paths (recent);
  g_assert_cmpuint (g_strv_length (paths), ==, 0);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  int ret;

  if (g_getenv ("DISPLAY") == NULL && g_getenv ("WAYLAND_DISPLAY") == NULL)
    {
      g_print ("1..0 # SKIP no display (run under xvfb-run)\n");
      return 77;
    }
  g_setenv ("GSETTINGS_SCHEMA_DIR", MVA_TEST_SCHEMA_DIR, TRUE);
  g_setenv ("GSETTINGS_BACKEND", "memory", TRUE);
  g_setenv ("GTK_A11Y", "none", TRUE);
  /* This test checks behaviour; the screenshot test covers the GL renderer.
   * Without GL the driver (and what it allocates and unloads) also stays
   * out of ASan runs. */
  g_setenv ("GSK_RENDERER", "cairo", TRUE);
  g_setenv ("GDK_DEBUG", "gl-disable", TRUE);

  gtk_test_init (&argc, &argv, NULL);
  main_thread = g_thread_self ();

  tmpdir = g_dir_make_tmp ("mvaema-ui-XXXXXX", &error);
  g_assert_no_error (error);
  /* The window opens the library (the Ask panel looks images up in it):
   * a temporary one, never the user's. */
  {
    g_autofree char *db = g_build_filename (tmpdir, "library.db", NULL);

    g_setenv ("MVAEMA_DB", db, TRUE);
  }

  app = mva_application_new ();
  /* Tests run beside a real `mvaema` (the screenshot test): stay local. */
  g_application_set_flags (G_APPLICATION (app),
                           g_application_get_flags (G_APPLICATION (app)) | G_APPLICATION_NON_UNIQUE);
  g_assert_true (g_application_register (G_APPLICATION (app), NULL, &error));
  g_assert_no_error (error);
  /* Keep the application alive between windows. */
  g_application_hold (G_APPLICATION (app));

  g_test_add_func ("/ui/window/open-and-zoom", test_open_and_zoom);
  g_test_add_func ("/ui/window/corrupt-files", test_corrupt_files);
  g_test_add_func ("/ui/window/superseded-load", test_superseded_load);
  g_test_add_func ("/ui/window/open-several", test_open_several);
  g_test_add_func ("/ui/window/drop-files", test_drop_files);
  g_test_add_func ("/ui/window/close-while-loading", test_close_while_loading);
  g_test_add_func ("/ui/window/recent-rows", test_recent_rows);
  g_test_add_func ("/ui/window/settings-persist", test_settings_persist);
  g_test_add_func ("/ui/recent", test_recent_list);
  ret = g_test_run ();
  if (g_atomic_int_get (&off_thread_finalizations) != 0)
    {
      g_printerr ("a window was finalized outside the main thread\n");
      ret = 1;
    }

  g_application_release (G_APPLICATION (app));
  g_clear_object (&app);
  {
    g_autoptr(GDir) dir = g_dir_open (tmpdir, 0, NULL);
    const char *name;

    while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
      {
        g_autofree char *p = g_build_filename (tmpdir, name, NULL);

        g_unlink (p);
      }
    g_rmdir (tmpdir);
  }
  g_free (tmpdir);
  return ret;
}
