#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# test-safetensors-python.sh TEST_BINARY: prove our safetensors files are the
# standard format by parsing them with plain Python (struct + json + numpy, the
# way the reference `safetensors` package lays them out), loading them into
# PyTorch when it is installed, and reading back a file Python wrote.
# Skips (77) when $PYTHON_TORCH (default /usr/bin/python3) has no numpy.
set -euo pipefail
bin=$1
py=${PYTHON_TORCH:-/usr/bin/python3}
if ! "$py" -c 'import numpy' 2>/dev/null; then
  echo "no numpy in $py: skipping"
  exit 77
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

"$bin" --emit "$dir/c.safetensors"

"$py" - "$dir/c.safetensors" "$dir/py.safetensors" <<'PY'
import json, struct, sys
import numpy as np

src, dst = sys.argv[1], sys.argv[2]
raw = open(src, 'rb').read()
(n,) = struct.unpack('<Q', raw[:8])
header = json.loads(raw[8:8 + n].decode('utf-8'))
data = raw[8 + n:]
assert (8 + n) % 8 == 0, 'data section not aligned'
meta = header.pop('__metadata__')
assert meta['format'] == 'pt', meta
assert json.loads(meta['config']) == {'width': 64, 'name': 'µ-Å "q"'}, meta
assert meta['tokenizer'] == 'tokenizer.json'
tensors = {}
end = 0
for name, info in sorted(header.items(), key=lambda kv: kv[1]['data_offsets']):
    b, e = info['data_offsets']
    assert b == end, (name, b, end)
    end = e
    assert info['dtype'] == 'F32'
    arr = np.frombuffer(data[b:e], dtype='<f4').reshape(info['shape'])
    tensors[name] = arr
assert end == len(data)
w = tensors['enc.w']
assert w.shape == (3, 5)
assert np.array_equal(w.ravel(), np.arange(15, dtype=np.float32) * 0.25 - 1.5)
assert np.array_equal(tensors['enc.b'], (1.0 / np.arange(1, 6)).astype(np.float32))
assert tensors['temp'].shape == () and tensors['temp'] == np.float32(0.07)
assert tensors['empty'].shape == (0, 4)
try:
    import torch
    t = torch.from_numpy(w.copy())
    assert t.shape == (3, 5) and float(t.sum()) == float(w.sum())
    print('torch', torch.__version__, 'loads the tensors')
except ImportError:
    print('torch not installed; numpy check only')

# write a file the way the reference writer does (sorted by dtype then name is
# not required; we use F32 then F16 with padding to 8 bytes)
a = (np.arange(6, dtype=np.float32) * 1.5 - 2.0).reshape(2, 3)
h = (np.arange(4, dtype=np.float16) * np.float16(0.5))
hdr = {
    '__metadata__': {'who': 'numpy µ'},
    'py.a': {'dtype': 'F32', 'shape': [2, 3], 'data_offsets': [0, 24]},
    'py.h': {'dtype': 'F16', 'shape': [4], 'data_offsets': [24, 32]},
}
hb = json.dumps(hdr, ensure_ascii=False).encode('utf-8')
hb += b' ' * ((8 - len(hb) % 8) % 8)
with open(dst, 'wb') as f:
    f.write(struct.pack('<Q', len(hb)))
    f.write(hb)
    f.write(a.astype('<f4').tobytes())
    f.write(h.astype('<f2').tobytes())
print('python parsed the C file and wrote one back')
PY

"$bin" --check "$dir/py.safetensors"
echo "ok"
