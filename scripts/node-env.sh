# Sourced by the README's commands (scripts/example.sh, scripts/test.sh): makes sure the `node` on
# PATH is one plinth runs on (22.19 or later). An older one (Debian's images ship 20) is replaced,
# for this run only, by the pinned Node.js 24 from the npm registry (scripts/node.sh), and says so.
node_ok() {
  node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 22 || (a === 22 && b >= 19) ? 0 : 1)' 2>/dev/null
}
if ! node_ok; then
  echo "[plinth] Node.js $(node --version 2>/dev/null || echo '(none)') on PATH is older than 22.19: running on the pinned Node.js 24 (scripts/node.sh 24)" >&2
  node_bin="$("$(dirname "${BASH_SOURCE[0]}")/node.sh" 24)"
  export PATH="$node_bin:$PATH"
  # Native add-ons (ssh2's optional crypto) built from here on match this node, not the system's headers.
  export npm_config_nodedir="${node_bin%/bin}"
fi
