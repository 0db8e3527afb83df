import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import type { Kafka } from 'kafkajs';
import { decodeDeadLetterHeaders } from '../../src/domain/dead-letter.js';
import { REDRIVE_HEADERS } from '../../src/domain/redrive.js';
import type { DlqSummary } from '../../src/dlq/summary.js';
import { runProducer, type AcknowledgedOrder } from '../../src/producer/index.js';
import {
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
import { parseMetricsText, sampleValue } from '../helpers/metrics-text.js';
import { freePort, startCli, type RunningProcess } from '../helpers/processes.js';
import { waitUntil } from '../helpers/wait.js';

let kafka: Kafka;
const created: TestTopics[] = [];
const processes: RunningProcess[] = [];

/** Every order fails its downstream step and is dead-lettered at once (KOS_DOWNSTREAM_TRANSIENT). */
const FAILING = { SIMULATED_FAILURE_RATE: '1', MAX_RETRIES: '0' };
const HEALTHY = { SIMULATED_FAILURE_RATE: '0' };

async function topicsFor(prefix: string): Promise<TestTopics> {
  const topics = newTestTopics(prefix);
  await createTestTopics(kafka, topics);
  created.push(topics);
  return topics;
}

function consumer(topics: TestTopics, env: Record<string, string>): RunningProcess {
  const proc = startFaultTestConsumer(topics, { PROCESSING_MODE: 'exactly-once', ...env });
  processes.push(proc);
  return proc;
}

async function stop(proc: RunningProcess): Promise<void> {
  proc.child.kill('SIGTERM');
  assert.equal((await proc.exited).code, 0, 'the consumer exits cleanly');
}

interface DlqRun {
  readonly proc: RunningProcess;
  /** Its exit code and every line of its stdout, once it has exited and its stdout is read to the end. */
  readonly done: Promise<{ code: number | null; lines: string[] }>;
}

/** Starts the DLQ tool as an operator would (`npm run dlq -- …`). */
function startDlq(topics: TestTopics, args: string[]): DlqRun {
  const proc = startCli(
    'dlq-reader',
    {
      ORDERS_TOPIC: topics.ordersTopic,
      DLQ_TOPIC: topics.dlqTopic,
      STATS_TOPIC: topics.statsTopic,
      KAFKA_GROUP_ID: topics.groupId,
    },
    args,
  );
  processes.push(proc);
  // 'exit' can come before the last of stdout is read; 'close' comes after.
  const closed = new Promise<void>((resolve) => proc.child.once('close', () => resolve()));
  const done = (async () => {
    const { code } = await proc.exited;
    await closed;
    return { code, lines: outputLines(proc) };
  })();
  return { proc, done };
}

/** The tool's stdout lines so far (a JSON line, such as summary --json, comes back as its text). */
function outputLines(proc: RunningProcess): string[] {
  return proc.lines.map((l) =>
    typeof l.msg === 'string' && Object.keys(l).length === 1 ? l.msg : JSON.stringify(l),
  );
}

/** Runs the DLQ tool to its end. */
function dlq(topics: TestTopics, ...args: string[]): Promise<{ code: number | null; lines: string[] }> {
  return startDlq(topics, args).done;
}

async function produce(
  topics: TestTopics,
  env: Record<string, string>,
): Promise<readonly AcknowledgedOrder[]> {
  const result = await runProducer(testConfig('producer', topics, env), {
    logger: quietLogger,
    keepLedger: true,
    http: false,
  });
  assert.equal(result.failed, 0);
  return result.ledger;
}

async function endOffsets(topic: string): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic))
      .sort((a, b) => a.partition - b.partition)
      .map((o) => `${o.partition}:${o.high}`);
  } finally {
    await admin.disconnect();
  }
}

async function redrivenTotal(
  port: number,
  outcome: 'success' | 'dead_lettered',
): Promise<number | undefined> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`).catch(() => undefined);
  if (response?.status !== 200) return undefined;
  return sampleValue(parseMetricsText(await response.text()), 'orders_redriven_total', { outcome });
}

/** The original record (`<partition>@<offset>`) named by each "would send" line of a dry run. */
function originsOf(lines: readonly string[]): string[] {
  return lines
    .filter((l) => l.startsWith('would send '))
    .map((l) => {
      const match = / from \S+\/(\d+)\/(\d+) failed /.exec(l);
      assert.ok(match, l);
      return `${match[1]}@${match[2]}`;
    });
}

before(() => {
  kafka = testKafka();
});

after(async () => {
  for (const p of processes) p.child.kill('SIGKILL');
  await Promise.all(created.map((t) => deleteTestTopics(kafka, t)));
});

describe('redriving dead letters (npm run dlq -- replay)', () => {
  it('when a failure that dead-lettered every valid order is over and they are replayed, then the aggregate is the ledger to the cent, a second replay sends nothing, and the invalid orders stay', async () => {
    const topics = await topicsFor('redrive');
    const startedAt = new Date(Date.now() - 1000).toISOString();

    // (1) The downstream step fails for every order: valid ones are dead-lettered as transient failures,
    // invalid ones as invalid.
    const failing = consumer(topics, FAILING);
    const ledger = await produce(topics, { ORDER_COUNT: '200', INVALID_RATIO: '0.1', PRODUCER_SEED: '2024' });
    const expected = expectedFromLedger(ledger);
    const valid = Number(expected.orders);
    const invalid = Number(expected.deadLettered);
    assert.ok(valid > 150 && invalid > 5, `${valid} valid, ${invalid} invalid`);

    await withChangelog(kafka, topics, async (changelog) => {
      const dead = await waitForSettled(changelog, topics.ordersTopic, 200n, 120_000);
      assert.deepEqual(dead, { orders: 0n, sumCents: 0n, deadLettered: 200n });
      await stop(failing);

      // (2) The failure is over: a healthy consumer, then the replay of the transient failures.
      const port = await freePort();
      const healthy = consumer(topics, { ...HEALTHY, HTTP_PORT: String(port) });
      const replay = await dlq(topics, 'replay', '--code', 'KOS_DOWNSTREAM_TRANSIENT');
      assert.equal(replay.code, 0);
      assert.equal(replay.lines.at(-1), `replayed ${valid}`);
      assert.equal(replay.lines.filter((l) => l.startsWith('sent ')).length, valid);

      // (3) Every valid order is counted exactly once, to the cent; each was dead-lettered once before.
      const settled = await waitForSettled(changelog, topics.ordersTopic, BigInt(200 + valid), 120_000);
      assert.deepEqual(settled, { orders: expected.orders, sumCents: expected.sumCents, deadLettered: 200n });
      await waitUntil(
        `orders_redriven_total{outcome="success"} = ${valid}`,
        async () => (await redrivenTotal(port, 'success')) === valid,
        30_000,
      );
      assert.equal(await redrivenTotal(port, 'dead_lettered'), 0);

      // (4) Replaying again, with the same filter or others that take the same dead letters, sends nothing.
      const ordersEnd = await endOffsets(topics.ordersTopic);
      const validKey = ledger.find((o) => o.invalid === undefined)?.order.orderId ?? '';
      for (const filters of [
        ['--code', 'KOS_DOWNSTREAM_TRANSIENT'],
        ['--since', startedAt, '--key', validKey, '--code', 'KOS_DOWNSTREAM_TRANSIENT', '--key', 'none'],
      ]) {
        const again = await dlq(topics, 'replay', ...filters);
        assert.equal(again.code, 0);
        assert.equal(again.lines.at(-1), 'replayed 0');
        assert.equal(again.lines.filter((l) => l.startsWith('sent ')).length, 0);
      }
      // Long enough for a record sent by mistake to be consumed and counted.
      await sleep(3000);
      assert.deepEqual(await endOffsets(topics.ordersTopic), ordersEnd, 'nothing was sent to the orders');
      await changelog.catchUp(10_000);
      assert.deepEqual(totals(changelog.all(), topics.ordersTopic), settled);

      // (5) The invalid orders stay in the DLQ; the summary shows them and what was replayed.
      const summary = await dlq(topics, 'summary', '--json');
      assert.equal(summary.code, 0);
      const counted = JSON.parse(summary.lines.at(-1) ?? '{}') as DlqSummary;
      assert.deepEqual(
        counted.codes.map((c) => [c.code, c.deadLetters, c.replayed]),
        [
          ['KOS_DOWNSTREAM_TRANSIENT', valid, valid],
          ['KOS_ORDER_INVALID', invalid, 0],
        ].sort((a, b) => Number(b[1]) - Number(a[1])),
      );
      assert.equal(counted.total.deadLetters, 200);
      assert.equal(counted.notDeadLetters, 0);
      const table = await dlq(topics, 'summary');
      assert.match(
        table.lines.find((l) => l.startsWith('KOS_ORDER_INVALID')) ?? '',
        new RegExp(`^KOS_ORDER_INVALID +${invalid} +0 `),
      );

      // A dry run lists exactly the invalid orders and sends nothing.
      const dry = await dlq(topics, 'replay', '--code', 'KOS_ORDER_INVALID', '--dry-run');
      assert.equal(dry.code, 0);
      assert.equal(dry.lines.at(-1), `would replay ${invalid}`);
      assert.deepEqual(
        new Set(originsOf(dry.lines)),
        new Set(ledger.filter((o) => o.invalid !== undefined).map((o) => `${o.partition}@${o.offset}`)),
      );
      assert.deepEqual(await endOffsets(topics.ordersTopic), ordersEnd, 'a dry run sends nothing');
      await stop(healthy);
    });
  });

  it('when a redriven order fails again, then its dead letter carries kos-redrive-count 1, and the next replay sends it with count 2', async () => {
    const topics = await topicsFor('redrive-again');
    const failingPort = await freePort();
    const failing = consumer(topics, { ...FAILING, HTTP_PORT: String(failingPort) });
    const ledger = await produce(topics, { ORDER_COUNT: '20', INVALID_RATIO: '0', PRODUCER_SEED: '77' });
    const expected = expectedFromLedger(ledger);

    await withChangelog(kafka, topics, async (changelog) => {
      await waitForSettled(changelog, topics.ordersTopic, 20n, 60_000);
      // Replayed while the failure goes on: every one of them fails again.
      const first = await dlq(topics, 'replay', '--code', 'KOS_DOWNSTREAM_TRANSIENT');
      assert.equal(first.lines.at(-1), 'replayed 20');
      const dead = await waitForSettled(changelog, topics.ordersTopic, 40n, 60_000);
      assert.deepEqual(dead, { orders: 0n, sumCents: 0n, deadLettered: 40n });
      await waitUntil(
        'orders_redriven_total{outcome="dead_lettered"} = 20',
        async () => (await redrivenTotal(failingPort, 'dead_lettered')) === 20,
        30_000,
      );
      await stop(failing);

      const letters = await collect(kafka, topics.dlqTopic, 40, 60_000);
      const decoded = letters.map(({ message }) => ({
        offset: message.offset,
        headers: decodeDeadLetterHeaders(message.headers ?? {}),
      }));
      const firstTime = decoded.filter((l) => l.headers.redrive === undefined);
      const again = decoded.filter((l) => l.headers.redrive !== undefined);
      assert.equal(again.length, 20);
      // Each names the dead letter it was replayed from, each of the first 20 once (transaction markers
      // take offsets too, so these are not 0 to 19).
      assert.deepEqual(
        again.map((l) => l.headers.redrive?.count),
        Array.from({ length: 20 }, () => 1),
      );
      assert.deepEqual(
        new Set(again.map((l) => l.headers.redrive?.from)),
        new Set(firstTime.map((l) => `${topics.dlqTopic}/0/${l.offset}`)),
      );
      assert.equal(firstTime.length, 20);

      const healthy = consumer(topics, HEALTHY);
      const second = await dlq(topics, 'replay', '--code', 'KOS_DOWNSTREAM_TRANSIENT');
      assert.equal(second.lines.at(-1), 'replayed 20');
      assert.equal(second.lines.filter((l) => l.startsWith('sent ') && l.endsWith('(redrive 2)')).length, 20);
      const settled = await waitForSettled(changelog, topics.ordersTopic, 60n, 60_000);
      assert.deepEqual(settled, { orders: expected.orders, sumCents: expected.sumCents, deadLettered: 40n });

      // On the orders topic: 20 originals, 20 first redrives, 20 second ones from the second dead letters.
      const orders = await collect(kafka, topics.ordersTopic, 60, 60_000);
      const counts = orders.map(({ message }) => message.headers?.[REDRIVE_HEADERS.count]?.toString() ?? '-');
      assert.deepEqual(
        ['-', '1', '2'].map((c) => counts.filter((x) => x === c).length),
        [20, 20, 20],
      );
      const secondFrom = orders
        .filter(({ message }) => message.headers?.[REDRIVE_HEADERS.count]?.toString() === '2')
        .map(({ message }) => message.headers?.[REDRIVE_HEADERS.from]?.toString());
      assert.deepEqual(new Set(secondFrom), new Set(again.map((l) => `${topics.dlqTopic}/0/${l.offset}`)));
      await stop(healthy);
    });
  });

  it('when a second replay starts while a slow one runs, then the first is fenced and stops, and every dead letter is sent exactly once between them', async () => {
    const topics = await topicsFor('redrive-fence');
    const failing = consumer(topics, FAILING);
    const ledger = await produce(topics, { ORDER_COUNT: '40', INVALID_RATIO: '0', PRODUCER_SEED: '5' });
    const expected = expectedFromLedger(ledger);
    await withChangelog(kafka, topics, async (changelog) => {
      await waitForSettled(changelog, topics.ordersTopic, 40n, 60_000);
      await stop(failing);
      const healthy = consumer(topics, HEALTHY);

      // Two records a second: 20 s for all 40, so the second replay starts while the first is under way.
      const slow = startDlq(topics, ['replay', '--all', '--rate', '2']);
      await waitUntil(
        'the slow replay to commit its first records',
        () => outputLines(slow.proc).some((l) => l.startsWith('sent ')),
        60_000,
      );
      const fast = await dlq(topics, 'replay', '--all');
      assert.equal(fast.code, 0);
      const slowEnd = await slow.done;
      assert.equal(slowEnd.code, 1, 'the fenced replay fails');
      const slowSent = slowEnd.lines.filter((l) => l.startsWith('sent ')).length;
      assert.ok(slowSent >= 2 && slowSent < 40, `the slow replay sent ${slowSent}`);
      assert.equal(fast.lines.at(-1), `replayed ${40 - slowSent}`);

      const settled = await waitForSettled(changelog, topics.ordersTopic, 80n, 60_000);
      assert.deepEqual(settled, { orders: expected.orders, sumCents: expected.sumCents, deadLettered: 40n });
      const orders = await collect(kafka, topics.ordersTopic, 80, 60_000);
      const from = orders
        .map(({ message }) => message.headers?.[REDRIVE_HEADERS.from]?.toString())
        .filter((f) => f !== undefined);
      assert.equal(from.length, 40);
      assert.equal(new Set(from).size, 40, 'no dead letter was sent twice');
      await stop(healthy);
    });
  });
});
