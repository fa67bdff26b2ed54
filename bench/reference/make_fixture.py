#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Write the engine's parity fixture: a tiny MVaEMa configuration, its weights,
one batch (with padding), the forward outputs (ITC similarity, ITM and LM
logits, every loss), every parameter gradient, and the parameters after two
Adam steps (clip_grad_norm_ + torch.optim.Adam), all computed in float64 by
mvaema_ref.py and stored as float32.

Usage: /usr/bin/python3 make_fixture.py OUT.bin [--ablate] [--check-f32]
--check-f32 also prints how far PyTorch's own float32 gradients are from the
float64 ones under the parity test's error measure (floors 1% and 10%).

Format (little endian): b"MVEFIX01", u32 n_meta, n_meta x (u32 len, key,
u32 len, value), u32 n_tensors, n_tensors x (u32 len, name, u32 dtype
(0 f32, 1 i32), u32 ndim, ndim x i64 dims, data).
"""
import struct
import sys

import torch

sys.path.insert(0, __import__("os").path.dirname(__file__))
import mvaema_ref as ref  # noqa: E402


def tiny_config(ablate):
    c = dict(ref.DEFAULT_CONFIG)
    c.update(image_size=64, patch_size=16, width=32, vision_layers=2, text_layers=2,
             decoder_layers=2, heads=2, mlp_ratio=4, vocab_size=64, max_question_len=8,
             max_answer_len=10, embed_dim=24, temp_init=0.3, w_itc=0.7, w_itm=1.3, w_lm=1.0)
    if ablate:  # smaller, so both fixtures stay small; removes ITC, SA and CSA
        c.update(image_size=32, patch_size=8, width=16, use_itc=0, use_sa=0, use_csa=0)
    return c


def check_f32(c, params0, images, question, qlen, answer, alen, grads):
    p32 = {k: v.detach().float().requires_grad_(True) for k, v in params0.items()}
    ref.forward(p32, c, images.float(), question, qlen, answer, alen)["total"].backward()
    for floor in (1e-2, 1e-1):
        worst = (0.0, "")
        for k, r in grads.items():
            if p32[k].grad is None:
                continue
            fl = max(floor * float(r.abs().max()), 1e-30)
            e = float(((p32[k].grad.double() - r).abs() / torch.clamp(r.abs(), min=fl)).max())
            worst = max(worst, (e, k))
        print(f"torch float32 vs float64 gradients, floor {floor:g} of max: "
              f"max rel err {worst[0]:.3g} ({worst[1]})")


def main():
    out_path = sys.argv[1]
    ablate = "--ablate" in sys.argv[2:]
    torch.manual_seed(1234)
    gen = torch.Generator().manual_seed(1234)
    c = tiny_config(ablate)
    p = ref.init_params(c, gen, dtype=torch.float64, std=0.1, noisy=True)
    B, Tq, Ta = 3, 6, 8
    S = c["image_size"]
    images = (torch.rand(B, 3, S, S, generator=gen, dtype=torch.float64) * 2 - 1)
    qlen = torch.tensor([6, 3, 0], dtype=torch.int32)
    alen = torch.tensor([8, 5, 2], dtype=torch.int32)
    question = torch.zeros(B, Tq, dtype=torch.long)
    answer = torch.zeros(B, Ta, dtype=torch.long)
    for i in range(B):
        question[i, :qlen[i]] = torch.randint(7, c["vocab_size"], (int(qlen[i]),), generator=gen)
        answer[i, :alen[i]] = torch.randint(7, c["vocab_size"], (int(alen[i]),), generator=gen)
    # images as float32 on both sides
    images = images.float().double()

    # eps 1e-5: with the default 1e-8, Adam's first steps move every weight by
    # about lr * sign(g), so weights whose gradient is float32 rounding noise
    # would flip; 1e-5 keeps those updates continuous in g (same code path).
    lr, clip, eps = 1e-3, 1.0, 1e-5
    opt = torch.optim.Adam(list(p.values()), lr=lr, betas=(0.9, 0.999), eps=eps)
    params0 = {k: v.detach().clone() for k, v in p.items()}
    out = ref.forward(p, c, images, question, qlen, answer, alen)
    opt.zero_grad()
    out["total"].backward()
    grads = {k: (v.grad.detach().clone() if v.grad is not None else torch.zeros_like(v))
             for k, v in p.items()}
    norm1 = torch.nn.utils.clip_grad_norm_(list(p.values()), clip)
    opt.step()
    out2 = ref.forward(p, c, images, question, qlen, answer, alen)
    opt.zero_grad()
    out2["total"].backward()
    norm2 = torch.nn.utils.clip_grad_norm_(list(p.values()), clip)
    opt.step()
    if "--check-f32" in sys.argv[2:]:
        check_f32(c, params0, images, question, qlen, answer, alen, grads)
    print(f"losses {float(out['total']):.6f} itc {float(out['itc']):.6f} "
          f"itm {float(out['itm']):.6f} lm {float(out['lm']):.6f}; grad norms "
          f"{float(norm1):.4f} {float(norm2):.4f}; step-2 total {float(out2['total']):.6f}")

    tensors = []

    def add(name, t, dtype=0):
        t = t.detach()
        tensors.append((name, t.to(torch.float32 if dtype == 0 else torch.int32).contiguous(), dtype))

    for k, v in params0.items():
        add("param/" + k, v)
    for k, v in grads.items():
        add("grad/" + k, v)
    for k, v in p.items():
        add("adam2/" + k, v)
    add("batch/images", images)
    add("batch/question", question, 1)
    add("batch/question_len", qlen, 1)
    add("batch/answer", answer, 1)
    add("batch/answer_len", alen, 1)
    add("out/losses", torch.stack([out["total"], out["itc"], out["itm"], out["lm"]]))
    add("out/losses2", torch.stack([out2["total"], out2["itc"], out2["itm"], out2["lm"]]))
    add("out/lm_logits", out["lm_logits"])
    if "itm_logits" in out:
        add("out/itm_logits", out["itm_logits"])
    if "sim" in out:
        add("out/sim", out["sim"])
    meta = {f"mve.{k}": (f"{v:.9g}" if isinstance(v, float) else str(v)) for k, v in c.items()}
    meta.update({"adam.lr": str(lr), "adam.clip_norm": str(clip), "adam.eps": str(eps)})
    with open(out_path, "wb") as f:
        f.write(b"MVEFIX01")
        f.write(struct.pack("<I", len(meta)))
        for k, v in meta.items():
            for s in (k, v):
                b = s.encode()
                f.write(struct.pack("<I", len(b)) + b)
        f.write(struct.pack("<I", len(tensors)))
        for name, t, dtype in tensors:
            b = name.encode()
            f.write(struct.pack("<I", len(b)) + b)
            f.write(struct.pack("<II", dtype, t.dim()))
            f.write(struct.pack(f"<{t.dim()}q", *t.shape))
            f.write(t.numpy().tobytes())


if __name__ == "__main__":
    main()
