import { readFileSync } from 'node:fs';
import avro from 'avsc';
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { COMPATIBILITY } from '@kafkajs/confluent-schema-registry';
import { DecodeError, RegistryUnavailableError, UnknownSchemaError, WireFormatError } from '../../errors.js';
import { MAX_PRICE_CENTS, type Order } from '../../domain/order.js';
import { LOGICAL_TYPES } from './decimal-type.js';

export const ORDER_SCHEMA_PATH = new URL('../../../schemas/order.avsc', import.meta.url);

/** The subject name follows Confluent's TopicNameStrategy: `<topic>-value`. */
export const subjectFor = (topic: string): string => `${topic}-value`;

const MAGIC_BYTE = 0;
const HEADER_LENGTH = 5;

/** How to read a writer schema's records: directly when it is our schema, else through a resolver. */
interface WriterResolution {
  readonly resolver: avro.Resolver | undefined;
}

/** What the aggregate needs of a good order, read in place by OrderCodec.readGoodOrder. */
export interface GoodOrderFields {
  /** Exact: a valid price is at most MAX_PRICE_CENTS, below 2^40. */
  priceCents: number;
  createdAtMs: number;
}

/**
 * The field layout readGoodOrder knows: order.avsc's fields, in order, with their binary encodings.
 * When the schema changes, the in-place path turns itself off until it is taught the new layout.
 */
const IN_PLACE_LAYOUT = JSON.stringify([
  ['orderId', 'string'],
  ['product', 'string'],
  ['price', { type: 'bytes', logicalType: 'decimal', precision: 12, scale: 2 }],
  ['createdAt', { type: 'long', logicalType: 'timestamp-millis' }],
]);

function fieldLayout(schema: avro.Schema): string {
  const { fields } = schema as { fields?: { name: string; type: unknown }[] };
  return JSON.stringify((fields ?? []).map((f) => [f.name, f.type]));
}

const MAX_PRICE = Number(MAX_PRICE_CENTS);
/** Longs readGoodOrder reads itself: 7 varint bytes, 49 bits, past the year 10000 in ms. */
const MAX_VARINT_BYTES = 7;

interface AvroOrder {
  orderId: string;
  product: string;
  price: bigint;
  createdAt: number;
}

export function loadOrderSchema(): avro.Schema {
  return JSON.parse(readFileSync(ORDER_SCHEMA_PATH, 'utf8')) as avro.Schema;
}

/** Confluent wire format: magic byte 0, 4-byte big-endian schema id, Avro binary. */
export function frame(schemaId: number, payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(HEADER_LENGTH + payload.length);
  out.writeUInt8(MAGIC_BYTE, 0);
  out.writeInt32BE(schemaId, 1);
  payload.copy(out, HEADER_LENGTH);
  return out;
}

export function unframe(value: Buffer | null): { schemaId: number; payload: Buffer } {
  const schemaId = framedSchemaId(value);
  return { schemaId, payload: (value as Buffer).subarray(HEADER_LENGTH) };
}

/** The schema id of a Confluent-framed value; throws WireFormatError on anything else. */
function framedSchemaId(value: Buffer | null): number {
  if (value === null || value.length < HEADER_LENGTH) {
    throw new WireFormatError(
      `value is ${value === null ? 'null' : `${value.length} bytes`}; Confluent framing needs at least ${HEADER_LENGTH}`,
    );
  }
  if (value[0] !== MAGIC_BYTE) {
    throw new WireFormatError(`magic byte is ${value[0] ?? 'missing'}, expected ${MAGIC_BYTE}`);
  }
  return value.readInt32BE(1);
}

const fullSchema = (type: avro.Type): string => JSON.stringify(type.schema({ exportAttrs: true }));
const sameSchema = (a: avro.Type, b: avro.Type): boolean => fullSchema(a) === fullSchema(b);

/** The registry client reports transport failures as status 400 with no body, so only 404 means "unknown". */
function registryStatus(error: unknown): number | undefined {
  if (typeof error === 'object' && error !== null && 'status' in error) {
    const status = error.status;
    return typeof status === 'number' ? status : undefined;
  }
  return undefined;
}

/**
 * Encodes orders with the registered schema and decodes any writer schema
 * the registry knows into our reader schema. Writer schemas and resolvers
 * are cached per id, so the registry is asked once per schema, not per record.
 */
export class OrderCodec {
  readonly #registry: SchemaRegistry;
  readonly #readerType: avro.Type;
  readonly #resolvers = new Map<number, Promise<WriterResolution>>();
  /** The resolvers that have arrived, for decoding without an await. */
  readonly #readyResolvers = new Map<number, WriterResolution>();
  #writerSchemaId: number | undefined;
  readonly #inPlace: boolean;

  constructor(registry: SchemaRegistry) {
    this.#registry = registry;
    const schema = loadOrderSchema();
    this.#readerType = avro.Type.forSchema(schema, { logicalTypes: LOGICAL_TYPES });
    this.#inPlace = fieldLayout(schema) === IN_PLACE_LAYOUT;
  }

  /** Whether readGoodOrder can say yes at all (false once order.avsc no longer has the layout it reads). */
  get readsInPlace(): boolean {
    return this.#inPlace;
  }

  /** Registers the order schema under `<topic>-value` with BACKWARD compatibility; returns its id. */
  async register(topic: string): Promise<number> {
    try {
      const { id } = await this.#registry.register(
        { type: 'AVRO' as never, schema: JSON.stringify(loadOrderSchema()) },
        { subject: subjectFor(topic), compatibility: COMPATIBILITY.BACKWARD },
      );
      this.#writerSchemaId = id;
      return id;
    } catch (error) {
      throw new RegistryUnavailableError(`could not register ${subjectFor(topic)}: ${String(error)}`, {
        cause: error,
      });
    }
  }

  /**
   * Fetches and caches the latest schema of `<topic>-value`, so the first record written with it
   * decodes without waiting for the registry. Undefined when nothing is registered there yet.
   */
  async preload(topic: string): Promise<number | undefined> {
    let id: number;
    try {
      id = await this.#registry.getLatestSchemaId(subjectFor(topic));
    } catch (error) {
      if (registryStatus(error) === 404) return undefined;
      throw new RegistryUnavailableError(`could not look up ${subjectFor(topic)}: ${String(error)}`, {
        cause: error,
      });
    }
    await this.#resolverFor(id);
    return id;
  }

  get writerSchemaId(): number | undefined {
    return this.#writerSchemaId;
  }

  encode(order: Order): Buffer {
    if (this.#writerSchemaId === undefined) throw new Error('register() must run before encode()');
    const record: AvroOrder = {
      orderId: order.orderId,
      product: order.product,
      price: order.priceCents,
      createdAt: order.createdAtMs,
    };
    return frame(this.#writerSchemaId, this.#readerType.toBuffer(record));
  }

  async decode(value: Buffer | null): Promise<Order> {
    const schemaId = framedSchemaId(value);
    return this.#read(schemaId, value as Buffer, await this.#resolverFor(schemaId));
  }

  decodeCached(value: Buffer | null): Order | undefined {
    const schemaId = framedSchemaId(value);
    const resolution = this.#readyResolvers.get(schemaId);
    return resolution === undefined ? undefined : this.#read(schemaId, value as Buffer, resolution);
  }

  /**
   * True when `value` is an order written with our own schema under a cached id, and it passes every
   * rule of assertValidOrder: its price and time are then in `into`, and no object or string was made.
   * False says nothing is wrong, only "not here": decodeCached/decode and assertValidOrder then give
   * the order or the reason (malformed bytes, unknown schema, invalid order). Some good orders are
   * left to them too: ids of non-ASCII characters only, prices encoded in over 6 bytes, times past
   * 2^48 ms. Unit tests hold it to decodeCached + assertValidOrder on every kind of input.
   */
  readGoodOrder(value: Buffer | null, into: GoodOrderFields): boolean {
    if (!this.#inPlace || value === null || value.length < HEADER_LENGTH || value[0] !== MAGIC_BYTE)
      return false;
    // Only ids written with our own schema: a resolver's writer may lay the fields out otherwise.
    const resolution = this.#readyResolvers.get(value.readInt32BE(1));
    if (resolution === undefined || resolution.resolver !== undefined) return false;
    const end = value.length;
    let pos = HEADER_LENGTH;
    for (let field = 0; field < 2; field += 1) {
      // orderId, then product: a length, then UTF-8 that must hold a character trim() keeps.
      const length = readVarint(value, pos, end);
      if (length < 0) return false;
      pos = nextPos;
      const stop = pos + length;
      if (stop > end || !hasAsciiNonSpace(value, pos, stop)) return false;
      pos = stop;
    }
    const priceLength = readVarint(value, pos, end);
    pos = nextPos;
    // Up to 6 bytes reads exactly as a double; a 0-byte decimal is 0, which is not a valid price.
    if (priceLength < 1 || priceLength > 6 || pos + priceLength > end) return false;
    const priceCents = value.readIntBE(pos, priceLength);
    if (priceCents <= 0 || priceCents > MAX_PRICE) return false;
    pos += priceLength;
    const createdAtMs = readVarint(value, pos, end);
    // Negative (an invalid time) and truncated longs read as -1; trailing data is a DecodeError.
    if (createdAtMs < 0 || nextPos !== end) return false;
    into.priceCents = priceCents;
    into.createdAtMs = createdAtMs;
    return true;
  }

  /** Reads the Avro body after the 5-byte header in place (no sub-buffer per record). */
  #read(schemaId: number, framed: Buffer, resolution: WriterResolution): Order {
    const decoded = this.#readerType.decode(framed, HEADER_LENGTH, resolution.resolver);
    if (decoded.offset < 0) throw new DecodeError(`schema id ${schemaId}: truncated buffer`);
    if (decoded.offset < framed.length) throw new DecodeError(`schema id ${schemaId}: trailing data`);
    const record = decoded.value as AvroOrder;
    return {
      orderId: record.orderId,
      product: record.product,
      priceCents: record.price,
      createdAtMs: record.createdAt,
    };
  }

  #resolverFor(schemaId: number): Promise<WriterResolution> {
    const cached = this.#resolvers.get(schemaId);
    if (cached) return cached;
    const pending = this.#fetchResolver(schemaId);
    this.#resolvers.set(schemaId, pending);
    pending.then(
      (resolver) => this.#readyResolvers.set(schemaId, resolver),
      () => undefined,
    );
    // A transient failure must not be cached, or the id would stay broken after the registry recovers.
    pending.catch((error: unknown) => {
      if (error instanceof RegistryUnavailableError) this.#resolvers.delete(schemaId);
    });
    return pending;
  }

  async #fetchResolver(schemaId: number): Promise<WriterResolution> {
    let writer: avro.Type;
    try {
      writer = (await this.#registry.getSchema(schemaId)) as avro.Type;
    } catch (error) {
      if (registryStatus(error) === 404) {
        throw new UnknownSchemaError(`schema id ${schemaId} is not in the registry`, { cause: error });
      }
      throw new RegistryUnavailableError(`could not fetch schema id ${schemaId}: ${String(error)}`, {
        cause: error,
      });
    }
    if (!(writer instanceof avro.Type)) {
      throw new DecodeError(`schema id ${schemaId} is not an Avro schema`);
    }
    // The usual case (the producer wrote our own schema) reads directly, without a resolver's indirection.
    // Canonical equality (Type.equals) would ignore a decimal's scale, so the full schemas are compared.
    if (sameSchema(writer, this.#readerType)) return { resolver: undefined };
    try {
      return { resolver: this.#readerType.createResolver(writer) };
    } catch (error) {
      throw new DecodeError(`schema id ${schemaId} cannot be read as an Order: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }
}

/** Where readVarint stopped: module state, so reading a number allocates nothing. */
let nextPos = 0;

/**
 * A non-negative zig-zag varint (Avro int or long) at buf[pos], at most MAX_VARINT_BYTES long; its
 * end goes to nextPos. -1 for a negative, longer or truncated one: the caller then says "not here".
 */
function readVarint(buf: Buffer, pos: number, end: number): number {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < MAX_VARINT_BYTES && pos < end; i += 1) {
    const byte = buf[pos] ?? 0;
    pos += 1;
    value += (byte & 0x7f) * scale;
    if ((byte & 0x80) === 0) {
      nextPos = pos;
      // Even zig-zag values are the non-negative numbers.
      return value % 2 === 0 ? value / 2 : -1;
    }
    scale *= 128;
  }
  return -1;
}

/**
 * Whether UTF-8 bytes hold an ASCII character that String.prototype.trim() keeps: anything but
 * \t \n \v \f \r and space. Non-ASCII bytes are left to the full decode (trim() removes some of
 * those characters too, such as U+00A0), so false means "cannot tell here", not "blank".
 */
function hasAsciiNonSpace(buf: Buffer, start: number, stop: number): boolean {
  for (let i = start; i < stop; i += 1) {
    const byte = buf[i] ?? 0;
    if (byte < 0x80 && byte !== 0x20 && (byte < 0x09 || byte > 0x0d)) return true;
  }
  return false;
}
