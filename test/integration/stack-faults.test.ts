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
} from '../../tools/stack/index.js';
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
import { HealthWatch, readiness, scrape } from '../helpers/health.js';
import { sampleValue, type Sample } from '../helpers/metrics-text.js';
import { freePort, type LogLine, type RunningProcess } from '../helpers/processes.js';
import { waitUntil } from '../helpers/wait.js';
import { decodeDeadLetterHeaders } from '../../src/domain/dead-letter.js';

/** These tests stop and start the broker and registry, which only the local stack lets us do. */
const status = await stackStatus().catch(() => undefined);
const local = localEndpoints();
const external =
  (process.env.KAFKA_BROKERS ?? local.brokers) !== local.brokers ||
  (process.env.SCHEMA_REGISTRY_URL ?? local.registryUrl) !== local.registryUrl;
// Pointed at another cluster on purpose (KAFKA_BROKERS, SCHEMA_REGISTRY_URL), there is nothing of ours to
// stop: skipped, and said so. On the local stack they always run, and a stack that is not up fails them.
const skip = external
  ? 'KAFKA_BROKERS or SCHEMA_REGISTRY_URL points at another cluster, which these tests may not stop'
  : false;

let kafka: Kafka;
const created: TestTopics[] = [];
const processes: RunningProcess[] = [];
const watches: HealthWatch[] = [];

function consumerProcess(topics: TestTopics, env: Record<string, string> = {}): RunningProcess {
  const proc = startFaultTestConsumer(topics, env);
  processes.push(proc);
  return proc;
}

before(() => {
  kafka = testKafka();
  if (!external)
    assert.ok(
      status?.broker.running && status.registry.running,
      'the local stack is not running: npm run test:integration starts it (npm run stack:up)',
    );
});

after(async () => {
  await Promise.all(watches.map((w) => w.stop()));
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
    producerBus.on('orders.acknowledged', ({ valid, invalid }) => (acknowledged += valid + invalid));
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
      () => `1000 orders acknowledged after the restart (${acknowledged - afterRestart} so far)`,
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
  // An operator sees it meanwhile: /readyz fails on the registry, and every partition is reported waiting
  // for it; /healthz stays 200, since a restart would not bring the registry back.
  it('when the registry is down longer than the retry budget, then every order waits and is then counted exactly once, nothing is dead-lettered for the outage, and /readyz and orders_partitions_waiting show the wait while /healthz stays 200', async () => {
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
    const ports = [await freePort(), await freePort()];
    const consumers = ports.map((port) => consumerProcess(topics, { ...env, HTTP_PORT: String(port) }));
    for (const port of ports)
      await waitUntil(`the consumer on :${port} to answer`, async () => {
        try {
          return (await fetch(`http://127.0.0.1:${port}/healthz`)).ok;
        } catch {
          return false;
        }
      });
    const health = new HealthWatch(ports);
    watches.push(health);
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
    // Each consumer owns some of the 3 partitions, every one of which has records that wait.
    const waitingFor = (samples: readonly Sample[]) =>
      Object.fromEntries(
        (['registry', 'broker', 'dlq'] as const).map((dependency) => [
          dependency,
          sampleValue(samples, 'orders_partitions_waiting', { dependency }),
        ]),
      );
    const waitingOnRegistry: number[] = [];
    for (const port of ports) {
      // What the operator sees, as of the last look: /readyz and the gauges.
      let seen = { status: 0, failing: [] as string[], assigned: 0, waiting: waitingFor([]) };
      await waitUntil(
        `:${port} to fail /readyz on the registry and report its partitions waiting for it`,
        async () => {
          const ready = await readiness(port);
          const samples = await scrape(port);
          seen = {
            status: ready.status,
            failing: ready.body.checks.filter((c) => !c.ok).map((c) => c.name),
            assigned: sampleValue(samples, 'orders_assigned_partitions') ?? 0,
            waiting: waitingFor(samples),
          };
          return (
            seen.status === 503 &&
            seen.failing.join() === 'registry' &&
            seen.assigned > 0 &&
            seen.waiting.registry === seen.assigned
          );
        },
        30_000,
      ).catch((error: unknown) => {
        throw new Error(`${(error as Error).message}; last seen ${JSON.stringify(seen)}`);
      });
      assert.deepEqual(seen.waiting, { registry: seen.assigned, broker: 0, dlq: 0 });
      waitingOnRegistry.push(seen.assigned);
    }
    assert.equal(
      waitingOnRegistry.reduce((a, b) => a + b, 0),
      3,
      'all 3 partitions wait for the registry, each at one consumer',
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
    for (const port of ports) {
      await waitUntil(
        `/readyz of :${port} to pass again`,
        async () => (await readiness(port)).status === 200,
      );
      assert.deepEqual(waitingFor(await scrape(port)), { registry: 0, broker: 0, dlq: 0 });
    }
    await health.stop();
    assert.deepEqual(health.failures, [], '/healthz answered 200 throughout');
    assert.ok(health.answered > 0);
    for (const c of consumers) assert.equal(c.child.exitCode, null, 'no consumer exited');
    for (const c of consumers) c.child.kill('SIGTERM');
    await Promise.all(consumers.map((c) => c.exited));
  });
});
