#!/usr/bin/env bash
# Schema gate: the order contract (schemas/*.avsc) may replace the one of the previous commit under FULL
# compatibility (Avro's resolution rules, both ways), because producers and consumers deploy independently.
# Offline: no registry needed. A first commit or a shallow clone has no previous schema and passes, saying
# so. The check against a live registry is `npm run schema:check` (docs/schema-evolution.md).
set -Eeuo pipefail
cd "$(dirname "$0")/../.."
trap 'echo "::error:: 20-schema failed at line $LINENO: $BASH_COMMAND" >&2' ERR

echo "--- schema:check --offline (against HEAD~1, FULL)"
node --import tsx tools/schema-check.ts --offline
