# Images of kafka-order-system: two build targets over one runtime stage.
#
#   docker build --target consumer -t kafka-order-system-consumer .
#   docker build --target producer -t kafka-order-system-producer .
#
# Both targets hold the same files; they differ only in ENTRYPOINT, EXPOSE and
# labels, so Kubernetes and compose run either one without a command override.
# The compose topic-init service and the Helm hook reuse an image with
# `entrypoint: ["node", "dist/cli/create-topics.js"]`.

# Node 24 is the active LTS line; pinned to the exact release so a rebuild
# cannot silently change the runtime. Bump it together with docs/containers.md.
ARG NODE_IMAGE=node:24.21.0-bookworm-slim

# ---- deps: every dependency, for the TypeScript build -------------------------
FROM ${NODE_IMAGE} AS deps
# pipefail: a failing step of the pipe below must fail the build.
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
WORKDIR /app
COPY package.json package-lock.json ./
COPY patches ./patches
# --ignore-scripts: no dependency needs an install script, and none should run
# with the build's privileges. Our own postinstall step, patch-package, runs
# explicitly instead: it fixes kafkajs's read_committed filter (see patches/).
# Then the files the patches touch (their `+++ b/node_modules/...` paths) are
# gathered in /patched, for the runtime stage to lay over its own install. A
# patch that deletes a file cannot be carried that way, so it fails the build.
RUN npm ci --ignore-scripts --no-audit --no-fund \
 && npx patch-package --error-on-fail \
 && if grep -q '^+++ /dev/null' patches/*.patch; then echo 'a patch deletes a file' >&2; exit 1; fi \
 && mkdir /patched \
 && sed -n 's|^+++ b/\(node_modules/.*\)$|\1|p' patches/*.patch | sort -u | xargs cp --parents -t /patched

# ---- build: compile src/ to dist/ --------------------------------------------
FROM deps AS build
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# ---- runtime: production dependencies and compiled code only -----------------
FROM ${NODE_IMAGE} AS runtime
# Declared before the first FROM, NODE_IMAGE is visible to FROM lines only;
# this re-declaration (default inherited) makes it visible to the label below.
ARG NODE_IMAGE
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="kafka-order-system" \
      org.opencontainers.image.description="Order processing on Apache Kafka: Avro via a schema registry, retries, a dead-letter queue and Prometheus metrics." \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.base.name="docker.io/library/${NODE_IMAGE}"
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only, installed here from the lockfile. The
# postinstall (patch-package, a dev tool) cannot run, hence --ignore-scripts.
# Nothing of npm's own stays: its cache and logs go to /tmp/npm-cache, and the
# compile cache Node keeps for npm to /tmp/node-compile-cache; both are deleted.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund --cache /tmp/npm-cache \
 && rm -rf /tmp/npm-cache /tmp/node-compile-cache
# The kafkajs patch: the patched files from deps, same lockfile, same versions.
COPY --from=deps /patched/node_modules ./node_modules
COPY schemas ./schemas
COPY --from=build /app/dist ./dist
# Files stay root-owned and read-only to the app user: the process can change
# nothing in /app, which is what lets the root filesystem be mounted read-only.
# Only /tmp needs to be writable (a tmpfs in compose and Kubernetes).
USER 10001:10001
# Exec form: node is PID 1 and receives SIGTERM itself; the app handles it
# (graceful shutdown bounded by SHUTDOWN_TIMEOUT_MS), so no init is needed.
STOPSIGNAL SIGTERM

# ---- consumer: long-running Deployment ---------------------------------------
FROM runtime AS consumer
LABEL org.opencontainers.image.title="kafka-order-system-consumer"
# V8 sizes its heap from the memory it sees: on a large host, young generation semi-spaces of up to
# 64 MB and an old generation that grows to 4x its live size before it is collected, which made the
# consumer's peak RSS 200-460 MB for a live heap of ~40 MB. 2 MB semi-spaces and a 192 MB old space
# (half the chart's 384 Mi limit; a limit this small also makes V8 grow the heap by only 1.3x between
# major collections) keep it under 150 MB over the bench's run on any host (docs/performance.md,
# Memory). In NODE_OPTIONS, not the ENTRYPOINT, so a larger memory limit can come with its own.
ENV NODE_OPTIONS="--max-semi-space-size=2 --max-old-space-size=192"
EXPOSE 9464
ENTRYPOINT ["node", "--enable-source-maps", "dist/cli/consumer.js"]

# ---- producer: one-shot Job; flags go after the image name -------------------
# docker run --rm IMAGE --count 1000 --rate 50 --invalid-ratio 0.1
FROM runtime AS producer
LABEL org.opencontainers.image.title="kafka-order-system-producer"
EXPOSE 9465
ENTRYPOINT ["node", "--enable-source-maps", "dist/cli/producer.js"]
