#!/usr/bin/env python3
"""smtp-sink.py: a minimal SMTP server (RFC 5321 subset) for the e2e tests: takes every message
and appends it, with its envelope, to a file. Usage: smtp-sink.py ADDR PORT OUTFILE [SECONDS]"""
import socketserver
import sys
import threading


class Handler(socketserver.StreamRequestHandler):
    def reply(self, line):
        self.wfile.write((line + "\r\n").encode())
        self.wfile.flush()

    def handle(self):
        self.reply("220 sink ESMTP")
        mail_from, rcpts = "", []
        while True:
            raw = self.rfile.readline(4096)
            if not raw:
                return
            line = raw.decode("latin-1").rstrip("\r\n")
            verb = line[:4].upper()
            if verb == "EHLO":
                self.reply("250-sink")
                self.reply("250 8BITMIME")
            elif verb == "HELO":
                self.reply("250 sink")
            elif verb == "MAIL":
                mail_from, rcpts = line[10:].strip(), []
                self.reply("250 OK")
            elif verb == "RCPT":
                rcpts.append(line[8:].strip())
                self.reply("250 OK")
            elif verb == "DATA":
                if not rcpts:
                    self.reply("503 no recipients")
                    continue
                self.reply("354 go ahead")
                body = []
                while True:
                    raw = self.rfile.readline(1 << 20)
                    if not raw:
                        return
                    l = raw.decode("latin-1").rstrip("\r\n")
                    if l == ".":
                        break
                    body.append(l[1:] if l.startswith("..") else l)
                with open(self.server.out, "a", encoding="latin-1") as f:
                    f.write("X-Envelope-From: %s\nX-Envelope-To: %s\n" % (mail_from, " ".join(rcpts)))
                    f.write("\n".join(body) + "\n.\n")
                self.reply("250 queued")
            elif verb in ("RSET", "NOOP"):
                self.reply("250 OK")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("502 not implemented")


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def main():
    addr, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    secs = float(sys.argv[4]) if len(sys.argv) > 4 else 300
    srv = Server((addr, port), Handler)
    srv.out = out
    threading.Timer(secs, srv.shutdown).start()  # bounded: stops by itself
    srv.serve_forever()


if __name__ == "__main__":
    main()
