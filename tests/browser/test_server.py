#!/usr/bin/python3
"""Loopback HTTP server for the browser tests: real pages, hostile responses, and search-provider APIs.

Usage: test_server.py --bind 127.0.0.2 --docs /usr/share/doc/python3-doc/html
Prints "PORT <n>" on stdout once listening; serves until killed (or until its parent's pipe closes).

Routes
  /docs/<path>              files under --docs (Debian's python3-doc HTML), text/html; charset=utf-8
  /latency?ms=200&id=N      a small page after a delay (concurrency of mclick)
  /big                      50 MB body without Content-Length
  /slow                     one byte every 100 ms, for up to 60 s
  /loop?n=K                 redirect loop (302 to /loop?n=K+1)
  /redir?to=URL             302 to URL
  /gzip-bomb                gzip of 100 MB of zeros, Content-Encoding: gzip, served as text/html
  /deep?n=100000            n nested <div>s
  /malformed                broken markup
  /invalid-utf8             declared UTF-8, contains invalid sequences
  /gbk                      a Chinese page encoded in GBK, charset only in <meta>
  /binary                   random bytes served as text/html
  /headers-flood            256 KiB of response headers
  /stats                    JSON: peak concurrent requests since the last /stats?reset=1
  /searxng/search           SearXNG JSON API (format=json) over the document titles
  /brave/res/v1/web/search  Brave Web Search API (X-Subscription-Token: test-key)
  /last                     JSON: path and headers of the last provider request
"""
import argparse
import html
import json
import os
import random
import re
import sys
import threading
import time
import urllib.parse
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STATE = {"active": 0, "peak": 0, "last": {}}
LOCK = threading.Lock()
BOMB = None
DOCS = ""
TITLES = []  # (relative path, title)


def load_titles(root):
    for dirpath, _, files in os.walk(root):
        for f in files:
            if not f.endswith(".html"):
                continue
            p = os.path.join(dirpath, f)
            try:
                with open(p, "rb") as fh:
                    head = fh.read(4096).decode("utf-8", "replace")
            except OSError:
                continue
            m = re.search(r"<title>(.*?)</title>", head, re.S)
            if m:
                TITLES.append((os.path.relpath(p, root), html.unescape(m.group(1)).strip()))
    TITLES.sort()


BOMB_READY = threading.Event()


def make_gzip_bomb():  # 100 MB of zeros in a ~450 KB gzip stream; built once at start-up, in the background
    global BOMB
    c = zlib.compressobj(1, zlib.DEFLATED, 31)
    chunk = b"\0" * (1 << 20)
    BOMB = b"".join([c.compress(chunk) for _ in range(100)] + [c.flush()])
    BOMB_READY.set()


def gzip_bomb():
    BOMB_READY.wait()
    return BOMB


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send_body(self, body, ctype="text/html; charset=utf-8", status=200, extra=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def redirect(self, location):
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self):
        with LOCK:
            STATE["active"] += 1
            STATE["peak"] = max(STATE["peak"], STATE["active"])
        try:
            self.route()
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            with LOCK:
                STATE["active"] -= 1

    def route(self):
        url = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(url.query)
        path = url.path
        if path.startswith("/docs/"):
            rel = os.path.normpath(urllib.parse.unquote(path[len("/docs/"):]))
            full = os.path.join(DOCS, rel)
            if rel.startswith("..") or not os.path.isfile(full):
                return self.send_body(b"<h1>404</h1>", status=404)
            with open(full, "rb") as f:
                return self.send_body(f.read())
        if path == "/latency":
            time.sleep(int(q.get("ms", ["200"])[0]) / 1000.0)
            i = q.get("id", ["0"])[0]
            return self.send_body(("<html><head><title>Page %s</title></head><body><h1>Page %s</h1>"
                                   "<p>Served after a delay.</p></body></html>" % (i, i)).encode())
        if path == "/big":
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Connection", "close")
            self.end_headers()
            chunk = b"<p>" + b"x" * 65529 + b"</p>"
            for _ in range(50 * 16):  # 50 MB
                self.wfile.write(chunk)
            self.close_connection = True
            return
        if path == "/slow":
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b"<html><body><p>")
            self.wfile.flush()
            for _ in range(600):
                time.sleep(0.1)
                self.wfile.write(b"a")
                self.wfile.flush()
            self.close_connection = True
            return
        if path == "/loop":
            n = int(q.get("n", ["0"])[0])
            return self.redirect("/loop?n=%d" % (n + 1))
        if path == "/redir":
            return self.redirect(q.get("to", ["/"])[0])
        if path == "/gzip-bomb":
            return self.send_body(gzip_bomb(), "text/html", extra=[("Content-Encoding", "gzip")])
        if path == "/deep":
            n = int(q.get("n", ["100000"])[0])
            return self.send_body(b"<html><head><title>Deep</title></head><body>" + b"<div>d" * n +
                                  b"<p>bottom</p>" + b"</div>" * n + b"</body></html>")
        if path == "/malformed":
            body = (b"<html><head><title>Broken <b>page</title><body><p>unclosed <b>bold <i>both</b> tail"
                    b"<table><tr><td>cell<td>cell2<tr><p>stray</table><a href='/docs/x.html'>link"
                    b"</div></div></span><<<>>> &bogus; &#xFFFFFFFF; <!-- unterminated comment")
            return self.send_body(body)
        if path == "/invalid-utf8":
            body = (b"<html><head><title>Bad bytes</title></head><body><p>ok \xff\xfe mid \xc3\x28 end "
                    b"\xed\xa0\x80 surrogate \xf8\x88\x80\x80\x80 long</p></body></html>")
            return self.send_body(body)
        if path == "/gbk":
            text = ("<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=gbk\">"
                    "<title>中文网页测试</title></head><body><h1>北京的天气</h1>"
                    "<p>今天北京晴，最高气温二十五度。</p></body></html>")
            return self.send_body(text.encode("gbk"), "text/html")
        if path == "/binary":
            rnd = random.Random(7)
            return self.send_body(bytes(rnd.getrandbits(8) for _ in range(200000)), "text/html")
        if path == "/headers-flood":
            self.send_response(200)
            for i in range(256):
                self.send_header("X-Flood-%d" % i, "v" * 1000)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")
            return
        if path == "/stats":
            with LOCK:
                body = json.dumps({"peak": STATE["peak"]}).encode()
                if q.get("reset"):
                    STATE["peak"] = 0
            return self.send_body(body, "application/json")
        if path == "/last":
            with LOCK:
                body = json.dumps(STATE["last"]).encode()
            return self.send_body(body, "application/json")
        if path == "/searxng/search":
            return self.searxng(q)
        if path == "/brave/res/v1/web/search":
            return self.brave(q)
        return self.send_body(b"<h1>not found</h1>", status=404)

    def remember(self):
        with LOCK:
            STATE["last"] = {"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}}

    def matches(self, query, limit):
        words = [w for w in re.findall(r"\w+", query.lower())]
        hits = []
        for rel, title in TITLES:
            t = title.lower()
            if words and all(w in t for w in words):
                hits.append((rel, title))
            if len(hits) >= limit:
                break
        host = "http://%s:%d" % self.server.server_address[:2]
        return [(host + "/docs/" + rel, title) for rel, title in hits]

    def searxng(self, q):
        self.remember()
        if q.get("format", [""])[0] != "json":
            return self.send_body(b"<html>format=json required</html>", status=403)
        query = q.get("q", [""])[0]
        results = [{"url": u, "title": t, "content": "Python documentation: <b>%s</b>." % html.escape(t),
                    "engine": "duckduckgo", "engines": ["duckduckgo"], "positions": [i + 1], "score": 1.0 / (i + 1),
                    "category": "general", "parsed_url": list(urllib.parse.urlsplit(u)) + [""]}
                   for i, (u, t) in enumerate(self.matches(query, 10))]
        body = {"query": query, "number_of_results": len(results), "results": results, "answers": [],
                "corrections": [], "infoboxes": [], "suggestions": [], "unresponsive_engines": []}
        return self.send_body(json.dumps(body).encode(), "application/json")

    def brave(self, q):
        self.remember()
        if self.headers.get("X-Subscription-Token") != "test-key":
            err = {"type": "ErrorResponse", "error": {"id": "x", "status": 422, "code": "SUBSCRIPTION_TOKEN_INVALID",
                                                      "detail": "The provided subscription token is invalid."}}
            return self.send_body(json.dumps(err).encode(), "application/json", status=422)
        query = q.get("q", [""])[0]
        count = int(q.get("count", ["20"])[0])
        results = [{"type": "search_result", "title": t, "url": u, "is_source_local": False,
                    "description": "Official <strong>Python</strong> docs &amp; tutorials: %s" % html.escape(t),
                    "profile": {"name": "Python"}, "language": "en", "family_friendly": True}
                   for (u, t) in self.matches(query, count)]
        body = {"type": "search", "query": {"original": query, "more_results_available": False}, "mixed": {},
                "web": {"type": "search", "results": results, "family_friendly": True}}
        if not results:
            del body["web"]
        return self.send_body(json.dumps(body).encode(), "application/json")


def main():
    global DOCS
    ap = argparse.ArgumentParser()
    ap.add_argument("--bind", default="127.0.0.2")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--docs", required=True)
    args = ap.parse_args()
    DOCS = os.path.realpath(args.docs)
    if not os.path.isdir(DOCS):
        print("ERROR docs folder missing: " + DOCS, flush=True)
        sys.exit(1)
    threading.Thread(target=make_gzip_bomb, daemon=True).start()
    load_titles(DOCS)
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer.handle_error = lambda self, request, address: None  # resets by the client are expected
    ThreadingHTTPServer.request_queue_size = 64
    srv = ThreadingHTTPServer((args.bind, args.port), Handler)
    print("PORT %d" % srv.server_address[1], flush=True)

    def watch_parent():  # exit when the test process goes away
        sys.stdin.read()
        os._exit(0)

    threading.Thread(target=watch_parent, daemon=True).start()
    srv.serve_forever()


if __name__ == "__main__":
    main()
