#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""PyTorch reference on a CUDA GPU: the workload of bench/reference/bench_torch.py
(same model mvaema_ref.py, paper configuration, same random batches and
question) run eagerly on the GPU, timed with torch.cuda.synchronize() around
each step. Prints one JSON line. Needs torch built with CUDA.

Usage: /usr/bin/python3 bench/gpu/bench_torch_cuda.py [--batch N] [--steps N] [--gen-runs N] [--tf32]
"""
import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference"))
import bench_torch  # noqa: E402  (random_batch: the same batches as the CPU bench)
import mvaema_ref as ref  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=48)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--gen-runs", type=int, default=5)
    ap.add_argument("--tf32", action="store_true", help="allow TF32 matrix products")
    args = ap.parse_args()
    if not torch.cuda.is_available():
        print(json.dumps({"impl": "pytorch-cuda", "error": "torch has no CUDA device"}))
        return 1
    torch.backends.cuda.matmul.allow_tf32 = args.tf32
    torch.backends.cudnn.allow_tf32 = args.tf32
    c = dict(ref.DEFAULT_CONFIG)
    gen = torch.Generator().manual_seed(0)
    p = ref.init_params(c, gen, dtype=torch.float32)
    batches = [bench_torch.random_batch(c, args.batch, gen) for _ in range(args.warmup + args.steps)]
    image = torch.rand(3, c["image_size"], c["image_size"], generator=gen) * 2 - 1
    question = torch.randint(7, c["vocab_size"], (20,), generator=gen).tolist()
    # from here on, new tensors are created on the GPU
    if hasattr(torch, "set_default_device"):
        torch.set_default_device("cuda")
    else:
        torch.set_default_tensor_type(torch.cuda.FloatTensor)
    p = {k: v.detach().cuda().requires_grad_(True) for k, v in p.items()}
    batches = [tuple(t.cuda() for t in b) for b in batches]
    image = image.cuda()
    opt = torch.optim.Adam(list(p.values()), lr=1e-3)
    t_train = 0.0
    for i, b in enumerate(batches):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        out = ref.forward(p, c, *b)
        opt.zero_grad()
        out["total"].backward()
        torch.nn.utils.clip_grad_norm_(list(p.values()), 1.0)
        opt.step()
        torch.cuda.synchronize()
        if i >= args.warmup:
            t_train += time.perf_counter() - t0
    sps = args.batch * args.steps / t_train
    times = []
    with torch.no_grad():
        for _ in range(args.gen_runs + 1):
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            toks = ref.generate_greedy(p, c, image, question, 64)
            torch.cuda.synchronize()
            times.append(time.perf_counter() - t0)
    times = sorted(times[1:])
    print(json.dumps({"impl": "pytorch-cuda", "torch": torch.__version__,
                      "gpu": torch.cuda.get_device_name(0), "batch": args.batch,
                      "tf32": args.tf32, "train_samples_per_s": round(sps, 2),
                      "train_step_ms": round(1000 * t_train / args.steps, 3),
                      "generate_ms_64": round(1000 * times[len(times) // 2], 3),
                      "generate_tokens": len(toks),
                      "peak_gpu_mem_mb": round(torch.cuda.max_memory_allocated() / 2**20, 1)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
