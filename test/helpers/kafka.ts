import { randomUUID } from 'node:crypto';
import type { Kafka, KafkaMessage } from 'kafkajs';
import { pino } from 'pino';
import { loadConfig, type AppConfig, type Role } from '../../src/config/load.js';
import { createKafka } from '../../src/adapters/kafka/client.js';
import { resolveTopics } from '../../src/topics.js';
import { waitUntil } from './wait.js';

export const quietLogger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

/** A name no other test run uses, so tests can share a long-running stack. */
export const uniqueName = (prefix: string): string => `${prefix}-${randomUUID().slice(0, 8)}`;

export interface TestTopics {
  readonly ordersTopic: string;
  readonly dlqTopic: string;
  readonly statsTopic: string;
  readonly groupId: string;
}

export function newTestTopics(prefix = 'it'): TestTopics {
  const id = uniqueName(prefix);
  return {
    ordersTopic: `${id}-orders`,
    dlqTopic: `${id}-dlq`,
    statsTopic: `${id}-stats`,
    groupId: `${id}-group`,
  };
}

/** Config as the processes would load it, pointed at the test's own topics and group. */
export function testConfig(role: Role, topics: TestTopics, extra: Record<string, string> = {}): AppConfig {
  return loadConfig(role, {
    ...process.env,
    ORDERS_TOPIC: topics.ordersTopic,
    DLQ_TOPIC: topics.dlqTopic,
    STATS_TOPIC: topics.statsTopic,
    KAFKA_GROUP_ID: topics.groupId,
    HTTP_PORT: '0',
    HTTP_HOST: '127.0.0.1',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    LOG_FORMAT: 'json',
    ...extra,
  });
}

export function testKafka(): Kafka {
  return createKafka(loadConfig('consumer', process.env), quietLogger, 'test');
}

/** Creates the test's topics from the application's own definitions (src/topics.ts). */
export async function createTestTopics(
  kafka: Kafka,
  topics: TestTopics,
  ordersPartitions = 3,
): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({
      waitForLeaders: true,
      topics: resolveTopics(topics).map((t) => ({
        topic: t.name,
        numPartitions: t.role === 'orders' ? ordersPartitions : t.partitions,
        replicationFactor: 1,
        configEntries: Object.entries(t.config).map(([name, value]) => ({ name, value })),
      })),
    });
  } finally {
    await admin.disconnect();
  }
}

export async function deleteTestTopics(kafka: Kafka, topics: TestTopics): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.deleteTopics({ topics: resolveTopics(topics).map((t) => t.name) }).catch(() => undefined);
  } finally {
    await admin.disconnect();
  }
}

export interface CollectedRecord {
  readonly partition: number;
  readonly message: KafkaMessage;
}

/**
 * Reads `topic` from the beginning (read_committed) until `expected`
 * records have arrived, or fails after `timeoutMs`.
 */
export async function collect(
  kafka: Kafka,
  topic: string,
  expected: number,
  timeoutMs = 60_000,
): Promise<CollectedRecord[]> {
  const consumer = kafka.consumer({
    groupId: uniqueName('collector'),
    readUncommitted: false,
    maxWaitTimeInMs: 200,
  });
  const records: CollectedRecord[] = [];
  // A consumer without commits that rejoins its group reads from the start again; one log position is one record.
  const seen = new Set<string>();
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: ({ partition, message }) => {
        const position = `${partition}@${message.offset}`;
        if (!seen.has(position)) records.push({ partition, message });
        seen.add(position);
        return Promise.resolve();
      },
    });
    await waitUntil(
      () => `${expected} records on ${topic} (have ${records.length})`,
      () => records.length >= expected,
      timeoutMs,
    );
  } finally {
    await consumer.disconnect();
  }
  return records;
}

/**
 * Raw bytes straight onto a topic, bypassing our producer (garbage, foreign writers). `timestamp` (epoch
 * ms, as a string) sets the record's CreateTime, e.g. an order written long ago.
 */
export async function produceRaw(
  kafka: Kafka,
  topic: string,
  messages: { key: string; value: Buffer; partition?: number; timestamp?: string }[],
): Promise<void> {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    await producer.send({ topic, acks: -1, messages });
  } finally {
    await producer.disconnect();
  }
}
