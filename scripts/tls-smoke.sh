#!/usr/bin/env bash
# TLS smoke test (not part of `cargo test`): starts the mock with --tls on free ports and calls it as
# https://www.wixapis.com with only its CA trusted, first with curl (OpenSSL), then with Node's
# https module (NODE_EXTRA_CA_CERTS), without touching /etc/hosts: curl --resolve and a Node
# `lookup` stand in for the hosts file. Usage: bash scripts/tls-smoke.sh [path/to/wix-oauth-mock]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-${WIX_MOCK_BIN:-target/debug/wix-oauth-mock}}
[ -x "$BIN" ] || BIN=target/release/wix-oauth-mock
WORK=$(mktemp -d)
OUT="$WORK/out.txt"
"$BIN" --port 0 --tls --tls-port 0 --tls-ca-out "$WORK/ca.pem" --no-watch >"$OUT" 2>"$WORK/err.txt" &
PID=$!
trap 'kill "$PID" 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 1 100); do grep -q 'https://' "$OUT" 2>/dev/null && break; sleep 0.1; done
PORT=$(grep -o 'https://127.0.0.1:[0-9]*' "$OUT" | sed 's/.*://')
[ -n "$PORT" ] || { cat "$OUT" "$WORK/err.txt"; echo "no HTTPS line"; exit 1; }
BODY='{"grant_type":"client_credentials","client_id":"5e2c9a6f-8a61-4b4f-9a43-0f3d2b1c7a10","client_secret":"mock-app-secret-0001","instance_id":"54f783ac-8c25-4a73-9ebf-a1125f71c5e3"}'

echo "curl (OpenSSL) with --cacert only:"
curl -sS --fail --cacert "$WORK/ca.pem" --resolve "www.wixapis.com:$PORT:127.0.0.1" \
  -H 'content-type: application/json' -d "$BODY" "https://www.wixapis.com:$PORT/oauth2/token" \
  | grep -q '"access_token":"OauthNG.JWS.' && echo "  ok: token"
if curl -sS -o /dev/null --cacert "$WORK/ca.pem" --resolve "www.example.com:$PORT:127.0.0.1" \
  "https://www.example.com:$PORT/" 2>/dev/null; then
  echo "  FAIL: a name outside the certificate was accepted"; exit 1
else
  echo "  ok: www.example.com refused"
fi

if command -v node >/dev/null; then
  echo "node https with NODE_EXTRA_CA_CERTS:"
  NODE_EXTRA_CA_CERTS="$WORK/ca.pem" PORT="$PORT" BODY="$BODY" node -e '
    const https = require("https");
    const req = https.request({host: "www.wixapis.com", port: process.env.PORT, path: "/oauth2/token",
      method: "POST", headers: {"content-type": "application/json"},
      lookup: (h, o, cb) => o && o.all ? cb(null, [{address: "127.0.0.1", family: 4}]) : cb(null, "127.0.0.1", 4)},
      res => { let b = ""; res.on("data", d => b += d); res.on("end", () => {
        if (res.statusCode === 200 && JSON.parse(b).access_token) { console.log("  ok: token"); }
        else { console.log("  FAIL", res.statusCode, b); process.exit(1); } }); });
    req.on("error", e => { console.log("  FAIL", e.message); process.exit(1); });
    req.end(process.env.BODY);'
fi
echo "tls smoke: passed"
