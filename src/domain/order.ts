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

/** MAX_PRICE_CENTS as a number (exact: below 2^40), so a check of a price read as a number makes no BigInt. */
const MAX_PRICE = Number(MAX_PRICE_CENTS);

/**
 * The longest orderId, in UTF-8 bytes. The id travels as the record key, into the changelog's
 * last-order field, log lines and dead-letter messages, and may become a metric exemplar label, whose
 * label set OpenMetrics caps at 128 characters: 64 bytes leave room for the label name.
 */
export const MAX_ORDER_ID_BYTES = 64;

/** The longest product name, in UTF-8 bytes: room for a real name, not for a payload. */
export const MAX_PRODUCT_BYTES = 256;

/**
 * The text fields of an order, in the schema's field order, each with the most UTF-8 bytes it may
 * have. Each must also hold a character that String.prototype.trim() keeps.
 */
export const TEXT_FIELDS = [
  { name: 'orderId', maxBytes: MAX_ORDER_ID_BYTES },
  { name: 'product', maxBytes: MAX_PRODUCT_BYTES },
] as const;

// The rules of a valid order, written once: assertValidOrder applies them to a decoded order, and the
// consumer's in-place reader to the bytes of one (adapters/registry/in-place-order-reader.ts).

/**
 * A price an order may have: above zero and within decimal(12,2). A number, so the check of a price
 * read in place makes no BigInt; a bigint price is checked as Number(price), which keeps the answer
 * (every bigint up to 2^53 is exact, and no larger one rounds into the range).
 */
export function isValidPrice(cents: number): boolean {
  return cents > 0 && cents <= MAX_PRICE;
}

/** A createdAt an order may have: a time at or after the epoch (0: the writer did not say). */
export function isValidCreatedAt(ms: number): boolean {
  return Number.isFinite(ms) && ms >= 0;
}

/**
 * Whether the ASCII character `code` is white space that String.prototype.trim() removes (tab, line
 * feed, vertical tab, form feed, carriage return, space): a text field of nothing else is empty.
 */
export function isAsciiWhiteSpace(code: number): boolean {
  return code === 0x20 || (code >= 0x09 && code <= 0x0d);
}

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
  const [orderId, product] = TEXT_FIELDS;
  textProblems(orderId, order.orderId, problems);
  textProblems(product, order.product, problems);
  if (!isValidPrice(Number(order.priceCents)))
    problems.push(
      order.priceCents <= 0n
        ? `price must be above zero (got ${boundedCents(order.priceCents)} cents)`
        : 'price exceeds decimal(12,2)',
    );
  if (!isValidCreatedAt(order.createdAtMs)) problems.push('createdAt is not a valid time');
  if (problems.length > 0) {
    throw new InvalidOrderError(`invalid order ${quoteBounded(order.orderId)}: ${problems.join('; ')}`);
  }
}

/** What is wrong with `text` as the text field `field`, added to `problems`. */
function textProblems(
  field: { readonly name: string; readonly maxBytes: number },
  text: string,
  problems: string[],
): void {
  if (text.trim() === '') problems.push(`${field.name} is empty`);
  else if (Buffer.byteLength(text) > field.maxBytes)
    problems.push(`${field.name} is longer than ${field.maxBytes} bytes`);
}

/** A price for a message: a decimal can hold 154 digits, a message needs no more than 20. */
function boundedCents(cents: Cents): string {
  return cents < -MAX_PRICE_CENTS ? `below -${MAX_PRICE_CENTS.toString()}` : cents.toString();
}
