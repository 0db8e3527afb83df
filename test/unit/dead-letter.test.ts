import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  buildDeadLetterHeaders,
  decodeDeadLetterHeaders,
  DLQ_HEADERS,
  MAX_STACK_CHARS,
} from '../../src/domain/dead-letter.js';
import { classifyError, InvalidOrderError } from '../../src/errors.js';

const error = new InvalidOrderError('invalid order "7": price must be above zero');
const context = {
  source: { topic: 'orders', partition: 2, offset: '41', timestamp: '1700000000123' },
  error: classifyError(error),
  attempts: 1,
  failedAt: new Date('2026-01-02T03:04:05.000Z'),
  consumerGroup: 'order-consumer-group',
};

describe('dead-letter headers', () => {
  it('when a record is dead-lettered, then Spring Kafka header names carry Spring encodings', () => {
    const headers = buildDeadLetterHeaders(context);
    assert.equal(headers[DLQ_HEADERS.originalTopic]?.toString(), 'orders');
    assert.equal(headers[DLQ_HEADERS.originalPartition]?.readInt32BE(), 2);
    assert.equal(headers[DLQ_HEADERS.originalPartition]?.length, 4);
    assert.equal(headers[DLQ_HEADERS.originalOffset]?.readBigInt64BE(), 41n);
    assert.equal(headers[DLQ_HEADERS.originalTimestamp]?.readBigInt64BE(), 1700000000123n);
    assert.equal(headers[DLQ_HEADERS.originalTimestampType]?.toString(), 'CreateTime');
    assert.equal(headers[DLQ_HEADERS.exceptionFqcn]?.toString(), 'InvalidOrderError');
    assert.equal(headers[DLQ_HEADERS.originalConsumerGroup]?.toString(), 'order-consumer-group');
    assert.equal(headers[DLQ_HEADERS.deliveryAttempt]?.readInt32BE(), 1);
  });

  it('when headers are decoded, then every field round-trips', () => {
    const decoded = decodeDeadLetterHeaders(buildDeadLetterHeaders(context));
    assert.deepEqual(
      { ...decoded, stacktrace: decoded.stacktrace.split('\n')[0] },
      {
        originalTopic: 'orders',
        originalPartition: 2,
        originalOffset: '41',
        originalTimestamp: '1700000000123',
        consumerGroup: 'order-consumer-group',
        errorClass: 'InvalidOrderError',
        errorMessage: 'invalid order "7": price must be above zero',
        stacktrace: 'InvalidOrderError: invalid order "7": price must be above zero',
        attempts: 1,
        errorCode: 'KOS_ORDER_INVALID',
        failedAt: '2026-01-02T03:04:05.000Z',
      },
    );
  });

  it('when the stack is huge, then it is truncated to keep the record small', () => {
    const huge = { ...context, error: { ...context.error, stack: 'x'.repeat(50_000) } };
    const stack = buildDeadLetterHeaders(huge)[DLQ_HEADERS.exceptionStacktrace]?.toString() ?? '';
    assert.ok(stack.length <= MAX_STACK_CHARS);
    assert.match(stack, /\[truncated\]$/);
  });

  it('when a header is missing, then decoding says which one', () => {
    assert.throws(() => decodeDeadLetterHeaders({}), /kafka_dlt-original-topic is missing/);
  });
});
