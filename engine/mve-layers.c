// SPDX-License-Identifier: GPL-3.0-or-later
// mve-layers.c: the layer kinds of the model as free functions (llm.c style):
// matmul, layernorm, GELU, multi-head attention, each with a forward and a
// backward that accumulates. Matrix products go through cblas_sgemm; the
// attention runs one (sequence, head) per work item on the engine's threads.
//
// Legend: N rows (or sequences), C channels, T query tokens, Tk key tokens,
// NH heads, hs head size.
// The elementwise loops (exp, GELU, softmax) need the full vectorizer and no
// FP-trap semantics to become SIMD code; neither changes any result.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize ("O3", "no-trapping-math")
#endif

// Declarations sit at first use (C11, as in llm.c) rather than at block
// starts, so the project's C90-style warning is switched off for this file.
#pragma GCC diagnostic ignored "-Wdeclaration-after-statement"
#include "mve-impl.h"

#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <string.h>

// --- threads ---------------------------------------------------------------------
struct par_job
{
  void (*fn) (void *arg, int64_t i);
  void *arg;
  int64_t n;
  int nthreads;
  int id;
};

static void *
par_worker (void *p)
{
  struct par_job *j = p;
  int64_t chunk = (j->n + j->nthreads - 1) / j->nthreads;
  int64_t lo = j->id * chunk, hi = lo + chunk < j->n ? lo + chunk : j->n;
  for (int64_t i = lo; i < hi; i++)
    j->fn (j->arg, i);
  return NULL;
}

void
mve_parallel_for (int threads, int64_t n, void (*fn) (void *arg, int64_t i), void *arg)
{
  enum { MAX_THREADS = 64 };
  if (threads > MAX_THREADS)
    threads = MAX_THREADS;
  if (threads > n)
    threads = (int) n;
  if (threads <= 1)
    {
      for (int64_t i = 0; i < n; i++)
        fn (arg, i);
      return;
    }
  pthread_t tid[MAX_THREADS];
  struct par_job jobs[MAX_THREADS];
  int started[MAX_THREADS];
  for (int t = 0; t < threads; t++)
    {
      jobs[t] = (struct par_job) { fn, arg, n, threads, t };
      started[t] = 0;
    }
  for (int t = 1; t < threads; t++)
    started[t] = pthread_create (&tid[t], NULL, par_worker, &jobs[t]) == 0;
  par_worker (&jobs[0]);
  for (int t = 1; t < threads; t++)
    {
      if (started[t])
        pthread_join (tid[t], NULL);
      else
        par_worker (&jobs[t]); // could not start a thread: do its share here
    }
}

// --- matmul ------------------------------------------------------------------------
void
mve_matmul_forward (float *out, const float *inp, const float *w, const float *b, int64_t N,
                    int IC, int OC)
{
  if (N <= 0)
    return;
  float beta = 0.0f;
  if (b != NULL)
    {
      for (int64_t n = 0; n < N; n++)
        memcpy (out + n * OC, b, sizeof (float) * OC);
      beta = 1.0f;
    }
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, (int) N, OC, IC, 1.0f, inp, IC, w, IC, beta,
               out, OC);
}

static void
matmul_backward (float *dinp, float dbeta, float *dw, float *db, const float *dout, const float *inp,
                 const float *w, int64_t N, int IC, int OC)
{
  if (N <= 0)
    return;
  if (dinp != NULL) // dinp (N, IC) = dbeta * dinp + dout (N, OC) @ w (OC, IC)
    cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, (int) N, IC, OC, 1.0f, dout, OC, w, IC,
                 dbeta, dinp, IC);
  // dw (OC, IC) += dout^T (OC, N) @ inp (N, IC)
  cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, OC, IC, (int) N, 1.0f, dout, OC, inp, IC,
               1.0f, dw, IC);
  if (db != NULL)
    for (int64_t n = 0; n < N; n++)
      {
        const float *d = dout + n * OC;
        for (int o = 0; o < OC; o++)
          db[o] += d[o];
      }
}

void
mve_matmul_backward (float *dinp, float *dw, float *db, const float *dout, const float *inp,
                     const float *w, int64_t N, int IC, int OC)
{
  matmul_backward (dinp, 1.0f, dw, db, dout, inp, w, N, IC, OC);
}

void
mve_matmul_backward_set (float *dinp, float *dw, float *db, const float *dout, const float *inp,
                         const float *w, int64_t N, int IC, int OC)
{
  matmul_backward (dinp, 0.0f, dw, db, dout, inp, w, N, IC, OC);
}

struct mm_job
{
  float *out;
  const float *inp, *w, *b;
  float *dinp, *dw, *db;
  const float *dout;
  float dbeta;
  int64_t N;
  int IC, OC, parts, backward;
};

static void
mm_part (void *arg, int64_t p)
{
  struct mm_job *j = arg;
  int64_t rc = (j->N + j->parts - 1) / j->parts;
  int64_t r0 = p * rc, r1 = r0 + rc < j->N ? r0 + rc : j->N;
  if (!j->backward)
    {
      if (r0 < r1)
        mve_matmul_forward (j->out + r0 * j->OC, j->inp + r0 * j->IC, j->w, j->b, r1 - r0, j->IC,
                            j->OC);
      return;
    }
  if (j->dinp != NULL && r0 < r1)
    cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, (int) (r1 - r0), j->IC, j->OC, 1.0f,
                 j->dout + r0 * j->OC, j->OC, j->w, j->IC, j->dbeta, j->dinp + r0 * j->IC, j->IC);
  int oc = (j->OC + j->parts - 1) / j->parts;
  int o0 = (int) p * oc, o1 = o0 + oc < j->OC ? o0 + oc : j->OC;
  if (o0 >= o1 || j->N <= 0)
    return;
  // dw[o0:o1] += dout[:, o0:o1]^T @ inp
  cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, o1 - o0, j->IC, (int) j->N, 1.0f,
               j->dout + o0, j->OC, j->inp, j->IC, 1.0f, j->dw + (int64_t) o0 * j->IC, j->IC);
  if (j->db != NULL)
    for (int64_t n = 0; n < j->N; n++)
      {
        const float *d = j->dout + n * j->OC;
        for (int o = o0; o < o1; o++)
          j->db[o] += d[o];
      }
}

static int
mm_parts (int threads, int64_t N, int IC, int OC)
{
  double work = (double) N * IC * OC;
  if (threads <= 1 || work < 2e5)
    return 1;
  return threads;
}

void
mve_matmul_forward_mt (int threads, float *out, const float *inp, const float *w, const float *b,
                       int64_t N, int IC, int OC)
{
  struct mm_job j = { .out = out, .inp = inp, .w = w, .b = b, .N = N, .IC = IC, .OC = OC };
  j.parts = mm_parts (threads, N, IC, OC);
  if (j.parts > N)
    j.parts = (int) N;
  if (j.parts <= 1)
    mve_matmul_forward (out, inp, w, b, N, IC, OC);
  else
    mve_parallel_for (j.parts, j.parts, mm_part, &j);
}

void
mve_matmul_backward_mt (int threads, float *dinp, int set_dinp, float *dw, float *db,
                        const float *dout, const float *inp, const float *w, int64_t N, int IC,
                        int OC)
{
  struct mm_job j = { .inp = inp, .w = w, .dinp = dinp, .dw = dw, .db = db, .dout = dout,
                      .dbeta = set_dinp ? 0.0f : 1.0f, .N = N, .IC = IC, .OC = OC, .backward = 1 };
  j.parts = mm_parts (threads, N, IC, OC);
  if (N <= 0)
    return;
  mve_parallel_for (j.parts, j.parts, mm_part, &j);
}

// --- layernorm -----------------------------------------------------------------------
void
mve_layernorm_forward (float *out, float *mean, float *rstd, const float *inp, const float *w,
                       const float *b, int64_t N, int C)
{
  const float eps = 1e-5f;
  for (int64_t n = 0; n < N; n++)
    {
      const float *x = inp + n * C;
      float m = 0.0f;
      for (int i = 0; i < C; i++)
        m += x[i];
      m /= C;
      float v = 0.0f;
      for (int i = 0; i < C; i++)
        {
          float d = x[i] - m;
          v += d * d;
        }
      v /= C;
      float s = 1.0f / sqrtf (v + eps);
      float *o = out + n * C;
      for (int i = 0; i < C; i++)
        o[i] = (x[i] - m) * s * w[i] + b[i];
      mean[n] = m;
      rstd[n] = s;
    }
}

void
mve_layernorm_backward (float *dinp, float *dw, float *db, const float *dout, const float *inp,
                        const float *w, const float *mean, const float *rstd, int64_t N, int C)
{
  for (int64_t n = 0; n < N; n++)
    {
      const float *d = dout + n * C, *x = inp + n * C;
      float *dx = dinp + n * C;
      float m = mean[n], s = rstd[n];
      float dnorm_mean = 0.0f, dnorm_norm_mean = 0.0f;
      for (int i = 0; i < C; i++)
        {
          float norm = (x[i] - m) * s;
          float dnorm = w[i] * d[i];
          dnorm_mean += dnorm;
          dnorm_norm_mean += dnorm * norm;
        }
      dnorm_mean /= C;
      dnorm_norm_mean /= C;
      for (int i = 0; i < C; i++)
        {
          float norm = (x[i] - m) * s;
          float dnorm = w[i] * d[i];
          db[i] += d[i];
          dw[i] += norm * d[i];
          dx[i] += (dnorm - dnorm_mean - norm * dnorm_norm_mean) * s;
        }
    }
}

// --- vectorized elementwise ------------------------------------------------------------
// Compiled for AVX2+FMA and for the baseline; the loader picks one at run time.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define MVE_VECTOR __attribute__ ((target_clones ("avx2", "default")))
#else
#define MVE_VECTOR
#endif

MVE_VECTOR float
mve_max_row (const float *in, int64_t n)
{
  float m[8] = { -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY };
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; j++)
      m[j] = in[i + j] > m[j] ? in[i + j] : m[j];
  for (; i < n; i++)
    m[0] = in[i] > m[0] ? in[i] : m[0];
  float r = m[0];
  for (int j = 1; j < 8; j++)
    r = m[j] > r ? m[j] : r;
  return r;
}

MVE_VECTOR float
mve_exp_row (float *out, const float *in, int64_t n, float sub, float scale)
{
  float acc[8] = { 0 };
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; j++)
      {
        float e = mve_expf (in[i + j] - sub);
        acc[j] += e;
        if (out)
          out[i + j] = e * scale;
      }
  for (; i < n; i++)
    {
      float e = mve_expf (in[i] - sub);
      acc[0] += e;
      if (out)
        out[i] = e * scale;
    }
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

// --- GELU (tanh) ------------------------------------------------------------------------
// 0.5 x (1 + tanh(u)) = x * sigmoid(2u), u = sqrt(2/pi) (x + 0.044715 x^3):
// the same function as torch.nn.GELU(approximate='tanh'), without cancellation.
#define GELU_K 0.7978845608028654f // sqrt(2 / pi)

MVE_VECTOR void
mve_gelu_forward (float *restrict out, const float *restrict inp, int64_t n)
{
  for (int64_t i = 0; i < n; i++)
    {
      float x = inp[i];
      float u = GELU_K * (x + 0.044715f * x * x * x);
      out[i] = x / (1.0f + mve_expf (-2.0f * u));
    }
}

MVE_VECTOR void
mve_gelu_backward (float *dinp, const float *inp, const float *dout, int64_t n)
{
  for (int64_t i = 0; i < n; i++)
    {
      float x = inp[i];
      float u = GELU_K * (x + 0.044715f * x * x * x);
      float s = 1.0f / (1.0f + mve_expf (-2.0f * u)); // 0.5 (1 + tanh u)
      float g = s + x * 2.0f * s * (1.0f - s) * GELU_K * (1.0f + 3.0f * 0.044715f * x * x);
      dinp[i] += g * dout[i];
    }
}

// --- attention ----------------------------------------------------------------------------
struct attn_job
{
  float *out, *att;
  const float *q, *k, *v;
  const struct mve_attn_desc *d;
  // backward
  float *dq, *dk, *dv;
  int64_t dkv_seq;
  int lddkv;
  const float *dout;
  float *scratch;
  int64_t per_thread;
};

static inline int
attn_valid (const struct mve_attn_desc *d, int n, int t)
{
  int kl = d->klen ? d->klen[n] : d->Tk;
  if (kl > d->Tk)
    kl = d->Tk;
  if (d->causal && t + 1 < kl)
    kl = t + 1;
  return kl;
}

static void
attn_forward_one (void *arg, int64_t i)
{
  struct attn_job *j = arg;
  const struct mve_attn_desc *d = j->d;
  int n = (int) (i / d->NH), h = (int) (i % d->NH);
  int T = d->T, Tk = d->Tk, hs = d->hs, C = d->NH * d->hs;
  int s = d->kv_index ? d->kv_index[n] : n;
  const float *q = j->q + n * d->q_seq + h * hs;
  const float *k = j->k + s * d->kv_seq + h * hs;
  const float *v = j->v + s * d->kv_seq + h * hs;
  float *att = j->att + ((int64_t) n * d->NH + h) * T * Tk;
  float *out = j->out + (int64_t) n * T * C + h * hs;
  float scale = 1.0f / sqrtf ((float) hs);
  // scores (T, Tk) = scale * q (T, hs) @ k^T (hs, Tk)
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, T, Tk, hs, scale, q, d->ldq, k, d->ldkv,
               0.0f, att, Tk);
  for (int t = 0; t < T; t++)
    {
      float *row = att + (int64_t) t * Tk;
      int kl = attn_valid (d, n, t);
      float mx = mve_max_row (row, kl);
      float sum = mve_exp_row (row, row, kl, mx, 1.0f);
      float inv = 1.0f / sum;
      for (int u = 0; u < kl; u++)
        row[u] *= inv;
      for (int u = kl; u < Tk; u++)
        row[u] = 0.0f;
    }
  // out (T, hs) = att (T, Tk) @ v (Tk, hs)
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, T, hs, Tk, 1.0f, att, Tk, v, d->ldkv,
               0.0f, out, C);
}

void
mve_attention_forward (float *out, float *att, const float *q, const float *k, const float *v,
                       const struct mve_attn_desc *d, int threads)
{
  struct attn_job j = { .out = out, .att = att, .q = q, .k = k, .v = v, .d = d };
  mve_parallel_for (threads, (int64_t) d->N * d->NH, attn_forward_one, &j);
}

// One thread handles whole sequences (all heads) so that dk/dv of a sequence
// are written by one thread only.
static void
attn_backward_seq (void *arg, int64_t n64)
{
  struct attn_job *j = arg;
  const struct mve_attn_desc *d = j->d;
  int n = (int) n64;
  int T = d->T, Tk = d->Tk, hs = d->hs, C = d->NH * d->hs;
  int s = d->kv_index ? d->kv_index[n] : n;
  float scale = 1.0f / sqrtf ((float) hs);
  // per-thread scratch: the caller's thread slot is not known here, so every
  // sequence uses its own slice of a buffer sized (threads, T, Tk) by taking
  // n modulo the thread count is unsafe; instead sequences are split into
  // contiguous chunks per thread and the chunk index picks the slice.
  int64_t chunk = j->per_thread;
  float *dp = j->scratch + (n64 / chunk) * (int64_t) T * Tk;
  for (int h = 0; h < d->NH; h++)
    {
      const float *q = j->q + n * d->q_seq + h * hs;
      const float *k = j->k + s * d->kv_seq + h * hs;
      const float *v = j->v + s * d->kv_seq + h * hs;
      float *dq = j->dq + n * d->q_seq + h * hs;
      float *dk = j->dk + n * j->dkv_seq + h * hs;
      float *dv = j->dv + n * j->dkv_seq + h * hs;
      const float *att = j->att + ((int64_t) n * d->NH + h) * T * Tk;
      const float *dout = j->dout + (int64_t) n * T * C + h * hs;
      // dv (Tk, hs) += att^T (Tk, T) @ dout (T, hs)
      cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, Tk, hs, T, 1.0f, att, Tk, dout, C, 1.0f,
                   dv, j->lddkv);
      // dp (T, Tk) = dout (T, hs) @ v^T (hs, Tk)
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, T, Tk, hs, 1.0f, dout, C, v, d->ldkv,
                   0.0f, dp, Tk);
      for (int t = 0; t < T; t++)
        {
          float *row = dp + (int64_t) t * Tk;
          const float *a = att + (int64_t) t * Tk;
          int kl = attn_valid (d, n, t);
          float dot = 0.0f;
          for (int u = 0; u < kl; u++)
            dot += a[u] * row[u];
          for (int u = 0; u < kl; u++)
            row[u] = a[u] * (row[u] - dot) * scale;
          for (int u = kl; u < Tk; u++)
            row[u] = 0.0f;
        }
      // dq (T, hs) += ds (T, Tk) @ k (Tk, hs);  dk (Tk, hs) += ds^T (Tk, T) @ q (T, hs)
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, T, hs, Tk, 1.0f, dp, Tk, k, d->ldkv,
                   1.0f, dq, d->ldq);
      cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, Tk, hs, T, 1.0f, dp, Tk, q, d->ldq, 1.0f,
                   dk, j->lddkv);
    }
}

void
mve_attention_backward (float *dq, float *dk, float *dv, int64_t dkv_seq, int lddkv,
                        const float *dout, const float *att, const float *q, const float *k,
                        const float *v, const struct mve_attn_desc *d, float *scratch, int threads)
{
  if (threads < 1)
    threads = 1;
  if (threads > d->N)
    threads = d->N > 0 ? d->N : 1;
  struct attn_job j = { .att = (float *) att, .q = q, .k = k, .v = v, .d = d, .dq = dq, .dk = dk,
                        .dv = dv, .dkv_seq = dkv_seq, .lddkv = lddkv, .dout = dout,
                        .scratch = scratch };
  j.per_thread = (d->N + threads - 1) / threads;
  if (j.per_thread < 1)
    j.per_thread = 1;
  mve_parallel_for (threads, d->N, attn_backward_seq, &j);
}
