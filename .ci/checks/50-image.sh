#!/usr/bin/env bash
# Container images without a Docker engine: builds the Dockerfile with podman
# (runc) on a local stand-in of its Node base image, then runs the consumer and
# producer images against the local stack as uid 10001 with a read-only root
# filesystem, and checks processing, /metrics and the SIGTERM shutdown.
# See scripts/image/test-image.sh.
set -Eeuo pipefail
cd "$(dirname "$0")/../.."
trap 'echo "::error:: 50-image.sh failed at line $LINENO: $BASH_COMMAND" >&2' ERR

bash .ci/install-system-packages.sh >/dev/null

# The images talk to the same broker and registry as the integration tests.
node --import tsx tools/stack/cli.ts ensure

npm run test:image
