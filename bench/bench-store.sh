#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# bench-store.sh: the store's targets (issue 5), measured end to end.
#   1. `mvaema-cli import` of a synth-layout folder with 20,000 micrographs
#      (distinct small PNG files, labels.csv) and 10 answers each (200,000
#      qa.jsonl lines): target < 60 s. Baseline in the same run: a second
#      import of the same folder (everything already known: hashing, parsing
#      and lookups without inserts).
#   2. bench-store (bench-store.c): 30% of the pairs reviewed, then a filtered
#      page (category + review state) at 200,000 answers: target < 20 ms;
#      baseline: the same page as one plain SQL query (IN + ORDER BY).
#
#   bench/bench-store.sh [BUILD_DIR]      (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
CLI=$BUILD/app/mvaema-cli
[ -x "$CLI" ] || { echo "build first: meson compile -C $BUILD" >&2; exit 1; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

gcc -std=gnu11 -O2 -I "$BUILD" -I app $(pkg-config --cflags glib-2.0 gio-2.0 json-glib-1.0 sqlite3) \
  bench/bench-store.c "$BUILD/app/libmva-store.a" "$BUILD"/app/libmva-image.a \
  $(pkg-config --libs gio-2.0 json-glib-1.0 sqlite3 libtiff-4 libpng libjpeg gdk-pixbuf-2.0) -lm \
  -o "$T/bench-store"

echo "generating 20,000 images and 200,000 question/answer records..." >&2
/usr/bin/python3 - "$T/data" <<'PY'
import json, os, random, struct, sys, zlib
out = sys.argv[1]
cats = "biological fibres films mems nanowires particles patterned porous powder tips".split()
rng = random.Random(1)
def png(seed):
    w = h = 8
    raw = b"".join(b"\x00" + struct.pack(">Q", (seed * 2654435761 + y) & (2**64 - 1)) for y in range(h))
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
for c in cats:
    os.makedirs(os.path.join(out, c), exist_ok=True)
with open(os.path.join(out, "labels.csv"), "w") as lab, open(os.path.join(out, "qa.jsonl"), "w") as qa:
    lab.write("image,category\n")
    for i in range(20000):
        c = cats[i % 10]
        rel = "%s/%s-%05d.png" % (c, c, i)
        with open(os.path.join(out, rel), "wb") as f:
            f.write(png(i))
        lab.write("%s,%s\n" % (rel, c))
        for fam in range(1, 11):
            qa.write(json.dumps({"image": rel, "category": c, "family": fam,
                                 "question": "Family %d question about image %d?" % (fam, i),
                                 "answer": "The %s structures are about %d nm across and evenly spaced." % (c, rng.randrange(5, 500)),
                                 "params": {"index": i, "seed": 1}}) + "\n")
PY

DB=$T/library.db
TIMEFORMAT='%R %U %S'
{ time "$CLI" import --db "$DB" --json "$T/data" 2>/dev/null > "$T/import.json"; } 2> "$T/t1"
{ time "$CLI" import --db "$DB" --json "$T/data" 2>/dev/null > "$T/import2.json"; } 2> "$T/t2"
cat "$T/import.json"
read -r first u1 s1 < "$T/t1"
read -r again u2 s2 < "$T/t2"
printf 'import, 20,000 micrographs x 10 answers: %.1f s wall, %.1f s CPU (user+sys)  (target < 60 s; %.0f records/s)\n' \
  "$first" "$(echo "$u1 + $s1" | bc -l)" "$(echo "200000 / $first" | bc -l)"
printf 'baseline, same import again (all known): %.1f s wall, %.1f s CPU  -> first import / re-import = %.2f\n' \
  "$again" "$(echo "$u2 + $s2" | bc -l)" "$(echo "$first / $again" | bc -l)"
ls -l "$DB" | awk '{printf "library size: %.1f MB\n", $5 / 1e6}'
"$T/bench-store" "$DB"
