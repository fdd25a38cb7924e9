# syntax=docker/dockerfile:1
# OComms: one image holding every binary (the `ocomms` launcher, the gateway
# and the six services) and the built web client.
#
#   docker build -t ocomms:dev .
#   docker run --rm -p 3000:3000 -e DATABASE_URL=postgres://... ocomms:dev up
#
# The Helm chart runs each binary in its own Deployment from this image
# (`command: ["/usr/local/bin/svc-auth"]`, ...). scripts/deploy-check.sh checks
# this file statically (no registry is reachable where it was written).

ARG RUST_VERSION=1.95
ARG NODE_VERSION=22.20.0
ARG CARGO_CHEF_VERSION=0.1.78

# --- Rust toolchain with cargo-chef -----------------------------------------
FROM rust:${RUST_VERSION}-bookworm AS chef
ARG CARGO_CHEF_VERSION
RUN cargo install --locked "cargo-chef@${CARGO_CHEF_VERSION}"
WORKDIR /src

# --- The dependency recipe: changes only when a Cargo.toml or Cargo.lock does
FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

# --- Dependencies (cached layer), then the workspace's own crates ------------
FROM chef AS builder
COPY --from=planner /src/recipe.json recipe.json
RUN cargo chef cook --release --locked --recipe-path recipe.json
COPY . .
RUN cargo build --release --locked \
      -p ocomms -p ocomms-gateway \
      -p svc-auth -p svc-messaging -p svc-presence -p svc-files -p svc-scheduler -p svc-notify \
 && mkdir -p /out \
 && for bin in ocomms ocomms-gateway svc-auth svc-messaging svc-presence svc-files svc-scheduler svc-notify; do \
      cp "target/release/${bin}" /out/; \
    done

# --- The web client (Preact + Vite); `prebuild` reads ../docs/openapi.json and ../proto/proto ---
FROM node:${NODE_VERSION}-bookworm-slim AS web
WORKDIR /src/web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY docs/openapi.json /src/docs/openapi.json
COPY proto/proto/ /src/proto/proto/
COPY web/ ./
RUN npm run build

# --- Runtime: glibc + CA certificates, no shell, non-root ------------------
FROM gcr.io/distroless/cc-debian12:nonroot AS runtime
COPY --from=builder /out/ /usr/local/bin/
COPY --from=web /src/web/dist/ /app/web/
WORKDIR /app
ENV WEB_DIR=/app/web \
    GATEWAY_ADDR=0.0.0.0:3000 \
    UPLOAD_DIR=/data/uploads \
    DATA_DIR=/data \
    LOG_FORMAT=json
# distroless "nonroot": uid/gid 65532
USER 65532:65532
EXPOSE 3000 50051 50052 50053 50054 50055 50056
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/ocomms"]
CMD ["up"]
