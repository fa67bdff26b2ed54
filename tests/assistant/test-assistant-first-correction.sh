#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# test-assistant-first-correction.sh: a new user's first correction with the
# shipped default model (data/models/default), through mvaema-cli on a
# temporary library: ask the 10 presets about a sample micrograph, accept 9,
# correct one, train --from-reviews with the default settings, adopt, ask
# the 10 presets again.
#   - the installed default model comes without its training data, and the
#     library holds no synthetic pairs: the retrain replays a synthetic set it
#     makes in <library>/replay-synth (at least 4 batches of replay pairs);
#   - the correction comes back word for word;
#   - the 9 accepted answers stay what they were (the correction does not
#     leak into the other answers about the image);
#   - where the assistant replaced a sentence (the scale from the metadata),
#     the model's own text is recorded beside the answer (extra "generated").
# Skips (77) when the default model is not in the source tree.
set -euo pipefail
cli=${MVAEMA_CLI:?MVAEMA_CLI not set}
src=${MVAEMA_SOURCE_DIR:?MVAEMA_SOURCE_DIR not set}
model=$src/data/models/default
img=$src/data/samples/gelatin-fibres-10pct.tif
[ -f "$model/model.safetensors" ] || { echo "SKIP: no default model in $model"; exit 77; }
py=/usr/bin/python3
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
json() { "$py" -c "import json,sys; d=json.loads(sys.argv[1]); print(eval(sys.argv[2]))" "$1" "$2"; }
# share A B: the share of B's words (lower case, in order: LCS) found in A
share() {
  "$py" - "$1" "$2" <<'PY'
import sys
a = sys.argv[1].lower().split(); b = sys.argv[2].lower().split()
m = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
for i in range(len(a)):
    for j in range(len(b)):
        m[i + 1][j + 1] = m[i][j] + 1 if a[i] == b[j] else max(m[i][j + 1], m[i + 1][j])
print(f"{m[len(a)][len(b)] / max(len(b), 1):.3f}")
PY
}

db=$dir/lib/library.db
# as installed: the model folder without the training data its log names
cp -r "$model" "$dir/default"
"$py" - "$dir/default/train-log.json" <<'PY'
import json, sys
log = json.load(open(sys.argv[1]))
log["data"] = "/nonexistent/training-data"
json.dump(log, open(sys.argv[1], "w"))
PY
model=$dir/default
export MVAEMA_MODEL=$model
corrected=4
corr="The fibre surfaces are rough and beaded, with a bead every few micrometres along each fibre."
declare -a before
for f in 1 2 3 4 5 6 7 8 9 10; do
  a=$("$cli" ask "$img" --family "$f" --db "$db" --threads 2 --json) || fail "ask family $f"
  before[$f]=$(json "$a" "d['answer']")
  id=$(json "$a" "d['qa_id']")
  if [ "$f" = 1 ]; then
    [ "$(json "$a" "d['scale_from_metadata']")" = True ] || fail "family 1 without the metadata scale: $a"
    extra=$("$py" -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select extra_json from qa_pairs where id=?', (int(sys.argv[2]),)).fetchone()[0])" "$db" "$id")
    [ "$(json "$extra" "d['generated'] == $(json "$a" "repr(d['generated'])")")" = True ] \
      || fail "the model's own text is not recorded: $extra"
  fi
  if [ "$f" = "$corrected" ]; then
    [ "$(share "${before[$f]}" "$corr")" != 1.000 ] || fail "the model already says the correction"
    "$cli" review --db "$db" "$id" correct "$corr" >/dev/null
  else
    "$cli" review --db "$db" "$id" accept >/dev/null
  fi
done

r=$("$cli" train --from-reviews --db "$db" --threads 2 --json 2>/dev/null) || fail "train --from-reviews"
echo "retrain: $r"
[ "$(json "$r" "d['reviewed'] == 10 and d['corrected'] == 1 and d['replay'] >= 64")" = True ] \
  || fail "retrain counts: $r"
[ -f "$dir/lib/replay-synth/qa.jsonl" ] || fail "no synthetic replay set in the library folder"
grep -q '"What type of nanomaterial is shown?"' "$(json "$r" "d['model']")/data/qa.jsonl" \
  || fail "the replay has no category pairs"
"$cli" models --db "$db" adopt "$(json "$r" "d['model_version_id']")" >/dev/null

for f in 1 2 3 4 5 6 7 8 9 10; do
  a=$("$cli" ask "$img" --family "$f" --db "$db" --threads 2 --json) || fail "ask family $f again"
  after=$(json "$a" "d['answer']")
  if [ "$f" = "$corrected" ]; then
    s=$(share "$after" "$corr")
    echo "family $f (corrected): $s of the correction: $after"
    [ "$s" = 1.000 ] || fail "the correction is not reflected: $after"
  else
    s=$(share "$after" "${before[$f]}")
    echo "family $f: $s of the accepted answer kept"
    "$py" -c "import sys; sys.exit(0 if float(sys.argv[1]) >= 0.8 else 1)" "$s" \
      || fail "family $f changed: before: ${before[$f]} / after: $after"
  fi
done
echo "ok"
