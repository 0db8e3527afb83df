import { randomUUID } from 'node:crypto';
import type { Consumer, Kafka, KafkaMessage } from 'kafkajs';
import type { Logger } from '../../logger.js';

export interface CommittedRecord {
  readonly partition: number;
  readonly message: KafkaMessage;
}

export interface ReadToEndOptions {
  readonly topic: string;
  /** Awaited for each record before the next one, in offset order within a partition; each record once. */
  readonly each: (record: CommittedRecord) => Promise<void>;
  /** Fails when the read makes no progress for this long (the group cannot be joined, the broker is away). */
  readonly stallMs?: number;
  readonly logger: Logger;
}

const DEFAULT_STALL_MS = 60_000;

/**
 * Reads `topic` from its start to its end as of the call, under read_committed. The end is the last
 * stable offset (the admin client lists offsets read_committed): everything before it is decided,
 * committed or aborted, so the read always finishes; what is appended later is not read. kafkajs has
 * no group-less assign, so it reads in a throwaway group, `kos-reader-<uuid>` (the prefix the DLQ
 * tool's ACLs name), deleted after. Resolves with the number of records read.
 */
export async function readToEnd(kafka: Kafka, options: ReadToEndOptions): Promise<number> {
  const { topic, each, logger } = options;
  const stallMs = options.stallMs ?? DEFAULT_STALL_MS;
  const admin = kafka.admin();
  const groupId = `kos-reader-${randomUUID()}`;
  let consumer: Consumer | undefined;
  await admin.connect();
  try {
    const ends = new Map<number, bigint>();
    /** Next offset to read per partition, transaction markers and aborted records included. */
    const positions = new Map<number, bigint>();
    /** Next offset to hand to `each`: a rebalance re-delivers from the start, and a record goes once. */
    const handed = new Map<number, bigint>();
    for (const { partition, low, high } of await admin.fetchTopicOffsets(topic)) {
      if (BigInt(high) <= BigInt(low)) continue;
      ends.set(partition, BigInt(high));
      positions.set(partition, BigInt(low));
    }
    if (ends.size === 0) return 0;

    let records = 0;
    let lastProgress = performance.now();
    /** `each` may take its time (a paced replay waits between records): that is not a stalled read. */
    let inEach = false;
    let settle: (error?: unknown) => void = () => undefined;
    const done = new Promise<void>((resolve, reject) => {
      settle = (error) =>
        error === undefined
          ? resolve()
          : reject(error instanceof Error ? error : new Error(`reading ${topic} failed`, { cause: error }));
    });
    let failed = false;
    const fail = (error: unknown) => {
      failed = true;
      settle(error);
    };
    const reachedEnds = () => [...ends].every(([p, end]) => (positions.get(p) ?? 0n) >= end);

    consumer = kafka.consumer({ groupId, readUncommitted: false, maxWaitTimeInMs: 200 });
    // Also fired for batches of only transaction markers or aborted records, which eachBatch never sees.
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      if (failed || payload.topic !== topic) return;
      const next = BigInt(payload.lastOffset) + 1n;
      if (next > (positions.get(payload.partition) ?? 0n)) positions.set(payload.partition, next);
      lastProgress = performance.now();
      if (reachedEnds()) settle();
    });
    consumer.on(consumer.events.GROUP_JOIN, () => (lastProgress = performance.now()));
    consumer.on(consumer.events.CRASH, ({ payload }) => fail(payload.error));
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch, heartbeat }) => {
        const end = ends.get(batch.partition) ?? 0n;
        for (const message of batch.messages) {
          if (failed) return;
          const offset = BigInt(message.offset);
          if (offset >= end) break;
          if (offset < (handed.get(batch.partition) ?? 0n)) continue;
          inEach = true;
          try {
            await each({ partition: batch.partition, message });
          } catch (error) {
            fail(error);
            return;
          } finally {
            inEach = false;
          }
          handed.set(batch.partition, offset + 1n);
          records += 1;
          lastProgress = performance.now();
          // A slow `each` (a paced replay) must not cost the throwaway group its only member.
          await heartbeat();
        }
      },
    });
    const watchdog = setInterval(() => {
      if (inEach) lastProgress = performance.now();
      else if (performance.now() - lastProgress > stallMs)
        fail(new Error(`reading ${topic} to its end made no progress for ${stallMs} ms`));
    }, 1000);
    try {
      await done;
    } finally {
      clearInterval(watchdog);
    }
    logger.debug({ topic, records }, `Read ${topic} to its end`);
    return records;
  } finally {
    await consumer?.disconnect().catch(() => undefined);
    if (consumer) await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }
}
