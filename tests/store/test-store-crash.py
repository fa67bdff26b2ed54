#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
#
# test-store-crash.py: kill -9 the library's writers at random moments, many
# times, and check after each kill that the database passes integrity_check
# and foreign_key_check, that every write the writer had reported as
# committed (it appends to a side file, fsynced, after each commit) is there,
# and that no row is half written.
#
#   1. `mvaema-cli import --commit-log LOG big.jsonl` (a long import), killed
#      N times; then a complete run must end with exactly all records.
#   2. store-review-writer (reviews and undos through the C API), killed N
#      times; the reviews table must equal the replayed log (give or take the
#      one write that committed just before the kill but was not logged yet),
#      and every pair's cached review state must match its latest review.
#
# Usage: test-store-crash.py MVAEMA_CLI REVIEW_WRITER [ITERATIONS]
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

CLI = sys.argv[1]
WRITER = sys.argv[2]
ITER = int(sys.argv[3]) if len(sys.argv) > 3 else 20
N_RECORDS = 100000
STATE_CODE = {"accepted": 1, "corrected": 2, "rejected": 3}
failures = []


def fail(msg):
    print("FAIL: " + msg, flush=True)
    failures.append(msg)


def check_db(path):
    con = sqlite3.connect(path)
    try:
        ic = [r[0] for r in con.execute("PRAGMA integrity_check")]
        if ic != ["ok"]:
            fail("integrity_check: %s" % ic[:5])
        fk = list(con.execute("PRAGMA foreign_key_check"))
        if fk:
            fail("foreign_key_check: %s" % fk[:5])
    finally:
        con.close()


def last_logged(log):
    try:
        with open(log) as f:
            lines = [l.split() for l in f if l.strip()]
    except FileNotFoundError:
        return 0
    return int(lines[-1][0]) if lines else 0


def run_and_kill(cmd, delay):
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(delay)
    killed = p.poll() is None
    if killed:
        os.kill(p.pid, signal.SIGKILL)
    _, err = p.communicate()
    return killed, p.returncode, err.decode(errors="replace")


def import_crash(tmp, rng):
    images = []
    for i in range(4):
        path = os.path.join(tmp, "img%d.png" % i)
        with open(path, "wb") as f:
            f.write(bytes(rng.getrandbits(8) for _ in range(2048)))
        images.append("img%d.png" % i)
    records = {}
    src = os.path.join(tmp, "big.jsonl")
    with open(src, "w") as f:
        for i in range(N_RECORDS):
            rec = {"image": images[i % 4], "category": "particles" if i % 2 else "tips",
                   "family": 1 + i % 10, "question": "Question %d about the image?" % i,
                   "answer": "Answer number %d, with some words to make it longer." % i,
                   "params": {"i": i}}
            records[rec["question"]] = rec
            f.write(json.dumps(rec) + "\n")
    db = os.path.join(tmp, "import.db")
    log = os.path.join(tmp, "import.log")
    for it in range(ITER):
        before = 0
        if os.path.exists(db):
            con = sqlite3.connect(db)
            before = con.execute("SELECT count(*) FROM qa_pairs").fetchone()[0]
            con.close()
        if os.path.exists(log):
            os.unlink(log)
        delay = rng.uniform(0.02, 0.4) + 0.12 * it   # later kills reach further
        killed, rc, err = run_and_kill([CLI, "import", "--db", db, "--commit-log", log, src],
                                       delay)
        if not killed and rc != 0:
            fail("import exited %d: %s" % (rc, err.strip()))
        if not os.path.exists(db):
            continue
        check_db(db)
        con = sqlite3.connect(db)
        after = con.execute("SELECT count(*) FROM qa_pairs").fetchone()[0]
        committed = last_logged(log)
        if after < before + committed:
            fail("iteration %d: %d pairs, but %d were there and %d more reported committed"
                 % (it, after, before, committed))
        for q, a, fam, cat, path, params in con.execute(
                "SELECT q.question, q.answer, q.family, q.category, m.path, q.params_json "
                "FROM qa_pairs q JOIN micrographs m ON m.id = q.micrograph_id"):
            rec = records.get(q)
            if (rec is None or rec["answer"] != a or rec["family"] != fam
                    or rec["category"] != cat or os.path.basename(path) != rec["image"]
                    or json.loads(params) != rec["params"]):
                fail("iteration %d: a pair that does not match its record: %r" % (it, q))
                break
        con.close()
        print("import kill %2d at %.2fs: %d pairs (was %d, %d reported committed)"
              % (it, delay, after, before, committed), flush=True)
    # Ctrl+C stops between transactions: a one-line message, what it
    # reported committed is there, and nothing more than one batch beyond
    sig_db = os.path.join(tmp, "sigint.db")
    sig_log = os.path.join(tmp, "sigint.log")
    p = subprocess.Popen([CLI, "import", "--db", sig_db, "--commit-log", sig_log, src],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    # interrupt once the first batch is committed, however slow the machine
    for _ in range(6000):
        if last_logged(sig_log) > 0 or p.poll() is not None:
            break
        time.sleep(0.01)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate()
    last = err.decode(errors="replace").strip().splitlines()[-1:] or [""]
    if p.returncode == 0 or "stopped" not in last[0]:
        fail("Ctrl+C: exit %d, last line %r" % (p.returncode, last[0]))
    else:
        check_db(sig_db)
        con = sqlite3.connect(sig_db)
        n = con.execute("SELECT count(*) FROM qa_pairs").fetchone()[0]
        con.close()
        if n != last_logged(sig_log) or n == 0 or n >= N_RECORDS:
            fail("Ctrl+C: %d pairs in the library, %d reported committed" % (n, last_logged(sig_log)))
        print("Ctrl+C after the first commit: %d pairs saved; %s" % (n, last[0]), flush=True)

    p = subprocess.run([CLI, "import", "--db", db, "--json", src], capture_output=True)
    if p.returncode != 0:
        fail("final import failed: %s" % p.stderr.decode(errors="replace"))
    check_db(db)
    con = sqlite3.connect(db)
    n = con.execute("SELECT count(*) FROM qa_pairs").fetchone()[0]
    m = con.execute("SELECT count(*) FROM micrographs").fetchone()[0]
    con.close()
    if n != N_RECORDS or m != 4:
        fail("after a complete import: %d pairs and %d micrographs, expected %d and 4"
             % (n, m, N_RECORDS))


def review_rows(db):
    con = sqlite3.connect(db)
    rows = {r[0]: (r[1], r[2], r[3]) for r in con.execute(
        "SELECT id, qa_id, state, corrected_text FROM reviews")}
    bad = list(con.execute(
        "SELECT q.id, q.review_state, (SELECT state FROM reviews r WHERE r.qa_id = q.id "
        "ORDER BY r.id DESC LIMIT 1) FROM qa_pairs q"))
    con.close()
    for qa, cached, latest in bad:
        if cached != STATE_CODE.get(latest, 0):
            fail("pair %d: cached review state %d but latest review is %s" % (qa, cached, latest))
            break
    return rows


def replay(rows, log):
    """rows as they should be after the logged writes."""
    expect = dict(rows)
    with open(log) as f:
        for line in f:
            parts = line.rstrip("\n").split(" ", 4)
            if parts[0] == "add":
                rid, qa, state, text = int(parts[1]), int(parts[2]), parts[3], parts[4]
                expect[rid] = (qa, state, None if text == "-" else text)
            elif parts[0] == "undo":
                qa = int(parts[1])
                ids = [rid for rid, v in expect.items() if v[0] == qa]
                if ids:
                    del expect[max(ids)]
    return expect


def review_crash(tmp, rng):
    db = os.path.join(tmp, "import.db")      # the pairs of the import part
    log = os.path.join(tmp, "reviews.log")
    rows = review_rows(db)
    total_logged = 0
    for it in range(ITER):
        if os.path.exists(log):
            os.unlink(log)
        open(log, "w").close()
        delay = rng.uniform(0.05, 0.8)
        killed, rc, err = run_and_kill([WRITER, db, log, str(it + 1)], delay)
        if not killed:
            fail("review writer stopped by itself (%d): %s" % (rc, err.strip()))
        check_db(db)
        expect = replay(rows, log)
        now = review_rows(db)
        extra = set(now) - set(expect)
        missing = set(expect) - set(now)
        changed = [k for k in set(now) & set(expect) if now[k] != expect[k]]
        # the write that committed right before the kill may be unlogged:
        # at most one extra (newest) review, or one missing (an unlogged undo)
        ok = not changed and len(extra) + len(missing) <= 1
        if extra and (max(extra) <= max(expect, default=0)):
            ok = False
        if not ok:
            fail("iteration %d: reviews differ from the log: %d extra, %d missing, %d changed"
                 % (it, len(extra), len(missing), len(changed)))
        with open(log) as f:
            n = sum(1 for _ in f)
        total_logged += n
        print("review kill %2d at %.2fs: %d committed writes logged, %d reviews"
              % (it, delay, n, len(now)), flush=True)
        rows = now
    if total_logged == 0:
        fail("the review writer never committed anything")


def main():
    rng = random.Random(20261126)
    with tempfile.TemporaryDirectory(prefix="mvaema-crash-") as tmp:
        import_crash(tmp, rng)
        review_crash(tmp, rng)
    if failures:
        print("%d failure(s)" % len(failures))
        return 1
    print("all kills left a consistent library")
    return 0


if __name__ == "__main__":
    sys.exit(main())
