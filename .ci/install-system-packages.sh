#!/usr/bin/env bash
# Installs the Debian packages the checks and tests use, only when missing.
set -Eeuo pipefail
packages=(kcat shellcheck yamllint prometheus prometheus-pushgateway)
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
