#!/usr/bin/env bash
# Installs the Debian packages that CI's checks and tests use, only those missing. CI's one place that
# runs apt-get: .ci/run calls it first, and each check calls it again (a no-op then) so it also runs alone.
#   kcat, shellcheck, yamllint            inspection and lint
#   openssl                               the local stack's certificates (its SASL_SSL listener, the registry's HTTPS)
#   prometheus, prometheus-pushgateway    the real Prometheus of the integration tests, promtool
#   podman, runc, debootstrap, curl       the images (scripts/image) and the local cluster's fixtures
#   containerd, containernetworking-plugins, iptables, conntrack
#                                         the local Kubernetes node (k8s/local)
set -Eeuo pipefail
packages=(kcat shellcheck yamllint openssl prometheus prometheus-pushgateway podman runc debootstrap curl
  containerd containernetworking-plugins iptables conntrack)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "system packages present: ${packages[*]}"
