# syntax=docker/dockerfile:1
# Parley: build with `docker build -t parley .`; see README.md ("Docker") for
# running it, and compose.yaml for Parley with PostgreSQL.
#
# Base images are pinned to exact versions: Rust 1.95.0 and Debian 13
# ("trixie") of 6 April 2026, the same release in both stages so the binary
# finds the C library it was linked against. Update both together.

# --- build ---------------------------------------------------------------
FROM rust:1.95.0-slim-trixie AS build
WORKDIR /src

# Dependencies first, as their own layer: built against stub sources from
# the manifests alone, so a change to Parley's code rebuilds Parley only.
# Cargo reads every workspace member and declared target, so each gets a stub.
COPY Cargo.toml Cargo.lock ./
COPY migration/Cargo.toml ./migration/
COPY bench/Cargo.toml ./bench/
RUN mkdir -p src migration/src bench/src tests/api \
 && echo 'fn main() {}' > src/main.rs \
 && echo 'fn main() {}' > bench/src/main.rs \
 && touch src/lib.rs migration/src/lib.rs tests/api/main.rs \
 && cargo build --release --locked -p parley \
 && rm -rf src migration/src

# Then Parley itself: its code, its migrations and the browser files it
# embeds. The stubs' build is older than these sources only by the clock
# of the machine that copied them, so the crate roots are touched to make
# Cargo rebuild them.
COPY src ./src
COPY migration/src ./migration/src
COPY web ./web
RUN touch src/main.rs src/lib.rs migration/src/lib.rs \
 && cargo build --release --locked -p parley \
 && install -m 0755 target/release/parley /usr/local/bin/parley

# --- run -----------------------------------------------------------------
FROM debian:trixie-20260406-slim

RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 parley \
 && useradd --system --uid 10001 --gid parley --home-dir /data --shell /usr/sbin/nologin parley \
 && mkdir -p /data \
 && chown parley:parley /data

COPY --from=build /usr/local/bin/parley /usr/local/bin/parley

# SQLite lives in the /data volume; set DATABASE_URL_FILE (or DATABASE_URL)
# to use PostgreSQL instead. Set the address with PARLEY_LISTEN rather than
# `--listen`: the health check reads it too.
ENV DATABASE_URL=sqlite:///data/parley.db \
    PARLEY_LISTEN=0.0.0.0:8080
VOLUME ["/data"]
WORKDIR /data
USER parley:parley
EXPOSE 8080

# `GET /healthz` on loopback: 200 while the database answers.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["parley", "healthcheck", "--timeout-secs", "4"]

ENTRYPOINT ["parley"]
CMD ["serve"]
