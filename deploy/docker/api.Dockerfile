# syntax=docker/dockerfile:1.7
# Image of `api`: the HTTP API (webhooks, admin API, dashboard, /metrics, /healthz, /readyz) on :8080.
# Build from the repository root:  docker build -f deploy/docker/api.Dockerfile -t paysplit-api .
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
    CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags="-s -w" -o /out/api ./api

# distroless static: CA certificates and tzdata, no shell, no package manager; uid 65532.
FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=dev
LABEL org.opencontainers.image.source="paysplit" org.opencontainers.image.version="${VERSION}"
COPY --from=build /out/api /usr/local/bin/api
USER nonroot:nonroot
ENV APP_ENV=production API_ADDR=0.0.0.0:8080
EXPOSE 8080
# No shell in the image: the program probes itself (GET /healthz on its own port).
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s CMD ["/usr/local/bin/api", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/api"]
