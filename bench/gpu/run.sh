#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# bench/gpu/run.sh OUT_DIR: everything issue 9 needs measured on a machine
# with an NVIDIA GPU, in one unattended invocation (under 6 minutes on a
# 16-core machine; every stage has a timeout and a failed stage does not stop
# the next):
#   1. nvidia-smi;
#   2. builds the project with the CUDA module (meson, $BUILD_DIR or
#      build-gpu/, -Dcuda=enabled -Dgui=false, and -Dapp=false when GLib's
#      development files are missing: engine, module, engine/GPU tests and
#      bench/gpu programs only), ninja -j$(nproc);
#   3. meson test --suite gpu (gpu-ops: each CUDA op vs the CPU; gpu-model:
#      whole training steps and greedy generation vs the CPU engine);
#   4. the PyTorch reference (bench/gpu/bench_torch_cuda.py, python3 from
#      PATH or $PYTHON) FP32 and TF32 at batch 48;
#   5. bench-model (device training at batch 48/256/1024, FP32 and TF32,
#      64-token greedy answer, the CPU engine at batch 48), bench-ops (each
#      op at the training shapes vs the CPU engine); with the app built also
#      `mvaema-cli bench --device cuda`;
#   6. OUT_DIR/figures.json (ratios to PyTorch, generation speed-up, epoch
#      time, share of the H200's peak) and OUT_DIR/log.txt (everything printed).
# OUT_DIR gets at most 8 files, no folders. Exit status: non-zero when the
# build, a GPU test or a benchmark failed, or a GPU test skipped.
#   STEPS=20 GEN_RUNS=9 BATCH=48 BATCHES=48,256,1024 TOTAL_S=340 in the environment.
set -uo pipefail
out=${1:?usage: bench/gpu/run.sh OUT_DIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)
cd "$(dirname "$0")/../.."
src=$(pwd)
build=${BUILD_DIR:-build-gpu}
py=${PYTHON:-python3}
steps=${STEPS:-20}
runs=${GEN_RUNS:-9}
batch=${BATCH:-48}
batches=${BATCHES:-48,256,1024}
jobs=$(nproc 2>/dev/null || echo 4)
log="$out/log.txt"
: > "$log"
exec > >(tee -a "$log") 2>&1
status=0
t_start=$(date +%s)
say () { printf '\n== [%4ds] %s\n' "$(( $(date +%s) - t_start ))" "$*"; }
fail () { echo "run.sh: $*"; status=1; }
# stage time limits: at most $1 seconds, and never past the whole run's
# budget (TOTAL_S, 340 s by default); at least 5 s so a stage still reports
total=${TOTAL_S:-340}
tmo () {
  local left=$(( total - ($(date +%s) - t_start) ))
  [ "$left" -lt "$1" ] || left=$1
  [ "$left" -ge 5 ] || left=5
  echo "$left"
}

say "machine"
date -u
uname -a
git -C "$src" log -1 --oneline 2>/dev/null || true
timeout $(tmo 30) nvidia-smi 2>&1 || fail "nvidia-smi failed"
timeout $(tmo 30) nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm,power.limit \
  --format=csv 2>&1 || true
nvcc=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)
"$nvcc" --version 2>&1 | tail -2 || true

say "build ($build)"
app=true
if ! pkg-config --exists glib-2.0 json-glib-1.0 sqlite3 2>/dev/null; then
  app=false
  echo "GLib/json-glib/sqlite development files missing: -Dapp=false (engine, module, tests, bench only)"
fi
built=0
if [ ! -f "$build/build.ninja" ]; then
  timeout $(tmo 120) meson setup "$build" -Dcuda=enabled -Dgui=false -Dapp=$app -Dbuildtype=debugoptimized \
    || fail "meson setup failed"
else
  timeout $(tmo 60) meson configure "$build" -Dcuda=enabled -Dgui=false -Dapp=$app || true
fi
if [ -f "$build/build.ninja" ]; then
  if timeout $(tmo 300) ninja -C "$build" -j"$jobs"; then
    built=1
  else
    fail "the build failed; building what still builds"
    timeout $(tmo 120) ninja -C "$build" -j"$jobs" -k 0 || true
  fi
fi
cli="$build/app/mvaema-cli"
if [ -x "$cli" ]; then
  timeout $(tmo 30) "$cli" devices || true
fi

say "GPU tests (meson test --suite gpu)"
test_rc=-1
if [ -f "$build/build.ninja" ]; then
  timeout $(tmo 240) meson test -C "$build" --suite gpu --print-errorlogs --no-rebuild -v \
    > "$out/gpu-tests.txt" 2>&1
  test_rc=$?
  cat "$out/gpu-tests.txt"
  [ "$test_rc" -eq 0 ] || fail "GPU tests failed (exit $test_rc)"
  if grep -q 'SKIP' "$out/gpu-tests.txt"; then
    fail "a GPU test skipped: no usable CUDA device or no whole-model support"
  fi
  # the gpu-model test's own lines (parity and generation), from the test log
  cp "$build/meson-logs/testlog.txt" "$out/testlog.txt" 2>/dev/null || true
fi

theirs='null'
theirs_tf32='null'
say "PyTorch reference on the same GPU (eager, FP32, batch $batch)"
if timeout $(tmo 60) "$py" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  theirs=$(timeout $(tmo 120) "$py" bench/gpu/bench_torch_cuda.py --batch "$batch" --steps "$steps" \
             --gen-runs 5 | tail -1) || { fail "PyTorch FP32 run failed"; theirs='null'; }
  echo "pytorch: $theirs"
  say "PyTorch reference on the same GPU (eager, TF32, batch $batch)"
  theirs_tf32=$(timeout $(tmo 120) "$py" bench/gpu/bench_torch_cuda.py --batch "$batch" --steps "$steps" \
                  --gen-runs 5 --tf32 | tail -1) || { fail "PyTorch TF32 run failed"; theirs_tf32='null'; }
  echo "pytorch tf32: $theirs_tf32"
else
  echo "run.sh: $py has no torch with CUDA; engine figures only"
fi

say "whole model on the device (bench-model, batches $batches)"
: > "$out/model.jsonl"
if [ -x "$build/bench/gpu/bench-model" ]; then
  timeout $(tmo 180) "$build/bench/gpu/bench-model" --batches "$batches" --steps "$steps" \
    --gen-runs "$runs" --threads "$jobs" --cpu-steps 2 > "$out/model.jsonl"
  rc=$?
  cat "$out/model.jsonl"
  [ "$rc" -eq 0 ] || fail "bench-model exit $rc"
else
  fail "bench-model was not built"
fi

say "CUDA ops vs the CPU engine (bench-ops, batch $batch)"
: > "$out/ops.jsonl"
if [ -x "$build/bench/gpu/bench-ops" ]; then
  timeout $(tmo 90) "$build/bench/gpu/bench-ops" "$batch" "$jobs" 50 > "$out/ops.jsonl"
  rc=$?
  cat "$out/ops.jsonl"
  [ "$rc" -eq 0 ] || fail "bench-ops exit $rc"
else
  fail "bench-ops was not built"
fi

cli_json='null'
if [ -x "$cli" ]; then
  say "mvaema-cli bench --device cuda (batch $batch)"
  cli_json=$(timeout $(tmo 90) "$cli" bench --device cuda --batch "$batch" --steps "$steps" \
               --gen-runs "$runs" --json) || { fail "mvaema-cli bench --device cuda failed"; cli_json='null'; }
  echo "$cli_json"
fi

say "figures"
timeout $(tmo 30) "$py" - "$out" "$theirs" "$theirs_tf32" "$cli_json" "$test_rc" "$built" <<'PY' || fail "figures failed"
import json, sys
out, theirs, theirs_tf32, cli_json, test_rc, built = sys.argv[1:]
PEAK_FP32, PEAK_TF32 = 67.0, 495.0  # H200 SXM TFLOP/s: FP32 non-tensor, TF32 tensor dense

def loads(s):
    try:
        return json.loads(s)
    except ValueError:
        return None

def lines(name):
    try:
        return [v for v in (loads(l) for l in open(f"{out}/{name}") if l.strip()) if v is not None]
    except OSError:
        return []

model = lines("model.jsonl")
f = {"built": built == "1", "gpu_tests_exit": int(test_rc), "ops": lines("ops.jsonl"),
     "model": model, "pytorch_cuda": loads(theirs), "pytorch_cuda_tf32": loads(theirs_tf32),
     "mvaema_cli_bench_cuda": loads(cli_json)}
dev = next((m for m in model if m.get("bench") == "device"), {})
train = {(m["batch"], m["precision"]): m for m in model if m.get("bench") == "train" and "samples_per_s" in m}
gen = {m["precision"]: m for m in model if m.get("bench") == "generate" and "generate_ms_64" in m}
cpu = next((m for m in model if m.get("bench") == "train_cpu" and "samples_per_s" in m), None)
summary = next((m for m in model if m.get("bench") == "summary"), {})
print(f"device: {dev.get('name', '?')}  ({dev.get('skip', '')})")
fig = {}
for (b, p), m in sorted(train.items()):
    peak = PEAK_TF32 if p == "tf32" else PEAK_FP32
    fig[f"train_{p}_b{b}_samples_per_s"] = m["samples_per_s"]
    fig[f"train_{p}_b{b}_fraction_of_peak"] = round(m["tflops"] / peak, 5)
    print(f"engine train  batch {b:5d} {p}: {m['samples_per_s']:10.1f} samples/s  {m['step_ms']:8.2f} ms/step"
          f"  {m['gflop_per_step']:7.2f} GFLOP/step  {m['tflops']:6.2f} TFLOP/s = {100 * m['tflops'] / peak:5.2f}% of {peak:g}")
t, t32 = f["pytorch_cuda"], f["pytorch_cuda_tf32"]
def ratio(a, b):
    return round(a / b, 3) if a and b else None
e48, e48t = train.get((48, "fp32")), train.get((48, "tf32"))
if t and "train_samples_per_s" in t:
    fig["train_engine_over_pytorch_fp32_b48"] = ratio(e48 and e48["samples_per_s"], t["train_samples_per_s"])
    print(f"pytorch FP32 batch 48: {t['train_samples_per_s']} samples/s, generate {t['generate_ms_64']} ms"
          f" -> engine/pytorch {fig['train_engine_over_pytorch_fp32_b48']} (target >= 5)")
if t32 and "train_samples_per_s" in t32:
    fig["train_engine_over_pytorch_tf32_b48"] = ratio(e48t and e48t["samples_per_s"], t32["train_samples_per_s"])
    print(f"pytorch TF32 batch 48: {t32['train_samples_per_s']} samples/s"
          f" -> engine/pytorch {fig['train_engine_over_pytorch_tf32_b48']}")
g = gen.get("fp32")
if g:
    fig["generate_ms_64"] = g["generate_ms_64"]
    fig["generate_tokens"] = g["tokens"]
    fig["generate_same_tokens_as_cpu"] = g.get("same_tokens_as_cpu")
    if t and "generate_ms_64" in t:
        fig["generate_speedup_over_pytorch"] = ratio(t["generate_ms_64"], g["generate_ms_64"])
    print(f"generate 64 tokens: {g['generate_ms_64']} ms ({g['tokens']} tokens; target < 15 ms)"
          f", pytorch/engine {fig.get('generate_speedup_over_pytorch')}")
if gen.get("tf32"):
    fig["generate_ms_64_tf32"] = gen["tf32"]["generate_ms_64"]
if train:
    (bb, bp), best = max(train.items(), key=lambda kv: kv[1]["samples_per_s"])
    fig["best_batch"], fig["best_precision"] = bb, bp
    fig["best_samples_per_s"] = best["samples_per_s"]
    fig["epoch_21283x10_s"] = round(21283 * 10 / best["samples_per_s"], 2)
    print(f"epoch of 21,283 x 10 at batch {bb} {bp}: {fig['epoch_21283x10_s']} s (target < 120 s)")
if cpu:
    fig["cpu_samples_per_s_b48"] = cpu["samples_per_s"]
    fig["gpu_over_cpu_fp32_b48"] = ratio(e48 and e48["samples_per_s"], cpu["samples_per_s"])
    print(f"CPU engine batch 48 ({cpu['threads']} threads): {cpu['samples_per_s']} samples/s"
          f" -> GPU/CPU {fig['gpu_over_cpu_fp32_b48']}")
f["figures"] = fig
f["summary"] = summary
json.dump(f, open(f"{out}/figures.json", "w"), indent=1)
print("written", f"{out}/figures.json")
PY
say "done (status $status)"
ls -la "$out"
exit $status
