#!/usr/bin/env bash
# The packaging e2e suite on kind (a real kubelet, real container runtime, real images):
#   bash test/e2e/kind.sh
# Creates a kind cluster, builds the image from ./Dockerfile and the example SPA image, loads
# both into kind, then runs test/integration/packaging/install.test.ts — the same suite that
# runs on the embedded local cluster in `npm test` — with VO_E2E_KUBECONFIG pointing at kind
# (helm install, helm test, example app announced after a rollout, helm uninstall leftovers).
# Needs docker, kind, helm (or scripts/build-binaries.sh), kubectl at /usr/bin/kubectl, Node 24.
# It cannot run on the development machines of this project (no Docker engine); CI runs it
# (.github/workflows/e2e-kind.yml).
set -euo pipefail
cd "$(dirname "$0")/../.."
CLUSTER="${VO_KIND_CLUSTER:-version-observer-e2e}"
TAG="$(node -p 'require("./package.json").version')"
IMAGE="ghcr.io/version-observer/version-observer:$TAG"
SPA="version-observer/example-spa"
KEEP="${VO_KIND_KEEP:-}"
say() { printf '[kind-e2e %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

for tool in docker kind kubectl node; do command -v "$tool" >/dev/null || { say "$tool is not on PATH"; exit 1; }; done
# shellcheck source=../../scripts/use-node24.sh
source scripts/use-node24.sh
# A released helm on PATH is used as is; otherwise the tests build one (scripts/build-binaries.sh).
if [ -z "${VO_HELM:-}" ] && command -v helm >/dev/null; then export VO_HELM="$(command -v helm)"; fi
[ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error

kubeconfig="$(mktemp)"
cleanup() {
  if [ -z "$KEEP" ]; then say "deleting kind cluster $CLUSTER"; kind delete cluster --name "$CLUSTER" >/dev/null 2>&1 || true; fi
  rm -f "$kubeconfig"
}
trap cleanup EXIT

say "kind create cluster $CLUSTER (2 workers, so the controller replicas spread)"
kind create cluster --name "$CLUSTER" --kubeconfig "$kubeconfig" --wait 120s --config - <<'KIND'
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
nodes:
  - role: control-plane
  - role: worker
  - role: worker
KIND

say "docker build $IMAGE"
docker build -t "$IMAGE" .
say "docker build $SPA:1.0.0 and :1.1.0 (the example SPA; its version comes from the pod label)"
docker build -t "$SPA:1.0.0" -t "$SPA:1.1.0" -f - examples/spa <<'DOCKERFILE'
FROM node:24-bookworm-slim
WORKDIR /app
COPY server.ts index.html ./
USER 65532:65532
ENTRYPOINT ["node", "/app/server.ts"]
DOCKERFILE

say "kind load docker-image"
kind load docker-image --name "$CLUSTER" "$IMAGE" "$SPA:1.0.0" "$SPA:1.1.0"

say "running test/integration/packaging/install.test.ts against kind"
VO_E2E_KUBECONFIG="$kubeconfig" node --test --test-reporter=spec --test-timeout=900000 test/integration/packaging/install.test.ts
say "passed"
