import avro from 'avsc';

/** Two's complement in 6 bytes (Buffer#writeIntBE's widest) holds [-2^47, 2^47). */
const SIX_BYTES = 1n << 47n;

/**
 * Avro `decimal` (big-endian two's complement, fixed scale) as a bigint count of the smallest unit,
 * over `bytes` (our schema) or `fixed` (what other writers may use). avsc leaves logical types to the
 * application; without this, prices would arrive as raw Buffers.
 */
export class DecimalType extends avro.types.LogicalType {
  readonly scale: number;
  readonly precision: number | undefined;
  /** The size of the underlying `fixed`; undefined over `bytes`, whose length comes first. */
  readonly #fixedSize: number | undefined;

  constructor(schema: avro.Schema, opts?: avro.ForSchemaOptions) {
    super(schema, opts);
    const { scale, precision } = schema as { scale?: unknown; precision?: unknown };
    this.scale = typeof scale === 'number' ? scale : 0;
    this.precision = typeof precision === 'number' ? precision : undefined;
    const underlying = this.underlyingType as avro.Type & { size?: number };
    this.#fixedSize = underlying.typeName === 'fixed' ? underlying.size : undefined;
  }

  /** With `exportAttrs`, a schema keeps its decimal's precision and scale (avsc exports none by default). */
  protected override _export(schema: avro.Schema): void {
    // avsc hands _export the type's schema object, never a bare type name.
    const attrs = schema as Record<string, unknown>;
    if (this.precision !== undefined) attrs['precision'] = this.precision;
    attrs['scale'] = this.scale;
  }

  protected override _fromValue(value: Buffer): bigint {
    return decimalFromBytes(value, 0, value.length);
  }

  /**
   * avsc's own read copies the bytes into a new Buffer only for _fromValue to read them once; this
   * reads them where they are. avsc calls `_read` on every type (resolvers included), so the decoded
   * value is the same.
   */
  _read(tap: AvroTap): bigint {
    const length = this.#fixedSize ?? tap.readLong();
    const start = tap.pos;
    tap.pos += length;
    if (length < 0 || tap.pos > tap.buf.length) {
      // An invalid tap makes avsc reject the whole record as truncated; the value is never used.
      tap.pos = tap.buf.length + 1;
      return 0n;
    }
    return decimalFromBytes(tap.buf, start, tap.pos);
  }

  protected override _toValue(value: unknown): Buffer {
    if (typeof value !== 'bigint') throw new TypeError(`decimal value must be a bigint, got ${typeof value}`);
    // Up to 6 bytes (every price the domain allows) in Number arithmetic: the BigInt loop below costs
    // the producer more than the rest of the Avro encoding.
    if (value >= -SIX_BYTES && value < SIX_BYTES) {
      const n = Number(value);
      let length = 1;
      while (length < 6 && (n >= 2 ** (length * 8 - 1) || n < -(2 ** (length * 8 - 1)))) length += 1;
      if (this.#fixedSize === undefined || this.#fixedSize === length) {
        const out = Buffer.allocUnsafe(length);
        out.writeIntBE(n, 0, length);
        return out;
      }
    }
    let length = 1;
    while (value >= 1n << BigInt(length * 8 - 1) || value < -(1n << BigInt(length * 8 - 1))) length += 1;
    if (this.#fixedSize !== undefined) {
      if (length > this.#fixedSize)
        throw new RangeError(`decimal ${value} does not fit fixed(${this.#fixedSize})`);
      // A fixed decimal is sign-extended to its size.
      length = this.#fixedSize;
    }
    const out = Buffer.alloc(length);
    let rest = value < 0n ? (1n << BigInt(length * 8)) + value : value;
    for (let i = length - 1; i >= 0; i -= 1) {
      out[i] = Number(rest & 0xffn);
      rest >>= 8n;
    }
    return out;
  }

  protected override _resolve(type: avro.Type): ((value: unknown) => unknown) | undefined {
    // Only the same scale resolves: a different scale would silently change amounts.
    if (type instanceof DecimalType && type.scale === this.scale) return (value) => value;
    return undefined;
  }
}

/** The part of avsc's (untyped) Tap that a type's `_read` uses. */
interface AvroTap {
  readonly buf: Buffer;
  pos: number;
  readLong(): number;
}

/**
 * The most significant bytes a decimal may carry once its redundant sign bytes are dropped: 64 bytes
 * hold 154 digits, far beyond any amount. The bound keeps a hostile decimal of a megabyte from costing
 * more than one pass over its bytes.
 */
export const MAX_DECIMAL_BYTES = 64;

/** A decimal longer than MAX_DECIMAL_BYTES: thrown from inside avsc's read, reported as a decode failure. */
export class OversizedDecimalError extends RangeError {
  constructor(readonly significantBytes: number) {
    super(
      `a decimal of ${significantBytes} significant bytes is beyond any amount (at most ${MAX_DECIMAL_BYTES})`,
    );
    this.name = 'OversizedDecimalError';
  }
}

/** Big-endian two's complement in buf[start, end) as a bigint, in time linear in its length. */
function decimalFromBytes(buf: Buffer, start: number, end: number): bigint {
  const length = end - start;
  if (length === 0) return 0n;
  // Up to 6 bytes (±1.4e14 cents) fit a double exactly: one signed read, one BigInt.
  if (length <= 6) return BigInt(buf.readIntBE(start, length));
  const negative = ((buf[start] ?? 0) & 0x80) !== 0;
  // Leading 0x00 (or 0xff) bytes only repeat the sign: writers that pad to a fixed width send them.
  const fill = negative ? 0xff : 0x00;
  let first = start;
  while (first < end - 1 && buf[first] === fill && ((buf[first + 1] ?? 0) & 0x80) === (fill & 0x80))
    first += 1;
  const significant = end - first;
  if (significant > MAX_DECIMAL_BYTES) throw new OversizedDecimalError(significant);
  if (significant <= 6) return BigInt(buf.readIntBE(first, significant));
  const magnitude = BigInt(`0x${buf.toString('hex', first, end)}`);
  // Sign-extend: the most significant bit of the first byte is the sign.
  return negative ? magnitude - (1n << BigInt(significant * 8)) : magnitude;
}

export const LOGICAL_TYPES = { decimal: DecimalType } as const;
