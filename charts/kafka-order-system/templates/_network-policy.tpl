{{/* kafka-order-system.egressToDependencies: egress rules of the app pods: DNS (networkPolicy.dnsPeers), the brokers,
the registry, the endpoints outside the release (kafka-order-system.externalEgress) and extraEgress. */}}
{{- define "kafka-order-system.egressToDependencies" -}}
- ports:
    - port: 53
      protocol: UDP
    - port: 53
      protocol: TCP
{{- with .Values.networkPolicy.dnsPeers }}
  to:
    {{- toYaml . | nindent 4 }}
{{- end }}
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
{{- include "kafka-order-system.externalEgress" . }}
{{- with .Values.networkPolicy.extraEgress }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* kafka-order-system.externalEndpoints: the endpoints outside the release that the app pods reach (an external
Kafka, an external registry, the OTLP receiver, the Pushgateway), as JSON {"items": [{what, endpoint, host, port}]}. */}}
{{- define "kafka-order-system.externalEndpoints" -}}
{{- $items := list }}
{{- if not .Values.kafka.enabled }}
{{- range $server := splitList "," (.Values.kafka.external.bootstrapServers | default "") }}
{{- $s := trim $server }}
{{- if $s }}
{{- $port := regexFind ":[0-9]+$" $s | trimPrefix ":" }}
{{- if not $port }}
{{- fail (printf "kafka.external.bootstrapServers: %q has no port (host:port)" $s) }}
{{- end }}
{{- $items = append $items (dict "what" "kafka.external.bootstrapServers" "endpoint" $s "host" (trimSuffix (printf ":%s" $port) $s | trimPrefix "[" | trimSuffix "]") "port" (int $port)) }}
{{- end }}
{{- end }}
{{- end }}
{{- $urls := list }}
{{- if and (not .Values.schemaRegistry.enabled) .Values.schemaRegistry.url }}
{{- $urls = append $urls (dict "what" "schemaRegistry.url" "url" .Values.schemaRegistry.url) }}
{{- end }}
{{- if .Values.app.otlp.endpoint }}
{{- $urls = append $urls (dict "what" "app.otlp.endpoint" "url" .Values.app.otlp.endpoint) }}
{{- end }}
{{- if .Values.producer.pushgatewayUrl }}
{{- $urls = append $urls (dict "what" "producer.pushgatewayUrl" "url" .Values.producer.pushgatewayUrl) }}
{{- end }}
{{- range $u := $urls }}
{{- $parsed := urlParse $u.url }}
{{- $port := regexFind ":[0-9]+$" $parsed.host | trimPrefix ":" }}
{{- if not $port }}
{{- $port = ternary "443" "80" (eq $parsed.scheme "https") }}
{{- end }}
{{- $items = append $items (dict "what" $u.what "endpoint" $u.url "host" $parsed.hostname "port" (int $port)) }}
{{- end }}
{{- dict "items" $items | toJson }}
{{- end }}

{{/* kafka-order-system.externalEgress: an egress rule per endpoint outside the release: to the address itself when the
host is an IPv4 address; to its port at any address when the host is a name and networkPolicy.allowEndpointPorts is
on (a NetworkPolicy cannot name a host). Otherwise an extraEgress rule must allow its port, or the render fails:
a policy that silently blocks the brokers would only show as a consumer that never connects. */}}
{{- define "kafka-order-system.externalEgress" -}}
{{- $endpoints := (include "kafka-order-system.externalEndpoints" . | fromJson).items }}
{{- $anyAddressPorts := list }}
{{- range $e := $endpoints }}
{{- if regexMatch "^[0-9]{1,3}(\\.[0-9]{1,3}){3}$" $e.host }}
- to:
    - ipBlock:
        cidr: {{ $e.host }}/32
  ports:
    - port: {{ int $e.port }}
      protocol: TCP
{{- else if $.Values.networkPolicy.allowEndpointPorts }}
{{- $anyAddressPorts = append $anyAddressPorts (int $e.port) }}
{{- else }}
{{- $covered := false }}
{{- range $rule := ($.Values.networkPolicy.extraEgress | default list) }}
{{- if not $rule.ports }}
{{- $covered = true }}
{{- end }}
{{- range $p := ($rule.ports | default list) }}
{{- if and (kindIs "float64" $p.port) (or (eq (int $p.port) (int $e.port)) (and $p.endPort (le (int $p.port) (int $e.port)) (ge (int $p.endPort) (int $e.port)))) }}
{{- $covered = true }}
{{- end }}
{{- end }}
{{- end }}
{{- if not $covered }}
{{- fail (printf "networkPolicy.enabled: the app pods could not reach %s %q (port %d): no networkPolicy.extraEgress rule allows port %d. Add one (its `to`: the destination's namespace, pods or ipBlock), or set networkPolicy.allowEndpointPorts=true to allow that port at any address, or networkPolicy.enabled=false" $e.what $e.endpoint (int $e.port) (int $e.port)) }}
{{- end }}
{{- end }}
{{- end }}
{{- with ($anyAddressPorts | uniq) }}
- ports:
    {{- range $p := . }}
    - port: {{ $p }}
      protocol: TCP
    {{- end }}
{{- end }}
{{- end }}
