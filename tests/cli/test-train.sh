#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# test-train.sh: `mvaema-cli train` end to end on a tiny synth-like folder this
# test writes itself (PNG micrographs from Python's standard library + qa.jsonl):
# outputs and their contents, determinism, fine-tuning with --init, ablations,
# one-line errors on bad input, and Ctrl+C leaving a loadable checkpoint.
set -euo pipefail
cli=${MVAEMA_CLI:?MVAEMA_CLI not set}
py=/usr/bin/python3
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# --- data: 4 categories x 3 images, 3 pairs each; one with a data bar -------
"$py" - "$dir/data" <<'PY'
import json, os, struct, sys, zlib, random
root = sys.argv[1]
random.seed(5)
def png(path, w, h, pix):
    raw = b''.join(b'\x00' + bytes(pix[y * w:(y + 1) * w]) for y in range(h))
    def chunk(t, d):
        c = struct.pack('>I', len(d)) + t + d
        return c + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)
    with open(path, 'wb') as f:
        f.write(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 0, 0, 0, 0))
                + chunk(b'IDAT', zlib.compress(raw)) + chunk(b'IEND', b''))
cats = {
    'particles': lambda x, y, k: 220 if ((x - 20 - 9 * k) % 40) ** 2 + ((y - 25) % 40) ** 2 < 120 else 40,
    'nanowires': lambda x, y, k: 200 if (x + y * (k + 1) // 3) % 16 < 3 else 50,
    'porous': lambda x, y, k: 30 if ((x * 7 + y * 13 + k) % 23) < 5 else 180,
    'films': lambda x, y, k: 120 + (x * (k + 1)) % 30,
}
lines = []
for c, f in cats.items():
    os.makedirs(os.path.join(root, c), exist_ok=True)
    for k in range(3):
        w, h = 96 + 16 * k, 80
        pix = [min(255, max(0, f(x, y, k) + random.randint(-10, 10))) for y in range(h) for x in range(w)]
        rel = f'{c}/{c}-{k:04d}.png'
        png(os.path.join(root, rel), w, h, pix)
        cap = f'This SEM image shows {c}.'
        qa = [
            ('What type of nanomaterial is shown?', c),
            (f'{cap} How large are the features?', f'The {c} features are about {20 + 5 * k} nm across, 1.5 µm apart.'),
            ('Is the image an SEM or a TEM image?', 'It is an SEM image with Å-level noise: no 😀.'),
        ]
        for i, (q, a) in enumerate(qa):
            lines.append(json.dumps({'image': rel, 'category': c, 'family': i + 1, 'question': q,
                                     'answer': a, 'params': {'k': k},
                                     'caption': cap if q.startswith(cap) else None},
                                    ensure_ascii=False))
with open(os.path.join(root, 'qa.jsonl'), 'w') as f:
    f.write('\n'.join(lines) + '\n')
PY

common=(--data "$dir/data" --config small --batch 4 --threads 2 --vocab 400)

# --- a short run ----------------------------------------------------------------
"$cli" train "${common[@]}" --out "$dir/m1" --steps 6 --seed 3 --json > "$dir/m1.json" 2> "$dir/m1.err" \
  || { cat "$dir/m1.err"; fail "train exited $?"; }
for f in model.safetensors tokenizer.json train-log.json; do
  [ -s "$dir/m1/$f" ] || fail "missing $f"
done
[ "$(grep -c '^train: step [0-9]*/6 epoch' "$dir/m1.err")" -ge 6 ] || { cat "$dir/m1.err"; fail "no per-step progress"; }
"$py" - "$dir/m1" "$dir/m1.json" <<'PY'
import json, math, struct, sys
d, summ = sys.argv[1], json.load(open(sys.argv[2]))
for k in ('out', 'steps', 'loss', 'itc', 'itm', 'lm', 'seconds', 'samples_per_s', 'vocab_size'):
    assert k in summ, k
assert summ['steps'] == 6, summ
assert summ['train_images'] + summ['val_images'] == 12
log = json.load(open(d + '/train-log.json'))
assert log['seed'] == 3 and log['threads'] == 2 and log['batch'] == 4
assert log['config']['mve.width'] == '32'
assert len(log['step_log']) == 6
for s in log['step_log']:
    assert all(math.isfinite(s[k]) for k in ('loss', 'itc', 'itm', 'lm')), s
    assert s['loss'] > 0 and s['lm'] > 0
tok = json.load(open(d + '/tokenizer.json'))
assert tok['format'] == 'mvaema-bpe' and tok['vocab_size'] <= 400
raw = open(d + '/model.safetensors', 'rb').read()
(n,) = struct.unpack('<Q', raw[:8])
hdr = json.loads(raw[8:8 + n])
meta = hdr.pop('__metadata__')
assert meta['mve.tokenizer'] == 'tokenizer.json', meta
assert int(meta['mve.vocab_size']) == tok['vocab_size'] == summ['vocab_size'], meta
end = max(v['data_offsets'][1] for v in hdr.values())
assert 8 + n + end == len(raw), 'data section size'
print('run ok:', len(hdr), 'tensors, loss', summ['loss'])
PY

# --- determinism: same seed and threads give the same bytes -----------------------
"$cli" train "${common[@]}" --out "$dir/m2" --steps 6 --seed 3 2> /dev/null > /dev/null || fail "second run"
cmp -s "$dir/m1/model.safetensors" "$dir/m2/model.safetensors" || fail "same seed, different weights"
cmp -s "$dir/m1/tokenizer.json" "$dir/m2/tokenizer.json" || fail "same data, different tokenizer"

# --- --augment: recorded in the log, repeatable, and it changes the training ------------
"$cli" train "${common[@]}" --out "$dir/a1" --steps 6 --seed 3 --augment 2> /dev/null > /dev/null \
  || fail "--augment run"
grep -q '"augment" : true' "$dir/a1/train-log.json" || fail "the log does not record --augment"
grep -q '"augment" : false' "$dir/m1/train-log.json" || fail "the log does not record augment false"
"$cli" train "${common[@]}" --out "$dir/a2" --steps 6 --seed 3 --augment 2> /dev/null > /dev/null \
  || fail "second --augment run"
cmp -s "$dir/a1/model.safetensors" "$dir/a2/model.safetensors" || fail "--augment is not repeatable"
cmp -s "$dir/m1/model.safetensors" "$dir/a1/model.safetensors" && fail "--augment changed nothing"

# --- fine-tune from it: the tokenizer is kept ---------------------------------------
"$cli" train --data "$dir/data" --init "$dir/m1" --out "$dir/m3" --steps 2 --batch 4 --threads 2 \
  > /dev/null 2> "$dir/m3.err" || { cat "$dir/m3.err"; fail "--init run"; }
cmp -s "$dir/m1/tokenizer.json" "$dir/m3/tokenizer.json" || fail "--init changed the tokenizer"
grep -q '"tokenizer_trained" : false' "$dir/m3/train-log.json" || fail "--init trained a tokenizer"

# --- ablation: no ITC, no ITM --------------------------------------------------------
"$cli" train "${common[@]}" --out "$dir/m4" --steps 2 --ablate itc,itm --json 2> /dev/null > "$dir/m4.json" \
  || fail "ablation run"
"$py" -c 'import json,sys; s=json.load(open(sys.argv[1])); assert s["itc"] == 0 and s["itm"] == 0 and s["lm"] > 0, s; assert s["config"]["mve.use_itc"] == "0"' "$dir/m4.json" \
  || fail "ablation not applied"

# --- bad input: non-zero exit, one line naming the problem -----------------------------
expect_error() {
  local want=$1; shift
  local rc=0
  "$cli" train "$@" > /dev/null 2> "$dir/err" || rc=$?
  [ $rc -ne 0 ] || fail "accepted: $*"
  # progress lines may come first; the reason is one line, the last one
  [ "$(grep -c '^mvaema-cli:' "$dir/err")" -eq 1 ] || { cat "$dir/err"; fail "not one reason line: $*"; }
  tail -n 1 "$dir/err" | grep -q -- "^mvaema-cli: .*$want" || { cat "$dir/err"; fail "last line lacks '$want': $*"; }
}
expect_error "required" --out "$dir/x"
expect_error "not a folder" --data "$dir/nope" --out "$dir/x"
expect_error "batch" "${common[@]}" --out "$dir/x" --batch 1
expect_error "ablate" "${common[@]}" --out "$dir/x" --ablate everything
expect_error "not both" "${common[@]}" --out "$dir/x" --steps 2 --epochs 1
expect_error "paper or small" --data "$dir/data" --out "$dir/x" --config huge
mkdir -p "$dir/bad"
cp -r "$dir/data/films" "$dir/bad/"
printf '{"image": "films/films-0000.png", "question": "q?", "answer": "a."}\nnot json\n' > "$dir/bad/qa.jsonl"
expect_error "line 2" --data "$dir/bad" --out "$dir/x"
printf '{"image": "films/missing.png", "question": "q?", "answer": "a."}\n' > "$dir/bad/qa.jsonl"
expect_error "not found" --data "$dir/bad" --out "$dir/x"
printf 'garbage' > "$dir/bad/films/films-0001.png"
printf '{"image": "films/films-0001.png", "question": "q?", "answer": "a."}\n{"image": "films/films-0000.png", "question": "q?", "answer": "a."}\n' > "$dir/bad/qa.jsonl"
expect_error "films-0001.png" --data "$dir/bad" --out "$dir/x"
printf '' > "$dir/bad/qa.jsonl"
expect_error "no question" --data "$dir/bad" --out "$dir/x"
mkdir -p "$dir/broken"
printf 'not a checkpoint' > "$dir/broken/model.safetensors"
cp "$dir/m1/tokenizer.json" "$dir/broken/"
expect_error "safetensors" --data "$dir/data" --init "$dir/broken" --out "$dir/x" --steps 1
[ ! -e "$dir/x/model.safetensors" ] || fail "a failed run wrote a model"

# --- Ctrl+C: stops after a step, writes a checkpoint that loads -------------------------
"$cli" train "${common[@]}" --out "$dir/m5" --steps 100000 > /dev/null 2> "$dir/m5.err" &
pid=$!
for _ in $(seq 1 600); do
  grep -q '^train: step 2/' "$dir/m5.err" 2>/dev/null && break
  kill -0 $pid 2>/dev/null || break
  sleep 0.1
done
kill -INT $pid
rc=0
wait $pid || rc=$?
[ $rc -eq 130 ] || { cat "$dir/m5.err"; fail "Ctrl+C exit status $rc, want 130"; }
grep -q 'interrupted' "$dir/m5.err" || fail "no interruption message"
[ -s "$dir/m5/model.safetensors" ] || fail "no checkpoint after Ctrl+C"
grep -q '"stopped" : "cancelled"' "$dir/m5/train-log.json" || fail "log does not say cancelled"
ls "$dir/m5" | grep -q tmp && fail "temporary file left behind"
"$cli" train --data "$dir/data" --init "$dir/m5" --out "$dir/m6" --steps 1 --batch 4 --threads 2 \
  > /dev/null 2> "$dir/m6.err" || { cat "$dir/m6.err"; fail "checkpoint after Ctrl+C does not load"; }
echo "ok"
