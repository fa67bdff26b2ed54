#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# test-assistant-cli.sh: the assistant end to end through mvaema-cli on a
# temporary library: synth -> import -> train a tiny model -> ask (--db,
# recorded) -> review (accept, correct, reject, undo) -> train --from-reviews
# -> models adopt -> ask again (the new version recorded) -> rollback; ask
# --json keys and presets, the overlay PNG, classify --json rankings, ask
# --all-images, Ctrl+C during a retrain, and one-line errors on bad input.
set -euo pipefail
cli=${MVAEMA_CLI:?MVAEMA_CLI not set}
py=/usr/bin/python3
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
json() { "$py" -c "import json,sys; d=json.loads(sys.argv[1]); print(eval(sys.argv[2]))" "$1" "$2"; }
# expect_fail PATTERN CMD...: non-zero exit and a one-line error matching PATTERN
expect_fail() {
  local pat=$1; shift
  local err rc=0
  err=$("$@" 2>&1 >/dev/null) || rc=$?
  [ "$rc" -ne 0 ] || fail "expected failure: $*"
  [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] || fail "not one line: $err"
  printf '%s' "$err" | grep -q -- "$pat" || fail "error of '$*' does not mention '$pat': $err"
}

cd "$dir"
syn=$dir/syn
model=$dir/m0
db=$dir/lib/library.db
"$cli" synth -o "$syn" -n 2 --width 256 --height 192 --databar -t 2 --seed 3 >/dev/null 2>&1
"$cli" train --data "$syn" --out "$model" --steps 20 --config small --batch 8 --threads 2 \
  --vocab 600 >/dev/null 2>&1 || fail "training the test model"
img=$syn/nanowires/nanowires-0000.tif
img2=$syn/particles/particles-0001.tif

# --- ask --json keys, preset question, caption -------------------------------------
out=$("$cli" ask "$img" "What is shown in this image?" --model "$model" --json --max-tokens 12)
for k in answer model ms first_token_ms tokens family category caption question; do
  [ "$(json "$out" "'$k' in d")" = True ] || fail "ask --json lacks $k: $out"
done
[ "$(json "$out" "isinstance(d['answer'], str) and d['ms'] > 0 and 0 < d['tokens'] <= 12")" = True ] \
  || fail "ask --json values: $out"
[ "$(json "$out" "d['model']")" = "$model" ] || fail "model is not $model: $out"
# no category given: the model's best guess gives the caption (issue 10: "the
# caption uses the image's known category (user-set or predicted)")
[ "$(json "$out" "d['family'] == 0 and d['category_predicted'] is True and d['category'] is not None and d['caption'].startswith('This SEM image shows')")" = True ] \
  || fail "free question: $out"
out=$("$cli" ask "$img" "" --family 3 --category nanowires --model "$model" --json --max-tokens 8)
[ "$(json "$out" "d['family'] == 3 and d['question'].startswith('What is the size')")" = True ] \
  || fail "family 3 preset question: $out"
[ "$(json "$out" "d['caption']")" = "This SEM image shows nanowires." ] || fail "caption: $out"
[ "$(json "$out" "d['category_predicted']")" = False ] || fail "a given category counted as predicted: $out"
# streamed plain output ends with the answer and a newline
plain=$("$cli" ask "$img" --family 1 --model "$model" --max-tokens 8)
[ -n "$plain" ] || fail "plain ask printed nothing"

# --- overlay PNG: the image's size, not uniform, data bar untouched -----------------
"$cli" ask "$img" --family 2 --model "$model" --max-tokens 8 --overlay "$dir/ov.png" >/dev/null
info=$("$cli" info --json "$img")
w=$(json "$info" "d['width']"); h=$(json "$info" "d['height']")
"$py" - "$dir/ov.png" "$w" "$h" <<'PY' || fail "overlay PNG check"
import struct, sys, zlib
path, W, H = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
data = open(path, 'rb').read()
assert data[:8] == b'\x89PNG\r\n\x1a\n', 'not a PNG'
pos, idat, ihdr = 8, b'', None
while pos < len(data):
    n, t = struct.unpack('>I4s', data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if t == b'IHDR': ihdr = struct.unpack('>IIBBBBB', body)
    if t == b'IDAT': idat += body
    pos += 12 + n
w, h, depth, ctype = ihdr[:4]
assert (w, h) == (W, H), f'overlay is {w}x{h}, image is {W}x{H}'
bpp = {2: 3, 6: 4}[ctype]
raw = zlib.decompress(idat)
rows, prev, i = [], bytearray(w * bpp), 0
for y in range(h):
    f = raw[i]; line = bytearray(raw[i + 1:i + 1 + w * bpp]); i += 1 + w * bpp
    for x in range(len(line)):
        a = line[x - bpp] if x >= bpp else 0; b = prev[x]; c = prev[x - bpp] if x >= bpp else 0
        if f == 1: line[x] = (line[x] + a) & 255
        elif f == 2: line[x] = (line[x] + b) & 255
        elif f == 3: line[x] = (line[x] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    rows.append(line); prev = line
px = set()
for y in range(0, h, 7):
    for x in range(0, w, 7):
        px.add(bytes(rows[y][x * bpp:x * bpp + 3]))
assert len(px) > 20, f'overlay nearly uniform ({len(px)} colours)'
# colour (heat map) above the data bar, gray pixels in the data bar
def colourful(y): return sum(1 for x in range(w) if len(set(rows[y][x * bpp:x * bpp + 3])) > 1)
assert colourful(h // 3) > w // 4, 'no heat map over the image'
assert colourful(h - 3) == 0, 'the heat map covers the data bar'
PY
expect_fail "past the answer" "$cli" ask "$img" --family 2 --model "$model" --max-tokens 4 \
  --overlay "$dir/ov2.png" --overlay-token 99

# --- classify --json ------------------------------------------------------------------
out=$("$cli" classify "$img" "$img2" --model "$model" --json)
[ "$(printf '%s\n' "$out" | wc -l)" -eq 2 ] || fail "classify: one line per image: $out"
first=$(printf '%s\n' "$out" | head -1)
[ "$(json "$first" "d['path']")" = "$img" ] || fail "classify path: $first"
[ "$(json "$first" "sorted(r['category'] for r in d['ranking']) == sorted('biological fibres films mems nanowires particles patterned porous powder tips'.split())")" = True ] \
  || fail "classify: not the 10 categories: $first"
[ "$(json "$first" "abs(sum(r['score'] for r in d['ranking']) - 1) < 1e-3")" = True ] || fail "scores do not sum to 1: $first"
[ "$(json "$first" "all(a['score'] >= b['score'] for a, b in zip(d['ranking'], d['ranking'][1:]))")" = True ] \
  || fail "ranking not best first: $first"
out=$("$cli" classify "$img" --model "$model" --json --top 5)
[ "$(json "$out" "len(d['ranking'])")" = 5 ] || fail "--top 5: $out"

# --- library workflow ---------------------------------------------------------------------
"$cli" import --db "$db" "$syn" >/dev/null 2>&1 || fail "import"
a1=$("$cli" ask "$img" --family 2 --db "$db" --model "$model" --json --max-tokens 10)
a2=$("$cli" ask "$img2" --family 3 --db "$db" --model "$model" --json --max-tokens 10)
a3=$("$cli" ask "$img2" --family 4 --db "$db" --model "$model" --json --max-tokens 10)
q1=$(json "$a1" "d['qa_id']"); q2=$(json "$a2" "d['qa_id']"); q3=$(json "$a3" "d['qa_id']")
v1=$(json "$a1" "d['model_version_id']")
[ "$(json "$a1" "d['category']")" = nanowires ] || fail "the library's category is not used: $a1"
# an image new to the library: imported, its category predicted and used for the caption
"$cli" synth -o "$dir/extra" -n 1 --width 128 --height 96 --seed 9 -t 1 >/dev/null 2>&1
a0=$("$cli" ask "$dir/extra/tips/tips-0000.tif" --family 1 --db "$db" --model "$model" --json --max-tokens 4)
[ "$(json "$a0" "d['category'] in 'biological fibres films mems nanowires particles patterned porous powder tips'.split() and d['caption'].startswith('This SEM image shows')")" = True ] \
  || fail "new image: no predicted category: $a0"
"$cli" review --db "$db" "$q1" accept >/dev/null
corr="The particles are about 40 nm across and evenly spaced."
"$cli" review --db "$db" "$q2" correct "$corr" >/dev/null
"$cli" review --db "$db" "$q3" reject >/dev/null
out=$("$cli" review --db "$db" --undo --json)
[ "$(json "$out" "d['qa_id'] == $q3 and d['state'] == 'none'")" = True ] || fail "undo: $out"
"$cli" review --db "$db" "$q3" reject >/dev/null
out=$("$cli" review --db "$db" "$q2" correct "$corr" --json)
[ "$(json "$out" "d['state']")" = corrected ] || fail "correct: $out"

r=$("$cli" train --from-reviews --db "$db" --steps 8 --batch 4 --threads 2 --json 2>/dev/null) \
  || fail "train --from-reviews"
v2=$(json "$r" "d['model_version_id']")
[ "$(json "$r" "d['reviewed'] == 2 and d['base_version_id'] == $v1 and 'bleu4' in d['new'] and d['old']['nll'] > 0 and d['new']['nll'] > 0")" = True ] \
  || fail "retrain result: $r"
newdir=$(json "$r" "d['model']")
[ -f "$newdir/model.safetensors" ] || fail "no model in $newdir"
grep -q "evenly spaced" "$newdir/data/qa.jsonl" || fail "the correction is not in the training data"
list=$("$cli" models --db "$db" list --json)
[ "$(printf '%s\n' "$list" | "$py" -c "
import json,sys
v={d['id']:d for d in map(json.loads, sys.stdin)}
print(v[$v2]['adopted'] is False and v[$v1]['adopted'] is True and v[$v2]['parent_id'] == $v1)")" = True ] \
  || fail "new version must be recorded, not adopted: $list"
"$cli" models --db "$db" adopt "$v2" >/dev/null
a4=$("$cli" ask "$img" --family 2 --db "$db" --json --max-tokens 6)
[ "$(json "$a4" "d['model_version_id']")" = "$v2" ] || fail "ask after adopt is not recorded with v$v2: $a4"
[ "$(json "$a4" "d['model']")" = "$newdir" ] || fail "ask after adopt did not use $newdir: $a4"
"$cli" models --db "$db" rollback >/dev/null
a5=$("$cli" ask "$img" --family 2 --db "$db" --json --max-tokens 6)
[ "$(json "$a5" "d['model_version_id']")" = "$v1" ] || fail "rollback: $a5"
expect_fail "nothing to roll back" "$cli" models --db "$db" rollback
expect_fail "current model" "$cli" models --db "$db" discard "$v1"
"$cli" models --db "$db" discard "$v2" >/dev/null
[ ! -e "$newdir" ] || fail "discard left $newdir"
expect_fail "weights" "$cli" models --db "$db" adopt "$v2"

# --- batch over the library -------------------------------------------------------------
"$cli" ask --all-images --family 4 --csv "$dir/all.csv" --db "$db" --max-tokens 4 2>/dev/null >/dev/null
[ "$(wc -l < "$dir/all.csv")" -eq 22 ] || fail "--all-images: expected 21 rows (20 synth + 1 new) + header"
head -1 "$dir/all.csv" | grep -q '^micrograph_id,image,category,family,question,answer' || fail "CSV header"

# --- Ctrl+C during a retrain: exit 130, nothing recorded --------------------------------
n_before=$("$cli" models --db "$db" list --json | wc -l)
rc=0
"$cli" train --from-reviews --db "$db" --steps 1000000 --batch 4 --threads 2 2>/dev/null &
pid=$!
sleep 2
kill -INT "$pid"
wait "$pid" || rc=$?
[ "$rc" -eq 130 ] || fail "Ctrl+C during retrain: exit $rc, not 130"
[ "$("$cli" models --db "$db" list --json | wc -l)" -eq "$n_before" ] || fail "a cancelled retrain recorded a version"

# --- device: CUDA hidden (no module there): auto and the default run on the CPU and say
# why; asked for by name it is an error; a bad name is an error ---------------------------
out=$(MVAEMA_CUDA_MODULE=$dir/none.so "$cli" ask "$img" --family 1 --model "$model" --json \
  --max-tokens 2 --device auto)
[ "$(json "$out" "d['device'] == 'cpu' and d['device_note'].startswith('CUDA is not available (')")" = True ] \
  || fail "ask --device auto: $out"
out=$(MVAEMA_CUDA_MODULE=$dir/none.so "$cli" ask "$img" --family 1 --model "$model" --json --max-tokens 2)
[ "$(json "$out" "d['device'] == 'cpu' and 'device_note' in d")" = True ] || fail "ask default device: $out"
out=$("$cli" ask "$img" --family 1 --model "$model" --json --max-tokens 2 --device cpu)
[ "$(json "$out" "d['device'] == 'cpu' and 'device_note' not in d")" = True ] || fail "ask --device cpu: $out"
MVAEMA_CUDA_MODULE=$dir/none.so expect_fail "CUDA is not available" "$cli" ask "$img" --family 1 \
  --model "$model" --device cuda
expect_fail "cpu, cuda or auto" "$cli" ask "$img" --family 1 --model "$model" --device tpu
expect_fail "cpu, cuda or auto" "$cli" train --from-reviews --db "$db" --device tpu
r=$(MVAEMA_CUDA_MODULE=$dir/none.so "$cli" train --from-reviews --db "$db" --steps 2 --batch 2 \
  --threads 2 --focus-rounds 0 --device auto --json 2>/dev/null) || fail "train --from-reviews --device auto"
[ "$(json "$r" "d['device'] == 'cpu' and d['device_note'].startswith('CUDA is not available (')")" = True ] \
  || fail "retrain device: $r"
"$cli" models --db "$db" discard "$(json "$r" "d['model_version_id']")" >/dev/null

# --- errors: one line, non-zero ----------------------------------------------------------
expect_fail "nope.tif" "$cli" ask "$dir/nope.tif" "What is shown?" --model "$model"
echo "not an image" > "$dir/bad.png"
expect_fail "bad.png" "$cli" ask "$dir/bad.png" "What is shown?" --model "$model"
expect_fail "bad.png" "$cli" classify "$dir/bad.png" --model "$model"
expect_fail "model.safetensors" "$cli" ask "$img" "What is shown?" --model "$dir"
mkdir -p "$dir/broken"; echo "{}" > "$dir/broken/model.safetensors"; cp "$model/tokenizer.json" "$dir/broken/"
expect_fail "broken" "$cli" ask "$img" "What is shown?" --model "$dir/broken"
expect_fail "missing QUESTION" "$cli" ask "$img" --model "$model"
expect_fail "family" "$cli" ask "$img" "x" --family 11 --model "$model"
expect_fail "unknown category" "$cli" ask "$img" "x" --category rocks --model "$model"
expect_fail "999999" "$cli" review --db "$db" 999999 accept
expect_fail "unknown action" "$cli" review --db "$db" "$q1" maybe
expect_fail "corrected text" "$cli" review --db "$db" "$q1" correct
expect_fail "--csv" "$cli" ask --all-images --family 2 --db "$db"
empty=$dir/empty.db
expect_fail "no reviewed" "$cli" train --from-reviews --db "$empty" --model "$model"
echo "PASS"
