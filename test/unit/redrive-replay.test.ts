import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import {
  buildDeadLetterHeaders,
  decodeDeadLetterHeaders,
  fitDeadLetter,
} from '../../src/domain/dead-letter.js';
import { redriveHeaders } from '../../src/domain/redrive.js';
import { deadLetterIdentity, ledgerEntryIdentity } from '../../src/domain/redrive-selection.js';
import { replayDeadLetters, type ReplayOptions } from '../../src/dlq/replay.js';
import { formatSummaryTable, summarizeDeadLetters } from '../../src/dlq/summary.js';
import {
  classifyError,
  InvalidOrderError,
  TransientDownstreamError,
  type OrderSystemError,
} from '../../src/errors.js';
import {
  RedriveFencedError,
  type DlqReader,
  type DlqRecord,
  type Redrive,
  type RedriveSink,
} from '../../src/ports/redrive.js';

const quiet = pino({ level: 'silent' });
const transient = new TransientDownstreamError('simulated downstream failure');
const invalid = new InvalidOrderError('price must be above zero');

/** The dead letter at DLQ offset `offset` of an order `key` from orders/`partition`/`sourceOffset`. */
function deadLetter(
  offset: number,
  error: OrderSystemError,
  options: { partition?: number; failedAt?: string; value?: Buffer; redriveCount?: number } = {},
): DlqRecord {
  const key = Buffer.from(`order-${offset}`);
  const value = options.value ?? Buffer.from([0, 0, 0, 0, 1, offset]);
  const headers = buildDeadLetterHeaders({
    source: {
      topic: 'orders',
      partition: options.partition ?? offset % 3,
      offset: String(100 + offset),
      timestamp: '1700000000000',
      ...(options.redriveCount === undefined
        ? {}
        : { headers: redriveHeaders({ count: options.redriveCount, from: 'orders-dlq/0/1' }) }),
    },
    error: classifyError(error),
    attempts: 1,
    failedAt: new Date(options.failedAt ?? `2026-01-02T03:00:${String(offset).padStart(2, '0')}.000Z`),
    consumerGroup: 'g',
  });
  const fitted = fitDeadLetter(key, value, headers, 4096 + 2000);
  return {
    partition: 0,
    offset: String(offset),
    key: fitted.key,
    value: fitted.value,
    headers: fitted.headers,
  };
}

function reader(records: readonly DlqRecord[], ledger: ReadonlyMap<string, string> = new Map()): DlqReader {
  return {
    readLedger: () => Promise.resolve(ledger),
    scan: async (each) => {
      for (const record of records) await each(record);
    },
  };
}

class FakeSink implements RedriveSink {
  readonly commits: Redrive[][] = [];
  constructor(private readonly fenceAtCommit = Number.POSITIVE_INFINITY) {}
  commit(redrives: readonly Redrive[]): Promise<void> {
    if (this.commits.length + 1 >= this.fenceAtCommit)
      return Promise.reject(new RedriveFencedError('another replay of orders-dlq took over'));
    this.commits.push([...redrives]);
    return Promise.resolve();
  }
  get sent(): Redrive[] {
    return this.commits.flat();
  }
}

const options = (extra: Partial<ReplayOptions> = {}): ReplayOptions => ({
  dlqTopic: 'orders-dlq',
  ledgerTopic: 'orders-dlq-redrive',
  filter: {},
  ...extra,
});

async function replay(
  records: readonly DlqRecord[],
  sink: RedriveSink | undefined,
  extra: Partial<ReplayOptions> = {},
  ledger?: ReadonlyMap<string, string>,
) {
  const lines: string[] = [];
  const counts = await replayDeadLetters(
    {
      reader: reader(records, ledger),
      sink,
      print: (line) => lines.push(line),
      logger: quiet,
      now: () => new Date('2026-02-01T00:00:00.000Z'),
    },
    options(extra),
  );
  return { counts, lines };
}

describe('replaying dead letters', () => {
  it('when dead letters match, then each goes back to its topic with its key and value bytes unchanged, a redrive mark and a ledger entry, in one transaction', async () => {
    const records = [deadLetter(0, transient), deadLetter(1, invalid), deadLetter(2, transient)];
    const sink = new FakeSink();
    const { counts, lines } = await replay(records, sink, {
      filter: { codes: new Set(['KOS_DOWNSTREAM_TRANSIENT']) },
    });
    assert.equal(sink.commits.length, 1);
    assert.deepEqual(
      sink.sent.map((r) => ({
        topic: r.topic,
        key: r.key?.toString(),
        value: r.value,
        headers: Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k, v.toString()])),
        ledgerKey: r.ledgerKey,
        ledgerValue: JSON.parse(r.ledgerValue.toString()) as unknown,
      })),
      [0, 2].map((offset) => ({
        topic: 'orders',
        key: `order-${offset}`,
        value: records[offset]?.value,
        headers: { 'kos-redrive-count': '1', 'kos-redriven-from': `orders-dlq/0/${offset}` },
        ledgerKey: `0/${offset}`,
        ledgerValue: {
          deadLetter: `orders/${offset % 3}/${100 + offset}@2026-01-02T03:00:0${offset}.000Z`,
          topic: 'orders',
          redriveCount: 1,
          replayedAt: '2026-02-01T00:00:00.000Z',
        },
      })),
    );
    assert.deepEqual(counts, {
      scanned: 3,
      matched: 2,
      replayed: 2,
      alreadyReplayed: 0,
      notReplayable: 0,
      notDeadLetters: 0,
    });
    assert.deepEqual(lines, [
      'sent orders-dlq/0/0 KOS_DOWNSTREAM_TRANSIENT key "order-0" from orders/0/100 failed 2026-01-02T03:00:00.000Z -> orders (redrive 1)',
      'sent orders-dlq/0/2 KOS_DOWNSTREAM_TRANSIENT key "order-2" from orders/2/102 failed 2026-01-02T03:00:02.000Z -> orders (redrive 1)',
      'matched 2 of 3 record(s) in orders-dlq',
      'replayed 2',
    ]);
  });

  it('when a dead letter of a redriven order is replayed, then its redrive count is the one it carries plus 1', async () => {
    const sink = new FakeSink();
    await replay([deadLetter(5, transient, { redriveCount: 1 })], sink, {
      filter: { keys: new Set(['order-5']) },
    });
    const headers = sink.sent[0]?.headers ?? {};
    assert.equal(headers['kos-redrive-count']?.toString(), '2');
    assert.equal(headers['kos-redriven-from']?.toString(), 'orders-dlq/0/5');
  });

  it('when it is a dry run, then it lists what it would send, sends nothing and ends with "would replay N"', async () => {
    const { counts, lines } = await replay([deadLetter(0, transient), deadLetter(1, invalid)], undefined, {
      filter: { codes: new Set(['KOS_ORDER_INVALID']) },
    });
    assert.equal(counts.replayed, 1);
    assert.deepEqual(lines, [
      'would send orders-dlq/0/1 KOS_ORDER_INVALID key "order-1" from orders/1/101 failed 2026-01-02T03:00:01.000Z -> orders (redrive 1)',
      'matched 1 of 2 record(s) in orders-dlq',
      'would replay 1',
    ]);
  });

  it('when the ledger names a dead letter, then it is not sent again, whatever the filters; a ledger entry of another dead letter at that position does not count', async () => {
    const records = [deadLetter(0, transient), deadLetter(1, transient), deadLetter(2, invalid)];
    const first = new FakeSink();
    await replay(records, first, { filter: { partition: 1 } });
    const ledger = new Map(first.sent.map((r) => [r.ledgerKey, ledgerEntryIdentity(r.ledgerValue) ?? '']));
    assert.deepEqual([...ledger.keys()], ['0/1']);
    // A DLQ created again: offset 0 now holds another dead letter than the ledger entry was written for.
    ledger.set('0/0', 'orders/0/999@2025-12-31T00:00:00.000Z');
    const second = new FakeSink();
    const { counts, lines } = await replay(
      records,
      second,
      { filter: { codes: new Set(['KOS_DOWNSTREAM_TRANSIENT']) } },
      ledger,
    );
    assert.deepEqual(
      second.sent.map((r) => r.ledgerKey),
      ['0/0'],
    );
    assert.equal(counts.alreadyReplayed, 1);
    assert.deepEqual(lines.slice(-3), [
      'matched 2 of 3 record(s) in orders-dlq',
      'skipped 1 replayed before (in the ledger orders-dlq-redrive)',
      'replayed 1',
    ]);
  });

  it('when a dead letter was cut to fit the DLQ, then it is skipped, counted and named, and the others go', async () => {
    const cut = deadLetter(1, transient, { value: Buffer.alloc(20_000, 7) });
    assert.ok(decodeDeadLetterHeaders(cut.headers).originalValue, 'the value was cut');
    const sink = new FakeSink();
    const result = await replay([deadLetter(0, transient), cut], sink, {
      filter: { codes: new Set(['KOS_DOWNSTREAM_TRANSIENT']) },
    });
    assert.deepEqual(
      sink.sent.map((r) => r.ledgerKey),
      ['0/0'],
    );
    assert.equal(result.counts.notReplayable, 1);
    assert.equal(result.counts.replayed, 1);
    assert.match(
      result.lines[0] ?? '',
      /^cannot replay orders-dlq\/0\/1 KOS_DOWNSTREAM_TRANSIENT key "order-1" .*: its value was cut to fit the DLQ \(kos-original-value-length 20000\)/,
    );
    assert.deepEqual(result.lines.slice(-3), [
      'matched 2 of 2 record(s) in orders-dlq',
      'skipped 1 that cannot be replayed as they were (listed above)',
      'replayed 1',
    ]);
  });

  it('when a record of the DLQ is not a dead letter of ours, then it is skipped and counted', async () => {
    const foreign: DlqRecord = { partition: 0, offset: '3', key: null, value: Buffer.from('x'), headers: {} };
    const { counts, lines } = await replay([foreign, deadLetter(0, transient)], new FakeSink(), {
      filter: { partition: 0 },
    });
    assert.equal(counts.notDeadLetters, 1);
    assert.equal(counts.replayed, 1);
    assert.equal(lines.at(-2), 'skipped 1 record(s) without our dead-letter headers');
  });

  it('when more records match than a transaction takes, then they go in transactions of at most that many', async () => {
    const records = Array.from({ length: 7 }, (_, i) => deadLetter(i, transient));
    const sink = new FakeSink();
    const { counts } = await replay(records, sink, { filter: {}, maxPerTransaction: 3 });
    assert.deepEqual(
      sink.commits.map((c) => c.length),
      [3, 3, 1],
    );
    assert.equal(counts.replayed, 7);
  });

  it('when --rate is given, then it sends no faster, in transactions of about a second', async () => {
    const records = Array.from({ length: 5 }, (_, i) => deadLetter(i, transient));
    const sink = new FakeSink();
    const started = performance.now();
    await replay(records, sink, { filter: {}, ratePerSecond: 20 });
    const elapsedMs = performance.now() - started;
    // 5 records at 20 a second: the fifth is due 200 ms after the first.
    assert.ok(elapsedMs >= 190, `${elapsedMs} ms`);
    assert.deepEqual(
      sink.commits.map((c) => c.length),
      [5],
    );
    const slow = new FakeSink();
    await replay(records.slice(0, 2), slow, { filter: {}, ratePerSecond: 1.5 });
    assert.deepEqual(
      slow.commits.map((c) => c.length),
      [1, 1],
    );
  });

  it('when another replay fences this one, then it stops with RedriveFencedError, and only what it committed before was sent', async () => {
    const records = Array.from({ length: 5 }, (_, i) => deadLetter(i, transient));
    const sink = new FakeSink(2);
    await assert.rejects(
      replay(records, sink, { filter: {}, maxPerTransaction: 2 }),
      (error: unknown) => error instanceof RedriveFencedError,
    );
    assert.deepEqual(
      sink.sent.map((r) => r.ledgerKey),
      ['0/0', '0/1'],
    );
  });
});

describe('summarizing dead letters', () => {
  it('when the DLQ holds dead letters of several codes, then each code has its count, replayed count and first and last failure, and a total', async () => {
    const records = [
      deadLetter(0, transient, { failedAt: '2026-01-02T03:00:00.000Z' }),
      deadLetter(1, invalid, { failedAt: '2026-01-02T04:00:00.000Z' }),
      deadLetter(2, transient, { failedAt: '2026-01-01T00:00:00.000Z' }),
      deadLetter(3, transient, { failedAt: '2026-01-03T00:00:00.000Z' }),
      { partition: 0, offset: '4', key: null, value: null, headers: {} },
    ];
    const ledger = new Map([['0/3', deadLetterIdentity(decodeDeadLetterHeaders(records[3]!.headers))]]);
    const summary = await summarizeDeadLetters(reader(records, ledger), 'orders-dlq', {});
    assert.deepEqual(summary, {
      topic: 'orders-dlq',
      codes: [
        {
          code: 'KOS_DOWNSTREAM_TRANSIENT',
          deadLetters: 3,
          replayed: 1,
          firstFailedAt: '2026-01-01T00:00:00.000Z',
          lastFailedAt: '2026-01-03T00:00:00.000Z',
        },
        {
          code: 'KOS_ORDER_INVALID',
          deadLetters: 1,
          replayed: 0,
          firstFailedAt: '2026-01-02T04:00:00.000Z',
          lastFailedAt: '2026-01-02T04:00:00.000Z',
        },
      ],
      total: {
        code: 'total',
        deadLetters: 4,
        replayed: 1,
        firstFailedAt: '2026-01-01T00:00:00.000Z',
        lastFailedAt: '2026-01-03T00:00:00.000Z',
      },
      notDeadLetters: 1,
    });
    assert.deepEqual(formatSummaryTable(summary), [
      'dead letters in orders-dlq',
      'code                      dead letters  replayed  first failure             last failure',
      'KOS_DOWNSTREAM_TRANSIENT             3         1  2026-01-01T00:00:00.000Z  2026-01-03T00:00:00.000Z',
      'KOS_ORDER_INVALID                    1         0  2026-01-02T04:00:00.000Z  2026-01-02T04:00:00.000Z',
      'total                                4         1  2026-01-01T00:00:00.000Z  2026-01-03T00:00:00.000Z',
      '1 record(s) without our dead-letter headers, not counted',
    ]);
  });

  it('when a filter is given, then only the dead letters it takes are counted; an empty DLQ has a total of 0', async () => {
    const records = [deadLetter(0, transient), deadLetter(1, invalid)];
    const summary = await summarizeDeadLetters(reader(records), 'orders-dlq', {
      codes: new Set(['KOS_ORDER_INVALID']),
    });
    assert.deepEqual(
      summary.codes.map((c) => [c.code, c.deadLetters]),
      [['KOS_ORDER_INVALID', 1]],
    );
    const empty = await summarizeDeadLetters(reader([]), 'orders-dlq', {});
    assert.deepEqual(empty.total, {
      code: 'total',
      deadLetters: 0,
      replayed: 0,
      firstFailedAt: null,
      lastFailedAt: null,
    });
  });
});
