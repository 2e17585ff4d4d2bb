# Sourced by scripts/build-binaries.sh and scripts/build-tools.sh: their one Go build set-up.
# Before sourcing, the script sets GO_BUILD_NAME (its name in progress lines and errors).
# Gives: CACHE ($VO_CACHE, default ~/.cache/version-observer) and WORK ($CACHE/build, the
# throwaway modules); log (one progress line on stderr); with_progress; all_built (the cache
# check); go_build_setup (the `go` check, the output and work directories, GOFLAGS/CGO_ENABLED).
# Only definitions and two variables: nothing runs, nothing is built, when this is sourced.

CACHE="${VO_CACHE:-$HOME/.cache/version-observer}"
WORK="$CACHE/build"

log() { printf '[%s %s] %s\n' "$GO_BUILD_NAME" "$(date +%H:%M:%S)" "$*" >&2; }

# Runs a command, printing a "still building" line every 20 s so a long go build shows progress.
with_progress() {
  local what=$1; shift
  "$@" &
  local pid=$! t0=$SECONDS
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    if kill -0 "$pid" 2>/dev/null && (( (SECONDS - t0) % 20 == 0 )); then log "  still building $what ($((SECONDS - t0)) s)"; fi
  done
  wait "$pid"
}

# True when $1 holds every named executable and its VERSIONS file (a finished build).
# $1 directory, $2... executables
all_built() {
  local dir=$1; shift
  local b
  for b in "$@"; do [ -x "$dir/$b" ] || return 1; done
  [ -f "$dir/VERSIONS" ]
}

# Stops with one line when `go` is missing; else makes $1 and $WORK and fixes the build's flags:
# modules resolved from go.mod as written, no VCS stamp, static binaries.
# $1 output directory, $2 the Go floor named in the error
go_build_setup() {
  command -v go >/dev/null || { echo "$GO_BUILD_NAME: 'go' is not on PATH; install Go >= $2" >&2; exit 1; }
  mkdir -p "$1" "$WORK"
  export GOFLAGS="-mod=mod -buildvcs=false"
  export CGO_ENABLED=0
}
