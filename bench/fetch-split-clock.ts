/**
 * Splits a kafkajs consumer's wall time into "inside a fetch" (request, broker wait and kafkajs's
 * record-batch decoding, from FETCH_START to FETCH) and "between fetches" (the eachBatch handlers:
 * for raw kafkajs, counting; for ours, the whole pipeline), from kafkajs's instrumentation events.
 */
export class FetchSplitClock {
  #fetchStartedAt: number | undefined;
  #lastFetchEndedAt: number | undefined;
  #insideMs = 0;
  #betweenMs = 0;
  #fetches = 0;
  #finished = false;

  fetchStarted(now: number): void {
    if (this.#finished) return;
    if (this.#lastFetchEndedAt !== undefined) this.#betweenMs += now - this.#lastFetchEndedAt;
    this.#fetchStartedAt = now;
  }

  fetchEnded(now: number): void {
    if (this.#finished || this.#fetchStartedAt === undefined) return;
    this.#insideMs += now - this.#fetchStartedAt;
    this.#fetchStartedAt = undefined;
    this.#lastFetchEndedAt = now;
    this.#fetches += 1;
  }

  /**
   * Stops the clock when the last record is done: the final batch's handling counts, and the fetch
   * kafkajs starts next (which only waits at the end of the log) does not.
   */
  finish(now: number): void {
    if (this.#finished) return;
    this.#finished = true;
    if (this.#lastFetchEndedAt !== undefined && this.#fetchStartedAt === undefined)
      this.#betweenMs += now - this.#lastFetchEndedAt;
  }

  /** Microseconds per record inside fetches and between them, over `records`. */
  perRecord(records: number): { fetches: number; insideUs: number; betweenUs: number } {
    return {
      fetches: this.#fetches,
      insideUs: (this.#insideMs * 1000) / records,
      betweenUs: (this.#betweenMs * 1000) / records,
    };
  }
}
