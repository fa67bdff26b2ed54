// SPDX-License-Identifier: GPL-3.0-or-later
// mve-model-impl.h: the model struct and the activation layout shared by
// mve-model.c (lifecycle, Adam), mve-model-forward.c (training passes),
// mve-model-generate.c (inference) and mve-model-io.c (checkpoints).
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "mve-impl.h"

// Activations of one transformer stack: N sequences of T tokens, L layers,
// optional cross-attention to Nimg memories of Tk tokens.
struct mve_stack_acts
{
  int N, T, Tk, Nimg, L;
  // Rows are packed: sequence n holds the rows [off[n], off[n+1]) (its valid
  // tokens, no padding) of every (rows, ...) activation; buffers are sized
  // for N*T rows and layer l of an (L, N, T, ...) buffer starts at l*N*T rows.
  int64_t rows;                      // off[N]
  int32_t *off;                      // (N + 1), carved from ibuf
  float *x0;                         // (N, T, C) embeddings
  // ln1, lnc, ln2 and fch_gelu hold one layer (N, T, C|HC): backward
  // recomputes them from the layer input and the saved mean/rstd
  float *ln1, *ln1_mean, *ln1_rstd;  // (N, T, C), (L, N, T) x2
  float *qkv;                        // (L, N, T, 3C)
  float *att;                        // (L, N, NH, T, T)
  float *atty;                       // (L, N, T, C)
  float *res1;                       // (L, N, T, C) after self-attention
  float *lnc, *lnc_mean, *lnc_rstd;  // (N, T, C), (L, N, T) x2
  float *cq;                         // (N, T, C) one layer, recomputed in backward
  float *ckv;                        // (L, Nimg, Tk, 2C)
  float *catt;                       // (L, N, NH, T, Tk)
  float *caty;                       // (L, N, T, C)
  float *res2;                       // (L, N, T, C) after cross-attention
  float *ln2, *ln2_mean, *ln2_rstd;  // (N, T, C), (L, N, T) x2
  float *fch;                        // (L, N, T, HC) before GELU
  float *fch_gelu;                   // (N, T, HC)
  float *res3;                       // (L, N, T, C) layer outputs
  float *lnf, *lnf_mean, *lnf_rstd;  // (N, T, C), (N, T) x2
};

// How a stack runs: its weights, attention kinds and masks.
struct mve_stack_def
{
  const struct mve_block_params *w;
  struct mve_block_params *gw;
  const struct mve_cross_params *cw; // NULL: no cross-attention
  struct mve_cross_params *gcw;
  const float *lnf_w, *lnf_b;
  float *glnf_w, *glnf_b;
  int sa;                   // 0 none, 1 bidirectional, 2 causal
  const int32_t *klen;      // (N) valid tokens per sequence
  const int32_t *img_index; // (N) memory of each sequence (cross-attention)
  const float *mem;         // (Nimg, Tk, C) cross-attention memory (image tokens)
  float *dmem;              // (Nimg, Tk, C) its gradient (accumulated)
};

struct mve_dims
{
  int B;       // images
  int Tq, Ta;  // padded question / answer lengths of the batch
  int Te, Td;  // text encoder (1 + Ta) and decoder (Tq + Ta + 3) lengths
  int Nt;      // text-encoder sequences (ITC): B or 0
  int Nitm;    // image-grounded sequences: 3B, B or 0
  int Nd;      // decoder sequences
  int64_t Nlm; // LM positions
  int train;   // keep what backward needs
};

struct mve_model
{
  struct mve_config cfg;
  struct mve_tensor_info table[MVE_MAX_TENSORS];
  int n_tensors;
  int64_t n_params;
  float *params_mem, *grads_mem, *adam_m, *adam_v;
  struct mve_params p, g;
  int threads;
  char last_error[256];
  bool (*should_abort) (void *);
  void *abort_user;

  // activation arena (floats) and integer buffers, grown on demand
  float *arena;
  size_t arena_cap;
  int32_t *ibuf;
  size_t ibuf_cap;
  struct mve_dims dims;
  int have_forward; // a training forward is ready for backward

  // carved from the arena
  float *patches;  // (min(B, 8) * P, K) im2col of a chunk of images
  const float *images; // the last forward's images (backward rebuilds patches)
  float *pe;       // (B*P, C) patch embeddings
  struct mve_stack_acts vis, txt, itm, dec;
  float *img_feat, *img_n, *txt_feat, *txt_n; // (B, E)
  float *img_norm, *txt_norm;                 // (B)
  float *sim;                                 // (B, B)
  float *itm_logits;                          // (Nitm, 2)
  float *lm_h;                                // (Nlm, C)
  float *lm_logits;                           // (Nlm, V) inference, or training with keep_logits
  float *lm_lse;                              // (Nlm)
  float *lm_zt;                               // (Nlm) logit of the target
  float *lm_gw, *lm_gb;                       // (V, C), (V) LM-head gradient computed in forward
  int keep_logits;
  // backward scratch
  float *s_dres, *s_dtmp, *s_dbig, *s_dbig2, *s_dkvseq, *s_dkv, *s_att, *s_dlnf, *s_dmem;
  float *s_dlogits; // (chunk, V) logits, then their gradient, of one chunk
  float *s_dlm_h;   // (Nlm, C)
  float *s_small;   // (2 B E + B B + 2 B C) ITC backward

  // carved from ibuf
  int32_t *tok_t, *len_t;   // (B, Te), (B)
  int32_t *tok_i, *len_i;   // (Nitm, Te), (Nitm)
  int32_t *img_i, *lab_i;   // (Nitm) image of each ITM sequence, label 1/0
  int32_t *tok_d, *len_d;   // (Nd, Td), (Nd)
  int32_t *img_d;           // (Nd)
  int32_t *lm_pos, *lm_tgt; // (Nlm) packed row index into dec (dec.off[n] + t), target id
  int32_t *neg_t, *neg_i;   // (B) ITM negatives: text for image i, image for text i

  struct mve_losses losses;
};

mve_status _mve_fail (struct mve_model *m, char *err, size_t errn, mve_status st, const char *fmt,
                      ...) __attribute__ ((format (printf, 5, 6)));
mve_status _mve_model_alloc (struct mve_model **out, const struct mve_config *cfg, int32_t threads,
                             char *err, size_t errn);
// Size and carve the arena for dims (m->dims is set); ints: integer slots.
mve_status _mve_arena_prepare (struct mve_model *m, const struct mve_dims *dims);
// Image encoder forward over dims.B images; output m->vis.lnf (B, Nv, C).
void _mve_vision_forward (struct mve_model *m, const float *images);
// Decoder forward over m->tok_d/len_d/img_d (dims.Nd sequences) and the LM
// logits at m->lm_pos; returns the mean LM loss over m->lm_tgt.
float _mve_decoder_forward (struct mve_model *m);
// Decoder rows <Decode> q <sep> a <EOS> and the LM targets of rows [0, N);
// img (N) or NULL (row n uses image n).
void _mve_fill_decoder_rows (struct mve_model *m, int N, const int32_t *const *q, const int32_t *qlen,
                             const int32_t *const *a, const int32_t *alen, const int32_t *img);
// ITM logits (dims.Nitm, 2) of m->tok_i/len_i/img_i over m->vis.lnf.
void _mve_itm_logits_forward (struct mve_model *m);
// The engine runs OpenBLAS single-threaded inside its own threads; called at
// the entry of every heavy call in case someone else changed the setting.
void _mve_blas_single_thread (void);

// The host half of a device training step (mve-device.c): fills m->ibuf with
// the batch's integer arrays (seeded random ITM negatives; seed 0 maps to
// mve_model_forward_random_negatives' fixed seed) and *s with their offsets,
// dimensions and the images. The float arena is left alone.
struct mve_step_desc;
mve_status _mve_device_prepare (struct mve_model *m, const struct mve_batch *b, uint64_t neg_seed,
                                struct mve_step_desc *s);
// Float ranges [lo, hi) of the ITC head (projections, temperature) in the
// parameter block (mve_train's lr scale).
void _mve_itc_head_ranges (mve_model_t m, int64_t lo[2], int64_t hi[2]);
