import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { CHART_README, renderChartValuesTable } from '../../tools/chart-values-table.js';
import { CHART_DIR, findObject, helmTemplate, renderChart } from '../helpers/helm.js';

const MONITORING_API = 'monitoring.coreos.com/v1';
const MONITORING_KINDS = ['ServiceMonitor', 'PodMonitor', 'PrometheusRule'];

interface PodSpec {
  terminationGracePeriodSeconds?: number;
  securityContext?: Record<string, unknown>;
  containers: {
    name: string;
    securityContext?: Record<string, unknown>;
    readinessProbe?: { httpGet?: { path: string } };
    livenessProbe?: { httpGet?: { path: string } };
    lifecycle?: { preStop?: { sleep?: { seconds: number } } };
    volumeMounts?: { name: string; mountPath: string }[];
  }[];
}

function consumerDeployment(set: Record<string, unknown> = {}) {
  const deployment = findObject(renderChart({ set }), 'Deployment', '-consumer');
  return deployment.body.spec as { replicas?: number; template: { spec: PodSpec } };
}

describe('chart consumer replicas versus partitions', () => {
  test('when replicas is unset, then the consumer gets one replica per orders partition', () => {
    assert.equal(consumerDeployment().replicas, 3);
    assert.equal(consumerDeployment({ 'topics.orders.partitions': 6 }).replicas, 6);
  });

  test('when replicas equal the partitions, then the chart renders', () => {
    assert.equal(consumerDeployment({ 'consumer.replicas': 3 }).replicas, 3);
  });

  test('when replicas exceed the partitions, then rendering fails with a message naming both numbers and the way out', () => {
    const result = helmTemplate({ set: { 'consumer.replicas': 5 } });
    assert.equal(result.ok, false);
    assert.match(result.stderr, /consumer\.replicas=5 exceeds the 3 partitions of topic "orders"/);
    assert.match(result.stderr, /2 consumer\(s\) would sit idle/);
    assert.match(result.stderr, /consumer\.allowIdleConsumers=true/);
  });

  test('when replicas exceed the partitions and idle consumers are allowed, then the chart renders them', () => {
    assert.equal(
      consumerDeployment({ 'consumer.replicas': 5, 'consumer.allowIdleConsumers': true }).replicas,
      5,
    );
  });

  test('when the autoscaler may exceed the partitions, then rendering fails', () => {
    const result = helmTemplate({
      set: { 'consumer.autoscaling.enabled': true, 'consumer.autoscaling.maxReplicas': 4 },
    });
    assert.equal(result.ok, false);
    assert.match(result.stderr, /consumer\.autoscaling\.maxReplicas=4 exceeds the 3 partitions/);
  });

  test('when autoscaling is on, then the ScaledObject is capped at the partitions and the Deployment leaves replicas to it', () => {
    const manifests = renderChart({ set: { 'consumer.autoscaling.enabled': true } });
    const scaled = findObject(manifests, 'ScaledObject', '-consumer').body.spec as {
      maxReplicaCount: number;
    };
    assert.equal(scaled.maxReplicaCount, 3);
    assert.equal(
      (findObject(manifests, 'Deployment', '-consumer').body.spec as { replicas?: number }).replicas,
      undefined,
    );
  });
});

describe('chart consumer pod', () => {
  test('when rendered, then the consumer is non-root, read-only, without capabilities, with seccomp RuntimeDefault', () => {
    const pod = consumerDeployment().template.spec;
    const podSecurity = pod.securityContext ?? {};
    assert.equal(podSecurity.runAsNonRoot, true);
    assert.equal(podSecurity.runAsUser, 10001);
    const container = pod.containers[0]!;
    assert.deepEqual(container.securityContext, {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    assert.ok(
      container.volumeMounts?.some((m) => m.mountPath === '/tmp'),
      'an emptyDir at /tmp',
    );
  });

  test('when rendered, then probes use /healthz and /readyz and the grace period covers preStop plus the shutdown', () => {
    const pod = consumerDeployment().template.spec;
    const container = pod.containers[0]!;
    assert.equal(container.livenessProbe?.httpGet?.path, '/healthz');
    assert.equal(container.readinessProbe?.httpGet?.path, '/readyz');
    const preStop = container.lifecycle?.preStop?.sleep?.seconds ?? 0;
    assert.ok(preStop > 0);
    assert.ok((pod.terminationGracePeriodSeconds ?? 0) >= 15);
    assert.ok((pod.terminationGracePeriodSeconds ?? 0) > preStop + 8);
  });

  test('when the grace period is shorter than the graceful shutdown, then rendering fails', () => {
    const result = helmTemplate({ set: { 'consumer.terminationGracePeriodSeconds': 5 } });
    assert.equal(result.ok, false);
    assert.match(result.stderr, /terminationGracePeriodSeconds=5 is too short/);
  });
});

function registryPod(options: Parameters<typeof renderChart>[0] = {}): PodSpec {
  const deployment = findObject(renderChart(options), 'Deployment', '-schema-registry');
  return (deployment.body.spec as { template: { spec: PodSpec } }).template.spec;
}

describe('chart schema registry pod', () => {
  // The Confluent image says USER appuser (a name): the kubelet then refuses runAsNonRoot ("image has
  // non-numeric user (appuser), cannot verify user is non-root") unless the pod gives a numeric uid.
  for (const [name, options] of [
    ['the default values', {}],
    ['ci/auth-values.yaml', { valuesFiles: ['ci/auth-values.yaml'] }],
    ['ci/networkpolicy-keda-values.yaml', { valuesFiles: ['ci/networkpolicy-keda-values.yaml'] }],
  ] as const) {
    test(`when rendered with ${name}, then a registry container that must run as non-root has a numeric, non-zero runAsUser`, () => {
      const pod = registryPod(options);
      for (const container of pod.containers) {
        const effective = { ...pod.securityContext, ...container.securityContext };
        assert.equal(effective.runAsNonRoot, true, container.name);
        assert.ok(
          Number.isInteger(effective.runAsUser) && (effective.runAsUser as number) > 0,
          `${container.name}: runAsUser ${String(effective.runAsUser)}`,
        );
      }
    });
  }

  test('when rendered with defaults, then the registry runs as the Confluent images’ appuser (1000:1000) with seccomp RuntimeDefault', () => {
    assert.deepEqual(registryPod().securityContext, {
      runAsNonRoot: true,
      runAsUser: 1000,
      runAsGroup: 1000,
      fsGroup: 1000,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    const containerSecurity = registryPod().containers[0]!.securityContext ?? {};
    assert.equal(containerSecurity.allowPrivilegeEscalation, false);
    assert.deepEqual(containerSecurity.capabilities, { drop: ['ALL'] });
  });

  test('when values set another uid, then the registry pod uses it', () => {
    const pod = registryPod({
      set: {
        'schemaRegistry.podSecurityContext.runAsUser': 1234,
        'schemaRegistry.podSecurityContext.runAsGroup': 1234,
      },
    });
    const podSecurity = pod.securityContext ?? {};
    assert.equal(podSecurity.runAsUser, 1234);
    assert.equal(podSecurity.runAsGroup, 1234);
    assert.equal(podSecurity.runAsNonRoot, true);
  });

  test('when runAsNonRoot is on without a runAsUser, or with uid 0, then rendering fails naming the value to set', () => {
    const missing = helmTemplate({ set: { 'schemaRegistry.podSecurityContext.runAsUser': null } });
    assert.equal(missing.ok, false);
    assert.match(missing.stderr, /runAsNonRoot=true needs a numeric runAsUser/);
    assert.match(missing.stderr, /schemaRegistry\.podSecurityContext\.runAsUser/);
    const root = helmTemplate({ set: { 'schemaRegistry.podSecurityContext.runAsUser': 0 } });
    assert.equal(root.ok, false);
    assert.match(root.stderr, /runAsUser=0 contradicts runAsNonRoot=true/);
  });

  test('when runAsNonRoot is off (a platform that assigns the uid), then no runAsUser is needed', () => {
    const pod = registryPod({
      set: {
        'schemaRegistry.podSecurityContext.runAsNonRoot': false,
        'schemaRegistry.podSecurityContext.runAsUser': null,
      },
    });
    assert.equal(pod.securityContext?.runAsUser, undefined);
  });
});

describe('chart monitoring', () => {
  const kinds = (options: Parameters<typeof renderChart>[0]) => renderChart(options).map((m) => m.kind);

  test('when the cluster has no monitoring.coreos.com/v1, then no Prometheus Operator object is rendered', () => {
    const rendered = kinds({});
    for (const kind of MONITORING_KINDS) assert.ok(!rendered.includes(kind), kind);
  });

  test('when the cluster serves monitoring.coreos.com/v1, then ServiceMonitor, PodMonitor and PrometheusRule are rendered', () => {
    const rendered = kinds({ apiVersions: [MONITORING_API] });
    for (const kind of MONITORING_KINDS) assert.ok(rendered.includes(kind), kind);
  });

  test('when values force them, then they are rendered without the API; when values turn them off, then never', () => {
    const forced = kinds({ set: { 'monitoring.prometheusOperator': 'true' } });
    for (const kind of MONITORING_KINDS) assert.ok(forced.includes(kind), kind);
    const off = kinds({ set: { 'monitoring.prometheusOperator': 'false' }, apiVersions: [MONITORING_API] });
    for (const kind of MONITORING_KINDS) assert.ok(!off.includes(kind), kind);
  });

  test('when rendered, then the dashboard ConfigMap holds exactly the repository’s dashboard file, labelled for the sidecar', () => {
    const file = readFileSync(join(CHART_DIR, 'files/grafana-dashboard.json'), 'utf8');
    const configMap = findObject(renderChart(), 'ConfigMap', '-dashboard');
    const data = configMap.body.data as Record<string, string>;
    assert.deepEqual(Object.keys(data), ['kafka-order-system.json']);
    assert.equal(data['kafka-order-system.json'], file);
    assert.equal(
      (configMap.body.metadata as { labels: Record<string, string> }).labels.grafana_dashboard,
      '1',
    );
  });

  test('when rendered, then the PrometheusRule holds the groups of files/prometheus-rules.yaml unchanged', () => {
    const file = parse(readFileSync(join(CHART_DIR, 'files/prometheus-rules.yaml'), 'utf8')) as {
      groups: unknown;
    };
    const rule = findObject(renderChart({ apiVersions: [MONITORING_API] }), 'PrometheusRule', '');
    assert.deepEqual((rule.body.spec as { groups: unknown }).groups, file.groups);
  });
});

describe('chart values schema', () => {
  test('when a value has the wrong type or an unknown key, then the schema rejects it and names the path', () => {
    const wrongType = helmTemplate({ set: { 'consumer.replicas': 'three' } });
    assert.equal(wrongType.ok, false);
    assert.match(wrongType.stderr, /consumer\/replicas/);
    const typo = helmTemplate({ set: { 'kafka.nodePool.replica': 3 } });
    assert.equal(typo.ok, false);
    assert.match(typo.stderr, /replica/);
    const version = helmTemplate({ set: { 'kafka.version': '3.9.0' } });
    assert.equal(version.ok, false);
    assert.match(version.stderr, /kafka\/version/);
  });

  test('when an image tag or repository is empty, then the schema rejects it, except the app tags (empty = appVersion)', () => {
    for (const key of [
      'schemaRegistry.image.tag',
      'schemaRegistry.image.repository',
      'consumer.image.repository',
      'producer.image.repository',
    ]) {
      const result = helmTemplate({ set: { [key]: '' } });
      assert.equal(result.ok, false, key);
      assert.match(result.stderr, new RegExp(`${key.replaceAll('.', '/')}'?: minLength`), key);
    }
    const deployment = findObject(
      renderChart({ set: { 'consumer.image.tag': '' } }),
      'Deployment',
      '-consumer',
    );
    const image = (deployment.body.spec as { template: { spec: { containers: { image: string }[] } } })
      .template.spec.containers[0]!.image;
    const chart = parse(readFileSync(join(CHART_DIR, 'Chart.yaml'), 'utf8')) as { appVersion: string };
    assert.equal(image, `kafka-order-system-consumer:${chart.appVersion}`);
  });

  test('when kafka is off without external brokers, then rendering fails saying what is missing', () => {
    const result = helmTemplate({ set: { 'kafka.enabled': false } });
    assert.equal(result.ok, false);
    assert.match(result.stderr, /kafka\.external\.bootstrapServers is required/);
  });
});

describe('chart README', () => {
  test('when values.yaml changes, then the README values table is the one generated from it', () => {
    const readme = readFileSync(CHART_README, 'utf8');
    assert.ok(
      readme.includes(`<!-- values-table:begin -->\n${renderChartValuesTable()}\n<!-- values-table:end -->`),
      'the values table of charts/kafka-order-system/README.md is stale: run npm run docs:config',
    );
  });

  test('when a block has documented keys, then they are the rows; a documented block without them is one row', () => {
    const yaml = [
      '## A group.',
      'group:',
      '  ## A leaf,',
      '  ## on two lines.',
      '  leaf: 1',
      '  ## A block of | undocumented keys.',
      '  block:',
      '    a: x',
      '    list: [1, 2]',
      '## Long.',
      `long: '${'x'.repeat(80)}'`,
      '',
    ].join('\n');
    assert.deepEqual(renderChartValuesTable(yaml).split('\n').slice(2), [
      '| `group.leaf` | `1` | A leaf, on two lines. |',
      '| `group.block` | `{"a": "x", "list": [1, 2]}` | A block of \\| undocumented keys. |',
      `| \`long\` | \`"${'x'.repeat(66)}…\` | Long. |`,
    ]);
  });

  test('when a key has no ## comment, nor a parent block, then the table is not generated', () => {
    assert.throws(
      () => renderChartValuesTable('## Documented.\na: 1\nb:\n  c: 2\n'),
      /no ## comment above b \(nor above a parent block\)/,
    );
  });
});
