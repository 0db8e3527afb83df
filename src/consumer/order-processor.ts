import { setTimeout as sleep } from 'node:timers/promises';
import { classifyError } from '../errors.js';
import { buildDeadLetterHeaders } from '../domain/dead-letter.js';
import { formatCents } from '../domain/money.js';
import { assertValidOrder, type Order } from '../domain/order.js';
import { decideAfterFailure, type RetryPolicy } from '../domain/retry-policy.js';
import type { RunningAverage } from '../domain/running-average.js';
import type { Logger } from '../logger.js';
import type { DownstreamStep } from './downstream.js';
import type { ConsumerEventBus } from './events.js';

/** One record as read from the orders topic. */
export interface IncomingRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  /** ms since the epoch, as a decimal string (kafkajs's representation). */
  readonly timestamp: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
}

export interface OrderDecoder {
  decode(value: Buffer | null): Promise<Order>;
}

export interface DeadLetterSink {
  /** Resolves once the DLQ record is acknowledged by all in-sync replicas. */
  publish(record: IncomingRecord, headers: Record<string, Buffer>): Promise<void>;
}

/** What the processor may ask of the consumer while it works on one record. */
export interface ProcessingContext {
  /** Keeps the group membership alive during a long backoff; throws once the partition is lost. */
  heartbeat(): Promise<void>;
  /** True once shutdown or a rebalance means the record must be left for the next owner. */
  shouldAbandon(): boolean;
}

export type Outcome =
  | { readonly kind: 'processed'; readonly order: Order; readonly attempts: number }
  | { readonly kind: 'dead-lettered'; readonly code: string; readonly attempts: number }
  /** Not finished and not committed: the next owner of the partition processes it again. */
  | { readonly kind: 'abandoned' };

export interface OrderProcessorDeps {
  readonly decoder: OrderDecoder;
  readonly downstream: DownstreamStep;
  readonly deadLetters: DeadLetterSink;
  readonly policy: RetryPolicy;
  readonly groupId: string;
  readonly average: RunningAverage;
  readonly bus: ConsumerEventBus;
  readonly logger: Logger;
  readonly random?: () => number;
  readonly now?: () => number;
}

/** Heartbeat at least this often while waiting, well inside any session timeout. */
const HEARTBEAT_SLICE_MS = 1000;

/**
 * The life of one order record: decode, validate, process, aggregate.
 * Permanent failures go to the DLQ at once; transient ones are retried with
 * backoff and then dead-lettered. The record's offset may be committed only
 * after a `processed` or `dead-lettered` outcome.
 */
export class OrderProcessor {
  readonly #deps: OrderProcessorDeps;
  readonly #now: () => number;

  constructor(deps: OrderProcessorDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
  }

  async handle(record: IncomingRecord, ctx: ProcessingContext): Promise<Outcome> {
    const { bus, policy, logger } = this.#deps;
    const startedAt = performance.now();
    for (let attempt = 1; ; attempt += 1) {
      try {
        const order = await this.#deps.decoder.decode(record.value);
        assertValidOrder(order);
        await this.#deps.downstream(order);
        this.#apply(record, order, startedAt);
        return { kind: 'processed', order, attempts: attempt };
      } catch (error) {
        const failure = classifyError(error);
        const decision = decideAfterFailure(policy, attempt, failure.retriable, this.#deps.random);
        if (decision.action === 'dead-letter') {
          await this.#deadLetter(record, failure, attempt, startedAt);
          return { kind: 'dead-lettered', code: failure.code, attempts: attempt };
        }
        logger.warn(
          {
            partition: record.partition,
            offset: record.offset,
            code: failure.code,
            attempt,
            delayMs: decision.delayMs,
          },
          `Retry ${attempt}/${policy.maxRetries} for ${where(record)} in ${decision.delayMs} ms: ${failure.message}`,
        );
        bus.emit('order.retrying', {
          partition: record.partition,
          reason: failure.code,
          attempt,
          delayMs: decision.delayMs,
        });
        if (!(await this.#waitAlive(decision.delayMs, ctx))) return { kind: 'abandoned' };
      }
      if (ctx.shouldAbandon()) return { kind: 'abandoned' };
    }
  }

  #apply(record: IncomingRecord, order: Order, startedAt: number): void {
    const { average, bus, logger } = this.#deps;
    average.add(order.priceCents);
    bus.emit('order.processed', {
      partition: record.partition,
      priceCents: order.priceCents,
      durationSeconds: (performance.now() - startedAt) / 1000,
      endToEndSeconds: this.#endToEndSeconds(order.createdAtMs, record.timestamp),
      averageCents: average.averageCents,
      count: average.count,
    });
    logger.info(
      { orderId: order.orderId, partition: record.partition, offset: record.offset },
      `Successfully processed order ${order.orderId}: ${order.product} - $${formatCents(order.priceCents)} | ` +
        `running average $${formatCents(average.averageCents)} over ${average.count.toString()} orders`,
    );
  }

  async #deadLetter(
    record: IncomingRecord,
    failure: ReturnType<typeof classifyError>,
    attempts: number,
    startedAt: number,
  ): Promise<void> {
    const { deadLetters, bus, logger, groupId } = this.#deps;
    const headers = buildDeadLetterHeaders({
      source: record,
      error: failure,
      attempts,
      failedAt: new Date(this.#now()),
      consumerGroup: groupId,
    });
    await deadLetters.publish(record, headers);
    bus.emit('order.dead_lettered', {
      partition: record.partition,
      reason: failure.code,
      attempts,
      durationSeconds: (performance.now() - startedAt) / 1000,
      endToEndSeconds: this.#endToEndSeconds(0, record.timestamp),
    });
    logger.warn(
      { partition: record.partition, offset: record.offset, code: failure.code, attempts },
      `Sent ${where(record)} to the DLQ after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${failure.message}`,
    );
  }

  /** Order time when the writer gave one, else the record's timestamp. */
  #endToEndSeconds(createdAtMs: number, recordTimestamp: string): number | undefined {
    const origin = createdAtMs > 0 ? createdAtMs : Number(recordTimestamp);
    if (!Number.isFinite(origin) || origin <= 0) return undefined;
    return Math.max(0, this.#now() - origin) / 1000;
  }

  /** Sleeps in slices, heartbeating, so a long backoff never costs the group membership. */
  async #waitAlive(delayMs: number, ctx: ProcessingContext): Promise<boolean> {
    const until = performance.now() + delayMs;
    for (;;) {
      if (ctx.shouldAbandon()) return false;
      try {
        await ctx.heartbeat();
      } catch {
        // The group is rebalancing or the partition is gone: the next owner will redo this record.
        return false;
      }
      const left = until - performance.now();
      if (left <= 0) return true;
      await sleep(Math.min(left, HEARTBEAT_SLICE_MS));
    }
  }
}

function where(record: IncomingRecord): string {
  return `${record.topic}[${record.partition}]@${record.offset}`;
}
