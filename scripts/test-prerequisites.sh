#!/usr/bin/env bash
# What `npm test` needs besides Node, a JDK and Maven (the stack checks those itself): Prometheus and its
# Pushgateway for the real-Prometheus tests and Python 3 with venv for the interop test (Debian packages),
# Confluent's Python client (from PyPI, into a git-ignored venv) and helm (built from the Go module proxy)
# for the chart tests.
# It never runs sudo: it installs missing Debian packages only when it already runs as root (as in a CI
# container); otherwise it prints the exact apt-get line to run and exits 2.
set -Eeuo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v prometheus-pushgateway >/dev/null 2>&1 || missing+=(prometheus-pushgateway)
# The local stack's secured listener and HTTPS registry need certificates, which openssl makes.
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || missing+=(python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "npm test needs the Debian packages: ${missing[*]}" >&2
    echo "Install them, then run npm test again:" >&2
    echo "  sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 2
  fi
  echo "installing: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

bash scripts/setup-python-client.sh
# The chart tests render with helm (built from the Go module proxy into .cache/bin, once).
bash scripts/helm-binaries.sh helm >/dev/null
