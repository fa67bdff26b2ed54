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
# file (an error page). Where xdotool is installed, real key presses and
# Ctrl+scroll must change the view, dragging must pan it, and "0" must bring
# back the fitted view.
# Exits 77 (skip) without a display or ImageMagick.
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

differs() { # A B -> normalised RMSE between the patches of two screenshots
  convert "$1" -crop "$crop" +repage "$work/a.png"
  convert "$2" -crop "$crop" +repage "$work/b.png"
  compare -metric RMSE "$work/a.png" "$work/b.png" null: 2>&1 | sed -E 's/.*\(([0-9.e+-]+)\).*/\1/'
}

# Keyboard and wheel, for real, through the X server.
keys() {
  local base=$1 d
  command -v xdotool >/dev/null || { echo "xdotool not installed: key presses not checked"; return 0; }
  xdotool mousemove 720 420
  sleep 0.5
  xdotool key plus; sleep 1
  import -window root "$out_dir/screenshot-zoom-in.png"
  d=$(differs "$base" "$out_dir/screenshot-zoom-in.png")
  echo "after '+': difference $d"
  awk -v d="$d" 'BEGIN { exit !(d > 0.03) }' || { echo "FAIL: '+' did not zoom"; return 1; }
  # Pan by dragging with the mouse.
  xdotool mousedown 1 mousemove 600 330 mousemove 520 300 mouseup 1; sleep 1
  import -window root "$work/panned.png"
  d=$(differs "$out_dir/screenshot-zoom-in.png" "$work/panned.png")
  echo "after dragging: difference $d"
  awk -v d="$d" 'BEGIN { exit !(d > 0.03) }' || { echo "FAIL: dragging did not pan"; return 1; }
  xdotool mousemove 720 420
  xdotool key 0; sleep 1
  import -window root "$work/fit.png"
  d=$(differs "$base" "$work/fit.png")
  echo "after '0': difference $d"
  awk -v d="$d" 'BEGIN { exit !(d < 0.01) }' || { echo "FAIL: '0' did not return to fit"; return 1; }
  xdotool keydown ctrl click 4 click 4 keyup ctrl; sleep 1
  import -window root "$work/wheel.png"
  d=$(differs "$base" "$work/wheel.png")
  echo "after Ctrl+wheel: difference $d"
  awk -v d="$d" 'BEGIN { exit !(d > 0.03) }' || { echo "FAIL: Ctrl+wheel did not zoom"; return 1; }
  xdotool key ctrl+0; sleep 1
  import -window root "$work/fit2.png"
  d=$(differs "$base" "$work/fit2.png")
  echo "after Ctrl+0: difference $d"
  awk -v d="$d" 'BEGIN { exit !(d < 0.01) }' || { echo "FAIL: Ctrl+0 did not return to fit"; return 1; }
  return 0
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
  key_status=0
  if [ "$want" = image ]; then
    # shellcheck disable=SC2086
    if is_micrograph $stats; then keys "$shot" || key_status=1; fi
  fi
  kill "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  if grep -E 'CRITICAL|ERROR|AddressSanitizer|runtime error' "$work/log"; then
    echo "mvaema logged errors"; return 2
  fi
  return 0
}

run "$sample" "$out_dir/screenshot.png" image || exit 1
echo "sample: stddev/entropy $stats ($out_dir/screenshot.png)"
[ "$key_status" = 0 ] || exit 1
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
