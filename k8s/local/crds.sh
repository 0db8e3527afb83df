#!/usr/bin/env bash
# The CRDs the chart's objects need, for the local cluster's real API server: Strimzi 1.2.0 and the
# Prometheus Operator (../shared/schemas/k8s, unmodified upstream files) and KEDA 2.21.1 (its
# config/crd/bases, from the module zip the Go proxy serves). Applies them and waits until they are
# Established. Usage: bash k8s/local/crds.sh
set -Eeuo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=k8s/local/lib.sh
source k8s/local/lib.sh

KEDA_VERSION=v2.21.1
SHARED_CRDS="$(cd .. && pwd)/shared/schemas/k8s"
KEDA_CRDS="$K8S_CACHE/crds/keda-$KEDA_VERSION"

if [ ! -d "$SHARED_CRDS/strimzi" ] || [ ! -d "$SHARED_CRDS/prometheus-operator" ]; then
  kdie "$EXIT_MISSING_TOOL" "the Strimzi and Prometheus Operator CRDs are not at $SHARED_CRDS"
fi
if [ ! -s "$KEDA_CRDS/keda.sh_scaledobjects.yaml" ]; then
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  curl -fsS -o "$tmp/keda.zip" "$(go env GOPROXY | cut -d, -f1)/github.com/kedacore/keda/v2/@v/$KEDA_VERSION.zip" ||
    kdie "$EXIT_INSTALL_FAILED" "could not download KEDA $KEDA_VERSION from the Go module proxy"
  mkdir -p "$KEDA_CRDS"
  python3 - "$tmp/keda.zip" "$KEDA_CRDS" <<'PY'
import os, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    for name in z.namelist():
        if '/config/crd/bases/keda.sh_' in name and name.endswith('.yaml'):
            with open(os.path.join(sys.argv[2], os.path.basename(name)), 'wb') as f:
                f.write(z.read(name))
PY
fi
# Server-side apply: the Kafka CRD is too large for the last-applied annotation of a client-side apply.
for dir in "$SHARED_CRDS/strimzi" "$SHARED_CRDS/prometheus-operator" "$KEDA_CRDS"; do
  for crd in "$dir"/*.yaml; do
    grep -q '^kind: CustomResourceDefinition' "$crd" || continue
    kubectl_local apply --server-side --force-conflicts -f "$crd" >/dev/null
  done
done
kubectl_local wait --for=condition=Established crd --all --timeout=60s >/dev/null
klog "CRDs established: $(kubectl_local get crd -o name | wc -l)"
