#!/usr/bin/env bash
# Builds the local cluster's two test fixtures with podman, nothing pulled:
#   localhost/kos-local/kafka:KAFKA_VERSION
#       Apache Kafka: one KRaft node that is broker and controller, with the settings of the local
#       stack (tools/stack/broker.ts), configured by environment variables (see the entrypoint
#       below), data in /var/lib/kafka/data (storage formatted on first start).
#   docker.io/apicurio/apicurio-registry:APICURIO_VERSION
#       a stand-in with the official image's name and layout (as scripts/image/base-image.sh makes
#       for node): the app in /deployments, started as `java ... -jar quarkus-run.jar` by a
#       run-java.sh at the UBI OpenJDK images' path, uid 1001 (group 0), port 8080, configured
#       through environment variables (APICURIO_STORAGE_KIND=kafkasql, ...), JAVA_OPTS and
#       JAVA_OPTS_APPEND honoured as by the UBI run script.
# The versions are stack/pom.xml's. The jars come from Maven Central through that pom, with the
# very invocation `npm run stack:up` uses (tools/stack/download.ts); the Java runtime is a jlink
# of the Temurin JDK on this machine (FIXTURE_JDK); the rootfs is a debootstrap minbase Debian
# (scripts/image/lib.sh). Both images run as a numeric non-root user with a read-only root
# filesystem; only /tmp and the data directory need to be writable.
#
# An image is rebuilt only when it is missing or its recipe (this script, scripts/image/lib.sh,
# stack/pom.xml and the JDK's version) changed: the recipe hash is its
# org.kafka-order-system.recipe label. Caches (rootfs, jars, Java runtime) live outside the checkout
# in ${XDG_CACHE_HOME:-~/.cache}/kafka-order-system/images (IMAGE_CACHE, scripts/image/lib.sh), so a
# fresh clone reuses them.
set -Eeuo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=scripts/image/lib.sh
source scripts/image/lib.sh

SUITE=bookworm
JDK_HOME="${FIXTURE_JDK:-/usr/lib/jvm/temurin-25-jdk-amd64}"
pom_property() { sed -n "s:.*<$1>\(.*\)</$1>.*:\1:p" stack/pom.xml | head -n 1; }
KAFKA_VERSION="$(pom_property kafka.version)"
APICURIO_VERSION="$(pom_property apicurio.version)"
if [ -z "$KAFKA_VERSION" ] || [ -z "$APICURIO_VERSION" ]; then
  die "stack/pom.xml lacks kafka.version or apicurio.version"
fi
KAFKA_IMAGE="localhost/kos-local/kafka:$KAFKA_VERSION"
APICURIO_IMAGE="docker.io/apicurio/apicurio-registry:$APICURIO_VERSION"
RECIPE_LABEL=org.kafka-order-system.recipe
KAFKA_UID=1000    # the uid of the apache/kafka image's appuser
APICURIO_UID=1001 # the official image's USER (distro/docker/src/main/docker/Dockerfile.jvm), group 0
# What the Kafka broker and tools and Apicurio's Quarkus app use: jdeps --print-module-deps over
# both sets of jars (jdk.javadoc, referenced by one unused class, left out), plus modules reached
# only by reflection or service loading (jdk.zipfs, jdk.naming.dns).
JRE_MODULES=java.base,java.compiler,java.desktop,java.instrument,java.management,java.naming,java.rmi,java.scripting,java.security.jgss,java.security.sasl,java.sql,java.xml.crypto,jdk.jfr,jdk.management,jdk.naming.dns,jdk.net,jdk.unsupported,jdk.zipfs

[ -x "$JDK_HOME/bin/jlink" ] || die "no JDK with jlink at $JDK_HOME (set FIXTURE_JDK)"
JAVA_VERSION="$(sed -n 's/^JAVA_VERSION="\(.*\)"$/\1/p' "$JDK_HOME/release")"
[ "${JAVA_VERSION%%.*}" -ge 21 ] 2>/dev/null || die "$JDK_HOME holds Java '$JAVA_VERSION'; Apicurio $APICURIO_VERSION needs 21 or newer"

recipe="$( (cat "$0" scripts/image/lib.sh stack/pom.xml && echo "$JAVA_VERSION $JRE_MODULES $SUITE") | sha256sum | cut -c1-16)"

up_to_date() { # ref
  pm image exists "$1" &&
    [ "$(pm image inspect --format "{{index .Labels \"$RECIPE_LABEL\"}}" "$1")" = "$recipe" ]
}

report_size() { # ref
  local bytes
  bytes="$(pm image inspect --format '{{.Size}}' "$1")"
  log "$1: $((bytes / 1000000)) MB (recipe $recipe)"
}

todo=()
for ref in "$KAFKA_IMAGE" "$APICURIO_IMAGE"; do
  if up_to_date "$ref"; then report_size "$ref"; else todo+=("$ref"); fi
done
[ ${#todo[@]} -eq 0 ] && exit 0

# One build at a time: they share the staging folders below.
exec 9>"$IMAGE_CACHE/.lock"
flock 9

rootfs_tar="$IMAGE_CACHE/debian-$SUITE-minbase.tar"
stack_dir="$IMAGE_CACHE/stack-$(sha256sum stack/pom.xml | cut -c1-16)"
jre_dir="$IMAGE_CACHE/jre-$JAVA_VERSION-$(echo "$JRE_MODULES" | sha256sum | cut -c1-8)"
work="$(mktemp -d "$IMAGE_CACHE/build.XXXXXX")"
trap 'rm -rf "$work" "$stack_dir.partial" "$jre_dir.partial"' EXIT

# remove_others DIR... KEEP: deletes the DIRs (an older version's cache) except KEEP.
remove_others() {
  local keep="${*: -1}" dir
  for dir in "${@:1:$#-1}"; do [ "$dir" = "$keep" ] || rm -rf "$dir"; done
}

# The jars, downloaded as `npm run stack:up` does: Maven on stack/pom.xml with stack.cache pointing
# at a staging folder. Maven's local repository already holds them after a first stack:up.
fetch_stack() {
  [ -f "$stack_dir/.complete" ] && return 0
  local started=$SECONDS log_file="$IMAGE_CACHE/maven.log" args
  args=(-B --no-transfer-progress -f stack/pom.xml package "-Dstack.cache=$stack_dir.partial")
  [ -n "${STACK_MAVEN_REPO:-}" ] && args+=("-Dmaven.repo.local=$STACK_MAVEN_REPO")
  command -v mvn >/dev/null || die "Maven (mvn) is not installed; it downloads Kafka and Apicurio"
  log "downloading Kafka $KAFKA_VERSION and Apicurio Registry $APICURIO_VERSION through Maven (log: $log_file)"
  rm -rf "$stack_dir.partial"
  if ! (command -v java >/dev/null || export JAVA_HOME="$JDK_HOME" && mvn "${args[@]}") >"$log_file" 2>&1; then
    tail -n 20 "$log_file" >&2
    die "Maven failed (log: $log_file)"
  fi
  if [ ! -s "$stack_dir.partial/kafka-$KAFKA_VERSION/libs/kafka_2.13-$KAFKA_VERSION.jar" ] ||
    [ ! -s "$stack_dir.partial/apicurio-$APICURIO_VERSION/quarkus-run.jar" ]; then
    die "Maven succeeded but $stack_dir.partial lacks the Kafka libs or quarkus-run.jar"
  fi
  touch "$stack_dir.partial/.complete"
  remove_others "$IMAGE_CACHE"/stack-* "$stack_dir.partial"
  mv "$stack_dir.partial" "$stack_dir"
  log "jars cached: $stack_dir ($(du -sh "$stack_dir" | cut -f1), $((SECONDS - started)) s)"
}

# The Java runtime of both images: a jlink of the JDK with just the modules above, with a CDS
# archive of the JDK's classes (start-up) and without the one for heaps over 32 GB.
make_jre() {
  [ -x "$jre_dir/bin/java" ] && return 0
  local started=$SECONDS
  log "jlink: Java $JAVA_VERSION runtime from $JDK_HOME"
  rm -rf "$jre_dir.partial"
  nice "$JDK_HOME/bin/jlink" --add-modules "$JRE_MODULES" --output "$jre_dir.partial" \
    --strip-debug --no-man-pages --no-header-files --generate-cds-archive >"$work/jlink.log" 2>&1 || {
    cat "$work/jlink.log" >&2
    die "jlink failed"
  }
  rm -f "$jre_dir.partial/lib/server/classes_nocoops.jsa"
  remove_others "$IMAGE_CACHE"/jre-* "$jre_dir.partial"
  mv "$jre_dir.partial" "$jre_dir"
  log "Java runtime cached: $jre_dir ($(du -sh "$jre_dir" | cut -f1), $((SECONDS - started)) s)"
}

# A fresh root: the Debian rootfs plus the Java runtime in /opt/java/openjdk (where the Temurin
# images keep it).
new_root() { # dir
  mkdir -p "$1"
  tar -C "$1" -xf "$rootfs_tar"
  mkdir -p "$1/opt/java"
  cp -a "$jre_dir" "$1/opt/java/openjdk"
}

import_image() { # dir ref [--change ...]
  local dir=$1 ref=$2
  shift 2
  tar -C "$dir" --numeric-owner -c . | pm import \
    --change 'ENV PATH=/opt/java/openjdk/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV JAVA_HOME=/opt/java/openjdk' \
    --change 'ENV LANG=C.UTF-8' \
    --change "LABEL $RECIPE_LABEL=$recipe" \
    "$@" --quiet - "$ref" >/dev/null || die "podman import of $ref failed"
  rm -rf "$dir"
  local got
  # The whole output, then its first line: `| head -n 1` could end podman with SIGPIPE (pipefail).
  got="$(pm run --rm --network=none --read-only --entrypoint java "$ref" -version 2>&1)" ||
    die "$ref cannot run java: $got"
  got="${got%%$'\n'*}"
  [[ "$got" == *"\"$JAVA_VERSION\""* ]] || die "$ref runs '$got', expected Java $JAVA_VERSION"
  report_size "$ref"
}

build_kafka() {
  local root="$work/kafka" home=/opt/kafka
  new_root "$root"
  mkdir -p "$root$home/bin" "$root$home/config" "$root/var/lib/kafka"
  cp -a "$stack_dir/kafka-$KAFKA_VERSION/libs" "$root$home/libs"

  cat >"$root$home/bin/kafka-entrypoint" <<'SH'
#!/bin/bash
# Starts one KRaft node that is both broker and controller, with the settings of the local stack
# (tools/stack/broker.ts). Any arguments are run instead (e.g. `kafka topics --list`).
#   KAFKA_ADVERTISED_HOST  host name clients are told to connect to (localhost); in a pod its stable DNS name
#   KAFKA_PORT             client listener port (9092)
#   KAFKA_LISTEN_HOST      address the client listener binds (0.0.0.0)
#   KAFKA_CONTROLLER_PORT  KRaft controller listener port, on 127.0.0.1 only (9093)
#   KAFKA_NODE_ID          node id (1)
#   KAFKA_CLUSTER_ID       cluster id the storage is formatted with on first start (fixed)
#   KAFKA_DATA_DIR         log.dirs (/var/lib/kafka/data); formatted when empty
#   KAFKA_CONFIG_DIR       where server.properties is written (/tmp/kafka)
#   KAFKA_HEAP_OPTS        heap options (-Xms512m -Xmx512m)
#   KAFKA_OPTS             more JVM options
#   KAFKA_CFG_<NAME>       any broker property: KAFKA_CFG_LOG_RETENTION_MS=60000 sets log.retention.ms
set -Eeuo pipefail
[ $# -gt 0 ] && exec "$@"

node_id="${KAFKA_NODE_ID:-1}"
host="${KAFKA_ADVERTISED_HOST:-localhost}"
port="${KAFKA_PORT:-9092}"
listen_host="${KAFKA_LISTEN_HOST:-0.0.0.0}"
controller_port="${KAFKA_CONTROLLER_PORT:-9093}"
cluster_id="${KAFKA_CLUSTER_ID:-a29zLWxvY2FsLWthZmthAQ}"
data_dir="${KAFKA_DATA_DIR:-/var/lib/kafka/data}"
config_dir="${KAFKA_CONFIG_DIR:-/tmp/kafka}"
# shellcheck disable=SC2206 # option lists, split on blanks as Kafka's own scripts do
jvm=(${KAFKA_HEAP_OPTS:--Xms512m -Xmx512m} -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError
  -XX:-UsePerfData -Djava.awt.headless=true --sun-misc-unsafe-memory-access=allow
  -Dlog4j2.configurationFile=/opt/kafka/config/log4j2.properties ${KAFKA_OPTS:-})

say() { printf '[kafka-entrypoint] %s\n' "$*" >&2; }

render() { # log_dirs
  cat <<EOF
process.roles=broker,controller
node.id=$node_id
controller.quorum.voters=$node_id@127.0.0.1:$controller_port
listeners=PLAINTEXT://$listen_host:$port,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=PLAINTEXT://$host:$port
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$1
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
auto.create.topics.enable=false
group.initial.rebalance.delay.ms=0
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=true
EOF
  local name key
  for name in $(compgen -e); do
    [[ $name == KAFKA_CFG_* ]] || continue
    key="${name#KAFKA_CFG_}"
    key="${key,,}"
    printf '%s=%s\n' "${key//_/.}" "${!name}"
  done
}

mkdir -p "$config_dir"
render "$data_dir" >"$config_dir/server.properties"

if [ -f "$data_dir/meta.properties" ]; then
  formatted_id="$(sed -n 's/^node\.id=//p' "$data_dir/meta.properties")"
  [ "$formatted_id" = "$node_id" ] ||
    { say "$data_dir was formatted for node.id=$formatted_id, not $node_id: delete it to start afresh"; exit 1; }
else
  if [ -d "$data_dir" ] && [ -n "$(ls -A "$data_dir")" ]; then
    say "$data_dir holds data but no meta.properties: delete it to start afresh"
    exit 1
  fi
  # Formatted aside and renamed into place, so an interrupted format leaves nothing half-done.
  staging="$data_dir.formatting"
  rm -rf "$staging"
  render "$staging" >"$config_dir/format.properties"
  say "formatting $data_dir (cluster id $cluster_id)"
  java -Xmx128m -XX:TieredStopAtLevel=1 -XX:-UsePerfData --sun-misc-unsafe-memory-access=allow \
    -Dlog4j2.configurationFile=/opt/kafka/config/tools-log4j2.properties -cp '/opt/kafka/libs/*' \
    kafka.tools.StorageTool format -t "$cluster_id" -c "$config_dir/format.properties" >&2
  rm -rf "$data_dir"
  mv "$staging" "$data_dir"
  rm -f "$config_dir/format.properties"
fi

say "node $node_id: PLAINTEXT://$host:$port (bound to $listen_host), controller 127.0.0.1:$controller_port, data $data_dir"
exec java "${jvm[@]}" -cp '/opt/kafka/libs/*' kafka.Kafka "$config_dir/server.properties"
SH

  cat >"$root$home/bin/kafka-ready" <<'SH'
#!/bin/bash
# Exit 0 when the broker answers a Kafka ApiVersions request on its client port without error: the
# port merely accepting connections (a TCP check) happens before the broker serves requests.
set -euo pipefail
port="${1:-${KAFKA_PORT:-9092}}"
exec 3<>"/dev/tcp/127.0.0.1/$port"
# ApiVersions v0: size 15, api key 18, version 0, correlation id 1, client id "ready".
printf '\x00\x00\x00\x0f\x00\x12\x00\x00\x00\x00\x00\x01\x00\x05ready' >&3
# The answer: size (4 bytes), correlation id 1, error code 0.
reply="$(timeout 5 head -c 10 <&3 | od -An -tx1 | tr -d ' \n')"
[[ "$reply" =~ ^[0-9a-f]{8}000000010000$ ]]
SH

  cat >"$root$home/bin/kafka" <<'SH'
#!/bin/bash
# kafka TOOL [options]: Kafka's command-line tools (as tools/stack/kafka-cli.sh runs them), against this
# node's client port unless --bootstrap-server is given. E.g. `kafka topics --list`.
set -Eeuo pipefail
tool="${1:-}"
shift || true
case "$tool" in
  topics) class=org.apache.kafka.tools.TopicCommand ;;
  acls) class=org.apache.kafka.tools.AclCommand ;;
  configs) class=kafka.admin.ConfigCommand ;;
  consumer-groups) class=org.apache.kafka.tools.consumer.group.ConsumerGroupCommand ;;
  console-consumer) class=org.apache.kafka.tools.consumer.ConsoleConsumer ;;
  console-producer) class=org.apache.kafka.tools.ConsoleProducer ;;
  broker-api-versions) class=org.apache.kafka.tools.BrokerApiVersionsCommand ;;
  metadata-quorum) class=org.apache.kafka.tools.MetadataQuorumCommand ;;
  storage) class=kafka.tools.StorageTool ;;
  *)
    echo "usage: kafka {topics|acls|configs|consumer-groups|console-consumer|console-producer|broker-api-versions|metadata-quorum|storage} [options]" >&2
    exit 2
    ;;
esac
args=("$@")
if [ "$tool" != storage ] && [[ " $* " != *" --bootstrap-server "* ]]; then
  args=(--bootstrap-server "127.0.0.1:${KAFKA_PORT:-9092}" "${args[@]}")
fi
exec java -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:-UsePerfData --sun-misc-unsafe-memory-access=allow \
  -Dlog4j2.configurationFile=/opt/kafka/config/tools-log4j2.properties -cp '/opt/kafka/libs/*' "$class" "${args[@]}"
SH
  chmod 0755 "$root$home/bin/"*

  # The broker logs to the console (the container's log), like the apache/kafka image.
  cat >"$root$home/config/log4j2.properties" <<'PROPS'
appender.stdout.type=Console
appender.stdout.name=STDOUT
appender.stdout.layout.type=PatternLayout
appender.stdout.layout.pattern=[%d] %p %m (%c)%n
rootLogger.level=INFO
rootLogger.appenderRef.stdout.ref=STDOUT
logger.statechange.name=state.change.logger
logger.statechange.level=WARN
logger.request.name=kafka.request.logger
logger.request.level=WARN
PROPS
  cat >"$root$home/config/tools-log4j2.properties" <<'PROPS'
appender.stderr.type=Console
appender.stderr.name=STDERR
appender.stderr.target=SYSTEM_ERR
appender.stderr.layout.type=PatternLayout
appender.stderr.layout.pattern=[%d] %p %m (%c)%n
rootLogger.level=WARN
rootLogger.appenderRef.stderr.ref=STDERR
PROPS

  groupadd --root "$root" --gid "$KAFKA_UID" kafka
  useradd --root "$root" --uid "$KAFKA_UID" --gid kafka --home-dir /var/lib/kafka --no-create-home \
    --shell /usr/sbin/nologin kafka
  chown "$KAFKA_UID:$KAFKA_UID" "$root/var/lib/kafka"

  log "importing $KAFKA_IMAGE"
  import_image "$root" "$KAFKA_IMAGE" \
    --change 'ENV PATH=/opt/kafka/bin:/opt/java/openjdk/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change "ENV KAFKA_VERSION=$KAFKA_VERSION" \
    --change "USER $KAFKA_UID:$KAFKA_UID" \
    --change 'WORKDIR /opt/kafka' \
    --change 'EXPOSE 9092' \
    --change 'ENTRYPOINT ["/opt/kafka/bin/kafka-entrypoint"]' \
    --change 'CMD []'
}

build_apicurio() {
  local root="$work/apicurio" run=/opt/jboss/container/java/run
  new_root "$root"
  # As the official Dockerfile does: the `all` tar.gz unpacked into /deployments, owned 1001:0, ug=rwx.
  mkdir -p "$root/deployments" "$root$run"
  cp -a "$stack_dir/apicurio-$APICURIO_VERSION/." "$root/deployments/"
  chown -R "$APICURIO_UID:0" "$root/deployments"
  chmod -R ug=rwx "$root/deployments"

  cat >"$root$run/run-java.sh" <<'SH'
#!/bin/bash
# Stand-in for the UBI OpenJDK images' run-java.sh, reduced to what the Apicurio image uses: from
# JAVA_APP_DIR, java ${JAVA_OPTS-<container defaults> $JAVA_OPTS_APPEND} -jar quarkus-run.jar.
# As upstream, JAVA_OPTS replaces every default (JAVA_OPTS_APPEND is then ignored), and
# JAVA_MAX_MEM_RATIO (80, 0 = unset) and GC_CONTAINER_OPTIONS (-XX:+UseParallelGC) tune the defaults.
set -eo pipefail
defaults=()
[ "${JAVA_MAX_MEM_RATIO:-}" = 0 ] || defaults+=("-XX:MaxRAMPercentage=${JAVA_MAX_MEM_RATIO:-80.0}")
# shellcheck disable=SC2206 # option lists, split on blanks as upstream does
defaults+=(${GC_CONTAINER_OPTIONS:--XX:+UseParallelGC} "-XX:MinHeapFreeRatio=${GC_MIN_HEAP_FREE_RATIO:-10}"
  "-XX:MaxHeapFreeRatio=${GC_MAX_HEAP_FREE_RATIO:-20}" "-XX:GCTimeRatio=${GC_TIME_RATIO:-4}"
  "-XX:AdaptiveSizePolicyWeight=${GC_ADAPTIVE_SIZE_POLICY_WEIGHT:-90}" -XX:+ExitOnOutOfMemoryError)
if [ -n "${JAVA_OPTS+set}" ]; then
  # shellcheck disable=SC2206
  opts=($JAVA_OPTS)
else
  # shellcheck disable=SC2206
  opts=("${defaults[@]}" ${JAVA_OPTS_APPEND:-})
fi
cd "${JAVA_APP_DIR:-/deployments}"
echo "INFO exec -a java java ${opts[*]} -cp . -jar ${JAVA_APP_JAR:-quarkus-run.jar} $*" >&2
exec -a java java "${opts[@]}" -cp . -jar "${JAVA_APP_JAR:-quarkus-run.jar}" "$@"
SH
  chmod 0755 "$root$run/run-java.sh"

  log "importing $APICURIO_IMAGE (a stand-in for the official image)"
  import_image "$root" "$APICURIO_IMAGE" \
    --change 'ENV JAVA_APP_DIR=/deployments' \
    --change 'ENV JAVA_OPTIONS="-Dquarkus.http.host=0.0.0.0 -Djava.util.logging.manager=org.jboss.logmanager.LogManager"' \
    --change "USER $APICURIO_UID" \
    --change 'WORKDIR /deployments' \
    --change 'EXPOSE 8080' --change 'EXPOSE 8443' --change 'EXPOSE 9000' \
    --change "CMD [\"$run/run-java.sh\"]"
}

started=$SECONDS
make_rootfs "$SUITE" "$rootfs_tar"
fetch_stack
make_jre
for ref in "${todo[@]}"; do
  case "$ref" in
    "$KAFKA_IMAGE") build_kafka ;;
    "$APICURIO_IMAGE") build_apicurio ;;
  esac
done
log "fixture images built in $((SECONDS - started)) s"
