import { formatCents, type Cents } from '../domain/money.js';
import { isRedriven, redriveHistoryOf } from '../domain/redrive.js';
import type { RunningAverage } from '../domain/running-average.js';
import type { Logger } from '../logger.js';
import type { ConsumerEventChannel } from '../ports/events.js';
import type { Outcome } from '../ports/processing.js';
import type { ConsumedBatch } from '../ports/records.js';
import type { OrderRun } from './order-run.js';
import { originMs, where } from './outcomes.js';
import { PartitionWaits } from './partition-waits.js';
import { WallClock } from './wall-clock.js';

const DEPENDENCY_NAMES = { registry: 'schema registry', broker: 'Kafka broker', dlq: 'DLQ' } as const;

export interface RecorderCounters {
  processed: number;
  deadLettered: number;
}

export interface OutcomeRecorderOptions {
  /** This instance's running average (the seed's). */
  readonly average: RunningAverage;
  readonly bus: ConsumerEventChannel;
  readonly logger: Logger;
  /** Turns outcomes' performance.now() readings into wall-clock times (tests fix it). */
  readonly wallClock?: WallClock;
}

/**
 * Applies durable outcomes to this instance's running average, the event
 * bus (metrics) and the console: the seed's per-order lines.
 */
export class OutcomeRecorder {
  readonly counters: RecorderCounters = { processed: 0, deadLettered: 0 };
  /** The partitions that wait for a dependency, for /readyz and the metrics. */
  readonly waits: PartitionWaits;
  readonly #average: RunningAverage;
  readonly #bus: ConsumerEventChannel;
  readonly #logger: Logger;
  readonly #wallClock: WallClock;

  constructor(options: OutcomeRecorderOptions) {
    this.#average = options.average;
    this.#bus = options.bus;
    this.#logger = options.logger;
    this.#wallClock = options.wallClock ?? new WallClock();
    this.waits = new PartitionWaits(options.bus);
  }

  /**
   * Whether each order needs an outcome of its own: its console line (the seed's) is written at info.
   * When not, a batch may be taken in runs (OrderProcessor.takeRun) and applied with recordRun.
   */
  get wantsEachOrder(): boolean {
    return this.#logger.isLevelEnabled('info');
  }

  /** A run of good orders of `partition`, as if each had been recorded as `processed`, without its line. */
  recordRun(partition: number, run: OrderRun): void {
    this.waits.wentOn(partition);
    const endToEndSeconds = run.endToEndSeconds(this.#wallClock.at(run.finishedAt));
    this.#processed(partition, run.count, BigInt(run.sumCents), run.durationSeconds, endToEndSeconds);
  }

  record(outcome: Outcome): void {
    if (outcome.kind === 'waiting') {
      this.#recordWait(outcome);
      return;
    }
    const { record } = outcome;
    this.waits.wentOn(record.partition);
    if (outcome.kind === 'processed') {
      const { order } = outcome;
      const endToEnd = this.#endToEndSeconds(order.createdAtMs, record.timestamp, outcome.finishedAt);
      this.#processed(
        record.partition,
        1,
        order.priceCents,
        outcome.durationSeconds,
        endToEnd === undefined ? [] : [endToEnd],
      );
      if (isRedriven(record.headers))
        this.#bus.emit('order.redriven', { partition: record.partition, outcome: 'success' });
      // Building this line costs more than decoding the order; skip it when info is off (bench, quiet runs).
      if (!this.#logger.isLevelEnabled('info')) return;
      this.#logger.info(
        { orderId: order.orderId, partition: record.partition, offset: record.offset },
        `Successfully processed order ${order.orderId}: ${order.product} - $${formatCents(order.priceCents)} | ` +
          `running average $${formatCents(this.#average.averageCents)} over ${this.#average.count.toString()} orders`,
      );
    } else if (outcome.kind === 'retry-later') {
      const { failure, attempt, maxRetries, delayMs } = outcome;
      this.#logger.warn(
        { partition: record.partition, offset: record.offset, code: failure.code, attempt, delayMs },
        `Retry ${attempt}/${maxRetries} for ${where(record)} in ${delayMs} ms: ${failure.message}`,
      );
      this.#bus.emit('order.retrying', {
        partition: record.partition,
        reason: failure.code,
        attempt,
        delayMs,
      });
    } else {
      const { failure, attempts } = outcome;
      this.counters.deadLettered += 1;
      this.#bus.emit('order.dead_lettered', {
        partition: record.partition,
        reason: failure.code,
        attempts,
        durationSeconds: outcome.durationSeconds,
        endToEndSeconds: this.#endToEndSeconds(0, record.timestamp, outcome.finishedAt),
      });
      // Its dead letter carries the history on (dead-letter.ts), so a later replay counts one more.
      const redriven = isRedriven(record.headers);
      if (redriven)
        this.#bus.emit('order.redriven', { partition: record.partition, outcome: 'dead_lettered' });
      this.#logger.warn(
        {
          partition: record.partition,
          offset: record.offset,
          code: failure.code,
          attempts,
          ...(redriven ? { redriveCount: redriveHistoryOf(record.headers)?.count } : {}),
        },
        `Sent ${where(record)} to the DLQ after ${attempts} attempt${attempts === 1 ? '' : 's'}` +
          `${redriven ? ' (a redriven order, failing again)' : ''}: ${failure.message}`,
      );
    }
  }

  /** The records of `batch` up to `lastDone` are done: what is left of its partition is its lag. */
  doneUpTo(batch: ConsumedBatch, lastDone: string): void {
    const lag = Math.max(0, Number(BigInt(batch.highWatermark) - BigInt(lastDone) - 1n));
    this.#bus.emit('lag', [{ partition: batch.partition, lag }]);
  }

  /**
   * The batch loop stands at `index` of `batch` (the next record it takes; `messages.length` once it
   * took them all): the partition's oldest order not yet processed is that record. Called as a batch
   * starts and ends, so the lag in seconds costs nothing per record; its age is taken at scrape time.
   */
  standsAt(batch: ConsumedBatch, index: number): void {
    const { messages, partition } = batch;
    let record = messages[index];
    if (record === undefined) {
      record = messages.at(-1);
      if (record === undefined) return;
      // Nothing past the batch: caught up with the partition's end as this fetch saw it.
      if (BigInt(batch.highWatermark) <= BigInt(record.offset) + 1n) {
        this.#bus.emit('partition.pending', { partition, oldestTimestampMs: undefined });
        return;
      }
      // More records than the fetch brought: the next one is not at hand, the last one processed is its
      // closest stand-in (older by the gap between two records; the next batch starts at the real one).
    }
    const timestampMs = Number(record.timestamp);
    // A timestamp that cannot be right (-1 of an old message format, or forged) says nothing of the age.
    if (!(timestampMs > 0)) return;
    this.#bus.emit('partition.pending', { partition, oldestTimestampMs: timestampMs });
  }

  /** `count` orders of `partition` done (one, or a run): the one path of every processed order. */
  #processed(
    partition: number,
    count: number,
    priceSumCents: Cents,
    durationSeconds: number,
    endToEndSeconds: ArrayLike<number>,
  ): void {
    this.#average.addMany(priceSumCents, count);
    this.counters.processed += count;
    this.#bus.emit('orders.processed', { partition, count, priceSumCents, durationSeconds, endToEndSeconds });
  }

  /**
   * A partition waits for a dependency: one line per wait, so a long outage logs at the pace of the
   * capped backoff, not per record. A DLQ that cannot be written is an error an operator must fix.
   */
  #recordWait(outcome: Extract<Outcome, { kind: 'waiting' }>): void {
    const { record, failure, dependency, waits, delayMs, attempt } = outcome;
    this.waits.waiting(record.partition, dependency, failure.code, failure.message, delayMs, waits);
    const line = {
      partition: record.partition,
      offset: record.offset,
      code: failure.code,
      dependency,
      waits,
      delayMs,
      attempt,
    };
    const text =
      `${where(record)} waits ${delayMs} ms for the ${DEPENDENCY_NAMES[dependency]} (wait ${waits}; ` +
      `no retry used, nothing skipped): ${failure.message}`;
    if (dependency === 'dlq') this.#logger.error(line, text);
    else this.#logger.warn(line, text);
  }

  /** From the order's time when the writer gave one, else from the record's timestamp. */
  #endToEndSeconds(createdAtMs: number, recordTimestamp: string, finishedAt: number): number | undefined {
    const origin = originMs(createdAtMs, recordTimestamp);
    if (origin === 0) return undefined;
    return Math.max(0, this.#wallClock.at(finishedAt) - origin) / 1000;
  }
}
