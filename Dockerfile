# syntax=docker/dockerfile:1
# The backendtls image: backendtls-webhook, backendtls-sidecar and the backendtls CLI, release builds linked with
# the static Swift standard library, on a small Ubuntu with CA certificates, run as the non-root user 65532.
#
#   docker build -t backendtls:0.1.0 .
#   docker build --build-arg SWIFT_VERSION=6.3 -t registry.example/backendtls:0.1.0 .
#
# The Helm chart (charts/backendtls) and the sidecar example run /usr/local/bin/backendtls-webhook and
# /usr/local/bin/backendtls-sidecar from it as user 65532.
ARG SWIFT_VERSION=6.3
# glibc 2.36 or later: the sidecar is linked with packed relative relocations (DT_RELR, Package.swift). noble has
# 2.39; jammy's 2.35 cannot start it, which the build stage's start-up check below reports.
ARG UBUNTU=noble

FROM swift:${SWIFT_VERSION}-${UBUNTU} AS build
WORKDIR /src
# Dependencies first: a source change does not fetch them again. Package.resolved is used when present.
COPY Package.* ./
RUN swift package resolve $([ -f Package.resolved ] && echo --force-resolved-versions)
COPY Sources ./Sources
COPY Tests ./Tests
# A section per function (the Makefile's RELEASE_FLAGS), so that the sidecar's link can put the code it runs
# together (Package.swift; Sources/backendtls-sidecar/hot-functions.order and hot-sections.ld).
RUN for product in backendtls-webhook backendtls-sidecar backendtls; do \
        swift build -c release --static-swift-stdlib -Xswiftc -Xfrontend -Xswiftc -function-sections \
            -Xcc -ffunction-sections -Xcxx -ffunction-sections --product "$product" || exit 1; \
    done \
    && mkdir -p /out/bin /out/libexec \
    && bin="$(swift build -c release --show-bin-path)" \
    && cp "$bin/backendtls-webhook" "$bin/backendtls-sidecar" "$bin/backendtls" /out/bin/ \
    && cp /usr/libexec/swift/linux/swift-backtrace-static /out/libexec/ \
    && /out/bin/backendtls-sidecar --help >/dev/null

# Same Ubuntu release as the build image, so the glibc the binaries were linked against is there.
FROM ubuntu:${UBUNTU}
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 65532 --user-group --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin backendtls
COPY --from=build /out/bin/ /usr/local/bin/
COPY --from=build /out/libexec/swift-backtrace-static /usr/local/libexec/swift-backtrace-static
# Readable crash reports (symbolicated backtraces) on stderr, never an interactive prompt.
ENV SWIFT_BACKTRACE=enable=yes,sanitize=yes,threads=all,images=all,interactive=no,swift-backtrace=/usr/local/libexec/swift-backtrace-static
USER 65532:65532
# Webhook: HTTPS 8443, probes 8081, metrics 9090. Sidecar: proxy 15001, metrics and probes 15090.
EXPOSE 8443 8081 9090
ENTRYPOINT ["/usr/local/bin/backendtls-webhook"]
