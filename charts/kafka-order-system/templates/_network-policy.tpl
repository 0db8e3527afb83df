{{/* kafka-order-system.egressToDependencies: egress rules of the app pods: DNS, the brokers, the registry and extraEgress. */}}
{{- define "kafka-order-system.egressToDependencies" -}}
- ports:
    - port: 53
      protocol: UDP
    - port: 53
      protocol: TCP
{{- if .Values.kafka.enabled }}
- to:
    - podSelector:
        matchLabels:
          strimzi.io/cluster: {{ include "kafka-order-system.clusterName" . }}
          strimzi.io/kind: Kafka
  ports:
    - port: {{ include "kafka-order-system.kafkaPort" . }}
      protocol: TCP
{{- end }}
{{- if .Values.schemaRegistry.enabled }}
- to:
    - podSelector:
        matchLabels:
          {{- include "kafka-order-system.selectorLabels" (dict "ctx" . "component" "schema-registry") | nindent 10 }}
  ports:
    - port: {{ int .Values.schemaRegistry.port }}
      protocol: TCP
{{- end }}
{{- with .Values.networkPolicy.extraEgress }}
{{ toYaml . }}
{{- end }}
{{- end }}
