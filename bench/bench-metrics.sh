#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# bench/bench-metrics.sh: time `mvaema-cli metrics --json` on N (default
# 10000) synthetic answer pairs in the paper's configuration (BLEU-2/4,
# ROUGE-1/2/L, METEOR with WordNet). Target: under 2 s for 10,000 pairs.
# Baselines in the same run: the same input without WordNet (--no-wordnet),
# and reading the input only (cat), so the ratios say where the time goes.
#
#   bench/bench-metrics.sh [BUILD_DIR] [N]     # BUILD_DIR defaults to build
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
n=${2:-10000}
cli="$build/app/mvaema-cli"
[ -x "$cli" ] || { echo "bench-metrics: $cli not built (meson compile -C $build)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
input="$work/pairs.jsonl"

# Deterministic answers in the style of the synthetic teacher: one to three
# sentences; the candidate is the reference with words swapped, dropped,
# inflected or replaced by synonyms.
awk -v n="$n" 'BEGIN {
  srand(42);
  split("particles nanowires fibres films pores grains clusters layers tips electrodes domains rods sheets flakes spheres", noun, " ");
  split("round elongated uniform irregular dense porous smooth rough bright dark thin thick branched faceted spherical", adj, " ");
  split("shows depicts displays contains reveals presents features exhibits", verb, " ");
  split("on the substrate|across the surface|in the centre|near the edge|along the fibre axis|between the grains|at the top left", place, "|");
  split("show|depict|display|contain|reveal|present|feature|exhibit", verb2, "|");
  for (i = 1; i <= n; i++) {
    ns = 1 + int(rand() * 3); ref = ""; cand = "";
    for (s = 0; s < ns; s++) {
      size = 5 + int(rand() * 500);
      r = sprintf("The image %s %s %s %s with sizes of about %d nm, %s.", verb[1 + int(rand() * 8)],
                  adj[1 + int(rand() * 15)], adj[1 + int(rand() * 15)], noun[1 + int(rand() * 15)],
                  size, place[1 + int(rand() * 7)]);
      ref = ref (s ? " " : "") r;
      m = split(r, w, " "); c = "";
      for (k = 1; k <= m; k++) {
        x = rand(); t = w[k];
        if (x < 0.08) continue;
        else if (x < 0.16) t = adj[1 + int(rand() * 15)];
        else if (x < 0.22) t = verb[1 + int(rand() * 8)];
        else if (x < 0.26 && t ~ /s$/) t = substr(t, 1, length(t) - 1);
        c = c (c == "" ? "" : " ") t;
      }
      cand = cand (s ? " " : "") c;
    }
    printf("{\"id\": %d, \"candidate\": \"%s\", \"references\": [\"%s\"]}\n", i, cand, ref);
  }
}' > "$input"

# wall-clock and CPU (user + sys) seconds: the machine may be shared
TIMEFORMAT='%R %U %S'
time_cmd() {
  local t
  t=$( { time "$@" < "$input" > "$work/out" 2> "$work/err"; } 2>&1 )
  set -- $t
  echo "$1 $(echo "$2 + $3" | bc -l)"
}

read -r w_cat c_cat <<< "$(time_cmd cat)"
read -r w_nownet c_nownet <<< "$(time_cmd "$cli" metrics --json --no-wordnet)"
read -r w_full c_full <<< "$(time_cmd "$cli" metrics --json)"
lines=$(wc -l < "$work/out")
corpus=$(tail -n 1 "$work/out")

printf 'pairs                       %d (output lines %d)\n' "$n" "$lines"
printf '                            %8s %8s\n' "wall s" "cpu s"
printf 'read input only (cat)       %8.3f %8.3f\n' "$w_cat" "$c_cat"
printf 'metrics --no-wordnet        %8.3f %8.3f\n' "$w_nownet" "$c_nownet"
printf 'metrics (paper config)      %8.3f %8.3f   target < 2 s for 10000 pairs\n' "$w_full" "$c_full"
printf 'ratio full / no-wordnet     %8.2f %8.2f\n' "$(echo "$w_full / $w_nownet" | bc -l)" "$(echo "$c_full / $c_nownet" | bc -l)"
printf 'pairs per wall second       %8.0f\n' "$(echo "$n / $w_full" | bc -l)"
echo "corpus line: $corpus"
