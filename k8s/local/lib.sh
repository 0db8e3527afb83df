#!/usr/bin/env bash
# Shared settings of the local cluster scripts; sourced, never run.
# shellcheck disable=SC2034 # the variables are used by the scripts that source this file

K8S_VERSION=v1.34.12 # the last minor whose kubelet runs on cgroup v1 by default
K8S_STAGING_VERSION=v0.34.12
ETCD_VERSION=v3.6.17
COREDNS_VERSION=v1.15.0

# Binaries are built once per version into a cache outside the checkout, so a fresh clone reuses them.
K8S_CACHE="${K8S_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kafka-order-system/k8s}"
K8S_BIN="$K8S_CACHE/$K8S_VERSION/bin"
# Everything the running cluster owns lives in the checkout's .k8s/ (git-ignored).
K8S_STATE="${K8S_STATE:-$PWD/.k8s}"
K8S_RUN="$K8S_STATE/run"
K8S_LOGS="$K8S_STATE/logs"
KUBECONFIG_FILE="$K8S_STATE/kubeconfig"

# Exit codes of `npm run k8s:local`, one per kind of failure (docs/kubernetes.md lists them).
EXIT_USAGE=64
EXIT_MISSING_TOOL=2
EXIT_PORT_IN_USE=3
EXIT_BUILD_FAILED=4
EXIT_START_FAILED=5
EXIT_INSTALL_FAILED=6

klog() { printf '[k8s:local] %s\n' "$*" >&2; }
kdie() { # exit_code message
  local code=$1
  shift
  printf '[k8s:local] FAIL: %s\n' "$*" >&2
  exit "$code"
}

# The node and its networks. Every port the cluster listens on is in 26000-26999.
NODE_NAME=kos-local
SERVICE_CIDR=10.96.0.0/12
API_SERVICE_IP=10.96.0.1
DNS_SERVICE_IP=10.96.0.10
POD_CIDR=10.244.0.0/24
CNI_BRIDGE=kos0
CNI_NETWORK=kos-local
ETCD_CLIENT_PORT=26379
ETCD_PEER_PORT=26380
API_PORT=26443
KCM_PORT=26257
SCHEDULER_PORT=26259
KUBELET_PORT=26250
KUBELET_HEALTHZ_PORT=26248
PROXY_HEALTHZ_PORT=26256
PROXY_METRICS_PORT=26249
CRI_STREAM_PORT=26010
COREDNS_PORT=26053
COREDNS_HEALTH_PORT=26180
COREDNS_READY_PORT=26181
ALL_PORTS=("$ETCD_CLIENT_PORT" "$ETCD_PEER_PORT" "$API_PORT" "$KCM_PORT" "$SCHEDULER_PORT" "$KUBELET_PORT"
  "$KUBELET_HEALTHZ_PORT" "$PROXY_HEALTHZ_PORT" "$PROXY_METRICS_PORT" "$CRI_STREAM_PORT" "$COREDNS_PORT"
  "$COREDNS_HEALTH_PORT" "$COREDNS_READY_PORT")

PKI="$K8S_STATE/pki"
CONTAINERD_SOCK="$K8S_STATE/containerd/containerd.sock"

# The address of the interface that holds the default route: the kubelet, the kubernetes Service and
# CoreDNS use it, since pods cannot reach the host's loopback.
node_ip() {
  local dev
  dev="$(ip -4 route show default | awk '{ for (i = 1; i < NF; i++) if ($i == "dev") { print $(i + 1); exit } }')"
  [ -n "$dev" ] || kdie "$EXIT_START_FAILED" "no default route: cannot choose the node's address"
  ip -4 -o addr show dev "$dev" scope global | awk '{ split($4, a, "/"); print a[1]; exit }'
}

# Writes stdin to FILE only when it differs from what is there: a running kube-proxy exits when its
# configuration file changes, even to the same content, so a second `up` must leave the files alone.
write_if_changed() { # file
  local file=$1
  cat >"$file.new"
  if [ -f "$file" ] && cmp -s "$file" "$file.new"; then
    rm -f "$file.new"
  else
    mv "$file.new" "$file"
  fi
}

kubectl_local() { "$K8S_BIN/kubectl" --kubeconfig "$KUBECONFIG_FILE" "$@"; }

# Waits for a command to succeed, polling every half second; never sleeps blindly. When the log is a
# daemon's (.k8s/logs/<name>.log, with .k8s/run/<name>.pid), a daemon that exited fails at once.
wait_for() { # timeout_s description log_file command...
  local timeout=$1 what=$2 logfile=$3 pidfile pid
  local deadline=$((SECONDS + timeout))
  shift 3
  pidfile="$K8S_RUN/$(basename "$logfile" .log).pid"
  until "$@" >/dev/null 2>&1; do
    if [ -s "$pidfile" ]; then
      pid="$(cat "$pidfile")"
      if [ ! -d "/proc/$pid" ]; then
        [ -s "$logfile" ] && tail -n 15 "$logfile" >&2
        kdie "$EXIT_START_FAILED" "$(basename "$logfile" .log) exited while we waited for $what (log: $logfile)"
      fi
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      [ -s "$logfile" ] && tail -n 15 "$logfile" >&2
      kdie "$EXIT_START_FAILED" "timed out after $timeout s waiting for $what (log: $logfile)"
    fi
    sleep 0.5
  done
}
