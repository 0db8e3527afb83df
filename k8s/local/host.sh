#!/usr/bin/env bash
# What the local cluster changes on the host, recorded before `up` changes it and undone by `down`.
# The kubelet sets kernel sysctls, the bridge plugin turns on forwarding, kube-proxy, the kubelet
# and the CNI plugins add KUBE-* and CNI-* iptables chains, and the kubelet, containerd and libcni
# use a few fixed paths outside .k8s. Sourced by cluster.sh.

HOST_BEFORE="$K8S_STATE/host-before"
# The kubelet's (pkg/kubelet/cm/container_manager_linux.go: setupKernelTunables), kube-proxy's and the bridge plugin's.
TOUCHED_SYSCTLS=(kernel.panic kernel.panic_on_oops vm.overcommit_memory vm.panic_on_oom kernel.keys.root_maxkeys
  kernel.keys.root_maxbytes net.ipv4.ip_forward net.ipv4.conf.all.route_localnet net.bridge.bridge-nf-call-iptables
  net.bridge.bridge-nf-call-ip6tables)
# Fixed paths of the kubelet, containerd and libcni (the rest lives under .k8s).
FIXED_PATHS=(/var/lib/kubelet /var/log/containers /var/log/pods /run/containerd /var/lib/cni/results
  "/var/lib/cni/networks/$CNI_NETWORK" /run/netns)
CGROUP_TREES=(kubepods k8s.io)
TABLES=(filter nat mangle raw)

# One table's user chains and rules (the default ACCEPT policies of built-in chains are left out, so an
# empty table that a listing loaded reads as no table at all).
rules() { # iptables|ip6tables table
  { "$1" -t "$2" -S 2>/dev/null || true; } | { grep -vE '^-P [A-Z]+ ACCEPT$' || true; }
}

sysctl_value() { sysctl -n "$1" 2>/dev/null || echo absent; }

# The parts of the host state `down` must leave as they were (also what the tests compare).
host_state() {
  local s t
  for s in "${TOUCHED_SYSCTLS[@]}"; do echo "sysctl $s=$(sysctl_value "$s")"; done
  for t in iptables ip6tables; do
    for table in "${TABLES[@]}"; do rules "$t" "$table" | sed "s/^/$t $table /"; done
  done
  ip -o link show | awk -F': ' '{ print "link " $2 }' | sed 's/@.*//' | grep -E "^link ($CNI_BRIDGE|veth)" || true
  { ip netns list 2>/dev/null || true; } | awk '{ print "netns " $1 }'
  awk '{ print $2 }' /proc/mounts |
    grep -E "^($K8S_STATE/|/var/lib/kubelet|/run/containerd|/run/netns/)" | sed 's/^/mount /' || true
  for p in "${FIXED_PATHS[@]}"; do [ -e "$p" ] && echo "path $p"; done
  for t in "${CGROUP_TREES[@]}"; do
    for d in /sys/fs/cgroup/*/"$t" /sys/fs/cgroup/"$t"; do [ -d "$d" ] && echo "cgroup $d"; done
  done
  return 0
}

# Recorded once, before the first `up` changes anything (after clearing a dead cluster's leftovers); kept
# until `down` has undone it all.
record_host() {
  if [ -s "$HOST_BEFORE" ]; then
    [ "$(marker_owner)" = "$(owner_fact)" ] || write_marker
    return 0
  fi
  clear_dead_cluster up
  mkdir -p "$K8S_STATE"
  host_state >"$HOST_BEFORE.partial"
  mv "$HOST_BEFORE.partial" "$HOST_BEFORE"
  write_marker
}

# Deletes TOOL's rules that match PATTERN and are not in RECORD, last first, then the chains that match
# CHAINS: KUBE-* ones, and CNI-* ones left empty. A rule or chain in RECORD stays, so a chain another tool
# (podman) had made before up is kept.
remove_rules() { # iptables|ip6tables pattern record [chains]
  local tool=$1 pattern=$2 record=$3 chains=${4:-^(KUBE|CNI)-} table line chain
  for table in "${TABLES[@]}"; do
    while read -r line; do
      grep -qxF "$tool $table $line" "$record" && continue
      eval "$tool -t $table -D ${line#-A }" 2>/dev/null || true
    done < <(rules "$tool" "$table" | grep -E '^-A ' | grep -E -- "$pattern" | tac)
    while read -r chain; do
      grep -qxF "$tool $table -N $chain" "$record" && continue
      [[ $chain == CNI-* ]] && rules "$tool" "$table" | grep "^-A $chain " >/dev/null && continue
      "$tool" -t "$table" -X "$chain" 2>/dev/null || true
    done < <(rules "$tool" "$table" | awk '$1 == "-N" { print $2 }' | { grep -E -- "$chains" || true; })
  done
}

# The rules `down` removes when they were not there before up: KUBE-*, CNI-*, our bridge's, the pod network's.
POD_NET_RULE="(^|[^0-9.])${POD_CIDR%.*}."
POD_NET_RULE="${POD_NET_RULE//./\\.}"
OUR_RULES="(KUBE|CNI)-|$CNI_BRIDGE|$POD_NET_RULE"

# Undoes what the cluster changed, comparing with the record; prints what could not be restored.
restore_host() {
  [ -s "$HOST_BEFORE" ] || return 0
  local line name value p m
  while read -r line; do
    name="${line#sysctl }"
    value="${name#*=}"
    name="${name%%=*}"
    [ "$value" = absent ] && continue
    [ "$(sysctl_value "$name")" = "$value" ] || sysctl -qw "$name=$value" || true
  done < <(grep '^sysctl ' "$HOST_BEFORE")
  if [ -x "$K8S_BIN/kube-proxy" ]; then
    "$K8S_BIN/kube-proxy" --cleanup >>"$K8S_LOGS/kube-proxy.log" 2>&1 || true
  fi
  remove_rules iptables "$OUR_RULES" "$HOST_BEFORE"
  remove_rules ip6tables "$OUR_RULES" "$HOST_BEFORE"
  for name in $(ip netns list 2>/dev/null | awk '{ print $1 }'); do
    grep -qx "netns $name" "$HOST_BEFORE" || ip netns delete "$name" 2>/dev/null || true
  done
  ip link show "$CNI_BRIDGE" >/dev/null 2>&1 && ip link delete "$CNI_BRIDGE"
  # Mounts under our state and the fixed paths, innermost first.
  while read -r m; do
    grep -qx "mount $m" "$HOST_BEFORE" && continue
    case "$m" in
      "$K8S_STATE"/* | /var/lib/kubelet/* | /run/containerd/* | /run/netns/*) umount -l "$m" 2>/dev/null || true ;;
    esac
  done < <(awk '{ print $2 }' /proc/mounts | sort -r)
  for p in "${FIXED_PATHS[@]}"; do
    grep -qx "path $p" "$HOST_BEFORE" || rm -rf "$p"
  done
  for t in "${CGROUP_TREES[@]}"; do
    for p in /sys/fs/cgroup/*/"$t" /sys/fs/cgroup/"$t"; do
      [ -d "$p" ] || continue
      grep -qx "cgroup $p" "$HOST_BEFORE" && continue
      find "$p" -depth -type d -exec rmdir {} + 2>/dev/null || true
    done
  done
  remove_marker
  local left
  left="$(diff <(sort "$HOST_BEFORE") <(host_state | sort) || true)"
  if [ -n "$left" ]; then
    klog "the host differs from before up:"
    printf '%s\n' "$left" >&2
    return 1
  fi
  rm -f "$HOST_BEFORE"
}
