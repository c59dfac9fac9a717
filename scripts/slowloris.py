#!/usr/bin/env python3
"""Slowloris probe (issue 18): N half-sent requests while a client keeps asking for /__admin/health.

    python3 scripts/slowloris.py PORT [N]     # against a running mock; loopback only

Opens N connections that send a request line and one header and then nothing, 200 at a time, and
between batches (and for 3 s after) times a fresh `GET /__admin/health` on a new connection. Prints
the probes' p50, p99 and max latency and how many failed. Before the header timeout and the
connection limit, 1,100 such sockets against `ulimit -n 1024` made the server refuse all service;
now the oldest half-sent socket makes room for each new client.
"""
import resource, socket, sys, time

port = int(sys.argv[1])
n = int(sys.argv[2]) if len(sys.argv) > 2 else 5000
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, n + 256)), hard))

def probe():
    started = time.monotonic()
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=15)
        s.sendall(b"GET /__admin/health HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n")
        head = s.recv(12)
        s.close()
        ok = head == b"HTTP/1.1 200"
    except OSError:
        ok = False
    return time.monotonic() - started, ok

hogs, latencies, failed = [], [], 0
while len(hogs) < n:
    for _ in range(min(200, n - len(hogs))):
        s = socket.socket()
        s.setblocking(False)
        try:
            s.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        hogs.append(s)
    time.sleep(0.05)
    for s in hogs[-200:]:
        try:
            s.send(b"GET /__admin/health HTTP/1.1\r\nhost: 127.0.0.1\r\n")
        except OSError:
            pass
    took, ok = probe()
    latencies.append(took)
    failed += not ok
end = time.monotonic() + 3
while time.monotonic() < end:
    took, ok = probe()
    latencies.append(took)
    failed += not ok
    time.sleep(0.05)
latencies.sort()
pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000
print(f"{n} half-sent connections: {len(latencies)} health probes, p50 {pick(0.5):.1f} ms, "
      f"p99 {pick(0.99):.1f} ms, max {latencies[-1] * 1000:.1f} ms, {failed} failed")
sys.exit(1 if failed else 0)
