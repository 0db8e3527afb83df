{{/* kafka-order-system.name: the chart name, or nameOverride. */}}
{{- define "kafka-order-system.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* kafka-order-system.fullname: "<release>-<chart>", shortened to the release name when it already holds the chart name. */}}
{{- define "kafka-order-system.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* kafka-order-system.chart: chart name and version, for the helm.sh/chart label. */}}
{{- define "kafka-order-system.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* kafka-order-system.selectorLabels: the immutable labels that select one component's pods; pass (dict "ctx" $ "component" "x"). */}}
{{- define "kafka-order-system.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kafka-order-system.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* kafka-order-system.labels: the standard app.kubernetes.io labels of one component; pass (dict "ctx" $ "component" "x"). */}}
{{- define "kafka-order-system.labels" -}}
helm.sh/chart: {{ include "kafka-order-system.chart" .ctx }}
{{ include "kafka-order-system.selectorLabels" . }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
app.kubernetes.io/part-of: kafka-order-system
{{- end }}

{{/* kafka-order-system.clusterName: name of the Strimzi Kafka resource. */}}
{{- define "kafka-order-system.clusterName" -}}
{{- default (printf "%s-kafka" .Release.Name) .Values.kafka.clusterName | trunc 40 | trimSuffix "-" }}
{{- end }}

{{/* kafka-order-system.replicationFactor: replication of every topic, following the node count (at most 3). */}}
{{- define "kafka-order-system.replicationFactor" -}}
{{- min 3 (int .Values.kafka.nodePool.replicas) }}
{{- end }}

{{/* kafka-order-system.minInsyncReplicas: one less than the replication factor, at least 1, so one node may be down. */}}
{{- define "kafka-order-system.minInsyncReplicas" -}}
{{- max 1 (sub (int (include "kafka-order-system.replicationFactor" .)) 1) }}
{{- end }}

{{/* kafka-order-system.nodePoolName: name of the KafkaNodePool. The default holds the release name, so two releases in
one namespace never share one. Strimzi names the pods "<cluster>-<pool>-<node id>", which must fit a DNS label (63
characters; node ids of up to 3 digits are allowed for), so a release name too long for that is cut and followed by a
hash of it; the name never depends on the replicas. Fails when an explicit name does not fit. */}}
{{- define "kafka-order-system.nodePoolName" -}}
{{- $cluster := include "kafka-order-system.clusterName" . }}
{{- $room := int (sub 63 (add (len $cluster) 1 (len "-999"))) }}
{{- $name := .Values.kafka.nodePool.name }}
{{- if not $name }}
{{- $name = printf "%s-dual-role" .Release.Name }}
{{- if gt (len $name) $room }}
{{- $prefix := .Release.Name | trunc (int (sub $room 17)) | trimSuffix "-" }}
{{- $name = printf "%s-%s-dual-role" $prefix (sha256sum .Release.Name | trunc 6) | trimPrefix "-" }}
{{- end }}
{{- end }}
{{- if gt (len $name) $room }}
{{- fail (printf "the Kafka pod names %s-%s-<id> would exceed 63 characters, the limit of a pod's hostname: shorten kafka.nodePool.name or kafka.clusterName" $cluster $name) }}
{{- end }}
{{- $name }}
{{- end }}

{{/* The three switches of the secured default (TLS listener, SCRAM with ACLs, NetworkPolicies): "true" or empty.
development.plaintext turns all three off at once, for a plaintext development setup. */}}
{{- define "kafka-order-system.listenerTls" -}}
{{- if and .Values.kafka.listener.tls (not .Values.development.plaintext) }}true{{ end }}
{{- end }}
{{- define "kafka-order-system.authEnabled" -}}
{{- if and .Values.kafka.auth.enabled (not .Values.development.plaintext) }}true{{ end }}
{{- end }}
{{- define "kafka-order-system.networkPolicyEnabled" -}}
{{- if and .Values.networkPolicy.enabled (not .Values.development.plaintext) }}true{{ end }}
{{- end }}

{{/* kafka-order-system.listenerName: name of the Strimzi listener the clients use; defaults to "tls" or "plain". */}}
{{- define "kafka-order-system.listenerName" -}}
{{- default (ternary "tls" "plain" (eq (include "kafka-order-system.listenerTls" .) "true")) .Values.kafka.listener.name }}
{{- end }}

{{/* kafka-order-system.kafkaPort: port of the listener the clients use; defaults to 9093 with TLS, 9092 without. */}}
{{- define "kafka-order-system.kafkaPort" -}}
{{- if kindIs "invalid" .Values.kafka.listener.port }}
{{- if (include "kafka-order-system.listenerTls" .) }}9093{{ else }}9092{{ end }}
{{- else }}
{{- int .Values.kafka.listener.port }}
{{- end }}
{{- end }}

{{/* kafka-order-system.bootstrapService: the Service in front of the listener; Strimzi names it
"<cluster>-kafka-bootstrap" for an internal listener and "<cluster>-kafka-<listener>-bootstrap" for a cluster-ip one. */}}
{{- define "kafka-order-system.bootstrapService" -}}
{{- $cluster := include "kafka-order-system.clusterName" . }}
{{- if eq .Values.kafka.listener.type "cluster-ip" }}
{{- printf "%s-kafka-%s-bootstrap" $cluster (include "kafka-order-system.listenerName" .) }}
{{- else }}
{{- printf "%s-kafka-bootstrap" $cluster }}
{{- end }}
{{- end }}

{{/* kafka-order-system.bootstrapServers: KAFKA_BROKERS of the app, the registry and KEDA. */}}
{{- define "kafka-order-system.bootstrapServers" -}}
{{- if .Values.kafka.enabled }}
{{- printf "%s:%s" (include "kafka-order-system.bootstrapService" .) (include "kafka-order-system.kafkaPort" .) }}
{{- else }}
{{- required "kafka.external.bootstrapServers is required when kafka.enabled=false" .Values.kafka.external.bootstrapServers }}
{{- end }}
{{- end }}

{{/* kafka-order-system.saslMechanism: KAFKA_SASL_MECHANISM of the app. */}}
{{- define "kafka-order-system.saslMechanism" -}}
{{- if .Values.kafka.enabled }}
{{- if (include "kafka-order-system.authEnabled" .) }}scram-sha-512{{ else }}none{{ end }}
{{- else }}
{{- .Values.kafka.external.saslMechanism }}
{{- end }}
{{- end }}

{{/* kafka-order-system.tls: "true" when the clients connect over TLS. */}}
{{- define "kafka-order-system.tls" -}}
{{- if .Values.kafka.enabled }}{{ eq (include "kafka-order-system.listenerTls" .) "true" }}{{ else }}{{ .Values.kafka.external.tls }}{{ end }}
{{- end }}

{{/* kafka-order-system.producerUser: KafkaUser (and SASL user) of the producer Job and the helm test pod. */}}
{{- define "kafka-order-system.producerUser" -}}
{{- printf "%s-producer" (include "kafka-order-system.fullname" .) }}
{{- end }}

{{/* kafka-order-system.consumerUser: KafkaUser (and SASL user) of the consumer, its DLQ reader and KEDA. */}}
{{- define "kafka-order-system.consumerUser" -}}
{{- printf "%s-consumer" (include "kafka-order-system.fullname" .) }}
{{- end }}

{{/* kafka-order-system.saslUsername: the SASL user of one process; pass (dict "ctx" $ "role" "producer"|"consumer").
On the Strimzi cluster it is that role's KafkaUser; on an external cluster kafka.external.<role>.username, else the
shared kafka.external.username. */}}
{{- define "kafka-order-system.saslUsername" -}}
{{- $kafka := .ctx.Values.kafka }}
{{- if $kafka.enabled }}
{{- include (printf "kafka-order-system.%sUser" .role) .ctx }}
{{- else }}
{{- $own := (index $kafka.external .role | default dict).username }}
{{- required (printf "kafka.external.username (or kafka.external.%s.username) is required when kafka.external.saslMechanism is set" .role) (default $kafka.external.username $own) }}
{{- end }}
{{- end }}

{{/* kafka-order-system.saslPasswordSecret: "name" and "key" (YAML) of the Secret with one process's SASL password;
pass (dict "ctx" $ "role" "producer"|"consumer"). On the Strimzi cluster it is the Secret the User Operator writes for
the role's KafkaUser; on an external cluster kafka.external.<role>.passwordSecret, each empty field falling back to
kafka.external.passwordSecret. */}}
{{- define "kafka-order-system.saslPasswordSecret" -}}
{{- $kafka := .ctx.Values.kafka }}
{{- if $kafka.enabled }}
name: {{ include (printf "kafka-order-system.%sUser" .role) .ctx }}
key: password
{{- else }}
{{- $shared := $kafka.external.passwordSecret }}
{{- $own := (index $kafka.external .role | default dict).passwordSecret | default dict }}
name: {{ required (printf "kafka.external.passwordSecret.name (or kafka.external.%s.passwordSecret.name) is required when kafka.external.saslMechanism is set" .role) (default $shared.name $own.name) }}
key: {{ default $shared.key $own.key }}
{{- end }}
{{- end }}

{{/* kafka-order-system.dlqReaderUser: KafkaUser of whoever reads the dead letters (npm run dlq, the console consumer). */}}
{{- define "kafka-order-system.dlqReaderUser" -}}
{{- printf "%s-dlq-reader" (include "kafka-order-system.fullname" .) }}
{{- end }}

{{/* kafka-order-system.kedaUser: KafkaUser KEDA reads the consumer group's lag with. */}}
{{- define "kafka-order-system.kedaUser" -}}
{{- printf "%s-keda" (include "kafka-order-system.fullname" .) }}
{{- end }}

{{/* kafka-order-system.kedaRole: whose credentials KEDA uses: its own KafkaUser on the Strimzi cluster; the consumer's
on an external cluster, whose principals the chart does not manage. */}}
{{- define "kafka-order-system.kedaRole" -}}
{{- ternary "keda" "consumer" .Values.kafka.enabled }}
{{- end }}

{{/* kafka-order-system.registryUser: KafkaUser of the schema registry. */}}
{{- define "kafka-order-system.registryUser" -}}
{{- printf "%s-schema-registry" (include "kafka-order-system.fullname" .) }}
{{- end }}

{{/* kafka-order-system.registryName: name of the registry Deployment and Service. */}}
{{- define "kafka-order-system.registryName" -}}
{{- printf "%s-schema-registry" (include "kafka-order-system.fullname" .) }}
{{- end }}

{{/* kafka-order-system.registryUrl: SCHEMA_REGISTRY_URL of the app. */}}
{{- define "kafka-order-system.registryUrl" -}}
{{- if .Values.schemaRegistry.enabled }}
{{- printf "http://%s:%d%s" (include "kafka-order-system.registryName" .) (int .Values.schemaRegistry.port) (ternary "/apis/ccompat/v7" "" (eq .Values.schemaRegistry.implementation "apicurio")) }}
{{- else }}
{{- required "schemaRegistry.url is required when schemaRegistry.enabled=false" .Values.schemaRegistry.url }}
{{- end }}
{{- end }}

{{/* kafka-order-system.registryPodSecurityContext: schemaRegistry.podSecurityContext, checked: the Confluent image
names its user (USER appuser), so the kubelet refuses runAsNonRoot unless runAsUser gives a numeric, non-zero uid. */}}
{{- define "kafka-order-system.registryPodSecurityContext" -}}
{{- $context := .Values.schemaRegistry.podSecurityContext | default dict }}
{{- if $context.runAsNonRoot }}
{{- if kindIs "invalid" $context.runAsUser }}
{{- fail "schemaRegistry.podSecurityContext.runAsNonRoot=true needs a numeric runAsUser: the Confluent image runs as the user name appuser (uid 1000), which the kubelet cannot verify as non-root. Set schemaRegistry.podSecurityContext.runAsUser (1000 for the Confluent images), or runAsNonRoot=false where the platform assigns the uid." }}
{{- else if le (int $context.runAsUser) 0 }}
{{- fail (printf "schemaRegistry.podSecurityContext.runAsUser=%v contradicts runAsNonRoot=true" $context.runAsUser) }}
{{- end }}
{{- end }}
{{- toYaml $context }}
{{- end }}

{{/* kafka-order-system.serviceAccountName: ServiceAccount of the app pods. */}}
{{- define "kafka-order-system.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "kafka-order-system.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* kafka-order-system.image: "repository:tag" of an app image; pass (dict "ctx" $ "image" .Values.consumer.image). */}}
{{- define "kafka-order-system.image" -}}
{{- printf "%s:%s" .image.repository (default .ctx.Chart.AppVersion .image.tag) }}
{{- end }}

{{/* kafka-order-system.ordersPartitions: partitions of the orders topic. */}}
{{- define "kafka-order-system.ordersPartitions" -}}
{{- int .Values.topics.orders.partitions }}
{{- end }}

{{/* kafka-order-system.consumerReplicas: consumer replicas, defaulting to the orders partitions; fails when idle consumers would result. */}}
{{- define "kafka-order-system.consumerReplicas" -}}
{{- $partitions := int (include "kafka-order-system.ordersPartitions" .) }}
{{- $replicas := $partitions }}
{{- if not (kindIs "invalid" .Values.consumer.replicas) }}
{{- $replicas = int .Values.consumer.replicas }}
{{- end }}
{{- if and (gt $replicas $partitions) (not .Values.consumer.allowIdleConsumers) }}
{{- fail (printf "consumer.replicas=%d exceeds the %d partitions of topic %q: each partition goes to one consumer of the group, so %d consumer(s) would sit idle. Lower consumer.replicas, raise topics.orders.partitions, or set consumer.allowIdleConsumers=true to keep idle standbys." $replicas $partitions .Values.topics.orders.name (sub $replicas $partitions)) }}
{{- end }}
{{- $replicas }}
{{- end }}

{{/* kafka-order-system.maxConsumerReplicas: the autoscaler's ceiling, defaulting to the orders partitions; fails above them. */}}
{{- define "kafka-order-system.maxConsumerReplicas" -}}
{{- $partitions := int (include "kafka-order-system.ordersPartitions" .) }}
{{- $max := $partitions }}
{{- if not (kindIs "invalid" .Values.consumer.autoscaling.maxReplicas) }}
{{- $max = int .Values.consumer.autoscaling.maxReplicas }}
{{- end }}
{{- if and (gt $max $partitions) (not .Values.consumer.allowIdleConsumers) }}
{{- fail (printf "consumer.autoscaling.maxReplicas=%d exceeds the %d partitions of topic %q: replicas beyond the partition count get no partition and sit idle. Lower it, raise topics.orders.partitions, or set consumer.allowIdleConsumers=true." $max $partitions .Values.topics.orders.name) }}
{{- end }}
{{- if lt $max (int .Values.consumer.autoscaling.minReplicas) }}
{{- fail (printf "consumer.autoscaling.minReplicas=%d exceeds consumer.autoscaling.maxReplicas=%d" (int .Values.consumer.autoscaling.minReplicas) $max) }}
{{- end }}
{{- $max }}
{{- end }}

{{/* kafka-order-system.prometheusOperator: "true" when the Prometheus Operator objects are rendered. */}}
{{- define "kafka-order-system.prometheusOperator" -}}
{{- $mode := toString .Values.monitoring.prometheusOperator }}
{{- if eq $mode "true" }}true
{{- else if and (eq $mode "auto") (.Capabilities.APIVersions.Has "monitoring.coreos.com/v1") }}true
{{- end }}
{{- end }}

{{/* kafka-order-system.appEnv: the environment every app container shares (Kafka, registry, topics, logging), with
the SASL credentials of one process; pass (dict "ctx" $ "role" "producer"|"consumer"). */}}
{{- define "kafka-order-system.appEnv" -}}
{{- $role := .role }}
{{- with .ctx -}}
- name: KAFKA_BROKERS
  value: {{ include "kafka-order-system.bootstrapServers" . | quote }}
- name: KAFKA_CLIENT_ID
  value: {{ .Values.app.clientId | quote }}
- name: SCHEMA_REGISTRY_URL
  value: {{ include "kafka-order-system.registryUrl" . | quote }}
- name: SCHEMA_REGISTRY_TIMEOUT_MS
  value: {{ .Values.app.registryTimeoutMs | quote }}
- name: KAFKA_REQUEST_TIMEOUT_MS
  value: {{ .Values.app.kafkaRequestTimeoutMs | quote }}
- name: ORDERS_TOPIC
  value: {{ .Values.topics.orders.name | quote }}
- name: DLQ_TOPIC
  value: {{ .Values.topics.dlq.name | quote }}
- name: STATS_TOPIC
  value: {{ .Values.topics.stats.name | quote }}
- name: DLQ_REDRIVE_TOPIC
  value: {{ .Values.topics.redrive.name | quote }}
- name: HTTP_HOST
  value: "0.0.0.0"
- name: SHUTDOWN_TIMEOUT_MS
  value: {{ .Values.app.shutdownTimeoutMs | quote }}
- name: LOG_LEVEL
  value: {{ .Values.app.logLevel | quote }}
- name: LOG_FORMAT
  value: {{ .Values.app.logFormat | quote }}
{{- with .Values.app.otlp }}
{{- if .endpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ .endpoint | quote }}
{{- end }}
- name: OTEL_TRACES_SAMPLER
  value: {{ .sampler | quote }}
- name: OTEL_TRACES_SAMPLER_ARG
  value: {{ .samplerRatio | quote }}
{{- end }}
{{- $mechanism := include "kafka-order-system.saslMechanism" . }}
- name: KAFKA_SASL_MECHANISM
  value: {{ $mechanism | quote }}
{{- if ne $mechanism "none" }}
{{- if and (ne (include "kafka-order-system.tls" .) "true") (not .Values.app.allowPlaintextSasl) }}
{{- fail "SASL without TLS sends the credentials over the network unencrypted, and the app refuses it: turn TLS on (kafka.listener.tls or kafka.external.tls), or set app.allowPlaintextSasl=true for a development cluster" }}
{{- end }}
{{- if .Values.app.allowPlaintextSasl }}
- name: KAFKA_SASL_ALLOW_PLAINTEXT
  value: "true"
{{- end }}
{{- $credentials := dict "ctx" . "role" $role }}
- name: KAFKA_SASL_USERNAME
  value: {{ include "kafka-order-system.saslUsername" $credentials | quote }}
- name: KAFKA_SASL_PASSWORD
  valueFrom:
    secretKeyRef:
      {{- if .Values.kafka.enabled }}
      # Written by Strimzi's User Operator for the KafkaUser of the same name.
      {{- end }}
      {{- include "kafka-order-system.saslPasswordSecret" $credentials | trim | nindent 6 }}
{{- end }}
- name: KAFKA_TLS
  value: {{ include "kafka-order-system.tls" . | quote }}
{{- if include "kafka-order-system.caSecretName" . }}
- name: KAFKA_TLS_CA_FILE
  value: /etc/kafka-ca/ca.crt
{{- end }}
{{- with .Values.app.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}
{{- end }}

{{/* kafka-order-system.caSecretName: Secret with the brokers' CA, empty when the clients need none. */}}
{{- define "kafka-order-system.caSecretName" -}}
{{- if .Values.kafka.enabled }}
{{- if (include "kafka-order-system.listenerTls" .) }}{{ include "kafka-order-system.clusterName" . }}-cluster-ca-cert{{ end }}
{{- else if and .Values.kafka.external.tls .Values.kafka.external.caSecret.name }}
{{- .Values.kafka.external.caSecret.name }}
{{- end }}
{{- end }}

{{/* kafka-order-system.caSecretKey: key of the CA certificate in caSecretName. */}}
{{- define "kafka-order-system.caSecretKey" -}}
{{- if .Values.kafka.enabled }}ca.crt{{ else }}{{ .Values.kafka.external.caSecret.key }}{{ end }}
{{- end }}

{{/* kafka-order-system.appVolumeMounts: /tmp (the only writable path) and the Kafka CA. */}}
{{- define "kafka-order-system.appVolumeMounts" -}}
- name: tmp
  mountPath: /tmp
{{- if include "kafka-order-system.caSecretName" . }}
- name: kafka-ca
  mountPath: /etc/kafka-ca
  readOnly: true
{{- end }}
{{- end }}

{{/* kafka-order-system.appVolumes: the volumes behind appVolumeMounts. */}}
{{- define "kafka-order-system.appVolumes" -}}
- name: tmp
  emptyDir:
    sizeLimit: 64Mi
{{- with include "kafka-order-system.caSecretName" . }}
- name: kafka-ca
  secret:
    secretName: {{ . }}
    items:
      - key: {{ include "kafka-order-system.caSecretKey" $ }}
        path: ca.crt
{{- end }}
{{- end }}

{{/* kafka-order-system.podSecurityContext: non-root pod settings of the app pods (the images run as 10001). */}}
{{- define "kafka-order-system.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* kafka-order-system.containerSecurityContext: read-only root, no privilege escalation, no capabilities. */}}
{{- define "kafka-order-system.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop:
    - ALL
seccompProfile:
  type: RuntimeDefault
{{- end }}
