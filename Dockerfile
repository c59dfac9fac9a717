# wix-oauth-mock as a CI fixture: one static binary and the shipped scenarios in an image built FROM scratch.
#
# Two ways to build it (see README.md, "Container"):
#
#   docker build -t wix-oauth-mock .
#       builds the binary in a Rust image, then copies it into the scratch image (needs to pull rust:1);
#
#   CARGO_TARGET_DIR=target/static RUSTFLAGS="-C target-feature=+crt-static" \
#     cargo build --release --target x86_64-unknown-linux-gnu
#   docker build --target local -t wix-oauth-mock .
#       copies a binary you built on the host (statically linked glibc) and pulls nothing at all.
#
# Inside the container the mock listens on 0.0.0.0:8787 (the binary's own default stays 127.0.0.1) as an
# unprivileged user. Configure it with WIX_MOCK_* variables; mount your scenarios and point
# WIX_MOCK_SCENARIO at one, e.g. -v "$PWD/scenarios:/scenarios:ro" -e WIX_MOCK_SCENARIO=/scenarios/my.yaml.

# `local` comes first: the classic builder runs every stage up to --target, so this one pulls nothing.
FROM scratch AS local
COPY target/static/x86_64-unknown-linux-gnu/release/wix-oauth-mock /wix-oauth-mock
COPY scenarios/ /scenarios/
ENV WIX_MOCK_BIND=0.0.0.0 WIX_MOCK_PORT=8787
USER 65532:65532
EXPOSE 8787
HEALTHCHECK --interval=2s --timeout=2s --start-period=1s --retries=3 CMD ["/wix-oauth-mock", "health"]
ENTRYPOINT ["/wix-oauth-mock"]
CMD ["serve"]

FROM rust:1 AS build
WORKDIR /src
COPY . .
RUN CARGO_TARGET_DIR=target/static RUSTFLAGS="-C target-feature=+crt-static" cargo build --release --locked --target x86_64-unknown-linux-gnu

FROM scratch AS runtime
COPY --from=build /src/target/static/x86_64-unknown-linux-gnu/release/wix-oauth-mock /wix-oauth-mock
COPY scenarios/ /scenarios/
ENV WIX_MOCK_BIND=0.0.0.0 WIX_MOCK_PORT=8787
USER 65532:65532
EXPOSE 8787
HEALTHCHECK --interval=2s --timeout=2s --start-period=1s --retries=3 CMD ["/wix-oauth-mock", "health"]
ENTRYPOINT ["/wix-oauth-mock"]
CMD ["serve"]
