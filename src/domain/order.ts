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

/**
 * The longest orderId, in UTF-8 bytes. The id travels as the record key, into the changelog's
 * last-order field, log lines and dead-letter messages, and may become a metric exemplar label, whose
 * label set OpenMetrics caps at 128 characters: 64 bytes leave room for the label name.
 */
export const MAX_ORDER_ID_BYTES = 64;

/** The longest product name, in UTF-8 bytes: room for a real name, not for a payload. */
export const MAX_PRODUCT_BYTES = 256;

/** How much of a rejected value an error message quotes: enough to find it, never the whole of it. */
const QUOTED_CHARS = 64;

/**
 * A value for an error message or a log line: JSON-quoted, and cut to its first characters with its
 * size when it is long, so a hostile megabyte never reaches a log or a header whole.
 */
export function quoteBounded(value: string): string {
  if (value.length <= QUOTED_CHARS) return JSON.stringify(value);
  return `${JSON.stringify(value.slice(0, QUOTED_CHARS))}… (${Buffer.byteLength(value)} bytes)`;
}

/** Throws InvalidOrderError naming every rule the order breaks. */
export function assertValidOrder(order: Order): void {
  const problems: string[] = [];
  if (order.orderId.trim() === '') problems.push('orderId is empty');
  else if (Buffer.byteLength(order.orderId) > MAX_ORDER_ID_BYTES)
    problems.push(`orderId is longer than ${MAX_ORDER_ID_BYTES} bytes`);
  if (order.product.trim() === '') problems.push('product is empty');
  else if (Buffer.byteLength(order.product) > MAX_PRODUCT_BYTES)
    problems.push(`product is longer than ${MAX_PRODUCT_BYTES} bytes`);
  if (order.priceCents <= 0n)
    problems.push(`price must be above zero (got ${boundedCents(order.priceCents)} cents)`);
  if (order.priceCents > MAX_PRICE_CENTS) problems.push('price exceeds decimal(12,2)');
  if (!Number.isFinite(order.createdAtMs) || order.createdAtMs < 0)
    problems.push('createdAt is not a valid time');
  if (problems.length > 0) {
    throw new InvalidOrderError(`invalid order ${quoteBounded(order.orderId)}: ${problems.join('; ')}`);
  }
}

/** A price for a message: a decimal can hold 154 digits, a message needs no more than 20. */
function boundedCents(cents: Cents): string {
  return cents < -MAX_PRICE_CENTS ? `below -${MAX_PRICE_CENTS.toString()}` : cents.toString();
}
