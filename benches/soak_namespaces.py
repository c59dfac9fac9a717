#!/usr/bin/env python3
"""Memory soak (issue 18): floods NS namespaces with 64 KiB request bodies and reports the server's RSS.

    python3 benches/soak_namespaces.py [BINARY] [NS] [PER_NS]
    (default: target/release/wix-oauth-mock, else target/debug; 256 namespaces; 40 requests each)

Starts the binary on a free loopback port with --max-namespaces NS, sends PER_NS `POST /oauth2/token`
requests of just under 64 KiB (one 60 KiB field plus 40 short ones, as a junk-sending client would) to
each namespace, then prints peak and current RSS and what /__admin/health says the journals hold.
Before the journal budget (issue 18) 31 namespaces grew the server to 2.0 GB; the ceiling this
checks is 256 MiB (exit 1 above it).
"""
import http.client, json, os, re, subprocess, sys, time

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
binary = sys.argv[1] if len(sys.argv) > 1 else None
if not binary:
    binary = os.path.join(root, "target/release/wix-oauth-mock")
    if not os.path.exists(binary):
        binary = os.path.join(root, "target/debug/wix-oauth-mock")
namespaces = int(sys.argv[2]) if len(sys.argv) > 2 else 256
per_ns = int(sys.argv[3]) if len(sys.argv) > 3 else 40
CEILING_MIB = 256

server = subprocess.Popen(
    [binary, "serve", "--port", "0", "--max-namespaces", str(namespaces), "--no-watch"],
    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
line = server.stdout.readline()
port = int(re.search(r"http://127\.0\.0\.1:(\d+)", line).group(1))


def rss():
    status = open(f"/proc/{server.pid}/status").read()
    field = lambda name: int(re.search(rf"{name}:\s+(\d+) kB", status).group(1)) / 1024
    return field("VmHWM"), field("VmRSS")


body = {"grant_type": "client_credentials", "client_id": "x", "junk": "j" * 60_000}
for i in range(40):
    body[f"field{i}"] = "v" * 50
payload = json.dumps(body).encode()
assert len(payload) < 64 * 1024, len(payload)

started = time.monotonic()
conn = http.client.HTTPConnection("127.0.0.1", port)
for n in range(namespaces):
    for _ in range(per_ns):
        conn.request("POST", "/oauth2/token", payload,
                     {"content-type": "application/json", "x-wix-mock-namespace": f"soak-{n}"})
        conn.getresponse().read()
elapsed = time.monotonic() - started
conn.request("GET", "/__admin/health")
journal = json.loads(conn.getresponse().read()).get("journal", {})
peak, now = rss()
server.terminate()
server.wait()
sent = namespaces * per_ns * len(payload) / 2**20
print(f"{namespaces} namespaces x {per_ns} requests of {len(payload)} B ({sent:.0f} MiB sent in {elapsed:.1f} s): "
      f"peak RSS {peak:.1f} MiB, RSS at the end {now:.1f} MiB; journals hold "
      f"{journal.get('all_namespaces_bytes', 0) / 2**20:.1f} MiB of a "
      f"{journal.get('all_namespaces_budget_bytes', 0) / 2**20:.0f} MiB budget")
sys.exit(0 if peak < CEILING_MIB else 1)
