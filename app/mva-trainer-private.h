/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-trainer-private.h: the trainer's batch planner, exposed for tests.
 *
 * A batcher hands out batches of items (training pairs) whose images are
 * distinct, epoch after epoch. Each epoch shuffles the items with the GRand
 * it is given (so the same seed gives the same batches) and fills batches in
 * that order; an item whose image is already in the batch waits for the next
 * one. Near the end of an epoch the items left often share a few images, so
 * the next batch would be small; a batch smaller than min_batch ends the
 * epoch instead and its items are carried to the front of the next epoch
 * (which then shuffles only the other items), so every item is still seen
 * once an epoch, and no batch but an epoch's first is smaller than
 * min_batch. The first batch of an epoch holds min(batch, distinct images)
 * items.
 *
 *   g_autoptr(GRand) rand = g_rand_new_with_seed (seed);
 *   MvaBatcher *b = _mva_batcher_new (items, images, n, n_images, 48, 24, rand);
 *   guint out[48], k;
 *   while ((k = _mva_batcher_next (b, out)) > 0) ... train on out[0..k)
 *   // k == 0: the epoch ended; the next call starts the next one
 *   _mva_batcher_free (b);
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _MvaBatcher MvaBatcher;

/* items[i] is what _mva_batcher_next hands out, images[i] (< n_images) its
 * image; both are copied. batch >= 2; min_batch is clamped to [2, batch].
 * rand is borrowed and must outlive the batcher. The first epoch is
 * shuffled here. */
MvaBatcher *_mva_batcher_new  (const guint *items,
                               const guint *images,
                               guint        n,
                               guint        n_images,
                               guint        batch,
                               guint        min_batch,
                               GRand       *rand);
/* Write the next batch to out (room for `batch` items) and return its size,
 * or 0 when the epoch ended (the following call starts the next epoch). */
guint       _mva_batcher_next (MvaBatcher  *self,
                               guint       *out);
/* Items carried from the epoch that ended to the next one. */
guint       _mva_batcher_n_carried (const MvaBatcher *self);
void        _mva_batcher_free (MvaBatcher  *self);

/* The smallest batch the trainer lets through for batch size B: half of it,
 * at least 2 (the contrastive loss compares pairs). */
static inline guint
_mva_batcher_min_for (guint B)
{
  return MAX (2u, B / 2);
}

G_END_DECLS
