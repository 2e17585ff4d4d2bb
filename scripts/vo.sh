#!/usr/bin/env bash
# Entry point for a fresh machine: installs what the project needs (Node 24, npm packages,
# Debian's chromium for the browser tests), then runs an npm script.
#   bash scripts/vo.sh demo      the demo on the embedded local cluster
#   bash scripts/vo.sh test      all tests
#   bash scripts/vo.sh <script>  any npm script (cluster, bench, build, ...)
set -euo pipefail
cd "$(dirname "$0")/.."
phase_start=$SECONDS
say() { printf '[vo %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# shellcheck source=use-node24.sh
source scripts/use-node24.sh
say "node $(node --version) at $(command -v node)"

if [ ! -x /usr/bin/chromium ]; then
  say "installing Debian's chromium (browser tests and the demo drive it headless)"
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; fi
  [ -x /usr/bin/chromium ] || { say "chromium did not install; the browser tests need /usr/bin/chromium"; exit 1; }
fi

# npm ci only when the lockfile changed since the last install.
stamp=node_modules/.vo-lock-hash
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  say "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > "$stamp"
fi
say "setup took $((SECONDS - phase_start)) s"
exec npm run --silent "${1:-test}" -- "${@:2}"
