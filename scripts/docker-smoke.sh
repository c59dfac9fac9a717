#!/usr/bin/env bash
# The container as users meet it, with --network host only (this machine may reach loopback only):
#   1. plain `docker build .` on a copy of the tracked files (a fresh clone: no target/), classic builder;
#   2. the image from a host-built binary (scripts/docker-local.sh), which the rest runs;
#   3. `--port N` given as an argument: Docker's HEALTHCHECK reports healthy; time to healthy;
#   4. the legacy install flow against it;
#   5. how long `docker stop` takes with a `POST /__admin/requests/wait` pending (printed);
#   6. `--tls` as uid 65532: the CA is written to /data, a client trusting only it gets a 200, and
#      `GET /__admin/tls/ca.pem` serves the same file;
#   7. `--state-file` on a named volume as uid 65532: saved on `docker stop`, restored on the next run;
#   8. the npm package's `startWixMock({image})` through testcontainers (npm install from the registry);
#   9. the README's compose recipe, host-networking form (clients/recipes/compose.host.yaml): the mock with
#      its scenario mounted, an app service (a webhook receiver FROM scratch on a static busybox) started
#      once the mock is healthy; an install delivers AppInstalled to the app;
#  10. the README's GitHub Actions job (clients/recipes/github-actions.yml) as the runner would run it:
#      the `services:` container (here on the host's network) waited on until healthy, then each `run:`
#      step as printed (scripts/github-actions-run.py).
# Steps 9 and 10 use the ports of the recipes, 8787 and 3000, which must be free.
# Not part of `cargo test` or .ci/run: it needs a Docker engine (Debian: apt-get install docker.io;
# dockerd &), and for steps 9-10 docker compose (v2, or Debian's docker-compose 1.29), a static busybox
# (apt-get install busybox-static) and PyYAML. SKIP_PLAIN_BUILD=1 skips step 1, which pulls rust:1 and compiles for minutes;
# STAND_IN_RUST=1 makes a local rust:1 from this host's toolchain where Docker Hub is unreachable
# (scripts/stand-in-rust-image.sh); BUILD_CPUS=N gives step 1's compiler CPU N only. STATIC_BIN=path
# reuses a static binary built earlier (see scripts/docker-local.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

PORT=${PORT:-18787}
TLS_PORT=${TLS_PORT:-18443}
IMAGE=${IMAGE:-wix-oauth-mock:smoke}
BASE="http://127.0.0.1:$PORT"
APP_ID=5e2c9a6f-8a61-4b4f-9a43-0f3d2b1c7a10
REDIRECT=http://localhost:3000/wix/oauth/callback
NAME="wix-oauth-mock-smoke-$$"
VOLUME="wix-oauth-mock-smoke-$$"
SCRATCH=$(mktemp -d)
# Steps 9-10: the compose project (its containers; with every service on the host's network it makes no
# network), the app's image, and the emulated runner's service container.
PROJECT="wix-oauth-mock-smoke-$$"
APP_IMAGE="wix-mock-recipe-app:smoke-$$"
RECIPES=clients/recipes
if docker compose version >/dev/null 2>&1; then COMPOSE=(docker compose); else COMPOSE=(docker-compose); fi
compose() { WIX_MOCK_IMAGE="$IMAGE" APP_IMAGE="$APP_IMAGE" "${COMPOSE[@]}" -p "$PROJECT" -f "$RECIPES/compose.host.yaml" "$@"; }
cleanup() {
  docker rm -f "$NAME" "$NAME-gha-wix-mock" >/dev/null 2>&1 || true
  docker volume rm -f "$VOLUME" >/dev/null 2>&1 || true
  if [ -n "${COMPOSE_UP:-}" ]; then compose down >/dev/null 2>&1 || true; fi
  docker rmi "$APP_IMAGE" >/dev/null 2>&1 || true
  rm -rf "$SCRATCH"
}
trap cleanup EXIT

# Docker Engine < 25 does not know HEALTHCHECK --start-interval: build without it there, and say so.
ENGINE=$(docker version --format '{{.Server.Version}}')
dockerfile_for_engine() {
  if (( ${ENGINE%%.*} < 25 )); then
    echo "   (Docker Engine $ENGINE predates --start-interval: building without it)" >&2
    sed 's/ --start-interval=[^ ]*//' "$1"
  else
    cat "$1"
  fi
}
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
wait_for() { # wait_for SECONDS COMMAND...: retries COMMAND every 20 ms
  local deadline=$(( $(date +%s) + $1 )); shift
  until "$@" >/dev/null 2>&1; do
    if (( $(date +%s) > deadline )); then echo "timed out: $*"; docker logs "$NAME" 2>&1 | tail -20; exit 1; fi
    sleep 0.02
  done
}
health_status() { docker inspect "$NAME" --format '{{.State.Health.Status}}'; }
is_healthy() { [ "$(health_status)" = healthy ]; }

if [ "${SKIP_PLAIN_BUILD:-}" = 1 ]; then
  echo "== 1. plain docker build . (skipped: SKIP_PLAIN_BUILD=1)"
else
  echo "== 1. plain docker build . on the tracked files only (classic builder, no --target)"
  # The build stage is FROM rust:1, from Docker Hub. Where it cannot be pulled (this machine reaches
  # package registries only), say so rather than fail inside docker build, or with STAND_IN_RUST=1 make
  # a local stand-in from this host's toolchain.
  if ! docker image inspect rust:1 >/dev/null 2>&1 && ! docker pull --quiet rust:1 >/dev/null 2>&1; then
    if [ "${STAND_IN_RUST:-}" = 1 ]; then
      echo "   rust:1 cannot be pulled: making a stand-in from this host's files (scripts/stand-in-rust-image.sh)"
      bash scripts/stand-in-rust-image.sh rust:1 | sed 's/^/   /'
    else
      echo "rust:1 is not here and cannot be pulled (no Docker Hub?). Pull it elsewhere and docker load it," \
        "or run with STAND_IN_RUST=1 to make a stand-in from this host's toolchain" \
        "(scripts/stand-in-rust-image.sh), or skip this step with SKIP_PLAIN_BUILD=1." >&2
      exit 1
    fi
  fi
  git ls-files -z | tar --null -T - -cf - | tar -xf - -C "$SCRATCH"
  dockerfile_for_engine Dockerfile > "$SCRATCH/Dockerfile"
  # RUN steps on the host's network (crates.io); BUILD_CPUS=1 pins the compiler to one CPU.
  START=$(date +%s)
  (cd "$SCRATCH" && DOCKER_BUILDKIT=0 docker build --quiet --network host ${BUILD_CPUS:+--cpuset-cpus "$BUILD_CPUS"} \
    --build-arg WIX_MOCK_GIT_COMMIT="$(git -C "$OLDPWD" rev-parse --short HEAD)" -t "$IMAGE-plain" . >/dev/null)
  echo "built in $(( $(date +%s) - START )) s; $(( $(docker image inspect "$IMAGE-plain" --format '{{.Size}}') / 1024 / 1024 )) MiB"
  docker run --rm --network host "$IMAGE-plain" --version
fi

echo "== 2. image from a host-built binary (scripts/docker-local.sh)"
bash scripts/docker-local.sh "$IMAGE"
SIZE=$(docker image inspect "$IMAGE" --format '{{.Size}}')
echo "image size: $SIZE bytes ($(( SIZE / 1024 / 1024 )) MiB)"
docker run --rm "$IMAGE" --version

echo "== 3. --port as an argument; Docker's health check must follow it"
START=$(date +%s%N)
docker run -d --name "$NAME" --network host "$IMAGE" serve --port "$PORT" >/dev/null
wait_for 20 curl -fs "$BASE/__admin/health"
echo "first 200 from /__admin/health: $(ms_since "$START") ms after docker run"
wait_for 60 is_healthy
echo "Docker reports healthy: $(ms_since "$START") ms after docker run"
[ "$(docker inspect "$NAME" --format '{{.Config.User}}')" = 65532:65532 ] || { echo "not uid 65532"; exit 1; }
docker exec "$NAME" /wix-oauth-mock health && echo "in-container health check on port $PORT: ok"

echo "== 4. install flow"
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

echo "== 5. docker stop with a pending POST /__admin/requests/wait"
curl -s -o /dev/null -X POST "$BASE/__admin/requests/wait" -H 'Content-Type: application/json' \
  -d '{"path":"/never","timeout_ms":30000}' &
WAITER=$!
sleep 0.3
START=$(date +%s%N)
docker stop "$NAME" >/dev/null
echo "docker stop took $(ms_since "$START") ms (a graceful stop is well under 1000; 10000 means SIGKILL)"
wait "$WAITER" || true
docker rm -f "$NAME" >/dev/null

echo "== 6. --tls as uid 65532: the CA goes to /data"
docker run -d --name "$NAME" --network host "$IMAGE" serve --port "$PORT" --tls --tls-port "$TLS_PORT" >/dev/null
wait_for 20 is_healthy
docker cp "$NAME:/data/wix-mock-ca.pem" "$SCRATCH/ca.pem"
curl -fs --cacert "$SCRATCH/ca.pem" --resolve "www.wixapis.com:$TLS_PORT:127.0.0.1" \
  "https://www.wixapis.com:$TLS_PORT/__admin/health" >/dev/null
echo "https://www.wixapis.com:$TLS_PORT trusted with /data/wix-mock-ca.pem: ok"
curl -fs "$BASE/__admin/tls/ca.pem" -o "$SCRATCH/served.pem"
cmp -s "$SCRATCH/ca.pem" "$SCRATCH/served.pem" || { echo "GET /__admin/tls/ca.pem differs from /data/wix-mock-ca.pem"; exit 1; }
echo "GET /__admin/tls/ca.pem serves the same CA over plain HTTP: ok"
docker rm -f "$NAME" >/dev/null

echo "== 7. --state-file on a named volume as uid 65532"
docker volume create "$VOLUME" >/dev/null
run_with_state() {
  docker run -d --name "$NAME" --network host -v "$VOLUME:/data" -e WIX_MOCK_STATE_FILE=/data/state.json \
    "$IMAGE" serve --port "$PORT" >/dev/null
  wait_for 20 curl -fs "$BASE/__admin/health"
}
run_with_state
curl -fs -X POST "$BASE/__admin/clock" -H 'Content-Type: application/json' -d '{"advance_secs":86400}' >/dev/null
BEFORE=$(curl -fs "$BASE/__admin/clock" | python3 -c 'import json,sys; print(json.load(sys.stdin)["unix"])')
docker stop "$NAME" >/dev/null
docker logs "$NAME" 2>&1 | grep -q "state new, saving to /data/state.json" || { docker logs "$NAME"; exit 1; }
docker rm "$NAME" >/dev/null
run_with_state
docker logs "$NAME" 2>&1 | grep -q "state restored from /data/state.json" || { docker logs "$NAME"; exit 1; }
AFTER=$(curl -fs "$BASE/__admin/clock" | python3 -c 'import json,sys; print(json.load(sys.stdin)["unix"])')
(( AFTER >= BEFORE )) || { echo "the clock was not restored: $AFTER < $BEFORE"; exit 1; }
echo "state saved on docker stop and restored from the volume: ok"
echo "== 8. startWixMock({image}) through testcontainers (clients/node)"
TC="$SCRATCH/testcontainers"
mkdir -p "$TC"
(cd clients/node && npm pack --silent --pack-destination "$TC" >/dev/null)
cp clients/node/examples/container/testcontainers.test.mjs "$TC/"
(
  cd "$TC"
  printf '{"name":"tc","private":true,"type":"module"}\n' > package.json
  npm install --silent --no-audit --no-fund ./wix-oauth-mock-*.tgz testcontainers@11 >/dev/null
  # Ryuk (the reaper) comes from Docker Hub, which this machine cannot reach; the test stops its container.
  IMAGE="$IMAGE" TESTCONTAINERS_RYUK_DISABLED=true node --test testcontainers.test.mjs >/dev/null
)
echo "startWixMock({image: $IMAGE}) answered on 127.0.0.1 and stopped: ok"

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for port in 8787 3000; do
  port_free "$port" || { echo "127.0.0.1:$port is in use: steps 9-10 need it (the recipes' ports)"; exit 1; }
done

echo "== 9. compose recipe, host networking ($RECIPES/compose.host.yaml; $("${COMPOSE[@]}" version --short 2>/dev/null || "${COMPOSE[@]}" version | head -1))"
BUSYBOX=$(command -v busybox)
file -L "$BUSYBOX" | grep -q 'statically linked' || { echo "$BUSYBOX is not statically linked (apt-get install busybox-static)"; exit 1; }
mkdir -p "$SCRATCH/receiver"
cp "$RECIPES/receiver/Dockerfile" "$RECIPES/receiver/receive.sh" "$SCRATCH/receiver/"
cp "$BUSYBOX" "$SCRATCH/receiver/busybox"
DOCKER_BUILDKIT=0 docker build --quiet -t "$APP_IMAGE" "$SCRATCH/receiver" >/dev/null 2>"$SCRATCH/build.log" ||
  { cat "$SCRATCH/build.log"; exit 1; }
echo "app image (webhook receiver, FROM scratch): $APP_IMAGE, $(( $(docker image inspect "$APP_IMAGE" --format '{{.Size}}') / 1024 )) KiB"
START=$(date +%s%N)
COMPOSE_UP=1
compose up -d >/dev/null 2>&1 || { compose logs; exit 1; }
echo "compose up -d (the app waits for the mock's HEALTHCHECK: service_healthy): $(ms_since "$START") ms"
[ "$(docker inspect "$(compose ps -q wix-mock)" --format '{{.State.Health.Status}}')" = healthy ] || { echo "wix-mock is not healthy"; exit 1; }
[ -z "$(docker network ls -q --filter "name=$PROJECT")" ] || { echo "compose made a network:"; docker network ls --filter "name=$PROJECT"; exit 1; }
echo "no compose network made (every service on the host's network): ok"
B9=http://127.0.0.1:8787
curl -fs "$B9/__admin/ready" | grep -q '"scenario":"my-app"' || { echo "the mounted scenario is not loaded"; compose logs wix-mock; exit 1; }
wait_for 20 curl -s -o /dev/null http://127.0.0.1:3000/
APP_URL=$(curl -s -o /dev/null -w '%{redirect_url}' "$B9/app-market/install?appId=$APP_ID")
CALLBACK=$(curl -s -o /dev/null -w '%{redirect_url}' -G "$B9/installer/install" \
  --data-urlencode "appId=$APP_ID" --data-urlencode "redirectUrl=http://127.0.0.1:3000/wix/oauth/callback" \
  --data-urlencode "state=compose" --data-urlencode "token=$(query "$APP_URL" token)")
curl -fs -X POST "$B9/oauth/access" -H 'Content-Type: application/json' \
  -d "{\"grant_type\":\"authorization_code\",\"client_id\":\"$APP_ID\",\"client_secret\":\"mock-app-secret-0001\",\"code\":\"$(query "$CALLBACK" code)\"}" >/dev/null
START=$(date +%s%N)
delivered() { curl -fs "$B9/__admin/webhooks" | python3 -c 'import json,sys; w=json.load(sys.stdin)["webhooks"]; sys.exit(not any(d["event_type"]=="AppInstalled" and d["status"]=="delivered" for d in w))'; }
wait_for 20 delivered
echo "AppInstalled delivered to the app service: $(ms_since "$START") ms after the install flow's last request"
JWT=$(curl -fs "$B9/__admin/webhooks" | python3 -c 'import json,sys; print([d for d in json.load(sys.stdin)["webhooks"] if d["event_type"]=="AppInstalled"][0]["jwt"])')
compose exec -T app /bin/busybox cat /data/webhooks.log | grep -qxF "$JWT" || { echo "the app did not log the JWT"; compose logs app; exit 1; }
echo "the app's log holds the delivered JWT, byte for byte: ok"
START=$(date +%s%N)
compose down >/dev/null 2>&1
COMPOSE_UP=
echo "compose down: $(ms_since "$START") ms"

echo "== 10. GitHub Actions job ($RECIPES/github-actions.yml) through scripts/github-actions-run.py"
python3 -c 'import yaml' 2>/dev/null || { echo "PyYAML is missing (pip install pyyaml)"; exit 1; }
START=$(date +%s%N)
python3 scripts/github-actions-run.py "$RECIPES/github-actions.yml" test --name-prefix "$NAME-gha" \
  --image "ghcr.io/your-org/wix-oauth-mock:latest=$IMAGE" | sed 's/^/   /'
echo "the job passed: $(ms_since "$START") ms in all (the runner's health wait backs off 2 s, 4 s, ...)"

echo "docker smoke: all ok"
