#!/usr/bin/env python3
"""notify-listen.py SOCKET LOG: plays systemd's $NOTIFY_SOCKET for the e2e tests: binds a datagram
socket at SOCKET and appends each message received to LOG as one line:
"<monotonic seconds> <fields separated by |>". Runs until killed."""
import os
import socket
import sys
import time

path, log = sys.argv[1], sys.argv[2]
try:
    os.unlink(path)
except FileNotFoundError:
    pass
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
with open(log, "a", buffering=1) as f:
    f.write("%.3f LISTENING\n" % time.monotonic())
    while True:
        data = s.recv(4096)
        f.write("%.3f %s\n" % (time.monotonic(), data.decode(errors="replace").replace("\n", "|")))
