# SPDX-License-Identifier: GPL-3.0-or-later
"""A local OpenAI-compatible chat-completions server for the teacher tests.

Binds 127.0.0.1 on a free port. The endpoint's first path segment picks the
behaviour, so one server serves every mode: POST
http://127.0.0.1:PORT/<mode>/v1/chat/completions with <mode> one of

  good       answers every family (formats vary: Q/A labels, numbered lists,
             markdown headings, bold "Question n:" blocks)
  slow       like good, after SLOW_S seconds
  ratelimit  429 with Retry-After: 1 on the first attempt of each request,
             then good
  flaky      500 on the first attempt of each request, then good
  malformed  200 with a body that is not JSON
  truncated  200 whose Content-Length promises more than is sent
  hang       accepts the request and never answers (until the server stops)
  cutoff     finish_reason "length" (reply cut at max_tokens)
  nopairs    200 with text that holds no question/answer structure
  unauth     401
  redirect   302 to another host (must not be followed)
Each request is validated like a real server would (JSON, model, messages,
a text part and an image_url part with a base64 PNG data URL, sampling
parameters) and recorded in self.requests (and in LOG_PATH when given) with
the Authorization header, family and image digest.
"""
import base64
import hashlib
import json
import re
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SLOW_S = 0.6


def png_size(data):
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise ValueError("not a PNG")
    return struct.unpack(">II", data[16:24])


def png_chunks(data):
    pos, names = 8, []
    while pos + 8 <= len(data):
        length, name = struct.unpack(">I4s", data[pos:pos + 8])
        names.append(name.decode("latin-1"))
        pos += 12 + length
    return names


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def _send(self, status, body, headers=None, content_length=None):
        data = body if isinstance(body, bytes) else body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length",
                         str(content_length if content_length is not None else len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if content_length is not None:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def do_GET(self):
        self._send(404, json.dumps({"error": {"message": "only POST /chat/completions"}}))

    def do_POST(self):
        srv = self.server
        with srv.lock:
            srv.in_flight += 1
            srv.max_in_flight = max(srv.max_in_flight, srv.in_flight)
        try:
            self.handle_post(srv)
        finally:
            with srv.lock:
                srv.in_flight -= 1

    def handle_post(self, srv):
        parts = self.path.strip("/").split("/")
        length = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(length)
        mode = parts[0] if parts else ""
        rec = {"mode": mode, "path": self.path,
               "authorization": self.headers.get("Authorization"),
               "time": time.time()}
        try:
            if not self.path.endswith("/chat/completions"):
                raise ValueError("path must end in /chat/completions")
            req = json.loads(raw)
            rec.update(self.validate(req))
        except (ValueError, KeyError, TypeError, IndexError) as e:
            rec["invalid"] = str(e)
            srv.record(rec)
            self._send(400, json.dumps({"error": {"message": "bad request: %s" % e}}))
            return
        key = (rec["image_sha"], rec["family"], rec["model"])
        attempt = srv.attempt(key)
        rec["attempt"] = attempt
        srv.record(rec)

        if mode == "redirect":
            self._send(302, "", {"Location": "http://198.51.100.7/v1/chat/completions"})
        elif mode == "unauth":
            self._send(401, json.dumps({"error": {"message": "invalid api key"}}))
        elif mode == "ratelimit" and attempt == 1:
            self._send(429, json.dumps({"error": {"message": "slow down"}}),
                       {"Retry-After": "1"})
        elif mode == "flaky" and attempt == 1:
            self._send(500, json.dumps({"error": {"message": "internal error"}}))
        elif mode == "malformed":
            self._send(200, '{"id": "x", "choices": [ {"message": {"content": "Q1: oops')
        elif mode == "truncated":
            body = self.reply(req, rec).encode()
            self._send(200, body[: len(body) // 2], content_length=len(body))
        elif mode == "hang":
            srv.hang.wait(60)
            self.close_connection = True
        elif mode == "cutoff":
            self._send(200, self.reply(req, rec, finish="length"))
        elif mode == "nopairs":
            self._send(200, self.reply(req, rec, text="I cannot help with that."))
        elif mode in ("good", "slow", "ratelimit", "flaky"):
            if mode == "slow":
                time.sleep(SLOW_S)
            self._send(200, self.reply(req, rec))
        else:
            self._send(404, json.dumps({"error": {"message": "unknown mode " + mode}}))

    @staticmethod
    def validate(req):
        out = {}
        if not isinstance(req.get("model"), str) or not req["model"]:
            raise ValueError("model missing")
        out["model"] = req["model"]
        for k in ("temperature", "top_p"):
            if not isinstance(req.get(k), (int, float)):
                raise ValueError(k + " missing")
            out[k] = req[k]
        if not isinstance(req.get("max_tokens"), int):
            raise ValueError("max_tokens missing")
        out["max_tokens"] = req["max_tokens"]
        msgs = req["messages"]
        if msgs[0]["role"] != "system" or not msgs[0]["content"]:
            raise ValueError("system message missing")
        user = msgs[1]
        if user["role"] != "user":
            raise ValueError("user message missing")
        text = [p["text"] for p in user["content"] if p["type"] == "text"][0]
        url = [p["image_url"]["url"] for p in user["content"] if p["type"] == "image_url"][0]
        prefix = "data:image/png;base64,"
        if not url.startswith(prefix):
            raise ValueError("image is not a PNG data URL")
        png = base64.b64decode(url[len(prefix):], validate=True)
        out["width"], out["height"] = png_size(png)
        out["png_chunks"] = sorted(set(png_chunks(png)))
        out["image_sha"] = hashlib.sha256(png).hexdigest()
        out["prompt"] = text
        m = re.search(r"^Topic: (.+)\.$", text, re.M)
        if not m:
            raise ValueError("no topic line in the prompt")
        out["topic"] = m.group(1)
        out["family"] = FAMILIES.index(m.group(1)) + 1
        out["questions"] = re.findall(r"^\d+\. (.+)$", text, re.M)
        cap = re.search(r"^This micrograph shows (.+)\.$", text, re.M)
        out["caption"] = cap.group(1) if cap else None
        return out

    @staticmethod
    def reply(req, rec, finish="stop", text=None):
        if text is None:
            text = format_answers(rec)
        return json.dumps({
            "id": "chatcmpl-test", "object": "chat.completion", "created": int(time.time()),
            "model": req["model"],
            "choices": [{"index": 0, "finish_reason": finish,
                         "message": {"role": "assistant", "content": text}}],
            "usage": {"prompt_tokens": 500 + len(rec["prompt"]) // 4,
                      "completion_tokens": max(1, len(text) // 4),
                      "total_tokens": 500 + len(rec["prompt"]) // 4 + max(1, len(text) // 4)},
        })


FAMILIES = ["Basics", "Morphology and structure", "Size and distribution",
            "Surface characteristics", "Composition and elements",
            "Interactions and boundaries", "External environment",
            "Imaging technique and modifications", "Functional features",
            "Context and application"]


def answer_for(rec, i):
    what = rec["caption"] or "a nanomaterial"
    return ("The %dx%d px micrograph of %s answers part %d of %s: "
            "the features measure about %d nm." % (rec["width"], rec["height"], what, i + 1,
                                                   rec["topic"].lower(), 40 + 10 * i))


def format_answers(rec):
    qs = rec["questions"]
    style = rec["family"] % 4
    out = []
    if style == 0:      # the layout we ask for
        for i, q in enumerate(qs):
            out += ["Q%d: %s" % (i + 1, q), "A%d: %s" % (i + 1, answer_for(rec, i)), ""]
    elif style == 1:    # numbered list with bold questions
        out.append("Here is my analysis.")
        for i, q in enumerate(qs):
            out.append("%d. **%s** %s" % (i + 1, q, answer_for(rec, i)))
    elif style == 2:    # markdown headings
        for i, q in enumerate(qs):
            out += ["### %s" % q, answer_for(rec, i), ""]
    else:               # bold labels on separate lines
        for i, q in enumerate(qs):
            out += ["**Question %d:** %s" % (i + 1, q), "**Answer:**", answer_for(rec, i), ""]
    return "\n".join(out)


class ChatServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, log_path=None):
        super().__init__(("127.0.0.1", 0), Handler)
        self.requests = []
        self.attempts = {}
        self.lock = threading.Lock()
        self.hang = threading.Event()
        self.in_flight = 0
        self.max_in_flight = 0
        self.log_path = log_path
        self.thread = None

    @property
    def port(self):
        return self.server_address[1]

    def endpoint(self, mode):
        return "http://127.0.0.1:%d/%s/v1" % (self.port, mode)

    def attempt(self, key):
        with self.lock:
            self.attempts[key] = self.attempts.get(key, 0) + 1
            return self.attempts[key]

    def record(self, rec):
        with self.lock:
            self.requests.append(rec)
            if self.log_path:
                with open(self.log_path, "a") as f:
                    f.write(json.dumps(rec) + "\n")

    def start(self):
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        self.hang.set()
        self.shutdown()
        self.server_close()


if __name__ == "__main__":
    import sys
    s = ChatServer(sys.argv[1] if len(sys.argv) > 1 else None).start()
    print(s.port, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        s.stop()
