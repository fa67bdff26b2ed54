#!/usr/bin/env bash
# bench/image-preview.sh [SIDE] [BUILD_DIR]: builds bench/image-preview.c
# against BUILD_DIR's app/libmva-image.a (default: the first build*/ with one)
# and measures a 1024-px preview of a SIDE x SIDE (default 20000) 8-bit TIFF
# against a libtiff decode-only baseline in the same run.
set -euo pipefail
side="${1:-20000}"
here="$(cd "$(dirname "$0")/.." && pwd)"
build="${2:-$(dirname "$(dirname "$(ls "$here"/build*/app/libmva-image.a | head -n 1)")")}"
build="$(readlink -f "$build")"
work="$build/bench-image-preview"
mkdir -p "$work"
gcc -O2 -std=c11 -D_GNU_SOURCE -I "$build" -I "$here/app" -I "$here/tests/image" \
  "$here/bench/image-preview.c" "$here/tests/image/image-writers.c" -o "$work/image-preview" \
  "$build/app/libmva-image.a" \
  $(pkg-config --cflags --libs glib-2.0 gio-2.0 json-glib-1.0 libtiff-4 libpng libjpeg zlib) -lm
"$work/image-preview" "$work/huge-$side.tif" "$side"
