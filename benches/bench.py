#!/usr/bin/env python3
"""The benchmark driver behind benches/run.sh (run that; it builds the binaries first).

Servers run on 127.0.0.1 only. CPU per request is the server process's own user+sys time (from
/proc/PID/stat) divided by the requests wrk completed, so it stays meaningful on a busy machine where
wall-clock throughput does not. Every report starts with the machine's load average for that reason.
"""

import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MOCK = os.path.join(ROOT, "target/release/wix-oauth-mock")
STATIC = os.path.join(ROOT, "target/release/examples/static_server")
MIXED = os.path.join(ROOT, "target/release/examples/mixed_load")
LUA = os.path.join(ROOT, "benches/wrk/post.lua")
TICK = os.sysconf("SC_CLK_TCK")

# The built-in scenario's demo app, instance, refresh token and Headless OAuth app.
APP_ID = "5e2c9a6f-8a61-4b4f-9a43-0f3d2b1c7a10"
APP_SECRET = "mock-app-secret-0001"
INSTANCE = "54f783ac-8c25-4a73-9ebf-a1125f71c5e3"
REFRESH = "OAUTH2.REFRESH.demo-site-refresh-token"
OAUTH_APP = "0a4ceeaf-bc1a-46aa-9a26-b8f700fc63f5"


def mock_cmd(port):
    return [MOCK, "--port", str(port), "--no-watch"]


def static_cmd(port):
    return [STATIC, str(port)]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answered(port):
    """One GET over a fresh connection; True when a status line came back."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"GET /__admin/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            return s.recv(16).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def start(cmd, port):
    """Starts a server and waits until it answers; returns (process, seconds to first answer)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while not answered(port):
        if proc.poll() is not None:
            raise SystemExit(f"{cmd[0]} exited with {proc.returncode}")
        if time.perf_counter() - t0 > 10:
            raise SystemExit(f"{cmd[0]} did not answer within 10 s")
    return proc, time.perf_counter() - t0


def stop(proc):
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


STARTUP_ROUNDS = int(os.environ.get("BENCH_STARTS", "30"))


def startup_ms(cmds, runs=STARTUP_ROUNDS):
    """The median time from exec to the first answer of each server in `cmds` (label -> command for
    a port), the servers started in turn `runs` times: a busy second then slows all of them alike.
    Twenty starts of one server and then twenty of the other put the same code at 1.14x to 1.64x
    the static server in one afternoon (benches/RESULTS.md, 2026-12-03)."""
    times = {label: [] for label in cmds}
    for _ in range(runs):
        for label, make_cmd in cmds.items():
            port = free_port()
            proc, secs = start(make_cmd(port), port)
            stop(proc)
            times[label].append(secs * 1000)
    return {label: statistics.median(t) for label, t in times.items()}


def cpu_secs(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def rss_kib(pid, key="VmRSS"):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def load():
    return "load average %.2f %.2f %.2f" % os.getloadavg()


def post(port, path, body, auth=None):
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **({"Authorization": auth} if auth else {})},
    )
    with urllib.request.urlopen(req, timeout=5) as res:
        return json.load(res)


# The OAuth-apps query of the throughput table, and how many apps are seeded for it (two thirds of
# them WEB_APP, so the filter keeps more than a page of 50).
QUERY = {"query": {"filter": {"applicationType": "WEB_APP"}, "paging": {"limit": 50}}}
QUERY_APPS = 120


def seed_oauth_apps(port, token, count):
    for i in range(count):
        kind = "WEB_APP" if i % 3 else "MOBILE"
        post(port, "/oauth-app/v1/oauth-apps", {"oAuthApp": {"name": f"bench app {i:03}", "applicationType": kind}}, token)


def parse_duration_us(text):
    for unit, scale in (("us", 1), ("ms", 1000), ("s", 1_000_000), ("m", 60_000_000)):
        if text.endswith(unit) and text[: -len(unit)].replace(".", "", 1).isdigit():
            return float(text[: -len(unit)]) * scale
    return float("nan")


def wrk(port, path, body, auth, conns, secs, pid, lua=LUA, pin=None):
    env = dict(os.environ, WRK_BODY=json.dumps(body), WRK_AUTH=auth or "")
    before = cpu_secs(pid)
    # `pin` puts the load generator on one core (taskset), as issue 13 measured.
    cmd = (["taskset", "-c", str(pin)] if pin is not None else []) + [
        "wrk", "-t1", f"-c{conns}", f"-d{secs}s", "--latency", "-s", lua, f"http://127.0.0.1:{port}{path}"]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
    cpu = cpu_secs(pid) - before
    r = {"errors": 0}
    for line in out.splitlines():
        words = line.split()
        if line.strip().startswith("50%"):
            r["p50_us"] = parse_duration_us(words[1])
        elif line.strip().startswith("99%"):
            r["p99_us"] = parse_duration_us(words[1])
        elif "requests in" in line:
            r["requests"] = int(words[0])
        elif line.startswith("Requests/sec"):
            r["rps"] = float(words[1])
        elif "Non-2xx" in line or line.strip().startswith("Socket errors"):
            r["errors"] += sum(int(w.strip(",")) for w in words if w.strip(",").isdigit())
    r["cpu_us"] = cpu * 1e6 / max(r.get("requests", 1), 1)
    return r


# Issue 13's targets for client_credentials, refresh_token and bi-event at 16 and 64 connections,
# and the memory and start-up ones; `full` and `ab` end with a line saying which held in their run.
TARGET_CPU_US = 12.0
TARGET_RATIO = 0.7


def verdict(label, cells, idle_kib, peak_kib, startup_ratio):
    """One line: how many of the request cells (case, conns, CPU µs/req, ratio to the static server,
    the static server's CPU µs/req) meet both request targets, which miss and by what, and the
    idle/peak RSS and start-up ones. It also gives the CPU as a multiple of the static server's in
    the same run: the 12 µs target is absolute, and was 1.5x the static server's 8.0 µs on the
    machine issue 13 was measured on; on another host the static server alone has cost 6.6-11 µs."""
    misses = [f"{case} c{conns}: " + ", ".join(
        ([f"{cpu:.2f} µs"] if cpu > TARGET_CPU_US else []) + ([f"{ratio:.2f}"] if ratio < TARGET_RATIO else []))
        for case, conns, cpu, ratio, _ in cells if cpu > TARGET_CPU_US or ratio < TARGET_RATIO]
    times = [cpu / static_cpu for _, _, cpu, _, static_cpu in cells if static_cpu > 0]
    others = [("idle RSS ≤ 8 MiB", idle_kib / 1024 <= 8), ("peak RSS ≤ 16 MiB", peak_kib / 1024 <= 16),
              ("startup ≤ 1.5x", startup_ratio <= 1.5)]
    print(f"issue 13 targets, {label}: {len(cells) - len(misses)} of {len(cells)} request cells meet "
          f"≤ {TARGET_CPU_US:.0f} µs and ≥ {TARGET_RATIO}" + (f" (misses: {'; '.join(misses)})" if misses else "")
          + "; " + ", ".join(f"{name} {'held' if ok else 'missed'}" for name, ok in others)
          + (f"; CPU {min(times):.2f}-{max(times):.2f}x the static server's (issue 13's 12 µs was 1.5x)"
             if times else ""), flush=True)


def medians(runs):
    """One cell from several wrk runs: the median of each figure, the errors of all of them."""
    med = {k: statistics.median(r[k] for r in runs) for k in ("rps", "cpu_us", "p50_us", "p99_us")}
    return {**med, "errors": sum(r["errors"] for r in runs)}


def full(secs, rounds):
    print(f"# wix-oauth-mock benchmarks, {time.strftime('%Y-%m-%d %H:%M:%S')}, {os.cpu_count()} CPUs, {load()}")
    print(f"startup (median of {STARTUP_ROUNDS} interleaved starts, exec to first answer): ", end="", flush=True)
    starts = startup_ms({"static": static_cmd, "mock": mock_cmd})
    static_start, mock_start = starts["static"], starts["mock"]
    print(f"static {static_start:.2f} ms, mock {mock_start:.2f} ms, ratio {mock_start / static_start:.2f}x")

    sport, mport = free_port(), free_port()
    sproc, _ = start(static_cmd(sport), sport)
    mproc, _ = start(mock_cmd(mport), mport)
    time.sleep(0.3)
    idle = {"static": rss_kib(sproc.pid), "mock": rss_kib(mproc.pid)}
    token = post(mport, "/oauth/access", {
        "grant_type": "refresh_token", "client_id": APP_ID, "client_secret": APP_SECRET, "refresh_token": REFRESH,
    })["access_token"]
    # The query row claims a full page: the built-in scenario holds one OAuth app, so seed enough
    # WEB_APP ones for the filter to return 50 (issue 18), and check that it does.
    seed_oauth_apps(mport, token, QUERY_APPS)
    page = post(mport, "/oauth-app/v1/oauth-apps/query", QUERY, token)
    assert len(page["oAuthApps"]) == 50, f"the query returned {len(page['oAuthApps'])} apps, not 50"
    cases = [
        ("POST /oauth2/token client_credentials", "/oauth2/token", {
            "grant_type": "client_credentials", "client_id": APP_ID, "client_secret": APP_SECRET,
            "instance_id": INSTANCE}, None),
        ("POST /oauth/access refresh_token", "/oauth/access", {
            "grant_type": "refresh_token", "client_id": APP_ID, "client_secret": APP_SECRET,
            "refresh_token": REFRESH}, None),
        ("POST /apps/v1/bi-event (protected)", "/apps/v1/bi-event", {"eventName": "APP_DASHBOARD_LOADED"}, token),
        ("POST /oauth-app/v1/oauth-apps/query", "/oauth-app/v1/oauth-apps/query", QUERY, token),
    ]
    # As issue 13 measured: the load generator pinned to core 0, every cell `rounds` times (the
    # static server first in each round, so both see the same minutes), medians reported.
    print(f"\nthroughput: wrk -t1 pinned to core 0, keep-alive, {secs} s per run, median of {rounds} "
          f"interleaved rounds; CPU = server user+sys per request")
    print("| case | conns | req/s | vs static | p50 | p99 | CPU µs/req | static CPU µs/req | errors |")
    print("|---|---|---|---|---|---|---|---|---|")
    results = []
    for conns in (1, 16, 64):
        runs = {label: [] for label in ["static", *(c[0] for c in cases)]}
        for _ in range(rounds):
            runs["static"].append(wrk(sport, "/oauth2/token", cases[0][2], None, conns, secs, sproc.pid, pin=0))
            for label, path, body, auth in cases:
                runs[label].append(wrk(mport, path, body, auth, conns, secs, mproc.pid, pin=0))
        base = medians(runs["static"])
        print(f"| static JSON | {conns} | {base['rps']:.0f} | 1.00 | {base['p50_us']:.0f} µs | "
              f"{base['p99_us']:.0f} µs | {base['cpu_us']:.1f} | {base['cpu_us']:.1f} | {base['errors']} |", flush=True)
        for label, path, body, auth in cases:
            r = medians(runs[label])
            results.append((label, conns, r, base))
            print(f"| {label} | {conns} | {r['rps']:.0f} | {r['rps'] / base['rps']:.2f} | {r['p50_us']:.0f} µs | "
                  f"{r['p99_us']:.0f} µs | {r['cpu_us']:.1f} | {base['cpu_us']:.1f} | {r['errors']} |", flush=True)
    peak = {"static": rss_kib(sproc.pid, "VmHWM"), "mock": rss_kib(mproc.pid, "VmHWM")}
    after = rss_kib(mproc.pid)
    stop(sproc)
    stop(mproc)
    print(f"\nRSS: idle static {idle['static'] / 1024:.1f} MiB, mock {idle['mock'] / 1024:.1f} MiB; "
          f"peak static {peak['static'] / 1024:.1f} MiB, mock {peak['mock'] / 1024:.1f} MiB; "
          f"mock after load {after / 1024:.1f} MiB")
    targeted = {"POST /oauth2/token client_credentials": "client_credentials",
                "POST /oauth/access refresh_token": "refresh_token",
                "POST /apps/v1/bi-event (protected)": "bi-event"}
    verdict("mock", [(targeted[label], conns, r["cpu_us"], r["rps"] / base["rps"], base["cpu_us"])
                     for label, conns, r, base in results if label in targeted and conns in (16, 64)],
            idle["mock"], peak["mock"], mock_start / static_start)
    print(f"finished with {load()}")
    errors = sum(r["errors"] for _, _, r, _ in results)
    if errors:
        print(f"{errors} requests failed")
        sys.exit(1)


def soak(total=1_000_000, chunk_secs=5):
    """Mints `total` tokens (client_credentials, anonymous visitors and refreshes, in turn) and samples RSS."""
    print(f"# soak: {total} tokens, {os.cpu_count()} CPUs, {load()}")
    port = free_port()
    proc, _ = start(mock_cmd(port), port)
    bodies = [
        ("/oauth2/token", {"grant_type": "client_credentials", "client_id": APP_ID, "client_secret": APP_SECRET,
                           "instance_id": INSTANCE}),
        ("/oauth2/token", {"grant_type": "anonymous", "client_id": OAUTH_APP}),
        ("/oauth/access", {"grant_type": "refresh_token", "client_id": APP_ID, "client_secret": APP_SECRET,
                           "refresh_token": REFRESH}),
    ]
    issued, samples, i, errors = 0, [], 0, 0
    while issued < total:
        path, body = bodies[i % len(bodies)]
        r = wrk(port, path, body, None, 16, chunk_secs, proc.pid)
        issued += r["requests"]
        errors += r["errors"]
        samples.append(rss_kib(proc.pid))
        print(f"{issued:>9} tokens  RSS {samples[-1] / 1024:6.1f} MiB  ({path} {body['grant_type']}, "
              f"{r['rps']:.0f}/s, {r['cpu_us']:.1f} µs CPU/req)", flush=True)
        i += 1
    stop(proc)
    warm = samples[min(len(bodies), len(samples) - 1)]
    top = max(samples[len(bodies):] or samples)
    growth = (top - warm) / warm
    print(f"after warm-up {warm / 1024:.1f} MiB, max after {top / 1024:.1f} MiB: {growth * 100:+.1f} %; "
          f"{errors} errors; {load()}")
    sys.exit(0 if growth <= 0.10 and errors == 0 else 1)


def mixed(secs=60):
    print(f"# mixed flows for {secs} s, {os.cpu_count()} CPUs, {load()}")
    port = free_port()
    proc, _ = start(mock_cmd(port), port)
    try:
        code = subprocess.run([MIXED, f"http://127.0.0.1:{port}", str(secs), "16"]).returncode
    finally:
        print(f"server RSS peak {rss_kib(proc.pid, 'VmHWM') / 1024:.1f} MiB; {load()}")
        stop(proc)
    sys.exit(code)


def ab(secs, rounds=3):
    """Before/after and worker A/B in one run: each binary in $AB_BINS (label=path, comma-separated)
    against the static server, for the issue-13 cases at 16 and 64 connections, wrk pinned to core
    0, `rounds` rounds, medians; then the last binary with 1 and 2 workers driving 4 namespaces.
    AB_CASES=client_credentials,... keeps only those cases; AB_WORKERS=0 skips the workers table;
    AB_ROUNDS=5 takes the median of more rounds on a noisy machine; AB_STATIC1=0 leaves out the
    static server on one worker (the per-core ceiling); AB_STATIC_SIZED=1 adds that server answering
    712 bytes, as long as the mock's token answer. For each case the static server
    and every binary run side by side and the rounds take turns, so each ratio compares runs made
    in the same minutes."""
    rounds = int(os.environ.get("AB_ROUNDS", rounds))
    bins = [b.split("=", 1) for b in os.environ.get("AB_BINS", f"mock={MOCK}").split(",")]
    print(f"# wix-oauth-mock A/B, {time.strftime('%Y-%m-%d %H:%M:%S')}, {os.cpu_count()} CPUs, {load()}")
    print(f"wrk -t1 pinned to core 0, {secs} s per run, median of {rounds} rounds; CPU = server user+sys per request\n")

    print(f"startup (median of {STARTUP_ROUNDS} interleaved starts): ", end="", flush=True)
    started = startup_ms({"static": static_cmd, **{
        label: (lambda port, b=binary: [b, "--port", str(port), "--no-watch"]) for label, binary in bins}})
    static_start = started.pop("static")
    print(", ".join(f"{label} {ms:.2f} ms" for label, ms in [("static", static_start), *started.items()]) + "\n")

    def cases(port):
        token = post(port, "/oauth/access", {
            "grant_type": "refresh_token", "client_id": APP_ID, "client_secret": APP_SECRET,
            "refresh_token": REFRESH})["access_token"]
        return [
            ("client_credentials", "/oauth2/token", {
                "grant_type": "client_credentials", "client_id": APP_ID, "client_secret": APP_SECRET,
                "instance_id": INSTANCE}, None),
            ("refresh_token", "/oauth/access", {
                "grant_type": "refresh_token", "client_id": APP_ID, "client_secret": APP_SECRET,
                "refresh_token": REFRESH}, None),
            ("bi-event", "/apps/v1/bi-event", {"eventName": "APP_DASHBOARD_LOADED"}, token),
        ]

    def measure(cmd, path, body, auth, conns, lua=LUA):
        port = free_port()
        proc, _ = start(cmd(port), port)
        time.sleep(0.2)
        runs = []
        for _ in range(rounds):
            runs.append(wrk(port, path, body, auth, conns, secs, proc.pid, lua=lua, pin=0))
        peak = rss_kib(proc.pid, "VmHWM")
        stop(proc)
        med = lambda k: statistics.median(r[k] for r in runs)
        return {"rps": med("rps"), "cpu_us": med("cpu_us"), "p99_us": med("p99_us"),
                "errors": sum(r["errors"] for r in runs), "peak": peak}

    print("| server | case | conns | req/s | vs static | CPU µs/req | p99 | peak RSS | errors |")
    print("|---|---|---|---|---|---|---|---|---|")
    static_body = {"grant_type": "client_credentials"}
    only = [c for c in os.environ.get("AB_CASES", "").split(",") if c]
    # Each binary's request cases (they need a token it issued) and idle RSS, from a probe server.
    probes = {}
    for label, binary in bins:
        probe_port = free_port()
        probe, _ = start([binary, "--port", str(probe_port), "--no-watch"], probe_port)
        probes[label] = (cases(probe_port), rss_kib(probe.pid))
        stop(probe)
    cells = {label: [] for label, _ in bins}
    peaks = {label: 0 for label, _ in bins}
    for conns in (16, 64):
        for i, (name, _, _, _) in enumerate(probes[bins[0][0]][0]):
            if only and name not in only:
                continue
            # Every server of the comparison runs at once and the rounds take turns (static, A, B,
            # static, A, B, ...): a slow spell of a shared machine then falls on all of them, where
            # consecutive rounds per server gave one of them all of it.
            servers = [("static", "constant JSON", static_cmd, "/oauth2/token", static_body, None)]
            if os.environ.get("AB_STATIC1", "1") != "0":
                # The same static server on one worker, as the mock serves by default: with wrk on
                # core 0 both are bound by one core, so this row is the per-core ceiling.
                servers.append(("static, 1 worker", "constant JSON",
                                lambda port: ["env", "TOKIO_WORKER_THREADS=1"] + static_cmd(port),
                                "/oauth2/token", static_body, None))
            if os.environ.get("AB_STATIC_SIZED", "0") != "0":
                # The one-worker static server answering as many bytes as the mock's token answer
                # (712): what the longer answer costs the kernel, apart from the mock's own code.
                servers.append(("static, 1 worker, 712 B", "constant JSON",
                                lambda port: ["env", "TOKIO_WORKER_THREADS=1", "STATIC_BODY_BYTES=712"]
                                + static_cmd(port), "/oauth2/token", static_body, None))
            for label, binary in bins:
                _, path, body, auth = probes[label][0][i]
                servers.append((label, name, lambda port, b=binary: [b, "--port", str(port), "--no-watch"],
                                path, body, auth))
            running = []
            for label, case, cmd, path, body, auth in servers:
                port = free_port()
                proc, _ = start(cmd(port), port)
                if auth is not None:
                    # A token from this server, now: the probe's would expire during a long run (its
                    # 401s were counted as errors in a 5-round run).
                    _, path, body, auth = cases(port)[i]
                running.append((label, case, proc, port, path, body, auth, []))
            time.sleep(0.2)
            for _ in range(rounds):
                for label, case, proc, port, path, body, auth, runs in running:
                    runs.append(wrk(port, path, body, auth, conns, secs, proc.pid, lua=LUA, pin=0))
            base_rps = base_cpu = None
            for label, case, proc, port, path, body, auth, runs in running:
                peak = rss_kib(proc.pid, "VmHWM")
                stop(proc)
                med = lambda k: statistics.median(r[k] for r in runs)
                rps = med("rps")
                base_rps = base_rps or rps
                base_cpu = base_cpu or med("cpu_us")
                idle = f" (idle {probes[label][1] / 1024:.1f})" if label in probes else ""
                if label in cells:
                    cells[label].append((name, conns, med("cpu_us"), rps / base_rps, base_cpu))
                    peaks[label] = max(peaks[label], peak)
                print(f"| {label} | {case} | {conns} | {rps:.0f} | {rps / base_rps:.2f} | "
                      f"{med('cpu_us'):.1f} | {med('p99_us'):.0f} µs | {peak / 1024:.1f} MiB{idle} | "
                      f"{sum(r['errors'] for r in runs)} |", flush=True)

    print()
    for label, _ in bins:
        verdict(label, cells[label], probes[label][1], peaks[label], started[label] / static_start)
    if os.environ.get("AB_WORKERS", "1") == "0":
        print(f"\nfinished with {load()}")
        return
    label, binary = bins[-1]
    ns_lua = os.path.join(ROOT, "benches/wrk/namespaces.lua")
    print(f"\nworkers, {label}: client_credentials at 64 connections, 4 namespaces round robin")
    print("| workers | req/s | CPU µs/req | p99 |\n|---|---|---|---|")
    body = {"grant_type": "client_credentials", "client_id": APP_ID,
            "client_secret": APP_SECRET, "instance_id": INSTANCE}
    for workers in (1, 2):
        r = measure(lambda port: [binary, "--port", str(port), "--no-watch", "--workers", str(workers)],
                    "/oauth2/token", body, None, 64, lua=ns_lua)
        print(f"| {workers} | {r['rps']:.0f} | {r['cpu_us']:.1f} | {r['p99_us']:.0f} µs |", flush=True)
    print(f"\nfinished with {load()}")


def starts(rounds):
    """Where a start goes: each binary in $AB_BINS (label=path, default the release build) and the
    static server started in turn, `rounds` times, interleaved so a busy minute hits all alike. For
    each: the median wall time to the first answer, the CPU its threads used by then (summed from
    /proc/PID/task/*/schedstat, in ns, not clock ticks) and its minor page faults."""
    import glob
    bins = [b.split("=", 1) for b in os.environ.get("AB_BINS", f"mock={MOCK}").split(",")]
    servers = [("static", static_cmd)] + [
        (label, lambda port, b=binary: [b, "--port", str(port), "--no-watch"]) for label, binary in bins]
    seen = {label: ([], [], []) for label, _ in servers}
    print(f"# starts, {time.strftime('%Y-%m-%d %H:%M:%S')}, {os.cpu_count()} CPUs, {load()}, {rounds} interleaved rounds")
    for _ in range(rounds):
        for label, cmd in servers:
            port = free_port()
            proc, secs = start(cmd(port), port)
            cpu = sum(int(open(f).read().split()[0]) for f in glob.glob(f"/proc/{proc.pid}/task/*/schedstat"))
            with open(f"/proc/{proc.pid}/stat") as f:
                faults = int(f.read().rsplit(")", 1)[1].split()[7])
            stop(proc)
            for into, value in zip(seen[label], (secs * 1000, cpu / 1e6, faults)):
                into.append(value)
    print("| server | start (wall) | CPU by the first answer | minor page faults |\n|---|---|---|---|")
    for label, (wall, cpu, faults) in seen.items():
        print(f"| {label} | {statistics.median(wall):.2f} ms | {statistics.median(cpu):.2f} ms | {statistics.median(faults):.0f} |")
    print(f"finished with {load()}")


if __name__ == "__main__":
    mode = sys.argv[1] if len(sys.argv) > 1 else "full"
    if mode == "full":
        full(int(os.environ.get("BENCH_SECS", "5")), int(os.environ.get("BENCH_ROUNDS", "3")))
    elif mode == "quick":
        full(2, int(os.environ.get("BENCH_ROUNDS", "1")))
    elif mode == "soak":
        soak(int(os.environ.get("SOAK_TOKENS", "1000000")))
    elif mode == "mixed":
        mixed(int(os.environ.get("MIXED_SECS", "60")))
    elif mode == "ab":
        ab(int(os.environ.get("BENCH_SECS", "3")))
    elif mode == "starts":
        starts(int(os.environ.get("STARTS", "60")))
    else:
        raise SystemExit("usage: benches/run.sh [full|quick|soak|mixed|ab|starts]")
