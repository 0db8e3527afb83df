import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { registerProducerMetrics } from '../../src/adapters/metrics/producer-metrics.js';
import { pushFinalMetrics } from '../../src/adapters/metrics/pushgateway.js';
import { createMetricsRegistry } from '../../src/adapters/metrics/registry.js';
import { ProducerEventBus } from '../../src/producer/events.js';
import { parseMetricsText, sampleValue } from '../helpers/metrics-text.js';
import { freePort, startPrometheus } from '../helpers/prometheus.js';
import { startPushgateway, type PushgatewayInstance } from '../helpers/pushgateway.js';

function capturingLogger() {
  const lines: { level: number; msg: string }[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as { level: number; msg: string });
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

function producerRegistry() {
  const registry = createMetricsRegistry({ service: 'producer' });
  const bus = new ProducerEventBus();
  registerProducerMetrics(registry, bus);
  return { registry, bus };
}

describe('pushing final producer metrics to a real Pushgateway', () => {
  let gateway: PushgatewayInstance;
  before(async () => {
    gateway = await startPushgateway();
  });
  after(async () => {
    await gateway.stop();
  });

  it('when the producer pushes on exit, then the gateway holds its final totals under the job', async () => {
    const { registry, bus } = producerRegistry();
    bus.emit('orders.acknowledged', { valid: 12, invalid: 3, sendSeconds: 0.002 });
    bus.emit('orders.acknowledged', { valid: 4, invalid: 1, sendSeconds: 0.003 });
    const { logger, lines } = capturingLogger();

    await pushFinalMetrics(gateway.url, registry, 'order-producer', logger);

    const samples = parseMetricsText(await gateway.metrics());
    assert.equal(sampleValue(samples, 'orders_produced_total', { job: 'order-producer', valid: 'true' }), 16);
    assert.equal(sampleValue(samples, 'orders_produced_total', { job: 'order-producer', valid: 'false' }), 4);
    assert.ok(lines.some((l) => l.msg === 'pushed final metrics'));
  });

  it('when a later run pushes, then it replaces the previous run instead of adding to it', async () => {
    const first = producerRegistry();
    first.bus.emit('orders.acknowledged', { valid: 1, invalid: 0, sendSeconds: 0.002 });
    const second = producerRegistry();
    const { logger } = capturingLogger();
    await pushFinalMetrics(gateway.url, first.registry, 'replace-job', logger);
    await pushFinalMetrics(gateway.url, second.registry, 'replace-job', logger);
    const samples = parseMetricsText(await gateway.metrics());
    assert.equal(sampleValue(samples, 'orders_produced_total', { job: 'replace-job', valid: 'true' }), 0);
  });

  it('when Prometheus scrapes the gateway with honor_labels, then the pushed totals keep the Job name', async () => {
    const { registry, bus } = producerRegistry();
    bus.emit('orders.acknowledged', { valid: 7, invalid: 0, sendSeconds: 0.002 });
    await pushFinalMetrics(gateway.url, registry, 'scraped-producer', capturingLogger().logger);
    const prometheus = await startPrometheus({
      jobs: { pushgateway: { targets: [new URL(gateway.url).host], honorLabels: true } },
    });
    try {
      const [sample] = await prometheus.waitFor(
        'sum(orders_produced_total{job="scraped-producer", role="producer"})',
        (s) => s.length === 1,
        30_000,
      );
      assert.equal(sample!.value, 7);
    } finally {
      await prometheus.stop();
    }
  });

  it('when no gateway listens, then the push resolves and logs a warning instead of throwing', async () => {
    const { registry } = producerRegistry();
    const { logger, lines } = capturingLogger();
    const closedPort = await freePort();
    await pushFinalMetrics(`http://127.0.0.1:${closedPort}`, registry, 'order-producer', logger);
    const warning = lines.find((l) => l.msg === 'could not push final metrics to the Pushgateway');
    assert.equal(warning?.level, 40);
  });
});
