#!/usr/bin/env bash
# `npm test`: the whole suite on a fresh machine, with nothing to install by hand first.
#   1. Node: one older than plinth's floor (22.19) is replaced, for this run, by the pinned Node 24
#      from the npm registry (scripts/node.sh, into .tools/).
#   2. The test bed's prerequisites (testbed/lib/prereqs.ts): missing Debian packages are installed
#      with apt-get when run as root, or named with the exact `sudo apt-get install` line (and the
#      run stops before building anything); Go is checked and the Go modules downloaded.
#   3. Build, type-check, lint, then vitest, whose global setup builds (cached) and starts the test bed.
# TESTBED=off skips step 2 and runs the unit tests only. Arguments go to vitest.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d node_modules ]; then
  echo "[test] no node_modules: run npm ci first (the README's first command)" >&2
  exit 2
fi

node_ok() { node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 22 || (a === 22 && b >= 19) ? 0 : 1)' 2>/dev/null; }
if ! node_ok; then
  echo "[test] Node.js $(node --version 2>/dev/null || echo '(none)') on PATH is older than 22.19: running on the pinned Node.js 24 (scripts/node.sh 24)" >&2
  bin="$(scripts/node.sh 24)"
  export PATH="$bin:$PATH"
  # Native add-ons (ssh2's optional crypto) built from here on match this node, not the system's headers.
  export npm_config_nodedir="${bin%/bin}"
fi
echo "[test] $(node --version) at $(command -v node)" >&2

if [ "${TESTBED:-}" != "off" ]; then
  node --import tsx testbed/testbed.ts setup
fi

npm run build
npm run typecheck
npm run lint
exec npx vitest run "$@"
