import { InvalidOrderError } from '../errors.js';
import type { Cents } from './money.js';

export interface Order {
  readonly orderId: string;
  readonly product: string;
  readonly priceCents: Cents;
  /** Milliseconds since the epoch; 0 when the writer did not say. */
  readonly createdAtMs: number;
}

/** Largest price the schema's decimal(12,2) can carry: 9,999,999,999.99. */
export const MAX_PRICE_CENTS: Cents = 999_999_999_999n;

/** Throws InvalidOrderError naming every rule the order breaks. */
export function assertValidOrder(order: Order): void {
  const problems: string[] = [];
  if (order.orderId.trim() === '') problems.push('orderId is empty');
  if (order.product.trim() === '') problems.push('product is empty');
  if (order.priceCents <= 0n)
    problems.push(`price must be above zero (got ${order.priceCents.toString()} cents)`);
  if (order.priceCents > MAX_PRICE_CENTS) problems.push('price exceeds decimal(12,2)');
  if (!Number.isFinite(order.createdAtMs) || order.createdAtMs < 0)
    problems.push('createdAt is not a valid time');
  if (problems.length > 0) {
    throw new InvalidOrderError(`invalid order ${JSON.stringify(order.orderId)}: ${problems.join('; ')}`);
  }
}
