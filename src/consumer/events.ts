import { EventEmitter } from 'node:events';

/**
 * What the consumer reports about its work. Metrics and console output
 * subscribe here, so business code never touches prom-client.
 */
export interface ConsumerEvents {
  /** An order passed validation and processing and was added to the aggregate. */
  'order.processed': [
    {
      partition: number;
      priceCents: bigint;
      /** Seconds spent decoding, validating and processing, retries included. */
      durationSeconds: number;
      /** Seconds from the record's timestamp to done; undefined when unknown. */
      endToEndSeconds: number | undefined;
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
  /** The consumer joined the group and owns these partitions of the orders topic. */
  'partitions.assigned': [{ partitions: number[] }];
  /** A rebalance started (the consumer is re-joining the group). */
  rebalance: [];
  /** Lag per partition, refreshed periodically. */
  lag: [{ partition: number; lag: number }[]];
}

export class ConsumerEventBus extends EventEmitter<ConsumerEvents> {}
