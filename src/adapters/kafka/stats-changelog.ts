import { randomUUID } from 'node:crypto';
import type { Admin, Consumer, Kafka } from 'kafkajs';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  deserializeStats,
  implausibleStats,
  statsKey,
  type PartitionStats,
  type RestoreBounds,
} from '../../domain/partition-stats.js';
import type { Logger } from '../../logger.js';

/** Earlier aggregates kept per key, newest last: a restore falls back on them when the newest is implausible. */
const HISTORY = 4;

/** What a restore may start from. */
export interface Restorable {
  /** The newest plausible aggregate; undefined when there is none (start from the committed offset). */
  readonly state: PartitionStats | undefined;
  /** Why newer aggregates were refused, newest first. */
  readonly refused: readonly string[];
}

export interface StatsChangelogOptions {
  readonly kafka: Kafka;
  /** The changelog topic (STATS_TOPIC). */
  readonly topic: string;
  /** The consumer group; the reader's own throwaway group is named after it. */
  readonly groupPrefix: string;
  readonly logger: Logger;
  /** Told of every record skipped as unreadable (for a metric and its alert). */
  readonly onUnreadable?: (reason: string) => void;
}

/** Which partition's aggregate a restore waits for, until when, and what it checks the aggregate against. */
export interface ReachesOptions {
  readonly group: string;
  readonly topic: string;
  readonly partition: number;
  /** The offset the aggregate must be complete up to. */
  readonly nextOffset: bigint;
  readonly timeoutMs: number;
  /** Runs about once a second while waiting (a consumer's heartbeat). */
  readonly heartbeat?: () => Promise<void>;
  /** Only a plausible aggregate counts (see restorable); without bounds, the latest one. */
  readonly bounds?: RestoreBounds;
}

/**
 * Reads the whole aggregate changelog under read_committed and keeps the
 * latest value per key: the cluster-wide view every instance serves, and the
 * source a new partition owner restores from.
 */
export class StatsChangelog {
  readonly #states = new Map<string, PartitionStats>();
  readonly #history = new Map<string, PartitionStats[]>();
  #unreadable = 0;
  /** Next changelog offset to read, per changelog partition (control records included). */
  readonly #positions = new Map<number, bigint>();
  #latestEnds = new Map<number, bigint>();
  readonly #consumer: Consumer;
  readonly #admin: Admin;
  readonly #groupId: string;
  #refresh: NodeJS.Timeout | undefined;
  readonly #topic: string;
  readonly #logger: Logger;
  readonly #onUnreadable: (reason: string) => void;

  constructor(options: StatsChangelogOptions) {
    const { kafka } = options;
    this.#topic = options.topic;
    this.#logger = options.logger;
    this.#onUnreadable = options.onUnreadable ?? (() => undefined);
    // A private, throwaway group: every instance reads every record.
    this.#groupId = `${options.groupPrefix}-stats-reader-${randomUUID().slice(0, 8)}`;
    this.#consumer = kafka.consumer({ groupId: this.#groupId, readUncommitted: false, maxWaitTimeInMs: 100 });
    this.#admin = kafka.admin();
    // END_BATCH_PROCESS also fires for batches of only transaction markers, which eachBatch never sees.
    this.#consumer.on(this.#consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      if (payload.topic === this.#topic)
        this.#positions.set(payload.partition, BigInt(payload.lastOffset) + 1n);
    });
  }

  async start(): Promise<void> {
    await this.#admin.connect();
    await this.#consumer.connect();
    await this.#consumer.subscribe({ topics: [this.#topic], fromBeginning: true });
    await this.#consumer.run({
      autoCommit: false,
      eachBatch: ({ batch }) => {
        for (const message of batch.messages) {
          if (!message.key || !message.value) continue;
          this.#accept(message.key, message.value, message.offset);
        }
        return Promise.resolve();
      },
    });
    await this.#refreshEnds().catch(() => undefined);
    this.#refresh = setInterval(() => {
      this.#refreshEnds().catch((error: unknown) =>
        this.#logger.debug({ err: error }, 'changelog end offsets'),
      );
    }, 2000);
  }

  async #refreshEnds(): Promise<Map<number, bigint>> {
    const offsets = await this.#admin.fetchTopicOffsets(this.#topic);
    const ends = new Map(offsets.map((o) => [o.partition, BigInt(o.high)] as const));
    for (const o of offsets)
      if (!this.#positions.has(o.partition)) this.#positions.set(o.partition, BigInt(o.low));
    this.#latestEnds = ends;
    return ends;
  }

  #reached(ends: ReadonlyMap<number, bigint>): boolean {
    for (const [partition, end] of ends) if ((this.#positions.get(partition) ?? 0n) < end) return false;
    return ends.size > 0;
  }

  /** Whether the view includes everything committed as of the last end-offset check (≤ 2 s old). */
  get caughtUp(): boolean {
    return this.#reached(this.#latestEnds);
  }

  /** Waits until everything committed up to now has been read (the end offsets are read now, after any fencing). */
  async catchUp(timeoutMs: number): Promise<void> {
    const ends = await this.#refreshEnds();
    const deadline = performance.now() + timeoutMs;
    while (!this.#reached(ends)) {
      if (performance.now() > deadline) {
        throw new Error(`changelog ${this.#topic} not caught up after ${timeoutMs} ms`);
      }
      await sleep(20);
    }
  }

  /**
   * Waits until the aggregate of `partition` is complete up to `nextOffset` (or beyond); false after
   * `timeoutMs`. `heartbeat` runs about once a second. A committed record
   * can sit beyond what read_committed may read: behind a transaction that began earlier on the
   * changelog and is still open (another partition's owner between its write and its commit, or a
   * crashed one until it is fenced or times out). catchUp() cannot see such a record; this waits for it.
   */
  async reaches(options: ReachesOptions): Promise<boolean> {
    const { group, topic, partition, nextOffset, timeoutMs, bounds } = options;
    const whileWaiting = options.heartbeat ?? (() => Promise.resolve());
    const deadline = performance.now() + timeoutMs;
    let nextCall = performance.now() + 1000;
    // Only a plausible aggregate counts: a forged one "complete" far ahead must not end the wait early.
    const reached = () =>
      (bounds ? this.restorable(group, topic, partition, bounds).state : this.get(group, topic, partition))
        ?.nextOffset ?? 0n;
    while (reached() < nextOffset) {
      if (performance.now() > deadline) return false;
      if (performance.now() > nextCall) {
        await whileWaiting();
        nextCall = performance.now() + 1000;
      }
      await sleep(20);
    }
    return true;
  }

  /**
   * A changelog record, if it is an aggregate we could have written under its own key. Anyone who can
   * write to the changelog can write anything: an unreadable record is skipped, with a warning and a
   * count, and never replaces a good one.
   */
  #accept(key: Buffer, value: Buffer, offset: string): void {
    let stats: PartitionStats;
    try {
      stats = deserializeStats(value);
      const expected = statsKey(stats.group, stats.topic, stats.partition);
      if (key.length > 600 || key.toString() !== expected) {
        throw new Error(`its key is not ${JSON.stringify(expected)}, the key of its own aggregate`);
      }
    } catch (error) {
      this.#unreadable += 1;
      this.#onUnreadable((error as Error).message);
      this.#logger.warn(
        { code: 'KOS_CHANGELOG_REJECTED', offset, reason: (error as Error).message },
        `Skipping an unreadable aggregate record at ${this.#topic}@${offset}: ${(error as Error).message}`,
      );
      return;
    }
    const id = key.toString();
    this.#states.set(id, stats);
    const history = this.#history.get(id) ?? [];
    history.push(stats);
    if (history.length > HISTORY) history.shift();
    this.#history.set(id, history);
  }

  /** Changelog records skipped as unreadable since start. */
  get unreadableRecords(): number {
    return this.#unreadable;
  }

  get(group: string, topic: string, partition: number): PartitionStats | undefined {
    return this.#states.get(statsKey(group, topic, partition));
  }

  /**
   * The aggregate a new owner of `partition` may restore: the newest one whose offsets can be right
   * (implausibleStats), with the reasons newer ones were refused. A forged record written after the
   * real one is refused, and the real one, still in the history, is used.
   */
  restorable(group: string, topic: string, partition: number, bounds: RestoreBounds): Restorable {
    const refused: string[] = [];
    const history = this.#history.get(statsKey(group, topic, partition)) ?? [];
    for (let i = history.length - 1; i >= 0; i -= 1) {
      const stats = history[i] as PartitionStats;
      const why = implausibleStats(stats, bounds);
      if (why === undefined) return { state: stats, refused };
      refused.push(why);
    }
    return { state: undefined, refused };
  }

  all(): PartitionStats[] {
    return [...this.#states.values()];
  }

  async stop(): Promise<void> {
    clearInterval(this.#refresh);
    await this.#consumer.disconnect().catch(() => undefined);
    await this.#admin.deleteGroups([this.#groupId]).catch(() => undefined);
    await this.#admin.disconnect().catch(() => undefined);
  }
}
