import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { registerConsumerMetrics } from '../../src/adapters/metrics/consumer-metrics.js';
import { createMetricsRegistry } from '../../src/adapters/metrics/registry.js';
import { ConsumerEventBus } from '../../src/consumer/events.js';
import { OrderProcessor } from '../../src/consumer/order-processor.js';
import { OutcomeRecorder } from '../../src/consumer/outcome-recorder.js';
import { deadLettered, processed } from '../../src/consumer/outcomes.js';
import { decodeDeadLetterHeaders } from '../../src/domain/dead-letter.js';
import type { Order } from '../../src/domain/order.js';
import { redriveHeaders } from '../../src/domain/redrive.js';
import { RunningAverage } from '../../src/domain/running-average.js';
import { classifyError, TransientDownstreamError } from '../../src/errors.js';
import type { ConsumerEvents } from '../../src/ports/events.js';
import type { OrderDecoder } from '../../src/ports/processing.js';
import type { IncomingRecord } from '../../src/ports/records.js';
import { parseMetricsText, sampleValue } from '../helpers/metrics-text.js';

const order: Order = { orderId: '7', product: 'Laptop', priceCents: 1999n, createdAtMs: 1 };
const redriveMark = redriveHeaders({ count: 1, from: 'orders-dlq/0/9' });
const policy = {
  maxRetries: 0,
  backoffMs: 1,
  strategy: 'fixed',
  maxBackoffMs: 1,
  jitter: 0,
  waitBackoffMs: 1,
  waitMaxBackoffMs: 1,
} as const;

function record(headers?: IncomingRecord['headers']): IncomingRecord {
  return {
    topic: 'orders',
    partition: 1,
    offset: '5',
    timestamp: '1000',
    key: Buffer.from('7'),
    value: Buffer.from([1, 20]),
    ...(headers === undefined ? {} : { headers }),
  };
}

describe('redriven orders in the consumer', () => {
  it('when a redriven good order lies among good ones, then the run ends before it and it is taken on its own', () => {
    const decoder: OrderDecoder = {
      decode: () => Promise.resolve(order),
      decodeCached: () => order,
      readGoodOrder: (value, into) => {
        into.priceCents = value?.[1] ?? 0;
        into.createdAtMs = 0;
        return true;
      },
    };
    const processor = new OrderProcessor({ decoder, policy, groupId: 'g' });
    const plain = { offset: '1', timestamp: '5000', key: null, value: Buffer.from([1, 10]), headers: {} };
    const batch = [plain, { ...plain, offset: '2' }, { ...plain, offset: '3', headers: redriveMark }, plain];
    assert.equal(processor.takeRun(batch, 0, batch.length, 0)?.count, 2);
    assert.equal(
      processor.takeRun(batch, 2, batch.length, 0),
      undefined,
      'the redriven order is for handle()',
    );
    assert.equal(processor.takeRun(batch, 3, batch.length, 0)?.count, 1);
  });

  it('when a redriven order fails again, then its dead letter carries its redrive history', async () => {
    const dead: Record<string, Buffer>[] = [];
    const processor = new OrderProcessor({
      decoder: { decode: () => Promise.resolve(order) },
      downstream: () => Promise.reject(new TransientDownstreamError('still failing')),
      policy,
      groupId: 'g',
    });
    const outcome = await processor.handle(record(redriveMark), {
      deadLetters: {
        publish: (_record, headers) => {
          dead.push(headers);
          return Promise.resolve();
        },
      },
    });
    assert.equal(outcome.kind, 'dead-lettered');
    const headers = decodeDeadLetterHeaders(dead[0] ?? {});
    assert.equal(headers.errorCode, 'KOS_DOWNSTREAM_TRANSIENT');
    assert.deepEqual(headers.redrive, { count: 1, from: 'orders-dlq/0/9' });
  });

  it('when redriven orders are processed or dead-lettered, then each is reported as redriven with its outcome; other orders are not', () => {
    const bus = new ConsumerEventBus();
    const redriven: ConsumerEvents['order.redriven'][0][] = [];
    bus.on('order.redriven', (event) => redriven.push(event));
    const recorder = new OutcomeRecorder({
      average: new RunningAverage(),
      bus,
      logger: pino({ level: 'silent' }),
    });
    const soFar = { attempt: 1, startedAt: performance.now() };
    const failure = classifyError(new TransientDownstreamError('still failing'));
    recorder.record(processed(record(redriveMark), order, soFar));
    recorder.record(deadLettered(record(redriveMark), failure, soFar));
    recorder.record(processed(record(), order, soFar));
    recorder.record(deadLettered(record({ other: Buffer.from('1') }), failure, soFar));
    assert.deepEqual(redriven, [
      { partition: 1, outcome: 'success' },
      { partition: 1, outcome: 'dead_lettered' },
    ]);
    assert.deepEqual(recorder.counters, { processed: 2, deadLettered: 2 });
  });

  it('when redriven orders are reported, then orders_redriven_total counts them by outcome, from 0', async () => {
    const registry = createMetricsRegistry({ service: 'consumer' });
    const bus = new ConsumerEventBus();
    registerConsumerMetrics(registry, bus);
    const read = async () => parseMetricsText(await registry.metrics());
    const before = await read();
    assert.equal(sampleValue(before, 'orders_redriven_total', { outcome: 'success' }), 0);
    assert.equal(sampleValue(before, 'orders_redriven_total', { outcome: 'dead_lettered' }), 0);
    bus.emit('order.redriven', { partition: 0, outcome: 'success' });
    bus.emit('order.redriven', { partition: 2, outcome: 'success' });
    bus.emit('order.redriven', { partition: 1, outcome: 'dead_lettered' });
    const after = await read();
    assert.equal(sampleValue(after, 'orders_redriven_total', { outcome: 'success', role: 'consumer' }), 2);
    assert.equal(sampleValue(after, 'orders_redriven_total', { outcome: 'dead_lettered' }), 1);
  });
});
