#!/usr/bin/env python3
"""notify-listen.py SOCKET LOG [SIP_ADDR:PORT]: plays systemd's $NOTIFY_SOCKET for the e2e tests.
Binds a datagram socket at SOCKET and appends each message received to LOG as one line,
"<monotonic seconds> <fields separated by |>", after a first "LISTENING" line. With SIP_ADDR:PORT,
each READY=1 is answered at once by sending an OPTIONS there over UDP: "PROBE <status>" (or
"PROBE none" after 2 s) follows, so the test sees whether SIP answered when READY=1 arrived.
Runs until killed."""
import os
import socket
import sys
import time


def probe(target):
    host, port = target.rsplit(":", 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((host, 0))
    lport = s.getsockname()[1]
    msg = (
        "OPTIONS sip:probe@%s:%s SIP/2.0\r\n"
        "Via: SIP/2.0/UDP %s:%d;branch=z9hG4bK-notify-%d;rport\r\n"
        "Max-Forwards: 70\r\nFrom: <sip:probe@%s>;tag=n%d\r\nTo: <sip:probe@%s>\r\n"
        "Call-ID: notify-%d@%s\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
        % (host, port, host, lport, os.getpid(), host, os.getpid(), host, os.getpid(), host)
    )
    s.settimeout(2.0)
    s.sendto(msg.encode(), (host, int(port)))
    try:
        data = s.recv(65535)
        return data.split(b" ", 2)[1].decode()
    except (socket.timeout, IndexError):
        return "none"
    finally:
        s.close()


def main():
    path, log = sys.argv[1], sys.argv[2]
    target = sys.argv[3] if len(sys.argv) > 3 else None
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    with open(log, "a", buffering=1) as f:
        f.write("%.3f LISTENING\n" % time.monotonic())
        while True:
            data = s.recv(4096).decode(errors="replace")
            f.write("%.3f %s\n" % (time.monotonic(), data.replace("\n", "|")))
            if target and "READY=1" in data.split("\n"):
                f.write("%.3f PROBE %s\n" % (time.monotonic(), probe(target)))


main()
