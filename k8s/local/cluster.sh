#!/usr/bin/env bash
# npm run k8s:local -- up|down|status
#
# A single-node Kubernetes cluster on this machine, without Docker: etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler, containerd (runc) with the kubelet, kube-proxy (iptables)
# and CoreDNS, all built from source (k8s/local/build.sh) and run as host processes by pid file.
#   up      builds what is missing, starts the cluster (idempotent), loads the images and installs
#           the chart as release `orders` in namespace `orders` with an in-cluster Kafka and Apicurio
#           Registry; --no-install stops after the cluster.
#   down    stops every process it started and undoes its changes to the host (and what a cluster killed
#           without down left: k8s/local/dead-cluster.sh).
#   status  what runs, the node and the pods.
# kubeconfig: .k8s/kubeconfig. Logs: .k8s/logs/<component>.log. Exit codes: k8s/local/lib.sh.
set -Eeuo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=k8s/local/lib.sh
source k8s/local/lib.sh
# shellcheck source=k8s/local/daemons.sh
source k8s/local/daemons.sh
# shellcheck source=k8s/local/pki.sh
source k8s/local/pki.sh
# shellcheck source=k8s/local/host.sh
source k8s/local/host.sh
# shellcheck source=k8s/local/dead-cluster.sh
source k8s/local/dead-cluster.sh
# shellcheck source=scripts/image/lib.sh
source scripts/image/lib.sh
# shellcheck source=k8s/local/images.sh
source k8s/local/images.sh
# shellcheck source=k8s/local/components.sh
source k8s/local/components.sh
# shellcheck source=k8s/local/release.sh
source k8s/local/release.sh

# The daemons in start order; down stops them in reverse.
DAEMONS=(etcd kube-apiserver kube-controller-manager kube-scheduler containerd kubelet kube-proxy coredns)
daemon_binary() {
  case "$1" in
    containerd) echo /usr/bin/containerd ;;
    *) echo "$K8S_BIN/$1" ;;
  esac
}

require_tools() {
  local missing=() tool
  for tool in containerd ctr runc iptables ip6tables ip ss openssl curl podman debootstrap go node mvn python3; do
    command -v "$tool" >/dev/null || missing+=("$tool")
  done
  for tool in bridge host-local portmap loopback; do
    [ -x "/usr/lib/cni/$tool" ] || missing+=("cni-plugin:$tool")
  done
  local jdk="${FIXTURE_JDK:-/usr/lib/jvm/temurin-25-jdk-amd64}"
  [ -x "$jdk/bin/jlink" ] || missing+=("a JDK >= 21 with jlink at $jdk (set FIXTURE_JDK)")
  [ ${#missing[@]} -eq 0 ] || kdie "$EXIT_MISSING_TOOL" "missing: ${missing[*]} (bash .ci/install-system-packages.sh installs the Debian packages; Go, Node 22+, Maven, Python 3 and the JDK come with the machine)"
  [ "$(id -u)" = 0 ] || kdie "$EXIT_MISSING_TOOL" "the local cluster needs root (it runs the kubelet, containerd and iptables)"
}

# A port held by something that is not one of our running daemons stops `up` before anything starts.
check_ports() {
  local running=0 d port
  for d in "${DAEMONS[@]}"; do [ -n "$(daemon_pid "$d" "$(daemon_binary "$d")")" ] && running=1; done
  [ "$running" = 1 ] && return 0
  for port in "${ALL_PORTS[@]}"; do
    port_taken "$port" && kdie "$EXIT_PORT_IN_USE" "port $port is in use ($(ss -Hltnp "sport = :$port" | awk '{ print $NF }' | head -n 1)); the local cluster needs 26000-26999"
  done
  return 0
}

cmd_up() {
  local install=true arg ip started=$SECONDS
  for arg in "$@"; do
    case "$arg" in
      --no-install) install=false ;;
      *) kdie "$EXIT_USAGE" "unknown argument: $arg (usage: up [--no-install])" ;;
    esac
  done
  require_tools
  check_ports
  bash k8s/local/build.sh
  ip="$(node_ip)"
  mkdir -p "$K8S_STATE" "$K8S_RUN" "$K8S_LOGS"
  record_host
  ensure_pki "$ip"
  start_etcd
  start_apiserver "$ip"
  start_controllers
  start_containerd
  build_pause_image
  load_image "$PAUSE_IMAGE"
  start_kubelet "$ip"
  start_kube_proxy
  start_coredns "$ip"
  klog "cluster ready in $((SECONDS - started)) s: kubectl --kubeconfig $KUBECONFIG_FILE get nodes"
  if [ "$install" = true ]; then
    build_app_images
    bash k8s/local/fixture-images.sh ||
      kdie "$EXIT_BUILD_FAILED" "building the Kafka and Apicurio images failed (see above; caches in $IMAGE_CACHE)"
    local ref
    for ref in "$CONSUMER_REF" "$PRODUCER_REF" "${FIXTURE_IMAGES[@]}"; do load_image "$ref"; done
    install_release
    klog "release orders installed in $((SECONDS - started)) s: kubectl --kubeconfig $KUBECONFIG_FILE -n orders get pods"
  fi
}

# Pods first, through the API, so the kubelet tears their sandboxes down (network included); then the
# daemons in reverse order; then whatever is left of containers, mounts and host changes.
cmd_down() {
  local pid dead=true
  if [ -n "$(daemon_pid kube-apiserver "$K8S_BIN/kube-apiserver")" ] &&
    [ -n "$(daemon_pid kubelet "$K8S_BIN/kubelet")" ]; then
    dead=false
    stop_daemon kube-controller-manager "$K8S_BIN/kube-controller-manager"
    stop_daemon kube-scheduler "$K8S_BIN/kube-scheduler"
    kubectl_local delete pods --all --all-namespaces --grace-period=0 --force --wait=false >/dev/null 2>&1 || true
    local deadline=$((SECONDS + 60))
    while [ "$SECONDS" -lt "$deadline" ] && [ -n "$(ctr_local tasks ls -q 2>/dev/null)" ]; do sleep 0.5; done
  fi
  local i
  for ((i = ${#DAEMONS[@]} - 1; i >= 0; i--)); do
    if [ "${DAEMONS[$i]}" = containerd ] && [ -n "$(daemon_pid containerd /usr/bin/containerd)" ]; then
      for pid in $(ctr_local tasks ls -q 2>/dev/null); do ctr_local tasks kill -s SIGKILL "$pid" >/dev/null 2>&1 || true; done
      for pid in $(ctr_local tasks ls -q 2>/dev/null); do ctr_local tasks delete -f "$pid" >/dev/null 2>&1 || true; done
      for pid in $(ctr_local containers ls -q 2>/dev/null); do ctr_local containers delete "$pid" >/dev/null 2>&1 || true; done
    fi
    stop_daemon "${DAEMONS[$i]}" "$(daemon_binary "${DAEMONS[$i]}")"
  done
  # Shims outlive containerd by design; ours are the ones bound to our socket.
  for pid in $(pgrep -f "containerd-shim.* -address $CONTAINERD_SOCK" || true); do kill -KILL "$pid" 2>/dev/null || true; done
  local port
  port="$(taken_port)"
  if [ -n "$port" ]; then
    # kube-proxy --cleanup and the chains are global: restoring now would break the cluster that holds the
    # port. The record stays for a later down.
    kdie "$EXIT_PORT_IN_USE" "port $port is still in use ($(ss -Hltnp "sport = :$port" | awk '{ print $NF }' | head -n 1)): another local cluster is up, or a daemon of this one that down does not recognise (started with other binaries than $K8S_BIN); the host is left as it is until it stops"
  fi
  # A cluster that was not running when down began died without it (or never finished up): what its
  # processes left, containers that outlived their shims included, is cleared first. Without a record, this
  # checkout's cluster never ran or was undone: what is left is another's dead cluster's.
  if [ "$dead" = true ] || [ ! -s "$HOST_BEFORE" ]; then clear_dead_cluster down; fi
  restore_host || kdie "$EXIT_START_FAILED" "down could not restore the host completely (see above)"
  # The cluster's runtime state goes; the PKI, the binaries and containerd's images stay for the next up.
  rm -rf "$K8S_STATE/etcd" "$K8S_STATE/kubelet" "$K8S_STATE/containerd/state" "$K8S_STATE/cni/ipam" \
    "$K8S_STATE/pod-logs" "$K8S_STATE/apiserver" "$K8S_RUN"
  klog "down: no process, mount, iptables chain or sysctl change of the cluster is left"
}

cmd_status() {
  local d pid state=0
  for d in "${DAEMONS[@]}"; do
    pid="$(daemon_pid "$d" "$(daemon_binary "$d")")"
    if [ -n "$pid" ]; then printf '%-24s running (pid %s)\n' "$d" "$pid"; else
      printf '%-24s stopped\n' "$d"
      state=1
    fi
  done
  printf '%-24s %s\n' kubeconfig "$KUBECONFIG_FILE" logs "$K8S_LOGS" binaries "$K8S_BIN"
  if [ "$state" = 0 ]; then
    kubectl_local get nodes -o wide
    kubectl_local get pods --all-namespaces
  fi
  return "$state"
}

case "${1:-}" in
  up) shift && cmd_up "$@" ;;
  down) cmd_down ;;
  status) cmd_status ;;
  # What down must leave as up found it (the tests compare it with .k8s/host-before).
  host-state) host_state ;;
  *) kdie "$EXIT_USAGE" "usage: npm run k8s:local -- up [--no-install]|down|status" ;;
esac
