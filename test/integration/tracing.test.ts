import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace';
import type { Kafka } from 'kafkajs';
import { OtelTracing } from '../../src/adapters/tracing/otel-tracing.js';
import { replayCommand } from '../../src/cli/dlq/replay.js';
import { startConsumer, type ConsumerHandle } from '../../src/consumer/index.js';
import { TransientDownstreamError } from '../../src/errors.js';
import type { Logger } from '../../src/logger.js';
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
import { waitUntil } from '../helpers/wait.js';

/**
 * Traces across processes, on the real broker and registry: each process gets its own tracing, as it
 * would from OTEL_* (its own provider and service name), exporting to memory, so the test reads the
 * spans each one finished and checks how they hang together.
 */
let kafka: Kafka;
const created: TestTopics[] = [];
const running: ConsumerHandle[] = [];
const tracings: OtelTracing[] = [];

interface Traced {
  readonly tracing: OtelTracing;
  readonly spans: () => ReadableSpan[];
}

function traced(serviceName: string, groupId?: string, deadLetterTopic?: string): Traced {
  const exporter = new InMemorySpanExporter();
  const tracing = new OtelTracing({
    serviceName,
    processor: new SimpleSpanProcessor({ exporter }),
    ...(groupId === undefined ? {} : { groupId }),
    ...(deadLetterTopic === undefined ? {} : { deadLetterTopic }),
  });
  tracings.push(tracing);
  return { tracing, spans: () => exporter.getFinishedSpans() };
}

async function topicsFor(prefix: string): Promise<TestTopics> {
  const topics = newTestTopics(prefix);
  await createTestTopics(kafka, topics);
  created.push(topics);
  return topics;
}

async function consume(
  topics: TestTopics,
  tracing: OtelTracing,
  until: (handle: ConsumerHandle) => boolean,
  options: { failEveryOrder?: boolean; env?: Record<string, string>; logger?: Logger } = {},
): Promise<void> {
  const handle = await startConsumer(testConfig('consumer', topics, { MAX_RETRIES: '0', ...options.env }), {
    logger: options.logger ?? quietLogger,
    tracing,
    ...(options.failEveryOrder
      ? {
          downstream: (order) => {
            throw new TransientDownstreamError(`downstream down for order ${order.orderId}`);
          },
        }
      : {}),
  });
  running.push(handle);
  await waitUntil(
    () =>
      `the consumer to finish (${JSON.stringify(handle.stats(), (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))})`,
    () => until(handle),
    60_000,
  );
  await handle.stop();
}

const spanId = (span: ReadableSpan): string => span.spanContext().spanId;
const traceId = (span: ReadableSpan): string => span.spanContext().traceId;
const keyOf = (span: ReadableSpan): unknown => span.attributes['messaging.kafka.message.key'];

/** The one span of `spans` that `matches`, failing when there is none or more. */
function only(
  spans: readonly ReadableSpan[],
  what: string,
  matches: (s: ReadableSpan) => boolean,
): ReadableSpan {
  const found = spans.filter(matches);
  assert.equal(found.length, 1, `exactly one ${what} (found ${found.length})`);
  return found[0] as ReadableSpan;
}

function assertChildOf(child: ReadableSpan, parent: ReadableSpan, what: string): void {
  assert.equal(child.parentSpanContext?.spanId, spanId(parent), `${what}: parent span`);
  assert.equal(traceId(child), traceId(parent), `${what}: same trace`);
}

before(() => {
  kafka = testKafka();
});

after(async () => {
  for (const handle of running) await handle.stop().catch(() => undefined);
  for (const tracing of tracings) await tracing.shutdown();
  await Promise.all(created.map((t) => deleteTestTopics(kafka, t)));
});

describe('tracing (OpenTelemetry, W3C traceparent)', () => {
  it('when an order fails, is dead-lettered and redriven, then one trace runs from its producer through the consumer, its dead letter and the redrive to the consumer that counts it', async () => {
    const topics = await topicsFor('trace-redrive');
    const producer = traced('order-producer');
    const failing = traced('order-consumer', topics.groupId, topics.dlqTopic);
    const replay = traced('dlq-reader');
    const healthy = traced('order-consumer', topics.groupId, topics.dlqTopic);
    const count = 5;

    const { ledger } = await runProducer(
      testConfig('producer', topics, { ORDER_COUNT: String(count), INVALID_RATIO: '0', PRODUCER_SEED: '11' }),
      { logger: quietLogger, keepLedger: true, http: false, tracing: producer.tracing },
    );
    assert.equal(ledger.length, count);
    await consume(topics, failing.tracing, (h) => h.stats().deadLettered === count, { failEveryOrder: true });

    const config = testConfig('consumer', topics);
    const lines: string[] = [];
    const counts = await replayCommand(
      kafka,
      config,
      {
        filter: { codes: new Set(['KOS_DOWNSTREAM_TRANSIENT']) },
        dryRun: false,
        ratePerSecond: undefined,
      },
      (line) => lines.push(line),
      quietLogger,
      replay.tracing,
    );
    assert.equal(counts.replayed, count, lines.join('\n'));
    await consume(topics, healthy.tracing, (h) => h.stats().processed === count);

    const deadLetters = await collect(kafka, topics.dlqTopic, count);
    const ordersTopic = topics.ordersTopic;
    for (const { order } of ledger) {
      const id = order.orderId;
      const create = only(producer.spans(), `create span of ${id}`, (s) => keyOf(s) === id);
      assert.equal(create.name, `create ${ordersTopic}`);
      assert.equal(create.kind, SpanKind.PRODUCER);
      assert.equal(create.parentSpanContext, undefined, 'a new order starts a trace');
      const send = only(producer.spans(), `send span of ${id}`, (s) =>
        s.links.some((l) => l.context.spanId === spanId(create)),
      );
      assert.equal(send.name, `send ${ordersTopic}`);

      const failed = only(failing.spans(), `failing process span of ${id}`, (s) => keyOf(s) === id);
      assert.equal(failed.name, `process ${ordersTopic}`);
      assert.equal(failed.kind, SpanKind.CONSUMER);
      assertChildOf(failed, create, `${id} consumed`);
      assert.equal(failed.status.code, SpanStatusCode.ERROR);
      assert.equal(failed.attributes['error.type'], 'KOS_DOWNSTREAM_TRANSIENT');
      assert.equal(failed.attributes['kos.outcome'], 'dead-lettered');
      assert.equal(failed.attributes['messaging.consumer.group.name'], topics.groupId);

      const dlqSend = only(
        failing.spans(),
        `dead-letter span of ${id}`,
        (s) => s.parentSpanContext?.spanId === spanId(failed),
      );
      assert.equal(dlqSend.name, `send ${topics.dlqTopic}`);
      assert.equal(dlqSend.kind, SpanKind.PRODUCER);
      assertChildOf(dlqSend, failed, `${id} dead-lettered`);
      const deadLetter = deadLetters.find((d) => d.message.key?.toString() === id);
      assert.equal(
        deadLetter?.message.headers?.['traceparent']?.toString(),
        `00-${traceId(create)}-${spanId(dlqSend)}-01`,
        `${id}: the dead letter carries its send span's context`,
      );

      const redrive = only(
        replay.spans(),
        `redrive span of ${id}`,
        (s) => s.parentSpanContext?.spanId === spanId(dlqSend),
      );
      assert.equal(redrive.name, `send ${ordersTopic}`);
      assert.equal(redrive.kind, SpanKind.PRODUCER);
      assert.equal(redrive.attributes['kos.redrive.count'], 1);
      assertChildOf(redrive, dlqSend, `${id} redriven`);

      const counted = only(healthy.spans(), `process span of the redriven ${id}`, (s) => keyOf(s) === id);
      assertChildOf(counted, redrive, `${id} counted after the redrive`);
      assert.equal(counted.attributes['kos.outcome'], 'processed');
      assert.equal(counted.attributes['kos.redrive.count'], 1);
      assert.notEqual(counted.status.code, SpanStatusCode.ERROR);
    }
  });

  it('when good orders are consumed in runs, then each run is one span linked to every order of it, and every order is linked or parented exactly once', async () => {
    const topics = await topicsFor('trace-runs');
    const producer = traced('order-producer');
    const consumer = traced('order-consumer', topics.groupId, topics.dlqTopic);
    const count = 2000;

    await runProducer(
      testConfig('producer', topics, { ORDER_COUNT: String(count), INVALID_RATIO: '0', PRODUCER_SEED: '12' }),
      { logger: quietLogger, http: false, tracing: producer.tracing },
    );
    // Below info, good orders go in runs (at info each one is logged, so each gets a span of its own):
    // warn whatever TEST_LOG_LEVEL says.
    const belowInfo = quietLogger.isLevelEnabled('info')
      ? quietLogger.child({}, { level: 'warn' })
      : quietLogger;
    await consume(topics, consumer.tracing, (h) => h.stats().processed === count, {
      env: { LOG_LEVEL: 'warn' },
      logger: belowInfo,
    });

    const creates = producer.spans().filter((s) => s.name.startsWith('create '));
    assert.equal(creates.length, count);
    const createIds = new Set(creates.map(spanId));
    const runs = consumer.spans().filter((s) => s.attributes['messaging.batch.message_count'] !== undefined);
    assert.ok(
      runs.some((r) => r.links.length > 1),
      'some orders went in runs',
    );
    const reached: string[] = [];
    for (const run of runs) {
      assert.equal(run.kind, SpanKind.CONSUMER);
      assert.equal(run.parentSpanContext, undefined, 'a run of many orders starts its own trace');
      assert.equal(run.links.length, run.attributes['messaging.batch.message_count'], 'one link per order');
      assert.equal(run.droppedLinksCount, 0);
      reached.push(...run.links.map((l) => l.context.spanId));
    }
    // Orders before the writer schema was cached go one by one, each a child of its create span.
    for (const single of consumer.spans().filter((s) => s.attributes['messaging.kafka.offset'] !== undefined))
      reached.push(single.parentSpanContext?.spanId ?? 'none');
    assert.equal(reached.length, count, 'each order reached once');
    assert.deepEqual(new Set(reached), createIds);
  });

  it('when tracing is disabled, whatever endpoint is set, then orders carry no trace header', async () => {
    const topics = await topicsFor('trace-off');
    // An endpoint alone would turn tracing on (port 9, discard: nothing would reach anyone); the
    // platform-style invalid protocol beside it must not stop the producer either.
    const env = {
      ORDER_COUNT: '3',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
      OTEL_SDK_DISABLED: 'true',
    };
    await runProducer(testConfig('producer', topics, env), {
      logger: quietLogger,
      http: false,
    });
    const records = await collect(kafka, topics.ordersTopic, 3);
    for (const { message } of records) assert.equal(message.headers?.['traceparent'], undefined);
  });
});
