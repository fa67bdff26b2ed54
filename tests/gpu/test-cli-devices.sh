#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# test-cli-devices.sh: `mvaema-cli devices [--json]` lists the CPU and either
# CUDA devices or the reason there are none; `bench --device` refuses an
# unknown device, and `--device cuda` (train, bench) either runs or stops
# with one line; `--device auto` falls back to the CPU with a note.
set -euo pipefail
cli=${MVAEMA_CLI:?MVAEMA_CLI not set}
err=$(mktemp)
trap 'rm -f "$err"' EXIT
out=$("$cli" devices --json)
/usr/bin/python3 - "$out" <<'PY'
import json, sys
d = json.loads(sys.argv[1])
assert d['cpu']['threads'] >= 1 and 'OpenBLAS' in d['cpu']['blas'], d
c = d['cuda']
assert isinstance(c['available'], bool) and isinstance(c['devices'], list), d
if c['available']:
    assert c['devices'] and all(x['name'] and x['memory_mb'] > 0 for x in c['devices']), d
else:
    assert c['reason'] and '\n' not in c['reason'] and not c['devices'], d
print('devices json ok:', 'cuda' if c['available'] else 'cpu only (' + c['reason'] + ')')
PY
"$cli" devices | grep -q '^cpu: [0-9]* threads' || { echo "FAIL: devices text"; exit 1; }
"$cli" devices | grep -Eq '^cuda(:[0-9]+ |: none \()' || { echo "FAIL: devices cuda line"; exit 1; }
rc=0
"$cli" bench --device tpu > /dev/null 2> "$err" || rc=$?
[ $rc -ne 0 ] && [ "$(wc -l < "$err")" -eq 1 ] && grep -q 'cpu, cuda or auto' "$err" \
  || { cat "$err"; echo "FAIL: bench --device tpu"; exit 1; }
rc=0
"$cli" train --device cuda --data /nonexistent --out /nonexistent > /dev/null 2> "$err" || rc=$?
[ $rc -ne 0 ] && [ "$(wc -l < "$err")" -eq 1 ] || { cat "$err"; echo "FAIL: train --device cuda"; exit 1; }
# cuda: runs on the device (its name in the JSON) or stops with one line
rc=0
out=$("$cli" bench --device cuda --threads 1 --steps 1 --batch 2 --gen-runs 1 --json 2> "$err") || rc=$?
if [ $rc -ne 0 ]; then
  [ "$(wc -l < "$err")" -eq 1 ] && grep -q 'CUDA' "$err" || { cat "$err"; echo "FAIL: bench --device cuda"; exit 1; }
  echo "bench --device cuda stops: $(cat "$err")"
else
  /usr/bin/python3 - "$out" <<'PY'
import json, sys
b = json.loads(sys.argv[1])
assert b['device'] == 'cuda' and b['device_name'] and b['train_samples_per_s'] > 0, b
print('bench --device cuda ok:', b['device_name'], b['train_samples_per_s'], 'samples/s')
PY
fi
# auto: the CPU with the reason in the JSON when CUDA cannot run the step
out=$("$cli" bench --device auto --threads 1 --steps 1 --batch 2 --gen-runs 1 --json 2>/dev/null)
/usr/bin/python3 - "$out" <<'PY'
import json, sys
b = json.loads(sys.argv[1])
assert b['device'] in ('cpu', 'cuda'), b
if b['device'] == 'cpu':
    assert b.get('device_note'), b
print('bench --device auto ok:', b['device'], b.get('device_note', ''))
PY
echo ok
