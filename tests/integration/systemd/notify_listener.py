#!/usr/bin/env python3
"""Plays systemd's side of the notification protocol (sd_notify(3)).

Binds a unix datagram socket at PATH and writes every state assignment it
receives (READY=1, STATUS=..., WATCHDOG=1, ...) to stdout, one per line, with
a sequence number of the datagram it came in: "<n> <assignment>". Exits after
STOPPING=1 or when the test kills it.
"""
import os
import socket
import sys

path = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
os.chmod(path, 0o666)
print("listening", flush=True)
n = 0
while True:
    data = s.recv(65536)
    n += 1
    for line in data.decode("utf-8", "replace").split("\n"):
        if line:
            print(f"{n} {line}", flush=True)
    if b"STOPPING=1" in data:
        break
