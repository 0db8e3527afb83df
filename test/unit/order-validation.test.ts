import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertValidOrder, type Order } from '../../src/domain/order.js';
import { InvalidOrderError } from '../../src/errors.js';

const valid: Order = {
  orderId: '1001',
  product: 'Laptop',
  priceCents: 85932n,
  createdAtMs: 1_700_000_000_000,
};

describe('order validation', () => {
  it('when an order is complete and priced above zero, then it is valid', () => {
    assert.doesNotThrow(() => assertValidOrder(valid));
  });

  for (const [name, order, expected] of [
    ['empty orderId', { ...valid, orderId: '' }, /orderId is empty/],
    ['blank product', { ...valid, product: '  ' }, /product is empty/],
    ['zero price', { ...valid, priceCents: 0n }, /price must be above zero/],
    ['negative price', { ...valid, priceCents: -1n }, /price must be above zero/],
    ['price beyond decimal(12,2)', { ...valid, priceCents: 10n ** 12n }, /exceeds/],
    ['non-finite createdAt', { ...valid, createdAtMs: Number.NaN }, /createdAt/],
  ] as const) {
    it(`when the order has ${name}, then it is rejected as a permanent InvalidOrderError`, () => {
      assert.throws(
        () => assertValidOrder(order),
        (error: unknown) => error instanceof InvalidOrderError && expected.test(error.message),
      );
    });
  }

  it('when several rules are broken, then the error names each of them', () => {
    assert.throws(
      () => assertValidOrder({ ...valid, orderId: '', priceCents: 0n }),
      /orderId is empty; price/,
    );
  });
});
