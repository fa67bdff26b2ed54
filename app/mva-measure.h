/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-measure.h: the typical size of the structures in a micrograph,
 * measured on its pixels (mva-measure.c says how).
 */
#pragma once

#include "mva-image.h"

G_BEGIN_DECLS

/* The lag (file pixels) where the high-passed image's autocorrelation falls
 * to one half of its lag-1 value. FALSE when the image is too small, flat,
 * or its structures are larger than a third of the view. */
gboolean mva_measure_correlation_length (const MvaImage *image,
                                         double         *length_px);
/* diameter / correlation length fitted on synthetic images of category (a
 * name of DESIGN.md); NAN for the categories not measured (biological,
 * films, mems, patterned, powder, tips) and NULL or unknown ones. */
double   mva_measure_factor             (const char     *category);
/* What the size of category is: "particle diameter", "wire diameter",
 * "pore diameter", "fibre diameter"; NULL for the categories not measured. */
const char *mva_measure_what            (const char     *category);
/* The structures' typical diameter: the correlation length times the
 * category's factor, in file pixels, and in nm when the metadata gives the
 * pixel size (else size_nm is NAN). FALSE as above, or when the category is
 * not measured. */
gboolean mva_measure_structure_size     (const MvaImage *image,
                                         const char     *category,
                                         double         *size_px,
                                         double         *size_nm);

G_END_DECLS
