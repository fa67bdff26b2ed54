#!/usr/bin/env bash
# bench/bench-synth.sh: throughput of `mvaema-cli synth` at 1024x768.
#   bench/bench-synth.sh [BUILD_DIR] [PER_CLASS]
# Generates PER_CLASS (default 10) images per category, i.e. 10*PER_CLASS
# images, once with --threads 1 (the baseline) and once with --threads N
# (N = number of CPUs), and prints wall-clock images/s for both, their ratio,
# and the CPU time per image (user+sys), which is what an idle N-core machine
# turns into N / cpu_per_image images/s. Wall-clock figures depend on what else
# runs on the machine: the load average is printed with them.
set -euo pipefail
build=${1:-build}
per_class=${2:-10}
cli="$build/app/mvaema-cli"
[ -x "$cli" ] || { echo "bench-synth: $cli not found (build first)" >&2; exit 1; }
ncpu=$(nproc)
n=$((per_class * 10))
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# prints "images_per_second cpu_seconds"
run() {
  local threads=$1 databar=${2:-} ips t0 t1 me=$BASHPID
  rm -rf "$tmp/out"
  t0=$(awk '{print $14 + $15 + $16 + $17}' /proc/$me/stat)
  ips=$("$cli" synth --out "$tmp/out" --per-class "$per_class" --seed 1 --width 1024 --height 768 \
          --threads "$threads" $databar --json 2>/dev/null |
        sed -n 's/.*"images_per_second":\([0-9.eE+-]*\).*/\1/p')
  t1=$(awk '{print $14 + $15 + $16 + $17}' /proc/$me/stat)
  echo "$ips $(( t1 - t0 ))"
}

echo "bench-synth: $n images of 1024x768, $ncpu CPUs, load: $(cut -d' ' -f1-3 /proc/loadavg)"
read -r base base_cpu < <(run 1)
read -r multi multi_cpu < <(run "$ncpu")
read -r bar bar_cpu < <(run "$ncpu" --databar)
awk -v b="$base" -v m="$multi" -v d="$bar" -v nc="$ncpu" -v n="$n" -v hz="$(getconf CLK_TCK)" \
    -v bc="$base_cpu" -v mc="$multi_cpu" -v dc="$bar_cpu" 'BEGIN {
  printf "threads=1            %7.1f images/s (baseline)  %5.1f ms CPU/image\n", b, 1000 * bc / hz / n
  printf "threads=%-2d           %7.1f images/s  ratio %.2f  %5.1f ms CPU/image\n", nc, m, m / b, 1000 * mc / hz / n
  printf "threads=%-2d --databar %7.1f images/s  ratio %.2f  %5.1f ms CPU/image\n", nc, d, d / b, 1000 * dc / hz / n
  printf "idle %d-core estimate: %.1f images/s (threads=%d, from CPU time)\n", nc, nc * n / (mc / hz), nc
}'
