import { classifyError } from '../errors.js';
import type { Outcome } from '../ports/processing.js';
import type { ConsumedBatch, IncomingRecord } from '../ports/records.js';
import type { RecordSpan, RolledBack, Tracing } from '../ports/tracing.js';

/**
 * The spans of one unit's records and runs (tracing on), ended once the unit has closed, so that a
 * span says what became of its records: committed, or rolled back (`kos.rolled_back`) and taken again
 * in another attempt with a span of its own. A record that has to come back (a retry, a wait) is not
 * part of the unit's commit: its span ends at once.
 */
export class UnitSpans {
  /** The runs taken: from, to, startedAt, finishedAt, four numbers each. */
  readonly #runs: number[] = [];
  readonly #records: { readonly span: RecordSpan; readonly outcome: Outcome }[] = [];
  /** The span of the record under way, until it has an outcome. */
  #open: RecordSpan | undefined;

  constructor(
    private readonly tracing: Tracing,
    private readonly batch: ConsumedBatch,
  ) {}

  run(from: number, to: number, startedAt: number, finishedAt: number): void {
    this.#runs.push(from, to, startedAt, finishedAt);
  }

  /** The span of an attempt at `record`, ended by took() or cameBack() (or with the unit). */
  start(record: IncomingRecord, startedAt: number, attempt: number): RecordSpan {
    const span = this.tracing.startProcess(record, startedAt, attempt);
    this.#open = span;
    return span;
  }

  /** The record under way was taken by the unit: its span ends when the unit closes. */
  took(outcome: Outcome): void {
    if (this.#open) this.#records.push({ span: this.#open, outcome });
    this.#open = undefined;
  }

  /** The record under way comes back later: its span ends now. */
  cameBack(outcome: Outcome): void {
    this.#open?.end(outcome);
    this.#open = undefined;
  }

  /** The unit closed: committed, or (`rolledBack`) not. Ends every span, once. */
  end(rolledBack?: RolledBack): void {
    const runs = this.#runs;
    for (let i = 0; i < runs.length; i += 4) {
      this.tracing.processedRun(
        this.batch,
        this.batch.messages,
        runs[i] as number,
        runs[i + 1] as number,
        runs[i + 2] as number,
        runs[i + 3] as number,
        rolledBack,
      );
    }
    for (const { span, outcome } of this.#records) span.end(outcome, rolledBack);
    // A record whose attempt threw before it had an outcome.
    this.#open?.end(undefined, rolledBack);
    runs.length = 0;
    this.#records.length = 0;
    this.#open = undefined;
  }
}

/** Why a unit did not commit, as its spans show it. */
export const rolledBackBy = (error: unknown): RolledBack => classifyError(error);
