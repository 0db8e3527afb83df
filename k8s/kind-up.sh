#!/usr/bin/env bash
# One command from nothing to a running kafka-order-system on kind:
#   1. create the kind cluster (k8s/kind-config.yaml)
#   2. install the Strimzi operator 1.2.0 and kube-prometheus-stack (k8s/kube-prometheus-stack-values.yaml)
#   3. build the consumer and producer images and load them into kind
#   4. helm install charts/kafka-order-system
#   5. wait for Kafka, the schema registry and the consumers
#   6. run the producer Job (a helm upgrade that enables it) and `helm test`
#   7. print how to open Grafana and how to scale the consumers
#
# Needs docker, kind, kubectl and helm (3.18+ or 4) on a machine with internet access.
# Usage: k8s/kind-up.sh              (every step; re-running skips what already exists)
#        ORDER_COUNT=5000 ORDER_RATE=100 k8s/kind-up.sh
# Settings (environment): KIND_CLUSTER, NAMESPACE, RELEASE, ORDER_COUNT, ORDER_RATE, KPS_VERSION,
# SKIP_MONITORING=1 (no kube-prometheus-stack), SKIP_BUILD=1 (images already loaded).
set -Eeuo pipefail
trap 'echo "kind-up: failed at line $LINENO: $BASH_COMMAND" >&2' ERR

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CHART="$ROOT/charts/kafka-order-system"
CLUSTER="${KIND_CLUSTER:-kafka-order-system}"
NAMESPACE="${NAMESPACE:-orders}"
RELEASE="${RELEASE:-orders}"
ORDER_COUNT="${ORDER_COUNT:-1000}"
ORDER_RATE="${ORDER_RATE:-50}"
STRIMZI_VERSION=1.2.0
# Empty = the newest kube-prometheus-stack; set KPS_VERSION to pin one.
KPS_VERSION="${KPS_VERSION:-}"
MONITORING_NS=monitoring
STRIMZI_NS=strimzi

step() { printf '\n==> %s\n' "$*"; }

for tool in docker kind kubectl helm; do
  command -v "$tool" >/dev/null || { echo "kind-up: $tool is required (see docs/kubernetes.md)" >&2; exit 1; }
done

TAG="$(sed -n 's/^appVersion: *//p' "$CHART/Chart.yaml" | tr -d "\"'")"
FULLNAME="$RELEASE-kafka-order-system"
KAFKA="$RELEASE-kafka"

# Helm 4 applies server-side: after a `kubectl scale` of the consumers, kubectl owns .spec.replicas and an upgrade
# conflicts on it. This script's own upgrades take the field back (the replicas return to the chart's value), so a
# re-run does not stop there; --server-side=true also moves a release installed by Helm 3 to server-side apply.
upgrade_args=()
case "$(helm version --template '{{.Version}}' 2>/dev/null)" in
  v3.*) ;;
  *) upgrade_args=(--server-side=true --force-conflicts) ;;
esac

step "1/7 kind cluster $CLUSTER"
if kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
  echo "exists"
else
  kind create cluster --name "$CLUSTER" --config "$ROOT/k8s/kind-config.yaml" --wait 120s
fi
kubectl config use-context "kind-$CLUSTER" >/dev/null

step "2/7 Strimzi operator $STRIMZI_VERSION and kube-prometheus-stack"
helm upgrade --install strimzi oci://quay.io/strimzi-helm/strimzi-kafka-operator \
  --version "$STRIMZI_VERSION" --namespace "$STRIMZI_NS" --create-namespace \
  --set watchAnyNamespace=true --wait --timeout 10m
if [ "${SKIP_MONITORING:-0}" != 1 ]; then
  helm repo add prometheus-community https://prometheus-community.github.io/helm-charts >/dev/null 2>&1 || true
  helm repo update prometheus-community >/dev/null
  kps_version_args=()
  [ -n "$KPS_VERSION" ] && kps_version_args=(--version "$KPS_VERSION")
  helm upgrade --install monitoring prometheus-community/kube-prometheus-stack "${kps_version_args[@]}" \
    --namespace "$MONITORING_NS" --create-namespace \
    --values "$ROOT/k8s/kube-prometheus-stack-values.yaml" --wait --timeout 15m
fi

step "3/7 images kafka-order-system-{consumer,producer}:$TAG"
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  for target in consumer producer; do
    docker build --target "$target" --tag "kafka-order-system-$target:$TAG" "$ROOT"
    kind load docker-image --name "$CLUSTER" "kafka-order-system-$target:$TAG"
  done
fi

step "4/7 helm install $RELEASE (namespace $NAMESPACE)"
# The producer Job comes in step 6, once everything it talks to is ready.
helm upgrade --install "$RELEASE" "$CHART" --namespace "$NAMESPACE" --create-namespace "${upgrade_args[@]}" \
  --set producer.enabled=false

step "5/7 waiting for Kafka, the schema registry and the consumers"
kubectl -n "$NAMESPACE" wait "kafka/$KAFKA" --for=condition=Ready --timeout=15m
kubectl -n "$NAMESPACE" wait kafkatopic -l "app.kubernetes.io/instance=$RELEASE" --for=condition=Ready --timeout=5m
kubectl -n "$NAMESPACE" rollout status "deployment/$FULLNAME-schema-registry" --timeout=10m
kubectl -n "$NAMESPACE" rollout status "deployment/$FULLNAME-consumer" --timeout=10m

step "6/7 producer Job: $ORDER_COUNT orders at $ORDER_RATE/s, then helm test"
helm upgrade "$RELEASE" "$CHART" --namespace "$NAMESPACE" --reuse-values "${upgrade_args[@]}" \
  --set producer.enabled=true --set "producer.count=$ORDER_COUNT" --set "producer.rate=$ORDER_RATE"
# Each upgrade creates a new Job (named after the release revision); take the newest.
job="$(kubectl -n "$NAMESPACE" get job -o name --sort-by=.metadata.creationTimestamp \
  -l "app.kubernetes.io/instance=$RELEASE,app.kubernetes.io/component=producer" | tail -n 1)"
kubectl -n "$NAMESPACE" wait "$job" --for=condition=Complete --timeout=30m
kubectl -n "$NAMESPACE" logs "$job" --tail=5
helm test "$RELEASE" --namespace "$NAMESPACE" --logs

step "7/7 done"
# A broker pod (Strimzi names them <cluster>-<node pool>-<id>; the chart's node pool is "<release>-dual-role").
kafka_pod="$(kubectl -n "$NAMESPACE" get pod -l "strimzi.io/name=$KAFKA-kafka" -o jsonpath='{.items[0].metadata.name}')"
cat <<EOF
Grafana (user admin, password admin; dashboard "kafka-order-system"):
  kubectl -n $MONITORING_NS port-forward svc/monitoring-grafana 3000:80
  open http://localhost:3000
Prometheus:
  kubectl -n $MONITORING_NS port-forward svc/monitoring-kube-prometheus-prometheus 9090
Scale the consumers (up to the 3 partitions of "orders"; the chart refuses more, they would sit idle):
  helm upgrade $RELEASE $CHART -n $NAMESPACE --reuse-values --set consumer.replicas=2 --set producer.enabled=false
  (kubectl -n $NAMESPACE scale deployment/$FULLNAME-consumer --replicas=2 works too, but under Helm 4 the next
  helm upgrade then fails with a conflict on .spec.replicas: pass it --force-conflicts, which resets the replicas
  to the chart's value, or scale with helm as above)
Send more orders:
  helm upgrade $RELEASE $CHART -n $NAMESPACE --reuse-values --set producer.enabled=true \\
    --set producer.count=5000 --set producer.rate=200
Read the dead-letter topic:
  kubectl -n $NAMESPACE exec -it $kafka_pod -- /opt/kafka/bin/kafka-console-consumer.sh \\
    --bootstrap-server localhost:9092 --topic orders-dlq --from-beginning \\
    --formatter-property print.headers=true --formatter-property print.key=true
Tear down:
  kind delete cluster --name $CLUSTER
EOF
