// SPDX-License-Identifier: GPL-3.0-or-later
// test-pool.c: the engine's worker pool (mve_parallel_for in mve-layers.c).
// Every index runs exactly once per call, for many calls in a row with
// changing thread counts (a worker started late still takes part in the job
// published before it first ran); two callers at once (the second runs on
// threads of its own); a call from inside a job (nested). A lost wake-up or
// a job run twice shows as a hang (the test's timeout) or a wrong count.
#pragma GCC diagnostic ignored "-Wdeclaration-after-statement"
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mve-impl.h"

#define N 97

struct job
{
  atomic_int hits[N];
  int nested_threads;
};

static void
count (void *arg, int64_t i)
{
  struct job *j = arg;
  atomic_fetch_add (&j->hits[i], 1);
}

static void
count_nested (void *arg, int64_t i)
{
  struct job *j = arg;
  atomic_fetch_add (&j->hits[i], 1);
  if (i == 0)
    {
      struct job inner;
      memset (&inner, 0, sizeof inner);
      mve_parallel_for (j->nested_threads, N, count, &inner);
      for (int k = 0; k < N; k++)
        if (atomic_load (&inner.hits[k]) != 1)
          {
            fprintf (stderr, "FAIL nested call: index %d ran %d times\n", k,
                     atomic_load (&inner.hits[k]));
            exit (1);
          }
    }
}

static int
run_many (int calls, unsigned seed)
{
  for (int c = 0; c < calls; c++)
    {
      struct job j;
      memset (&j, 0, sizeof j);
      seed = seed * 1103515245u + 12345u;
      int threads = 1 + (int) ((seed >> 16) % 5); // 1..5
      int64_t n = 1 + (int64_t) ((seed >> 8) % N);
      mve_parallel_for (threads, n, count, &j);
      for (int64_t k = 0; k < N; k++)
        {
          int want = k < n ? 1 : 0;
          if (atomic_load (&j.hits[k]) != want)
            {
              fprintf (stderr, "FAIL call %d (%d threads, n %lld): index %lld ran %d times\n", c,
                       threads, (long long) n, (long long) k, atomic_load (&j.hits[k]));
              return 1;
            }
        }
    }
  return 0;
}

static void *
caller (void *p)
{
  return (void *) (intptr_t) run_many (3000, (unsigned) (uintptr_t) p);
}

int
main (void)
{
  int fails = run_many (20000, 1u);
  printf ("one caller, 20000 calls with 1-5 threads: %s\n", fails ? "FAIL" : "ok");

  pthread_t a, b;
  pthread_create (&a, NULL, caller, (void *) (uintptr_t) 2u);
  pthread_create (&b, NULL, caller, (void *) (uintptr_t) 3u);
  void *ra, *rb;
  pthread_join (a, &ra);
  pthread_join (b, &rb);
  int f2 = ra != NULL || rb != NULL;
  printf ("two callers at once, 3000 calls each: %s\n", f2 ? "FAIL" : "ok");
  fails += f2;

  struct job j;
  memset (&j, 0, sizeof j);
  j.nested_threads = 3;
  mve_parallel_for (2, N, count_nested, &j);
  for (int k = 0; k < N; k++)
    if (atomic_load (&j.hits[k]) != 1)
      {
        fprintf (stderr, "FAIL outer call of the nested test: index %d\n", k);
        fails++;
      }
  printf ("nested call: %s\n", fails ? "FAIL" : "ok");
  return fails ? 1 : 0;
}
