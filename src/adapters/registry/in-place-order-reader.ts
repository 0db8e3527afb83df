import type avro from 'avsc';
import { isAsciiWhiteSpace, isValidCreatedAt, isValidPrice, TEXT_FIELDS } from '../../domain/order.js';
import type { GoodOrderFields } from '../../ports/processing.js';

/**
 * The field layout the reader knows: order.avsc's fields, in order, with their binary encodings.
 * When the schema changes, the in-place path turns itself off until it is taught the new layout.
 */
const LAYOUT = JSON.stringify([
  ['orderId', 'string'],
  ['product', 'string'],
  ['price', { type: 'bytes', logicalType: 'decimal', precision: 12, scale: 2 }],
  ['createdAt', { type: 'long', logicalType: 'timestamp-millis' }],
]);

/** The most bytes of each text field, in field order (a plain array of numbers, read per record). */
const TEXT_MAX_BYTES: readonly number[] = TEXT_FIELDS.map((field) => field.maxBytes);

/** Longs the reader reads itself: 7 varint bytes, 49 bits, past the year 10000 in ms. */
const MAX_VARINT_BYTES = 7;

/** Up to 6 bytes, a decimal reads exactly as a double (one readIntBE). */
const MAX_PRICE_BYTES = 6;

/**
 * Reads good orders where they lie, in the fetched buffer: the consumer's fast path for orders written
 * with our own schema. It applies every rule of a valid order (domain/order.ts) to the bytes and makes
 * no object and no string. False says nothing is wrong, only "not here": the full decode and
 * assertValidOrder then give the order or the reason (malformed bytes, an invalid order). Some good
 * orders are left to them too: ids with any non-ASCII byte, prices encoded in over 6 bytes, times past
 * 2^48 ms. Unit tests hold it to the full decode and assertValidOrder on every kind of input.
 */
export class InPlaceOrderReader {
  /** Where the last varint read ended: the reader's cursor, so reading a number allocates nothing. */
  #pos = 0;

  /** Whether records of `schema` (the reader schema) have the layout this reader knows. */
  static reads(schema: avro.Schema): boolean {
    const { fields } = schema as { fields?: { name: string; type: unknown }[] };
    return JSON.stringify((fields ?? []).map((f) => [f.name, f.type])) === LAYOUT;
  }

  /**
   * True when the Avro body of `value` from `start` on is a good order in our own schema's layout, its
   * price and time then in `into`.
   */
  read(value: Buffer, start: number, into: GoodOrderFields): boolean {
    const end = value.length;
    this.#pos = start;
    for (let field = 0; field < TEXT_MAX_BYTES.length; field += 1) {
      const maxBytes = TEXT_MAX_BYTES[field] ?? 0;
      // A length within its bound, then ASCII with a character trim() keeps. Only ASCII: its length in
      // bytes is then the decoded string's, which assertValidOrder bounds (an invalid UTF-8 byte decodes to 3).
      const length = this.#varint(value, end);
      if (length < 0 || length > maxBytes) return false;
      const stop = this.#pos + length;
      if (stop > end || !hasVisibleAsciiOnly(value, this.#pos, stop)) return false;
      this.#pos = stop;
    }
    const priceLength = this.#varint(value, end);
    const pos = this.#pos;
    // A 0-byte decimal is 0, which is not a valid price.
    if (priceLength < 1 || priceLength > MAX_PRICE_BYTES || pos + priceLength > end) return false;
    const priceCents = value.readIntBE(pos, priceLength);
    if (!isValidPrice(priceCents)) return false;
    this.#pos = pos + priceLength;
    const createdAtMs = this.#varint(value, end);
    // Negative (an invalid time) and truncated longs read as -1; trailing data is a DecodeError.
    if (!isValidCreatedAt(createdAtMs) || this.#pos !== end) return false;
    into.priceCents = priceCents;
    into.createdAtMs = createdAtMs;
    return true;
  }

  /**
   * A non-negative zig-zag varint (Avro int or long) at the cursor, at most MAX_VARINT_BYTES long; the
   * cursor moves past it. -1 for a negative, longer or truncated one: the caller then says "not here".
   */
  #varint(buf: Buffer, end: number): number {
    let pos = this.#pos;
    let value = 0;
    let scale = 1;
    for (let i = 0; i < MAX_VARINT_BYTES && pos < end; i += 1) {
      const byte = buf[pos] ?? 0;
      pos += 1;
      value += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) {
        this.#pos = pos;
        // Even zig-zag values are the non-negative numbers.
        return value % 2 === 0 ? value / 2 : -1;
      }
      scale *= 128;
    }
    return -1;
  }
}

/**
 * Whether the bytes are ASCII only, with a character that String.prototype.trim() keeps. Any other
 * byte is left to the full decode (trim() removes some non-ASCII characters too, such as U+00A0), so
 * false means "cannot tell here", not "invalid".
 */
function hasVisibleAsciiOnly(buf: Buffer, start: number, stop: number): boolean {
  let kept = false;
  for (let i = start; i < stop; i += 1) {
    const byte = buf[i] ?? 0;
    if (byte >= 0x80) return false;
    if (!isAsciiWhiteSpace(byte)) kept = true;
  }
  return kept;
}
