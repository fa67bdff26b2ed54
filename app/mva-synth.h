/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-synth.h: synthetic SEM-like micrographs with grounded question/answer pairs.
 *
 * The generator renders one micrograph per (seed, category, index) from a
 * height map built by a per-category recipe, and writes ten question/answer
 * pairs (one per question family of DESIGN.md) computed from the parameters it
 * actually rendered. Everything is a pure function of (config, category,
 * index), so a data set is the same whatever the thread count.
 *
 *   MvaSynthConfig cfg = MVA_SYNTH_CONFIG_INIT;
 *   cfg.seed = 7;
 *   g_autoptr(MvaSynthSample) s = mva_synth_sample_new (&cfg, MVA_SYNTH_PARTICLES, 0);
 *   mva_synth_sample_write_tiff (s, "p.tif", &error);
 *
 *   mva_synth_generate (&cfg, "out", 100, 2, "sheet.png", cancellable,
 *                       progress_cb, NULL, &error);
 *
 * Output of mva_synth_generate: DIR/<category>/<category>-NNNN.tif (8-bit gray,
 * FEI/Thermo tag 34682), DIR/qa.jsonl (keys image, category, family, question,
 * answer, params, caption), DIR/labels.csv (image,category).
 *
 * Thread-safety: every function is reentrant; a sample is immutable once made.
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define MVA_SYNTH_ERROR (mva_synth_error_quark ())

typedef enum
{
  MVA_SYNTH_ERROR_INVALID, /* bad configuration */
  MVA_SYNTH_ERROR_IO,      /* cannot write an output file */
  MVA_SYNTH_ERROR_CANCELLED,
} MvaSynthError;

/* Sorted by name; the names are the NFFA-Europe category names (DESIGN.md). */
typedef enum
{
  MVA_SYNTH_BIOLOGICAL,
  MVA_SYNTH_FIBRES,
  MVA_SYNTH_FILMS,
  MVA_SYNTH_MEMS,
  MVA_SYNTH_NANOWIRES,
  MVA_SYNTH_PARTICLES,
  MVA_SYNTH_PATTERNED,
  MVA_SYNTH_POROUS,
  MVA_SYNTH_POWDER,
  MVA_SYNTH_TIPS,
  MVA_SYNTH_N_CATEGORIES
} MvaSynthCategory;

#define MVA_SYNTH_N_FAMILIES 10

typedef struct
{
  guint   width;        /* image area in pixels (the data bar is added below) */
  guint   height;
  gboolean databar;     /* burn an FEI-style data bar under the image */
  double  caption_prob; /* probability of "This SEM image shows ..." before a question */
  guint64 seed;
} MvaSynthConfig;

#define MVA_SYNTH_CONFIG_INIT { 1024, 768, FALSE, 0.5, 0 }

typedef struct _MvaSynthSample MvaSynthSample;

typedef void (*MvaSynthProgressFunc) (guint    done,
                                      guint    total,
                                      gpointer user_data);

GQuark          mva_synth_error_quark          (void);

const char     *mva_synth_category_name        (MvaSynthCategory category);
gboolean        mva_synth_category_from_name   (const char       *name,
                                                MvaSynthCategory *out);
const char     *mva_synth_family_name          (guint             family);

gboolean        mva_synth_config_check         (const MvaSynthConfig *config,
                                                GError              **error);

/* Render one image and its ten Q/A pairs (family 1..10, in order). */
MvaSynthSample *mva_synth_sample_new           (const MvaSynthConfig *config,
                                                MvaSynthCategory      category,
                                                guint                 index);
void            mva_synth_sample_free          (MvaSynthSample       *sample);

/* Gray 8-bit pixels, width x total_height rows; the image area is the top
 * image_height rows, the data bar (if any) the rest. */
const guint8   *mva_synth_sample_get_pixels    (MvaSynthSample *sample,
                                                guint          *width,
                                                guint          *total_height,
                                                guint          *image_height);
MvaSynthCategory mva_synth_sample_get_category (MvaSynthSample *sample);
/* The true parameters (borrowed). */
JsonObject     *mva_synth_sample_get_params    (MvaSynthSample *sample);
/* family is 1..10; caption is NULL when the question carries none. */
const char     *mva_synth_sample_get_question  (MvaSynthSample *sample,
                                                guint           family);
const char     *mva_synth_sample_get_answer    (MvaSynthSample *sample,
                                                guint           family);
const char     *mva_synth_sample_get_caption   (MvaSynthSample *sample,
                                                guint           family);
/* The FEI/Thermo INI text stored in TIFF tag 34682. */
const char     *mva_synth_sample_get_fei_text  (MvaSynthSample *sample);

gboolean        mva_synth_sample_write_tiff    (MvaSynthSample *sample,
                                                const char     *path,
                                                GError        **error);

/* Generate per_class images of every category into out_dir (created if
 * missing) with `threads` workers (0 = number of CPUs). contact_sheet, if not
 * NULL, is a PNG path. progress runs in the calling thread. On cancellation
 * the images finished so far are listed in qa.jsonl/labels.csv and
 * MVA_SYNTH_ERROR_CANCELLED is returned. */
gboolean        mva_synth_generate             (const MvaSynthConfig *config,
                                                const char           *out_dir,
                                                guint                 per_class,
                                                guint                 threads,
                                                const char           *contact_sheet,
                                                GCancellable         *cancellable,
                                                MvaSynthProgressFunc  progress,
                                                gpointer              user_data,
                                                guint                *n_written,
                                                GError              **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MvaSynthSample, mva_synth_sample_free)

G_END_DECLS
