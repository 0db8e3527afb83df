#!/usr/bin/env bash
# Shared settings of the image scripts; sourced, never run.
# shellcheck disable=SC2034 # the variables are used by the scripts that source this file

IMAGE_CACHE="${IMAGE_CACHE:-$PWD/.cache/image}"
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
