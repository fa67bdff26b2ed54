/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-metrics-wordnet-private.h: WordNet internals shared with METEOR.
 */
#pragma once

#include "mva-metrics.h"

G_BEGIN_DECLS

/* Set (keys only) of the lemma names of wordnet.synsets (word): a new
 * reference, possibly empty. word must be valid UTF-8. */
GHashTable *_mva_wordnet_ref_lemma_set (MvaWordNet *wordnet,
                                        const char *word);

G_END_DECLS
