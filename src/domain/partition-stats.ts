import { z } from 'zod';
import type { Cents } from './money.js';
import { MAX_ORDER_ID_BYTES } from './order.js';
import { averageCents, formatCents } from './money.js';

/**
 * The exact aggregate of one partition of the orders topic, as stored in the
 * changelog. `nextOffset` is the orders offset this state is complete up to:
 * a new owner skips records below it, so a late commit by a fenced owner can
 * never be counted twice.
 */
export interface PartitionStats {
  /** The consumer group: two groups reading the same topic keep separate aggregates. */
  readonly group: string;
  readonly topic: string;
  readonly partition: number;
  readonly orders: bigint;
  readonly sumCents: Cents;
  readonly deadLettered: bigint;
  readonly minCents: Cents | undefined;
  readonly maxCents: Cents | undefined;
  readonly lastOrderId: string | undefined;
  readonly nextOffset: bigint;
}

export function emptyStats(group: string, topic: string, partition: number): PartitionStats {
  return {
    group,
    topic,
    partition,
    orders: 0n,
    sumCents: 0n,
    deadLettered: 0n,
    minCents: undefined,
    maxCents: undefined,
    lastOrderId: undefined,
    nextOffset: 0n,
  };
}

/**
 * The changes of one transaction's records, gathered in place, then applied
 * to the committed state once: no new state object and no BigInt offset per
 * record.
 */
export class StatsDelta {
  orders = 0;
  deadLettered = 0;
  sumCents: Cents = 0n;
  minCents: Cents | undefined;
  maxCents: Cents | undefined;
  lastOrderId: string | undefined;
  /** Offset of the last record taken, as kafkajs gives it. */
  lastOffset: string | undefined;

  processed(priceCents: Cents, orderId: string, offset: string): void {
    this.#took(1, priceCents, priceCents, priceCents, orderId, offset);
  }

  /**
   * Many processed orders at once (a run, see OrderRun): `sumCents`, `minCents` and `maxCents` are
   * exact integers, `lastOrderId` is the last order's id.
   */
  processedRun(
    run: {
      readonly count: number;
      readonly sumCents: number;
      readonly minCents: number;
      readonly maxCents: number;
      readonly lastOffset: string;
    },
    lastOrderId: string,
  ): void {
    if (run.count === 0) return;
    const { count, sumCents, minCents, maxCents, lastOffset } = run;
    this.#took(count, BigInt(sumCents), BigInt(minCents), BigInt(maxCents), lastOrderId, lastOffset);
  }

  /** `count` processed orders, the last one `lastOrderId` at `lastOffset`: the one path of both. */
  #took(
    count: number,
    sumCents: Cents,
    minCents: Cents,
    maxCents: Cents,
    lastOrderId: string,
    lastOffset: string,
  ): void {
    this.orders += count;
    this.sumCents += sumCents;
    if (this.minCents === undefined || minCents < this.minCents) this.minCents = minCents;
    if (this.maxCents === undefined || maxCents > this.maxCents) this.maxCents = maxCents;
    this.lastOrderId = lastOrderId;
    this.lastOffset = lastOffset;
  }

  deadLetteredAt(offset: string): void {
    this.deadLettered += 1;
    this.lastOffset = offset;
  }

  applyTo(stats: PartitionStats): PartitionStats {
    if (this.lastOffset === undefined) return stats;
    const { minCents, maxCents } = this;
    return {
      ...stats,
      orders: stats.orders + BigInt(this.orders),
      sumCents: stats.sumCents + this.sumCents,
      deadLettered: stats.deadLettered + BigInt(this.deadLettered),
      minCents:
        minCents === undefined || (stats.minCents !== undefined && stats.minCents <= minCents)
          ? stats.minCents
          : minCents,
      maxCents:
        maxCents === undefined || (stats.maxCents !== undefined && stats.maxCents >= maxCents)
          ? stats.maxCents
          : maxCents,
      lastOrderId: this.lastOrderId ?? stats.lastOrderId,
      nextOffset: BigInt(this.lastOffset) + 1n,
    };
  }
}

/** The changelog key: one live record per consumer group and orders partition. */
export const statsKey = (group: string, topic: string, partition: number): string =>
  `${group}/${topic}-${partition}`;

interface StatsJson {
  group: string;
  topic: string;
  partition: number;
  orders: string;
  sumCents: string;
  deadLettered: string;
  minCents: string | null;
  maxCents: string | null;
  lastOrderId: string | null;
  nextOffset: string;
}

/** JSON with integers as strings: readable with kcat, and bigints survive. */
export function serializeStats(stats: PartitionStats): Buffer {
  const json: StatsJson = {
    group: stats.group,
    topic: stats.topic,
    partition: stats.partition,
    orders: stats.orders.toString(),
    sumCents: stats.sumCents.toString(),
    deadLettered: stats.deadLettered.toString(),
    minCents: stats.minCents?.toString() ?? null,
    maxCents: stats.maxCents?.toString() ?? null,
    lastOrderId: stats.lastOrderId ?? null,
    nextOffset: stats.nextOffset.toString(),
  };
  return Buffer.from(JSON.stringify(json));
}

/** The largest changelog record a reader accepts: a real aggregate is a few hundred bytes. */
export const MAX_STATS_RECORD_BYTES = 4096;

const count = z.string().regex(/^\d{1,30}$/, 'a non-negative integer of at most 30 digits');
const cents = z.string().regex(/^-?\d{1,30}$/, 'an integer of at most 30 digits');
const statsJson = z.strictObject({
  group: z.string().min(1).max(255),
  topic: z.string().min(1).max(255),
  partition: z.number().int().min(0).max(1_000_000),
  orders: count,
  sumCents: cents,
  deadLettered: count,
  minCents: cents.nullable(),
  maxCents: cents.nullable(),
  lastOrderId: z
    .string()
    .refine((id) => Buffer.byteLength(id) <= MAX_ORDER_ID_BYTES, `at most ${MAX_ORDER_ID_BYTES} bytes`)
    .nullable(),
  nextOffset: count,
});

/** A changelog record that is not an aggregate we could have written. */
export class UnreadableStatsError extends Error {
  override readonly name = 'UnreadableStatsError';
}

/**
 * An aggregate read back from the changelog. Anyone who can write to the changelog can write
 * anything, so a record must be an aggregate we could have written: bounded in size, every field of
 * its type and range, nothing else. UnreadableStatsError otherwise; the reader then skips it.
 */
export function deserializeStats(bytes: Buffer): PartitionStats {
  if (bytes.length > MAX_STATS_RECORD_BYTES) {
    throw new UnreadableStatsError(
      `${bytes.length} bytes; an aggregate is at most ${MAX_STATS_RECORD_BYTES}`,
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new UnreadableStatsError('not JSON');
  }
  const parsed = statsJson.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(record)'}: ${i.message}`);
    throw new UnreadableStatsError(issues.slice(0, 5).join('; '));
  }
  const json = parsed.data;
  return {
    group: json.group,
    topic: json.topic,
    partition: json.partition,
    orders: BigInt(json.orders),
    sumCents: BigInt(json.sumCents),
    deadLettered: BigInt(json.deadLettered),
    minCents: json.minCents === null ? undefined : BigInt(json.minCents),
    maxCents: json.maxCents === null ? undefined : BigInt(json.maxCents),
    lastOrderId: json.lastOrderId ?? undefined,
    nextOffset: BigInt(json.nextOffset),
  };
}

/** What a new owner knows for sure when it restores a partition, to check an aggregate against. */
export interface RestoreBounds {
  /** The partition's end (what read_committed can read): no aggregate can be complete beyond it. */
  readonly end: bigint;
  /** The group's committed offset; -1 when it has none (a new group, or offsets that expired). */
  readonly committed: bigint;
  /** The most offsets one transaction may cover: records and the markers of other writers' transactions. */
  readonly transactionSpan: bigint;
}

/**
 * Why an aggregate's offsets cannot be right, or undefined when they can. It is written in the same
 * transaction as the group's offsets, so it cannot be complete beyond the partition's end, nor ahead
 * of the committed offset by more than one transaction. Trusting such a record would skip every order
 * below its offset: they would be lost.
 */
export function implausibleStats(stats: PartitionStats, bounds: RestoreBounds): string | undefined {
  if (stats.nextOffset > bounds.end) {
    return `complete up to offset ${stats.nextOffset.toString()}, beyond the partition's end ${bounds.end.toString()}`;
  }
  if (bounds.committed >= 0n && stats.nextOffset > bounds.committed + bounds.transactionSpan) {
    return (
      `complete up to offset ${stats.nextOffset.toString()}, more than one transaction (${bounds.transactionSpan.toString()} offsets) ` +
      `ahead of the committed offset ${bounds.committed.toString()}`
    );
  }
  return undefined;
}

/** What GET /stats answers: exact figures as decimal strings. */
export interface ClusterStatsView {
  readonly orders: string;
  readonly sum: string;
  readonly average: string;
  readonly deadLettered: string;
  readonly partitions: readonly {
    partition: number;
    orders: string;
    sum: string;
    deadLettered: string;
    average: string;
  }[];
  readonly caughtUp: boolean;
}

export function clusterView(
  all: Iterable<PartitionStats>,
  group: string,
  topic: string,
  caughtUp: boolean,
): ClusterStatsView {
  const mine = [...all]
    .filter((s) => s.group === group && s.topic === topic)
    .sort((a, b) => a.partition - b.partition);
  const orders = mine.reduce((n, s) => n + s.orders, 0n);
  const sum = mine.reduce((n, s) => n + s.sumCents, 0n);
  const deadLettered = mine.reduce((n, s) => n + s.deadLettered, 0n);
  return {
    orders: orders.toString(),
    sum: formatCents(sum),
    average: formatCents(averageCents(sum, orders)),
    deadLettered: deadLettered.toString(),
    partitions: mine.map((s) => ({
      partition: s.partition,
      orders: s.orders.toString(),
      sum: formatCents(s.sumCents),
      deadLettered: s.deadLettered.toString(),
      average: formatCents(averageCents(s.sumCents, s.orders)),
    })),
    caughtUp,
  };
}
