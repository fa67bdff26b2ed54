/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-metrics-ngram.c: n-gram counting for BLEU and ROUGE without a hash
 * table per order: tokens are interned to integer ids, the n-grams of a text
 * are sorted (by id sequence) once, and counts are compared by merging
 * sorted lists. Works for any number of distinct tokens.
 */
#define G_LOG_DOMAIN "mva-metrics"
#include "config.h"

#include <string.h>

#include "mva-metrics-private.h"

guint32 *
_mva_intern_tokens (GHashTable   *vocab,
                    char * const *tokens,
                    guint         n_tokens)
{
  guint32 *ids = g_new (guint32, n_tokens + 1);

  for (guint i = 0; i < n_tokens; i++)
    {
      gpointer id;

      if (!g_hash_table_lookup_extended (vocab, tokens[i], NULL, &id))
        {
          id = GUINT_TO_POINTER (g_hash_table_size (vocab));
          g_hash_table_insert (vocab, tokens[i], id);
        }
      ids[i] = GPOINTER_TO_UINT (id);
    }
  return ids;
}

static inline int
compare_gram (const guint32 *a,
              const guint32 *b,
              guint          order)
{
  for (guint k = 0; k < order; k++)
    if (a[k] != b[k])
      return a[k] < b[k] ? -1 : 1;
  return 0;
}

static int
compare_gram_ptr (gconstpointer a,
                  gconstpointer b,
                  gpointer      data)
{
  return compare_gram (*(const guint32 * const *) a, *(const guint32 * const *) b,
                       GPOINTER_TO_UINT (data));
}

void
_mva_ngrams_init (MvaNgrams     *ng,
                  const guint32 *ids,
                  guint          n_ids,
                  guint          order)
{
  ng->order = order;
  ng->n = (order > 0 && n_ids >= order) ? n_ids - order + 1 : 0;
  ng->grams = g_new (const guint32 *, ng->n + 1);
  for (guint i = 0; i < ng->n; i++)
    ng->grams[i] = ids + i;
  if (ng->n > 1)
    g_qsort_with_data (ng->grams, (gint) ng->n, sizeof (const guint32 *), compare_gram_ptr,
                       GUINT_TO_POINTER (order));
}

void
_mva_ngrams_clear (MvaNgrams *ng)
{
  g_clear_pointer (&ng->grams, g_free);
  ng->n = 0;
}

/* number of copies of ng->grams[start] from start on */
static guint
run_length (const MvaNgrams *ng,
            guint            start)
{
  guint end = start + 1;

  while (end < ng->n && compare_gram (ng->grams[end], ng->grams[start], ng->order) == 0)
    end++;
  return end - start;
}

/* count of gram in ng, moving *pos forward (grams asked in ascending order) */
static guint
count_in (const MvaNgrams *ng,
          guint           *pos,
          const guint32   *gram)
{
  while (*pos < ng->n && compare_gram (ng->grams[*pos], gram, ng->order) < 0)
    (*pos)++;
  if (*pos < ng->n && compare_gram (ng->grams[*pos], gram, ng->order) == 0)
    {
      guint c = run_length (ng, *pos);

      *pos += c;
      return c;
    }
  return 0;
}

guint64
_mva_ngrams_clipped (const MvaNgrams *cand,
                     const MvaNgrams *refs,
                     guint            n_refs)
{
  g_autofree guint *pos = g_new0 (guint, n_refs + 1);
  guint64 clipped = 0;

  for (guint i = 0; i < cand->n;)
    {
      guint c = run_length (cand, i);
      guint best = 0;

      for (guint r = 0; r < n_refs; r++)
        {
          guint in_ref = count_in (&refs[r], &pos[r], cand->grams[i]);

          best = MAX (best, in_ref);
        }
      clipped += MIN (c, best);
      i += c;
    }
  return clipped;
}

guint64
_mva_ngrams_overlap (const MvaNgrams *a,
                     const MvaNgrams *b)
{
  return _mva_ngrams_clipped (a, b, 1);
}
