/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * mva-assistant-finetune.c: the fine-tune step of a retrain, through the
 * trainer (mva-trainer.h).
 */
#define G_LOG_DOMAIN "mva-assistant"
#include "config.h"

#include <math.h>

#include "mva-assistant-private.h"
#include "mva-trainer.h"

typedef struct
{
  MvaRetrainProgressFunc progress;
  gpointer               user_data;
  double                 last_loss;
  guint64                offset, total;
  gboolean               focusing;
} FinetuneRun;

static void
on_progress (const MvaTrainProgress *p,
             gpointer                user_data)
{
  FinetuneRun *run = user_data;
  MvaRetrainProgress rp = { 0 };

  switch (p->phase)
    {
    case MVA_TRAIN_PHASE_LOADING:
      rp.phase = MVA_RETRAIN_PHASE_PREPARING;
      rp.done = p->done;
      rp.total = p->total;
      break;
    case MVA_TRAIN_PHASE_STEP:
      rp.phase = run->focusing ? MVA_RETRAIN_PHASE_FOCUSING : MVA_RETRAIN_PHASE_TRAINING;
      rp.done = run->offset + p->step;
      rp.total = run->total;
      rp.loss = p->loss;
      rp.lm = p->lm;
      run->last_loss = p->loss;
      break;
    case MVA_TRAIN_PHASE_SAVING:
      rp.phase = MVA_RETRAIN_PHASE_SAVING;
      break;
    default:
      return;
    }
  if (run->progress != NULL)
    run->progress (&rp, run->user_data);
}

gboolean
_mva_assistant_finetune (const MvaFinetuneArgs  *args,
                         MvaRetrainProgressFunc  progress,
                         gpointer                user_data,
                         GCancellable           *cancellable,
                         double                 *final_loss,
                         GError                **error)
{
  MvaTrainOptions opts;
  FinetuneRun run = { progress, user_data, NAN, args->step_offset,
                      args->total_steps ? args->total_steps : args->steps, args->focusing };
  gboolean cancelled = FALSE;
  g_autoptr(GError) local = NULL;

  mva_train_options_init (&opts);
  opts.data_dir = args->data_dir;
  opts.out_dir = args->out_dir;
  opts.init_dir = args->base_dir;
  opts.steps = args->steps;
  opts.epochs = 0;
  opts.batch = args->batch;
  opts.lr = args->lr;
  opts.threads = args->threads;
  opts.seed = args->seed;
  opts.device = args->device;
  opts.val_fraction = 0.0; /* every reviewed image is trained on; held-out pairs are compared apart */
  /* the steps asked for, all of them: a focus round's epoch is a batch or
   * two, and a plateau of such epochs would stop it early */
  opts.fixed_schedule = TRUE;
  if (!mva_trainer_run (&opts, on_progress, &run, cancellable, &cancelled, NULL, &local))
    {
      if (local->domain == MVA_TRAINER_ERROR && local->code == MVA_TRAINER_ERROR_CANCELLED)
        g_set_error_literal (error, MVA_ASSISTANT_ERROR, MVA_ASSISTANT_ERROR_CANCELLED, "cancelled");
      else
        g_set_error (error, MVA_ASSISTANT_ERROR, MVA_ASSISTANT_ERROR_ENGINE, "fine-tune: %s",
                     local->message);
      return FALSE;
    }
  if (cancelled)
    {
      g_set_error_literal (error, MVA_ASSISTANT_ERROR, MVA_ASSISTANT_ERROR_CANCELLED, "cancelled");
      return FALSE;
    }
  if (final_loss != NULL)
    *final_loss = run.last_loss;
  return TRUE;
}
