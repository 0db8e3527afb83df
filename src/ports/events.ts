import type { EventEmitter } from 'node:events';
import type { Dependency } from '../errors.js';

/**
 * What the consumer reports about its work. Metrics and console output
 * subscribe here, so business code never touches prom-client.
 */
export interface ConsumerEvents {
  /**
   * Orders passed validation and processing and were added to the aggregate: one order, or a run of
   * good orders of one partition processed back to back (see OrderProcessor.takeRun).
   */
  'orders.processed': [
    {
      partition: number;
      /** 1 or more. */
      count: number;
      /** The prices of all `count` orders, summed. */
      priceSumCents: bigint;
      /**
       * Seconds spent decoding, validating and processing them, retries included. A run is timed as a
       * whole, and each of its orders counts for an equal share.
       */
      durationSeconds: number;
      /** Seconds from each order's creation (else its record's timestamp) to done; one per order that has one. */
      endToEndSeconds: ArrayLike<number>;
    },
  ];
  /** A transient failure will be retried after `delayMs`. */
  'order.retrying': [{ partition: number; reason: string; attempt: number; delayMs: number }];
  /** The record was written to the DLQ (acknowledged with acks=all). */
  'order.dead_lettered': [
    {
      partition: number;
      reason: string;
      attempts: number;
      durationSeconds: number;
      endToEndSeconds: number | undefined;
    },
  ];
  /**
   * A redriven order (replayed from the DLQ, header kos-redrive-count) was finished: counted, or
   * dead-lettered again with its redrive history. Also reported as `orders.processed` or
   * `order.dead_lettered`, like any order.
   */
  'order.redriven': [{ partition: number; outcome: 'success' | 'dead_lettered' }];
  /**
   * A record of `partition` needs `dependency`, which is down: the partition waits `delayMs` (its
   * `waits`-th wait in a row), using none of the record's retries.
   */
  'partition.waiting': [
    { partition: number; dependency: Dependency; reason: string; delayMs: number; waits: number },
  ];
  /** The record `partition` waited for went on (or the partition is no longer ours): it waits no more. */
  'partition.resumed': [{ partition: number; dependency: Dependency; waitedSeconds: number }];
  /**
   * A changelog aggregate was refused: unreadable when read (no partition), or implausible when a
   * restore of `partition` looked at it (the restore then went on from an earlier one or the offset).
   */
  'changelog.rejected': [{ partition: number | undefined; reason: string }];
  /** The consumer joined the group and owns these partitions of the orders topic. */
  'partitions.assigned': [{ partitions: number[] }];
  /**
   * Exactly-once: every partition of the assignment is owned (its producer fenced the previous owner,
   * its aggregate is restored), so its records are processed without waiting for that.
   */
  'partitions.owned': [{ partitions: number[] }];
  /** A rebalance started (the consumer is re-joining the group). */
  rebalance: [];
  /**
   * Lag per partition in records: after each batch (the fetch's high watermark), and from the broker
   * every LAG_POLL_INTERVAL_MS (the group's committed offset).
   */
  lag: [{ partition: number; lag: number }[]];
  /**
   * Where `partition` stands, as a batch starts and ends (never per record): the record timestamp (epoch
   * ms) of its oldest order not yet processed, or undefined when it has none (caught up with the end the
   * fetch saw). When the fetch did not bring the records past its batch, the last one processed stands in
   * for the next (OutcomeRecorder.standsAt).
   */
  'partition.pending': [{ partition: number; oldestTimestampMs: number | undefined }];
}

/** What the producer reports; metrics and console output subscribe here. */
export interface ProducerEvents {
  /**
   * The broker acknowledged a send (acks=all): once per send, not per order, so a producer at hundreds of
   * thousands of orders a second does not pay for an event object each.
   */
  'orders.acknowledged': [{ valid: number; invalid: number; sendSeconds: number }];
  /** A send could not be delivered: `count` orders, each counted as failed. */
  'orders.failed': [{ count: number; reason: string; sendSeconds: number }];
}

/** Where the consumer's events go, and what their subscribers (the metrics) listen to. */
export type ConsumerEventChannel = EventEmitter<ConsumerEvents>;

/** Where the producer's events go. */
export type ProducerEventChannel = EventEmitter<ProducerEvents>;
