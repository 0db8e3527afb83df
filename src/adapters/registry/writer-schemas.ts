import avro from 'avsc';
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import {
  DecodeError,
  RegistryUnavailableError,
  UnknownSchemaError,
  type OrderSystemError,
} from '../../errors.js';
import { LOGICAL_TYPES } from './decimal-type.js';
import { registryApi } from './registry-api.js';
import { registryCallFailed, registryStatus } from './registry-errors.js';

/** How to read a writer schema's records: directly when it is our schema, else through a resolver. */
export interface WriterResolution {
  readonly resolver: avro.Resolver | undefined;
}

/** Most schema ids kept, readable or refused: a record may name any id, the memory must stay bounded. */
export const WRITER_SCHEMA_CACHE_SIZE = 1000;

/**
 * How long "the registry does not know this id" is believed. Short, because the id may be about to
 * exist (a registry replica behind its leader); long enough that a flood of records naming it costs
 * one lookup, not one per record.
 */
export const UNKNOWN_SCHEMA_TTL_MS = 10_000;

export interface WriterSchemaOptions {
  readonly maxEntries?: number;
  readonly unknownTtlMs?: number;
  readonly now?: () => number;
}

interface Refusal {
  readonly error: OrderSystemError;
  /** performance.now() until which it stands. */
  readonly until: number;
}

/**
 * Writer schemas by id, resolved against our reader schema, fetched from the registry once each.
 * - Readable ids are kept, at most `maxEntries` (the oldest goes first: ids are immutable, and one
 *   evicted by a flood of others is simply fetched again).
 * - An id the registry does not know is remembered for UNKNOWN_SCHEMA_TTL_MS; a schema that cannot
 *   be read as an order is remembered like a readable one (a schema id never changes).
 * - A registry that cannot answer (down, slow, refusing our credentials) is never remembered: the
 *   record waits and asks again.
 */
export class WriterSchemas {
  readonly #registry: SchemaRegistry;
  readonly #readerType: avro.Type;
  readonly #maxEntries: number;
  readonly #unknownTtlMs: number;
  readonly #now: () => number;
  readonly #ready = new Map<number, WriterResolution>();
  readonly #refused = new Map<number, Refusal>();
  readonly #pending = new Map<number, Promise<WriterResolution>>();

  constructor(registry: SchemaRegistry, readerType: avro.Type, options: WriterSchemaOptions = {}) {
    this.#registry = registry;
    this.#readerType = readerType;
    this.#maxEntries = options.maxEntries ?? WRITER_SCHEMA_CACHE_SIZE;
    this.#unknownTtlMs = options.unknownTtlMs ?? UNKNOWN_SCHEMA_TTL_MS;
    this.#now = options.now ?? (() => performance.now());
  }

  /** The resolution of `id` when it is at hand: the hot path, no promise, no I/O. */
  ready(id: number): WriterResolution | undefined {
    return this.#ready.get(id);
  }

  /** How many ids are kept, readable and refused. */
  get size(): number {
    return this.#ready.size + this.#refused.size;
  }

  /** The resolution of `id`, asking the registry at most once at a time per id. */
  resolve(id: number): Promise<WriterResolution> {
    const ready = this.#ready.get(id);
    if (ready) return Promise.resolve(ready);
    const refusal = this.#refused.get(id);
    if (refusal && refusal.until > this.#now()) return Promise.reject(refusal.error);
    if (refusal) this.#refused.delete(id);
    let pending = this.#pending.get(id);
    if (!pending) {
      pending = this.#fetch(id).then(
        (resolution) => {
          keep(this.#ready, id, resolution, this.#maxEntries);
          return resolution;
        },
        (error: unknown) => {
          if (error instanceof UnknownSchemaError)
            keep(this.#refused, id, { error, until: this.#now() + this.#unknownTtlMs }, this.#maxEntries);
          else if (error instanceof DecodeError)
            keep(this.#refused, id, { error, until: Number.POSITIVE_INFINITY }, this.#maxEntries);
          throw error;
        },
      );
      const settled = pending.finally(() => this.#pending.delete(id));
      settled.catch(() => undefined);
      this.#pending.set(id, pending);
    }
    return pending;
  }

  async #fetch(id: number): Promise<WriterResolution> {
    const writer = await this.#writerType(id);
    // The usual case (the producer wrote our own schema) reads directly, without a resolver's indirection.
    // Canonical equality (Type.equals) would ignore a decimal's scale, so the full schemas are compared.
    try {
      if (fullSchema(writer) === fullSchema(this.#readerType)) return { resolver: undefined };
      return { resolver: this.#readerType.createResolver(writer) };
    } catch (error) {
      throw new DecodeError(`schema id ${id} cannot be read as an Order: ${messageOf(error)}`, {
        cause: error,
      });
    }
  }

  /**
   * The writer schema of `id`. Only an answer that is a registry's (a JSON object with a `schema`)
   * can make the id unknown or its schema unreadable for good; anything else (a proxy's error page,
   * a 404 that is not the registry's "schema not found") is the registry being unreachable, and waits.
   */
  async #writerType(id: number): Promise<avro.Type> {
    let answer: unknown;
    try {
      answer = (await registryApi(this.#registry).Schema.find({ id })).data();
    } catch (error) {
      if (registryStatus(error) === 404 && /schema\b.*\bnot found/i.test(messageOf(error))) {
        throw new UnknownSchemaError(`schema id ${id} is not in the registry`, { cause: error });
      }
      throw registryCallFailed(`fetching schema id ${id}`, error);
    }
    if (
      typeof answer !== 'object' ||
      answer === null ||
      typeof (answer as { schema?: unknown }).schema !== 'string'
    ) {
      throw new RegistryUnavailableError(
        `the answer for schema id ${id} is not a registry's (a proxy in the way?)`,
      );
    }
    const { schema, schemaType, references } = answer as {
      schema: string;
      schemaType?: unknown;
      references?: unknown;
    };
    if (schemaType !== undefined && schemaType !== 'AVRO') {
      throw new DecodeError(
        `schema id ${id} is a ${JSON.stringify(schemaType).slice(0, 40)} schema, not Avro`,
      );
    }
    if (Array.isArray(references) && references.length > 0) return this.#withReferences(id);
    try {
      return avro.Type.forSchema(JSON.parse(schema) as avro.Schema, { logicalTypes: LOGICAL_TYPES });
    } catch (error) {
      // The registry answered with a schema, and it cannot be parsed: that stays so for this id.
      throw new DecodeError(`schema id ${id} cannot be parsed: ${messageOf(error)}`, { cause: error });
    }
  }

  /** A schema with references: the registry client fetches and resolves them. */
  async #withReferences(id: number): Promise<avro.Type> {
    let writer: unknown;
    try {
      writer = await this.#registry.getSchema(id);
    } catch (error) {
      if (registryStatus(error) !== undefined) throw registryCallFailed(`fetching schema id ${id}`, error);
      throw new DecodeError(`schema id ${id} cannot be parsed: ${messageOf(error)}`, { cause: error });
    } finally {
      // The client keeps every schema it ever fetched; our bounded cache is the only one.
      this.#registry.cache.clear();
    }
    if (!(writer instanceof avro.Type)) throw new DecodeError(`schema id ${id} is not an Avro schema`);
    return writer;
  }
}

/** Adds an entry, dropping the oldest beyond `max` (a Map iterates in insertion order). */
function keep<V>(map: Map<number, V>, id: number, value: V, max: number): void {
  map.delete(id);
  map.set(id, value);
  while (map.size > max) {
    const oldest = map.keys().next();
    if (oldest.done) break;
    map.delete(oldest.value);
  }
}

const fullSchema = (type: avro.Type): string => JSON.stringify(type.schema({ exportAttrs: true }));

/** A message of a failure to parse or resolve a hostile schema can be long: keep its start. */
const messageOf = (error: unknown): string =>
  (error instanceof Error ? error.message : String(error)).slice(0, 300);
