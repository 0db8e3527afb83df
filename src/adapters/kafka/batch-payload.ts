import type { Consumer, EachBatchPayload } from 'kafkajs';
import type { BatchControl, ConsumedBatch } from '../../ports/records.js';

/** How the consumer handles a batch, kafkajs aside. */
export type HandleBatch = (batch: ConsumedBatch, control: BatchControl) => Promise<void>;

/**
 * kafkajs's eachBatch for `handle`. kafkajs's Batch has every field of a ConsumedBatch (its messages
 * carry `undecodableBatch` from patches/kafkajs+2.2.4.patch), so it is handed over as it is; the
 * payload's callbacks become the BatchControl.
 */
export function eachBatchOf(
  consumer: Consumer,
  handle: HandleBatch,
  /** Our own stop (the process is shutting down), on top of kafkajs's. */
  isStopping: () => boolean,
): (payload: EachBatchPayload) => Promise<void> {
  return (payload) => {
    const { batch } = payload;
    const { topic, partition } = batch;
    const stopping = () => isStopping() || !payload.isRunning();
    return handle(batch, {
      resolveOffset: (offset) => payload.resolveOffset(offset),
      resolveBatch: () => payload.resolveOffset(batch.lastOffset()),
      commit: (next) =>
        payload.commitOffsetsIfNecessary(
          next === undefined ? undefined : { topics: [{ topic, partitions: [{ partition, offset: next }] }] },
        ),
      pause: () => payload.pause(),
      seek: (offset) => consumer.seek({ topic, partition, offset }),
      heartbeat: () => payload.heartbeat(),
      isStopping: stopping,
      // kafkajs's isStale() builds a JSON key per call: the batch loop asks only now and then.
      shouldAbandon: () => stopping() || payload.isStale(),
    });
  };
}
