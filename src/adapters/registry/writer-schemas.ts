import avro from 'avsc';
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import {
  DecodeError,
  RegistryUnavailableError,
  SchemaPendingError,
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

/**
 * How long an id the registry does not know is asked about again before its record is dead-lettered:
 * a registry replica may not have the schema its leader just registered, and the producer's first
 * records follow at once. The record's partition waits meanwhile (KOS_SCHEMA_PENDING).
 */
export const SCHEMA_PENDING_GRACE_MS = 3000;

/**
 * How many new unknown ids a minute get that grace. Real registrations are rare; a hostile writer
 * naming a new random id in every record must not make every partition wait 3 s per record.
 */
export const SCHEMA_PENDING_GRACES_PER_MINUTE = 3;

/** The most references one writer schema may pull in, transitively: a hostile chain must end. */
export const MAX_SCHEMA_REFERENCES = 50;

export interface WriterSchemaOptions {
  readonly maxEntries?: number;
  readonly unknownTtlMs?: number;
  /** 0 turns the grace off: an unknown id is refused at once. */
  readonly pendingGraceMs?: number;
  readonly pendingGracesPerMinute?: number;
  readonly now?: () => number;
}

/** A registry's answer for a schema: the schema text, its type and references. */
interface RegistrySchema {
  readonly schema: string;
  readonly schemaType?: unknown;
  readonly references?: unknown;
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
  /** When each id was first not found (bounded like the rest): its grace runs from then. */
  readonly #notFoundSince = new Map<number, number>();
  /** When the graces of the last minute began. */
  #gracesGiven: number[] = [];
  readonly #pendingGraceMs: number;
  readonly #gracesPerMinute: number;

  constructor(registry: SchemaRegistry, readerType: avro.Type, options: WriterSchemaOptions = {}) {
    this.#registry = registry;
    this.#readerType = readerType;
    this.#maxEntries = options.maxEntries ?? WRITER_SCHEMA_CACHE_SIZE;
    this.#unknownTtlMs = options.unknownTtlMs ?? UNKNOWN_SCHEMA_TTL_MS;
    this.#pendingGraceMs = options.pendingGraceMs ?? SCHEMA_PENDING_GRACE_MS;
    this.#gracesPerMinute = options.pendingGracesPerMinute ?? SCHEMA_PENDING_GRACES_PER_MINUTE;
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
          this.#notFoundSince.delete(id);
          keep(this.#ready, id, resolution, this.#maxEntries);
          return resolution;
        },
        (error: unknown) => {
          if (error instanceof UnknownSchemaError) {
            const pending = this.#stillPending(id, error);
            if (pending) throw pending;
            keep(this.#refused, id, { error, until: this.#now() + this.#unknownTtlMs }, this.#maxEntries);
          } else if (error instanceof DecodeError)
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

  /**
   * A SchemaPendingError while `id` is within its grace (the record waits and asks again), undefined
   * once it is past it or no grace is left this minute (the record is dead-lettered).
   */
  #stillPending(id: number, notFound: UnknownSchemaError): SchemaPendingError | undefined {
    if (this.#pendingGraceMs <= 0) return undefined;
    const now = this.#now();
    let since = this.#notFoundSince.get(id);
    if (since === undefined) {
      this.#gracesGiven = this.#gracesGiven.filter((at) => now - at < 60_000);
      if (this.#gracesGiven.length >= this.#gracesPerMinute) return undefined;
      this.#gracesGiven.push(now);
      since = now;
      keep(this.#notFoundSince, id, since, this.#maxEntries);
    }
    if (now - since >= this.#pendingGraceMs) return undefined;
    return new SchemaPendingError(
      `schema id ${id} is not in the registry (yet): asking again for up to ${this.#pendingGraceMs} ms before dead-lettering`,
      { cause: notFound },
    );
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
    const answer = await this.#ask(`schema id ${id}`, /schema\b.*\bnot found/i, () =>
      registryApi(this.#registry).Schema.find({ id }),
    );
    const named: Record<string, avro.Type> = {};
    await this.#loadReferences(id, answer.references, named, new Set(), 0);
    return parseSchema(`schema id ${id}`, answer, named);
  }

  /**
   * Parses the schemas `references` names into `named`, dependencies first, as the registry client
   * would, but with every answer checked as above, so a proxy's page on the way waits, never condemns.
   */
  async #loadReferences(
    id: number,
    references: unknown,
    named: Record<string, avro.Type>,
    seen: Set<string>,
    depth: number,
  ): Promise<void> {
    if (references === undefined || references === null) return;
    if (!Array.isArray(references))
      throw new DecodeError(`schema id ${id} has references that are not a list`);
    for (const reference of references as unknown[]) {
      const { subject, version } = (reference ?? {}) as { subject?: unknown; version?: unknown };
      if (typeof subject !== 'string' || typeof version !== 'number' || !Number.isSafeInteger(version)) {
        throw new DecodeError(`schema id ${id} has a reference without a subject and a version`);
      }
      const key = `${subject}@${version}`;
      if (seen.has(key)) continue;
      seen.add(key);
      if (seen.size > MAX_SCHEMA_REFERENCES || depth >= MAX_SCHEMA_REFERENCES) {
        throw new DecodeError(`schema id ${id} pulls in more than ${MAX_SCHEMA_REFERENCES} references`);
      }
      const what = `${subject} version ${version} (a reference of schema id ${id})`;
      const answer = await this.#ask(what, /(subject|version)\b.*\bnot found/i, () =>
        registryApi(this.#registry).Subject.version({ subject, version }),
      );
      await this.#loadReferences(id, answer.references, named, seen, depth + 1);
      parseSchema(what, answer, named);
    }
  }

  /** One registry call: a registry's answer, or the error that says what to do about it. */
  async #ask(
    what: string,
    notFound: RegExp,
    call: () => Promise<{ data(): unknown }>,
  ): Promise<RegistrySchema> {
    let answer: unknown;
    try {
      answer = (await call()).data();
    } catch (error) {
      if (registryStatus(error) === 404 && notFound.test(messageOf(error))) {
        throw new UnknownSchemaError(`${what} is not in the registry`, { cause: error });
      }
      throw registryCallFailed(`fetching ${what}`, error);
    }
    if (
      typeof answer !== 'object' ||
      answer === null ||
      typeof (answer as { schema?: unknown }).schema !== 'string'
    ) {
      throw new RegistryUnavailableError(`the answer for ${what} is not a registry's (a proxy in the way?)`);
    }
    return answer as RegistrySchema;
  }
}

/**
 * An Avro type from a registry's answer; its named types join `named`, for the schemas that reference
 * them. The registry answered: a schema that is not Avro or does not parse stays so.
 */
function parseSchema(what: string, answer: RegistrySchema, named: Record<string, avro.Type>): avro.Type {
  if (answer.schemaType !== undefined && answer.schemaType !== 'AVRO') {
    throw new DecodeError(`${what} is a ${JSON.stringify(answer.schemaType).slice(0, 40)} schema, not Avro`);
  }
  try {
    return avro.Type.forSchema(JSON.parse(answer.schema) as avro.Schema, {
      logicalTypes: LOGICAL_TYPES,
      registry: named,
    });
  } catch (error) {
    throw new DecodeError(`${what} cannot be parsed: ${messageOf(error)}`, { cause: error });
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
