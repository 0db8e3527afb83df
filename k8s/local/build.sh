#!/usr/bin/env bash
# Builds the local cluster's binaries from the Go module proxy into $K8S_BIN, once per version:
# etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubelet, kube-proxy, kubectl and
# CoreDNS. Only what is missing is built.
#
# k8s.io/kubernetes cannot be `go install`ed: its go.mod replaces the staging repos (k8s.io/api, ...)
# with ./staging. A wrapper module requires it and replaces each staging repo with its published
# v0.x.y instead. etcd's server module has replace directives of the same kind, so it gets a wrapper
# too. The version ldflags make the servers report their real version (Helm's kubeVersion check
# reads it).
set -Eeuo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=k8s/local/lib.sh
source k8s/local/lib.sh

command -v go >/dev/null || kdie "$EXIT_MISSING_TOOL" "go is not installed (the Go toolchain builds the cluster's binaries)"

K8S_BINARIES=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl)
missing=()
for b in etcd coredns "${K8S_BINARIES[@]}"; do [ -x "$K8S_BIN/$b" ] || missing+=("$b"); done
if [ ${#missing[@]} -eq 0 ]; then
  klog "binaries $K8S_VERSION present in $K8S_BIN"
  exit 0
fi

mkdir -p "$K8S_BIN" "$K8S_CACHE/logs"
build_log="$K8S_CACHE/logs/build-$K8S_VERSION.log"
klog "building ${missing[*]} (about 15-25 min on 2 cores, once; log: $build_log)"
export CGO_ENABLED=0 GOFLAGS=-buildvcs=false GOTOOLCHAIN=local
# Builds run at the lowest priority so the machine stays usable meanwhile.
gobuild() { nice -n 19 go build -trimpath "$@" >>"$build_log" 2>&1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

needs() { [[ " ${missing[*]} " == *" $1 "* ]]; }

if needs etcd; then
  mkdir -p "$work/etcd"
  (
    cd "$work/etcd"
    go mod init kos-local-etcd >>"$build_log" 2>&1
    go mod edit -require="go.etcd.io/etcd/server/v3@$ETCD_VERSION"
    printf 'package main\n\nimport _ "go.etcd.io/etcd/server/v3"\n' >tools.go
    go mod tidy >>"$build_log" 2>&1
    gobuild -ldflags '-s -w' -o "$K8S_BIN/etcd.partial" go.etcd.io/etcd/server/v3
  ) || kdie "$EXIT_BUILD_FAILED" "building etcd $ETCD_VERSION failed (log: $build_log)"
  mv "$K8S_BIN/etcd.partial" "$K8S_BIN/etcd"
  klog "built etcd $ETCD_VERSION"
fi

k8s_missing=()
for b in "${K8S_BINARIES[@]}"; do needs "$b" && k8s_missing+=("$b"); done
if [ ${#k8s_missing[@]} -gt 0 ]; then
  mkdir -p "$work/k8s"
  (
    cd "$work/k8s"
    curl -fsS "$(go env GOPROXY | cut -d, -f1)/k8s.io/kubernetes/@v/$K8S_VERSION.mod" >upstream.mod
    {
      echo "module kos-local-k8s"
      echo
      sed -n 's/^go \(.*\)$/go \1/p' upstream.mod | head -n 1
      # godebug applies only in the main module, so it is copied from k8s.io/kubernetes.
      sed -n 's/^godebug .*/&/p' upstream.mod
      echo
      echo "require k8s.io/kubernetes $K8S_VERSION"
      echo
      echo "replace ("
      sed -n "s|^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/.*|\t\1 => \1 $K8S_STAGING_VERSION|p" upstream.mod
      echo ")"
    } >go.mod
    {
      echo '//go:build tools'
      echo
      echo 'package tools'
      echo
      echo 'import ('
      for b in "${K8S_BINARIES[@]}"; do echo "	_ \"k8s.io/kubernetes/cmd/$b\""; done
      echo ')'
    } >tools.go
    go mod tidy >>"$build_log" 2>&1
    now="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    ldflags="-s -w"
    for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
      minor="${K8S_VERSION#v1.}"
      ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=${minor%%.*}"
      ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$now"
    done
    for b in "${k8s_missing[@]}"; do
      started=$SECONDS
      gobuild -ldflags "$ldflags" -o "$K8S_BIN/$b.partial" "k8s.io/kubernetes/cmd/$b" ||
        { echo "building $b failed" >>"$build_log"; exit 1; }
      mv "$K8S_BIN/$b.partial" "$K8S_BIN/$b"
      klog "built $b $K8S_VERSION ($((SECONDS - started)) s)"
    done
  ) || kdie "$EXIT_BUILD_FAILED" "building Kubernetes $K8S_VERSION failed (log: $build_log)"
fi

if needs coredns; then
  started=$SECONDS
  GOBIN="$work/coredns-bin" nice -n 19 go install -trimpath -ldflags '-s -w' \
    "github.com/coredns/coredns@$COREDNS_VERSION" >>"$build_log" 2>&1 ||
    kdie "$EXIT_BUILD_FAILED" "building CoreDNS $COREDNS_VERSION failed (log: $build_log)"
  mv "$work/coredns-bin/coredns" "$K8S_BIN/coredns"
  klog "built coredns $COREDNS_VERSION ($((SECONDS - started)) s)"
fi
klog "binaries $K8S_VERSION present in $K8S_BIN"
