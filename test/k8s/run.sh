#!/usr/bin/env bash
# npm run test:k8s: the chart on the local cluster (k8s/local/cluster.sh up, the tests, down).
# Prints `k8s: N passed, M failed` last.
set -Euo pipefail
cd "$(dirname "$0")/../.." || exit 1
PATH="$(bash scripts/node-runtime.sh):$PATH"
export PATH
mkdir -p .k8s
bash scripts/helm-binaries.sh helm helm4 >/dev/null || exit 1
tap=.k8s/test-k8s.tap
node --import tsx --test --test-concurrency=1 --test-timeout=3600000 \
  --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination="$tap" test/k8s/*.test.ts
rc=$?
passed="$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$tap" | tail -n 1)"
failed="$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$tap" | tail -n 1)"
cancelled="$(sed -n 's/^# cancelled \([0-9]*\)$/\1/p' "$tap" | tail -n 1)"
failed=$((${failed:-0} + ${cancelled:-0}))
[ "$rc" -ne 0 ] && [ "$failed" = 0 ] && failed=1
echo "k8s: ${passed:-0} passed, $failed failed"
exit "$rc"
