#!/usr/bin/env python3
"""Listens on a datagram socket as systemd's NOTIFY_SOCKET does and prints
each notification's lines as "SECONDS LINE" (monotonic time), until
SECONDS pass or the file STOP_FILE appears."""
import os
import socket
import sys
import time

path, seconds, stop_file = sys.argv[1], float(sys.argv[2]), sys.argv[3]
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind(path)
sock.settimeout(0.1)
end = time.monotonic() + seconds
with open(path + ".ready", "w"):
    pass
while time.monotonic() < end and not os.path.exists(stop_file):
    try:
        data = sock.recv(4096).decode(errors="replace")
    except socket.timeout:
        continue
    now = time.monotonic()
    for line in data.splitlines():
        print("%.3f %s" % (now, line), flush=True)
