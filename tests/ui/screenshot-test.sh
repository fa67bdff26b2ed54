#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# tests/ui/screenshot-test.sh MVAEMA SCHEMA_DIR SAMPLE OUT_DIR
#
# Starts the real `mvaema` with a sample micrograph on the X server, takes
# screenshots of the whole screen (ImageMagick `import`) until the image view
# shows the micrograph, and keeps the screenshot in OUT_DIR. "Shows the
# micrograph" is measured, not assumed: the centre of the image view must have
# the contrast (standard deviation) and grey-level entropy of a micrograph.
# As a control, the same measure must fail for the window showing a corrupt
# file (an error page). Exits 77 (skip) without a display or ImageMagick.
set -uo pipefail
mvaema=${1:?usage: screenshot-test.sh MVAEMA SCHEMA_DIR SAMPLE OUT_DIR}
schema_dir=${2:?}
sample=${3:?}
out_dir=${4:?}
timeout_s=${MVAEMA_SCREENSHOT_TIMEOUT:-60}

if [ -z "${DISPLAY:-}" ]; then
  echo "no DISPLAY (run under xvfb-run); skipping"
  exit 77
fi
for tool in import convert; do
  command -v "$tool" >/dev/null || { echo "$tool (ImageMagick) not installed; skipping"; exit 77; }
done
mkdir -p "$out_dir"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

export GSETTINGS_SCHEMA_DIR=$schema_dir
export GSETTINGS_BACKEND=memory
export GTK_A11Y=none
export NO_AT_BRIDGE=1

# The window opens at (0,0) with its default 1180x780 (no window manager):
# sidebar 245 px on the left, header bar 50 px on top, info bar at the bottom.
# Measure a 320x240 patch at the centre of the image view.
crop=320x240+560+300

measure() { # FILE -> "stddev entropy" of the patch, both 0..1
  convert "$1" -crop "$crop" +repage -colorspace Gray \
    -format '%[fx:standard_deviation] %[entropy]' info: 2>/dev/null
}

is_micrograph() { # "stddev entropy" -> 0 if it looks like a micrograph
  awk -v s="$1" -v e="$2" 'BEGIN { exit !(s > 0.06 && e > 0.45) }'
}

# run FILE SHOT: start mvaema on FILE, screenshot until it looks like a
# micrograph or time runs out; leaves the last measure in $stats.
run() {
  local file=$1 shot=$2 want=$3 pid start
  "$mvaema" "$file" >"$work/log" 2>&1 &
  pid=$!
  start=$(date +%s)
  stats="0 0"
  while :; do
    sleep 1
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "mvaema exited early:"; cat "$work/log"; return 2
    fi
    import -window root "$shot" 2>/dev/null || continue
    stats=$(measure "$shot")
    [ -n "$stats" ] || stats="0 0"
    # shellcheck disable=SC2086
    if [ "$want" = image ] && is_micrograph $stats; then break; fi
    # The error page is plain: wait for it to settle, then measure once more.
    if [ "$want" = error ] && [ $(( $(date +%s) - start )) -ge 4 ]; then break; fi
    if [ $(( $(date +%s) - start )) -ge "$timeout_s" ]; then break; fi
  done
  kill "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  if grep -E 'CRITICAL|ERROR|AddressSanitizer|runtime error' "$work/log"; then
    echo "mvaema logged errors"; return 2
  fi
  return 0
}

run "$sample" "$out_dir/screenshot.png" image || exit 1
echo "sample: stddev/entropy $stats ($out_dir/screenshot.png)"
# shellcheck disable=SC2086
if ! is_micrograph $stats; then
  echo "FAIL: the image view does not show the micrograph (stddev/entropy $stats)"
  exit 1
fi

printf 'II*\0garbage that is not a TIFF directory' > "$work/corrupt.tif"
run "$work/corrupt.tif" "$out_dir/screenshot-error.png" error || exit 1
echo "corrupt file: stddev/entropy $stats ($out_dir/screenshot-error.png)"
# shellcheck disable=SC2086
if is_micrograph $stats; then
  echo "FAIL: the measure cannot tell an error page from a micrograph"
  exit 1
fi
echo "ok"
