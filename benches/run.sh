#!/usr/bin/env bash
# The one benchmark command (issue 8): `bash benches/run.sh [quick|full|soak|mixed]`.
#
#   full  (default) startup, throughput/latency at 1/16/64 connections for four endpoints, RSS, CPU
#         per request, all as a ratio to a minimal warp static-JSON server (examples/static_server.rs)
#   quick the same with 2-second runs
#   soak  1 000 000 tokens, RSS sampled as they go (flat within 10 % after warm-up, or exit 1)
#   mixed 60 seconds of mixed flows (install, exchange, refresh, tokens, API calls) with zero errors
#   ab    before/after: every binary in AB_BINS (label=path,...) against the static server for
#         client_credentials, refresh_token and bi-event at 16/64 connections, wrk pinned to core 0,
#         3 rounds, medians; then the last binary with 1 and 2 workers driving 4 namespaces
#
# Installs wrk from Debian when it is missing, builds the release binaries, and serves on 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v wrk >/dev/null; then
  echo "installing wrk (apt-get install -y wrk)" >&2
  if [ "$(id -u)" = 0 ]; then apt-get install -y wrk >/dev/null; else sudo apt-get install -y wrk >/dev/null; fi
fi
cargo build --release --quiet --bin wix-oauth-mock --example static_server --example mixed_load
exec python3 benches/bench.py "${1:-full}"
