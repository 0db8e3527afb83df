import {
  BatchUnreadableError,
  classifyError,
  DeadLetterUnwritableError,
  OrderSystemError,
  TransientDownstreamError,
  type ErrorClassification,
} from '../errors.js';
import { buildDeadLetterHeaders } from '../domain/dead-letter.js';
import { isRedriven } from '../domain/redrive.js';
import { assertValidOrder, type Order } from '../domain/order.js';
import { decideAfterFailure, waitDelayMs, type RetryPolicy } from '../domain/retry-policy.js';
import type {
  AttemptSoFar,
  ComeBackLater,
  DeadLetterSink,
  OrderDecoder,
  Outcome,
  ProcessingContext,
} from '../ports/processing.js';
import type { BatchRecord, IncomingRecord } from '../ports/records.js';
import type { RecordSpan } from '../ports/tracing.js';
import type { DownstreamStep } from './downstream.js';
import { MAX_RUN_ORDERS, OrderRun } from './order-run.js';
import { deadLettered, originMs, processed, waiting } from './outcomes.js';

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

/** What tryHandleWithoutIO leaves to handle(): a step under way, or a failure to deal with. */
type BegunAttempt =
  | { readonly record: IncomingRecord; readonly order: Order; readonly pending: Promise<void> }
  /** Boxed: anything may be thrown, undefined too. */
  | { readonly record: IncomingRecord; readonly failure: { readonly error: unknown } };

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
  /** The attempt tryHandleWithoutIO began and handle() finishes (they run in one go, so one is enough). */
  #begun: BegunAttempt | undefined;

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
   * tryHandleWithoutIO() and handle() then take it, with every rule, error and retry.
   */
  takeRun(
    records: readonly BatchRecord[],
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
        // A redriven order is counted as one (orders_redriven_total), so it is taken on its own.
        isRedriven(record.headers) ||
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
   * The first attempt at `record` as far as it goes without I/O: its outcome when the order is done
   * (its writer schema cached, valid, and the downstream step, if any, done synchronously), so good
   * orders that takeRun does not take (each one is to be logged, a step, another writer schema) cost
   * no promise. Undefined when it needs more: the writer schema is to be fetched, the step is
   * asynchronous, or it failed (a dead letter, a retry); then handle() of the same record, called right
   * after, goes on from where this stopped, without doing anything twice. `startedAt`
   * (performance.now()) lets a batch loop pass the previous record's `finishedAt`: a clock read costs
   * about as much as validating an order on a virtual machine.
   */
  tryHandleWithoutIO(
    record: IncomingRecord,
    startedAt: number = performance.now(),
    soFar: AttemptSoFar = { attempt: 1, startedAt },
  ): Outcome | undefined {
    try {
      assertReadable(record);
      const order = this.#deps.decoder.decodeCached?.(record.value);
      // Nothing is begun: handle() fetches the writer schema.
      if (order === undefined) return undefined;
      assertValidOrder(order);
      const pending = this.#bounded(this.#deps.downstream?.(order));
      if (pending === undefined) return processed(record, order, soFar);
      // handle() awaits it; until then, a rejection is not unhandled.
      pending.catch(() => undefined);
      this.#begun = { record, order, pending };
    } catch (error) {
      this.#begun = { record, failure: { error } };
    }
    return undefined;
  }

  /**
   * An attempt at `record` with every await it needs (fetching its writer schema, the downstream
   * step, its dead letter), then whatever follows it: the one tryHandleWithoutIO began for it, or a
   * whole one. Never rejects: every path is an outcome. `soFar` continues a record that came back after
   * `retry-later` or `waiting`. `span` (tracing on) is the attempt's span: a dead letter gets a child
   * span, whose context it carries.
   */
  async handle(
    record: IncomingRecord,
    ctx: ProcessingContext,
    startedAt: number = performance.now(),
    soFar: AttemptSoFar = { attempt: 1, startedAt },
    span?: RecordSpan,
  ): Promise<Outcome> {
    const begun = this.#begun?.record === record ? this.#begun : undefined;
    this.#begun = undefined;
    let order: Order;
    try {
      if (begun !== undefined) {
        if ('failure' in begun) throw begun.failure.error;
        order = begun.order;
        await begun.pending;
      } else {
        assertReadable(record);
        const { decoder } = this.#deps;
        order = decoder.decodeCached?.(record.value) ?? (await decoder.decode(record.value));
        assertValidOrder(order);
        await this.#bounded(this.#deps.downstream?.(order));
      }
    } catch (error) {
      return this.#afterFailure(record, ctx, error, soFar, span);
    }
    return processed(record, order, soFar);
  }

  /**
   * The outcome of a record whose partition waits for a dependency that failed outside the record
   * (`error`, handled as `wait`: taking ownership of the partition, a transaction), with the
   * dependency backoff, growing with each wait in a row.
   */
  waitFor(
    record: IncomingRecord,
    error: unknown,
    soFar: AttemptSoFar = { attempt: 1, startedAt: performance.now() },
  ): ComeBackLater {
    const delayMs = waitDelayMs(this.#deps.policy, (soFar.waits ?? 0) + 1, this.#deps.random);
    return waiting(record, classifyError(error), soFar, delayMs);
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
    span: RecordSpan | undefined,
  ): Promise<Outcome> {
    const { policy } = this.#deps;
    const { attempt, startedAt } = soFar;
    const failure = classifyError(error);
    const decision = decideAfterFailure(policy, attempt, failure.handling, soFar.waits, this.#deps.random);
    if (decision.action === 'wait') return waiting(record, failure, soFar, decision.delayMs);
    if (decision.action === 'dead-letter') {
      try {
        await this.#deadLetter(record, failure, attempt, ctx.deadLetters, span);
      } catch (dlqError) {
        return this.waitFor(record, asWaitFailure(dlqError), soFar);
      }
      return deadLettered(record, failure, soFar);
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
    span: RecordSpan | undefined,
  ): Promise<void> {
    const headers = buildDeadLetterHeaders({
      source: record,
      error: failure,
      attempts,
      failedAt: new Date(this.#now()),
      consumerGroup: this.#deps.groupId,
    });
    const send = span?.startDeadLetter(headers);
    try {
      await sink.publish(record, headers);
    } catch (error) {
      send?.end(error);
      throw error;
    }
    send?.end();
  }
}

/** A dead letter that could not be written is a dependency being down, whatever the sink threw. */
function asWaitFailure(error: unknown): OrderSystemError {
  if (error instanceof OrderSystemError && error.handling === 'wait') return error;
  const message = error instanceof Error ? error.message : String(error);
  return new DeadLetterUnwritableError(`the dead letter could not be written: ${message}`, { cause: error });
}
