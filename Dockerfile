# syntax=docker/dockerfile:1
#
# echo-server in a minimal image:
#
#   docker build -t deno-echo .
#   docker run --rm -p 2000:2000 deno-echo
#   printf 'hello\n' | deno task client localhost 2000
#
# Arguments after the image name are added to the server's command line
# (`docker run --rm -p 2000:2000 deno-echo --max-connections 1000`).
# Multi-platform: `docker buildx build --platform linux/amd64,linux/arm64 .`

# --- build: compile echo-server and echo-client --------------------------
# The build stage runs on the builder's own platform and cross-compiles for
# the image's platform with the deno.json task for that target, so the
# binaries get the same flags as every other build (see deno.json)
# and no emulator is needed for arm64 images.
FROM --platform=$BUILDPLATFORM denoland/deno:2.9.6 AS build
ARG TARGETARCH
WORKDIR /app
COPY deno.json mod.ts server.ts client.ts ./
COPY src/ src/
# /deno-dir is the image's DENO_DIR: caching it keeps the downloaded Deno
# runtime (denort) between builds.
RUN --mount=type=cache,target=/deno-dir \
    case "$TARGETARCH" in \
      amd64) target=x86_64-unknown-linux-gnu ;; \
      arm64) target=aarch64-unknown-linux-gnu ;; \
      *) echo "no deno compile target for $TARGETARCH" >&2; exit 1 ;; \
    esac \
 && deno task "compile:$target" \
 && mkdir /out \
 && mv "dist/echo-server-$target" /out/echo-server \
 && mv "dist/echo-client-$target" /out/echo-client

# --- runtime: glibc and libgcc only, no shell, no package manager --------
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/echo-server /out/echo-client /
# The distroless "nonroot" user, by number so that Kubernetes can check
# runAsNonRoot. Port 2000 needs no privilege.
USER 65532:65532
EXPOSE 2000

# The image has no shell, so the health check cannot pipe a line into a
# client. It runs echo-client itself: a health check gets no standard input,
# so the client reads end-of-input at once, sends nothing, half-closes and
# exits 0 as soon as the connection is made. If nothing listens it exits 3
# (connection refused), after 2 s 6 (timeout): Docker counts any non-zero
# exit as a failed check. 127.0.0.1 rather than localhost: the container
# always has IPv4 loopback, and `::` below accepts IPv4 too.
# The server logs each check as a connection with 0 bytes echoed.
HEALTHCHECK --interval=30s --timeout=5s --start-period=5s --retries=3 \
  CMD ["/echo-client", "--timeout", "2s", "127.0.0.1", "2000"]

# `::` is every interface, IPv4 and IPv6 (IPv4 clients arrive dual-stack;
# it also works when Docker disables IPv6 in the container). The binary is
# PID 1 and handles SIGTERM itself: `docker stop` stops accepting, lets
# open connections finish for up to 5 s (--drain-timeout) and exits 0,
# within Docker's default 10 s stop timeout.
ENTRYPOINT ["/echo-server", "--hostname", "::", "--port", "2000"]
