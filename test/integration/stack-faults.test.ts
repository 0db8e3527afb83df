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
import type { RunningProcess } from '../helpers/processes.js';
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

  // Records take seconds each here (retries against a dead registry), so this also covers transactions that
  // close on time instead of running into the broker's transaction timeout, and reading the DLQ back under
  // read_committed past transactions that aborted in the opposite order to their start (patches/).
  it('when the registry is down longer than the retry budget, then orders are retried and end up processed or dead-lettered with a clear reason, none lost', async () => {
    const topics = newTestTopics('eos-registry');
    await createTestTopics(kafka, topics);
    created.push(topics);
    // Registered and produced while the registry is up; the consumers start with an empty schema cache.
    const produced = await runProducer(
      testConfig('producer', topics, { ORDER_COUNT: '3000', INVALID_RATIO: '0.05', PRODUCER_SEED: '30' }),
      { logger: quietLogger, keepLedger: true, http: false },
    );
    await stopRegistry();
    // One attempt waits at most 2 × 1 s + 1 s on the registry, so a transaction takes records for 15 − 3 − 5 = 7 s;
    // the 0.5 s backoffs happen between transactions.
    const env = {
      RETRY_BACKOFF_MS: '500',
      MAX_RETRIES: '3',
      SCHEMA_REGISTRY_TIMEOUT_MS: '1000',
      TRANSACTION_TIMEOUT_MS: '15000',
    };
    const consumers = [consumerProcess(topics, env), consumerProcess(topics, env)];
    // Longer than one record's budget of 1 + 3 attempts with 0.5 s backoff: the first dead letter proves it.
    await collect(kafka, topics.dlqTopic, 1, 90_000);
    await startRegistry();

    await withChangelog(kafka, topics, async (changelog) => {
      await waitForSettled(changelog, topics.ordersTopic, 3000n, 180_000);
      const actual = totals(changelog.all(), topics.ordersTopic);

      const dlq = await collect(kafka, topics.dlqTopic, Number(actual.deadLettered), 60_000);
      const reasons = new Map<string, string>();
      const duplicates: string[] = [];
      for (const { message } of dlq) {
        const h = decodeDeadLetterHeaders(message.headers ?? {});
        const original = `${h.originalPartition}@${h.originalOffset}`;
        if (reasons.has(original)) duplicates.push(`${original} again at DLQ offset ${message.offset}`);
        reasons.set(original, h.errorCode);
      }
      assert.deepEqual(duplicates, [], 'no duplicate dead letters');
      assert.ok(
        [...reasons.values()].includes('KOS_REGISTRY_UNAVAILABLE'),
        'the outage is named as the reason',
      );
      let expectedOrders = 0n;
      let expectedSum = 0n;
      for (const o of produced.ledger) {
        const reason = reasons.get(`${o.partition}@${o.offset}`);
        if (o.invalid !== undefined) {
          // An invalid order that could not even be decoded during the outage carries the outage's reason.
          assert.ok(
            reason === 'KOS_ORDER_INVALID' || reason === 'KOS_REGISTRY_UNAVAILABLE',
            `invalid order: ${reason}`,
          );
        } else if (reason === undefined) {
          expectedOrders += 1n;
          expectedSum += o.order.priceCents;
        } else assert.equal(reason, 'KOS_REGISTRY_UNAVAILABLE');
      }
      assert.equal(actual.orders, expectedOrders, 'every valid order not dead-lettered is counted once');
      assert.equal(actual.sumCents, expectedSum);
      assert.equal(actual.orders + actual.deadLettered, 3000n);
    });
    for (const c of consumers) c.child.kill('SIGTERM');
    await Promise.all(consumers.map((c) => c.exited));
  });
});
