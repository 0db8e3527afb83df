/**
 * The single list of topics the application uses. The local stack script,
 * the compose topic-init service and the Helm chart's KafkaTopic resources
 * are all generated from, or checked against, this list.
 */
export interface TopicDefinition {
  /** Key into the config (so env overrides like ORDERS_TOPIC apply). */
  readonly role: 'orders' | 'dlq' | 'stats' | 'redrive';
  readonly defaultName: string;
  readonly partitions: number;
  readonly config: Readonly<Record<string, string>>;
  readonly description: string;
}

export const TOPICS: readonly TopicDefinition[] = [
  {
    role: 'orders',
    defaultName: 'orders',
    partitions: 3,
    config: { 'cleanup.policy': 'delete', 'retention.ms': String(7 * 24 * 3600 * 1000) },
    description: 'Avro-encoded orders, keyed by orderId.',
  },
  {
    role: 'dlq',
    defaultName: 'orders-dlq',
    partitions: 1,
    // Dead letters are kept longer than orders so there is time to inspect and replay them. Twice the
    // broker's default record size: a dead letter of a whole batch that could not be read (up to the
    // orders topic's limit, 1 MB by default) fits with its headers, uncut.
    config: {
      'cleanup.policy': 'delete',
      'retention.ms': String(30 * 24 * 3600 * 1000),
      'max.message.bytes': String(2 * 1_048_588),
    },
    description: 'Dead-lettered orders: original key and value bytes plus diagnostic headers.',
  },
  {
    role: 'stats',
    defaultName: 'order-stats',
    // One partition holds every aggregate: it stays tiny (one live record per orders partition) and
    // restoring or reading the cluster-wide view is a single-partition read.
    partitions: 1,
    // Compaction keeps the latest aggregate per key forever; min.compaction.lag keeps fresh writes readable.
    config: {
      'cleanup.policy': 'compact',
      'min.compaction.lag.ms': '60000',
      'segment.ms': String(3600 * 1000),
    },
    description:
      'Changelog of the exact per-partition aggregates (key: <orders topic>-<partition>), written in the same transaction as the offsets.',
  },
  {
    role: 'redrive',
    defaultName: 'orders-dlq-redrive',
    // Read whole by every replay, before it sends anything: one partition keeps that a single read.
    partitions: 1,
    // One record per dead letter ever replayed, kept as long as the topic: a replay must never forget
    // one it sent, or a second replay would send it again.
    config: { 'cleanup.policy': 'compact', 'min.compaction.lag.ms': '60000' },
    description:
      'Redrive ledger: one record per dead letter `npm run dlq -- replay` sent back (key: <DLQ partition>/<offset>), written in the same transaction as the replayed records.',
  },
];

/** The redrive ledger's name when DLQ_REDRIVE_TOPIC does not give one: next to its DLQ. */
export const redriveTopicFor = (dlqTopic: string): string => `${dlqTopic}-redrive`;

export interface ResolvedTopic extends TopicDefinition {
  readonly name: string;
}

/**
 * The topic list with env overrides (ORDERS_TOPIC, DLQ_TOPIC, STATS_TOPIC, DLQ_REDRIVE_TOPIC) applied;
 * without a ledger name, the ledger is named after the DLQ.
 */
export function resolveTopics(names: {
  ordersTopic: string;
  dlqTopic: string;
  statsTopic: string;
  dlqRedriveTopic?: string | undefined;
}): ResolvedTopic[] {
  const nameFor = {
    orders: names.ordersTopic,
    dlq: names.dlqTopic,
    stats: names.statsTopic,
    redrive: names.dlqRedriveTopic ?? redriveTopicFor(names.dlqTopic),
  } as const;
  return TOPICS.map((t) => ({ ...t, name: nameFor[t.role] }));
}
