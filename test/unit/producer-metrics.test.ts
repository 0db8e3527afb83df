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

    bus.emit('orders.acknowledged', { valid: 1, invalid: 1, sendSeconds: 0.004 });
    bus.emit('orders.acknowledged', { valid: 1, invalid: 0, sendSeconds: 0.02 });
    bus.emit('orders.failed', { count: 1, reason: 'KafkaJSNumberOfRetriesExceeded', sendSeconds: 30 });
    bus.emit('orders.failed', { count: 3, reason: 'KOS_REGISTRY_UNAVAILABLE', sendSeconds: 5 });

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
      3,
      'each order of a failed send is an error',
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
      4,
    );
    assert.ok(samples.every((s) => s.labels.role === 'producer'));
  });
});
