#!/usr/bin/env python3
"""notify-recv.py ADDR PORT OUTFILE [MODE]: a webhook receiver for screening.sh (Debian's
python3 http.server): each POST's body is appended to OUTFILE as one line; MODE "ok" answers
200, "fail" answers 500, "hang" accepts the connection and never answers."""
import http.server
import socket
import sys
import time

addr, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
mode = sys.argv[4] if len(sys.argv) > 4 else "ok"

if mode == "hang":
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(64)
    held = []
    deadline = time.time() + 600
    while time.time() < deadline:
        c, _ = s.accept()
        held.append(c)  # read nothing, answer nothing
    sys.exit(0)


class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n).decode("utf-8", "replace")
        with open(out, "a", encoding="utf-8") as f:
            f.write(body.replace("\n", " ") + "\n")
        self.send_response(200 if mode == "ok" else 500)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass


http.server.HTTPServer((addr, port), H).serve_forever()
