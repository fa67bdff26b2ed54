/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-window-info.c: the info bar: size, depth, format, instrument data, pointer readout (see mva-window-private.h).
 */
#include "config.h"

#define G_LOG_DOMAIN "mva-window"

#include <math.h>
#include <string.h>

#include <glib/gi18n.h>

#include "mva-window-private.h"

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

char *
_mva_window_build_info_text (const MvaImage *image)
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

char *
_mva_window_build_meta_text (const MvaImage *image)
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

void
_mva_window_pointer_moved_cb (MvaWindow    *self,
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
