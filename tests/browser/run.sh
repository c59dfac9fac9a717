#!/usr/bin/env bash
# Runs the browser tests: Debian's Chromium, driven by playwright-core, against the mock.
#
#   cargo build --release && bash tests/browser/run.sh
#
# WIX_MOCK_BIN: the server binary (default: target/release/wix-oauth-mock); CHROMIUM: the browser
# (default: /usr/bin/chromium, from Debian's `chromium` package). The tests start the mock themselves
# on a free port. Screenshots land in tests/browser/artifacts/.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

export WIX_MOCK_BIN="${WIX_MOCK_BIN:-$here/../../target/release/wix-oauth-mock}"
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
if [[ ! -x "$WIX_MOCK_BIN" ]]; then
  echo "run.sh: no server binary at $WIX_MOCK_BIN (run cargo build --release, or set WIX_MOCK_BIN)" >&2
  exit 2
fi
if [[ ! -x "$CHROMIUM" ]]; then
  echo "run.sh: no browser at $CHROMIUM (apt-get install -y chromium, or set CHROMIUM)" >&2
  exit 2
fi
[[ -d node_modules ]] || npm ci --no-audit --no-fund
rm -rf artifacts && mkdir -p artifacts
node --test --test-concurrency=1 --test-timeout=120000 test/
