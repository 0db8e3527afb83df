import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { computeRatios, heapTrend, median, percentile, ratioKey, rowId, spread } from '../../bench/stats.js';
import type { BenchRow } from '../../bench/types.js';

const row = (
  r: Partial<BenchRow> & Pick<BenchRow, 'scenario' | 'client' | 'mode'>,
  perSec: number,
): BenchRow => ({
  ordersPerSec: { median: perSec, min: perSec, max: perSec },
  orders: 1000,
  repetitions: 3,
  ...r,
});

describe('bench statistics', () => {
  it('when repetitions are summarised, then median, min and max come out, even counts averaging the middle two', () => {
    assert.deepEqual(spread([30, 10, 20]), { median: 20, min: 10, max: 30 });
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.equal(median([7]), 7);
    assert.throws(() => median([]));
  });

  it('when percentiles are taken, then they use the nearest rank', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i); // 100..1, unsorted on purpose
    assert.equal(percentile(values, 50), 50);
    assert.equal(percentile(values, 99), 99);
    assert.equal(percentile(values, 100), 100);
    assert.equal(percentile([5], 99), 5);
    assert.equal(percentile([1, 2, 3], 0), 1);
  });

  it('when a ratio compares clients of one scenario, then it is named by the baseline client only', () => {
    const ours = { scenario: 'consume', client: 'ours', mode: 'at-least-once' } as const;
    assert.equal(rowId(ours), 'consume.ours.at-least-once');
    assert.equal(
      ratioKey(ours, { scenario: 'consume', client: 'raw-kafkajs', mode: 'at-least-once' }),
      'consume.ours.at-least-once/raw-kafkajs',
    );
    assert.equal(
      ratioKey({ ...ours, mode: 'exactly-once' }, ours),
      'consume.ours.exactly-once/consume.ours.at-least-once',
    );
    assert.equal(
      ratioKey(
        { scenario: 'scale', client: 'ours', mode: 'at-least-once', consumers: 3 },
        { scenario: 'scale', client: 'ours', mode: 'at-least-once', consumers: 1 },
      ),
      'scale.ours.at-least-once.3-consumers/scale.ours.at-least-once.1-consumers',
    );
  });

  it('when rows of every scenario are given, then the ratios cover each baseline, the EOS cost and the scale speed-up', () => {
    const ratios = computeRatios([
      row({ scenario: 'produce', client: 'ours', mode: 'idempotent' }, 50),
      row({ scenario: 'produce', client: 'raw-kafkajs', mode: 'idempotent' }, 100),
      row({ scenario: 'produce', client: 'java', mode: 'idempotent' }, 200),
      row({ scenario: 'consume', client: 'ours', mode: 'at-least-once' }, 80),
      row({ scenario: 'consume', client: 'ours', mode: 'exactly-once' }, 40),
      row({ scenario: 'consume', client: 'raw-kafkajs', mode: 'at-least-once' }, 100),
      row({ scenario: 'consume', client: 'java', mode: 'at-least-once' }, 0),
      row({ scenario: 'scale', client: 'ours', mode: 'at-least-once', consumers: 1 }, 10),
      row({ scenario: 'scale', client: 'ours', mode: 'at-least-once', consumers: 2 }, 15),
      row({ scenario: 'e2e-latency', client: 'ours', mode: 'at-least-once' }, 1000),
    ]);
    assert.deepEqual(ratios, {
      'produce.ours.idempotent/raw-kafkajs': 0.5,
      'produce.ours.idempotent/java': 0.25,
      'consume.ours.at-least-once/raw-kafkajs': 0.8,
      'consume.ours.exactly-once/raw-kafkajs': 0.4,
      'consume.ours.exactly-once/consume.ours.at-least-once': 0.5,
      'scale.ours.at-least-once.2-consumers/scale.ours.at-least-once.1-consumers': 1.5,
    });
  });

  it('when the live heap after each major collection stays flat, then it is steady, garbage in between notwithstanding', () => {
    const MiB = 1024 * 1024;
    // Garbage piles up for 5 samples, then a major collection brings the heap back to ~30 MiB.
    const samples = Array.from({ length: 60 }, (_, i) => ({
      heapUsedBytes: (i % 5 === 0 ? 30 + (i % 2) : 30 + (i % 5) * 20) * MiB,
      majorGcs: Math.floor(i / 5),
    }));
    const trend = heapTrend(samples);
    assert.equal(trend.steady, true);
    assert.equal(trend.collections, 11);
    assert.ok(trend.startBytes <= 31 * MiB);
  });

  it('when the live heap climbs from one major collection to the next, then it is not steady', () => {
    const MiB = 1024 * 1024;
    const samples = Array.from({ length: 60 }, (_, i) => ({
      heapUsedBytes: (30 + i) * MiB,
      majorGcs: Math.floor(i / 5),
    }));
    const trend = heapTrend(samples);
    assert.equal(trend.steady, false);
    assert.ok(trend.endBytes > trend.startBytes + 30 * MiB);
  });

  it('when fewer than two major collections happened after warm-up, then there is no verdict', () => {
    const samples = [0, 0, 1, 1].map((majorGcs) => ({ heapUsedBytes: 1, majorGcs }));
    assert.equal(heapTrend(samples).steady, undefined);
  });
});
