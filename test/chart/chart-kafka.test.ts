import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import type { Manifest } from '../../tools/validate-manifests.js';
import { findObject, helmTemplate, renderChart, renderNotes, type RenderOptions } from '../helpers/helm.js';

interface Listener {
  name: string;
  port: number;
  type: string;
  tls: boolean;
  networkPolicyPeers?: unknown[];
}
interface Container {
  env?: { name: string; value?: string }[];
}
interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
}
interface NetworkPolicyRule {
  to?: { podSelector?: { matchLabels?: Record<string, string> } }[];
  ports?: { port: number }[];
}

/** A cluster-ip TLS listener "clients" on 9095, NetworkPolicies, KEDA and an extra Kafka peer. */
const CUSTOM_LISTENER: RenderOptions = { valuesFiles: ['ci/networkpolicy-keda-values.yaml'] };

function kafkaListener(manifests: readonly Manifest[]): Listener {
  const kafka = findObject(manifests, 'Kafka', '-kafka');
  const listeners = (kafka.body.spec as { kafka: { listeners: Listener[] } }).kafka.listeners;
  assert.equal(listeners.length, 1);
  return listeners[0]!;
}

function listenerShape(listener: Listener) {
  return { name: listener.name, port: listener.port, type: listener.type, tls: listener.tls };
}

/** The value of env var `name`, which every container (init containers too) of the object must set alike. */
function envOf(manifests: readonly Manifest[], kind: string, nameSuffix: string, name: string) {
  const spec = findObject(manifests, kind, nameSuffix).body.spec as {
    template?: { spec: PodSpec };
  } & PodSpec;
  const pod = spec.template?.spec ?? spec;
  const values = [...(pod.initContainers ?? []), ...pod.containers].map(
    (c) => c.env?.find((e) => e.name === name)?.value,
  );
  assert.equal(new Set(values).size, 1, `${kind}/*${nameSuffix}: every container sets ${name} alike`);
  return values[0];
}

/** Every place that a client address or port of the Kafka listener appears in a render. */
function clientAddresses(manifests: readonly Manifest[]) {
  const brokerEgressPorts = manifests
    .filter((m) => m.kind === 'NetworkPolicy')
    .flatMap((m) => (m.body.spec as { egress?: NetworkPolicyRule[] }).egress ?? [])
    .filter((rule) => rule.to?.some((peer) => peer.podSelector?.matchLabels?.['strimzi.io/kind'] === 'Kafka'))
    .flatMap((rule) => (rule.ports ?? []).map((p) => p.port));
  return {
    consumer: envOf(manifests, 'Deployment', '-consumer', 'KAFKA_BROKERS'),
    producer: envOf(manifests, 'Job', '-producer-1', 'KAFKA_BROKERS'),
    helmTest: envOf(manifests, 'Pod', '-test-produce-and-count', 'KAFKA_BROKERS'),
    registry: envOf(
      manifests,
      'Deployment',
      '-schema-registry',
      'SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS',
    ),
    brokerEgressPorts: [...new Set(brokerEgressPorts)],
  };
}

describe('chart Kafka listener', () => {
  test('when rendered with defaults, then the listener is the internal "tls" one on 9093 with SCRAM-SHA-512 and simple ACLs', () => {
    const manifests = renderChart();
    assert.deepEqual(listenerShape(kafkaListener(manifests)), {
      name: 'tls',
      port: 9093,
      type: 'internal',
      tls: true,
    });
    const kafka = findObject(manifests, 'Kafka', '-kafka').body.spec as {
      kafka: { listeners: { authentication?: { type: string } }[]; authorization?: { type: string } };
    };
    assert.equal(kafka.kafka.listeners[0]?.authentication?.type, 'scram-sha-512');
    assert.equal(kafka.kafka.authorization?.type, 'simple');
    // One principal per process (and the registry's own), and a NetworkPolicy per component.
    assert.deepEqual(
      manifests
        .filter((m) => m.kind === 'KafkaUser')
        .map((m) => m.name.replace(/^test-kafka-order-system-/, ''))
        .sort(),
      ['consumer', 'dlq-reader', 'producer', 'schema-registry'],
    );
    assert.equal(manifests.filter((m) => m.kind === 'NetworkPolicy').length, 3);
  });

  test('when development.plaintext is set, then the listener is the internal "plain" one on 9092, with no authentication', () => {
    const manifests = renderChart({ set: { 'development.plaintext': true } });
    assert.deepEqual(listenerShape(kafkaListener(manifests)), {
      name: 'plain',
      port: 9092,
      type: 'internal',
      tls: false,
    });
    assert.deepEqual(
      manifests.filter((m) => m.kind === 'KafkaUser' || m.kind === 'NetworkPolicy').map((m) => m.name),
      [],
    );
  });

  test('when SASL would run without TLS, then the render fails unless app.allowPlaintextSasl opts in', () => {
    assert.throws(() => renderChart({ set: { 'kafka.listener.tls': false } }), /SASL without TLS/);
    const manifests = renderChart({ set: { 'kafka.listener.tls': false, 'app.allowPlaintextSasl': true } });
    assert.equal(envOf(manifests, 'Deployment', '-consumer', 'KAFKA_SASL_ALLOW_PLAINTEXT'), 'true');
  });

  test('when only tls is on, then the listener is the internal "tls" one on 9093 and every client follows it', () => {
    const manifests = renderChart({ set: { 'kafka.listener.tls': true, 'networkPolicy.enabled': true } });
    assert.deepEqual(listenerShape(kafkaListener(manifests)), {
      name: 'tls',
      port: 9093,
      type: 'internal',
      tls: true,
    });
    const address = 'test-kafka-kafka-bootstrap:9093';
    assert.deepEqual(clientAddresses(manifests), {
      consumer: address,
      producer: address,
      helmTest: address,
      registry: address,
      brokerEgressPorts: [9093],
    });
  });

  test('when values set the name, port and type, then the Kafka resource, app env, registry, KEDA and NetworkPolicies use them', () => {
    const manifests = renderChart(CUSTOM_LISTENER);
    assert.deepEqual(listenerShape(kafkaListener(manifests)), {
      name: 'clients',
      port: 9095,
      type: 'cluster-ip',
      tls: true,
    });
    // Strimzi names the bootstrap Service of a cluster-ip listener <cluster>-kafka-<listener>-bootstrap.
    const address = 'test-kafka-kafka-clients-bootstrap:9095';
    assert.deepEqual(clientAddresses(manifests), {
      consumer: address,
      producer: address,
      helmTest: address,
      registry: address,
      brokerEgressPorts: [9095],
    });
    const scaled = findObject(manifests, 'ScaledObject', '-consumer').body.spec as {
      triggers: { metadata: { bootstrapServers: string } }[];
    };
    assert.equal(scaled.triggers[0]!.metadata.bootstrapServers, address);
    assert.equal(envOf(manifests, 'Deployment', '-consumer', 'KAFKA_TLS'), 'true');
  });

  test('when a listener value is one Strimzi would reject, or not an in-cluster type, then the schema rejects it', () => {
    for (const [key, value] of [
      ['kafka.listener.port', 9404],
      ['kafka.listener.port', 9999],
      ['kafka.listener.port', 9091],
      ['kafka.listener.type', 'nodeport'],
      ['kafka.listener.name', 'Clients'],
      ['kafka.listener.name', 'twelve-chars'],
    ] as const) {
      const result = helmTemplate({ set: { [key]: value } });
      assert.equal(result.ok, false, `${key}=${value}`);
      assert.match(result.stderr, new RegExp(key.replaceAll('.', '/')), `${key}=${value}`);
    }
  });
});

describe('chart KafkaNodePool', () => {
  function nodePool(options: RenderOptions) {
    const manifests = renderChart(options);
    const pool = findObject(manifests, 'KafkaNodePool', '');
    const labels = (pool.body.metadata as { labels: Record<string, string> }).labels;
    return {
      name: pool.name,
      cluster: labels['strimzi.io/cluster'],
      kafka: findObject(manifests, 'Kafka', '').name,
    };
  }

  test('when two releases share a namespace, then their node pools have different names, each labelled with its own Kafka', () => {
    const first = nodePool({ releaseName: 'orders' });
    const second = nodePool({ releaseName: 'payments' });
    assert.deepEqual(first, { name: 'orders-dual-role', cluster: 'orders-kafka', kafka: 'orders-kafka' });
    assert.deepEqual(second, {
      name: 'payments-dual-role',
      cluster: 'payments-kafka',
      kafka: 'payments-kafka',
    });
  });

  test('when the release name is long, then the pool name is cut so the pod names fit 63 characters, and stays unique', () => {
    const releases = [
      'kafka-order-system-staging-environment-number-00001',
      'kafka-order-system-staging-environment-number-00002',
    ];
    const pools = releases.map((releaseName) => nodePool({ releaseName }));
    for (const pool of pools) {
      assert.ok(`${pool.kafka}-${pool.name}-999`.length <= 63, pool.name);
      assert.equal(pool.cluster, pool.kafka);
    }
    assert.notEqual(pools[0]!.name, pools[1]!.name);
    // The name never depends on the node count, or scaling the nodes would replace the pool.
    assert.equal(
      nodePool({ releaseName: releases[0], set: { 'kafka.nodePool.replicas': 99 } }).name,
      pools[0]!.name,
    );
  });

  test('when a name is set, then it is used as is; when the pod names could not fit, then rendering fails', () => {
    assert.equal(nodePool({ set: { 'kafka.nodePool.name': 'dual-role' } }).name, 'dual-role');
    const result = helmTemplate({
      set: { 'kafka.clusterName': 'a'.repeat(40), 'kafka.nodePool.name': 'b'.repeat(22) },
    });
    assert.equal(result.ok, false);
    assert.match(result.stderr, /would exceed 63 characters/);
  });
});

describe('chart NetworkPolicies and KEDA', () => {
  const peers = (options: RenderOptions) => kafkaListener(renderChart(options)).networkPolicyPeers ?? [];
  const hasPeer = (list: readonly unknown[], peer: unknown) => list.some((p) => isDeepStrictEqual(p, peer));
  const namespacePeer = (name: string) => ({
    namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': name } },
  });

  test('when NetworkPolicies and autoscaling are both on, then the Kafka listener admits the KEDA namespace and extraKafkaPeers', () => {
    const listenerPeers = peers(CUSTOM_LISTENER);
    assert.ok(hasPeer(listenerPeers, namespacePeer('keda')), JSON.stringify(listenerPeers));
    assert.ok(hasPeer(listenerPeers, namespacePeer('orders-tools')), JSON.stringify(listenerPeers));
  });

  test('when the KEDA namespace is elsewhere, then its selector is what the listener admits', () => {
    const listenerPeers = peers({
      ...CUSTOM_LISTENER,
      set: {
        'networkPolicy.kedaNamespaceSelector': {
          matchLabels: { 'kubernetes.io/metadata.name': 'autoscaling' },
        },
      },
    });
    assert.ok(hasPeer(listenerPeers, namespacePeer('autoscaling')));
    assert.ok(!hasPeer(listenerPeers, namespacePeer('keda')));
  });

  test('when autoscaling is off, then the KEDA namespace is not admitted', () => {
    const listenerPeers = peers({ set: { 'networkPolicy.enabled': true } });
    assert.ok(listenerPeers.length > 0);
    assert.ok(!hasPeer(listenerPeers, namespacePeer('keda')));
  });

  test('when NetworkPolicies are on, then the brokers admit each other on the listener, for the tools in NOTES.txt', () => {
    const brokers = {
      podSelector: {
        matchLabels: { 'strimzi.io/cluster': 'test-kafka', 'strimzi.io/name': 'test-kafka-kafka' },
      },
    };
    assert.ok(hasPeer(peers({ set: { 'networkPolicy.enabled': true } }), brokers));
  });

  test('when NetworkPolicies are off, then the listener lists no peers (Strimzi leaves it open)', () => {
    assert.deepEqual(
      peers({ set: { 'consumer.autoscaling.enabled': true, 'networkPolicy.enabled': false } }),
      [],
    );
  });
});

describe('chart NOTES.txt', () => {
  const dlqCommand = (notes: string) => notes.slice(notes.indexOf('Read the dead-letter topic'));

  test('when development.plaintext is set, then the DLQ command reads the plain listener on localhost:9092 with Kafka 4 flags', () => {
    const dlq = dlqCommand(renderNotes({ releaseName: 'orders', set: { 'development.plaintext': true } }));
    assert.match(dlq, /exec -it orders-kafka-orders-dual-role-0 /);
    assert.match(dlq, /--bootstrap-server localhost:9092 /);
    assert.match(dlq, /--formatter-property print\.headers=true/);
    assert.doesNotMatch(dlq, /--property |--consumer\.config|--command-config/);
  });

  test('when the listener is TLS, then the DLQ command uses its port through the bootstrap Service and a --command-config', () => {
    const dlq = dlqCommand(renderNotes({ set: { 'kafka.listener.tls': true, 'kafka.auth.enabled': false } }));
    assert.match(dlq, /--bootstrap-server test-kafka-kafka-bootstrap:9093 /);
    assert.match(dlq, /security\.protocol=SSL /);
    assert.match(dlq, /ssl\.truststore\.location=\/opt\/kafka\/cluster-ca-certs\/ca\.crt/);
    assert.match(dlq, /--command-config \/tmp\/client\.properties/);
    assert.doesNotMatch(dlq, /9092|--property |--consumer\.config/);
  });

  test('when auth and a custom listener are on, then the DLQ command carries SCRAM credentials and the custom address', () => {
    const dlq = dlqCommand(renderNotes({ ...CUSTOM_LISTENER, set: { 'kafka.auth.enabled': true } }));
    assert.match(dlq, /--bootstrap-server test-kafka-kafka-clients-bootstrap:9095 /);
    assert.match(dlq, /security\.protocol=SASL_SSL /);
    // The DLQ reader has a user of its own: neither the producer's nor the consumer's may read it.
    assert.match(dlq, /get secret test-kafka-order-system-dlq-reader /);
    assert.match(dlq, /username=\\"test-kafka-order-system-dlq-reader\\"/);
    assert.match(dlq, /--command-config \/tmp\/client\.properties --group dlq-reader /);
    assert.doesNotMatch(dlq, /--property |--consumer\.config/);
  });

  test('when the consumers are scaled by hand, then NOTES say that Helm 4 conflicts and give both ways out', () => {
    const notes = renderNotes();
    assert.match(notes, /--force-conflicts/);
    assert.match(notes, /--set consumer\.replicas=2/);
  });
});
