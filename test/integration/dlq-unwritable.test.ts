import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import kafkajs, { type Admin, type Kafka } from 'kafkajs';
import { decodeDeadLetterHeaders } from '../../src/domain/dead-letter.js';
import { runProducer, type ProducerResult } from '../../src/producer/index.js';
import { resolveTopics } from '../../src/topics.js';
import {
  expectedFromLedger,
  startFaultTestConsumer,
  totals,
  waitForSettled,
  withChangelog,
} from '../helpers/exactly-once.js';
import { HealthWatch, readiness, scrape } from '../helpers/health.js';
import {
  collect,
  createTestTopics,
  deleteTestTopics,
  newTestTopics,
  quietLogger,
  testConfig,
  testKafka,
  type TestTopics,
} from '../helpers/kafka.js';
import { sampleValue } from '../helpers/metrics-text.js';
import { freePort, type LogLine, type RunningProcess } from '../helpers/processes.js';
import { waitUntil } from '../helpers/wait.js';

const { AclOperationTypes, AclPermissionTypes, AclResourceTypes, ConfigResourceTypes, ResourcePatternTypes } =
  kafkajs;

let kafka: Kafka;
let admin: Admin;
const created: TestTopics[] = [];
const processes: RunningProcess[] = [];

before(async () => {
  kafka = testKafka();
  admin = kafka.admin();
  await admin.connect();
});

after(async () => {
  for (const p of processes) p.child.kill('SIGKILL');
  await Promise.all(created.map((t) => deleteTestTopics(kafka, t)));
  await admin.disconnect();
});

/** What a missing ACL looks like on the local stack: User:ANONYMOUS may not write the DLQ. */
const denyWrite = (topic: string) => ({
  resourceType: AclResourceTypes.TOPIC,
  resourceName: topic,
  resourcePatternType: ResourcePatternTypes.LITERAL,
  principal: 'User:ANONYMOUS',
  host: '*',
  operation: AclOperationTypes.WRITE,
  permissionType: AclPermissionTypes.DENY,
});

async function createDlqTopic(topics: TestTopics, config: Record<string, string> = {}): Promise<void> {
  const dlq = resolveTopics(topics).find((t) => t.role === 'dlq');
  assert.ok(dlq);
  await admin.createTopics({
    waitForLeaders: true,
    topics: [
      {
        topic: dlq.name,
        numPartitions: dlq.partitions,
        replicationFactor: 1,
        configEntries: Object.entries({ ...dlq.config, ...config }).map(([name, value]) => ({ name, value })),
      },
    ],
  });
}

/** The first invalid order of each partition: where that partition must stop while the DLQ refuses it. */
function firstInvalid(produced: ProducerResult): Map<number, bigint> {
  const first = new Map<number, bigint>();
  for (const o of produced.ledger) {
    if (o.invalid === undefined) continue;
    const offset = BigInt(o.offset);
    if (!first.has(o.partition) || offset < (first.get(o.partition) ?? offset))
      first.set(o.partition, offset);
  }
  return first;
}

const isWaitForDlq = (l: LogLine) => l.code === 'KOS_DLQ_UNWRITABLE' && l.dependency === 'dlq';

/**
 * Runs a consumer while its dead letters cannot be written, checks that it stops where it must and
 * says so, then lets `fix` repair the DLQ and checks that everything is then processed exactly once.
 */
async function whileTheDlqRefuses(
  topics: TestTopics,
  mode: 'exactly-once' | 'at-least-once',
  fix: () => Promise<void>,
): Promise<void> {
  const produced = await runProducer(
    testConfig('producer', topics, { ORDER_COUNT: '120', INVALID_RATIO: '0.1', PRODUCER_SEED: '21' }),
    { logger: quietLogger, keepLedger: true, http: false },
  );
  const expected = expectedFromLedger(produced.ledger);
  assert.ok(expected.deadLettered > 3n, 'some orders need the DLQ');
  const port = await freePort();
  const consumer = startFaultTestConsumer(topics, {
    HTTP_PORT: String(port),
    PROCESSING_MODE: mode,
    // At-least-once has no changelog: its per-order lines are the ledger.
    ...(mode === 'at-least-once' ? { LOG_LEVEL: 'info' } : {}),
  });
  processes.push(consumer);
  await waitUntil('the consumer to answer', async () => {
    try {
      return (await fetch(`http://127.0.0.1:${port}/healthz`)).ok;
    } catch {
      return false;
    }
  });
  const health = new HealthWatch([port]);

  // It stops at the first dead letter of each partition, says why, and keeps trying.
  await waitUntil(
    'a logged error: the DLQ cannot be written',
    () => consumer.lines.some(isWaitForDlq),
    60_000,
  );
  await waitUntil(
    'the same record tried again at least 3 times',
    () => consumer.lines.filter(isWaitForDlq).some((l) => Number(l.waits) >= 3),
    60_000,
  );
  const waitLine = consumer.lines.find(isWaitForDlq);
  assert.equal(waitLine?.level, 50, 'logged as an error');
  await waitUntil('/readyz to fail on the dlq check', async () => {
    const ready = await readiness(port);
    const dlq = ready.body.checks.find((c) => c.name === 'dlq');
    return ready.status === 503 && dlq?.ok === false && /KOS_DLQ_UNWRITABLE/.test(dlq.error ?? '');
  });
  const waiting = sampleValue(await scrape(port), 'orders_partitions_waiting', { dependency: 'dlq' }) ?? 0;
  assert.ok(waiting >= 1, `orders_partitions_waiting{dependency="dlq"} is ${waiting}`);
  const stops = firstInvalid(produced);
  const [committed] = await admin.fetchOffsets({ groupId: topics.groupId, topics: [topics.ordersTopic] });
  for (const { partition, offset } of committed?.partitions ?? []) {
    const stop = stops.get(partition);
    if (stop !== undefined && offset !== '-1')
      assert.ok(
        BigInt(offset) <= stop,
        `partition ${partition} committed ${offset}, past its dead letter at ${stop}`,
      );
  }
  assert.equal(consumer.child.exitCode, null, 'no crash');

  await fix();
  if (mode === 'exactly-once') {
    await withChangelog(kafka, topics, async (changelog) => {
      await waitForSettled(changelog, topics.ordersTopic, expected.orders + expected.deadLettered, 120_000);
      assert.deepEqual(totals(changelog.all(), topics.ordersTopic), expected);
    });
  } else {
    const done = () =>
      new Set(
        consumer.lines
          .filter((l) => typeof l.msg === 'string' && l.msg.startsWith('Successfully processed order'))
          .map((l) => `${String(l.partition)}@${String(l.offset)}`),
      );
    await waitUntil('every valid order processed', () => done().size >= Number(expected.orders), 120_000);
    const lines = consumer.lines.filter(
      (l) => typeof l.msg === 'string' && l.msg.startsWith('Successfully processed order'),
    );
    assert.equal(lines.length, Number(expected.orders), 'each valid order processed exactly once');
  }
  const dlq = await collect(kafka, topics.dlqTopic, Number(expected.deadLettered), 60_000);
  const positions = dlq.map(({ message }) => {
    const h = decodeDeadLetterHeaders(message.headers ?? {});
    return `${h.originalPartition}@${h.originalOffset}`;
  });
  assert.equal(
    new Set(positions).size,
    Number(expected.deadLettered),
    'each invalid order dead-lettered exactly once',
  );
  assert.deepEqual(
    new Set(positions),
    new Set(produced.ledger.filter((o) => o.invalid !== undefined).map((o) => `${o.partition}@${o.offset}`)),
  );
  await waitUntil('/readyz to pass again', async () => (await readiness(port)).status === 200);
  assert.equal(sampleValue(await scrape(port), 'orders_partitions_waiting', { dependency: 'dlq' }), 0);
  await health.stop();
  assert.deepEqual(health.failures, [], '/healthz answered throughout');
  assert.equal(consumer.child.exitCode, null);
  consumer.child.kill('SIGTERM');
  await consumer.exited;
}

describe('a dead-letter topic that cannot be written', () => {
  it('when the DLQ topic is missing (exactly-once), then partitions stop at their dead letter, say so, and go on once it exists', async () => {
    const topics = newTestTopics('dlq-missing');
    await createTestTopics(kafka, topics);
    created.push(topics);
    await admin.deleteTopics({ topics: [topics.dlqTopic] });
    await waitUntil(
      'the DLQ topic to be gone',
      async () => !(await admin.listTopics()).includes(topics.dlqTopic),
    );
    await whileTheDlqRefuses(topics, 'exactly-once', () => createDlqTopic(topics));
  });

  it('when the consumer may not write the DLQ (a missing ACL, at-least-once), then it waits without skipping, and goes on once allowed', async () => {
    const topics = newTestTopics('dlq-acl');
    await createTestTopics(kafka, topics);
    created.push(topics);
    await admin.createAcls({ acl: [denyWrite(topics.dlqTopic)] });
    try {
      await whileTheDlqRefuses(topics, 'at-least-once', async () => {
        await admin.deleteAcls({ filters: [denyWrite(topics.dlqTopic)] });
      });
    } finally {
      await admin.deleteAcls({ filters: [denyWrite(topics.dlqTopic)] }).catch(() => undefined);
    }
  });

  it('when the broker refuses every dead letter as too large (exactly-once), then the partition waits, and goes on once the topic takes them', async () => {
    const topics = newTestTopics('dlq-small');
    await createTestTopics(kafka, topics);
    created.push(topics);
    const setLimit = (bytes: number) =>
      admin.alterConfigs({
        validateOnly: false,
        resources: [
          {
            type: ConfigResourceTypes.TOPIC,
            name: topics.dlqTopic,
            configEntries: [{ name: 'max.message.bytes', value: String(bytes) }],
          },
        ],
      });
    // Smaller than the dead-letter headers alone: no cut of the value can make it fit.
    await setLimit(600);
    await whileTheDlqRefuses(topics, 'exactly-once', () => setLimit(1_048_588));
  });
});
