#!/usr/bin/env python3
"""serve.py: serve chord's chat page on a loopback port.

    contrib/web/serve.py [-p PORT] [-m MODEL.gguf]

The page (contrib/web/) is at /, the browser build (build/wasm/, from
`make wasm`) at /wasm/, and with -m the model file at /model/NAME, so the
page can fetch it from the same origin. Every answer carries the headers of
cross-origin isolation (COOP/COEP), which SharedArrayBuffer and wasm threads
need. Port 0 (the default) takes a free one; the first line on stdout is the
page's URL. GET /stats answers {"model_gets": N}: how often the model was
fetched (the tests check that a reload takes it from the browser's store).
"""
import argparse
import json
import os
import shutil
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
ROOTS = {
    "/wasm/": os.path.join(TOP, "build", "wasm"),
    "/": os.path.join(TOP, "contrib", "web"),
}
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".wasm": "application/wasm",
    ".gguf": "application/octet-stream",
}
SERVED = {".html", ".js", ".css", ".wasm"}


class Handler(BaseHTTPRequestHandler):
    model = None            # (url path, file path) or None
    model_gets = 0
    lock = threading.Lock()

    def log_message(self, fmt, *args):
        sys.stderr.write("serve.py: %s\n" % (fmt % args))

    def headers_out(self, code, ctype, length):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(length))
        self.send_header("Cross-Origin-Opener-Policy", "same-origin")
        self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
        self.send_header("Cross-Origin-Resource-Policy", "same-origin")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()

    def answer(self, code, ctype, body):
        self.headers_out(code, ctype, len(body))
        if self.command != "HEAD":
            self.wfile.write(body)

    def resolve(self, path):
        """The file for a URL path, or None."""
        path = path.split("?", 1)[0]
        if path == "/":
            path = "/index.html"
        if self.model and path == self.model[0]:
            return self.model[1]
        for prefix, root in ROOTS.items():
            if not path.startswith(prefix):
                continue
            rel = path[len(prefix):]
            if ".." in rel.split("/") or \
                    os.path.splitext(rel)[1] not in SERVED:
                return None
            f = os.path.join(root, rel)
            return f if os.path.isfile(f) else None
        return None

    def do_GET(self):
        if self.path == "/stats":
            with Handler.lock:
                n = Handler.model_gets
            body = json.dumps({"model_gets": n}).encode()
            return self.answer(200, "application/json", body)
        f = self.resolve(self.path)
        if f is None:
            return self.answer(404, "text/plain", b"not found\n")
        if self.model and f == self.model[1] and self.command == "GET":
            with Handler.lock:
                Handler.model_gets += 1
        ext = os.path.splitext(f)[1]
        with open(f, "rb") as fp:
            self.headers_out(200, TYPES.get(ext, "application/octet-stream"),
                             os.fstat(fp.fileno()).st_size)
            if self.command != "HEAD":
                try:
                    shutil.copyfileobj(fp, self.wfile, 1 << 20)
                except (BrokenPipeError, ConnectionResetError):
                    pass

    do_HEAD = do_GET


def main():
    ap = argparse.ArgumentParser(
        usage="serve.py [-h] [-p PORT] [-m MODEL.gguf]")
    ap.add_argument("-p", "--port", type=int, default=0)
    ap.add_argument("-m", "--model")
    a = ap.parse_args()
    if not 0 <= a.port <= 65535:
        ap.error("-p: %d: out of range" % a.port)
    if a.model:
        if not os.path.isfile(a.model):
            sys.exit("serve.py: %s: no such file" % a.model)
        Handler.model = ("/model/" + os.path.basename(a.model),
                         os.path.abspath(a.model))
    if not os.path.isfile(os.path.join(ROOTS["/wasm/"], "chord.js")):
        sys.exit("serve.py: build/wasm/chord.js: missing: run make wasm")
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    srv.daemon_threads = True
    print("http://127.0.0.1:%d/" % srv.server_address[1], flush=True)
    if a.model:
        print("model: %s" % Handler.model[0], flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
