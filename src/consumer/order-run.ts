/**
 * The most orders one run may hold: below 2^12 orders of below 2^40 cents each, so `sumCents`, a
 * double, stays an exact integer (below 2^53).
 */
export const MAX_RUN_ORDERS = 4000;

const INITIAL_CAPACITY = 64;

/**
 * Consecutive good orders of one partition, processed back to back without an object, a string or
 * a clock read per order (OrderProcessor.takeRun). It is applied to the aggregate as a whole: by
 * OutcomeRecorder.recordRun, and in exactly-once mode by the transaction's StatsDelta.
 */
export class OrderRun {
  count = 0;
  /** Exact (see MAX_RUN_ORDERS). */
  sumCents = 0;
  minCents = Number.POSITIVE_INFINITY;
  maxCents = Number.NEGATIVE_INFINITY;
  /** Offset of the last order, as kafkajs gives it. */
  lastOffset = '';
  /** Index of the last order in the records the run was taken from. */
  lastIndex = -1;
  /** performance.now() when the run was done. */
  finishedAt: number;
  /** Each order's origin in epoch ms: its createdAt, else its record's timestamp; 0 when neither is known. */
  #originsMs: Float64Array;

  constructor(
    /** performance.now() when the run began: the previous record's finish. */
    readonly startedAt: number,
    /** The most orders the run may get; it starts smaller, as many runs end early (a bad order). */
    capacity: number,
  ) {
    this.finishedAt = startedAt;
    this.#originsMs = new Float64Array(Math.min(capacity, INITIAL_CAPACITY));
  }

  add(priceCents: number, originMs: number, offset: string, index: number): void {
    if (this.count === this.#originsMs.length) {
      const grown = new Float64Array(this.count * 2);
      grown.set(this.#originsMs);
      this.#originsMs = grown;
    }
    this.#originsMs[this.count] = originMs;
    this.count += 1;
    this.sumCents += priceCents;
    if (priceCents < this.minCents) this.minCents = priceCents;
    if (priceCents > this.maxCents) this.maxCents = priceCents;
    this.lastOffset = offset;
    this.lastIndex = index;
  }

  get durationSeconds(): number {
    return (this.finishedAt - this.startedAt) / 1000;
  }

  /**
   * Seconds from each order's origin to `doneAtMs` (the run's end on the wall clock), for the orders
   * whose origin is known. Computed in place: call once.
   */
  endToEndSeconds(doneAtMs: number): Float64Array {
    const originsMs = this.#originsMs;
    let known = 0;
    for (let i = 0; i < this.count; i += 1) {
      const origin = originsMs[i] ?? 0;
      if (origin > 0) {
        originsMs[known] = Math.max(0, doneAtMs - origin) / 1000;
        known += 1;
      }
    }
    return originsMs.subarray(0, known);
  }
}
