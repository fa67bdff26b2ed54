/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-image-private.h: internals shared by the image loaders (PNG, JPEG,
 * TIFF, DM3/DM4), the metadata text parsers and the data-bar detector.
 *
 * Every decoder hands full-width rows, already converted to the in-memory
 * sample layout of the MvaImage, to an MvaRowSink. The sink either copies them
 * (full size) or box-filters them into a preview, so a preview never holds
 * more than one output row of accumulators besides the result.
 *
 * The text parsers take (text, length) with no terminating NUL required, so
 * the fuzz targets can feed them arbitrary bytes.
 */
#pragma once

#include "mva-image.h"

#include <stdio.h>

G_BEGIN_DECLS

/* Full-size loads are refused above these (MVA_IMAGE_ERROR_TOO_LARGE). */
#define MVA_IMAGE_MAX_FULL_PIXELS ((guint64) 1 << 28)  /* 268 M pixels, e.g. 16384 x 16384 */
#define MVA_IMAGE_MAX_FULL_BYTES  ((guint64) 1 << 31)  /* 2 GiB of samples */
/* Larger than any dimension we believe a file claims. */
#define MVA_IMAGE_MAX_SIDE        1000000u

typedef struct
{
  MvaImage *image;      /* borrowed; width/height are set to the output size */
  guint     in_width;
  guint     in_height;
  guint     factor;     /* box size; 1 = copy */
  gsize     sample_bytes;
  guint     values_per_row; /* in_width * channels */
  double   *acc;        /* out_width * channels accumulators (factor > 1) */
  guint     rows_in_acc;
  guint     in_row;     /* rows pushed so far */
  guint     out_row;    /* output rows written so far */
} MvaRowSink;

MvaImage *_mva_image_new        (const char *path,
                                 const char *format);
void      _mva_image_meta_init  (MvaImageMeta *meta);
void      _mva_image_meta_clear (MvaImageMeta *meta);
gsize     _mva_image_sample_bytes (const MvaImage *image);

/* Checks the full size (in_width x in_height, image->channels, bit_depth)
 * against the limits when max_side == 0, picks the preview size otherwise,
 * and allocates image->data. */
gboolean  _mva_row_sink_init    (MvaRowSink *sink,
                                 MvaImage   *image,
                                 guint       in_width,
                                 guint       in_height,
                                 guint       max_side,
                                 GError    **error);
/* One full-width row (in_width * channels samples of the image's type). */
void      _mva_row_sink_push    (MvaRowSink *sink,
                                 const void *row);
/* TRUE when every row arrived; otherwise a CORRUPT error. */
gboolean  _mva_row_sink_finish  (MvaRowSink *sink,
                                 GError    **error);
void      _mva_row_sink_clear   (MvaRowSink *sink);

/* A header claiming far more pixels than the file could hold at the
 * format's best compression ratio is corrupt: refuse it before allocating. */
gboolean  _mva_image_check_claim (const MvaImage *image,
                                  guint64         file_size,
                                  double          max_ratio,
                                  GError        **error);
guint64   _mva_file_size         (FILE *fp);

/* double -> float without leaving float's range (NaN stays NaN). */
static inline float
_mva_to_float (double v)
{
  return v > 3.4028234663852886e38 ? 3.4028234663852886e38f
         : v < -3.4028234663852886e38 ? -3.4028234663852886e38f : (float) v;
}

/* Decoders. header_only: fill sizes and metadata, leave data NULL. */
MvaImage *_mva_image_load_png   (const char *path, FILE *fp, guint max_side,
                                 gboolean header_only, GError **error);
MvaImage *_mva_image_load_jpeg  (const char *path, FILE *fp, guint max_side,
                                 gboolean header_only, GError **error);
MvaImage *_mva_image_load_tiff  (const char *path, guint max_side,
                                 gboolean header_only, GError **error);
MvaImage *_mva_image_load_dm    (const char *path, guint max_side,
                                 gboolean header_only, GError **error);

/* FEI/Thermo tag 34682 (INI text). Returns TRUE when anything was found.
 * databar_from_resolution_y: image height minus [Image] ResolutionY if the
 * caller passes the file's height (0 to skip). */
gboolean  _mva_tiff_meta_parse_fei   (const char   *text,
                                      gsize         length,
                                      guint         image_height,
                                      MvaImageMeta *meta);
/* Zeiss SmartSEM tag 34118 (CZ_SEM). Returns TRUE when anything was found. */
gboolean  _mva_tiff_meta_parse_zeiss (const char   *text,
                                      gsize         length,
                                      MvaImageMeta *meta);
/* A length with unit ("9.766 nm", "543.0 pm", "1.2 µm") to nanometres;
 * NAN when the unit is not a length. */
double    _mva_parse_length_nm       (const char *value);
/* Key/value helpers of the vendor text parsers (mva-tiff-meta.c, used by
 * mva-sidecar.c too). _mva_parse_number: blanks, a number, blanks; *end
 * (optional) gets what follows (the unit); NAN (and *end = the value) when
 * no finite number starts there. _mva_meta_string: the value stripped,
 * made valid UTF-8; NULL when empty (g_free). */
double    _mva_parse_number          (const char  *s,
                                      const char **end);
char     *_mva_meta_string           (const char  *s);

/* Hitachi (.txt, [SemImageFile] PixelSize=) and JEOL (.txt, $CM_/$$SM_
 * keys) sidecar text. image_width/height: size of the image file (the scale
 * is given for the vendor's image area and rescaled to it; rows below that
 * area are the data bar; 0 if unknown). */
gboolean  _mva_sidecar_parse         (const char   *text,
                                      gsize         length,
                                      guint         image_width,
                                      guint         image_height,
                                      MvaImageMeta *meta);
/* Looks for NAME.txt / NAME.TXT next to path and parses it into meta. */
gboolean  _mva_sidecar_apply         (const char   *path,
                                      guint         image_width,
                                      guint         image_height,
                                      MvaImageMeta *meta);

/* DM3/DM4: parse the tag tree of a whole file held in memory. */
typedef struct
{
  int       version;       /* 3 or 4 */
  gboolean  found;         /* a 1-D or larger data array was found */
  guint     ndims;
  guint64   dims[4];
  int       data_type;     /* Gatan ImageData/DataType */
  int       elem_type;     /* tag encoding of the array elements */
  guint64   data_offset;   /* into the buffer */
  guint64   data_count;    /* number of array elements */
  gboolean  little_endian;
  double    scale[2];      /* calibration per dimension, NAN if absent */
  char      units[2][16];
  MvaImageMeta meta;       /* instrument data from ImageTags */
} MvaDmInfo;

gboolean  _mva_dm_parse              (const guint8 *data,
                                      gsize         length,
                                      MvaDmInfo    *info,
                                      GError      **error);
void      _mva_dm_info_clear         (MvaDmInfo *info);
/* Instrument metadata of a DM file even when it holds no image (a
 * spectrum); format gets "DM3"/"DM4". FALSE when it is not a readable DM file. */
gboolean  _mva_dm_read_meta          (const char   *path,
                                      MvaImageMeta *meta,
                                      char        **format);

/* Rows of the instrument's info strip at the bottom of an 8-bit gray image,
 * found by image analysis; 0 when there is none. */
guint     _mva_databar_detect        (const guint8 *gray,
                                      guint         width,
                                      guint         height);

G_END_DECLS
