#!/usr/bin/env bash
# fuzz-image-smoke.sh TARGET CORPUS SECONDS [FUZZER]: runs the libFuzzer
# target fuzz-image-TARGET for SECONDS on a scratch copy of CORPUS (so the
# committed corpus is never modified). Without FUZZER it looks for a fuzz
# build beside this one ($MVAEMA_FUZZ_BUILD, or build*fuzz*/ in the source
# tree) and exits 77 (skipped) when there is none.
set -euo pipefail
target="$1"; corpus="$2"; secs="$3"; fuzzer="${4:-}"
if [ -z "$fuzzer" ]; then
  for d in ${MVAEMA_FUZZ_BUILD:-} "${MVAEMA_SOURCE_DIR:-.}"/build*fuzz*; do
    if [ -x "$d/tests/fuzz/fuzz-image-$target" ]; then
      fuzzer="$d/tests/fuzz/fuzz-image-$target"
      break
    fi
  done
fi
if [ -z "$fuzzer" ] || [ ! -x "$fuzzer" ]; then
  echo "no fuzz build of fuzz-image-$target (configure one with CC=clang -Dfuzz=true): skipped"
  exit 77
fi
fuzzer=$(readlink -f "$fuzzer")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$corpus"/. "$work"/
cd "$work"
# Leaks are checked by the replay tests under ASan; here we look for crashes.
ASAN_OPTIONS="detect_leaks=0:${ASAN_OPTIONS:-}" \
  "$fuzzer" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  "$work" 2>&1 | tail -n 15
exit "${PIPESTATUS[0]}"
