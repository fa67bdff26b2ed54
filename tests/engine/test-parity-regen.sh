#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Regenerate the parity fixtures with PyTorch (bench/reference/make_fixture.py)
# and compare the engine with them. Skipped (77) when torch is unavailable.
# Usage: test-parity-regen.sh TEST_PARITY_BINARY
set -eu
py="${PYTHON_TORCH:-/usr/bin/python3}"
if ! "$py" -c 'import torch' 2>/dev/null; then
  echo "torch not available for $py: skipped"
  exit 77
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
src="${MVAEMA_SOURCE_DIR:?}"
"$py" "$src/bench/reference/make_fixture.py" "$dir/main.bin"
"$py" "$src/bench/reference/make_fixture.py" "$dir/ablate.bin" --ablate
"$1" "$dir/main.bin" "$dir/ablate.bin"
