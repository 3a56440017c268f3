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

# Fallback fonts for report text the Go fonts lack (client names in Japanese, Arabic, Thai...):
# REPORT_FONTS=auto looks for exactly these files (internal/report DefaultFontPaths), Regular and
# Bold, at Debian's paths. About 6 MB in the image; fpdf embeds only the glyphs a report uses.
FROM debian:bookworm-slim AS fonts
RUN apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        fonts-noto-core fonts-droid-fallback \
    && mkdir -p /out/noto /out/droid \
    && for s in Arabic Hebrew Thai Devanagari Bengali Tamil Armenian Georgian; do \
        cp /usr/share/fonts/truetype/noto/NotoSans$s-Regular.ttf /usr/share/fonts/truetype/noto/NotoSans$s-Bold.ttf /out/noto/; \
    done \
    && cp /usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf /out/droid/

# distroless static: CA certificates and tzdata, no shell, no package manager; uid 65532.
FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=dev
LABEL org.opencontainers.image.source="paysplit" org.opencontainers.image.version="${VERSION}"
COPY --from=build /out/worker /usr/local/bin/worker
COPY --from=fonts /out/noto/ /usr/share/fonts/truetype/noto/
COPY --from=fonts /out/droid/ /usr/share/fonts/truetype/droid/
USER nonroot:nonroot
ENV APP_ENV=production WORKER_HTTP_ADDR=0.0.0.0:8081
EXPOSE 8081
# No shell in the image: the program probes itself (GET /healthz on its own port).
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s CMD ["/usr/local/bin/worker", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/worker"]
