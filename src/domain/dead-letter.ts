import { createHash } from 'node:crypto';
import { boundMessage, type ErrorClassification } from '../errors.js';
import {
  headerBytes,
  redriveHeaders,
  redriveHistoryOf,
  type RecordHeaders,
  type RedriveHistory,
} from './redrive.js';
import { carriedTraceHeaders, TRACE_HEADERS } from './trace-headers.js';

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
  /** Set only when the original value (or key) was cut to fit the DLQ: its full length and SHA-256. */
  originalValueLength: 'kos-original-value-length',
  originalValueSha256: 'kos-original-value-sha256',
  originalKeyLength: 'kos-original-key-length',
  originalKeySha256: 'kos-original-key-sha256',
} as const;

/** Long enough to show where it failed, short enough to keep DLQ records small. */
export const MAX_STACK_CHARS = 2000;

/** The exception message header's bound, in characters. */
export const MAX_MESSAGE_CHARS = 1000;

/**
 * What a record costs the broker beyond its key, value and header bytes: the record batch header
 * (61 bytes) and the varints of the record and of each header, with room to spare.
 */
export const RECORD_OVERHEAD_BYTES = 512;

export interface DeadLetterSource {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  /** Record timestamp in ms since the epoch, as kafkajs gives it (a string). */
  readonly timestamp: string;
  /**
   * The record's own headers. Of them, only a redriven order's history (redrive.ts), so the next replay
   * counts one more, and its trace context (trace-headers.ts) go on to its dead letter.
   */
  readonly headers?: RecordHeaders | undefined;
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
  const history = redriveHistoryOf(source.headers);
  return {
    [DLQ_HEADERS.originalTopic]: Buffer.from(source.topic),
    [DLQ_HEADERS.originalPartition]: int32(source.partition),
    [DLQ_HEADERS.originalOffset]: int64(BigInt(source.offset)),
    [DLQ_HEADERS.originalTimestamp]: int64(BigInt(source.timestamp)),
    [DLQ_HEADERS.originalTimestampType]: Buffer.from('CreateTime'),
    [DLQ_HEADERS.originalConsumerGroup]: Buffer.from(ctx.consumerGroup),
    [DLQ_HEADERS.exceptionFqcn]: Buffer.from(error.errorClass),
    [DLQ_HEADERS.exceptionMessage]: Buffer.from(boundMessage(error.message, MAX_MESSAGE_CHARS)),
    [DLQ_HEADERS.exceptionStacktrace]: Buffer.from(truncate(error.stack, MAX_STACK_CHARS)),
    [DLQ_HEADERS.deliveryAttempt]: int32(ctx.attempts),
    [DLQ_HEADERS.errorCode]: Buffer.from(error.code),
    [DLQ_HEADERS.failedAt]: Buffer.from(ctx.failedAt.toISOString()),
    ...(history ? redriveHeaders(history) : {}),
    // The order's trace goes on with its dead letter (traceparent, tracestate).
    ...carriedTraceHeaders(source.headers),
  };
}

/** A dead letter as it goes to the DLQ topic. */
export interface DeadLetterRecord {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Record<string, Buffer>;
}

/**
 * A dead letter that fits a topic whose records may be at most `maxRecordBytes` (its
 * max.message.bytes), however large the original. The key and value stay the original bytes when
 * they fit, so a dead letter can be replayed as it was; otherwise the value (then the key) is cut
 * to what fits, and headers give the original's full length and SHA-256, so the record can be
 * found and checked against its source. The bound is on uncompressed bytes: compression can only
 * make the record smaller.
 */
export function fitDeadLetter(
  key: Buffer | null,
  value: Buffer | null,
  headers: Record<string, Buffer>,
  maxRecordBytes: number,
): DeadLetterRecord {
  const headersSize = (h: Record<string, Buffer>) =>
    Object.entries(h).reduce((n, [name, v]) => n + Buffer.byteLength(name) + v.length, 0);
  const size = (k: Buffer | null, v: Buffer | null, h: Record<string, Buffer>) =>
    RECORD_OVERHEAD_BYTES + (k?.length ?? 0) + (v?.length ?? 0) + headersSize(h);
  if (size(key, value, headers) <= maxRecordBytes) return { key, value, headers };

  const cut: Record<string, Buffer> = { ...headers };
  const describe = (buf: Buffer, lengthHeader: string, shaHeader: string) => {
    cut[lengthHeader] = Buffer.from(String(buf.length));
    cut[shaHeader] = Buffer.from(createHash('sha256').update(buf).digest('hex'));
  };
  // A key that alone takes more than a quarter is cut too: a hostile writer's keys can be as large as values.
  let fittedKey = key;
  const keyRoom = Math.floor(maxRecordBytes / 4);
  if (key && key.length > keyRoom) {
    describe(key, DLQ_HEADERS.originalKeyLength, DLQ_HEADERS.originalKeySha256);
    fittedKey = key.subarray(0, keyRoom);
  }
  if (value && size(fittedKey, value, cut) > maxRecordBytes) {
    describe(value, DLQ_HEADERS.originalValueLength, DLQ_HEADERS.originalValueSha256);
  }
  // On a topic of very small records, the stack and the message give way before the value does.
  for (const [header, keep] of [
    [DLQ_HEADERS.exceptionStacktrace, 0],
    [DLQ_HEADERS.exceptionMessage, 200],
  ] as const) {
    const text = cut[header];
    if (text && size(fittedKey, null, cut) > maxRecordBytes) cut[header] = text.subarray(0, keep);
  }
  const room = maxRecordBytes - size(fittedKey, null, cut);
  const fittedValue = value ? value.subarray(0, Math.max(0, room)) : null;
  return { key: fittedKey, value: fittedValue, headers: cut };
}

/** When a dead letter's value or key was cut to fit, what the original was. */
export interface TruncatedOriginal {
  readonly length: number;
  readonly sha256: string;
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
  /** Present when the dead letter's value was cut to fit the DLQ. */
  readonly originalValue?: TruncatedOriginal;
  /** Present when the dead letter's key was cut to fit the DLQ. */
  readonly originalKey?: TruncatedOriginal;
  /** Present when the failed record was itself a redriven dead letter. */
  readonly redrive?: RedriveHistory;
  /** The order's trace (W3C `traceparent`), to look it up in a tracing backend; present when it has one. */
  readonly traceparent?: string;
}

/** The inverse of buildDeadLetterHeaders, for the DLQ reader and the tests. */
export function decodeDeadLetterHeaders(headers: RecordHeaders): DecodedDeadLetterHeaders {
  const raw = (name: string): Buffer => {
    const value = headerBytes(headers, name);
    if (value === undefined) throw new Error(`dead-letter header ${name} is missing`);
    return value;
  };
  const text = (name: string) => raw(name).toString('utf8');
  const original = (lengthHeader: string, shaHeader: string): TruncatedOriginal | undefined =>
    headers[lengthHeader] === undefined
      ? undefined
      : { length: Number(text(lengthHeader)), sha256: text(shaHeader) };
  const originalValue = original(DLQ_HEADERS.originalValueLength, DLQ_HEADERS.originalValueSha256);
  const originalKey = original(DLQ_HEADERS.originalKeyLength, DLQ_HEADERS.originalKeySha256);
  const redrive = redriveHistoryOf(headers);
  const traceparent = carriedTraceHeaders(headers)[TRACE_HEADERS.parent]?.toString('latin1');
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
    ...(originalValue ? { originalValue } : {}),
    ...(originalKey ? { originalKey } : {}),
    ...(redrive ? { redrive } : {}),
    ...(traceparent === undefined ? {} : { traceparent }),
  };
}
