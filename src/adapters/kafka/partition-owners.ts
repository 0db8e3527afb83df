import type { Kafka, Producer } from 'kafkajs';
import { emptyStats, type PartitionStats } from '../../domain/partition-stats.js';
import type { Logger } from '../../logger.js';
import type { ConsumerEventChannel } from '../../ports/events.js';
import type { OwnedPartition, PartitionOwnership } from '../../ports/exactly-once.js';
import { committedOffset } from './group-lag.js';
import { brokerWait, isFenced } from './kafka-errors.js';
import type { LazyAdmin } from './lazy-admin.js';
import type { StatsChangelog } from './stats-changelog.js';
import type { TransactionWriter } from './transaction-writer.js';
import { connectTransactional } from './transactional-producer.js';

const RESTORE_TIMEOUT_MS = 30_000;

/**
 * The first write of a transaction right after the previous commit is refused with
 * CONCURRENT_TRANSACTIONS until the broker has written the commit markers, a few milliseconds.
 * kafkajs's first retry would wait 300 ms; like the Java client (20 ms for this case), retry soon.
 * The retries are bounded so a broker that is away fails the write (and the partition waits)
 * instead of retrying in the background; the write deadline (withDeadline) bounds them in time.
 */
const TRANSACTIONAL_RETRY = {
  initialRetryTime: 10,
  maxRetryTime: 1000,
  retries: 6,
} as const;

/** The settings ownership needs. */
export interface OwnershipSettings {
  readonly groupId: string;
  readonly ordersTopic: string;
  readonly transactionTimeoutMs: number;
  /** The most records one transaction covers: bounds how far an aggregate may be ahead of the offset. */
  readonly transactionMaxRecords: number;
}

export interface PartitionOwnersOptions {
  readonly kafka: Kafka;
  /** Reads the group's committed offsets and the partitions' ends. */
  readonly admin: LazyAdmin;
  /** The aggregates, read from the changelog. */
  readonly changelog: StatsChangelog;
  readonly transactions: TransactionWriter;
  readonly settings: OwnershipSettings;
  /** Told of every changelog aggregate a restore refuses. */
  readonly bus: ConsumerEventChannel;
  readonly logger: Logger;
}

/** The producer and last committed aggregate of one partition we own. */
type Owner = OwnedPartition & { readonly producer: Producer };

/**
 * The partitions this instance owns in exactly-once mode. The transactional id is
 * `<group>-<topic>-<partition>` (the scheme Kafka Streams used before KIP-447). kafkajs's
 * TxnOffsetCommit carries no group generation, so a consumer that was removed from the group could
 * otherwise still commit; with one id per partition, whoever owns the partition next initialises the
 * same id, which aborts or completes the old owner's transaction and fences it for good. Then the
 * partition's aggregate is restored from the changelog, and checked before it is trusted.
 */
export class PartitionOwners implements PartitionOwnership {
  readonly #owners = new Map<number, Promise<Owner>>();
  readonly #o: PartitionOwnersOptions;

  constructor(options: PartitionOwnersOptions) {
    this.#o = options;
  }

  transactionalId(partition: number): string {
    return `${this.#o.settings.groupId}-${this.#o.settings.ordersTopic}-${partition}`;
  }

  ownerFor(partition: number, heartbeat: () => Promise<void>): Promise<Owner> {
    let owner = this.#owners.get(partition);
    if (!owner) {
      const becoming = this.#becomeOwner(partition, heartbeat);
      owner = becoming;
      this.#owners.set(partition, becoming);
      // A failed restore is forgotten, unless a newer attempt replaced it meanwhile.
      becoming.catch(() => {
        if (this.#owners.get(partition) === becoming) this.#owners.delete(partition);
      });
    }
    return owner;
  }

  async afterFailedTransaction(partition: number, error: unknown, from: string): Promise<Error> {
    await this.#drop(partition);
    // Fenced means another producer of this id took over: another instance, whose rebalance takes the
    // partition from us shortly, or the broker, which aborted our own transaction on timeout. Either
    // way, taking it back at once would only fence the other one in turn: wait like any failure.
    const fenced = isFenced(error);
    this.#o.logger.debug(
      { partition, err: error, from, fenced },
      'Transaction failed; aborted, reading again from the committed offset',
    );
    const what = fenced ? 'a transaction fenced by a newer producer of its id' : 'a transaction';
    return brokerWait(`${what} on ${this.#o.settings.ordersTopic}[${partition}]`, error);
  }

  async keepOnly(partitions: readonly number[]): Promise<void> {
    const kept = new Set(partitions);
    const gone = [...this.#owners.keys()].filter((p) => !kept.has(p));
    if (gone.length > 0) this.#o.logger.debug({ partitions: gone }, 'Releasing partitions we no longer own');
    await Promise.all(gone.map((p) => this.#drop(p)));
    this.#takeUp(partitions);
  }

  /**
   * Takes ownership of newly assigned partitions right away, as Kafka Streams initialises its tasks on
   * assignment, instead of when their first records arrive: fencing and restoring the aggregate take a
   * few hundred milliseconds, which those records would otherwise wait (the end-to-end p99 of the first
   * seconds after every rebalance). The group gave us the partitions, so fencing their previous owner
   * now is what the first batch would do anyway. A failure is only logged: the first batch tries again
   * and waits like any failure. No heartbeat is needed here: between batches kafkajs heartbeats by
   * itself, and a batch that arrives meanwhile awaits the same ownership while heartbeating on its own.
   */
  #takeUp(partitions: readonly number[]): void {
    if (partitions.length === 0) return;
    const taking = partitions.map((p) => this.ownerFor(p, () => Promise.resolve()));
    Promise.all(taking).then(
      () => this.#o.bus.emit('partitions.owned', { partitions: [...partitions] }),
      (error: unknown) =>
        this.#o.logger.debug({ err: error, partitions }, 'Could not take up every assigned partition yet'),
    );
  }

  async close(): Promise<void> {
    await Promise.all([...this.#owners.keys()].map((p) => this.#drop(p)));
  }

  /** Fence the previous owner, then restore the partition's aggregate from the changelog. */
  async #becomeOwner(partition: number, heartbeat: () => Promise<void>): Promise<Owner> {
    const { kafka, settings, changelog, logger, transactions } = this.#o;
    const producer = kafka.producer({
      transactionalId: this.transactionalId(partition),
      idempotent: true,
      maxInFlightRequests: 1,
      transactionTimeout: settings.transactionTimeoutMs,
      retry: TRANSACTIONAL_RETRY,
    });
    try {
      // InitProducerId bumps the epoch, completing or aborting whatever the previous owner left open.
      await connectTransactional(producer, logger.child({ partition }));
      // Only after fencing is the changelog final for this partition; read it to its current end.
      await changelog.catchUp(RESTORE_TIMEOUT_MS);
      const state = await this.#restore(partition, heartbeat);
      logger.info(
        { partition, orders: state.orders.toString(), nextOffset: state.nextOffset.toString() },
        `Restored the aggregate of ${settings.ordersTopic}[${partition}]: ${state.orders.toString()} orders up to offset ${state.nextOffset.toString()}`,
      );
      return { producer, state, begin: () => transactions.begin(producer, partition) };
    } catch (error) {
      await producer.disconnect().catch(() => undefined);
      // Fencing or restoring failed (the broker is away, the changelog is slow): the partition waits.
      logger.debug({ err: error, partition }, 'Could not take ownership of the partition; waiting');
      throw brokerWait(
        `taking ownership (fencing, restoring the aggregate) on ${settings.ordersTopic}[${partition}]`,
        error,
      );
    }
  }

  /**
   * The aggregate to go on from. The group's offset and the aggregate are committed in one
   * transaction, so the aggregate must reach the offset: the changelog's read_committed end can stop
   * short of it, behind another transaction still open on the changelog, so the restore waits for it.
   * Then the aggregate must be plausible (StatsChangelog.restorable): one that claims to be complete
   * beyond the partition's end or far beyond the committed offset would make us skip orders. Such a
   * record is refused, loudly, and the newest plausible one is used, or the committed offset alone.
   */
  async #restore(partition: number, heartbeat: () => Promise<void>): Promise<PartitionStats> {
    const { settings, changelog, logger, bus, admin } = this.#o;
    const { groupId, ordersTopic } = settings;
    const client = await admin.get();
    const committed = await committedOffset(client, groupId, ordersTopic, partition);
    const ends = await client.fetchTopicOffsets(ordersTopic);
    const end = BigInt(ends.find((p) => p.partition === partition)?.high ?? '0');
    const bounds = { end, committed, transactionSpan: 2n * BigInt(settings.transactionMaxRecords) };
    // A transaction left open is aborted by the broker after TRANSACTION_TIMEOUT_MS at the latest. Only a
    // plausible aggregate ends the wait: a forged one must not stand in for the real one still to come.
    const key = { group: groupId, topic: ordersTopic, partition };
    const waitMs = settings.transactionTimeoutMs + RESTORE_TIMEOUT_MS;
    if (!(await changelog.reaches({ ...key, nextOffset: committed, timeoutMs: waitMs, heartbeat, bounds }))) {
      logger.warn(
        { partition, committed: committed.toString() },
        'The aggregate stays behind the committed offset (offsets moved by hand?); continuing with it',
      );
    }
    const { state, refused } = changelog.restorable(groupId, ordersTopic, partition, bounds);
    if (refused.length > 0) {
      const fallback = state
        ? `an earlier aggregate, complete up to ${state.nextOffset.toString()}`
        : `the committed offset ${committed.toString()} with an empty aggregate`;
      logger.error(
        {
          code: 'KOS_CHANGELOG_REJECTED',
          partition,
          refused,
          committed: committed.toString(),
          end: end.toString(),
        },
        `Refused ${refused.length} changelog aggregate(s) of ${ordersTopic}[${partition}] that cannot be right (${refused[0] ?? ''}); going on from ${fallback}`,
      );
      for (const reason of refused) bus.emit('changelog.rejected', { partition, reason });
    }
    if (state) return state;
    // No aggregate at all (a new group, a group that ran at-least-once before, a lost changelog): what
    // came before the committed offset was processed without one, so counting starts there.
    return { ...emptyStats(groupId, ordersTopic, partition), nextOffset: committed > 0n ? committed : 0n };
  }

  async #drop(partition: number): Promise<void> {
    const owner = this.#owners.get(partition);
    this.#owners.delete(partition);
    if (owner) await (await owner.catch(() => undefined))?.producer.disconnect().catch(() => undefined);
  }
}
