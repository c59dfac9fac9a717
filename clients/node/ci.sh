#!/usr/bin/env bash
# Packs the npm package, installs the tarball into a scratch project as a user would, and runs the
# node:test, vitest and jest examples there against a wix-oauth-mock binary.
#   bash clients/node/ci.sh [BINARY]   (default: WIX_OAUTH_MOCK_BIN, else target/release, else target/debug)
# Needs node >= 20 and npm. The package has no dependencies; the test runners (pinned exactly in
# examples/package-lock.json) are downloaded once into a cache keyed by that lock file.
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

# The runners are installed once per lock file into $cache. The scratch project lives inside that
# directory, so Node finds vitest and jest one level up, while wix-oauth-mock itself comes only from
# the tarball installed into the project: nothing of the repository leaks in.
lock_sum="$(sha256sum "$here/examples/package-lock.json" | cut -c1-16)"
cache="${WIX_OAUTH_MOCK_CI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/wix-oauth-mock-ci}/examples-$lock_sum"
if [[ ! -f "$cache/.installed" ]]; then
  staging="$cache.tmp.$$"
  rm -rf "$staging"
  mkdir -p "$staging"
  cp "$here/examples/package.json" "$here/examples/package-lock.json" "$staging/"
  (cd "$staging" && npm ci --silent --no-audit --no-fund --prefer-offline)
  touch "$staging/.installed"
  # Another run may have won the race; either copy is good.
  mv -T "$staging" "$cache" 2>/dev/null || rm -rf "$staging"
fi

scratch="$(mktemp -d "$cache/scratch.XXXXXX")"
trap 'rm -rf "$scratch"' EXIT

tarball="$(cd "$here" && npm pack --silent --pack-destination "$scratch")"
mkdir "$scratch/project"
cd "$scratch/project"
printf '{"name":"scratch","private":true,"type":"module"}\n' > package.json
npm install --silent --no-audit --no-fund --offline "$scratch/$tarball"
cp "$here"/examples/*.test.mjs .
export WIX_OAUTH_MOCK_BIN="$BIN"

echo "-- node:test"
node --test node-test.test.mjs
echo "-- vitest"
"$cache/node_modules/.bin/vitest" run --reporter=dot vitest.test.mjs
echo "-- jest"
NODE_OPTIONS="${NODE_OPTIONS:-} --experimental-vm-modules --no-warnings=ExperimentalWarning" \
  node "$cache/node_modules/jest/bin/jest.js" --ci jest.test.mjs
