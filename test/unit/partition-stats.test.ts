import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  deserializeStats,
  emptyStats,
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
});
