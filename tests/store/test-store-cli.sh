#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# test-store-cli.sh: mvaema-cli import / export / db check / db backup.
#  - a synth folder (qa.jsonl + labels.csv + images) imports; importing it
#    again adds nothing; export returns exactly the same pairs (JSONL), and
#    LLaVA export re-imports to the same pairs;
#  - `mvaema-cli synth` output, when that command is built, round-trips too;
#  - --labels-from-folders, --reviewed-only, corrected answers, rejected pairs;
#  - db check (exit 0 only when all is well, --json, missing files, --search),
#    db backup;
#  - hostile input: foreign and non-SQLite files are refused and left byte for
#    byte as they were; malformed records are skipped and counted; a full disk
#    (RLIMIT_FSIZE) and an unwritable folder give a one-line error.
set -uo pipefail

CLI=${MVAEMA_CLI:?}
SHARED=${MVAEMA_SHARED_DIR:-}
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
T=$(mktemp -d)
trap 'chmod -R u+w "$T" 2>/dev/null; rm -rf "$T"' EXIT
failures=0

fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }
q() { sqlite3 "$1" "$2"; }

# expect_fail NAME CMD...: non-zero exit and a one-line message on stderr
expect_fail() {
  local name=$1; shift
  local out=$T/expect.out err=$T/expect.err rc lines
  rm -f "$out" "$err"
  "$@" >"$out" 2>"$err"
  rc=$?
  lines=$(grep -c . "$err" 2>/dev/null)
  if [ $rc -eq 0 ]; then fail "$name: exit 0"; return; fi
  if [ ! -f "$err" ] || [ "${lines:-0}" != 1 ]; then
    fail "$name: ${lines:-no} stderr lines"; cat "$err" 2>/dev/null; return
  fi
  ok "$name: $(cat "$err")"
}

# same_pairs A B: the two JSONL files hold the same multiset of records
same_pairs() {
  "$PY" - "$1" "$2" <<'EOF'
import json, sys
def load(p):
    return sorted(json.dumps(json.loads(l), sort_keys=True) for l in open(p) if l.strip())
a, b = load(sys.argv[1]), load(sys.argv[2])
if a != b:
    sa, sb = set(a), set(b)
    print("only in %s: %s" % (sys.argv[1], sorted(sa - sb)[:3]))
    print("only in %s: %s" % (sys.argv[2], sorted(sb - sa)[:3]))
    print("counts %d vs %d" % (len(a), len(b)))
    sys.exit(1)
EOF
}

# --- a synth folder -----------------------------------------------------------
make_image() {  # make_image PATH SEED: a small valid grayscale PNG
  "$PY" - "$1" "$2" <<'EOF'
import struct, sys, zlib, random
path, seed = sys.argv[1], int(sys.argv[2])
rng = random.Random(seed)
w = h = 32
raw = b"".join(b"\x00" + bytes(rng.randrange(256) for _ in range(w)) for _ in range(h))
def chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
png += chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
open(path, "wb").write(png)
EOF
}

S=$T/synth
mkdir -p "$S/images"
echo "image,category" > "$S/labels.csv"
cats=(biological fibres films mems nanowires particles patterned porous powder tips)
for i in $(seq 0 9); do
  make_image "$S/images/${cats[$i]}_$i.png" "$i"
  echo "images/${cats[$i]}_$i.png,${cats[$i]}" >> "$S/labels.csv"
done
"$PY" - "$S" <<'EOF'
import json, sys
cats = "biological fibres films mems nanowires particles patterned porous powder tips".split()
with open(sys.argv[1] + "/qa.jsonl", "w") as f:
    for i, c in enumerate(cats):
        for fam in range(1, 11):
            f.write(json.dumps({"image": "images/%s_%d.png" % (c, i), "category": c,
                                "family": fam,
                                "question": "Family %d question about this %s image?" % (fam, c),
                                "answer": "It shows %s; about %d nm — “quoted”, ünïcode.\nSecond line." % (c, 10 * fam),
                                "params": {"seed": i, "count": fam, "sizes": [1.5, 2.0]}},
                               ensure_ascii=False) + "\n")
EOF
# the same image twice under another name: deduplicated by content
cp "$S/images/tips_9.png" "$S/images/tips_copy.png"

DB=$T/lib.db
"$CLI" import --db "$DB" --json "$S" > "$T/imp1.json" || fail "import of the synth folder"
"$PY" - "$T/imp1.json" <<'EOF' || fail "first import counts"
import json, sys
s = json.loads(open(sys.argv[1]).read())
assert s["micrographs_added"] == 10, s
assert s["qa_added"] == 100, s
assert s["records_skipped"] == 0, s
EOF
[ "$(q "$DB" 'select count(*) from micrographs')" = 10 ] || fail "10 micrographs"
[ "$(q "$DB" "select category || ':' || category_source from micrographs where path like '%porous_7.png'")" = "porous:import" ] \
  || fail "category from labels.csv"

"$CLI" import --db "$DB" --json "$S" > "$T/imp2.json" || fail "second import"
"$PY" - "$T/imp2.json" <<'EOF' || fail "second import adds nothing"
import json, sys
s = json.loads(open(sys.argv[1]).read())
assert s["micrographs_added"] == 0 and s["qa_added"] == 0, s
assert s["qa_known"] == 100, s
EOF
[ "$(q "$DB" 'select count(*) from qa_pairs')" = 100 ] || fail "still 100 pairs"
"$CLI" import --db "$DB" "$S/qa.jsonl" >/dev/null || fail "import of qa.jsonl alone"
[ "$(q "$DB" 'select count(*) from qa_pairs')" = 100 ] || fail "qa.jsonl again adds nothing"
ok "import twice adds nothing"

# export next to qa.jsonl: image paths come out relative, identical to synth's
"$CLI" export --db "$DB" --format jsonl "$S/export.jsonl" > /dev/null || fail "export jsonl"
same_pairs "$S/qa.jsonl" "$S/export.jsonl" && ok "import then export returns the same pairs" \
  || fail "export differs from qa.jsonl"
# elsewhere: absolute paths to the same files
mkdir -p "$T/exports"
"$CLI" export --db "$DB" "$T/exports/elsewhere.jsonl" > /dev/null || fail "export elsewhere"
"$PY" - "$T/exports/elsewhere.jsonl" "$S" <<'EOF' || fail "absolute image paths"
import json, os, sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    assert os.path.isabs(r["image"]) and os.path.exists(r["image"]), r["image"]
    assert r["image"].startswith(os.path.realpath(sys.argv[2])), r["image"]
EOF

# LLaVA out and back in
"$CLI" export --db "$DB" --format llava "$S/export-llava.json" > /dev/null || fail "export llava"
"$PY" - "$S/export-llava.json" <<'EOF' || fail "LLaVA layout"
import json, sys
d = json.load(open(sys.argv[1]))
assert len(d) == 100
for e in d:
    assert set(["id", "image", "conversations"]) <= set(e)
    h, g = e["conversations"]
    assert h["from"] == "human" and h["value"].startswith("<image>\n")
    assert g["from"] == "gpt" and g["value"]
assert len(set(e["id"] for e in d)) == 100
EOF
DB2=$T/llava.db
"$CLI" import --db "$DB2" "$S/export-llava.json" > /dev/null || fail "import llava (detected)"
"$CLI" import --db "$DB2" --format llava "$S/export-llava.json" > /dev/null || fail "import --format llava"
[ "$(q "$DB2" 'select count(*) from qa_pairs')" = 100 ] || fail "llava import: 100 pairs"
"$CLI" export --db "$DB2" "$S/export2.jsonl" > /dev/null || fail "export after llava"
"$PY" - "$S/qa.jsonl" "$S/export2.jsonl" <<'EOF' && ok "LLaVA round trip" || fail "LLaVA round trip differs"
import json, sys
def load(p, drop):
    out = []
    for l in open(p):
        r = json.loads(l)
        for k in drop:
            r.pop(k, None)
        out.append(json.dumps(r, sort_keys=True))
    return sorted(out)
assert load(sys.argv[1], ["params"]) == load(sys.argv[2], ["params"])
EOF
# the same pairs in the other format do not duplicate
"$CLI" import --db "$DB" "$S/export-llava.json" > /dev/null || fail "llava into the first library"
[ "$(q "$DB" 'select count(*) from qa_pairs')" = 100 ] || fail "llava of known pairs adds nothing"

# multi-turn LLaVA and the <image> marker after the question
cat > "$T/multi.json" <<EOF
[{"id": "x1", "image": "synth/images/tips_9.png", "conversations": [
  {"from": "human", "value": "What is this?\n<image>"}, {"from": "gpt", "value": "A tip."},
  {"from": "human", "value": "How sharp?"}, {"from": "gpt", "value": "About 20 nm radius."}]},
 {"id": "x2", "image": "synth/images/missing.png", "conversations": [
  {"from": "human", "value": "<image>\nQ"}, {"from": "gpt", "value": "A"}]},
 {"id": "x3", "conversations": []}]
EOF
"$CLI" import --db "$DB2" --json "$T/multi.json" > "$T/multi.out" || fail "multi-turn llava"
"$PY" - "$T/multi.out" <<'EOF' || fail "multi-turn counts"
import json, sys
s = json.loads(open(sys.argv[1]).read())
assert s["qa_added"] == 2 and s["records_skipped"] == 2, s
EOF
[ "$(q "$DB2" "select count(*) from qa_pairs where question = 'What is this?'")" = 1 ] || fail "<image> stripped"

# --- reviews and --reviewed-only ------------------------------------------------
q "$DB" "insert into reviews (qa_id, state, reviewer, reviewed_at) values (1, 'accepted', 't', 1);
         insert into reviews (qa_id, state, corrected_text, reviewer, reviewed_at) values (2, 'corrected', 'Corrected text.', 't', 2);
         insert into reviews (qa_id, state, reviewer, reviewed_at) values (3, 'rejected', 't', 3);"
"$CLI" export --db "$DB" --reviewed-only "$T/rev.jsonl" > /dev/null || fail "export --reviewed-only"
[ "$(wc -l < "$T/rev.jsonl")" = 2 ] || fail "reviewed-only: 2 pairs"
grep -q '"answer":"Corrected text."' "$T/rev.jsonl" || fail "corrected text replaces the answer"
"$CLI" export --db "$DB" "$T/all.jsonl" > /dev/null || fail "export all"
[ "$(wc -l < "$T/all.jsonl")" = 99 ] || fail "rejected pairs are not exported"
ok "reviewed-only, corrections, rejections"

# --- labels from folders ----------------------------------------------------------
mkdir -p "$T/nffa/porous" "$T/nffa/tips/sub"
make_image "$T/nffa/porous/a.png" 101
make_image "$T/nffa/tips/sub/b.png" 102
echo "not an image" > "$T/nffa/porous/notes.txt"
printf 'II*\0broken' > "$T/nffa/porous/broken.tif"
DB3=$T/nffa.db
"$CLI" import --db "$DB3" --labels-from-folders --json "$T/nffa" > "$T/nffa.out" || fail "labels-from-folders"
[ "$(q "$DB3" "select category from micrographs where path like '%/a.png'")" = porous ] || fail "category porous"
[ "$(q "$DB3" "select category from micrographs where path like '%/b.png'")" = sub ] || fail "category = parent folder"
"$PY" - "$T/nffa.out" <<'EOF' || fail "load errors counted, text file ignored"
import json, sys
s = json.loads(open(sys.argv[1]).read())
assert s["micrographs_added"] == 3 and s["load_errors"] == 1, s
EOF
[ "$(q "$DB3" "select count(*) from micrographs where load_error is not null")" = 1 ] || fail "load_error recorded"
if [ -n "$SHARED" ] && [ -d "$SHARED/micrographs/particles" ]; then
  "$CLI" import --db "$DB3" --labels-from-folders "$SHARED/micrographs/particles" > /dev/null || fail "shared import"
  [ "$(q "$DB3" "select count(*) from micrographs where category = 'particles'")" -gt 0 ] || fail "shared particles"
fi
ok "labels from folders"

# --- db check / backup -------------------------------------------------------------
"$CLI" db check --db "$DB" > "$T/check.out" || fail "db check of a good library"
"$CLI" db check --db "$DB" --json > "$T/check.json" || fail "db check --json"
grep -q '"ok":true' "$T/check.json" || fail "check json ok"
mkdir -p "$T/moved"
mv "$S/images/fibres_1.png" "$T/moved/renamed.png"
expect_fail "db check with a missing file" "$CLI" db check --db "$DB"
"$CLI" db check --db "$DB" --json --search "$T/moved" > "$T/check2.json" 2>/dev/null && fail "missing file: exit 0"
"$PY" - "$T/check2.json" "$T/moved/renamed.png" <<'EOF' || fail "missing file reported and found by hash"
import json, sys
c = json.loads(open(sys.argv[1]).read())
assert c["ok"] is False and len(c["missing_files"]) == 1, c
m = c["missing_files"][0]
assert m["path"].endswith("fibres_1.png") and m["found"] == sys.argv[2], m
EOF
expect_fail "--relink without --search" "$CLI" db check --db "$DB" --relink
"$CLI" db check --db "$DB" --search "$T/moved" --relink > "$T/relink.out" || fail "db check --relink"
grep -q "relinked: 1" "$T/relink.out" || fail "relink reported"
[ "$(q "$DB" "select count(*) from micrographs where path = '$T/moved/renamed.png'")" = 1 ] || fail "path relinked"
"$CLI" db check --db "$DB" > /dev/null || fail "db check after relink"
mv "$T/moved/renamed.png" "$S/images/fibres_1.png"
"$CLI" db check --db "$DB" --search "$S/images" --relink > /dev/null || fail "relink back"
"$CLI" db backup --db "$DB" "$T/backup.db" > /dev/null || fail "db backup"
[ "$(q "$T/backup.db" 'select count(*) from qa_pairs')" = 100 ] || fail "backup holds the pairs"
"$CLI" db check --db "$T/backup.db" > /dev/null || fail "backup passes db check"
expect_fail "backup onto the library itself" "$CLI" db backup --db "$DB" "$DB"
ok "db check and backup"

# --- hostile input -------------------------------------------------------------------
echo "just some text" > "$T/text.db"
sqlite3 "$T/foreign.db" "create table invoices (id integer primary key, total real); insert into invoices (total) values (9.5);"
head -c 4096 "$DB" > "$T/truncated.db"
for f in text.db foreign.db; do
  before=$(sha256sum "$T/$f" | cut -d' ' -f1)
  expect_fail "import into $f" "$CLI" import --db "$T/$f" "$S"
  expect_fail "export from $f" "$CLI" export --db "$T/$f" "$T/x.jsonl"
  expect_fail "db check of $f" "$CLI" db check --db "$T/$f"
  expect_fail "db backup of $f" "$CLI" db backup --db "$T/$f" "$T/y.db"
  [ "$(sha256sum "$T/$f" | cut -d' ' -f1)" = "$before" ] || fail "$f was modified"
  [ -e "$T/$f-wal" ] && fail "$f got a WAL file"
done
expect_fail "missing input" "$CLI" import --db "$T/new.db" "$T/does-not-exist"
expect_fail "bad format" "$CLI" import --db "$T/new.db" --format xml "$S"
expect_fail "export into a missing folder" "$CLI" export --db "$DB" "$T/no/such/dir/out.jsonl"
expect_fail "export onto a folder" "$CLI" export --db "$DB" "$T"
expect_fail "export of a missing library" "$CLI" export --db "$T/nothing.db" "$T/o.jsonl"
[ -e "$T/nothing.db" ] && fail "export created a library"
printf '%s\n' '{"image":"images/tips_9.png","question":"q"}' 'not json' '[1,2]' \
  '{"image":"images/tips_9.png","question":"q","answer":"a","family":42}' \
  '{"image":"images/nope.png","question":"q","answer":"a"}' \
  '{"image":"images/tips_9.png","question":"valid","answer":"yes","family":"3"}' > "$S/bad.jsonl"
"$CLI" import --db "$DB" --json "$S/bad.jsonl" > "$T/bad.out" || fail "import of a partly bad jsonl"
"$PY" - "$T/bad.out" <<'EOF' || fail "bad records skipped and counted"
import json, sys
s = json.loads(open(sys.argv[1]).read())
assert s["qa_added"] == 1 and s["records_skipped"] == 5, s
EOF
ok "hostile input"

# mutated JSON Lines and LLaVA files: the import finishes or fails with one
# line, never crashes, and the library stays consistent
"$PY" - "$S" "$T/fuzz" <<'EOF'
import os, random, sys
src, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
rng = random.Random(5)
seeds = [open(os.path.join(src, "qa.jsonl"), "rb").read()[:6000],
         open(os.path.join(src, "export-llava.json"), "rb").read()[:6000]]
for i in range(40):
    b = bytearray(seeds[i % 2])
    for _ in range(rng.randrange(1, 40)):
        op = rng.randrange(3)
        p = rng.randrange(len(b))
        if op == 0:
            b[p] = rng.randrange(256)
        elif op == 1:
            del b[p:p + rng.randrange(1, 50)]
        else:
            b[p:p] = rng.choice([b"{", b"}", b"[", b"]", b'"', b"\\", b"\x00", b"\xff\xfe", b"null", b"1e999"])
    open(os.path.join(out, "m%02d.%s" % (i, "jsonl" if i % 2 == 0 else "json")), "wb").write(bytes(b))
EOF
for f in "$T"/fuzz/*; do
  cp "$f" "$S/fuzz-input"
  "$CLI" import --db "$T/fuzz.db" "$S/fuzz-input" > /dev/null 2> "$T/fuzz.err"
  rc=$?
  if [ $rc -gt 1 ]; then fail "import of mutated $(basename "$f") exited $rc"; tail -3 "$T/fuzz.err"; fi
  if [ $rc -eq 1 ] && ! tail -1 "$T/fuzz.err" | grep -q '^mvaema-cli: import: '; then
    fail "mutated $(basename "$f"): no one-line reason"; tail -3 "$T/fuzz.err"
  fi
done
rm -f "$S/fuzz-input"
"$CLI" db check --db "$T/fuzz.db" > /dev/null || fail "library after mutated imports"
ok "mutated instruction files"

# disk full: a file size limit far below what the import needs
"$PY" - "$T/big.jsonl" <<'EOF'
import json, sys
with open(sys.argv[1], "w") as f:
    for i in range(20000):
        f.write(json.dumps({"image": "synth/images/tips_9.png", "question": "q%d" % i,
                            "answer": "x" * 400}) + "\n")
EOF
(trap '' XFSZ; ulimit -f 512; exec "$CLI" import --db "$T/full.db" "$T/big.jsonl") >/dev/null 2>"$T/full.err"
rc=$?
if [ $rc -eq 0 ]; then fail "import under a 512 KiB file size limit succeeded"; fi
tail -1 "$T/full.err" | grep -q "disk full" && ok "disk full: $(tail -1 "$T/full.err")" \
  || { fail "disk full message"; cat "$T/full.err"; }
"$CLI" db check --db "$T/full.db" > /dev/null || fail "library after disk full passes db check"
# the library still works once there is room again
"$CLI" import --db "$T/full.db" "$T/big.jsonl" > /dev/null || fail "import after disk full"
[ "$(q "$T/full.db" 'select count(*) from qa_pairs')" = 20000 ] || fail "all pairs after disk full"

# a tiny tmpfs, where we may mount one
if [ "$(id -u)" = 0 ] && mkdir -p "$T/tiny" && mount -t tmpfs -o size=256k tmpfs "$T/tiny" 2>/dev/null; then
  "$CLI" import --db "$T/tiny/lib.db" "$T/big.jsonl" >/dev/null 2>"$T/tiny.err"
  rc=$?
  [ $rc -ne 0 ] && tail -1 "$T/tiny.err" | grep -q "disk full" && ok "tmpfs full: $(tail -1 "$T/tiny.err")" \
    || { fail "tmpfs full"; cat "$T/tiny.err"; }
  "$CLI" db check --db "$T/tiny/lib.db" > /dev/null || fail "tmpfs library passes db check"
  umount "$T/tiny"
fi

# an unwritable folder
mkdir -p "$T/ro"
if [ "$(id -u)" != 0 ]; then
  chmod 555 "$T/ro"
  expect_fail "library in a read-only folder" "$CLI" import --db "$T/ro/lib.db" "$S"
  expect_fail "export into a read-only folder" "$CLI" export --db "$DB" "$T/ro/out.jsonl"
  chmod 755 "$T/ro"
elif mount -t tmpfs -o ro,size=64k tmpfs "$T/ro" 2>/dev/null; then
  expect_fail "library in a read-only folder" "$CLI" import --db "$T/ro/lib.db" "$S"
  expect_fail "export into a read-only folder" "$CLI" export --db "$DB" "$T/ro/out.jsonl"
  umount "$T/ro"
else
  expect_fail "library in an unwritable folder" "$CLI" import --db /sys/mvaema-test/lib.db "$S"
fi

# --- the real synth output, when that command exists -----------------------------------
if "$CLI" synth --help >/dev/null 2>&1; then
  if "$CLI" synth --out "$T/real-synth" --per-class 2 --seed 7 >/dev/null 2>"$T/synth.err"; then
    "$CLI" import --db "$T/real.db" "$T/real-synth" > /dev/null || fail "import of synth output"
    "$CLI" export --db "$T/real.db" "$T/real-synth/export.jsonl" > /dev/null || fail "export of synth output"
    same_pairs "$T/real-synth/qa.jsonl" "$T/real-synth/export.jsonl" \
      && ok "mvaema-cli synth -> import -> export returns the same pairs" \
      || fail "synth round trip"
  else
    echo "note: mvaema-cli synth failed ($(tail -1 "$T/synth.err")); its round trip not checked"
  fi
else
  echo "note: mvaema-cli synth is not built; its round trip not checked"
fi

if [ $failures -ne 0 ]; then
  echo "$failures failure(s)"
  exit 1
fi
echo "all store CLI checks passed"
