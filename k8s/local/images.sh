#!/usr/bin/env bash
# The images the local cluster runs, none pulled: the pause image, the project's two images built from
# the Dockerfile, and the Kafka and Apicurio fixtures. Built with podman, then loaded into the
# cluster's containerd under the names the chart asks for. Sourced by cluster.sh.

PAUSE_IMAGE=localhost/kos-local/pause:1.0
APP_TAG="$(sed -n 's/^appVersion: *//p' charts/kafka-order-system/Chart.yaml | tr -d "'\"")"
CONSUMER_REF="docker.io/library/kafka-order-system-consumer:$APP_TAG"
PRODUCER_REF="docker.io/library/kafka-order-system-producer:$APP_TAG"

# The pause container only has to hold the pod's namespaces and exit on a signal: a static Go binary.
build_pause_image() {
  pm image exists "$PAUSE_IMAGE" && return 0
  local work
  work="$(mktemp -d)"
  cat >"$work/main.go" <<'GO'
// pause holds a pod's namespaces until it is told to stop.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	<-stop
}
GO
  (cd "$work" && go mod init pause >/dev/null 2>&1 && CGO_ENABLED=0 GOFLAGS=-buildvcs=false go build -trimpath -ldflags '-s -w' -o pause .) ||
    kdie "$EXIT_BUILD_FAILED" "building the pause binary failed"
  tar -C "$work" -c pause | pm import --change 'ENTRYPOINT ["/pause"]' --change 'USER 65535:65535' --quiet - "$PAUSE_IMAGE" >/dev/null
  rm -rf "$work"
}

build_app_images() {
  bash scripts/image/base-image.sh || kdie "$EXIT_BUILD_FAILED" "building the Node base image failed (see above)"
  local target ref
  for target in consumer producer; do
    ref="$CONSUMER_REF"
    [ "$target" = producer ] && ref="$PRODUCER_REF"
    klog "building $ref (Dockerfile target $target)"
    pm build --pull=never --quiet --target "$target" -t "$ref" . >/dev/null ||
      kdie "$EXIT_BUILD_FAILED" "podman build --target $target failed"
  done
}

# Loads an image into the cluster's containerd unless the same image id is already there.
load_image() { # ref
  local ref=$1 id marker
  id="$(pm image inspect --format '{{.Id}}' "$ref")"
  marker="$K8S_STATE/images/$(echo "$ref" | tr '/:' '__')"
  if [ -s "$marker" ] && [ "$(cat "$marker")" = "$id" ] && ctr_local images ls -q | grep -qxF "$ref"; then
    return 0
  fi
  mkdir -p "$K8S_STATE/images"
  klog "loading $ref into containerd"
  pm save --format docker-archive "$ref" | ctr_local images import - >/dev/null ||
    kdie "$EXIT_BUILD_FAILED" "loading $ref into containerd failed"
  echo "$id" >"$marker"
}
