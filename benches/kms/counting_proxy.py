#!/usr/bin/env python3
"""A counting HTTP proxy for moto_server: forwards every request to the
upstream and counts AWS API calls by their X-Amz-Target header.

    counting_proxy.py LISTEN_PORT UPSTREAM_PORT

GET /__counts returns the counts as JSON; POST /__reset clears them.
"""
import http.client
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LISTEN, UPSTREAM = int(sys.argv[1]), int(sys.argv[2])
counts = {}
lock = threading.Lock()


class Proxy(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _reply(self, status, body, headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _forward(self):
        if self.path == "/__counts":
            with lock:
                body = json.dumps(counts).encode()
            return self._reply(200, body, [("Content-Type", "application/json")])
        if self.path == "/__reset":
            with lock:
                counts.clear()
            return self._reply(204, b"")
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        target = self.headers.get("X-Amz-Target", self.command + " " + self.path.split("?")[0])
        with lock:
            counts[target] = counts.get(target, 0) + 1
        conn = http.client.HTTPConnection("127.0.0.1", UPSTREAM, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
        headers["Host"] = f"127.0.0.1:{UPSTREAM}"
        conn.request(self.command, self.path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        out = [(k, v) for k, v in resp.getheaders()
               if k.lower() not in ("content-length", "transfer-encoding", "connection")]
        self._reply(resp.status, data, out)
        conn.close()

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward


ThreadingHTTPServer(("127.0.0.1", LISTEN), Proxy).serve_forever()
