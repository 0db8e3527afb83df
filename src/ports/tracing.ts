import type { Outcome } from './processing.js';
import type { BatchRecord, IncomingRecord } from './records.js';

/**
 * The most messages one span links to. The consumer cuts its runs of good orders to it (one span per
 * run, linked to each order's producer span), and one send of the producer (at most 500 orders) fits.
 */
export const MAX_SPAN_LINKS = 512;

/** The W3C trace context of one span: what a link or a parent is made of. */
export interface TraceContext {
  readonly traceId: string;
  readonly spanId: string;
  readonly traceFlags: number;
}

/** A span under way. */
export interface TraceSpan {
  /** Writes this span's context into `headers` (W3C `traceparent`, and `tracestate` when it has one). */
  inject(headers: Record<string, Buffer>): void;
  /** Ends the span, failed when `error` is given. Call once. */
  end(error?: unknown): void;
}

/**
 * Why the unit a record or run was taken in did not commit (exactly-once: its transaction was aborted;
 * at-least-once: the batch failed), so it is taken again: an error code and its message.
 */
export interface RolledBack {
  readonly code: string;
  readonly message: string;
}

/** The span of one record's attempt at the consumer, from its first step to its outcome. */
export interface RecordSpan {
  /**
   * A child span for the record's dead letter, its context written into the dead letter's `headers`,
   * so the dead letter (and a redrive of it) carries the order's trace on. It ends with this span
   * (its end() only notes when and how the write ended), so it too says whether its unit committed.
   */
  startDeadLetter(headers: Record<string, Buffer>): TraceSpan;
  /**
   * Ends the span with the attempt's outcome (a failure, a retry or a wait sets its status and error;
   * none when the attempt threw before it had one), once its unit has closed: `rolledBack` when the
   * unit did not commit. Call once.
   */
  end(outcome: Outcome | undefined, rolledBack?: RolledBack): void;
}

/**
 * Tracing as the core sees it. A process either has it (OpenTelemetry, configured by the standard
 * `OTEL_*` variables) or has none at all: the composition roots decide once at startup, and with none
 * nothing is parsed, allocated or called per record.
 */
export interface Tracing {
  /** Producer: a `create` span for one order, ended at once; its context goes into `headers`. */
  createOrder(topic: string, key: string, headers: Record<string, Buffer>): TraceContext;
  /**
   * Producer: a `send` span over one send of orders, linked to their `create` spans (with a
   * parent-based sampler: to the sampled ones, and not recorded when none is).
   */
  startSend(topic: string, created: readonly TraceContext[]): TraceSpan;
  /**
   * Consumer: one `process` span for a run of good orders (`records[from]` to `records[to]`, taken
   * between `startedAt` and `finishedAt`, performance.now() readings), linked to its orders' producer
   * contexts, once its unit has closed (`rolledBack` when it did not commit). Orders without one (a
   * producer that does not trace) are counted but not linked. With a parent-based sampler the run
   * follows its orders: recorded when one of them is sampled (one byte of each `traceparent` says),
   * linked to those only, and not at all when none is.
   */
  processedRun(
    batch: { readonly topic: string; readonly partition: number },
    records: readonly BatchRecord[],
    from: number,
    to: number,
    startedAt: number,
    finishedAt: number,
    rolledBack?: RolledBack,
  ): void;
  /** Consumer: a `process` span for one attempt at `record`, a child of its producer's context. */
  startProcess(record: IncomingRecord, startedAt: number, attempt: number): RecordSpan;
  /**
   * Redrive: a `send` span for one dead letter going back to `topic`, a child of the trace its
   * `headers` carry; its own context replaces it there.
   */
  startRedrive(topic: string, headers: Record<string, Buffer>): TraceSpan;
  /** Exports what is pending and stops; bounded, never rejects. */
  shutdown(): Promise<void>;
}
