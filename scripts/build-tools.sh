#!/usr/bin/env bash
# Builds the developer tools the tests lint with — actionlint (GitHub Actions workflows) and
# helm-docs (the chart README's values table) — from their Go modules at pinned versions.
# Kept apart from scripts/build-binaries.sh so that bumping a lint tool never changes the
# control-plane stamp (and never rebuilds kube-apiserver).
# Output: $VO_CACHE/tools/<stamp>/ with a VERSIONS file; reused when present. The Go set-up
# (cache, `go` check, flags, progress lines) is scripts/go-build-env.sh, shared with build-binaries.sh.
# Prints one progress line per step to stderr and the tools directory on stdout.
set -euo pipefail

ACTIONLINT_VERSION="${VO_ACTIONLINT_VERSION:-v1.7.12}"
HELM_DOCS_VERSION="${VO_HELM_DOCS_VERSION:-v1.14.2}"
GO_BUILD_NAME=build-tools
source "$(dirname "${BASH_SOURCE[0]}")/go-build-env.sh"
STAMP="actionlint-${ACTIONLINT_VERSION}_helm-docs-${HELM_DOCS_VERSION}"
TOOLS="$CACHE/tools/$STAMP"

if all_built "$TOOLS" actionlint helm-docs; then
  echo "$TOOLS"; exit 0
fi
go_build_setup "$TOOLS" "1.25 (actionlint's floor)"

# One throwaway module per tool, requiring exactly the pinned version, so `go build` resolves
# that version's own go.sum-checked dependency graph and nothing floats.
# $1 name, $2 module, $3 version, $4 package to build, $5 extra ldflags
build_tool() {
  local name=$1 module=$2 version=$3 pkg=$4 ldflags=$5
  [ -x "$TOOLS/$name" ] && return
  local dir="$WORK/$name-$version"
  mkdir -p "$dir"
  printf 'module vo-build/%s\n\ngo 1.24\n\nrequire %s %s\n' "$name" "$module" "$version" > "$dir/go.mod"
  log "building $name $version"
  local t0=$SECONDS
  (cd "$dir" && go build -trimpath -ldflags "-s -w $ldflags" -o "$TOOLS/$name.tmp" "$pkg")
  mv "$TOOLS/$name.tmp" "$TOOLS/$name"
  log "built $name in $((SECONDS - t0)) s"
}

T0=$SECONDS
build_tool actionlint github.com/rhysd/actionlint "$ACTIONLINT_VERSION" github.com/rhysd/actionlint/cmd/actionlint \
  "-X github.com/rhysd/actionlint.version=$ACTIONLINT_VERSION"
build_tool helm-docs github.com/norwoodj/helm-docs "$HELM_DOCS_VERSION" github.com/norwoodj/helm-docs/cmd/helm-docs \
  "-X main.version=$HELM_DOCS_VERSION"
printf 'actionlint %s\nhelm-docs %s\ngo %s\n' "$ACTIONLINT_VERSION" "$HELM_DOCS_VERSION" "$(go env GOVERSION)" > "$TOOLS/VERSIONS"
log "tools ready in $TOOLS ($((SECONDS - T0)) s)"
echo "$TOOLS"
