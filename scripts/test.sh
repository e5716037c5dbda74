#!/usr/bin/env bash
# `npm test`: the whole suite on a fresh machine, with nothing to install by hand first.
#   1. Node: one older than plinth's floor (22.19) is replaced, for this run, by the pinned Node 24
#      from the npm registry (scripts/node-env.sh, scripts/node.sh: into .tools/).
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

. scripts/node-env.sh
echo "[test] $(node --version) at $(command -v node)" >&2

if [ "${TESTBED:-}" != "off" ]; then
  node --import tsx testbed/testbed.ts setup
fi

npm run build
npm run typecheck
npm run lint
exec npx vitest run "$@"
