# wix-oauth-mock as a CI fixture: one static binary and the shipped scenarios in an image built FROM scratch.
#
#   docker build -t wix-oauth-mock .
#       builds the binary inside rust:1 for the build host's own architecture (amd64, arm64, ...),
#       then copies it into the scratch image. Works with BuildKit and with the classic builder.
#       Pass --build-arg WIX_MOCK_GIT_COMMIT=$(git rev-parse --short HEAD) to stamp --version
#       (the build context has no .git).
#
#   bash scripts/docker-local.sh
#       builds the binary on the host and the image from Dockerfile.local, which pulls nothing. That
#       image is a separate file, not a stage here, because the classic builder runs every stage of a
#       Dockerfile: a stage copying a host-built binary would break the plain build on a fresh clone.
#       Keep the two runtime stages alike (scripts/docker-smoke.sh runs both).
#
# Inside the container the mock listens on 0.0.0.0:8787 (the binary's own default stays 127.0.0.1) as the
# unprivileged user 65532. /data belongs to that user and is the working directory: the TLS CA
# (--tls) is written there, a relative --state-file lands there, and `serve` records its port there so
# the HEALTHCHECK finds it whether the port came from WIX_MOCK_PORT or from `--port N`. Mount a named
# volume on /data to keep a state file; Docker copies the folder's owner into a new volume.
#
# HEALTHCHECK --start-interval needs Docker Engine 25 or newer.

FROM rust:1 AS build
WORKDIR /src
COPY . .
ARG WIX_MOCK_GIT_COMMIT
RUN triple="$(rustc -vV | sed -n 's/^host: //p')" \
 && CARGO_TARGET_DIR=target/static RUSTFLAGS="-C target-feature=+crt-static" \
    cargo build --release --locked --target "$triple" \
 && mkdir -p /out/data \
 && cp "target/static/$triple/release/wix-oauth-mock" /out/wix-oauth-mock

FROM scratch AS runtime
COPY --from=build /out/wix-oauth-mock /wix-oauth-mock
COPY scenarios/ /scenarios/
COPY --from=build --chown=65532:65532 /out/data /data
ENV WIX_MOCK_BIND=0.0.0.0 WIX_MOCK_PORT=8787 WIX_MOCK_PORT_FILE=/data/port \
    WIX_MOCK_TLS_CA_OUT=/data/wix-mock-ca.pem
WORKDIR /data
USER 65532:65532
EXPOSE 8787 8443
HEALTHCHECK --interval=2s --timeout=2s --start-period=30s --start-interval=100ms --retries=3 \
  CMD ["/wix-oauth-mock", "health"]
ENTRYPOINT ["/wix-oauth-mock"]
CMD ["serve"]
