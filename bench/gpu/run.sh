#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# bench/gpu/run.sh OUT_DIR: everything issue 9 needs measured on a machine
# with an NVIDIA GPU, in one invocation:
#   1. builds the project with the CUDA module (build-gpu/, -Dcuda=enabled,
#      -Dgui=false) and prints `mvaema-cli devices`;
#   2. runs the meson suite 'gpu' (per-op CPU-vs-GPU parity: these skip with
#      77 when no device is found, which this script reports as a failure);
#   3. builds and runs bench/gpu/bench-ops.c (every CUDA op at the training
#      shapes against the CPU engine: times, ratios, GFLOP/s, OUT_DIR/ops.jsonl);
#      runs `mvaema-cli bench --device auto` and --device cpu (the engine's
#      figures and the device it could use);
#   4. runs the PyTorch reference (bench/gpu/bench_torch_cuda.py, the
#      workload of bench/reference/bench_torch.py) on the same GPU, FP32 and
#      TF32, when /usr/bin/python3 (or $PYTHON) has torch with CUDA, and
#      prints the ratios engine/PyTorch;
#   5. writes OUT_DIR/log.txt (everything printed) and OUT_DIR/figures.json.
# Exit status: non-zero when the build or a GPU test fails, or no GPU is seen.
#   STEPS=20 GEN_RUNS=5 BATCH=48 in the environment.
set -uo pipefail
out=${1:?usage: bench/gpu/run.sh OUT_DIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)
cd "$(dirname "$0")/../.."
build=${BUILD_DIR:-build-gpu}
py=${PYTHON:-/usr/bin/python3}
steps=${STEPS:-20}
runs=${GEN_RUNS:-5}
batch=${BATCH:-48}
log="$out/log.txt"
: > "$log"
exec > >(tee -a "$log") 2>&1
status=0
say () { printf '\n== %s\n' "$*"; }

say "machine"
date -u
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv 2>&1 || true

say "build ($build)"
if [ ! -d "$build" ]; then
  meson setup "$build" -Dcuda=enabled -Dgui=false || exit 1
fi
ninja -C "$build" || exit 1
cli="$build/app/mvaema-cli"
"$cli" devices
devices=$("$cli" devices --json)
echo "$devices"

say "GPU tests (suite gpu)"
meson test -C "$build" --suite gpu --print-errorlogs --no-rebuild -v 2>&1 | tee "$out/gpu-tests.txt"
test_rc=${PIPESTATUS[0]}
[ "$test_rc" -eq 0 ] || status=1
if grep -q 'SKIP' "$out/gpu-tests.txt"; then
  echo "run.sh: a GPU test skipped: no usable CUDA device" >&2
  status=1
fi

say "CUDA ops vs the CPU engine (bench/gpu/bench-ops.c, batch $batch)"
gcc -std=gnu11 -O2 -I "$build" -I engine $(pkg-config --cflags openblas) bench/gpu/bench-ops.c \
  "$build/engine/libmvaema-engine.a" -lopenblas -lm -ldl -lpthread -o "$build/bench-ops" || status=1
"$build/bench-ops" "$batch" "$(nproc)" 50 | tee "$out/ops.jsonl"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

say "engine bench (--device auto, batch $batch)"
ours=$("$cli" bench --device auto --batch "$batch" --steps "$steps" --gen-runs "$runs" --json)
echo "engine: $ours"
say "engine bench (--device cpu, batch $batch)"
ours_cpu=$("$cli" bench --device cpu --batch "$batch" --steps 2 --gen-runs 2 --json)
echo "engine cpu: $ours_cpu"

theirs='null'
theirs_tf32='null'
if "$py" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  say "PyTorch reference on the same GPU (eager, FP32)"
  theirs=$("$py" bench/gpu/bench_torch_cuda.py --batch "$batch" --steps "$steps" --gen-runs "$runs")
  echo "pytorch: $theirs"
  say "PyTorch reference on the same GPU (eager, TF32)"
  theirs_tf32=$("$py" bench/gpu/bench_torch_cuda.py --batch "$batch" --steps "$steps" \
                  --gen-runs "$runs" --tf32)
  echo "pytorch tf32: $theirs_tf32"
else
  echo "run.sh: $py has no torch with CUDA; engine figures only"
fi

say "figures"
"$py" - "$out/figures.json" "$devices" "$ours" "$ours_cpu" "$theirs" "$theirs_tf32" "$test_rc" <<'PY'
import json, sys
path, devices, ours, ours_cpu, theirs, theirs_tf32, test_rc = sys.argv[1:]
f = {"devices": json.loads(devices), "engine": json.loads(ours), "engine_cpu": json.loads(ours_cpu),
     "pytorch_cuda": json.loads(theirs), "pytorch_cuda_tf32": json.loads(theirs_tf32),
     "gpu_tests_exit": int(test_rc)}
try:
    f["ops"] = [json.loads(l) for l in open(path.rsplit("/", 1)[0] + "/ops.jsonl") if l.strip()]
except (OSError, ValueError):
    f["ops"] = []
e, t = f["engine"], f["pytorch_cuda"]
print(f"engine device: {e['device']}" + (f" ({e['device_note']})" if 'device_note' in e else ""))
if t and 'train_samples_per_s' in t:
    f["ratios"] = {
        "train_engine_over_pytorch": round(e['train_samples_per_s'] / t['train_samples_per_s'], 3),
        "generate_pytorch_over_engine": round(t['generate_ms_64'] / e['generate_ms_64'], 3),
    }
    print(f"GPU: {t['gpu']}")
    print(f"training  engine {e['train_samples_per_s']:10.2f} samples/s  pytorch {t['train_samples_per_s']:10.2f}"
          f"  ratio {f['ratios']['train_engine_over_pytorch']:.2f}x (target >= 5)")
    print(f"generate  engine {e['generate_ms_64']:10.2f} ms         pytorch {t['generate_ms_64']:10.2f}"
          f"  speed-up {f['ratios']['generate_pytorch_over_engine']:.2f}x (target < 15 ms)")
    epoch_s = 21283 * 10 / e['train_samples_per_s']
    f["epoch_21283x10_s"] = round(epoch_s, 1)
    print(f"one epoch of 21,283 images x 10 pairs at this rate: {epoch_s:.0f} s (target < 120 s)")
json.dump(f, open(path, "w"), indent=1)
print("written", path)
PY
say "done (status $status)"
exit $status
