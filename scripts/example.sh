#!/usr/bin/env bash
# `npm run example`: the README's first command, plinth's main job on the bundled example (the
# blueprint's staging, planned offline: no cluster, no account), on a Node.js plinth runs on.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/node-env.sh
exec bin/plinth plan staging --offline --config examples/blueprint/plinth.config.ts "$@"
