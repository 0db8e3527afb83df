import type { Admin, Kafka } from 'kafkajs';
import { groupLag } from '../adapters/kafka/group-lag.js';
import type { Logger } from '../logger.js';
import type { ConsumerEventBus } from './events.js';

/**
 * The lag of our partitions as the broker sees it (end offset minus the
 * group's committed offset), every LAG_POLL_INTERVAL_MS. The batch loop reports lag
 * only when a batch ends, so a partition that is stuck, paused for a long
 * backoff or starved of fetches would otherwise keep showing its last value
 * and never trip the lag alerts.
 */
export class LagPoller {
  #admin: Admin | undefined;
  #timer: NodeJS.Timeout | undefined;
  #polling: Promise<void> | undefined;

  constructor(
    private readonly kafka: Kafka,
    private readonly groupId: string,
    private readonly topic: string,
    private readonly ownedPartitions: () => readonly number[],
    private readonly bus: ConsumerEventBus,
    private readonly logger: Logger,
    private readonly everyMs: number,
  ) {}

  start(): void {
    this.#timer ??= setInterval(() => {
      this.#polling ??= this.poll().finally(() => (this.#polling = undefined));
    }, this.everyMs);
    this.#timer.unref();
  }

  /** One poll; failures are logged at debug (readiness already reports an unreachable broker). */
  async poll(): Promise<void> {
    const owned = new Set(this.ownedPartitions());
    if (owned.size === 0) return;
    try {
      if (!this.#admin) {
        const admin = this.kafka.admin();
        await admin.connect();
        this.#admin = admin;
      }
      const lags = await groupLag(this.#admin, this.groupId, this.topic);
      const ours = lags.filter((p) => owned.has(p.partition));
      this.bus.emit(
        'lag',
        ours.map((p) => ({ partition: p.partition, lag: Number(p.lag) })),
      );
    } catch (error) {
      this.logger.debug({ err: error }, 'Lag poll failed; trying again at the next interval');
    }
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#polling;
    await this.#admin?.disconnect().catch(() => undefined);
    this.#admin = undefined;
  }
}
