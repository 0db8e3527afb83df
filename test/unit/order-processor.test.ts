import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  OrderProcessor,
  type Outcome,
  type ProcessingContext,
  type DeadLetterSink,
  type IncomingRecord,
  type OrderDecoder,
} from '../../src/consumer/order-processor.js';
import { decodeDeadLetterHeaders } from '../../src/domain/dead-letter.js';
import type { Order } from '../../src/domain/order.js';
import { TransientDownstreamError, WireFormatError } from '../../src/errors.js';

const order: Order = { orderId: '7', product: 'Laptop', priceCents: 1999n, createdAtMs: 1 };
const record: IncomingRecord = {
  topic: 'orders',
  partition: 1,
  offset: '5',
  timestamp: '1000',
  key: Buffer.from('7'),
  value: Buffer.from([0, 0, 0, 0, 1]),
};

function setup(options: { decoder?: OrderDecoder; failures?: number; maxRetries?: number } = {}) {
  const dead: Record<string, Buffer>[] = [];
  const deadLetters: DeadLetterSink = {
    publish: (_record, headers) => {
      dead.push(headers);
      return Promise.resolve();
    },
  };
  let calls = 0;
  const processor = new OrderProcessor({
    decoder: options.decoder ?? { decode: () => Promise.resolve(order) },
    downstream: () => {
      calls += 1;
      return calls <= (options.failures ?? 0)
        ? Promise.reject(new TransientDownstreamError('flaky'))
        : Promise.resolve();
    },
    policy: {
      maxRetries: options.maxRetries ?? 3,
      backoffMs: 1,
      strategy: 'fixed',
      maxBackoffMs: 1,
      jitter: 0,
    },
    groupId: 'g',
  });
  const ctx = { deadLetters };
  return { processor, dead, ctx, deadLetters, calls: () => calls };
}

/**
 * What a batch handler does with one record: hand it back to the processor after each
 * `retry-later` (the handlers pause the partition for the backoff in between).
 */
async function untilFinal(processor: OrderProcessor, ctx: ProcessingContext): Promise<Outcome> {
  let outcome = await processor.handle(record, ctx);
  while (outcome.kind === 'retry-later') {
    const soFar = { attempt: outcome.attempt + 1, startedAt: outcome.startedAt };
    outcome = await processor.handle(record, ctx, performance.now(), soFar);
  }
  return outcome;
}

describe('order processor', () => {
  it('when the downstream step always fails transiently, then it is tried 1 + MAX_RETRIES times and dead-lettered', async () => {
    const { processor, dead, ctx, calls } = setup({ failures: Infinity, maxRetries: 3 });
    const outcome = await untilFinal(processor, ctx);
    assert.equal(outcome.kind, 'dead-lettered');
    assert.equal(calls(), 4);
    assert.equal(decodeDeadLetterHeaders(dead[0]!).attempts, 4);
  });

  it('when the failure clears on the second attempt, then the order is processed and not dead-lettered', async () => {
    const { processor, dead, ctx, calls } = setup({ failures: 1 });
    const outcome = await untilFinal(processor, ctx);
    assert.ok(outcome.kind === 'processed');
    assert.equal(outcome.attempts, 2);
    assert.equal(calls(), 2);
    assert.equal(dead.length, 0);
  });

  it('when the bytes are not Confluent framed, then it is dead-lettered at once without retry', async () => {
    const { processor, dead, ctx, calls } = setup({
      decoder: { decode: () => Promise.reject(new WireFormatError('bad magic')) },
    });
    const outcome = await processor.handle(record, ctx);
    assert.ok(outcome.kind === 'dead-lettered');
    assert.equal(outcome.failure.code, 'KOS_WIRE_FORMAT');
    assert.equal(calls(), 0);
    assert.equal(decodeDeadLetterHeaders(dead[0]!).errorCode, 'KOS_WIRE_FORMAT');
  });

  it('when an attempt fails transiently, then the record comes back at once with its backoff, not dead-lettered', async () => {
    const { processor, dead, ctx } = setup({ failures: Infinity });
    const outcome = await processor.handle(record, ctx, 100);
    assert.ok(outcome.kind === 'retry-later');
    assert.equal(outcome.attempt, 1);
    assert.equal(outcome.delayMs, 1);
    assert.equal(outcome.startedAt, 100);
    assert.equal(dead.length, 0);
  });

  it('when a record comes back for a later attempt, then its duration counts from the first attempt', async () => {
    const { processor, ctx } = setup({ failures: 0 });
    const startedAt = performance.now() - 2000;
    const outcome = await processor.handle(record, ctx, performance.now(), { attempt: 3, startedAt });
    assert.ok(outcome.kind === 'processed');
    assert.equal(outcome.attempts, 3);
    assert.ok(outcome.durationSeconds >= 2, `duration ${outcome.durationSeconds} s covers the backoffs`);
  });

  describe('synchronous fast path', () => {
    const cachedDecoder: OrderDecoder = {
      decode: () => Promise.reject(new Error('decode() must not be called when the schema is cached')),
      decodeCached: () => order,
    };

    function syncSetup(downstream: () => undefined) {
      const processor = new OrderProcessor({
        decoder: cachedDecoder,
        downstream,
        policy: { maxRetries: 2, backoffMs: 1, strategy: 'fixed', maxBackoffMs: 1, jitter: 0 },
        groupId: 'g',
      });
      const dead: Record<string, Buffer>[] = [];
      const ctx = {
        deadLetters: {
          publish: (_r: IncomingRecord, headers: Record<string, Buffer>) => {
            dead.push(headers);
            return Promise.resolve();
          },
        },
      };
      return { processor, ctx, dead };
    }

    it('when the schema is cached and the downstream step needs no I/O, then the outcome comes back without a promise', () => {
      const { processor, ctx } = syncSetup(() => undefined);
      const outcome = processor.handle(record, ctx);
      assert.ok(!(outcome instanceof Promise), 'no promise for a good order');
      assert.ok(outcome.kind === 'processed');
      assert.equal(outcome.attempts, 1);
    });

    it('when a synchronous downstream step throws transiently, then it is retried with exact attempt counts and dead-lettered', async () => {
      let calls = 0;
      const { processor, ctx, dead } = syncSetup(() => {
        calls += 1;
        throw new TransientDownstreamError('flaky');
      });
      const outcome = await untilFinal(processor, ctx);
      assert.ok(outcome.kind === 'dead-lettered');
      assert.equal(outcome.attempts, 3);
      assert.equal(calls, 3, 'the first, synchronous attempt counts as attempt 1');
      assert.equal(decodeDeadLetterHeaders(dead[0]!).attempts, 3);
    });

    it('when the schema is not cached yet, then decode() fetches it and the order is processed', async () => {
      const processor = new OrderProcessor({
        decoder: { decode: () => Promise.resolve(order), decodeCached: () => undefined },
        downstream: () => undefined,
        policy: { maxRetries: 0, backoffMs: 1, strategy: 'fixed', maxBackoffMs: 1, jitter: 0 },
        groupId: 'g',
      });
      const handled = processor.handle(record, { deadLetters: { publish: () => Promise.resolve() } });
      assert.ok(handled instanceof Promise);
      assert.equal((await handled).kind, 'processed');
    });
  });
});
