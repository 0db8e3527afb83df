import type { AttemptSoFar } from '../ports/processing.js';

/** Pauses one partition of the consumer; the function it returns resumes it (kafkajs's `pause()`). */
export type PausePartition = () => () => void;

interface ParkedRecord extends AttemptSoFar {
  readonly offset: string;
  /** The partition waits at a position, not for one record: the next batch may start past `offset`. */
  readonly atOrAfter: boolean;
  /** performance.now() when the backoff is over. */
  readonly dueAt: number;
  readonly resume: () => void;
  readonly timer: NodeJS.Timeout;
}

/** What `take` found for the first record of a batch. */
export type Parked =
  /** Its backoff is over: process it as this attempt. */
  | { readonly due: true; readonly soFar: AttemptSoFar }
  /** Back too early (kafkajs restarted its consumer and forgot the pause): wait `remainingMs` more. */
  | {
      readonly due: false;
      readonly soFar: AttemptSoFar;
      readonly remainingMs: number;
      /** How it was parked, to park it again the same way. */
      readonly atOrAfter: boolean;
    };

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
  /** The partitions of the last assignment; undefined until the first one. */
  #owned: ReadonlySet<number> | undefined;

  constructor(private readonly now: () => number = () => performance.now()) {}

  /**
   * Pause `partition` for `delayMs`; its record at `offset` comes back as attempt `next.attempt`.
   * With `atOrAfter`, the partition waits at a position (after a failed transaction, the committed
   * offset) rather than for one record: the next batch counts as the one that comes back even when it
   * starts past `offset` (a transaction marker or deleted records at the position), so the waits keep
   * growing. False (nothing paused) when the partition is no longer ours: the next owner starts afresh.
   */
  park(
    partition: number,
    offset: string,
    next: AttemptSoFar,
    delayMs: number,
    pause: PausePartition,
    atOrAfter = false,
  ): boolean {
    this.#release(partition);
    if (this.#owned && !this.#owned.has(partition)) return false;
    const resume = pause();
    const timer = setTimeout(resume, delayMs);
    // A pending backoff must not keep a stopping process alive.
    timer.unref();
    this.#parked.set(partition, { offset, atOrAfter, resume, timer, dueAt: this.now() + delayMs, ...next });
    return true;
  }

  /**
   * Where the record at `offset` of `partition` stands: undefined for a first attempt, else its next
   * attempt and whether its backoff is over. Either way the partition's parked entry is used up.
   */
  take(partition: number, offset: string): Parked | undefined {
    const parked = this.#parked.get(partition);
    if (parked === undefined) return undefined;
    this.#release(partition);
    const same = parked.atOrAfter ? BigInt(offset) >= BigInt(parked.offset) : parked.offset === offset;
    if (!same) return undefined;
    const soFar = { attempt: parked.attempt, startedAt: parked.startedAt, waits: parked.waits ?? 0 };
    const remainingMs = parked.dueAt - this.now();
    return remainingMs > 0
      ? { due: false, soFar, remainingMs, atOrAfter: parked.atOrAfter }
      : { due: true, soFar };
  }

  /** The group's new assignment: records of partitions we lost restart at attempt 1 wherever they go. */
  keepOnly(partitions: readonly number[]): void {
    this.#owned = new Set(partitions);
    for (const partition of [...this.#parked.keys()])
      if (!this.#owned.has(partition)) this.#release(partition);
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
