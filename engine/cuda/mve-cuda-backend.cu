// SPDX-License-Identifier: GPL-3.0-or-later
// mve-cuda-backend.cu: the CUDA backend's context (device, stream, cuBLAS
// handle), its vtable and the module's one exported entry point
// (mve_cuda_backend_open, found by dlsym in mve-backend.c). Every CUDA or
// cuBLAS failure becomes a status and a message; nothing exits.
#include "mve-cuda-common.h"

#include "mve-cuda-adam.h"
#include "mve-cuda-attention.h"
#include "mve-cuda-embedding.h"
#include "mve-cuda-gelu.h"
#include "mve-cuda-layernorm.h"
#include "mve-cuda-losses.h"
#include "mve-cuda-matmul.h"
#include "mve-cuda-model.h"
#include "mve-cuda-residual.h"

#include <stdarg.h>

#define CUBLAS_WORKSPACE_BYTES ((size_t) 32 << 20) // NVIDIA's recommendation for Hopper
#include <stdlib.h>
#include <string.h>

void
mve_cuda_record (struct mve_cuda_ctx *ctx, const char *stmt, const char *detail, const char *func,
                 const char *file, int line)
{
  const char *base = strrchr (file, '/');
  if (ctx == NULL)
    return;
  snprintf (ctx->last_error, sizeof ctx->last_error, "%s failed: %s (in %s at %s:%d)", stmt,
            detail != NULL ? detail : "unknown error", func, base != NULL ? base + 1 : file, line);
}

static const char *
cuda_last_error (void *vctx)
{
  return ((struct mve_cuda_ctx *) vctx)->last_error;
}

static void
cuda_free_ctx (void *vctx)
{
  struct mve_cuda_ctx *ctx = (struct mve_cuda_ctx *) vctx;
  if (ctx == NULL)
    return;
  if (ctx->cublas != NULL)
    cublasDestroy (ctx->cublas);
  if (ctx->cublas_ws != NULL)
    cudaFree (ctx->cublas_ws);
  ctx->cublas_ws = NULL;
  if (ctx->stream != NULL)
    cudaStreamDestroy (ctx->stream);
  free (ctx);
}

static mve_status
cuda_get_device_info (void *vctx, struct mve_device_info *out)
{
  struct mve_cuda_ctx *ctx = (struct mve_cuda_ctx *) vctx;
  mve_status st = MVE_STATUS_OK;
  cudaDeviceProp prop;
  int drv = 0, rt = 0;
  memset (out, 0, sizeof *out);
  MVE_CUDA_CHECK (ctx, cudaGetDeviceProperties (&prop, ctx->device));
  MVE_CUDA_CHECK (ctx, cudaDriverGetVersion (&drv));
  MVE_CUDA_CHECK (ctx, cudaRuntimeGetVersion (&rt));
  snprintf (out->name, sizeof out->name, "%.95s", prop.name);
  out->index = ctx->device;
  out->cc_major = prop.major;
  out->cc_minor = prop.minor;
  out->total_mem = (int64_t) prop.totalGlobalMem;
  out->multiprocessors = prop.multiProcessorCount;
  snprintf (out->driver, sizeof out->driver, "%d.%d", drv / 1000, (drv % 1000) / 10);
  snprintf (out->runtime, sizeof out->runtime, "%d.%d", rt / 1000, (rt % 1000) / 10);
  return MVE_STATUS_OK;
fail:
  return st;
}

static mve_status
cuda_set_precision (void *vctx, enum mve_precision p)
{
  struct mve_cuda_ctx *ctx = (struct mve_cuda_ctx *) vctx;
  mve_status st = MVE_STATUS_OK;
  MVE_CUDA_REQUIRE (ctx, p == MVE_PRECISION_FP32 || p == MVE_PRECISION_TF32);
  MVE_CUBLAS_CHECK (ctx, cublasSetMathMode (ctx->cublas, p == MVE_PRECISION_TF32
                                                           ? CUBLAS_TF32_TENSOR_OP_MATH
                                                           : CUBLAS_DEFAULT_MATH));
  ctx->precision = p;
  return MVE_STATUS_OK;
fail:
  return st;
}

static mve_status
cuda_alloc (void *vctx, void **out, size_t bytes)
{
  struct mve_cuda_ctx *ctx = (struct mve_cuda_ctx *) vctx;
  cudaError_t e;
  *out = NULL;
  e = cudaMallocAsync (out, bytes > 0 ? bytes : 1, ctx->stream);
  if (e != cudaSuccess)
    {
      *out = NULL;
      cudaGetLastError (); // clear the sticky-free error state of the failed call
      snprintf (ctx->last_error, sizeof ctx->last_error,
                "out of device memory: %zu bytes (%.1f MiB) asked for on device %d (%s)", bytes,
                bytes / 1048576.0, ctx->device, cudaGetErrorString (e));
      return e == cudaErrorMemoryAllocation ? MVE_STATUS_ALLOC_FAILED : MVE_STATUS_BACKEND_ERROR;
    }
  return MVE_STATUS_OK;
}

static void
cuda_free (void *vctx, void *ptr)
{
  struct mve_cuda_ctx *ctx = (struct mve_cuda_ctx *) vctx;
  if (ptr != NULL)
    cudaFreeAsync (ptr, ctx->stream);
}

static mve_status
cuda_copy_to_device (void *vctx, void *dst, const void *src, size_t bytes)
{
  struct mve_cuda_ctx *ctx = (struct mve_cuda_ctx *) vctx;
  mve_status st = MVE_STATUS_OK;
  MVE_CUDA_CHECK (ctx, cudaMemcpyAsync (dst, src, bytes, cudaMemcpyHostToDevice, ctx->stream));
  return MVE_STATUS_OK;
fail:
  return st;
}

static mve_status
cuda_copy_to_host (void *vctx, void *dst, const void *src, size_t bytes)
{
  struct mve_cuda_ctx *ctx = (struct mve_cuda_ctx *) vctx;
  mve_status st = MVE_STATUS_OK;
  MVE_CUDA_CHECK (ctx, cudaMemcpyAsync (dst, src, bytes, cudaMemcpyDeviceToHost, ctx->stream));
  MVE_CUDA_CHECK (ctx, cudaStreamSynchronize (ctx->stream));
  return MVE_STATUS_OK;
fail:
  return st;
}

static mve_status
cuda_memset_zero (void *vctx, void *ptr, size_t bytes)
{
  struct mve_cuda_ctx *ctx = (struct mve_cuda_ctx *) vctx;
  mve_status st = MVE_STATUS_OK;
  MVE_CUDA_CHECK (ctx, cudaMemsetAsync (ptr, 0, bytes, ctx->stream));
  return MVE_STATUS_OK;
fail:
  return st;
}

static mve_status
cuda_synchronize (void *vctx)
{
  struct mve_cuda_ctx *ctx = (struct mve_cuda_ctx *) vctx;
  mve_status st = MVE_STATUS_OK;
  MVE_CUDA_CHECK (ctx, cudaStreamSynchronize (ctx->stream));
  return MVE_STATUS_OK;
fail:
  return st;
}

static mve_status
cuda_graph_begin (void *vctx)
{
  struct mve_cuda_ctx *ctx = (struct mve_cuda_ctx *) vctx;
  mve_status st = MVE_STATUS_OK;
  MVE_CUDA_CHECK (ctx, cudaStreamBeginCapture (ctx->stream, cudaStreamCaptureModeThreadLocal));
  return MVE_STATUS_OK;
fail:
  return st;
}

static mve_status
cuda_graph_end (void *vctx, void **out)
{
  struct mve_cuda_ctx *ctx = (struct mve_cuda_ctx *) vctx;
  mve_status st = MVE_STATUS_OK;
  cudaGraph_t graph = NULL;
  cudaGraphExec_t exec = NULL;
  *out = NULL;
  MVE_CUDA_CHECK (ctx, cudaStreamEndCapture (ctx->stream, &graph));
  MVE_CUDA_CHECK (ctx, cudaGraphInstantiate (&exec, graph, 0));
  cudaGraphDestroy (graph);
  *out = exec;
  return MVE_STATUS_OK;
fail:
  if (graph != NULL)
    cudaGraphDestroy (graph);
  return st;
}

static mve_status
cuda_graph_launch (void *vctx, void *graph)
{
  struct mve_cuda_ctx *ctx = (struct mve_cuda_ctx *) vctx;
  mve_status st = MVE_STATUS_OK;
  MVE_CUDA_REQUIRE (ctx, graph != NULL);
  MVE_CUDA_CHECK (ctx, cudaGraphLaunch ((cudaGraphExec_t) graph, ctx->stream));
  return MVE_STATUS_OK;
fail:
  return st;
}

static void
cuda_graph_free (void *vctx, void *graph)
{
  (void) vctx;
  if (graph != NULL)
    cudaGraphExecDestroy ((cudaGraphExec_t) graph);
}

static bool cuda_supports_op (void *vctx, enum mve_op op);

static const struct mve_backend_i cuda_iface = {
  /* .abi_version = */ MVE_BACKEND_ABI_VERSION,
  /* .name = */ "cuda",
  /* .supports_op = */ cuda_supports_op,
  /* .last_error = */ cuda_last_error,
  /* .free_ctx = */ cuda_free_ctx,
  /* .get_device_info = */ cuda_get_device_info,
  /* .set_precision = */ cuda_set_precision,
  /* .alloc = */ cuda_alloc,
  /* .free = */ cuda_free,
  /* .copy_to_device = */ cuda_copy_to_device,
  /* .copy_to_host = */ cuda_copy_to_host,
  /* .memset_zero = */ cuda_memset_zero,
  /* .synchronize = */ cuda_synchronize,
  /* .graph_begin = */ cuda_graph_begin,
  /* .graph_end = */ cuda_graph_end,
  /* .graph_launch = */ cuda_graph_launch,
  /* .graph_free = */ cuda_graph_free,
  /* .matmul_forward = */ mve_cuda_matmul_forward,
  /* .matmul_backward = */ mve_cuda_matmul_backward,
  /* .layernorm_forward = */ mve_cuda_layernorm_forward,
  /* .layernorm_backward = */ mve_cuda_layernorm_backward,
  /* .gelu_forward = */ mve_cuda_gelu_forward,
  /* .gelu_backward = */ mve_cuda_gelu_backward,
  /* .attention_forward = */ mve_cuda_attention_forward,
  /* .attention_backward = */ mve_cuda_attention_backward,
  /* .embedding_forward = */ mve_cuda_embedding_forward,
  /* .embedding_backward = */ mve_cuda_embedding_backward,
  /* .residual_forward = */ mve_cuda_residual_forward,
  /* .lm_xent = */ mve_cuda_lm_xent,
  /* .itm_xent = */ mve_cuda_itm_xent,
  /* .itc_loss = */ mve_cuda_itc_loss,
  /* .adam = */ mve_cuda_adam,
  /* .model_create = */ mve_cuda_model_create,
  /* .model_free = */ mve_cuda_model_free,
  /* .model_step = */ mve_cuda_model_step,
  /* .model_generate = */ mve_cuda_model_generate,
};

// Every op, and whole device-resident training steps (model_step,
// mve-cuda-model.cu) and decoding (model_generate, mve-cuda-generate.cu).
static bool
cuda_supports_op (void *vctx, enum mve_op op)
{
  (void) vctx;
  switch (op)
    {
    case MVE_OP_MATMUL_FORWARD: return cuda_iface.matmul_forward != NULL;
    case MVE_OP_MATMUL_BACKWARD: return cuda_iface.matmul_backward != NULL;
    case MVE_OP_LAYERNORM_FORWARD: return cuda_iface.layernorm_forward != NULL;
    case MVE_OP_LAYERNORM_BACKWARD: return cuda_iface.layernorm_backward != NULL;
    case MVE_OP_GELU_FORWARD: return cuda_iface.gelu_forward != NULL;
    case MVE_OP_GELU_BACKWARD: return cuda_iface.gelu_backward != NULL;
    case MVE_OP_ATTENTION_FORWARD: return cuda_iface.attention_forward != NULL;
    case MVE_OP_ATTENTION_BACKWARD: return cuda_iface.attention_backward != NULL;
    case MVE_OP_EMBEDDING_FORWARD: return cuda_iface.embedding_forward != NULL;
    case MVE_OP_EMBEDDING_BACKWARD: return cuda_iface.embedding_backward != NULL;
    case MVE_OP_RESIDUAL_FORWARD: return cuda_iface.residual_forward != NULL;
    case MVE_OP_LM_XENT: return cuda_iface.lm_xent != NULL;
    case MVE_OP_ITM_XENT: return cuda_iface.itm_xent != NULL;
    case MVE_OP_ITC_LOSS: return cuda_iface.itc_loss != NULL;
    case MVE_OP_ADAM: return cuda_iface.adam != NULL;
    case MVE_OP_TRAIN_STEP: return cuda_iface.model_step != NULL;
    case MVE_OP_DECODE_STEP: return cuda_iface.model_generate != NULL;
    default: return false;
    }
}

extern "C" __attribute__ ((visibility ("default"))) mve_status
mve_cuda_backend_open (int32_t abi_version, int32_t device, const struct mve_backend_i **iface,
                       void **out_ctx, int32_t *device_count, char *reason, size_t n)
{
  struct mve_cuda_ctx *ctx = NULL;
  int count = 0;
  cudaError_t e;
  mve_status st = MVE_STATUS_OK;

  *iface = NULL;
  *out_ctx = NULL;
  if (device_count != NULL)
    *device_count = 0;
  if (abi_version != MVE_BACKEND_ABI_VERSION)
    return mve_error_set (reason, n, MVE_STATUS_UNSUPPORTED,
                          "CUDA module speaks backend ABI %d, the engine %d (rebuild the module)",
                          MVE_BACKEND_ABI_VERSION, (int) abi_version);
  e = cudaGetDeviceCount (&count);
  if (e != cudaSuccess)
    return mve_error_set (reason, n, MVE_STATUS_NO_DEVICE, "no usable CUDA device: %s (%s)",
                          cudaGetErrorString (e), cudaGetErrorName (e));
  if (device_count != NULL)
    *device_count = count;
  if (count == 0)
    return mve_error_set (reason, n, MVE_STATUS_NO_DEVICE, "no CUDA device found");
  if (device < 0 || device >= count)
    return mve_error_set (reason, n, MVE_STATUS_NO_DEVICE, "CUDA device %d does not exist (%d found)",
                          (int) device, count);
  ctx = (struct mve_cuda_ctx *) calloc (1, sizeof *ctx);
  if (ctx == NULL)
    return mve_error_set (reason, n, MVE_STATUS_ALLOC_FAILED, "out of memory (%zu bytes)",
                          sizeof *ctx);
  ctx->device = device;
  MVE_CUDA_CHECK (ctx, cudaSetDevice (device));
  MVE_CUDA_CHECK (ctx, cudaStreamCreateWithFlags (&ctx->stream, cudaStreamNonBlocking));
  MVE_CUBLAS_CHECK (ctx, cublasCreate (&ctx->cublas));
  MVE_CUBLAS_CHECK (ctx, cublasSetStream (ctx->cublas, ctx->stream));
  MVE_CUDA_CHECK (ctx, cudaMalloc (&ctx->cublas_ws, CUBLAS_WORKSPACE_BYTES));
  MVE_CUBLAS_CHECK (ctx, cublasSetWorkspace (ctx->cublas, ctx->cublas_ws, CUBLAS_WORKSPACE_BYTES));
  MVE_CUBLAS_CHECK (ctx, cublasSetPointerMode (ctx->cublas, CUBLAS_POINTER_MODE_HOST));
  MVE_CUBLAS_CHECK (ctx, cublasSetMathMode (ctx->cublas, CUBLAS_DEFAULT_MATH));
  ctx->precision = MVE_PRECISION_FP32;
  *iface = &cuda_iface;
  *out_ctx = ctx;
  return MVE_STATUS_OK;
fail:
  mve_error_set (reason, n, st, "%s", ctx->last_error);
  cuda_free_ctx (ctx);
  return st;
}
