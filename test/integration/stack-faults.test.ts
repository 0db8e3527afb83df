import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Kafka } from 'kafkajs';
import { runProducer } from '../../src/producer/index.js';
import { ProducerEventBus } from '../../src/producer/events.js';
import {
  localEndpoints,
  stackStatus,
  startBroker,
  startRegistry,
  stopBroker,
  stopRegistry,
} from '../../scripts/stack/index.js';
import {
  deadLetterPositions,
  expectedFromLedger,
  startFaultTestConsumer,
  totals,
  waitForSettled,
  withChangelog,
} from '../helpers/exactly-once.js';
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
import type { LogLine, RunningProcess } from '../helpers/processes.js';
import { waitUntil } from '../helpers/wait.js';
import { decodeDeadLetterHeaders } from '../../src/domain/dead-letter.js';

/** These tests stop and start the broker and registry, which only the local stack lets us do. */
const status = await stackStatus().catch(() => undefined);
const local = localEndpoints();
const external =
  (process.env.KAFKA_BROKERS ?? local.brokers) !== local.brokers ||
  (process.env.SCHEMA_REGISTRY_URL ?? local.registryUrl) !== local.registryUrl;
const skip =
  external || !status?.broker.running || !status.registry.running
    ? 'needs the local stack started by npm run stack:up (not an external cluster)'
    : false;

let kafka: Kafka;
const created: TestTopics[] = [];
const processes: RunningProcess[] = [];

function consumerProcess(topics: TestTopics, env: Record<string, string> = {}): RunningProcess {
  const proc = startFaultTestConsumer(topics, env);
  processes.push(proc);
  return proc;
}

before(() => {
  kafka = testKafka();
});

after(async () => {
  for (const p of processes) p.child.kill('SIGKILL');
  // Whatever happened, leave the stack running for the tests that follow.
  await startBroker().catch(() => undefined);
  await startRegistry().catch(() => undefined);
  await Promise.all(created.map((t) => deleteTestTopics(kafka, t)));
});

describe('recovery from broker and registry outages', { skip }, () => {
  it('when the broker restarts mid-run, then producer and consumers recover on their own and the aggregate is exact', async () => {
    const topics = newTestTopics('eos-broker');
    await createTestTopics(kafka, topics);
    created.push(topics);
    const consumers = [consumerProcess(topics), consumerProcess(topics)];
    // Production runs until the test stops it, well after the restart, so the restart lands mid-stream
    // however long the consumers take to start on a slow machine.
    const stopProducing = new AbortController();
    const producerBus = new ProducerEventBus();
    let acknowledged = 0;
    producerBus.on('order.acknowledged', () => (acknowledged += 1));
    const producing = runProducer(
      testConfig('producer', topics, {
        ORDER_COUNT: '1000000',
        ORDER_RATE: '1000',
        INVALID_RATIO: '0.05',
        PRODUCER_SEED: '6',
      }),
      { logger: quietLogger, keepLedger: true, http: false, bus: producerBus, signal: stopProducing.signal },
    );

    await withChangelog(kafka, topics, async (changelog) => {
      await waitForSettled(changelog, topics.ordersTopic, 501n, 120_000);
    });
    // A crash, not a clean shutdown: SIGKILL the broker, then bring it back.
    assert.notEqual(await stopBroker({ hard: true }), 'not-running');
    await startBroker();
    const afterRestart = acknowledged;
    await waitUntil(
      `1000 orders acknowledged after the restart (${acknowledged - afterRestart} so far)`,
      () => acknowledged >= afterRestart + 1000,
      120_000,
    );
    stopProducing.abort();

    const produced = await producing;
    assert.equal(produced.failed, 0, 'the producer rode out the restart');
    const expected = expectedFromLedger(produced.ledger);
    await withChangelog(kafka, topics, async (changelog) => {
      await waitForSettled(changelog, topics.ordersTopic, BigInt(produced.acknowledged), 240_000);
      assert.deepEqual(totals(changelog.all(), topics.ordersTopic), expected);
    });
    const dlq = await deadLetterPositions(kafka, topics, Number(expected.deadLettered));
    assert.equal(
      new Set(dlq).size,
      Number(expected.deadLettered),
      'each invalid order dead-lettered exactly once',
    );
    for (const c of consumers) c.child.kill('SIGTERM');
    await Promise.all(consumers.map((c) => c.exited));
  });

  // The registry is down far longer than any record's retry budget (1 + 1 attempts, 200 ms apart), while
  // every record names a schema id no consumer has cached. Waiting for the registry uses no attempt, so
  // nothing is dead-lettered for it: the invalid orders alone reach the DLQ, the valid ones are counted once.
  it('when the registry is down longer than the retry budget, then every order waits and is then counted exactly once, and nothing is dead-lettered for the outage', async () => {
    const topics = newTestTopics('eos-registry');
    await createTestTopics(kafka, topics);
    created.push(topics);
    // Registered and produced while the registry is up; the consumers start with an empty schema cache.
    const produced = await runProducer(
      testConfig('producer', topics, { ORDER_COUNT: '3000', INVALID_RATIO: '0.05', PRODUCER_SEED: '30' }),
      { logger: quietLogger, keepLedger: true, http: false },
    );
    await stopRegistry();
    const env = { RETRY_BACKOFF_MS: '200', MAX_RETRIES: '1' };
    const consumers = [consumerProcess(topics, env), consumerProcess(topics, env)];
    // Each partition waits with a backoff capped at DEPENDENCY_BACKOFF_MAX_MS (1 s here): 12 waits in a
    // row are about 10 s of outage, 25 times the retry budget.
    const waitsForRegistry = (l: LogLine) => l.code === 'KOS_REGISTRY_UNAVAILABLE' && Number(l.waits) >= 12;
    await waitUntil(
      'a partition to have waited 12 times for the registry',
      () => consumers.some((c) => c.lines.some(waitsForRegistry)),
      120_000,
    );
    assert.ok(
      consumers.every((c) => c.lines.every((l) => l.code !== 'KOS_REGISTRY_UNAVAILABLE' || l.attempt === 1)),
      'no wait used up an attempt',
    );
    await startRegistry();

    const expected = expectedFromLedger(produced.ledger);
    await withChangelog(kafka, topics, async (changelog) => {
      await waitForSettled(changelog, topics.ordersTopic, 3000n, 180_000);
      assert.deepEqual(
        totals(changelog.all(), topics.ordersTopic),
        expected,
        'every valid order counted once',
      );
    });
    const dlq = await collect(kafka, topics.dlqTopic, Number(expected.deadLettered), 60_000);
    const positions = dlq.map(({ message }) => {
      const h = decodeDeadLetterHeaders(message.headers ?? {});
      assert.equal(h.errorCode, 'KOS_ORDER_INVALID', 'the outage dead-lettered nothing');
      return `${h.originalPartition}@${h.originalOffset}`;
    });
    assert.deepEqual(
      new Set(positions),
      new Set(
        produced.ledger.filter((o) => o.invalid !== undefined).map((o) => `${o.partition}@${o.offset}`),
      ),
    );
    assert.equal(positions.length, Number(expected.deadLettered), 'no duplicate dead letters');
    for (const c of consumers) assert.equal(c.child.exitCode, null, 'no consumer exited');
    for (const c of consumers) c.child.kill('SIGTERM');
    await Promise.all(consumers.map((c) => c.exited));
  });
});
