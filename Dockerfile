# Parley: build with `docker build -t parley .`, see README.md for running it.

# --- build ---------------------------------------------------------------
FROM rust:1-bookworm AS build
WORKDIR /src

# The workspace: the server crate, its `migration` and `bench` members, and
# the test target the manifest declares. Only `parley` is built.
COPY Cargo.toml Cargo.lock ./
COPY migration ./migration
COPY bench ./bench
COPY src ./src
COPY tests ./tests

RUN cargo build --release --locked -p parley \
 && install -m 0755 target/release/parley /usr/local/bin/parley

# --- run -----------------------------------------------------------------
FROM debian:bookworm-slim

RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 parley \
 && useradd --system --uid 10001 --gid parley --home-dir /data --shell /usr/sbin/nologin parley \
 && mkdir -p /data \
 && chown parley:parley /data

COPY --from=build /usr/local/bin/parley /usr/local/bin/parley

# SQLite lives in the /data volume; set DATABASE_URL=postgres://… to use
# PostgreSQL instead.
ENV DATABASE_URL=sqlite:///data/parley.db \
    PARLEY_LISTEN=0.0.0.0:8080
VOLUME ["/data"]
WORKDIR /data
USER parley:parley
EXPOSE 8080

# No HEALTHCHECK: the slim image has no HTTP client. Probe
# `GET /healthz` from outside (200 while the database answers, else 503),
# e.g. with `curl -f http://127.0.0.1:8080/healthz` or an orchestrator's
# HTTP check.

ENTRYPOINT ["parley"]
CMD ["serve"]
