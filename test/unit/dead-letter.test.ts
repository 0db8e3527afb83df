import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createHash } from 'node:crypto';
import {
  buildDeadLetterHeaders,
  fitDeadLetter,
  MAX_MESSAGE_CHARS,
  RECORD_OVERHEAD_BYTES,
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

  describe('a dead letter that fits the DLQ topic', () => {
    const headers = buildDeadLetterHeaders(context);
    const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

    it('when the original fits, then key and value are its bytes, untouched, and no size headers are added', () => {
      const fitted = fitDeadLetter(Buffer.from('7'), Buffer.from([0, 1, 2]), headers, 1_048_588);
      assert.deepEqual(fitted.value, Buffer.from([0, 1, 2]));
      assert.equal(fitted.headers[DLQ_HEADERS.originalValueLength], undefined);
    });

    it('when the value is larger than the topic accepts, then it is cut to fit, with its full length and SHA-256', () => {
      const value = Buffer.alloc(5_000_000, 7);
      const fitted = fitDeadLetter(Buffer.from('7'), value, headers, 1_048_588);
      const size =
        (fitted.key?.length ?? 0) +
        (fitted.value?.length ?? 0) +
        Object.entries(fitted.headers).reduce((n, [k, v]) => n + k.length + v.length, 0);
      assert.ok(size + RECORD_OVERHEAD_BYTES <= 1_048_588, `${size} bytes`);
      assert.deepEqual(fitted.value, value.subarray(0, fitted.value?.length));
      const decoded = decodeDeadLetterHeaders(fitted.headers);
      assert.deepEqual(decoded.originalValue, { length: 5_000_000, sha256: sha(value) });
      assert.equal(decoded.originalKey, undefined);
      assert.equal(decoded.errorCode, 'KOS_ORDER_INVALID', 'the Spring and kos headers are all still there');
    });

    it('when the key alone is huge, then it is cut too, with its own length and SHA-256', () => {
      const key = Buffer.alloc(2_000_000, 1);
      const fitted = fitDeadLetter(key, Buffer.alloc(10), headers, 100_000);
      assert.ok((fitted.key?.length ?? 0) <= 25_000);
      assert.deepEqual(decodeDeadLetterHeaders(fitted.headers).originalKey, {
        length: 2_000_000,
        sha256: sha(key),
      });
    });

    it('when only the key is too large, then only the key is cut and described', () => {
      const fitted = fitDeadLetter(Buffer.alloc(2_000_000, 1), Buffer.from('v'), headers, 1_048_588);
      const decoded = decodeDeadLetterHeaders(fitted.headers);
      assert.equal(decoded.originalValue, undefined);
      assert.equal(decoded.originalKey?.length, 2_000_000);
      assert.deepEqual(fitted.value, Buffer.from('v'));
    });

    it('when the topic takes only 4 kB, then the stack and the message give way and the record still fits', () => {
      const long = {
        ...context,
        error: { ...context.error, message: 'é'.repeat(1000), stack: 'ü'.repeat(2000) },
      };
      const fitted = fitDeadLetter(
        Buffer.from('7'),
        Buffer.alloc(10_000),
        buildDeadLetterHeaders(long),
        4096,
      );
      const size =
        RECORD_OVERHEAD_BYTES +
        (fitted.key?.length ?? 0) +
        (fitted.value?.length ?? 0) +
        Object.entries(fitted.headers).reduce((n, [k, v]) => n + k.length + v.length, 0);
      assert.ok(size <= 4096, `${size} bytes`);
      assert.equal(decodeDeadLetterHeaders(fitted.headers).errorCode, 'KOS_ORDER_INVALID');
    });

    it('when the exception message is huge, then the header carries a bounded one', () => {
      const huge = { ...context, error: { ...context.error, message: 'm'.repeat(100_000) } };
      const message = buildDeadLetterHeaders(huge)[DLQ_HEADERS.exceptionMessage]?.toString() ?? '';
      assert.ok(message.length <= MAX_MESSAGE_CHARS, `${message.length} chars`);
    });
  });
});
