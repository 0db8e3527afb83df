#!/usr/bin/env bash
# The release on the local cluster: an in-cluster Apache Kafka (a test fixture, k8s/local/manifests),
# the application's topics, then the chart as release `orders` in namespace `orders` (Pod Security
# `restricted`) with Apicurio Registry. Sourced by cluster.sh.

# shellcheck disable=SC2034 # read by cluster.sh
FIXTURE_IMAGES=(localhost/kos-local/kafka:4.3.1 docker.io/apicurio/apicurio-registry:3.3.3)
RELEASE=orders
RELEASE_NAMESPACE=orders
LOCAL_VALUES=k8s/local/values.yaml
KAFKA_BOOTSTRAP=kafka.kafka.svc.cluster.local:9092

helm_local() { "${HELM:-$(bash scripts/helm-binaries.sh helm)}" --kubeconfig "$KUBECONFIG_FILE" "$@"; }

restricted_namespace() { # name
  kubectl_local create namespace "$1" --dry-run=client -o yaml |
    kubectl_local label --local -f - -o yaml pod-security.kubernetes.io/enforce=restricted \
      pod-security.kubernetes.io/warn=restricted |
    kubectl_local apply -f - >/dev/null
}

install_kafka() {
  kubectl_local apply -f k8s/local/manifests/kafka.yaml >/dev/null
  kubectl_local -n kafka rollout status statefulset/kafka --timeout=180s >/dev/null ||
    kdie "$EXIT_INSTALL_FAILED" "the in-cluster Kafka did not become ready (kubectl --kubeconfig $KUBECONFIG_FILE -n kafka logs kafka-0)"
}

# The topics, made by the consumer image's create-topics entry point (as docker compose does).
create_topics() {
  local job=create-topics
  kubectl_local -n kafka delete job "$job" --ignore-not-found >/dev/null
  kubectl_local -n kafka apply -f - >/dev/null <<YAML
apiVersion: batch/v1
kind: Job
metadata: { name: $job }
spec:
  backoffLimit: 6
  template:
    spec:
      restartPolicy: Never
      automountServiceAccountToken: false
      securityContext: { runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: RuntimeDefault } }
      containers:
        - name: create-topics
          image: $CONSUMER_REF
          imagePullPolicy: Never
          command: [node, dist/cli/create-topics.js]
          env: [{ name: KAFKA_BROKERS, value: "$KAFKA_BOOTSTRAP" }]
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities: { drop: [ALL] }
YAML
  kubectl_local -n kafka wait --for=condition=complete "job/$job" --timeout=120s >/dev/null ||
    kdie "$EXIT_INSTALL_FAILED" "creating the topics failed (kubectl --kubeconfig $KUBECONFIG_FILE -n kafka logs job/$job)"
}

install_release() {
  install_kafka
  # A release that is already there stays as it is: an upgrade would start another producer Job
  # (one per revision). `helm upgrade` changes it on purpose.
  # The status is read whole first: `helm status | grep -q` under pipefail fails whenever grep exits before
  # helm has written the rest (NOTES, the last helm test), and a deployed release would be upgraded.
  local status
  status="$(helm_local status "$RELEASE" --namespace "$RELEASE_NAMESPACE" 2>/dev/null)" || status=''
  if grep -q '^STATUS: deployed$' <<<"$status"; then
    klog "release $RELEASE is already installed (helm upgrade changes it)"
  else
    create_topics
    restricted_namespace "$RELEASE_NAMESPACE"
    helm_local upgrade --install "$RELEASE" charts/kafka-order-system --namespace "$RELEASE_NAMESPACE" \
      --values "$LOCAL_VALUES" --wait --timeout 5m >"$K8S_LOGS/helm-install.log" 2>&1 || {
      tail -n 20 "$K8S_LOGS/helm-install.log" >&2
      kubectl_local -n "$RELEASE_NAMESPACE" get pods >&2 || true
      kdie "$EXIT_INSTALL_FAILED" "helm install of $RELEASE failed (log: $K8S_LOGS/helm-install.log)"
    }
  fi
  kubectl_local -n "$RELEASE_NAMESPACE" rollout status "deployment/$RELEASE-kafka-order-system-consumer" --timeout=180s >/dev/null ||
    kdie "$EXIT_INSTALL_FAILED" "the consumers did not become Ready (kubectl --kubeconfig $KUBECONFIG_FILE -n $RELEASE_NAMESPACE describe pods)"
}
