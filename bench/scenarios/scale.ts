import { randomUUID } from 'node:crypto';
import { waitUntil } from '../../test/helpers/wait.js';
import { ConsumerFleet, type ConsumerEntry, type FleetSample } from '../fleet.js';
import { defaultMode, encodeOrders, type BenchTopics } from '../kit.js';
import { spread } from '../stats.js';
import type { BenchRow } from '../types.js';
import { fmt, rate, type Sample, type ScenarioContext } from './context.js';

const PARTITIONS = 3;

/** A backlog written but not yet visible: committing it releases it to read_committed consumers at once. */
export interface HeldBacklog {
  release(): Promise<void>;
  discard(): Promise<void>;
}

/**
 * Writes `count` orders inside one open transaction. Our consumers read
 * read_committed, so they see none of it until `release()`: consumers that
 * join one after another all start from the same line, and no filling producer
 * competes with them for the 2 cores while they are timed.
 */
export async function holdBacklog(
  ctx: ScenarioContext,
  topics: BenchTopics,
  count: number,
): Promise<HeldBacklog> {
  const messages = await encodeOrders(ctx.kit.config('producer', topics), count);
  const producer = ctx.kit.kafka.producer({
    transactionalId: `bench-backlog-${randomUUID()}`,
    idempotent: true,
    maxInFlightRequests: 1,
    transactionTimeout: 300_000,
  });
  await producer.connect();
  const transaction = await producer.transaction();
  try {
    for (let i = 0; i < messages.length; i += 5000) {
      await transaction.send({ topic: topics.ordersTopic, acks: -1, messages: messages.slice(i, i + 5000) });
    }
  } catch (error) {
    await transaction.abort().catch(() => undefined);
    await producer.disconnect();
    throw error;
  }
  const finish = async (end: () => Promise<void>): Promise<void> => {
    try {
      await end();
    } finally {
      await producer.disconnect();
    }
  };
  return {
    release: () => finish(() => transaction.commit()),
    discard: () => finish(() => transaction.abort()),
  };
}

export interface TimeFleetOptions {
  readonly size: number;
  /** Group (and changelog) suffix of this run. */
  readonly run: string;
  readonly mode: string;
  /** Orders to wait for (the held backlog). */
  readonly orders: number;
  readonly backlog: HeldBacklog;
  readonly onSample?: (s: FleetSample) => void;
  /** How each process starts (default `npm run consumer`); node flags such as --cpu-prof go here. */
  readonly entry?: ConsumerEntry;
}

/**
 * Starts `size` consumer processes (a fresh group), waits until every one owns
 * partitions, releases the held backlog and times the group through it.
 * Progress is read from the group's committed offsets, not from /metrics: a
 * consumer answers HTTP only between batches, so its counters arrive in lumps.
 */
export async function timeFleet(
  ctx: ScenarioContext,
  topics: BenchTopics,
  opts: TimeFleetOptions,
): Promise<{ sample: Sample; peakRssBytes: (number | undefined)[]; settledAfterMs: number }> {
  const groupId = `${topics.groupId}-${opts.run}`;
  const env = {
    PROCESSING_MODE: opts.mode,
    KAFKA_GROUP_ID: groupId,
    ...(await ctx.kit.freshStatsTopic(topics, opts.run)),
  };
  const admin = ctx.kit.kafka.admin();
  await admin.connect();
  const spawnedAt = performance.now();
  const fleet = await ConsumerFleet.start(ctx.kit, topics, opts.size, env, opts.entry);
  let released = false;
  try {
    const balanced = await fleet.waitBalanced(PARTITIONS);
    opts.onSample?.(balanced);
    const startedAt = performance.now();
    await opts.backlog.release();
    released = true;
    let done = 0;
    let sampling: Promise<void> | undefined;
    await waitUntil(
      () => `${opts.size} consumer(s) to commit ${opts.orders} orders (committed ${done})`,
      async () => {
        done = await ctx.kit.committed(admin, groupId, topics.ordersTopic);
        const onSample = opts.onSample;
        if (onSample && !sampling) {
          sampling = fleet
            .sample()
            .then(onSample, () => undefined)
            .finally(() => (sampling = undefined));
        }
        for (const m of fleet.members) {
          if (m.process.child.exitCode !== null) {
            throw new Error(`a consumer process exited with ${m.process.child.exitCode}`);
          }
        }
        // The transaction's commit marker takes one offset per partition.
        return done >= opts.orders;
      },
      120_000 + opts.orders,
      50,
    );
    const seconds = (performance.now() - startedAt) / 1000;
    await sampling;
    return {
      sample: rate(opts.orders, seconds, ctx.recordBytes),
      peakRssBytes: fleet.peakRssBytes(),
      settledAfterMs: startedAt - spawnedAt,
    };
  } finally {
    if (!released) await opts.backlog.discard().catch(() => undefined);
    await fleet.stop();
    await admin.disconnect();
  }
}

export async function scaleScenario(ctx: ScenarioContext): Promise<BenchRow[]> {
  // The mode a deployment runs by default: this is the cost of scaling the product as shipped.
  const mode = defaultMode();
  const orders = ctx.options.scaleOrders;
  const samples = new Map<number, Sample[]>(ctx.options.consumers.map((k) => [k, []]));
  // Each run: fresh topics, a held backlog, a fresh group; group sizes take turns within a repetition.
  for (let rep = 1; rep <= ctx.options.repetitions; rep += 1) {
    for (const size of ctx.options.consumers) {
      const topics = await ctx.kit.newTopics(`scale-${size}`, PARTITIONS);
      const backlog = await holdBacklog(ctx, topics, orders);
      const { sample } = await timeFleet(ctx, topics, {
        size,
        orders,
        backlog,
        run: `x${size}-${rep}`,
        mode,
      });
      samples.get(size)?.push(sample);
      ctx.log(`scale ${mode} ${size} consumer(s) #${rep}: ${fmt(sample.ordersPerSec)} orders/s`);
    }
  }
  return ctx.options.consumers.map((size): BenchRow => {
    const list = samples.get(size) ?? [];
    return {
      scenario: 'scale',
      client: 'ours',
      mode,
      consumers: size,
      ordersPerSec: spread(list.map((s) => s.ordersPerSec)),
      mbPerSec: spread(list.map((s) => s.mbPerSec)),
      orders,
      repetitions: list.length,
    };
  });
}
