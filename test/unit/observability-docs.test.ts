import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { READINESS_METRICS } from '../../src/adapters/http/server.js';
import { registerClusterMetrics } from '../../src/adapters/metrics/cluster-metrics.js';
import { registerConsumerMetrics } from '../../src/adapters/metrics/consumer-metrics.js';
import { registerProducerMetrics } from '../../src/adapters/metrics/producer-metrics.js';
import { createMetricsRegistry } from '../../src/adapters/metrics/registry.js';
import { ConsumerEventBus } from '../../src/consumer/events.js';
import { ProducerEventBus } from '../../src/producer/events.js';
import { alertNames } from '../helpers/observability-queries.js';

const docs = readFileSync(new URL('../../docs/observability.md', import.meta.url), 'utf8');

function ourMetricNames(): string[] {
  const consumer = createMetricsRegistry({ service: 'consumer' });
  registerConsumerMetrics(consumer, new ConsumerEventBus());
  registerClusterMetrics(consumer, { all: () => [], caughtUp: false }, 'order-consumer-group', 'orders');
  const producer = createMetricsRegistry({ service: 'producer' });
  registerProducerMetrics(producer, new ProducerEventBus());
  return [...consumer.getMetricsAsArray(), ...producer.getMetricsAsArray()]
    .map((m) => m.name)
    .filter((name) => name.startsWith('orders_'))
    .concat(Object.values(READINESS_METRICS));
}

describe('observability docs', () => {
  it('when a metric is registered, then the metrics reference table has a row for it', () => {
    const missing = ourMetricNames().filter((name) => !docs.includes(`| \`${name}\``));
    assert.deepEqual(missing, []);
  });

  it('when an alert is in the rule file, then the alert table has a row for it', () => {
    const missing = alertNames().filter((name) => !docs.includes(`| \`${name}\``));
    assert.deepEqual(missing, []);
  });
});
