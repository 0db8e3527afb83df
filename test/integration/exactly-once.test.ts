import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import type { Kafka } from 'kafkajs';
import { averageCents, formatCents } from '../../src/domain/money.js';
import { seededRandom } from '../../src/domain/order-generator.js';
import { runProducer } from '../../src/producer/index.js';
import { startConsumer } from '../../src/consumer/index.js';
import { ConsumerEventBus } from '../../src/consumer/events.js';
import {
  emptyStats,
  serializeStats,
  statsKey,
  type ClusterStatsView,
} from '../../src/domain/partition-stats.js';
import {
  deadLetterPositions,
  expectedFromLedger,
  startFaultTestConsumer,
  totals,
  waitForSettled,
  withChangelog,
  SHORT_SESSION_ENV,
} from '../helpers/exactly-once.js';
import {
  createTestTopics,
  deleteTestTopics,
  newTestTopics,
  quietLogger,
  testConfig,
  testKafka,
  type TestTopics,
} from '../helpers/kafka.js';
import { freePort, type RunningProcess } from '../helpers/processes.js';
import { waitUntil } from '../helpers/wait.js';

let kafka: Kafka;
const created: TestTopics[] = [];
const processes: RunningProcess[] = [];

/** Ready = broker connected, group joined, registry reachable (the consumer's own /readyz). */
async function waitReady(port: number): Promise<void> {
  await waitUntil(
    `consumer on :${port} to be ready`,
    async () => {
      const response = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
      return response?.status === 200;
    },
    60_000,
    200,
  );
}

function consumerProcess(topics: TestTopics, env: Record<string, string> = {}): RunningProcess {
  const proc = startFaultTestConsumer(topics, env);
  processes.push(proc);
  return proc;
}

async function topicsFor(prefix: string): Promise<TestTopics> {
  const topics = newTestTopics(prefix);
  await createTestTopics(kafka, topics);
  created.push(topics);
  return topics;
}

before(() => {
  kafka = testKafka();
});

after(async () => {
  for (const p of processes) p.child.kill('SIGKILL');
  await Promise.all(created.map((t) => deleteTestTopics(kafka, t)));
});

describe('exactly-once aggregate under faults', () => {
  it('when consumers are SIGKILLed and restarted 5 times mid-run, then count, average and DLQ match the ledger exactly', async () => {
    const topics = await topicsFor('eos-crash');
    const random = seededRandom(20_000);
    const live: RunningProcess[] = [
      consumerProcess(topics),
      consumerProcess(topics),
      consumerProcess(topics),
    ];
    // Production runs until the test stops it after the fifth kill, so every kill lands mid-stream however
    // long each one stalls the group (up to the 10 s session timeout while the dead member expires).
    const stopProducing = new AbortController();
    const producing = runProducer(
      testConfig('producer', topics, {
        ORDER_COUNT: '1000000',
        ORDER_RATE: '500',
        INVALID_RATIO: '0.05',
        PRODUCER_SEED: '20000',
      }),
      { logger: quietLogger, keepLedger: true, http: false, signal: stopProducing.signal },
    );

    await withChangelog(kafka, topics, async (changelog) => {
      let lastProgress = -1n;
      // Each kill waits for 501 more orders done, so it lands while work flows; the last wait proves recovery.
      for (let kills = 0; kills <= 5; kills += 1) {
        await waitForSettled(changelog, topics.ordersTopic, lastProgress + 501n, 120_000);
        const t = totals(changelog.all(), topics.ordersTopic);
        lastProgress = t.orders + t.deadLettered;
        if (kills === 5) break;
        const victim = Math.floor(random() * live.length);
        live[victim]!.child.kill('SIGKILL');
        await live[victim]!.exited;
        live[victim] = consumerProcess(topics);
      }
      stopProducing.abort();

      const produced = await producing;
      assert.equal(produced.failed, 0, 'every order sent was acknowledged');
      assert.ok(produced.acknowledged > 3000, `${produced.acknowledged} orders produced`);
      const expected = expectedFromLedger(produced.ledger);
      await waitForSettled(changelog, topics.ordersTopic, BigInt(produced.acknowledged), 240_000);
      const actual = totals(changelog.all(), topics.ordersTopic);
      assert.equal(actual.orders, expected.orders, 'cluster-wide count = valid orders');
      assert.equal(actual.sumCents, expected.sumCents, 'exact sum');
      assert.equal(
        averageCents(actual.sumCents, actual.orders),
        averageCents(expected.sumCents, expected.orders),
      );
      assert.equal(actual.deadLettered, expected.deadLettered);

      const dlq = await deadLetterPositions(kafka, topics, Number(expected.deadLettered));
      await sleep(1000); // give a duplicate, if any, time to show up
      const again = await deadLetterPositions(kafka, topics, Number(expected.deadLettered));
      assert.equal(
        again.length,
        Number(expected.deadLettered),
        'no duplicate dead letters under read_committed',
      );
      assert.equal(new Set(dlq).size, dlq.length);
      const invalidPositions = new Set(
        produced.ledger.filter((o) => o.invalid !== undefined).map((o) => `${o.partition}@${o.offset}`),
      );
      assert.deepEqual(new Set(again), invalidPositions);
    });
    for (const p of live) p.child.kill('SIGTERM');
    await Promise.all(live.map((p) => p.exited));
  });

  it("when another transaction is still open on the changelog as a partition changes owner, then the new owner waits for the previous owner's last aggregate", async () => {
    const topics = await topicsFor('eos-handover');
    const eos = { PROCESSING_MODE: 'exactly-once', ...SHORT_SESSION_ENV };
    const produce = (seed: number, startOrderId: number) =>
      runProducer(
        testConfig('producer', topics, {
          ORDER_COUNT: '300',
          INVALID_RATIO: '0.05',
          PRODUCER_SEED: String(seed),
          START_ORDER_ID: String(startOrderId),
        }),
        { logger: quietLogger, keepLedger: true, http: false },
      );
    const admin = kafka.admin();
    await admin.connect();
    const committedTotal = async (): Promise<number> => {
      const [offsets] = await admin.fetchOffsets({ groupId: topics.groupId, topics: [topics.ordersTopic] });
      return (offsets?.partitions ?? []).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
    };
    // A transaction that writes to the changelog and stays open: read_committed readers stop before it.
    const blocker = kafka.producer({
      transactionalId: `${topics.groupId}-blocker`,
      idempotent: true,
      maxInFlightRequests: 1,
      transactionTimeout: 60_000,
    });
    await blocker.connect();
    try {
      const first = await startConsumer(testConfig('consumer', topics, eos), { logger: quietLogger });
      const before = await produce(41, 1);
      await waitUntil('the first orders committed', async () => (await committedTotal()) === 300, 60_000);

      const open = await blocker.transaction();
      await open.send({ topic: topics.statsTopic, messages: [{ key: 'blocker', value: 'open' }] });
      // These commit behind the open transaction: committed, but beyond what read_committed can read yet.
      const after = await produce(42, 1001);
      await waitUntil('the later orders committed', async () => (await committedTotal()) === 600, 60_000);
      await first.stop();

      const second = await startConsumer(testConfig('consumer', topics, eos), { logger: quietLogger });
      try {
        await waitUntil('the new owner to join', () => second.health.joined, 60_000);
        // New records make it take the partitions over (restore, then process) while the blocker is open.
        const later = await produce(43, 2001);
        // Long enough for a new owner that did not wait to restore the older aggregate and go on from the offset.
        await sleep(3000);
        await open.abort();
        const expected = expectedFromLedger([...before.ledger, ...after.ledger, ...later.ledger]);
        await withChangelog(kafka, topics, async (changelog) => {
          await waitForSettled(changelog, topics.ordersTopic, 900n, 60_000);
          assert.deepEqual(totals(changelog.all(), topics.ordersTopic), expected);
        });
      } finally {
        await second.stop();
      }
    } finally {
      await blocker.disconnect();
      await admin.disconnect();
    }
  });

  it('when the group scales from 1 to 3 consumers and back to 1 mid-run, then the aggregate is still exact and /stats agrees everywhere', async () => {
    const topics = await topicsFor('eos-scale');
    const port = await freePort();
    const first = consumerProcess(topics, { HTTP_PORT: String(port) });
    const producing = runProducer(
      testConfig('producer', topics, {
        ORDER_COUNT: '12000',
        ORDER_RATE: '2000',
        INVALID_RATIO: '0.05',
        PRODUCER_SEED: '12',
      }),
      { logger: quietLogger, keepLedger: true, http: false },
    );
    await withChangelog(kafka, topics, async (changelog) => {
      const progressed = (atLeast: bigint) => waitForSettled(changelog, topics.ordersTopic, atLeast, 120_000);

      await progressed(2000n);
      const extraPorts = [await freePort(), await freePort()];
      const extra = extraPorts.map((p) => consumerProcess(topics, { HTTP_PORT: String(p) }));
      await Promise.all(extraPorts.map((p) => waitReady(p)));
      await progressed(6000n);
      for (const p of extra) p.child.kill('SIGTERM');
      const exits = await Promise.all(extra.map((p) => p.exited));
      assert.deepEqual(
        exits.map((e) => e.code),
        [0, 0],
        'scaled-down consumers exit cleanly',
      );

      const produced = await producing;
      const expected = expectedFromLedger(produced.ledger);
      await progressed(12_000n);
      const actual = totals(changelog.all(), topics.ordersTopic);
      assert.deepEqual(actual, expected);

      // The survivor serves the same exact cluster-wide view on /stats, once its own changelog reader has
      // read the last commits (it fetches on its own schedule, not the test's).
      let stats: ClusterStatsView | undefined;
      await waitUntil(
        `/stats on :${port} to show ${expected.orders} orders`,
        async () => {
          stats = (await (await fetch(`http://127.0.0.1:${port}/stats`)).json()) as ClusterStatsView;
          return stats.caughtUp && stats.orders === expected.orders.toString();
        },
        30_000,
      );
      assert.ok(stats);
      assert.equal(stats.orders, expected.orders.toString());
      assert.equal(stats.average, formatCents(averageCents(expected.sumCents, expected.orders)));
      assert.equal(stats.sum, formatCents(expected.sumCents));
      assert.equal(stats.partitions.length, 3);
    });
    first.child.kill('SIGTERM');
    assert.equal((await first.exited).code, 0);
  });

  it('when a forged aggregate claims the partitions are complete far ahead, or a changelog record is not an aggregate at all, then the next owner refuses them, says so, and stays exact', async () => {
    const topics = await topicsFor('eos-forged');
    const eos = { PROCESSING_MODE: 'exactly-once', ...SHORT_SESSION_ENV };
    const produce = (seed: number, startOrderId: number) =>
      runProducer(
        testConfig('producer', topics, {
          ORDER_COUNT: '300',
          INVALID_RATIO: '0.05',
          PRODUCER_SEED: String(seed),
          START_ORDER_ID: String(startOrderId),
        }),
        { logger: quietLogger, keepLedger: true, http: false },
      );
    const first = await startConsumer(testConfig('consumer', topics, eos), { logger: quietLogger });
    const before = await produce(51, 1);
    await withChangelog(kafka, topics, (changelog) =>
      waitForSettled(changelog, topics.ordersTopic, 300n, 60_000),
    );
    await first.stop();

    // Anyone who can write the changelog: aggregates "complete" up to offset 10^12, which, if trusted,
    // would make the next owner skip every order below it.
    const forger = kafka.producer();
    await forger.connect();
    await forger.send({
      topic: topics.statsTopic,
      messages: [0, 1, 2].map((partition) => ({
        key: statsKey(topics.groupId, topics.ordersTopic, partition),
        value: serializeStats({
          ...emptyStats(topics.groupId, topics.ordersTopic, partition),
          orders: 1_000_000_000n,
          sumCents: 1n,
          nextOffset: 1_000_000_000_000n,
        }),
      })),
    });
    // And records that are not aggregates at all: counted and skipped, never a crash.
    await forger.send({
      topic: topics.statsTopic,
      messages: [
        { key: 'not-an-aggregate', value: '{"orders": "many"' },
        { key: statsKey(topics.groupId, topics.ordersTopic, 0), value: Buffer.from([0xff, 0x00, 0xfe]) },
      ],
    });
    await forger.disconnect();
    const after = await produce(52, 1001);

    const bus = new ConsumerEventBus();
    const rejected: string[] = [];
    bus.on('changelog.rejected', ({ partition, reason }) => rejected.push(`${partition}: ${reason}`));
    const second = await startConsumer(testConfig('consumer', topics, eos), { logger: quietLogger, bus });
    try {
      const expected = expectedFromLedger([...before.ledger, ...after.ledger]);
      await withChangelog(kafka, topics, async (changelog) => {
        await waitUntil(
          'the aggregate to be the ledger, to the cent',
          async () => {
            await changelog.catchUp(10_000).catch(() => undefined);
            const t = totals(changelog.all(), topics.ordersTopic);
            return (
              t.orders === expected.orders &&
              t.sumCents === expected.sumCents &&
              t.deadLettered === expected.deadLettered
            );
          },
          60_000,
          200,
        );
      });
      const refusedAggregates = rejected.filter((r) => !r.startsWith('undefined: '));
      assert.equal(refusedAggregates.length, 3, rejected.join('; '));
      for (const reason of refusedAggregates) assert.match(reason, /beyond the partition's end/);
      assert.equal(
        rejected.length - refusedAggregates.length,
        2,
        `the unreadable records: ${rejected.join('; ')}`,
      );
    } finally {
      await second.stop();
    }
  });

  it('when a forged aggregate claims to be complete within the partition but further beyond the committed offset than one transaction reaches, then the next owner refuses it and stays exact', async () => {
    const topics = await topicsFor('eos-forged-ahead');
    // Transactions of at most 10 records: an aggregate can be at most 2 x 10 offsets ahead of the group's.
    const eos = { PROCESSING_MODE: 'exactly-once', TRANSACTION_MAX_RECORDS: '10', ...SHORT_SESSION_ENV };
    const produce = (seed: number, startOrderId: number) =>
      runProducer(
        testConfig('producer', topics, {
          ORDER_COUNT: '300',
          INVALID_RATIO: '0.05',
          PRODUCER_SEED: String(seed),
          START_ORDER_ID: String(startOrderId),
        }),
        { logger: quietLogger, keepLedger: true, http: false },
      );
    const first = await startConsumer(testConfig('consumer', topics, eos), { logger: quietLogger });
    const before = await produce(61, 1);
    await withChangelog(kafka, topics, (changelog) =>
      waitForSettled(changelog, topics.ordersTopic, 300n, 60_000),
    );
    await first.stop();
    // Orders no consumer has seen yet: every partition's end moves well past its committed offset.
    const after = await produce(62, 1001);

    const admin = kafka.admin();
    await admin.connect();
    const [committed] = await admin.fetchOffsets({ groupId: topics.groupId, topics: [topics.ordersTopic] });
    const ends = await admin.fetchTopicOffsets(topics.ordersTopic);
    await admin.disconnect();
    const forged = (committed?.partitions ?? []).map(({ partition, offset }) => {
      const nextOffset = BigInt(offset) + 25n; // past committed + 2 x 10, but inside the partition
      const end = BigInt(ends.find((e) => e.partition === partition)?.high ?? '0');
      assert.ok(nextOffset <= end, `partition ${partition}: ${nextOffset} within its end ${end}`);
      return { partition, nextOffset };
    });
    assert.equal(forged.length, 3);
    const forger = kafka.producer();
    await forger.connect();
    await forger.send({
      topic: topics.statsTopic,
      messages: forged.map(({ partition, nextOffset }) => ({
        key: statsKey(topics.groupId, topics.ordersTopic, partition),
        value: serializeStats({
          ...emptyStats(topics.groupId, topics.ordersTopic, partition),
          orders: 7n,
          sumCents: 7n,
          nextOffset,
        }),
      })),
    });
    await forger.disconnect();

    const bus = new ConsumerEventBus();
    const rejected: string[] = [];
    bus.on('changelog.rejected', ({ partition, reason }) => rejected.push(`${partition}: ${reason}`));
    const second = await startConsumer(testConfig('consumer', topics, eos), { logger: quietLogger, bus });
    try {
      const expected = expectedFromLedger([...before.ledger, ...after.ledger]);
      await withChangelog(kafka, topics, async (changelog) => {
        await waitUntil(
          'the aggregate to be the ledger, to the cent',
          async () => {
            await changelog.catchUp(10_000).catch(() => undefined);
            const t = totals(changelog.all(), topics.ordersTopic);
            return (
              t.orders === expected.orders &&
              t.sumCents === expected.sumCents &&
              t.deadLettered === expected.deadLettered
            );
          },
          60_000,
          200,
        );
      });
      assert.equal(rejected.length, 3, rejected.join('; '));
      for (const reason of rejected)
        assert.match(reason, /more than one transaction \(20 offsets\) ahead of the committed offset/);
    } finally {
      await second.stop();
    }
  });
});
