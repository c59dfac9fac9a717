#!/usr/bin/env python3
"""Slowloris probe (issue 18): N half-sent requests, then one real request; prints how long it took.

    python3 scripts/slowloris.py PORT [N]      # against a mock started with `ulimit -n 1024`

Loopback only. Before the header timeout and connection limit, 1,100 half-sent requests made a server
with `ulimit -n 1024` refuse all service until they closed; now the real request waits at most for the
header timeout (10 s) and the server keeps its descriptors.
"""
import socket, sys, time, urllib.request

port = int(sys.argv[1])
n = int(sys.argv[2]) if len(sys.argv) > 2 else 1100
hogs = []
for _ in range(n):
    s = socket.socket()
    s.settimeout(0.5)
    try:
        s.connect(("127.0.0.1", port))
        s.send(b"GET /__admin/health HTTP/1.1\r\nhost: 127.0.0.1\r\n")
    except OSError:
        pass  # in the listen backlog, or refused: still counts as a hog
    hogs.append(s)
started = time.monotonic()
try:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/__admin/health", timeout=30) as r:
        status = r.status
except Exception as e:  # noqa: BLE001 - report whatever happened
    status = repr(e)
elapsed = time.monotonic() - started
closed = 0
for s in hogs:
    try:
        s.settimeout(0.01)
        if s.recv(1) == b"":
            closed += 1
    except OSError:
        pass
print(f"{n} half-sent connections: health answered {status} after {elapsed:.2f} s; {closed} hogs closed by the server")
