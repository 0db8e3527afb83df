import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Kafka } from 'kafkajs';
import { decodeDeadLetterHeaders } from '../../src/domain/dead-letter.js';
import { runProducer } from '../../src/producer/index.js';
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
import { freePort, startCli, waitForLine, type LogLine, type RunningProcess } from '../helpers/processes.js';
import { waitUntil } from '../helpers/wait.js';
import { SHORT_SESSION_ENV } from '../helpers/exactly-once.js';

let kafka: Kafka;
const created: TestTopics[] = [];
const processes: RunningProcess[] = [];

function consumerEnv(topics: TestTopics): Record<string, string> {
  return {
    ORDERS_TOPIC: topics.ordersTopic,
    DLQ_TOPIC: topics.dlqTopic,
    STATS_TOPIC: topics.statsTopic,
    KAFKA_GROUP_ID: topics.groupId,
    HTTP_PORT: '0',
    RETRY_BACKOFF_MS: '50',
  };
}

function startConsumerProcess(topics: TestTopics, env: Record<string, string> = {}): RunningProcess {
  const proc = startCli('consumer', { ...consumerEnv(topics), ...env });
  processes.push(proc);
  return proc;
}

const isProcessed = (l: LogLine) =>
  typeof l.msg === 'string' && l.msg.startsWith('Successfully processed order');
const position = (l: LogLine) => `${String(l.partition)}@${String(l.offset)}`;

before(() => {
  kafka = testKafka();
});

after(async () => {
  for (const p of processes) p.child.kill('SIGKILL');
  await Promise.all(created.map((t) => deleteTestTopics(kafka, t)));
});

describe('consumer process lifecycle', () => {
  // At-least-once only: a line is logged before its offset is committed, so the log is a complete record.
  // In exactly-once mode the line follows the commit and a SIGKILL can fall between them; that mode's
  // crash test (exactly-once.test.ts) checks the committed aggregate instead.
  it('when an at-least-once consumer is SIGKILLed mid-stream and restarted, then every produced order is processed or dead-lettered, none lost', async () => {
    const topics = newTestTopics('crash');
    await createTestTopics(kafka, topics);
    created.push(topics);

    const first = startConsumerProcess(topics, {
      PROCESSING_MODE: 'at-least-once',
      // The killed member's partitions move once its session expires: 6 s, not the default 30.
      ...SHORT_SESSION_ENV,
    });
    await waitForLine(
      first,
      'the first consumer to join',
      (l) => typeof l.msg === 'string' && l.msg.startsWith('Assigned partitions'),
    );
    const producing = runProducer(
      testConfig('producer', topics, {
        ORDER_COUNT: '3000',
        ORDER_RATE: '1500',
        INVALID_RATIO: '0.05',
        PRODUCER_SEED: '3',
      }),
      { logger: quietLogger, keepLedger: true, http: false },
    );
    await waitUntil(
      'the first consumer to be mid-stream',
      () => first.lines.filter(isProcessed).length >= 300,
    );
    first.child.kill('SIGKILL');
    const killed = await first.exited;
    assert.equal(killed.signal, 'SIGKILL');

    const second = startConsumerProcess(topics, {
      PROCESSING_MODE: 'at-least-once',
      // The killed member's partitions move once its session expires: 6 s, not the default 30.
      ...SHORT_SESSION_ENV,
    });
    const produced = await producing;
    assert.equal(produced.acknowledged, 3000);

    const done = new Set<string>();
    const dlqPositions = new Set<string>();
    await waitUntil(
      'every produced order to be accounted for',
      async () => {
        for (const l of [...first.lines, ...second.lines]) if (isProcessed(l)) done.add(position(l));
        if (done.size < produced.validAcknowledged) return false;
        const dlq = await collect(kafka, topics.dlqTopic, produced.invalidAcknowledged, 30_000).catch(
          () => undefined,
        );
        if (!dlq) return false;
        for (const r of dlq) {
          const h = decodeDeadLetterHeaders(r.message.headers ?? {});
          dlqPositions.add(`${h.originalPartition}@${h.originalOffset}`);
        }
        return true;
      },
      120_000,
      500,
    ).catch((error: unknown) => {
      const missing = produced.ledger
        .filter((o) => !o.invalid && !done.has(`${o.partition}@${o.offset}`))
        .map((o) => `${o.partition}@${o.offset}`);
      const notable = second.lines.filter((l) => l.level !== 30 || !isProcessed(l)).slice(-40);
      throw new Error(
        `${String(error)}; ${missing.length} valid orders never processed (first: ${missing.slice(0, 10).join(', ')}); ` +
          `second consumer's last non-order log lines: ${JSON.stringify(notable)}`,
      );
    });
    for (const order of produced.ledger) {
      const at = `${order.partition}@${order.offset}`;
      if (order.invalid) assert.ok(dlqPositions.has(at), `invalid order at ${at} was dead-lettered`);
      else assert.ok(done.has(at), `valid order at ${at} was processed`);
    }
    second.child.kill('SIGTERM');
    await second.exited;
  });

  it('when a consumer receives SIGTERM, then it commits, leaves the group and exits 0 within 10 s', async () => {
    const topics = newTestTopics('sigterm');
    await createTestTopics(kafka, topics);
    created.push(topics);
    const proc = startConsumerProcess(topics);
    await waitForLine(
      proc,
      'the consumer to join',
      (l) => typeof l.msg === 'string' && l.msg.startsWith('Assigned partitions'),
    );
    await runProducer(testConfig('producer', topics, { ORDER_COUNT: '50' }), {
      logger: quietLogger,
      http: false,
    });
    await waitUntil('50 processed', () => proc.lines.filter(isProcessed).length === 50);

    const started = performance.now();
    proc.child.kill('SIGTERM');
    const { code } = await proc.exited;
    const seconds = (performance.now() - started) / 1000;
    assert.equal(code, 0);
    assert.ok(seconds < 10, `exited after ${seconds.toFixed(1)} s`);

    // Everything processed was committed: a new member of the group finds nothing left to do.
    const admin = kafka.admin();
    await admin.connect();
    const [committed] = await admin.fetchOffsets({ groupId: topics.groupId, topics: [topics.ordersTopic] });
    const ends = await admin.fetchTopicOffsets(topics.ordersTopic);
    await admin.disconnect();
    const lag = ends.reduce((sum, e) => {
      const c = committed?.partitions.find((p) => p.partition === e.partition);
      return sum + Number(e.high) - Number(c?.offset ?? 0);
    }, 0);
    assert.equal(lag, 0);
  });

  it('when the broker is unreachable, then probes answer (alive, not ready), it keeps retrying with a clear log, and SIGTERM exits 0', async () => {
    const topics = newTestTopics('no-broker');
    const [brokerPort, httpPort] = [await freePort(), await freePort()];
    const proc = startConsumerProcess(topics, {
      KAFKA_BROKERS: `127.0.0.1:${brokerPort}`,
      HTTP_PORT: String(httpPort),
    });
    const probe = async (path: string) => {
      const response = await fetch(`http://127.0.0.1:${httpPort}${path}`).catch(() => undefined);
      return response ? { status: response.status, body: await response.text() } : undefined;
    };
    await waitUntil(
      'the probes to answer while Kafka is unreachable',
      async () => (await probe('/healthz'))?.status === 200,
    );
    const ready = await probe('/readyz');
    assert.ok(ready, '/readyz answers');
    assert.equal(ready.status, 503);
    assert.match(ready.body, /"name":"broker","ok":false/);
    await waitForLine(
      proc,
      'a log line naming the unreachable broker',
      (l) => typeof l.msg === 'string' && l.msg.includes(`127.0.0.1:${brokerPort}`),
    );
    // Still alive after the first failures: the orchestrator sees "not ready", not a crash loop.
    assert.equal(proc.child.exitCode, null);
    assert.equal((await probe('/healthz'))?.status, 200);

    const started = performance.now();
    proc.child.kill('SIGTERM');
    const { code } = await proc.exited;
    assert.equal(code, 0);
    assert.ok(performance.now() - started < 10_000, 'exits within 10 s');
  });
});
