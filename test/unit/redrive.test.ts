import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  buildDeadLetterHeaders,
  decodeDeadLetterHeaders,
  DLQ_HEADERS,
  fitDeadLetter,
  type DecodedDeadLetterHeaders,
} from '../../src/domain/dead-letter.js';
import {
  isRedriven,
  nextRedrive,
  REDRIVE_HEADERS,
  redriveHeaders,
  redriveHistoryOf,
} from '../../src/domain/redrive.js';
import {
  deadLetterIdentity,
  ledgerEntryIdentity,
  ledgerKey,
  matchesFilter,
  serializeLedgerEntry,
  whyNotReplayable,
  type RedriveFilter,
} from '../../src/domain/redrive-selection.js';
import { parseDlqArgs, UsageError } from '../../src/dlq/args.js';
import { loadConfig } from '../../src/config/load.js';
import { resolveTopics } from '../../src/topics.js';
import {
  BatchUnreadableError,
  classifyError,
  ConfigError,
  TransientDownstreamError,
} from '../../src/errors.js';

const context = {
  source: { topic: 'orders', partition: 2, offset: '41', timestamp: '1700000000123' },
  error: classifyError(new TransientDownstreamError('simulated downstream failure for order 7')),
  attempts: 1,
  failedAt: new Date('2026-01-02T03:04:05.000Z'),
  consumerGroup: 'order-consumer-group',
};

/** A dead letter's decoded headers, as the consumer would have written them. */
function letter(
  overrides: Partial<typeof context.source> = {},
  failedAt = '2026-01-02T03:04:05.000Z',
): DecodedDeadLetterHeaders {
  return decodeDeadLetterHeaders(
    buildDeadLetterHeaders({
      ...context,
      source: { ...context.source, ...overrides },
      failedAt: new Date(failedAt),
    }),
  );
}

describe('redrive headers', () => {
  it('when a record carries no redrive mark, then it is not redriven and has no history', () => {
    assert.equal(isRedriven(undefined), false);
    assert.equal(isRedriven({}), false);
    assert.equal(redriveHistoryOf({ other: Buffer.from('1') }), undefined);
  });

  it('when a record carries a redrive mark, then its history is read, as bytes or strings, first of repeated values', () => {
    const headers = redriveHeaders({ count: 2, from: 'orders-dlq/0/17' });
    assert.deepEqual(Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, v.toString()])), {
      'kos-redrive-count': '2',
      'kos-redriven-from': 'orders-dlq/0/17',
    });
    assert.equal(isRedriven(headers), true);
    assert.deepEqual(redriveHistoryOf(headers), { count: 2, from: 'orders-dlq/0/17' });
    assert.deepEqual(
      redriveHistoryOf({ 'kos-redrive-count': ['3', '9'], 'kos-redriven-from': 'x-dlq/1/2' }),
      { count: 3, from: 'x-dlq/1/2' },
    );
  });

  it('when a redrive mark is forged (not a count, huge, or no origin), then no history is read from it', () => {
    const forged = [
      { 'kos-redrive-count': '0', 'kos-redriven-from': 'orders-dlq/0/1' },
      { 'kos-redrive-count': '-1', 'kos-redriven-from': 'orders-dlq/0/1' },
      { 'kos-redrive-count': '1234567', 'kos-redriven-from': 'orders-dlq/0/1' },
      { 'kos-redrive-count': 'one', 'kos-redriven-from': 'orders-dlq/0/1' },
      { 'kos-redrive-count': '1' },
      { 'kos-redrive-count': '1', 'kos-redriven-from': 'no position' },
      { 'kos-redrive-count': '1', 'kos-redriven-from': `${'t'.repeat(400)}/0/1` },
    ];
    for (const headers of forged) {
      assert.equal(isRedriven(headers), true, JSON.stringify(headers).slice(0, 80));
      assert.equal(redriveHistoryOf(headers), undefined, JSON.stringify(headers).slice(0, 80));
    }
  });

  it('when a dead letter is replayed, then its redrive count is the one it carries plus 1, from its own position', () => {
    const position = { topic: 'orders-dlq', partition: 0, offset: '9' };
    assert.deepEqual(nextRedrive({}, position), { count: 1, from: 'orders-dlq/0/9' });
    const again = redriveHeaders({ count: 1, from: 'orders-dlq/0/9' });
    assert.deepEqual(nextRedrive(again, { ...position, offset: '30' }), {
      count: 2,
      from: 'orders-dlq/0/30',
    });
  });

  it('when a redriven order is dead-lettered again, then its dead letter keeps the redrive history and nothing else of its headers', () => {
    const headers = buildDeadLetterHeaders({
      ...context,
      source: {
        ...context.source,
        headers: { ...redriveHeaders({ count: 1, from: 'orders-dlq/0/9' }), 'x-trace': Buffer.from('abc') },
      },
    });
    assert.equal(headers[REDRIVE_HEADERS.count]?.toString(), '1');
    assert.equal(headers[REDRIVE_HEADERS.from]?.toString(), 'orders-dlq/0/9');
    assert.equal(headers['x-trace'], undefined);
    assert.deepEqual(decodeDeadLetterHeaders(headers).redrive, { count: 1, from: 'orders-dlq/0/9' });
  });

  it('when a plain order or one with a forged mark is dead-lettered, then its dead letter carries no redrive header', () => {
    for (const source of [
      context.source,
      { ...context.source, headers: { 'kos-redrive-count': 'x'.repeat(100_000) } },
    ]) {
      const headers = buildDeadLetterHeaders({ ...context, source });
      assert.deepEqual(
        Object.keys(headers).filter((h) => h.startsWith('kos-redrive')),
        [],
      );
      assert.equal(decodeDeadLetterHeaders(headers).redrive, undefined);
    }
  });
});

describe('redrive filters', () => {
  const key = Buffer.from('1005');
  const matches = (filter: RedriveFilter, headers = letter(), k: Buffer | null = key) =>
    matchesFilter({ headers, key: k }, filter);

  it('when no filter is given, then every dead letter matches', () => {
    assert.equal(matches({}), true);
  });

  it('when codes are given, then a dead letter matches any one of them', () => {
    assert.equal(matches({ codes: new Set(['KOS_DOWNSTREAM_TRANSIENT']) }), true);
    assert.equal(matches({ codes: new Set(['KOS_ORDER_INVALID', 'KOS_DOWNSTREAM_TRANSIENT']) }), true);
    assert.equal(matches({ codes: new Set(['KOS_ORDER_INVALID']) }), false);
  });

  it("when a partition and an offset range are given, then they apply to the original record's, both ends included", () => {
    assert.equal(matches({ partition: 2 }), true);
    assert.equal(matches({ partition: 1 }), false);
    assert.equal(matches({ partition: 2, fromOffset: 41n, toOffset: 41n }), true);
    assert.equal(matches({ partition: 2, fromOffset: 42n }), false);
    assert.equal(matches({ partition: 2, toOffset: 40n }), false);
    assert.equal(matches({ partition: 2, fromOffset: 0n, toOffset: 9_000_000_000_000_000_000n }), true);
  });

  it('when a time range is given, then it applies to the failure time, since included and until excluded', () => {
    const at = Date.parse('2026-01-02T03:04:05.000Z');
    assert.equal(matches({ sinceMs: at }), true);
    assert.equal(matches({ sinceMs: at + 1 }), false);
    assert.equal(matches({ untilMs: at }), false);
    assert.equal(matches({ untilMs: at + 1 }), true);
    // The original record's timestamp (2023) is not what the range is about.
    assert.equal(matches({ sinceMs: Date.parse('2025-01-01T00:00:00Z') }), true);
    const unparsable = { ...letter(), failedAt: 'yesterday' };
    assert.equal(matches({ sinceMs: 0 }, unparsable), false);
  });

  it('when keys are given, then a dead letter matches when its key, as UTF-8, is one of them', () => {
    assert.equal(matches({ keys: new Set(['1005', '1006']) }), true);
    assert.equal(matches({ keys: new Set(['1006']) }), false);
    assert.equal(matches({ keys: new Set(['1005']) }, letter(), null), false);
  });

  it('when several filters are given, then all must hold', () => {
    const filter = { codes: new Set(['KOS_DOWNSTREAM_TRANSIENT']), partition: 2, keys: new Set(['1005']) };
    assert.equal(matches(filter), true);
    assert.equal(matches({ ...filter, partition: 0 }), false);
  });
});

describe('what can be replayed', () => {
  it('when a dead letter holds its original bytes, then it can be replayed', () => {
    assert.equal(whyNotReplayable(letter()), undefined);
  });

  it('when its value or key was cut to fit the DLQ, or it stands for an unreadable batch, then it cannot, and says why', () => {
    const headers = buildDeadLetterHeaders(context);
    const cut = fitDeadLetter(Buffer.from('k'), Buffer.alloc(10_000), headers, 5000);
    assert.match(
      whyNotReplayable(decodeDeadLetterHeaders(cut.headers)) ?? '',
      /^its value was cut to fit the DLQ \(kos-original-value-length 10000\)/,
    );
    const cutKey = fitDeadLetter(Buffer.alloc(6000), null, headers, 5000);
    assert.match(whyNotReplayable(decodeDeadLetterHeaders(cutKey.headers)) ?? '', /^its key was cut/);
    const batch = decodeDeadLetterHeaders(
      buildDeadLetterHeaders({ ...context, error: classifyError(new BatchUnreadableError('bomb')) }),
    );
    assert.equal(
      whyNotReplayable(batch),
      'it stands for a whole record batch that could not be read, not for one record',
    );
    assert.equal(DLQ_HEADERS.originalValueLength, 'kos-original-value-length');
  });
});

describe('the redrive ledger', () => {
  it('when an entry is written, then its key is the DLQ position and it names the dead letter it was written for', () => {
    assert.equal(ledgerKey(0, '17'), '0/17');
    const identity = deadLetterIdentity(letter());
    assert.equal(identity, 'orders/2/41@2026-01-02T03:04:05.000Z');
    const value = serializeLedgerEntry({
      deadLetter: identity,
      topic: 'orders',
      redriveCount: 1,
      replayedAt: '2026-01-03T00:00:00.000Z',
    });
    assert.equal(ledgerEntryIdentity(value), identity);
  });

  it('when two dead letters differ in their original record or failure time, then their identities differ', () => {
    const ids = new Set([
      deadLetterIdentity(letter()),
      deadLetterIdentity(letter({ offset: '42' })),
      deadLetterIdentity(letter({ partition: 1 })),
      deadLetterIdentity(letter({}, '2026-01-02T03:04:06.000Z')),
    ]);
    assert.equal(ids.size, 4);
  });

  it('when a ledger record is not an entry of ours, then it names no dead letter', () => {
    for (const value of [
      null,
      Buffer.from('not json'),
      Buffer.from('[]'),
      Buffer.from('{"deadLetter": 7}'),
      Buffer.from(JSON.stringify({ deadLetter: 'x'.repeat(5000) })),
    ])
      assert.equal(ledgerEntryIdentity(value), undefined);
  });
});

describe('dlq command line', () => {
  const refused = (argv: string[], message: RegExp) =>
    assert.throws(
      () => parseDlqArgs(argv),
      (error: unknown) => {
        assert.ok(error instanceof UsageError);
        assert.match(error.message, message);
        return true;
      },
    );

  it('when no command is given, then it shows 5 dead letters as before; show takes --max and --idle-ms', () => {
    assert.deepEqual(parseDlqArgs([]), { kind: 'show', max: 5, idleMs: 3000 });
    assert.deepEqual(parseDlqArgs(['--max', '1000000', '--idle-ms', '5000']), {
      kind: 'show',
      max: 1_000_000,
      idleMs: 5000,
    });
    assert.deepEqual(parseDlqArgs(['show', '--max', '2']), { kind: 'show', max: 2, idleMs: 3000 });
  });

  it('when replay is given every filter, then each is parsed into the filter', () => {
    const command = parseDlqArgs([
      'replay',
      '--code',
      'KOS_DOWNSTREAM_TRANSIENT',
      '--code',
      'KOS_UNEXPECTED',
      '--partition',
      '2',
      '--from-offset',
      '10',
      '--to-offset',
      '20',
      '--since',
      '2026-03-01',
      '--until',
      '2026-03-01T12:30:00+01:00',
      '--key',
      '1005',
      '--dry-run',
      '--rate',
      '2.5',
    ]);
    assert.deepEqual(command, {
      kind: 'replay',
      filter: {
        codes: new Set(['KOS_DOWNSTREAM_TRANSIENT', 'KOS_UNEXPECTED']),
        partition: 2,
        fromOffset: 10n,
        toOffset: 20n,
        sinceMs: Date.parse('2026-03-01T00:00:00Z'),
        untilMs: Date.parse('2026-03-01T11:30:00Z'),
        keys: new Set(['1005']),
      },
      dryRun: true,
      ratePerSecond: 2.5,
    });
  });

  it('when replay has neither a filter nor --all, or both, then it is refused', () => {
    refused(['replay'], /^replay needs a filter/);
    refused(['replay', '--dry-run'], /^replay needs a filter/);
    refused(['replay', '--all', '--code', 'KOS_ORDER_INVALID'], /^--all replays every dead letter/);
    assert.deepEqual(parseDlqArgs(['replay', '--all']), {
      kind: 'replay',
      filter: {},
      dryRun: false,
      ratePerSecond: undefined,
    });
  });

  it('when summary is given filters and --json, then they are parsed', () => {
    assert.deepEqual(parseDlqArgs(['summary', '--json', '--code', 'KOS_ORDER_INVALID']), {
      kind: 'summary',
      filter: { codes: new Set(['KOS_ORDER_INVALID']) },
      json: true,
    });
  });

  it('when a value is wrong, then the command line is refused naming it', () => {
    refused(['replay', '--code', 'KOS_NOPE'], /^unknown --code KOS_NOPE; the codes are KOS_CONFIG_INVALID, /);
    refused(['replay', '--partition=-1'], /^--partition must be an integer of at least 0/);
    refused(['replay', '--from-offset', '3'], /give --partition too$/);
    refused(['replay', '--partition', '0', '--from-offset', '9', '--to-offset', '3'], /not be above/);
    refused(['replay', '--partition', '0', '--to-offset', '1e3'], /^--to-offset must be an offset/);
    refused(['replay', '--since', '2026-03-01T12:00'], /^--since must be an ISO-8601 date/);
    refused(['replay', '--since', 'yesterday'], /^--since must be an ISO-8601 date/);
    refused(['replay', '--since', '2026-03-02', '--until', '2026-03-01'], /^--since must be before --until$/);
    refused(['replay', '--all', '--rate', '0'], /^--rate must be a number of records a second above 0/);
    refused(['replay', '--all', '--rate', 'fast'], /^--rate must be/);
    refused(['show', '--max', '0'], /^--max must be an integer of at least 1/);
  });

  it('when an option belongs to another command, or the command is unknown, then it is refused', () => {
    refused(['show', '--code', 'KOS_ORDER_INVALID'], /^show does not take --code$/);
    refused(['summary', '--dry-run'], /^summary does not take --dry-run$/);
    refused(['replay', '--all', '--json', '--max', '3'], /^replay does not take --json, --max$/);
    refused(['redo'], /^unknown command "redo": show, replay or summary$/);
    refused(['replay', 'summary'], /^one command at a time/);
    refused(['replay', '--nope'], /Unknown option '--nope'/);
  });

  it('when --help is given, then help is the command', () => {
    assert.deepEqual(parseDlqArgs(['replay', '--help']), { kind: 'help' });
  });
});

describe('the redrive ledger topic', () => {
  it('when DLQ_REDRIVE_TOPIC is unset, then the ledger is named after the DLQ, and is one of the application topics', () => {
    const config = loadConfig('consumer', { DLQ_TOPIC: 'billing-dlq' });
    assert.equal(config.dlqRedriveTopic, 'billing-dlq-redrive');
    assert.deepEqual(
      resolveTopics(config).map((t) => [t.role, t.name, t.config['cleanup.policy']]),
      [
        ['orders', 'orders', 'delete'],
        ['dlq', 'billing-dlq', 'delete'],
        ['stats', 'order-stats', 'compact'],
        ['redrive', 'billing-dlq-redrive', 'compact'],
      ],
    );
  });

  it('when DLQ_REDRIVE_TOPIC is set, then it is the ledger; when it names another topic of ours, then the config is refused', () => {
    assert.equal(loadConfig('consumer', { DLQ_REDRIVE_TOPIC: 'ledger' }).dlqRedriveTopic, 'ledger');
    assert.throws(
      () => loadConfig('producer', { DLQ_REDRIVE_TOPIC: 'order-stats' }),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.message.includes(
          'ORDERS_TOPIC, DLQ_TOPIC, STATS_TOPIC and DLQ_REDRIVE_TOPIC: must be four different topics',
        ),
    );
  });
});
