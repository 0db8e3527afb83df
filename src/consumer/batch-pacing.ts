/**
 * Yields to the event loop once `sliceMs` has passed since the last yield. A
 * batch whose records all resolve without I/O would otherwise hold the loop
 * for seconds, and /healthz, /metrics and heartbeats would wait behind it.
 */
export class EventLoopYield {
  #last = performance.now();
  constructor(private readonly sliceMs = 50) {}

  /**
   * A promise to await when the slice is used up at `now` (performance.now(), which the caller has
   * read anyway); undefined (no promise, no await) otherwise.
   */
  maybeYield(now: number): Promise<void> | undefined {
    if (now - this.#last < this.sliceMs) return undefined;
    return new Promise<void>((resolve) =>
      setImmediate(() => {
        this.#last = performance.now();
        resolve();
      }),
    );
  }
}

/**
 * Heartbeats on a timer while a batch is being worked on, so a batch that waits on the registry or
 * on Kafka keeps the member in its group (kafkajs heartbeats only between batches, or when asked).
 * The batch loop yields to the event loop every few tens of milliseconds, so the timer runs during
 * long synchronous stretches too. A failed heartbeat (the group is rebalancing, the coordinator
 * moved) makes `lost` true: the batch should end, so that the client can rejoin.
 */
export class BatchHeartbeat {
  #lost = false;
  readonly #timer: NodeJS.Timeout;

  constructor(heartbeat: () => Promise<void>, everyMs: number) {
    this.#timer = setInterval(() => {
      heartbeat().catch(() => {
        this.#lost = true;
      });
    }, everyMs);
    this.#timer.unref();
  }

  get lost(): boolean {
    return this.#lost;
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
