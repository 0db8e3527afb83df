/**
 * Prints what a consumer's and a producer's /metrics serve after a few
 * events, so CI can lint the names with `promtool check metrics`.
 */
import { registerConsumerMetrics } from '../../src/adapters/metrics/consumer-metrics.js';
import { registerProducerMetrics } from '../../src/adapters/metrics/producer-metrics.js';
import { createMetricsRegistry } from '../../src/adapters/metrics/registry.js';
import { ConsumerEventBus } from '../../src/consumer/events.js';
import { ProducerEventBus } from '../../src/producer/events.js';

const role = process.argv[2];
if (role === 'consumer') {
  const registry = createMetricsRegistry({ service: 'consumer' });
  const bus = new ConsumerEventBus();
  registerConsumerMetrics(registry, bus);
  bus.emit('partitions.assigned', { partitions: [0, 1] });
  bus.emit('lag', [{ partition: 0, lag: 2 }]);
  bus.emit('partition.pending', { partition: 0, oldestTimestampMs: Date.now() - 1500 });
  bus.emit('orders.processed', {
    partition: 0,
    count: 1,
    priceSumCents: 85932n,
    durationSeconds: 0.01,
    endToEndSeconds: [0.2],
  });
  process.stdout.write(await registry.metrics());
} else if (role === 'producer') {
  const registry = createMetricsRegistry({ service: 'producer' });
  const bus = new ProducerEventBus();
  registerProducerMetrics(registry, bus);
  bus.emit('orders.acknowledged', { valid: 1, invalid: 0, sendSeconds: 0.003 });
  process.stdout.write(await registry.metrics());
} else {
  console.error('usage: node --import tsx tools/dashboard/sample-metrics.ts consumer|producer');
  process.exitCode = 2;
}
