# One small image per extension: `docker build --target gardener-extension-<name> .`
#
# The builder links every binary statically against musl (Alpine's Rust), with the workspace's
# release profile (LTO, one codegen unit, stripped). Each final stage is distroless/static: no
# shell, no package manager, only the binary, running as UID 65532.
# GIT_COMMIT (the build context has no .git) is what `--version` reports.

ARG RUST_IMAGE=docker.io/library/rust:1.95-alpine
ARG BASE_IMAGE=gcr.io/distroless/static-debian12:nonroot

FROM ${RUST_IMAGE} AS builder
WORKDIR /src
COPY . .
ARG GIT_COMMIT=""
ENV GIT_COMMIT=${GIT_COMMIT}
# Relative relocations packed (DT_RELR, musl >= 1.2.4): the static PIE's start applies a 5 KiB
# table instead of reading a 370 KiB one that stays resident (docs/performance.md).
ENV RUSTFLAGS="-C link-arg=-Wl,-z,pack-relative-relocs"
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked \
      -p gardener-extension-mwe \
      -p gardener-extension-os-coreos \
      -p gardener-extension-runtime-gvisor \
      -p gardener-extension-shoot-flux \
 && mkdir /out \
 && cp target/release/gardener-extension-mwe \
       target/release/gardener-extension-os-coreos \
       target/release/gardener-extension-runtime-gvisor \
       target/release/gardener-extension-shoot-flux /out/

FROM ${BASE_IMAGE} AS base
USER 65532:65532

FROM base AS gardener-extension-mwe
COPY --from=builder /out/gardener-extension-mwe /gardener-extension-mwe
ENTRYPOINT ["/gardener-extension-mwe"]

FROM base AS gardener-extension-os-coreos
COPY --from=builder /out/gardener-extension-os-coreos /gardener-extension-os-coreos
ENTRYPOINT ["/gardener-extension-os-coreos"]

FROM base AS gardener-extension-runtime-gvisor
COPY --from=builder /out/gardener-extension-runtime-gvisor /gardener-extension-runtime-gvisor
ENTRYPOINT ["/gardener-extension-runtime-gvisor"]

FROM base AS gardener-extension-shoot-flux
COPY --from=builder /out/gardener-extension-shoot-flux /gardener-extension-shoot-flux
ENTRYPOINT ["/gardener-extension-shoot-flux"]
