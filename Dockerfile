# vbharness as a container: the mock as a service for a shared lab (docs/mock-server.md,
# "In a container and on Kubernetes"), and the runner for CI shards (docs/ci.md).
#
#   docker build -t vbharness .
#   docker run -d -p 8400:8400 -p 4443:4443 -e VBHARNESS_CONTROL_TOKEN=… \
#     -v vbharness-state:/var/lib/vbharness vbharness \
#     mock --listen-all --state-dir /var/lib/vbharness --hostname mock.lab.local
#
# The rules this file keeps are checked by cmd/vbharness/deploy_test.go.

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# A static binary (no cgo), so the image needs no C library.
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags="-s -w" -o /out/vbharness ./cmd/vbharness \
    && mkdir -p /out/state

FROM scratch
# Root CAs, for a mock pointed at the real Entra (--entra-authority) and for runs
# against lab servers.
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/vbharness /vbharness
# The state folder (the mock's CA and certificates; what it keeps across restarts) is a
# volume owned by the unprivileged user.
COPY --from=build --chown=65532:65532 /out/state /var/lib/vbharness
USER 65532:65532
ENV HOME=/var/lib/vbharness
VOLUME ["/var/lib/vbharness"]
EXPOSE 8400 4443
# scratch has no curl: the binary probes itself. The probe reads the control token from
# the same variables as the mock ($VBHARNESS_CONTROL_TOKEN or $VBHARNESS_CONTROL_TOKEN_FILE).
HEALTHCHECK --interval=15s --timeout=6s --start-period=20s --retries=3 \
    CMD ["/vbharness", "mock", "health", "--state-dir", "/var/lib/vbharness"]
ENTRYPOINT ["/vbharness"]
# Every interface, so the published ports reach it; it refuses to start without a
# control token. Arguments after the image name replace this whole command (the
# entrypoint stays): repeat mock --listen-all --state-dir … when adding --hostname.
CMD ["mock", "--listen-all", "--state-dir", "/var/lib/vbharness"]
