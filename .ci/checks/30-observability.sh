#!/usr/bin/env bash
# Observability check: the alert rules load and pass their promtool unit
# tests, the dashboard JSON is what tools/dashboard generates, and the
# metric names pass promtool's lint. The Prometheus and Pushgateway binaries
# are also what the integration tests start.
set -Eeuo pipefail
cd "$(dirname "$0")/../.."
trap 'echo "::error:: 30-observability failed at line $LINENO: $BASH_COMMAND" >&2' ERR

bash .ci/install-system-packages.sh >/dev/null
promtool --version | head -n 1

rules=charts/kafka-order-system/files/prometheus-rules.yaml
echo "--- promtool check rules $rules"
promtool check rules "$rules"

echo "--- promtool test rules"
promtool test rules test/prometheus/*.test.yaml

echo "--- yamllint (the chart's settings)"
yamllint --strict \
  "$rules" test/prometheus/*.test.yaml

echo "--- dashboard JSON is current"
node --import tsx tools/dashboard/generate.ts --check

echo "--- promtool check metrics (our metrics; prom-client's nodejs_* defaults are exempt)"
for role in consumer producer; do
  exposition="$(node --import tsx tools/dashboard/sample-metrics.ts "$role")"
  grep -q '^orders_' <<<"$exposition" || { echo "no orders_ metrics printed for $role" >&2; exit 1; }
  problems="$(promtool check metrics <<<"$exposition" 2>&1 | grep -v '^nodejs_' || true)"
  if [ -n "$problems" ]; then
    echo "$role metrics fail promtool's lint:" >&2
    echo "$problems" >&2
    exit 1
  fi
  echo "$role: ok"
done
