import type { Logger } from '../../logger.js';
import type { ConsumerEventChannel } from '../../ports/events.js';
import { groupLag } from './group-lag.js';
import type { LazyAdmin } from './lazy-admin.js';

export interface LagPollerOptions {
  readonly admin: LazyAdmin;
  readonly groupId: string;
  readonly topic: string;
  /** The partitions of `topic` this instance owns now. */
  readonly ownedPartitions: () => readonly number[];
  readonly bus: ConsumerEventChannel;
  readonly logger: Logger;
  /** LAG_POLL_INTERVAL_MS. */
  readonly everyMs: number;
}

/**
 * The lag of our partitions as the broker sees it (end offset minus the
 * group's committed offset), every LAG_POLL_INTERVAL_MS. The batch loop reports lag
 * only when a batch ends, so a partition that is stuck, paused for a long
 * backoff or starved of fetches would otherwise keep showing its last value
 * and never trip the lag alerts.
 */
export class LagPoller {
  #timer: NodeJS.Timeout | undefined;
  #polling: Promise<void> | undefined;
  readonly #o: LagPollerOptions;

  constructor(options: LagPollerOptions) {
    this.#o = options;
  }

  start(): void {
    this.#timer ??= setInterval(() => {
      this.#polling ??= this.poll().finally(() => (this.#polling = undefined));
    }, this.#o.everyMs);
    this.#timer.unref();
  }

  /** One poll; failures are logged at debug (readiness already reports an unreachable broker). */
  async poll(): Promise<void> {
    const { admin, groupId, topic, bus } = this.#o;
    const owned = new Set(this.#o.ownedPartitions());
    if (owned.size === 0) return;
    try {
      const lags = await groupLag(await admin.get(), groupId, topic);
      const ours = lags.filter((p) => owned.has(p.partition));
      bus.emit(
        'lag',
        ours.map((p) => ({ partition: p.partition, lag: Number(p.lag) })),
      );
    } catch (error) {
      this.#o.logger.debug({ err: error }, 'Lag poll failed; trying again at the next interval');
    }
  }

  /** Stops polling (the admin client is the caller's to close). */
  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#polling;
  }
}
