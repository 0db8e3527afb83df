import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  deserializeStats,
  emptyStats,
  implausibleStats,
  UnreadableStatsError,
  serializeStats,
  StatsDelta,
  type PartitionStats,
} from '../../src/domain/partition-stats.js';

const start: PartitionStats = {
  ...emptyStats('g', 'orders', 1),
  orders: 2n,
  sumCents: 500n,
  deadLettered: 1n,
  minCents: 200n,
  maxCents: 300n,
  lastOrderId: 'a',
  nextOffset: 10n,
};

describe('partition aggregate', () => {
  it('when a run of orders is applied, then the aggregate is the one its orders give one by one', () => {
    const oneByOne = new StatsDelta();
    oneByOne.processed(700n, 'x', '10');
    oneByOne.processed(150n, 'y', '11');
    oneByOne.deadLetteredAt('12');
    oneByOne.processed(999_999_999_999n, 'z', '13');
    const inRuns = new StatsDelta();
    inRuns.processedRun({ count: 2, sumCents: 850, minCents: 150, maxCents: 700, lastOffset: '11' }, 'y');
    inRuns.deadLetteredAt('12');
    inRuns.processedRun(
      {
        count: 1,
        sumCents: 999_999_999_999,
        minCents: 999_999_999_999,
        maxCents: 999_999_999_999,
        lastOffset: '13',
      },
      'z',
    );
    assert.deepEqual(inRuns.applyTo(start), oneByOne.applyTo(start));
    assert.equal(inRuns.applyTo(start).sumCents, 500n + 850n + 999_999_999_999n);
  });

  it('when a transaction processes and dead-letters records, then the aggregate adds them exactly and ends after the last offset', () => {
    const delta = new StatsDelta();
    delta.processed(100n, 'b', '10');
    delta.deadLetteredAt('11');
    delta.processed(999n, 'c', '12');
    delta.deadLetteredAt('13');
    assert.deepEqual(delta.applyTo(start), {
      ...start,
      orders: 4n,
      sumCents: 1599n,
      deadLettered: 3n,
      minCents: 100n,
      maxCents: 999n,
      lastOrderId: 'c',
      nextOffset: 14n,
    });
  });

  it('when the first transaction of a partition holds only dead letters, then min, max and the last order stay unset', () => {
    const delta = new StatsDelta();
    delta.deadLetteredAt('0');
    const after = delta.applyTo(emptyStats('g', 'orders', 0));
    assert.equal(after.minCents, undefined);
    assert.equal(after.maxCents, undefined);
    assert.equal(after.lastOrderId, undefined);
    assert.equal(after.deadLettered, 1n);
    assert.equal(after.nextOffset, 1n);
  });

  it('when prices stay inside the committed range, then min and max keep their committed values', () => {
    const delta = new StatsDelta();
    delta.processed(250n, 'd', '10');
    const after = delta.applyTo(start);
    assert.equal(after.minCents, 200n);
    assert.equal(after.maxCents, 300n);
  });

  it('when nothing was taken, then the state is returned unchanged', () => {
    assert.equal(new StatsDelta().applyTo(start), start);
  });

  it('when an aggregate goes through the changelog, then every field, bigints included, comes back', () => {
    const big = { ...start, sumCents: 2n ** 70n, nextOffset: 2n ** 40n };
    assert.deepEqual(deserializeStats(serializeStats(big)), big);
  });

  describe('a changelog record read back (anyone who can write the changelog can write anything)', () => {
    const good = JSON.parse(serializeStats(start).toString()) as Record<string, unknown>;
    const bytes = (json: unknown) => Buffer.from(JSON.stringify(json));

    for (const [what, record] of [
      ['not JSON', Buffer.from('{"orders":')],
      ['larger than an aggregate can be', bytes({ ...good, lastOrderId: null, group: 'g'.repeat(5000) })],
      ['a negative count', bytes({ ...good, orders: '-1' })],
      ['a count that is not a number', bytes({ ...good, orders: '1e9' })],
      ['a 40-digit offset', bytes({ ...good, nextOffset: '9'.repeat(40) })],
      ['an over-long last order id', bytes({ ...good, lastOrderId: 'x'.repeat(65) })],
      ['a field we never write', bytes({ ...good, extra: 1 })],
      ['a missing field', bytes({ ...good, sumCents: undefined })],
      ['a partition that is not a partition', bytes({ ...good, partition: -3 })],
    ] as const) {
      it(`when it has ${what}, then it is refused as unreadable`, () => {
        assert.throws(() => deserializeStats(record), UnreadableStatsError);
      });
    }

    const bounds = { end: 100n, committed: 10n, transactionSpan: 20n };
    it('when its offsets can be right, then a restore may use it', () => {
      assert.equal(implausibleStats({ ...start, nextOffset: 10n }, bounds), undefined);
      assert.equal(
        implausibleStats({ ...start, nextOffset: 30n }, bounds),
        undefined,
        'within one transaction',
      );
      assert.equal(
        implausibleStats({ ...start, nextOffset: 3n }, bounds),
        undefined,
        'behind: the restore waits',
      );
      // Offsets expired (no committed offset): only the partition end bounds it.
      assert.equal(implausibleStats({ ...start, nextOffset: 90n }, { ...bounds, committed: -1n }), undefined);
    });

    it('when it claims to be complete beyond the partition end or far beyond the committed offset, then it is refused, saying why', () => {
      assert.match(
        implausibleStats({ ...start, nextOffset: 101n }, bounds) ?? '',
        /beyond the partition's end 100/,
      );
      assert.match(
        implausibleStats({ ...start, nextOffset: 31n }, bounds) ?? '',
        /more than one transaction \(20 offsets\) ahead of the committed offset 10/,
      );
      assert.match(
        implausibleStats({ ...start, nextOffset: 10n ** 15n }, { ...bounds, committed: -1n }) ?? '',
        /end/,
      );
    });
  });
});
