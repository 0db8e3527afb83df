import type { PartitionStats } from '../domain/partition-stats.js';
import type { DeadLetterSink } from './processing.js';

/**
 * What exactly-once processing needs of Kafka for each partition it owns: a producer of the
 * partition's own transactional id (which fenced the previous owner), the aggregate restored from
 * the changelog, and transactions that commit dead letters, the aggregate and the offset together.
 */
export interface PartitionOwnership {
  /**
   * The partition's owner, taking ownership first when needed (fencing, restoring the aggregate).
   * Rejects with an error handled as `wait` when that fails; the next call tries again.
   */
  ownerFor(partition: number, heartbeat: () => Promise<void>): Promise<OwnedPartition>;
  /**
   * A transaction of `partition` failed (`error`), and the partition reads again from `from`, its
   * committed offset: its producer is dropped, so that the partition is taken up again with a new one
   * (fencing any zombie of ours). Resolves to what the partition waits for before that.
   */
  afterFailedTransaction(partition: number, error: unknown, from: string): Promise<Error>;
  /** The group's new assignment: partitions that are gone are released. */
  keepOnly(partitions: readonly number[]): Promise<void>;
  close(): Promise<void>;
}

/** A partition this instance owns: its last committed aggregate, and transactions on its producer. */
export interface OwnedPartition {
  /** The aggregate as last committed (the commit strategy replaces it after each commit). */
  state: PartitionStats;
  /** Opens a transaction; rejects when the broker does not answer or refuses. */
  begin(): Promise<PartitionTransaction>;
}

/** One open transaction of a partition. */
export interface PartitionTransaction {
  /** Dead letters go into the transaction. */
  readonly deadLetters: DeadLetterSink;
  /** A dead letter failed: the transaction must be aborted, never committed. */
  readonly deadLetterFailed: boolean;
  /**
   * A dead letter got no answer and may still be sent, into whatever transaction is open then: the
   * producer itself is in doubt and must be dropped.
   */
  readonly producerInDoubt: Error | undefined;
  /** Writes `state` (the new aggregate) and the offset it is complete up to, then commits. */
  commit(state: PartitionStats): Promise<void>;
  /** Aborts, within the write deadline; never rejects. */
  abort(): Promise<void>;
}
