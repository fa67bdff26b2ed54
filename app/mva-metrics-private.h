/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-metrics-private.h: helpers shared by the metric sources (not API).
 */
#pragma once

#include "mva-metrics.h"

G_BEGIN_DECLS

/* Python's str.isspace () for one code point (what str.split () splits on). */
gboolean    _mva_py_isspace          (gunichar c);
/* text itself when it is valid UTF-8, else a repaired copy stored in *tmp. */
const char *_mva_metrics_valid_utf8  (const char  *text,
                                      char       **tmp);
/* Python str.rstrip (). Returns a new string. */
char       *_mva_py_rstrip           (const char  *text);
/* Counts of the n-grams of tokens[0..n_tokens): joined with U+001F (a
 * whitespace character in Python, so never inside a token) -> count. */
GHashTable *_mva_ngram_counts        (char * const *tokens,
                                      guint         n_tokens,
                                      guint         n);
guint       _mva_strv_len            (char * const *strv);

G_END_DECLS
