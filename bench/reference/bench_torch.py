#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""PyTorch side of the engine benchmark: the same model (mvaema_ref.py), the
paper configuration, the same workload as `mvaema-cli bench`.

  train_samples_per_s  Adam training steps on batch 48 of random inputs:
                       question ~20 tokens, answer ~60 tokens (lengths vary
                       +-25% around those, padded per batch), ITC + ITM + LM.
  generate_ms_64       one image, one 20-token question, 64 greedy tokens with
                       a key/value cache, batch 1 (median of the runs).
  peak_rss_mb          peak resident memory of the process.

Give PyTorch its best chance: run with OMP_WAIT_POLICY=PASSIVE (set below
before torch is imported unless already set) and the same thread count as
the engine. Prints one JSON line.

Usage: /usr/bin/python3 bench_torch.py [--threads N] [--steps N] [--gen-runs N]
"""
import argparse
import json
import os
import resource
import sys
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mvaema_ref as ref  # noqa: E402


def random_batch(c, B, gen, q_mean=20, a_mean=60):
    V = c["vocab_size"]
    S = c["image_size"]
    images = torch.rand(B, 3, S, S, generator=gen) * 2 - 1
    qlen = torch.randint(int(q_mean * 0.75), int(q_mean * 1.25) + 1, (B,), generator=gen)
    alen = torch.randint(int(a_mean * 0.75), int(a_mean * 1.25) + 1, (B,), generator=gen)
    Tq, Ta = int(qlen.max()), int(alen.max())
    q = torch.randint(7, V, (B, Tq), generator=gen)
    a = torch.randint(7, V, (B, Ta), generator=gen)
    for i in range(B):
        q[i, qlen[i]:] = 0
        a[i, alen[i]:] = 0
    return images, q, qlen.int(), a, alen.int()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--gen-runs", type=int, default=5)
    ap.add_argument("--gen-threads", type=int, default=None,
                    help="threads for generation (default: --threads)")
    ap.add_argument("--batch", type=int, default=48)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    c = dict(ref.DEFAULT_CONFIG)
    gen = torch.Generator().manual_seed(0)
    p = ref.init_params(c, gen, dtype=torch.float32)
    opt = torch.optim.Adam(list(p.values()), lr=1e-3)
    batches = [random_batch(c, args.batch, gen) for _ in range(args.warmup + args.steps)]
    t_train = c_train = 0.0
    for i, b in enumerate(batches):
        t0 = time.perf_counter()
        c0 = time.process_time()
        out = ref.forward(p, c, *b)
        opt.zero_grad()
        out["total"].backward()
        torch.nn.utils.clip_grad_norm_(list(p.values()), 1.0)
        opt.step()
        if i >= args.warmup:
            t_train += time.perf_counter() - t0
            c_train += time.process_time() - c0
    sps = args.batch * args.steps / t_train

    torch.set_num_threads(args.gen_threads or args.threads)
    image = torch.rand(3, c["image_size"], c["image_size"], generator=gen) * 2 - 1
    question = torch.randint(7, c["vocab_size"], (20,), generator=gen).tolist()
    times, ctimes = [], []
    for _ in range(args.gen_runs + 1):
        t0 = time.perf_counter()
        c0 = time.process_time()
        toks = ref.generate_greedy(p, c, image, question, 64)
        times.append(time.perf_counter() - t0)
        ctimes.append(time.process_time() - c0)
    assert len(toks) == 64
    times = sorted(times[1:])
    gen_ms = 1000 * times[len(times) // 2]
    gen_cpu_ms = 1000 * sorted(ctimes[1:])[len(times) // 2]
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps({"impl": "pytorch", "torch": torch.__version__, "threads": args.threads,
                      "train_samples_per_s": round(sps, 2), "generate_ms_64": round(gen_ms, 2),
                      "peak_rss_mb": round(rss, 1),
                      "train_cpu_s_per_step": round(c_train / args.steps, 3),
                      "generate_cpu_ms_64": round(gen_cpu_ms, 2)}))


if __name__ == "__main__":
    main()
