#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# test-train-bench.sh: `mvaema-cli bench` runs on the paper configuration and
# prints the contract keys (figures are not asserted: timing belongs in bench/),
# and refuses bad options with one line.
set -euo pipefail
cli=${MVAEMA_CLI:?MVAEMA_CLI not set}
err=$(mktemp)
trap 'rm -f "$err"' EXIT
out=$("$cli" bench --threads 1 --steps 1 --batch 2 --gen-runs 1 --json 2>/dev/null)
/usr/bin/python3 - "$out" <<'PY'
import json, sys
b = json.loads(sys.argv[1])
for k in ('train_samples_per_s', 'generate_ms_64', 'peak_rss_mb', 'sgemm_gflops', 'threads', 'params'):
    assert k in b, k
assert b['train_samples_per_s'] > 0 and b['generate_ms_64'] > 0 and b['peak_rss_mb'] > 0
assert b['generate_tokens'] == 64, b
assert b['threads'] == 1 and b['batch'] == 2
print('bench keys ok')
PY
for bad in "--device gpu" "--threads 0" "--batch 1" "--steps x"; do
  rc=0
  # shellcheck disable=SC2086
  "$cli" bench $bad > /dev/null 2> "$err" || rc=$?
  [ $rc -ne 0 ] && [ "$(wc -l < "$err")" -eq 1 ] || { cat "$err"; echo "FAIL: bench $bad"; exit 1; }
done
echo ok
