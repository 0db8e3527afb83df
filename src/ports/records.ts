import type { DeadLetterSource } from '../domain/dead-letter.js';

/**
 * One record as read from the orders topic: where it lies and when it was written (what a dead letter
 * says of its source), and its bytes. Offsets and timestamps are decimal strings, as Kafka clients
 * give them.
 */
export interface IncomingRecord extends DeadLetterSource {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  /**
   * Set on the one record that stands for a record batch the client could not read (a codec it lacks,
   * data that does not inflate, a decompression bomb): the `undecodableBatch` property of
   * patches/kafkajs+2.2.4.patch, which no producer can set (a header could be forged).
   */
  readonly undecodableBatch?: unknown;
}

/** A record of a fetched batch: an IncomingRecord without its topic and partition, which the batch has. */
export type BatchRecord = Omit<IncomingRecord, 'topic' | 'partition'>;

/** What one fetch brought of one partition, records in offset order. */
export interface ConsumedBatch {
  readonly topic: string;
  readonly partition: number;
  readonly messages: readonly BatchRecord[];
  /** The partition's end as the fetch saw it, for the lag. */
  readonly highWatermark: string;
}

/** What a batch may ask of the consumer that fetched it. */
export interface BatchControl {
  /** The records of the batch up to `offset` are done: their offsets may be committed. */
  resolveOffset(offset: string): void;
  /** The whole batch is done, up to its last offset (transaction markers after its last record included). */
  resolveBatch(): void;
  /**
   * Commits the resolved offsets when the client's commit interval has passed; with `next`, commits
   * `next` as the partition's offset now. Rejects when the commit fails (a rebalance, the broker away).
   */
  commit(next?: string): Promise<void>;
  /** Pauses the batch's partition; the function it returns resumes it. */
  pause(): () => void;
  /** The partition's next fetch starts at `offset`. */
  seek(offset: string): void;
  heartbeat(): Promise<void>;
  /** The consumer is stopping: nothing is fetched after this batch. */
  isStopping(): boolean;
  /** The batch should end now: the consumer is stopping, or a rebalance made the batch stale. */
  shouldAbandon(): boolean;
}
