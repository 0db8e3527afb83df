import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generateOrders, seededRandom } from '../../src/domain/order-generator.js';
import { assertValidOrder } from '../../src/domain/order.js';
import { producerEnvFromArgs } from '../../src/cli/producer-flags.js';

function take(n: number, invalidRatio: number, seed = 42) {
  const it = generateOrders({ startOrderId: 1001, invalidRatio, random: seededRandom(seed), now: () => 1 });
  return Array.from({ length: n }, () => it.next().value);
}

describe('order generator', () => {
  it('when seeded the same, then it generates the same orders', () => {
    assert.deepEqual(take(50, 0.2), take(50, 0.2));
    assert.notDeepEqual(take(50, 0.2, 1), take(50, 0.2, 2));
  });

  it('when the invalid ratio is 0, then every order is valid and ids count up from the start id', () => {
    const orders = take(200, 0);
    orders.forEach((g, i) => {
      assert.equal(g.invalid, undefined);
      assert.equal(g.order.orderId, String(1001 + i));
      assertValidOrder(g.order);
    });
  });

  it('when the invalid ratio is set, then about that share is invalid and each one fails validation', () => {
    const orders = take(10_000, 0.1);
    const invalid = orders.filter((g) => g.invalid !== undefined);
    assert.ok(invalid.length > 800 && invalid.length < 1200, `${invalid.length} invalid`);
    for (const g of invalid) assert.throws(() => assertValidOrder(g.order));
  });

  it('when flags are given, then they override the env vars they stand for', () => {
    const { env } = producerEnvFromArgs(
      ['--count', '1000', '--rate', '50', '--invalid-ratio', '0.1', '--start-id', '5'],
      {
        ORDER_COUNT: '20',
      },
    );
    assert.deepEqual(
      [env.ORDER_COUNT, env.ORDER_RATE, env.INVALID_RATIO, env.START_ORDER_ID],
      ['1000', '50', '0.1', '5'],
    );
    assert.throws(() => producerEnvFromArgs(['--bogus'], {}), /bogus/);
  });
});
