# syntax=docker/dockerfile:1.7
# Image of `worker`: the Temporal worker (payment workflow and activities); /metrics, /healthz, /readyz on :8081.
# Build from the repository root:  docker build -f deploy/docker/worker.Dockerfile -t paysplit-worker .
# Configuration comes from the environment (README, "Configuration"); secrets are injected by the
# orchestrator (ECS task definition "secrets" from Secrets Manager), never baked into the image.

FROM golang:1.26-bookworm AS build
WORKDIR /src
# Modules first, so a source change does not refetch them.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
# Static binary: the runtime image has no libc.
ARG VERSION=dev
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags="-s -w" -o /out/worker ./worker

# distroless static: CA certificates and tzdata, no shell, no package manager; uid 65532.
FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=dev
LABEL org.opencontainers.image.source="paysplit" org.opencontainers.image.version="${VERSION}"
COPY --from=build /out/worker /usr/local/bin/worker
USER nonroot:nonroot
ENV APP_ENV=production WORKER_HTTP_ADDR=0.0.0.0:8081
EXPOSE 8081
# No shell in the image: the program probes itself (GET /healthz on its own port).
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s CMD ["/usr/local/bin/worker", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/worker"]
