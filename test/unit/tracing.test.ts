import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import {
  AlwaysOffSampler,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
  type Sampler,
} from '@opentelemetry/sdk-trace';
import type { Kafka, Producer, Transaction } from 'kafkajs';
import { pino } from 'pino';
import { KafkaRedriveSink } from '../../src/adapters/kafka/redrive-sink.js';
import { tracesEndpoint } from '../../src/adapters/tracing/index.js';
import { headerGetter } from '../../src/adapters/tracing/kafka-headers.js';
import { OtelTracing, samplerFor } from '../../src/adapters/tracing/otel-tracing.js';
import { loadConfig } from '../../src/config/load.js';
import { buildDeadLetterHeaders, decodeDeadLetterHeaders } from '../../src/domain/dead-letter.js';
import {
  boundedTraceHeader,
  carriedTraceHeaders,
  isTraceparent,
  traceparentSampled,
} from '../../src/domain/trace-headers.js';
import { ConfigError, InvalidOrderError, classifyError } from '../../src/errors.js';
import type { Outcome } from '../../src/ports/processing.js';
import type { BatchRecord, IncomingRecord } from '../../src/ports/records.js';
import type { Redrive } from '../../src/ports/redrive.js';
import type { TraceSpan, Tracing } from '../../src/ports/tracing.js';

const TRACE = '0af7651916cd43dd8448eb211c80319c';
const parentOf = (spanId: string, flags = '01') => `00-${TRACE}-${spanId}-${flags}`;

function tracing(options: { sampler?: Sampler } = {}) {
  const exporter = new InMemorySpanExporter();
  const t = new OtelTracing({
    serviceName: 'order-consumer',
    processor: new SimpleSpanProcessor({ exporter }),
    groupId: 'g',
    deadLetterTopic: 'orders-dlq',
    ...(options.sampler ? { sampler: options.sampler } : {}),
  });
  return { tracing: t, spans: (): ReadableSpan[] => exporter.getFinishedSpans() };
}

const record = (offset: number, headers?: Record<string, Buffer>): BatchRecord => ({
  offset: String(offset),
  timestamp: '1',
  key: Buffer.from(`order-${offset}`),
  value: Buffer.from([1]),
  ...(headers ? { headers } : {}),
});

const incoming = (headers?: Record<string, Buffer>): IncomingRecord => ({
  topic: 'orders',
  partition: 2,
  ...record(7, headers),
});

describe('tracing settings (OTEL_*)', () => {
  const endpointOf = (env: Record<string, string>) => tracesEndpoint(loadConfig('consumer', env));

  it('when nothing is set, then tracing is off', () => {
    assert.equal(endpointOf({}), undefined);
  });

  it('when an OTLP endpoint is set, then spans go to its /v1/traces, and a traces endpoint is used as it is', () => {
    assert.equal(
      endpointOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }),
      'http://collector:4318/v1/traces',
    );
    assert.equal(
      endpointOf({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://tempo.example/otlp/traces',
      }),
      'https://tempo.example/otlp/traces',
    );
  });

  it('when the exporter is otlp without an endpoint, then the default receiver is used; none or OTEL_SDK_DISABLED turn it off', () => {
    assert.equal(endpointOf({ OTEL_TRACES_EXPORTER: 'otlp' }), 'http://localhost:4318/v1/traces');
    assert.equal(
      endpointOf({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }),
      undefined,
    );
    assert.equal(
      endpointOf({ OTEL_SDK_DISABLED: 'true', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }),
      undefined,
    );
  });

  it('when tracing is on and a protocol, a sampler and its ratio are wrong, then one error names each of them', () => {
    assert.throws(
      () =>
        loadConfig('producer', {
          OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
          OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
          OTEL_TRACES_SAMPLER: 'parentbased_jaeger_remote',
          OTEL_TRACES_SAMPLER_ARG: '2',
        }),
      (error: unknown) =>
        error instanceof ConfigError &&
        /OTEL_EXPORTER_OTLP_PROTOCOL/.test(error.message) &&
        /OTEL_TRACES_SAMPLER=/.test(error.message) &&
        /OTEL_TRACES_SAMPLER_ARG/.test(error.message),
    );
  });

  it('when either OTLP endpoint holds credentials, then it is refused, and not shown', () => {
    for (const name of ['OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'])
      assert.throws(
        () => loadConfig('consumer', { [name]: 'https://user:s3cret@collector.example/v1/traces' }),
        (error: unknown) =>
          error instanceof ConfigError &&
          error.message.includes(name) &&
          /credentials/.test(error.message) &&
          !error.message.includes('s3cret'),
        name,
      );
  });

  it('when a traces endpoint ends with a slash, then it is used as it is', () => {
    assert.equal(
      endpointOf({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://tempo.example/otlp/traces/' }),
      'https://tempo.example/otlp/traces/',
    );
  });

  it('when tracing is off or disabled, then OTEL_* values it cannot use (a platform’s) are warnings, not a failed startup', () => {
    const platform = {
      OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
      OTEL_TRACES_SAMPLER: 'parentbased_jaeger_remote',
      OTEL_TRACES_EXPORTER: 'console,zipkin',
    };
    const off = loadConfig('consumer', platform);
    assert.equal(tracesEndpoint(off), undefined);
    assert.equal(off.otelSampler, 'parentbased_always_on', 'the default stands in');
    assert.equal(off.otelWarnings.length, 3, off.otelWarnings.join('\n'));
    assert.match(off.otelWarnings.join('\n'), /console, zipkin ignored.*tracing is off/);
    assert.match(off.otelWarnings.join('\n'), /OTEL_EXPORTER_OTLP_PROTOCOL="grpc".*ignored: tracing is off/);
    const disabled = loadConfig('consumer', {
      ...platform,
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://user:s3cret@collector:4318',
      OTEL_SDK_DISABLED: 'true',
    });
    assert.equal(tracesEndpoint(disabled), undefined);
    assert.equal(disabled.otelWarnings.length, 3, disabled.otelWarnings.join('\n'));
    assert.ok(!disabled.otelWarnings.join('\n').includes('s3cret'));
    assert.deepEqual(loadConfig('consumer', {}).otelWarnings, []);
  });

  it('when OTEL_TRACES_EXPORTER is a list naming otlp, then tracing is on and the other exporters are a warning', () => {
    const config = loadConfig('consumer', { OTEL_TRACES_EXPORTER: 'otlp, console' });
    assert.equal(tracesEndpoint(config), 'http://localhost:4318/v1/traces');
    assert.deepEqual(config.otelWarnings, ['OTEL_TRACES_EXPORTER: console ignored, only otlp is supported']);
    assert.throws(
      () => loadConfig('consumer', { OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }),
      ConfigError,
      'with tracing on, a protocol it cannot speak stops startup',
    );
  });
});

describe('trace headers carried on (no tracing needed)', () => {
  it('when a record carries a trace context, then its dead letter carries it on, and oversized or lone tracestate headers are not', () => {
    const traceparent = Buffer.from(parentOf('b7ad6b7169203331'));
    const headers = buildDeadLetterHeaders({
      source: {
        topic: 'orders',
        partition: 0,
        offset: '5',
        timestamp: '1',
        headers: { traceparent, tracestate: 'a=1' },
      },
      error: classifyError(new InvalidOrderError('bad')),
      attempts: 1,
      failedAt: new Date(0),
      consumerGroup: 'g',
    });
    assert.deepEqual(headers['traceparent'], traceparent);
    assert.equal(headers['tracestate']?.toString(), 'a=1');
    assert.equal(
      decodeDeadLetterHeaders(headers).traceparent,
      traceparent.toString(),
      'npm run dlq shows it',
    );
    assert.deepEqual(carriedTraceHeaders({ tracestate: 'a=1' }), {});
    assert.deepEqual(Object.keys(carriedTraceHeaders({ traceparent: 'x'.repeat(129) })), []);
    assert.deepEqual(Object.keys(carriedTraceHeaders({ traceparent, tracestate: 'a'.repeat(513) })), [
      'traceparent',
    ]);
  });

  it('when a traceparent is not in the W3C format, then neither it nor the tracestate beside it is carried', () => {
    const good = parentOf('b7ad6b7169203331');
    const refused = [
      'x'.repeat(55),
      good.toUpperCase(),
      `00-${'0'.repeat(32)}-b7ad6b7169203331-01`,
      `00-${TRACE}-${'0'.repeat(16)}-01`,
      `ff-${TRACE}-b7ad6b7169203331-01`,
      `${good}-extra`,
      ` ${good}`,
      `00-${TRACE}-b7ad6b7169203331-1`,
      `00_${TRACE}-b7ad6b7169203331-01`,
    ];
    for (const traceparent of refused) {
      assert.equal(isTraceparent(traceparent), false, traceparent);
      assert.deepEqual(carriedTraceHeaders({ traceparent, tracestate: 'a=1' }), {}, traceparent);
    }
    assert.equal(isTraceparent(good), true);
    assert.equal(
      isTraceparent(`01-${TRACE}-b7ad6b7169203331-01-later`),
      true,
      'a later version may add fields',
    );
    assert.deepEqual(Object.keys(carriedTraceHeaders({ traceparent: good, tracestate: 'a=1' })), [
      'traceparent',
      'tracestate',
    ]);
  });

  it('when trace headers are 1 MB (a hostile writer), then they are refused before any conversion, by every reader', () => {
    // A Buffer that must not be turned into text: the limits are checked on its length first.
    const hostile = (fill: string): Buffer => {
      const value = Buffer.alloc(1 << 20, fill);
      value.toString = () => {
        throw new Error('a 1 MB header was converted');
      };
      return value;
    };
    const headers = {
      traceparent: hostile('0'),
      tracestate: hostile('a'),
    };
    assert.equal(boundedTraceHeader(headers, 'traceparent'), undefined);
    assert.equal(boundedTraceHeader(headers, 'tracestate'), undefined);
    assert.equal(boundedTraceHeader({ tracestate: 'a'.repeat(1 << 20) }, 'tracestate'), undefined);
    assert.equal(headerGetter.get(headers, 'traceparent'), undefined);
    assert.equal(headerGetter.get(headers, 'tracestate'), undefined);
    assert.equal(traceparentSampled(headers), undefined);
    assert.deepEqual(carriedTraceHeaders(headers), {});

    // A good traceparent beside a 1 MB tracestate: the span continues the trace without the tracestate.
    const { tracing: t, spans } = tracing();
    const beside = { traceparent: Buffer.from(parentOf('b7ad6b7169203331')), tracestate: hostile('a') };
    const span = t.startProcess(incoming(beside), performance.now(), 1);
    const deadLetter: Record<string, Buffer> = {};
    span.startDeadLetter(deadLetter).end();
    span.end(undefined);
    const [dlqSpan, process] = spans();
    assert.equal(process?.parentSpanContext?.spanId, 'b7ad6b7169203331');
    assert.equal(process.spanContext().traceState, undefined, 'the 1 MB tracestate is not kept');
    assert.equal(dlqSpan?.spanContext().traceState, undefined);
    assert.equal(deadLetter['tracestate'], undefined);
    assert.deepEqual(Object.keys(carriedTraceHeaders(beside)), ['traceparent']);

    // A 1 MB traceparent: no parent, a trace of its own; in a run, no link.
    t.startProcess(incoming(headers), performance.now(), 1).end(undefined);
    assert.equal(spans()[2]?.parentSpanContext, undefined);
    t.processedRun({ topic: 'orders', partition: 1 }, [record(1, headers)], 0, 0, 1, 2);
    assert.deepEqual(spans()[3]?.links, []);
  });
});

describe('OpenTelemetry tracing (in memory)', () => {
  it('when a run of orders is processed, then one consumer span links each order that has a trace context, none that has not', () => {
    const { tracing: t, spans } = tracing();
    const records = [
      record(10, { traceparent: Buffer.from(parentOf('00f067aa0ba902b7')) }),
      record(11),
      record(12, { traceparent: Buffer.from('not a traceparent') }),
      record(13, { traceparent: Buffer.from(parentOf('53995c3f42cd8ad8')) }),
    ];
    t.processedRun({ topic: 'orders', partition: 1 }, records, 0, 3, 10, 20);
    const [run] = spans();
    assert.ok(run);
    assert.equal(run.name, 'process orders');
    assert.equal(run.kind, SpanKind.CONSUMER);
    assert.equal(run.parentSpanContext, undefined);
    assert.deepEqual(
      run.links.map((l) => l.context.spanId),
      ['00f067aa0ba902b7', '53995c3f42cd8ad8'],
    );
    assert.equal(run.attributes['messaging.batch.message_count'], 4);
    assert.equal(run.attributes['messaging.destination.partition.id'], '1');
    assert.equal(run.attributes['messaging.consumer.group.name'], 'g');
    assert.equal(run.attributes['kos.offset.first'], 10);
    assert.equal(run.attributes['kos.offset.last'], 13);
  });

  it("when the producer sampled some orders of a run, then the run is recorded whatever the consumer's ratio, linked to the sampled ones only", () => {
    const { tracing: t, spans } = tracing({ sampler: samplerFor('parentbased_traceidratio', 0) });
    const records = [
      record(1, { traceparent: Buffer.from(parentOf('00f067aa0ba902b7', '00')) }),
      record(2, { traceparent: Buffer.from(parentOf('53995c3f42cd8ad8', '01')) }),
      record(3),
      record(4, { traceparent: Buffer.from(parentOf('b7ad6b7169203331', '03')) }),
    ];
    t.processedRun({ topic: 'orders', partition: 1 }, records, 0, 3, 1, 2);
    const [run] = spans();
    assert.ok(run, 'recorded although the ratio is 0');
    assert.deepEqual(
      run.links.map((l) => l.context.spanId),
      ['53995c3f42cd8ad8', 'b7ad6b7169203331'],
    );
    assert.equal(run.attributes['messaging.batch.message_count'], 4);
  });

  it('when no order of a run is sampled, then there is no run span; when none has a trace context, the consumer’s sampler decides', () => {
    const unsampled = [
      record(1, { traceparent: Buffer.from(parentOf('00f067aa0ba902b7', '00')) }),
      record(2),
    ];
    const alwaysOn = tracing();
    alwaysOn.tracing.processedRun({ topic: 'orders', partition: 1 }, unsampled, 0, 1, 1, 2);
    assert.deepEqual(alwaysOn.spans(), [], 'the producer decided: not even parentbased_always_on records it');
    alwaysOn.tracing.processedRun({ topic: 'orders', partition: 1 }, [record(3)], 0, 0, 1, 2);
    assert.equal(alwaysOn.spans().length, 1, 'orders without a trace context: a new trace, always on');
    const none = tracing({ sampler: samplerFor('parentbased_traceidratio', 0) });
    none.tracing.processedRun({ topic: 'orders', partition: 1 }, [record(3)], 0, 0, 1, 2);
    assert.deepEqual(none.spans(), [], 'a new trace, at ratio 0');
    const off = tracing({ sampler: new AlwaysOffSampler() });
    off.tracing.processedRun({ topic: 'orders', partition: 1 }, unsampled.slice(0, 1), 0, 0, 1, 2);
    assert.deepEqual(off.spans(), [], 'a sampler that is not parent-based decides alone');
  });

  it('when a send holds sampled and unsampled orders, then its span links the sampled ones; with none sampled, it is not recorded', () => {
    const { tracing: t, spans } = tracing({ sampler: samplerFor('parentbased_traceidratio', 0) });
    const context = (spanId: string, traceFlags: number) => ({ traceId: TRACE, spanId, traceFlags });
    t.startSend('orders', [context('00f067aa0ba902b7', 0), context('53995c3f42cd8ad8', 1)]).end();
    t.startSend('orders', [context('00f067aa0ba902b7', 0)]).end();
    const [send, ...others] = spans();
    assert.deepEqual(
      send?.links.map((l) => l.context.spanId),
      ['53995c3f42cd8ad8'],
    );
    assert.equal(send.attributes['messaging.batch.message_count'], 2);
    assert.deepEqual(others, []);
  });

  it('when a record’s unit is rolled back, then its span and its dead letter’s end once, failed, with the reason', () => {
    const { tracing: t, spans } = tracing();
    const source = incoming({ traceparent: Buffer.from(parentOf('b7ad6b7169203331')) });
    const span = t.startProcess(source, performance.now(), 1);
    const dlq = span.startDeadLetter({});
    dlq.end();
    dlq.end(new Error('a second end is ignored'));
    const failure = classifyError(new InvalidOrderError('bad'));
    const outcome: Outcome = {
      kind: 'dead-lettered',
      record: source,
      failure,
      attempts: 1,
      durationSeconds: 0,
      finishedAt: performance.now(),
    };
    assert.deepEqual(spans(), [], 'nothing ends before the unit closes');
    const rolledBack = { code: 'KOS_BROKER_UNAVAILABLE', message: 'the commit failed' };
    span.end(outcome, rolledBack);
    span.end(outcome);
    const [dlqSpan, processSpan] = spans();
    assert.equal(spans().length, 2);
    assert.equal(dlqSpan?.status.code, SpanStatusCode.ERROR);
    assert.equal(dlqSpan.attributes['kos.rolled_back'], 'KOS_BROKER_UNAVAILABLE');
    assert.equal(dlqSpan.attributes['error.type'], 'KOS_BROKER_UNAVAILABLE');
    assert.equal(processSpan?.attributes['kos.rolled_back'], 'KOS_BROKER_UNAVAILABLE');
    assert.equal(processSpan.attributes['error.type'], 'KOS_ORDER_INVALID', 'its own failure stays');
    assert.equal(processSpan.attributes['kos.outcome'], 'dead-lettered');

    t.processedRun({ topic: 'orders', partition: 1 }, [record(1)], 0, 0, 1, 2, rolledBack);
    const run = spans()[2];
    assert.equal(run?.status.code, SpanStatusCode.ERROR);
    assert.equal(run.attributes['kos.rolled_back'], 'KOS_BROKER_UNAVAILABLE');
  });

  it("when a record is dead-lettered, then its span is a failed child of the producer's, and the dead letter carries its child span's context in place of any other", () => {
    const { tracing: t, spans } = tracing();
    const source = incoming({ traceparent: Buffer.from(parentOf('b7ad6b7169203331')) });
    const span = t.startProcess(source, performance.now(), 2);
    const deadLetter: Record<string, Buffer> = {
      traceparent: Buffer.from(parentOf('b7ad6b7169203331')),
      tracestate: Buffer.from('stale=1'),
    };
    const dlq = span.startDeadLetter(deadLetter);
    dlq.end();
    const failure = classifyError(new InvalidOrderError('price must be above zero'));
    const outcome: Outcome = {
      kind: 'dead-lettered',
      record: source,
      failure,
      attempts: 2,
      durationSeconds: 0,
      finishedAt: performance.now(),
    };
    span.end(outcome);
    const [dlqSpan, processSpan] = spans();
    assert.ok(dlqSpan && processSpan);
    assert.equal(processSpan.parentSpanContext?.spanId, 'b7ad6b7169203331');
    assert.equal(processSpan.spanContext().traceId, TRACE);
    assert.equal(processSpan.status.code, SpanStatusCode.ERROR);
    assert.equal(processSpan.attributes['error.type'], 'KOS_ORDER_INVALID');
    assert.equal(processSpan.attributes['kos.outcome'], 'dead-lettered');
    assert.equal(processSpan.attributes['kos.attempt'], 2);
    assert.equal(processSpan.attributes['messaging.kafka.offset'], 7);
    assert.equal(processSpan.attributes['messaging.kafka.message.key'], 'order-7');
    assert.equal(dlqSpan.name, 'send orders-dlq');
    assert.equal(dlqSpan.parentSpanContext?.spanId, processSpan.spanContext().spanId);
    assert.equal(deadLetter['traceparent']?.toString(), parentOf(dlqSpan.spanContext().spanId));
    assert.equal(deadLetter['tracestate'], undefined, 'no stale tracestate beside the new traceparent');
  });

  it('when a dead letter is redriven, then the redrive span continues its trace and the record carries the redrive span', () => {
    const { tracing: t, spans } = tracing();
    const headers: Record<string, Buffer> = {
      traceparent: Buffer.from(parentOf('c5ad6b7169203331')),
      'kos-redrive-count': Buffer.from('2'),
      'kos-redriven-from': Buffer.from('orders-dlq/0/41'),
    };
    t.startRedrive('orders', headers).end();
    const [redrive] = spans();
    assert.ok(redrive);
    assert.equal(redrive.kind, SpanKind.PRODUCER);
    assert.equal(redrive.parentSpanContext?.spanId, 'c5ad6b7169203331');
    assert.equal(redrive.attributes['kos.redrive.count'], 2);
    assert.equal(headers['traceparent']?.toString(), parentOf(redrive.spanContext().spanId));
  });
});

describe('redrive spans (a fake transactional producer)', () => {
  const quiet = pino({ level: 'silent' });

  /** A Tracing that counts how each redrive span ended. */
  function countingTracing() {
    const ends: (string | undefined)[] = [];
    const unused = () => {
      throw new Error('not a redrive’s');
    };
    const tracing: Tracing = {
      createOrder: unused,
      startSend: unused,
      processedRun: unused,
      startProcess: unused,
      shutdown: () => Promise.resolve(),
      startRedrive: (): TraceSpan => ({
        inject: () => undefined,
        end: (error?: unknown) => ends.push(error === undefined ? 'ok' : classifyError(error).message),
      }),
    };
    return { tracing, ends };
  }

  /** A producer whose fencing transaction opens, and whose next ones behave as `next` says. */
  function fakeKafka(next: () => Promise<Transaction>): Kafka {
    let transactions = 0;
    const producer = {
      connect: () => Promise.resolve(),
      disconnect: () => Promise.resolve(),
      transaction: () => {
        transactions += 1;
        if (transactions === 1)
          return Promise.resolve({ abort: () => Promise.resolve() } as unknown as Transaction);
        return next();
      },
    } as unknown as Producer;
    return { producer: () => producer } as unknown as Kafka;
  }

  const redrive = (n: number): Redrive => ({
    topic: 'orders',
    key: Buffer.from(`order-${n}`),
    value: Buffer.from([n]),
    headers: {},
    ledgerKey: `k${n}`,
    ledgerValue: Buffer.from(`v${n}`),
  });

  it('when the transaction cannot even open, then every redrive span ends once, failed, and the commit fails', async () => {
    const { tracing, ends } = countingTracing();
    const kafka = fakeKafka(() => Promise.reject(new Error('the coordinator is away')));
    const sink = await KafkaRedriveSink.connect(kafka, {
      dlqTopic: 'orders-dlq',
      ledgerTopic: 'orders-dlq-redrive',
      logger: quiet,
      tracing,
    });
    await assert.rejects(sink.commit([redrive(1), redrive(2)]), /a redrive transaction failed/);
    assert.deepEqual(ends, ['the coordinator is away', 'the coordinator is away']);
  });

  it('when the transaction commits, then every redrive span ends once, ok, after it', async () => {
    const { tracing, ends } = countingTracing();
    const log: string[] = [];
    const kafka = fakeKafka(() =>
      Promise.resolve({
        sendBatch: () => {
          log.push(`send (${ends.length} ended)`);
          return Promise.resolve([]);
        },
        commit: () => {
          log.push(`commit (${ends.length} ended)`);
          return Promise.resolve();
        },
        abort: () => Promise.resolve(),
      } as unknown as Transaction),
    );
    const sink = await KafkaRedriveSink.connect(kafka, {
      dlqTopic: 'orders-dlq',
      ledgerTopic: 'orders-dlq-redrive',
      logger: quiet,
      tracing,
    });
    await sink.commit([redrive(1), redrive(2)]);
    assert.deepEqual(log, ['send (0 ended)', 'commit (0 ended)']);
    assert.deepEqual(ends, ['ok', 'ok']);
  });
});
