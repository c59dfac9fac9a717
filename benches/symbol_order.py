#!/usr/bin/env python3
"""Writes benches/symbol-order.txt: the functions a release binary runs from exec to its first answers,
hottest first, for the linker to lay out side by side (build.rs passes the file to rust-lld as
`--symbol-ordering-file` in release builds).

Why: an idle mock's RSS is mostly its own code pages. The kernel maps the 64 KiB around every first
touch of a code page (fault-around), and in a 10 MB `.text` the few thousand functions that start the
server and answer a token request are spread over most of it, so most of the text ended up resident
(benches/RESULTS.md, 2026-12-02). Laid out together they fill a few hundred KiB.

    cargo rustc --release --bin wix-oauth-mock -- -C strip=none
    CARGO_TARGET_DIR=target/static RUSTFLAGS="-C target-feature=+crt-static" \
      cargo rustc --release --target x86_64-unknown-linux-gnu --bin wix-oauth-mock -- -C strip=none
    python3 benches/symbol_order.py target/release/wix-oauth-mock \
      target/static/x86_64-unknown-linux-gnu/release/wix-oauth-mock

Two builds, because symbol names carry a hash of how their crate was built: the container's static
build (the Dockerfile's flags, second command) names its functions differently from `cargo build
--release`, so the file lists both builds' names, each binary's after the previous ones'; the linker
skips the names a build does not have. The binaries must keep their symbols (`-C strip=none`: the
same code and names as the shipped builds). Each serves under `valgrind --tool=callgrind
--demangle=no` on 127.0.0.1: the start, a health probe, then 50 of each of issue 13's benchmark
requests; every Rust function that ran is listed, the most instructions first. A stale file costs
nothing but layout: new functions land where the linker puts them by default. The names also carry
the compiler's version and, through Cargo's build hash, every dependency's and their features (a
build that also builds an example or a test turns on dev-dependency features: none of the names
match, which is why benches/run.sh builds the mock on its own): regenerate after a
toolchain update, after any change to Cargo.lock (a test checks the digest the file's header
records), and after large changes (needs valgrind)."""
import collections
import glob
import os
import re
import sys
import tempfile

from instructions import cases, serve  # the same server start and requests as the instruction counts

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "benches/symbol-order.txt")


def run(binary, dumps):
    proc, post = serve(binary, ["--demangle=no", f"--callgrind-out-file={dumps}/cg.%p"])
    try:
        requests = cases(post)
        for _ in range(50):
            for path, body, auth in requests.values():
                post(path, body, auth)
    finally:
        # SIGTERM: the server shuts down gracefully and callgrind writes its profile at exit.
        proc.terminate()
        proc.wait()


def functions(dumps):
    """Each function's own instruction count, from callgrind's (name-compressed) profiles."""
    names, cost = {}, collections.Counter()
    for path in glob.glob(f"{dumps}/cg.*"):
        current, call_line = None, False
        with open(path, errors="replace") as f:
            for line in f:
                named = re.match(r"(c?fn)=\((\d+)\)(?: (.*))?$", line.rstrip("\n"))
                if named:
                    kind, key, name = named.groups()
                    if name:
                        names[key] = name
                    if kind == "fn":
                        current = key
                    continue
                if line.startswith("calls="):
                    # The next line is the call's inclusive cost, not the caller's own.
                    call_line = True
                    continue
                if call_line:
                    call_line = False
                    continue
                fields = line.split()
                if current and len(fields) >= 2 and fields[-1].isdigit() and line[:1] in "0123456789+-*":
                    cost[current] += int(fields[-1])
    ordered, seen = [], set()
    for key, _ in cost.most_common():
        # Callgrind marks recursion depth as `name'2`; the symbol is the name.
        name = re.sub(r"'\d+$", "", names.get(key, ""))
        # Rust symbols only: the C library's live in their own files.
        if name.startswith(("_ZN", "_R", "__rust")) and name not in seen:
            seen.add(name)
            ordered.append(name)
    return ordered


def header():
    """What the names were made from, as `#` lines (lld skips them). A symbol's name hashes its
    crate's build, which Cargo derives from every dependency's: any change to Cargo.lock renames all
    of the mock's own functions, and the list then orders nothing of ours (adding one crate took idle
    RSS from 5.4 back to 8.4 MiB). `tests/api/dockerignore.rs` compares the digest with Cargo.lock's."""
    import hashlib
    import subprocess
    with open(os.path.join(ROOT, "Cargo.lock"), "rb") as f:
        lock = hashlib.sha256(f.read()).hexdigest()
    rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip()
    return (f"# written by benches/symbol_order.py for {rustc}\n"
            f"# Cargo.lock sha256 {lock}\n")


def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    listed, seen = [], set()
    for binary in sys.argv[1:]:
        with tempfile.TemporaryDirectory(prefix="symbol-order-") as dumps:
            run(binary, dumps)
            symbols = functions(dumps)
        if len(symbols) < 100:
            raise SystemExit(f"{binary}: only {len(symbols)} Rust symbols: is it stripped?")
        new = [s for s in symbols if s not in seen]
        seen.update(new)
        listed += new
        print(f"{binary}: {len(symbols)} functions ran, {len(new)} names not listed before")
    with open(OUT, "w") as f:
        f.write(header() + "".join(s + "\n" for s in listed))
    print(f"{OUT}: {len(listed)} symbols")


if __name__ == "__main__":
    main()
