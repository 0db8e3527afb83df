import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Manifest } from '../../tools/validate-manifests.js';
import { helmTemplate, renderChart, type RenderOptions } from '../helpers/helm.js';

interface Peer {
  podSelector?: { matchLabels?: Record<string, string> };
  namespaceSelector?: { matchLabels?: Record<string, string> };
  ipBlock?: { cidr: string };
}
interface EgressRule {
  to?: Peer[];
  ports?: { port: number; protocol?: string }[];
}

/** An existing Kafka reached by name, with the chart's default NetworkPolicies. */
const EXTERNAL: Readonly<Record<string, unknown>> = {
  'kafka.enabled': false,
  'kafka.external.bootstrapServers': 'kafka-0.kafka.example.svc:9093,kafka-1.kafka.example.svc:9093',
};

function egressOf(manifests: readonly Manifest[], component: string): EgressRule[] {
  const policy = manifests.find((m) => m.kind === 'NetworkPolicy' && m.name.endsWith(`-${component}`));
  assert.ok(policy, `a NetworkPolicy for ${component}`);
  return (policy.body.spec as { egress?: EgressRule[] }).egress ?? [];
}

/** The rules that allow TCP `port`, each as "any" (no `to`) or its peers' CIDRs and selectors. */
function rulesFor(rules: readonly EgressRule[], port: number): string[] {
  return rules
    .filter((r) => r.ports === undefined || r.ports.some((p) => p.port === port))
    .map((r) => (r.to === undefined ? 'any' : JSON.stringify(r.to)));
}

function renderFails(options: RenderOptions): string {
  const result = helmTemplate(options);
  assert.equal(result.ok, false, 'the render fails');
  return result.stderr;
}

describe('chart NetworkPolicies', () => {
  test('when an external Kafka is reached by name and nothing allows it, then the render fails naming the brokers, the port and the ways out', () => {
    const stderr = renderFails({ set: EXTERNAL });
    assert.match(
      stderr,
      /kafka\.external\.bootstrapServers "kafka-0\.kafka\.example\.svc:9093" \(port 9093\)/,
    );
    assert.match(stderr, /networkPolicy\.extraEgress/);
    assert.match(stderr, /networkPolicy\.allowEndpointPorts=true/);
  });

  test("when an extraEgress rule allows the brokers' port, then the render succeeds and keeps the rule", () => {
    const rule = {
      to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kafka' } } }],
      ports: [{ port: 9093, protocol: 'TCP' }],
    };
    const manifests = renderChart({ set: { ...EXTERNAL, 'networkPolicy.extraEgress': [rule] } });
    for (const component of ['consumer', 'producer']) {
      assert.deepEqual(rulesFor(egressOf(manifests, component), 9093), [JSON.stringify(rule.to)]);
    }
  });

  test("when allowEndpointPorts is on, then each endpoint's port is allowed at any address", () => {
    const manifests = renderChart({
      set: {
        ...EXTERNAL,
        'networkPolicy.allowEndpointPorts': true,
        'app.otlp.endpoint': 'http://otel-collector.observability:4318',
        'producer.pushgatewayUrl': 'https://pushgateway.monitoring',
      },
    });
    const egress = egressOf(manifests, 'consumer');
    assert.deepEqual(rulesFor(egress, 9093), ['any']);
    assert.deepEqual(rulesFor(egress, 4318), ['any']);
    // No port in an https URL: 443.
    assert.deepEqual(rulesFor(egress, 443), ['any']);
  });

  test("when an endpoint's host is an IPv4 address, then its rule allows that address and port only", () => {
    const manifests = renderChart({
      set: {
        'kafka.enabled': false,
        'kafka.external.bootstrapServers': '10.1.2.3:9093',
        'app.otlp.endpoint': 'http://10.1.2.4:4318',
      },
    });
    const egress = egressOf(manifests, 'producer');
    assert.deepEqual(rulesFor(egress, 9093), [JSON.stringify([{ ipBlock: { cidr: '10.1.2.3/32' } }])]);
    assert.deepEqual(rulesFor(egress, 4318), [JSON.stringify([{ ipBlock: { cidr: '10.1.2.4/32' } }])]);
  });

  test('when the OTLP receiver or the Pushgateway is configured and nothing allows it, then the render fails naming it', () => {
    assert.match(
      renderFails({ set: { 'app.otlp.endpoint': 'http://otel-collector.observability:4318' } }),
      /app\.otlp\.endpoint "http:\/\/otel-collector\.observability:4318" \(port 4318\)/,
    );
    assert.match(
      renderFails({ set: { 'producer.pushgatewayUrl': 'http://pushgateway.monitoring:9091' } }),
      /producer\.pushgatewayUrl "http:\/\/pushgateway\.monitoring:9091" \(port 9091\)/,
    );
    // An extraEgress rule with a port range covers it.
    const manifests = renderChart({
      set: {
        'app.otlp.endpoint': 'http://otel-collector.observability:4318',
        'networkPolicy.extraEgress': [{ ports: [{ port: 4000, endPort: 5000, protocol: 'TCP' }] }],
      },
    });
    assert.equal(manifests.filter((m) => m.kind === 'NetworkPolicy').length, 3);
  });

  test('when NetworkPolicies are off, then external endpoints need no rule', () => {
    const manifests = renderChart({ set: { ...EXTERNAL, 'networkPolicy.enabled': false } });
    assert.equal(manifests.filter((m) => m.kind === 'NetworkPolicy').length, 0);
  });

  test('when rendered with defaults, then DNS is allowed to the cluster DNS pods only; dnsPeers [] allows any address', () => {
    const dnsRules = (manifests: readonly Manifest[]) =>
      egressOf(manifests, 'consumer').filter((r) => r.ports?.some((p) => p.port === 53));
    const [rule] = dnsRules(renderChart());
    assert.deepEqual(rule?.to, [
      {
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
        podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
      },
    ]);
    const [open] = dnsRules(renderChart({ set: { 'networkPolicy.dnsPeers': [] } }));
    assert.equal(open?.to, undefined);
  });
});
