import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import type { Kafka } from 'kafkajs';
import { loadConfig } from '../../src/config/load.js';
import { decodeDeadLetterHeaders } from '../../src/domain/dead-letter.js';
import { runProducer } from '../../src/producer/index.js';
import { TOPICS } from '../../src/topics.js';
import {
  expectedFromLedger,
  startFaultTestConsumer,
  totals,
  waitForSettled,
  withChangelog,
} from '../helpers/exactly-once.js';
import { HealthWatch } from '../helpers/health.js';
import {
  compressibleOrder,
  hostileRecords,
  HOSTILE_WRITERS,
  produceWithKcat,
  produceHostile,
  registerWriter,
  type Placed,
} from '../helpers/hostile.js';
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
import { freePort, type LogLine, type RunningProcess } from '../helpers/processes.js';
import { waitUntil } from '../helpers/wait.js';

/** The DLQ topic's record limit, as the topic is created (by these tests, the stack and the chart). */
const DLQ_MAX_BYTES = Number(TOPICS.find((t) => t.role === 'dlq')?.config['max.message.bytes']);
const registryUrl = loadConfig('producer', process.env).schemaRegistryUrl;
let kafka: Kafka;
const created: TestTopics[] = [];
const processes: RunningProcess[] = [];

before(() => {
  kafka = testKafka();
});

after(async () => {
  for (const p of processes) p.child.kill('SIGKILL');
  await Promise.all(created.map((t) => deleteTestTopics(kafka, t)));
});

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Registers the hostile writers under subjects of their own (any registry client can) and builds the records. */
async function hostileFor(
  topics: TestTopics,
  ourSchemaId: number,
): Promise<ReturnType<typeof hostileRecords>> {
  const ids = {
    ours: ourSchemaId,
    withCollections: 0,
    withChain: 0,
    withDag: 0,
    withDagOfUnions: 0,
    doublePrice: 0,
  };
  for (const name of ['withCollections', 'withChain', 'withDag', 'withDagOfUnions', 'doublePrice'] as const) {
    ids[name] = await registerWriter(
      registryUrl,
      `${topics.ordersTopic}-${name}-value`,
      HOSTILE_WRITERS[name],
    );
  }
  return hostileRecords(ids);
}

/** Each hostile record's one dead letter, with the headers that say what it was. */
function checkDeadLetters(placed: readonly Placed[], dlq: Awaited<ReturnType<typeof collect>>): void {
  const byOriginal = new Map<string, (typeof dlq)[number][]>();
  for (const record of dlq) {
    const h = decodeDeadLetterHeaders(record.message.headers ?? {});
    const at = `${h.originalPartition}@${h.originalOffset}`;
    byOriginal.set(at, [...(byOriginal.get(at) ?? []), record]);
  }
  for (const record of placed) {
    const letters = byOriginal.get(`${record.partition}@${record.offset}`) ?? [];
    if (record.expected === undefined) {
      assert.equal(letters.length, 0, `${record.name}: a valid order, never dead-lettered`);
      continue;
    }
    assert.equal(letters.length, 1, `${record.name}: dead-lettered exactly once`);
    const [letter] = letters;
    const headers = decodeDeadLetterHeaders(letter?.message.headers ?? {});
    assert.equal(headers.errorCode, record.expected, `${record.name}: ${headers.errorMessage}`);
    assert.ok(headers.errorMessage.length <= 1000, `${record.name}: a bounded message`);
    const value = letter?.message.value ?? Buffer.alloc(0);
    const key = letter?.message.key ?? Buffer.alloc(0);
    if (record.expected === 'KOS_BATCH_UNREADABLE') {
      // The batch could not be read at all: its compressed bytes stand for it, and the message says where it was.
      assert.ok(value.length < 1_048_588, `${record.name}: the compressed batch, ${value.length} bytes`);
      assert.match(headers.errorMessage, /record batch at offsets \d+–\d+ .*decompresses to more than/);
      continue;
    }
    const size = record.value.length + record.key.length;
    const cut = headers.originalValue !== undefined || headers.originalKey !== undefined;
    // Within a few kB of the limit either may happen (the headers count too); beyond it, it must be cut.
    if (size > DLQ_MAX_BYTES) assert.ok(cut, `${record.name}: ${size} bytes cannot fit uncut`);
    if (!cut) {
      assert.deepEqual(value, record.value, `${record.name}: the original bytes, replayable`);
      assert.deepEqual(key, record.key);
    } else {
      // Too large for the DLQ: cut, with what identifies the original.
      if (headers.originalValue)
        assert.deepEqual(
          headers.originalValue,
          { length: record.value.length, sha256: sha256(record.value) },
          record.name,
        );
      if (headers.originalKey)
        assert.deepEqual(
          headers.originalKey,
          { length: record.key.length, sha256: sha256(record.key) },
          record.name,
        );
      assert.deepEqual(
        value,
        record.value.subarray(0, value.length),
        `${record.name}: the start of the original`,
      );
      assert.ok(value.length + key.length < DLQ_MAX_BYTES, `${record.name}: it fits`);
    }
  }
  assert.equal(
    dlq.length,
    placed.filter((p) => p.expected !== undefined).length,
    'nothing else was dead-lettered',
  );
}

const isLine = (text: string) => (l: LogLine) => typeof l.msg === 'string' && l.msg.includes(text);

describe('hostile records among valid orders', () => {
  it('when hostile records arrive among 330 orders (exactly-once, 2 consumers), then every order is counted once, every hostile record dead-lettered once, and no consumer stalls or restarts', async () => {
    const topics = newTestTopics('hostile-eos');
    await createTestTopics(kafka, topics);
    created.push(topics);
    const ports = [await freePort(), await freePort()];
    const consumers = ports.map((port) => {
      const proc = startFaultTestConsumer(topics, { HTTP_PORT: String(port) });
      processes.push(proc);
      return proc;
    });
    for (const c of consumers)
      await waitUntil('both consumers listening', async () => {
        try {
          return (await fetch(`http://127.0.0.1:${ports[consumers.indexOf(c)]}/healthz`)).ok;
        } catch {
          return false;
        }
      });
    const health = new HealthWatch(ports);

    const producing = runProducer(
      testConfig('producer', topics, { ORDER_COUNT: '330', ORDER_RATE: '110', PRODUCER_SEED: '13' }),
      { logger: quietLogger, keepLedger: true, http: false },
    );
    await waitUntil('the order schema to be registered', async () => {
      const response = await fetch(`${registryUrl}/subjects/${topics.ordersTopic}-value/versions/latest`);
      return response.ok;
    });
    const latest = (await (
      await fetch(`${registryUrl}/subjects/${topics.ordersTopic}-value/versions/latest`)
    ).json()) as {
      id: number;
    };
    const placed = await produceHostile(
      kafka,
      topics.ordersTopic,
      await hostileFor(topics, latest.id),
      3,
      () => sleep(100),
    );
    // Valid orders from librdkafka, in the three codecs kafkajs cannot read by itself.
    const foreign = [
      {
        partition: 0,
        key: 'kcat-snappy',
        value: compressibleOrder(latest.id, 'k1', 1111),
        codec: 'snappy' as const,
      },
      {
        partition: 1,
        key: 'kcat-lz4',
        value: compressibleOrder(latest.id, 'k2', 2222),
        codec: 'lz4' as const,
      },
      {
        partition: 2,
        key: 'kcat-zstd',
        value: compressibleOrder(latest.id, 'k3', 3333),
        codec: 'zstd' as const,
      },
    ];
    await produceWithKcat(loadConfig('producer', process.env).brokers.join(','), topics.ordersTopic, foreign);
    const produced = await producing;
    assert.equal(produced.acknowledged, 330);

    const valid = placed.filter((p) => p.expected === undefined);
    const ledger = expectedFromLedger(produced.ledger);
    const expected = {
      orders: ledger.orders + BigInt(valid.length) + 3n,
      sumCents: ledger.sumCents + valid.reduce((n, p) => n + (p.priceCents ?? 0n), 0n) + 6666n,
      deadLettered: BigInt(placed.length - valid.length),
    };
    await withChangelog(kafka, topics, async (changelog) => {
      await waitForSettled(changelog, topics.ordersTopic, expected.orders + expected.deadLettered, 120_000);
      assert.deepEqual(totals(changelog.all(), topics.ordersTopic), expected);
    });
    checkDeadLetters(placed, await collect(kafka, topics.dlqTopic, Number(expected.deadLettered), 60_000));

    await health.stop();
    assert.deepEqual(health.failures, [], '/healthz answered 200 throughout');
    assert.ok(health.answered > 10);
    for (const c of consumers) {
      assert.equal(c.child.exitCode, null, 'no consumer exited');
      assert.ok(!c.lines.some(isLine('Crash')), 'kafkajs never crashed a consumer');
    }
    for (const c of consumers) c.child.kill('SIGTERM');
    await Promise.all(consumers.map((c) => c.exited));
  });

  it('when hostile records arrive among orders (at-least-once), then each order is processed once and each hostile record dead-lettered once', async () => {
    const topics = newTestTopics('hostile-alo');
    await createTestTopics(kafka, topics);
    created.push(topics);
    const port = await freePort();
    const consumer = startFaultTestConsumer(topics, {
      HTTP_PORT: String(port),
      PROCESSING_MODE: 'at-least-once',
      // One line per processed order: the ledger of an at-least-once consumer that is not killed.
      LOG_LEVEL: 'info',
    });
    processes.push(consumer);
    await waitUntil('the consumer to join', () => consumer.lines.some(isLine('Assigned partitions')));
    const health = new HealthWatch([port]);

    const produced = await runProducer(
      testConfig('producer', topics, { ORDER_COUNT: '90', PRODUCER_SEED: '14' }),
      { logger: quietLogger, keepLedger: true, http: false },
    );
    const placed = await produceHostile(
      kafka,
      topics.ordersTopic,
      await hostileFor(topics, produced.schemaId),
      3,
    );
    const valid = placed.filter((p) => p.expected === undefined);

    const processedAt = () =>
      new Set(
        consumer.lines
          .filter(isLine('Successfully processed order'))
          .map((l) => `${String(l.partition)}@${String(l.offset)}`),
      );
    await waitUntil(
      () => `${90 + valid.length} orders processed (have ${processedAt().size})`,
      () => processedAt().size >= 90 + valid.length,
      120_000,
    );
    const lines = consumer.lines.filter(isLine('Successfully processed order'));
    assert.equal(lines.length, 90 + valid.length, 'each order processed exactly once');
    for (const o of produced.ledger) assert.ok(processedAt().has(`${o.partition}@${o.offset}`));
    for (const p of valid) assert.ok(processedAt().has(`${p.partition}@${p.offset}`), p.name);
    checkDeadLetters(placed, await collect(kafka, topics.dlqTopic, placed.length - valid.length, 60_000));

    await health.stop();
    assert.deepEqual(health.failures, []);
    assert.equal(consumer.child.exitCode, null);
    consumer.child.kill('SIGTERM');
    await consumer.exited;
  });
});
