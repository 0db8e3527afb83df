import type { Kafka } from 'kafkajs';
import { StatsChangelog } from '../../src/adapters/kafka/stats-changelog.js';
import { decodeDeadLetterHeaders } from '../../src/domain/dead-letter.js';
import type { PartitionStats } from '../../src/domain/partition-stats.js';
import type { AcknowledgedOrder } from '../../src/producer/index.js';
import { collect, quietLogger, type TestTopics } from './kafka.js';
import { startCli, type RunningProcess } from './processes.js';
import { waitUntil } from './wait.js';

/**
 * A 10 s session, so a killed member is replaced quickly, and the time limits that fit it: startup
 * refuses any record (a 3 s registry lookup, a 2 s downstream step, a 2 s dead letter) or transaction
 * that could outlast the session.
 */
export const SHORT_SESSION_ENV = {
  KAFKA_SESSION_TIMEOUT_MS: '10000',
  SCHEMA_REGISTRY_TIMEOUT_MS: '1000',
  KAFKA_REQUEST_TIMEOUT_MS: '2000',
  TRANSACTION_TIMEOUT_MS: '10000',
} as const;

/** A consumer process tuned for fault tests: a short session so a killed member is replaced quickly. */
export function startFaultTestConsumer(topics: TestTopics, env: Record<string, string> = {}): RunningProcess {
  return startCli('consumer', {
    ORDERS_TOPIC: topics.ordersTopic,
    DLQ_TOPIC: topics.dlqTopic,
    STATS_TOPIC: topics.statsTopic,
    KAFKA_GROUP_ID: topics.groupId,
    HTTP_PORT: '0',
    LOG_LEVEL: 'warn',
    ...SHORT_SESSION_ENV,
    RETRY_BACKOFF_MS: '50',
    DEPENDENCY_BACKOFF_MS: '100',
    DEPENDENCY_BACKOFF_MAX_MS: '1000',
    ...env,
  });
}

/** Reads the aggregate changelog the way every consumer instance does. */
export async function withChangelog<T>(
  kafka: Kafka,
  topics: TestTopics,
  use: (changelog: StatsChangelog) => Promise<T>,
): Promise<T> {
  const changelog = new StatsChangelog({
    kafka,
    topic: topics.statsTopic,
    groupPrefix: topics.groupId,
    logger: quietLogger,
  });
  await changelog.start();
  try {
    return await use(changelog);
  } finally {
    await changelog.stop();
  }
}

export interface Totals {
  readonly orders: bigint;
  readonly sumCents: bigint;
  readonly deadLettered: bigint;
}

export function totals(stats: readonly PartitionStats[], ordersTopic: string): Totals {
  const mine = stats.filter((s) => s.topic === ordersTopic);
  return {
    orders: mine.reduce((n, s) => n + s.orders, 0n),
    sumCents: mine.reduce((n, s) => n + s.sumCents, 0n),
    deadLettered: mine.reduce((n, s) => n + s.deadLettered, 0n),
  };
}

/** What exactly-once must have produced, from the producer's ledger. */
export function expectedFromLedger(ledger: readonly AcknowledgedOrder[]): Totals {
  const valid = ledger.filter((o) => o.invalid === undefined);
  return {
    orders: BigInt(valid.length),
    sumCents: valid.reduce((n, o) => n + o.order.priceCents, 0n),
    deadLettered: BigInt(ledger.length - valid.length),
  };
}

/** Every DLQ record visible under read_committed, as "partition@offset" of its original. */
export async function deadLetterPositions(
  kafka: Kafka,
  topics: TestTopics,
  expected: number,
): Promise<string[]> {
  const records = await collect(kafka, topics.dlqTopic, expected, 60_000);
  return records.map(({ message }) => {
    const h = decodeDeadLetterHeaders(message.headers ?? {});
    return `${h.originalPartition}@${h.originalOffset}`;
  });
}

/** Waits until the changelog shows at least `settled` orders aggregated or dead-lettered; returns the totals. */
export async function waitForSettled(
  changelog: StatsChangelog,
  ordersTopic: string,
  settled: bigint,
  timeoutMs = 240_000,
): Promise<Totals> {
  await waitUntil(
    `${settled} orders aggregated or dead-lettered`,
    async () => {
      // One slow catch-up (a busy broker, a coordinator still loading) is a reason to look again, not to fail.
      if (
        !(await changelog.catchUp(10_000).then(
          () => true,
          () => false,
        ))
      )
        return false;
      const t = totals(changelog.all(), ordersTopic);
      return t.orders + t.deadLettered >= settled;
    },
    timeoutMs,
    200,
  );
  return totals(changelog.all(), ordersTopic);
}
