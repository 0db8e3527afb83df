#!/usr/bin/env bash
# Shared settings of the image scripts; sourced, never run.
# shellcheck disable=SC2034 # the variables are used by the scripts that source this file

# Outside the checkout, so a fresh clone (CI's) reuses the rootfs, the tarballs and the jars.
IMAGE_CACHE="${IMAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kafka-order-system/images}"
mkdir -p "$IMAGE_CACHE"

# crun fails on this kind of machine and the default ulimits cannot be applied
# inside its sandbox: runc plus an empty ulimit list is the combination that works.
PODMAN_CONF="$IMAGE_CACHE/containers.conf"
printf '[containers]\ndefault_ulimits = []\n' >"$PODMAN_CONF"

pm() { CONTAINERS_CONF="$PODMAN_CONF" podman --runtime runc "$@"; }

log() { printf '[image] %s\n' "$*" >&2; }
die() {
  printf '[image] FAIL: %s\n' "$*" >&2
  exit 1
}

# The base image is read from the Dockerfile, so the stand-in can never drift
# from what the Dockerfile asks for.
NODE_IMAGE="$(sed -n 's/^ARG NODE_IMAGE=//p' Dockerfile | head -n 1)"
[[ "$NODE_IMAGE" =~ ^node:([0-9]+\.[0-9]+\.[0-9]+)-([a-z]+)-slim$ ]] ||
  die "Dockerfile: ARG NODE_IMAGE=node:X.Y.Z-SUITE-slim expected, got '$NODE_IMAGE'"
NODE_VERSION="${BASH_REMATCH[1]}"
DEBIAN_SUITE="${BASH_REMATCH[2]}"
BASE_IMAGE_REF="docker.io/library/$NODE_IMAGE"

CONSUMER_IMAGE="${CONSUMER_IMAGE:-localhost/kafka-order-system-consumer:test}"
PRODUCER_IMAGE="${PRODUCER_IMAGE:-localhost/kafka-order-system-producer:test}"

apt_mirror() {
  local uri
  uri="$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)"
  echo "${DEBIAN_MIRROR:-${uri:-http://deb.debian.org/debian}}"
}

# make_rootfs SUITE TARBALL: a Debian SUITE rootfs (debootstrap minbase, trimmed like
# debian:SUITE-slim) cached as TARBALL; debootstrap runs only when TARBALL is missing.
make_rootfs() {
  local suite=$1 rootfs_tar=$2 dir started
  [ -s "$rootfs_tar" ] && return 0
  command -v debootstrap >/dev/null || die "debootstrap is not installed (apt-get install debootstrap)"
  dir="$(mktemp -d "$IMAGE_CACHE/rootfs.XXXXXX")"
  started=$SECONDS
  log "debootstrap --variant=minbase $suite from $(apt_mirror) (about a minute, once)"
  if ! debootstrap --variant=minbase "$suite" "$dir" "$(apt_mirror)" >"$IMAGE_CACHE/debootstrap.log" 2>&1; then
    tail -n 20 "$IMAGE_CACHE/debootstrap.log" >&2
    rm -rf "$dir"
    die "debootstrap failed (log: $IMAGE_CACHE/debootstrap.log)"
  fi
  # What debian:SUITE-slim leaves out (its dpkg path excludes), plus apt's caches.
  rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/cache/apt/*.bin "$dir"/var/lib/apt/lists/* \
    "$dir"/usr/share/doc/* "$dir"/usr/share/man/* "$dir"/usr/share/info/* "$dir"/usr/share/locale/* \
    "$dir"/usr/share/groff/* "$dir"/usr/share/lintian/*
  tar -C "$dir" --numeric-owner -cf "$rootfs_tar.partial" .
  mv "$rootfs_tar.partial" "$rootfs_tar"
  rm -rf "$dir"
  log "rootfs cached: $rootfs_tar ($(du -h "$rootfs_tar" | cut -f1), $((SECONDS - started)) s)"
}
