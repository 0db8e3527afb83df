import type { Admin } from 'kafkajs';

export interface PartitionLag {
  readonly partition: number;
  /** Next offset the group will read; -1 when it has committed nothing. */
  readonly committed: bigint;
  readonly end: bigint;
  readonly lag: bigint;
}

/**
 * Committed offsets against end offsets, the same numbers as
 * `kafka-consumer-groups --describe`. Uses the read_committed end offset
 * (LSO), so transaction markers do not show as lag.
 */
export async function groupLag(admin: Admin, groupId: string, topic: string): Promise<PartitionLag[]> {
  const [committed, ends] = await Promise.all([
    admin.fetchOffsets({ groupId, topics: [topic] }),
    admin.fetchTopicOffsets(topic),
  ]);
  const committedByPartition = new Map(
    (committed[0]?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)] as const),
  );
  return ends
    .map(({ partition, high, low }) => {
      const end = BigInt(high);
      const start = BigInt(low);
      const next = committedByPartition.get(partition) ?? -1n;
      // Nothing committed yet: a new group starting from the beginning still has everything to read.
      const position = next < 0n ? start : next;
      return { partition, committed: next, end, lag: end > position ? end - position : 0n };
    })
    .sort((a, b) => a.partition - b.partition);
}

/** The group's committed offset (the next offset it will read) for one partition; -1 when none. */
export async function committedOffset(
  admin: Admin,
  groupId: string,
  topic: string,
  partition: number,
): Promise<bigint> {
  const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
  const offset = committed?.partitions.find((p) => p.partition === partition)?.offset;
  return offset === undefined ? -1n : BigInt(offset);
}

export const totalLag = (lags: readonly PartitionLag[]): bigint => lags.reduce((sum, p) => sum + p.lag, 0n);
