import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OrderProcessor } from '../../src/consumer/order-processor.js';
import { nextAttempt } from '../../src/consumer/outcomes.js';
import type { Outcome, ProcessingContext, DeadLetterSink, OrderDecoder } from '../../src/ports/processing.js';
import type { IncomingRecord } from '../../src/ports/records.js';
import { decodeDeadLetterHeaders } from '../../src/domain/dead-letter.js';
import { MAX_PRICE_CENTS, type Order } from '../../src/domain/order.js';
import { MAX_RUN_ORDERS } from '../../src/consumer/order-run.js';
import {
  BrokerUnavailableError,
  PermanentDownstreamError,
  RegistryUnavailableError,
  TransientDownstreamError,
  WireFormatError,
} from '../../src/errors.js';

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
      waitBackoffMs: 1,
      waitMaxBackoffMs: 1,
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

  it('when the downstream step hangs, then it fails transiently once it outlasts its budget, and is retried', async () => {
    const processor = new OrderProcessor({
      decoder: { decode: () => Promise.resolve(order) },
      downstream: () => new Promise<void>(() => undefined),
      stepTimeoutMs: 50,
      policy: {
        maxRetries: 1,
        backoffMs: 1,
        strategy: 'fixed',
        maxBackoffMs: 1,
        jitter: 0,
        waitBackoffMs: 1,
        waitMaxBackoffMs: 1,
      },
      groupId: 'g',
    });
    const started = performance.now();
    const outcome = await processor.handle(record, { deadLetters: { publish: () => Promise.resolve() } });
    assert.ok(outcome.kind === 'retry-later', outcome.kind);
    assert.equal(outcome.failure.code, 'KOS_DOWNSTREAM_TRANSIENT');
    assert.match(outcome.failure.message, /longer than 50 ms/);
    assert.ok(performance.now() - started < 1000);
  });

  describe('a dependency that is down (the registry, the DLQ)', () => {
    const registryDown: OrderDecoder = {
      decode: () => Promise.reject(new RegistryUnavailableError('could not fetch schema id 9: timeout')),
    };

    it('when the registry is down, then the record waits, uses no attempt and is never dead-lettered, however long', async () => {
      const { processor, dead, ctx } = setup({ decoder: registryDown, maxRetries: 1 });
      let soFar = { attempt: 1, startedAt: 0, waits: 0 };
      for (let i = 1; i <= 20; i += 1) {
        const outcome = await processor.handle(record, ctx, performance.now(), soFar);
        assert.ok(outcome.kind === 'waiting', outcome.kind);
        assert.equal(outcome.dependency, 'registry');
        assert.equal(outcome.failure.code, 'KOS_REGISTRY_UNAVAILABLE');
        assert.equal(outcome.attempt, 1, 'the attempt is not used up');
        assert.equal(outcome.waits, i);
        soFar = nextAttempt(outcome) as typeof soFar;
      }
      assert.equal(dead.length, 0);
    });

    it('when the registry is back, then the waiting order is processed as its first attempt', async () => {
      let down = true;
      const { processor, ctx } = setup({
        decoder: { decode: () => (down ? registryDown.decode(null) : Promise.resolve(order)) },
      });
      const waiting = await processor.handle(record, ctx);
      assert.ok(waiting.kind === 'waiting');
      down = false;
      const outcome = await processor.handle(record, ctx, performance.now(), nextAttempt(waiting));
      assert.ok(outcome.kind === 'processed');
      assert.equal(outcome.attempts, 1);
    });

    it('when a dead letter cannot be written, then the record waits for the DLQ instead of being skipped or crashing', async () => {
      const failing: DeadLetterSink = { publish: () => Promise.reject(new Error('MESSAGE_TOO_LARGE')) };
      const { processor } = setup({
        decoder: { decode: () => Promise.reject(new WireFormatError('bad magic')) },
      });
      const outcome = await processor.handle(record, { deadLetters: failing });
      assert.ok(outcome.kind === 'waiting', outcome.kind);
      assert.equal(outcome.dependency, 'dlq');
      assert.equal(outcome.failure.code, 'KOS_DLQ_UNWRITABLE');
      assert.match(outcome.failure.message, /MESSAGE_TOO_LARGE/);
      assert.equal(nextAttempt(outcome).attempt, 1, 'it comes back to be dead-lettered again');
    });

    it('when the last retry fails and its dead letter cannot be written, then it keeps its attempt count and waits', async () => {
      const failing: DeadLetterSink = {
        publish: () => Promise.reject(new BrokerUnavailableError('no answer within 3000 ms')),
      };
      const { processor } = setup({ failures: Infinity, maxRetries: 2 });
      const outcome = await processor.handle(record, { deadLetters: failing }, 0, {
        attempt: 3,
        startedAt: 0,
      });
      assert.ok(outcome.kind === 'waiting');
      assert.equal(outcome.dependency, 'broker');
      assert.equal(nextAttempt(outcome).attempt, 3);
    });
  });

  describe('synchronous fast path', () => {
    const cachedDecoder: OrderDecoder = {
      decode: () => Promise.reject(new Error('decode() must not be called when the schema is cached')),
      decodeCached: () => order,
    };

    function syncSetup(downstream?: () => undefined) {
      const processor = new OrderProcessor({
        decoder: cachedDecoder,
        downstream,
        policy: {
          maxRetries: 2,
          backoffMs: 1,
          strategy: 'fixed',
          maxBackoffMs: 1,
          jitter: 0,
          waitBackoffMs: 1,
          waitMaxBackoffMs: 1,
        },
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
      const { processor } = syncSetup(() => undefined);
      const outcome = processor.tryHandleWithoutIO(record);
      assert.ok(outcome !== undefined, 'no promise for a good order');
      assert.ok(outcome.kind === 'processed');
      assert.equal(outcome.attempts, 1);
    });

    it('when the attempt needs more than it can do without I/O, then handle() goes on with it, and the step runs once', async () => {
      let calls = 0;
      const { processor, ctx, dead } = syncSetup(() => {
        calls += 1;
        throw new PermanentDownstreamError('refused');
      });
      assert.equal(processor.tryHandleWithoutIO(record), undefined, 'its dead letter is I/O');
      const outcome = await processor.handle(record, ctx);
      assert.ok(outcome.kind === 'dead-lettered');
      assert.equal(calls, 1, 'the step is not run again');
      assert.equal(dead.length, 1);
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
        policy: {
          maxRetries: 0,
          backoffMs: 1,
          strategy: 'fixed',
          maxBackoffMs: 1,
          jitter: 0,
          waitBackoffMs: 1,
          waitMaxBackoffMs: 1,
        },
        groupId: 'g',
      });
      const ctx = { deadLetters: { publish: () => Promise.resolve() } };
      // The writer schema is not at hand: the order cannot be settled without I/O, and handle() fetches it.
      assert.equal(processor.tryHandleWithoutIO(record), undefined);
      assert.equal((await processor.handle(record, ctx)).kind, 'processed');
    });
  });
});

describe('runs of good orders (takeRun)', () => {
  /** A decoder that reads [1, price, seconds] as a good order (createdAt = seconds * 1000) and nothing else. */
  const decoder: OrderDecoder = {
    decode: () => Promise.reject(new Error('not used')),
    decodeCached: (value) => ({ ...order, orderId: `id-${value?.[1] ?? '?'}` }),
    readGoodOrder: (value, into) => {
      if (value?.[0] !== 1) return false;
      into.priceCents = value[1] ?? 0;
      into.createdAtMs = (value[2] ?? 0) * 1000;
      return true;
    },
  };
  const policy = {
    maxRetries: 0,
    backoffMs: 1,
    strategy: 'fixed',
    maxBackoffMs: 1,
    jitter: 0,
    waitBackoffMs: 1,
    waitMaxBackoffMs: 1,
  } as const;
  const good = (price: number, seconds: number) => Buffer.from([1, price, seconds]);
  const records = (values: (Buffer | null)[]) =>
    values.map((value, i) => ({ offset: String(100 + i), timestamp: '5000', key: null, value }));

  it('when good orders come first, then they are taken as one run up to the first other record, with exact totals', () => {
    const processor = new OrderProcessor({ decoder, policy, groupId: 'g' });
    assert.ok(processor.takesRuns);
    const batch = records([good(30, 1), good(10, 0), good(20, 3), Buffer.from([0]), good(99, 1)]);
    const run = processor.takeRun(batch, 0, batch.length, performance.now());
    assert.ok(run);
    assert.equal(run.count, 3);
    assert.equal(run.sumCents, 60);
    assert.equal(run.minCents, 10);
    assert.equal(run.maxCents, 30);
    assert.equal(run.lastOffset, '102');
    assert.equal(run.lastIndex, 2);
    assert.ok(run.finishedAt >= run.startedAt);
    // The order without a createdAt (0) is timed from its record's timestamp, 5000 ms.
    assert.deepEqual([...run.endToEndSeconds(10_000)], [9, 5, 7]);
    assert.equal(processor.takeRun(batch, 3, batch.length, 0), undefined, 'record 3 is for handle()');
    assert.equal(processor.takeRun(batch, 4, batch.length, 0)?.count, 1);
    assert.equal(processor.orderIdOf(batch[2]?.value ?? null), 'id-20');
  });

  it('when a checkpoint or the run limit comes first, then the run ends there', () => {
    const processor = new OrderProcessor({ decoder, policy, groupId: 'g' });
    const batch = records(Array.from({ length: MAX_RUN_ORDERS + 10 }, () => good(255, 1)));
    assert.equal(processor.takeRun(batch, 2, 5, 0)?.count, 3);
    const longest = processor.takeRun(batch, 0, batch.length, 0);
    assert.ok(longest);
    assert.equal(longest.count, MAX_RUN_ORDERS);
    // Still exact: MAX_RUN_ORDERS of the largest price stay below 2^53.
    assert.equal(longest.sumCents, 255 * MAX_RUN_ORDERS);
    assert.ok(MAX_RUN_ORDERS * Number(MAX_PRICE_CENTS) < Number.MAX_SAFE_INTEGER);
  });

  it('when a downstream step is configured, then nothing is taken in runs: each order goes through it', () => {
    const processor = new OrderProcessor({ decoder, downstream: () => undefined, policy, groupId: 'g' });
    assert.equal(processor.takesRuns, false);
    assert.equal(processor.takeRun(records([good(1, 1)]), 0, 1, 0), undefined);
  });

  it('when the decoder cannot read in place, then nothing is taken in runs', () => {
    const processor = new OrderProcessor({ decoder: { decode: decoder.decode }, policy, groupId: 'g' });
    assert.equal(processor.takesRuns, false);
  });
});
