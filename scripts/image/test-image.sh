#!/usr/bin/env bash
# npm run test:image [-- --write-docs]
#
# Proves the Dockerfile without a Docker engine, with podman + runc:
#   1. builds a stand-in for the Node base image (scripts/image/base-image.sh);
#   2. builds the Dockerfile unchanged, targets consumer and producer;
#   3. runs both images on the host network against the local stack, as uid
#      10001 with a read-only root filesystem and no capabilities;
#   4. checks that every order is processed (or dead-lettered) and /metrics answers;
#   5. stops the consumer with SIGTERM and checks it exits 0 within 10 s.
# Prints the image size and the consumer's RSS after the orders; --write-docs
# also writes them into docs/containers.md.
#
# Needs: podman, runc, debootstrap (Debian packages) and the local stack
# (KAFKA_BROKERS, SCHEMA_REGISTRY_URL; `node --import tsx tools/stack/cli.ts ensure`).
set -Eeuo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=scripts/image/lib.sh
source scripts/image/lib.sh

KAFKA_BROKERS="${KAFKA_BROKERS:-127.0.0.1:9092}"
SCHEMA_REGISTRY_URL="${SCHEMA_REGISTRY_URL:-http://127.0.0.1:8081/apis/ccompat/v7}"
ORDERS="${IMAGE_TEST_ORDERS:-10000}"
INVALID_RATIO="${IMAGE_TEST_INVALID_RATIO:-0.01}"
STOP_LIMIT_S=10
write_docs=false
for arg in "$@"; do
  case "$arg" in
    --write-docs) write_docs=true ;;
    *) die "unknown argument: $arg (usage: test-image.sh [--write-docs])" ;;
  esac
done

for tool in podman runc debootstrap curl; do
  command -v "$tool" >/dev/null || die "$tool is not installed (apt-get install podman runc debootstrap curl)"
done

run_id="$(date +%s)-$$"
orders_topic="image-orders-$run_id"
dlq_topic="image-dlq-$run_id"
group="image-group-$run_id"
consumer_name="kos-image-consumer-$run_id"
started=$SECONDS

cleanup() {
  local rc=$?
  if [ "$rc" -ne 0 ] && pm container exists "$consumer_name" 2>/dev/null; then
    log "consumer logs (last 40 lines):"
    pm logs --tail 40 "$consumer_name" >&2 || true
  fi
  pm rm --force --ignore --time 0 "$consumer_name" >/dev/null 2>&1 || true
}
trap cleanup EXIT

free_port() {
  node -e "const s=require('node:net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"
}

# Waits for a command to succeed, polling every second; never sleeps blindly.
wait_for() { # timeout_s description command...
  local deadline=$((SECONDS + $1)) what=$2
  shift 2
  until "$@"; do
    [ "$SECONDS" -lt "$deadline" ] || die "timed out waiting for $what"
    sleep 1
  done
}

metric() { # name [label="value"]; prints the sum of the matching samples, or nothing
  curl -fsS "http://127.0.0.1:$consumer_port/metrics" |
    awk -v name="$1" -v label="${2:-}" '
      ($1 == name || index($1, name "{") == 1) && index($1, label) > 0 { sum += $NF; seen = 1 }
      END { if (seen) printf "%d\n", sum }'
}

# ---- 0. the stack -------------------------------------------------------------
broker_host="${KAFKA_BROKERS%%,*}"
stack_up() { curl -fs -o /dev/null "$SCHEMA_REGISTRY_URL/subjects" && (exec 3<>"/dev/tcp/${broker_host%:*}/${broker_host##*:}") 2>/dev/null; }
wait_for 60 "the local stack at $KAFKA_BROKERS and $SCHEMA_REGISTRY_URL (node --import tsx tools/stack/cli.ts ensure)" stack_up

# ---- 1. base image stand-in -----------------------------------------------------
bash scripts/image/base-image.sh

# ---- 2. build the Dockerfile unchanged ----------------------------------------------
build_args=(--build-arg "REVISION=$(git rev-parse HEAD 2>/dev/null || echo unknown)"
  --build-arg "CREATED=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  --build-arg "VERSION=$(node -p 'require("./package.json").version')")
for target in consumer producer; do
  image="$CONSUMER_IMAGE"
  [ "$target" = producer ] && image="$PRODUCER_IMAGE"
  t0=$SECONDS
  if ! pm build --pull=never --layers --target "$target" "${build_args[@]}" -t "$image" . >"$IMAGE_CACHE/build-$target.log" 2>&1; then
    tail -n 30 "$IMAGE_CACHE/build-$target.log" >&2
    die "podman build --target $target failed (log: $IMAGE_CACHE/build-$target.log)"
  fi
  log "built $image ($((SECONDS - t0)) s)"
done

# ---- static properties of the images ---------------------------------------------
for image in "$CONSUMER_IMAGE" "$PRODUCER_IMAGE"; do
  user="$(pm image inspect --format '{{.Config.User}}' "$image")"
  [ "$user" = "10001:10001" ] || die "$image runs as '$user', expected 10001:10001"
  entrypoint="$(pm image inspect --format '{{json .Config.Entrypoint}}' "$image")"
  [[ "$entrypoint" == '["node",'* ]] || die "$image: ENTRYPOINT must exec node directly (PID 1 gets SIGTERM), got $entrypoint"
  for label in title licenses version revision created; do
    [ -n "$(pm image inspect --format "{{index .Labels \"org.opencontainers.image.$label\"}}" "$image")" ] ||
      die "$image lacks the OCI label org.opencontainers.image.$label"
  done
  # The Dockerfile must re-declare ARG NODE_IMAGE in the runtime stage, else this renders as "docker.io/library/".
  base_name="$(pm image inspect --format '{{index .Labels "org.opencontainers.image.base.name"}}' "$image")"
  if [ -z "$base_name" ] || [ "$base_name" != "$BASE_IMAGE_REF" ]; then
    die "$image: OCI label org.opencontainers.image.base.name is '$base_name', expected '$BASE_IMAGE_REF'"
  fi
done
pm image inspect --format '{{json .Config.ExposedPorts}}' "$CONSUMER_IMAGE" | grep -q '"9464/tcp"' ||
  die "the consumer image does not EXPOSE 9464"
pm image inspect --format '{{json .Config.ExposedPorts}}' "$PRODUCER_IMAGE" | grep -q '"9465/tcp"' ||
  die "the producer image does not EXPOSE 9465"
# Only production dependencies and compiled code; the app user cannot write to /app
# even where the root filesystem is not mounted read-only.
PATCHED_FILES="$(sed -n 's|^+++ b/\(node_modules/.*\)$|\1|p' patches/*.patch | sort -u | tr '\n' ' ')"
# shellcheck disable=SC2016 # the script is expanded by the container's sh
pm run --rm --network=none --user 10001:10001 --env PATCHED_FILES="$PATCHED_FILES" --entrypoint sh "$CONSUMER_IMAGE" -c '
  set -e
  # One command per line: set -e ignores a failure inside an && list unless it is the last command.
  for f in dist/cli/consumer.js dist/cli/producer.js dist/cli/dlq-reader.js schemas/order.avsc; do
    test -f "$f" || { echo "missing: $f" >&2; exit 1; }
  done
  for f in src patches node_modules/typescript node_modules/eslint node_modules/tsx node_modules/patch-package; do
    test ! -e "$f" || { echo "must not be in the image: $f" >&2; exit 1; }
  done
  # Every file that patches/ changes carries its patch (each patch marks what it changes).
  for f in $PATCHED_FILES; do
    grep -qi "patched by kafka-order-system" "$f" || { echo "unpatched: $f" >&2; exit 1; }
  done
  if touch /app/probe 2>/dev/null; then echo "/app is writable by uid 10001" >&2; exit 1; fi
' || die "the runtime image holds more than what runs, lacks a patch of patches/, or /app is writable"
# No package that only devDependencies need: the lockfile marks those "dev": true.
# (ajv and @types/node are devDependencies and also production dependencies of
# @kafkajs/confluent-schema-registry, so they belong in the image.)
pm run --rm --network=none --read-only --user 10001:10001 --entrypoint node "$CONSUMER_IMAGE" -e '
  const { existsSync, readFileSync } = require("node:fs");
  const { packages } = JSON.parse(readFileSync("package-lock.json", "utf8"));
  const entries = Object.entries(packages).filter(([dir]) => dir !== "");
  const dev = entries.filter(([dir, p]) => p.dev && existsSync(dir)).map(([dir]) => dir);
  const needed = ([, p]) => !p.dev && !p.devOptional && !p.optional;
  const missing = entries.filter((e) => needed(e) && !existsSync(e[0])).map(([dir]) => dir);
  if (dev.length || missing.length) {
    console.error("dev-only packages in the image: " + (dev.join(" ") || "none") +
      "; production packages missing: " + (missing.join(" ") || "none"));
    process.exit(1);
  }
' || die "the runtime node_modules is not exactly the production dependencies of package-lock.json"
log "images: user 10001:10001, exec-form node ENTRYPOINT, OCI labels (base.name $BASE_IMAGE_REF), EXPOSE, production files only, kafkajs and avsc patched"

# ---- 3. run against the local stack ---------------------------------------------------
consumer_port="$(free_port)"
hardened=(--network=host --read-only --user 10001:10001 --cap-drop=ALL --security-opt=no-new-privileges
  -e "KAFKA_BROKERS=$KAFKA_BROKERS" -e "SCHEMA_REGISTRY_URL=$SCHEMA_REGISTRY_URL"
  -e "ORDERS_TOPIC=$orders_topic" -e "DLQ_TOPIC=$dlq_topic" -e "KAFKA_GROUP_ID=$group" -e LOG_FORMAT=json)

pm run --rm "${hardened[@]}" -e HTTP_PORT=0 --entrypoint node "$PRODUCER_IMAGE" dist/cli/create-topics.js >&2 ||
  die "create-topics in the producer image failed"
log "topics $orders_topic and $dlq_topic created by dist/cli/create-topics.js"

pm run -d --name "$consumer_name" "${hardened[@]}" -e "HTTP_PORT=$consumer_port" -e RETRY_BACKOFF_MS=100 \
  "$CONSUMER_IMAGE" >/dev/null
consumer_ready() {
  [ "$(pm inspect --format '{{.State.Running}}' "$consumer_name")" = true ] || die "the consumer container exited early"
  curl -fs -o /dev/null "http://127.0.0.1:$consumer_port/readyz"
}
wait_for 90 "the consumer's /readyz on :$consumer_port" consumer_ready
log "consumer ready on :$consumer_port (read-only rootfs, uid 10001)"

# docker-compose.yml's healthcheck for the consumer, run inside this container.
mapfile -t probe < <(node --input-type=module -e "
  import { readFileSync } from 'node:fs';
  import { parse } from 'yaml';
  const test = parse(readFileSync('docker-compose.yml', 'utf8'), { merge: true }).services.consumer.healthcheck.test;
  if (test[0] !== 'CMD') throw new Error('expected an exec-form (CMD) healthcheck');
  for (const arg of test.slice(1)) console.log(arg.replaceAll(':9464/', ':$consumer_port/'));
")
[ ${#probe[@]} -gt 0 ] || die "could not read the consumer healthcheck from docker-compose.yml"
pm exec "$consumer_name" "${probe[@]}" || die "docker-compose.yml's consumer healthcheck fails inside the image"
log "docker-compose.yml's consumer healthcheck passes inside the container"

t0=$SECONDS
pm run --rm "${hardened[@]}" -e HTTP_PORT=0 "$PRODUCER_IMAGE" \
  --count "$ORDERS" --invalid-ratio "$INVALID_RATIO" --seed 42 >"$IMAGE_CACHE/producer-$run_id.log" 2>&1 ||
  {
    tail -n 20 "$IMAGE_CACHE/producer-$run_id.log" >&2
    die "the producer container failed"
  }
rm -f "$IMAGE_CACHE/producer-$run_id.log"
log "producer container sent $ORDERS orders ($((SECONDS - t0)) s)"

# ---- 4. every order processed, /metrics answers ----------------------------------------
all_processed() {
  success="$(metric orders_processed_total 'outcome="success"')"
  dead="$(metric orders_processed_total 'outcome="dead_lettered"')"
  [ $((${success:-0} + ${dead:-0})) -ge "$ORDERS" ]
}
wait_for 300 "$ORDERS orders processed by the consumer container" all_processed
[ $((success + dead)) -eq "$ORDERS" ] || die "the consumer finished $((success + dead)) orders, expected $ORDERS"
if [ "$INVALID_RATIO" != 0 ] && [ "$dead" -eq 0 ]; then die "no invalid order reached the DLQ"; fi
log "consumer processed $ORDERS orders: $success success, $dead dead-lettered ($((SECONDS - t0)) s)"

# ---- 4b. the DLQ tool in the producer image: summary, dry run, replay --------------------
# `node dist/cli/dlq-reader.js` is how an operator runs `npm run dlq -- …` where only the image is.
dlq_tool() { pm run --rm "${hardened[@]}" -e HTTP_PORT=0 --entrypoint node "$PRODUCER_IMAGE" dist/cli/dlq-reader.js "$@"; }
if [ "$dead" -gt 0 ]; then
  dlq_summary="$(dlq_tool summary --json)" || die "dist/cli/dlq-reader.js summary failed in the producer image"
  dlq_total="$(node -e 'console.log(JSON.parse(process.argv[1]).total.deadLetters)' "$dlq_summary")"
  [ "$dlq_total" = "$dead" ] || die "dlq-reader.js summary counts $dlq_total dead letters, the consumer wrote $dead"
  dlq_last="$(dlq_tool replay --code KOS_ORDER_INVALID --dry-run | tail -n 1)"
  [ "$dlq_last" = "would replay $dead" ] || die "dlq-reader.js replay --dry-run ended with '$dlq_last', expected 'would replay $dead'"
  # A real replay (its transactions, its ledger topic): the invalid orders come back and are dead-lettered again.
  dlq_last="$(dlq_tool replay --code KOS_ORDER_INVALID | tail -n 1)"
  [ "$dlq_last" = "replayed $dead" ] || die "dlq-reader.js replay ended with '$dlq_last', expected 'replayed $dead'"
  redriven_again() { [ "$(metric orders_redriven_total 'outcome="dead_lettered"')" = "$dead" ]; }
  wait_for 60 "$dead redriven orders dead-lettered again" redriven_again
  log "dist/cli/dlq-reader.js in the producer image: summary, dry run and replay of $dead dead letters"
fi

pid="$(pm inspect --format '{{.State.Pid}}' "$consumer_name")"
rss_kib="$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status")"
rss_metric="$(metric process_resident_memory_bytes)"
rss_mib=$(((rss_kib + 512) / 1024))
log "consumer RSS after $ORDERS orders: $rss_mib MiB (/proc/$pid/status VmRSS; process_resident_memory_bytes says $((rss_metric / 1048576)) MiB)"

# ---- 5. SIGTERM: graceful stop, exit 0, within 10 s --------------------------------------
t0="$(date +%s%N)"
pm stop --time "$STOP_LIMIT_S" "$consumer_name" >/dev/null
stop_ms=$((($(date +%s%N) - t0) / 1000000))
exit_code="$(pm inspect --format '{{.State.ExitCode}}' "$consumer_name")"
# Through a file: `grep -q` on a pipe would stop reading early and fail the pipeline.
pm logs "$consumer_name" >"$IMAGE_CACHE/consumer-$run_id.log" 2>&1
grep -q '"signal":"SIGTERM"' "$IMAGE_CACHE/consumer-$run_id.log" || die "the consumer did not log the SIGTERM it received"
rm -f "$IMAGE_CACHE/consumer-$run_id.log"
[ "$exit_code" = 0 ] || die "the consumer exited $exit_code on SIGTERM, expected 0"
[ "$stop_ms" -lt $((STOP_LIMIT_S * 1000)) ] || die "the consumer took $stop_ms ms to stop, limit ${STOP_LIMIT_S} s"
log "SIGTERM: consumer exited 0 after $stop_ms ms"

# ---- measurements ----------------------------------------------------------------------
size_of() { pm image inspect --format '{{.Size}}' "$1"; }
base_mb=$(($(size_of "$BASE_IMAGE_REF") / 1000000))
consumer_mb=$(($(size_of "$CONSUMER_IMAGE") / 1000000))
producer_mb=$(($(size_of "$PRODUCER_IMAGE") / 1000000))
own_mb=$((consumer_mb - base_mb))
summary="| runtime image (consumer target), uncompressed | ${consumer_mb} MB |
| runtime image (producer target), uncompressed | ${producer_mb} MB |
| of which the base stand-in node:${NODE_IMAGE#node:} | ${base_mb} MB |
| of which our layers (production node_modules, dist, schemas) | ${own_mb} MB |
| consumer RSS after ${ORDERS} orders (VmRSS) | ${rss_mib} MiB |
| consumer stop on SIGTERM (\`podman stop -t ${STOP_LIMIT_S}\`) | ${stop_ms} ms, exit 0 |"
printf '\n%s\n\n' "$summary"
log "all image checks passed ($((SECONDS - started)) s)"

# Build leftovers on the stand-in older than a day; recent ones stay as build cache.
pm image prune --force --filter label=org.kafka-order-system.stand-in --filter until=24h >/dev/null || true

if $write_docs; then
  node - "$summary" "$(nproc)" <<'EOF'
const fs = require('node:fs');
const [summary, cores] = process.argv.slice(2);
const file = 'docs/containers.md';
const text = fs.readFileSync(file, 'utf8');
const start = '<!-- image-measurements:start -->';
const end = '<!-- image-measurements:end -->';
const i = text.indexOf(start), j = text.indexOf(end);
if (i < 0 || j < i) throw new Error(`${file}: measurement markers not found`);
const table = `| what | measured by \`npm run test:image\` on a ${cores}-core machine |\n| --- | --- |\n${summary}\n`;
fs.writeFileSync(file, `${text.slice(0, i + start.length)}\n${table}${text.slice(j)}`);
EOF
  log "measurements written to docs/containers.md"
fi
