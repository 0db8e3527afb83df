import { readFileSync } from 'node:fs';
import avro from 'avsc';
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { DecodeError, WireFormatError } from '../../errors.js';
import type { Order } from '../../domain/order.js';
import type { GoodOrderFields, OrderDecoder } from '../../ports/processing.js';
import { LOGICAL_TYPES } from './decimal-type.js';
import { InPlaceOrderReader } from './in-place-order-reader.js';
import { registryCallFailed, registryStatus } from './registry-errors.js';
import { registerSchema, type RegistrationOptions } from './subject-registration.js';
import { WriterSchemas, type WriterResolution, type WriterSchemaOptions } from './writer-schemas.js';

export const ORDER_SCHEMA_PATH = new URL('../../../schemas/order.avsc', import.meta.url);

/** The subject name follows Confluent's TopicNameStrategy: `<topic>-value`. */
export const subjectFor = (topic: string): string => `${topic}-value`;

const MAGIC_BYTE = 0;
const HEADER_LENGTH = 5;
/** Room for a framed order with ids and product names of up to about 20 characters each (26 B on average). */
const ENCODE_GUESS_BYTES = 64;

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

export interface OrderCodecOptions {
  /** How the producer gets its schema id; by default it looks the schema up and registers it when missing. */
  readonly registration?: RegistrationOptions;
  readonly writerSchemas?: WriterSchemaOptions;
}

const DEFAULT_REGISTRATION: RegistrationOptions = { autoRegister: true, compatibility: undefined };

/**
 * Encodes orders with the registered schema and decodes any writer schema the registry knows into
 * our reader schema. Writer schemas are resolved once per id and kept in a bounded cache, so the
 * registry is asked once per schema, not per record. Decoding takes time linear in the record's
 * size whatever its bytes (avsc's bounded blocks, patches/; our decimal's length cap), and every
 * failure of it is a DecodeError.
 */
export class OrderCodec implements OrderDecoder {
  readonly #registry: SchemaRegistry;
  readonly #readerType: avro.Type;
  readonly #writers: WriterSchemas;
  readonly #registration: RegistrationOptions;
  #writerSchemaId: number | undefined;
  /** Undefined once order.avsc no longer has the layout the in-place reader knows. */
  readonly #inPlace: InPlaceOrderReader | undefined;

  constructor(registry: SchemaRegistry, options: OrderCodecOptions = {}) {
    this.#registry = registry;
    const schema = loadOrderSchema();
    this.#readerType = avro.Type.forSchema(schema, { logicalTypes: LOGICAL_TYPES });
    this.#inPlace = InPlaceOrderReader.reads(schema) ? new InPlaceOrderReader() : undefined;
    this.#writers = new WriterSchemas(registry, this.#readerType, options.writerSchemas);
    this.#registration = options.registration ?? DEFAULT_REGISTRATION;
  }

  /** Whether readGoodOrder can say yes at all (false once order.avsc no longer has the layout it reads). */
  get readsInPlace(): boolean {
    return this.#inPlace !== undefined;
  }

  /** How many writer schema ids the cache holds (bounded). */
  get cachedSchemaIds(): number {
    return this.#writers.size;
  }

  /**
   * The id of the order schema under `<topic>-value`, registered first when the subject lacks it and
   * registering is allowed (see registerSchema); encode() writes with it.
   */
  async register(topic: string): Promise<number> {
    const id = await registerSchema(
      this.#registry,
      subjectFor(topic),
      JSON.stringify(loadOrderSchema()),
      this.#registration,
    );
    this.#writerSchemaId = id;
    return id;
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
      throw registryCallFailed(`looking up ${subjectFor(topic)}`, error);
    }
    await this.#writers.resolve(id);
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
    // Header and body written into one buffer, with no intermediate body buffer to copy; an order that
    // does not fit the guess (long ids or product names) is encoded the long way.
    const out = Buffer.allocUnsafe(ENCODE_GUESS_BYTES);
    out.writeUInt8(MAGIC_BYTE, 0);
    out.writeInt32BE(this.#writerSchemaId, 1);
    const end = this.#readerType.encode(record, out, HEADER_LENGTH);
    if (end >= 0) return out.subarray(0, end);
    return frame(this.#writerSchemaId, this.#readerType.toBuffer(record));
  }

  async decode(value: Buffer | null): Promise<Order> {
    const schemaId = framedSchemaId(value);
    return this.#read(schemaId, value as Buffer, await this.#writers.resolve(schemaId));
  }

  decodeCached(value: Buffer | null): Order | undefined {
    const schemaId = framedSchemaId(value);
    const resolution = this.#writers.ready(schemaId);
    return resolution === undefined ? undefined : this.#read(schemaId, value as Buffer, resolution);
  }

  /**
   * True when `value` is an order written with our own schema under a cached id, and it passes every
   * rule of assertValidOrder: its price and time are then in `into`, and no object or string was made
   * (InPlaceOrderReader). False says only "not here": decodeCached/decode and assertValidOrder then
   * give the order or the reason.
   */
  readGoodOrder(value: Buffer | null, into: GoodOrderFields): boolean {
    const reader = this.#inPlace;
    if (reader === undefined || value === null || value.length < HEADER_LENGTH || value[0] !== MAGIC_BYTE)
      return false;
    // Only ids written with our own schema: a resolver's writer may lay the fields out otherwise.
    const resolution = this.#writers.ready(value.readInt32BE(1));
    if (resolution === undefined || resolution.resolver !== undefined) return false;
    return reader.read(value, HEADER_LENGTH, into);
  }

  /** Reads the Avro body after the 5-byte header in place (no sub-buffer per record). */
  #read(schemaId: number, framed: Buffer, resolution: WriterResolution): Order {
    let decoded: { value: unknown; offset: number };
    try {
      decoded = this.#readerType.decode(framed, HEADER_LENGTH, resolution.resolver);
    } catch (error) {
      // avsc throws on a bad union or enum index, our decimal on an oversized one, V8 on nesting too deep.
      const reason =
        error instanceof RangeError && /call stack/i.test(error.message)
          ? 'nested too deeply'
          : (error instanceof Error ? error.message : String(error)).slice(0, 200);
      throw new DecodeError(`schema id ${schemaId}: ${reason}`, { cause: error });
    }
    if (decoded.offset < 0) throw new DecodeError(`schema id ${schemaId}: truncated or malformed`);
    if (decoded.offset < framed.length) throw new DecodeError(`schema id ${schemaId}: trailing data`);
    const record = decoded.value as AvroOrder;
    return {
      orderId: record.orderId,
      product: record.product,
      priceCents: record.price,
      createdAtMs: record.createdAt,
    };
  }
}
