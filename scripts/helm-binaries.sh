#!/usr/bin/env bash
# The Helm binaries the checks and the local cluster use, built from the Go module proxy into
# .cache/bin (go's build cache, outside the checkout, makes a rebuild quick):
#   helm       Helm 3, the current release
#   helm3-min  the oldest Helm 3 the chart claims (README: Helm 3.18+), so the claim is tested
#   helm4      Helm 4
# Sourced for install_helm and the versions; run as `bash scripts/helm-binaries.sh NAME...` it
# installs the named ones and prints the path of the first.
# shellcheck disable=SC2034 # the versions are read by the scripts that source this file

HELM3_VERSION=v3.22.0
HELM3_MIN_VERSION=v3.18.4
HELM4_VERSION=v4.3.1
HELM_BIN="${HELM_BIN:-$PWD/.cache/bin}"

# install_helm NAME: go install builds helm from source; the version is kept in a marker file so a
# version bump reinstalls.
install_helm() {
  local target=$1 module version
  case "$target" in
    helm) module=helm.sh/helm/v3/cmd/helm version=$HELM3_VERSION ;;
    helm3-min) module=helm.sh/helm/v3/cmd/helm version=$HELM3_MIN_VERSION ;;
    helm4) module=helm.sh/helm/v4/cmd/helm version=$HELM4_VERSION ;;
    *)
      echo "unknown helm binary: $target (helm, helm3-min or helm4)" >&2
      return 64
      ;;
  esac
  if [ -x "$HELM_BIN/$target" ] && [ -e "$HELM_BIN/.$target-$version" ]; then return; fi
  printf -- '--- installing helm %s (go install %s) into %s\n' "$version" "$module" "$HELM_BIN/$target" >&2
  mkdir -p "$HELM_BIN"
  local tmp
  tmp=$(mktemp -d)
  GOBIN="$tmp" GOFLAGS=-buildvcs=false go install -trimpath -ldflags '-s -w' "$module@$version"
  mv "$tmp/helm" "$HELM_BIN/$target"
  rm -rf "$tmp" "$HELM_BIN/.$target-"*
  touch "$HELM_BIN/.$target-$version"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -Eeuo pipefail
  [ $# -gt 0 ] || set -- helm
  for name in "$@"; do install_helm "$name"; done
  echo "$HELM_BIN/$1"
fi
