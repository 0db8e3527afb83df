import assert from 'node:assert/strict';
import { FAILURE_REASONS } from '../../src/adapters/metrics/units.js';
import { describe, it } from 'node:test';
import { registerConsumerMetrics } from '../../src/adapters/metrics/consumer-metrics.js';
import { createMetricsRegistry } from '../../src/adapters/metrics/registry.js';
import { ConsumerEventBus } from '../../src/consumer/events.js';
import { parseMetricsText, sampleValue, type Sample } from '../helpers/metrics-text.js';

function setup(now: () => number = Date.now) {
  const registry = createMetricsRegistry({ service: 'consumer' });
  const bus = new ConsumerEventBus();
  registerConsumerMetrics(registry, bus, now);
  const read = async (): Promise<Sample[]> => parseMetricsText(await registry.metrics());
  return { registry, bus, read };
}

function processed(priceCents: bigint, partition = 0) {
  return { partition, count: 1, priceSumCents: priceCents, durationSeconds: 0.02, endToEndSeconds: [0.3] };
}

describe('consumer metrics', () => {
  it('when nothing happened yet, then every known series exists at zero and carries role="consumer"', async () => {
    const { read } = setup();
    const samples = await read();
    assert.equal(sampleValue(samples, 'orders_processed_total', { outcome: 'success' }), 0);
    assert.equal(sampleValue(samples, 'orders_processed_total', { outcome: 'dead_lettered' }), 0);
    assert.equal(sampleValue(samples, 'orders_retries_total', { reason: 'KOS_DOWNSTREAM_TRANSIENT' }), 0);
    assert.equal(sampleValue(samples, 'orders_dead_lettered_total', { reason: 'KOS_ORDER_INVALID' }), 0);
    assert.equal(sampleValue(samples, 'orders_price_sum_dollars_total'), 0);
    assert.equal(sampleValue(samples, 'orders_assigned_partitions'), 0);
    assert.equal(sampleValue(samples, 'orders_rebalances_total'), 0);
    assert.ok(
      samples.some((s) => s.name === 'process_cpu_user_seconds_total'),
      'default metrics are collected',
    );
    assert.ok(samples.every((s) => s.labels.role === 'consumer'));
  });

  it('when orders are processed, then the count, exact dollar sum, average gauge and histograms follow', async () => {
    const { bus, read } = setup();
    bus.emit('orders.processed', processed(85932n));
    bus.emit('orders.processed', processed(1999n, 1));
    bus.emit('orders.processed', processed(1n, 2));
    const samples = await read();
    assert.equal(sampleValue(samples, 'orders_processed_total', { outcome: 'success' }), 3);
    assert.equal(sampleValue(samples, 'orders_price_count_total'), 3);
    assert.equal(sampleValue(samples, 'orders_price_sum_dollars_total'), 879.32);
    assert.equal(sampleValue(samples, 'orders_average_price_dollars'), 293.11);
    assert.equal(sampleValue(samples, 'orders_processing_duration_seconds_count', { outcome: 'success' }), 3);
    assert.equal(
      sampleValue(samples, 'orders_end_to_end_latency_seconds_bucket', { outcome: 'success', le: '0.25' }),
      0,
    );
    assert.equal(
      sampleValue(samples, 'orders_end_to_end_latency_seconds_bucket', { outcome: 'success', le: '0.5' }),
      3,
    );
  });

  it('when a run of orders is reported at once, then each order counts as if reported alone', async () => {
    const { bus, read } = setup();
    bus.emit('orders.processed', {
      partition: 0,
      count: 4,
      priceSumCents: 1000n,
      durationSeconds: 0.002,
      endToEndSeconds: Float64Array.of(0.004, 0.3, 0.3),
    });
    const samples = await read();
    assert.equal(sampleValue(samples, 'orders_processed_total', { outcome: 'success' }), 4);
    assert.equal(sampleValue(samples, 'orders_average_price_dollars'), 2.5);
    const duration = { outcome: 'success' };
    assert.equal(sampleValue(samples, 'orders_processing_duration_seconds_count', duration), 4);
    assert.equal(sampleValue(samples, 'orders_processing_duration_seconds_sum', duration), 0.002);
    assert.equal(
      sampleValue(samples, 'orders_processing_duration_seconds_bucket', { ...duration, le: '0.001' }),
      4,
      'each of the 4 took a quarter of the run',
    );
    // One order had no known origin: 3 end-to-end observations.
    assert.equal(sampleValue(samples, 'orders_end_to_end_latency_seconds_count', duration), 3);
    assert.equal(
      sampleValue(samples, 'orders_end_to_end_latency_seconds_bucket', { ...duration, le: '0.005' }),
      1,
    );
  });

  it('when a million orders of 0.10 dollars are processed, then the sum is still exact to the cent', async () => {
    const { bus, read } = setup();
    for (let i = 1; i <= 1_000_000; i++) bus.emit('orders.processed', processed(10n));
    const samples = await read();
    assert.equal(sampleValue(samples, 'orders_price_sum_dollars_total'), 100_000);
    assert.equal(sampleValue(samples, 'orders_price_count_total'), 1_000_000);
  });

  it('when orders are retried and dead-lettered, then both are counted by reason and DLQ counts as an outcome', async () => {
    const { bus, read } = setup();
    bus.emit('order.retrying', { partition: 0, reason: 'KOS_DOWNSTREAM_TRANSIENT', attempt: 1, delayMs: 10 });
    bus.emit('order.retrying', { partition: 0, reason: 'KOS_DOWNSTREAM_TRANSIENT', attempt: 2, delayMs: 10 });
    bus.emit('order.retrying', { partition: 1, reason: 'KOS_REGISTRY_UNAVAILABLE', attempt: 1, delayMs: 10 });
    bus.emit('order.dead_lettered', {
      partition: 0,
      reason: 'KOS_ORDER_INVALID',
      attempts: 1,
      durationSeconds: 0.01,
      endToEndSeconds: undefined,
    });
    const samples = await read();
    assert.equal(sampleValue(samples, 'orders_retries_total', { reason: 'KOS_DOWNSTREAM_TRANSIENT' }), 2);
    assert.equal(sampleValue(samples, 'orders_retries_total', { reason: 'KOS_REGISTRY_UNAVAILABLE' }), 1);
    assert.equal(sampleValue(samples, 'orders_dead_lettered_total', { reason: 'KOS_ORDER_INVALID' }), 1);
    assert.equal(sampleValue(samples, 'orders_processed_total', { outcome: 'dead_lettered' }), 1);
    assert.equal(sampleValue(samples, 'orders_price_count_total'), 0, 'a dead-lettered order has no price');
    assert.equal(
      sampleValue(samples, 'orders_end_to_end_latency_seconds_count', { outcome: 'dead_lettered' }),
      0,
      'an unknown end-to-end time is not observed',
    );
  });

  it('when a reason is not an error code, then it is counted as "other", so labels stay bounded', async () => {
    const { bus, read } = setup();
    for (let i = 0; i < 50; i++) {
      bus.emit('order.retrying', { partition: 0, reason: `order ${1000 + i} broke`, attempt: 1, delayMs: 0 });
    }
    const samples = await read();
    const reasons = samples.filter((s) => s.name === 'orders_retries_total').map((s) => s.labels.reason);
    assert.equal(reasons.length, FAILURE_REASONS.length, 'the error codes of order failures, and other');
    assert.ok(!reasons.some((r) => r?.startsWith('order ')), 'no reason carries an id');
    assert.equal(sampleValue(samples, 'orders_retries_total', { reason: 'other' }), 50);
  });

  it('when partitions are assigned, lag reported per batch and a rebalance starts, then the gauges track ownership', async () => {
    const { bus, read } = setup();
    bus.emit('partitions.assigned', { partitions: [0, 1, 2] });
    bus.emit('lag', [
      { partition: 0, lag: 5 },
      { partition: 1, lag: 0 },
    ]);
    // The consumer reports one partition after each batch; earlier partitions stay.
    bus.emit('lag', [{ partition: 2, lag: 12 }]);
    let samples = await read();
    assert.equal(sampleValue(samples, 'orders_assigned_partitions'), 3);
    assert.equal(sampleValue(samples, 'orders_consumer_lag', { partition: '2' }), 12);
    assert.equal(sampleValue(samples, 'orders_consumer_lag', { partition: '0' }), 5);

    bus.emit('rebalance');
    samples = await read();
    assert.equal(sampleValue(samples, 'orders_rebalances_total'), 1);
    assert.equal(sampleValue(samples, 'orders_assigned_partitions'), 0);

    bus.emit('partitions.assigned', { partitions: [1] });
    samples = await read();
    assert.equal(sampleValue(samples, 'orders_assigned_partitions'), 1);
    assert.deepEqual(
      samples.filter((s) => s.name === 'orders_consumer_lag').map((s) => s.labels.partition),
      ['1'],
      'lag of partitions this instance lost is dropped',
    );
  });

  describe('lag in seconds', () => {
    const lagSeconds = (samples: Sample[]) =>
      Object.fromEntries(
        samples
          .filter((s) => s.name === 'orders_consumer_lag_seconds')
          .map((s) => [s.labels.partition ?? '', s.value]),
      );

    it('when partitions report their oldest pending record, then each shows its age at scrape time, and 0 when caught up', async () => {
      let now = 1_700_000_010_000;
      const { bus, read } = setup(() => now);
      bus.emit('partitions.assigned', { partitions: [0, 1, 2] });
      bus.emit('partition.pending', { partition: 0, oldestTimestampMs: 1_700_000_002_500 });
      bus.emit('partition.pending', { partition: 1, oldestTimestampMs: undefined });
      assert.deepEqual(lagSeconds(await read()), { '0': 7.5, '1': 0 });

      // No event in between: a parked partition keeps ageing.
      now += 60_000;
      assert.deepEqual(lagSeconds(await read()), { '0': 67.5, '1': 0 });
    });

    it('when a record timestamp is ahead of the clock, then the lag is 0, not negative', async () => {
      const { bus, read } = setup(() => 1_000_000);
      bus.emit('partitions.assigned', { partitions: [0] });
      bus.emit('partition.pending', { partition: 0, oldestTimestampMs: 1_005_000 });
      assert.deepEqual(lagSeconds(await read()), { '0': 0 });
    });

    it('when the broker reports a record lag of 0, then the partition is caught up; a lag above 0 changes nothing', async () => {
      const { bus, read } = setup(() => 100_000);
      bus.emit('partitions.assigned', { partitions: [0, 1, 2] });
      bus.emit('partition.pending', { partition: 0, oldestTimestampMs: 40_000 });
      bus.emit('partition.pending', { partition: 1, oldestTimestampMs: 70_000 });
      bus.emit('lag', [
        { partition: 0, lag: 0 },
        { partition: 1, lag: 4 },
        { partition: 2, lag: 0 },
      ]);
      assert.deepEqual(lagSeconds(await read()), { '0': 0, '1': 30, '2': 0 });
    });

    it('when a partition is lost, then its series goes, and a late report of it does not bring it back', async () => {
      const { bus, read } = setup(() => 100_000);
      bus.emit('partitions.assigned', { partitions: [0, 1] });
      bus.emit('partition.pending', { partition: 0, oldestTimestampMs: 90_000 });
      bus.emit('partition.pending', { partition: 1, oldestTimestampMs: 95_000 });
      bus.emit('partitions.assigned', { partitions: [1] });
      bus.emit('partition.pending', { partition: 0, oldestTimestampMs: 80_000 });
      assert.deepEqual(lagSeconds(await read()), { '1': 5 });
    });
  });
});
