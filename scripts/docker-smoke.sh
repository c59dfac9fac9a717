#!/usr/bin/env bash
# Builds the container image from a locally built static binary, runs it with --network host, and walks the
# legacy install flow against it. Prints the image size and the time from `docker run` to the first healthy
# answer. Not part of `cargo test`: it needs a Docker engine (Debian: apt-get install docker.io; dockerd &).
set -euo pipefail
cd "$(dirname "$0")/.."

PORT=${PORT:-18787}
IMAGE=${IMAGE:-wix-oauth-mock:smoke}
BASE="http://127.0.0.1:$PORT"
APP_ID=5e2c9a6f-8a61-4b4f-9a43-0f3d2b1c7a10
REDIRECT=http://localhost:3000/wix/oauth/callback

echo "== static binary"
CARGO_TARGET_DIR=target/static RUSTFLAGS="-C target-feature=+crt-static" cargo build --release --target x86_64-unknown-linux-gnu
BIN=target/static/x86_64-unknown-linux-gnu/release/wix-oauth-mock
file "$BIN" 2>/dev/null | grep -q 'static' || { echo "the binary is not statically linked"; exit 1; }

echo "== image (runtime stage only: pulls nothing)"
DOCKER_BUILDKIT=0 docker build --quiet --target local -t "$IMAGE" . >/dev/null
SIZE=$(docker image inspect "$IMAGE" --format '{{.Size}}')
echo "image size: $SIZE bytes ($(( SIZE / 1024 / 1024 )) MiB)"

NAME="wix-oauth-mock-smoke-$$"
cleanup() { docker rm -f "$NAME" >/dev/null 2>&1 || true; }
trap cleanup EXIT

echo "== run"
START=$(date +%s%N)
docker run -d --rm --name "$NAME" --network host -e WIX_MOCK_PORT="$PORT" "$IMAGE" >/dev/null
until curl -fs "$BASE/__admin/health" >/dev/null 2>&1; do
  if (( ($(date +%s%N) - START) > 20000000000 )); then echo "not healthy after 20 s"; docker logs "$NAME"; exit 1; fi
  sleep 0.005
done
echo "time to healthy (docker run → first 200 from /__admin/health): $(( ($(date +%s%N) - START) / 1000000 )) ms"
docker exec "$NAME" /wix-oauth-mock health && echo "in-container health check: ok"
USER_ID=$(docker inspect "$NAME" --format '{{.Config.User}}')
echo "runs as user: $USER_ID"

echo "== install flow"
query() { python3 -c 'import sys,urllib.parse as u; print(u.parse_qs(u.urlsplit(sys.argv[1]).query)[sys.argv[2]][0])' "$@"; }
APP_URL=$(curl -s -o /dev/null -w '%{redirect_url}' "$BASE/app-market/install?appId=$APP_ID")
CALLBACK=$(curl -s -o /dev/null -w '%{redirect_url}' -G "$BASE/installer/install" \
  --data-urlencode "appId=$APP_ID" --data-urlencode "redirectUrl=$REDIRECT" \
  --data-urlencode "state=smoke" --data-urlencode "token=$(query "$APP_URL" token)")
[ "$(query "$CALLBACK" state)" = smoke ] || { echo "state not echoed: $CALLBACK"; exit 1; }
TOKENS=$(curl -fs -X POST "$BASE/oauth/access" -H 'Content-Type: application/json' \
  -d "{\"grant_type\":\"authorization_code\",\"client_id\":\"$APP_ID\",\"client_secret\":\"mock-app-secret-0001\",\"code\":\"$(query "$CALLBACK" code)\"}")
ACCESS=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["access_token"])' "$TOKENS")
curl -fs -X POST "$BASE/apps/v1/bi-event" -H "Authorization: $ACCESS" -d '{"eventName":"APP_FINISHED_CONFIGURATION"}' >/dev/null
curl -fs "$BASE/__admin/state" | python3 -c 'import json,sys; s=json.load(sys.stdin); assert any(i["setup_complete"] for i in s["instances"]); print("install flow: ok (setup complete)")'
