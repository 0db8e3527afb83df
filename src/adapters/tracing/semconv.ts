/**
 * The attribute names of OpenTelemetry's messaging semantic conventions (and error.type) that our spans
 * use. The messaging conventions are still incubating, and OpenTelemetry advises copying incubating
 * names rather than depending on the incubating entry point of @opentelemetry/semantic-conventions.
 */
export const ATTR = {
  messagingSystem: 'messaging.system',
  operationType: 'messaging.operation.type',
  operationName: 'messaging.operation.name',
  destinationName: 'messaging.destination.name',
  partitionId: 'messaging.destination.partition.id',
  consumerGroup: 'messaging.consumer.group.name',
  batchMessageCount: 'messaging.batch.message_count',
  kafkaOffset: 'messaging.kafka.offset',
  kafkaMessageKey: 'messaging.kafka.message.key',
  errorType: 'error.type',
  serviceName: 'service.name',
  // Ours, under our own prefix.
  attempt: 'kos.attempt',
  outcome: 'kos.outcome',
  firstOffset: 'kos.offset.first',
  lastOffset: 'kos.offset.last',
  redriveCount: 'kos.redrive.count',
  rolledBack: 'kos.rolled_back',
} as const;

/** `messaging.system` of every span: the Kafka well-known value. */
export const KAFKA = 'kafka';
