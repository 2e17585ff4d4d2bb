# syntax=docker/dockerfile:1
# The one image: `controller | sidecar | probe`.
#   docker buildx build --platform linux/amd64,linux/arm64 \
#     --build-arg VERSION=0.1.0 --build-arg REVISION=$(git rev-parse HEAD) \
#     -t ghcr.io/version-observer/version-observer:0.1.0 .
# Runtime: distroless Node 24 — no shell, no package manager, no npm/corepack — production
# dependencies only, non-root numeric user, nothing written at run time (the chart sets
# readOnlyRootFilesystem). The development commands (`cluster`, `demo`) are compiled but
# removed, with the modules only they load.
# scripts/image-content.ts runs these same steps without a Docker engine, and
# test/integration/packaging/image-content.test.ts runs it: keep RUN steps relative to WORKDIR,
# COPY sources inside the build context, and no RUN in the runtime stage (it has no shell).

# Both bases are pinned by digest (Dependabot's docker ecosystem proposes new digests).
# The build stages run on the build platform: their output (JavaScript, and node_modules
# installed with --ignore-scripts, none native) is the same for every target platform.
ARG BUILD_IMAGE=node:24-bookworm-slim@sha256:6f7b03f7c2c8e2e784dcf9295400527b9b1270fd37b7e9a7285cf83b6951452d
ARG RUNTIME_IMAGE=gcr.io/distroless/nodejs24-debian12:nonroot@sha256:14d42e2511532589a7c7e01a753667a74fcc96266e137e8125006b87b0c32d0a

# --- build: every dependency, compile src/ to dist/ and bundle the browser client
FROM --platform=$BUILDPLATFORM ${BUILD_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY tsconfig.json ./
COPY scripts/build.ts ./scripts/
COPY src ./src
# dist/local and dist/demo are what `cluster` and `demo` load (an embedded control plane, a
# browser driver from devDependencies): development tools, not part of a deployment.
RUN node scripts/build.ts && rm -rf dist/local dist/demo

# --- prod-deps: runtime dependencies only, no install scripts
FROM --platform=$BUILDPLATFORM ${BUILD_IMAGE} AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error

# --- runtime: COPY only (no shell to RUN anything with)
FROM ${RUNTIME_IMAGE} AS runtime
ARG VERSION=0.0.0-dev
ARG REVISION=unknown
ARG SOURCE=https://github.com/version-observer/version-observer
LABEL org.opencontainers.image.title="version-observer" \
      org.opencontainers.image.description="Kubernetes controller and sidecar that tell open browser tabs a new version has rolled out" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
ENV NODE_ENV=production \
    VERSION_OBSERVER_REVISION="${REVISION}"
WORKDIR /app
COPY package.json ./
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
# 65532: distroless's "nonroot" uid/gid; numeric so runAsNonRoot can verify it. The files
# above stay root-owned and read-only to this user.
USER 65532:65532
# controller API, sidecar public, sidecar admin
EXPOSE 8080 8787 8788
# The base's node, by absolute path: there is no PATH lookup through a shell here.
ENTRYPOINT ["/nodejs/bin/node", "/app/dist/cli/main.js"]
CMD ["--help"]
