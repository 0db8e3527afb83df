import type { Dependency, ErrorClassification } from '../errors.js';
import type { Order } from '../domain/order.js';
import type { IncomingRecord } from './records.js';

/** What the aggregate needs of a good order, read where it lies (OrderDecoder.readGoodOrder). */
export interface GoodOrderFields {
  /** Exact: a valid price is at most MAX_PRICE_CENTS, below 2^40. */
  priceCents: number;
  createdAtMs: number;
}

/** How record values become orders: the schema registry's codec, or a test's stand-in. */
export interface OrderDecoder {
  /** The order in `value`, fetching its writer schema when it is not at hand. */
  decode(value: Buffer | null): Promise<Order>;
  /**
   * The same decode without I/O, for decoders that cache what they need: undefined when the
   * writer schema is not at hand yet (decode() then fetches it). Throws as decode() rejects.
   */
  decodeCached?(value: Buffer | null): Order | undefined;
  /**
   * True when `value` is a good order (it decodes without I/O and passes assertValidOrder), with its
   * price and time in `into`; false when only decode() and assertValidOrder can tell. Makes no object.
   */
  readGoodOrder?(value: Buffer | null, into: GoodOrderFields): boolean;
}

export interface DeadLetterSink {
  /**
   * Resolves once the DLQ record is acknowledged by all in-sync replicas (or written into the open
   * transaction). Rejects when it cannot be written, ideally with an error handled as `wait`
   * (DeadLetterUnwritableError, BrokerUnavailableError): the record then waits, it is never skipped.
   */
  publish(record: IncomingRecord, headers: Record<string, Buffer>): Promise<void>;
}

/** What the processor may ask of the consumer while it works on one record. */
export interface ProcessingContext {
  /** Where dead letters go: straight to the DLQ, or into the open transaction. */
  readonly deadLetters: DeadLetterSink;
}

/** Which attempt this is, for a record that comes back after a transient failure. */
export interface AttemptSoFar {
  /** 1 for a record seen for the first time. */
  readonly attempt: number;
  /** performance.now() of the first attempt, so the duration covers every attempt and backoff. */
  readonly startedAt: number;
  /** Waits in a row so far for a dependency that was down (they use no attempt); 0 or absent: none. */
  readonly waits?: number;
}

/** What every outcome has: its record, and performance.now() when it was reached (the next record's start). */
interface OutcomeOf<K extends string> {
  readonly kind: K;
  readonly record: IncomingRecord;
  readonly finishedAt: number;
}

export type Outcome =
  | (OutcomeOf<'processed'> & {
      readonly order: Order;
      readonly attempts: number;
      readonly durationSeconds: number;
    })
  | (OutcomeOf<'dead-lettered'> & {
      readonly failure: ErrorClassification;
      readonly attempts: number;
      readonly durationSeconds: number;
    })
  /**
   * Attempt `attempt` failed transiently: the record must come back after `delayMs` as attempt
   * `attempt + 1`. The caller pauses only this record's partition for the backoff, so the other
   * partitions keep flowing, and nothing at or after this offset is committed meanwhile.
   */
  | (OutcomeOf<'retry-later'> & {
      readonly failure: ErrorClassification;
      readonly attempt: number;
      /** MAX_RETRIES, for the retry's log line. */
      readonly maxRetries: number;
      readonly delayMs: number;
      readonly startedAt: number;
    })
  /**
   * Something the record needs is down (`dependency`): not the record's fault. Its partition waits
   * `delayMs`, then the record comes back as the same attempt, with `waits` waits in a row so far.
   * Nothing at or after this offset is committed meanwhile; nothing is dead-lettered for it.
   */
  | (OutcomeOf<'waiting'> & {
      readonly failure: ErrorClassification;
      readonly dependency: Dependency;
      readonly attempt: number;
      readonly waits: number;
      readonly delayMs: number;
      readonly startedAt: number;
    });

/** The outcomes after which a record's partition is paused and the record comes back. */
export type ComeBackLater = Extract<Outcome, { kind: 'retry-later' | 'waiting' }>;

/** The outcomes a record ends with: counted once, or dead-lettered once. */
export type FinalOutcome = Extract<Outcome, { kind: 'processed' | 'dead-lettered' }>;
