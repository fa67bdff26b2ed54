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
#pragma GCC optimize ("O3", "no-trapping-math", "fp-contract=fast")
#endif

// Declarations sit at first use (C11, as in llm.c) rather than at block
// starts, so the project's C90-style warning is switched off for this file.
#pragma GCC diagnostic ignored "-Wdeclaration-after-statement"
#include "mve-impl.h"

#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
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

// A pool of worker threads, started on first use and kept for the process:
// one parallel_for costs a wake-up instead of a pthread_create per thread.
// Workers and the caller spin briefly before sleeping, since the engine's
// calls come in quick succession. One caller uses the pool at a time; a
// second, concurrent caller (another model in another thread, or a nested
// call) runs on threads of its own as before. Work is split the same way
// either way, so results do not depend on which path ran.
enum { MAX_THREADS = 64, SPIN_ROUNDS = 4000 };

static struct
{
  pthread_mutex_t dispatch; // held by the caller using the pool
  pthread_mutex_t mu;
  pthread_cond_t work_cv, done_cv;
  int nworkers;             // started workers, ids 1..nworkers
  // (job number << 8) | workers taking part (ids below it): one word, so a
  // worker never pairs one job's number with another job's thread count
  atomic_uint state;
  atomic_int pending;       // workers still running the current job
  struct par_job jobs[MAX_THREADS];
  unsigned start_state[MAX_THREADS]; // state when worker id was created
} pool = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
           PTHREAD_COND_INITIALIZER, 0, 0, 0, { { 0 } }, { 0 } };

static inline void
cpu_relax (void)
{
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause ();
#endif
}

static void *
pool_worker (void *p)
{
  int id = (int) (intptr_t) p;
  // the state it was created under: a job published before this thread
  // first runs is still seen as new
  unsigned seen = pool.start_state[id];
  for (;;)
    {
      unsigned g;
      int spins = 0;
      while ((g = atomic_load_explicit (&pool.state, memory_order_acquire)) == seen)
        {
          if (++spins < SPIN_ROUNDS)
            {
              cpu_relax ();
              continue;
            }
          pthread_mutex_lock (&pool.mu);
          while ((g = atomic_load_explicit (&pool.state, memory_order_acquire)) == seen)
            pthread_cond_wait (&pool.work_cv, &pool.mu);
          pthread_mutex_unlock (&pool.mu);
          break;
        }
      seen = g;
      if (id < (int) (g & 0xffu))
        {
          par_worker (&pool.jobs[id]);
          if (atomic_fetch_sub_explicit (&pool.pending, 1, memory_order_acq_rel) == 1)
            {
              pthread_mutex_lock (&pool.mu);
              pthread_cond_signal (&pool.done_cv);
              pthread_mutex_unlock (&pool.mu);
            }
        }
    }
  return NULL;
}

// With pool.dispatch held: make sure workers 1..threads-1 exist.
static int
pool_grow (int threads)
{
  while (pool.nworkers < threads - 1)
    {
      pthread_t t;
      pthread_attr_t attr;
      pool.start_state[pool.nworkers + 1] = atomic_load_explicit (&pool.state, memory_order_relaxed);
      pthread_attr_init (&attr);
      pthread_attr_setdetachstate (&attr, PTHREAD_CREATE_DETACHED);
      int ok = pthread_create (&t, &attr, pool_worker, (void *) (intptr_t) (pool.nworkers + 1)) == 0;
      pthread_attr_destroy (&attr);
      if (!ok)
        return 0;
      pool.nworkers++;
    }
  return 1;
}

static void
parallel_for_spawn (int threads, struct par_job *jobs)
{
  pthread_t tid[MAX_THREADS];
  int started[MAX_THREADS];
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

void
mve_parallel_for (int threads, int64_t n, void (*fn) (void *arg, int64_t i), void *arg)
{
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
  int own = pthread_mutex_trylock (&pool.dispatch) == 0;
  if (own && !pool_grow (threads))
    {
      pthread_mutex_unlock (&pool.dispatch);
      own = 0;
    }
  if (!own)
    {
      struct par_job jobs[MAX_THREADS];
      for (int t = 0; t < threads; t++)
        jobs[t] = (struct par_job) { fn, arg, n, threads, t };
      parallel_for_spawn (threads, jobs);
      return;
    }
  for (int t = 0; t < threads; t++)
    pool.jobs[t] = (struct par_job) { fn, arg, n, threads, t };
  atomic_store_explicit (&pool.pending, threads - 1, memory_order_relaxed);
  pthread_mutex_lock (&pool.mu);
  unsigned next = ((atomic_load_explicit (&pool.state, memory_order_relaxed) >> 8) + 1) << 8;
  atomic_store_explicit (&pool.state, next | (unsigned) threads, memory_order_release);
  pthread_cond_broadcast (&pool.work_cv);
  pthread_mutex_unlock (&pool.mu);
  par_worker (&pool.jobs[0]);
  int spins = 0;
  while (atomic_load_explicit (&pool.pending, memory_order_acquire) > 0 && ++spins < SPIN_ROUNDS)
    cpu_relax ();
  if (atomic_load_explicit (&pool.pending, memory_order_acquire) > 0)
    {
      pthread_mutex_lock (&pool.mu);
      while (atomic_load_explicit (&pool.pending, memory_order_acquire) > 0)
        pthread_cond_wait (&pool.done_cv, &pool.mu);
      pthread_mutex_unlock (&pool.mu);
    }
  pthread_mutex_unlock (&pool.dispatch);
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
  const float *inp, *w, *b, *res;
  float *dinp, *dw, *db;
  const float *dout;
  float dbeta;
  int64_t N;
  int IC, OC, parts, backward;
  float *partial; // backward with parts > 1: (parts, OC*IC + OC) dw, db of each part's rows
  int row_split;  // backward: dw, db split by rows (else by output columns)
};

static void
mm_part (void *arg, int64_t p)
{
  struct mm_job *j = arg;
  int64_t rc = (j->N + j->parts - 1) / j->parts;
  int64_t r0 = p * rc, r1 = r0 + rc < j->N ? r0 + rc : j->N;
  if (!j->backward)
    {
      // blocks of rows small enough that the bias/residual rows written
      // first are still in cache when the product adds to them
      enum { BLOCK = 128 };
      for (int64_t b0 = r0; b0 < r1; b0 += BLOCK)
        {
          int64_t nb = r1 - b0 < BLOCK ? r1 - b0 : BLOCK;
          float *out = j->out + b0 * j->OC;
          float beta = 1.0f;
          if (j->res != NULL)
            {
              const float *res = j->res + b0 * j->OC;
              for (int64_t n = 0; n < nb; n++)
                if (j->b != NULL)
                  for (int o = 0; o < j->OC; o++)
                    out[n * j->OC + o] = res[n * j->OC + o] + j->b[o];
                else
                  memcpy (out + n * j->OC, res + n * j->OC, sizeof (float) * j->OC);
            }
          else if (j->b != NULL)
            for (int64_t n = 0; n < nb; n++)
              memcpy (out + n * j->OC, j->b, sizeof (float) * j->OC);
          else
            beta = 0.0f;
          if (nb <= 4) // generation's few rows: sgemm would copy all of w per call
            for (int64_t n = 0; n < nb; n++)
              cblas_sgemv (CblasRowMajor, CblasNoTrans, j->OC, j->IC, 1.0f, j->w, j->IC,
                           j->inp + (b0 + n) * j->IC, 1, beta, out + n * j->OC, 1);
          else
            cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, (int) nb, j->OC, j->IC, 1.0f,
                         j->inp + b0 * j->IC, j->IC, j->w, j->IC, beta, out, j->OC);
        }
      return;
    }
  // dinp by blocks of rows, as the forward: with beta 0 OpenBLAS first
  // clears its output, which then stays in cache for the product
  if (j->dinp != NULL)
    for (int64_t b0 = r0; b0 < r1; b0 += 128)
      {
        int64_t nb = r1 - b0 < 128 ? r1 - b0 : 128;
        cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, (int) nb, j->IC, j->OC, 1.0f,
                     j->dout + b0 * j->OC, j->OC, j->w, j->IC, j->dbeta, j->dinp + b0 * j->IC,
                     j->IC);
      }
  // dw += dout[r0:r1]^T @ inp[r0:r1]: each part over its own rows (so each
  // packs only its share of inp and dout), into its own partial sums when
  // there are several parts; the caller adds them in part order
  if (!j->row_split)
    {
      // few rows, many outputs (the LM head over a chunk): by output columns
      int oc = (j->OC + j->parts - 1) / j->parts;
      int o0 = (int) p * oc, o1 = o0 + oc < j->OC ? o0 + oc : j->OC;
      if (o0 >= o1)
        return;
      cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, o1 - o0, j->IC, (int) j->N, 1.0f,
                   j->dout + o0, j->OC, j->inp, j->IC, 1.0f, j->dw + (int64_t) o0 * j->IC, j->IC);
      if (j->db != NULL)
        for (int64_t n = 0; n < j->N; n++)
          {
            const float *d = j->dout + n * j->OC;
            for (int o = o0; o < o1; o++)
              j->db[o] += d[o];
          }
      return;
    }
  float *dw = j->dw, *db = j->db, beta = 1.0f;
  if (j->partial != NULL)
    {
      dw = j->partial + p * ((int64_t) j->OC * j->IC + j->OC);
      db = dw + (int64_t) j->OC * j->IC;
      beta = 0.0f;
      memset (db, 0, sizeof (float) * j->OC);
      if (r0 >= r1)
        memset (dw, 0, sizeof (float) * j->OC * j->IC);
    }
  if (r0 >= r1)
    return;
  cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, j->OC, j->IC, (int) (r1 - r0), 1.0f,
               j->dout + r0 * j->OC, j->OC, j->inp + r0 * j->IC, j->IC, beta, dw, j->IC);
  if (j->db != NULL)
    for (int64_t n = r0; n < r1; n++)
      {
        const float *d = j->dout + n * j->OC;
        for (int o = 0; o < j->OC; o++)
          db[o] += d[o];
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
mve_matmul_forward_res_mt (int threads, float *out, const float *inp, const float *w,
                           const float *b, const float *res, int64_t N, int IC, int OC)
{
  if (N <= 0)
    return;
  struct mm_job j = { .out = out, .inp = inp, .w = w, .b = b, .res = res, .N = N, .IC = IC,
                      .OC = OC };
  j.parts = mm_parts (threads, N, IC, OC);
  if (j.parts > N)
    j.parts = (int) N;
  mve_parallel_for (j.parts, j.parts, mm_part, &j);
}

void
mve_matmul_forward_mt (int threads, float *out, const float *inp, const float *w, const float *b,
                       int64_t N, int IC, int OC)
{
  mve_matmul_forward_res_mt (threads, out, inp, w, b, NULL, N, IC, OC);
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
  if (j.parts > N)
    j.parts = (int) N;
  size_t per = (size_t) OC * IC + OC;
  // many rows per output (the stacks' weights): split the rows, each part
  // summing into partials; few (the LM head's chunks): split the outputs
  j.row_split = N >= 4 * (int64_t) OC;
  if (j.parts > 1 && j.row_split)
    {
      j.partial = malloc (sizeof (float) * per * j.parts);
      if (j.partial == NULL)
        j.row_split = 0;
    }
  mve_parallel_for (j.parts, j.parts, mm_part, &j);
  if (j.partial != NULL)
    {
      for (int p = 0; p < j.parts; p++)
        {
          const float *pw = j.partial + p * per, *pb = pw + (size_t) OC * IC;
          for (size_t i = 0; i < (size_t) OC * IC; i++)
            dw[i] += pw[i];
          if (db != NULL)
            for (int o = 0; o < OC; o++)
              db[o] += pb[o];
        }
      free (j.partial);
    }
}

// --- vectorized elementwise ------------------------------------------------------------
// Compiled for AVX2+FMA and for the baseline; the loader picks one at run time.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define MVE_VECTOR __attribute__ ((target_clones ("arch=x86-64-v4", "avx2", "default")))
#else
#define MVE_VECTOR
#endif

// --- layernorm -----------------------------------------------------------------------
// Sums run in 16 fixed lanes, then a fixed tree: the vectorizer keeps them in
// registers, and the result is the same whichever clone runs.
MVE_VECTOR void
mve_layernorm_forward (float *restrict out, float *restrict mean, float *restrict rstd,
                       const float *restrict inp, const float *restrict w, const float *restrict b,
                       int64_t N, int C)
{
  const float eps = 1e-5f;
  float acc[16];
  for (int64_t n = 0; n < N; n++)
    {
      const float *x = inp + n * C;
      float m = 0.0f, v = 0.0f;
      {
        for (int j = 0; j < 16; j++)
          acc[j] = 0.0f;
        int i = 0;
        for (; i + 16 <= C; i += 16)
          for (int j = 0; j < 16; j++)
            acc[j] += x[i + j];
        for (; i < C; i++)
          acc[0] += x[i];
        for (int k = 8; k > 0; k /= 2)
          for (int j = 0; j < k; j++)
            acc[j] += acc[j + k];
        m = acc[0] / C;
      }
      {
        for (int j = 0; j < 16; j++)
          acc[j] = 0.0f;
        int i = 0;
        for (; i + 16 <= C; i += 16)
          for (int j = 0; j < 16; j++)
            {
              float d = x[i + j] - m;
              acc[j] += d * d;
            }
        for (; i < C; i++)
          {
            float d = x[i] - m;
            acc[0] += d * d;
          }
        for (int k = 8; k > 0; k /= 2)
          for (int j = 0; j < k; j++)
            acc[j] += acc[j + k];
        v = acc[0] / C;
      }
      float s = 1.0f / sqrtf (v + eps);
      float *o = out + n * C;
      for (int i = 0; i < C; i++)
        o[i] = (x[i] - m) * s * w[i] + b[i];
      mean[n] = m;
      rstd[n] = s;
    }
}

MVE_VECTOR void
mve_layernorm_backward (float *restrict dinp, float *restrict dw, float *restrict db,
                        const float *restrict dout, const float *restrict inp,
                        const float *restrict w, const float *restrict mean,
                        const float *restrict rstd, int64_t N, int C)
{
  float a1[16], a2[16];
  for (int64_t n = 0; n < N; n++)
    {
      const float *d = dout + n * C, *x = inp + n * C;
      float *dx = dinp + n * C;
      float m = mean[n], s = rstd[n];
      for (int j = 0; j < 16; j++)
        a1[j] = a2[j] = 0.0f;
      int i = 0;
      for (; i + 16 <= C; i += 16)
        for (int j = 0; j < 16; j++)
          {
            float norm = (x[i + j] - m) * s;
            float dnorm = w[i + j] * d[i + j];
            a1[j] += dnorm;
            a2[j] += dnorm * norm;
          }
      for (; i < C; i++)
        {
          float norm = (x[i] - m) * s;
          float dnorm = w[i] * d[i];
          a1[0] += dnorm;
          a2[0] += dnorm * norm;
        }
      for (int k = 8; k > 0; k /= 2)
        for (int j = 0; j < k; j++)
          {
            a1[j] += a1[j + k];
            a2[j] += a2[j + k];
          }
      float dnorm_mean = a1[0] / C, dnorm_norm_mean = a2[0] / C;
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

// 16 lanes, then a fixed tree (as lane sums in layernorm); the two loops keep
// the store out of the loop that only sums.
MVE_VECTOR float
mve_exp_row (float *out, const float *in, int64_t n, float sub, float scale)
{
  float acc[16] = { 0 };
  int64_t i = 0;
  if (out != NULL)
    for (; i + 16 <= n; i += 16)
      for (int j = 0; j < 16; j++)
        {
          float e = mve_expf (in[i + j] - sub);
          acc[j] += e;
          out[i + j] = e * scale;
        }
  else
    for (; i + 16 <= n; i += 16)
      for (int j = 0; j < 16; j++)
        acc[j] += mve_expf (in[i + j] - sub);
  for (; i < n; i++)
    {
      float e = mve_expf (in[i] - sub);
      acc[0] += e;
      if (out)
        out[i] = e * scale;
    }
  for (int k = 8; k > 0; k /= 2)
    for (int j = 0; j < k; j++)
      acc[j] += acc[j + k];
  return acc[0];
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
mve_gelu_backward_set (float *restrict dinp, const float *restrict inp,
                       const float *restrict dout, int64_t n)
{
  for (int64_t i = 0; i < n; i++)
    {
      float x = inp[i];
      float u = GELU_K * (x + 0.044715f * x * x * x);
      float s = 1.0f / (1.0f + mve_expf (-2.0f * u)); // 0.5 (1 + tanh u)
      float g = s + x * 2.0f * s * (1.0f - s) * GELU_K * (1.0f + 3.0f * 0.044715f * x * x);
      dinp[i] = g * dout[i];
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
  int set; // backward: zero the sequence's dq, dk, dv rows first
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

// Rows of sequence n (queries) and its key count; pointers of its first row.
struct attn_seq
{
  int T, Tk;              // query rows, key rows used
  int64_t row0, kv_row0;  // first row of q/out, of k/v (kv_index: memory index rows)
};

static inline struct attn_seq
attn_seq (const struct mve_attn_desc *d, int n)
{
  struct attn_seq q;
  if (d->off == NULL)
    {
      q.T = d->T;
      q.Tk = d->Tk;
      q.row0 = (int64_t) n * d->T;
    }
  else
    {
      q.T = d->off[n + 1] - d->off[n];
      q.row0 = d->off[n];
      q.Tk = d->Tk;
      if (d->kv_index == NULL && q.T < q.Tk)
        q.Tk = q.T; // self-attention: the sequence's own rows are its keys
    }
  return q;
}

static void
attn_forward_one (void *arg, int64_t i)
{
  struct attn_job *j = arg;
  const struct mve_attn_desc *d = j->d;
  int n = (int) (i / d->NH), h = (int) (i % d->NH);
  int Tk = d->Tk, hs = d->hs, C = d->NH * d->hs;
  struct attn_seq sq = attn_seq (d, n);
  int T = sq.T, Tkn = sq.Tk;
  if (T <= 0 || Tkn <= 0)
    return;
  int s = d->kv_index ? d->kv_index[n] : n;
  const float *q, *k, *v;
  if (d->off == NULL)
    {
      q = j->q + n * d->q_seq + h * hs;
      k = j->k + s * d->kv_seq + h * hs;
      v = j->v + s * d->kv_seq + h * hs;
    }
  else
    {
      q = j->q + sq.row0 * d->ldq + h * hs;
      int64_t kv0 = d->kv_index ? s * d->kv_seq : sq.row0 * d->ldkv;
      k = j->k + kv0 + h * hs;
      v = j->v + kv0 + h * hs;
    }
  float *att = j->att + ((int64_t) n * d->NH + h) * d->T * Tk;
  float *out = j->out + sq.row0 * C + h * hs;
  float scale = 1.0f / sqrtf ((float) hs);
  // scores (T, Tkn) = scale * q (T, hs) @ k^T (hs, Tkn), row stride Tk
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, T, Tkn, hs, scale, q, d->ldq, k, d->ldkv,
               0.0f, att, Tk);
  for (int t = 0; t < T; t++)
    {
      float *row = att + (int64_t) t * Tk;
      int kl = attn_valid (d, n, t);
      if (kl > Tkn)
        kl = Tkn;
      float mx = mve_max_row (row, kl);
      float sum = mve_exp_row (row, row, kl, mx, 1.0f);
      float inv = 1.0f / sum;
      for (int u = 0; u < kl; u++)
        row[u] *= inv;
      for (int u = kl; u < Tkn; u++)
        row[u] = 0.0f;
    }
  // out (T, hs) = att (T, Tkn) @ v (Tkn, hs)
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, T, hs, Tkn, 1.0f, att, Tk, v, d->ldkv,
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
  int Tk = d->Tk, hs = d->hs, C = d->NH * d->hs;
  struct attn_seq sq = attn_seq (d, n);
  int T = sq.T, Tkn = sq.Tk;
  int s = d->kv_index ? d->kv_index[n] : n;
  float scale = 1.0f / sqrtf ((float) hs);
  // per-thread scratch: sequences are split into contiguous chunks per
  // thread (see mve_attention_backward) and the chunk index picks the slice.
  int64_t chunk = j->per_thread;
  float *dp = j->scratch + (n64 / chunk) * (int64_t) d->T * Tk;
  int64_t q0, kv0, dkv0;
  if (d->off == NULL)
    {
      q0 = n * d->q_seq;
      kv0 = s * d->kv_seq;
      dkv0 = n * j->dkv_seq;
    }
  else
    {
      q0 = sq.row0 * d->ldq;
      kv0 = d->kv_index ? s * d->kv_seq : sq.row0 * d->ldkv;
      dkv0 = d->kv_index ? n * j->dkv_seq : sq.row0 * j->lddkv;
    }
  if (j->set) // the rows below belong to this sequence alone
    {
      for (int t = 0; t < T; t++)
        memset (j->dq + q0 + (int64_t) t * d->ldq, 0, sizeof (float) * C);
      for (int u = 0; u < Tkn; u++)
        {
          memset (j->dk + dkv0 + (int64_t) u * j->lddkv, 0, sizeof (float) * C);
          memset (j->dv + dkv0 + (int64_t) u * j->lddkv, 0, sizeof (float) * C);
        }
    }
  if (T <= 0 || Tkn <= 0)
    return;
  for (int h = 0; h < d->NH; h++)
    {
      const float *q = j->q + q0 + h * hs;
      const float *k = j->k + kv0 + h * hs;
      const float *v = j->v + kv0 + h * hs;
      float *dq = j->dq + q0 + h * hs;
      float *dk = j->dk + dkv0 + h * hs;
      float *dv = j->dv + dkv0 + h * hs;
      const float *att = j->att + ((int64_t) n * d->NH + h) * d->T * Tk;
      const float *dout = j->dout + sq.row0 * C + h * hs;
      // dv (Tkn, hs) += att^T (Tkn, T) @ dout (T, hs)
      cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, Tkn, hs, T, 1.0f, att, Tk, dout, C, 1.0f,
                   dv, j->lddkv);
      // dp (T, Tkn) = dout (T, hs) @ v^T (hs, Tkn)
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, T, Tkn, hs, 1.0f, dout, C, v, d->ldkv,
                   0.0f, dp, Tk);
      for (int t = 0; t < T; t++)
        {
          float *row = dp + (int64_t) t * Tk;
          const float *a = att + (int64_t) t * Tk;
          int kl = attn_valid (d, n, t);
          if (kl > Tkn)
            kl = Tkn;
          float dot = 0.0f;
          for (int u = 0; u < kl; u++)
            dot += a[u] * row[u];
          for (int u = 0; u < kl; u++)
            row[u] = a[u] * (row[u] - dot) * scale;
          for (int u = kl; u < Tkn; u++)
            row[u] = 0.0f;
        }
      // dq (T, hs) += ds (T, Tkn) @ k (Tkn, hs);  dk (Tkn, hs) += ds^T (Tkn, T) @ q (T, hs)
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, T, hs, Tkn, 1.0f, dp, Tk, k, d->ldkv,
                   1.0f, dq, d->ldq);
      cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, Tkn, hs, T, 1.0f, dp, Tk, q, d->ldq, 1.0f,
                   dk, j->lddkv);
    }
}

static void
attention_backward (float *dq, float *dk, float *dv, int64_t dkv_seq, int lddkv, const float *dout,
                    const float *att, const float *q, const float *k, const float *v,
                    const struct mve_attn_desc *d, float *scratch, int threads, int set)
{
  if (threads < 1)
    threads = 1;
  if (threads > d->N)
    threads = d->N > 0 ? d->N : 1;
  struct attn_job j = { .att = (float *) att, .q = q, .k = k, .v = v, .d = d, .dq = dq, .dk = dk,
                        .dv = dv, .dkv_seq = dkv_seq, .lddkv = lddkv, .dout = dout,
                        .scratch = scratch, .set = set };
  j.per_thread = (d->N + threads - 1) / threads;
  if (j.per_thread < 1)
    j.per_thread = 1;
  mve_parallel_for (threads, d->N, attn_backward_seq, &j);
}

void
mve_attention_backward (float *dq, float *dk, float *dv, int64_t dkv_seq, int lddkv,
                        const float *dout, const float *att, const float *q, const float *k,
                        const float *v, const struct mve_attn_desc *d, float *scratch, int threads)
{
  attention_backward (dq, dk, dv, dkv_seq, lddkv, dout, att, q, k, v, d, scratch, threads, 0);
}

void
mve_attention_backward_set (float *dq, float *dk, float *dv, int64_t dkv_seq, int lddkv,
                            const float *dout, const float *att, const float *q, const float *k,
                            const float *v, const struct mve_attn_desc *d, float *scratch,
                            int threads)
{
  attention_backward (dq, dk, dv, dkv_seq, lddkv, dout, att, q, k, v, d, scratch, threads, 1);
}
