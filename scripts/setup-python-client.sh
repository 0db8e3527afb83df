#!/usr/bin/env bash
# Installs Confluent's Python client into a git-ignored venv for the interop test.
set -Eeuo pipefail
cd "$(dirname "$0")/.."
venv=.cache/pyclient
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import confluent_kafka, fastavro' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r test/interop/requirements.txt
fi
"$venv/bin/python" -c 'import confluent_kafka; print("confluent-kafka", confluent_kafka.version()[0], "| librdkafka", confluent_kafka.libversion()[0])'
