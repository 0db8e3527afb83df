import { Counter, Gauge, type Registry } from 'prom-client';
import { averageCents } from '../../domain/money.js';
import { TallyHistogram } from './tally-histogram.js';
import type { ConsumerEventChannel } from '../../ports/events.js';
import { DEPENDENCIES, type Dependency } from '../../errors.js';
import {
  centsToDollars,
  OTHER_REASON,
  reasonCounter,
  reasonLabel,
  LATENCY_BUCKETS_SECONDS,
} from './units.js';

/** Outcomes of one order; the label values of orders_processed_total and the histograms. */
export const ORDER_OUTCOMES = ['success', 'dead_lettered'] as const;

/**
 * Consumer business metrics, fed only by the consumer's event bus.
 * Every metric starts at zero for its known label values, so rate() and
 * increase() also count the first event after a scrape.
 */
export function registerConsumerMetrics(
  registry: Registry,
  bus: ConsumerEventChannel,
  /** The wall clock the lag in seconds is taken by, at scrape time (tests fix it). */
  now: () => number = Date.now,
): void {
  const registers = [registry];

  // Per-order updates only touch these numbers; the metrics read them on scrape (collect), because
  // prom-client's inc()/set() with labels cost more than the rest of a good order's processing.
  let successes = 0;
  let deadLetters = 0;
  let priceCount = 0;
  // The sum is kept as exact bigint cents and converted on every scrape, so
  // float rounding never accumulates over millions of increments.
  let priceSumCents = 0n;

  new Counter({
    name: 'orders_processed_total',
    help: 'Orders this consumer finished, by outcome (success = added to the aggregate, dead_lettered = written to the DLQ).',
    labelNames: ['outcome'] as const,
    registers,
    collect() {
      this.reset();
      this.inc({ outcome: 'success' }, successes);
      this.inc({ outcome: 'dead_lettered' }, deadLetters);
    },
  });
  new Gauge({
    name: 'orders_average_price_dollars',
    help: 'Running average price of the orders this instance processed since it started, in dollars.',
    registers,
    collect() {
      this.set(priceCount === 0 ? 0 : centsToDollars(averageCents(priceSumCents, BigInt(priceCount))));
    },
  });
  new Counter({
    name: 'orders_price_sum_dollars_total',
    help: 'Sum of the prices of the orders this instance processed successfully, in dollars. Cluster-wide average: sum(orders_price_sum_dollars_total) / sum(orders_price_count_total).',
    registers,
    collect() {
      this.reset();
      this.inc(centsToDollars(priceSumCents));
    },
  });
  new Counter({
    name: 'orders_price_count_total',
    help: 'Orders whose price is in orders_price_sum_dollars_total.',
    registers,
    collect() {
      this.reset();
      this.inc(priceCount);
    },
  });
  const redriven = new Counter({
    name: 'orders_redriven_total',
    help: 'Redriven orders (replayed from the DLQ by `npm run dlq -- replay`, header kos-redrive-count) this consumer finished, by outcome (success = added to the aggregate, dead_lettered = dead-lettered again, with their redrive history). Also counted in orders_processed_total.',
    labelNames: ['outcome'] as const,
    registers,
  });
  for (const outcome of ORDER_OUTCOMES) redriven.inc({ outcome }, 0);
  const retries = reasonCounter(
    registers,
    'orders_retries_total',
    'Retries of a transient failure, by reason (error code from src/errors.ts, or other).',
  );
  const deadLettered = reasonCounter(
    registers,
    'orders_dead_lettered_total',
    'Orders written to the dead-letter topic, by reason (error code from src/errors.ts, or other).',
  );
  const processingDuration = new TallyHistogram(
    {
      name: 'orders_processing_duration_seconds',
      help: 'Time spent decoding, validating and processing one order, retries and backoff included, by outcome. Good orders processed back to back as one run each count an equal share of the run.',
      label: 'outcome',
      buckets: LATENCY_BUCKETS_SECONDS,
      registers,
    },
    ORDER_OUTCOMES,
  );
  const endToEnd = new TallyHistogram(
    {
      name: 'orders_end_to_end_latency_seconds',
      help: "Time from the order's creation (its createdAt field; for an order that cannot be read, its record timestamp, the producer's send time) until the order was done, by outcome.",
      label: 'outcome',
      buckets: LATENCY_BUCKETS_SECONDS,
      registers,
    },
    ORDER_OUTCOMES,
  );
  const lag = new Gauge({
    name: 'orders_consumer_lag',
    help: 'Messages between the last offset this instance finished and the end of each partition it owns, as of its last batch.',
    labelNames: ['partition'] as const,
    registers,
  });
  // The record timestamp of each owned partition's oldest order not yet processed (undefined: caught
  // up), as the batch loop reports it when a batch starts and ends. The age is taken here, on scrape:
  // a partition parked for a backoff or a dependency keeps ageing without a batch, and processing reads
  // no clock for it.
  const owned = new Set<number>();
  const oldestPending = new Map<number, number | undefined>();
  new Gauge({
    name: 'orders_consumer_lag_seconds',
    help: 'Age of the oldest order not yet processed in each partition this instance owns, from its record timestamp, as of the scrape; 0 when caught up.',
    labelNames: ['partition'] as const,
    registers,
    collect() {
      this.reset();
      const at = now();
      for (const [partition, since] of oldestPending) {
        // A timestamp ahead of our clock (the producer's clock is ahead) is no lag.
        const seconds = since === undefined ? 0 : Math.max(0, at - since) / 1000;
        this.set({ partition: String(partition) }, seconds);
      }
    },
  });
  const assigned = new Gauge({
    name: 'orders_assigned_partitions',
    help: 'Partitions of the orders topic this instance owns (0 while rebalancing).',
    registers,
  });
  const rebalances = new Counter({
    name: 'orders_rebalances_total',
    help: 'Consumer group rebalances this instance went through.',
    registers,
  });

  // Which partitions wait for which dependency, from the events; read on scrape.
  const waitingOn = new Map<number, Dependency>();
  new Gauge({
    name: 'orders_partitions_waiting',
    help: 'Partitions of this instance whose next record waits for a dependency that is down (registry, broker, dlq); they go on by themselves once it is back. Nothing is dead-lettered or skipped meanwhile.',
    labelNames: ['dependency'] as const,
    registers,
    collect() {
      for (const dependency of DEPENDENCIES) {
        let n = 0;
        for (const d of waitingOn.values()) if (d === dependency) n += 1;
        this.set({ dependency }, n);
      }
    },
  });
  const waits = new Counter({
    name: 'orders_dependency_waits_total',
    help: 'Waits of a partition for a dependency that is down, by dependency and reason (error code); a wait uses none of the record retries.',
    labelNames: ['dependency', 'reason'] as const,
    registers,
  });
  const changelogRejected = new Counter({
    name: 'orders_changelog_rejected_total',
    help: 'Changelog aggregates a restore refused because their offsets cannot be right (beyond the partition end, or far beyond the committed offset).',
    registers,
  });

  for (const dependency of DEPENDENCIES) waits.inc({ dependency, reason: OTHER_REASON }, 0);
  changelogRejected.inc(0);
  assigned.set(0);

  // A lag event may carry one partition (after each batch) or several; the
  // series of a partition lives until this instance loses the partition.
  const lagPartitions = new Set<string>();
  const dropLagExcept = (owned: ReadonlySet<string>) => {
    for (const partition of lagPartitions) {
      if (owned.has(partition)) continue;
      lag.remove({ partition });
      lagPartitions.delete(partition);
    }
  };

  bus.on('orders.processed', ({ count, priceSumCents: sum, durationSeconds, endToEndSeconds }) => {
    successes += count;
    priceSumCents += sum;
    priceCount += count;
    processingDuration.addMany('success', durationSeconds / count, count);
    endToEnd.addEach('success', endToEndSeconds);
  });
  bus.on('order.redriven', ({ outcome }) => {
    redriven.inc({ outcome });
  });
  bus.on('order.retrying', (event) => {
    retries.inc({ reason: reasonLabel(event.reason) });
  });
  bus.on('order.dead_lettered', (event) => {
    deadLetters += 1;
    deadLettered.inc({ reason: reasonLabel(event.reason) });
    processingDuration.add('dead_lettered', event.durationSeconds);
    if (event.endToEndSeconds !== undefined) endToEnd.add('dead_lettered', event.endToEndSeconds);
  });
  bus.on('partition.waiting', ({ partition, dependency, reason }) => {
    waitingOn.set(partition, dependency);
    waits.inc({ dependency, reason: reasonLabel(reason) });
  });
  bus.on('partition.resumed', ({ partition }) => {
    waitingOn.delete(partition);
  });
  bus.on('changelog.rejected', () => {
    changelogRejected.inc();
  });
  bus.on('partitions.assigned', ({ partitions }) => {
    assigned.set(partitions.length);
    dropLagExcept(new Set(partitions.map(String)));
    owned.clear();
    for (const partition of partitions) owned.add(partition);
    for (const partition of oldestPending.keys()) if (!owned.has(partition)) oldestPending.delete(partition);
  });
  bus.on('rebalance', () => {
    rebalances.inc();
    assigned.set(0);
  });
  bus.on('lag', (entries) => {
    for (const { partition, lag: value } of entries) {
      const label = String(partition);
      lagPartitions.add(label);
      lag.set({ partition: label }, value);
      // Nothing left to read (the broker says so, e.g. past a transaction marker no batch brings, or a
      // partition just assigned that has no new record): no order waits.
      if (value === 0 && owned.has(partition)) oldestPending.set(partition, undefined);
    }
  });
  bus.on('partition.pending', ({ partition, oldestTimestampMs }) => {
    // A batch that ends after its partition was taken away must not bring its series back.
    if (owned.has(partition)) oldestPending.set(partition, oldestTimestampMs);
  });
}
