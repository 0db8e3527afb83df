import type { EachBatchPayload, Kafka } from 'kafkajs';
import { waitUntil } from '../../test/helpers/wait.js';

export interface CountWindow {
  /** performance.now() when the group was joined. */
  readonly joinedAt: number;
  /** performance.now() when the `records`-th record was counted. */
  readonly doneAt: number;
}

/**
 * The raw-kafkajs baseline: our consumer's client settings (eachBatch, 3 partitions at once,
 * read_committed, 1 s auto-commit, the same most bytes fetched per partition), and a handler that only
 * counts.
 */
export async function countWithKafkajs(
  kafka: Kafka,
  opts: {
    readonly topic: string;
    readonly groupId: string;
    readonly records: number;
    readonly timeoutMs: number;
    /** Our consumer's FETCH_MAX_BYTES_PER_PARTITION. */
    readonly maxBytesPerPartition: number;
  },
): Promise<CountWindow> {
  const consumer = kafka.consumer({
    groupId: opts.groupId,
    readUncommitted: false,
    sessionTimeout: 30_000,
    heartbeatInterval: 3000,
    maxWaitTimeInMs: 500,
    maxBytesPerPartition: opts.maxBytesPerPartition,
  });
  let joinedAt: number | undefined;
  let doneAt: number | undefined;
  let count = 0;
  consumer.on(consumer.events.GROUP_JOIN, () => (joinedAt ??= performance.now()));
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [opts.topic], fromBeginning: true });
    await consumer.run({
      partitionsConsumedConcurrently: 3,
      autoCommitInterval: 1000,
      eachBatch: ({ batch }: EachBatchPayload) => {
        count += batch.messages.length;
        if (count >= opts.records) doneAt ??= performance.now();
        return Promise.resolve();
      },
    });
    await waitUntil(
      () => `raw kafkajs to count ${opts.records} records (have ${count})`,
      () => doneAt !== undefined,
      opts.timeoutMs,
      5,
    );
  } finally {
    await consumer.disconnect();
  }
  return { joinedAt: joinedAt ?? 0, doneAt: doneAt ?? 0 };
}
