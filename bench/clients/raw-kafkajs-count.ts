import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import { waitUntil } from '../../test/helpers/wait.js';

export interface CountWindow {
  /** performance.now() when the group was joined. */
  readonly joinedAt: number;
  /** performance.now() when the `records`-th record was counted. */
  readonly doneAt: number;
  /** What `readEach` read, summed, so the reads cannot be optimised away. */
  readonly checksum: number;
}

/**
 * The raw-kafkajs baseline: our consumer's group settings (eachBatch, 3 partitions at once,
 * read_committed, 1 s auto-commit), and a handler that only counts. `instrument` sees the consumer
 * before it connects; `onDone` runs at the count, inside the last batch.
 */
export async function countWithKafkajs(
  kafka: Kafka,
  opts: {
    readonly topic: string;
    readonly groupId: string;
    readonly records: number;
    readonly timeoutMs: number;
    readonly instrument?: (consumer: Consumer) => void;
    readonly onDone?: (doneAt: number) => void;
    /** Also read every record's last value byte, offset and timestamp: what touching each record costs. */
    readonly readEach?: boolean;
  },
): Promise<CountWindow> {
  const consumer = kafka.consumer({
    groupId: opts.groupId,
    readUncommitted: false,
    sessionTimeout: 30_000,
    heartbeatInterval: 3000,
    maxWaitTimeInMs: 500,
  });
  opts.instrument?.(consumer);
  let joinedAt: number | undefined;
  let doneAt: number | undefined;
  let count = 0;
  let checksum = 0;
  consumer.on(consumer.events.GROUP_JOIN, () => (joinedAt ??= performance.now()));
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [opts.topic], fromBeginning: true });
    await consumer.run({
      partitionsConsumedConcurrently: 3,
      autoCommitInterval: 1000,
      eachBatch: ({ batch }: EachBatchPayload) => {
        if (opts.readEach)
          for (const { value, offset, timestamp } of batch.messages)
            checksum += (value?.[value.length - 1] ?? 0) + offset.length + timestamp.length;
        count += batch.messages.length;
        if (count >= opts.records && doneAt === undefined) {
          doneAt = performance.now();
          opts.onDone?.(doneAt);
        }
        return Promise.resolve();
      },
    });
    await waitUntil(
      `raw kafkajs to count ${opts.records} records (have ${count})`,
      () => doneAt !== undefined,
      opts.timeoutMs,
      5,
    );
  } finally {
    await consumer.disconnect();
  }
  return { joinedAt: joinedAt ?? 0, doneAt: doneAt ?? 0, checksum };
}
