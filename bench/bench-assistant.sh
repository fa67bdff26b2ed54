#!/usr/bin/env bash
# bench/bench-assistant.sh: the assistant's user-facing times on this machine.
#   bench/bench-assistant.sh [BUILD_DIR] [MODEL_DIR] [PAIRS]
# 1. Ask: time from the call to the first token and to the whole answer of
#    `mvaema-cli ask --json --max-tokens 64` (first_token_ms, ms: image
#    loading and preprocessing included, process start and model loading
#    not), median of 5 runs, next to the engine's own 64-token generation
#    (`mvaema-cli bench`, the baseline) as a ratio. MODEL_DIR defaults to the
#    default model; without one, a paper-configuration model is trained for a
#    single step (the timing does not depend on the weights, but an untrained
#    model may stop before 64 tokens: the token count is printed).
# 2. Retrain: `mvaema-cli train --from-reviews` (default 200 steps, batch 16)
#    on a library with PAIRS (default 500) accepted pairs of synthetic images,
#    wall time, next to a plain `mvaema-cli train --init` of the same steps on
#    the same pairs (baseline) as a ratio.
# The load average is printed: other work on the machine slows every figure.
# RETRAIN_ARGS in the environment is added to the retrain command line
# (e.g. RETRAIN_ARGS="--lr 1e-4 --steps 50").
set -euo pipefail
build=${1:-build}
model=${2:-}
pairs=${3:-500}
cli="$build/app/mvaema-cli"
[ -x "$cli" ] || { echo "bench-assistant: $cli not found (build first)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
py=/usr/bin/python3
per_class=$(( (pairs + 99) / 100 ))   # 10 categories x 10 pairs per image

echo "machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
"$cli" synth -o "$tmp/syn" -n "$per_class" --seed 11 --databar >/dev/null 2>&1
if [ -z "$model" ]; then
  if [ -n "${MVAEMA_MODEL:-}" ]; then model=$MVAEMA_MODEL
  elif [ -f "$(dirname "$0")/../data/models/default/model.safetensors" ]; then
    model=$(cd "$(dirname "$0")/../data/models/default" && pwd)
  else
    echo "no default model: training a paper-configuration model for one step"
    "$cli" train --data "$tmp/syn" --out "$tmp/m0" --steps 1 --batch 8 >/dev/null 2>&1
    model=$tmp/m0
  fi
fi
echo "model: $model"

# --- 1. ask ---------------------------------------------------------------------------
img=$(ls "$tmp"/syn/particles/*.tif | head -1)
for i in 1 2 3 4 5 6; do
  "$cli" ask "$img" --family 3 --model "$model" --json --max-tokens 64
done | tail -5 > "$tmp/ask.jsonl"    # the first run warms the caches
base=$("$cli" bench --steps 1 --batch 2 --gen-runs 5 --json 2>/dev/null || true)
"$py" - "$tmp/ask.jsonl" "$base" <<'PY'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
first = statistics.median(r['first_token_ms'] for r in runs)
full = statistics.median(r['ms'] for r in runs)
toks = statistics.median(r['tokens'] for r in runs)
print(f"ask: first token {first:.0f} ms, whole answer {full:.0f} ms for {toks:.0f} tokens "
      f"({full / max(toks, 1) * 64:.0f} ms per 64 tokens)")
try:
    b = json.loads(sys.argv[2])
    key = "generate_ms_64"
    print(f"engine baseline ({key}): {b[key]:.0f} ms; ask / engine = {full / max(toks, 1) * 64 / b[key]:.2f}")
except Exception:
    print("engine baseline: mvaema-cli bench gave no generation time")
PY

# --- 2. retrain from reviews ------------------------------------------------------------
db=$tmp/lib/library.db
"$cli" import --db "$db" "$tmp/syn" >/dev/null 2>&1
ids=$("$py" - "$db" "$pairs" <<'PY'
import sqlite3, sys
con = sqlite3.connect(sys.argv[1])
print(' '.join(str(r[0]) for r in con.execute('select id from qa_pairs order by id limit ?', (int(sys.argv[2]),))))
PY
)
n=0
for id in $ids; do "$cli" review --db "$db" "$id" accept >/dev/null; n=$((n + 1)); done
echo "reviewed pairs: $n"
t0=$(date +%s.%N)
"$cli" train --from-reviews --db "$db" --model "$model" --json ${RETRAIN_ARGS:-} 2>/dev/null > "$tmp/retrain.json"
t1=$(date +%s.%N)
mkdir -p "$tmp/exp"; "$cli" export --db "$db" "$tmp/exp/qa.jsonl" --reviewed-only >/dev/null 2>&1 || true
t2=$(date +%s.%N)
if [ -s "$tmp/exp/qa.jsonl" ]; then
  "$cli" train --data "$tmp/exp" --out "$tmp/plain" --init "$model" --steps 200 --batch 16 \
    --lr 3e-4 --val-fraction 0 >/dev/null 2>&1
fi
t3=$(date +%s.%N)
"$py" - "$tmp/retrain.json" "$t0" "$t1" "$t2" "$t3" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
t0, t1, t2, t3 = map(float, sys.argv[2:])
print(f"retrain: {t1 - t0:.1f} s wall for {r['reviewed']} reviewed + {r['replay']} replay pairs, "
      f"{r['heldout']} compared (BLEU-4 {r['old']['bleu4']:.3f} -> {r['new']['bleu4']:.3f}, "
      f"loss per answer token {r['old'].get('nll', float('nan')):.3f} -> {r['new'].get('nll', float('nan')):.3f})")
if t3 - t2 > 1:
    print(f"plain train --init, same steps (baseline): {t3 - t2:.1f} s; retrain / baseline = {(t1 - t0) / (t3 - t2):.2f}")
PY
