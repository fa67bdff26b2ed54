#!/usr/bin/env bash
# bench/fuzz-image.sh [SECONDS] [FUZZ_BUILD_DIR]: runs each image fuzz target
# (vendor tag text, sidecar text, DM3/DM4, whole loader) for SECONDS (default
# 300) and prints executions and crashes per target.
#
# Needs a libFuzzer build:  CC=clang meson setup build-fuzz -Dfuzz=true -Dgui=false
#                           ninja -C build-fuzz tests/fuzz/fuzz-image-{tiffmeta,sidecar,dm,load}
# Seeds: the committed corpus tests/fuzz/fuzz-image-corpus/<target>, plus
# ../shared/micrographs/instrument-files (DM files whole; the FEI INI text and
# the Zeiss CZ_SEM text cut out of the TIFFs by searching for their first
# keys, no TIFF parsing), plus any TIFF/DM under $SYNTH_DIR (synth output).
# Crash reproducers and logs land in BUILD/fuzz-image-out/<target>/.
# TARGETS="dm load" limits the run to some targets.
set -uo pipefail
secs="${1:-300}"
here="$(cd "$(dirname "$0")/.." && pwd)"
build="${2:-$(ls -d "$here"/build*fuzz* 2>/dev/null | head -n 1)}"
shared="${MVAEMA_SHARED_DIR:-$here/../shared}/micrographs/instrument-files"
build="$(readlink -f "${build:-.}")"
out="$build/fuzz-image-out"
if [ ! -d "$build/tests/fuzz" ]; then
  echo "no fuzz build found; see the header of $0" >&2
  exit 1
fi
mkdir -p "$out"

seed_dir () {
  local t="$1" d
  d="$(mktemp -d)"
  cp "$here/tests/fuzz/fuzz-image-corpus/$t"/* "$d"/
  local srcs=()
  [ -d "$shared" ] && srcs+=("$shared"/*)
  [ -n "${SYNTH_DIR:-}" ] && [ -d "$SYNTH_DIR" ] && srcs+=("$SYNTH_DIR"/*)
  for f in "${srcs[@]}"; do
    [ -f "$f" ] || continue
    case "$t:$f" in
      dm:*.dm3|dm:*.dm4|load:*) cp "$f" "$d/" ;;
      tiffmeta:*.tif|tiffmeta:*.tiff)
        /usr/bin/python3 - "$f" "$d" <<'PY'
import os, sys
data = open(sys.argv[1], 'rb').read()
base = os.path.basename(sys.argv[1])
for key, name in ((b'[User]', 'fei'), (b'AP_', 'zeiss')):
    i = data.find(key)
    if i < 0:
        continue
    j = data.find(b'\0\0\0\0', i)
    j = len(data) if j < 0 else j
    open(os.path.join(sys.argv[2], base + '.' + name + '.txt'), 'wb').write(data[max(0, i - 8):j][:16384])
PY
        ;;
    esac
  done
  echo "$d"
}

printf '%-10s %12s %10s %8s\n' target executions exec/s crashes
for t in ${TARGETS:-tiffmeta sidecar dm load}; do
  bin="$build/tests/fuzz/fuzz-image-$t"
  if [ ! -x "$bin" ]; then
    echo "missing $bin" >&2
    continue
  fi
  seeds="$(seed_dir "$t")"
  mkdir -p "$out/$t"
  log="$out/$t.log"
  # Whole micrographs are megabytes: the loader fuzzes their first 64 KiB
  # (headers, tags, first strips); DM files are kept whole (tag tree after the data).
  case "$t" in load) maxlen=65536 ;; dm) maxlen=2097152 ;; *) maxlen=16384 ;; esac
  ( cd "$out/$t" && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 "$bin" -max_total_time="$secs" -timeout=10 \
      -max_len="$maxlen" -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$out/$t/" \
      "$seeds" ) > "$log" 2>&1
  execs=$(grep -o 'stat::number_of_executed_units:[[:space:]]*[0-9]*' "$log" | awk '{print $2}')
  rate=$(grep -o 'stat::average_exec_per_sec:[[:space:]]*[0-9]*' "$log" | awk '{print $2}')
  crashes=$(ls "$out/$t" | grep -c -E '^(crash|leak|timeout|oom)-' || true)
  if [ "$crashes" = 0 ] && grep -q -E '^SUMMARY: |ERROR: libFuzzer' "$log"; then
    crashes=1
  fi
  printf '%-10s %12s %10s %8s\n' "$t" "${execs:-?}" "${rate:-?}" "$crashes"
  rm -rf "$seeds"
done
