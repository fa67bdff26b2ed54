#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# test-assistant-correction.sh: correct -> retrain -> see the correction
# reflected, through mvaema-cli on a temporary library: synth -> import ->
# train a tiny model -> ask one question on one image (recorded) -> accept an
# answer about another image -> correct the first answer with a distinctive
# text -> train --from-reviews (default fine-tune settings) -> models adopt ->
# ask the same question on the same image: the answer is the corrected text.
set -euo pipefail
cli=${MVAEMA_CLI:?MVAEMA_CLI not set}
py=/usr/bin/python3
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
json() { "$py" -c "import json,sys; d=json.loads(sys.argv[1]); print(eval(sys.argv[2]))" "$1" "$2"; }
# words A B: the lowercased words of B found in A, as a share of B's words
words() {
  "$py" -c "
import sys
a = sys.argv[1].lower().split(); b = sys.argv[2].lower().split()
print(sum(1 for w in b if w in a) / len(b))" "$1" "$2"
}

cd "$dir"
syn=$dir/syn
db=$dir/lib/library.db
# the same tiny model as test-assistant-cli.sh: 20 steps of the small configuration
"$cli" synth -o "$syn" -n 2 --width 256 --height 192 --databar -t 2 --seed 3 >/dev/null 2>&1
"$cli" train --data "$syn" --out "$dir/m0" --steps 20 --config small --batch 8 --threads 2 \
  --vocab 600 >/dev/null 2>&1 || fail "training the test model"
"$cli" import --db "$db" "$syn" >/dev/null 2>&1 || fail "import"
img=$syn/particles/particles-0001.tif
other=$syn/nanowires/nanowires-0000.tif

a1=$("$cli" ask "$img" --family 2 --db "$db" --model "$dir/m0" --threads 2 --json)
q1=$(json "$a1" "d['qa_id']"); v1=$(json "$a1" "d['model_version_id']")
before=$(json "$a1" "d['answer']")
a2=$("$cli" ask "$other" --family 1 --db "$db" --model "$dir/m0" --threads 2 --json)
"$cli" review --db "$db" "$(json "$a2" "d['qa_id']")" accept >/dev/null
corr="Corrected by hand: twelve violet hexagons sit on a checkerboard of 7 nm tiles."
"$cli" review --db "$db" "$q1" correct "$corr" >/dev/null
[ "$(words "$before" "$corr")" != 1.0 ] || fail "the model already gave the correction: $before"

r=$("$cli" train --from-reviews --db "$db" --threads 2 --json 2>/dev/null) || fail "train --from-reviews"
[ "$(json "$r" "d['corrected'] == 1 and d['reviewed'] == 2 and d['base_version_id'] == $v1")" = True ] \
  || fail "retrain result: $r"
# the comparison's teacher-forced loss: with two reviewed images it scores
# the training pairs (the correction among them), which the new version has
# learned, so their loss per token must fall
[ "$(json "$r" "d['old']['nll'] > 0 and d['new']['nll'] > 0 and (not d['heldout_is_train'] or d['new']['nll'] < d['old']['nll'])")" = True ] \
  || fail "held-out loss per token old -> new: $r"
v2=$(json "$r" "d['model_version_id']")
grep -c "twelve violet hexagons" "$(json "$r" "d['model']")/data/qa.jsonl" | grep -qx 3 \
  || fail "the correction is not repeated 3 times in the training data"
"$cli" models --db "$db" adopt "$v2" >/dev/null

a3=$("$cli" ask "$img" --family 2 --db "$db" --threads 2 --json)
[ "$(json "$a3" "d['model_version_id']")" = "$v2" ] || fail "not asked with the new version: $a3"
after=$(json "$a3" "d['answer']")
share=$(words "$after" "$corr")
echo "before: $before"
echo "after:  $after (share of corrected words: $share; retrain: $r)"
"$py" -c "import sys; sys.exit(0 if float(sys.argv[1]) >= 0.8 else 1)" "$share" \
  || fail "the correction is not reflected: asked again, the model says “$after”"
[ "$(json "$r" "d['reflected']")" = 1 ] || fail "retrain did not count the correction as learned: $r"
echo "PASS"
