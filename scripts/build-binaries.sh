#!/usr/bin/env bash
# Builds the control-plane binaries the local cluster runs (etcd, kube-apiserver,
# kube-controller-manager) and helm, from their official Go modules at pinned versions.
# Output: $VO_CACHE/bin/<stamp>/ with a VERSIONS file; reused when present. The Go set-up
# (cache, `go` check, flags, progress lines) is scripts/go-build-env.sh, shared with build-tools.sh.
# Prints one progress line per step to stderr and the bin directory on stdout.
set -euo pipefail

K8S_VERSION="${VO_K8S_VERSION:-v1.37.2}"
ETCD_VERSION="${VO_ETCD_VERSION:-v3.7.3}"
HELM_VERSION="${VO_HELM_VERSION:-v3.22.0}"
GO_BUILD_NAME=build-binaries
source "$(dirname "${BASH_SOURCE[0]}")/go-build-env.sh"
STAMP="k8s-${K8S_VERSION}_etcd-${ETCD_VERSION}_helm-${HELM_VERSION}"
BIN="$CACHE/bin/$STAMP"

if all_built "$BIN" etcd kube-apiserver kube-controller-manager helm; then
  echo "$BIN"; exit 0
fi
go_build_setup "$BIN" 1.26

# k8s.io/kubernetes points its k8s.io/* staging modules at ./staging with replace
# directives, which only apply inside its own repo; our own module re-points them at the
# published staging versions (v0.X.Y for v1.X.Y).
build_k8s() {
  local dir="$WORK/k8s-$K8S_VERSION" staging="v0${K8S_VERSION#v1}"
  mkdir -p "$dir"
  if [ ! -f "$dir/go.mod" ]; then
    log "resolving k8s.io/kubernetes@$K8S_VERSION (first run downloads ~1 GB of modules)"
    local mod
    mod=$(cd "$dir" && go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
    {
      echo "module vo-build/k8s"
      echo
      sed -n 's/^go \(.*\)/go \1/p' "$mod"
      echo
      echo "require k8s.io/kubernetes $K8S_VERSION"
      echo
      echo "replace ("
      sed -n 's#^\s*\(k8s.io/[a-z0-9-]*\) => ./staging/src/.*#\t\1 => \1 '"$staging"'#p' "$mod"
      echo ")"
    } > "$dir/go.mod.tmp"
    mv "$dir/go.mod.tmp" "$dir/go.mod"
  fi
  local ver="-X k8s.io/component-base/version.gitVersion=$K8S_VERSION"
  ver="$ver -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$(echo "$K8S_VERSION" | cut -d. -f2)"
  ver="$ver -X k8s.io/component-base/version.gitTreeState=clean"
  for cmd in kube-apiserver kube-controller-manager; do
    [ -x "$BIN/$cmd" ] && continue
    log "building $cmd $K8S_VERSION (several minutes on 2 cores)"
    local t0=$SECONDS
    (cd "$dir" && with_progress "$cmd" go build -trimpath -ldflags "-s -w $ver" -o "$BIN/$cmd.tmp" "k8s.io/kubernetes/cmd/$cmd")
    mv "$BIN/$cmd.tmp" "$BIN/$cmd"
    log "built $cmd in $((SECONDS - t0)) s"; echo "$cmd $((SECONDS - t0)) s" >> "$BIN/BUILD_TIMES"
  done
}

# etcd's server module also uses replace directives for its sibling modules.
build_etcd() {
  [ -x "$BIN/etcd" ] && return
  local dir="$WORK/etcd-$ETCD_VERSION"
  mkdir -p "$dir"
  cat > "$dir/go.mod" <<MOD
module vo-build/etcd

go 1.24

require go.etcd.io/etcd/server/v3 $ETCD_VERSION

replace (
	go.etcd.io/etcd/api/v3 => go.etcd.io/etcd/api/v3 $ETCD_VERSION
	go.etcd.io/etcd/client/pkg/v3 => go.etcd.io/etcd/client/pkg/v3 $ETCD_VERSION
	go.etcd.io/etcd/client/v3 => go.etcd.io/etcd/client/v3 $ETCD_VERSION
	go.etcd.io/etcd/pkg/v3 => go.etcd.io/etcd/pkg/v3 $ETCD_VERSION
)
MOD
  log "building etcd $ETCD_VERSION"
  local t0=$SECONDS
  (cd "$dir" && with_progress etcd go build -trimpath -ldflags "-s -w" -o "$BIN/etcd.tmp" go.etcd.io/etcd/server/v3)
  mv "$BIN/etcd.tmp" "$BIN/etcd"
  log "built etcd in $((SECONDS - t0)) s"; echo "etcd $((SECONDS - t0)) s" >> "$BIN/BUILD_TIMES"
}

build_helm() {
  [ -x "$BIN/helm" ] && return
  local dir="$WORK/helm-$HELM_VERSION"
  mkdir -p "$dir"
  printf 'module vo-build/helm\n\ngo 1.24\n\nrequire helm.sh/helm/v3 %s\n' "$HELM_VERSION" > "$dir/go.mod"
  log "building helm $HELM_VERSION"
  local t0=$SECONDS
  (cd "$dir" && with_progress helm go build -trimpath -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" -o "$BIN/helm.tmp" helm.sh/helm/v3/cmd/helm)
  mv "$BIN/helm.tmp" "$BIN/helm"
  log "built helm in $((SECONDS - t0)) s"; echo "helm $((SECONDS - t0)) s" >> "$BIN/BUILD_TIMES"
}

T0=$SECONDS
build_etcd
build_k8s
build_helm
echo "total $((SECONDS - T0)) s on $(nproc) cores, $(date -u +%F)" >> "$BIN/BUILD_TIMES"
printf 'kubernetes %s\netcd %s\nhelm %s\ngo %s\n' "$K8S_VERSION" "$ETCD_VERSION" "$HELM_VERSION" "$(go env GOVERSION)" > "$BIN/VERSIONS"
log "binaries ready in $BIN ($((SECONDS - T0)) s)"
echo "$BIN"
