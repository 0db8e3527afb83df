import { randomUUID } from 'node:crypto';
import type { Admin, Consumer, Kafka } from 'kafkajs';
import { setTimeout as sleep } from 'node:timers/promises';
import { deserializeStats, statsKey, type PartitionStats } from '../../domain/partition-stats.js';
import type { Logger } from '../../logger.js';

/**
 * Reads the whole aggregate changelog under read_committed and keeps the
 * latest value per key: the cluster-wide view every instance serves, and the
 * source a new partition owner restores from.
 */
export class StatsChangelog {
  readonly #states = new Map<string, PartitionStats>();
  /** Next changelog offset to read, per changelog partition (control records included). */
  readonly #positions = new Map<number, bigint>();
  #latestEnds = new Map<number, bigint>();
  readonly #consumer: Consumer;
  readonly #admin: Admin;
  readonly #groupId: string;
  #refresh: NodeJS.Timeout | undefined;

  constructor(
    kafka: Kafka,
    private readonly topic: string,
    groupPrefix: string,
    private readonly logger: Logger,
  ) {
    // A private, throwaway group: every instance reads every record.
    this.#groupId = `${groupPrefix}-stats-reader-${randomUUID().slice(0, 8)}`;
    this.#consumer = kafka.consumer({ groupId: this.#groupId, readUncommitted: false, maxWaitTimeInMs: 100 });
    this.#admin = kafka.admin();
    // END_BATCH_PROCESS also fires for batches of only transaction markers, which eachBatch never sees.
    this.#consumer.on(this.#consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      if (payload.topic === this.topic)
        this.#positions.set(payload.partition, BigInt(payload.lastOffset) + 1n);
    });
  }

  async start(): Promise<void> {
    await this.#admin.connect();
    await this.#consumer.connect();
    await this.#consumer.subscribe({ topics: [this.topic], fromBeginning: true });
    await this.#consumer.run({
      autoCommit: false,
      eachBatch: ({ batch }) => {
        for (const message of batch.messages) {
          if (!message.key || !message.value) continue;
          try {
            this.#states.set(message.key.toString(), deserializeStats(message.value));
          } catch (error) {
            this.logger.warn(
              { err: error, offset: message.offset },
              'Skipping an unreadable aggregate record',
            );
          }
        }
        return Promise.resolve();
      },
    });
    await this.#refreshEnds().catch(() => undefined);
    this.#refresh = setInterval(() => {
      this.#refreshEnds().catch((error: unknown) =>
        this.logger.debug({ err: error }, 'changelog end offsets'),
      );
    }, 2000);
  }

  async #refreshEnds(): Promise<Map<number, bigint>> {
    const offsets = await this.#admin.fetchTopicOffsets(this.topic);
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
        throw new Error(`changelog ${this.topic} not caught up after ${timeoutMs} ms`);
      }
      await sleep(20);
    }
  }

  /**
   * Waits until the aggregate of `partition` is complete up to `nextOffset` (or beyond); false after
   * `timeoutMs`. `whileWaiting` runs about once a second (a consumer's heartbeat). A committed record
   * can sit beyond what read_committed may read: behind a transaction that began earlier on the
   * changelog and is still open (another partition's owner between its write and its commit, or a
   * crashed one until it is fenced or times out). catchUp() cannot see such a record; this waits for it.
   */
  async reaches(
    group: string,
    topic: string,
    partition: number,
    nextOffset: bigint,
    timeoutMs: number,
    whileWaiting: () => Promise<void> = () => Promise.resolve(),
  ): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    let nextCall = performance.now() + 1000;
    while ((this.get(group, topic, partition)?.nextOffset ?? 0n) < nextOffset) {
      if (performance.now() > deadline) return false;
      if (performance.now() > nextCall) {
        await whileWaiting();
        nextCall = performance.now() + 1000;
      }
      await sleep(20);
    }
    return true;
  }

  get(group: string, topic: string, partition: number): PartitionStats | undefined {
    return this.#states.get(statsKey(group, topic, partition));
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
