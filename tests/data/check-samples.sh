#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# tests/data/check-samples.sh SAMPLES_DIR: every sample micrograph is listed
# in SOURCES.md with an accepted licence, nothing comes from the EMPS panels,
# and the set stays under 8 MB.
set -euo pipefail
dir=${1:?usage: check-samples.sh SAMPLES_DIR}
sources=$dir/SOURCES.md
[ -f "$sources" ] || { echo "missing $sources"; exit 1; }
fail=0
n=0
total=0
for f in "$dir"/*; do
  name=$(basename "$f")
  [ "$name" = SOURCES.md ] && continue
  n=$((n + 1))
  total=$((total + $(stat -c %s "$f")))
  row=$(grep -F "| \`$name\` |" "$sources" || true)
  if [ -z "$row" ]; then
    echo "FAIL: $name is not listed in SOURCES.md"; fail=1; continue
  fi
  if ! grep -qE 'CC0-1\.0|CC-BY-4\.0|BSD-3-Clause|MIT|Apache-2\.0' <<<"$row"; then
    echo "FAIL: $name has no accepted licence in SOURCES.md"; fail=1
  fi
  if grep -qi 'emps' <<<"$row"; then
    echo "FAIL: $name comes from the EMPS panels"; fail=1
  fi
  case "$name" in
    *[!A-Za-z0-9._-]*) echo "FAIL: $name is not a shell-friendly name"; fail=1 ;;
  esac
done
[ $n -ge 4 ] || { echo "FAIL: only $n sample micrographs (want 4-6)"; fail=1; }
[ $total -lt $((8 * 1024 * 1024)) ] || { echo "FAIL: samples take $total bytes (limit 8 MiB)"; fail=1; }
echo "$n samples, $total bytes"
exit $fail
