// SPDX-License-Identifier: GPL-3.0-or-later
// mve-backend.h: the engine's backend interface (a vtable with labelled
// slots and a supports_op hook) and the run-time loader of the CUDA module.
//
// The CPU engine (mve-layers.c, mve-model*.c) is always there. The CUDA
// backend lives in a separate module (libmvaema-cuda.so, built under
// engine/cuda/ when nvcc is found) that is dlopen()ed only when asked for;
// nothing else links CUDA. When the module, the NVIDIA driver (libcuda.so.1)
// or a device is missing, the loader returns a one-line reason and the
// engine uses the CPU. Any op a backend does not support (supports_op false)
// runs on the CPU.
//
//   struct mve_backend *be = NULL;
//   char why[256];
//   if (mve_backend_open_cuda (&be, 0, why, sizeof why) != MVE_STATUS_OK)
//     fprintf (stderr, "using the CPU: %s\n", why);
//   else if (be->iface->supports_op (be->ctx, MVE_OP_GELU_FORWARD))
//     be->iface->gelu_forward (be->ctx, d_out, d_inp, n);   // device pointers
//   mve_backend_close (be);
//
// Op slots take device pointers, are ordered on the backend's stream and
// never synchronise with the host (so a step can be captured into a CUDA
// graph); only copy_to_host and synchronize wait. A failing op records a
// message (mve_backend_i.last_error) and returns a negative status.
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mve-impl.h"
#include "mve-status.h"

#ifdef __cplusplus
extern "C" {
#endif

// Bump when struct mve_backend_i changes; the module refuses other versions.
#define MVE_BACKEND_ABI_VERSION 3

enum mve_op
{
  MVE_OP_MATMUL_FORWARD = 0,
  MVE_OP_MATMUL_BACKWARD,
  MVE_OP_LAYERNORM_FORWARD,
  MVE_OP_LAYERNORM_BACKWARD,
  MVE_OP_GELU_FORWARD,
  MVE_OP_GELU_BACKWARD,
  MVE_OP_ATTENTION_FORWARD,
  MVE_OP_ATTENTION_BACKWARD,
  MVE_OP_EMBEDDING_FORWARD,
  MVE_OP_EMBEDDING_BACKWARD,
  MVE_OP_RESIDUAL_FORWARD,
  MVE_OP_LM_XENT,
  MVE_OP_ITM_XENT,
  MVE_OP_ITC_LOSS,
  MVE_OP_ADAM,
  MVE_OP_TRAIN_STEP,  // a whole forward + backward + Adam step on the device
  MVE_OP_DECODE_STEP, // a whole decoding step with a device key/value cache
  MVE_OP_COUNT
};

// Name of an op ("matmul_forward", ...), or "unknown".
const char *mve_op_name (enum mve_op op);

// Matrix-product precision of a backend (CUDA: cuBLAS math mode).
enum mve_precision
{
  MVE_PRECISION_FP32 = 0, // default: parity with the CPU engine
  MVE_PRECISION_TF32 = 1, // tensor-core TF32 products (documented tolerances)
};

struct mve_device_info
{
  char name[96];
  int32_t index;
  int32_t cc_major, cc_minor; // compute capability
  int64_t total_mem;          // bytes
  int32_t multiprocessors;
  char driver[32], runtime[32]; // versions, "13.0"
};

// --- whole model on the device (ABI 3) -----------------------------------------
// The parameter block (params, grads, Adam m and v: n_params floats each, the
// layout of mve_params_fill_table) is allocated by the engine with `alloc`;
// p and g point into it (mve_params_point on device addresses). The module
// keeps its own activation arena, grown on demand.
struct mve_model_desc
{
  struct mve_config cfg;
  int64_t n_params;
  float *params, *grads, *adam_m, *adam_v; // device, n_params each
  struct mve_params p, g;                  // device pointers into params / grads
  int64_t itc_lo[2], itc_hi[2];            // ITC head ranges (floats) for its lr scale
};

// One training (or evaluation) step. The engine fills the host integer block
// (token rows, lengths, packed row offsets, LM positions/targets, ITM images
// and labels: mve-model-forward.c's layout) and the module uploads it and the
// images once, then runs forward, backward and Adam with no host
// synchronisation until the end, where the losses (and norm) come back.
struct mve_step_desc
{
  int32_t B, Tq, Ta, Te, Td, Nt, Nitm, Nd; // mve_dims
  int64_t Nlm;
  const float *images; // host (B, channels, S, S)
  const int32_t *ints; // host block of n_ints int32, uploaded as one copy
  int64_t n_ints;
  // offsets (in int32) into ints; the arrays are those of struct mve_model
  int64_t tok_t, len_t, tok_i, len_i, img_i, lab_i, tok_d, len_d, img_d, lm_pos, lm_tgt;
  int64_t off_vis, off_txt, off_itm, off_dec; // (N + 1) packed row offsets of each stack
  int32_t backward; // gradients too (zeroed first)
  int32_t adam;     // then an Adam step (needs backward)
  float lr, beta1, beta2, eps, weight_decay, clip_norm, itc_head_scale;
  int64_t step; // Adam step, from 1
};

struct mve_step_result
{
  float total, itc, itm, lm; // as struct mve_losses
  float grad_norm;           // before clipping (adam only)
};

// Greedy decoding on the device with a device key/value cache; each token is
// streamed back (with the patch cross-attention, P floats) as it is made.
struct mve_gen_desc
{
  const float *image;       // host (channels, S, S)
  const int32_t *question;  // host, qlen tokens (checked by the engine)
  int32_t qlen, max_new;
  int32_t *out_tokens;      // host, max_new (without <EOS>)
  int32_t *n_out;
  bool (*cb) (void *user, int32_t token, const float *attn); // may be NULL
  void *user;
  bool (*should_abort) (void *user);
  void *abort_user;
};

// The vtable. Slots are named; a backend may leave an op slot NULL, and then
// supports_op returns false for it. Shapes and semantics of every op are
// those of the CPU functions of the same name in mve-impl.h (backward ops
// accumulate into their gradient outputs, as on the CPU).
struct mve_backend_i
{
  int32_t abi_version;
  const char *name; // "cuda"

  // --- context --------------------------------------------------------------
  bool (*supports_op) (void *ctx, enum mve_op op);
  const char *(*last_error) (void *ctx);
  void (*free_ctx) (void *ctx);
  mve_status (*get_device_info) (void *ctx, struct mve_device_info *out);
  mve_status (*set_precision) (void *ctx, enum mve_precision p);

  // --- memory (device pointers) ---------------------------------------------
  // Out of memory: MVE_STATUS_ALLOC_FAILED with the size asked for in the message.
  mve_status (*alloc) (void *ctx, void **out, size_t bytes);
  void (*free) (void *ctx, void *ptr); // accepts NULL
  mve_status (*copy_to_device) (void *ctx, void *dst, const void *src, size_t bytes);
  mve_status (*copy_to_host) (void *ctx, void *dst, const void *src, size_t bytes); // waits
  mve_status (*memset_zero) (void *ctx, void *ptr, size_t bytes);
  mve_status (*synchronize) (void *ctx);

  // --- graphs ---------------------------------------------------------------
  // Record the op calls made between graph_begin and graph_end (no copies
  // to the host in between) into a graph that graph_launch replays with the
  // same pointers and shapes: one launch per training or decoding step.
  // May be NULL (no graph support): then run the ops one by one.
  mve_status (*graph_begin) (void *ctx);
  mve_status (*graph_end) (void *ctx, void **graph);
  mve_status (*graph_launch) (void *ctx, void *graph);
  void (*graph_free) (void *ctx, void *graph); // accepts NULL

  // --- ops ------------------------------------------------------------------
  // out (N, OC) = inp (N, IC) @ w^T + b (b may be NULL)
  mve_status (*matmul_forward) (void *ctx, float *out, const float *inp, const float *w,
                                const float *b, int64_t N, int IC, int OC);
  // dinp (N, IC) may be NULL; dw (OC, IC); db (OC) may be NULL; all accumulate
  mve_status (*matmul_backward) (void *ctx, float *dinp, float *dw, float *db, const float *dout,
                                 const float *inp, const float *w, int64_t N, int IC, int OC);
  mve_status (*layernorm_forward) (void *ctx, float *out, float *mean, float *rstd,
                                   const float *inp, const float *w, const float *b, int64_t N,
                                   int C);
  mve_status (*layernorm_backward) (void *ctx, float *dinp, float *dw, float *db,
                                    const float *dout, const float *inp, const float *w,
                                    const float *mean, const float *rstd, int64_t N, int C);
  mve_status (*gelu_forward) (void *ctx, float *out, const float *inp, int64_t n);
  mve_status (*gelu_backward) (void *ctx, float *dinp, const float *inp, const float *dout,
                               int64_t n);
  // d->klen and d->kv_index are device pointers (or NULL). att (N, NH, T, Tk).
  mve_status (*attention_forward) (void *ctx, float *out, float *att, const float *q,
                                   const float *k, const float *v,
                                   const struct mve_attn_desc *d);
  // dk/dv of sequence n at dk + n*dkv_seq + j*lddkv (kv_index must be NULL)
  mve_status (*attention_backward) (void *ctx, float *dq, float *dk, float *dv, int64_t dkv_seq,
                                    int lddkv, const float *dout, const float *att,
                                    const float *q, const float *k, const float *v,
                                    const struct mve_attn_desc *d);
  // out (N, T, C) = tok_emb[tokens[n, t]] + pos[t]
  mve_status (*embedding_forward) (void *ctx, float *out, const int32_t *tokens,
                                   const float *tok_emb, const float *pos, int N, int T, int C,
                                   int V);
  // dtok_emb[tokens] += dout; dpos[t] += sum_n dout (deterministic)
  mve_status (*embedding_backward) (void *ctx, float *dtok_emb, float *dpos, const float *dout,
                                    const int32_t *tokens, int N, int T, int C, int V);
  // out = a + b (n floats; out may alias a)
  mve_status (*residual_forward) (void *ctx, float *out, const float *a, const float *b,
                                  int64_t n);
  // Softmax cross-entropy of logits (N, V) against targets (N); dlogits
  // (N, V) = (softmax - onehot) * dloss_scale; losses (N) per row; -log p.
  mve_status (*lm_xent) (void *ctx, float *losses, float *dlogits, const float *logits,
                         const int32_t *targets, int64_t N, int V, float dloss_scale);
  // ITM: the same with V = 2 (labels 0/1)
  mve_status (*itm_xent) (void *ctx, float *losses, float *dlogits, const float *logits,
                          const int32_t *labels, int64_t N, float dloss_scale);
  // ITC: sim (B, B) = img_n @ txt_n^T / temp; loss (1) = mean of the two
  // directions' cross-entropies; dsim (B, B) gradient of loss w.r.t. sim.
  mve_status (*itc_loss) (void *ctx, float *loss, float *dsim, const float *sim, int B);
  // torch.optim.Adam over n floats; grad_scale multiplies the gradient
  // (clipping) before the update; bias corrections from step.
  mve_status (*adam) (void *ctx, float *params, float *m, float *v, const float *grads,
                      int64_t n, float lr, float beta1, float beta2, float eps,
                      float weight_decay, float grad_scale, int64_t step);

  // --- whole model (ABI 3; NULL when unsupported) ------------------------------
  mve_status (*model_create) (void *ctx, void **dm, const struct mve_model_desc *md);
  void (*model_free) (void *ctx, void *dm); // accepts NULL
  mve_status (*model_step) (void *ctx, void *dm, const struct mve_step_desc *s,
                            struct mve_step_result *r);
  mve_status (*model_generate) (void *ctx, void *dm, const struct mve_gen_desc *g);
};

// A loaded backend: its vtable, context and the module handle.
struct mve_backend
{
  const struct mve_backend_i *iface;
  void *ctx;
  void *module; // dlopen handle
  char module_path[512];
};

// The module's one exported symbol (MVE_BACKEND_ENTRY): opens device
// `device`, or returns a negative status with a one-line reason.
typedef mve_status (*mve_backend_entry_fn) (int32_t abi_version, int32_t device,
                                            const struct mve_backend_i **iface, void **ctx,
                                            int32_t *device_count, char *reason, size_t n);
#define MVE_BACKEND_ENTRY "mve_cuda_backend_open"

// Where the loader looks for the CUDA module, in order: $MVAEMA_CUDA_MODULE,
// the build tree, the installed libdir/mvaema. Writes the first existing
// path (or the installed one) into out.
void mve_backend_cuda_module_path (char *out, size_t n);

// Load the CUDA module and open device `device`. On failure *out is NULL and
// reason says why (module not built or not installed, libcuda.so.1 missing,
// no device, CUDA libraries missing, ...). Never exits.
mve_status mve_backend_open_cuda (struct mve_backend **out, int32_t device, char *reason,
                                  size_t n);
// Count CUDA devices (0 with a reason when none can be used) and describe
// up to max of them.
int32_t mve_backend_cuda_devices (struct mve_device_info *infos, int32_t max, char *reason,
                                  size_t n);
// Only dlopen the module at path and look up its entry symbol (no driver
// or device needed): checks that the module links. Reason on failure.
mve_status mve_backend_probe_module (const char *path, char *reason, size_t n);
void mve_backend_close (struct mve_backend *be); // accepts NULL

// The CPU side: OpenBLAS build configuration ("OpenBLAS 0.3.21 ...").
const char *mve_backend_cpu_blas (void);

#ifdef __cplusplus
}
#endif
