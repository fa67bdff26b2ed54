#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# test-assistant-scale.sh: issue 6 item 5, the Basics answer states the scale
# from the instrument metadata. A synth TIFF with the FEI tag (pixel size
# known) and a PNG written here without any metadata; ask --json through a
# tiny model trained here. The rule is in app/mva-assistant-scale.c.
set -euo pipefail
cli=${MVAEMA_CLI:?MVAEMA_CLI not set}
py=/usr/bin/python3
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
json() { "$py" -c "import json,sys; d=json.loads(sys.argv[1]); print(eval(sys.argv[2]))" "$1" "$2"; }

cd "$dir"
syn=$dir/syn
model=$dir/m0
"$cli" synth -o "$syn" -n 1 --width 256 --height 192 --databar -t 2 --seed 11 >/dev/null 2>&1
"$cli" train --data "$syn" --out "$model" --steps 10 --config small --batch 8 --threads 2 \
  --vocab 600 >/dev/null 2>&1 || fail "training the test model"
tif=$syn/fibres/fibres-0000.tif
info=$("$cli" info --json "$tif")
px=$(json "$info" "d['pixel_size_nm']")
fov=$(json "$info" "d['field_of_view_um']")

# a grayscale PNG without pHYs or text chunks: no pixel size
"$py" - "$dir/plain.png" <<'PY'
import struct, sys, zlib
W, H = 96, 80
raw = b''.join(b'\0' + bytes((x * 7 + y * 3) % 256 for x in range(W)) for y in range(H))
def chunk(t, d):
    return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)
open(sys.argv[1], 'wb').write(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', W, H, 8, 0, 0, 0, 0))
                             + chunk(b'IDAT', zlib.compress(raw)) + chunk(b'IEND', b''))
PY
[ "$(json "$("$cli" info --json "$dir/plain.png")" "'pixel_size_nm' in d")" = False ] \
  || fail "the test PNG has a pixel size"

# checks one answer that must carry the metadata scale
check_meta() {
  local out=$1
  [ "$(json "$out" "d['scale_from_metadata']")" = True ] || fail "no metadata scale: $out"
  [ "$(json "$out" "abs(d['pixel_size_nm'] - $px) < 1e-9 * $px")" = True ] || fail "pixel_size_nm: $out"
  [ "$(json "$out" "abs(d['field_of_view_um'] - $fov) < 1e-6 * $fov")" = True ] || fail "field_of_view_um: $out"
  [ "$(json "$out" "'instrument metadata' in d['answer']")" = True ] || fail "answer does not name the metadata: $out"
  # the stated numbers are the metadata's, in the answer's units (3 digits)
  "$py" - "$out" "$px" <<'PY' || fail "stated scale: $out"
import json, re, sys
d = json.loads(sys.argv[1]); px = float(sys.argv[2])
m = re.search(r'each pixel covers ([0-9.]+) (nm|µm|mm), so the field of view is ([0-9.]+) (nm|µm|mm) wide', d['answer'])
assert m, d['answer']
scale = {'nm': 1.0, 'µm': 1e3, 'mm': 1e6}
got_px = float(m.group(1)) * scale[m.group(2)]
got_fov = float(m.group(3)) * scale[m.group(4)] / 1e3
assert abs(got_px - px) <= 0.01 * px, (got_px, px)
assert abs(got_fov - d['field_of_view_um']) <= 0.01 * d['field_of_view_um'], (got_fov, d)
# the model's own scale sentences are gone: one sentence names pixels
sentences = re.split(r'(?<=[.!?])\s+', d['answer'])
assert sum('pixel' in s.lower() for s in sentences) == 1, sentences
assert isinstance(d['generated'], str)
PY
}

out=$("$cli" ask "$tif" --family 1 --model "$model" --json --max-tokens 40)
check_meta "$out"
out=$("$cli" ask "$tif" "What is the pixel size of this image?" --model "$model" --json --max-tokens 20)
check_meta "$out"
out=$("$cli" ask "$tif" "What is the MAGNIFICATION?" --model "$model" --json --max-tokens 20)
check_meta "$out"

# questions that do not ask for the scale: the model's answer untouched
for args in "--family 3" "--family 8"; do
  # shellcheck disable=SC2086
  out=$("$cli" ask "$tif" $args --model "$model" --json --max-tokens 20)
  [ "$(json "$out" "d['scale_from_metadata'] is False and 'pixel_size_nm' not in d")" = True ] \
    || fail "metadata scale for $args: $out"
  [ "$(json "$out" "'instrument metadata' not in d['answer']")" = True ] || fail "$args: $out"
done
out=$("$cli" ask "$tif" "What is shown in this image?" --model "$model" --json --max-tokens 20)
[ "$(json "$out" "d['scale_from_metadata']")" = False ] || fail "free question: $out"

# unknown pixel size: the model's answer as generated
out=$("$cli" ask "$dir/plain.png" --family 1 --model "$model" --json --max-tokens 40)
[ "$(json "$out" "d['scale_from_metadata'] is False and 'pixel_size_nm' not in d and 'generated' not in d")" = True ] \
  || fail "PNG without metadata: $out"
[ "$(json "$out" "'instrument metadata' not in d['answer']")" = True ] || fail "PNG answer: $out"
echo "ok"
