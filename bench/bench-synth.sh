#!/usr/bin/env bash
# bench/bench-synth.sh: throughput of `mvaema-cli synth` at 1024x768.
#   bench/bench-synth.sh [BUILD_DIR] [PER_CLASS]
# Generates PER_CLASS (default 10) images per category, i.e. 10*PER_CLASS
# images, once with --threads 1 (the baseline) and once with --threads N
# (N = number of CPUs), and prints images/s for both and their ratio.
# The figure depends on what else runs on the machine: quote the load with it.
set -euo pipefail
build=${1:-build}
per_class=${2:-10}
cli="$build/app/mvaema-cli"
[ -x "$cli" ] || { echo "bench-synth: $cli not found (build first)" >&2; exit 1; }
ncpu=$(nproc)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

run() {
  local threads=$1 databar=${2:-}
  rm -rf "$tmp/out"
  "$cli" synth --out "$tmp/out" --per-class "$per_class" --seed 1 --width 1024 --height 768 \
    --threads "$threads" $databar --json 2>/dev/null |
    sed -n 's/.*"images_per_second":\([0-9.eE+-]*\).*/\1/p'
}

echo "bench-synth: $((per_class * 10)) images of 1024x768, $ncpu CPUs, load: $(cut -d' ' -f1-3 /proc/loadavg)"
base=$(run 1)
multi=$(run "$ncpu")
bar=$(run "$ncpu" --databar)
awk -v b="$base" -v m="$multi" -v d="$bar" -v n="$ncpu" 'BEGIN {
  printf "threads=1            %8.1f images/s (baseline)\n", b
  printf "threads=%-2d           %8.1f images/s  ratio %.2f\n", n, m, m / b
  printf "threads=%-2d --databar %8.1f images/s  ratio %.2f\n", n, d, d / b
}'
