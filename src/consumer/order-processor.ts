import {
  BatchUnreadableError,
  classifyError,
  DeadLetterUnwritableError,
  OrderSystemError,
  TransientDownstreamError,
  type Dependency,
  type ErrorClassification,
} from '../errors.js';
import { buildDeadLetterHeaders } from '../domain/dead-letter.js';
import { assertValidOrder, type Order } from '../domain/order.js';
import { decideAfterFailure, waitDelayMs, type RetryPolicy } from '../domain/retry-policy.js';
import type { DownstreamStep } from './downstream.js';
import { MAX_RUN_ORDERS, OrderRun, type RunRecord } from './order-run.js';

/** One record as read from the orders topic. */
export interface IncomingRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  /** ms since the epoch, as a decimal string (kafkajs's representation). */
  readonly timestamp: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  /**
   * Set on the one record that stands for a record batch kafkajs could not read (a codec it lacks, data
   * that does not inflate, a decompression bomb): the `undecodableBatch` property of
   * patches/kafkajs+2.2.4.patch, which no producer can set (a header could be forged).
   */
  readonly undecodableBatch?: unknown;
}

/** Throws BatchUnreadableError when `record` stands for a batch that could not be read. */
function assertReadable(record: { readonly undecodableBatch?: unknown }): void {
  const batch = record.undecodableBatch;
  if (batch === undefined) return;
  const { firstOffset, lastOffset, compression, reason } = (batch ?? {}) as Record<string, unknown>;
  throw new BatchUnreadableError(
    `the ${String(compression)} record batch at offsets ${String(firstOffset)}–${String(lastOffset)} ` +
      `cannot be read (${String(reason)}); its records section, as written, is the dead letter's value`,
  );
}

export interface OrderDecoder {
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
  readGoodOrder?(value: Buffer | null, into: { priceCents: number; createdAtMs: number }): boolean;
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

export type Outcome =
  | {
      readonly kind: 'processed';
      readonly record: IncomingRecord;
      readonly order: Order;
      readonly attempts: number;
      readonly durationSeconds: number;
      /** performance.now() when the outcome was reached: the next record's start, read once for both. */
      readonly finishedAt: number;
    }
  | {
      readonly kind: 'dead-lettered';
      readonly record: IncomingRecord;
      readonly failure: ErrorClassification;
      readonly attempts: number;
      readonly durationSeconds: number;
      readonly finishedAt: number;
    }
  /**
   * Attempt `attempt` failed transiently: the record must come back after `delayMs` as attempt
   * `attempt + 1`. The caller pauses only this record's partition for the backoff, so the other
   * partitions keep flowing, and nothing at or after this offset is committed meanwhile.
   */
  | {
      readonly kind: 'retry-later';
      readonly record: IncomingRecord;
      readonly failure: ErrorClassification;
      readonly attempt: number;
      /** MAX_RETRIES, for the retry's log line. */
      readonly maxRetries: number;
      readonly delayMs: number;
      readonly startedAt: number;
      readonly finishedAt: number;
    }
  /**
   * Something the record needs is down (`dependency`): not the record's fault. Its partition waits
   * `delayMs`, then the record comes back as the same attempt, with `waits` waits in a row so far.
   * Nothing at or after this offset is committed meanwhile; nothing is dead-lettered for it.
   */
  | {
      readonly kind: 'waiting';
      readonly record: IncomingRecord;
      readonly failure: ErrorClassification;
      readonly dependency: Dependency;
      readonly attempt: number;
      readonly waits: number;
      readonly delayMs: number;
      readonly startedAt: number;
      readonly finishedAt: number;
    };

/** The outcomes after which a record's partition is paused and the record comes back. */
export type ComeBackLater = Extract<Outcome, { kind: 'retry-later' | 'waiting' }>;

/** Whether an outcome makes its record come back later (a retry or a wait), so the batch ends before it. */
export const comesBack = (outcome: Outcome): outcome is ComeBackLater =>
  outcome.kind === 'retry-later' || outcome.kind === 'waiting';

/** Where a record that comes back later starts again: its next attempt, or the same one after a wait. */
export function nextAttempt(outcome: ComeBackLater): AttemptSoFar {
  return outcome.kind === 'retry-later'
    ? { attempt: outcome.attempt + 1, startedAt: outcome.startedAt, waits: 0 }
    : { attempt: outcome.attempt, startedAt: outcome.startedAt, waits: outcome.waits };
}

export interface OrderProcessorDeps {
  readonly decoder: OrderDecoder;
  /** None: an order is done once it is valid (the aggregate is all there is to do). */
  readonly downstream?: DownstreamStep | undefined;
  /**
   * The longest an asynchronous downstream step may take before it counts as a transient failure
   * (retried, then dead-lettered): a step that hangs must not hold its partition, its batch or its
   * transaction beyond the time budget (config/time-budget.ts). Undefined: unbounded.
   */
  readonly stepTimeoutMs?: number | undefined;
  readonly policy: RetryPolicy;
  readonly groupId: string;
  readonly random?: () => number;
  readonly now?: () => number;
}

/**
 * The life of one order record: decode, validate, process. Permanent
 * failures go to the DLQ at once; transient ones come back as `retry-later`
 * (the caller waits out the backoff with only that partition paused) until the
 * last attempt, then they are dead-lettered. The outcome is applied to the aggregate by the caller
 * (OutcomeRecorder) once it is durable: at once in at-least-once mode, after
 * the transaction commits in exactly-once mode. The record's offset may be
 * committed only after a `processed` or `dead-lettered` outcome.
 */
export class OrderProcessor {
  readonly #deps: OrderProcessorDeps;
  readonly #now: () => number;
  /** readGoodOrder's output, reused: a run reads into it and copies out the two numbers. */
  readonly #fields = { priceCents: 0, createdAtMs: 0 };

  constructor(deps: OrderProcessorDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
  }

  /**
   * Whether takeRun can take anything: the decoder reads good orders in place, and there is no
   * downstream step, which would need each order as an object.
   */
  get takesRuns(): boolean {
    return this.#deps.downstream === undefined && this.#deps.decoder.readGoodOrder !== undefined;
  }

  /**
   * The good orders among records[from] to records[until - 1], from the first on and as long as they
   * last: decoded, validated and done in place. A good order needs no I/O, cannot fail and has
   * nothing to retry, so its outcome is known the moment it is read; the run is timed with one clock
   * read at its end. Undefined when records[from] is not such an order (or takesRuns is false):
   * handle() then takes it, with every rule, error and retry.
   */
  takeRun(
    records: readonly RunRecord[],
    from: number,
    until: number,
    startedAt: number,
  ): OrderRun | undefined {
    const { decoder } = this.#deps;
    if (!this.takesRuns || decoder.readGoodOrder === undefined) return undefined;
    const last = Math.min(until, records.length, from + MAX_RUN_ORDERS);
    const fields = this.#fields;
    let run: OrderRun | undefined;
    for (let index = from; index < last; index += 1) {
      const record = records[index];
      if (
        record === undefined ||
        record.undecodableBatch !== undefined ||
        !decoder.readGoodOrder(record.value, fields)
      )
        break;
      run ??= new OrderRun(startedAt, last - from);
      run.add(fields.priceCents, originMs(fields.createdAtMs, record.timestamp), record.offset, index);
    }
    if (run) run.finishedAt = performance.now();
    return run;
  }

  /** The id of an order that takeRun took: its schema is cached, so it decodes without I/O. */
  orderIdOf(value: Buffer | null): string {
    const order = this.#deps.decoder.decodeCached?.(value);
    if (order === undefined) throw new Error('an order taken in a run must decode from the schema cache');
    return order.orderId;
  }

  /**
   * A plain Outcome when the first attempt needed no I/O (the common case: schema cached, downstream
   * synchronous), so a batch of good orders costs no promise per record; a Promise otherwise.
   * `startedAt` (performance.now()) lets a batch loop pass the previous record's `finishedAt`: a clock
   * read costs about as much as validating an order on a virtual machine. `soFar` continues a record
   * that came back after `retry-later`.
   */
  handle(
    record: IncomingRecord,
    ctx: ProcessingContext,
    startedAt: number = performance.now(),
    soFar: AttemptSoFar = { attempt: 1, startedAt },
  ): Outcome | Promise<Outcome> {
    const { decoder, downstream } = this.#deps;
    const { attempt } = soFar;
    try {
      assertReadable(record);
      const order = decoder.decodeCached?.(record.value);
      if (order === undefined) return this.#attempt(record, ctx, soFar);
      assertValidOrder(order);
      const pending = this.#bounded(downstream?.(order));
      if (pending === undefined) return processed(record, order, attempt, soFar.startedAt);
      return pending.then(
        () => processed(record, order, attempt, soFar.startedAt),
        (error: unknown) => this.#afterFailure(record, ctx, error, soFar),
      );
    } catch (error) {
      return this.#afterFailure(record, ctx, error, soFar);
    }
  }

  /** A downstream step's promise, failing transiently once it has taken longer than stepTimeoutMs. */
  #bounded(pending: Promise<void> | undefined): Promise<void> | undefined {
    const timeoutMs = this.#deps.stepTimeoutMs;
    if (pending === undefined || timeoutMs === undefined) return pending;
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(
        () => reject(new TransientDownstreamError(`the downstream step took longer than ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    pending.catch(() => undefined);
    return Promise.race([pending, expired]).finally(() => clearTimeout(timer));
  }

  /** Attempt number `attempt` with every await it needs, then whatever follows it. */
  async #attempt(record: IncomingRecord, ctx: ProcessingContext, soFar: AttemptSoFar): Promise<Outcome> {
    let order: Order;
    try {
      const { decoder } = this.#deps;
      order = decoder.decodeCached?.(record.value) ?? (await decoder.decode(record.value));
      assertValidOrder(order);
      await this.#bounded(this.#deps.downstream?.(order));
    } catch (error) {
      return this.#afterFailure(record, ctx, error, soFar);
    }
    return processed(record, order, soFar.attempt, soFar.startedAt);
  }

  /**
   * The attempt failed: dead-letter now, hand the record back to be retried after a backoff, or, when
   * a dependency is down (the registry, or the DLQ itself when the dead letter cannot be written),
   * let its partition wait without using an attempt. Never throws: every path is an outcome.
   */
  async #afterFailure(
    record: IncomingRecord,
    ctx: ProcessingContext,
    error: unknown,
    soFar: AttemptSoFar,
  ): Promise<Outcome> {
    const { policy } = this.#deps;
    const { attempt, startedAt } = soFar;
    const failure = classifyError(error);
    const decision = decideAfterFailure(policy, attempt, failure.handling, soFar.waits, this.#deps.random);
    if (decision.action === 'wait') return waiting(record, failure, soFar, decision.delayMs);
    if (decision.action === 'dead-letter') {
      try {
        await this.#deadLetter(record, failure, attempt, ctx.deadLetters);
      } catch (dlqError) {
        const unwritable = classifyError(asWaitFailure(dlqError));
        return waiting(
          record,
          unwritable,
          soFar,
          waitDelayMs(policy, (soFar.waits ?? 0) + 1, this.#deps.random),
        );
      }
      const finishedAt = performance.now();
      return {
        kind: 'dead-lettered',
        record,
        failure,
        attempts: attempt,
        durationSeconds: (finishedAt - startedAt) / 1000,
        finishedAt,
      };
    }
    // Logged and counted by the OutcomeRecorder once the caller has really scheduled the retry.
    return {
      kind: 'retry-later',
      record,
      failure,
      attempt,
      maxRetries: policy.maxRetries,
      delayMs: decision.delayMs,
      startedAt,
      finishedAt: performance.now(),
    };
  }

  async #deadLetter(
    record: IncomingRecord,
    failure: ErrorClassification,
    attempts: number,
    sink: DeadLetterSink,
  ): Promise<void> {
    const headers = buildDeadLetterHeaders({
      source: record,
      error: failure,
      attempts,
      failedAt: new Date(this.#now()),
      consumerGroup: this.#deps.groupId,
    });
    await sink.publish(record, headers);
  }
}

/** The outcome of a record whose partition waits `delayMs` for the dependency `failure` names. */
export function waiting(
  record: IncomingRecord,
  failure: ErrorClassification,
  soFar: AttemptSoFar,
  delayMs: number,
): ComeBackLater {
  return {
    kind: 'waiting',
    record,
    failure,
    // classifyError sets a dependency for every failure handled as `wait`.
    dependency: failure.dependency ?? 'broker',
    attempt: soFar.attempt,
    waits: (soFar.waits ?? 0) + 1,
    delayMs,
    startedAt: soFar.startedAt,
    finishedAt: performance.now(),
  };
}

/** A dead letter that could not be written is a dependency being down, whatever the sink threw. */
function asWaitFailure(error: unknown): OrderSystemError {
  if (error instanceof OrderSystemError && error.handling === 'wait') return error;
  const message = error instanceof Error ? error.message : String(error);
  return new DeadLetterUnwritableError(`the dead letter could not be written: ${message}`, { cause: error });
}

function processed(record: IncomingRecord, order: Order, attempts: number, startedAt: number): Outcome {
  const finishedAt = performance.now();
  return {
    kind: 'processed',
    record,
    order,
    attempts,
    durationSeconds: (finishedAt - startedAt) / 1000,
    finishedAt,
  };
}

/** Order time when the writer gave one, else the record's timestamp; 0 when neither is known. */
export function originMs(createdAtMs: number, recordTimestamp: string): number {
  if (createdAtMs > 0) return createdAtMs;
  const timestamp = Number(recordTimestamp);
  return Number.isFinite(timestamp) && timestamp > 0 ? timestamp : 0;
}

export function where(record: IncomingRecord): string {
  return `${record.topic}[${record.partition}]@${record.offset}`;
}
