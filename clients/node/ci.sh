#!/usr/bin/env bash
# Packs the npm package, installs the tarball into a scratch project as a user would, and runs the
# node:test example there against a wix-oauth-mock binary.
#   bash clients/node/ci.sh [BINARY]   (default: WIX_OAUTH_MOCK_BIN, else target/release, else target/debug)
# Needs node >= 20 and npm; the package has no dependencies, so nothing is downloaded.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$here/../.."

BIN="${1:-${WIX_OAUTH_MOCK_BIN:-}}"
if [[ -z "$BIN" ]]; then
  BIN="$root/target/release/wix-oauth-mock"
  [[ -x "$BIN" ]] || BIN="$root/target/debug/wix-oauth-mock"
fi
[[ -x "$BIN" ]] || { echo "ci.sh: no binary at $BIN (cargo build, or pass its path)" >&2; exit 2; }
BIN="$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")"

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

tarball="$(cd "$here" && npm pack --silent --pack-destination "$scratch")"
mkdir "$scratch/project"
cd "$scratch/project"
printf '{"name":"scratch","private":true,"type":"module"}\n' > package.json
npm install --silent --no-audit --no-fund --offline "$scratch/$tarball"
cp "$here/examples/node-test.test.mjs" .
WIX_OAUTH_MOCK_BIN="$BIN" node --test node-test.test.mjs
