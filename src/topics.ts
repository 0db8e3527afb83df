/**
 * The single list of topics the application uses. The local stack script,
 * the compose topic-init service and the Helm chart's KafkaTopic resources
 * are all generated from, or checked against, this list.
 */
export interface TopicDefinition {
  /** Key into the config (so env overrides like ORDERS_TOPIC apply). */
  readonly role: 'orders' | 'dlq' | 'stats';
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
];

export interface ResolvedTopic extends TopicDefinition {
  readonly name: string;
}

/** The topic list with env overrides (ORDERS_TOPIC, DLQ_TOPIC, STATS_TOPIC) applied. */
export function resolveTopics(names: {
  ordersTopic: string;
  dlqTopic: string;
  statsTopic: string;
}): ResolvedTopic[] {
  const nameFor = { orders: names.ordersTopic, dlq: names.dlqTopic, stats: names.statsTopic } as const;
  return TOPICS.map((t) => ({ ...t, name: nameFor[t.role] }));
}
