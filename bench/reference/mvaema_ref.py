# SPDX-License-Identifier: GPL-3.0-or-later
"""PyTorch reference of the MVaEMa model ("mvaema-s32"), the same maths as engine/.

Functional: parameters are a dict name -> tensor with the engine's tensor names
and shapes (see mve_params_fill_table in engine/mve-model.c), so weights move
between the two unchanged. Used by make_fixture.py (parity fixture, float64)
and bench_torch.py (speed baseline, float32).

Sequences (the engine adds the specials):
  text encoder      <cls> answer                       (ITC)
  grounded encoder  <Encode> answer, 3B pairs          (ITM: positives, hardest
                    negative text per image, hardest negative image per text)
  decoder           <Decode> question <sep> answer <EOS> (LM on answer + <EOS>)
Runs with torch 1.13 (Debian bookworm's python3-torch).
"""
import math

import torch
import torch.nn.functional as F

PAD, UNK, CLS, ENCODE, DECODE, SEP, EOS = range(7)

DEFAULT_CONFIG = dict(
    image_size=224, patch_size=32, channels=3, width=64, vision_layers=4, text_layers=4,
    decoder_layers=4, heads=4, mlp_ratio=4, vocab_size=8192, max_question_len=48,
    max_answer_len=128, embed_dim=64, temp_init=0.07, w_itc=1.0, w_itm=1.0, w_lm=1.0,
    use_itc=1, use_itm=1, use_sa=1, use_ca=1, use_csa=1)


def param_shapes(c):
    """Ordered (name, shape) list, identical to the engine's table."""
    C, HC, V, E = c["width"], c["width"] * c["mlp_ratio"], c["vocab_size"], c["embed_dim"]
    G = c["image_size"] // c["patch_size"]
    Nv, K = G * G + 1, c["channels"] * c["patch_size"] ** 2
    out = []

    def block(pre, L):
        out.extend([(f"{pre}.ln1_w", (L, C)), (f"{pre}.ln1_b", (L, C)),
                    (f"{pre}.qkv_w", (L, 3 * C, C)), (f"{pre}.qkv_b", (L, 3 * C)),
                    (f"{pre}.ao_w", (L, C, C)), (f"{pre}.ao_b", (L, C)),
                    (f"{pre}.ln2_w", (L, C)), (f"{pre}.ln2_b", (L, C)),
                    (f"{pre}.fc_w", (L, HC, C)), (f"{pre}.fc_b", (L, HC)),
                    (f"{pre}.fp_w", (L, C, HC)), (f"{pre}.fp_b", (L, C))])

    def cross(pre, L):
        out.extend([(f"{pre}.ca_ln_w", (L, C)), (f"{pre}.ca_ln_b", (L, C)),
                    (f"{pre}.ca_q_w", (L, C, C)), (f"{pre}.ca_q_b", (L, C)),
                    (f"{pre}.ca_kv_w", (L, 2 * C, C)), (f"{pre}.ca_kv_b", (L, 2 * C)),
                    (f"{pre}.ca_o_w", (L, C, C)), (f"{pre}.ca_o_b", (L, C))])

    out += [("vision.patch_w", (C, K)), ("vision.patch_b", (C,)), ("vision.cls", (C,)),
            ("vision.pos", (Nv, C))]
    block("vision", c["vision_layers"])
    out += [("vision.lnf_w", (C,)), ("vision.lnf_b", (C,)), ("text.tok_emb", (V, C)),
            ("text.pos", (1 + c["max_answer_len"], C))]
    block("text", c["text_layers"])
    cross("text", c["text_layers"])
    out += [("text.lnf_w", (C,)), ("text.lnf_b", (C,)),
            ("decoder.pos", (c["max_question_len"] + c["max_answer_len"] + 3, C))]
    block("decoder", c["decoder_layers"])
    cross("decoder", c["decoder_layers"])
    out += [("decoder.lnf_w", (C,)), ("decoder.lnf_b", (C,)), ("decoder.lm_w", (V, C)),
            ("decoder.lm_b", (V,)), ("heads.vproj_w", (E, C)), ("heads.vproj_b", (E,)),
            ("heads.tproj_w", (E, C)), ("heads.tproj_b", (E,)), ("heads.itm_w", (2, C)),
            ("heads.itm_b", (2,)), ("heads.temp", (1,))]
    return out


def init_params(c, gen, dtype=torch.float32, std=0.02, noisy=False):
    """Random parameters. noisy=True also randomises LayerNorm and biases (for tests)."""
    p = {}
    for name, shape in param_shapes(c):
        leaf = name.split(".")[-1]
        if leaf == "temp":
            t = torch.full(shape, c["temp_init"], dtype=torch.float64)
        elif "ln" in leaf and leaf.endswith("w"):
            t = torch.ones(shape, dtype=torch.float64)
            if noisy:
                t += 0.1 * torch.randn(shape, generator=gen, dtype=torch.float64)
        elif leaf.endswith("_b"):
            t = torch.zeros(shape, dtype=torch.float64)
            if noisy:
                t += 0.05 * torch.randn(shape, generator=gen, dtype=torch.float64)
        else:
            t = std * torch.randn(shape, generator=gen, dtype=torch.float64)
        p[name] = t.to(dtype).requires_grad_(True)
    return p


# --- layers ------------------------------------------------------------------------------
def linear(x, w, b):
    return x @ w.t() + b


def ln(x, w, b):
    return F.layer_norm(x, (x.shape[-1],), w, b, eps=1e-5)


def attention(q, k, v, heads, mask):
    """q (N,T,C), k/v (N,Tk,C), mask (N,T,Tk) bool (True = may attend)."""
    N, T, C = q.shape
    Tk, hs = k.shape[1], C // heads
    q = q.view(N, T, heads, hs).transpose(1, 2)
    k = k.view(N, Tk, heads, hs).transpose(1, 2)
    v = v.view(N, Tk, heads, hs).transpose(1, 2)
    s = (q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(hs))
    s = s.masked_fill(~mask[:, None], float("-inf"))
    a = torch.softmax(s, dim=-1)
    return (a @ v).transpose(1, 2).reshape(N, T, C), a


def make_mask(N, T, Tk, klen, causal, device):
    j = torch.arange(Tk, device=device)
    m = torch.ones(N, T, Tk, dtype=torch.bool, device=device)
    if klen is not None:
        m &= (j[None, None, :] < klen[:, None, None])
    if causal:
        m &= (j[None, None, :] <= torch.arange(T, device=device)[None, :, None])
    return m


def stack(p, c, x, pre, L, sa, klen, ca_pre=None, mem=None, img_index=None, lnf=None):
    """sa: 0 none, 1 bidirectional, 2 causal. mem (Nimg, Tk, C) image tokens."""
    N, T, C = x.shape
    H = c["heads"]
    sa_mask = make_mask(N, T, T, klen, sa == 2, x.device) if sa else None
    for l in range(L):
        if sa:
            h = ln(x, p[f"{pre}.ln1_w"][l], p[f"{pre}.ln1_b"][l])
            qkv = linear(h, p[f"{pre}.qkv_w"][l], p[f"{pre}.qkv_b"][l])
            q, k, v = qkv.split(C, dim=-1)
            y, _ = attention(q, k, v, H, sa_mask)
            x = x + linear(y, p[f"{pre}.ao_w"][l], p[f"{pre}.ao_b"][l])
        if ca_pre is not None:
            h = ln(x, p[f"{ca_pre}.ca_ln_w"][l], p[f"{ca_pre}.ca_ln_b"][l])
            q = linear(h, p[f"{ca_pre}.ca_q_w"][l], p[f"{ca_pre}.ca_q_b"][l])
            kv = linear(mem, p[f"{ca_pre}.ca_kv_w"][l], p[f"{ca_pre}.ca_kv_b"][l])[img_index]
            k, v = kv.split(C, dim=-1)
            ca_mask = torch.ones(N, T, mem.shape[1], dtype=torch.bool, device=x.device)
            y, _ = attention(q, k, v, H, ca_mask)
            x = x + linear(y, p[f"{ca_pre}.ca_o_w"][l], p[f"{ca_pre}.ca_o_b"][l])
        h = ln(x, p[f"{pre}.ln2_w"][l], p[f"{pre}.ln2_b"][l])
        h = F.gelu(linear(h, p[f"{pre}.fc_w"][l], p[f"{pre}.fc_b"][l]), approximate="tanh")
        x = x + linear(h, p[f"{pre}.fp_w"][l], p[f"{pre}.fp_b"][l])
    return ln(x, p[lnf + "_w"], p[lnf + "_b"])


def vision(p, c, images):
    B = images.shape[0]
    ps = c["patch_size"]
    w = p["vision.patch_w"].view(c["width"], c["channels"], ps, ps)
    x = F.conv2d(images, w, p["vision.patch_b"], stride=ps)  # (B, C, G, G)
    x = x.flatten(2).transpose(1, 2)
    cls = p["vision.cls"].view(1, 1, -1).expand(B, 1, -1)
    x = torch.cat([cls, x], dim=1) + p["vision.pos"][None]
    return stack(p, c, x, "vision", c["vision_layers"], 1, None, lnf="vision.lnf")


# --- batches -------------------------------------------------------------------------------
def text_rows(first, answer, alen):
    B, Ta = answer.shape
    tok = torch.zeros(B, 1 + Ta, dtype=torch.long)
    for i in range(B):
        tok[i, 0] = first
        tok[i, 1:1 + alen[i]] = answer[i, :alen[i]]
    return tok, alen.long() + 1


def decoder_rows(question, qlen, answer, alen):
    B, Tq = question.shape
    Ta = answer.shape[1]
    Td = Tq + Ta + 3
    tok = torch.zeros(B, Td, dtype=torch.long)
    lens = torch.zeros(B, dtype=torch.long)
    pos, tgt = [], []
    for i in range(B):
        ql, al = int(qlen[i]), int(alen[i])
        row = [DECODE] + question[i, :ql].tolist() + [SEP] + answer[i, :al].tolist() + [EOS]
        tok[i, :len(row)] = torch.tensor(row)
        lens[i] = len(row)
        for j in range(al + 1):
            pos.append(i * Td + ql + 1 + j)
            tgt.append(int(answer[i, j]) if j < al else EOS)
    return tok, lens, torch.tensor(pos), torch.tensor(tgt)


def same_answer(answer, alen, i, j):
    return int(alen[i]) == int(alen[j]) and bool(
        (answer[i, :alen[i]] == answer[j, :alen[j]]).all())


def mine_negatives(sim, answer, alen, use_itc):
    """Hardest negatives by similarity (ties: lowest index), skipping equal answers."""
    B = answer.shape[0]
    neg_t, neg_i = [], []
    for i in range(B):
        bt = bi = -1
        if use_itc:
            st = si = None
            for j in range(B):
                if j == i or same_answer(answer, alen, i, j):
                    continue
                if bt < 0 or sim[i, j] > st:
                    st, bt = sim[i, j], j
                if bi < 0 or sim[j, i] > si:
                    si, bi = sim[j, i], j
        else:
            for k in range(1, B):
                j = (i + k) % B
                if not same_answer(answer, alen, i, j):
                    bt = bi = j
                    break
        neg_t.append(bt if bt >= 0 else (i + 1) % B)
        neg_i.append(bi if bi >= 0 else (i + 1) % B)
    return neg_t, neg_i


def forward(p, c, images, question, qlen, answer, alen):
    """Returns dict with losses (total, itc, itm, lm) and logits."""
    B = images.shape[0]
    C, Ta = c["width"], answer.shape[1]
    with torch.no_grad():
        p["heads.temp"].clamp_(0.001, 0.5)
    out = {}
    vout = vision(p, c, images)  # (B, Nv, C)
    zero = vout.sum() * 0
    itc = itm = zero
    sim = None
    if c["use_itc"]:
        tok, lens = text_rows(CLS, answer, alen)
        x = p["text.tok_emb"][tok] + p["text.pos"][:1 + Ta][None]
        t = stack(p, c, x, "text", c["text_layers"], 1 if c["use_sa"] else 0, lens, lnf="text.lnf")
        img = F.normalize(linear(vout[:, 0], p["heads.vproj_w"], p["heads.vproj_b"]), dim=-1)
        txt = F.normalize(linear(t[:, 0], p["heads.tproj_w"], p["heads.tproj_b"]), dim=-1)
        sim = img @ txt.t() / p["heads.temp"][0]
        tgt = torch.arange(B)
        itc = (F.cross_entropy(sim, tgt) + F.cross_entropy(sim.t(), tgt)) / 2
        out["sim"] = sim
    if c["use_itm"]:
        if B >= 2:
            neg_t, neg_i = mine_negatives(sim.detach() if sim is not None else None, answer, alen,
                                          c["use_itc"])
            img_idx = list(range(B)) + list(range(B)) + neg_i
            txt_idx = list(range(B)) + neg_t + list(range(B))
            labels = [1] * B + [0] * (2 * B)
        else:
            img_idx, txt_idx, labels = [0], [0], [1]
        tok, lens = text_rows(ENCODE, answer[txt_idx], alen[txt_idx])
        x = p["text.tok_emb"][tok] + p["text.pos"][:1 + Ta][None]
        h = stack(p, c, x, "text", c["text_layers"], 1 if c["use_sa"] else 0, lens,
                  ca_pre="text" if c["use_ca"] else None, mem=vout,
                  img_index=torch.tensor(img_idx), lnf="text.lnf")
        logits = linear(h[:, 0], p["heads.itm_w"], p["heads.itm_b"])
        itm = F.cross_entropy(logits, torch.tensor(labels))
        out["itm_logits"] = logits
    tok, lens, pos, tgt = decoder_rows(question, qlen, answer, alen)
    x = p["text.tok_emb"][tok] + p["decoder.pos"][:tok.shape[1]][None]
    h = stack(p, c, x, "decoder", c["decoder_layers"], 2 if c["use_csa"] else 0, lens,
              ca_pre="decoder" if c["use_ca"] else None, mem=vout,
              img_index=torch.arange(B), lnf="decoder.lnf")
    h = h.reshape(-1, C)[pos]
    logits = linear(h, p["decoder.lm_w"], p["decoder.lm_b"])
    lm = F.cross_entropy(logits, tgt)
    out["lm_logits"] = logits
    total = c["w_lm"] * lm
    if c["use_itc"]:
        total = total + c["w_itc"] * itc
    if c["use_itm"]:
        total = total + c["w_itm"] * itm
    out.update(total=total, itc=itc, itm=itm, lm=lm)
    return out


@torch.no_grad()
def generate_greedy(p, c, image, question, max_new):
    """64-token style greedy generation with a key/value cache (batch 1)."""
    C, H, L = c["width"], c["heads"], c["decoder_layers"]
    hs = C // H
    vout = vision(p, c, image[None])[0]  # (Nv, C)
    ckv = [linear(vout, p["decoder.ca_kv_w"][l], p["decoder.ca_kv_b"][l]) for l in range(L)]
    cache_k = [[] for _ in range(L)]
    cache_v = [[] for _ in range(L)]

    def step(tok, pos):
        x = p["text.tok_emb"][tok] + p["decoder.pos"][pos]
        for l in range(L):
            h = ln(x, p["decoder.ln1_w"][l], p["decoder.ln1_b"][l])
            q, k, v = linear(h, p["decoder.qkv_w"][l], p["decoder.qkv_b"][l]).split(C)
            cache_k[l].append(k)
            cache_v[l].append(v)
            K = torch.stack(cache_k[l]).view(-1, H, hs).transpose(0, 1)
            V = torch.stack(cache_v[l]).view(-1, H, hs).transpose(0, 1)
            a = torch.softmax((q.view(H, 1, hs) @ K.transpose(1, 2)) / math.sqrt(hs), -1)
            x = x + linear((a @ V).reshape(C), p["decoder.ao_w"][l], p["decoder.ao_b"][l])
            h = ln(x, p["decoder.ca_ln_w"][l], p["decoder.ca_ln_b"][l])
            q = linear(h, p["decoder.ca_q_w"][l], p["decoder.ca_q_b"][l])
            K, V = ckv[l].split(C, dim=-1)
            K = K.view(-1, H, hs).transpose(0, 1)
            V = V.view(-1, H, hs).transpose(0, 1)
            a = torch.softmax((q.view(H, 1, hs) @ K.transpose(1, 2)) / math.sqrt(hs), -1)
            x = x + linear((a @ V).reshape(C), p["decoder.ca_o_w"][l], p["decoder.ca_o_b"][l])
            h = ln(x, p["decoder.ln2_w"][l], p["decoder.ln2_b"][l])
            h = F.gelu(linear(h, p["decoder.fc_w"][l], p["decoder.fc_b"][l]), approximate="tanh")
            x = x + linear(h, p["decoder.fp_w"][l], p["decoder.fp_b"][l])
        x = ln(x, p["decoder.lnf_w"], p["decoder.lnf_b"])
        return linear(x, p["decoder.lm_w"], p["decoder.lm_b"])

    pos = 0
    for t in [DECODE] + list(question) + [SEP]:
        logits = step(t, pos)
        pos += 1
    out = []
    for _ in range(max_new):
        t = int(torch.argmax(logits))
        out.append(t)
        if len(out) == max_new:
            break
        logits = step(t, pos)
        pos += 1
    return out
