#!/usr/bin/env bash
# For this development machine only, not for users: makes a local image tagged rust:1 out of this
# host's own files, so that the Dockerfile's plain `docker build .` (its first stage is
# `FROM rust:1 AS build`) can be run here. Docker Hub is unreachable from this machine (only package
# registries such as crates.io are), so the real rust:1 cannot be pulled. Anyone with Docker Hub
# access pulls the real image and never needs this.
#
# The stand-in imitates what the build stage uses of rust:1: a Debian userland with gcc, binutils and
# glibc's static libraries (the binary is linked with +crt-static), CA certificates for crates.io,
# and one stable toolchain with CARGO_HOME=/usr/local/cargo, RUSTUP_HOME=/usr/local/rustup and
# /usr/local/cargo/bin first on PATH, as in rust:1. Left out: the other toolchains, cargo's registry
# cache (the build fetches crates from crates.io, as it would from the real image), /usr/local (this
# host's own tools), and large folders no Rust build uses. It is piped straight into `docker import`,
# so no tarball is left on disk.
#
# Usage: bash scripts/stand-in-rust-image.sh [TAG]   (default rust:1; replaces an image of that tag)
set -euo pipefail

TAG=${1:-rust:1}
TOOLCHAIN=stable-$(uname -m)-unknown-linux-gnu
RUSTUP_DIR=${RUSTUP_HOME:-$HOME/.rustup}
CARGO_DIR=${CARGO_HOME:-$HOME/.cargo}
[ -d "$RUSTUP_DIR/toolchains/$TOOLCHAIN" ] || { echo "no $TOOLCHAIN in $RUSTUP_DIR (rustup toolchain install stable)" >&2; exit 1; }
command -v cc >/dev/null || { echo "no C compiler here (Debian: apt-get install build-essential)" >&2; exit 1; }
# tar's member names are relative to /, so the toolchain's paths are too.
RUSTUP_REL=${RUSTUP_DIR#/}
CARGO_REL=${CARGO_DIR#/}

# The empty folders the image needs that are not copied from the host: /tmp (cc and rustc write their
# temporary files there) and /var/tmp, both world-writable as usual.
STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT
mkdir -p "$STAGE/tmp" "$STAGE/var/tmp"
chmod 1777 "$STAGE/tmp" "$STAGE/var/tmp"

START=$(date +%s)
tar -C / -cf - --numeric-owner \
  --exclude=usr/local \
  --exclude=usr/lib/google-cloud-sdk --exclude=usr/lib/jvm --exclude=usr/lib/chromium \
  --exclude=usr/lib/llvm-14 --exclude=usr/lib/postgresql --exclude=usr/lib/debug \
  --exclude=usr/share/doc --exclude=usr/share/man --exclude=usr/share/locale --exclude=usr/share/package-lists \
  --exclude=etc/shadow --exclude=etc/shadow- --exclude=etc/gshadow --exclude=etc/gshadow- \
  --exclude=etc/ssh --exclude=etc/docker --exclude=etc/containerd --exclude=etc/npmrc --exclude=etc/pip.conf \
  --transform "s,^$CARGO_REL,usr/local/cargo,;s,^$RUSTUP_REL,usr/local/rustup," \
  usr bin sbin lib lib64 etc \
  "$CARGO_REL/bin" "$CARGO_REL/env" \
  "$RUSTUP_REL/settings.toml" "$RUSTUP_REL/toolchains/$TOOLCHAIN" \
  -C "$STAGE" tmp var/tmp \
| docker import \
    --change 'ENV RUSTUP_HOME=/usr/local/rustup' \
    --change 'ENV CARGO_HOME=/usr/local/cargo' \
    --change 'ENV PATH=/usr/local/cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'WORKDIR /' \
    --change 'CMD ["bash"]' \
    --message "stand-in for rust:1 made by scripts/stand-in-rust-image.sh from this host's files" \
    - "$TAG" >/dev/null

echo "$TAG: stand-in made in $(( $(date +%s) - START )) s, $(( $(docker image inspect "$TAG" --format '{{.Size}}') / 1024 / 1024 )) MiB"
docker run --rm --network host "$TAG" sh -c 'rustc --version && cargo --version && cc --version | head -1'
