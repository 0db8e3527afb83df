import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { registerProducerMetrics } from '../../src/adapters/metrics/producer-metrics.js';
import { createMetricsRegistry } from '../../src/adapters/metrics/registry.js';
import { ProducerEventBus } from '../../src/producer/events.js';
import { parseMetricsText, sampleValue } from '../helpers/metrics-text.js';

describe('producer metrics', () => {
  it('when orders are acknowledged or fail, then produced, errors and send latency are counted', async () => {
    const registry = createMetricsRegistry({ service: 'producer' });
    const bus = new ProducerEventBus();
    registerProducerMetrics(registry, bus);

    bus.emit('order.acknowledged', { partition: 0, offset: '1', sendSeconds: 0.004, valid: true });
    bus.emit('order.acknowledged', { partition: 1, offset: '7', sendSeconds: 0.02, valid: true });
    bus.emit('order.acknowledged', { partition: 2, offset: '3', sendSeconds: 0.003, valid: false });
    bus.emit('order.failed', { reason: 'KafkaJSNumberOfRetriesExceeded', sendSeconds: 30 });
    bus.emit('order.failed', { reason: 'KOS_REGISTRY_UNAVAILABLE', sendSeconds: 5 });

    const samples = parseMetricsText(await registry.metrics());
    assert.equal(sampleValue(samples, 'orders_produced_total', { valid: 'true' }), 2);
    assert.equal(sampleValue(samples, 'orders_produced_total', { valid: 'false' }), 1);
    assert.equal(
      sampleValue(samples, 'orders_produce_errors_total', { reason: 'other' }),
      1,
      'a client error name is not an error code',
    );
    assert.equal(
      sampleValue(samples, 'orders_produce_errors_total', { reason: 'KOS_REGISTRY_UNAVAILABLE' }),
      1,
    );
    assert.equal(
      sampleValue(samples, 'orders_produce_send_duration_seconds_count', { outcome: 'acknowledged' }),
      3,
    );
    assert.equal(
      sampleValue(samples, 'orders_produce_send_duration_seconds_bucket', {
        outcome: 'acknowledged',
        le: '0.005',
      }),
      2,
    );
    assert.equal(
      sampleValue(samples, 'orders_produce_send_duration_seconds_count', { outcome: 'failed' }),
      2,
    );
    assert.ok(samples.every((s) => s.labels.role === 'producer'));
  });
});
