#!/usr/bin/env python3
"""A WebSub subscriber for msmd's system tests (tests/tests/system/websub.rs).

An HTTPS server (standard library only: http.server and ssl) that
- answers intent verification GETs: with the challenge, except on paths starting with /liar,
  where it answers something else (a subscriber that never asked);
- takes content distribution POSTs, answering 204 (410 on paths starting with /gone);
- records every request as one JSON line in LOG (POST bodies saved beside it as files).

Usage: subscriber.py BIND_IP PORT CERT KEY LOG_FILE
Prints "ready" once it listens.
"""

import json
import os
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

BIND, PORT, CERT, KEY, LOG = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
LOCK = threading.Lock()
COUNT = [0]

# the largest delivery body taken (msmd sends at most 20 entries)
MAX_BODY = 4 * 1024 * 1024


def record(entry):
    with LOCK:
        with open(LOG, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body=b""):
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        url = urlsplit(self.path)
        q = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        record({"kind": "verify", "path": url.path, "query": q})
        challenge = q.get("hub.challenge", "")
        if url.path.startswith("/liar"):
            self.answer(200, b"not-the-challenge")
        else:
            self.answer(200, challenge.encode())

    def do_POST(self):
        url = urlsplit(self.path)
        n = int(self.headers.get("Content-Length", "0"))
        if n > MAX_BODY:
            self.answer(413)
            return
        body = self.rfile.read(n)
        with LOCK:
            COUNT[0] += 1
            name = f"{LOG}.{COUNT[0]}.xml"
        with open(name, "wb") as f:
            f.write(body)
        record({
            "kind": "delivery",
            "path": url.path,
            "query": url.query,
            "content_type": self.headers.get("Content-Type"),
            "link": self.headers.get_all("Link") or [],
            "signature": self.headers.get("X-Hub-Signature"),
            "body_file": name,
        })
        self.answer(410 if url.path.startswith("/gone") else 204)


def main():
    server = ThreadingHTTPServer((BIND, PORT), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(CERT, KEY)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
