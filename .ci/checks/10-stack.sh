#!/usr/bin/env bash
# Local stack check: runs issue 2's "Done when" list against the real stack
# (Kafka KRaft broker + Apicurio Registry from Maven Central, no Docker), then
# leaves the stack up for the integration tests that follow. The bad-input
# cases (port in use, corrupt state, missing JDK, Ctrl-C, stale pid files) are
# covered by test/integration/stack.test.ts, which `npm test` runs.
set -Eeuo pipefail
cd "$(dirname "$0")/../.."
trap 'echo "::error:: 10-stack.sh failed at line $LINENO: $BASH_COMMAND" >&2' ERR

command -v kcat >/dev/null || { echo "kcat is missing (.ci/install-system-packages.sh installs it)" >&2; exit 1; }
state_dir="$(realpath -m "${STACK_DIR:-.stack}")"
kafka="127.0.0.1:${STACK_KAFKA_PORT:-9092}"
registry="http://127.0.0.1:${STACK_REGISTRY_PORT:-8081}/apis/ccompat/v7"

stack_jvms() { pgrep -af -- "-Dkos\.stack\.dir=${state_dir}( |$)" || true; }

echo "--- npm run stack:up (downloads through Maven when .cache/stack is empty)"
start=$SECONDS
npm run --silent stack:up
echo "first stack:up took $((SECONDS - start)) s"

echo "--- kcat -L lists orders (3 partitions) and orders-dlq"
metadata="$(kcat -b "$kafka" -L -m 10)"
echo "$metadata"
grep -q 'topic "orders" with 3 partitions' <<<"$metadata"
grep -q 'topic "orders-dlq" with 1 partitions' <<<"$metadata"

echo "--- the registry's subjects are a JSON array"
subjects="$(curl -fsS --max-time 10 "$registry/subjects")"
echo "$subjects"
node -e 'if (!Array.isArray(JSON.parse(process.argv[1]))) process.exit(1)' "$subjects"

echo "--- a second stack:up is a no-op that exits 0 and downloads nothing"
start=$SECONDS
second="$(npm run --silent stack:up 2>&1)"
echo "$second"
grep -q 'stack already up; nothing to do' <<<"$second"
if grep -q 'downloading' <<<"$second"; then echo "second stack:up ran Maven" >&2; exit 1; fi
echo "second stack:up took $((SECONDS - start)) s"

echo "--- stack:down leaves no JVM of the stack"
npm run --silent stack:down
left="$(stack_jvms)"
if [ -n "$left" ]; then
  echo "still running after stack:down:" >&2
  echo "$left" >&2
  exit 1
fi
if kcat -b "$kafka" -L -m 2 >/dev/null 2>&1; then echo "the broker still answers after stack:down" >&2; exit 1; fi

echo "--- stack:up again (warm) for the tests"
start=$SECONDS
npm run --silent stack:up
echo "warm stack:up took $((SECONDS - start)) s"
