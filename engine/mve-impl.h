// SPDX-License-Identifier: GPL-3.0-or-later
// mve-impl.h: engine internals shared by mve-model*.c, mve-layers.c and the
// engine tests (parity, gradient checks). Not installed, not part of the API.
//
// Legend: B = batch, N = sequences in a stack, T = tokens per sequence,
// Tk = key tokens (cross-attention: image tokens), C = width, HC = mlp width,
// NH = heads, hs = head size, V = vocabulary, E = ITC embedding size,
// P = image patches, Nv = P + 1 image tokens, K = channels * patch * patch.
#pragma once

#include <stdint.h>
#include <stddef.h>

#include "mve.h"

#ifdef __cplusplus
extern "C" {
#endif

// --- fast exp -----------------------------------------------------------------------
// expf to about 2 ulp (Cephes polynomial, Cody-Waite reduction), written so the
// compiler vectorizes loops over it; inputs are clamped to [-87, 88].
static inline float
mve_expf (float x)
{
  const float magic = 12582912.0f; // 1.5 * 2^23: adding it rounds to an integer
  float xc = x < -87.0f ? -87.0f : x > 88.0f ? 88.0f : x;
  float t = xc * 1.44269504088896341f + magic;
  union { float f; int32_t i; } ut = { t };
  int32_t n = ut.i - 0x4b400000;
  float fn = t - magic;
  float r = (xc - fn * 0.693359375f) - fn * -2.12194440e-4f;
  float z = r * r;
  float y = ((((1.9875691500e-4f * r + 1.3981999507e-3f) * r + 8.3334519073e-3f) * r
              + 4.1665795894e-2f) * r + 1.6666665459e-1f) * r + 5.0000001201e-1f;
  union { int32_t i; float f; } us = { (n + 127) << 23 };
  return (y * z + r + 1.0f) * us.f;
}

// Vectorized helpers (mve-layers.c): out[i] = exp(in[i] - sub) * scale, returns
// the sum of exp(in[i] - sub); out may be NULL (sum only) or alias in.
float mve_exp_row (float *out, const float *in, int64_t n, float sub, float scale);
float mve_max_row (const float *in, int64_t n);

// --- layers (mve-layers.c): outputs first, inputs, weights, dims ---------------
// Backward functions accumulate (+=) into their gradient outputs.

// The _mt variants split the work over `threads` threads of the engine's
// pool (OpenBLAS itself runs single-threaded): forward and dinp by rows; dw
// and db by rows into per-part sums added in part order when there are many
// rows per output, else by output channels. Results depend on the thread
// count, never on scheduling.
void mve_matmul_forward_mt (int threads, float *out, const float *inp, const float *w,
                            const float *b, int64_t N, int IC, int OC);
// out = inp @ w^T + b + res (res (N, OC) may be NULL; it must not alias out)
void mve_matmul_forward_res_mt (int threads, float *out, const float *inp, const float *w,
                                const float *b, const float *res, int64_t N, int IC, int OC);
void mve_matmul_backward_mt (int threads, float *dinp, int set_dinp, float *dw, float *db,
                             const float *dout, const float *inp, const float *w, int64_t N, int IC,
                             int OC);
// out (N, OC) = inp (N, IC) @ w^T (w is (OC, IC)) + b (OC, may be NULL)
void mve_matmul_forward (float *out, const float *inp, const float *w, const float *b,
                         int64_t N, int IC, int OC);
// dinp (N, IC) (may be NULL), dw (OC, IC), db (OC, may be NULL)
void mve_matmul_backward (float *dinp, float *dw, float *db, const float *dout, const float *inp,
                          const float *w, int64_t N, int IC, int OC);
// Same, but dinp (not NULL) is overwritten instead of accumulated.
void mve_matmul_backward_set (float *dinp, float *dw, float *db, const float *dout,
                              const float *inp, const float *w, int64_t N, int IC, int OC);
// out, inp (N, C); mean, rstd (N); w, b (C); eps 1e-5
void mve_layernorm_forward (float *out, float *mean, float *rstd, const float *inp, const float *w,
                            const float *b, int64_t N, int C);
void mve_layernorm_backward (float *dinp, float *dw, float *db, const float *dout, const float *inp,
                             const float *w, const float *mean, const float *rstd, int64_t N, int C);
// GELU, tanh approximation (torch.nn.GELU(approximate='tanh'))
void mve_gelu_forward (float *out, const float *inp, int64_t n);
void mve_gelu_backward (float *dinp, const float *inp, const float *dout, int64_t n);
// Same, but dinp = GELU'(inp) * dout is overwritten, not accumulated.
void mve_gelu_backward_set (float *dinp, const float *inp, const float *dout, int64_t n);

// Multi-head attention over N sequences. Queries of sequence n, token t, head h
// are at q + n*q_seq + t*ldq + h*hs; keys/values of sequence n come from kv
// slot s = kv_index ? kv_index[n] : n at k + s*kv_seq + j*ldkv + h*hs.
// Keys j >= klen[n] (klen may be NULL) and, when causal, j > t are masked.
struct mve_attn_desc
{
  int N, T, Tk, NH, hs;
  int causal;
  const int32_t *klen;     // (N) or NULL
  const int32_t *kv_index; // (N) or NULL
  int64_t q_seq, kv_seq;
  int ldq, ldkv;
  // Packed rows (NULL: sequence n starts at row n*T and has T rows): sequence
  // n has the rows [off[n], off[n+1]) of q and out (and of k/v and dk/dv for
  // self-attention, kv_index NULL); its keys are the first min(klen, rows).
  const int32_t *off;      // (N + 1) or NULL
};
// out (N, T, NH*hs); att (N, NH, T, Tk) softmax probabilities
void mve_attention_forward (float *out, float *att, const float *q, const float *k, const float *v,
                            const struct mve_attn_desc *d, int threads);
// dq like q; dk/dv of sequence n at dk + n*dkv_seq + j*lddkv (no kv_index);
// scratch is threads * T * Tk floats.
void mve_attention_backward (float *dq, float *dk, float *dv, int64_t dkv_seq, int lddkv,
                             const float *dout, const float *att, const float *q, const float *k,
                             const float *v, const struct mve_attn_desc *d, float *scratch,
                             int threads);
// Same, but the sequences' dq, dk and dv rows are overwritten, not accumulated
// (dk/dv: the Tk rows of each sequence's slot, or its own rows when packed).
void mve_attention_backward_set (float *dq, float *dk, float *dv, int64_t dkv_seq, int lddkv,
                                 const float *dout, const float *att, const float *q,
                                 const float *k, const float *v, const struct mve_attn_desc *d,
                                 float *scratch, int threads);

// Run fn(arg, i) for i in [0, n) on up to `threads` threads (the caller is one).
void mve_parallel_for (int threads, int64_t n, void (*fn) (void *arg, int64_t i), void *arg);

// --- parameters -------------------------------------------------------------------
// A transformer block stack (L layers), stacked per tensor kind.
struct mve_block_params
{
  float *ln1_w, *ln1_b; // (L, C)
  float *qkv_w;         // (L, 3C, C)
  float *qkv_b;         // (L, 3C)
  float *ao_w;          // (L, C, C)
  float *ao_b;          // (L, C)
  float *ln2_w, *ln2_b; // (L, C)
  float *fc_w;          // (L, HC, C)
  float *fc_b;          // (L, HC)
  float *fp_w;          // (L, C, HC)
  float *fp_b;          // (L, C)
};

// Cross-attention sub-layers of a stack (L layers).
struct mve_cross_params
{
  float *ln_w, *ln_b; // (L, C)
  float *q_w;         // (L, C, C)
  float *q_b;         // (L, C)
  float *kv_w;        // (L, 2C, C)
  float *kv_b;        // (L, 2C)
  float *o_w;         // (L, C, C)
  float *o_b;         // (L, C)
};

struct mve_params
{
  // image encoder
  float *patch_w;      // (C, K) as a conv weight (C, channels, p, p)
  float *patch_b;      // (C)
  float *v_cls;        // (C)
  float *v_pos;        // (Nv, C)
  struct mve_block_params vis;
  float *v_lnf_w, *v_lnf_b; // (C)
  // text encoder (shared with the image-grounded encoder) + its cross-attention
  float *tok_emb;      // (V, C), shared with the decoder
  float *t_pos;        // (1 + max_answer_len, C)
  struct mve_block_params txt;
  struct mve_cross_params txt_ca;
  float *t_lnf_w, *t_lnf_b; // (C)
  // decoder
  float *d_pos;        // (max_question_len + max_answer_len + 3, C)
  struct mve_block_params dec;
  struct mve_cross_params dec_ca;
  float *d_lnf_w, *d_lnf_b; // (C)
  float *lm_w;         // (V, C)
  float *lm_b;         // (V)
  // heads
  float *vproj_w;      // (E, C)
  float *vproj_b;      // (E)
  float *tproj_w;      // (E, C)
  float *tproj_b;      // (E)
  float *itm_w;        // (2, C)
  float *itm_b;        // (2)
  float *temp;         // (1) ITC temperature
};

#define MVE_MAX_TENSORS 96
struct mve_tensor_info
{
  char name[48];
  int ndim;
  int64_t shape[3];
  int64_t numel;
  int64_t offset; // in floats from the start of the buffer
};

// Fill the tensor table for cfg; returns the count (<= MVE_MAX_TENSORS).
int mve_params_fill_table (const struct mve_config *cfg, struct mve_tensor_info *table,
                           int64_t *total);
// Point the fields of p into base, following table order.
void mve_params_point (struct mve_params *p, float *base, const struct mve_config *cfg);

// Model internals for tests and the model's other translation units.
int mve_model_tensor_count (mve_model_t m);
const struct mve_tensor_info *mve_model_tensor (mve_model_t m, int i);
int mve_model_find_tensor (mve_model_t m, const char *name); // index or -1
float *mve_model_params_data (mve_model_t m);                // all parameters, flat
float *mve_model_grads_data (mve_model_t m);                 // same layout
// Training forwards fuse the LM head's loss and gradient in chunks and keep no
// logits; keep != 0 makes them keep a copy for mve_model_lm_logits (tests).
void mve_model_keep_logits (mve_model_t m, int keep);
// Logits of the last forward's LM positions: (n, V), rows in batch order,
// answer tokens then <EOS> per row. Valid until the next forward; NULL after
// a training forward without keep_logits.
const float *mve_model_lm_logits (mve_model_t m, int64_t *n);
// ITM logits (3B or B rows, 2) and the ITC similarity (B, B) of the last forward.
const float *mve_model_itm_logits (mve_model_t m, int64_t *n);
const float *mve_model_itc_sim (mve_model_t m, int64_t *n);

// Teacher-forced decoder log-probabilities (no cache): logprobs (alen + 1, V)
// for the positions predicting answer[0..alen-1] and <EOS>.
mve_status mve_model_decoder_logprobs (mve_model_t m, const float *image, const int32_t *question,
                                       int32_t qlen, const int32_t *answer, int32_t alen,
                                       float *logprobs, char *err, size_t errn);

#ifdef __cplusplus
}
#endif
