#!/usr/bin/env bash
# Starting, finding and stopping the cluster's host processes, by pid file. Sourced by cluster.sh.

pid_file() { echo "$K8S_RUN/$1.pid"; }

# The pid of a running daemon of ours, or nothing: the pid file must name a live process running
# our binary (a reused pid of another program is not ours).
daemon_pid() { # name binary
  local file pid
  file="$(pid_file "$1")"
  [ -s "$file" ] || return 0
  pid="$(cat "$file")"
  if [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "$2"; then
    echo "$pid"
  fi
}

# Starts a daemon in its own session (an interrupted `up` does not take it down), logging to .k8s/logs.
start_daemon() { # name binary args...
  local name=$1 binary=$2
  shift 2
  [ -n "$(daemon_pid "$name" "$binary")" ] && return 0
  [ -x "$binary" ] || kdie "$EXIT_MISSING_TOOL" "$name: $binary is missing"
  mkdir -p "$K8S_RUN" "$K8S_LOGS"
  setsid "$binary" "$@" >>"$K8S_LOGS/$name.log" 2>&1 </dev/null &
  echo $! >"$(pid_file "$name")"
  klog "started $name (pid $!, log: $K8S_LOGS/$name.log)"
}

# Whether a pid names a live process (a zombie has exited; it only waits for its parent to reap it).
alive() { # pid
  local stat
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  stat="${stat##*) }"
  [ "${stat%% *}" != Z ]
}

# Stops a daemon: SIGTERM, then once more (kube-apiserver with open watches needs a second one),
# then SIGKILL after the grace period.
stop_daemon() { # name binary [grace_s]
  local name=$1 binary=$2 grace=${3:-15} pid i
  pid="$(daemon_pid "$name" "$binary")"
  if [ -n "$pid" ]; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < grace * 10; i++)); do
      alive "$pid" || break
      [ "$i" = 30 ] && kill -TERM "$pid" 2>/dev/null
      sleep 0.1
    done
    if alive "$pid"; then
      klog "$name did not stop within $grace s: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      while alive "$pid"; do sleep 0.1; done
    fi
    klog "stopped $name"
  fi
  rm -f "$(pid_file "$name")"
}

# A TCP port that something other than our own daemon listens on.
port_taken() { # port
  ss -Hltn "sport = :$1" 2>/dev/null | grep -q .
}

# The first port of the cluster that something listens on, or nothing.
taken_port() {
  local port
  for port in "${ALL_PORTS[@]}"; do
    if port_taken "$port"; then
      echo "$port"
      return 0
    fi
  done
}
