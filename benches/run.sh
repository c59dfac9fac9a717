#!/usr/bin/env bash
# The one benchmark command (issue 8): `bash benches/run.sh [quick|full|soak|mixed]`.
#
#   full  (default) startup, throughput/latency at 1/16/64 connections for four endpoints, RSS, CPU
#         per request, all as a ratio to a minimal warp static-JSON server (examples/static_server.rs);
#         as issue 13 measured: wrk pinned to core 0, each cell 3 interleaved rounds (BENCH_ROUNDS),
#         medians, 5-second runs (BENCH_SECS); about 5 minutes
#   quick the same with 2-second runs and one round
#   soak  1 000 000 tokens, RSS sampled as they go (flat within 10 % after warm-up, or exit 1)
#   mixed 60 seconds of mixed flows (install, exchange, refresh, tokens, API calls) with zero errors
#   ab    before/after: every binary in AB_BINS (label=path,...) against the static server for
#         client_credentials, refresh_token and bi-event at 16/64 connections, wrk pinned to core 0,
#         3 rounds, medians; then the last binary with 1 and 2 workers driving 4 namespaces
#   starts where a start goes: wall time, CPU and page faults to the first answer, AB_BINS and the
#         static server started in turn (STARTS=60 rounds)
#
# full, quick and ab end with one line per binary saying which of issue 13's targets held in that run
# (≤ 12 µs server CPU and ≥ 0.7 of the static server's req/s for client_credentials, refresh_token
# and bi-event at 16 and 64 connections; idle RSS ≤ 8 MiB, peak ≤ 16 MiB, startup ≤ 1.5x).
#
# Installs wrk from Debian when it is missing, builds the release binaries, and serves on 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v wrk >/dev/null; then
  echo "installing wrk (apt-get install -y wrk)" >&2
  if [ "$(id -u)" = 0 ]; then apt-get install -y wrk >/dev/null; else sudo apt-get install -y wrk >/dev/null; fi
fi
# The mock on its own: built together with the examples, the dev-dependencies' features unify into
# its dependencies, every symbol name changes and benches/symbol-order.txt lays out nothing (idle RSS
# 5.5 -> 8.9 MiB, 2026-12-02). The examples build afterwards does not touch the mock's binary.
cargo build --release --quiet --bin wix-oauth-mock
cargo build --release --quiet --example static_server --example mixed_load
exec python3 benches/bench.py "${1:-full}"
