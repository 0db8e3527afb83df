#!/usr/bin/env bash
# A cluster killed without `down`, and the marker that lets the next `up` undo what it left.
#
# When every process of a cluster is killed (a CI runner that kills what a finished job left, an OOM kill,
# a checkout deleted while its cluster ran), the kernel keeps what they made: pod network namespaces, the
# bridge, KUBE-* chains, mounts, cgroups, changed sysctls, and containers that outlive their shims. The next
# `up` would record all that as the host's own state; `down` would then remove it (kube-proxy --cleanup is
# global) and report the host changed. So `up` clears a dead cluster's leftovers before it records the host,
# and `down` of a dead cluster, or without a record, clears them too.
#
# Two degrees of certainty:
# - Always ours, in any checkout: network namespaces of the kos-local network (a veth on kos0, or a CNI
#   result of kos-local naming them) and what runs in them, the kos0 bridge and its links, CNI rules naming
#   our bridge or network, the mounts and shims of a .k8s/ state folder, and the kos-local network's CNI files.
# - Ours only when the marker says a cluster of ours was up and none is now: KUBE-* chains, the kubelet's (and
#   containerd's k8s.io) cgroups and what runs in them, the fixed paths that were absent before up, the
#   sysctls, and the mounts and shims of the marker's state folder wherever it is. The marker is an iptables
#   chain, so it lives exactly where the chains it vouches for live, survives the processes and goes with a
#   reboot; its rules carry what the record said of the sysctls and of the fixed paths absent before up.
# Sourced by cluster.sh, after host.sh.

MARKER_CHAIN=KOS-LOCAL
# Kubernetes node processes of other distributions (kubeadm, k3s, microk8s), by the name the kernel shows.
NODE_PROCESS_NAMES=(kubelet kube-proxy k3s-server k3s-agent kubelite)

# The marker's first fact: whose cluster it is (an iptables comment holds at most 255 bytes).
owner_fact() {
  local fact="owner $K8S_STATE"
  echo "${fact:0:250}"
}

# Writes the marker from the record: one RETURN rule per fact, each fact in its comment.
write_marker() {
  local fact p
  iptables -w -t filter -N "$MARKER_CHAIN" 2>/dev/null || iptables -w -t filter -F "$MARKER_CHAIN"
  while read -r fact; do
    iptables -w -t filter -A "$MARKER_CHAIN" -m comment --comment "$fact" -j RETURN ||
      kdie "$EXIT_START_FAILED" "could not write the marker chain $MARKER_CHAIN"
  done < <(
    owner_fact
    grep '^sysctl ' "$HOST_BEFORE"
    for p in "${FIXED_PATHS[@]}"; do grep -qxF "path $p" "$HOST_BEFORE" || echo "absent $p"; done
  )
}

# The marker's facts, one per line; nothing without a marker.
marker_facts() {
  { iptables -w -t filter -S "$MARKER_CHAIN" 2>/dev/null || true; } |
    sed -n 's/^-A [^ ]* -m comment --comment "\{0,1\}\(.*[^"]\)"\{0,1\} -j RETURN$/\1/p'
}

# The marker's owner fact, or nothing.
marker_owner() {
  local facts
  facts="$(marker_facts)"
  echo "${facts%%$'\n'*}"
}

remove_marker() {
  iptables -w -t filter -F "$MARKER_CHAIN" 2>/dev/null || return 0
  iptables -w -t filter -X "$MARKER_CHAIN" 2>/dev/null || true
}

# Pids of processes with one of NAMES that share this host's network namespace (kind's nodes have their own).
host_processes() { # name...
  local name pid own
  own="$(readlink /proc/self/ns/net)"
  for name in "$@"; do
    for pid in $(pgrep -x "$name" || true); do
      [ "$(readlink "/proc/$pid/ns/net" 2>/dev/null)" = "$own" ] && echo "$pid"
    done
  done
  return 0
}

# SIGKILL to each pid (never 0, 1 or this shell), then up to 10 s for those to be gone. Prints how many it killed.
kill_all() { # pid...
  local p killed=() deadline=$((SECONDS + 10))
  for p in "$@"; do
    if [[ $p =~ ^[0-9]+$ ]] && [ "$p" -gt 1 ] && [ "$p" != $$ ] && kill -KILL "$p" 2>/dev/null; then
      killed+=("$p")
    fi
  done
  for p in "${killed[@]}"; do
    while alive "$p" && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.1; done
  done
  echo "${#killed[@]}"
}

# Whether a network namespace is one of our pods': a kos-local CNI result names it, or its veth's host end is
# on our bridge. (The pod CIDR alone would not do: flannel's first range is the same.)
ours_netns() { # name
  local peer
  grep -lsF "netns/$1\"" /var/lib/cni/results/"$CNI_NETWORK"-* >/dev/null && return 0
  for peer in $(ip -n "$1" -o link show type veth 2>/dev/null | sed -n 's/^[0-9]*: [^@]*@if\([0-9]*\):.*/\1/p'); do
    ip -o link show 2>/dev/null | grep -E "^$peer: .* master $CNI_BRIDGE " >/dev/null && return 0
  done
  return 1
}

# Our pods' network namespaces.
pod_netns() {
  local ns
  for ns in $({ ip netns list 2>/dev/null || true; } | awk '{ print $1 }'); do
    if ours_netns "$ns"; then echo "$ns"; fi
  done
}

# The processes in the kubelet's cgroups, and in containerd's k8s.io ones unless another containerd may own them.
cgroup_processes() { # containerd_runs
  local trees=(kubepods) t d
  [ "$1" = false ] && trees+=(k8s.io)
  for t in "${trees[@]}"; do
    for d in /sys/fs/cgroup/*/"$t" /sys/fs/cgroup/"$t"; do
      if [ -d "$d" ]; then find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null || true; fi
    done
  done | sort -un
}

# Removes from iptables and ip6tables the rules that match the regex and the chains matching CHAINS they
# leave (remove_rules with an empty record); prints how many rules and chains matched, in every table.
clear_rules() { # regex chains
  local tool table n=0
  for tool in iptables ip6tables; do
    for table in "${TABLES[@]}"; do n=$((n + $(rules "$tool" "$table" | grep -cE -- "$1" || true))); done
    remove_rules "$tool" "$1" /dev/null "$2"
  done
  echo "$n"
}

# Unmounts, innermost first, the mounts whose path matches the regex; prints how many.
unmount_matching() { # regex
  local m n=0
  while read -r m; do
    umount -l "$m" 2>/dev/null && n=$((n + 1))
  done < <(awk '{ print $2 }' /proc/mounts | { grep -E "$1" || true; } | sort -r)
  echo "$n"
}

# Clears what a cluster killed without `down` left on the host; a no-op on a clean host. It refuses (up) or
# leaves the host alone (down) while another cluster's node process runs in the host's network namespace, or
# while a port of ours is taken (the marker's cluster is then alive).
clear_dead_cluster() { # up|down
  local live port cleared=() pids=() facts owner n ns link fact p t containerd_runs=false
  live="$(host_processes "${NODE_PROCESS_NAMES[@]}" | tr '\n' ' ')"
  if [ -n "$live" ]; then
    [ "$1" = up ] && kdie "$EXIT_START_FAILED" "a node process of another cluster (kubelet, kube-proxy, k3s or microk8s) runs on this host (pid ${live% }): the local cluster would share its iptables chains and cgroups"
    klog "a node process of another cluster runs on this host (pid ${live% }): leftovers of a dead local cluster, if any, stay"
    return 0
  fi
  port="$(taken_port)"
  if [ -n "$port" ]; then
    klog "port $port is in use: a local cluster is up elsewhere, and what is on the host is its own"
    return 0
  fi
  facts="$(marker_facts)"
  owner="$(marker_owner)"
  owner="${owner#owner }"

  # Always ours: shims bound to a .k8s/ socket (or to the marker's folder's), then what runs in our pods'
  # network namespaces.
  mapfile -t pids < <({
    pgrep -f 'containerd-shim[^ ]* .*-address [^ ]*/[.]k8s/containerd/containerd[.]sock' || true
    if [ -n "$owner" ]; then pgrep -f -- "containerd-shim[^ ]* .*-address $owner/containerd/containerd.sock" || true; fi
  } | sort -un)
  n="$(kill_all "${pids[@]}")"
  [ "$n" -gt 0 ] && cleared+=("$n shims")
  n=0
  for ns in $(pod_netns); do
    mapfile -t pids < <(ip netns pids "$ns" 2>/dev/null || true)
    kill_all "${pids[@]}" >/dev/null
    # Deleting one end of a veth deletes both at once; the namespace's own teardown would be asynchronous.
    for link in $(ip -n "$ns" -o link show type veth 2>/dev/null | awk -F': ' '{ print $2 }' | sed 's/@.*//'); do
      ip -n "$ns" link delete "$link" 2>/dev/null || true
    done
    ip netns delete "$ns" 2>/dev/null && n=$((n + 1))
  done
  [ "$n" -gt 0 ] && cleared+=("$n pod network namespaces")
  if ip link show "$CNI_BRIDGE" >/dev/null 2>&1; then
    for link in $(ip -o link show master "$CNI_BRIDGE" | awk -F': ' '{ print $2 }' | sed 's/@.*//'); do
      ip link delete "$link" 2>/dev/null || true
    done
    ip link delete "$CNI_BRIDGE" && cleared+=("link $CNI_BRIDGE")
  fi
  local state_mounts='^/.*/[.]k8s/(kubelet|containerd)/'
  [ -n "$owner" ] && state_mounts+="|^${owner//./[.]}/(kubelet|containerd)/"
  n="$(unmount_matching "$state_mounts")"
  [ "$n" -gt 0 ] && cleared+=("$n mounts of a .k8s/ folder")
  rm -rf "/var/lib/cni/networks/$CNI_NETWORK" /var/lib/cni/results/"$CNI_NETWORK"-*
  # Other shims still running belong to a containerd that may own /run/containerd and the k8s.io cgroups (the
  # ones just killed may linger as zombies until init reaps them).
  for p in $(host_processes containerd) $(pgrep -f 'containerd-shim' || true); do
    alive "$p" && containerd_runs=true
  done

  if [ -z "$facts" ]; then
    n="$(clear_rules "$CNI_BRIDGE|$CNI_NETWORK" '^CNI-')"
    [ "$n" -gt 0 ] && cleared+=("$n CNI rules")
  else
    # The marker's cluster is dead: the rest is its too.
    mapfile -t pids < <(cgroup_processes "$containerd_runs")
    n="$(kill_all "${pids[@]}")"
    [ "$n" -gt 0 ] && cleared+=("$n processes in the kubelet's cgroups")
    n="$(clear_rules "KUBE-|$CNI_BRIDGE|$CNI_NETWORK|$POD_NET_RULE" '^(KUBE|CNI)-')"
    [ "$n" -gt 0 ] && cleared+=("$n iptables rules and chains")
    # Whatever kube-proxy keeps beyond the KUBE-* chains (its IPVS or nftables state, when so configured).
    [ -x "$K8S_BIN/kube-proxy" ] && { "$K8S_BIN/kube-proxy" --cleanup >/dev/null 2>&1 || true; }
    local mounts='^(/var/lib/kubelet/'
    [ "$containerd_runs" = false ] && mounts+='|/run/containerd/'
    n="$(unmount_matching "$mounts)")"
    [ "$n" -gt 0 ] && cleared+=("$n mounts of the kubelet and containerd")
    n=0
    while read -r fact; do
      case "$fact" in
        sysctl\ *=*)
          p="${fact#sysctl }"
          [ "${p#*=}" = absent ] || [ "$(sysctl_value "${p%%=*}")" = "${p#*=}" ] || { sysctl -qw "$p" && n=$((n + 1)); }
          ;;
        absent\ *)
          p="${fact#absent }"
          [ "$p" = /run/containerd ] && [ "$containerd_runs" = true ] && continue
          [ -e "$p" ] && rm -rf "$p" && cleared+=("$p")
          ;;
      esac
    done <<<"$facts"
    [ "$n" -gt 0 ] && cleared+=("$n sysctls")
    n=0
    for t in "${CGROUP_TREES[@]}"; do
      [ "$t" = k8s.io ] && [ "$containerd_runs" = true ] && continue
      for p in /sys/fs/cgroup/*/"$t" /sys/fs/cgroup/"$t"; do
        [ -d "$p" ] || continue
        find "$p" -depth -type d -exec rmdir {} + 2>/dev/null || true
        [ -d "$p" ] || n=$((n + 1))
      done
    done
    [ "$n" -gt 0 ] && cleared+=("$n cgroup trees")
    remove_marker
    cleared+=("the marker of $owner")
  fi
  if [ ${#cleared[@]} -gt 0 ]; then
    local summary
    summary="$(printf ', %s' "${cleared[@]}")"
    klog "cleared what a cluster killed without down left on the host: ${summary#, }"
  fi
}
