# syntax=docker/dockerfile:1
# The one image: `version-observer controller | sidecar | probe | ...`.
#   docker build -t ghcr.io/version-observer/version-observer:0.1.0 .
# Runtime: Node 24 slim, production dependencies only, non-root numeric user, nothing written
# at run time (the chart sets readOnlyRootFilesystem). scripts/image-content.ts runs these same
# steps without a Docker engine, and test/integration/packaging/image-content.test.ts runs it:
# keep RUN steps relative to WORKDIR and COPY sources inside the build context.

ARG NODE_IMAGE=node:24-bookworm
ARG NODE_RUNTIME_IMAGE=node:24-bookworm-slim

# --- build: every dependency, compile src/ to dist/ and bundle the browser client
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY tsconfig.json ./
COPY scripts/build.ts ./scripts/
COPY src ./src
RUN node scripts/build.ts && chmod 0755 dist/cli/main.js

# --- prod-deps: runtime dependencies only, no install scripts
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error

# --- runtime
FROM ${NODE_RUNTIME_IMAGE} AS runtime
ENV NODE_ENV=production \
    PATH=/app/bin:$PATH
WORKDIR /app
COPY package.json ./
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
RUN mkdir bin && ln -s ../dist/cli/main.js bin/version-observer
# 65532: the conventional "nonroot" uid/gid; numeric so runAsNonRoot can verify it. The
# files above stay root-owned and read-only to this user.
USER 65532:65532
# controller API, sidecar public, sidecar admin
EXPOSE 8080 8787 8788
ENTRYPOINT ["version-observer"]
CMD ["--help"]
