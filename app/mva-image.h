/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-image.h: micrographs as instruments write them.
 *
 * Loads PNG, JPEG, TIFF (8/16/32-bit, signed, float; FEI/Thermo and Zeiss
 * tags), Gatan DM3/DM4 and sidecar metadata into an MvaImage that keeps the
 * samples at full depth. mva_image_to_gray8/rgb8 give the documented
 * display/model mapping (percentile contrast stretch for > 8-bit data).
 *
 *   g_autoptr(GError) error = NULL;
 *   g_autoptr(MvaImage) img = mva_image_load ("x.tif", 0, &error);
 *   if (img == NULL) g_printerr ("%s\n", error->message);
 *
 * Metadata: meta describes the file (pixel size in nm per file pixel, data
 * bar in file rows); unknown values are NAN/NULL, never guessed. For a
 * preview (max_side > 0) the pixel size of the loaded image is
 * meta.pixel_size_nm * full_width / width, and databar_rows gives the data
 * bar in the loaded image's rows: the specimen is rows 0 .. height -
 * databar_rows - 1 (what the model should see). The data bar comes from the
 * vendor's metadata when it says, else from image analysis (app/mva-databar.c).
 *
 * Full-size loads refuse more than 2^28 pixels or 2 GiB of samples
 * (MVA_IMAGE_ERROR_TOO_LARGE), and a header that claims far more pixels than
 * the file could hold is CORRUPT before anything large is allocated.
 * Previews of TIFF (scanline / tile row), PNG (row) and JPEG (DCT scaling)
 * never hold the full image.
 *
 * Thread-safety: every function is reentrant; an MvaImage is immutable after
 * load and may be read from several threads.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define MVA_IMAGE_ERROR (mva_image_error_quark ())

typedef enum
{
  MVA_IMAGE_ERROR_OPEN,        /* cannot open/read the file */
  MVA_IMAGE_ERROR_UNSUPPORTED, /* not a format we read */
  MVA_IMAGE_ERROR_CORRUPT,     /* truncated or malformed */
  MVA_IMAGE_ERROR_TOO_LARGE,   /* dimensions beyond what we accept at full size */
} MvaImageError;

typedef enum
{
  MVA_SAMPLE_UINT,
  MVA_SAMPLE_INT,
  MVA_SAMPLE_FLOAT,
} MvaSampleFormat;

/* What the instrument wrote. Unknown numeric fields are NAN; unknown strings NULL. */
typedef struct
{
  double pixel_size_nm;     /* nm per pixel along x */
  double pixel_size_y_nm;   /* nm per pixel along y */
  double hv_kv;             /* accelerating voltage */
  double wd_mm;             /* working distance */
  double magnification;
  char  *instrument;        /* e.g. "FEI Nova NanoSEM 450", "Zeiss Auriga" */
  char  *detector;
  char  *vendor_format;     /* "fei", "zeiss", "hitachi", "jeol", "imagej",
                               "tiff-resolution", "png-phys", "dm3", "dm4" */
  int    databar_height_px; /* rows at the bottom holding the info strip; 0 if none */
} MvaImageMeta;

typedef struct
{
  guint            width;
  guint            height;
  guint            channels;    /* 1 (gray), 3 (RGB) or 4 (RGBA) */
  guint            bit_depth;   /* bits per sample: 8, 16, 32 */
  MvaSampleFormat  sample_format;
  gpointer         data;        /* row-major, interleaved channels, native endian */
  gsize            stride;      /* bytes per row */
  char            *format;      /* "PNG", "JPEG", "TIFF", "DM3", "DM4" */
  char            *path;
  guint            full_width;  /* size in the file; differs from width for previews */
  guint            full_height;
  MvaImageMeta     meta;        /* describes the file: databar_height_px is in file rows */
  guint            databar_rows; /* rows of the data bar in this (possibly downscaled) image */
} MvaImage;

GQuark     mva_image_error_quark (void);

/* Load an image. max_side == 0 loads at full size (refusing absurd sizes with
 * MVA_IMAGE_ERROR_TOO_LARGE); max_side > 0 returns a preview whose longer side is
 * at most max_side, decoded without holding the full image in memory where the
 * format allows it. */
MvaImage  *mva_image_load        (const char  *path,
                                  guint        max_side,
                                  GError     **error);
void       mva_image_free        (MvaImage    *image);

/* Sizes, format, bit depth and instrument metadata without decoding the
 * pixels (data is NULL, width/height are the file's). Fast on huge files.
 * meta.databar_height_px is only set when the vendor metadata gives it. */
MvaImage  *mva_image_probe       (const char  *path,
                                  GError     **error);

/* 8-bit gray (w*h bytes) or packed RGB (w*h*3) for display and for the model.
 * > 8-bit and float data use a 0.5%..99.5% percentile stretch. Caller frees. */
guint8    *mva_image_to_gray8    (const MvaImage *image);
guint8    *mva_image_to_rgb8     (const MvaImage *image);
/* The sample values mapped to 0 and 255 by the functions above (0 and 255
 * for 8-bit unsigned data, which pass through unchanged). */
void       mva_image_stretch_range (const MvaImage *image,
                                    double         *lo,
                                    double         *hi);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MvaImage, mva_image_free)

G_END_DECLS
