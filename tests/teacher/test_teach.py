# SPDX-License-Identifier: GPL-3.0-or-later
"""End-to-end tests of `mvaema-cli teach` against chat_server.py.

  test_teach.py CASE --tool teacher-store-tool --noconnect noconnect.so

Each CASE builds a fresh library (a few generated PNGs and, when
MVAEMA_SHARED_DIR has it, a real micrograph) in a temporary folder with its
own XDG config folders, runs the CLI and checks the server's request record
and the store (read back through teacher-store-tool, the public store API).
"""
import argparse
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from chat_server import ChatServer  # noqa: E402

CLI = os.environ["MVAEMA_CLI"]
KEY = "sk-test-Zq8wY3vT1uKp0"
N_QUESTIONS = {1: 2, 2: 3, 3: 3, 4: 2, 5: 2, 6: 2, 7: 2, 8: 2, 9: 2, 10: 2}


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def write_png(path, w, h, seed):
    rows = []
    for y in range(h):
        row = bytearray([0])
        for x in range(w):
            v = ((x * 7 + y * 13 + seed * 31) ^ (x * y // 17)) & 0xFF
            row.append(v)
        rows.append(bytes(row))
    raw = zlib.compress(b"".join(rows), 6)

    def chunk(name, data):
        c = struct.pack(">I", len(data)) + name + data
        return c + struct.pack(">I", zlib.crc32(name + data) & 0xFFFFFFFF)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)))
        f.write(chunk(b"tEXt", b"Comment\x00secret-sample-note"))
        f.write(chunk(b"IDAT", raw))
        f.write(chunk(b"IEND", b""))


class Env:
    def __init__(self, args, n_images=3):
        self.args = args
        self.dir = tempfile.mkdtemp(prefix="mva-teach-")
        self.db = os.path.join(self.dir, "library.db")
        self.user_cfg = os.path.join(self.dir, "config")
        self.sys_cfg = os.path.join(self.dir, "xdg")
        os.makedirs(os.path.join(self.user_cfg, "mvaema"))
        os.makedirs(os.path.join(self.sys_cfg, "mvaema"))
        self.server = ChatServer().start()
        self.images = {}
        cats = ["nanowires", None, "particles", "porous"]
        sizes = [(320, 240), (1500, 1100), (200, 260), (300, 300)]
        for i in range(n_images):
            p = os.path.join(self.dir, "img%d.png" % i)
            write_png(p, *sizes[i % len(sizes)], seed=i)
            self.add(p, cats[i % len(cats)])

    def add(self, path, category):
        cmd = [self.args.tool, "add", self.db, path] + ([category] if category else [])
        out = subprocess.run(cmd, capture_output=True, text=True)
        check(out.returncode == 0, "store tool add failed: " + out.stderr)
        self.images[int(out.stdout)] = (path, category)

    def config(self, text, where="user"):
        d = self.user_cfg if where == "user" else self.sys_cfg
        with open(os.path.join(d, "mvaema", "teacher.conf"), "w") as f:
            f.write(text)

    def enable(self, mode="good", model="test-vision", extra=""):
        self.config("[teacher]\nenabled=true\nendpoint=%s\nmodel=%s\n%s"
                    % (self.server.endpoint(mode), model, extra))

    def environ(self, preload=False, block=False):
        env = dict(os.environ)
        for k in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy",
                  "ALL_PROXY", "MVAEMA_DB"):
            env.pop(k, None)
        env["XDG_CONFIG_HOME"] = self.user_cfg
        env["XDG_CONFIG_DIRS"] = self.sys_cfg
        env["XDG_DATA_HOME"] = os.path.join(self.dir, "data")
        env["MVAEMA_TEACHER_API_KEY"] = KEY
        env.pop("DBUS_SESSION_BUS_ADDRESS", None)
        if preload:
            env["LD_PRELOAD"] = self.args.noconnect
            env["NOCONNECT_LOG"] = os.path.join(self.dir, "connects.log")
            env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0"
            if block:
                env["NOCONNECT_BLOCK"] = "1"
        return env

    def teach(self, *extra, mode=None, preload=False, block=False, db=True, timeout=90,
              endpoint=True, extra_env=None):
        cmd = [CLI, "teach"]
        if db:
            cmd += ["--db", self.db]
        if mode is not None and endpoint:
            cmd += ["--endpoint", self.server.endpoint(mode)]
        cmd += ["--rpm", "0"] + list(extra)
        env = self.environ(preload, block)
        env.update(extra_env or {})
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
        check(KEY not in r.stderr and KEY not in r.stdout, "API key printed by the CLI")
        check("Sanitizer" not in r.stderr and "runtime error" not in r.stderr,
              "sanitizer report:\n" + r.stderr)
        return r

    def connects(self):
        p = os.path.join(self.dir, "connects.log")
        return open(p).read().splitlines() if os.path.exists(p) else []

    def dump(self):
        out = subprocess.run([self.args.tool, "dump", self.db], capture_output=True, text=True)
        check(out.returncode == 0, "store tool dump failed: " + out.stderr)
        rows = [json.loads(line) for line in out.stdout.splitlines()]
        return [r for r in rows if r["kind"] == "qa"], [r for r in rows if r["kind"] == "log"]

    def requests(self, mode=None):
        return [r for r in self.server.requests if mode is None or r["mode"] == mode]

    def close(self):
        self.server.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def assert_complete(env, families=range(1, 11), model="test-vision"):
    """Every image has pairs for every family, none duplicated, logs all ok."""
    qa, log = env.dump()
    for r in qa:
        check(r["source"] == "teacher", "pair with source %s" % r["source"])
        check(r["teacher_model"] == model, "teacher_model %r" % r["teacher_model"])
        check(r["prompt_tokens"] > 0 and r["completion_tokens"] > 0, "token usage missing")
        check(r["answer"] and r["question"], "empty pair")
        check("<" not in r["answer"] and "**" not in r["answer"], "unclean answer %r" % r["answer"])
    for mid in env.images:
        for f in families:
            pairs = [r for r in qa if r["micrograph_id"] == mid and r["family"] == f]
            questions = [r["question"] for r in pairs]
            check(len(pairs) == N_QUESTIONS[f],
                  "image %d family %d has %d pairs, want %d: %r"
                  % (mid, f, len(pairs), N_QUESTIONS[f], questions))
            check(len(set(questions)) == len(questions), "duplicate questions %r" % questions)
            ok = [r for r in log if r["micrograph_id"] == mid and r["family"] == f and r["ok"]]
            check(len(ok) == 1, "image %d family %d has %d ok log rows" % (mid, f, len(ok)))
    fams = {r["family"] for r in qa}
    check(fams == set(families), "families in store %r" % sorted(fams))
    return qa, log


def db_bytes(env):
    data = b""
    for suffix in ("", "-wal", "-shm", "-journal"):
        p = env.db + suffix
        if os.path.exists(p):
            data += open(p, "rb").read()
    return data


# --- cases ---------------------------------------------------------------------

def case_privacy(env):
    # no key file at all: refused, no connection, no request
    r = env.teach("--model", "m", mode="good", preload=True)
    check(r.returncode != 0, "teach ran without a key file")
    check("not enabled" in r.stderr, "refusal does not say why: " + r.stderr)
    check(len(r.stderr.strip().splitlines()) == 1, "refusal is not one line: " + r.stderr)
    # explicitly disabled, endpoint and model given on the command line
    env.config("[teacher]\nenabled=false\nendpoint=%s\nmodel=m\n" % env.server.endpoint("good"))
    r = env.teach("--model", "m", mode="good", preload=True)
    check(r.returncode != 0 and "not enabled" in r.stderr, "disabled teacher ran: " + r.stderr)
    # a user file that disables wins over a system file that enables
    env.config("[teacher]\nenabled=true\nendpoint=%s\nmodel=m\n" % env.server.endpoint("good"),
               where="system")
    r = env.teach(mode="good", preload=True)
    check(r.returncode != 0 and "not enabled" in r.stderr, "user file did not take precedence")
    # --dry-run is refused too while disabled
    r = env.teach("--dry-run", mode="good", preload=True)
    check(r.returncode != 0 and "not enabled" in r.stderr, "dry run while disabled")
    # a key file naming an endpoint allows only that endpoint
    os.remove(os.path.join(env.user_cfg, "mvaema", "teacher.conf"))
    r = env.teach(mode="malformed", preload=True)
    check(r.returncode != 0 and "allows the teacher endpoint" in r.stderr,
          "other endpoint was not refused: " + r.stderr)
    check(env.connects() == [], "a network connection was attempted: %r" % env.connects())
    check(env.requests() == [], "the server saw requests")
    qa, log = env.dump()
    check(qa == [] and log == [], "refused runs wrote to the store")

    # in its own network namespace (when the system allows it) the refusal is the same
    if shutil.which("unshare") and subprocess.run(["unshare", "-rn", "true"]).returncode == 0:
        os.remove(os.path.join(env.sys_cfg, "mvaema", "teacher.conf"))
        cmd = ["unshare", "-rn", CLI, "teach", "--db", env.db, "--model", "m", "--endpoint",
               env.server.endpoint("good")]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env.environ())
        check(r.returncode != 0 and "not enabled" in r.stderr, "netns refusal: " + r.stderr)

    # control: the interceptor does see the connections of an enabled run
    env.enable("good")
    r = env.teach("--images", "id:%d" % min(env.images), "--families", "1", preload=True)
    check(r.returncode == 0, "enabled run failed: " + r.stderr)
    check(any(line.startswith("connect") for line in env.connects()),
          "the connect interceptor saw nothing: it would prove nothing")
    check(len(env.requests()) == 1, "enabled run made %d requests" % len(env.requests()))


def case_dryrun(env):
    env.enable("good", extra="max-side=256\n")
    r = env.teach("--dry-run", preload=True, block=True)
    check(r.returncode == 0, "dry run failed: " + r.stderr)
    host = "127.0.0.1:%d" % env.server.port
    check(host in r.stdout and "estimated" in r.stdout, "dry run output lacks host/estimate")
    check("Topic: Basics." in r.stdout, "dry run does not show the prompt")
    r = env.teach("--dry-run", "--json", "--families", "1-3", preload=True, block=True)
    check(r.returncode == 0, "dry run --json failed: " + r.stderr)
    lines = [json.loads(x) for x in r.stdout.splitlines()]
    reqs = [x for x in lines if "family" in x]
    summary = lines[-1]
    check(len(reqs) == 3 * len(env.images), "dry run lists %d requests" % len(reqs))
    check(all(x["host"] == host and x["estimated_prompt_tokens"] > 85 for x in reqs),
          "dry run request lines wrong")
    check(all(max(x["width"], x["height"]) <= 256 for x in reqs), "max-side not applied")
    check(summary["requests"] == len(reqs) and summary["estimated_tokens"] >=
          sum(x["estimated_prompt_tokens"] for x in reqs) + 3500 * len(reqs), "summary wrong")
    check(env.connects() == [], "dry run attempted a connection: %r" % env.connects())
    check(env.requests() == [], "dry run reached the server")
    qa, log = env.dump()
    check(qa == [] and log == [], "dry run wrote to the store")


def case_good(env):
    env.enable("good")
    r = env.teach("--json", "--concurrency", "3")
    check(r.returncode == 0, "teach failed: " + r.stderr)
    summary = json.loads(r.stdout.splitlines()[-1])
    n = 10 * len(env.images)
    check(summary["ok"] == n and summary["failed"] == 0, "summary %r" % summary)
    reqs = env.requests("good")
    check(len(reqs) == n, "server saw %d requests, want %d" % (len(reqs), n))
    check(all("invalid" not in x for x in reqs), "invalid request: %r" % reqs)
    check(all(x["authorization"] == "Bearer " + KEY for x in reqs), "bearer key not sent")
    check(all(x["temperature"] == 0.25 and x["top_p"] == 0.1 and x["max_tokens"] == 3500
              and x["model"] == "test-vision" for x in reqs), "sampling parameters wrong")
    check(all(max(x["width"], x["height"]) <= 1024 for x in reqs), "image not downscaled")
    check(any(max(x["width"], x["height"]) == 1024 for x in reqs), "large image not sent at 1024")
    # pixels only: no text, EXIF, time or colour-profile chunks (the sources carry tEXt)
    check(all(set(x["png_chunks"]) <= {"IHDR", "IDAT", "IEND", "PLTE", "sBIT"} for x in reqs),
          "PNG carries metadata chunks: %r" % {c for x in reqs for c in x["png_chunks"]})
    captions = {x["caption"] for x in reqs}
    check("nanowires" in captions and None in captions, "captions wrong: %r" % captions)
    check(sorted({x["family"] for x in reqs}) == list(range(1, 11)), "not all families asked")
    check(all(sum(1 for x in reqs if x["image_sha"] == s and x["family"] == f) == 1
              for s in {x["image_sha"] for x in reqs} for f in range(1, 11)),
          "a request was sent twice")
    qa, log = assert_complete(env)
    check(summary["pairs_added"] == len(qa), "pairs_added %d vs %d" % (summary["pairs_added"],
                                                                       len(qa)))
    check(KEY.encode() not in db_bytes(env), "the API key is in the database")
    # a second run asks nothing again
    r = env.teach("--json")
    check(r.returncode == 0, "rerun failed: " + r.stderr)
    summary = json.loads(r.stdout.splitlines()[-1])
    check(summary["skipped"] == n and summary["ok"] == 0, "rerun summary %r" % summary)
    check(len(env.requests("good")) == n, "rerun sent requests again")
    qa2, log2 = env.dump()
    check(len(qa2) == len(qa) and len(log2) == len(log), "rerun changed the store")


def case_slow(env):
    env.enable("slow")
    r = env.teach("--concurrency", "3", "--json")
    check(r.returncode == 0, "slow run failed: " + r.stderr)
    check(len(env.requests("slow")) == 10 * len(env.images), "slow: request count")
    check(env.server.max_in_flight <= 3, "%d requests in flight with --concurrency 3"
          % env.server.max_in_flight)
    assert_complete(env)


def case_rpm(env):
    env.enable("good")
    cmd = [CLI, "teach", "--db", env.db, "--rpm", "60", "--concurrency", "4", "--families", "1-3",
           "--images", "id:%d" % min(env.images)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env.environ())
    check(r.returncode == 0, "rpm run failed: " + r.stderr)
    times = sorted(x["time"] for x in env.requests("good"))
    check(len(times) == 3, "rpm: %d requests" % len(times))
    gaps = [b - a for a, b in zip(times, times[1:])]
    # 1 s apart at the client; the server notes each after reading its body
    check(all(g >= 0.75 for g in gaps), "--rpm 60 started requests %r s apart" % gaps)


def retry_case(env, mode):
    env.enable(mode)
    r = env.teach("--json", "--retries", "2", "--concurrency", "4")
    check(r.returncode == 0, "%s run failed: %s" % (mode, r.stderr))
    summary = json.loads(r.stdout.splitlines()[-1])
    n = 10 * len(env.images)
    reqs = env.requests(mode)
    check(len(reqs) == 2 * n, "%s: %d requests, want %d (one retry each)" % (mode, len(reqs), 2 * n))
    check(summary["retries"] == n, "%s: retries %r" % (mode, summary))
    assert_complete(env)
    return reqs


def case_ratelimit(env):
    reqs = retry_case(env, "ratelimit")
    first = {}
    for x in reqs:
        k = (x["image_sha"], x["family"])
        if x["attempt"] == 1:
            first[k] = x["time"]
    for x in reqs:
        if x["attempt"] == 2:
            waited = x["time"] - first[(x["image_sha"], x["family"])]
            check(waited >= 0.9, "Retry-After: 1 not honoured (retried after %.2f s)" % waited)


def case_flaky(env):
    retry_case(env, "flaky")


def failure_case(env, mode, reason, extra=(), attempts=1, n_images=None):
    env.enable(mode)
    r = env.teach("--json", *extra)
    check(r.returncode != 0, "%s: exit status 0 although requests failed" % mode)
    summary = json.loads(r.stdout.splitlines()[-1])
    n = 10 * len(env.images)
    check(summary["failed"] == n and summary["ok"] == 0, "%s: summary %r" % (mode, summary))
    check(len(env.requests(mode)) == attempts * n,
          "%s: %d requests, want %d" % (mode, len(env.requests(mode)), attempts * n))
    qa, log = env.dump()
    check(qa == [], "%s: pairs stored from a bad reply: %r" % (mode, qa[:2]))
    check(len(log) == n and all(not x["ok"] for x in log), "%s: log %r" % (mode, log[:2]))
    check(all(reason in (x["reason"] or "") for x in log),
          "%s: reasons %r" % (mode, {x["reason"] for x in log}))
    # nothing lost: the same library completes against a good server
    env.enable("good")
    r = env.teach("--json")
    check(r.returncode == 0, "%s: recovery run failed: %s" % (mode, r.stderr))
    assert_complete(env)


def case_malformed(env):
    failure_case(env, "malformed", "malformed JSON")


def case_truncated(env):
    failure_case(env, "truncated", "truncated reply body",
                 extra=("--retries", "1", "--concurrency", "6"), attempts=2)


def case_hang(env):
    failure_case(env, "hang", "timed out",
                 extra=("--timeout", "2", "--retries", "0", "--concurrency", "10"))


def case_cutoff(env):
    failure_case(env, "cutoff", "finish_reason=length")


def case_nopairs(env):
    failure_case(env, "nopairs", "no question/answer pairs")


def case_unauth(env):
    env.enable("unauth")
    r = env.teach("--concurrency", "1")
    check(r.returncode != 0 and "HTTP 401" in r.stderr, "401 did not stop the run: " + r.stderr)
    check(len(env.requests("unauth")) == 1, "run went on after 401")
    qa, log = env.dump()
    check(qa == [] and log == [], "401 wrote to the store")


def case_redirect(env):
    env.enable("redirect")
    r = env.teach("--concurrency", "1", preload=True)
    check(r.returncode != 0 and "redirects are not followed" in r.stderr,
          "redirect did not stop the run: " + r.stderr)
    check(len(env.requests("redirect")) == 1, "run went on after a redirect")
    connects = [c for c in env.connects() if c.startswith("connect")]
    check(connects and all("addr=127.0.0.1 " in c for c in connects),
          "followed the redirect: %r" % connects)
    qa, log = env.dump()
    check(qa == [] and log == [], "redirect wrote to the store")


def case_down(env):
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    env.config("[teacher]\nenabled=true\nendpoint=http://127.0.0.1:%d/v1\nmodel=test-vision\n"
               % port)
    r = env.teach("--json", "--retries", "1", "--concurrency", "10", "--families", "1-2")
    check(r.returncode != 0, "a run against a closed port succeeded")
    summary = json.loads(r.stdout.splitlines()[-1])
    check(summary["failed"] == 2 * len(env.images) and summary["retries"] == 2 * len(env.images),
          "closed port summary %r" % summary)
    qa, log = env.dump()
    check(qa == [] and all("network error" in x["reason"] for x in log) and
          len(log) == 2 * len(env.images), "closed port log %r" % log[:1])


def case_kill(env):
    env.enable("slow")
    n = 10 * len(env.images)
    cmd = [CLI, "teach", "--db", env.db, "--concurrency", "2", "--rpm", "0"]
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         env=env.environ())
    deadline = time.time() + 60
    while len(env.requests("slow")) < n // 2 and time.time() < deadline and p.poll() is None:
        time.sleep(0.02)
    p.kill()
    p.wait()
    check(p.returncode == -signal.SIGKILL, "the run ended before it was killed")
    qa, log = env.dump()
    done = {(x["micrograph_id"], x["family"]) for x in log if x["ok"]}
    check(0 < len(done) < n, "killed run stored %d of %d" % (len(done), n))
    for mid, f in done:
        got = [x for x in qa if x["micrograph_id"] == mid and x["family"] == f]
        check(len(got) == N_QUESTIONS[f], "half-written outcome for %d/%d" % (mid, f))
    env.enable("good")
    r = env.teach("--json")
    check(r.returncode == 0, "resumed run failed: " + r.stderr)
    summary = json.loads(r.stdout.splitlines()[-1])
    check(summary["skipped"] == len(done) and summary["ok"] == n - len(done),
          "resume summary %r (done before: %d)" % (summary, len(done)))
    check(len(env.requests("good")) == n - len(done), "resume asked %d, want %d"
          % (len(env.requests("good")), n - len(done)))
    assert_complete(env)


def case_interrupt(env):
    env.enable("slow")
    cmd = [CLI, "teach", "--db", env.db, "--concurrency", "1", "--rpm", "0"]
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                         env=env.environ())
    deadline = time.time() + 60
    while len(env.requests("slow")) < 3 and time.time() < deadline and p.poll() is None:
        time.sleep(0.02)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=30)
    check(p.returncode == 130, "Ctrl+C exit status %r: %s" % (p.returncode, err))
    check("Sanitizer" not in err, "sanitizer report:\n" + err)
    check("stopped" in err, "no stop message: " + err)
    qa, log = env.dump()
    check(all(x["ok"] for x in log), "an interrupted request was logged as failed")
    env.enable("good")
    r = env.teach()
    check(r.returncode == 0, "run after Ctrl+C failed: " + r.stderr)
    assert_complete(env)


def case_spendcap(env):
    env.enable("good")
    cap = 4000
    r = env.teach("--json", "--max-total-tokens", str(cap), "--max-tokens", "400",
                  "--concurrency", "2", "--max-side", "256")
    check(r.returncode == 0, "spend-capped run failed: " + r.stderr)
    summary = json.loads(r.stdout.splitlines()[-1])
    check(summary["spend_cap_reached"], "cap not reported: %r" % summary)
    check(0 < summary["ok"] < 10 * len(env.images), "cap did not stop the run: %r" % summary)
    check(summary["prompt_tokens"] + summary["completion_tokens"] <= cap, "cap exceeded")
    check(len(env.requests("good")) == summary["ok"], "requests beyond the cap")
    check(all(x["max_tokens"] == 400 for x in env.requests()), "--max-tokens not sent")
    # an administrator's cap in teacher.conf may be lowered on the command line, not raised
    env.enable("good", extra="max-total-tokens=1000\n")
    r = env.teach("--max-total-tokens", "5000")
    check(r.returncode != 0 and "caps a run at 1000" in r.stderr, "admin cap raised: " + r.stderr)
    r = env.teach("--json", "--max-tokens", "400", "--max-side", "256")
    summary = json.loads(r.stdout.splitlines()[-1])
    check(summary["spend_cap_reached"] and
          summary["prompt_tokens"] + summary["completion_tokens"] <= 1000,
          "admin cap not applied: %r" % summary)


def case_families(env):
    env.enable("good")
    r = env.teach("--families", "0")
    check(r.returncode != 0 and "famil" in r.stderr, "--families 0 accepted")
    # proxies from the environment are not used (only one named in teacher.conf would be)
    bogus = {"http_proxy": "http://127.0.0.1:9/", "HTTP_PROXY": "http://127.0.0.1:9/",
             "all_proxy": "http://127.0.0.1:9/"}
    r = env.teach("--families", "2,5-6", "--images", "category:nanowires", extra_env=bogus)
    check(r.returncode == 0, "families run failed: " + r.stderr)
    qa, log = env.dump()
    check({x["family"] for x in qa} == {2, 5, 6}, "families %r" % {x["family"] for x in qa})
    nano = [mid for mid, (_, c) in env.images.items() if c == "nanowires"]
    check({x["micrograph_id"] for x in qa} == set(nano), "--images category: not applied")
    r = env.teach("--limit", "1", "--families", "1")
    check(r.returncode == 0, "limit run failed: " + r.stderr)
    qa, log = env.dump()
    check(len({x["micrograph_id"] for x in qa if x["family"] == 1}) == 1, "--limit not applied")


def case_real(env):
    """A real micrograph from the shared set (TIFF with a data bar, if present)."""
    shared = os.environ.get("MVAEMA_SHARED_DIR", "")
    folder = os.path.join(shared, "micrographs", "instrument-files")
    tifs = sorted(f for f in os.listdir(folder) if f.endswith(".tif")) if os.path.isdir(folder) else []
    if not tifs:
        print("no shared micrographs: skipped")
        sys.exit(77)
    env.add(os.path.join(folder, tifs[0]), "fibres")
    env.enable("good")
    r = env.teach("--images", tifs[0][:20])
    check(r.returncode == 0, "real micrograph run failed: " + r.stderr)
    reqs = env.requests("good")
    check(len(reqs) == 10 and all(max(x["width"], x["height"]) <= 1024 for x in reqs),
          "real micrograph requests wrong")
    # the data bar the loader finds is not sent: the aspect ratio is that of the image above it
    info = subprocess.run([CLI, "info", "--json", os.path.join(folder, tifs[0])],
                          capture_output=True, text=True)
    meta = json.loads(info.stdout.splitlines()[0]) if info.returncode == 0 else {}
    if meta.get("databar_height_px"):
        w, h = meta["width"], meta["height"] - meta["databar_height_px"]
        sc = min(1.0, 1024.0 / max(w, h))
        check(all(abs(x["width"] - w * sc) <= 1 and abs(x["height"] - h * sc) <= 1 for x in reqs),
              "data bar not removed: sent %dx%d, image above the bar %dx%d"
              % (reqs[0]["width"], reqs[0]["height"], w, h))


CASES = {name[5:]: fn for name, fn in globals().items() if name.startswith("case_")}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("case", choices=sorted(CASES))
    ap.add_argument("--tool", required=True)
    ap.add_argument("--noconnect", required=True)
    args = ap.parse_args()
    env = Env(args, n_images=1 if args.case in ("hang",) else 3)
    try:
        CASES[args.case](env)
    finally:
        env.close()
    print("ok " + args.case)


if __name__ == "__main__":
    main()
