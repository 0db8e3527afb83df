import type { Admin } from 'kafkajs';
import type { ResolvedTopic } from '../../topics.js';

export interface TopicOutcome {
  readonly name: string;
  readonly action: 'created' | 'exists';
  readonly partitions: number;
  readonly expectedPartitions: number;
}

export interface EnsureTopicsOptions {
  /** -1 lets the broker choose (its default.replication.factor). */
  readonly replicationFactor?: number;
  readonly timeoutMs?: number;
}

/**
 * Creates the topics that are missing and leaves existing ones alone. It never
 * changes the partition count of an existing topic: that would move keys to
 * other partitions and break per-order ordering, so a mismatch is reported to
 * the caller instead.
 */
export async function ensureTopics(
  admin: Admin,
  topics: readonly ResolvedTopic[],
  options: EnsureTopicsOptions = {},
): Promise<TopicOutcome[]> {
  const created = new Set<string>();
  // A concurrent creator (another test run, the compose topic-init) can win the race for some of
  // the topics; kafkajs then fails the whole call, so look again and create what is still missing.
  for (let attempt = 1; ; attempt++) {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t.name));
    if (missing.length === 0) break;
    try {
      const createdNow = await admin.createTopics({
        waitForLeaders: true,
        timeout: options.timeoutMs ?? 30_000,
        topics: missing.map((t) => ({
          topic: t.name,
          numPartitions: t.partitions,
          replicationFactor: options.replicationFactor ?? -1,
          configEntries: Object.entries(t.config).map(([name, value]) => ({ name, value })),
        })),
      });
      // false: every one of them already existed by the time the broker saw the request.
      if (createdNow) for (const t of missing) created.add(t.name);
      break;
    } catch (error) {
      if (attempt >= 3) throw error;
    }
  }
  const metadata = await admin.fetchTopicMetadata({ topics: topics.map((t) => t.name) });
  const partitionsOf = new Map(metadata.topics.map((t) => [t.name, t.partitions.length]));
  return topics.map((t) => ({
    name: t.name,
    action: created.has(t.name) ? 'created' : 'exists',
    partitions: partitionsOf.get(t.name) ?? 0,
    expectedPartitions: t.partitions,
  }));
}

/** One line per topic for a terminal, flagging a partition count that differs from src/topics.ts. */
export function describeTopicOutcomes(outcomes: readonly TopicOutcome[]): string[] {
  return outcomes.map((o) => {
    const mismatch =
      o.partitions === o.expectedPartitions
        ? ''
        : ` (expected ${o.expectedPartitions}; existing topics are never re-partitioned, recreate it to change)`;
    return `${o.name}: ${o.action}, ${o.partitions} partition${o.partitions === 1 ? '' : 's'}${mismatch}`;
  });
}
