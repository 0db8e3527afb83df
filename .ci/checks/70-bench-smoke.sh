#!/usr/bin/env bash
# Bench smoke: the harness runs every scenario and baseline (our producer and
# consumer, raw kafkajs, Kafka's Java perf tools) on a few thousand orders, so
# it cannot rot. It asserts only that it completes with non-zero numbers,
# never a speed: CI machines differ too much for that.
set -Eeuo pipefail
cd "$(dirname "$0")/../.."
trap 'echo "::error:: 70-bench-smoke failed at line $LINENO: $BASH_COMMAND" >&2' ERR

# Starts the local stack (and downloads kafka-tools, whose jars the Java baselines run) unless env names external services.
node --import tsx tools/stack/cli.ts ensure

command -v java >/dev/null || { echo "java is required for the Java baselines (kafka-tools)" >&2; exit 1; }

timeout 600 npm run bench:smoke
test -s bench/results/latest.json || { echo "bench/results/latest.json was not written" >&2; exit 1; }
