import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Manifest } from '../../tools/validate-manifests.js';
import { consumerGrants, producerGrants, type Grant } from '../../tools/stack/acls.js';
import { findObject, helmTemplate, renderChart, type RenderOptions } from '../helpers/helm.js';

interface Acl {
  resource: { type: string; name?: string; patternType?: string };
  operations: string[];
}
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string } };
}
interface Container {
  name: string;
  env?: EnvVar[];
}
interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
}
interface SecretRef {
  parameter: string;
  name: string;
  key: string;
}

const AUTH: RenderOptions = { valuesFiles: ['ci/auth-values.yaml'] };
const AUTH_KEDA: RenderOptions = {
  valuesFiles: ['ci/auth-values.yaml'],
  set: { 'consumer.autoscaling.enabled': true },
};
const PRODUCER_USER = 'test-kafka-order-system-producer';
const CONSUMER_USER = 'test-kafka-order-system-consumer';
const DLQ_READER_USER = 'test-kafka-order-system-dlq-reader';
const KEDA_USER = 'test-kafka-order-system-keda';

/** An ACL as a comparable string: "type:name(pattern) Op,Op" with the operations sorted. */
function aclText(acl: Acl): string {
  const { type, name, patternType } = acl.resource;
  const target = name === undefined ? type : `${type}:${name}(${patternType ?? 'literal'})`;
  return `${target} ${[...acl.operations].sort().join(',')}`;
}

function kafkaUser(manifests: readonly Manifest[], name: string) {
  const user = manifests.find((m) => m.kind === 'KafkaUser' && m.name === name);
  if (!user) throw new Error(`no KafkaUser ${name}`);
  return user.body.spec as {
    authentication: { type: string };
    authorization: { type: string; acls: Acl[] };
  };
}

function aclsOf(manifests: readonly Manifest[], name: string): string[] {
  return kafkaUser(manifests, name).authorization.acls.map(aclText).sort();
}

/** Every container (init containers too) of a Pod, or of the pod template of a Job or Deployment. */
function containersOf(manifests: readonly Manifest[], kind: string, nameSuffix: string): Container[] {
  const spec = findObject(manifests, kind, nameSuffix).body.spec as {
    template?: { spec: PodSpec };
  } & PodSpec;
  const pod = spec.template?.spec ?? spec;
  return [...(pod.initContainers ?? []), ...pod.containers];
}

/** The SASL user and password Secret of every container of the object, each as "user secret/key". */
function credentialsOf(manifests: readonly Manifest[], kind: string, nameSuffix: string): string[] {
  return containersOf(manifests, kind, nameSuffix).map((c) => {
    const env = c.env ?? [];
    const user = env.find((e) => e.name === 'KAFKA_SASL_USERNAME')?.value;
    const secret = env.find((e) => e.name === 'KAFKA_SASL_PASSWORD')?.valueFrom?.secretKeyRef;
    return `${user ?? '-'} ${secret?.name ?? '-'}/${secret?.key ?? '-'}`;
  });
}

/** The user and password Secret that KEDA authenticates with, as "user secret/key". */
function kedaCredentials(manifests: readonly Manifest[]): string {
  const secret = findObject(manifests, 'Secret', '-keda-kafka').body as {
    stringData: Record<string, string>;
  };
  const auth = findObject(manifests, 'TriggerAuthentication', '-consumer-kafka').body.spec as {
    secretTargetRef: SecretRef[];
  };
  const password = auth.secretTargetRef.find((r) => r.parameter === 'password');
  return `${secret.stringData.username ?? '-'} ${password?.name ?? '-'}/${password?.key ?? '-'}`;
}

function waitTopics(manifests: readonly Manifest[]): string | undefined {
  const init = containersOf(manifests, 'Job', '-producer-1').find((c) => c.name === 'wait-for-dependencies');
  return init?.env?.find((e) => e.name === 'WAIT_TOPICS')?.value;
}

describe('chart Kafka principals', () => {
  test('when kafka.auth is enabled, then the producer, the consumer, the DLQ reader and (with autoscaling) KEDA each have their own KafkaUser beside the registry’s', () => {
    const users = (options: RenderOptions) =>
      renderChart(options)
        .filter((m) => m.kind === 'KafkaUser')
        .map((m) => m.name)
        .sort();
    const base = [CONSUMER_USER, DLQ_READER_USER, PRODUCER_USER, 'test-kafka-order-system-schema-registry'];
    assert.deepEqual(users(AUTH), base);
    assert.deepEqual(users(AUTH_KEDA), [...base, KEDA_USER].sort());
    const manifests = renderChart(AUTH);
    for (const name of [PRODUCER_USER, CONSUMER_USER]) {
      const spec = kafkaUser(manifests, name);
      assert.equal(spec.authentication.type, 'scram-sha-512', name);
      assert.equal(spec.authorization.type, 'simple', name);
    }
  });

  test('when kafka.auth is enabled, then the producer may only write and describe the orders topic (no cluster ACL)', () => {
    const acls = aclsOf(renderChart(AUTH), PRODUCER_USER);
    // No cluster IdempotentWrite: Kafka 3.0+ needs only Write on the topic for an idempotent producer (KIP-679).
    assert.deepEqual(acls, ['topic:orders(literal) Describe,Write']);
    // Spelled out: nothing on the DLQ, the changelog, any group or transactional id.
    assert.ok(!acls.some((a) => /orders-dlq|order-stats|^group|^transactionalId/.test(a)), acls.join('; '));
  });

  test('when kafka.auth is enabled, then the consumer has exactly the ACLs of its topics, groups and transactional ids', () => {
    assert.deepEqual(
      aclsOf(renderChart(AUTH), CONSUMER_USER),
      [
        'group:order-consumer-group(literal) Describe,Read',
        'group:order-consumer-group-stats-reader-(prefix) Delete,Describe,Read',
        'topic:order-stats(literal) Describe,Read,Write',
        'topic:orders(literal) Describe,Read',
        'topic:orders-dlq(literal) Describe,DescribeConfigs,Write',
        'transactionalId:order-consumer-group-orders-(prefix) Describe,Write',
      ].sort(),
    );
  });

  test('when kafka.auth is enabled, then the DLQ tool may read the DLQ and redrive it (write the orders and the ledger in its own transactions), and KEDA only describe the orders and the group', () => {
    assert.deepEqual(
      aclsOf(renderChart(AUTH), DLQ_READER_USER),
      [
        'group:dlq-reader(literal) Describe,Read',
        'group:kos-reader-(prefix) Delete,Describe,Read',
        'topic:orders(literal) Describe,Write',
        'topic:orders-dlq(literal) Describe,Read',
        'topic:orders-dlq-redrive(literal) Describe,Read,Write',
        'transactionalId:kos-redrive-orders-dlq(literal) Describe,Write',
      ].sort(),
    );
    assert.deepEqual(aclsOf(renderChart(AUTH_KEDA), KEDA_USER), [
      'group:order-consumer-group(literal) Describe',
      'topic:orders(literal) Describe',
    ]);
  });

  test('when the group and topic names change, then every user’s ACLs follow them', () => {
    const manifests = renderChart({
      ...AUTH,
      set: {
        'consumer.groupId': 'billing',
        'topics.orders.name': 'in',
        'topics.dlq.name': 'dead',
        'topics.stats.name': 'totals',
        'topics.redrive.name': 'dead-again',
      },
    });
    assert.deepEqual(aclsOf(manifests, PRODUCER_USER), ['topic:in(literal) Describe,Write']);
    const consumer = aclsOf(manifests, CONSUMER_USER);
    for (const acl of [
      'group:billing(literal) Describe,Read',
      'group:billing-stats-reader-(prefix) Delete,Describe,Read',
      'topic:dead(literal) Describe,DescribeConfigs,Write',
      'topic:in(literal) Describe,Read',
      'topic:totals(literal) Describe,Read,Write',
      'transactionalId:billing-in-(prefix) Describe,Write',
    ])
      assert.ok(consumer.includes(acl), `${acl} in ${consumer.join('; ')}`);
    assert.deepEqual(
      aclsOf(manifests, DLQ_READER_USER).filter((acl) => !acl.startsWith('group:')),
      [
        'topic:dead(literal) Describe,Read',
        'topic:dead-again(literal) Describe,Read,Write',
        'topic:in(literal) Describe,Write',
        'transactionalId:kos-redrive-dead(literal) Describe,Write',
      ],
    );
  });

  test('when kafka.auth is enabled, then the producer Job and the helm test pod use the producer user’s Secret and the consumer its own', () => {
    const manifests = renderChart(AUTH);
    const producer = `${PRODUCER_USER} ${PRODUCER_USER}/password`;
    const consumer = `${CONSUMER_USER} ${CONSUMER_USER}/password`;
    // The Job's init container and its producer container.
    assert.deepEqual(credentialsOf(manifests, 'Job', '-producer-1'), [producer, producer]);
    assert.deepEqual(credentialsOf(manifests, 'Pod', '-test-produce-and-count'), [producer]);
    assert.deepEqual(credentialsOf(manifests, 'Deployment', '-consumer'), [consumer]);
  });

  test('when kafka.auth and autoscaling are enabled, then KEDA authenticates as its own user', () => {
    assert.equal(kedaCredentials(renderChart(AUTH_KEDA)), `${KEDA_USER} ${KEDA_USER}/password`);
  });

  test('when kafka.auth is enabled, then the producer’s init container waits for the orders topic only, the one its user may see', () => {
    assert.equal(waitTopics(renderChart(AUTH)), 'orders');
    assert.equal(waitTopics(renderChart({ ...AUTH, set: { 'topics.orders.name': 'in' } })), 'in');
  });

  test('when kafka.auth is off (development.plaintext), then no KafkaUser exists and no container carries SASL credentials', () => {
    const manifests = renderChart({ set: { 'development.plaintext': true } });
    assert.deepEqual(
      manifests.filter((m) => m.kind === 'KafkaUser').map((m) => m.name),
      [],
    );
    for (const [kind, suffix] of [
      ['Deployment', '-consumer'],
      ['Job', '-producer-1'],
      ['Pod', '-test-produce-and-count'],
    ] as const)
      assert.deepEqual(
        containersOf(manifests, kind, suffix).flatMap((c) =>
          (c.env ?? []).filter((e) => e.name.startsWith('KAFKA_SASL_') && e.name !== 'KAFKA_SASL_MECHANISM'),
        ),
        [],
        `${kind}/*${suffix}`,
      );
  });
});

describe('chart with Confluent Schema Registry (the default)', () => {
  test('when kafka.auth is enabled, then the registry may use only its _schemas topic and its leader-election group, nothing All', () => {
    assert.deepEqual(aclsOf(renderChart(AUTH), 'test-kafka-order-system-schema-registry'), [
      'cluster Describe,DescribeConfigs',
      'group:schema-registry(literal) Describe,Read',
      'topic:_schemas(literal) Create,Describe,DescribeConfigs,Read,Write',
    ]);
  });
});

describe('chart KafkaUsers and the local stack', () => {
  test('when the local stack grants its SCRAM users, then each has the rows of its chart KafkaUser', () => {
    const manifests = renderChart(AUTH);
    const local = (grants: readonly Grant[]) =>
      grants
        .map((g) =>
          aclText({
            resource: {
              type: {
                TOPIC: 'topic',
                GROUP: 'group',
                TRANSACTIONAL_ID: 'transactionalId',
                CLUSTER: 'cluster',
              }[g.resource],
              ...(g.resource === 'CLUSTER'
                ? {}
                : { name: g.name, patternType: g.prefixed ? 'prefix' : 'literal' }),
            },
            operations: g.operations.map((op) =>
              op
                .toLowerCase()
                .split('_')
                .map((w) => w[0]!.toUpperCase() + w.slice(1))
                .join(''),
            ),
          }),
        )
        .sort();
    const names = {
      ordersTopic: 'orders',
      dlqTopic: 'orders-dlq',
      statsTopic: 'order-stats',
      groupId: 'order-consumer-group',
    };
    assert.deepEqual(local(producerGrants(names)), aclsOf(manifests, PRODUCER_USER));
    assert.deepEqual(local(consumerGrants(names)), aclsOf(manifests, CONSUMER_USER));
  });
});

describe('chart with Apicurio Registry (schemaRegistry.implementation=apicurio)', () => {
  const APICURIO: RenderOptions = { valuesFiles: ['ci/apicurio-values.yaml'] };
  const REGISTRY_USER = 'test-kafka-order-system-schema-registry';

  test('when the registry is Apicurio, then its user may use only its journal, its snapshots and its group prefix', () => {
    assert.deepEqual(
      aclsOf(renderChart(APICURIO), REGISTRY_USER),
      [
        'cluster Describe,DescribeConfigs',
        'group:apicurio-registry-(prefix) Describe,Read',
        'topic:kafkasql-journal(literal) Describe,DescribeConfigs,Read,Write',
        'topic:kafkasql-snapshots(literal) Describe,DescribeConfigs,Read,Write',
      ].sort(),
    );
  });

  test('when the registry is Apicurio, then both its topics are declared with one partition and infinite retention, and no _schemas topic', () => {
    const topics = renderChart(APICURIO)
      .filter((m) => m.kind === 'KafkaTopic' && m.name.includes('kafkasql'))
      .map((m) => m.body.spec as { topicName: string; partitions: number; config: Record<string, string> });
    assert.deepEqual(topics.map((t) => t.topicName).sort(), ['kafkasql-journal', 'kafkasql-snapshots']);
    for (const t of topics) {
      assert.equal(t.partitions, 1);
      assert.deepEqual(t.config, {
        'cleanup.policy': 'delete',
        'retention.ms': '-1',
        'retention.bytes': '-1',
      });
    }
    assert.ok(!renderChart(APICURIO).some((m) => m.kind === 'KafkaTopic' && m.name.endsWith('-schemas')));
  });

  test('when the registry is Apicurio, then it authenticates with its own user’s Secret and the app talks to its Confluent-compatible API', () => {
    const manifests = renderChart(APICURIO);
    const [registry] = containersOf(manifests, 'Deployment', '-schema-registry');
    const env = registry?.env ?? [];
    assert.equal(env.find((e) => e.name === 'APICURIO_STORAGE_KIND')?.value, 'kafkasql');
    // Apicurio has no compatibility rule by default; Confluent's registry defaults to BACKWARD.
    assert.equal(env.find((e) => e.name === 'APICURIO_RULES_GLOBAL_COMPATIBILITY')?.value, 'BACKWARD');
    assert.equal(env.find((e) => e.name === 'APICURIO_KAFKA_COMMON_SECURITY_PROTOCOL')?.value, 'SASL_SSL');
    assert.deepEqual(
      env.find((e) => e.name === 'APICURIO_KAFKA_COMMON_SASL_JAAS_CONFIG')?.valueFrom?.secretKeyRef,
      {
        name: REGISTRY_USER,
        key: 'sasl.jaas.config',
      },
    );
    const [consumer] = containersOf(manifests, 'Deployment', '-consumer');
    assert.equal(
      consumer?.env?.find((e) => e.name === 'SCHEMA_REGISTRY_URL')?.value,
      'http://test-kafka-order-system-schema-registry:8081/apis/ccompat/v7',
    );
  });
});

describe('chart principals on an external Kafka', () => {
  const EXTERNAL: RenderOptions = {
    valuesFiles: ['ci/external-kafka-values.yaml'],
    set: { 'consumer.autoscaling.enabled': true },
  };

  test('when no process names its own principal, then every process and KEDA share kafka.external.username and its Secret', () => {
    const manifests = renderChart(EXTERNAL);
    const shared = 'orders orders-kafka-credentials/password';
    assert.deepEqual(credentialsOf(manifests, 'Job', '-producer-1'), [shared, shared]);
    assert.deepEqual(credentialsOf(manifests, 'Pod', '-test-produce-and-count'), [shared]);
    assert.deepEqual(credentialsOf(manifests, 'Deployment', '-consumer'), [shared]);
    assert.equal(kedaCredentials(manifests), shared);
    assert.deepEqual(
      manifests.filter((m) => m.kind === 'KafkaUser'),
      [],
    );
  });

  test('when kafka.external.producer and consumer name their own principals, then each process and KEDA use its own', () => {
    const manifests = renderChart({
      ...EXTERNAL,
      set: {
        ...EXTERNAL.set,
        'kafka.external.producer': { username: 'orders-writer', passwordSecret: { name: 'writer' } },
        'kafka.external.consumer': {
          username: 'orders-reader',
          passwordSecret: { name: 'reader', key: 'secret' },
        },
      },
    });
    const producer = 'orders-writer writer/password';
    const consumer = 'orders-reader reader/secret';
    assert.deepEqual(credentialsOf(manifests, 'Job', '-producer-1'), [producer, producer]);
    assert.deepEqual(credentialsOf(manifests, 'Pod', '-test-produce-and-count'), [producer]);
    assert.deepEqual(credentialsOf(manifests, 'Deployment', '-consumer'), [consumer]);
    assert.equal(kedaCredentials(manifests), consumer);
  });

  test('when SASL is on but neither the shared nor the process’s own user is set, then rendering fails naming both keys', () => {
    const result = helmTemplate({
      valuesFiles: ['ci/external-kafka-values.yaml'],
      set: { 'kafka.external.username': '' },
    });
    assert.equal(result.ok, false);
    assert.match(
      result.stderr,
      /kafka\.external\.username \(or kafka\.external\.(producer|consumer)\.username\) is required/,
    );
  });
});

describe('chart consumer transaction timeout', () => {
  const envOf = (manifests: readonly Manifest[], name: string) =>
    containersOf(manifests, 'Deployment', '-consumer')[0]!.env?.find((e) => e.name === name)?.value;

  test('when rendered with defaults, then the transaction timeout is 30000 ms, no longer than the 30000 ms session', () => {
    const manifests = renderChart();
    assert.equal(envOf(manifests, 'TRANSACTION_TIMEOUT_MS'), '30000');
    assert.equal(envOf(manifests, 'KAFKA_SESSION_TIMEOUT_MS'), '30000');
  });

  test('when the transaction timeout exceeds the session timeout in exactly-once mode, then rendering fails; in at-least-once mode, then it renders', () => {
    const result = helmTemplate({ set: { 'consumer.transactionTimeoutMs': 45000 } });
    assert.equal(result.ok, false);
    assert.match(
      result.stderr,
      /consumer\.transactionTimeoutMs=45000 exceeds consumer\.sessionTimeoutMs=30000/,
    );
    assert.ok(
      helmTemplate({ set: { 'consumer.transactionTimeoutMs': 45000, 'consumer.sessionTimeoutMs': 45000 } })
        .ok,
    );
    assert.ok(
      helmTemplate({
        set: { 'consumer.transactionTimeoutMs': 45000, 'consumer.processingMode': 'at-least-once' },
      }).ok,
    );
  });

  test('when the transaction timeout is above the longest session timeout, then the schema rejects it', () => {
    const result = helmTemplate({ set: { 'consumer.transactionTimeoutMs': 300001 } });
    assert.equal(result.ok, false);
    assert.match(result.stderr, /consumer\/transactionTimeoutMs/);
  });
});
