#!/usr/bin/env bash
# Kafka's own command-line tools (kafka-topics, kafka-consumer-groups, kafka-console-consumer), run from
# the jars the local stack downloaded, so the seed's verification commands work without Docker.
#   npm run kafka -- topics --list
#   npm run kafka -- consumer-groups --describe --group order-consumer-group
#   npm run kafka -- console-consumer --topic orders-dlq --from-beginning --max-messages 5
#   npm run kafka -- acls --list
set -Eeuo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
version="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$root/stack/pom.xml")"
libs="${STACK_CACHE_DIR:-$root/.cache/stack}/kafka-${version}/libs"
if [ ! -d "$libs" ]; then
  echo "Kafka ${version} jars not found in ${libs}: run 'npm run stack:up' once to download them." >&2
  exit 1
fi

tool="${1:-}"
shift || true
case "$tool" in
  topics) class=org.apache.kafka.tools.TopicCommand ;;
  consumer-groups) class=org.apache.kafka.tools.consumer.group.ConsumerGroupCommand ;;
  console-consumer) class=org.apache.kafka.tools.consumer.ConsoleConsumer ;;
  acls) class=org.apache.kafka.tools.AclCommand ;;
  *)
    echo "usage: npm run kafka -- {topics|consumer-groups|console-consumer|acls} [options of the Kafka tool]" >&2
    exit 2
    ;;
esac

args=("$@")
if [[ " $* " != *" --bootstrap-server "* ]]; then
  args=(--bootstrap-server "${KAFKA_BROKERS:-127.0.0.1:${STACK_KAFKA_PORT:-9092}}" "${args[@]}")
fi
exec java -Dlog4j2.level=WARN -cp "${libs}/*" "$class" "${args[@]}"
