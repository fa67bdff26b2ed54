// SPDX-License-Identifier: GPL-3.0-or-later
// mve-cuda-common.h: the CUDA backend context and the error macros shared by
// the op files of engine/cuda/. C++ (nvcc) only.
//
// MVE_CUDA_CHECK / MVE_CUBLAS_CHECK follow ggml's CUDA_CHECK_GEN shape (the
// stringised statement, __func__, file and line) but record the message in
// the context and `goto fail`; nothing here exits or aborts.
//
//   mve_status st = MVE_STATUS_OK;
//   MVE_CUDA_CHECK (ctx, cudaMemsetAsync (p, 0, bytes, ctx->stream));
//   return st;
// fail:
//   return st;
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <stdio.h>

#include "mve-backend.h"

#define MVE_CEIL_DIV(a, b) (((a) + (b) - 1) / (b))

struct mve_cuda_ctx
{
  int device;
  cudaStream_t stream;
  cublasHandle_t cublas;
  void *cublas_ws; // cuBLAS workspace, set explicitly so graph capture never allocates
  enum mve_precision precision;
  char last_error[512];
};

// Record "<what> failed: <detail> (in <func> at <file>:<line>)".
void mve_cuda_record (struct mve_cuda_ctx *ctx, const char *stmt, const char *detail,
                      const char *func, const char *file, int line);

#define MVE_CUDA_CHECK(ctx, stmt)                                                            \
  do                                                                                         \
    {                                                                                        \
      cudaError_t mve_e_ = (stmt);                                                           \
      if (mve_e_ != cudaSuccess)                                                             \
        {                                                                                    \
          mve_cuda_record ((ctx), #stmt, cudaGetErrorString (mve_e_), __func__, __FILE__,    \
                           __LINE__);                                                        \
          st = mve_e_ == cudaErrorMemoryAllocation ? MVE_STATUS_ALLOC_FAILED                 \
                                                   : MVE_STATUS_BACKEND_ERROR;               \
          goto fail;                                                                         \
        }                                                                                    \
    }                                                                                        \
  while (0)

#define MVE_CUBLAS_CHECK(ctx, stmt)                                                          \
  do                                                                                         \
    {                                                                                        \
      cublasStatus_t mve_s_ = (stmt);                                                        \
      if (mve_s_ != CUBLAS_STATUS_SUCCESS)                                                   \
        {                                                                                    \
          mve_cuda_record ((ctx), #stmt, cublasGetStatusString (mve_s_), __func__, __FILE__, \
                           __LINE__);                                                        \
          st = mve_s_ == CUBLAS_STATUS_ALLOC_FAILED ? MVE_STATUS_ALLOC_FAILED                \
                                                    : MVE_STATUS_BACKEND_ERROR;              \
          goto fail;                                                                         \
        }                                                                                    \
    }                                                                                        \
  while (0)

// After a kernel launch: launch errors (bad configuration) become a status.
#define MVE_CUDA_CHECK_LAUNCH(ctx) MVE_CUDA_CHECK ((ctx), cudaGetLastError ())

// Argument checks of a launcher: record and return MVE_STATUS_INVALID_ARGUMENT.
#define MVE_CUDA_REQUIRE(ctx, cond)                                                          \
  do                                                                                         \
    {                                                                                        \
      if (!(cond))                                                                           \
        {                                                                                    \
          mve_cuda_record ((ctx), #cond, "invalid argument", __func__, __FILE__, __LINE__);  \
          st = MVE_STATUS_INVALID_ARGUMENT;                                                  \
          goto fail;                                                                         \
        }                                                                                    \
    }                                                                                        \
  while (0)
