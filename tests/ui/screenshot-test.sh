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
# Ctrl+scroll must change the view, dragging and the arrow keys must pan it,
# and "0" must bring back the fitted view.
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
# the window opens the library (Ask panel): a temporary one, never the user's
export MVAEMA_DB=$work/library.db

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

# settle REF OUT OP LIMIT WHAT: take screenshots into OUT until the patch's
# difference from REF is OP ("gt" or "lt") LIMIT; the machine may be slow
# (sanitizers, a loaded CI runner), so wait up to $timeout_s before failing.
settle() {
  local ref=$1 out=$2 op=$3 limit=$4 what=$5 start d
  start=$(date +%s)
  while :; do
    sleep 0.5
    import -window root "$out" 2>/dev/null || continue
    d=$(differs "$ref" "$out")
    if awk -v d="$d" -v l="$limit" -v op="$op" \
         'BEGIN { exit !((op == "gt" && d > l) || (op == "lt" && d < l)) }'; then
      echo "$what: difference $d"
      return 0
    fi
    if [ $(( $(date +%s) - start )) -ge "$timeout_s" ]; then
      echo "FAIL: $what: difference $d, wanted $op $limit"
      return 1
    fi
  done
}

# Keyboard, wheel and mouse, for real, through the X server.
keys() {
  local base=$1
  command -v xdotool >/dev/null || { echo "xdotool not installed: key presses not checked"; return 0; }
  xdotool mousemove 720 420
  sleep 0.5
  xdotool key plus
  settle "$base" "$out_dir/screenshot-zoom-in.png" gt 0.03 "'+' zooms in" || return 1
  sleep 1 # let the zoom finish drawing before comparing against it
  import -window root "$out_dir/screenshot-zoom-in.png"
  xdotool mousedown 1 mousemove 600 330 mousemove 520 300 mouseup 1
  settle "$out_dir/screenshot-zoom-in.png" "$work/panned.png" gt 0.03 "dragging pans" || return 1
  sleep 1
  import -window root "$work/panned.png"
  xdotool key Left
  settle "$work/panned.png" "$work/arrow.png" gt 0.03 "the Left key pans" || return 1
  xdotool mousemove 720 420 key 0
  settle "$base" "$work/fit.png" lt 0.01 "'0' fits again" || return 1
  xdotool keydown ctrl click 4 click 4 keyup ctrl
  settle "$base" "$work/wheel.png" gt 0.03 "Ctrl+wheel zooms" || return 1
  xdotool key ctrl+0
  settle "$base" "$work/fit2.png" lt 0.01 "Ctrl+0 fits again" || return 1
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
    if is_micrograph $stats; then
      # Let the page transition finish; this is the reference for the keys.
      sleep 1
      import -window root "$shot"
      stats=$(measure "$shot")
      keys "$shot" || key_status=1
    fi
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
