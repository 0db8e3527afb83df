import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { averageCents, formatCents, parseCents } from '../../src/domain/money.js';
import { RunningAverage } from '../../src/domain/running-average.js';

describe('money', () => {
  it('when a decimal string is parsed, then it becomes exact cents', () => {
    assert.equal(parseCents('859.32'), 85932n);
    assert.equal(parseCents('10'), 1000n);
    assert.equal(parseCents('0.5'), 50n);
    assert.equal(parseCents('-1.05'), -105n);
    assert.throws(() => parseCents('1.005'), RangeError);
    assert.throws(() => parseCents('abc'), RangeError);
  });

  it('when cents are formatted, then they read as dollars with two digits', () => {
    assert.equal(formatCents(85932n), '859.32');
    assert.equal(formatCents(5n), '0.05');
    assert.equal(formatCents(-105n), '-1.05');
    assert.equal(formatCents(0n), '0.00');
  });

  it('when averaging, then it rounds half away from zero, once', () => {
    assert.equal(averageCents(10n, 4n), 3n); // 2.5 → 3
    assert.equal(averageCents(9n, 4n), 2n); // 2.25 → 2
    assert.equal(averageCents(-10n, 4n), -3n);
    assert.equal(averageCents(100n, 0n), 0n);
  });

  it('when millions of prices that floats cannot hold exactly are averaged, then the result is exact to the cent', () => {
    const average = new RunningAverage();
    let floatSum = 0;
    for (let i = 0; i < 3_000_000; i += 1) {
      average.add(10n); // $0.10: not representable in binary floating point
      floatSum += 0.1;
    }
    assert.equal(average.count, 3_000_000n);
    assert.equal(average.sumCents, 30_000_000n);
    assert.equal(formatCents(average.averageCents), '0.10');
    // The float sum has drifted, which is why money is not a double here.
    assert.notEqual(floatSum, 300_000);
  });
});
