#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# test-assistant-scale.sh: issue 6 item 5, the Basics answer states the scale
# from the instrument metadata; and the imaging-technique answer the
# instrument's settings (or that the file has none). A synth TIFF with the FEI tag (pixel size
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
# without --json: the model's streamed text, then the answer as recorded
plain=$("$cli" ask "$tif" --family 1 --model "$model" --max-tokens 40)
printf '%s\n' "$plain" | grep -q "^With the file's metadata and the measurement on the image: .*instrument metadata, each pixel covers" \
  || fail "plain output lacks the recorded answer: $plain"
out=$("$cli" ask "$tif" "What is the pixel size of this image?" --model "$model" --json --max-tokens 20)
check_meta "$out"
out=$("$cli" ask "$tif" "What is the MAGNIFICATION?" --model "$model" --json --max-tokens 20)
check_meta "$out"

# a question that asks for neither the scale, the settings nor sizes: the
# model's answer untouched
out=$("$cli" ask "$tif" --family 6 --model "$model" --json --max-tokens 20)
[ "$(json "$out" "d['scale_from_metadata'] is False and 'pixel_size_nm' not in d")" = True ] \
  || fail "metadata scale for family 6: $out"
[ "$(json "$out" "d['instrument_from_metadata'] is False and 'generated' not in d")" = True ] \
  || fail "family 6 changed: $out"
[ "$(json "$out" "'instrument metadata' not in d['answer']")" = True ] || fail "family 6: $out"
out=$("$cli" ask "$tif" "What is shown in this image?" --model "$model" --json --max-tokens 20)
[ "$(json "$out" "d['scale_from_metadata']")" = False ] || fail "free question: $out"

# the instrument's settings (family 8, or a question about them): the file's,
# in place of the model's guessed detector, kV and working distance
hv=$(json "$info" "d['hv_kv']")
wd=$(json "$info" "d['wd_mm']")
det=$(json "$info" "d['detector']")
for args in "--family 8" "Which detector and voltage were used?"; do
  if [ "$args" = "--family 8" ]; then
    out=$("$cli" ask "$tif" --family 8 --model "$model" --json --max-tokens 30)
  else
    out=$("$cli" ask "$tif" "$args" --model "$model" --json --max-tokens 30)
  fi
  [ "$(json "$out" "d['instrument_from_metadata'] is True and d['scale_from_metadata'] is False")" = True ] \
    || fail "settings for $args: $out"
  "$py" - "$out" "$hv" "$wd" "$det" <<'PY' || fail "stated settings ($args): $out"
import json, re, sys
d = json.loads(sys.argv[1]); hv, wd, det = float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
a = d['answer']
m = re.search(r'According to the instrument metadata: (.*?)\.(?:\s|$)', a)
assert m, a
s = m.group(1)
assert f'detector {det}' in s, s
assert f'{hv:.3g} kV' in s, s
assert f'working distance {wd:.1f} mm' in s, s
# one sentence names kV: the model's guesses are gone
sentences = re.split(r'(?<=[.!?])\s+', a)
assert sum('kv' in x.lower() for x in sentences) == 1, sentences
PY
done

# unknown pixel size: the model's scale sentences give way to a plain statement
out=$("$cli" ask "$dir/plain.png" --family 1 --model "$model" --json --max-tokens 40)
[ "$(json "$out" "d['scale_from_metadata'] is False and 'pixel_size_nm' not in d")" = True ] \
  || fail "PNG without metadata: $out"
[ "$(json "$out" "'instrument metadata' not in d['answer'] and 'carries no pixel size' in d['answer']")" = True ] \
  || fail "PNG answer: $out"
"$py" - "$out" <<'PY' || fail "PNG scale sentences: $out"
import json, re, sys
d = json.loads(sys.argv[1])
sentences = re.split(r'(?<=[.!?])\s+', d['answer'])
assert sum('pixel' in s.lower() for s in sentences) == 1, sentences
assert not re.search(r'[0-9.]+ (nm|µm|mm) per pixel', d['answer']), d['answer']
PY
# ... and no settings either
out=$("$cli" ask "$dir/plain.png" --family 8 --model "$model" --json --max-tokens 40)
[ "$(json "$out" "d['instrument_from_metadata'] is False and 'carries no instrument settings' in d['answer']")" = True ] \
  || fail "PNG settings: $out"
[ "$(json "$out" "' kv' not in d['answer'].lower()")" = True ] || fail "PNG answer names a voltage: $out"
echo "ok"
