/**
 * The single list of topics the application uses. The local stack script,
 * the compose topic-init service and the Helm chart's KafkaTopic resources
 * are all generated from, or checked against, this list.
 */
export interface TopicDefinition {
  /** Key into the config (so env overrides like ORDERS_TOPIC apply). */
  readonly role: 'orders' | 'dlq';
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
    // Dead letters are kept longer than orders so there is time to inspect and replay them.
    config: { 'cleanup.policy': 'delete', 'retention.ms': String(30 * 24 * 3600 * 1000) },
    description: 'Dead-lettered orders: original key and value bytes plus diagnostic headers.',
  },
];

export interface ResolvedTopic extends TopicDefinition {
  readonly name: string;
}

/** The topic list with env overrides (ORDERS_TOPIC, DLQ_TOPIC) applied. */
export function resolveTopics(names: { ordersTopic: string; dlqTopic: string }): ResolvedTopic[] {
  const nameFor = { orders: names.ordersTopic, dlq: names.dlqTopic } as const;
  return TOPICS.map((t) => ({ ...t, name: nameFor[t.role] }));
}
