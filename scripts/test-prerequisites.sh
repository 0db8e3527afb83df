#!/usr/bin/env bash
# What `npm test` needs besides Node, a JDK and Maven (the stack checks those itself):
# Prometheus and its Pushgateway (Debian packages) for the real-Prometheus tests, and
# Confluent's Python client (from PyPI, into a git-ignored venv) for the interop test, and helm (from the
# Go module proxy) for the chart tests.
# Installs what is missing when it can; otherwise says exactly what to install.
set -Eeuo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v prometheus-pushgateway >/dev/null 2>&1 || missing+=(prometheus-pushgateway)
if [ ${#missing[@]} -gt 0 ]; then
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  if [ "$(id -u)" -eq 0 ]; then
    apt=(apt-get)
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    apt=(sudo apt-get)
  else
    echo "The tests need the Debian packages: ${missing[*]}" >&2
    echo "Install them with: sudo apt-get install -y ${missing[*]}" >&2
    exit 2
  fi
  echo "installing: ${missing[*]}"
  "${apt[@]}" update -qq
  DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v python3 >/dev/null 2>&1 || ! python3 -c 'import venv' 2>/dev/null; then
  echo "The interop test needs Python 3 with venv (Debian: sudo apt-get install -y python3-venv)" >&2
  exit 2
fi
bash scripts/setup-python-client.sh
# The chart tests render with helm (built from the Go module proxy into .cache/bin, once).
bash scripts/helm-binaries.sh helm >/dev/null
