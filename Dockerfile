# syntax=docker/dockerfile:1
# Multi-stage build of the wutt-campaign runner.
#   docker build -t wutt-campaign .
#   docker run --rm --env-file .env wutt-campaign report

FROM rust:1.95-slim-bookworm AS builder
WORKDIR /build
# aws-lc-rs (the one TLS crypto provider) builds C code: gcc is in the image, add cmake.
RUN apt-get update \
 && apt-get install -y --no-install-recommends cmake \
 && rm -rf /var/lib/apt/lists/*
# Everything `cargo build` reads: the manifest and lock, the build script, the
# patched crates of [patch] (vendor/), the sources, the embedded migrations and
# the example campaigns the demo embeds. scripts/check-compose.sh checks this list.
COPY Cargo.toml Cargo.lock build.rs ./
COPY vendor ./vendor
COPY src ./src
COPY migrations ./migrations
COPY campaigns/examples ./campaigns/examples
# The caches keep dependencies between builds; the binary is copied out of them.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/build/target \
    cargo build --release --locked \
 && cp target/release/wutt-campaign /usr/local/bin/wutt-campaign

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates tzdata \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 wutt \
 && useradd --system --uid 10001 --gid wutt --home-dir /nonexistent --shell /usr/sbin/nologin wutt \
 && mkdir -p /campaigns/inbox /campaigns/processed /campaigns/rejected \
 && chown -R wutt:wutt /campaigns
COPY --from=builder /usr/local/bin/wutt-campaign /usr/local/bin/wutt-campaign
COPY campaigns/examples /usr/share/wutt-campaign/examples
ENV WUTT_CAMPAIGNS_DIR=/campaigns \
    RUST_LOG=info
USER wutt
WORKDIR /campaigns
# Prometheus metrics and /healthz when started with --metrics-addr 0.0.0.0:9090.
EXPOSE 9090
# SIGTERM lets in-flight sends finish (give `docker stop -t` enough time).
STOPSIGNAL SIGTERM
ENTRYPOINT ["wutt-campaign"]
CMD ["run"]
