import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Spaces sends to `ratePerSecond` by scheduling against the start time, so
 * small timer delays do not accumulate into a slower rate. 0 = no pacing.
 */
export class Pacer {
  readonly #intervalMs: number;
  readonly #startedAt = performance.now();
  #sent = 0;

  constructor(ratePerSecond: number) {
    this.#intervalMs = ratePerSecond > 0 ? 1000 / ratePerSecond : 0;
  }

  /** How many of `wanted` sends are due now, waiting until at least one is. */
  async take(wanted: number, signal?: AbortSignal): Promise<number> {
    if (this.#intervalMs === 0) {
      this.#sent += wanted;
      return wanted;
    }
    const dueAt = this.#startedAt + this.#sent * this.#intervalMs;
    const wait = dueAt - performance.now();
    if (wait > 0) await sleep(wait, undefined, signal ? { signal } : undefined).catch(() => undefined);
    const elapsed = performance.now() - this.#startedAt;
    const due = Math.max(1, Math.min(wanted, Math.floor(elapsed / this.#intervalMs) + 1 - this.#sent));
    this.#sent += due;
    return due;
  }
}
