/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-cli-info.c: `mvaema-cli info IMAGE... [--json]`.
 *
 * For each file: width, height, channels, bit depth and format, plus what
 * the instrument wrote (pixel size, field of view, instrument, HV, WD,
 * magnification, detector) and the data-bar height. With --json one object
 * per line and per file with the keys path, width, height, channels,
 * bit_depth, format and, only where known, pixel_size_nm, pixel_size_y_nm
 * (when it differs from x), field_of_view_um, instrument, hv_kv, wd_mm,
 * magnification, detector, databar_height_px; or path and error.
 *
 * A Gatan file holding only a spectrum is an error (not an image), but its
 * instrument tags are still printed with it.
 *
 * Sizes and metadata come from the header (mva_image_probe). Images up to
 * INFO_DECODE_MAX_PIXELS are decoded to look for a data bar by image analysis
 * and to check that the data are complete; larger ones only as a preview,
 * and only when the vendor's metadata does not give the data-bar height, so
 * info stays fast on huge files. Exit status 1 when any file failed.
 */
#define G_LOG_DOMAIN "mva-cli"
#include "config.h"

#include "mva-cli.h"
#include "mva-image-private.h"

#include <math.h>
#include <stdio.h>

/* Up to this size the pixels are decoded in full (which also proves the data
 * complete); above it only a preview is decoded, and only when the vendor's
 * metadata does not already give the data-bar height. */
#define INFO_DECODE_MAX_PIXELS (16u << 20)
#define INFO_PREVIEW_SIDE      2048

static const char *
sample_format_name (MvaSampleFormat f)
{
  switch (f)
    {
    case MVA_SAMPLE_INT:
      return "signed";
    case MVA_SAMPLE_FLOAT:
      return "float";
    case MVA_SAMPLE_UINT:
    default:
      return "unsigned";
    }
}

static gboolean
differs (double a, double b)
{
  return isfinite (a) && isfinite (b) && fabs (a - b) > 1e-6 * fabs (a);
}

static void
print_json (const char *path, const MvaImage *img, const MvaImageMeta *meta_only,
            const char *format_only, const char *error_message)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  const MvaImageMeta *m = img ? &img->meta : meta_only;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "path");
  json_builder_add_string_value (b, path);
  if (img != NULL)
    {
      json_builder_set_member_name (b, "width");
      json_builder_add_int_value (b, img->full_width);
      json_builder_set_member_name (b, "height");
      json_builder_add_int_value (b, img->full_height);
      json_builder_set_member_name (b, "channels");
      json_builder_add_int_value (b, img->channels);
      json_builder_set_member_name (b, "bit_depth");
      json_builder_add_int_value (b, img->bit_depth);
      json_builder_set_member_name (b, "sample_format");
      json_builder_add_string_value (b, sample_format_name (img->sample_format));
      json_builder_set_member_name (b, "format");
      json_builder_add_string_value (b, img->format);
    }
  else if (format_only != NULL)
    {
      json_builder_set_member_name (b, "format");
      json_builder_add_string_value (b, format_only);
    }
  if (m != NULL)
    {
      if (isfinite (m->pixel_size_nm))
        {
          json_builder_set_member_name (b, "pixel_size_nm");
          json_builder_add_double_value (b, m->pixel_size_nm);
          if (differs (m->pixel_size_nm, m->pixel_size_y_nm))
            {
              json_builder_set_member_name (b, "pixel_size_y_nm");
              json_builder_add_double_value (b, m->pixel_size_y_nm);
            }
          if (img != NULL && img->full_width > 0)
            {
              json_builder_set_member_name (b, "field_of_view_um");
              json_builder_add_double_value (b, m->pixel_size_nm * img->full_width / 1000.0);
            }
          if (m->vendor_format != NULL)
            {
              json_builder_set_member_name (b, "pixel_size_source");
              json_builder_add_string_value (b, m->vendor_format);
            }
        }
      if (m->instrument != NULL)
        {
          json_builder_set_member_name (b, "instrument");
          json_builder_add_string_value (b, m->instrument);
        }
      if (isfinite (m->hv_kv))
        {
          json_builder_set_member_name (b, "hv_kv");
          json_builder_add_double_value (b, m->hv_kv);
        }
      if (isfinite (m->wd_mm))
        {
          json_builder_set_member_name (b, "wd_mm");
          json_builder_add_double_value (b, m->wd_mm);
        }
      if (isfinite (m->magnification))
        {
          json_builder_set_member_name (b, "magnification");
          json_builder_add_double_value (b, m->magnification);
        }
      if (m->detector != NULL)
        {
          json_builder_set_member_name (b, "detector");
          json_builder_add_string_value (b, m->detector);
        }
      if (m->databar_height_px > 0)
        {
          json_builder_set_member_name (b, "databar_height_px");
          json_builder_add_int_value (b, m->databar_height_px);
        }
    }
  if (error_message != NULL)
    {
      json_builder_set_member_name (b, "error");
      json_builder_add_string_value (b, error_message);
    }
  json_builder_end_object (b);
  mva_cli_print_builder (b);
}

static void
print_meta_text (const MvaImageMeta *m, guint width)
{
  if (isfinite (m->pixel_size_nm))
    {
      printf ("  pixel size: %g nm", m->pixel_size_nm);
      if (differs (m->pixel_size_nm, m->pixel_size_y_nm))
        printf (" x %g nm", m->pixel_size_y_nm);
      printf (" (from %s)", m->vendor_format ? m->vendor_format : "metadata");
      if (width > 0)
        printf ("; field of view %g um", m->pixel_size_nm * width / 1000.0);
      printf ("\n");
    }
  else
    printf ("  pixel size: unknown (the file does not say)\n");
  if (m->instrument)
    printf ("  instrument: %s\n", m->instrument);
  if (isfinite (m->hv_kv))
    printf ("  high voltage: %g kV\n", m->hv_kv);
  if (isfinite (m->wd_mm))
    printf ("  working distance: %g mm\n", m->wd_mm);
  if (isfinite (m->magnification))
    printf ("  magnification: %gx\n", m->magnification);
  if (m->detector)
    printf ("  detector: %s\n", m->detector);
  if (m->databar_height_px > 0)
    printf ("  data bar: bottom %d rows\n", m->databar_height_px);
}

static void
print_text (const char *path, const MvaImage *img)
{
  printf ("%s: %u x %u, %u channel%s, %u-bit %s, %s\n", path, img->full_width,
          img->full_height, img->channels, img->channels == 1 ? "" : "s", img->bit_depth,
          sample_format_name (img->sample_format), img->format);
  print_meta_text (&img->meta, img->full_width);
}

int
mva_cli_info (int argc, char **argv)
{
  gboolean json = FALSE;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "One JSON object per line and per file", NULL },
    { NULL }
  };
  int failures = 0;

  if (!mva_cli_parse ("info", "IMAGE...",
                      "Print size, depth, format and instrument metadata of micrographs.",
                      entries, &argc, &argv))
    return 2;
  if (argc < 2)
    return mva_cli_fail ("info: no image given (usage: mvaema-cli info IMAGE... [--json])");

  for (int i = 1; i < argc; i++)
    {
      const char *path = argv[i];
      g_autoptr(GError) error = NULL;
      g_autoptr(MvaImage) img = mva_image_probe (path, &error);

      if (img != NULL)
        {
          gboolean small = (guint64) img->full_width * img->full_height <= INFO_DECODE_MAX_PIXELS;

          if (small || img->meta.databar_height_px <= 0)
            {
              g_autoptr(MvaImage) decoded = mva_image_load (path, small ? 0 : INFO_PREVIEW_SIDE,
                                                           &error);

              g_clear_pointer (&img, mva_image_free);
              img = g_steal_pointer (&decoded);
            }
        }
      if (img == NULL)
        {
          /* A DM spectrum is not an image, but its tags still tell. */
          MvaImageMeta meta;
          g_autofree char *format = NULL;
          gboolean have_meta = FALSE;

          _mva_image_meta_init (&meta);
          if (g_error_matches (error, MVA_IMAGE_ERROR, MVA_IMAGE_ERROR_UNSUPPORTED))
            have_meta = _mva_dm_read_meta (path, &meta, &format);
          failures++;
          if (json)
            print_json (path, NULL, have_meta ? &meta : NULL, format, error->message);
          else if (have_meta)
            {
              printf ("%s: %s file without an image\n", path, format);
              print_meta_text (&meta, 0);
            }
          mva_cli_fail ("info: %s", error->message);
          _mva_image_meta_clear (&meta);
          continue;
        }
      if (json)
        print_json (path, img, NULL, NULL, NULL);
      else
        print_text (path, img);
    }
  fflush (stdout);
  return failures > 0 ? 1 : 0;
}
