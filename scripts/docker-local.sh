#!/usr/bin/env bash
# Builds the container image from a binary built here (Dockerfile.local): a static release binary for
# this machine's own target, staged in target/docker/ with an empty folder that becomes /data.
# Usage: bash scripts/docker-local.sh [IMAGE_TAG]   (default wix-oauth-mock)
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE=${1:-wix-oauth-mock}
TRIPLE=$(rustc -vV | sed -n 's/^host: //p')
# STATIC_BIN=path uses a static binary built earlier instead of building one (the release build
# takes minutes with fat LTO).
BIN=${STATIC_BIN:-target/static/$TRIPLE/release/wix-oauth-mock}
if [ -z "${STATIC_BIN:-}" ]; then
  # Statically linked glibc: the image is FROM scratch, with no libc to load.
  CARGO_TARGET_DIR=target/static RUSTFLAGS="-C target-feature=+crt-static" \
    cargo build --release --target "$TRIPLE"
fi
file "$BIN" 2>/dev/null | grep -q 'static' || { echo "$BIN is not statically linked" >&2; exit 1; }
rm -rf target/docker
mkdir -p target/docker/data
cp "$BIN" target/docker/wix-oauth-mock
# The classic builder: it needs no buildx, and Dockerfile.local has nothing BuildKit would speed up.
# Docker Engine < 25 does not know HEALTHCHECK --start-interval: leave it out there, and say so.
ENGINE=$(docker version --format '{{.Server.Version}}')
if (( ${ENGINE%%.*} < 25 )); then
  echo "Docker Engine $ENGINE predates HEALTHCHECK --start-interval: building without it" >&2
  sed 's/ --start-interval=[^ ]*//' Dockerfile.local | DOCKER_BUILDKIT=0 docker build --quiet -f - -t "$IMAGE" . >/dev/null
else
  DOCKER_BUILDKIT=0 docker build --quiet -f Dockerfile.local -t "$IMAGE" . >/dev/null
fi
echo "built $IMAGE from $BIN"
