import type { ErrorClassification } from '../errors.js';

/**
 * Header names and encodings follow Spring Kafka's DeadLetterPublishingRecoverer
 * (KafkaHeaders.DLT_*): ints and longs as big-endian binary, the rest UTF-8.
 * Reusing them lets tools built for Spring's dead-letter topics read ours.
 * Our own additions carry the `kos-` prefix.
 */
export const DLQ_HEADERS = {
  originalTopic: 'kafka_dlt-original-topic',
  originalPartition: 'kafka_dlt-original-partition',
  originalOffset: 'kafka_dlt-original-offset',
  originalTimestamp: 'kafka_dlt-original-timestamp',
  originalTimestampType: 'kafka_dlt-original-timestamp-type',
  originalConsumerGroup: 'kafka_dlt-original-consumer-group',
  exceptionFqcn: 'kafka_dlt-exception-fqcn',
  exceptionMessage: 'kafka_dlt-exception-message',
  exceptionStacktrace: 'kafka_dlt-exception-stacktrace',
  deliveryAttempt: 'kafka_deliveryAttempt',
  errorCode: 'kos-error-code',
  failedAt: 'kos-failed-at',
} as const;

/** Long enough to show where it failed, short enough to keep DLQ records small. */
export const MAX_STACK_CHARS = 2000;

export interface DeadLetterSource {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  /** Record timestamp in ms since the epoch, as kafkajs gives it (a string). */
  readonly timestamp: string;
}

export interface DeadLetterContext {
  readonly source: DeadLetterSource;
  readonly error: ErrorClassification;
  readonly attempts: number;
  readonly failedAt: Date;
  readonly consumerGroup: string;
}

function int32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(value);
  return b;
}

function int64(value: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(value);
  return b;
}

export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 15)}\n...[truncated]`;
}

export function buildDeadLetterHeaders(ctx: DeadLetterContext): Record<string, Buffer> {
  const { source, error } = ctx;
  return {
    [DLQ_HEADERS.originalTopic]: Buffer.from(source.topic),
    [DLQ_HEADERS.originalPartition]: int32(source.partition),
    [DLQ_HEADERS.originalOffset]: int64(BigInt(source.offset)),
    [DLQ_HEADERS.originalTimestamp]: int64(BigInt(source.timestamp)),
    [DLQ_HEADERS.originalTimestampType]: Buffer.from('CreateTime'),
    [DLQ_HEADERS.originalConsumerGroup]: Buffer.from(ctx.consumerGroup),
    [DLQ_HEADERS.exceptionFqcn]: Buffer.from(error.errorClass),
    [DLQ_HEADERS.exceptionMessage]: Buffer.from(error.message),
    [DLQ_HEADERS.exceptionStacktrace]: Buffer.from(truncate(error.stack, MAX_STACK_CHARS)),
    [DLQ_HEADERS.deliveryAttempt]: int32(ctx.attempts),
    [DLQ_HEADERS.errorCode]: Buffer.from(error.code),
    [DLQ_HEADERS.failedAt]: Buffer.from(ctx.failedAt.toISOString()),
  };
}

export interface DecodedDeadLetterHeaders {
  readonly originalTopic: string;
  readonly originalPartition: number;
  readonly originalOffset: string;
  readonly originalTimestamp: string;
  readonly consumerGroup: string;
  readonly errorClass: string;
  readonly errorMessage: string;
  readonly stacktrace: string;
  readonly attempts: number;
  readonly errorCode: string;
  readonly failedAt: string;
}

/** The inverse of buildDeadLetterHeaders, for the DLQ reader and the tests. */
export function decodeDeadLetterHeaders(
  headers: Readonly<Record<string, Buffer | string | undefined | (Buffer | string)[]>>,
): DecodedDeadLetterHeaders {
  const raw = (name: string): Buffer => {
    const value = headers[name];
    const first = Array.isArray(value) ? value[0] : value;
    if (first === undefined) throw new Error(`dead-letter header ${name} is missing`);
    return Buffer.isBuffer(first) ? first : Buffer.from(first);
  };
  const text = (name: string) => raw(name).toString('utf8');
  return {
    originalTopic: text(DLQ_HEADERS.originalTopic),
    originalPartition: raw(DLQ_HEADERS.originalPartition).readInt32BE(),
    originalOffset: raw(DLQ_HEADERS.originalOffset).readBigInt64BE().toString(),
    originalTimestamp: raw(DLQ_HEADERS.originalTimestamp).readBigInt64BE().toString(),
    consumerGroup: text(DLQ_HEADERS.originalConsumerGroup),
    errorClass: text(DLQ_HEADERS.exceptionFqcn),
    errorMessage: text(DLQ_HEADERS.exceptionMessage),
    stacktrace: text(DLQ_HEADERS.exceptionStacktrace),
    attempts: raw(DLQ_HEADERS.deliveryAttempt).readInt32BE(),
    errorCode: text(DLQ_HEADERS.errorCode),
    failedAt: text(DLQ_HEADERS.failedAt),
  };
}
