import avro from 'avsc';

/**
 * Avro `decimal` (bytes, big-endian two's complement, fixed scale) as a bigint
 * count of the smallest unit. avsc leaves logical types to the application;
 * without this, prices would arrive as raw Buffers.
 */
export class DecimalType extends avro.types.LogicalType {
  readonly scale: number;

  constructor(schema: avro.Schema, opts?: avro.ForSchemaOptions) {
    super(schema, opts);
    const scale = (schema as { scale?: unknown }).scale;
    this.scale = typeof scale === 'number' ? scale : 0;
  }

  protected override _fromValue(value: Buffer): bigint {
    if (value.length === 0) return 0n;
    // Up to 6 bytes (±1.4e14 cents) fit a double exactly: one signed read, one BigInt.
    if (value.length <= 6) return BigInt(value.readIntBE(0, value.length));
    let result = 0n;
    for (const byte of value) result = (result << 8n) | BigInt(byte);
    const first = value[0] ?? 0;
    // Sign-extend: the most significant bit of the first byte is the sign.
    return first & 0x80 ? result - (1n << BigInt(value.length * 8)) : result;
  }

  protected override _toValue(value: unknown): Buffer {
    if (typeof value !== 'bigint') throw new TypeError(`decimal value must be a bigint, got ${typeof value}`);
    let length = 1;
    while (value >= 1n << BigInt(length * 8 - 1) || value < -(1n << BigInt(length * 8 - 1))) length += 1;
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

export const LOGICAL_TYPES = { decimal: DecimalType } as const;
