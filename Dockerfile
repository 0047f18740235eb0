# solod container image: Debian 12 (bookworm), built in two stages.
#
#   docker build -t solod .
#   docker run -p 8443:8443 -v solod-data:/data --ulimit nofile=65536:65536 solod
#
# Open files: every connection is a file descriptor. solod raises its soft
# RLIMIT_NOFILE to the hard limit at start (README "Open files"); with the
# default server.max_connections = 20000 it needs a hard limit of at least
# 20128. Start it with `--ulimit nofile=65536:65536` (Compose:
# `ulimits: { nofile: { soft: 65536, hard: 65536 } }`): an image cannot set it.
#
# BASE: any Debian 12 image. scripts/container-test.sh passes a local one made
# with mmdebstrap (--build-arg BASE=localhost/debian:bookworm).
ARG BASE=debian:bookworm-slim

# -- build stage: compile a Release solod ---------------------------------------
FROM ${BASE} AS build
# Parallel compile jobs: each C++ job takes up to ~1.5 GB of memory.
ARG JOBS=2
# The build packages of scripts/install-deps.sh, without the test ones, and
# with libboost-dev + libboost-system-dev for libboost-all-dev: solod uses only
# Asio, Beast and Boost.System (headers), and libboost-all-dev pulls in MPI,
# Python and ~1 GB more.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config libcaf-dev libboost-dev libboost-system-dev \
      libssl-dev libsoci-dev libsqlite3-dev libspdlog-dev nlohmann-json3-dev \
      libtomlplusplus-dev libsodium-dev libpq-dev libcrypt-dev \
 && apt-get clean && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt ./
# docs/openapi.json: served by GET /api/openapi.json, compiled in
COPY docs/ docs/
COPY src/ src/
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release \
      -DSOLOD_BUILD_TESTS=OFF -DSOLOD_BUILD_BENCH=OFF \
 && cmake --build build -j "${JOBS}" \
 && strip --strip-unneeded build/solod \
 && build/solod --version

# -- runtime stage: the binary, its shared libraries, the pages, a config --------
FROM ${BASE}
# The libraries of `ldd solod` (by Debian package): CAF, SOCI core + SQLite +
# PostgreSQL backends, SQLite, libpq, libsodium, OpenSSL, spdlog, fmt.
# libcrypt1 and libstdc++6 are already in every Debian image; Boost is
# header-only here. curl is for HEALTHCHECK only; ca-certificates for webhooks
# to https:// receivers (their certificates are checked against it).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libcaf-core0.17 libsoci-core4.0 libsoci-sqlite3-4.0 libsoci-postgresql4.0 \
      libsqlite3-0 libpq5 libsodium23 libssl3 libspdlog1.10 libfmt9 libcrypt1 \
      curl ca-certificates \
 && apt-get clean && rm -rf /var/lib/apt/lists/*
# A fixed uid/gid (10001) so that files mounted from the host (secrets, a
# bind-mounted /data) can be given to it: chown 10001:10001 FILE.
RUN groupadd --system --gid 10001 solod \
 && useradd --system --uid 10001 --gid solod --home-dir /data --no-create-home \
      --shell /usr/sbin/nologin solod \
 && install -d -o solod -g solod -m 0700 /data \
 && install -d -m 0755 /etc/solod /usr/share/solod /var/lib/solod \
 && ln -s /data /var/lib/solod/data \
 && ln -s /etc/solod /var/lib/solod/config
COPY --from=build /src/build/solod /usr/local/bin/solod
COPY web/ /usr/share/solod/web/
COPY packaging/solod.container.toml /etc/solod/solod.toml

# solod keeps its secrets and certificate in data/ under its working
# directory: /var/lib/solod/data is /data. config/solod.toml there is
# /etc/solod/solod.toml, so `docker exec CONTAINER solod user add ...` reads
# the same config as the server.
WORKDIR /var/lib/solod
# The SQLite database, jwt.secret, cert.pem/key.pem and logs/.
VOLUME /data
USER solod
EXPOSE 8443
# /healthz answers 200 "ok" when the database answers (503 otherwise). tls =
# "auto" serves plain HTTP on the TLS port; https is the fallback for
# tls = "required". The port follows SOLOD_SERVER_LISTEN when it is set.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD port="${SOLOD_SERVER_LISTEN:-:8443}"; port="${port##*:}"; \
      curl -fsS -o /dev/null --max-time 4 "http://127.0.0.1:${port}/healthz" \
      || curl -fsSk -o /dev/null --max-time 4 "https://127.0.0.1:${port}/healthz"
# SIGTERM: stop accepting, close WebSockets with 1001, flush the audit log, exit 0.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/solod", "--config", "/etc/solod/solod.toml"]
CMD []
