import type { AttemptSoFar } from './order-processor.js';

/** Pauses one partition of the consumer; the function it returns resumes it (kafkajs's `pause()`). */
export type PausePartition = () => () => void;

interface ParkedRecord extends AttemptSoFar {
  readonly offset: string;
  readonly resume: () => void;
  readonly timer: NodeJS.Timeout;
}

/**
 * Backoffs that block only their own partition. kafkajs fetches every
 * partition of a broker in one request and waits for all of that fetch's
 * batches before the next, so sleeping inside a batch would stall every
 * partition on the broker. Instead the partition is paused, the batch ends
 * (offsets before the failed record are committed, nothing at or after it),
 * and when the backoff is over the partition resumes: kafkajs fetches again
 * from the failed record, which continues with its next attempt.
 */
export class PartitionRetries {
  readonly #parked = new Map<number, ParkedRecord>();

  /** Pause `partition` for `delayMs`; its record at `offset` comes back as attempt `next.attempt`. */
  park(partition: number, offset: string, next: AttemptSoFar, delayMs: number, pause: PausePartition): void {
    this.#release(partition);
    const resume = pause();
    const timer = setTimeout(resume, delayMs);
    // A pending backoff must not keep a stopping process alive.
    timer.unref();
    this.#parked.set(partition, { offset, resume, timer, ...next });
  }

  /**
   * Where the record at `offset` of `partition` stands: its next attempt when it is the parked record,
   * else undefined (a first attempt). Either way the partition's parked entry is used up.
   */
  take(partition: number, offset: string): AttemptSoFar | undefined {
    const parked = this.#parked.get(partition);
    if (parked === undefined) return undefined;
    this.#release(partition);
    return parked.offset === offset ? { attempt: parked.attempt, startedAt: parked.startedAt } : undefined;
  }

  /** Partitions we no longer own: their records restart at attempt 1 wherever they are read next. */
  keepOnly(partitions: readonly number[]): void {
    const kept = new Set(partitions);
    for (const partition of [...this.#parked.keys()]) if (!kept.has(partition)) this.#release(partition);
  }

  /** Drops every parked record (and resumes its partition, so kafkajs is left with nothing paused). */
  clear(): void {
    for (const partition of [...this.#parked.keys()]) this.#release(partition);
  }

  get size(): number {
    return this.#parked.size;
  }

  #release(partition: number): void {
    const parked = this.#parked.get(partition);
    if (parked === undefined) return;
    this.#parked.delete(partition);
    clearTimeout(parked.timer);
    parked.resume();
  }
}
