#!/usr/bin/env python3
"""User-space instructions per request, counted by callgrind: a measure that does not move with the
machine's load, for telling apart steps worth a few per cent when wall-clock runs on a shared 2-core
machine differ by 20 % between two runs of the same binary (benches/RESULTS.md, 2026-12-02).

    python3 benches/instructions.py before=/tmp/old-binary now=target/release/wix-oauth-mock

Each binary serves under `valgrind --tool=callgrind` on 127.0.0.1; for each of issue 13's cases it
gets 300 warm-up requests on one keep-alive connection, its counters zeroed, then N requests
(`INSTR_REQUESTS`, default 2000), then a dump. Kernel time (the socket writes, about half of a
request's CPU) is not counted, and valgrind runs SHA-256 without the CPU's SHA extensions, so HMAC
weighs more here than on the real CPU: compare binaries with each other, not with `bench.py`.
Needs valgrind (`apt-get install valgrind`).

`INSTR_CACHE=1` also simulates the caches (`--cache-sim=yes`, last level = this machine's 1 MiB L2
per core, `INSTR_LL` to change it) and prints data-cache misses per request beside the
instructions, after 1 200 warm-up requests so that the journal (1 000 entries) is full and evicting,
as it is under load. Simulated, so as repeatable as the instruction count: it tells whether a change
shrinks the memory a request touches, which the wall-clock runs cannot resolve at 0.3 µs.
`INSTR_CONNS=N` sends the requests over N keep-alive connections in turn (default 1): with 64, the
server's per-connection buffers compete for the cache as they do under `bench.py`'s load."""
import glob
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

APP_ID = "5e2c9a6f-8a61-4b4f-9a43-0f3d2b1c7a10"
APP_SECRET = "mock-app-secret-0001"
INSTANCE = "54f783ac-8c25-4a73-9ebf-a1125f71c5e3"
REFRESH = "OAUTH2.REFRESH.demo-site-refresh-token"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(binary, callgrind_args):
    """Starts `binary` under callgrind on a free 127.0.0.1 port and waits for its health probe.
    Returns the process and `post(path, body, auth=None)`, which sends a JSON POST over one
    keep-alive connection and returns the body of its 200 (anything else stops the script)."""
    port = free_port()
    proc = subprocess.Popen(
        ["valgrind", "--tool=callgrind", *callgrind_args, binary, "--port", str(port), "--no-watch"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("GET", "/__admin/health")
            conn.getresponse().read()
            break
        except OSError:
            if time.time() > deadline or proc.poll() is not None:
                proc.kill()
                raise SystemExit(f"{binary} did not answer under valgrind")
            time.sleep(0.2)
    # `INSTR_CONNS` keep-alive connections taken in turn (one request at a time): what a load of
    # that many connections keeps warm, each with its own buffers in the server.
    conns = [conn] + [http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                      for _ in range(int(os.environ.get("INSTR_CONNS", "1")) - 1)]
    turn = [0]

    def post(path, body, auth=None):
        headers = {"Content-Type": "application/json", **({"Authorization": auth} if auth else {})}
        conn = conns[turn[0] % len(conns)]
        turn[0] += 1
        conn.request("POST", path, json.dumps(body), headers)
        res = conn.getresponse()
        data = res.read()
        if res.status != 200:
            raise SystemExit(f"{path} answered {res.status}: {data[:200]!r}")
        return data

    return proc, post


def cases(post):
    """Issue 13's three benchmark requests, name -> (path, body, Authorization)."""
    refresh = {"grant_type": "refresh_token", "client_id": APP_ID, "client_secret": APP_SECRET,
               "refresh_token": REFRESH}
    token = json.loads(post("/oauth/access", refresh))["access_token"]
    return {
        "client_credentials": ("/oauth2/token", {
            "grant_type": "client_credentials", "client_id": APP_ID, "client_secret": APP_SECRET,
            "instance_id": INSTANCE}, None),
        "refresh_token": ("/oauth/access", refresh, None),
        "bi-event": ("/apps/v1/bi-event", {"eventName": "APP_DASHBOARD_LOADED"}, token),
    }


def measure(binary, n, cache=False):
    out = tempfile.mkdtemp(prefix="callgrind-")
    args = [f"--callgrind-out-file={out}/callgrind.out.%p"]
    if cache:
        args += ["--cache-sim=yes", f"--LL={os.environ.get('INSTR_LL', '1048576,16,64')}"]
    proc, post = serve(binary, args)
    result = {}
    try:
        for name, (path, body, auth) in cases(post).items():
            for _ in range(1200 if cache else 300):
                post(path, body, auth)
            subprocess.run(["callgrind_control", "-z", str(proc.pid)], capture_output=True, check=True)
            for _ in range(n):
                post(path, body, auth)
            before = set(glob.glob(f"{out}/callgrind.out.*"))
            subprocess.run(["callgrind_control", "-d", str(proc.pid)], capture_output=True, check=True)
            time.sleep(0.5)
            totals = {}
            for dump in set(glob.glob(f"{out}/callgrind.out.*")) - before:
                with open(dump) as f:
                    lines = f.read().splitlines()
                events = next(line.split()[1:] for line in lines if line.startswith("events:"))
                summary = next(line.split()[1:] for line in lines if line.startswith(("summary:", "totals:")))
                for event, count in zip(events, summary):
                    totals[event] = totals.get(event, 0) + int(count)
            result[name] = {
                "ir": totals["Ir"] / n,
                "d1": (totals.get("D1mr", 0) + totals.get("D1mw", 0)) / n,
                "ll": (totals.get("DLmr", 0) + totals.get("DLmw", 0)) / n,
            }
    finally:
        proc.terminate()
        proc.wait()
    return result


def main():
    n = int(os.environ.get("INSTR_REQUESTS", "2000"))
    cache = os.environ.get("INSTR_CACHE", "") not in ("", "0")
    bins = [a.split("=", 1) for a in sys.argv[1:]] or [["mock", "target/release/wix-oauth-mock"]]
    conns = int(os.environ.get("INSTR_CONNS", "1"))
    print(f"user-space instructions per request (callgrind, {n} sequential requests on {conns} keep-alive connection(s))"
          + ("; data-cache misses per request, D1 / last level (simulated)" if cache else ""))
    print("| server | client_credentials | refresh_token | bi-event |")
    print("|---|---|---|---|")
    for label, binary in bins:
        r = measure(binary, n, cache)
        cells = []
        for c in ("client_credentials", "refresh_token", "bi-event"):
            cell = f"{r[c]['ir'] / 1000:.1f} k"
            if cache:
                cell += f", misses {r[c]['d1']:.0f} / {r[c]['ll']:.1f}"
            cells.append(cell)
        print(f"| {label} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
