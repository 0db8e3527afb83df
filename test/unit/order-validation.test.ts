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
    ['an orderId of 65 bytes', { ...valid, orderId: 'x'.repeat(65) }, /orderId is longer than 64 bytes/],
    ['an orderId of 33 two-byte characters', { ...valid, orderId: 'é'.repeat(33) }, /longer than 64 bytes/],
    ['a product of 257 bytes', { ...valid, product: 'p'.repeat(257) }, /product is longer than 256 bytes/],
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

  it('when the limits are met exactly, then the order is valid', () => {
    assert.doesNotThrow(() =>
      assertValidOrder({ ...valid, orderId: 'x'.repeat(64), product: 'p'.repeat(256) }),
    );
  });

  it('when a rejected id is a megabyte, then the message quotes only its start and its size', () => {
    const orderId = 'x'.repeat(1_000_000);
    assert.throws(
      () => assertValidOrder({ ...valid, orderId, priceCents: -(10n ** 150n) }),
      (error: unknown) =>
        error instanceof InvalidOrderError &&
        error.message.length < 400 &&
        error.message.includes('(1000000 bytes)') &&
        /below -999999999999/.test(error.message),
    );
  });
});
