/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-assistant-private.h: internals shared by the assistant's files. The
 * fine-tune step lives in its own file because mva-trainer.h and
 * mva-store.h both name a type MvaQaPair.
 */
#pragma once

#include "mva-assistant.h"

G_BEGIN_DECLS

typedef struct
{
  const char *data_dir;   /* synth layout: qa.jsonl with absolute image paths */
  const char *base_dir;   /* model to start from */
  const char *out_dir;
  guint64     steps;
  guint       batch;
  double      lr;
  guint       threads;
  guint64     seed;
  guint64     step_offset;  /* progress reports step_offset + step of total_steps */
  guint64     total_steps;  /* 0: steps */
  gboolean    focusing;     /* steps are reported as MVA_RETRAIN_PHASE_FOCUSING */
  const char *device;       /* preference (mva-device.h) */
} MvaFinetuneArgs;

/* Fine-tune base_dir on data_dir into out_dir with mva_trainer_run. Progress
 * (TRAINING phase) runs in the calling thread. On cancel: FALSE with
 * MVA_ASSISTANT_ERROR_CANCELLED. *final_loss gets the last step's loss. */
gboolean _mva_assistant_finetune (const MvaFinetuneArgs  *args,
                                  MvaRetrainProgressFunc  progress,
                                  gpointer                user_data,
                                  GCancellable           *cancellable,
                                  double                 *final_loss,
                                  GError                **error);

/* Run func on a dedicated GThread (not GTask's limited pool: asks and
 * retrains are long); the task keeps a reference until func returns. */
void _mva_assistant_run_in_thread (GTask           *task,
                                   const char      *name,
                                   GTaskThreadFunc  func);

/* mva-assistant-scale.c: does the question ask for the image scale (family 1
 * or a scale word in the text)? And: put the metadata scale into a->answer
 * (from a->generated) when it asks and image->meta.pixel_size_nm is known;
 * sets scale_from_metadata, pixel_size_nm, field_of_view_um (see MvaAnswer). */
gboolean _mva_assistant_asks_scale           (guint           family,
                                              const char     *question);
void     _mva_assistant_apply_metadata_scale (MvaAnswer      *answer,
                                              const MvaImage *image);
/* ... and the instrument's settings (family 8 or a settings word in the
 * question): the metadata's, or a sentence saying the file has none. */
gboolean _mva_assistant_asks_instrument           (guint           family,
                                                   const char     *question);
void     _mva_assistant_apply_metadata_instrument (MvaAnswer      *answer,
                                                   const MvaImage *image);
/* The sentences of text ('.', '!' or '?' then white space or the end). */
GStrv    _mva_assistant_split_sentences           (const char     *text);

/* mva-assistant-measure.c: does the question ask for sizes (family 3, or
 * "size", "diameter", "how large", "how big")? And: the sentences stating a
 * length give way to the size measured on the image (mva-measure.c) when
 * the category (may be NULL: nothing done) is one it measures. */
gboolean _mva_assistant_asks_size                 (guint           family,
                                                   const char     *question);
void     _mva_assistant_apply_measured_size       (MvaAnswer      *answer,
                                                   const MvaImage *image,
                                                   const char     *category);
/* The lengths in nm or µm in sentence (pairs of byte offsets [from, to),
 * flattened, into spans) and sentence with each replaced by the length the
 * measurement put in its place (NULL when the answer has no in-place
 * measured length: family 10 only). */
char    *_mva_assistant_lengths_replaced          (const MvaAnswer *answer,
                                                   const char      *sentence,
                                                   GArray          *spans);

G_END_DECLS
