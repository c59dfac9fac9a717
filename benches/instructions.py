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
Needs valgrind (`apt-get install valgrind`)."""
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

    def post(path, body, auth=None):
        headers = {"Content-Type": "application/json", **({"Authorization": auth} if auth else {})}
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


def measure(binary, n):
    out = tempfile.mkdtemp(prefix="callgrind-")
    proc, post = serve(binary, [f"--callgrind-out-file={out}/callgrind.out.%p"])
    result = {}
    try:
        for name, (path, body, auth) in cases(post).items():
            for _ in range(300):
                post(path, body, auth)
            subprocess.run(["callgrind_control", "-z", str(proc.pid)], capture_output=True, check=True)
            for _ in range(n):
                post(path, body, auth)
            before = set(glob.glob(f"{out}/callgrind.out.*"))
            subprocess.run(["callgrind_control", "-d", str(proc.pid)], capture_output=True, check=True)
            time.sleep(0.5)
            total = 0
            for dump in set(glob.glob(f"{out}/callgrind.out.*")) - before:
                with open(dump) as f:
                    total += next(int(line.split()[1]) for line in f if line.startswith(("summary:", "totals:")))
            result[name] = total / n
    finally:
        proc.terminate()
        proc.wait()
    return result


def main():
    n = int(os.environ.get("INSTR_REQUESTS", "2000"))
    bins = [a.split("=", 1) for a in sys.argv[1:]] or [["mock", "target/release/wix-oauth-mock"]]
    print(f"user-space instructions per request (callgrind, {n} sequential keep-alive requests)")
    print("| server | client_credentials | refresh_token | bi-event |")
    print("|---|---|---|---|")
    for label, binary in bins:
        r = measure(binary, n)
        print(f"| {label} | " + " | ".join(f"{r[c] / 1000:.1f} k" for c in
                                           ("client_credentials", "refresh_token", "bi-event")) + " |",
              flush=True)


if __name__ == "__main__":
    main()
