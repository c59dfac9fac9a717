#!/usr/bin/env bash
# Runs the official @wix/sdk compatibility suite against a freshly started mock.
#
#   cargo build --release && bash tests/sdk-js/run.sh            # all files
#   bash tests/sdk-js/run.sh test/legacy.test.mjs                 # some files
#
# WIX_MOCK_NAMESPACE: run inside this namespace (see below).
# WIX_MOCK_BIN: the server binary (default: target/release/wix-oauth-mock, else
# target/debug/wix-oauth-mock, at the repository root). Extra arguments replace
# the default `test/` and go to `node --test`. Exits with node's status.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

if [[ -z "${WIX_MOCK_BIN:-}" ]]; then
  WIX_MOCK_BIN="$here/../../target/release/wix-oauth-mock"
  [[ -x "$WIX_MOCK_BIN" ]] || WIX_MOCK_BIN="$here/../../target/debug/wix-oauth-mock"
fi
if [[ ! -x "$WIX_MOCK_BIN" ]]; then
  echo "run.sh: no server binary at $WIX_MOCK_BIN (run cargo build --release, or set WIX_MOCK_BIN)" >&2
  exit 2
fi

work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [[ -n "$server_pid" ]]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

show_server_log() {
  echo "--- server stdout ---" >&2; tail -n 50 "$work/stdout" >&2 || true
  echo "--- server stderr ---" >&2; tail -n 50 "$work/stderr" >&2 || true
}

# stdout goes to a file rather than a pipe, so the server never blocks or gets
# SIGPIPE on later output once we stop reading.
"$WIX_MOCK_BIN" serve --port 0 --scenario scenario.yaml >"$work/stdout" 2>"$work/stderr" &
server_pid=$!

# The server prints one line like:
#   wix-oauth-mock listening on http://127.0.0.1:PORT with scenario "sdk-js" (file scenario.yaml)
url=""
for _ in $(seq 1 300); do
  line="$(grep -m1 'listening on' "$work/stdout" || true)"
  if [[ -n "$line" ]]; then
    url="$(grep -oE 'http://[^[:space:]"'\''<>]+' <<<"$line" | head -n1 || true)"
    url="${url%%[.,;)]}"
    url="${url%/}"
    break
  fi
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "run.sh: the server exited before listening" >&2
    show_server_log
    exit 1
  fi
  sleep 0.1
done
if [[ -z "$url" ]]; then
  echo "run.sh: no 'listening on http://...' line from the server within 30s" >&2
  show_server_log
  exit 1
fi

healthy=""
for _ in $(seq 1 100); do
  if node -e 'fetch(process.argv[1]).then((r) => process.exit(r.status === 200 ? 0 : 1), () => process.exit(1))' \
    "$url/__admin/health"; then
    healthy=1
    break
  fi
  sleep 0.1
done
if [[ -z "$healthy" ]]; then
  echo "run.sh: GET $url/__admin/health never answered 200" >&2
  show_server_log
  exit 1
fi

[[ -d node_modules ]] || npm ci --no-audit --no-fund

# WIX_MOCK_NAMESPACE=NAME runs the whole suite inside that namespace, through the /__ns/NAME/ prefix
# alone: the SDK, the preload and the admin helpers all get the prefixed base URL.
if [[ -n "${WIX_MOCK_NAMESPACE:-}" ]]; then
  url="$url/__ns/$WIX_MOCK_NAMESPACE"
fi
export WIX_MOCK_URL="$url"
echo "run.sh: mock at $WIX_MOCK_URL (pid $server_pid)" >&2

# One file at a time: files share one server and each starts with POST /__admin/reset.
status=0
node --import ./preload.mjs --test --test-concurrency=1 --test-timeout=60000 "${@:-test/}" || status=$?
if [[ $status -ne 0 ]]; then
  show_server_log
fi
exit "$status"
