// SPDX-License-Identifier: GPL-3.0-or-later
// mve.h: the MVaEMa model engine (plain C11, no GLib): configuration, model
// lifecycle, forward/backward with ITC + ITM + LM losses, Adam, a training
// loop, greedy/beam generation with a key/value cache, and answer ranking.
//
// Model ("mvaema-s32", see DESIGN.md): ViT image encoder, BERT-like text
// encoder (<cls> first), image-grounded text encoder (the text encoder's
// self-attention and FFN weights shared, plus its own cross-attention
// sub-layers, <Encode> first, ITM head on its first token) and an
// image-grounded causal decoder (<Decode> question <sep> answer <EOS>, LM head).
// The text encoder and the decoder share one token-embedding table; each has
// its own position table and the LM head is a separate (V, C) matrix + bias.
//
// Special token ids are fixed: see MVE_TOKEN_*.
//
//   struct mve_config cfg;
//   mve_config_init_default (&cfg);
//   cfg.vocab_size = mve_tokenizer_size (tok);
//   mve_model_t m = NULL;
//   char err[256];
//   if (mve_model_init (&m, &cfg, 42, 2, err, sizeof err) != MVE_STATUS_OK)
//     fprintf (stderr, "%s\n", err);
//   struct mve_losses L;
//   mve_model_forward (m, &batch, &L);      // losses of one batch
//   mve_model_zero_grad (m);
//   mve_model_backward (m);                 // gradients of L.total
//   struct mve_adam opt;
//   mve_adam_init_default (&opt);
//   mve_model_adam_step (m, &opt, 1);       // step counts from 1
//   mve_model_generate (m, image, q, qlen, 64, 1, NULL, NULL, out, &n, NULL, err, sizeof err);
//   mve_model_free (m);
//
// Threading: a model is used by one thread at a time. The engine splits its
// work (matrix products by rows or output channels, attention by sequence and
// head, elementwise passes by chunks) over the model's thread count with its
// own pthreads, and sets OpenBLAS to one thread (a process-wide setting) so
// that BLAS workers neither nest nor spin. Results depend on the thread count
// only, never on scheduling. Callbacks run in the calling thread.
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mve-status.h"

#ifdef __cplusplus
extern "C" {
#endif

// --- special tokens (the tokenizer uses the same ids) -----------------------
enum
{
  MVE_TOKEN_PAD = 0,
  MVE_TOKEN_UNK = 1,
  MVE_TOKEN_CLS = 2,
  MVE_TOKEN_ENCODE = 3,
  MVE_TOKEN_DECODE = 4,
  MVE_TOKEN_SEP = 5,
  MVE_TOKEN_EOS = 6,
  MVE_TOKEN_N_SPECIAL = 7,
};

// --- configuration -----------------------------------------------------------
// Stored with the weights (safetensors metadata, keys "mve.<field>").
struct mve_config
{
  int32_t image_size;       // 224: square input, H = W
  int32_t patch_size;       // 32: patches are patch_size x patch_size
  int32_t channels;         // 3
  int32_t width;            // C = 64 in every encoder/decoder
  int32_t vision_layers;    // 4
  int32_t text_layers;      // 4 (text encoder = image-grounded encoder layers)
  int32_t decoder_layers;   // 4
  int32_t heads;            // 4 (head size = width / heads)
  int32_t mlp_ratio;        // 4
  int32_t vocab_size;       // 8192
  int32_t max_question_len; // 48 tokens (without <Decode>/<sep>)
  int32_t max_answer_len;   // 128 tokens (without <EOS>)
  int32_t embed_dim;        // 64: ITC projection size
  float temp_init;          // 0.07: ITC temperature (clamped to [0.001, 0.5])
  float w_itc, w_itm, w_lm; // loss weights, 1 each
  int32_t use_itc;          // ablations: 0 removes the ITC loss (ITM negatives then by shift)
  int32_t use_itm;          // 0 removes the ITM loss and the image-grounded encoder pass
  int32_t use_sa;           // 0 removes self-attention in the text / image-grounded encoder
  int32_t use_ca;           // 0 removes every cross-attention sub-layer
  int32_t use_csa;          // 0 removes the decoder's causal self-attention
};

// Paper configuration ("mvaema-s32").
void mve_config_init_default (struct mve_config *cfg);

// Check that a configuration is usable; message in err.
mve_status mve_config_validate (const struct mve_config *cfg, char *err, size_t errn);

// Serialise to key/value strings: fills keys[i]/values[i] (each buffer
// MVE_CONFIG_KV_LEN bytes) for i < MVE_CONFIG_N_KEYS. Keys are "mve.<field>".
#define MVE_CONFIG_N_KEYS 22
#define MVE_CONFIG_KV_LEN 48
mve_status mve_config_to_kv (const struct mve_config *cfg,
                             char keys[][MVE_CONFIG_KV_LEN],
                             char values[][MVE_CONFIG_KV_LEN]);

// Parse from n key/value pairs; unknown keys are ignored, missing keys keep
// the default, bad values are refused. The result is validated.
mve_status mve_config_from_kv (struct mve_config *cfg,
                               const char *const *keys,
                               const char *const *values,
                               size_t n,
                               char *err,
                               size_t errn);

// --- model lifecycle ---------------------------------------------------------
typedef struct mve_model *mve_model_t;

// New model with weights drawn from seed (same seed + threads -> same bytes).
mve_status mve_model_init (mve_model_t *out, const struct mve_config *cfg, uint64_t seed,
                           int32_t threads, char *err, size_t errn);
void mve_model_free (mve_model_t m); // accepts NULL
const struct mve_config *mve_model_get_config (mve_model_t m);
void mve_model_set_threads (mve_model_t m, int32_t threads);
int64_t mve_model_num_params (mve_model_t m);
// Last error message recorded by a call on m ("" when none).
const char *mve_model_last_error (mve_model_t m);

// Safetensors checkpoint, written atomically (temp file, fsync, rename).
// extra_meta: "key", "value", ..., NULL (may be NULL), e.g. the tokenizer file.
mve_status mve_model_save (mve_model_t m, const char *path, const char *const *extra_meta,
                           char *err, size_t errn);
mve_status mve_model_load (mve_model_t *out, const char *path, int32_t threads, char *err,
                           size_t errn);

// --- training ----------------------------------------------------------------
// One batch. Tokens are ids without specials: the engine adds <cls>, <Encode>,
// <Decode>, <sep>, <EOS> itself. Rows are padded with MVE_TOKEN_PAD.
struct mve_batch
{
  int32_t B;                  // batch size (>= 1; ITC/ITM need >= 2)
  const float *images;        // (B, channels, H, W), values in [-1, 1]
  const int32_t *question;    // (B, Tq)
  const int32_t *question_len; // (B) each in [0, Tq], <= max_question_len
  const int32_t *answer;      // (B, Ta)
  const int32_t *answer_len;  // (B) each in [0, Ta], <= max_answer_len
  int32_t Tq, Ta;
};

struct mve_losses
{
  float total, itc, itm, lm; // total = w_itc*itc + w_itm*itm + w_lm*lm (disabled terms are 0)
};

// Forward pass and losses; keeps the activations for mve_model_backward.
// The batch's images are read again by mve_model_backward: keep them valid
// until then.
mve_status mve_model_forward (mve_model_t m, const struct mve_batch *batch, struct mve_losses *out);
// Losses only (validation): no state for backward is kept, and the fused
// LM-head gradient work of mve_model_forward is skipped.
mve_status mve_model_evaluate (mve_model_t m, const struct mve_batch *batch, struct mve_losses *out);
// The same with ITM negatives drawn uniformly (seeded by seed) from the rows
// with another answer, instead of the hardest by ITC similarity: mve_train
// uses it with MVE_ITM_NEGATIVES_RANDOM. Same seed, batch and weights -> same negatives.
mve_status mve_model_forward_random_negatives (mve_model_t m, const struct mve_batch *batch,
                                               uint64_t seed, struct mve_losses *out);
void mve_model_zero_grad (mve_model_t m);
// Backward of the last forward's total loss; gradients accumulate.
mve_status mve_model_backward (mve_model_t m);

struct mve_adam
{
  float lr;           // 1e-3
  float beta1, beta2; // 0.9, 0.999
  float eps;          // 1e-8
  float weight_decay; // 0 (L2 added to the gradient, as torch.optim.Adam)
  float clip_norm;    // 1.0 global gradient norm; <= 0 disables clipping
};
void mve_adam_init_default (struct mve_adam *opt);
// One Adam update (torch.optim.Adam semantics); step counts from 1.
// Returns the global gradient norm before clipping in *grad_norm (may be NULL).
mve_status mve_model_adam_step_norm (mve_model_t m, const struct mve_adam *opt, int64_t step,
                                     float *grad_norm);
mve_status mve_model_adam_step (mve_model_t m, const struct mve_adam *opt, int64_t step);

// Training loop: epochs of batches, validation after each epoch, lr halved
// after `patience` epochs without improvement, early stop after
// `early_stop_patience` epochs without improvement.
struct mve_backend;
struct mve_train_opts
{
  struct mve_adam adam;
  int32_t epochs;              // > 0: number of epochs (each ends when next_batch returns 0)
  int64_t steps;               // > 0: stop after this many steps in total (whichever first)
  int32_t patience;            // 5
  int32_t early_stop_patience; // 10; <= 0 disables
  // Fill *out with the next training batch; return 1 for a batch, 0 at the
  // end of the epoch (the loop then validates and starts the next epoch),
  // negative on error. The batch's memory must stay valid until the next call.
  int (*next_batch) (void *user, struct mve_batch *out);
  // Optional: validation loss of the current model (lower is better); return
  // a status. NULL: the epoch's mean training loss is used instead.
  mve_status (*validate) (void *user, mve_model_t m, float *val_loss);
  // Optional: called after every step.
  void (*on_step) (void *user, int64_t step, const struct mve_losses *losses, float lr,
                   double samples_per_s);
  // Optional: called after every epoch with the validation loss.
  void (*on_epoch) (void *user, int32_t epoch, float val_loss, float lr);
  // Optional: polled between steps; true stops the loop with MVE_STATUS_CANCELLED.
  bool (*should_abort) (void *user);
  void *user;
  // Linear learning-rate warmup (BLIP): step s of the first warmup_steps uses
  // lr * s / warmup_steps; the plateau halving applies on top. 0: none;
  // MVE_WARMUP_AUTO (the default): min(200, 5% of steps) when steps > 0, else none.
  // on_step reports the warmed-up lr, on_epoch the plateau schedule's lr.
  int64_t warmup_steps;
  // Learning-rate multiplier of the ITC head (projections heads.vproj_*,
  // heads.tproj_* and the temperature heads.temp): 0.1 by default, so that
  // at lr 1e-3 the contrastive embeddings do not collapse onto one vector
  // (ITC stuck at log B). 1 trains them like every other weight.
  float itc_head_lr_scale;
  // ITM negatives: MVE_ITM_NEGATIVES_RANDOM (the default) draws them uniformly
  // from the batch's rows with another answer, seeded by seed and the step;
  // MVE_ITM_NEGATIVES_HARDEST mines the hardest by ITC similarity (as
  // mve_model_forward). From scratch the hardest are near-duplicates and ITM
  // stays at its prior (0.636 for 1 positive in 3).
  int32_t itm_negatives;
  uint64_t seed;
  // Where the steps run: NULL, the CPU; a backend with whole-model support
  // (mve_backend_has_model, mve-device.h) runs every step on its device
  // (random ITM negatives only) and copies the weights back into the model
  // before validate, at the end and on errors. Not owned.
  struct mve_backend *backend;
};
enum
{
  MVE_ITM_NEGATIVES_RANDOM = 0,
  MVE_ITM_NEGATIVES_HARDEST = 1,
};
#define MVE_WARMUP_AUTO (-1)
#define MVE_WARMUP_MAX_AUTO 200
// The warmup a run of total_steps steps gets from warmup_steps (resolves
// MVE_WARMUP_AUTO; total_steps <= 0: unknown).
int64_t mve_train_warmup_steps (int64_t warmup_steps, int64_t total_steps);
void mve_train_opts_init_default (struct mve_train_opts *opts);
mve_status mve_train (mve_model_t m, const struct mve_train_opts *opts);

// --- inference -----------------------------------------------------------------
// Number of image patches P ((image_size / patch_size)^2).
int32_t mve_model_num_patches (mve_model_t m);

// Called for every generated token; attn (P) is the decoder's cross-attention
// over the image patches (the <cls> image token left out) averaged over heads
// and layers, for the step that produced the token. Return false to stop.
typedef bool (*mve_token_cb) (void *user, int32_t token, const float *attn);

// Generate an answer to question (qlen ids, no specials) about one image
// (channels, H, W) in [-1, 1]. beam_width 1 is greedy with a key/value cache;
// k > 1 is beam search of width k (tokens are reported through cb when the
// search finishes). Generation stops at <EOS> (not written to out_tokens) or
// after max_new tokens. out_tokens (max_new), out_attn (max_new, P) or NULL.
mve_status mve_model_generate (mve_model_t m, const float *image, const int32_t *question,
                               int32_t qlen, int32_t max_new, int32_t beam_width, mve_token_cb cb,
                               void *user, int32_t *out_tokens, int32_t *out_len, float *out_attn,
                               char *err, size_t errn);

// Log-likelihood (sum over answer tokens and <EOS>) of each of n candidate
// answers to question about image; out_logprob (n).
mve_status mve_model_score_answers (mve_model_t m, const float *image, const int32_t *question,
                                    int32_t qlen, const int32_t *const *answers,
                                    const int32_t *answer_lens, int32_t n, float *out_logprob,
                                    char *err, size_t errn);

// ITM probability that each of n texts matches image; out_prob (n).
mve_status mve_model_itm_scores (mve_model_t m, const float *image, const int32_t *const *texts,
                                 const int32_t *text_lens, int32_t n, float *out_prob, char *err,
                                 size_t errn);

// Cancellation for long calls (generate, score, train): polled between steps.
void mve_model_set_abort_callback (mve_model_t m, bool (*should_abort) (void *), void *user);

#ifdef __cplusplus
}
#endif
