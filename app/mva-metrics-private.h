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
/* mva_porter_stem () through a process-wide cache (word must be valid UTF-8). */
char       *_mva_porter_stem_cached  (const char  *word);
guint       _mva_strv_len            (char * const *strv);

/* Interning: vocab maps token (borrowed) -> id; returns the ids of tokens. */
guint32    *_mva_intern_tokens       (GHashTable   *vocab,
                                      char * const *tokens,
                                      guint         n_tokens);

/* The n-grams of one id sequence, sorted by id sequence (pointers into ids,
 * which must outlive it). */
typedef struct
{
  const guint32 **grams;
  guint           n;
  guint           order;
} MvaNgrams;

void        _mva_ngrams_init         (MvaNgrams     *ng,
                                      const guint32 *ids,
                                      guint          n_ids,
                                      guint          order);
void        _mva_ngrams_clear        (MvaNgrams     *ng);
/* sum over distinct n-grams g of cand: min (count (g, cand), max_r count (g, refs[r])) */
guint64     _mva_ngrams_clipped      (const MvaNgrams *cand,
                                      const MvaNgrams *refs,
                                      guint            n_refs);
/* sum over distinct n-grams g: min (count (g, a), count (g, b)) */
guint64     _mva_ngrams_overlap      (const MvaNgrams *a,
                                      const MvaNgrams *b);

G_END_DECLS
