import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { AtLeastOnceCommit } from '../../src/consumer/at-least-once-commit.js';
import { BatchLoop } from '../../src/consumer/batch-loop.js';
import type { CommitStrategy } from '../../src/consumer/commit-strategy.js';
import { ConsumerEventBus } from '../../src/consumer/events.js';
import { OrderProcessor } from '../../src/consumer/order-processor.js';
import { OutcomeRecorder } from '../../src/consumer/outcome-recorder.js';
import { TransactionalCommit } from '../../src/consumer/transactional-commit.js';
import { emptyStats, type PartitionStats } from '../../src/domain/partition-stats.js';
import { RunningAverage } from '../../src/domain/running-average.js';
import { BrokerUnavailableError, DeadLetterUnwritableError, InvalidOrderError } from '../../src/errors.js';
import type { ConsumerEvents } from '../../src/ports/events.js';
import type {
  OwnedPartition,
  PartitionOwnership,
  PartitionTransaction,
} from '../../src/ports/exactly-once.js';
import type { DeadLetterSink, OrderDecoder } from '../../src/ports/processing.js';
import type { BatchControl, BatchRecord, ConsumedBatch } from '../../src/ports/records.js';
import type { Tracing } from '../../src/ports/tracing.js';

const quiet = pino({ level: 'silent' });

/**
 * Values the stand-in decoder reads: [1, price] a good order, [2, price] one that takes 150 ms to read,
 * [0] an invalid one, [9] an unexpected failure.
 */
const good = (price: number) => Buffer.from([1, price]);
const slow = (price: number) => Buffer.from([2, price]);
const SLOW_MS = 150;
const invalid = Buffer.from([0]);
const boom = Buffer.from([9]);

const decoder: OrderDecoder = {
  decode: () => Promise.reject(new Error('every schema is cached here')),
  decodeCached: (value) => {
    if (value?.[0] === 0) throw new InvalidOrderError('invalid order');
    if (value?.[0] === 2) {
      // A slow order: work that holds the loop, as logging or a synchronous step would.
      const until = performance.now() + SLOW_MS;
      while (performance.now() < until);
    } else if (value?.[0] !== 1) throw new Error('something unexpected');
    return {
      orderId: `id-${value[1] ?? 0}`,
      product: 'p',
      priceCents: BigInt(value[1] ?? 0),
      createdAtMs: 1,
    };
  },
  readGoodOrder: (value, into) => {
    if (value?.[0] !== 1) return false;
    into.priceCents = value[1] ?? 0;
    into.createdAtMs = 1;
    return true;
  },
};

/** Records from `firstOffset`, each written at its offset × 1000 ms; the partition holds `behind` more. */
function batchOf(values: Buffer[], firstOffset = 10, behind = 5): ConsumedBatch {
  const messages: BatchRecord[] = values.map((value, i) => ({
    offset: String(firstOffset + i),
    timestamp: String((firstOffset + i) * 1000),
    key: null,
    value,
  }));
  return {
    topic: 'orders',
    partition: 0,
    messages,
    highWatermark: String(firstOffset + values.length + behind),
  };
}

/** A BatchControl that records what the loop asked of it. */
function controlOf() {
  const calls = {
    resolved: [] as string[],
    commits: [] as (string | undefined)[],
    pauses: 0,
    seeks: [] as string[],
  };
  const control: BatchControl = {
    resolveOffset: (offset) => calls.resolved.push(offset),
    resolveBatch: () => calls.resolved.push('batch'),
    commit: (next) => {
      calls.commits.push(next);
      return Promise.resolve();
    },
    pause: () => {
      calls.pauses += 1;
      return () => undefined;
    },
    seek: (offset) => calls.seeks.push(offset),
    heartbeat: () => Promise.resolve(),
    isStopping: () => false,
    shouldAbandon: () => false,
  };
  return { control, calls };
}

function setup(
  commits: (recorder: OutcomeRecorder, processor: OrderProcessor) => CommitStrategy,
  tracing?: Tracing,
) {
  const bus = new ConsumerEventBus();
  const events = {
    lag: [] as number[],
    waiting: [] as ConsumerEvents['partition.waiting'][0][],
    processed: 0,
    /** The oldest pending record's timestamp, as each batch starts and ends (undefined: caught up). */
    pending: [] as (number | undefined)[],
  };
  bus.on('partition.pending', (event) => events.pending.push(event.oldestTimestampMs));
  bus.on('lag', (entries) => events.lag.push(...entries.map((e) => e.lag)));
  bus.on('partition.waiting', (event) => events.waiting.push(event));
  bus.on('orders.processed', ({ count }) => (events.processed += count));
  const recorder = new OutcomeRecorder({ average: new RunningAverage(), bus, logger: quiet });
  const processor = new OrderProcessor({
    decoder,
    policy: {
      maxRetries: 3,
      backoffMs: 60_000,
      strategy: 'fixed',
      maxBackoffMs: 60_000,
      jitter: 0,
      waitBackoffMs: 60_000,
      waitMaxBackoffMs: 60_000,
    },
    groupId: 'g',
  });
  const loop = new BatchLoop({
    processor,
    recorder,
    commits: commits(recorder, processor),
    heartbeatEveryMs: 60_000,
    tracing,
  });
  return { loop, events };
}

/** Exactly-once against stand-ins of the partition's owner and its transactions. */
function transactional(refuseDeadLetters: boolean, failCommit = false) {
  const log = { commits: [] as PartitionStats[], aborts: 0, failedAt: [] as string[] };
  const owner: OwnedPartition = {
    state: { ...emptyStats('g', 'orders', 0), nextOffset: 10n },
    begin: () => {
      let deadLetterFailed = false;
      const deadLetters: DeadLetterSink = {
        publish: () => {
          if (!refuseDeadLetters) return Promise.resolve();
          deadLetterFailed = true;
          return Promise.reject(new DeadLetterUnwritableError('orders-dlq refused the dead letter'));
        },
      };
      const tx: PartitionTransaction = {
        deadLetters,
        get deadLetterFailed() {
          return deadLetterFailed;
        },
        producerInDoubt: undefined,
        commit: (state) => {
          if (failCommit) return Promise.reject(new Error('NOT_COORDINATOR'));
          log.commits.push(state);
          return Promise.resolve();
        },
        abort: () => {
          log.aborts += 1;
          return Promise.resolve();
        },
      };
      return Promise.resolve(tx);
    },
  };
  const owners: PartitionOwnership = {
    ownerFor: () => Promise.resolve(owner),
    afterFailedTransaction: (_partition, _error, from) => {
      log.failedAt.push(from);
      return Promise.resolve(new BrokerUnavailableError('a transaction failed'));
    },
    keepOnly: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
  const strategy = (recorder: OutcomeRecorder, processor: OrderProcessor) =>
    new TransactionalCommit({
      owners,
      recorder,
      orderIdOf: (value) => processor.orderIdOf(value),
      logger: quiet,
      maxRecords: 50_000,
      closeAfterMs: 60_000,
    });
  return { log, strategy, owner };
}

describe('the batch loop', () => {
  describe('at-least-once', () => {
    const atLeastOnce = (recorder: OutcomeRecorder) =>
      new AtLeastOnceCommit({ deadLetters: { publish: () => Promise.resolve() }, recorder, logger: quiet });
    // Checkpoints by count only: a pause of the machine cannot add one.
    const byCountOnly = (recorder: OutcomeRecorder) =>
      new AtLeastOnceCommit({
        deadLetters: { publish: () => Promise.resolve() },
        recorder,
        logger: quiet,
        checkpointAfterMs: Number.POSITIVE_INFINITY,
      });

    it('when a batch holds only good orders, then offsets are resolved at each checkpoint and at the end, and the lag is reported', async () => {
      const { loop, events } = setup(byCountOnly);
      const { control, calls } = controlOf();
      await loop.handle(batchOf(Array.from({ length: 4500 }, () => good(5))), control);
      assert.deepEqual(calls.resolved, ['2009', '4009', '4509']);
      assert.deepEqual(
        calls.commits,
        [undefined, undefined],
        'the commit interval is checked at each checkpoint',
      );
      assert.equal(events.processed, 4500);
      assert.deepEqual(events.lag, [5]);
      assert.deepEqual(
        events.pending,
        [10_000, 4_509_000],
        'the first record as the batch starts; past the batch, the last one stands in for the next',
      );
    });

    it('when orders are slow, then offsets are resolved at least every 200 ms of work, not only every 2,000 records', async () => {
      const { loop, events } = setup(atLeastOnce);
      const { control, calls } = controlOf();
      // 150 ms each against the 200 ms bound: the unit's time is up after the second, not the first.
      await loop.handle(batchOf([slow(1), slow(2), slow(3)]), control);
      assert.deepEqual(calls.resolved, ['11', '12']);
      assert.equal(events.processed, 3);
    });

    it('when a batch reaches the end of its partition, then the partition is reported caught up', async () => {
      const { loop, events } = setup(atLeastOnce);
      const { control } = controlOf();
      await loop.handle(batchOf([good(1), good(2)], 10, 0), control);
      assert.deepEqual(events.pending, [10_000, undefined]);
      assert.deepEqual(events.lag, [0]);
    });

    it('when a record has no usable timestamp, then nothing is reported for it', async () => {
      const { loop, events } = setup(atLeastOnce);
      const { control } = controlOf();
      const batch = batchOf([good(1), good(2)]);
      const forged = { ...batch, messages: batch.messages.map((m) => ({ ...m, timestamp: '-1' })) };
      await loop.handle(forged, control);
      assert.deepEqual(events.pending, []);
    });

    it('when a record fails transiently, then the batch ends before it: only its partition is paused, and what came before is resolved', async () => {
      const { loop, events } = setup(atLeastOnce);
      const { control, calls } = controlOf();
      await loop.handle(batchOf([good(1), good(2), invalid, boom, good(3)]), control);
      assert.deepEqual(calls.resolved, ['12'], 'the invalid order was dead-lettered, the failed one waits');
      assert.equal(calls.pauses, 1);
      assert.equal(events.processed, 2);
      assert.deepEqual(events.pending, [10_000, 13_000], 'the partition waits at the failed record');
      await loop.close();
    });
  });

  describe('exactly-once', () => {
    it('when the records fit one transaction, then it commits them with the aggregate, and they are recorded after', async () => {
      const { log, strategy } = transactional(false);
      const { loop, events } = setup(strategy);
      const { control, calls } = controlOf();
      await loop.handle(batchOf([good(1), good(2), invalid, good(4)]), control);
      assert.equal(log.commits.length, 1);
      assert.deepEqual(
        [
          log.commits[0]?.orders,
          log.commits[0]?.deadLettered,
          log.commits[0]?.sumCents,
          log.commits[0]?.nextOffset,
        ],
        [3n, 1n, 7n, 14n],
      );
      assert.deepEqual(calls.resolved, ['13']);
      assert.equal(events.processed, 3);
    });

    it('when a dead letter is refused inside the transaction, then it is aborted, what came before commits in a transaction of its own, and the partition waits at the record', async () => {
      const { log, strategy } = transactional(true);
      const { loop, events } = setup(strategy);
      const { control, calls } = controlOf();
      await loop.handle(batchOf([good(1), good(2), good(3), invalid, good(5)]), control);
      assert.equal(log.aborts, 1);
      assert.equal(log.commits.length, 1);
      assert.deepEqual([log.commits[0]?.orders, log.commits[0]?.nextOffset], [3n, 13n]);
      assert.deepEqual(calls.resolved, ['12']);
      assert.equal(calls.pauses, 1);
      assert.deepEqual(
        events.waiting.map((w) => w.dependency),
        ['dlq'],
      );
      assert.deepEqual(events.pending, [10_000, 13_000], 'the partition waits at the invalid record');
      await loop.close();
    });

    it('when a record already in the committed aggregate comes again, then it is skipped, not counted twice', async () => {
      const { log, strategy, owner } = transactional(false);
      owner.state = { ...owner.state, nextOffset: 12n };
      const { loop } = setup(strategy);
      const { control } = controlOf();
      await loop.handle(batchOf([good(1), good(2), good(3)]), control);
      assert.deepEqual([log.commits[0]?.orders, log.commits[0]?.nextOffset], [1n, 13n]);
    });

    it('when the commit fails, then the partition reads again from the committed offset after a wait for the broker', async () => {
      const { log, strategy } = transactional(false, true);
      const { loop, events } = setup(strategy);
      const { control, calls } = controlOf();
      await loop.handle(batchOf([good(1), good(2)]), control);
      assert.equal(log.aborts, 1);
      assert.deepEqual(calls.seeks, ['10']);
      assert.deepEqual(log.failedAt, ['10']);
      assert.deepEqual(calls.resolved, []);
      assert.deepEqual(
        events.waiting.map((w) => w.dependency),
        ['broker'],
      );
      assert.equal(events.processed, 0, 'nothing is recorded before its transaction commits');
      assert.deepEqual(events.pending, [10_000, 10_000], 'nothing committed: the first record still waits');
      await loop.close();
    });
  });
});

/**
 * A Tracing that records what the batch loop does with spans: each attempt's span, how often it ended,
 * with what outcome and whether its unit was rolled back; each run's span the same way.
 */
function recordingTracing() {
  interface AttemptSpan {
    readonly offset: string;
    readonly attempt: number;
    ends: number;
    outcome?: string | undefined;
    rolledBack?: string | undefined;
    deadLetterEnds: number;
  }
  const attempts: AttemptSpan[] = [];
  const runs: { first: string; last: string; rolledBack: string | undefined }[] = [];
  const unused = () => {
    throw new Error('not the consumer’s');
  };
  const tracing: Tracing = {
    createOrder: unused,
    startSend: unused,
    startRedrive: unused,
    shutdown: () => Promise.resolve(),
    processedRun: (_batch, records, from, to, _startedAt, _finishedAt, rolledBack) => {
      runs.push({
        first: records[from]?.offset ?? '?',
        last: records[to]?.offset ?? '?',
        rolledBack: rolledBack?.code,
      });
    },
    startProcess: (record, _startedAt, attempt) => {
      const span: AttemptSpan = { offset: record.offset, attempt, ends: 0, deadLetterEnds: 0 };
      attempts.push(span);
      return {
        startDeadLetter: () => ({
          inject: () => undefined,
          end: () => {
            span.deadLetterEnds += 1;
          },
        }),
        end: (outcome, rolledBack) => {
          span.ends += 1;
          span.outcome = outcome?.kind;
          span.rolledBack = rolledBack?.code;
        },
      };
    },
  };
  return { tracing, attempts, runs };
}

describe('the batch loop, tracing on', () => {
  it('when records are processed, dead-lettered and retried at-least-once, then each attempt’s span ends exactly once, with its outcome', async () => {
    const { tracing, attempts, runs } = recordingTracing();
    const { loop } = setup(
      (recorder) =>
        new AtLeastOnceCommit({ deadLetters: { publish: () => Promise.resolve() }, recorder, logger: quiet }),
      tracing,
    );
    const { control } = controlOf();
    await loop.handle(batchOf([good(1), good(2), invalid, boom, good(3)]), control);
    assert.deepEqual(runs, [{ first: '10', last: '11', rolledBack: undefined }]);
    assert.deepEqual(
      attempts.map((a) => [a.offset, a.attempt, a.ends, a.outcome, a.rolledBack, a.deadLetterEnds]),
      [
        ['12', 1, 1, 'dead-lettered', undefined, 1],
        ['13', 1, 1, 'retry-later', undefined, 0],
      ],
    );
    await loop.close();
  });

  it('when records before a refused dead letter are redone, then their first spans end rolled back and the redo’s end committed, each once', async () => {
    const { tracing, attempts, runs } = recordingTracing();
    const { strategy } = transactional(true);
    const { loop } = setup(strategy, tracing);
    const { control } = controlOf();
    // A run of 10 to 12, then 13's dead letter is refused: the unit is aborted and 10 to 12 redone.
    await loop.handle(batchOf([good(1), good(2), good(3), invalid, good(5)]), control);
    assert.deepEqual(runs, [
      { first: '10', last: '12', rolledBack: 'KOS_DLQ_UNWRITABLE' },
      { first: '10', last: '12', rolledBack: undefined },
    ]);
    assert.deepEqual(
      attempts.map((a) => [a.offset, a.ends, a.outcome, a.rolledBack, a.deadLetterEnds]),
      [['13', 1, 'waiting', undefined, 1]],
    );
    await loop.close();
  });

  it('when a transaction’s commit fails, then every span of it ends once, rolled back by the broker, dead letters included', async () => {
    const { tracing, attempts, runs } = recordingTracing();
    const { strategy } = transactional(false, true);
    const { loop } = setup(strategy, tracing);
    const { control } = controlOf();
    await loop.handle(batchOf([good(1), invalid, good(2)]), control);
    assert.deepEqual(runs, [
      { first: '10', last: '10', rolledBack: 'KOS_BROKER_UNAVAILABLE' },
      { first: '12', last: '12', rolledBack: 'KOS_BROKER_UNAVAILABLE' },
    ]);
    assert.deepEqual(
      attempts.map((a) => [a.offset, a.ends, a.outcome, a.rolledBack, a.deadLetterEnds]),
      [['11', 1, 'dead-lettered', 'KOS_BROKER_UNAVAILABLE', 1]],
    );
    await loop.close();
  });
});
