import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Kafka } from 'kafkajs';
import { frame } from '../../src/adapters/registry/order-codec.js';
import { startConsumer, type ConsumerHandle } from '../../src/consumer/index.js';
import type { DownstreamStep } from '../../src/consumer/downstream.js';
import { decodeDeadLetterHeaders } from '../../src/domain/dead-letter.js';
import { averageCents } from '../../src/domain/money.js';
import { centsToDollars } from '../../src/adapters/metrics/units.js';
import { TransientDownstreamError } from '../../src/errors.js';
import { runProducer, type ProducerResult } from '../../src/producer/index.js';
import {
  collect,
  createTestTopics,
  deleteTestTopics,
  newTestTopics,
  produceRaw,
  quietLogger,
  testConfig,
  testKafka,
  type TestTopics,
} from '../helpers/kafka.js';
import { waitUntil } from '../helpers/wait.js';
import { SHORT_SESSION_ENV } from '../helpers/exactly-once.js';
import { ConsumerEventBus } from '../../src/consumer/events.js';
import { setTimeout as sleep } from 'node:timers/promises';

const FAST_RETRIES = { RETRY_BACKOFF_MS: '50', MAX_RETRIES: '3' };

let kafka: Kafka;
const created: TestTopics[] = [];
const running: ConsumerHandle[] = [];

async function scenario(prefix: string): Promise<TestTopics> {
  const topics = newTestTopics(prefix);
  await createTestTopics(kafka, topics);
  created.push(topics);
  return topics;
}

async function consumer(
  topics: TestTopics,
  options: { downstream?: DownstreamStep; env?: Record<string, string> } = {},
): Promise<ConsumerHandle> {
  const handle = await startConsumer(testConfig('consumer', topics, { ...FAST_RETRIES, ...options.env }), {
    logger: quietLogger,
    ...(options.downstream ? { downstream: options.downstream } : {}),
  });
  running.push(handle);
  return handle;
}

function produce(
  topics: TestTopics,
  count: number,
  env: Record<string, string> = {},
): Promise<ProducerResult> {
  return runProducer(testConfig('producer', topics, { ORDER_COUNT: String(count), ...env }), {
    logger: quietLogger,
    keepLedger: true,
    http: false,
  });
}

const settled = (h: ConsumerHandle) => h.stats().processed + h.stats().deadLettered;

before(() => {
  kafka = testKafka();
});

after(async () => {
  await Promise.all(running.map((h) => h.stop()));
  await Promise.all(created.map((t) => deleteTestTopics(kafka, t)));
});

describe('order pipeline against the real broker and registry', () => {
  it("when the seed's 20 orders are produced, then all are processed and the average equals the produced one to the cent", async () => {
    const topics = await scenario('seed');
    const c = await consumer(topics);
    const produced = await produce(topics, 20, { PRODUCER_SEED: '20' });
    assert.equal(produced.acknowledged, 20);

    await waitUntil('20 processed orders', () => c.stats().processed === 20);
    const expected = averageCents(produced.validSumCents, 20n);
    assert.equal(c.stats().sumCents, produced.validSumCents);
    assert.equal(c.stats().averageCents, expected);
    assert.equal(c.stats().deadLettered, 0);

    const metrics = await (await fetch(`http://127.0.0.1:${c.httpPort}/metrics`)).text();
    assert.match(metrics, /orders_processed_total\{[^}]*outcome="success"[^}]*\} 20/);
    assert.match(
      metrics,
      new RegExp(`orders_average_price_dollars\\{[^}]*\\} ${centsToDollars(expected)}\\b`),
    );
  });

  it('when orders are invalid, then each is dead-lettered once, unretried, with every header and its original bytes', async () => {
    const topics = await scenario('invalid');
    const c = await consumer(topics);
    const produced = await produce(topics, 40, { INVALID_RATIO: '0.3', PRODUCER_SEED: '7' });
    assert.ok(produced.invalidAcknowledged > 0);

    await waitUntil('40 settled orders', () => settled(c) === 40);
    assert.equal(c.stats().deadLettered, produced.invalidAcknowledged);
    assert.equal(c.stats().retried, 0);
    assert.equal(c.stats().sumCents, produced.validSumCents);

    const [dlq, originals] = await Promise.all([
      collect(kafka, topics.dlqTopic, produced.invalidAcknowledged),
      collect(kafka, topics.ordersTopic, 40),
    ]);
    const byPosition = new Map(originals.map((r) => [`${r.partition}@${r.message.offset}`, r.message]));
    for (const { message } of dlq) {
      const headers = decodeDeadLetterHeaders(message.headers ?? {});
      assert.equal(headers.originalTopic, topics.ordersTopic);
      assert.equal(headers.consumerGroup, topics.groupId);
      assert.equal(headers.errorCode, 'KOS_ORDER_INVALID');
      assert.equal(headers.errorClass, 'InvalidOrderError');
      assert.equal(headers.attempts, 1);
      assert.match(headers.stacktrace, /InvalidOrderError/);
      assert.ok(!Number.isNaN(Date.parse(headers.failedAt)));
      const original = byPosition.get(`${headers.originalPartition}@${headers.originalOffset}`);
      assert.ok(original, 'the original record is found at the partition and offset the headers name');
      assert.deepEqual(message.value, original.value, 'value bytes are unchanged');
      assert.deepEqual(message.key, original.key, 'key bytes are unchanged');
      assert.equal(headers.originalTimestamp, original.timestamp);
    }
  });

  it('when the downstream step keeps failing, then it is tried exactly 1 + MAX_RETRIES times, then dead-lettered with the attempt count', async () => {
    const topics = await scenario('retry');
    const calls = new Map<string, number>();
    const downstream: DownstreamStep = (order) => {
      const n = (calls.get(order.orderId) ?? 0) + 1;
      calls.set(order.orderId, n);
      // 1001 never recovers; 1002 recovers on its second attempt.
      if (order.orderId === '1001' || (order.orderId === '1002' && n === 1)) {
        return Promise.reject(new TransientDownstreamError(`downstream unavailable for ${order.orderId}`));
      }
      return Promise.resolve();
    };
    const c = await consumer(topics, { downstream });
    await produce(topics, 3);

    await waitUntil('3 settled orders', () => settled(c) === 3);
    assert.equal(calls.get('1001'), 4, '1 attempt + MAX_RETRIES (3)');
    assert.equal(calls.get('1002'), 2, 'succeeded on its second attempt');
    assert.equal(calls.get('1003'), 1);
    assert.deepEqual([c.stats().processed, c.stats().deadLettered, c.stats().retried], [2, 1, 4]);

    const [dead] = await collect(kafka, topics.dlqTopic, 1);
    const headers = decodeDeadLetterHeaders(dead!.message.headers ?? {});
    assert.equal(headers.attempts, 4);
    assert.equal(headers.errorCode, 'KOS_DOWNSTREAM_TRANSIENT');
    assert.equal(dead!.message.key?.toString(), '1001');
  });

  for (const mode of ['at-least-once', 'exactly-once'] as const) {
    it(`when an order waits out a retry backoff (${mode}), then only its partition waits: the others keep flowing`, async () => {
      const topics = await scenario(`backoff-${mode === 'exactly-once' ? 'eos' : 'alo'}`);
      const calls = new Map<string, number>();
      const downstream: DownstreamStep = (order) => {
        calls.set(order.orderId, (calls.get(order.orderId) ?? 0) + 1);
        return order.orderId === '1001'
          ? Promise.reject(new TransientDownstreamError('downstream unavailable for 1001'))
          : Promise.resolve();
      };
      // Long enough for a second producer, a fetch and (exactly-once) two new transactional owners on a busy VM.
      const backoffMs = 20_000;
      const c = await consumer(topics, {
        downstream,
        env: {
          PROCESSING_MODE: mode,
          RETRY_BACKOFF_MS: String(backoffMs),
          MAX_RETRIES: '1',
          LAG_POLL_INTERVAL_MS: '500',
        },
      });
      // Lags of 1001's partition reported while 1001 still waited (once it is dead-lettered the lag drops).
      const waitingLags = new Map<number, Set<number>>();
      c.bus.on('lag', (entries) => {
        if (calls.get('1001') !== 1) return;
        for (const { partition, lag } of entries)
          waitingLags.set(partition, (waitingLags.get(partition) ?? new Set()).add(lag));
      });
      const [poison] = (await produce(topics, 1)).ledger;
      assert.ok(poison);
      await waitUntil('the first attempt of order 1001 to fail', () => calls.get('1001') === 1);
      const failedAt = performance.now();

      const more = (await produce(topics, 30, { START_ORDER_ID: '2001' })).ledger;
      const elsewhere = more.filter((o) => o.partition !== poison.partition).length;
      const behind = more.length - elsewhere;
      assert.ok(
        elsewhere > 0 && behind > 0,
        `orders on both sides (${elsewhere} elsewhere, ${behind} behind)`,
      );
      await waitUntil(
        `the ${elsewhere} orders on the other partitions to be processed during the backoff`,
        () => c.stats().processed === elsewhere,
        backoffMs,
      );
      assert.ok(performance.now() - failedAt < backoffMs, 'processed while order 1001 was still waiting');
      assert.equal(calls.get('1001'), 1, 'order 1001 is still in its backoff');
      assert.equal(c.stats().deadLettered, 0);
      // The waiting partition's lag grows on /metrics although no batch of it ends (the broker is asked).
      await waitUntil(
        `lag of partition ${poison.partition} to show the ${behind + 1} waiting orders`,
        () => waitingLags.get(poison.partition)?.has(behind + 1) === true,
        backoffMs,
      );

      // Its own partition keeps its order: 1001 is dead-lettered after its retry, then the rest follow.
      await waitUntil('every order settled', () => settled(c) === 31, backoffMs + 30_000);
      assert.equal(calls.get('1001'), 2, '1 attempt + MAX_RETRIES (1)');
      assert.deepEqual([c.stats().processed, c.stats().deadLettered], [30, 1]);
      const [dead] = await collect(kafka, topics.dlqTopic, 1);
      assert.equal(decodeDeadLetterHeaders(dead!.message.headers ?? {}).attempts, 2);
    });
  }

  it('when garbage, unknown schema ids and undecodable bytes arrive, then each is dead-lettered and consumption goes on', async () => {
    const topics = await scenario('garbage');
    const c = await consumer(topics);
    // Registers the schema and proves the consumer works before the garbage arrives.
    const first = await produce(topics, 1);
    await waitUntil('the first order', () => c.stats().processed === 1);

    await produceRaw(kafka, topics.ordersTopic, [
      { key: 'json', value: Buffer.from('{"orderId":"1","product":"x","price":1.5}'), partition: 0 },
      { key: 'short', value: Buffer.from([0, 0, 1]), partition: 0 },
      { key: 'unknown-id', value: frame(2_000_000_000, Buffer.from([2, 0x31])), partition: 0 },
      {
        key: 'bad-avro',
        value: frame(first.schemaId, Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x7f])),
        partition: 0,
      },
    ]);
    await produce(topics, 5, { START_ORDER_ID: '5001' });

    await waitUntil('all settled', () => settled(c) === 10);
    assert.equal(c.stats().processed, 6);
    assert.equal(c.stats().deadLettered, 4);
    const dlq = await collect(kafka, topics.dlqTopic, 4);
    const codes: Record<string, string> = {};
    for (const r of dlq)
      codes[r.message.key?.toString() ?? ''] = decodeDeadLetterHeaders(r.message.headers ?? {}).errorCode;
    assert.deepEqual(codes, {
      json: 'KOS_WIRE_FORMAT',
      short: 'KOS_WIRE_FORMAT',
      'unknown-id': 'KOS_SCHEMA_UNKNOWN',
      'bad-avro': 'KOS_DECODE_FAILED',
    });
  });

  it('when two consumers join the group, then they split the 3 partitions and both process orders', async () => {
    const topics = await scenario('group');
    const a = await consumer(topics);
    const b = await consumer(topics);
    await waitUntil(
      'both members to own disjoint partitions covering 0..2',
      () => {
        const owned = [...a.health.assignedPartitions, ...b.health.assignedPartitions].sort();
        return a.health.joined && b.health.joined && owned.join(',') === '0,1,2';
      },
      60_000,
    );
    const produced = await produce(topics, 90);
    await waitUntil('90 processed', () => a.stats().processed + b.stats().processed === 90);
    assert.ok(a.stats().processed > 0 && b.stats().processed > 0, 'both consumers processed orders');
    assert.equal(a.stats().sumCents + b.stats().sumCents, produced.validSumCents);
  });

  for (const mode of ['at-least-once', 'exactly-once'] as const) {
    it(`when one batch works longer than the session timeout (slow steps, ${mode}), then the consumer heartbeats throughout and keeps its partition`, async () => {
      const topics = newTestTopics(`long-batch-${mode === 'exactly-once' ? 'eos' : 'alo'}`);
      await createTestTopics(kafka, topics, 1);
      created.push(topics);
      // All 20 orders are there before the consumer starts: they arrive in one batch.
      await produce(topics, 20, { PRODUCER_SEED: '61' });
      let slow = 8;
      const bus = new ConsumerEventBus();
      let rebalances = 0;
      let joins = 0;
      bus.on('rebalance', () => (rebalances += 1));
      bus.on('partitions.assigned', () => (joins += 1));
      // 8 steps of 1.8 s: each within its 2 s budget, the batch (about 15 s) far beyond the 10 s session.
      const handle = await startConsumer(
        testConfig('consumer', topics, { ...SHORT_SESSION_ENV, PROCESSING_MODE: mode }),
        {
          logger: quietLogger,
          bus,
          downstream: () => (slow-- > 0 ? sleep(1800) : undefined),
        },
      );
      running.push(handle);
      // The coordinator's own view, throughout: a member that went silent would be removed from the
      // group (Empty, or a new member id) while its batch still runs; its own events would tell only later.
      const admin = kafka.admin();
      await admin.connect();
      const seen = new Set<string>();
      const watching = new AbortController();
      let watch: Promise<void> = Promise.resolve();
      try {
        const groupNow = async () => {
          const [group] = (await admin.describeGroups([topics.groupId])).groups;
          return `${group?.state ?? 'no group'} [${(group?.members ?? []).map((m) => m.memberId).join(', ')}]`;
        };
        let joined = '';
        await waitUntil('the member to be alone and stable in its group', async () => {
          joined = await groupNow();
          return /^Stable \[[^,]+\]$/.test(joined);
        });
        watch = (async () => {
          while (!watching.signal.aborted) {
            seen.add(await groupNow());
            await sleep(250);
          }
        })();
        await waitUntil('all 20 orders processed', () => handle.stats().processed === 20, 60_000);
        watching.abort();
        await watch;
        assert.deepEqual([...seen], [joined], 'the coordinator kept the same member, stable, throughout');
      } finally {
        watching.abort();
        await watch.catch(() => undefined);
        await admin.disconnect();
      }
      assert.equal(rebalances, 0, 'the group never saw the member go silent');
      assert.equal(joins, 1);
      assert.equal(handle.stats().processed, 20, 'none processed twice');
    });
  }
});
