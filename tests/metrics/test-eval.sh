#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# test-eval.sh: `mvaema-cli eval` end to end on a tiny synth set with a tiny
# model: one held-out evaluation of a trained model and a 2-fold
# cross-validation, both writing report.json + report.html; the counts in the
# report, the three embedded figures, and one-line errors on bad options; the
# title names the model and data folders (not their paths), the baseline (the
# most common answer of the family, as bench/baseline-majority.py scores it)
# sits next to the model's scores, and a partial last epoch of the loss curve
# is placed where it stopped and marked.
set -euo pipefail
cli=${MVAEMA_CLI:?MVAEMA_CLI not set}
py=/usr/bin/python3
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$cli" synth --out "$dir/data" --per-class 1 --width 160 --height 120 --threads 2 --seed 4 \
  > /dev/null 2> "$dir/synth.err" || { cat "$dir/synth.err"; fail "synth"; }
pairs=$(wc -l < "$dir/data/qa.jsonl")
[ "$pairs" -eq 100 ] || fail "expected 100 pairs, got $pairs"

# 40 steps of batch 4 on 9 training images (10 pairs each): one whole epoch and
# part of a second
"$cli" train --data "$dir/data" --out "$dir/model" --config small --steps 40 --batch 4 \
  --vocab 300 --threads 2 > /dev/null 2> "$dir/train.err" || { cat "$dir/train.err"; fail "train"; }

# --- one held-out evaluation ----------------------------------------------------
"$cli" eval --data "$dir/data" --model "$dir/model" --max-tokens 8 --threads 2 \
  --report "$dir/r1" --json > "$dir/r1.out" 2> "$dir/r1.err" || { cat "$dir/r1.err"; fail "eval"; }
"$py" - "$dir/r1" "$dir/r1.out" <<'PY' || fail "report of the held-out evaluation"
import base64, json, re, sys
d = json.load(open(sys.argv[1] + '/report.json'))
out = json.loads(open(sys.argv[2]).read())
assert out['folds'] == 1 and out['summary']['top1']['folds'] == 1, out
assert d['folds'] == 1
assert d['per_fold'][0]['answers'] == 100, d['per_fold'][0]
assert d['classification']['count'] == 10
assert sum(sum(r) for r in d['classification']['confusion']) == 10
assert sum(f['answers'] for f in d['families']) == 100
assert len(d['families']) == 11 and all(f['answers'] == 10 for f in d['families'][:10])
assert any(c['series'] == 'train' for c in d['loss_curves']), 'loss curve from train-log.json'
for k in ('bleu2', 'bleu4', 'rouge1', 'rouge2', 'rougeL', 'meteor', 'top1', 'top5'):
    v = d['summary'][k]['mean']
    assert 0.0 <= v <= 1.0, (k, v)
assert d['summary'][k]['std'] == 0.0
html = open(sys.argv[1] + '/report.html', encoding='utf-8').read()
imgs = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
assert len(imgs) == 3, len(imgs)
for b in imgs:
    assert base64.b64decode(b)[:8] == b'\x89PNG\r\n\x1a\n'
assert 'http://' not in html and 'https://' not in html
# the title: folder names, not paths
assert d['title'] == 'Evaluation of model on data', d['title']
# a partial last epoch: where it stopped, marked, and said so under the chart
log = json.load(open(sys.argv[1] + '/../model/train-log.json'))
epochs = sorted({s['epoch'] for s in log['step_log']})
assert len(epochs) == 2, epochs
train = [c for c in d['loss_curves'] if c['series'] == 'train'][0]
assert 1 < train['epoch'][-1] < 2, train['epoch']
assert train['epoch'][:-1] == [1.0], train['epoch']
assert train['last_partial'].startswith('epoch 2: '), train
assert 'partial last epoch' in html
# the baseline is at hand (the model's training data): a column of the summary
assert d['baseline'].startswith('the most common answer'), d['baseline']
for k in ('bleu2', 'bleu4', 'rougeL', 'meteor'):
    assert 0.0 <= d['summary'][k]['baseline'] <= 1.0, (k, d['summary'][k])
assert 'top1' in d['summary'] and 'baseline' not in d['summary']['top1']
assert '<th>baseline</th>' in html
PY
# the same baseline as bench/baseline-majority.py (training pairs = the evaluation data here)
src=${MVAEMA_SOURCE_DIR:?MVAEMA_SOURCE_DIR not set}
"$py" "$src/bench/baseline-majority.py" --cli "$cli" --train "$dir/data/qa.jsonl" \
  --heldout "$dir/data/qa.jsonl" > "$dir/base.json" || fail "baseline-majority.py"
"$py" - "$dir/r1/report.json" "$dir/base.json" <<'PY' || fail "baseline differs from bench/baseline-majority.py"
import json, sys
d = json.load(open(sys.argv[1]))
b = json.load(open(sys.argv[2]))['corpus']
print('baseline bleu4: report', d['summary']['bleu4']['baseline'], 'script', b)
# the script's corpus line: bleu2/4 pooled over answers, mean_bleu2/4 and the rest means
pairs = {'bleu2': 'mean_bleu2', 'bleu4': 'mean_bleu4', 'corpus_bleu2': 'bleu2',
         'corpus_bleu4': 'bleu4', 'rouge1': 'rouge1', 'rouge2': 'rouge2', 'rougeL': 'rougeL',
         'meteor': 'meteor'}
for k, kb in pairs.items():
    assert abs(d['summary'][k]['baseline'] - b[kb]) < 1e-9, (k, d['summary'][k]['baseline'], b[kb])
PY

# --- 2-fold cross-validation ----------------------------------------------------
mkdir "$dir/tmp"
TMPDIR="$dir/tmp" "$cli" eval --data "$dir/data" --folds 2 --config small --steps 2 --batch 4 --vocab 300 \
  --max-tokens 6 --threads 2 --seed 1 --report "$dir/r2" > "$dir/r2.out" 2> "$dir/r2.err" \
  || { cat "$dir/r2.err"; fail "eval --folds 2"; }
grep -q "mean ± sd" "$dir/r2.out" || fail "no summary table: $(cat "$dir/r2.out")"
"$py" - "$dir/r2" <<'PY' || fail "report of the 2-fold run"
import json, sys
d = json.load(open(sys.argv[1] + '/report.json'))
assert d['folds'] == 2
assert [f['answers'] for f in d['per_fold']] != [0, 0]
assert sum(f['answers'] for f in d['per_fold']) == 100, d['per_fold']
assert d['classification']['count'] == 10
assert d['summary']['top1']['folds'] == 2
assert {c['fold'] for c in d['loss_curves']} == {0, 1}
assert d['title'] == '2-fold cross-validation on data', d['title']
assert d['summary']['bleu4']['folds'] == 2 and 'baseline' in d['summary']['bleu4'], d['summary']['bleu4']
PY
[ -z "$(ls -A "$dir/tmp")" ] || fail "fold folders left behind: $(ls "$dir/tmp")"

# --- errors: one line, non-zero ---------------------------------------------------
for args in "--model $dir/model" "--data $dir/data" "--data $dir/data --folds 0" \
            "--data $dir/data --folds 11 --config small" "--data $dir/nowhere --model $dir/model" \
            "--data $dir/data --model $dir/nowhere" "--data $dir/data --model $dir/model --steps 3"; do
  if "$cli" eval $args > /dev/null 2> "$dir/e.err"; then fail "eval $args succeeded"; fi
  [ "$(wc -l < "$dir/e.err")" -ge 1 ] || fail "eval $args: no message"
  grep -q "^mvaema-cli: eval: " "$dir/e.err" || fail "eval $args: $(cat "$dir/e.err")"
done
echo "ok"
