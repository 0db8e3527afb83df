import { randomUUID } from 'node:crypto';
import type { Kafka, KafkaMessage } from 'kafkajs';

export interface ReadRecord {
  readonly partition: number;
  readonly message: KafkaMessage;
}

export interface ReadOptions {
  readonly topic: string;
  /** Stop after this many records. */
  readonly max: number;
  /** Stop when nothing new arrived for this long. */
  readonly idleMs: number;
}

/**
 * Reads a topic from the beginning under read_committed with a throwaway
 * group (kafkajs has no group-less assign), like kafka-console-consumer.
 */
export async function readTopic(kafka: Kafka, options: ReadOptions): Promise<ReadRecord[]> {
  const groupId = `kos-reader-${randomUUID()}`;
  const consumer = kafka.consumer({ groupId, readUncommitted: false, maxWaitTimeInMs: 200 });
  const records: ReadRecord[] = [];
  let lastActivity = performance.now();
  let resolveDone: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));
  consumer.on(consumer.events.GROUP_JOIN, () => (lastActivity = performance.now()));
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [options.topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: ({ partition, message }) => {
        lastActivity = performance.now();
        if (records.length < options.max) records.push({ partition, message });
        if (records.length >= options.max) resolveDone();
        return Promise.resolve();
      },
    });
    const idle = setInterval(() => {
      if (performance.now() - lastActivity > options.idleMs) resolveDone();
    }, 100);
    await done;
    clearInterval(idle);
  } finally {
    await consumer.disconnect();
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect();
  }
  return records;
}
