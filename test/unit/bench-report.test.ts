import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseOptions, DEFAULTS, SMOKE } from '../../bench/options.js';
import { markdownTable, tableCells, TABLE_HEADER } from '../../bench/report.js';
import { sanityProblems } from '../../bench/sanity.js';
import { computeRatios } from '../../bench/stats.js';
import type { BenchRow } from '../../bench/types.js';

const rows: BenchRow[] = [
  {
    scenario: 'consume',
    client: 'ours',
    mode: 'at-least-once',
    ordersPerSec: { median: 8000, min: 7000, max: 9000 },
    mbPerSec: { median: 0.2, min: 0.2, max: 0.2 },
    orders: 20000,
    repetitions: 3,
  },
  {
    scenario: 'consume',
    client: 'raw-kafkajs',
    mode: 'at-least-once',
    ordersPerSec: { median: 10000, min: 10000, max: 10000 },
    orders: 20000,
    repetitions: 3,
  },
  {
    scenario: 'consume',
    client: 'java',
    mode: 'at-least-once',
    ordersPerSec: { median: 40000, min: 40000, max: 40000 },
    orders: 20000,
    repetitions: 3,
  },
  {
    scenario: 'e2e-latency',
    client: 'ours',
    mode: 'at-least-once',
    ordersPerSec: { median: 998, min: 998, max: 998 },
    p50Ms: 3.25,
    p95Ms: 8,
    p99Ms: 12.5,
    orders: 5000,
    repetitions: 1,
    targetRatePerSec: 1000,
  },
  {
    scenario: 'scale',
    client: 'ours',
    mode: 'at-least-once',
    consumers: 1,
    ordersPerSec: { median: 5000, min: 5000, max: 5000 },
    orders: 20000,
    repetitions: 3,
  },
  {
    scenario: 'scale',
    client: 'ours',
    mode: 'at-least-once',
    consumers: 2,
    ordersPerSec: { median: 7500, min: 7500, max: 7500 },
    orders: 20000,
    repetitions: 3,
  },
  {
    scenario: 'memory',
    client: 'ours',
    mode: 'at-least-once',
    consumers: 1,
    ordersPerSec: { median: 5000, min: 5000, max: 5000 },
    peakRssMb: 150.5,
    heapStartMb: 30,
    heapEndMb: 31,
    heapSteady: true,
    orders: 100000,
    repetitions: 1,
  },
];
const result = { rows, ratios: computeRatios(rows) };

describe('bench report', () => {
  it('when rows are tabulated, then each shows median (min–max) and its ratios to both baselines', () => {
    const [ours, raw] = tableCells(result);
    assert.deepEqual(ours, [
      'consume',
      'ours',
      'at-least-once',
      '20,000 ×3',
      '8,000 (7,000–9,000)',
      '0.20',
      '',
      '',
      '0.80',
      '0.20',
    ]);
    assert.equal(raw?.[4], '10,000');
    assert.equal(raw[8], '', 'a baseline has no ratio to itself');
  });

  it('when latency, scale and memory rows are tabulated, then they show percentiles, speed-up and RSS', () => {
    const cells = tableCells(result);
    assert.equal(cells[3]?.[0], 'e2e @1,000/s');
    assert.equal(cells[3][6], '3.3 / 8.0 / 12.5');
    assert.equal(cells[5]?.[0], 'scale ×2');
    assert.equal(cells[5][8], '×1.50 vs 1');
    assert.equal(cells[6]?.[7], '150.5; live heap 30.0→31.0 MB steady');
  });

  it('when rendered, then it is an aligned Markdown table with one line per row', () => {
    const lines = markdownTable(result).split('\n');
    assert.equal(lines.length, rows.length + 2);
    assert.match(lines[0] ?? '', /^\| scenario +\| client/);
    assert.match(lines[1] ?? '', /^\|-+\|/);
    assert.equal(new Set(lines.map((l) => l.length)).size, 1, 'columns are padded to one width');
    assert.equal((lines[0]?.match(/\|/g) ?? []).length, TABLE_HEADER.length + 1);
  });

  it('when the numbers are all positive, then the smoke check passes, and a zero or a missing scenario fails it', () => {
    assert.deepEqual(sanityProblems(result, ['consume', 'memory']), []);
    const broken = [{ ...rows[0]!, ordersPerSec: { median: 0, min: 0, max: 0 } }];
    assert.deepEqual(sanityProblems({ rows: broken }, ['consume', 'produce']), [
      'no produce rows',
      'consume/ours/at-least-once: orders/s is not positive',
    ]);
  });

  it('when options are parsed, then defaults, the smoke preset and overrides apply, and bad values are refused', () => {
    assert.deepEqual(parseOptions([]), DEFAULTS);
    assert.deepEqual(parseOptions(['--smoke']), SMOKE);
    const custom = parseOptions([
      '--orders',
      '50000',
      '--reps',
      '5',
      '--rates',
      '1000,2000',
      '--only',
      'consume,scale',
      '--no-java',
    ]);
    assert.notEqual(custom, 'help');
    if (custom === 'help') return;
    assert.equal(custom.orders, 50000);
    assert.equal(custom.repetitions, 5);
    assert.deepEqual(custom.rates, [1000, 2000]);
    assert.deepEqual(custom.scenarios, ['consume', 'scale']);
    assert.equal(custom.java, false);
    assert.throws(() => parseOptions(['--orders', '0']), /positive integer/);
    assert.throws(() => parseOptions(['--only', 'nonsense']), /unknown scenario/);
    assert.equal(parseOptions(['--help']), 'help');
  });
});
