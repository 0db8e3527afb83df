#!/usr/bin/env bash
# Container images without a Docker engine: builds the Dockerfile with podman
# (runc) on a local stand-in of its Node base image, then runs the consumer and
# producer images against the local stack as uid 10001 with a read-only root
# filesystem, and checks processing, /metrics and the SIGTERM shutdown.
# See scripts/image/test-image.sh.
set -Eeuo pipefail
cd "$(dirname "$0")/../.."
trap 'echo "::error:: 50-image.sh failed at line $LINENO: $BASH_COMMAND" >&2' ERR

missing=()
for p in podman runc debootstrap curl; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The images talk to the same broker and registry as the integration tests.
npx tsx scripts/stack.ts ensure

npm run test:image
